"""Detect damage in the real MainWindow (offscreen): proposal, slider, Accept/Discard, threads."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPointF, QTimer

import core.detect as detection
from app.main_window import MainWindow
from app.viewmodels import detect as detect_model
from app.viewmodels.commands import FillCommand
from app.viewmodels.detect import DetectViewModel
from core.base.imageio import Image, write_image
from core.base.progress import Progress
from tests.app.driving import open_window
from tests.app.test_editor import drag, widget_pos
from tests.conftest import synthetic_photo

TIMEOUT_MS = 20_000


def scratches(height: int, width: int) -> np.ndarray:
    """Two thin straight scratches and a dust speck: the true damage."""
    marks = np.zeros((height, width), np.uint8)
    cv2.line(marks, (20, 30), (300, 200), 1, 2)
    cv2.line(marks, (40, 220), (280, 60), 1, 1)
    cv2.circle(marks, (160, 100), 3, 1, -1)
    return marks > 0


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    pixels = synthetic_photo(240, 321)  # odd width on purpose
    pixels[scratches(240, 321)] = 245  # bright, as on a scanned print
    path = tmp_path / "damaged.png"
    write_image(Image(pixels), path)
    return path


@pytest.fixture
def window(qtbot, damaged: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    win = open_window(qtbot, damaged, (1000, 700))
    # The shipped net may be absent (auto then falls back): the classical one is deterministic.
    win.detect.method = "classical"
    yield win
    win.close()


def detect(qtbot, win: MainWindow) -> DetectViewModel:  # type: ignore[no-untyped-def]
    controller = win.detect
    with qtbot.waitSignal(
        controller.busy_changed, timeout=TIMEOUT_MS, check_params_cb=lambda b: not b
    ):
        win.detect_actions["detect"].trigger()
    assert controller.proposal is not None, win.detect_panel.status_label.text()
    return controller


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts detector runs (the real detector still runs)."""
    calls: list[int] = []
    real = detection.detect_steps

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return (yield from real(*args, **kwargs))

    monkeypatch.setattr(detection, "detect_steps", counting)
    return calls


