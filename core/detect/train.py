"""Train, calibrate and export the damage net.

    python -m core.detect.train train --data ../shared/data/train --out runs/detect --seed 0
    python -m core.detect.train export --out runs/detect       # calibrate + write resources/models

Reproducible: batch ``k`` is drawn from ``numpy.random.default_rng([seed, k])``, so a run resumed
from its checkpoint (``runs/detect/last.pt``, written every ``--save-every`` steps) sees the
same data as an uninterrupted one. Training images are ``train/`` and ``test/`` of the corpus;
``val/`` is held out for validation and for calibrating the default threshold.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from core.cpu import tune_allocator
from core.detect.net import (
    MODEL_NAME,
    DetectNet,
    DetectNetConfig,
    net_input,
    predict_steps,
    state_to_tensors,
)
from core.detect.synth import synthesize
from core.detect.tiling import EDGE_BORDER
from core.imageio import list_images, read_rgb8
from core.progress import run_to_end

# Share of samples per damage mix; the rest are clean (grain and JPEG only).
MIXES: tuple[tuple[tuple[str, ...], float], ...] = (
    (("scratch",), 0.35),
    (("dust",), 0.3),
    (("scratch", "dust"), 0.2),
    ((), 0.15),
)
# --aged: of the samples that get old-print damage, the share with each kind.
AGED_SHARES = (("crack", 0.75), ("fold", 0.35), ("faint", 0.3))
# Calibration: the default threshold keeps clean-photo false positives under this fraction
# (the product target is 0.5 %; half of it leaves room for photos unlike the corpus).
FP_BUDGET = 0.0025
# --w-visible: a hole pixel that moved this far (0-1 scale, ~64 levels) gets w_visible extra weight.
VISIBLE_REF = 0.25


def load_corpus(folder: Path, parts: tuple[str, ...]) -> list[np.ndarray]:
    files = [p for p in list_images(folder, recursive=True) if p.parent.name in parts]
    if not files:
        raise SystemExit(f"no images in {folder} / {parts}")
    return [read_rgb8(p) for p in files]


def sample(
    images: list[np.ndarray],
    rng: np.random.Generator,
    crop: int,
    edge_border: int = 0,
    aged: float = 0.0,
    toned: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One training sample: (damaged RGB float32 crop, hole mask, ignore mask, change).

    ``edge_border`` > 0: the crop may reach that far past the photo's edges, into repeated
    edge pixels (ignored by the loss), as the photo's borders reach the net at inference
    (``tiling.EDGE_BORDER``): a speck cut by the border is smeared across that band.
    ``aged``: share of the samples that get the damage of old prints (crack networks, folds,
    faint scratches; :mod:`.aging`) over their mix; ``toned``: share turned into an old print
    first. At 0 (the default) the draws are those of the earlier runs.
    """
    image = images[int(rng.integers(len(images)))]
    # Never below the crop: a 256 px crop needs the short side of a BSDS photo at 0.8 or more.
    scale = max(rng.uniform(0.6, 1.0), crop / min(image.shape[:2]))
    if scale < 0.97:
        size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        image = image[:, ::-1]
    image = np.rot90(image, int(rng.integers(4)))
    h, w = image.shape[:2]
    b = edge_border
    y, x = int(rng.integers(-b, h - crop + b + 1)), int(rng.integers(-b, w - crop + b + 1))
    y0, x0, y1, x1 = max(0, y), max(0, x), min(h, y + crop), min(w, x + crop)
    clean = image[y0:y1, x0:x1].astype(np.float32) / 255.0
    pick = rng.random()
    kinds: tuple[str, ...] = ()
    for mix, share in MIXES:
        if pick < share:
            kinds = mix
            break
        pick -= share
    aged_kinds: tuple[str, ...] = ()
    is_toned = False
    if aged > 0 or toned > 0:
        if rng.random() < aged:
            aged_kinds = aged_mix(rng)
            if rng.random() < 0.5:  # half of them alone, half over scratches and dust
                kinds = ()
        is_toned = bool(rng.random() < toned)
    d = synthesize(
        np.ascontiguousarray(clean),
        rng,
        kinds,
        mask_shape=(h, w),
        offset=(y0, x0),
        aged=aged_kinds,
        toned=is_toned,
    )
    if (y0, x0, y1, x1) == (y, x, y + crop, x + crop):
        return d.image, d.mask, d.ignore, d.change
    pads = ((y0 - y, y + crop - y1), (x0 - x, x + crop - x1))
    return (
        np.pad(d.image, (*pads, (0, 0)), "edge"),
        np.pad(d.mask, pads, constant_values=False),
        np.pad(d.ignore, pads, constant_values=True),
        np.pad(d.change, pads),
    )


