"""Pixel conventions shared by inference, training and the benchmark.

* ``to_float_rgb`` / ``from_float``: an image block in its file dtype <-> float32 RGB in [0, 1].
* ``opencv_inpaint``: OpenCV's Telea / Navier-Stokes fill, run in 16 bit per channel (its
  float path returns values far outside the input range in OpenCV 5, and 8 bit loses the
  precision of 16-bit photos).
* ``initial_fill``: the Navier-Stokes fill the manifold net starts from, at training and at
  inference alike.
"""

from __future__ import annotations

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # y0, y1, x0, x1 in pixels, end exclusive

# Radius (px) of the Navier-Stokes fill the manifold net refines.
INITIAL_FILL_RADIUS = 3.0


def to_float_rgb(pixels: np.ndarray) -> np.ndarray:
    """Colour channels of an image block as float32 RGB in [0, 1] (gray is replicated)."""
    colour = pixels[..., :3] if pixels.shape[2] >= 3 else pixels[..., :1]
    if pixels.dtype == np.uint8:
        out = colour.astype(np.float32) / 255.0
    elif pixels.dtype == np.uint16:
        out = colour.astype(np.float32) / 65535.0
    else:
        out = np.clip(colour.astype(np.float32), 0.0, 1.0)
    if out.shape[2] == 1:
        out = np.repeat(out, 3, axis=2)
    return out


def from_float(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float in [0, 1] back to the image's dtype (rounded, clipped)."""
    values = np.clip(values, 0.0, 1.0)
    if dtype == np.uint8:
        return np.rint(values * 255.0).astype(np.uint8)
    if dtype == np.uint16:
        return np.rint(values * 65535.0).astype(np.uint16)
    return values.astype(dtype)


def opencv_inpaint(image: np.ndarray, hole: np.ndarray, radius: float, flag: int) -> np.ndarray:
    """``cv2.inpaint`` of float32 ``(h, w, c)`` in [0, 1], in 16 bit one channel at a time."""
    mask8 = hole.astype(np.uint8)
    wide = np.rint(np.clip(image, 0.0, 1.0) * 65535.0).astype(np.uint16)
    channels = [
        cv2.inpaint(np.ascontiguousarray(wide[..., c]), mask8, radius, flag)
        for c in range(image.shape[2])
    ]
    return np.stack(channels, axis=2).astype(np.float32) / 65535.0


def initial_fill(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The manifold net's starting point: Navier-Stokes over ``hole`` (float32 RGB in [0, 1]).
    With no known pixel NS has nothing to spread (it gives black): flat grey then."""
    if hole.all():
        return np.full_like(image, 0.5, dtype=np.float32)
    return opencv_inpaint(image, hole, INITIAL_FILL_RADIUS, cv2.INPAINT_NS)
