"""What the slider directions do, as one picture: ``python tools/direction_strips.py OUT.png``.

For a few Kodak photos (the bundled sample photo when the corpus is absent), a 128 x 128 hole in
the centre is filled by the manifold model; each row shows, around the hole: the original, the
most likely fill, then directions 1..N at -SIGMA and +SIGMA prior std (the sliders' values).
Use it to look at a model's directions before trusting a number (``tools/bench_latent.py``):
a grid or stripes raise the measured change as much as a real variation does.

    python tools/direction_strips.py docs/latent-directions.png [--sigma 2] [--directions 8]
                                     [--models-dir DIR] [--photos 3,7,20,23]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from core.base.imageio import read_image
from core.base.resources import SAMPLE_IMAGE
from core.manifold.method import ManifoldFill
from core.manifold.options import LatentSetting
from core.pipeline.latent import LatentSession

BENCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "bench"
HOLE, CONTEXT, GAP = 128, 8, 4


def strip(method: ManifoldFill, image: np.ndarray, sigma: float, count: int) -> np.ndarray:
    """One row: original | most likely | d1 -sigma | d1 +sigma | ... around a centre hole."""
    height, width = image.shape[:2]
    y0, x0 = (height - HOLE) // 2, (width - HOLE) // 2
    mask = np.zeros((height, width), bool)
    mask[y0 : y0 + HOLE, x0 : x0 + HOLE] = True
    session = LatentSession(method, image, mask)
    session.encode()
    by0, _, bx0, _ = session.box  # renders cover the session's box, not the whole photo
    top, left = y0 - CONTEXT, x0 - CONTEXT
    side = HOLE + 2 * CONTEXT

    def around(pixels: np.ndarray, oy: int = 0, ox: int = 0) -> np.ndarray:
        return pixels[top - oy : top - oy + side, left - ox : left - ox + side]

    tiles = [around(image), around(session.render(LatentSetting()), by0, bx0)]
    for index in range(count):
        for value in (-sigma, sigma):
            sliders = tuple(value if i == index else 0.0 for i in range(index + 1))
            tiles.append(around(session.render(LatentSetting(None, sliders)), by0, bx0))
    padded = [np.pad(t, ((GAP, GAP), (GAP, GAP), (0, 0)), constant_values=255) for t in tiles]
    return np.concatenate(padded, axis=1)


def header(width: int, count: int, sigma: float) -> np.ndarray:
    """Column labels: what each tile of a row shows."""
    band = np.full((22, width, 3), 255, np.uint8)
    labels = ["original", "most likely"]
    for index in range(count):
        labels += [f"d{index + 1} -{sigma:g}", f"d{index + 1} +{sigma:g}"]
    tile = HOLE + 2 * CONTEXT + 2 * GAP
    for column, label in enumerate(labels):
        cv2.putText(band, label, (column * tile + 8, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (40, 40, 40), 1, cv2.LINE_AA)  # fmt: skip
    return band


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--sigma", type=float, default=2.0)
    parser.add_argument("--directions", type=int, default=8)
    parser.add_argument("--models-dir", type=Path)
    parser.add_argument("--photos", default="3,7,20,23", help="Kodak numbers")
    args = parser.parse_args()
    method = ManifoldFill(models_dir=args.models_dir)
    paths = [BENCH / f"kodim{int(n):02d}.png" for n in args.photos.split(",")]
    paths = [p for p in paths if p.exists()] or [SAMPLE_IMAGE]
    rows = [strip(method, read_image(p).pixels[..., :3], args.sigma, args.directions)
            for p in paths]  # fmt: skip
    picture = np.concatenate([header(rows[0].shape[1], args.directions, args.sigma), *rows])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out} ({picture.shape[1]} x {picture.shape[0]} px)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
