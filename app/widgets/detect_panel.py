"""The damage panel: Detect, its progress and Cancel, the sensitivity slider, Accept / Discard.

Docked beside the canvas. Widgets and actions only: all state lives in ``DetectViewModel``;
the proposal is drawn by the canvas (``Canvas.set_proposal``, bound by the window) in its own
colour.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.viewmodels.detect import DEFAULT_SENSITIVITY, HINT, DetectViewModel
from app.widgets.host import PanelHost

SLIDER_STEPS = 100  # slider positions; the controller takes sensitivity in [0, 1]


def _tool_button(action: QAction) -> QToolButton:
    button = QToolButton()
    button.setDefaultAction(action)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    return button


class DetectPanel(QWidget):
    def __init__(
        self, controller: DetectViewModel, actions: dict[str, QAction], parent: QWidget | None
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
        controller.sensitivity_changed.connect(self._show_sensitivity)
        self.update_enabled()

    def _slider_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("Sensitivity"))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("detect_sensitivity")
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setValue(round(DEFAULT_SENSITIVITY * SLIDER_STEPS))
        # The advice is measured: docs/detect.md, "Operating points on the real scans".
        self.slider.setToolTip(
            "Left: only clear damage; middle: the detector's calibrated default; right: more.\n"
            "On a densely cracked scan try about 70 %: more of the faint cracks, a few more "
            "false spots."
        )
        # Every position, also while dragging: re-thresholding is a comparison, not a new run.
        self.slider.valueChanged.connect(
            lambda v: self.controller.set_sensitivity(v / SLIDER_STEPS)
        )
        row.addWidget(self.slider, 1)
        return row

    def _show_sensitivity(self, sensitivity: float) -> None:
        # The photo's own value: not a user's move, so it must not come back as one.
        self.slider.blockSignals(True)
        self.slider.setValue(round(sensitivity * SLIDER_STEPS))
        self.slider.blockSignals(False)

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


def _make_actions(host: PanelHost, controller: DetectViewModel) -> dict[str, QAction]:
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
        action = QAction(text, controller)
        action.setObjectName(f"action_detect_{key}" if key != "detect" else "action_detect")
        action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False, slot=slot: slot())
        host.add_shortcut_action(action)
        actions[key] = action
    actions["accept"].setIconText("Accept")
    actions["discard"].setIconText("Discard")
    actions["cancel"].setIconText("Cancel")
    return actions


def _bind_enabled(controller: DetectViewModel, actions: dict[str, QAction]) -> None:
    def update() -> None:
        actions["detect"].setEnabled(controller.can_start)
        actions["cancel"].setEnabled(controller.busy)
        has_proposal = controller.proposal is not None
        actions["accept"].setEnabled(has_proposal)
        actions["discard"].setEnabled(has_proposal)

    controller.changed.connect(update)
    update()


class DetectDock(QDockWidget):
    """The panel in its dock, with its actions (``actions[key]``, key in detect, accept,
    discard, cancel)."""

    def __init__(self, host: PanelHost, controller: DetectViewModel) -> None:
        super().__init__("Damage Detection")
        self.setObjectName("dock_detect")  # saveState needs it
        self.actions = _make_actions(host, controller)
        self.panel = DetectPanel(controller, self.actions, None)
        self.setWidget(self.panel)
        host.add_panel(self, "action_detect_panel", "&Damage Detection Panel")
        # The first line only: the second points at the panel's tooltip, which the bar lacks.
        controller.status.connect(lambda text: host.show_status(text.split("\n")[0]))
        controller.error.connect(host.show_error)
        # Detect shows the panel (it may have been closed): the slider and Accept live there.
        self.actions["detect"].triggered.connect(self._bring_up)
        fill_menu = host.menu("fill")
        first = fill_menu.actions()[0] if fill_menu.actions() else None
        # Detection's own group, Cancel included, above Fill's.
        names = ("detect", "accept", "discard", "cancel")
        fill_menu.insertActions(first, [self.actions[k] for k in names])
        fill_menu.insertSeparator(first)
        bar = host.toolbar("mask")
        bar.addSeparator()
        bar.addAction(self.actions["detect"])
        _bind_enabled(controller, self.actions)

    def _bring_up(self, _checked: bool = False) -> None:
        """Shown, and the tab in front when it shares the place with another panel."""
        self.show()
        self.raise_()
