"""Make the reference damage masks of the two real scans in ``../shared/data/real``.

    python tools/real_masks.py [--real ../shared/data/real] [--out tests/data/real_masks]
                               [--overlay DIR]   # enlarged overlays to check by eye

How a mask is made (and so, exactly what was decided by hand):

1. a classical pass over the luma: the residual against an 11 px median (bright: above it,
   dark: below it) times Sato's ridge filter of the same polarity (sigmas 0.7-3 px),
   hysteresis-thresholded (``LOW`` / ``HIGH``): every thin bright or dark ridge of the photo,
   cracks and contours alike;
2. kept only within ``ZONE`` px of the cracks and creases traced by eye (``TRACES``: polylines
   in photo px, drawn over 6x enlargements with a 16 px grid; ``FAINT``: the same with the
   thresholds halved, for faint creases); and within the specks listed by eye (``SPECKS``:
   circles), the pixels more than ``SPECK_DELTA`` from the median. Everything else the pass
   found (eyes, lips, collar, the vest's knit, the flowers of the backdrop) is dropped;
3. ``IGNORE`` polygons are neither damage nor clean in the benchmark: torn-off pieces and the
   chipped print border, where a fill is wanted but "the crack" has no edge to judge.

The PNG holds 255 for damage, 128 for ignore, 0 for clean. The scans are not in the repo.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

LOW, HIGH = 0.035, 0.07
ZONE = 3
# A speck pixel (within a listed circle) differs from its 11 px median by more than this.
SPECK_DELTA = 0.03
Poly = list[tuple[int, int]]

# Each trace: (polyline in (x, y) photo px, zone half-width in px or None for ``ZONE``).
TRACES: dict[str, list[tuple[Poly, int | None]]] = {
    "cracked_boy": [
        # top-left network
        (
            [(63, 0), (55, 8), (47, 16), (36, 24), (26, 29), (20, 35), (14, 42), (6, 48), (0, 52)],
            None,
        ),
        ([(31, 30), (24, 38), (18, 44), (12, 47)], None),
        ([(0, 20), (8, 14), (16, 8), (22, 3), (26, 0)], None),
        ([(0, 8), (6, 4), (12, 0)], None),
        ([(8, 14), (12, 20), (14, 26)], None),
        ([(28, 0), (30, 6), (26, 14), (20, 20)], None),
        # vertical crack at x ~ 84, top
        ([(85, 0), (84, 12), (84, 24), (82, 38), (80, 46)], None),
        # the long crack across the face: left edge -> forehead -> right edge
        (
            [
                (0, 115),
                (10, 112),
                (22, 110),
                (35, 108),
                (45, 106),
                (56, 103),
                (66, 100),
                (76, 98),
                (88, 96),
            ],
            None,
        ),
        ([(88, 96), (100, 93), (110, 91), (118, 89)], 2),  # over the eyebrow: narrow
        (
            [
                (150, 80),
                (160, 79),
                (170, 76),
                (180, 73),
                (192, 72),
                (204, 69),
                (214, 66),
                (224, 63),
                (232, 60),
                (242, 58),
                (256, 56),
            ],
            None,
        ),
        # vertical crack at x ~ 44 down to the bottom, and its branch at the bottom
        ([(44, 106), (44, 130), (45, 160), (45, 190), (45, 220), (45, 240), (46, 256)], 2),
        ([(46, 244), (54, 246), (62, 250)], 2),
        # bottom of the vest, right edge, short marks
        ([(128, 234), (132, 242), (136, 250), (139, 256)], 2),
        ([(186, 252), (194, 247), (202, 242)], 2),
        ([(173, 250), (176, 256)], 2),
        ([(244, 158), (256, 157)], 2),
        ([(236, 205), (246, 200), (256, 196)], None),
        ([(236, 30), (236, 42), (237, 55)], 2),
        # top-right: from the top edge down to the torn wedge and along it
        (
            [
                (189, 0),
                (194, 10),
                (200, 20),
                (207, 30),
                (214, 38),
                (222, 48),
                (230, 56),
                (236, 62),
                (242, 72),
                (248, 80),
                (256, 88),
            ],
            None,
        ),
        ([(200, 2), (210, 8), (220, 12), (230, 18), (238, 24), (246, 30), (256, 34)], None),
        ([(219, 12), (220, 24), (221, 36), (222, 48)], None),
        ([(232, 0), (240, 6), (248, 12), (256, 18)], None),
        ([(246, 30), (247, 40), (249, 50), (250, 56)], None),
    ],
    "scratched_girl": [
        # the fold across the top-left corner, and the crease at the right
        ([(25, 0), (32, 4), (40, 10), (48, 16), (56, 22), (63, 28), (70, 35)], None),
    ],
}
# Faint creases: the same, with the pass's thresholds halved.
FAINT: dict[str, list[tuple[Poly, int | None]]] = {
    "cracked_boy": [],
    "scratched_girl": [
        ([(120, 66), (128, 70), (136, 73)], 2),
        ([(204, 129), (212, 134), (220, 140), (228, 146), (236, 152), (242, 156), (247, 159)], 2),
    ],
}
# (x, y, radius): dust and spots, light or dark.
SPECKS: dict[str, list[tuple[int, int, int]]] = {
    "cracked_boy": [
        (39, 29, 3),
        (88, 6, 3),
        (206, 173, 3),
        (209, 176, 2),
        (72, 157, 3),
        (88, 146, 3),
    ],
    "scratched_girl": [
        (68, 100, 2),
        (77, 96, 2),
        (75, 102, 2),
        (236, 49, 2),
        (203, 187, 3),
        (214, 291, 3),
        (66, 149, 2),
    ],
}
IGNORE: dict[str, list[Poly]] = {
    # the torn-off wedge at the right; the chipped left border of the print
    "cracked_boy": [
        [(238, 60), (256, 54), (256, 92), (246, 84)],
        [(0, 0), (3, 0), (3, 256), (0, 256)],
    ],
    "scratched_girl": [],
}


def residual(rgb: np.ndarray) -> np.ndarray:
    """|luma - its 11 px median|: how far a speck stands out of its surroundings."""
    luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    median = cv2.medianBlur(np.rint(luma * 255).astype(np.uint8), 11).astype(np.float32) / 255
    return np.abs(luma - median)


def candidates(rgb: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Thin bright or dark ridges (bool HxW) of float32 RGB ``rgb``: the classical pass."""
    from skimage.filters import apply_hysteresis_threshold, sato

    luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    median = cv2.medianBlur(np.rint(luma * 255).astype(np.uint8), 11).astype(np.float32) / 255
    sigmas = [0.7, 1.0, 1.5, 2.0, 3.0]
    out = np.zeros(luma.shape, bool)
    for dark in (False, True):
        residual = np.maximum(median - luma if dark else luma - median, 0.0)
        ridge = sato(luma, sigmas=sigmas, black_ridges=dark)
        out |= apply_hysteresis_threshold(np.sqrt(residual * ridge), LOW * scale, HIGH * scale)
    return out


