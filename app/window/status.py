"""The window's status bar: passing notes, lasting reports, a fill's progress and its Cancel,
the zoom, and the one non-modal error box."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QToolButton,
)

NOTE_MS = 8000  # a passing note stays this long; a report until the next message


class StatusArea(QObject):
    def __init__(self, window: QMainWindow, title: str, focus_canvas: Callable[[], object]) -> None:
        super().__init__(window)
        self._window, self._title, self._focus_canvas = window, title, focus_canvas
        self._bar = bar = window.statusBar()
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("fill_progress")
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setVisible(False)
        self.cancel_button = QToolButton()  # shows the Cancel action (``set_cancel``)
        self.cancel_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.cancel_button.setVisible(False)
        self.zoom_label = QLabel()
        bar.addPermanentWidget(self.progress_bar)
        bar.addPermanentWidget(self.cancel_button)
        bar.addPermanentWidget(self.zoom_label)
        self._error_box: QMessageBox | None = None

    def set_cancel(self, cancel: QAction) -> None:
        self.cancel_button.setDefaultAction(cancel)

    def note(self, text: str) -> None:
        """A passing note (``NOTE_MS``)."""
        self._bar.showMessage(text, NOTE_MS)

    def report(self, text: str) -> None:
        """A note that stays until the next message (what a fill did, with what, how long)."""
        self._bar.showMessage(text)

    def show_error(self, text: str) -> None:
        """Status bar plus a non-modal box: never blocks the event loop or a running test."""
        self._bar.showMessage(text)
        box = self._error_box
        if box is None:
            box = QMessageBox(
                QMessageBox.Icon.Warning, self._title, text, QMessageBox.StandardButton.Ok,
                self._window,
            )  # fmt: skip
            box.setObjectName("error_message")
            box.setWindowModality(Qt.WindowModality.NonModal)
            box.finished.connect(self._error_closed)
            self._error_box = box
        box.setText(text)
        box.show()

    def _error_closed(self, _result: int) -> None:
        self._focus_canvas()

    def show_progress(self, fraction: float, text: str) -> None:
        self.progress_bar.setValue(round(fraction * 1000))
        if text:
            self._bar.showMessage(text)

    def show_zoom(self, scale: float) -> None:
        self.zoom_label.setText(f"{scale * 100:.0f} %")

    def show_working(self, busy: bool, loading: bool) -> None:
        """The bar while a fill runs or a photo opens; Cancel while a fill runs."""
        self.progress_bar.setVisible(busy or loading)
        self.cancel_button.setVisible(busy)

    def show_loading(self, loading: bool) -> None:
        """An indeterminate bar and a busy pointer while a large photo decodes off this thread."""
        self.progress_bar.setRange(0, 0 if loading else 1000)
        if loading:
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        else:
            QApplication.restoreOverrideCursor()

    def close(self) -> None:
        if self._error_box is not None:
            self._error_box.close()
