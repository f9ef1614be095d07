"""OpenCV's classical inpainting: the instant fallback and the baselines to beat."""

from __future__ import annotations

from typing import ClassVar

import cv2
import numpy as np

from core.methods.base import CropContext, FillMethod
from core.methods.registry import register


class _OpenCVInpaint(FillMethod):
    flag: ClassVar[int]
    radius: ClassVar[float] = 5.0
    min_margin = 8
    margin_factor = 0.1

    def fill(self, crop: np.ndarray, hole: np.ndarray, context: CropContext) -> np.ndarray:
        # cv2.inpaint takes float only one channel at a time; float keeps 16-bit precision.
        mask8 = hole.astype(np.uint8)
        channels = [
            cv2.inpaint(np.ascontiguousarray(crop[..., c], np.float32), mask8, self.radius, self.flag)
            for c in range(crop.shape[2])
        ]
        return np.stack(channels, axis=2)


@register
class TeleaInpaint(_OpenCVInpaint):
    name = "telea"
    description = "OpenCV Telea fast marching (classical, instant)"
    flag = cv2.INPAINT_TELEA


@register
class NavierStokesInpaint(_OpenCVInpaint):
    name = "ns"
    description = "OpenCV Navier-Stokes (classical, instant)"
    flag = cv2.INPAINT_NS
