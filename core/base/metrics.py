"""Quality measures of a fill, shared by training validation, ``bench`` and the tools.

Every function takes float RGB images ``(H, W, 3)`` in [0, 1] and a bool hole mask ``(H, W)``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# Blur (px) that keeps a fill's structure (where colours, edges and masses go) and drops its
# texture: "structure PSNR" is the hole-PSNR of both images after it.
STRUCTURE_SIGMA = 3.0


def hole_psnr(result: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> float:
    """PSNR (dB, peak 1) over the hole pixels; an empty hole counts as perfect (100 dB)."""
    if not hole.any():
        return 100.0
    mse = float(np.mean((result[hole] - truth[hole]) ** 2))
    return 10.0 * math.log10(1.0 / max(mse, 1e-10))


def structure_psnr(
    result: np.ndarray, truth: np.ndarray, hole: np.ndarray, sigma: float = STRUCTURE_SIGMA
) -> float:
    """Hole-PSNR after a Gaussian blur of both images: does the fill put the right colours
    and edges in the right places, whatever its fine texture."""

    def blur(image: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(np.ascontiguousarray(image, np.float32), (0, 0), sigma)

    return hole_psnr(blur(result), blur(truth), hole)


def _ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    c1, c2 = 0.01**2, 0.03**2

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )


def hole_ssim(result: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> float:
    """Mean SSIM over the hole's bounding box (computed on the box, channels averaged)."""
    rows = np.flatnonzero(hole.any(axis=1))
    cols = np.flatnonzero(hole.any(axis=0))
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    a = np.ascontiguousarray(result[y0:y1, x0:x1], np.float32)
    b = np.ascontiguousarray(truth[y0:y1, x0:x1], np.float32)
    return float(np.mean(_ssim_map(a, b)))


def gradient_magnitude(image: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(np.ascontiguousarray(image, np.float32), cv2.COLOR_RGB2GRAY)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    return np.sqrt(gx * gx + gy * gy)


def gradient_ratio(result: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> float:
    """Detail kept in the hole: the fill's mean gradient magnitude over the original's (1 = as
    much detail as the photo; a blurred fill scores low)."""
    ours = float(gradient_magnitude(result)[hole].mean())
    theirs = float(gradient_magnitude(truth)[hole].mean())
    return ours / max(theirs, 1e-6)


def ring(hole: np.ndarray, inner: int = 2, outer: int = 8) -> np.ndarray:
    """Known pixels between ``inner`` and ``outer`` px from the hole: its surroundings."""
    distance = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 3)
    return ~hole & (distance > inner) & (distance <= outer)


def _lab(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(image, np.float32), cv2.COLOR_RGB2LAB)


def _regions(hole: np.ndarray, min_pixels: int) -> list[np.ndarray]:
    count, labels = cv2.connectedComponents(hole.astype(np.uint8), connectivity=8)
    regions = [labels == label for label in range(1, count)]
    return [r for r in regions if r.sum() >= min_pixels]


def colour_shift(result: np.ndarray, hole: np.ndarray, min_pixels: int = 20) -> np.ndarray:
    """Mean CIELAB (L*, a*, b*) of the filled pixels minus that of the ring around them,
    per connected region, averaged over the regions: a fill of the wrong hue shows here
    (e.g. an olive cast on a sepia scan is a negative a*). No truth needed."""
    lab = _lab(result)
    shifts = [
        lab[region].mean(axis=0) - lab[ring(region)].mean(axis=0)
        for region in _regions(hole, min_pixels)
        if ring(region).any()
    ]
    return np.mean(shifts, axis=0) if shifts else np.zeros(3)


def grain(image: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """Fine texture: the gray image minus its Gaussian blur."""
    gray = cv2.cvtColor(np.ascontiguousarray(image, np.float32), cv2.COLOR_RGB2GRAY)
    return gray - cv2.GaussianBlur(gray, (0, 0), sigma)


def grain_ratio(result: np.ndarray, hole: np.ndarray, min_pixels: int = 20) -> float:
    """Standard deviation of the fine texture inside the filled pixels over that of the ring
    around them, averaged over regions: 1 = as grainy as the surroundings, a smooth fill
    (a ghost band on a grainy scan) scores low."""
    fine = grain(result)
    ratios = [
        float(fine[region].std()) / max(float(fine[ring(region)].std()), 1e-6)
        for region in _regions(hole, min_pixels)
        if ring(region).sum() > 1
    ]
    return float(np.mean(ratios)) if ratios else 1.0
