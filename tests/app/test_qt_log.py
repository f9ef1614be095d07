"""Qt's warnings go to the log, not the terminal; critical ones still reach stderr."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from PySide6.QtCore import qCritical, qInstallMessageHandler, qWarning

from app.qt_log import route_qt_messages


@pytest.fixture
def routed(qapp) -> Iterator[None]:  # type: ignore[no-untyped-def]
    assert route_qt_messages({})
    yield
    qInstallMessageHandler(None)  # Qt's default handler again


def test_a_qt_warning_is_logged_and_not_printed(
    routed: None, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="manifold_inpaint.qt"):
        qWarning("QFont::setPointSizeF: Point size <= 0 (-1.000000), must be greater than 0")
    assert capfd.readouterr().err == ""
    assert "Point size <= 0" in caplog.text


def test_a_critical_qt_message_still_reaches_stderr(
    routed: None, capfd: pytest.CaptureFixture[str]
) -> None:
    qCritical("something is really wrong")
    assert "something is really wrong" in capfd.readouterr().err


def test_asking_qt_for_more_keeps_its_own_handler() -> None:
    assert not route_qt_messages({"QT_LOGGING_RULES": "qt.qpa.*=true"})
    assert not route_qt_messages({"QT_DEBUG_PLUGINS": "1"})
