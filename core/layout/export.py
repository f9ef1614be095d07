"""Export a layout training checkpoint as the shipped model: safetensors + JSON + manifest."""

from __future__ import annotations

from pathlib import Path

import torch

from core.training.model_files import Trained, write_model

MODEL_NAME = "layout"
FORMAT = "layout-vae/1"
# Network weights as float16 (half the size, far below 8-bit precision in the decoded
# layout); the prior's mean and basis stay float32 (whitening solves with the basis).
STORE_DTYPE = torch.float16
PRIOR_KEYS = ("prior_mean", "prior_basis")


def export_checkpoint(
    checkpoint: Path, models_dir: Path, name: str = MODEL_NAME, command: str | None = None
) -> Path:
    """Write ``NAME.safetensors`` (net weights and the fitted prior) and ``NAME.json`` into
    ``models_dir`` and list them in its manifest with sha256, training settings and figures."""
    trained = Trained.read(checkpoint)
    tensors = trained.weights(STORE_DTYPE)
    for key in PRIOR_KEYS:
        tensors[key] = trained.state[key].detach().float().contiguous()
    train_config = trained.train_config
    training = {
        "command": command
        or "python main.py train --model layout --data ../shared/data/train --out runs/layout "
        f"--seed {train_config['seed']} --steps {train_config['steps']} --threads 1",
        "export": f"python main.py train --model layout --out {checkpoint.parent} --export "
        f"{models_dir.name if models_dir.name != 'models' else 'resources/models'} "
        f"--checkpoint {checkpoint.name}",
        **trained.run(),
        "hardware": "2-core CPU shared with other jobs (1 torch thread, bf16 autocast)",
        "validation": {
            "what": "BSDS500 val/ (100 photos, never trained on), each squeezed whole to the "
            "layout's square: reconstruction PSNR of the posterior mean's decode (plain and "
            "after a sigma size/128 px blur: sigma 4 px at 512), KL (nats); 8 samples from the "
            "fitted prior and from N(0, I): mean pixel std and min / mean pairwise mean "
            "absolute difference after that blur (0-255)",
            **{k: round(float(v), 3) for k, v in trained.val.items() if k != "step"},
        },
    }
    config = {
        "format": FORMAT,
        "net": trained.net_config,
        "train": train_config,
        "training": training,
    }
    data = (
        "BSDS500 train/ and test/ (400 photos), whole photos at 96 px short side with crops, "
        "flips and colour jitter; val/ (100) held out for measuring; cite "
        "../shared/data/train/SOURCES.md"
    )
    return write_model(models_dir, name, tensors, FORMAT, config, training, data)
