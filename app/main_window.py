"""The editor window: assembles the view-models (``app.viewmodels``), the canvas, the dock
panels (``app.widgets``), tool bars, menus and status bar.

Little logic lives here: actions call a view-model or the canvas, and widgets follow the
view-models' signals. The panels see the window only as a ``PanelHost``. Automation contract
(outside tests drive the window through it): ``open_path``, ``document()``, ``fill_finished``
and the objectNames of the actions and of the canvas.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QSpinBox,
    QToolBar,
    QToolButton,
    QWidget,
)

from app.icons import icon
from app.settings import Settings
from app.viewmodels.autosave import Autosaver, restore
from app.viewmodels.detect import DetectViewModel
from app.viewmodels.document import Document
from app.viewmodels.fill import FillViewModel
from app.viewmodels.latent import LatentViewModel
from app.viewmodels.layout import LayoutViewModel
from app.viewmodels.masks import MaskEditor
from app.viewmodels.methods import LEARNED, MethodCatalog
from app.viewmodels.session import Session
from app.widgets.canvas import Canvas, CompareKeys
from app.widgets.detect_panel import DetectDock
from app.widgets.latent_panel import LatentDock
from app.widgets.tools import MAX_BRUSH, MIN_BRUSH, ToolBox
from app.worker import Workers
from core import imageio
from core.device import available_devices
from core.recovery import RecoveredDocument, RecoveryStore
from core.resources import SAMPLE_IMAGE

Button = QMessageBox.StandardButton

APP_TITLE = "Manifold Inpaint"
# Offscreen / minimal platforms have nobody to answer a dialog (tests, CI screenshots).
HEADLESS_PLATFORMS = {"offscreen", "minimal"}
# The icon (``resources/icons/NAME.svg``) of each action, by the action's objectName.
ACTION_ICONS = {
    "action_open": "open", "action_save": "save",
    "action_previous_image": "previous", "action_next_image": "next",
    "action_undo": "undo", "action_redo": "redo",
    "action_zoom_fit": "fit", "action_zoom_100": "actual",
    "action_zoom_in": "zoom_in", "action_zoom_out": "zoom_out",
    "action_tool_brush": "brush", "action_tool_eraser": "eraser",
    "action_tool_rectangle": "rectangle", "action_tool_lasso": "lasso",
    "action_clear_mask": "clear_mask", "action_invert_mask": "invert_mask",
    "action_grow_mask": "grow_mask", "action_shrink_mask": "shrink_mask",
    "action_show_mask": "show_mask", "action_fill": "fill", "action_cancel": "cancel",
    "action_detect": "detect", "action_detect_accept": "accept",
    "action_detect_discard": "discard", "action_detect_cancel": "cancel",
}  # fmt: skip
APP_ICON = "app"


def _file_filter() -> str:
    patterns = " ".join(f"*{s}" for s in imageio.SUPPORTED_SUFFIXES)
    return f"Images ({patterns});;All files (*)"


class MainWindow(QMainWindow):
    fill_finished = Signal()  # a fill was applied to the document

    def __init__(self, settings: Settings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or Settings()
        self._make_view_models()
        self._prompts: dict[str, QMessageBox] = {}
        self._recovered: list[RecoveredDocument] = []
        self._too_large_path = ""
        # Decides Save / Discard / Cancel for unsaved work on close; tests replace it.
        self.ask_unsaved: Callable[[list[str]], Button] = self._ask_unsaved
        self.toolbox = ToolBox(self.masks, self.settings.brush_size, self)
        self.canvas = Canvas(self.session, self.toolbox, self)
        self.setCentralWidget(self.canvas)
        # Hold \ or C to compare wherever the focus is in the window, not only on the canvas.
        self._compare_keys = CompareKeys(self, self.canvas)
        QApplication.instance().installEventFilter(self._compare_keys)
        self.setAcceptDrops(True)
        self.setWindowTitle(APP_TITLE)
        self.setWindowIcon(icon(APP_ICON))
        self._error_box: QMessageBox | None = None
        self._make_actions()
        self._make_menus()
        self._make_toolbars()
        self._make_status_bar()
        self._bind_session()
        self._make_panels()
        self._set_icons()  # the panels' actions too
        self._update_enabled()
        self.resize(1200, 800)
        if self.settings.geometry is not None:
            self.restoreGeometry(self.settings.geometry)
        if self.settings.window_state is not None:
            self.restoreState(self.settings.window_state)
        self._report_unavailable_methods()
        QTimer.singleShot(0, self.offer_recovery)  # once the window is up

    # -- automation contract -----------------------------------------------------------------

    def open_path(self, path: str | Path) -> bool:
        """Open a photo (or switch back to it, with its mask and result), or a folder's first
        photo (PgUp / PgDn go through the others); brush active, fitted.
        A photo over 4 MB is read in the background: True then means "opening", and the
        session's ``document_changed`` says when it is there."""
        self.toolbox.set_tool("brush")
        return self.session.open_path(path)

    def open_neighbour(self, step: int) -> bool:
        """The next (``step`` > 0) or previous photo in the current one's folder; past the last
        (or first) photo it goes round, and says so."""
        neighbour = self.session.neighbour(step)
        if neighbour is None:
            self.show_status("This photo is not in a folder of photos.")
            return False
        self.toolbox.set_tool("brush")
        if not self.session.open_neighbour(neighbour):
            return False
        where = f"{neighbour.name} ({neighbour.number} of {neighbour.count})"
        if neighbour.wrapped:
            end = "last" if step > 0 else "first"
            start = "first" if step > 0 else "last"
            self.show_status(
                f"That was the {end} photo in this folder: back to the {start}, {where}."
            )
        else:
            self.show_status(where)
        return True

    def document(self) -> Document | None:
        return self.session.document

    def open_sample(self) -> bool:
        self.toolbox.set_tool("brush")
        return self.session.open_sample()

    def record_sample_seen(self) -> None:
        """The first launch's sample photo was shown: later launches start empty."""
        self.settings.seen_sample = True

    # -- construction ------------------------------------------------------------------------

    def _make_view_models(self) -> None:
        self.workers = Workers(self)
        self.methods = MethodCatalog(self)
        self.session = Session(self.workers.files, self)
        self.session.max_pixels = self.settings.max_pixels
        self.masks = MaskEditor(self.session, self)
        self.fill = FillViewModel(self.session, self.masks, self.methods, self.workers.model, self)
        self.detect = DetectViewModel(
            self.session, self.masks, self.fill, self.workers.detect, self
        )
        self.layout = LayoutViewModel(self.session, self.workers.model, self)
        self.latent = LatentViewModel(
            self.session, self.fill, self.methods, self.workers.model, parent=self,
            layout=self.layout,
        )  # fmt: skip
        self.autosaver = Autosaver(self.session, RecoveryStore(), self.workers.files, self)

    def _make_panels(self) -> None:
        """The dock panels at the right; they reach the window only as a ``PanelHost``."""
        detect = DetectDock(self, self.detect)  # Fill > Detect Damage (D)
        self.detect_dock, self.detect_panel = detect, detect.panel
        self.detect_actions = detect.actions
        self.detect.proposal_changed.connect(self.canvas.set_proposal)
        latent = LatentDock(self, self.latent)  # View > Latent Panel
        self.latent_dock, self.latent_panel = latent, latent.panel
        # Tabs, not stacked: each panel gets the window's height (the latent panel needs it).
        self.tabifyDockWidget(detect, latent)
        detect.raise_()
        self.latent.preview_changed.connect(
            lambda p: (
                self.canvas.set_preview(None)
                if p is None
                else self.canvas.set_preview(p.patch, p.box, p.frame)
            )
        )

    # -- PanelHost ---------------------------------------------------------------------------

    def add_panel(self, dock: QDockWidget, toggle_name: str, toggle_text: str) -> None:
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        toggle = dock.toggleViewAction()
        toggle.setObjectName(toggle_name)
        toggle.setText(toggle_text)
        self._menus["view"].addSeparator()
        self._menus["view"].addAction(toggle)

    def add_shortcut_action(self, action: QAction) -> None:
        self.addAction(action)

    def menu(self, key: str) -> QMenu:
        return self._menus[key]

    def toolbar(self, key: str) -> QToolBar:
        return self._toolbars[key]

    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _action(
        self,
        name: str,
        text: str,
        slot: Callable[[], object] | None = None,
        shortcut: QKeySequence | str | list | None = None,
        tip: str = "",
    ) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if isinstance(shortcut, list):
            action.setShortcuts([QKeySequence(s) for s in shortcut])
        elif shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        if slot is not None:
            action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)  # shortcuts work even when no menu or bar shows the action
        return action

    def _make_actions(self) -> None:
        self._make_file_actions()
        self._make_edit_actions()
        self._make_view_actions()
        short = {self.action_previous: "< Prev", self.action_next: "Next >",
                 self.action_fit: "Fit", self.action_actual: "100 %",
                 self.action_clear_mask: "Clear", self.action_invert_mask: "Invert",
                 self.action_grow_mask: "Grow", self.action_shrink_mask: "Shrink",
                 self.action_show_mask: "Show mask", self.action_cancel: "Cancel"}  # fmt: skip
        for action, text in short.items():
            action.setIconText(text)

    def _make_file_actions(self) -> None:
        Key = QKeySequence.StandardKey
        self.action_open = self._action("action_open", "&Open...", self._open_dialog, Key.Open)
        self.action_save = self._action("action_save", "&Save", self.save, Key.Save)
        self.action_save_as = self._action(
            "action_save_as", "Save &As...", self.save_as, "Ctrl+Shift+S"
        )
        self.action_next = self._action(
            "action_next_image", "&Next Image in Folder", lambda: self.open_neighbour(1), "PgDown"
        )
        self.action_previous = self._action(
            "action_previous_image", "&Previous Image in Folder",
            lambda: self.open_neighbour(-1), "PgUp",
        )  # fmt: skip
        self.action_open_sample = self._action(
            "action_open_sample", "Open &Sample Photo", self.open_sample, None,
            "The bundled damaged photo, its damage already masked",
        )  # fmt: skip
        self.action_quit = self._action("action_quit", "&Quit", self.close, Key.Quit)
        self.action_load_mask = self._action(
            "action_load_mask", "Load &Mask...", self._load_mask_dialog, None,
            "Replace the mask by a mask image (any non-black pixel is damage)",
        )  # fmt: skip

    def _make_edit_actions(self) -> None:
        s, m, Key = self.session, self.masks, QKeySequence.StandardKey
        self.action_undo = s.undo_group.createUndoAction(self, "&Undo")
        self.action_undo.setObjectName("action_undo")
        self.action_undo.setShortcut(Key.Undo)
        self.action_undo.setIconText("Undo")  # the menu says what; the bar stays narrow
        self.action_redo = s.undo_group.createRedoAction(self, "&Redo")
        self.action_redo.setObjectName("action_redo")
        self.action_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.action_redo.setIconText("Redo")
        self.addActions([self.action_undo, self.action_redo])
        self.action_clear_mask = self._action(
            "action_clear_mask", "&Clear Mask", m.clear, "Del", "Remove the whole mask"
        )
        self.action_invert_mask = self._action(
            "action_invert_mask", "&Invert Mask", m.invert, "Ctrl+I"
        )
        self.action_grow_mask = self._action(
            "action_grow_mask", "&Grow Mask", m.grow, "G",
            f"Widen the mask by {m.grow_step} px",
        )  # fmt: skip
        self.action_shrink_mask = self._action(
            "action_shrink_mask", "S&hrink Mask", m.shrink, "Shift+G",
            f"Narrow the mask by {m.grow_step} px",
        )  # fmt: skip
        self.action_show_mask = self._action(
            "action_show_mask", "Show &Mask", None, "M", "Show or hide the mask overlay"
        )
        self.action_show_mask.setCheckable(True)
        self.action_show_mask.setChecked(True)
        self.action_show_mask.toggled.connect(s.set_mask_visible)
        self.action_fill = self._action(
            "action_fill", "&Fill", self.fill.start, ["F", "Ctrl+Return"],
            "Fill the masked damage with the selected method (F)",
        )  # fmt: skip
        self.action_cancel = self._action(
            "action_cancel", "&Cancel Fill", self.fill.cancel, "Esc", "Stop the running fill"
        )
        self.action_refill = self._action(
            "action_refill", "&Refill Last Region", self.fill.refill, "Shift+F",
            "Mask the region of the last fill again and fill it (Shift+F)",
        )  # fmt: skip
        self.action_grain = self._action(
            "action_grain", "Match Film &Grain", None, None,
            "Give every fill the grain of the photo around it, so fills on a grainy scan do "
            "not show as smooth bands (costs a little accuracy on clean photos)",
        )  # fmt: skip
        self.action_grain.setCheckable(True)
        self.action_grain.setChecked(self.settings.grain)
        self.fill.grain = self.settings.grain
        self.action_grain.toggled.connect(self._grain_chosen)

    def _make_view_actions(self) -> None:
        canvas, Key = self.canvas, QKeySequence.StandardKey
        self.action_fit = self._action("action_zoom_fit", "&Fit to Window", canvas.fit_to_window,
                                       "Ctrl+0")  # fmt: skip
        self.action_actual = self._action("action_zoom_100", "&100 %", canvas.zoom_actual, "Ctrl+1")
        self.action_zoom_in = self._action(
            "action_zoom_in", "Zoom &In", lambda: canvas.zoom_by(1.25), [Key.ZoomIn, "Ctrl+="]
        )
        self.action_zoom_out = self._action(
            "action_zoom_out", "Zoom &Out", lambda: canvas.zoom_by(0.8), Key.ZoomOut
        )
        self.action_bigger = self._action(
            "action_brush_bigger", "&Bigger Brush", lambda: self.toolbox.step_brush_size(True), "]"
        )
        self.action_smaller = self._action(
            "action_brush_smaller", "&Smaller Brush",
            lambda: self.toolbox.step_brush_size(False), "[",
        )  # fmt: skip
        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        for name, tool in self.toolbox.tools.items():
            action = self._action(f"action_tool_{name}", tool.label, None, tool.shortcut,
                                  f"{tool.tip} ({tool.shortcut})")  # fmt: skip
            action.setCheckable(True)
            action.setChecked(name == self.toolbox.current.name)
            action.triggered.connect(lambda _c=False, n=name: self.toolbox.set_tool(n))
            self.tool_group.addAction(action)
            self.tool_actions[name] = action

    def _set_icons(self) -> None:
        for action in self.findChildren(QAction):
            name = ACTION_ICONS.get(action.objectName())
            if name is not None:
                action.setIcon(icon(name))

    def _make_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.action_open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(self.action_open_sample)
        file_menu.addActions([self.action_previous, self.action_next])
        file_menu.addSeparator()
        file_menu.addActions([self.action_save, self.action_save_as])
        file_menu.addAction(self.action_load_mask)
        file_menu.addSeparator()
        file_menu.addAction(self.action_quit)
        edit = bar.addMenu("&Edit")
        edit.addActions([self.action_undo, self.action_redo])
        edit.addSeparator()
        edit.addActions([self.action_clear_mask, self.action_invert_mask, self.action_grow_mask,
                         self.action_shrink_mask])  # fmt: skip
        view = bar.addMenu("&View")
        view.addActions([self.action_fit, self.action_actual, self.action_zoom_in,
                         self.action_zoom_out])  # fmt: skip
        view.addSeparator()
        view.addAction(self.action_show_mask)
        hint = view.addAction("Hold \\ or C to compare with the original")
        hint.setEnabled(False)
        tools = bar.addMenu("&Tools")
        tools.addActions(list(self.tool_actions.values()))
        tools.addSeparator()
        tools.addActions([self.action_bigger, self.action_smaller])
        fill = bar.addMenu("F&ill")
        fill.addActions([self.action_fill, self.action_refill, self.action_cancel])
        fill.addSeparator()
        fill.addAction(self.action_grain)
        self._menus = {"view": view, "fill": fill}

    def _make_toolbars(self) -> None:
        main = self._toolbar("toolbar_main", "Main")
        main.addActions([self.action_open, self.action_save, self.action_previous,
                         self.action_next])  # fmt: skip
        main.addSeparator()
        main.addActions([self.action_undo, self.action_redo])
        main.addSeparator()
        main.addActions([self.action_fit, self.action_actual])
        # Arrows, undo / redo and zoom read from their icons (the tooltip names them): icon only,
        # so that both bars of the first row fit a 1100 px wide window.
        for action in (self.action_previous, self.action_next, self.action_undo,
                       self.action_redo, self.action_fit, self.action_actual):  # fmt: skip
            button = main.widgetForAction(action)
            if isinstance(button, QToolButton):
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        fill = self._toolbar("toolbar_fill", "Fill")
        fill.addWidget(QLabel(" Method "))
        self.method_combo = self._make_method_combo()
        fill.addWidget(self.method_combo)
        fill.addWidget(QLabel(" Device "))
        self.device_combo = self._make_device_combo()
        fill.addWidget(self.device_combo)
        fill.addAction(self.action_fill)
        fill.widgetForAction(self.action_fill).setStyleSheet("font-weight: bold; padding: 0 12px")
        fill.addAction(self.action_cancel)
        self.addToolBarBreak()
        tools = self._toolbar("toolbar_mask", "Mask")
        tools.addActions(list(self.tool_actions.values()))
        tools.addSeparator()
        tools.addWidget(QLabel(" Size "))
        self.brush_spin = QSpinBox()
        self.brush_spin.setObjectName("brush_size")
        self.brush_spin.setRange(MIN_BRUSH, MAX_BRUSH)
        self.brush_spin.setSuffix(" px")
        self.brush_spin.setToolTip("Brush diameter in photo pixels ([ and ])")
        self.brush_spin.setValue(self.toolbox.brush_size)
        self.brush_spin.valueChanged.connect(self.toolbox.set_brush_size)
        self.toolbox.brush_size_changed.connect(self.brush_spin.setValue)
        self.toolbox.brush_size_changed.connect(self._remember_brush_size)
        tools.addWidget(self.brush_spin)
        tools.addSeparator()
        tools.addActions([self.action_clear_mask, self.action_invert_mask, self.action_grow_mask,
                          self.action_shrink_mask, self.action_show_mask])  # fmt: skip
        self.toolbox.tool_changed.connect(lambda name: self.tool_actions[name].setChecked(True))
        self._toolbars = {"main": main, "fill": fill, "mask": tools}

    def _toolbar(self, name: str, title: str) -> QToolBar:
        bar = QToolBar(title, self)
        bar.setObjectName(name)  # saveState needs it
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        return bar

    def _make_method_combo(self) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName("method_combo")
        combo.setToolTip("Fill method")
        infos = self.methods.infos()
        for info in infos:
            combo.addItem(info.name, info.name)  # the text is the name, as the CLI spells it
            index = combo.count() - 1
            tip = info.description if info.available else f"Unavailable: {info.reason}"
            combo.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
            if not info.available:
                combo.model().item(index).setEnabled(False)
        wanted = self.settings.method
        choice = wanted if self.methods.available(wanted) else self.methods.default()
        combo.setCurrentIndex(max(0, combo.findData(choice)))
        self.fill.method = combo.currentData() or choice
        combo.currentIndexChanged.connect(lambda _i: self._method_chosen(combo.currentData()))
        return combo

    def _method_chosen(self, name: str) -> None:
        self.fill.method = name
        self.settings.method = name
        self.canvas.setFocus()  # hand the keys back (space to pan, backslash to compare)

    def _make_device_combo(self) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName("device_combo")
        combo.setToolTip("Where learned methods run (auto: the fastest found)")
        combo.addItems(["auto", *available_devices()])
        index = combo.findText(self.settings.device)
        combo.setCurrentIndex(max(0, index))
        self.fill.device = combo.currentText()
        combo.currentTextChanged.connect(self._device_chosen)
        return combo

    def _grain_chosen(self, on: bool) -> None:
        self.fill.grain = on
        self.settings.grain = on

    def _device_chosen(self, name: str) -> None:
        self.fill.device = name
        self.settings.device = name
        self.canvas.setFocus()

    def _make_status_bar(self) -> None:
        bar = self.statusBar()
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("fill_progress")
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setVisible(False)
        cancel = QToolButton()
        cancel.setDefaultAction(self.action_cancel)
        cancel.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.cancel_button = cancel
        cancel.setVisible(False)
        self.zoom_label = QLabel()
        bar.addPermanentWidget(self.progress_bar)
        bar.addPermanentWidget(cancel)
        bar.addPermanentWidget(self.zoom_label)
        self.canvas.view_changed.connect(lambda s: self.zoom_label.setText(f"{s * 100:.0f} %"))

    def _bind_session(self) -> None:
        s, fill = self.session, self.fill
        s.document_changed.connect(self._on_document)
        fill.busy_changed.connect(lambda _b: self._update_enabled())
        fill.progress.connect(self._on_progress)
        s.message.connect(self.show_status)
        # A fill's report (what, with which method, how long) stays until the next message.
        fill.status.connect(lambda text: self.statusBar().showMessage(text))
        for source in (s, fill):
            source.error.connect(self.show_error)
        fill.finished.connect(self.fill_finished)
        s.mask_visible_changed.connect(self.action_show_mask.setChecked)
        s.opened.connect(self._remember_opened)
        s.too_large.connect(self._offer_open_anyway)
        s.loading_changed.connect(self._on_loading)
        self.autosaver.failed.connect(self.show_status)
        s.undo_group.cleanChanged.connect(self._update_title)

    # -- reactions ---------------------------------------------------------------------------

    def _update_enabled(self) -> None:
        has_doc = self.session.document is not None
        busy = self.fill.busy
        loading = self.session.loading
        self.action_open.setEnabled(not loading)
        for action in (self.action_save, self.action_save_as, self.action_load_mask,
                       self.action_clear_mask,
                       self.action_invert_mask, self.action_grow_mask, self.action_shrink_mask,
                       self.action_show_mask, self.action_next, self.action_previous,
                       self.action_fit, self.action_actual, self.action_zoom_in,
                       self.action_zoom_out):  # fmt: skip
            action.setEnabled(has_doc)
        self.action_fill.setEnabled(has_doc and not busy and not loading)
        self.action_refill.setEnabled(has_doc and not busy and not loading)
        self.action_cancel.setEnabled(busy)
        self.progress_bar.setVisible(busy or loading)
        self.cancel_button.setVisible(busy)

    def _on_document(self) -> None:
        self._update_enabled()
        self.canvas.setFocus()  # so that space, backslash and C reach it at once
        self._update_title()

    def _update_title(self) -> None:
        doc = self.session.document
        if doc is None:
            self.setWindowTitle(APP_TITLE)
            return
        self.setWindowTitle(f"{doc.title}[*] - {APP_TITLE}")
        self.setWindowModified(doc.modified)

    def _on_progress(self, fraction: float, text: str) -> None:
        self.progress_bar.setValue(round(fraction * 1000))
        if text:
            self.statusBar().showMessage(text)

    def show_error(self, text: str) -> None:
        """Status bar plus a non-modal box: never blocks the event loop or a running test."""
        self.statusBar().showMessage(text)
        box = self._error_box
        if box is None:
            box = QMessageBox(
                QMessageBox.Icon.Warning, APP_TITLE, text, QMessageBox.StandardButton.Ok, self
            )
            box.setObjectName("error_message")
            box.setWindowModality(Qt.WindowModality.NonModal)
            box.finished.connect(lambda _result: self.focus_canvas())
            self._error_box = box
        box.setText(text)
        box.show()

    def _remember_opened(self, path: str) -> None:
        if Path(path).parent != SAMPLE_IMAGE.parent.resolve():  # the sample is no "recent" file
            self.settings.add_recent(path)
            self.settings.last_folder = str(Path(path).parent)

    def _remember_brush_size(self, size: int) -> None:
        self.settings.brush_size = size

    def _fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        recent = self.settings.recent_files()
        for path in recent:
            action = menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _c=False, p=path: self.open_path(p))
        if not recent:
            menu.addAction("No recent photos").setEnabled(False)
        else:
            menu.addSeparator()
            menu.addAction("Clear Menu").triggered.connect(self.settings.clear_recent)

    # -- files -------------------------------------------------------------------------------

    def _open_dialog(self) -> None:
        start = self.settings.last_folder or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open photo", start, _file_filter())
        self.focus_canvas()
        if path:
            self.open_path(path)

    def _load_mask_dialog(self) -> None:
        doc = self.session.document
        start = str(doc.path.parent) if doc and doc.path else self.settings.last_folder
        path, _ = QFileDialog.getOpenFileName(self, "Load mask", start, _file_filter())
        self.focus_canvas()
        if path:
            self.masks.load_file(path)

    def save(self) -> bool:
        """Save; the first Save of a photo opened from a file asks where (Save As)."""
        if self.session.document is None:
            return False
        if self.session.needs_save_path():
            return self.save_as()
        return self.session.save()

    def save_as(self) -> bool:
        suggested = self.session.suggested_save_path()
        if suggested is None:
            return False
        # The dialog asks before replacing an existing file, so overwrite=True is confirmed.
        path, _ = QFileDialog.getSaveFileName(self, "Save photo as", str(suggested), _file_filter())
        self.focus_canvas()
        return bool(path) and self.session.save(path, overwrite=True)

    def focus_canvas(self) -> None:
        """After a dialog or prompt: the window active again and the keys on the canvas, so
        that shortcuts work at once (a bare X server gives the focus back to nobody)."""
        self.activateWindow()
        self.raise_()
        self.canvas.setFocus(Qt.FocusReason.OtherFocusReason)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_path(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        path = self._dropped_path(event)
        if path is not None:
            event.acceptProposedAction()
            self.open_path(path)

    @staticmethod
    def _dropped_path(event: QDragEnterEvent | QDropEvent) -> str | None:
        for url in event.mimeData().urls():
            if (
                url.isLocalFile()
                and Path(url.toLocalFile()).suffix.lower() in imageio.SUPPORTED_SUFFIXES
            ):
                return url.toLocalFile()
        return None

    def _on_loading(self, loading: bool) -> None:
        # Indeterminate bar and a busy pointer while a large photo decodes off this thread.
        self.progress_bar.setRange(0, 0 if loading else 1000)
        if loading:
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        else:
            QApplication.restoreOverrideCursor()
        self._update_enabled()

    # -- prompts (non-modal: never block the event loop; tests answer through methods) ------

    def _prompt(
        self, name: str, text: str, buttons: list[tuple[str, Button]], on_answer: Callable
    ) -> QMessageBox:
        old = self._prompts.pop(name, None)
        if old is not None:
            old.close()
        box = QMessageBox(QMessageBox.Icon.Question, APP_TITLE, text, Button.NoButton, self)
        box.setObjectName(name)
        box.setWindowModality(Qt.WindowModality.NonModal)
        for label, role in buttons:
            box.addButton(role).setText(label)
        box.buttonClicked.connect(lambda button: on_answer(box.standardButton(button)))
        self._prompts[name] = box
        box.show()
        return box

    def prompt(self, name: str) -> QMessageBox | None:
        """The open prompt called ``name`` (``too_large_prompt``, ``recovery_prompt``)."""
        box = self._prompts.get(name)
        return box if box is not None and box.isVisible() else None

    def _close_prompt(self, name: str) -> None:
        box = self._prompts.pop(name, None)
        if box is not None:
            box.close()

    def _offer_open_anyway(self, path: str, text: str) -> None:
        self._too_large_path = path
        self.statusBar().showMessage(text)
        self._prompt(
            "too_large_prompt", f"{text}\n\nOpen it anyway?",
            [("Open Anyway", Button.Open), ("Cancel", Button.Cancel)],
            lambda button: self.answer_too_large(button == Button.Open),
        )  # fmt: skip

    def answer_too_large(self, open_anyway: bool) -> bool:
        """The user's answer to "open anyway?" for a photo over the pixel limit."""
        self._close_prompt("too_large_prompt")
        self.focus_canvas()
        if not open_anyway:
            self.statusBar().showMessage("Not opened.", 8000)
            return False
        return self.session.open_path(self._too_large_path, unlimited=True)

    def _report_unavailable_methods(self) -> None:
        why_not = self.methods.why_not(LEARNED)
        if why_not:
            self.statusBar().showMessage(
                f"The manifold model is unavailable ({why_not}); using {self.fill.method} instead."
            )

    # -- crash recovery ----------------------------------------------------------------------

    def offer_recovery(self) -> bool:
        """If an editor was killed with unsaved work, ask whether to restore it."""
        self._recovered = self.autosaver.store.orphans()
        if not self._recovered:
            return False
        names = ", ".join(sorted({e.title for e in self._recovered}))
        self._prompt(
            "recovery_prompt",
            f"The editor did not close properly last time. Restore the unsaved masks and "
            f"fills of {names}?",
            [("Restore", Button.Yes), ("Discard", Button.Discard)],
            lambda button: self.answer_recovery(button == Button.Yes),
        )
        return True

    def answer_recovery(self, restore_work: bool) -> int:
        """Restore (or discard) what ``offer_recovery`` found; returns documents restored."""
        self._close_prompt("recovery_prompt")
        self.focus_canvas()
        entries, self._recovered = self._recovered, []
        restored, problems = restore(self.session, self.masks, entries) if restore_work else (0, [])
        self.autosaver.store.remove_orphans(entries)  # ours now: autosaved again in our folder
        if problems:
            self.show_error("; ".join(problems))
        elif restored:
            self.statusBar().showMessage(f"Restored the unsaved work of {restored} photo(s).")
        return restored

    # -- closing -----------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.session.loading:  # the photo would arrive in a window that is going away
            self.statusBar().showMessage("Still opening a photo; close again in a moment.")
            event.ignore()
            return
        if not self._confirm_close():
            event.ignore()
            return
        QApplication.instance().removeEventFilter(self._compare_keys)
        self.autosaver.shutdown(discard=True)  # a clean exit leaves no recovery files
        self.workers.shutdown()  # no fill, render, detection or read outlives the window
        for box in list(self._prompts.values()):
            box.close()
        self.settings.geometry = self.saveGeometry()
        self.settings.window_state = self.saveState()
        self.settings.sync()
        if self._error_box is not None:
            self._error_box.close()
        super().closeEvent(event)

    def _confirm_close(self) -> bool:
        """Unsaved work: Save (each unsaved photo in turn), Discard, or Cancel the close."""
        while self.session.unsaved_titles():
            answer = self.ask_unsaved(self.session.unsaved_titles())
            if answer == Button.Discard:
                return True
            if answer != Button.Save:
                return False
            doc = next(d for d in self.session.documents() if d.modified)
            self.session.activate(doc)  # Save acts on the shown photo
            if not self.save() or doc.modified:
                return False  # cancelled or failed (the error is shown): stay open
        return True

    def _ask_unsaved(self, titles: list[str]) -> Button:
        if QGuiApplication.platformName() in HEADLESS_PLATFORMS:
            return Button.Discard  # nobody to ask (tests replace ``ask_unsaved``)
        return QMessageBox.question(
            self, APP_TITLE, f"Save the changes to {', '.join(titles)} before closing?",
            Button.Save | Button.Discard | Button.Cancel, Button.Cancel,
        )  # fmt: skip