def test_detect_proposes_the_scratches_without_touching_the_mask(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    doc = window.document()
    assert doc is not None
    controller = detect(qtbot, window)
    truth = scratches(*doc.mask.shape)
    proposed = controller.proposed_mask
    assert proposed is not None and proposed.shape == doc.mask.shape
    assert (proposed & truth).sum() >= 0.9 * truth.sum()  # the damage is proposed...
    assert proposed.mean() < 0.15  # ...and not the whole photo
    assert not doc.mask.any()  # only a proposal: the document's mask is untouched
    assert doc.undo_stack.count() == 0
    assert window.canvas._proposal is not None  # drawn in its own overlay
    assert window.detect_actions["accept"].isEnabled()


def test_slider_rethresholds_monotonically_without_rerunning(qtbot, window, counted) -> None:  # type: ignore[no-untyped-def]
    controller = detect(qtbot, window)
    assert len(counted) == 1
    slider = window.detect_panel.slider
    masks = []
    for value in (0, 20, 50, 80, 100):
        slider.setValue(value)
        assert controller.proposed_mask is not None
        masks.append(controller.proposed_mask.copy())
    for lower, higher in itertools.pairwise(masks):
        assert not (lower & ~higher).any()  # more sensitive never drops a pixel
    assert not masks[0].any()  # 0: nothing flagged
    assert masks[-1].sum() > masks[2].sum()  # the slider does change the proposal
    assert len(counted) == 1  # no re-run: only the cached probability was re-thresholded
    assert not window.document().mask.any()


def test_accept_is_one_undo_step_and_undo_restores_the_mask(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    doc = window.document()
    doc.mask[5:20, 5:40] = True  # the user's own work, kept by Accept
    before = doc.mask.copy()
    controller = detect(qtbot, window)
    proposed = controller.proposed_mask.copy()
    count = doc.undo_stack.count()
    window.detect_actions["accept"].trigger()
    assert doc.undo_stack.count() == count + 1
    assert np.array_equal(doc.mask, before | proposed)
    assert controller.proposal is None and window.canvas._proposal is None
    window.action.undo.trigger()
    assert np.array_equal(doc.mask, before)
    window.action.redo.trigger()
    assert np.array_equal(doc.mask, before | proposed)


def test_discard_leaves_the_mask_unchanged(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    doc = window.document()
    doc.mask[50:60, 50:60] = True
    before = doc.mask.copy()
    controller = detect(qtbot, window)
    window.detect_actions["discard"].trigger()
    assert controller.proposal is None and window.canvas._proposal is None
    assert np.array_equal(doc.mask, before)
    assert doc.undo_stack.count() == 0
    assert not window.detect_actions["accept"].isEnabled()


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> set[int]:
    """A detector that yields often and slowly, recording the threads it ran on."""
    threads: set[int] = set()

    def slow_steps(image, **_options):  # type: ignore[no-untyped-def]
        for i in range(400):
            threads.add(threading.get_ident())
            time.sleep(0.005)
            yield Progress(i / 400, "slow")
        probability = np.zeros(image.shape[:2], np.float32)
        return detection.DamageResult(probability, probability > 0, 0.5, "classical")

    monkeypatch.setattr(detection, "detect_steps", slow_steps)
    return threads


def test_detection_runs_off_the_gui_thread_and_cancel_works(qtbot, window, slow) -> None:  # type: ignore[no-untyped-def]
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)
    controller = window.detect
    window.detect_actions["detect"].trigger()
    assert controller.busy and window.detect_actions["cancel"].isEnabled()
    qtbot.waitUntil(lambda: len(ticks) >= 10, timeout=TIMEOUT_MS)  # the event loop runs
    assert slow and threading.get_ident() not in slow
    with qtbot.waitSignal(controller.busy_changed, timeout=TIMEOUT_MS):
        window.detect_actions["cancel"].trigger()
    timer.stop()
    assert controller.proposal is None
    assert "cancelled" in window.detect_panel.status_label.text()
    assert window.detect_actions["detect"].isEnabled()


def test_a_result_for_a_changed_photo_is_dropped(qtbot, window, slow) -> None:  # type: ignore[no-untyped-def]
    doc = window.document()
    controller = window.detect
    window.detect_actions["detect"].trigger()
    # The photo changes while detecting (a fill landing, say): the result no longer fits it.
    doc.undo_stack.push(FillCommand(window.session, doc, doc.image.copy(), "test"))
    with qtbot.waitSignal(controller.busy_changed, timeout=TIMEOUT_MS):
        pass
    assert controller.proposal is None
    assert "changed" in window.detect_panel.status_label.text()


def test_a_failing_detector_is_a_message(qtbot, window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(image, **_options):  # type: ignore[no-untyped-def]
        yield Progress(0.0, "starting")
        raise RuntimeError("the detector exploded")

    monkeypatch.setattr(detection, "detect_steps", broken)
    with qtbot.waitSignal(window.detect.error, timeout=TIMEOUT_MS) as blocker:
        window.detect_actions["detect"].trigger()
    assert "exploded" in blocker.args[0]
    assert window.detect.proposal is None and not window.document().mask.any()


def test_accept_then_brush_eraser_and_fill_are_one_undo_step_each(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    doc, canvas = window.document(), window.canvas
    detect(qtbot, window)
    window.detect_actions["accept"].trigger()
    accepted = doc.mask.copy()
    window.toolbox.set_brush_size(8)
    drag(qtbot, canvas, [widget_pos(canvas, 200, 20), widget_pos(canvas, 260, 20)])
    painted = doc.mask.copy()
    assert (painted & ~accepted).any()
    window.toolbox.set_tool("eraser")
    drag(qtbot, canvas, [widget_pos(canvas, 20, 30), widget_pos(canvas, 60, 55)])
    erased = doc.mask.copy()
    assert (painted & ~erased).any()
    window.method_combo.setCurrentIndex(window.method_combo.findData("telea"))
    image = doc.image
    with qtbot.waitSignal(window.fill_finished, timeout=TIMEOUT_MS):
        window.action.fill.trigger()
    assert doc.undo_stack.count() == 4  # accept, brush, eraser, fill
    steps = [(image, erased), (image, painted), (image, accepted), (image, None)]
    for expected_image, expected_mask in steps:
        window.action.undo.trigger()
        assert doc.image is expected_image
        if expected_mask is None:
            assert not doc.mask.any()
        else:
            assert np.array_equal(doc.mask, expected_mask)


def test_the_proposal_is_drawn_in_its_own_colour_over_the_mask(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    doc, canvas = window.document(), window.canvas
    truth = scratches(*doc.mask.shape)
    doc.mask[:] = truth  # the user's mask over the same scratches...
    window.session.mask_changed.emit(None)
    before = canvas.grab().toImage()
    detect(qtbot, window)  # ...and the proposal on top of it
    after = canvas.grab().toImage()
    ys, xs = np.nonzero(truth & window.detect.proposed_mask)
    redder = bluer = 0
    for y, x in zip(ys[::25], xs[::25], strict=True):
        point = canvas.map_from_image(QPointF(x + 0.5, y + 0.5)).toPoint()
        old, new = before.pixelColor(point), after.pixelColor(point)
        redder += old.red() > old.blue()  # the mask: red
        bluer += new.blue() > new.red() and new.green() > new.red()  # the proposal: cyan
    assert redder >= 0.9 * len(ys[::25]) and bluer >= 0.9 * len(ys[::25])


# -- issue 17: one mask definition, per-photo state, feedback ----------------------------------


def test_accept_adds_the_fill_mask_that_core_detect_defines(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    doc = window.document()
    controller = detect(qtbot, window)
    window.detect_panel.slider.setValue(70)
    expected = detection.detect(doc.image, method="classical")
    threshold = detection.threshold_for_sensitivity(0.7, expected.threshold)
    at_70 = detection.threshold_mask(expected.probability, threshold)
    # The very mask `detect` and `fill --auto-mask` use: core.detect's growth, not the editor's.
    fill_mask = detection.fill_mask(
        detection.DamageResult(expected.probability, at_70, threshold, "classical")
    )
    assert np.array_equal(controller.proposed_mask, fill_mask)
    window.detect_actions["accept"].trigger()
    assert np.array_equal(doc.mask, fill_mask)


def test_each_photo_keeps_its_own_proposal_and_sensitivity(qtbot, window, damaged) -> None:  # type: ignore[no-untyped-def]
    other = damaged.with_name("other.png")
    write_image(Image(synthetic_photo(200, 300, seed=3)), other)
    panel, first = window.detect_panel, window.document()
    controller = detect(qtbot, window)
    panel.slider.setValue(85)
    proposed = controller.proposed_mask.copy()
    assert window.open_path(other)  # a photo never detected: the default, and no proposal
    assert panel.slider.value() == 50 and controller.sensitivity == 0.5
    assert controller.proposal is None and window.canvas._proposal is None
    assert not window.detect_actions["accept"].isEnabled()
    text = panel.status_label.text()
    assert "other.png" in text and "not detected yet" in text and "%" not in text
    assert window.open_path(damaged)  # back: its own proposal at its own sensitivity
    assert window.document() is first
    assert panel.slider.value() == 85 and controller.sensitivity == 0.85
    assert np.array_equal(controller.proposed_mask, proposed)
    assert window.canvas._proposal is not None and window.detect_actions["accept"].isEnabled()
    assert "of the photo as damage" in panel.status_label.text()


def test_detect_reports_what_it_found_and_how_long_it_took(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    controller = detect(qtbot, window)
    share = f"{controller.proposed_mask.mean():.2%}"
    for text in (window.statusBar().currentMessage(), window.detect_panel.status_label.text()):
        assert share in text and "classical" in text and "threshold" in text
        assert " s." in text


def test_after_a_fill_the_panel_no_longer_asks_for_one(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    detect(qtbot, window)
    window.detect_actions["accept"].trigger()
    assert "then Fill" in window.detect_panel.status_label.text()
    window.method_combo.setCurrentIndex(window.method_combo.findData("telea"))
    with qtbot.waitSignal(window.fill_finished, timeout=TIMEOUT_MS):
        window.action.fill.trigger()
    text = window.detect_panel.status_label.text()
    assert "then Fill" not in text and "damaged.png changed" in text


def test_only_the_last_few_photos_keep_their_proposal(qtbot, window, damaged, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(detect_model, "KEPT_PROPOSALS", 1)
    other, third = damaged.with_name("other.png"), damaged.with_name("third.png")
    write_image(Image(synthetic_photo(200, 300, seed=3)), other)
    write_image(Image(synthetic_photo(200, 300, seed=4)), third)
    detect(qtbot, window)
    window.detect_panel.slider.setValue(70)
    assert window.open_path(other)
    detect(qtbot, window)
    assert window.open_path(third)  # the proposal of the photo shown longest ago goes
    assert window.open_path(damaged)  # its proposal was let go; its sensitivity was not
    assert window.detect.proposal is None and window.detect_panel.slider.value() == 70
    assert "not detected yet" in window.detect_panel.status_label.text()
