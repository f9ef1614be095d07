"""The restorer's session (issue 17) in the real window: fill passes, feedback on a fill,
navigation round a folder, the keys back on the canvas after a dialog, compare wherever the
focus is (issue 26)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from app.main_window import MainWindow
from core.base.imageio import Image, write_image
from core.base.masks import grow
from core.methods.geometry import BLEND_BAND
from tests.app.driving import open_window, paint_box
from tests.conftest import synthetic_photo

FILL_TIMEOUT_MS = 20_000
FIRST, SECOND = (20, 40, 20, 60), (70, 90, 90, 140)  # y0, y1, x0, x1


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for index, name in enumerate(("a.png", "b.png", "c.png")):
        write_image(Image(synthetic_photo(120, 161, seed=index)), tmp_path / name)
    return tmp_path


@pytest.fixture
def window(qtbot, folder: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    win = open_window(qtbot, folder / "a.png", (1000, 700))
    win.method_combo.setCurrentIndex(win.method_combo.findData("telea"))
    yield win
    win.close()


def box_mask(shape: tuple[int, ...], box: tuple[int, int, int, int]) -> np.ndarray:
    mask = np.zeros(shape[:2], bool)
    mask[box[0] : box[1], box[2] : box[3]] = True
    return mask


def fill(qtbot, win: MainWindow, action: str = "fill") -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(win.fill_finished, timeout=FILL_TIMEOUT_MS):
        getattr(win.action, action).trigger()


# -- fill passes -------------------------------------------------------------------------------


def test_a_filled_region_leaves_the_mask_and_one_undo_brings_both_back(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    doc = window.document()
    before = doc.image
    paint_box(window.masks, FIRST)
    fill(qtbot, window)
    assert doc.image is not before
    assert not doc.mask.any()  # the filled region is no longer masked
    steps = doc.undo_stack.count()
    window.action.undo.trigger()  # one step: the image and the mask come back together
    assert doc.image is before and np.array_equal(doc.mask, box_mask(doc.mask.shape, FIRST))
    assert doc.undo_stack.index() == steps - 1
    window.action.redo.trigger()
    assert doc.image is not before and not doc.mask.any()


def test_a_new_stroke_starts_a_new_mask_and_fill_acts_on_it_alone(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    doc = window.document()
    paint_box(window.masks, FIRST)
    fill(qtbot, window)
    first_pass = doc.image.copy()
    paint_box(window.masks, SECOND)
    assert np.array_equal(doc.mask, box_mask(doc.mask.shape, SECOND))  # only the new stroke
    fill(qtbot, window)
    changed = (doc.image != first_pass).any(axis=2)
    second = box_mask(doc.mask.shape, SECOND)
    assert changed[second].mean() > 0.9
    assert not changed[~grow(second, BLEND_BAND)].any()  # the first region was not filled again


def test_filling_a_filled_region_again_is_an_explicit_action(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    doc = window.document()
    paint_box(window.masks, FIRST)
    fill(qtbot, window)
    filled, steps = doc.image, doc.undo_stack.count()
    window.action.fill.trigger()  # F on an empty mask: nothing happens, and it says why
    assert not window.fill.busy and doc.image is filled and doc.undo_stack.count() == steps
    assert "Nothing to fill" in window.statusBar().currentMessage()
    assert "Refill" in window.statusBar().currentMessage()
    window.method_combo.setCurrentIndex(window.method_combo.findData("ns"))
    fill(qtbot, window, "refill")  # Fill > Refill Last Region (Shift+F)
    assert doc.image is not filled and not doc.mask.any()
    assert doc.undo_stack.count() == steps + 2  # masking it again, then the fill
    window.action.undo.trigger()
    assert doc.image is filled and np.array_equal(doc.mask, box_mask(doc.mask.shape, FIRST))


def test_fill_reports_what_it_did_and_how_long_it_took(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    paint_box(window.masks, FIRST)
    fill(qtbot, window)
    message = window.statusBar().currentMessage()
    share = 20 * 40 / (120 * 161)
    assert "telea" in message and f"{share:.2%}" in message and "800 px" in message
    assert re.search(r" in \d+\.\d s: 1 region \(1 telea\)\.", message)  # time, then paths


# -- navigation --------------------------------------------------------------------------------


def test_next_photo_at_the_folder_end_goes_round_and_says_so(qtbot, window, folder) -> None:  # type: ignore[no-untyped-def]
    assert window.open_neighbour(1) and window.document().path == folder / "b.png"
    assert "2 of 3" in window.statusBar().currentMessage()
    assert window.open_neighbour(1) and window.document().path == folder / "c.png"
    assert window.open_neighbour(1)  # past the last photo: the first again
    assert window.document().path == folder / "a.png"
    message = window.statusBar().currentMessage()
    assert "last photo" in message and "first" in message and "1 of 3" in message
    assert window.open_neighbour(-1) and window.document().path == folder / "c.png"
    assert "first photo" in window.statusBar().currentMessage()


def test_the_keys_are_back_on_the_canvas_after_a_dialog(qtbot, window, folder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    mask_file = folder / "mask.png"
    write_image(Image((box_mask((120, 161), FIRST)[..., None] * 255).astype(np.uint8)), mask_file)
    for action, answer in ((window.action.load_mask, str(mask_file)), (window.action.open, "")):
        window.method_combo.setFocus()  # as after using the tool bar
        qtbot.waitUntil(window.method_combo.hasFocus)
        monkeypatch.setattr(
            QFileDialog, "getOpenFileName", staticmethod(lambda *args, a=answer: (a, ""))
        )
        action.trigger()
        assert QApplication.focusWidget() is window.canvas, action.objectName()
    assert window.document().mask.any()  # the mask file was loaded


# -- compare with the original (issue 26) --------------------------------------------------------


def focus_on(qtbot, window: MainWindow, name: str) -> QWidget:  # type: ignore[no-untyped-def]
    """Give the keyboard focus to the control called ``name``, as a click on it does; returns
    the widget that holds the focus."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    control = window.findChild(QWidget, name)
    assert control is not None, name
    for dock in (window.detect_dock, window.latent_dock):
        if dock.isAncestorOf(control):
            dock.raise_()  # the docks are tabs: the control's tab in front
    control.setEnabled(True)  # the Sensitivity slider is enabled with a proposal on screen
    control.setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.waitUntil(lambda: control.isAncestorOf(QApplication.focusWidget()) or control.hasFocus())
    return QApplication.focusWidget()


