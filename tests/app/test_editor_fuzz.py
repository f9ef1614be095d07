"""The fuzz corpus (tests/fuzz_images.py) through the editor's open path: each damaged file
either opens as a new document of its decoded size, or is a message (or, for a header that
claims a giant photo, the "open anyway?" prompt); the document being worked on is untouched,
no file is changed, and nothing reaches stderr."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox, QWidget

from core.base.errors import ImageReadError
from core.base.imageio import Image, read_image, write_image
from tests.app.driving import open_window, paint_box
from tests.fuzz_images import corpus

COUNT, SEED = 300, 77  # another draw than the CLI test's


def test_damaged_files_open_or_are_a_message_and_the_open_work_stays(
    qtbot, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    photo = tmp_path / "scan.png"
    write_image(Image(np.random.default_rng(3).integers(0, 256, (40, 60, 3), np.uint8)), photo)
    win = open_window(qtbot, photo)
    paint_box(win.masks, (5, 15, 5, 25))
    doc = win.document()
    image, mask, steps = doc.image.copy(), doc.mask.copy(), doc.undo_stack.count()
    folder = tmp_path / "fuzz"
    folder.mkdir()
    capfd.readouterr()
    opened = refused = 0
    for item in corpus(COUNT, SEED):
        path = folder / item.name
        path.write_bytes(item.data)
        if win.open_path(path):
            opened += 1
            assert win.document() is not doc
            with capfd.disabled():
                try:
                    expected = read_image(path).pixels.shape
                except ImageReadError:
                    pytest.fail(f"the editor opened {item.name}, which read_image refuses")
            assert win.document().image.shape[:2] == expected[:2], item.name
            assert win.open_path(photo)  # back to the work in progress
        else:
            refused += 1
            prompt = win.prompt("too_large_prompt")
            if prompt is not None:
                prompt.button(QMessageBox.StandardButton.Cancel).click()
            else:
                box = win.findChild(QWidget, "error_message")
                assert box is not None and box.isVisible() and item.name in box.text()
        assert win.document() is doc, item.name
        np.testing.assert_array_equal(doc.image, image)
        np.testing.assert_array_equal(doc.mask, mask)
        assert doc.undo_stack.count() == steps and not win.fill.busy
        assert path.read_bytes() == item.data
    assert opened > 0.2 * COUNT and refused > 0.2 * COUNT
    assert capfd.readouterr().err == ""  # no decoder chatter on the terminal
    win.close()