def reference(name: str, rgb: np.ndarray) -> np.ndarray:
    """uint8 HxW: 255 damage, 128 ignore, 0 clean."""
    h, w = rgb.shape[:2]
    zone, faint = np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)
    for canvas, traces in ((zone, TRACES[name]), (faint, FAINT[name])):
        for points, half in traces:
            pts = np.array(points, np.int32)
            cv2.polylines(canvas, [pts], False, 1, thickness=2 * (half or ZONE) + 1)
    specks = np.zeros((h, w), np.uint8)
    for x, y, r in SPECKS[name]:
        cv2.circle(specks, (x, y), r, 1, -1)
    found = (candidates(rgb) & (zone > 0)) | (candidates(rgb, 0.5) & (faint > 0))
    found |= (residual(rgb) > SPECK_DELTA) & (specks > 0)
    mask = np.where(found, 255, 0).astype(np.uint8)
    for poly in IGNORE[name]:
        ignore = np.zeros((h, w), np.uint8)
        cv2.fillPoly(ignore, [np.array(poly, np.int32)], 1)
        mask[ignore > 0] = 128
    return mask


def overlay(rgb: np.ndarray, mask: np.ndarray, scale: int = 3) -> np.ndarray:
    """BGR enlargement of ``rgb`` with the damage outlined in cyan, ignore in magenta."""
    big = cv2.resize(
        np.rint(rgb[..., ::-1] * 255).astype(np.uint8),
        None,
        fx=scale,
        fy=scale,
        interpolation=cv2.INTER_NEAREST,
    )
    for value, colour in ((255, (255, 255, 0)), (128, (255, 0, 255))):
        m = cv2.resize(
            (mask == value).astype(np.uint8),
            None,
            fx=scale,
            fy=scale,
            interpolation=cv2.INTER_NEAREST,
        )
        big[(m - cv2.erode(m, np.ones((3, 3), np.uint8))) > 0] = colour
    return big


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real"))
    parser.add_argument("--out", type=Path, default=Path("tests/data/real_masks"))
    parser.add_argument("--overlay", type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in TRACES:
        bgr = cv2.imread(str(args.real / f"{name}.png"), cv2.IMREAD_COLOR)
        if bgr is None:
            print(f"missing {args.real / name}.png", file=sys.stderr)
            return 1
        rgb = bgr[..., ::-1].astype(np.float32) / 255.0
        mask = reference(name, rgb)
        cv2.imwrite(str(args.out / f"{name}.png"), mask)
        print(f"{name}: {np.mean(mask == 255):.2%} damage, {np.mean(mask == 128):.2%} ignore")
        if args.overlay:
            args.overlay.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(args.overlay / f"{name}.png"), overlay(rgb, mask))
    return 0


if __name__ == "__main__":
    sys.exit(main())
