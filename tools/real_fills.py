"""Fills of the real damaged scans, side by side, with their colour and grain against the ring.

    python tools/real_fills.py [--real ../shared/data/real] [--grow 2] [--out docs]
        [--methods manifold manifold-net patchmatch biharmonic telea] [--suffix S]

A method name ending in ``+grain`` fills as ``fill --grain`` does (``manifold+grain``).

The damage is the reference mask of each scan (``tests/data/real_masks``: damage and the
ignored torn / chipped areas), grown ``--grow`` px as a brush a little wider than the crack
would paint it. Every method fills it through the normal pipeline; per method the script
prints the mean CIELAB shift of the filled regions against the ring around each (a* < 0 is
the olive cast a restorer sees on sepia) and the grain ratio (1 = as grainy as the ring), and
it writes ``real-fills-<scan>.png``: the scan, the scan with the mask, then each method, at 2x.
No truth exists for real damage: these are consistency figures, and the picture is the test.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.base.imageio import read_rgb8  # noqa: E402
from core.base.masks import grow  # noqa: E402
from core.base.metrics import colour_shift, grain_ratio  # noqa: E402
from core.base.pixels import to_float_rgb  # noqa: E402
from core.bench import resolve_entry  # noqa: E402
from core.pipeline.session import FillRequest, fill  # noqa: E402


def damage_mask(name: str, grow_px: int) -> np.ndarray:
    reference = cv2.imread(str(ROOT / "tests" / "data" / "real_masks" / f"{name}.png"), -1)
    return grow(reference > 0, grow_px) if grow_px > 0 else reference > 0


def labelled(image: np.ndarray, text: str, scale: int = 2) -> np.ndarray:
    big = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    out = np.ascontiguousarray(big)
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 3)
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    parser.add_argument("--grow", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--suffix", default="", help="real-fills-<scan><suffix>.png")
    parser.add_argument(
        "--crop", help="Y0,Y1,X0,X1: only this part of each scan (scan px), to look closer"
    )
    parser.add_argument("--scan", nargs="*", help="only these scans (file stems)")
    parser.add_argument("--zoom", type=int, default=2, help="enlargement of the tiles")
    parser.add_argument(
        "--methods",
        nargs="+",
        default=["manifold", "manifold-net", "patchmatch", "biharmonic", "telea"],
    )
    args = parser.parse_args()
    crop = (slice(None), slice(None))
    if args.crop:
        y0, y1, x0, x1 = (int(v) for v in args.crop.split(","))
        crop = (slice(y0, y1), slice(x0, x1))
    for path in sorted(args.real.glob("*.png")):
        if args.scan and path.stem not in args.scan:
            continue
        image = read_rgb8(path)
        mask = damage_mask(path.stem, args.grow)
        shown = image.copy()
        shown[mask] = (0, 255, 255)
        tiles = [
            labelled(image[crop], f"{path.stem}: scan", args.zoom),
            labelled(shown[crop], "mask", args.zoom),
        ]
        for method in args.methods:
            started = time.perf_counter()
            entry, grained = method.removesuffix("+grain"), method.endswith("+grain")
            name, options = resolve_entry(entry, None)
            result = fill(FillRequest(image, mask, name, options=options, grain=grained))
            seconds = time.perf_counter() - started
            shift = colour_shift(to_float_rgb(result), mask)
            grain = grain_ratio(to_float_rgb(result), mask)
            print(
                f"{path.stem:<15} {method:<11} L* {shift[0]:+6.2f}  a* {shift[1]:+6.2f}  "
                f"b* {shift[2]:+6.2f}  grain {grain:.2f}  {seconds:.1f} s"
            )
            tiles.append(labelled(result[crop], method, args.zoom))
        sheet = np.concatenate(tiles, axis=1)
        args.out.mkdir(parents=True, exist_ok=True)
        target = args.out / f"real-fills-{path.stem}{args.suffix}.png"
        # 256 colours: a third of the size for docs/, no visible banding on these scans.
        Image.fromarray(sheet).quantize(256, method=Image.Quantize.MEDIANCUT).save(
            target, optimize=True
        )
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
