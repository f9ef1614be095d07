"""The damage panel: Detect, its progress and Cancel, the sensitivity slider, Accept / Discard.

Docked beside the canvas. Widgets and actions only: all state lives in ``DetectController``;
the proposal is drawn by the canvas (``Canvas.set_proposal``) in its own colour.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QSlider,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.detect_model import DEFAULT_SENSITIVITY, DetectController

SLIDER_STEPS = 100  # slider positions; the controller takes sensitivity in [0, 1]
HINT = (
    "Detect proposes scratches, cracks and dust in cyan. Move Sensitivity to flag more or "
    "less, then Accept to add it to the (red) mask - or Discard."
)


def _tool_button(action: QAction) -> QToolButton:
    button = QToolButton()
    button.setDefaultAction(action)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    return button


class DetectPanel(QWidget):
    def __init__(
        self, controller: DetectController, actions: dict[str, QAction], parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("detect_panel")
        self.controller = controller
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.status_label = QLabel(HINT)
        self.status_label.setObjectName("detect_status")
        self.status_label.setWordWrap(True)
        # Room for the hint or a result with its note, so the controls below never jump.
        self.status_label.setMinimumHeight(4 * self.status_label.fontMetrics().lineSpacing())
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.status_label)
        row = QHBoxLayout()
        row.addWidget(_tool_button(actions["detect"]))
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("detect_progress")
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(False)
        row.addWidget(self.progress_bar, 1)
        row.addWidget(_tool_button(actions["cancel"]))
        layout.addLayout(row)
        layout.addLayout(self._slider_row())
        row = QHBoxLayout()
        row.addWidget(_tool_button(actions["accept"]))
        row.addWidget(_tool_button(actions["discard"]))
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(1)
        controller.progress.connect(self._on_progress)
        controller.status.connect(self.status_label.setText)
        controller.error.connect(self.status_label.setText)
        controller.busy_changed.connect(lambda _busy: self.update_enabled())
        controller.proposal_changed.connect(lambda _mask: self.update_enabled())
        controller.proposal_changed.connect(lambda _mask: self._show_note())
        self.update_enabled()

    def _slider_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("Sensitivity"))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("detect_sensitivity")
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setValue(round(DEFAULT_SENSITIVITY * SLIDER_STEPS))
        self.slider.setToolTip(
            "Left: only clear damage; middle: the detector's calibrated default; right: more"
        )
        # Every position, also while dragging: re-thresholding is a comparison, not a new run.
        self.slider.valueChanged.connect(
            lambda v: self.controller.set_sensitivity(v / SLIDER_STEPS)
        )
        row.addWidget(self.slider, 1)
        return row

    def update_enabled(self) -> None:
        busy = self.controller.busy
        self.progress_bar.setVisible(busy)
        self.slider.setEnabled(self.controller.proposal is not None)

    def _show_note(self) -> None:
        note = self.controller.note
        self.status_label.setToolTip(note[:1].upper() + note[1:] if note else "")

    def _on_progress(self, fraction: float, text: str) -> None:
        self.progress_bar.setValue(round(fraction * 1000))
        if text:
            self.status_label.setText(text)


def _make_actions(window: QMainWindow, controller: DetectController) -> dict[str, QAction]:
    specs = {
        "detect": ("&Detect Damage", controller.start, "D",
                   "Propose a mask of scratches, cracks and dust (D)"),
        "accept": ("&Accept Detection", controller.accept, "Shift+D",
                   "Add the proposed (cyan) damage to the mask, as one undo step (Shift+D)"),
        "discard": ("D&iscard Detection", controller.discard, "Alt+D",
                    "Drop the proposal; the mask is unchanged (Alt+D)"),
        "cancel": ("Cancel Detection", controller.cancel, "Esc", "Stop the running detection"),
    }  # fmt: skip
    actions: dict[str, QAction] = {}
    for key, (text, slot, shortcut, tip) in specs.items():
        action = QAction(text, window)
        action.setObjectName(f"action_detect_{key}" if key != "detect" else "action_detect")
        action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False, slot=slot: slot())
        window.addAction(action)  # shortcuts work wherever the focus is in the window
        actions[key] = action
    actions["accept"].setIconText("Accept")
    actions["discard"].setIconText("Discard")
    actions["cancel"].setIconText("Cancel")
    return actions


def _bind_enabled(window: QMainWindow, controller: DetectController, actions: dict) -> None:
    session = window.session  # type: ignore[attr-defined]

    def update() -> None:
        has_doc = session.document is not None
        # Not while a fill runs: its result replaces the photo and would make the proposal stale.
        actions["detect"].setEnabled(
            has_doc and not controller.busy and not session.busy and not session.loading
        )
        actions["cancel"].setEnabled(controller.busy)
        has_proposal = controller.proposal is not None
        actions["accept"].setEnabled(has_proposal)
        actions["discard"].setEnabled(has_proposal)

    for signal in (session.document_changed, session.busy_changed, session.loading_changed,
                   controller.busy_changed, controller.proposal_changed):  # fmt: skip
        signal.connect(lambda *_args: update())
    update()


def _menu(window: QMainWindow, title: str) -> QMenu | None:
    for action in window.menuBar().actions():
        if action.menu() is not None and action.text() == title:
            return action.menu()  # type: ignore[return-value]
    return None


def install_detect_panel(window: QMainWindow) -> DetectController:
    """Dock the damage panel at the window's right, bind it to the session and canvas, add the
    actions to the Fill menu and the Mask tool bar. Returns the controller (``shutdown`` joins
    its thread)."""
    controller = DetectController(window.session, parent=window)  # type: ignore[attr-defined]
    actions = _make_actions(window, controller)
    panel = DetectPanel(controller, actions, None)
    dock = QDockWidget("Damage Detection", window)
    dock.setObjectName("dock_detect")  # saveState needs it
    dock.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    canvas = window.canvas  # type: ignore[attr-defined]
    controller.proposal_changed.connect(canvas.set_proposal)
    # The first line only: the second points at the panel's tooltip, which the bar lacks.
    controller.status.connect(
        lambda text: window.statusBar().showMessage(text.split("\n")[0], 8000)
    )
    controller.error.connect(window.show_error)  # type: ignore[attr-defined]
    # Detect shows the panel (it may have been closed): the slider and Accept live there.
    actions["detect"].triggered.connect(lambda _checked=False: dock.show())
    fill_menu = _menu(window, "F&ill")
    if fill_menu is not None:
        first = fill_menu.actions()[0] if fill_menu.actions() else None
        fill_menu.insertActions(first, [actions[k] for k in ("detect", "accept", "discard")])
        fill_menu.insertSeparator(first)
        fill_menu.addAction(actions["cancel"])
    bar = window.findChild(QToolBar, "toolbar_mask")
    if bar is not None:
        bar.addSeparator()
        bar.addAction(actions["detect"])
    view_menu = _menu(window, "&View")
    if view_menu is not None:
        toggle = dock.toggleViewAction()
        toggle.setObjectName("action_detect_panel")
        toggle.setText("&Damage Detection Panel")
        view_menu.addSeparator()
        view_menu.addAction(toggle)
    _bind_enabled(window, controller, actions)
    window.detect_panel = panel  # type: ignore[attr-defined]
    window.detect_dock = dock  # type: ignore[attr-defined]
    window.detect_actions = actions  # type: ignore[attr-defined]
    return controller
