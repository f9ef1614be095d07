"""The photo as the canvas draws it: an 8-bit QImage plus halved copies (a preview pyramid).

Built from the document's array in row blocks, so a 50 MP 16-bit scan never needs a
whole-image temporary beyond the 8-bit result, and buildable on a worker thread (QImage, unlike
QPixmap, may be used off the GUI thread): opening a large photo prepares it there. Levels are
RGB32 / ARGB32_Premultiplied, the formats the raster paint engine draws without conversion.
After a fill only the changed box is converted again (``update``).
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtGui import QImage

from app.qimage import bgra_view, display_qimage, write_display
from app.viewmodels.document import Box

BLOCK_ROWS = 256  # rows converted at a time: bounds the temporaries
SMALLEST_SIDE = 64  # no level is made whose shorter side would be below this


class Pyramid:
    """``source`` is the array shown; ``level_for(scale)`` the copy to draw at that zoom."""

    def __init__(self, pixels: np.ndarray) -> None:
        if pixels.ndim == 2:
            pixels = pixels[..., None]
        self.source = pixels
        self.has_alpha = pixels.shape[2] in (2, 4)
        height, width = pixels.shape[:2]
        self.levels: list[QImage] = [display_qimage(width, height, self.has_alpha)]
        self._convert(pixels, (0, height, 0, width))
        while min(self.levels[-1].width(), self.levels[-1].height()) >= 2 * SMALLEST_SIDE:
            below = self.levels[-1]
            size = (max(1, below.width() // 2), max(1, below.height() // 2))
            self.levels.append(display_qimage(*size, self.has_alpha))
            self._downsample(len(self.levels) - 1, (0, below.height(), 0, below.width()))

    def level_for(self, scale: float) -> QImage:
        """The smallest copy that still has at least one pixel per screen pixel at ``scale``."""
        level = 0
        while level + 1 < len(self.levels) and scale * 2 ** (level + 1) <= 1.0:
            level += 1
        return self.levels[level]

    def update(self, pixels: np.ndarray, box: Box) -> None:
        """``pixels`` replaces ``source``; only ``box`` differs. Converts just that box."""
        if pixels.ndim == 2:
            pixels = pixels[..., None]
        self.source = pixels
        self._convert(pixels, box)
        y0, y1, x0, x1 = box
        for level in range(1, len(self.levels)):
            # The box at this level, widened to whole 2x2 blocks of the level below.
            y0, x0 = y0 // 2, x0 // 2
            y1, x1 = (y1 + 1) // 2, (x1 + 1) // 2
            image = self.levels[level]
            y1, x1 = min(y1, image.height()), min(x1, image.width())
            if y0 >= y1 or x0 >= x1:
                break
            self._downsample(level, (2 * y0, 2 * y1, 2 * x0, 2 * x1))

    def _convert(self, pixels: np.ndarray, box: Box) -> None:
        out = bgra_view(self.levels[0])
        y0, y1, x0, x1 = box
        for top in range(y0, y1, BLOCK_ROWS):
            bottom = min(top + BLOCK_ROWS, y1)
            block = pixels[top:bottom, x0:x1]
            write_display(out[top:bottom, x0:x1], block, self.has_alpha, premultiply=True)

    def _downsample(self, level: int, below_box: Box) -> None:
        """Recompute ``level`` from the level below over ``below_box`` (even coordinates)."""
        below = bgra_view(self.levels[level - 1])
        out = bgra_view(self.levels[level])
        y0, y1, x0, x1 = below_box
        y1, x1 = min(y1, 2 * out.shape[0]), min(x1, 2 * out.shape[1])
        for top in range(y0, y1, 2 * BLOCK_ROWS):
            bottom = min(top + 2 * BLOCK_ROWS, y1)
            block = below[top:bottom, x0:x1]
            size = ((x1 - x0) // 2, (bottom - top) // 2)
            if size[0] == 0 or size[1] == 0:
                continue
            out[top // 2 : top // 2 + size[1], x0 // 2 : x0 // 2 + size[0]] = cv2.resize(
                block[: 2 * size[1], : 2 * size[0]], size, interpolation=cv2.INTER_AREA
            )
