"""Export a training checkpoint as the shipped model: safetensors + JSON config + manifest."""

from __future__ import annotations

from pathlib import Path

import torch

from core.training.model_files import Trained, write_model

MODEL_NAME = "manifold"
# Weights are stored as float16 (half the size; the difference in the fill is far below
# 8-bit precision) and widened to float32 on load.
STORE_DTYPE = torch.float16


def export_checkpoint(
    checkpoint: Path, models_dir: Path, name: str = MODEL_NAME, command: str | None = None
) -> Path:
    """Write ``NAME.safetensors`` and ``NAME.json`` into ``models_dir`` and list them in its
    manifest with the sha256, the training settings, steps, time and validation figures."""
    trained = Trained.read(checkpoint)
    # The posterior only exists for training; inference never runs it.
    tensors = trained.weights(STORE_DTYPE, skip=("posterior",))
    train_config, val = trained.train_config, trained.val
    training = {
        "command": command
        or "python main.py train --data ../shared/data/train --out runs/manifold --seed "
        f"{train_config['seed']} --steps {train_config['steps']}",
        **trained.run(),
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
        "net": trained.net_config,
        "train": train_config,
        "training": training,
    }
    data = "BSDS500, 484 of 500 images (16 of test/ held out); cite ../shared/data/train/SOURCES.md"
    return write_model(models_dir, name, tensors, "manifold-net/1", config, training, data)
