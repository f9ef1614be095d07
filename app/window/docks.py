"""The dock panels at the window's right (damage detection, latent), tabbed, and the
``PanelHost`` they see: docking, the menus and tool bar they add to, the status bar."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QToolBar

from app.viewmodels.detect import DetectViewModel
from app.viewmodels.latent import LatentViewModel
from app.widgets.detect_panel import DetectDock
from app.widgets.latent_panel import LatentDock
from app.window.status import StatusArea


class Docks(QObject):
    """Makes the panels; to them it is the ``PanelHost`` (``app.widgets.host``)."""

    def __init__(
        self,
        window: QMainWindow,
        menus: dict[str, QMenu],
        toolbars: dict[str, QToolBar],
        status: StatusArea,
        detect: DetectViewModel,
        latent: LatentViewModel,
    ) -> None:
        super().__init__(window)
        self._window, self._menus, self._toolbars, self._status = window, menus, toolbars, status
        self.detect = DetectDock(self, detect)  # Fill > Detect Damage (D)
        self.latent = LatentDock(self, latent)  # View > Latent Panel
        # Tabs, not stacked: each panel gets the window's height (the latent panel needs it).
        window.tabifyDockWidget(self.detect, self.latent)
        self.detect.raise_()

    # -- PanelHost ---------------------------------------------------------------------------

    def add_panel(self, dock: QDockWidget, toggle_name: str, toggle_text: str) -> None:
        self._window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        toggle = dock.toggleViewAction()
        toggle.setObjectName(toggle_name)
        toggle.setText(toggle_text)
        self._menus["view"].addSeparator()
        self._menus["view"].addAction(toggle)

    def add_shortcut_action(self, action: QAction) -> None:
        self._window.addAction(action)

    def menu(self, key: str) -> QMenu:
        return self._menus[key]

    def toolbar(self, key: str) -> QToolBar:
        return self._toolbars[key]

    def show_status(self, text: str) -> None:
        self._status.note(text)

    def show_error(self, text: str) -> None:
        self._status.show_error(text)
