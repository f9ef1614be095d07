"""app.qimage: the one numpy <-> QImage conversion (row padding, odd widths, depths)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage

from app.qimage import MaskOverlay, array_to_qimage, qimage_to_array, to_display_uint8


@pytest.mark.parametrize("width", [1, 3, 5, 7, 101])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_uint8_round_trip_keeps_every_pixel_at_odd_widths(width: int, channels: int) -> None:
    rng = np.random.default_rng(width * 10 + channels)
    pixels = rng.integers(0, 256, (9, width, channels), dtype=np.uint8)
    image = array_to_qimage(pixels)
    assert (image.width(), image.height()) == (width, 9)
    np.testing.assert_array_equal(qimage_to_array(image), pixels)


def test_qimage_owns_its_pixels() -> None:
    pixels = np.full((4, 5, 3), 10, np.uint8)
    image = array_to_qimage(pixels)
    pixels[:] = 200
    assert qimage_to_array(image)[0, 0, 0] == 10


def test_rgb_order_is_kept() -> None:
    pixels = np.zeros((2, 3, 3), np.uint8)
    pixels[..., 0] = 255  # pure red
    assert QColor(array_to_qimage(pixels).pixel(1, 1)) == QColor(255, 0, 0)


def test_deep_images_are_shown_as_8_bit() -> None:
    deep = np.array([[[0], [257], [65535], [32896]]], np.uint16)
    np.testing.assert_array_equal(to_display_uint8(deep)[..., 0], [[0, 1, 255, 128]])
    floats = np.array([[[-0.5], [0.0], [0.5], [2.0]]], np.float32)
    np.testing.assert_array_equal(to_display_uint8(floats)[..., 0], [[0, 0, 128, 255]])
    assert qimage_to_array(array_to_qimage(deep))[0, 2, 0] == 255


def test_gray_alpha_becomes_rgba() -> None:
    pixels = np.array([[[10, 200], [90, 0], [255, 255]]], np.uint8)  # width 3: odd
    out = qimage_to_array(array_to_qimage(pixels))
    np.testing.assert_array_equal(out[..., :3], np.repeat(pixels[..., :1], 3, axis=2))
    np.testing.assert_array_equal(out[..., 3], pixels[..., 1])


def test_padded_qimage_rows_are_read_without_padding() -> None:
    image = QImage(3, 2, QImage.Format.Format_RGB888)  # 9 bytes a row, padded to 12
    assert image.bytesPerLine() > 9
    image.fill(QColor(1, 2, 3))
    out = qimage_to_array(image)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out, np.broadcast_to([1, 2, 3], (2, 3, 3)))


def test_overlay_tints_holes_and_updates_only_the_box() -> None:
    mask = np.zeros((4, 7), bool)
    overlay = MaskOverlay(mask, QColor(255, 0, 0, 128))
    mask[1, 1] = mask[3, 6] = True
    overlay.update(mask, (0, 2, 0, 2))  # only the top-left box is refreshed
    assert QColor.fromRgba(overlay.image.pixel(1, 1)).alpha() == 128
    assert QColor.fromRgba(overlay.image.pixel(6, 3)).alpha() == 0
    overlay.update(mask)
    assert QColor.fromRgba(overlay.image.pixel(6, 3)).alpha() == 128
    assert QColor.fromRgba(overlay.image.pixel(0, 0)).alpha() == 0
