"""``train``: train a model: the manifold fill model (the default; also under ``torchrun`` for
several GPUs/processes) or, with ``--model layout``, the layout VAE of generation and fusion.

Examples::

    python main.py train --data ../shared/data/train --out runs/manifold
    python main.py train --model layout --data ../shared/data/train --out runs/layout
    python main.py train --model layout --out runs/layout --export resources/models
    torchrun --nproc_per_node 2 main.py train --data DIR --out runs/ddp --device cpu
    python main.py train --out runs/manifold --export resources/models   # ship best.pt
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from core.device import DEVICE_CHOICES, resolve_device

# TrainConfig fields settable from the command line (name -> type).
_OPTIONS = {
    "steps": int,
    "batch": int,
    "crop": int,
    "lr": float,
    "warmup": int,
    "w_grad": float,
    "w_fft": float,
    "w_kl": float,
    "w_adv": float,
    "w_div": float,
    "div_target": float,
    "w_axis": float,
    "axis_target": float,
    "w_decor": float,
    "axis_pool": int,
    "disc_lr": float,
    "free_bits": float,
    "val_every": int,
    "ckpt_every": int,
    "log_every": int,
    "val_count": int,
    "val_crop": int,
    "threads": int,
    # The layout VAE's own (see core.layout.train.TrainConfig).
    "kl_warmup": int,
}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model (the manifold fill model, or --model layout)",
        description="Train the manifold model on a folder of photos, with periodic validation "
        "(hole-PSNR on held-out images with fixed masks) and resumable checkpoints in OUT.",
    )
    parser.add_argument(
        "--model",
        choices=sorted(_MODELS),
        default="manifold",
        help="which model: manifold (the fill net, default) or layout (generation and fusion)",
    )
    parser.add_argument("--data", type=Path, help="folder of training photos (searched deeply)")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint folder")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights, data and masks")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    parser.add_argument(
        "--fresh", action="store_true", help="start over even when OUT has a checkpoint"
    )
    parser.add_argument(
        "--init-from",
        type=Path,
        metavar="MODELS_DIR",
        help="with no checkpoint in OUT, start from the exported weights in MODELS_DIR "
        "(e.g. resources/models) instead of random ones",
    )
    parser.add_argument(
        "--tiny", action="store_true", help="a very small network (tests and smoke runs)"
    )
    parser.add_argument(
        "--up-blur",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="switch the decoder's weight-free [1 2 1] blur after each upsampling on or off "
        "(new runs, resumed runs and --init-from alike; default: keep the network's setting)",
    )
    parser.add_argument(
        "--up-blur-full-res",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="whether that blur also follows the last upsampling, to full resolution",
    )
    parser.add_argument(
        "--export",
        type=Path,
        metavar="MODELS_DIR",
        help="do not train: export OUT/best.pt as manifold.safetensors + manifold.json into "
        "MODELS_DIR and update its manifest.json",
    )
    parser.add_argument(
        "--checkpoint", default="best.pt", help="which checkpoint --export reads (default best.pt)"
    )
    for name, kind in _OPTIONS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return _MODELS[args.model](args)


def _run_layout(args: argparse.Namespace) -> int:
    from core.errors import InpaintError

    if args.export is not None:
        from core.layout.export import export_checkpoint

        print(f"exported {export_checkpoint(args.out / args.checkpoint, args.export)}")
        return 0
    _check_data(args)
    from core.layout.net import NetConfig
    from core.layout.train import TrainConfig, train_steps

    if args.device not in ("auto", "cpu"):
        raise InpaintError("the layout model trains on the CPU only (it is small)")
    values = {f.name: getattr(args, f.name, None) for f in fields(TrainConfig)}
    config = TrainConfig(
        seed=args.seed, **{k: v for k, v in values.items() if v is not None and k != "seed"}
    )
    net_config = NetConfig(widths=(4, 8, 8, 8), z_dim=4, size=32) if args.tiny else None
    steps = train_steps(config, args.data, args.out, net_config, resume=not args.fresh, log=_log)
    result = _drive(steps)
    print(f"finished at step {result['step']}; best validation score {result['best']:.4f}")
    return 0


def _log(text: str) -> None:
    from tqdm import tqdm

    tqdm.write(text, file=sys.stderr)


def _check_data(args: argparse.Namespace) -> None:
    from core.errors import InpaintError

    if args.data is None:
        raise InpaintError("--data is required for training")
    if not args.data.is_dir():
        raise InpaintError(f"training data folder {args.data} does not exist")


def _run_manifold(args: argparse.Namespace) -> int:
    if args.export is not None:
        from core.manifold.export import export_checkpoint

        path = export_checkpoint(args.out / args.checkpoint, args.export)
        print(f"exported {path}")
        return 0
    _check_data(args)
    from tqdm import tqdm

    from core.manifold.net import NetConfig
    from core.manifold.train import TrainConfig, train_steps

    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if f.name in _OPTIONS}
    config = TrainConfig(seed=args.seed, **{k: v for k, v in values.items() if v is not None})
    net_config = NetConfig(widths=(8, 8, 16, 16, 16), z_dim=4) if args.tiny else None
    steps = train_steps(
        config,
        args.data,
        args.out,
        net_config=net_config,
        resume=not args.fresh,
        device=resolve_device(args.device),
        log=lambda text: tqdm.write(text, file=sys.stderr),
        init_from=args.init_from,
        net_changes={
            name: value
            for name, value in (
                ("up_blur", args.up_blur),
                ("up_blur_full_res", args.up_blur_full_res),
            )
            if value is not None
        },
    )
    import os

    main_rank = os.environ.get("RANK", "0") == "0"
    result = _drive(steps, main_rank)
    if main_rank:
        print(f"finished at step {result['step']}; best validation hole-PSNR {result['best']:.2f}")
    return 0


def _drive(steps, show: bool = True) -> dict:
    """Run a training generator to its end under a progress bar; its result."""
    from tqdm import tqdm

    bar = tqdm(
        total=1000,
        unit="‰",
        desc="train",
        file=sys.stderr,
        disable=not show,
        mininterval=0.5 if sys.stderr.isatty() else 60.0,
        bar_format="{l_bar}{bar}| {elapsed}<{remaining} {postfix}",
    )
    with bar:
        while True:
            try:
                event = next(steps)
            except StopIteration as stop:
                return stop.value
            bar.n = int(event.fraction * 1000)
            bar.set_postfix_str(event.message, refresh=False)
            bar.update(0)


# --model -> its runner.
_MODELS = {"manifold": _run_manifold, "layout": _run_layout}
