"""The one place where numpy arrays and QImages are converted.

Images follow ``core``'s convention (HxWxC RGB order, C in 1-4, uint8/uint16/float32). The screen
only needs 8 bits, so deeper images are reduced for display here; the document keeps full depth.
Every QImage returned owns its pixels (no aliasing of numpy memory), except ``MaskOverlay`` whose
QImage deliberately shares a buffer with a numpy array so strokes update it in place.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage

_FORMATS = {
    1: QImage.Format.Format_Grayscale8,
    3: QImage.Format.Format_RGB888,
    4: QImage.Format.Format_RGBA8888,
}


def to_display_uint8(pixels: np.ndarray) -> np.ndarray:
    """Any supported dtype as uint8 with the same shape (uint16 / 257, float [0, 1] * 255)."""
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.uint16:
        # (v + 128) // 257 maps 0..65535 onto 0..255 with rounding, exact for 8-bit-in-16 data.
        return ((pixels.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if np.issubdtype(pixels.dtype, np.floating):
        return np.rint(np.clip(np.nan_to_num(pixels), 0.0, 1.0) * 255.0).astype(np.uint8)
    raise TypeError(f"unsupported image dtype {pixels.dtype}")


def array_to_qimage(pixels: np.ndarray) -> QImage:
    """An 8-bit QImage for display from an (H, W) or (H, W, C) array, C in 1-4."""
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"expected HxW or HxWxC with C in 1-4, got shape {pixels.shape}")
    data = to_display_uint8(pixels)
    if data.shape[2] == 2:  # gray+alpha has no QImage format: widen to RGBA
        data = np.concatenate([np.repeat(data[..., :1], 3, axis=2), data[..., 1:]], axis=2)
    data = np.ascontiguousarray(data)
    height, width, channels = data.shape
    # Rows of a C-contiguous array are width*channels bytes apart; QImage is told so explicitly,
    # because its own default assumes 4-byte aligned rows (wrong for odd widths of RGB888/Gray8).
    view = QImage(data.data, width, height, width * channels, _FORMATS[channels])
    return view.copy()  # detach from ``data``, which dies with this frame


def qimage_to_array(image: QImage) -> np.ndarray:
    """(H, W, C) uint8 RGB(A) or gray from a QImage of any format (C = 1, 3 or 4)."""
    if image.isGrayscale() and not image.hasAlphaChannel():
        fmt, channels = QImage.Format.Format_Grayscale8, 1
    elif image.hasAlphaChannel():
        fmt, channels = QImage.Format.Format_RGBA8888, 4
    else:
        fmt, channels = QImage.Format.Format_RGB888, 3
    converted = image.convertToFormat(fmt)
    height, width = converted.height(), converted.width()
    stride = converted.bytesPerLine()
    raw = np.frombuffer(converted.constBits(), np.uint8, count=stride * height)
    # Drop the padding at the end of each row, then copy out of Qt's buffer.
    return (
        raw.reshape(height, stride)[:, : width * channels].reshape(height, width, channels).copy()
    )


class MaskOverlay:
    """A premultiplied ARGB QImage that tints the mask's hole pixels, updated per rectangle.

    The QImage wraps ``self._buffer`` (kept alive here), so ``update`` writes numpy values
    straight into what the painter draws: a stroke costs its bounding box, not the whole image.
    """

    def __init__(self, mask: np.ndarray, color: QColor) -> None:
        height, width = mask.shape
        alpha = color.alpha()
        # ARGB32 premultiplied is 0xAARRGGBB in native-endian uint32: one value per pixel.
        self._tint = np.uint32(
            (alpha << 24)
            | ((color.red() * alpha // 255) << 16)
            | ((color.green() * alpha // 255) << 8)
            | (color.blue() * alpha // 255)
        )
        self._buffer = np.zeros((height, width), np.uint32)
        self.image = QImage(
            self._buffer.data, width, height, width * 4, QImage.Format.Format_ARGB32_Premultiplied
        )
        if mask.any():  # a new photo's mask is empty: the zeroed buffer is already right
            self.update(mask)

    @property
    def shape(self) -> tuple[int, int]:
        return self._buffer.shape

    def update(self, mask: np.ndarray, box: tuple[int, int, int, int] | None = None) -> None:
        """Re-tint ``box`` = (y0, y1, x0, x1) of the overlay from ``mask`` (all of it if None)."""
        y0, y1, x0, x1 = box if box is not None else (0, mask.shape[0], 0, mask.shape[1])
        np.multiply(mask[y0:y1, x0:x1], self._tint, out=self._buffer[y0:y1, x0:x1])
