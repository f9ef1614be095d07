"""Figures of docs/detect.md: the detector on the real scans, and detect -> fill of each.

    python tools/detect_figures.py [--real ../shared/data/real] [--out docs] [--method biharmonic]

Per scan, 2x enlarged (nearest neighbour, so pixels stay pixels):

* ``detect-real-<scan>.png``: left the shipped detector's fill mask (what Accept adds and
  ``fill --auto-mask`` fills) outlined in cyan, right the reference mask of
  ``tests/data/real_masks`` (damage cyan, ignored magenta);
* ``fill-real-<scan>.png``: left the scan, right ``fill --auto-mask`` with ``--method``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from real_masks import overlay  # this script's folder is on sys.path

from core.base.imageio import read_rgb8
from core.detect import detect, fill_mask, proposed_share
from core.pipeline.session import FillRequest, fill

SCALE = 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real"))
    parser.add_argument("--masks", type=Path, default=Path("tests/data/real_masks"))
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--method", default="biharmonic")
    parser.add_argument("--models-dir", type=Path, help="models folder (default: resources/models)")
    args = parser.parse_args()
    for scan in sorted(args.real.glob("*.png")):
        rgb = read_rgb8(scan)
        result = detect(rgb, models_dir=args.models_dir)
        mask = fill_mask(result)
        shown = np.where(mask, 255, 0).astype(np.uint8)
        panels = [overlay(rgb.astype(np.float32) / 255.0, shown, SCALE)]
        reference = cv2.imread(str(args.masks / scan.name), cv2.IMREAD_GRAYSCALE)
        if reference is not None:
            panels.append(overlay(rgb.astype(np.float32) / 255.0, reference, SCALE))
        cv2.imwrite(str(args.out / f"detect-real-{scan.stem}.png"), np.concatenate(panels, 1))
        filled = fill(FillRequest(rgb, mask, args.method))
        pair = np.concatenate([rgb, filled], 1)[..., ::-1]
        big = cv2.resize(pair, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_NEAREST)
        cv2.imwrite(str(args.out / f"fill-real-{scan.stem}.png"), big)
        print(f"{scan.stem}: {proposed_share(mask):.2%} of the photo proposed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
