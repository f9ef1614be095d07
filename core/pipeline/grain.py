"""Film grain for filled regions: a fill as grainy as the photo around it.

Every fill is smoother than a grainy scan (biharmonic and the net are smooth; the texture
engine's vote averages some grain away), so on film grain a filled crack shows as a smooth
ghost band. ``match_grain`` adds zero-mean grain to each filled region until its fine texture
(``core.base.metrics.grain``: the grey image minus its 1.5 px blur) reaches the grain of the ring
of known pixels around it.

The ring's grain is a *robust* estimate (1.4826 x the median absolute deviation): the fine band
of a ring also holds the edges that cross it, and matching its plain standard deviation made
the fills speckled (a dark, noisy band on the cracked scan) and cost 2-3 dB on Kodak.
Grain is not the truth, only its look: on clean photos it costs hole-PSNR (see docs/texture.md),
so it is an option (``FillRequest.grain``, ``fill --grain``, the editor's Match Film Grain).
"""

from __future__ import annotations

import cv2
import numpy as np

from core.base import metrics
from core.base.pixels import from_float, to_float_rgb

# Correlation length (px) of the synthetic grain: white noise blurred this much, about the
# clump size of film grain in a scan at the resolutions the editor sees.
NOISE_SIGMA = 0.6
# The ring measured around each region (core.base.metrics.ring) and the margin of its crop.
RING_INNER, RING_OUTER = 2, 8
MARGIN = RING_OUTER + 4
# Fewer ring pixels than this: no estimate worth trusting, the region is left as filled.
MIN_RING_PIXELS = 16
MAD_TO_STD = 1.4826


def robust_grain(fine: np.ndarray) -> float:
    """Standard deviation of the grain in ``fine`` (1-D), edges left out: 1.4826 x MAD."""
    return MAD_TO_STD * float(np.median(np.abs(fine - np.median(fine))))


def match_grain(image: np.ndarray, hole: np.ndarray, seed: int | None = None) -> None:
    """Add grain to the ``hole`` pixels of ``image`` in place (any dtype of ``core``; colour
    channels only, alpha untouched), region by region, up to the ring's robust grain; pixels
    outside ``hole`` are not touched. Same ``seed``, same grain."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(hole.astype(np.uint8), 8)
    h, w = hole.shape
    for label in range(1, count):
        x, y, bw, bh, _ = stats[label]
        y0, y1 = max(0, y - MARGIN), min(h, y + bh + MARGIN)
        x0, x1 = max(0, x - MARGIN), min(w, x + bw + MARGIN)
        block = image[y0:y1, x0:x1]
        region = labels[y0:y1, x0:x1] == label
        rng = np.random.default_rng([0 if seed is None else int(seed), int(label)])
        grained = _grained(to_float_rgb(block), region, hole[y0:y1, x0:x1], rng)
        if grained is None:
            continue
        channels = 3 if block.shape[2] >= 3 else 1
        values = from_float(grained[..., :channels], image.dtype)
        block[..., :channels][region] = values[region]


def _grained(
    rgb: np.ndarray, region: np.ndarray, hole: np.ndarray, rng: np.random.Generator
) -> np.ndarray | None:
    """``rgb`` with grain added in ``region``, or None when there is nothing to add."""
    fine = metrics.grain(rgb)
    ring = metrics.ring(region, RING_INNER, RING_OUTER) & ~hole
    if ring.sum() < MIN_RING_PIXELS:
        return None
    wanted = robust_grain(fine[ring])
    has = float(fine[region].std())
    need = np.sqrt(max(wanted * wanted - has * has, 0.0))
    if need <= 0.0:
        return None
    noise = cv2.GaussianBlur(
        rng.standard_normal(region.shape).astype(np.float32), (0, 0), NOISE_SIGMA
    )
    # Scaled so that what the grain measure sees of it (its fine band) is ``need``.
    noise_fine = metrics.grain(np.repeat(noise[..., None], 3, axis=2))
    noise *= need / max(float(noise_fine.std()), 1e-6)
    out = rgb.copy()
    out[region] += noise[region][:, None]  # grey grain: the same in R, G and B
    return np.clip(out, 0.0, 1.0)
