"""The editor in a child process, to be killed with SIGKILL by tests/app/test_recovery.py.

``python recovery_child.py PHOTO SETTINGS_DIR``: opens PHOTO offscreen, paints a stroke, fills it
with telea, paints a second stroke, waits until the autosave holds that state, prints READY and
keeps running until killed. ``$MANIFOLD_INPAINT_DATA_DIR`` says where recovery files go.
``... generated``: instead, makes a picture from PHOTO as "New from manifold" does (without the
layout model: ``generated_pixels``) and paints the first stroke on it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
from PySide6.QtCore import QCoreApplication, QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from tests.app.driving import paint_box

FIRST = (10, 20, 10, 50)  # y0, y1, x0, x1
SECOND = (30, 34, 5, 60)
GENERATED_TITLE = "Generated 1 (seed 47162)"


def generated_pixels() -> np.ndarray:
    return np.random.default_rng(47162).integers(0, 256, (40, 64, 3), dtype=np.uint8)


def wait_for(signal, timeout_ms: int = 60_000) -> None:  # type: ignore[no-untyped-def]
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()


def main() -> None:
    photo, settings_dir = sys.argv[1], sys.argv[2]
    app = QApplication([])
    QCoreApplication.setOrganizationName("ManifoldInpaintTests")
    QCoreApplication.setApplicationName("recovery-child")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)

    from app.main_window import MainWindow

    window = MainWindow()
    window.show()
    window.autosaver.delay_ms = 20
    assert window.open_path(photo)
    if sys.argv[3:] == ["generated"]:
        origin = window.session.document.path
        window.session.new_document(generated_pixels(), GENERATED_TITLE, origin=origin)
        paint_box(window.masks, FIRST)
    else:
        paint_box(window.masks, FIRST)
        window.fill.method = "telea"
        window.fill.start()
        wait_for(window.fill_finished)
        paint_box(window.masks, SECOND)
    while True:  # the autosave of the last change has been written
        wait_for(window.autosaver.saved, 2000)
        if not window.autosaver._pending and not window.autosaver._timer.isActive():
            window.autosaver.wait()
            break
    print("READY", flush=True)
    app.exec()


if __name__ == "__main__":
    main()
