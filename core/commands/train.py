"""``train``: train a model: the manifold fill model (the default; also under ``torchrun`` for
several GPUs/processes), with ``--model layout`` the layout VAE of generation and fusion, with
``--model detect`` the damage detector.

Examples::

    python main.py train --data ../shared/data/train --out runs/manifold
    python main.py train --model layout --data ../shared/data/train --out runs/layout
    python main.py train --model layout --out runs/layout --export resources/models
    python main.py train --model detect --data ../shared/data/train --out runs/detect --bf16
    python main.py train --model detect --out runs/detect --export resources/models --scales 1,2
    torchrun --nproc_per_node 2 main.py train --data DIR --out runs/ddp --device cpu
    python main.py train --out runs/manifold --export resources/models   # ship best.pt
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from core.base.device import DEVICE_CHOICES, resolve_device
from core.commands.console import drive

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
    # The manifold net's "structure" recipe (see core.manifold.train.TrainConfig).
    "hole_l1": float,
    "w_low": float,
    "low_pool": int,
    "w_perc": float,
    "adv_kind": str,
    "w_fm": float,
    "r1_gamma": float,
    "r1_every": int,
    "guide_val": int,
    "select": str,
    "scale_min": float,
    "scale_max": float,
    # The layout VAE's own (see core.layout.train.TrainConfig).
    "kl_warmup": int,
}
# Their switches (--NAME / --no-NAME).
_SWITCHES = ("sample_fakes", "diff_aug")


HELP = "train a model (the manifold fill model, --model layout or --model detect)"
DESCRIPTION = (
    "Train a model on a folder of photos, with periodic validation on held-out "
    "photos and resumable checkpoints in OUT."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        choices=sorted(_MODELS),
        default="manifold",
        help="which model: manifold (the fill net, default), layout (generation and fusion) "
        "or detect (the damage detector)",
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
        "--init",
        type=Path,
        metavar="MODELS_DIR",
        help="with no checkpoint in OUT, start from the exported weights in MODELS_DIR "
        "(e.g. resources/models) instead of random ones (detect: also a .safetensors file; "
        "the steps count on from --phase-start)",
    )
    _add_manifold_options(parser)
    parser.add_argument(
        "--export",
        type=Path,
        metavar="MODELS_DIR",
        help="do not train: export OUT/best.pt as MODEL.safetensors + MODEL.json into "
        "MODELS_DIR and update its manifest.json (detect: OUT/last.pt, its threshold "
        "calibrated on the held-out val/ photos)",
    )
    parser.add_argument(
        "--checkpoint",
        default=None,
        help="which checkpoint --export reads (default best.pt; detect: last.pt)",
    )
    parser.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bfloat16 autocast of the forward pass (AMX CPUs: ~2x; default: the model's)",
    )
    for name, kind in _OPTIONS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None)
    for name in _SWITCHES:
        parser.add_argument(
            f"--{name.replace('_', '-')}", action=argparse.BooleanOptionalAction, default=None
        )
    parser.add_argument(
        "--recipe",
        choices=("semantic", "structure"),
        default=None,
        help="the settings of a shipped model, flags given beside it override them: "
        "semantic (--model detect; core.detect.train.RECIPES) or structure (the manifold "
        "net; core.manifold.train.RECIPES)",
    )
    _add_detect_options(parser)


def _add_manifold_options(parser: argparse.ArgumentParser) -> None:
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


def _add_detect_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("--model detect", "the damage detector's own options")
    add = group.add_argument
    add("--width", type=int, default=None, help="channels of the first level (default 16)")
    add("--levels", type=int, choices=(3, 4), default=None, help="U-Net levels (default 3)")
    add("--features", action="store_true", default=None, help="median-residual input channels")
    add("--norm", action="store_true", default=None, help="BatchNorm after each conv")
    add("--w-f1", type=float, default=None, help="weight of the soft-F1 loss term")
    add(
        "--w-visible",
        type=float,
        default=None,
        help="extra weight of a hole pixel by the square of how far it moved",
    )
    add(
        "--edge-border",
        type=int,
        default=None,
        metavar="PX",
        help="crops may reach PX past the photo's edges into repeated edge pixels, as the "
        "photo's borders reach the net at inference",
    )
    add(
        "--phase-start",
        type=int,
        default=None,
        metavar="STEP",
        help="restart the learning-rate schedule at STEP (a new phase of a resumed run)",
    )
    add("--aged", type=float, default=None, help="share of samples with old-print damage")
    add("--toned", type=float, default=None, help="share of samples toned as old prints")
    add("--arch", choices=("unet", "lite0"), default=None, help="unet, or lite0: a U-Net on "
        "the ImageNet EfficientNet-Lite0 encoder")  # fmt: skip
    add("--encoder-lr", type=float, default=None, help="lite0: the encoder's share of --lr")
    add("--real", type=float, default=None, help="share of samples with real-scan damage")
    add(
        "--real-layers",
        default=None,
        metavar="SCANS",
        help="comma-separated real scans whose damage is pasted (the others are validated on)",
    )
    add("--w-thin", type=float, default=None, help="extra weight of clean thin content")
    add("--w-speck", type=float, default=None, help="extra weight of clean isolated specks")
    add("--scales", default=None, help="--export: factors the net runs at, e.g. 1,2")
    add("--budget", type=float, default=None, help="--export: clean-pixel share flagged")
    add("--floor", type=float, default=None, help="--export: the lowest default threshold")
    add("--time-s", type=int, default=None, help="--export: training time, for the manifest")
    add("--hardware", default=None, help="--export: what it trained on, for the manifest")
    add("--note", default=None, help="--export: free text for the manifest")


# Options only --model detect reads (argparse dests).
_DETECT_ONLY = (
    "width", "levels", "features", "norm", "w_f1", "w_visible", "edge_border", "phase_start",
    "aged", "toned", "scales", "budget", "floor", "time_s", "hardware", "note", "arch",
    "encoder_lr", "real", "real_layers", "w_thin", "w_speck",
)  # fmt: skip


# Which model each recipe trains.
_RECIPE_MODEL = {"semantic": "detect", "structure": "manifold"}


def run(args: argparse.Namespace) -> int:
    if args.recipe is not None and _RECIPE_MODEL[args.recipe] != args.model:
        from core.base.errors import InpaintError

        model = _RECIPE_MODEL[args.recipe]
        raise InpaintError(f"--recipe {args.recipe} trains --model {model}, not {args.model}")
    if args.model != "detect":
        stray = [name for name in _DETECT_ONLY if getattr(args, name) is not None]
        if stray:
            from core.base.errors import InpaintError

            flags = ", ".join("--" + name.replace("_", "-") for name in stray)
            raise InpaintError(f"{flags}: only for --model detect")
    return _MODELS[args.model](args)


def _run_layout(args: argparse.Namespace) -> int:
    from core.base.errors import InpaintError

    if args.export is not None:
        from core.layout.export import export_checkpoint

        checkpoint = args.out / (args.checkpoint or "best.pt")
        print(f"exported {export_checkpoint(checkpoint, args.export)}")
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
    from core.base.errors import InpaintError

    if args.data is None:
        raise InpaintError("--data is required for training")
    if not args.data.is_dir():
        raise InpaintError(f"training data folder {args.data} does not exist")


def _run_manifold(args: argparse.Namespace) -> int:
    if args.export is not None:
        from core.manifold.export import export_checkpoint

        path = export_checkpoint(args.out / (args.checkpoint or "best.pt"), args.export)
        print(f"exported {path}")
        return 0
    _check_data(args)
    from tqdm import tqdm

    from core.manifold.net import NetConfig
    from core.manifold.train import RECIPES, TrainConfig, train_steps

    chosen = {*_OPTIONS, *_SWITCHES, "bf16"}
    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if f.name in chosen}
    given = {k: v for k, v in values.items() if v is not None}
    recipe = dict(RECIPES.get(args.recipe or "", {}))
    # A --tiny net cannot start from the recipe's exported weights (another size).
    recipe_init = recipe.pop("init_from", None)
    init_from = args.init_from or (None if args.tiny else recipe_init)
    config = TrainConfig(seed=args.seed, **{**recipe, **given})
    net_config = NetConfig(widths=(8, 8, 16, 16, 16), z_dim=4) if args.tiny else None
    steps = train_steps(
        config,
        args.data,
        args.out,
        net_config=net_config,
        resume=not args.fresh,
        device=resolve_device(args.device),
        log=lambda text: tqdm.write(text, file=sys.stderr),
        init_from=None if init_from is None else Path(init_from),
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
        what = "guide progress" if config.select == "guide" else "hole-PSNR"
        print(f"finished at step {result['step']}; best validation {what} {result['best']:.3f}")
    return 0


def _run_detect(args: argparse.Namespace) -> int:
    if args.export is not None:
        return _export_detect(args)
    _check_data(args)
    from core.detect.train import RECIPES, TrainConfig, train_steps

    values = {f.name: getattr(args, f.name, None) for f in fields(TrainConfig)}
    given = {k: v for k, v in values.items() if v is not None and k != "seed"}
    chosen = {**RECIPES.get(args.recipe or "", {}), **given}
    if args.tiny:
        chosen.setdefault("width", 4)
    config = TrainConfig(seed=args.seed, **chosen)
    steps = train_steps(
        config, args.data, args.out, resume=not args.fresh, init=args.init_from, log=_log,
        device=resolve_device(args.device),
    )  # fmt: skip
    result = _drive(steps)
    print(f"finished at step {result['step']}; best validation F1 {result['best']:.3f}")
    return 0


def _export_detect(args: argparse.Namespace) -> int:
    from core.base.errors import InpaintError
    from core.detect.export import ExportInfo, export_run

    try:
        scales = tuple(int(f) for f in (args.scales or "1").split(","))
    except ValueError:
        raise InpaintError(f"--scales takes factors like 1,2, not {args.scales!r}") from None
    given = {
        "floor": args.floor,
        "budget": args.budget,
        "time_s": args.time_s,
        "hardware": args.hardware,
        "note": args.note,
    }
    info = ExportInfo(scales=scales, **{k: v for k, v in given.items() if v is not None})
    weights, calib = export_run(
        args.out, args.export, args.checkpoint or "last.pt", info, threads=args.threads or 1
    )
    print(
        f"exported step {calib['step']} to {weights} (threshold {calib['threshold']:.3f}, "
        f"val clean FP {calib['val_clean_fp']:.4%})"
    )
    return 0


def _drive(steps, show: bool = True) -> dict:
    """Run a training generator to its end under a progress bar; its result."""
    return drive(
        steps,
        "train",
        leave=True,
        unit="‰",
        disable=not show,
        mininterval=0.5 if sys.stderr.isatty() else 60.0,
        bar_format="{l_bar}{bar}| {elapsed}<{remaining} {postfix}",
    )


# --model -> its runner.
_MODELS = {"manifold": _run_manifold, "layout": _run_layout, "detect": _run_detect}
