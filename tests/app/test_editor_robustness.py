"""The editor against the bad-input table (tests/bad_inputs.py), failed saves, broken model
files and accelerator errors: a clear message, the open work untouched, no worker started."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox, QWidget

from app.main_window import MainWindow
from app.viewmodels import fill as fill_module
from app.viewmodels import session as session_module
from core.base import imageio
from core.base.imageio import Image, write_image
from core.base.masks import save_mask
from core.methods.base import CropContext, FillMethod
from core.pipeline import registry
from core.pipeline.registry import describe_methods
from tests.app.driving import open_window, paint_box
from tests.bad_inputs import (
    BAD_FILES,
    ODD_FILES,
    BadFile,
    OddFile,
    leftovers,
    use_broken_models,
    write,
)

FILL_TIMEOUT_MS = 20_000


class DeviceFailingFill(FillMethod):
    """Fails like a GPU does (set ``error``) on any device but the CPU; grey on the CPU."""

    name = "test-device-failing"
    description = "test only: fails off the CPU"
    error: BaseException = torch.cuda.OutOfMemoryError("CUDA out of memory")

    def fill(self, crop: np.ndarray, hole: np.ndarray, context: CropContext) -> np.ndarray:
        if self.device != "cpu":
            raise type(self).error
        return np.full_like(crop, 0.5)


registry.METHODS.setdefault(DeviceFailingFill.name, DeviceFailingFill)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    path = tmp_path / "scan.png"
    write_image(Image(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)), path)
    return path


@pytest.fixture
def window(qtbot, photo: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    win = open_window(qtbot, photo)
    yield win
    win.close()


def error_text(win: MainWindow) -> str:
    box = win.findChild(QWidget, "error_message")
    assert box is not None and box.isVisible()
    return box.text()


def status_text(win: MainWindow) -> str:
    return win.statusBar().currentMessage()


def action(win: MainWindow, name: str) -> QAction:
    found = win.findChild(QAction, name)
    assert found is not None
    return found


def choose_method(win: MainWindow, name: str) -> None:
    win.method_combo.setCurrentIndex(win.method_combo.findData(name))
    assert win.fill.method == name


# -- opening -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", [c for c in BAD_FILES if c.name != "decompression bomb"],
                         ids=lambda c: c.name)  # fmt: skip
def test_a_bad_file_is_a_message_and_the_open_work_stays(
    window: MainWindow, tmp_path: Path, case: BadFile
) -> None:
    paint_box(window.masks, (5, 15, 5, 25))
    doc = window.document()
    image, mask, steps = doc.image, doc.mask.copy(), doc.undo_stack.count()
    bad = write(tmp_path, case)
    assert not window.open_path(bad)
    text = error_text(window)
    assert all(word in text for word in case.words)
    assert window.document() is doc and doc.image is image
    np.testing.assert_array_equal(doc.mask, mask)
    assert doc.undo_stack.count() == steps and not window.fill.busy
    assert window.prompt("too_large_prompt") is None


def test_a_decompression_bomb_asks_and_cancel_keeps_the_open_work(
    window: MainWindow, tmp_path: Path
) -> None:
    doc = window.document()
    bomb = write(tmp_path, next(c for c in BAD_FILES if c.name == "decompression bomb"))
    assert not window.open_path(bomb)
    box = window.prompt("too_large_prompt")
    assert box is not None and "100000x50000" in box.text() and "anyway" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert window.prompt("too_large_prompt") is None
    assert window.document() is doc


def test_a_photo_over_the_limit_opens_when_the_user_says_so(
    window: MainWindow, tmp_path: Path
) -> None:
    big = tmp_path / "big.png"
    write_image(Image(np.full((50, 80, 3), 7, np.uint8)), big)
    window.session.max_pixels = 1000
    assert not window.open_path(big)
    assert window.answer_too_large(True)
    assert window.document().image.shape == (50, 80, 3)


def test_the_pixel_limit_is_a_setting(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.settings import Settings

    Settings().max_pixels = 1000
    win = MainWindow()
    qtbot.addWidget(win)
    assert win.session.max_pixels == 1000
    big = tmp_path / "big.png"
    write_image(Image(np.full((50, 80, 3), 7, np.uint8)), big)
    assert not win.open_path(big) and win.prompt("too_large_prompt") is not None
    win.close()


def test_closing_while_a_photo_decodes_waits(
    qtbot, window: MainWindow, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    big = tmp_path / "big.png"
    write_image(Image(np.full((30, 40, 3), 5, np.uint8)), big)
    monkeypatch.setattr(session_module, "BACKGROUND_READ_BYTES", 0)  # read in the background
    gate = threading.Event()
    real_read = imageio.read_image

    def slow_read(*args, **kwargs):  # type: ignore[no-untyped-def]
        gate.wait(10)
        return real_read(*args, **kwargs)

    monkeypatch.setattr(imageio, "read_image", slow_read)
    assert window.open_path(big) and window.session.loading
    assert not window.close() and window.isVisible()
    assert "Still opening" in status_text(window)
    gate.set()
    qtbot.waitUntil(lambda: not window.session.loading, timeout=10_000)
    assert window.document().path == big.resolve()


@pytest.mark.parametrize("case", ODD_FILES, ids=lambda c: c.name)
def test_odd_files_open_draw_and_fill_keeping_their_depth(
    qtbot, window: MainWindow, tmp_path: Path, case: OddFile
) -> None:  # type: ignore[no-untyped-def]
    assert window.open_path(write(tmp_path, case))
    doc = window.document()
    assert doc.image.shape == case.shape and doc.image.dtype == case.dtype
    window.canvas.grab()  # draws without error
    paint_box(window.masks, (10, 14, 5, 30))
    choose_method(window, "telea")
    with qtbot.waitSignal(window.fill_finished, timeout=FILL_TIMEOUT_MS):
        assert window.fill.start()
    assert doc.image.shape == case.shape and doc.image.dtype == case.dtype


# -- masks -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mask", "shown", "words"),
    [
        (np.ones((10, 10), bool), error_text, ("10x10", "same size")),  # the wrong size
        (np.zeros((40, 60), bool), status_text, ("marks no damage",)),  # empty
    ],
    ids=["wrong-size", "empty"],
)
def test_an_unusable_mask_file_is_a_message_and_a_no_op(
    window: MainWindow,
    tmp_path: Path,
    mask: np.ndarray,
    shown: Callable[[MainWindow], str],
    words: tuple[str, ...],
) -> None:
    paint_box(window.masks, (5, 15, 5, 25))
    doc = window.document()
    before, steps = doc.mask.copy(), doc.undo_stack.count()
    path = tmp_path / "mask.png"
    save_mask(mask, path)
    assert not window.masks.load_file(path)
    assert all(word in shown(window) for word in words)
    np.testing.assert_array_equal(doc.mask, before)
    assert doc.undo_stack.count() == steps


def test_a_good_mask_file_replaces_the_mask_as_one_undo_step(
    window: MainWindow, tmp_path: Path
) -> None:
    wanted = np.zeros((40, 60), bool)
    wanted[20:25, :] = True
    path = tmp_path / "m.png"
    save_mask(wanted, path)
    assert window.masks.load_file(path)
    np.testing.assert_array_equal(window.document().mask, wanted)
    action(window, "action_undo").trigger()
    assert not window.document().mask.any()


def test_fill_with_an_empty_mask_starts_no_worker(window: MainWindow) -> None:
    doc = window.document()
    assert not window.fill.start()
    assert "Nothing to fill" in status_text(window)
    assert not window.fill.busy and not window.workers.model.busy()
    assert doc.undo_stack.count() == 0


@pytest.mark.parametrize("method", ["telea", "ns"])
def test_a_mask_covering_everything_fills_flat(qtbot, window: MainWindow, method: str) -> None:  # type: ignore[no-untyped-def]
    doc = window.document()
    before = doc.image
    window.masks.invert()
    assert doc.mask.all()
    choose_method(window, method)
    with qtbot.waitSignal(window.fill_finished, timeout=FILL_TIMEOUT_MS):
        assert window.fill.start()
    assert np.ptp(doc.image) == 0 and 100 < doc.image.mean() < 156
    action(window, "action_undo").trigger()
    assert doc.image is before


def test_a_mask_covering_everything_is_generated_by_the_manifold(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    if window.method_combo.findData("manifold") < 0 or not next(
        i.available for i in describe_methods() if i.name == "manifold"
    ):
        pytest.skip("the shipped manifold weights are not usable here")
    doc = window.document()
    window.masks.invert()
    choose_method(window, "manifold")
    with qtbot.waitSignal(window.fill_finished, timeout=60_000):
        assert window.fill.start()
    assert doc.image.mean() > 60 and doc.image.shape == (40, 60, 3)  # generated, not black


# -- saving ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "words"),
    [(errno.ENOSPC, "disk is full"), (errno.EROFS, "read-only"), (errno.EACCES, "permission")],
)
def test_a_failed_save_keeps_the_document_open_dirty_and_the_old_file_intact(
    window: MainWindow, tmp_path: Path, photo: Path, monkeypatch, code: int, words: str
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "saved" / "restored.png"
    out.parent.mkdir()
    paint_box(window.masks, (5, 15, 5, 25))
    assert window.session.save(out)  # the first save picks the file
    saved, original = out.read_bytes(), photo.read_bytes()
    paint_box(window.masks, (20, 30, 30, 50))
    doc = window.document()
    assert doc.modified

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "replace", fail)
    assert not window.save()  # Save writes to the chosen file: no dialog
    assert words in error_text(window)
    assert window.document() is doc and doc.modified and window.isWindowModified()
    assert out.read_bytes() == saved and photo.read_bytes() == original
    assert leftovers(out.parent) == []


# -- model files and devices -------------------------------------------------------------------


@pytest.mark.parametrize("how", ["truncated", "manifest points nowhere"])
def test_broken_model_files_leave_a_working_editor_on_a_classical_method(
    qtbot, tmp_path: Path, monkeypatch, how: str
) -> None:  # type: ignore[no-untyped-def]
    reason = use_broken_models(tmp_path, monkeypatch, how)
    win = MainWindow()
    qtbot.addWidget(win)
    combo = win.method_combo
    index = combo.findData("manifold")
    assert not combo.model().item(index).isEnabled()
    assert reason in combo.itemData(index, 3)  # ToolTipRole: the reason
    assert win.fill.method in ("telea", "ns")
    assert "manifold model is unavailable" in status_text(win)
    win.close()


@pytest.mark.parametrize(
    "error",
    [torch.cuda.OutOfMemoryError("CUDA out of memory"),
     RuntimeError("CUDA error: an illegal memory access was encountered")],
    ids=["oom", "cuda-error"],
)  # fmt: skip
def test_a_device_error_is_a_message_and_the_next_fill_runs_on_the_cpu(
    qtbot, window: MainWindow, monkeypatch, error: BaseException
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(DeviceFailingFill, "error", error)
    monkeypatch.setattr(fill_module, "resolve_device", lambda name: "cuda:0")
    paint_box(window.masks, (5, 15, 5, 25))
    doc = window.document()
    before = doc.image
    choose_method(window, DeviceFailingFill.name)
    with qtbot.waitSignal(window.fill.error, timeout=FILL_TIMEOUT_MS):
        assert window.fill.start()
    qtbot.waitUntil(lambda: not window.fill.busy)
    assert "next fill runs on the CPU" in error_text(window)
    assert doc.image is before and window.fill.cpu_fallback
    with qtbot.waitSignal(window.fill_finished, timeout=FILL_TIMEOUT_MS):
        assert window.fill.start()
    assert (doc.image[5:15, 5:25] != before[5:15, 5:25]).any()
