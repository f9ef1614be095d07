"""Make the bundled sample: a Kodak photo with synthetic scan damage, and its damage mask.

Usage: python tools/make_sample.py ../shared/data/bench/kodim23.png
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

OUT = Path(__file__).resolve().parent.parent / "resources" / "sample"


def damage(photo: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    h, w = photo.shape[:2]
    damaged = photo.copy()
    hole = np.zeros((h, w), bool)

    def mark(shape: np.ndarray, tone: int) -> None:
        region = shape.astype(bool)
        damaged[region] = np.clip(tone + rng.normal(0, 6, (region.sum(), 1)), 0, 255)
        hole[region] = True

    for _ in range(5):  # long, slightly curved scratches, light or dark
        x = rng.uniform(0, w)
        pts = []
        for y in np.linspace(0, h, 8):
            x += rng.normal(0, 12)
            pts.append((int(x), int(y)))
        line = np.zeros((h, w), np.uint8)
        cv2.polylines(line, [np.array(pts, np.int32)], False, 1, int(rng.integers(2, 4)))
        mark(line, 230 if rng.random() < 0.7 else 30)
    for _ in range(60):  # dust specks
        speck = np.zeros((h, w), np.uint8)
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(speck, c, int(rng.integers(1, 4)), 1, -1)
        mark(speck, 240 if rng.random() < 0.5 else 20)
    corner = np.zeros((h, w), np.uint8)  # a torn-off corner
    cv2.fillPoly(corner, [np.array([(w - 140, 0), (w, 0), (w, 110)], np.int32)], 1)
    mark(corner, 245)
    return damaged, hole


def main(path: str) -> None:
    photo = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    damaged, hole = damage(photo, np.random.default_rng(7))
    OUT.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(OUT / "sample_damaged.png"), cv2.cvtColor(damaged, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(OUT / "sample_damage_mask.png"), hole.astype(np.uint8) * 255)


if __name__ == "__main__":
    main(sys.argv[1])
