"""The real MainWindow driven like a user (offscreen): paint, fill, undo, cancel, errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from app.main_window import MainWindow
from app.worker import THREAD_PREFIX
from core.base.imageio import Image, write_image
from core.base.masks import grow
from core.base.progress import Progress
from core.methods.base import CropContext, FillMethod
from core.methods.geometry import BLEND_BAND
from core.pipeline import registry
from tests.app.driving import open_window

FILL_TIMEOUT_MS = 20_000


class SlowFill(FillMethod):
    """Yields often and slowly, recording the thread it ran on: cancel and stale-mask tests."""

    name = "test-slow"
    description = "test only: slow grey fill"
    steps: ClassVar[int] = 400
    threads: ClassVar[set[int]] = set()

    def fill(self, crop: np.ndarray, hole: np.ndarray, context: CropContext) -> np.ndarray:
        return np.full_like(crop, 0.5)

    def render_steps(self, prepared, context):  # type: ignore[no-untyped-def]
        crop, hole = prepared
        for i in range(self.steps):
            SlowFill.threads.add(threading.get_ident())
            time.sleep(0.005)
            yield Progress(i / self.steps, "slow")
        return self.fill(crop, hole, context)


class BrokenFill(FillMethod):
    name = "test-broken"
    description = "test only: always raises"

    def fill(self, crop: np.ndarray, hole: np.ndarray, context: CropContext) -> np.ndarray:
        raise RuntimeError("the model exploded")


for _cls in (SlowFill, BrokenFill):
    registry.METHODS.setdefault(_cls.name, _cls)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:120, 0:161]  # odd width on purpose
    pixels = np.stack([xx * 1.5, yy * 2.0, (xx + yy) % 256], axis=2) + rng.normal(
        0, 8, (120, 161, 3)
    )
    path = tmp_path / "scan.png"
    write_image(Image(np.clip(pixels, 0, 255).astype(np.uint8)), path)
    return path


@pytest.fixture
def window(qtbot, photo: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    win = open_window(qtbot, photo, (900, 700))
    yield win
    win.close()


def action(win: MainWindow, name: str) -> QAction:
    found = win.findChild(QAction, name)
    assert found is not None, name
    return found


def choose_method(win: MainWindow, name: str) -> None:
    win.method_combo.setCurrentIndex(win.method_combo.findData(name))
    assert win.fill.method == name


def widget_pos(canvas, x: float, y: float) -> QPoint:  # type: ignore[no-untyped-def]
    return canvas.map_from_image(QPointF(x, y)).toPoint()


def drag(qtbot, canvas, points: list[QPoint]) -> None:  # type: ignore[no-untyped-def]
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=points[0])
    for p in points[1:]:
        qtbot.mouseMove(canvas, p)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=points[-1])


def distance_to_segment(shape: tuple[int, int], a: QPointF, b: QPointF) -> np.ndarray:
    """Distance of every pixel centre to segment a-b, in image pixels."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]] + 0.5
    ax, ay, bx, by = a.x(), a.y(), b.x(), b.y()
    t = ((xx - ax) * (bx - ax) + (yy - ay) * (by - ay)) / max((bx - ax) ** 2 + (by - ay) ** 2, 1e-9)
    t = np.clip(t, 0, 1)
    return np.hypot(xx - (ax + t * (bx - ax)), yy - (ay + t * (by - ay)))


def test_open_path_fits_the_photo_with_the_brush_active(window: MainWindow) -> None:
    canvas = window.findChild(QWidget, "canvas")
    shown = canvas.image_rect()
    assert canvas.rect().toRectF().contains(shown.adjusted(0.5, 0.5, -0.5, -0.5))
    # Fitted: it touches two opposite sides of the canvas.
    assert shown.width() == pytest.approx(canvas.width()) or shown.height() == pytest.approx(
        canvas.height()
    )
    assert window.toolbox.current.name == "brush"
    assert window.document().image.shape == (120, 161, 3)


def test_drag_paints_the_stroke_under_the_pointer_and_undo_removes_it(qtbot, window) -> None:
    canvas = window.findChild(QWidget, "canvas")
    window.toolbox.set_brush_size(10)
    points = [widget_pos(canvas, 30, 60), widget_pos(canvas, 80, 62), widget_pos(canvas, 130, 64)]
    drag(qtbot, canvas, points)
    mask = window.document().mask
    # Where the canvas says the pointer was, in image pixels.
    path = [canvas.map_to_image(QPointF(p)) for p in points]
    distance = np.minimum(
        distance_to_segment(mask.shape, path[0], path[1]),
        distance_to_segment(mask.shape, path[1], path[2]),
    )
    assert mask[distance <= 5 - 1].all()  # inside the 10 px brush: painted
    assert not mask[distance > 5 + 1].any()  # outside: untouched
    action(window, "action_undo").trigger()
    assert not window.document().mask.any()
    action(window, "action_redo").trigger()
    assert window.document().mask[distance <= 4].all()


def test_fill_changes_only_holes_and_undo_restores_the_exact_image(qtbot, window) -> None:
    doc = window.document()
    before = doc.image.copy()
    doc.mask[40:60, 50:90] = True
    doc.mask[90:95, 10:20] = True
    hole = doc.mask.copy()
    choose_method(window, "telea")
    with qtbot.waitSignal(window.fill_finished, timeout=FILL_TIMEOUT_MS):
        action(window, "action_fill").trigger()
    changed = (doc.image != before).any(axis=2)
    assert changed[hole].mean() > 0.9  # the holes were filled
    assert not changed[~grow(hole, BLEND_BAND)].any()  # beyond the blend band: untouched
    filled = doc.image.copy()
    action(window, "action_undo").trigger()
    np.testing.assert_array_equal(doc.image, before)
    np.testing.assert_array_equal(doc.mask, hole)
    action(window, "action_redo").trigger()
    np.testing.assert_array_equal(doc.image, filled)


