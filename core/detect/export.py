"""Export a damage-net training run as the shipped detector: calibrate its default threshold on
the held-out ``val/`` photos, write safetensors + JSON and list them in the models manifest.

    python main.py train --model detect --out runs/detect --export resources/models --scales 1,2
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from core.base.cpu import thread_count as torch_threads
from core.base.errors import InpaintError
from core.detect.net import MODEL_NAME, build_net, state_to_tensors
from core.detect.train import (
    FP_BUDGET,
    REAL_SCANS,
    RECIPES,
    THRESHOLD_FLOOR,
    calibrate,
    config_of,
)
from core.training.loop import load_checkpoint

# Flags of the training command, after the ones every run records: (args.json key, flag, the
# default that leaves it out). Booleans are written bare.
_COMMAND_FLAGS = (
    ("features", "--features", False),
    ("norm", "--norm", False),
    ("levels", "--levels", 3),
    ("w_f1", "--w-f1", 0.0),
    ("w_visible", "--w-visible", 0.0),
    ("lr", "--lr", 2e-3),
    ("phase_start", "--phase-start", 0),
    ("edge_border", "--edge-border", 0),
    ("aged", "--aged", 0.0),
    ("toned", "--toned", 0.0),
    ("bf16", "--bf16", False),
    ("arch", "--arch", "unet"),
    ("encoder_lr", "--encoder-lr", 1.0),
    ("real", "--real", 0.0),
    ("real_layers", "--real-layers", ""),
    ("w_thin", "--w-thin", 0.0),
    ("w_speck", "--w-speck", 0.0),
    ("init", "--init", None),
)


def recipe_of(train_args: dict) -> str | None:
    """The name of the recipe (``RECIPES``) whose every setting the run of ``args.json`` has."""
    for name, recipe in RECIPES.items():
        # Compared as JSON holds them (a recipe's tuples come back as lists).
        if all(_as_json(train_args.get(key)) == _as_json(v) for key, v in recipe.items()):
            return name
    return None


def _as_json(value):
    return json.loads(json.dumps(value))


def training_command(train_args: dict) -> str:
    """The command that trains the run of ``args.json`` (for the manifest): ``--recipe`` and
    what differs from it, when a recipe holds the run's settings; else every flag."""
    recipe = recipe_of(train_args)
    words = ["python main.py train --model detect"]
    if recipe is not None:
        words.append(f"--recipe {recipe}")
    fixed = RECIPES[recipe] if recipe is not None else {}
    for key in ("data", "out", "seed", "steps", "batch", "crop", "width"):
        if key not in fixed:
            words.append(f"--{key} {train_args[key]}")
    for key, flag, default in _COMMAND_FLAGS:
        value = train_args.get(key, default)
        if value is None or value == default or key in fixed:
            continue
        words.append(flag if isinstance(value, bool) else f"{flag} {value}")
    return " ".join(words)


@dataclasses.dataclass(frozen=True)
class ExportInfo:
    """What the manifest records besides the weights: how it ran and what it is."""

    scales: tuple[int, ...] = (1,)
    budget: float = FP_BUDGET
    floor: float = THRESHOLD_FLOOR
    time_s: int | None = None
    hardware: str = "2-core CPU"
    note: str = ""


def export_run(
    out_dir: Path,
    models_dir: Path,
    checkpoint: str = "last.pt",
    info: ExportInfo | None = None,
    threads: int = 1,
) -> tuple[Path, dict]:
    """Calibrate ``out_dir/checkpoint`` at ``info.scales`` (as it will run) and write
    ``detect.safetensors`` + ``detect.json`` into ``models_dir`` and its manifest entry;
    (the weights' path, the calibration)."""
    from safetensors.torch import save_file

    from core.base.weights import sha256_file, write_manifest_entry

    info = info or ExportInfo()
    path, args_path = out_dir / checkpoint, out_dir / "args.json"
    for needed in (path, args_path):
        if not needed.is_file():
            raise InpaintError(f"no {needed.name} in {out_dir}: is it a detector training run?")
    state = load_checkpoint(path)
    train_args = json.loads(args_path.read_text(encoding="utf-8"))
    net = build_net(dataclasses.replace(config_of(train_args), scales=info.scales))
    net.load_state_dict(state["net"])
    net.eval()
    with torch_threads(threads):
        threshold, calib = calibrate(net, Path(train_args["data"]), info.budget, info.floor)
    config = dataclasses.replace(net.config, threshold=round(threshold, 4))
    models_dir.mkdir(parents=True, exist_ok=True)  # after an hour of calibration, not a crash
    weights = models_dir / f"{MODEL_NAME}.safetensors"
    save_file(state_to_tensors(net), str(weights))
    (models_dir / f"{MODEL_NAME}.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    export_command = f"python main.py train --model detect --out {out_dir} --export {models_dir}"
    if checkpoint != "last.pt":
        export_command += f" --checkpoint {checkpoint}"
    if info.scales != (1,):
        export_command += f" --scales {','.join(str(s) for s in info.scales)}"
    if info.floor != THRESHOLD_FLOOR:
        export_command += f" --floor {info.floor}"
    entry = {
        "name": MODEL_NAME,
        "file": weights.name,
        "config": f"{MODEL_NAME}.json",
        "sha256": sha256_file(weights),
        "training": {
            "command": training_command(train_args),
            "export": export_command,
            "steps": int(state["step"]),
            "time_s": info.time_s,
            "hardware": info.hardware,
            "calibration": dict(
                calib, threshold=config.threshold, fp_budget=info.budget, floor=info.floor
            ),
            "note": info.note,
        },
        "data": _data_note(train_args),
    }
    write_manifest_entry(entry, models_dir)
    return weights, dict(calib, threshold=config.threshold, step=int(state["step"]))


def _data_note(train_args: dict) -> str:
    aged = train_args.get("aged") or train_args.get("toned")
    pasted = [n for n in str(train_args.get("real_layers") or "").split(",") if n]
    if pasted and train_args.get("real"):
        judged = [n for n in REAL_SCANS if n not in pasted]
        return (
            "BSDS500 train/ and test/ (400 images) with synthesized scratches, dust and old-print "
            "damage (core/detect/aging.py) over photos toned as old prints, and damage cut from "
            f"the real scan(s) {', '.join(pasted)} under their reference masks "
            "(core/detect/real_layers.py); the photos' clean thin content weighted as hard "
            "negatives; val/ held out for calibration; cite ../shared/data/train/SOURCES.md. "
            "Never trained on: Kodak24 (benchmark) and the real scan(s) "
            f"{', '.join(judged)} (judged on)."
        )
    return (
        "BSDS500 train/ and test/ (400 images) with synthesized scratches and dust"
        + (
            ", and old-print damage (crack networks, folds, faint scratches; core/detect/aging.py)"
            " over photos toned as old prints"
            if aged
            else ""
        )
        + "; val/ held out for calibration; cite ../shared/data/train/SOURCES.md. Never trained "
        "on: Kodak24 (benchmark) and the real scans of ../shared/data/real (validation only)."
    )
