"""Classical damage detector: the baseline the net must beat, and its fallback.

On the luma, lightly smoothed against grain:

1. white and black morphological top-hats (disk of ``TOPHAT_SIZE`` px) keep marks narrower than
   the disk, light or dark: thin scratches and specks, but also fine texture;
2. line filter: the mean of the top-hat along a ``LINE_LENGTH`` px segment at ``ANGLES``
   orientations, minus its isotropic mean - high along a thin line, near zero in texture
   whose top-hat is high in every direction;
3. spot filter: the top-hat minus its mean over a surrounding box - high for an isolated speck;
4. the larger of the two, divided by the local top-hat energy (busy texture raises the bar), is
   mapped to a pseudo-probability in [0, 1).

Each step is local (reach below ``REACH`` px), so large photos are processed in tiles.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from functools import cache

import cv2
import numpy as np

from core.base.progress import Progress
from core.detect.tiling import EDGE_BORDER, tiled_steps

TOPHAT_SIZE = 11
LINE_LENGTH = 15
ANGLES = 12
SPOT_BOX = 15
ENERGY_SIGMA = 6.0
# Score scale: the score at which the pseudo-probability reaches 0.5.
SCORE_HALF = 1.0
# Default threshold, calibrated on clean photos of the training corpus's val/ split (see
# tools/bench_detect.py --calibrate): 0.25 % of their pixels flagged.
DEFAULT_THRESHOLD = 0.636
REACH = 40


@cache
def _line_kernels() -> tuple[np.ndarray, ...]:
    kernels = []
    half = LINE_LENGTH // 2
    for i in range(ANGLES):
        theta = np.pi * i / ANGLES
        k = np.zeros((LINE_LENGTH, LINE_LENGTH), np.float32)
        dx, dy = np.cos(theta) * half, np.sin(theta) * half
        cv2.line(k, (round(half - dx), round(half - dy)), (round(half + dx), round(half + dy)), 1.0)
        kernels.append(k / k.sum())
    return tuple(kernels)


def score_map(rgb: np.ndarray) -> np.ndarray:
    """Damage pseudo-probability (float32 HxW, in [0, 1)) of a float32 RGB window."""
    luma = cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2GRAY)
    luma = cv2.GaussianBlur(luma, (0, 0), 0.7)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (TOPHAT_SIZE, TOPHAT_SIZE))
    top = np.maximum(
        cv2.morphologyEx(luma, cv2.MORPH_TOPHAT, disk),
        cv2.morphologyEx(luma, cv2.MORPH_BLACKHAT, disk),
    )
    iso = cv2.blur(top, (LINE_LENGTH, LINE_LENGTH))
    line = np.max([cv2.filter2D(top, -1, k) for k in _line_kernels()], axis=0) - iso
    spot = top - cv2.blur(top, (SPOT_BOX, SPOT_BOX))
    energy = np.sqrt(cv2.GaussianBlur(top * top, (0, 0), ENERGY_SIGMA))
    # 0.01: the noise floor of a clean 8-bit scan, so flat areas do not divide by ~0.
    score = np.maximum(line, 0.7 * spot) / (0.01 + 0.6 * energy)
    score = np.maximum(score, 0.0)
    return (score / (score + SCORE_HALF)).astype(np.float32)


def classical_steps(
    rgb: np.ndarray,
    *,
    tile: int = 1024,
    prepare: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Generator[Progress, None, np.ndarray]:
    """Pseudo-probability map of float32 RGB ``rgb`` (or of any image ``prepare`` turns into
    that, per tile), tiled; yields progress per tile."""
    prob = yield from tiled_steps(
        score_map,
        rgb,
        tile=tile,
        margin=REACH,
        border=EDGE_BORDER,
        label="classical detector: tile",
        prepare=prepare,
    )
    return prob
