"""Render the real editor offscreen for the README: ``python -m app.screenshots [FOLDER]``.

Writes ``screenshot-editor.png`` (the sample photo with its damage masked and the brush over
it) and ``screenshot-filled.png`` (after a Telea fill) into FOLDER (default ``docs``);
``python -m app.screenshots FOLDER detect`` writes only ``screenshot-detect.png`` (the sample
with its mask cleared, after Detect Damage, the proposal shown).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint, QPointF, QSettings
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication


def _app() -> QApplication:
    # Throw-away settings: a screenshot must not depend on (or change) the user's.
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    app = QApplication.instance()
    return app if isinstance(app, QApplication) else QApplication(sys.argv[:1])


def detect(folder: str = "docs") -> int:
    """The sample photo, its preloaded mask cleared, after Detect Damage: the proposal shown."""
    app = _app()
    from app.main_window import MainWindow

    window = MainWindow()
    window.resize(1280, 820)
    window.show()
    window.open_sample()
    window.masks.clear()
    doc = window.document()
    if doc is not None:
        doc.undo_stack.clear()
    window.detect_actions["detect"].trigger()
    deadline = time.monotonic() + 120
    while window.detect.busy and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out / "screenshot-detect.png"))
    ok = window.detect.proposal is not None
    window.close()
    return 0 if ok else 1


def main(folder: str = "docs") -> int:
    app = _app()
    from app.main_window import MainWindow

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    window = MainWindow()
    window.resize(1100, 800)
    window.show()
    window.open_sample()
    window.method_combo.setCurrentIndex(window.method_combo.findData("telea"))
    window.toolbox.set_brush_size(18)
    canvas = window.canvas
    QTest.mouseMove(canvas, canvas.map_from_image(QPointF(330, 420)).toPoint())
    app.processEvents()
    window.grab().save(str(out / "screenshot-editor.png"))
    done: list[bool] = []
    window.fill_finished.connect(lambda: done.append(True))
    window.action_fill.trigger()
    deadline = time.monotonic() + 60
    while not done and window.fill.busy and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    QTest.mouseMove(canvas, QPoint(-10, -10))
    canvas.leaveEvent(None)
    app.processEvents()
    window.grab().save(str(out / "screenshot-filled.png"))
    window.close()
    return 0 if done else 1


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(detect(*args[:1]) if args[1:] == ["detect"] else main(*args))
