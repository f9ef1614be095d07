"""Start the editor: ``run_editor(path)`` is what ``python main.py [PHOTO | FOLDER]`` calls."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.icons import icon
from app.platform_check import check_platform
from app.qt_log import route_qt_messages
from app.settings import APPLICATION, ORGANIZATION

if TYPE_CHECKING:
    from app.main_window import MainWindow


def run_editor(path: str | None = None) -> int:
    """Open the editor window (on ``path``, or the sample photo on first launch) and run it."""
    app = QApplication.instance()
    if app is None:
        problem = check_platform()  # before Qt can abort on a missing system library
        if problem:
            print(problem, file=sys.stderr)
            return 1
        app = QApplication(sys.argv[:1])
        route_qt_messages()  # Qt's notes go to the log, not the terminal
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    app.setWindowIcon(icon("app"))  # every window's, and the task bar's
    _window = open_editor(path)  # held: the window lives as long as this reference
    return app.exec()


def open_editor(path: str | None = None) -> MainWindow:
    """The shown editor window on ``path`` (a photo, or a folder: its first photo), else on a
    first launch on the sample photo. Needs the QApplication."""
    from app.main_window import MainWindow  # after the app exists: widgets need it

    window = MainWindow()
    window.show()
    # Ask for the keyboard: without a window manager (a bare X server) no one else gives it,
    # and the shortcuts would do nothing until the first click.
    window.focus_canvas()
    if path is not None:
        window.open_path(path)
    elif not window.settings.seen_sample and window.open_sample():
        # A new user sees a damaged photo with its damage masked: one press of F fills it.
        # Recorded only once it is open and the event loop runs with the window up: a launch
        # that could not open it, or ended before, shows it again next time.
        QTimer.singleShot(0, window, window.record_sample_seen)
    return window
