"""A trained model's shipped files: what the models' exports (``core.manifold.export``,
``core.layout.export``) share. A checkpoint is read with its configs and validation record,
and the model is written as ``NAME.safetensors`` + ``NAME.json`` and listed in the models
folder's manifest (``core.base.weights``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save_file

from core.base.errors import InpaintError
from core.base.weights import sha256_file, write_manifest_entry
from core.training.loop import load_checkpoint


@dataclass(frozen=True)
class Trained:
    """A training checkpoint to export: its state and the JSON records it carries."""

    state: dict
    net_config: dict
    train_config: dict
    val: dict

    @classmethod
    def read(cls, checkpoint: Path) -> Trained:
        if not checkpoint.is_file():
            raise InpaintError(f"no checkpoint at {checkpoint}")
        state = load_checkpoint(checkpoint)
        records = (json.loads(state[key]) for key in ("net_config", "train_config", "val"))
        return cls(state, *records)

    def weights(self, dtype: torch.dtype, skip: tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
        """The net's weights as contiguous ``dtype`` tensors, but those whose names start with
        one of ``skip``."""
        return {
            key: value.detach().to(dtype).contiguous()
            for key, value in self.state["model"].items()
            if not key.startswith(skip)
        }

    def run(self) -> dict:
        """The manifest's figures of the run itself: steps trained and seconds it took."""
        return {
            "steps": int(self.state["step"]),
            "time_s": round(float(self.state.get("elapsed_s", 0.0))),
        }


def write_model(
    models_dir: Path,
    name: str,
    tensors: dict[str, torch.Tensor],
    weights_format: str,
    config: dict,
    training: dict,
    data: str,
) -> Path:
    """Write ``NAME.safetensors`` (``weights_format`` in its metadata) and ``NAME.json``
    (``config``) into ``models_dir`` and list them in its manifest with their sha256, the
    ``training`` record and the ``data`` note; the weights' path."""
    models_dir.mkdir(parents=True, exist_ok=True)
    weights_path = models_dir / f"{name}.safetensors"
    config_path = models_dir / f"{name}.json"
    save_file(tensors, str(weights_path), metadata={"format": weights_format})
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    write_manifest_entry(
        {
            "name": name,
            "file": weights_path.name,
            "config": config_path.name,
            "sha256": sha256_file(weights_path),
            "training": training,
            "data": data,
        },
        models_dir,
    )
    return weights_path
