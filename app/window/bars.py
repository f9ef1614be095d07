"""Where the window offers its actions: the menus, and the tool bars with the controls that live
there (the fill method, the device, the brush size)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QMainWindow,
    QMenu,
    QSpinBox,
    QToolBar,
    QToolButton,
    QWidget,
)

from app.settings import Settings
from app.viewmodels.fill import FillViewModel
from app.viewmodels.methods import MethodCatalog
from app.widgets.tools import MAX_BRUSH, MIN_BRUSH, ToolBox
from app.window.actions import WindowActions
from core.base.device import available_devices


def make_menus(
    window: QMainWindow, action: WindowActions, fill_recent: Callable[[QMenu], object]
) -> dict[str, QMenu]:
    """The menu bar; returns the menus the panels add to ("view", "fill")."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(action.open)
    recent = file_menu.addMenu("Open &Recent")
    recent.aboutToShow.connect(partial(fill_recent, recent))
    file_menu.addAction(action.open_sample)
    file_menu.addActions([action.previous, action.next])
    file_menu.addSeparator()
    file_menu.addActions([action.save, action.save_as])
    file_menu.addAction(action.load_mask)
    file_menu.addSeparator()
    file_menu.addAction(action.quit)
    edit = bar.addMenu("&Edit")
    edit.addActions([action.undo, action.redo])
    edit.addSeparator()
    edit.addActions([action.clear_mask, action.invert_mask, action.grow_mask,
                     action.shrink_mask])  # fmt: skip
    view = bar.addMenu("&View")
    view.addActions([action.fit, action.actual, action.zoom_in, action.zoom_out])
    view.addSeparator()
    view.addAction(action.show_mask)
    hint = view.addAction("Hold \\ or C to compare with the original")
    hint.setEnabled(False)
    tools = bar.addMenu("&Tools")
    tools.addActions(list(action.tools.values()))
    tools.addSeparator()
    tools.addActions([action.bigger, action.smaller])
    fill = bar.addMenu("F&ill")
    fill.addActions([action.fill, action.refill, action.cancel])
    fill.addSeparator()
    fill.addAction(action.grain)
    return {"view": view, "fill": fill}


class ToolBars(QObject):
    """The tool bars ("main", "fill", "mask" in ``bars``); the method and device pickers and
    the brush size remember the user's choice in the settings."""

    def __init__(
        self,
        window: QMainWindow,
        action: WindowActions,
        toolbox: ToolBox,
        methods: MethodCatalog,
        fill: FillViewModel,
        settings: Settings,
        canvas: QWidget,
    ) -> None:
        super().__init__(window)
        self._window, self._fill, self._settings = window, fill, settings
        self._canvas = canvas
        main = self._toolbar("toolbar_main", "Main")
        main.addActions([action.open, action.save, action.previous, action.next])
        main.addSeparator()
        main.addActions([action.undo, action.redo])
        main.addSeparator()
        main.addActions([action.fit, action.actual])
        # Arrows, undo / redo and zoom read from their icons (the tooltip names them): icon only,
        # so that both bars of the first row fit a 1100 px wide window.
        for shown in (action.previous, action.next, action.undo, action.redo, action.fit,
                      action.actual):  # fmt: skip
            button = main.widgetForAction(shown)
            if isinstance(button, QToolButton):
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        fill_bar = self._toolbar("toolbar_fill", "Fill")
        fill_bar.addWidget(QLabel(" Method "))
        self.method_combo = self._make_method_combo(methods)
        fill_bar.addWidget(self.method_combo)
        fill_bar.addWidget(QLabel(" Device "))
        self.device_combo = self._make_device_combo()
        fill_bar.addWidget(self.device_combo)
        fill_bar.addAction(action.fill)
        bold = "font-weight: bold; padding: 0 12px"
        fill_bar.widgetForAction(action.fill).setStyleSheet(bold)
        fill_bar.addAction(action.cancel)
        window.addToolBarBreak()
        tools = self._toolbar("toolbar_mask", "Mask")
        tools.addActions(list(action.tools.values()))
        tools.addSeparator()
        tools.addWidget(QLabel(" Size "))
        self.brush_spin = QSpinBox()
        self.brush_spin.setObjectName("brush_size")
        self.brush_spin.setRange(MIN_BRUSH, MAX_BRUSH)
        self.brush_spin.setSuffix(" px")
        self.brush_spin.setToolTip("Brush diameter in photo pixels ([ and ])")
        self.brush_spin.setValue(toolbox.brush_size)
        self.brush_spin.valueChanged.connect(toolbox.set_brush_size)
        toolbox.brush_size_changed.connect(self.brush_spin.setValue)
        toolbox.brush_size_changed.connect(self._remember_brush_size)
        tools.addWidget(self.brush_spin)
        tools.addSeparator()
        tools.addActions([action.clear_mask, action.invert_mask, action.grow_mask,
                          action.shrink_mask, action.show_mask])  # fmt: skip
        self.bars = {"main": main, "fill": fill_bar, "mask": tools}

    def _toolbar(self, name: str, title: str) -> QToolBar:
        bar = QToolBar(title, self._window)
        bar.setObjectName(name)  # saveState needs it
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        return bar

    def _make_method_combo(self, methods: MethodCatalog) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName("method_combo")
        combo.setToolTip("Fill method")
        for info in methods.infos():
            combo.addItem(info.name, info.name)  # the text is the name, as the CLI spells it
            index = combo.count() - 1
            tip = info.description if info.available else f"Unavailable: {info.reason}"
            combo.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
            if not info.available:
                combo.model().item(index).setEnabled(False)
        wanted = self._settings.method
        choice = wanted if methods.available(wanted) else methods.default()
        combo.setCurrentIndex(max(0, combo.findData(choice)))
        self._fill.method = combo.currentData() or choice
        combo.currentIndexChanged.connect(self._method_chosen)
        return combo

    def _method_chosen(self, _index: int) -> None:
        name = self.method_combo.currentData()
        self._fill.method = name
        self._settings.method = name
        self._canvas.setFocus()  # hand the keys back (space to pan, backslash to compare)

    def _make_device_combo(self) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName("device_combo")
        combo.setToolTip("Where learned methods run (auto: the fastest found)")
        combo.addItems(["auto", *available_devices()])
        index = combo.findText(self._settings.device)
        combo.setCurrentIndex(max(0, index))
        self._fill.device = combo.currentText()
        combo.currentTextChanged.connect(self._device_chosen)
        return combo

    def _device_chosen(self, name: str) -> None:
        self._fill.device = name
        self._settings.device = name
        self._canvas.setFocus()

    def _remember_brush_size(self, size: int) -> None:
        self._settings.brush_size = size
