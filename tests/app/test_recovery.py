"""Crash recovery: autosave in the background, restore after kill -9, clean exit and discard
remove the files, and closing with unsaved work asks Save / Discard / Cancel."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from app.main_window import MainWindow
from core.base.imageio import Image, read_image, write_image
from core.base.recovery import RecoveryStore, SourceStamp
from core.pipeline.session import FillRequest, fill
from tests.app.driving import paint_box

Button = QMessageBox.StandardButton
CHILD = Path(__file__).with_name("recovery_child.py")
FILL_TIMEOUT_MS = 20_000


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    path = tmp_path / "photos" / "scan.png"
    path.parent.mkdir()
    write_image(Image(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)), path)
    return path


def make_window(qtbot) -> MainWindow:  # type: ignore[no-untyped-def]
    win = MainWindow()
    qtbot.addWidget(win)
    win.autosaver.delay_ms = 0
    win.show()
    return win


@pytest.fixture
def window(qtbot, photo: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    win = make_window(qtbot)
    assert win.open_path(photo)
    yield win
    win.ask_unsaved = lambda titles: Button.Discard
    win.close()


def autosaved(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    """Wait until every change so far is on disk."""
    qtbot.waitUntil(
        lambda: not win.autosaver._pending and not win.autosaver._timer.isActive(), timeout=10_000
    )
    win.autosaver.wait()


def entries(win: MainWindow) -> list[Path]:
    return sorted(win.autosaver.store.folder.glob("*/entry.json"))


def test_autosave_keeps_the_mask_and_the_image_only_once_filled(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    paint_box(window.masks, (5, 15, 5, 30))
    autosaved(qtbot, window)
    folder = entries(window)[0].parent
    assert sorted(p.suffix for p in folder.iterdir()) == [".json", ".png"]  # no image yet
    window.fill.method = "telea"
    with qtbot.waitSignal(window.fill_finished, timeout=FILL_TIMEOUT_MS):
        window.fill.start()
    autosaved(qtbot, window)
    assert sorted(p.suffix for p in folder.iterdir()) == [".json", ".png", ".tif"]


def test_saving_removes_the_recovery_files(qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    paint_box(window.masks, (5, 15, 5, 30))
    autosaved(qtbot, window)
    assert entries(window)
    assert window.session.save(tmp_path / "restored.png")
    autosaved(qtbot, window)
    assert not entries(window)


def test_close_cancel_keeps_the_window_and_the_work(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    paint_box(window.masks, (5, 15, 5, 30))
    autosaved(qtbot, window)
    asked: list[list[str]] = []
    window.ask_unsaved = lambda titles: asked.append(titles) or Button.Cancel
    assert not window.close()
    assert asked == [["scan.png"]] and window.isVisible()
    assert window.document().modified and entries(window)


def test_close_discard_is_a_clean_exit_without_recovery_files(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    paint_box(window.masks, (5, 15, 5, 30))
    autosaved(qtbot, window)
    folder = window.autosaver.store.folder
    assert folder.is_dir()
    window.ask_unsaved = lambda titles: Button.Discard
    assert window.close()
    assert not folder.exists()


def test_close_save_writes_the_chosen_file_then_closes(qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "restored.png"
    paint_box(window.masks, (5, 15, 5, 30))
    assert window.session.save(out)
    window.fill.method = "telea"
    with qtbot.waitSignal(window.fill_finished, timeout=FILL_TIMEOUT_MS):
        window.fill.start()
    before = out.read_bytes()
    window.ask_unsaved = lambda titles: Button.Save
    assert window.close()
    assert out.read_bytes() != before  # the fill was saved into the chosen file
    assert not window.autosaver.store.folder.exists()


def _orphan(root: Path, photo: Path, mask: np.ndarray) -> RecoveryStore:
    """Recovery files as a killed editor (a process that no longer exists) leaves them."""
    store = RecoveryStore(root)
    image = np.zeros((48, 64, 3), np.uint8)
    store.save(SourceStamp.of(photo), photo.name, mask, None, image.shape, "uint8")
    owner = store.folder / "owner.json"
    owner.write_text(owner.read_text().replace(str(os.getpid()), "999999999"))  # no such pid
    return store


def test_recovery_is_not_applied_to_a_changed_photo(qtbot, photo: Path) -> None:  # type: ignore[no-untyped-def]
    mask = np.zeros((48, 64), bool)
    mask[1:5] = True
    store = _orphan(RecoveryStore().root, photo, mask)
    os.utime(photo, ns=(time.time_ns(), time.time_ns() + 10**9))  # edited elsewhere since
    win = make_window(qtbot)
    qtbot.waitUntil(lambda: win.prompt("recovery_prompt") is not None)
    assert win.answer_recovery(True) == 0
    assert "changed" in win.findChild(QMessageBox, "error_message").text()
    assert win.document() is None and not store.folder.exists()
    win.close()


def test_discarding_the_offer_removes_the_files(qtbot, photo: Path) -> None:  # type: ignore[no-untyped-def]
    store = _orphan(RecoveryStore().root, photo, np.ones((48, 64), bool))
    win = make_window(qtbot)
    qtbot.waitUntil(lambda: win.prompt("recovery_prompt") is not None)
    win.prompt("recovery_prompt").button(Button.Discard).click()
    assert win.document() is None and not store.folder.exists()
    assert not win.offer_recovery()  # nothing left to offer
    win.close()


def _read_line(process: subprocess.Popen, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    assert process.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            return process.stdout.readline().strip()
        if process.poll() is not None:
            break
    return ""


def _kill_9_child(photo: Path, tmp_path: Path, *mode: str) -> None:
    """Run recovery_child.py until its autosave holds its work, then kill it with SIGKILL."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(photo), str(tmp_path / "child-settings"), *mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),  # the same MANIFOLD_INPAINT_DATA_DIR as this test
    )
    try:
        line = _read_line(child, 120)
        assert line == "READY", child.stderr.read() if child.poll() is not None else line
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_kill_9_then_the_next_launch_restores_exactly_that_work(
    qtbot, photo: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(CHILD.parent))
    from recovery_child import FIRST, SECOND

    _kill_9_child(photo, tmp_path)

    # What the killed editor held: a telea fill of the first stroke (which left the mask with
    # it), then a second stroke.
    pixels = read_image(photo).pixels
    first = np.zeros((48, 64), bool)
    y0, y1, x0, x1 = FIRST
    first[y0:y1, x0:x1] = True
    filled = fill(FillRequest(pixels, first, "telea"))
    expected_mask = np.zeros_like(first)
    y0, y1, x0, x1 = SECOND
    expected_mask[y0:y1, x0:x1] = True

    win = make_window(qtbot)
    qtbot.waitUntil(lambda: win.prompt("recovery_prompt") is not None, timeout=10_000)
    assert "scan.png" in win.prompt("recovery_prompt").text()
    assert win.answer_recovery(True) == 1
    doc = win.document()
    assert doc is not None and doc.path == photo.resolve()
    np.testing.assert_array_equal(doc.mask, expected_mask)
    np.testing.assert_array_equal(doc.image, filled)
    assert doc.modified  # restored work is unsaved work
    win.action.undo.trigger()  # the restored steps undo like any other
    win.ask_unsaved = lambda titles: Button.Discard
    win.close()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_kill_9_then_the_next_launch_restores_a_generated_picture(
    qtbot, photo: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(CHILD.parent))
    from recovery_child import FIRST, GENERATED_TITLE, generated_pixels

    _kill_9_child(photo, tmp_path, "generated")
    win = make_window(qtbot)
    qtbot.waitUntil(lambda: win.prompt("recovery_prompt") is not None, timeout=10_000)
    assert GENERATED_TITLE in win.prompt("recovery_prompt").text()
    assert win.answer_recovery(True) == 1  # the picture; its photo had no unsaved work
    doc = win.document()
    assert doc is not None and doc.path is None and doc.title == GENERATED_TITLE
    np.testing.assert_array_equal(doc.image, generated_pixels())
    expected_mask = np.zeros((40, 64), bool)
    y0, y1, x0, x1 = FIRST
    expected_mask[y0:y1, x0:x1] = True
    np.testing.assert_array_equal(doc.mask, expected_mask)
    assert doc.modified
    assert win.open_neighbour(-1)  # PgUp: still placed after the photo it was made from
    assert win.document().path == photo.resolve()
    win.ask_unsaved = lambda titles: Button.Discard
    win.close()


def test_a_generated_picture_is_unsaved_work_from_the_start(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pixels = np.random.default_rng(5).integers(0, 256, (40, 64, 3), dtype=np.uint8)
    doc = window.session.new_document(pixels, "Generated 1 (seed 5)", origin=window.document().path)
    assert doc.modified and window.isWindowModified()
    autosaved(qtbot, window)
    assert len(entries(window)) == 1  # the picture's, though nothing was done to it yet
    assert window.session.save(tmp_path / "generated.png")
    autosaved(qtbot, window)
    assert not entries(window) and not doc.modified


def test_a_failing_autosave_is_a_status_message_not_a_crash(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    window.autosaver.store.save = full_disk  # type: ignore[method-assign]
    with qtbot.waitSignal(window.autosaver.failed, timeout=10_000):
        paint_box(window.masks, (5, 15, 5, 30))
    assert "Autosave of scan.png failed" in window.statusBar().currentMessage()
    assert window.document().modified and window.isVisible()
    del window.autosaver.store.save  # the class's method again
    paint_box(window.masks, (20, 25, 5, 30))  # the next change tries again, and works
    autosaved(qtbot, window)
    assert entries(window)