def aged_mix(rng: np.random.Generator) -> tuple[str, ...]:
    """Which damage of old prints a sample gets: cracks mostly, folds and faint scratches
    now and then, at least one."""
    kinds = tuple(k for k, p in AGED_SHARES if rng.random() < p)
    return kinds or ("crack",)


def batch(
    images: list[np.ndarray],
    seed: int,
    step: int,
    size: int,
    crop: int,
    config: DetectNetConfig,
    edge_border: int = 0,
    aged: float = 0.0,
    toned: float = 0.0,
):
    rng = np.random.default_rng([seed, step])
    parts = [sample(images, rng, crop, edge_border, aged, toned) for _ in range(size)]
    rgb = torch.from_numpy(np.stack([net_input(p[0], config) for p in parts]))
    target = torch.from_numpy(np.stack([p[1] for p in parts])[:, None].astype(np.float32))
    weight = torch.from_numpy((~np.stack([p[2] for p in parts]))[:, None].astype(np.float32))
    change = torch.from_numpy(np.stack([p[3] for p in parts])[:, None])
    return rgb, target, weight, change


def loss_fn(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    w_f1: float = 0.0,
    change: torch.Tensor | None = None,
    w_visible: float = 0.0,
) -> torch.Tensor:
    """Weighted BCE, plus ``w_f1`` times one minus the batch's soft F1 (the figure the
    benchmark scores, pooled over the batch as the benchmark pools over photos).

    ``w_visible`` > 0 weighs each hole pixel up by ``w_visible * (change / VISIBLE_REF)**2``:
    a miss left unfilled costs the filled photo its squared change, so a glaring miss should
    cost the net more than a faint one. The sum is still divided by the unweighted total, so
    clean pixels keep their say."""
    # Holes are ~3 % of pixels: weigh them up so thin scratches are not ignored.
    base = weight * (1.0 + 2.0 * target)
    w = base
    if w_visible > 0 and change is not None:
        w = base + w_visible * weight * target * (change / VISIBLE_REF) ** 2
    loss = F.binary_cross_entropy_with_logits(logits, target, weight=w, reduction="sum")
    loss = loss / base.sum()
    if w_f1 > 0:
        p = torch.sigmoid(logits) * weight
        tp = (p * target).sum()
        soft_f1 = 2 * tp / (p.sum() + (target * weight).sum() + 1.0)
        loss = loss + w_f1 * (1.0 - soft_f1)
    return loss


def confusion(pred: np.ndarray, mask: np.ndarray, ignore: np.ndarray) -> np.ndarray:
    """(true positives, false positives, false negatives) outside ``ignore``."""
    keep = ~ignore
    return np.array(
        [(pred & mask & keep).sum(), (pred & ~mask & keep).sum(), (~pred & mask & keep).sum()],
        np.float64,
    )


