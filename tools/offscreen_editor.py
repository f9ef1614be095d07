"""What the screenshot tools share: the real editor offscreen on the sample photo, with
throw-away settings, a wait that keeps its event loop running, and a shot saved to a folder.
Importing it puts the repository on ``sys.path`` (a tool's own folder is first there, so
``import offscreen_editor`` finds this file)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QWidget

if TYPE_CHECKING:
    from app.main_window import MainWindow


def editor_app() -> QApplication:
    """The QApplication, with settings in a fresh temporary folder: a screenshot must not
    depend on (or change) the user's."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    app = QApplication.instance()
    return app if isinstance(app, QApplication) else QApplication(sys.argv[:1])


def wait(
    app: QApplication, done: Callable[[], object], timeout: float = 120.0, step: float = 0.01
) -> bool:
    """Process events until ``done()`` (or ``timeout`` seconds); whether it is done."""
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(step)
    return bool(done())


def sample_window(width: int, height: int) -> tuple[QApplication, MainWindow]:
    """The editor (``editor_app``) shown at ``width`` x ``height`` px on the sample photo."""
    app = editor_app()
    from app.main_window import MainWindow  # after the QApplication: widgets need it

    window = MainWindow()
    window.resize(width, height)
    window.show()
    window.open_sample()
    return app, window


def save_shot(app: QApplication, widget: QWidget, folder: str, name: str) -> None:
    """``widget`` as drawn once the pending events are processed, saved as ``folder/name``."""
    app.processEvents()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(out / name))
