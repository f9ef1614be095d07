"""The one place where numpy arrays and QImages are converted.

Images follow ``core``'s convention (HxWxC RGB order, C in 1-4, uint8/uint16/float32). The screen
only needs 8 bits, so deeper images are reduced for display here; the document keeps full depth.
Arrays become display pixels in one way, ``write_display`` (8-bit B, G, R, A in a 32-bit QImage,
premultiplied for drawing): ``array_to_qimage`` and the canvas's pyramid (``app.pyramid``, which
writes its levels in row blocks) both use it. Every QImage returned owns its pixels (no aliasing
of numpy memory), except ``MaskOverlay`` whose QImage deliberately shares a buffer with a numpy
array so strokes update it in place.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage


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


def display_qimage(width: int, height: int, alpha: bool, premultiplied: bool = True) -> QImage:
    """An empty 32-bit QImage for ``write_display``: RGB32 without alpha, else ARGB32 (its
    premultiplied form by default, the one the raster paint engine draws without converting)."""
    if not alpha:
        fmt = QImage.Format.Format_RGB32
    elif premultiplied:
        fmt = QImage.Format.Format_ARGB32_Premultiplied
    else:
        fmt = QImage.Format.Format_ARGB32
    return QImage(width, height, fmt)


def bgra_view(image: QImage) -> np.ndarray:
    """A writable (H, W, 4) view of a 32-bit QImage's pixels (B, G, R, A in memory)."""
    bits = image.bits()
    view = np.frombuffer(bits, np.uint8, count=image.bytesPerLine() * image.height())
    return view.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 4].reshape(
        image.height(), image.width(), 4
    )


def write_display(out: np.ndarray, pixels: np.ndarray, alpha: bool, premultiply: bool) -> None:
    """Write the display values of ``pixels`` ((H, W, C), C in 1-4, any supported dtype) into
    ``out`` ((H, W, 4) B, G, R, A, a ``bgra_view``): gray is spread over R, G and B; with
    ``alpha`` the last channel is the alpha, by which the colour is multiplied (``premultiply``),
    else the alpha is opaque."""
    data = to_display_uint8(pixels)
    channels = data.shape[2]
    colour = data[..., :3] if channels >= 3 else np.repeat(data[..., :1], 3, axis=2)
    if alpha:
        if premultiply:
            a = data[..., -1:].astype(np.uint16)
            colour = ((colour.astype(np.uint16) * a + 127) // 255).astype(np.uint8)
        out[..., 3] = data[..., -1]
    else:
        out[..., 3] = 255
    out[..., 0], out[..., 1], out[..., 2] = colour[..., 2], colour[..., 1], colour[..., 0]


def array_to_qimage(pixels: np.ndarray) -> QImage:
    """An 8-bit QImage for display from an (H, W) or (H, W, C) array, C in 1-4: RGB32, or
    ARGB32 (not premultiplied, so that its pixels read back as they were) when C is 2 or 4."""
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"expected HxW or HxWxC with C in 1-4, got shape {pixels.shape}")
    height, width, channels = pixels.shape
    alpha = channels in (2, 4)
    image = display_qimage(width, height, alpha, premultiplied=False)
    if not image.isNull():
        write_display(bgra_view(image), pixels, alpha, premultiply=False)
    return image


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