def validation_set(images: list[np.ndarray], seed: int = 1234, count: int = 24):
    """``count`` held-out photos damaged (scratches and dust alternating), then as many others
    left clean (grain and JPEG only), each cut to a multiple of 8 px."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(2 * count):
        image = images[i % len(images)].astype(np.float32) / 255.0
        h, w = image.shape[:2]
        image = np.ascontiguousarray(image[: h - h % 8, : w - w % 8])
        kinds = (("scratch",) if i % 2 == 0 else ("dust",)) if i < count else ()
        out.append(synthesize(image, rng, kinds))
    return out


def evaluate(net: DetectNet, val, budget: float = FP_BUDGET) -> dict[str, float]:
    """F1 at 0.5 and at the operating point: the threshold that flags ``budget`` of the clean
    photos' pixels (how ``export`` calibrates), pooled per damage kind."""
    # As at inference: the photo's borders padded as ``tiling.EDGE_BORDER`` says.
    probs = [run_to_end(predict_steps(net, d.image)) for d in val]
    net.train()
    damaged = [(p, d) for p, d in zip(probs, val, strict=True) if d.mask.any()]
    clean = np.concatenate([p.ravel() for p, d in zip(probs, val, strict=True) if not d.mask.any()])
    threshold = max(0.5, float(np.quantile(clean, 1.0 - budget))) if clean.size else 0.5
    scores = {"threshold": threshold}
    for name, t in (("f1@0.5", 0.5), ("f1", threshold)):
        for kind, parity in (("scratch", 0), ("dust", 1)):
            c = np.zeros(3)
            for i, (p, d) in enumerate(damaged):
                if i % 2 == parity:
                    c += confusion(p >= t, d.mask, d.ignore)
            scores[f"{kind}_{name}"] = 2 * c[0] / max(1.0, 2 * c[0] + c[1] + c[2])
    return scores


def config_of(train_args: dict) -> DetectNetConfig:
    return DetectNetConfig(
        width=train_args["width"],
        features=bool(train_args.get("features")),
        norm=bool(train_args.get("norm")),
        levels=int(train_args.get("levels", 3)),
    )


def learning_rate(step: int, args: argparse.Namespace) -> float:
    """Cosine decay from ``--lr`` to 0 between ``--phase-start`` and ``--steps``, after a
    100-step warm-up: a function of the step only, so a resumed run follows it exactly. A new
    phase (``--phase-start`` = the step reached) restarts it, e.g. to fine-tune on larger crops.
    """
    start = getattr(args, "phase_start", 0)
    progress = (step - start) / max(1, args.steps - start)
    warmup = min(1.0, (step - start + 1) / 100)
    return args.lr * warmup * 0.5 * (1 + math.cos(math.pi * progress))


def train(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    tune_allocator()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    images = load_corpus(Path(args.data), ("train", "test"))
    val = validation_set(load_corpus(Path(args.data), ("val",)))
    net = DetectNet(config_of(vars(args))).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    ckpt = out / "last.pt"
    step = 0
    if ckpt.is_file():
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        step = int(state["step"])
        print(f"resumed from {ckpt} at step {step}", flush=True)
    elif args.init:
        from safetensors.torch import load_file

        net.load_state_dict(load_file(args.init))
        step = args.phase_start
        print(f"fine-tuning from {args.init} (as step {step})", flush=True)
    saved = {k: v for k, v in vars(args).items() if k != "run"}
    (out / "args.json").write_text(json.dumps(saved, indent=2))
    start, seen = time.time(), 0
    running = None
    while step < args.steps:
        lr = learning_rate(step, args)
        for group in opt.param_groups:
            group["lr"] = lr
        rgb, target, weight, change = batch(
            images,
            args.seed,
            step,
            args.batch,
            args.crop,
            net.config,
            args.edge_border,
            args.aged,
            args.toned,
        )
        rgb = rgb.contiguous(memory_format=torch.channels_last)
        # bf16 autocast: about 2x on a CPU with AMX; the loss is taken in float32.
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            logits = net(rgb)
        loss = loss_fn(logits.float(), target, weight, args.w_f1, change, args.w_visible)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        seen += 1
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 25 == 0:
            rate = (time.time() - start) / seen
            eta = (args.steps - step) * rate / 60
            print(
                f"step {step}/{args.steps} loss {running:.4f} lr {lr:.2e} "
                f"{rate:.2f}s/step eta {eta:.0f} min",
                flush=True,
            )
        if step % args.save_every == 0 or step == args.steps:
            tmp = ckpt.with_suffix(".tmp")
            torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "step": step}, tmp)
            tmp.replace(ckpt)
        if step % args.val_every == 0 or step == args.steps:
            scores = evaluate(net, val)
            print(
                f"step {step} val " + " ".join(f"{k} {v:.3f}" for k, v in scores.items()),
                flush=True,
            )
            with open(out / "val.jsonl", "a") as log:
                log.write(json.dumps({"step": step, **scores}) + "\n")
    print(f"done: {step} steps, {time.time() - start:.0f} s this run", flush=True)
    return 0


