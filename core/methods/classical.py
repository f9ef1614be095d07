"""Classical fills: OpenCV Telea and Navier-Stokes (instant), scikit-image biharmonic, and
exemplar PatchMatch completion (the texture engine without a guide)."""

from __future__ import annotations

from typing import ClassVar

import cv2
import numpy as np

from core.base.pixels import opencv_inpaint
from core.base.progress import Steps
from core.methods.base import CropContext, FillMethod
from core.methods.geometry import back_to_crop, model_view

# scikit-image's inpainting (0.9 s to import on the 2-core CPU) and the texture engine (numba:
# 0.6 s) are imported by the fills that use them: every start imports this module.


class _OpenCVInpaint(FillMethod):
    flag: ClassVar[int]
    radius: ClassVar[float] = 5.0
    min_margin = 8
    margin_factor = 0.1

    def fill(self, crop: np.ndarray, hole: np.ndarray, context: CropContext) -> np.ndarray:
        if hole.all():
            # No known pixel to spread inwards (cv2.inpaint would return black): flat grey.
            return np.full_like(crop, 0.5)
        return opencv_inpaint(crop, hole, self.radius, self.flag)


class TeleaInpaint(_OpenCVInpaint):
    name = "telea"
    description = "OpenCV Telea fast marching (classical, instant)"
    flag = cv2.INPAINT_TELEA


class NavierStokesInpaint(_OpenCVInpaint):
    name = "ns"
    description = "OpenCV Navier-Stokes (classical, instant)"
    flag = cv2.INPAINT_NS


class BiharmonicInpaint(FillMethod):
    """scikit-image's biharmonic fill: the smoothest surface through the hole's border.

    Excellent on specks and hairline scratches (it continues gradients, not only values), a
    smear on large holes; each connected hole is one sparse linear solve (see ``max_unknowns``).
    """

    name = "biharmonic"
    description = "biharmonic surface (classical, small holes; slow on large ones)"
    min_margin = 8
    margin_factor = 0.1

    # Hole pixels of one connected region solved at full resolution; a larger region is solved
    # at a lower scale (the solve grows faster than linearly: a 300 px box took 17-20 s, and it
    # cannot be cancelled). A surface this smooth loses nothing visible by it. The limit is per
    # region, not per crop: a crop of long thin strokes (80 000 hole pixels in all, each stroke
    # well under the limit) solved at a lower scale lost 0.2-1.3 dB against full resolution.
    max_unknowns: ClassVar[int] = 16_000

    def fill(self, crop: np.ndarray, hole: np.ndarray, context: CropContext) -> np.ndarray:
        from skimage.restoration import inpaint_biharmonic

        if hole.all():
            return np.full_like(crop, 0.5)
        result = crop.astype(np.float32, copy=True)
        large = self._large_regions(hole)
        if large.any():
            # First, so that the small regions' stencils meet filled values, not zeros.
            view = model_view(result, large, (self.max_unknowns / int(large.sum())) ** 0.5, 1)
            filled = inpaint_biharmonic(
                view.pixels, view.hole, split_into_regions=True, channel_axis=-1
            )
            result = back_to_crop(filled.astype(np.float32), view.scale, result, large)
        small = hole & ~large
        if small.any():
            filled = inpaint_biharmonic(result, small, split_into_regions=True, channel_axis=-1)
            result[small] = np.clip(filled[small], 0.0, 1.0)
        return result

    def _large_regions(self, hole: np.ndarray) -> np.ndarray:
        """The connected regions of ``hole`` with more than ``max_unknowns`` pixels."""
        count, labels, stats, _ = cv2.connectedComponentsWithStats(hole.astype(np.uint8), None, 8)
        large_ids = 1 + np.flatnonzero(stats[1:count, cv2.CC_STAT_AREA] > self.max_unknowns)
        return np.isin(labels, large_ids) if large_ids.size else np.zeros_like(hole)


class PatchMatchInpaint(FillMethod):
    """Multi-scale PatchMatch / EM completion (Wexler et al. 2007, Barnes et al. 2009) with no
    guide: ``core.texture`` started from a smooth fill. The strongest classical peer of the
    manifold method on large holes (what content-aware fill and GIMP's heal do), kept as
    its baseline."""

    name = "patchmatch"
    description = "PatchMatch exemplar completion from the photo's own patches (classical)"
    min_margin = 32
    margin_factor = 0.5
    # Longest crop side synthesised at full resolution (larger regions are scaled down).
    max_side: ClassVar[int] = 1024

    def working_scale(self, region_height: int, region_width: int) -> float:
        return min(1.0, self.max_side / max(region_height, region_width, 1))

    def render_steps(
        self, prepared: tuple[np.ndarray, np.ndarray], context: CropContext
    ) -> Steps[np.ndarray]:
        from core.texture import synthesize_steps

        crop, hole = prepared
        seed = 0 if context.seed is None else int(context.seed)
        return (yield from synthesize_steps(crop, hole, None, seed))
