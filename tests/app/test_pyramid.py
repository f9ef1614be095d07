"""app.pyramid (the canvas's preview pyramid) and opening large photos off the GUI thread."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from app.main_window import MainWindow
from app.pyramid import SMALLEST_SIDE, Pyramid
from app.qimage import qimage_to_array, to_display_uint8
from app.viewmodels import session as session_module
from core.base import imageio

FILL_TIMEOUT_MS = 20_000


def shown(pyramid: Pyramid, level: int = 0) -> np.ndarray:
    return qimage_to_array(pyramid.levels[level])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize(("height", "width"), [(1, 1), (1, 7), (301, 517), (130, 129)])
def test_level_zero_is_the_display_conversion(height: int, width: int, dtype: type) -> None:
    rng = np.random.default_rng(height * width)
    top = 1.0 if dtype == np.float32 else np.iinfo(dtype).max
    pixels = (rng.random((height, width, 3)) * top).astype(dtype)
    pyramid = Pyramid(pixels)
    np.testing.assert_array_equal(shown(pyramid)[..., :3], to_display_uint8(pixels))
    sides = [min(level.width(), level.height()) for level in pyramid.levels]
    assert all(side >= SMALLEST_SIDE for side in sides[1:])


@pytest.mark.parametrize("channels", [1, 2, 4])
def test_gray_and_alpha_are_drawn_premultiplied(channels: int) -> None:
    pixels = np.random.default_rng(channels).integers(0, 256, (9, 11, channels), dtype=np.uint8)
    out = shown(Pyramid(pixels))
    colour = pixels[..., :3] if channels >= 3 else np.repeat(pixels[..., :1], 3, axis=2)
    if channels in (2, 4):
        alpha = pixels[..., -1:].astype(np.int32)
        colour = (colour * alpha + 127) // 255  # the premultiplied values QImage stores
        np.testing.assert_array_equal(out[..., 3], pixels[..., -1])
    # qimage_to_array un-premultiplies (Qt rounds): compare within one step of rounding.
    back = out[..., :3].astype(np.int32)
    if channels in (2, 4):
        back = (back * pixels[..., -1:].astype(np.int32) + 127) // 255
    assert np.abs(back - colour).max() <= 1


def test_update_of_a_box_equals_a_full_rebuild() -> None:
    rng = np.random.default_rng(0)
    before = rng.integers(0, 65535, (517, 389, 3)).astype(np.uint16)
    pyramid = Pyramid(before)
    after = before.copy()
    box = (101, 203, 37, 151)
    after[box[0] : box[1], box[2] : box[3]] = rng.integers(0, 65535, (102, 114, 3))
    pyramid.update(after, box)
    rebuilt = Pyramid(after)
    assert pyramid.source is after and len(pyramid.levels) == len(rebuilt.levels)
    for level in range(len(rebuilt.levels)):
        np.testing.assert_array_equal(shown(pyramid, level), shown(rebuilt, level))


def test_a_large_photo_is_decoded_off_the_gui_thread(qtbot, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "big.png"
    imageio.write_image(imageio.Image(np.full((300, 400, 3), 9, np.uint8)), path)
    monkeypatch.setattr(session_module, "BACKGROUND_READ_BYTES", 0)  # every file is "large"
    real_read = imageio.read_image
    readers: list[int] = []

    def slow_read(*args, **kwargs):  # type: ignore[no-untyped-def]
        readers.append(threading.get_ident())
        time.sleep(0.6)
        return real_read(*args, **kwargs)

    monkeypatch.setattr(imageio, "read_image", slow_read)
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    states: list[bool] = []
    win.session.loading_changed.connect(states.append)
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)
    assert win.open_path(path)  # returns at once: the photo is read on the files worker
    assert win.document() is None and states == [True]
    with qtbot.waitSignal(win.session.document_changed, timeout=10_000):
        pass
    timer.stop()
    assert readers and threading.get_ident() not in readers
    assert states == [True, False]
    assert len(ticks) >= 10 and max(np.diff(ticks)) < 0.3  # the GUI kept running meanwhile
    doc = win.document()
    assert isinstance(doc.display, Pyramid) and doc.display.source is doc.image
    assert win.canvas._photo is doc.display  # drawn from the pyramid made off the GUI thread
    win.close()


def test_after_a_fill_the_canvas_updates_only_the_changed_box(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "scan.png"
    rng = np.random.default_rng(5)
    imageio.write_image(imageio.Image(rng.integers(0, 256, (200, 300, 3), np.uint8)), path)
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    assert win.open_path(path)
    photo = win.canvas._photo
    win.document().mask[50:60, 100:180] = True
    win.fill.method = "telea"
    with qtbot.waitSignal(win.fill_finished, timeout=FILL_TIMEOUT_MS):
        win.fill.start()
    assert win.canvas._photo is photo  # updated in place, not rebuilt
    boxes = win.session.image_change_boxes
    assert boxes and all(y0 >= 50 - 20 and y1 <= 60 + 20 for y0, y1, _, _ in boxes)
    for level, image in enumerate(Pyramid(win.document().image).levels):
        np.testing.assert_array_equal(shown(photo, level), qimage_to_array(image))
    win.action.undo.trigger()
    for level, image in enumerate(Pyramid(win.document().image).levels):
        np.testing.assert_array_equal(shown(photo, level), qimage_to_array(image))
    win.close()
