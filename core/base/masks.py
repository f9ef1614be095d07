"""Masks: ``bool`` arrays of shape ``(H, W)``, ``True`` marks a hole (damage to fill).

On disk a mask is an image: any pixel whose colour is not black is a hole. In a mask with alpha a
fully transparent pixel is never a hole; and when the colour carries no information (every pixel
the same colour, e.g. black or white strokes painted on a transparent layer) while the alpha
varies, the alpha alone decides: not fully transparent = hole.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.base.errors import ImageWriteError, MaskError
from core.base.imageio import Image, read_image, write_image
from core.base.pixels import Box

__all__ = [
    "distance_to_known",
    "feather",
    "grow",
    "hole_boxes",
    "hole_thickness",
    "invert",
    "load_mask",
    "mask_from_pixels",
    "regions",
    "save_mask",
    "shrink",
]

_LOSSLESS_SUFFIXES = (".png", ".tif", ".tiff", ".bmp")


def mask_from_pixels(pixels: np.ndarray) -> np.ndarray:
    """Holes of a mask image ``(H, W)`` or ``(H, W, C)``: see the module docstring for the rule."""
    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4):
        raise MaskError(f"a mask image must be HxW or HxWxC with 1-4 channels, got {pixels.shape}")
    channels = pixels.shape[2]
    colour = pixels[..., : 3 if channels >= 3 else 1]
    if channels in (2, 4):
        alpha = pixels[..., -1] != 0
        flat = colour.reshape(-1, colour.shape[2])
        if (flat == flat[0]).all() and not (alpha == alpha.flat[0]).all():
            return np.ascontiguousarray(alpha)
        return (colour != 0).any(axis=2) & alpha
    return (colour != 0).any(axis=2)


def load_mask(path: str | Path, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Read a mask image; ``shape`` is the photo's ``(height, width)``, checked if given.

    Raises :class:`ImageReadError` if the file cannot be read, :class:`MaskError` if its size
    differs from ``shape``. EXIF orientation is applied, as for photos.
    """
    image = read_image(path)
    mask = mask_from_pixels(image.pixels)
    if shape is not None and tuple(mask.shape) != tuple(shape[:2]):
        raise MaskError(
            f"mask is {mask.shape[1]}x{mask.shape[0]} but the image is {shape[1]}x{shape[0]}; "
            "they must be the same size"
        )
    return mask


def save_mask(mask: np.ndarray, path: str | Path, *, overwrite: bool = False) -> None:
    """Write ``mask`` as an 8-bit grayscale image (255 = hole, 0 = keep), atomically.

    Use ``.png`` (``.tif`` and ``.bmp`` work too); lossy formats are refused since their
    artefacts would turn into holes.
    """
    mask = _check(mask)
    path = Path(path)
    if path.suffix.lower() not in _LOSSLESS_SUFFIXES:
        raise ImageWriteError(
            f"cannot save the mask as {path.name}: masks need a lossless format, use .png"
        )
    pixels = np.where(mask, np.uint8(255), np.uint8(0))[..., None]
    write_image(Image(pixels), path, overwrite=overwrite)


def _check(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise MaskError(f"a mask must be a 2-D HxW array, got shape {mask.shape}")
    if mask.dtype != np.bool_:
        raise MaskError(f"a mask must be a bool array, got {mask.dtype}")
    return mask


def _distance_to(target: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance from every pixel to the nearest ``True`` pixel of ``target``."""
    if not target.any():
        return np.full(target.shape, np.inf, np.float32)
    source = np.where(target, np.uint8(0), np.uint8(1))
    return cv2.distanceTransform(source, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def distance_to_known(hole: np.ndarray) -> np.ndarray:
    """float32 (h, w): distance (px, 3x3 L2 mask) from every pixel to the nearest known one,
    the outside of the array counting as known (0 at known pixels)."""
    padded = np.pad(hole, 1, constant_values=False).astype(np.uint8)
    return cv2.distanceTransform(padded, cv2.DIST_L2, 3)[1:-1, 1:-1]


def hole_thickness(hole: np.ndarray) -> float:
    """Distance (px) from the hole's innermost pixel to the nearest known one (the outside
    counts as known); 0 for no hole."""
    return float(distance_to_known(hole).max()) if hole.any() else 0.0


def grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Dilate the holes with a disk of radius ``pixels`` (negative = :func:`shrink`)."""
    mask = _check(mask)
    pixels = int(pixels)
    if pixels < 0:
        return shrink(mask, -pixels)
    if pixels == 0 or not mask.any():
        return mask.copy()
    return _distance_to(mask) <= pixels + 1e-3


def shrink(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Erode the holes with a disk of radius ``pixels`` (negative = :func:`grow`).

    The image border does not erode: outside the image counts as hole.
    """
    mask = _check(mask)
    pixels = int(pixels)
    if pixels < 0:
        return grow(mask, -pixels)
    if pixels == 0 or mask.all():
        return mask.copy()
    return _distance_to(~mask) > pixels + 1e-3


def feather(mask: np.ndarray, radius: float) -> np.ndarray:
    """Soft float32 mask in ``[0, 1]``: 1 on the holes, easing to 0 at ``radius`` px outside.

    The hole itself stays fully 1 so a fill blended with it always covers the damage.
    """
    mask = _check(mask)
    radius = float(radius)
    if radius <= 0 or not mask.any():
        return mask.astype(np.float32)
    t = np.clip(1.0 - _distance_to(mask) / (radius + 1.0), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)  # smoothstep


def regions(mask: np.ndarray) -> int:
    """Number of separate holes (8-connected)."""
    mask = _check(mask)
    if not mask.any():
        return 0
    count, _ = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return int(count) - 1


def invert(mask: np.ndarray) -> np.ndarray:
    """Holes become kept pixels and the other way round."""
    return ~_check(mask)


def hole_boxes(mask: np.ndarray, pad: int = 0, cell: int = 16) -> list[Box]:
    """Boxes (y0, y1, x0, x1) that together cover every hole pixel grown by ``pad`` px: one
    per cluster of holes on a ``cell``-px grid. Cheap on huge masks (work on the coarse grid),
    and for scattered scratches far smaller in total than their common bounding box."""
    mask = _check(mask)
    if not mask.any():
        return []
    h, w = mask.shape
    padded = np.pad(mask, ((0, (-h) % cell), (0, (-w) % cell)))
    coarse = padded.reshape(padded.shape[0] // cell, cell, -1, cell).any(axis=(1, 3))
    count, _, stats, _ = cv2.connectedComponentsWithStats(coarse.astype(np.uint8), connectivity=8)
    boxes = []
    for label in range(1, count):
        x, y, bw, bh = (int(v) for v in stats[label, :4])
        boxes.append(
            (
                max(0, y * cell - pad),
                min(h, (y + bh) * cell + pad),
                max(0, x * cell - pad),
                min(w, (x + bw) * cell + pad),
            )
        )
    return boxes
