"""Measure a fill of a few scratches on a large photo: time and memory follow the damage.

Usage: python tools/bench_large_photo.py [--width 6000 --height 4000]

Prints, for an increasing number of scratches, the fill's wall time, the area of the crop boxes,
and the peak of numpy/OpenCV memory allocated during the fill (tracemalloc), next to the photo's
own size and a whole-image cv2.inpaint for comparison.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import cv2
import numpy as np

from core.methods.geometry import plan_regions
from core.pipeline.registry import get_method
from core.pipeline.session import FillRequest, fill


def scratches(
    shape: tuple[int, int],
    count: int,
    rng: np.random.Generator,
    longest: int = 600,
    widest: int = 4,
) -> np.ndarray:
    """``count`` straight scratches, 200 to ``longest`` px long and 2 to ``widest`` px wide."""
    mask = np.zeros(shape, np.uint8)
    for _ in range(count):
        x0, y0 = int(rng.integers(0, shape[1])), int(rng.integers(0, shape[0]))
        angle = rng.uniform(0, np.pi)
        length = rng.uniform(200, longest)
        x1, y1 = int(x0 + length * np.cos(angle)), int(y0 + length * np.sin(angle))
        cv2.line(mask, (x0, y0), (x1, y1), 1, int(rng.integers(2, widest + 1)))
    return mask.astype(bool)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=6000)
    parser.add_argument("--height", type=int, default=4000)
    parser.add_argument("--method", default="telea")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    shape = (args.height, args.width)
    photo = cv2.resize(
        rng.integers(0, 255, (shape[0] // 16, shape[1] // 16, 3), dtype=np.uint8),
        (shape[1], shape[0]),
        interpolation=cv2.INTER_CUBIC,
    )
    print(f"photo {args.width}x{args.height}: {photo.nbytes / 2**20:.0f} MiB of pixels")
    method = get_method(args.method)
    fill(FillRequest(photo[:64, :64], np.eye(64, dtype=bool), args.method))  # warm up
    for count in (1, 3, 10, 30):
        mask = scratches(shape, count, rng)
        boxes = plan_regions(mask, method)
        box_area = sum((p.box[1] - p.box[0]) * (p.box[3] - p.box[2]) for p in boxes)
        tracemalloc.start()
        start = time.perf_counter()
        fill(FillRequest(photo, mask, args.method))
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"{count:3d} scratches: {seconds:6.2f} s, boxes {box_area / 1e6:6.2f} MP "
            f"({100 * box_area / mask.size:5.2f} % of the photo), peak allocations "
            f"{peak / 2**20:6.0f} MiB (the output copy alone is {photo.nbytes / 2**20:.0f} MiB)"
        )
    start = time.perf_counter()
    cv2.inpaint(photo, mask.astype(np.uint8), 5, cv2.INPAINT_TELEA)
    print(f"whole-image cv2.inpaint with the last mask: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