def calibrate(net: DetectNet, folder: Path, budget: float = FP_BUDGET) -> tuple[float, dict]:
    """Default threshold: the lowest that keeps clean ``val/`` photos under ``FP_BUDGET``
    flagged (pooled over the photos), never below 0.5."""
    from core.detect.net import predict_steps
    from core.progress import run_to_end

    clean = load_corpus(folder, ("val",))
    probs = [run_to_end(predict_steps(net, im.astype(np.float32) / 255.0)) for im in clean]
    pooled = np.concatenate([p.ravel() for p in probs])
    threshold = max(0.5, float(np.quantile(pooled, 1.0 - budget)))
    fp = float((pooled >= threshold).mean())
    return threshold, {"val_clean_fp": fp, "val_images": len(clean)}


def export(args: argparse.Namespace) -> int:
    from safetensors.torch import save_file

    from core.models import sha256_file, write_manifest_entry
    from core.resources import MODELS_DIR

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    state = torch.load(out / "last.pt", map_location="cpu", weights_only=True)
    train_args = json.loads((out / "args.json").read_text())
    scales = tuple(int(f) for f in args.scales.split(","))
    net = DetectNet(dataclasses.replace(config_of(train_args), scales=scales))
    net.load_state_dict(state["net"])
    net.eval()
    # Calibrated as it will run: at every scale of the config, combined.
    threshold, calib = calibrate(net, Path(train_args["data"]), args.budget)
    config = dataclasses.replace(net.config, threshold=round(threshold, 4))
    models = Path(args.models_dir) if args.models_dir else MODELS_DIR
    models.mkdir(parents=True, exist_ok=True)  # after an hour of calibration, not a crash
    weights = models / f"{MODEL_NAME}.safetensors"
    save_file(state_to_tensors(net), str(weights))
    (models / f"{MODEL_NAME}.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    command = (
        f"python -m core.detect.train train --data {train_args['data']} --out {args.out} "
        f"--seed {train_args['seed']} --steps {train_args['steps']} --batch {train_args['batch']} "
        f"--crop {train_args['crop']} --width {train_args['width']}"
        + (" --features" if train_args.get("features") else "")
        + (" --norm" if train_args.get("norm") else "")
        + (f" --levels {train_args['levels']}" if train_args.get("levels", 3) != 3 else "")
        + (f" --w-f1 {train_args['w_f1']}" if train_args.get("w_f1") else "")
        + (f" --w-visible {train_args['w_visible']}" if train_args.get("w_visible") else "")
        + (f" --lr {train_args['lr']}" if train_args.get("lr", 2e-3) != 2e-3 else "")
        + (f" --phase-start {train_args['phase_start']}" if train_args.get("phase_start") else "")
        + (f" --edge-border {train_args['edge_border']}" if train_args.get("edge_border") else "")
        + (f" --aged {train_args['aged']}" if train_args.get("aged") else "")
        + (f" --toned {train_args['toned']}" if train_args.get("toned") else "")
        + (" --bf16" if train_args.get("bf16") else "")
        + (f" --init {train_args['init']}" if train_args.get("init") else "")
    )
    entry = {
        "name": MODEL_NAME,
        "file": weights.name,
        "config": f"{MODEL_NAME}.json",
        "sha256": sha256_file(weights),
        "training": {
            "command": command,
            "export": f"python -m core.detect.train export --out {args.out}"
            + (f" --scales {args.scales}" if args.scales != "1" else ""),
            "steps": int(state["step"]),
            "time_s": args.time_s,
            "hardware": args.hardware,
            "calibration": dict(calib, threshold=config.threshold, fp_budget=args.budget),
            "note": args.note,
        },
        "data": "BSDS500 train/ and test/ (400 images) with synthesized scratches and dust"
        + (
            ", and old-print damage (crack networks, folds, faint scratches; core/detect/aging.py)"
            " over photos toned as old prints"
            if train_args.get("aged") or train_args.get("toned")
            else ""
        )
        + "; val/ held out for calibration; cite ../shared/data/train/SOURCES.md. Never trained "
        "on: Kodak24 (benchmark) and the real scans of ../shared/data/real (validation only).",
    }
    write_manifest_entry(entry, models)
    print(
        f"exported step {state['step']} to {weights} (threshold {config.threshold:.3f}, "
        f"val clean FP {calib['val_clean_fp']:.4%})"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.detect.train")
    sub = parser.add_subparsers(dest="action", required=True)
    t = sub.add_parser("train", help="train (resumes from OUT/last.pt when present)")
    t.add_argument("--data", default="../shared/data/train")
    t.add_argument("--out", default="runs/detect")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--steps", type=int, default=4000)
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--crop", type=int, default=128)
    t.add_argument("--width", type=int, default=16)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--features", action="store_true", help="median-residual input channels")
    t.add_argument("--norm", action="store_true", help="BatchNorm after each conv")
    t.add_argument("--levels", type=int, default=3, choices=(3, 4), help="U-Net levels")
    t.add_argument("--w-f1", type=float, default=0.0, help="weight of the soft-F1 loss term")
    t.add_argument(
        "--w-visible",
        type=float,
        default=0.0,
        help=f"extra weight of a hole pixel per (change / {VISIBLE_REF})^2",
    )
    t.add_argument(
        "--edge-border",
        type=int,
        default=0,
        metavar="PX",
        help="crops may reach PX past the photo's edges into repeated edge pixels "
        f"(inference pads {EDGE_BORDER})",
    )
    t.add_argument(
        "--phase-start",
        type=int,
        default=0,
        metavar="STEP",
        help="restart the learning-rate schedule at STEP (a new phase of a resumed run)",
    )
    t.add_argument("--aged", type=float, default=0.0, help="share of samples with old-print damage")
    t.add_argument("--toned", type=float, default=0.0, help="share of samples toned as old prints")
    t.add_argument("--bf16", action="store_true", help="bfloat16 autocast (AMX CPUs: ~2x)")
    t.add_argument(
        "--init",
        default=None,
        metavar="SAFETENSORS",
        help="start from these weights (fine-tuning; the step counts on from --phase-start)",
    )
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--save-every", type=int, default=50)
    t.add_argument("--val-every", type=int, default=250)
    t.set_defaults(run=train)
    e = sub.add_parser("export", help="calibrate the threshold and write resources/models")
    e.add_argument("--out", default="runs/detect")
    e.add_argument("--models-dir", default=None)
    e.add_argument("--threads", type=int, default=1)
    e.add_argument(
        "--scales",
        default="1",
        help="downsampling factors the net runs at, e.g. 1,2 (see DetectNetConfig.scales)",
    )
    e.add_argument("--time-s", type=int, default=None, help="training time, for the manifest")
    e.add_argument("--budget", type=float, default=FP_BUDGET, help="clean-pixel share flagged")
    e.add_argument("--note", default="", help="free text for the manifest (schedule changes...)")
    e.add_argument("--hardware", default="2-core CPU", help="what it trained on, for the manifest")
    e.set_defaults(run=export)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