def key(widget: QWidget, kind: QEvent.Type, code: Qt.Key, repeat: bool = False) -> None:
    text = "c" if code == Qt.Key.Key_C else "\\"
    QApplication.sendEvent(
        widget, QKeyEvent(kind, code, Qt.KeyboardModifier.NoModifier, text, repeat)
    )


@pytest.mark.parametrize(
    "name", ["canvas", "detect_sensitivity", "latent_slider_0", "latent_gallery", "method_combo"]
)
def test_holding_c_compares_wherever_the_focus_is(qtbot, window, name) -> None:  # type: ignore[no-untyped-def]
    focused = focus_on(qtbot, window, name)
    canvas, doc = window.canvas, window.document()
    mask_before = doc.mask.copy()
    for code in (Qt.Key.Key_C, Qt.Key.Key_Backslash):
        key(focused, QEvent.Type.KeyPress, code)
        assert canvas.comparing, name
        for _ in range(3):  # held: the key repeats
            key(focused, QEvent.Type.KeyRelease, code, repeat=True)
            key(focused, QEvent.Type.KeyPress, code, repeat=True)
            assert canvas.comparing
        key(focused, QEvent.Type.KeyRelease, code)
        assert not canvas.comparing
    assert QApplication.focusWidget() is focused  # no click on the canvas was needed
    assert np.array_equal(doc.mask, mask_before)
    assert window.method_combo.currentData() == "telea"  # not a type-ahead search for "c"


def test_c_types_into_a_text_field_instead_of_comparing(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    label = focus_on(qtbot, window, "latent_label_0")  # a direction's name, being edited
    label.end(False)
    qtbot.keyClicks(label, "c")
    assert not window.canvas.comparing and label.text() == "Direction 1c"


def test_compare_ends_when_another_window_takes_the_keys(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    key(focus_on(qtbot, window, "latent_slider_0"), QEvent.Type.KeyPress, Qt.Key.Key_C)
    assert window.canvas.comparing
    other = QWidget()  # the key is released there: this window never hears of it
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    qtbot.waitUntil(lambda: not window.isActiveWindow())
    assert not window.canvas.comparing
