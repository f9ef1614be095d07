"""``bench``: compare fill methods on a folder of photos with seeded masks of every class."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.base.device import DEVICE_CHOICES
from core.base.errors import InpaintError

# The engine is imported inside the functions: start-up cost, see core/commands/__init__.py.


HELP = "benchmark fill methods (hole-PSNR, hole-SSIM, detail, speed)"
DESCRIPTION = (
    "Fill seeded masks of every damage class in every photo of DIR with each "
    "method (through the normal fill pipeline) and print hole-PSNR, hole-SSIM on the hole's "
    "bounding box, the gradient ratio (detail kept inside the hole; 1 = as the original), "
    "median seconds per image, and whether known pixels stayed unchanged."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from core.base.maskgen import KINDS

    parser.add_argument("--images", type=Path, required=True, metavar="DIR")
    parser.add_argument(
        "--methods",
        default=None,
        help="comma-separated (default: manifold,telea,ns); manifold-net is the net's fill "
        "alone (manifold with texture=False), patchmatch the unguided texture engine",
    )
    parser.add_argument(
        "--classes", default=",".join(KINDS), help=f"comma-separated (default: {','.join(KINDS)})"
    )
    parser.add_argument("--seed", type=int, default=0, help="mask seed (default 0)")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N images")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="method option passed to every fill, e.g. max_hole_radius=16 (repeatable)",
    )
    parser.add_argument(
        "--latent",
        action="store_true",
        help="also measure the manifold latent: sample spread, 1-sigma moves (large holes)",
    )
    parser.add_argument(
        "--speed", action="store_true", help="also time a 512x512 crop fill and a re-decode"
    )
    parser.add_argument(
        "--grain",
        action="store_true",
        help="fill as fill --grain does: the surroundings' grain added to every fill",
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--save", type=Path, metavar="DIR", help="write every fill here as PNG")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from core.base.device import resolve_device
    from core.bench import format_table, list_images, resolve_entry, run_bench
    from core.pipeline.registry import describe_methods

    if args.methods:
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    else:
        available = {i.name for i in describe_methods() if i.available}
        methods = [m for m in ("manifold", "telea", "ns") if m in available]
    classes = [c.strip() for c in args.classes.split(",") if c.strip()]
    options = _manifold_options(args.option)
    for name in methods:
        resolve_entry(name, options)  # unknown names fail before any work
    images = list_images(args.images)
    if args.limit > 0:
        images = images[: args.limit]
    total = len(images) * len(methods) * len(classes)
    with tqdm(total=total, unit="fill", desc="bench", file=sys.stderr) as bar:
        results = run_bench(
            images,
            methods,
            classes,
            seed=args.seed,
            device=resolve_device(args.device),
            options=options,
            grain=args.grain,
            save_dir=args.save,
            on_image=lambda *_: bar.update(1),
        )
    print(f"{len(images)} images from {args.images}, mask seed {args.seed}")
    print(format_table(results))
    report: dict = {"bench": results}
    if args.latent and "manifold" in methods:
        from core.bench import latent_reports

        report.update(latent_reports(images, seed=args.seed, device=resolve_device(args.device)))
        print("latent (manifold, 8 prior samples per image's largest hole):")
        for kind, row in report["latent"].items():
            print(
                f"  {kind:<7} pairwise hole L1 {row['pairwise_l1']:.4f}  1-sigma move L1 "
                f"{row['sigma_move_l1']:.4f} (top axis {row['sigma_move_l1_top_axis']:.4f})  "
                f"hole-PSNR z=mean {row['psnr_mean_z']:.2f} vs samples {row['psnr_samples']:.2f}"
            )
        print("variants (manifold, 8 seeds, change after a 3 px blur, 0-255):")
        for kind, row in report["variants"].items():
            print(
                f"  {kind:<7} net alone {row['change_net']:.2f}  textured "
                f"{row['change_textured']:.2f}  ({row['ratio']:.2f}x)  textured detail min "
                f"{row['detail_min']:.2f} mean {row['detail_mean']:.2f}"
            )
    if args.speed and "manifold" in methods:
        from core.bench import speed_report

        report["speed"] = speed_report(resolve_device(args.device))
        print(
            "speed (manifold, 512x512 crop, median warm seconds): "
            + ", ".join(f"{k} {v:.3f}" for k, v in report["speed"].items())
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    broken = sum(s["images"] - s["known_ok"] for per in results.values() for s in per.values())
    if broken:
        print(f"error: known pixels changed in {broken} fills", file=sys.stderr)
        return 1
    return 0


def _manifold_options(items: list[str]):  # -> ManifoldOptions | None
    """``--option KEY=VALUE`` (repeatable) as the manifold method's typed options."""
    from core.manifold.options import ManifoldOptions

    if not items:
        return None
    values: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise InpaintError(f"--option takes KEY=VALUE, got {item!r}")
        try:
            values[key] = json.loads(value)
        except ValueError:
            values[key] = value
    try:
        return ManifoldOptions(**values)
    except TypeError:
        known = ", ".join(ManifoldOptions.__dataclass_fields__)
        raise InpaintError(f"unknown manifold option in {items} (known: {known})") from None
