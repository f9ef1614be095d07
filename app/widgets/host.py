"""What a dock panel needs from the window it lives in, and no more."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMenu, QToolBar


class PanelHost(Protocol):
    """The window as the panels see it (``app.window.docks.Docks`` implements it)."""

    def add_panel(self, dock: QDockWidget, toggle_name: str, toggle_text: str) -> None:
        """Dock ``dock`` beside the canvas and list its show/hide toggle in the View menu."""
        ...

    def add_shortcut_action(self, action: QAction) -> None:
        """Make ``action``'s shortcut work wherever the focus is in the window."""
        ...

    def menu(self, key: str) -> QMenu:
        """The menu called ``key`` ("fill", "view")."""
        ...

    def toolbar(self, key: str) -> QToolBar:
        """The tool bar called ``key`` ("mask")."""
        ...

    def show_status(self, text: str) -> None:
        """A passing note in the status bar."""
        ...

    def show_error(self, text: str) -> None:
        """Something the user must see (status bar and a non-modal box)."""
        ...
