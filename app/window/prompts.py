"""Questions the window asks without blocking: non-modal message boxes, one per name, answered
through a callback (tests answer through the window's methods instead of clicking)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

Button = QMessageBox.StandardButton


class Prompts(QObject):
    def __init__(self, window: QWidget, title: str) -> None:
        super().__init__(window)
        self._window, self._title = window, title
        self._boxes: dict[str, QMessageBox] = {}

    def ask(
        self,
        name: str,
        text: str,
        buttons: list[tuple[str, Button]],
        on_answer: Callable[[Button], object],
    ) -> QMessageBox:
        """Show the question ``name`` (replacing one still open); ``on_answer`` gets the button."""
        self.close(name)
        box = QMessageBox(
            QMessageBox.Icon.Question, self._title, text, Button.NoButton, self._window
        )
        box.setObjectName(name)
        box.setWindowModality(Qt.WindowModality.NonModal)
        for label, role in buttons:
            box.addButton(role).setText(label)
        box.buttonClicked.connect(lambda button: on_answer(box.standardButton(button)))
        self._boxes[name] = box
        box.show()
        return box

    def shown(self, name: str) -> QMessageBox | None:
        """The open question called ``name``, if it is on screen."""
        box = self._boxes.get(name)
        return box if box is not None and box.isVisible() else None

    def close(self, name: str) -> None:
        box = self._boxes.pop(name, None)
        if box is not None:
            box.close()

    def close_all(self) -> None:
        for name in list(self._boxes):
            self.close(name)
