"""Export a training checkpoint as the shipped model: safetensors + JSON config + manifest."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from core.base.errors import InpaintError
from core.base.weights import sha256_file, write_manifest_entry
from core.training.loop import load_checkpoint

MODEL_NAME = "manifold"
# Weights are stored as float16 (half the size; the difference in the fill is far below
# 8-bit precision) and widened to float32 on load.
STORE_DTYPE = torch.float16


def export_checkpoint(
    checkpoint: Path, models_dir: Path, name: str = MODEL_NAME, command: str | None = None
) -> Path:
    """Write ``NAME.safetensors`` and ``NAME.json`` into ``models_dir`` and list them in its
    manifest with the sha256, the training settings, steps, time and validation figures."""
    if not checkpoint.is_file():
        raise InpaintError(f"no checkpoint at {checkpoint}")
    state = load_checkpoint(checkpoint)
    # The posterior only exists for training; inference never runs it.
    tensors = {
        key: value.detach().to(STORE_DTYPE).contiguous()
        for key, value in state["model"].items()
        if not key.startswith(("posterior",))
    }
    net_config = json.loads(state["net_config"])
    train_config = json.loads(state["train_config"])
    val = json.loads(state["val"])
    models_dir.mkdir(parents=True, exist_ok=True)
    weights_path = models_dir / f"{name}.safetensors"
    config_path = models_dir / f"{name}.json"
    save_file(tensors, str(weights_path), metadata={"format": "manifold-net/1"})
    training = {
        "command": command
        or "python main.py train --data ../shared/data/train --out runs/manifold --seed "
        f"{train_config['seed']} --steps {train_config['steps']}",
        "steps": int(state["step"]),
        "time_s": round(float(state.get("elapsed_s", 0.0))),
        "hardware": "2-core CPU",
        "validation": {
            "what": "hole-PSNR (dB) of the prior-mean fill on "
            f"{train_config['val_count']} held-out images, {train_config['val_crop']} px centre "
            "crops at full and half scale, one fixed mask per class",
            "hole_psnr": {k: round(v, 2) for k, v in val.get("hole_psnr", {}).items()},
            "classical_ns_psnr": {k: round(v, 2) for k, v in val.get("init_psnr", {}).items()},
            "kl_nats": round(val.get("kl_nats", 0.0), 3),
            "sample_spread": round(val.get("sample_spread", 0.0), 5),
        },
    }
    config = {
        "format": 1,
        "net": net_config,
        "train": train_config,
        "training": training,
    }
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    write_manifest_entry(
        {
            "name": name,
            "file": weights_path.name,
            "config": config_path.name,
            "sha256": sha256_file(weights_path),
            "training": training,
            "data": "BSDS500, 484 of 500 images (16 of test/ held out); "
            "cite ../shared/data/train/SOURCES.md",
        },
        models_dir,
    )
    return weights_path
