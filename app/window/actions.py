"""Every action of the editor window: its text, shortcut, tip, icon, and when it is enabled.

``WindowActions`` makes them as children of the window, so that their shortcuts work wherever
the focus is and ``findChild`` finds them by objectName (part of the automation contract); the
menus and tool bars (``app.window.bars``) only place them. What an action does is a method of a
view-model, of the canvas or of the window's ``Documents``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow

from app.icons import icon
from app.settings import Settings
from app.viewmodels.fill import FillViewModel
from app.viewmodels.masks import MaskEditor
from app.viewmodels.session import Session
from app.widgets.canvas import Canvas
from app.widgets.tools import ToolBox
from app.window.documents import Documents

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


def set_icons(window: QMainWindow) -> None:
    """Give each of the window's actions (the panels' too) its icon from ``ACTION_ICONS``."""
    for action in window.findChildren(QAction):
        name = ACTION_ICONS.get(action.objectName())
        if name is not None:
            action.setIcon(icon(name))


class WindowActions:
    def __init__(
        self,
        window: QMainWindow,
        documents: Documents,
        session: Session,
        masks: MaskEditor,
        fill: FillViewModel,
        canvas: Canvas,
        toolbox: ToolBox,
        settings: Settings,
    ) -> None:
        self._window, self._fill_model, self._settings = window, fill, settings
        self._make_file_actions(documents)
        self._make_edit_actions(session, masks)
        self._make_fill_actions(fill)
        self._make_view_actions(canvas, toolbox)
        short = {self.previous: "< Prev", self.next: "Next >", self.fit: "Fit",
                 self.actual: "100 %", self.clear_mask: "Clear", self.invert_mask: "Invert",
                 self.grow_mask: "Grow", self.shrink_mask: "Shrink",
                 self.show_mask: "Show mask", self.cancel: "Cancel"}  # fmt: skip
        for action, text in short.items():
            action.setIconText(text)

    def _action(
        self,
        name: str,
        text: str,
        slot: Callable[[], object] | None = None,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | list | None = None,
        tip: str = "",
    ) -> QAction:
        action = QAction(text, self._window)
        action.setObjectName(name)
        if isinstance(shortcut, list):
            action.setShortcuts([QKeySequence(s) for s in shortcut])
        elif shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        if slot is not None:
            action.triggered.connect(partial(_call, slot))
        self._window.addAction(action)  # shortcuts work even when no menu or bar shows it
        return action

    def _make_file_actions(self, documents: Documents) -> None:
        Key = QKeySequence.StandardKey
        self.open = self._action("action_open", "&Open...", documents.open_dialog, Key.Open)
        self.save = self._action("action_save", "&Save", documents.save, Key.Save)
        self.save_as = self._action(
            "action_save_as", "Save &As...", documents.save_as, "Ctrl+Shift+S"
        )
        self.next = self._action(
            "action_next_image", "&Next Image in Folder", documents.open_next, "PgDown"
        )
        self.previous = self._action(
            "action_previous_image", "&Previous Image in Folder", documents.open_previous,
            "PgUp",
        )  # fmt: skip
        self.open_sample = self._action(
            "action_open_sample", "Open &Sample Photo", documents.open_sample, None,
            "The bundled damaged photo, its damage already masked",
        )  # fmt: skip
        self.quit = self._action("action_quit", "&Quit", self._window.close, Key.Quit)
        self.load_mask = self._action(
            "action_load_mask", "Load &Mask...", documents.load_mask_dialog, None,
            "Replace the mask by a mask image (any non-black pixel is damage)",
        )  # fmt: skip

    def _make_edit_actions(self, session: Session, m: MaskEditor) -> None:
        Key = QKeySequence.StandardKey
        self.undo = session.undo_group.createUndoAction(self._window, "&Undo")
        self.undo.setObjectName("action_undo")
        self.undo.setShortcut(Key.Undo)
        self.undo.setIconText("Undo")  # the menu says what; the bar stays narrow
        self.redo = session.undo_group.createRedoAction(self._window, "&Redo")
        self.redo.setObjectName("action_redo")
        self.redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo.setIconText("Redo")
        self._window.addActions([self.undo, self.redo])
        self.clear_mask = self._action(
            "action_clear_mask", "&Clear Mask", m.clear, "Del", "Remove the whole mask"
        )
        self.invert_mask = self._action("action_invert_mask", "&Invert Mask", m.invert, "Ctrl+I")
        self.grow_mask = self._action(
            "action_grow_mask", "&Grow Mask", m.grow, "G", f"Widen the mask by {m.grow_step} px"
        )
        self.shrink_mask = self._action(
            "action_shrink_mask", "S&hrink Mask", m.shrink, "Shift+G",
            f"Narrow the mask by {m.grow_step} px",
        )  # fmt: skip
        self.show_mask = self._action(
            "action_show_mask", "Show &Mask", None, "M", "Show or hide the mask overlay"
        )
        self.show_mask.setCheckable(True)
        self.show_mask.setChecked(True)
        self.show_mask.toggled.connect(session.set_mask_visible)

    def _make_fill_actions(self, fill: FillViewModel) -> None:
        self.fill = self._action(
            "action_fill", "&Fill", fill.start, ["F", "Ctrl+Return"],
            "Fill the masked damage with the selected method (F)",
        )  # fmt: skip
        self.cancel = self._action(
            "action_cancel", "&Cancel Fill", fill.cancel, "Esc", "Stop the running fill"
        )
        self.refill = self._action(
            "action_refill", "&Refill Last Region", fill.refill, "Shift+F",
            "Mask the region of the last fill again and fill it (Shift+F)",
        )  # fmt: skip
        self.grain = self._action(
            "action_grain", "Match Film &Grain", None, None,
            "Give every fill the grain of the photo around it, so fills on a grainy scan do "
            "not show as smooth bands (costs a little accuracy on clean photos)",
        )  # fmt: skip
        self.grain.setCheckable(True)
        self.grain.setChecked(self._settings.grain)
        fill.grain = self._settings.grain
        self.grain.toggled.connect(self._grain_chosen)

    def _grain_chosen(self, on: bool) -> None:
        self._fill_model.grain = on
        self._settings.grain = on

    def _make_view_actions(self, canvas: Canvas, toolbox: ToolBox) -> None:
        Key = QKeySequence.StandardKey
        self.fit = self._action("action_zoom_fit", "&Fit to Window", canvas.fit_to_window,
                                "Ctrl+0")  # fmt: skip
        self.actual = self._action("action_zoom_100", "&100 %", canvas.zoom_actual, "Ctrl+1")
        self.zoom_in = self._action(
            "action_zoom_in", "Zoom &In", partial(canvas.zoom_by, 1.25), [Key.ZoomIn, "Ctrl+="]
        )
        self.zoom_out = self._action(
            "action_zoom_out", "Zoom &Out", partial(canvas.zoom_by, 0.8), Key.ZoomOut
        )
        self.bigger = self._action(
            "action_brush_bigger", "&Bigger Brush", partial(toolbox.step_brush_size, True), "]"
        )
        self.smaller = self._action(
            "action_brush_smaller", "&Smaller Brush", partial(toolbox.step_brush_size, False),
            "[",
        )  # fmt: skip
        self.tool_group = QActionGroup(self._window)
        self.tools: dict[str, QAction] = {}
        for name, tool in toolbox.tools.items():
            tip = f"{tool.tip} ({tool.shortcut})"
            choose = partial(toolbox.set_tool, name)
            action = self._action(f"action_tool_{name}", tool.label, choose, tool.shortcut, tip)
            action.setCheckable(True)
            action.setChecked(name == toolbox.current.name)
            self.tool_group.addAction(action)
            self.tools[name] = action
        toolbox.tool_changed.connect(self._tool_chosen)

    def _tool_chosen(self, name: str) -> None:
        self.tools[name].setChecked(True)

    def update_enabled(self, has_doc: bool, busy: bool, loading: bool) -> None:
        """What can be done with a photo on screen (``has_doc``), a fill running (``busy``), a
        photo opening (``loading``)."""
        self.open.setEnabled(not loading)
        for action in (self.save, self.save_as, self.load_mask, self.clear_mask,
                       self.invert_mask, self.grow_mask, self.shrink_mask, self.show_mask,
                       self.next, self.previous, self.fit, self.actual, self.zoom_in,
                       self.zoom_out):  # fmt: skip
            action.setEnabled(has_doc)
        self.fill.setEnabled(has_doc and not busy and not loading)
        self.refill.setEnabled(has_doc and not busy and not loading)
        self.cancel.setEnabled(busy)


def _call(slot: Callable[[], object], _checked: bool = False) -> None:
    slot()