def test_match_film_grain_gives_the_fill_the_grain_around_it_and_is_remembered(
    qtbot, window
) -> None:
    from app.settings import Settings
    from core.base.metrics import grain_ratio

    doc = window.document()
    doc.mask[30:70, 40:100] = True
    hole = doc.mask.copy()
    choose_method(window, "telea")
    ratios = []
    for on in (False, True):
        action(window, "action_grain").setChecked(on)
        doc.mask[:] = hole
        with qtbot.waitSignal(window.fill_finished, timeout=FILL_TIMEOUT_MS):
            action(window, "action_fill").trigger()
        ratios.append(grain_ratio(doc.image.astype(np.float32) / 255.0, hole))
        said = window.statusBar().currentMessage()
        assert said.startswith("Filled") and ("film grain" in said) == on
        action(window, "action_undo").trigger()
    assert ratios[0] < 0.5 < 0.8 < ratios[1]  # smooth Telea, then as grainy as around it
    assert Settings().grain is True


def test_fill_menu_groups_detection_then_fill_then_the_grain_option(window) -> None:
    (fill_menu,) = [a.menu() for a in window.menuBar().actions() if a.text() == "F&ill"]
    groups, group = [], []
    for entry in fill_menu.actions():
        if entry.isSeparator():
            groups.append(group)
            group = []
        else:
            group.append(entry.objectName())
    groups.append(group)
    assert [g[-1] for g in groups] == [
        window.detect_dock.actions["cancel"].objectName(),
        "action_cancel",
        "action_grain",
    ]
    assert action(window, "action_grain").isCheckable()


def test_cancel_stops_quickly_and_leaves_the_document_unchanged(qtbot, window) -> None:
    doc = window.document()
    doc.mask[10:30, 10:30] = True
    before, mask = doc.image.copy(), doc.mask.copy()
    choose_method(window, "test-slow")
    with qtbot.assertNotEmitted(window.fill_finished, wait=300):
        action(window, "action_fill").trigger()
        qtbot.waitUntil(
            lambda: window.status_area.progress_bar.value() > 0, timeout=FILL_TIMEOUT_MS
        )
        assert action(window, "action_cancel").isEnabled()
        start = time.monotonic()
        action(window, "action_cancel").trigger()
        qtbot.waitUntil(lambda: not window.fill.busy, timeout=2000)
        assert time.monotonic() - start < 0.5
    np.testing.assert_array_equal(doc.image, before)
    np.testing.assert_array_equal(doc.mask, mask)
    assert action(window, "action_fill").isEnabled()
    assert not action(window, "action_undo").isEnabled()  # no fill step was recorded


def test_a_failing_method_shows_a_message_and_changes_nothing(qtbot, window) -> None:
    doc = window.document()
    doc.mask[10:30, 10:30] = True
    before = doc.image.copy()
    choose_method(window, "test-broken")
    with qtbot.waitSignal(window.fill.error, timeout=FILL_TIMEOUT_MS):
        action(window, "action_fill").trigger()
    qtbot.waitUntil(lambda: not window.fill.busy)
    box = window.findChild(QWidget, "error_message")
    assert box is not None and box.isVisible()
    assert "the model exploded" in box.text()
    assert "the model exploded" in window.statusBar().currentMessage()
    np.testing.assert_array_equal(doc.image, before)
    assert action(window, "action_fill").isEnabled()


def test_gui_keeps_running_during_a_fill_that_runs_off_the_gui_thread(
    qtbot, window, monkeypatch
) -> None:
    monkeypatch.setattr(SlowFill, "steps", 100)  # at least 0.5 s of work
    SlowFill.threads.clear()
    window.document().mask[10:30, 10:30] = True
    choose_method(window, "test-slow")
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)
    with qtbot.waitSignal(window.fill_finished, timeout=FILL_TIMEOUT_MS):
        action(window, "action_fill").trigger()
    timer.stop()
    assert len(ticks) >= 10
    assert max(np.diff(ticks)) < 0.4  # never blocked for the fill's duration
    assert threading.get_ident() not in SlowFill.threads


def test_a_fill_started_on_a_stale_mask_is_discarded(qtbot, window, monkeypatch) -> None:
    monkeypatch.setattr(SlowFill, "steps", 100)
    doc = window.document()
    doc.mask[10:30, 10:30] = True
    before = doc.image.copy()
    choose_method(window, "test-slow")
    canvas = window.findChild(QWidget, "canvas")
    with qtbot.assertNotEmitted(window.fill_finished, wait=100):
        action(window, "action_fill").trigger()
        assert window.fill.busy
        drag(qtbot, canvas, [widget_pos(canvas, 100, 100), widget_pos(canvas, 120, 100)])
        qtbot.waitUntil(lambda: not window.fill.busy, timeout=FILL_TIMEOUT_MS)
    np.testing.assert_array_equal(doc.image, before)
    assert doc.mask[100, 110]  # the new stroke is kept
    assert "dropped" in window.statusBar().currentMessage()


def test_closing_the_window_stops_the_fill_thread(qtbot, window) -> None:
    window.document().mask[10:30, 10:30] = True
    choose_method(window, "test-slow")
    action(window, "action_fill").trigger()
    qtbot.waitUntil(lambda: window.status_area.progress_bar.value() > 0, timeout=FILL_TIMEOUT_MS)
    start = time.monotonic()
    window.close()
    assert time.monotonic() - start < 1.0
    assert not [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]
