"""The interface every fill method implements.

Methods are small: they fill one crop. The pipeline (``core.pipeline``) owns everything around
them - splitting the mask into regions, cropping with context, converting dtypes, resizing to the
method's working scale, padding to ``pad_multiple`` and pasting the result back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from core.progress import Progress, Steps, scaled


@dataclass(frozen=True)
class CropContext:
    """What a method may know about the crop it fills, besides its pixels."""

    seed: int | None = None
    # Scale factor the pipeline applied to the crop (1.0 = full resolution).
    scale: float = 1.0
    # Free-form options from the request (e.g. ``refine_steps`` for the manifold method).
    options: dict | None = None


class FillMethod(ABC):
    """A way to fill the hole pixels of an RGB crop.

    ``fill`` receives ``crop``: float32 ``(h, w, 3)`` RGB in ``[0, 1]`` whose hole pixels hold
    no information (they are zero), and ``hole``: bool ``(h, w)``. It returns a float32 array of
    the same shape; only its hole pixels are used.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    # The pipeline pads crops so that height and width are multiples of this.
    pad_multiple: ClassVar[int] = 1
    # Context added around each hole region: at least ``min_margin`` px, or
    # ``margin_factor`` x the region's longest side, whichever is larger.
    min_margin: ClassVar[int] = 16
    margin_factor: ClassVar[float] = 0.5
    # Most crops the pipeline hands to one ``fill_batch_steps`` call.
    max_batch: ClassVar[int] = 1

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    def working_scale(self, region_height: int, region_width: int) -> float:
        """Downscale factor (<= 1) at which to run on a hole region of this size."""
        return 1.0

    @abstractmethod
    def fill(self, crop: np.ndarray, hole: np.ndarray, context: CropContext) -> np.ndarray:
        """Return the filled crop (float32, same shape as ``crop``)."""

    def fill_steps(
        self, crop: np.ndarray, hole: np.ndarray, context: CropContext
    ) -> Steps[np.ndarray]:
        """Generator form of ``fill``; methods with inner iterations override it to report
        progress (and so become cancellable between iterations)."""
        result = self.fill(crop, hole, context)
        yield Progress(1.0)
        return result

    def batch_key(
        self, crop: np.ndarray, hole: np.ndarray, context: CropContext
    ) -> Hashable | None:
        """Crops whose keys are equal (and not None) may be filled together by
        ``fill_batch_steps``; None (the default) fills this crop on its own."""
        return None

    def fill_batch_steps(
        self, items: Sequence[tuple[np.ndarray, np.ndarray, CropContext]]
    ) -> Steps[list[np.ndarray]]:
        """Fill several ``(crop, hole, context)`` items of one batch key; each result must be
        what ``fill_steps`` gives for that item alone. The default fills them in turn."""
        results = []
        for number, (crop, hole, context) in enumerate(items):
            steps = self.fill_steps(crop, hole, context)
            start, end = number / len(items), (number + 1) / len(items)
            results.append((yield from scaled(steps, start, end)))
        return results


def downscale_known(
    crop: np.ndarray, hole: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """``crop`` (float32 HxWxC) and ``hole`` at ``scale``, averaging known pixels only (hole
    pixels hold zeros that must not bleed in); a working pixel with any hole under it is a hole."""
    h, w = hole.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    known = (~hole).astype(np.float32)
    num = cv2.resize(crop * known[..., None], size, interpolation=cv2.INTER_AREA)
    den = cv2.resize(known, size, interpolation=cv2.INTER_AREA)
    small_hole = den < 0.999  # any hole pixel under it makes a working pixel a hole
    small = num / np.maximum(den, 1e-6)[..., None]
    small[small_hole] = 0.0
    return small.astype(np.float32), small_hole
