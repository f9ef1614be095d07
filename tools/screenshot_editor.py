"""Render the real editor offscreen for the README: ``python tools/screenshot_editor.py
[FOLDER]``.

Writes ``screenshot-editor.png`` (the sample photo with its damage masked and the brush over
it) and ``screenshot-filled.png`` (after a Telea fill) into FOLDER (default ``docs``);
``python tools/screenshot_editor.py FOLDER detect`` writes only ``screenshot-detect.png`` (the
sample with its mask cleared, after Detect Damage, the proposal shown).
"""

from __future__ import annotations

import sys

from offscreen_editor import sample_window, save_shot, wait  # this script's folder is on sys.path
from PySide6.QtCore import QPoint, QPointF
from PySide6.QtTest import QTest


def detect(folder: str = "docs") -> int:
    """The sample photo, its preloaded mask cleared, after Detect Damage: the proposal shown."""
    app, window = sample_window(1280, 820)
    window.masks.clear()
    doc = window.document()
    if doc is not None:
        doc.undo_stack.clear()
    window.detect_actions["detect"].trigger()
    wait(app, lambda: not window.detect.busy)
    save_shot(app, window, folder, "screenshot-detect.png")
    ok = window.detect.proposal is not None
    window.close()
    return 0 if ok else 1


def main(folder: str = "docs") -> int:
    app, window = sample_window(1100, 800)
    window.method_combo.setCurrentIndex(window.method_combo.findData("telea"))
    window.toolbox.set_brush_size(18)
    canvas = window.canvas
    QTest.mouseMove(canvas, canvas.map_from_image(QPointF(330, 420)).toPoint())
    save_shot(app, window, folder, "screenshot-editor.png")
    done: list[bool] = []
    window.fill_finished.connect(lambda: done.append(True))
    window.action.fill.trigger()
    wait(app, lambda: done or not window.fill.busy, timeout=60)
    QTest.mouseMove(canvas, QPoint(-10, -10))
    canvas.leaveEvent(None)
    save_shot(app, window, folder, "screenshot-filled.png")
    window.close()
    return 0 if done else 1


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(detect(*args[:1]) if args[1:] == ["detect"] else main(*args))
