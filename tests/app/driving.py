"""Helpers that drive the editor the way its tools do, shared by the app tests and the
recovery child process."""

from __future__ import annotations

from pathlib import Path

from app.main_window import MainWindow
from app.viewmodels.masks import MaskEditor


def open_window(qtbot, path: Path, size: tuple[int, int] | None = None) -> MainWindow:  # type: ignore[no-untyped-def]
    """A shown main window (closed with the test by ``qtbot``) with ``path`` open."""
    win = MainWindow()
    qtbot.addWidget(win)
    if size is not None:
        win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    assert win.open_path(path)
    return win


def paint_box(editor: MaskEditor, box: tuple[int, int, int, int]) -> None:
    """Mask ``box`` (y0, y1, x0, x1) as one stroke, through the calls the brush makes: one
    undo step."""
    mask = editor.begin_stroke()
    assert mask is not None, "no document is open"
    y0, y1, x0, x1 = box
    mask[y0:y1, x0:x1] = True
    editor.stroke_drawn(box)
    editor.end_stroke("Paint mask")
