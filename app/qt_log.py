"""Qt's own log lines (``qt.qpa.xcb: XCB error...``, font and style notes) go to Python's
``logging`` instead of the user's terminal, where they read as faults that are none.

Critical and fatal messages still reach stderr (a fatal one is Qt's last word before it
aborts). Installed once the QApplication exists, so the platform plugin's own complaints at
start-up stay visible when the start-up check (:mod:`app.platform_check`) did not foresee one.
Setting ``QT_LOGGING_RULES``, ``QT_DEBUG_PLUGINS`` or ``QT_MESSAGE_PATTERN`` (asking Qt to say
more) leaves Qt's own handler in place.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

log = logging.getLogger("manifold_inpaint.qt")
log.addHandler(logging.NullHandler())  # no last-resort printing when nobody set up logging

_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}
_ASKED_FOR_MORE = ("QT_LOGGING_RULES", "QT_DEBUG_PLUGINS", "QT_MESSAGE_PATTERN")


def handle_qt_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    category = (context.category if context is not None else None) or "qt"
    level = _LEVELS.get(kind, logging.WARNING)
    log.log(level, "%s: %s", category, message)
    if level >= logging.ERROR and sys.stderr is not None:
        print(f"{category}: {message}", file=sys.stderr)


def route_qt_messages(env: Mapping[str, str] | None = None) -> bool:
    """Install :func:`handle_qt_message`; False (nothing done) if the user asked Qt for more."""
    env = os.environ if env is None else env
    if any(env.get(name) for name in _ASKED_FOR_MORE):
        return False
    qInstallMessageHandler(handle_qt_message)
    return True
