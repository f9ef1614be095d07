"""Contact sheet of large-hole fills: masked input, original and each method, side by side.

    python tools/contact_sheet.py --out docs/texture-sheet.png [--images 24] [--classes box]
        [--methods net texture patchmatch ns] [--window 224] [--tile 160] [--colours 0]
        [--cycle] [--set KEY=VALUE ...]

One row per photo and class (the bench's seeded masks and cached fills, ``tools/bench_texture.py``;
or, with ``--fills DIR``, the fills ``main.py bench --save DIR`` wrote, i.e. what the pipeline
gives users; ``--cycle``: one class per photo, in turn): a window of ``window`` px around the
hole's innermost point, shown at ``tile`` px. ``--colours N`` stores the PNG with an N-colour
palette (smaller files for docs/).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from bench_texture import BENCH, Net, fills_for, load_case, parse_options
from PIL import Image

HEADER = 22


def window_box(hole: np.ndarray, size: int) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of a size x size window centred on the hole's innermost pixel."""
    distance = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3)
    cy, cx = np.unravel_index(int(np.argmax(distance)), hole.shape)
    h, w = hole.shape
    size = min(size, h, w)
    y0 = int(np.clip(cy - size // 2, 0, h - size))
    x0 = int(np.clip(cx - size // 2, 0, w - size))
    return y0, y0 + size, x0, x0 + size


def tile(image: np.ndarray, box: tuple[int, int, int, int], size: int) -> np.ndarray:
    y0, y1, x0, x1 = box
    part = np.ascontiguousarray(image[y0:y1, x0:x1], np.float32)
    part = cv2.resize(part, (size, size), interpolation=cv2.INTER_AREA)
    return np.rint(np.clip(part, 0, 1) * 255).astype(np.uint8)


def masked_view(crop: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The input as a user sees it: the hole in flat magenta."""
    view = crop.copy()
    view[hole] = (1.0, 0.0, 1.0)
    return view


def header(labels: list[str], size: int) -> np.ndarray:
    bar = np.full((HEADER, size * len(labels), 3), 255, np.uint8)
    for i, label in enumerate(labels):
        cv2.putText(bar, label, (i * size + 4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 0, 1)
    return bar


def row_label(tile_image: np.ndarray, text: str) -> np.ndarray:
    out = tile_image.copy()
    cv2.putText(out, text, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 3)
    cv2.putText(out, text, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 255), 1)
    return out


def saved_fill(folder: Path, stem: str, kind: str, method: str) -> np.ndarray:
    """A fill written by ``main.py bench --save``, float32 RGB in [0, 1]."""
    path = folder / f"{stem}_{kind}_{method}.png"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"missing {path}: run main.py bench --save with method {method}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--classes", nargs="+", default=["box"])
    parser.add_argument("--methods", nargs="+", default=["net", "texture", "patchmatch", "ns"])
    parser.add_argument("--window", type=int, default=224)
    parser.add_argument("--tile", type=int, default=160)
    parser.add_argument("--colours", type=int, default=0)
    parser.add_argument(
        "--cycle", action="store_true", help="one class per photo, in turn, not every class"
    )
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--fills", type=Path, help="read <stem>_<class>_<method>.png from main.py bench --save"
    )
    args = parser.parse_args()
    options = parse_options(args.set)
    images = sorted(BENCH.glob("kodim*.png"))
    net: list[Net] = []

    def get_net() -> Net:
        if not net:
            net.append(Net())
        return net[0]

    labels = ["input", "original", *args.methods]
    rows = [header(labels, args.tile)]
    for index in range(args.first, min(args.first + args.images, len(images))):
        path = images[index]
        kinds = [args.classes[index % len(args.classes)]] if args.cycle else args.classes
        for kind in kinds:
            truth, crop, hole = load_case(index, path, kind)
            if args.fills is not None:
                fills = {m: (saved_fill(args.fills, path.stem, kind, m), 0.0) for m in args.methods}
            else:
                fills = fills_for(index, path, kind, args.methods, options, get_net)
            box = window_box(hole, args.window)
            tiles = [tile(masked_view(crop, hole), box, args.tile), tile(truth, box, args.tile)]
            tiles += [tile(fills[m][0], box, args.tile) for m in args.methods]
            tiles[0] = row_label(tiles[0], f"{path.stem} {kind}")
            rows.append(np.concatenate(tiles, axis=1))
        print(f"  {path.stem}", file=sys.stderr, flush=True)
    sheet = Image.fromarray(np.concatenate(rows, axis=0))
    if args.colours:
        sheet = sheet.quantize(args.colours, method=Image.Quantize.MEDIANCUT, dither=Image.NONE)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
