"""Interpolation of latent codes, shared by the manifold's fusion and the layout's.

Codes are whitened (standard normal per dimension), float32 vectors of one length.
"""

from __future__ import annotations

import numpy as np


def lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    return ((1.0 - t) * a + t * b).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation of whitened codes: a straight line between two Gaussian draws
    passes through codes of atypically small norm (blurry, "average" fills); the great circle
    keeps the norm typical. Falls back to lerp for (near-)parallel or zero codes."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na < 1e-6 or nb < 1e-6:
        return lerp(a, b, t)
    cos = float(np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0))
    omega = float(np.arccos(cos))
    if omega < 1e-4:
        return lerp(a, b, t)
    return ((np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)).astype(
        np.float32
    )
