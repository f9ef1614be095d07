"""The latent panel: sliders along the model's principal directions, seed, variants, fusion and
generation, docked beside the canvas. Widgets only: all state lives in ``LatentViewModel``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QLabeledDoubleSlider

from app.viewmodels.latent import SLIDER_RANGE, LatentSetting, LatentViewModel, Preview, Variant
from app.viewmodels.latent_fill import unavailable
from app.widgets.fuse_dialog import FuseDialog
from app.widgets.gallery import VariantGallery
from app.widgets.host import PanelHost

L = TypeVar("L", bound=QLayout)
LABELS_KEY = "latent/labels"
NO_SEED = -1  # the seed field's "most likely" value
GENERATION_NOTE = (
    "A 512 x 512 picture: a layout (where light, dark and colour masses are) decoded from a "
    "new seed by a small model of BSDS500 photos, textured with patches of the photo on "
    "screen. Expect a painterly arrangement in that photo's material, not a new photograph. "
    "Fuse blends the photo on screen with another one the same way."
)


class Section(QWidget):
    """A titled part of the panel that folds away: a header button with an arrow, and a body."""

    expanded = Signal(object)  # the Section, just unfolded (its dock scrolls to show it)

    def __init__(self, title: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.header = QToolButton()
        self.header.setObjectName(name)
        self.header.setText(title)
        self.header.setCheckable(True)
        self.header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.header.setAutoRaise(True)
        self.header.setStyleSheet("font-weight: bold")
        self.header.toggled.connect(self.set_expanded)
        self.body = QWidget()
        layout.addWidget(self.header)
        layout.addWidget(self.body)
        self.set_expanded(False)

    def content(self, kind: type[L]) -> L:
        """The body's layout (``kind``: QVBoxLayout, QFormLayout...), with the panel's margins."""
        layout = kind(self.body)
        layout.setContentsMargins(6, 4, 6, 4)
        return layout

    def set_expanded(self, on: bool) -> None:
        self.header.blockSignals(True)
        self.header.setChecked(on)
        self.header.blockSignals(False)
        self.header.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.body.setVisible(on)
        if on:
            self.expanded.emit(self)


class LatentPanel(QWidget):
    def __init__(self, controller: LatentViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("latent_panel")
        self.controller = controller
        self.fuse_dialog: FuseDialog | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.status_label = QLabel()
        self.status_label.setObjectName("latent_status")
        self.status_label.setWordWrap(True)
        self.status_label.setMinimumHeight(34)
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.status_label)
        self.progress_bar = self._progress_bar()
        layout.addWidget(self.progress_bar)
        layout.addLayout(self._seed_row())
        layout.addWidget(self._slider_box())
        layout.addLayout(self._apply_row())
        layout.addWidget(self._gallery_box())
        # Collapsed at first: so that the sliders and the variants fit a 1200 x 800 window.
        self.fuse_section, self.generate_section = self._fusion_box(), self._generate_box()
        layout.addWidget(self.fuse_section)
        layout.addWidget(self.generate_section)
        layout.addStretch(1)
        controller.setting_changed.connect(self._show_setting)
        controller.status.connect(self.status_label.setText)
        controller.described.connect(self.status_label.setText)
        controller.variants_changed.connect(self._show_variants)
        controller.variant_ready.connect(self.gallery.put_variant)
        controller.progress.connect(self._show_progress)
        controller.available_changed.connect(lambda _ok, _why: self.update_enabled())
        controller.preview_changed.connect(self._on_preview)
        self._show_setting(controller.setting)
        self.status_label.setText(controller.describe_photo())
        self.update_enabled()

    # -- construction --------------------------------------------------------------------------

    def _progress_bar(self) -> QProgressBar:
        """The textured fill or the variants being rendered: a thin bar under the text, its
        place kept while idle so that the sliders never jump under the pointer (its Cancel
        shows in the Apply row)."""
        bar = QProgressBar()
        bar.setObjectName("latent_progress")
        bar.setRange(0, 1000)
        bar.setTextVisible(False)
        bar.setFixedHeight(6)
        policy = bar.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        bar.setSizePolicy(policy)
        bar.setVisible(False)
        return bar

    def _show_progress(self, fraction: float, text: str) -> None:
        busy = fraction >= 0
        self.progress_bar.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if busy:
            self.progress_bar.setValue(round(fraction * 1000))
            self.status_label.setText(text)

    def _seed_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("Seed"))
        self.seed_spin = QSpinBox()
        self.seed_spin.setObjectName("latent_seed")
        self.seed_spin.setRange(NO_SEED, 2**31 - 1)
        self.seed_spin.setSpecialValueText("most likely")
        self.seed_spin.setToolTip("The random draw; 'most likely' = no noise")
        self.seed_spin.setKeyboardTracking(False)  # one decode per typed number, not per digit
        self.seed_spin.valueChanged.connect(
            lambda v: self.controller.set_seed(None if v == NO_SEED else v)
        )
        row.addWidget(self.seed_spin, 1)
        c = self.controller
        self.resample_button = self._button(
            "Resample", "latent_resample", c.resample, "A new random draw (new seed), sliders kept"
        )
        self.reset_button = self._button(
            "Reset", "latent_reset", c.reset, "The most likely fill: no noise, sliders at 0"
        )
        row.addWidget(self.resample_button)
        row.addWidget(self.reset_button)
        return row

    def _button(
        self, text: str, name: str, slot: Callable[[], object], tip: str = ""
    ) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setToolTip(tip)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    def _slider_box(self) -> QGroupBox:
        box = QGroupBox("Directions (prior std)")
        form = QFormLayout(box)
        form.setContentsMargins(6, 4, 6, 4)
        form.setVerticalSpacing(2)
        names = QSettings().value(LABELS_KEY, [], list) or []
        self.sliders: list[QLabeledDoubleSlider] = []
        self.labels: list[QLineEdit] = []
        for index in range(self.controller.slider_count):
            label = QLineEdit(names[index] if index < len(names) else f"Direction {index + 1}")
            label.setObjectName(f"latent_label_{index}")
            label.setToolTip("Rename this direction (e.g. 'lighter', 'more grain')")
            label.setFrame(False)
            label.setFixedWidth(92)
            label.editingFinished.connect(self._save_labels)
            slider = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
            slider.setObjectName(f"latent_slider_{index}")
            slider.setRange(-SLIDER_RANGE, SLIDER_RANGE)
            slider.setDecimals(2)
            slider.setSingleStep(0.05)
            slider.setValue(0.0)
            slider.setToolTip(
                f"Direction {index + 1}: the {index + 1}. strongest change the model makes"
            )
            slider.valueChanged.connect(lambda v, i=index: self.controller.set_slider(i, v))
            # Held: net-only previews (fast); let go: the textured fill replaces them.
            slider.sliderPressed.connect(self.controller.drag_started)
            slider.sliderReleased.connect(self.controller.drag_ended)
            form.addRow(label, slider)
            self.labels.append(label)
            self.sliders.append(slider)
        return box

    def _apply_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.apply_button = self._button("Apply", "latent_apply", self.controller.apply,
                                         "Keep the previewed fill (one undo step)")  # fmt: skip
        self.apply_button.setStyleSheet("font-weight: bold")
        self.discard_button = self._button("Discard preview", "latent_discard",
                                           self.controller.clear_preview)  # fmt: skip
        self.cancel_button = self._button(
            "Cancel", "latent_cancel", self.controller.cancel,
            "Stop the textured fill or the variants being rendered",
        )  # fmt: skip
        self.cancel_button.setVisible(False)
        row.addWidget(self.apply_button, 1)
        row.addWidget(self.discard_button)
        row.addWidget(self.cancel_button)
        return row

    def _gallery_box(self) -> QGroupBox:
        box = QGroupBox("Variants")
        layout = QVBoxLayout(box)
        layout.setContentsMargins(6, 4, 6, 4)
        self.gallery = VariantGallery()
        self.gallery.chosen.connect(self.controller.choose)
        self.gallery.committed.connect(self._commit_variant)
        layout.addWidget(self.gallery)
        row = QHBoxLayout()
        self.sample_button = self._button(
            f"Sample {self.controller.variant_count}", "latent_sample",
            self.controller.make_variants, "Sampled fills with the current sliders",
        )  # fmt: skip
        self.more_button = self._button(
            "More", "latent_more", lambda: self.controller.make_variants(more=True)
        )
        row.addWidget(self.sample_button, 1)
        row.addWidget(self.more_button)
        layout.addLayout(row)
        return box

    def _fusion_box(self) -> Section:
        box = Section("Fuse two variants", "latent_section_fuse")
        layout = box.content(QFormLayout)
        pair = QHBoxLayout()
        self.fuse_a, self.fuse_b = QComboBox(), QComboBox()
        self.fuse_a.setObjectName("latent_fuse_a")
        self.fuse_b.setObjectName("latent_fuse_b")
        pair.addWidget(self.fuse_a, 1)
        pair.addWidget(QLabel("to"))
        pair.addWidget(self.fuse_b, 1)
        layout.addRow("From", pair)
        self.blend_slider = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
        self.blend_slider.setObjectName("latent_blend")
        self.blend_slider.setRange(0.0, 1.0)
        self.blend_slider.setDecimals(2)
        self.blend_slider.setToolTip("0 = the first variant, 1 = the second (spherical blend)")
        self.blend_slider.valueChanged.connect(self._blend)
        self.blend_slider.sliderPressed.connect(self.controller.drag_started)
        self.blend_slider.sliderReleased.connect(self.controller.drag_ended)
        layout.addRow("Blend", self.blend_slider)
        return box

    def _generate_box(self) -> Section:
        box = Section("Generate", "latent_section_generate")
        layout = box.content(QVBoxLayout)
        row = QHBoxLayout()
        self.generate_button = self._button(
            "New from manifold", "latent_generate", self.controller.new_from_manifold,
            "A new picture from a new seed, textured with the photo on screen",
        )  # fmt: skip
        self.fuse_button = self._button(
            "Fuse with a photo...", "latent_fuse_photos", self.open_fuse_dialog,
            "A picture between the photo on screen and another one, with a live slider",
        )  # fmt: skip
        row.addWidget(self.generate_button, 1)
        row.addWidget(self.fuse_button, 1)
        layout.addLayout(row)
        note = QLabel(GENERATION_NOTE)
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(mid)")
        layout.addWidget(note)
        return box

    def open_fuse_dialog(self) -> FuseDialog | None:
        layout = self.controller.layout
        photo = layout.photo_on_screen()
        if photo is None:
            self.status_label.setText("Open a photo first: it is photo A of the fusion.")
            return None
        self.fuse_dialog = FuseDialog(layout, photo[0], photo[1], self)
        self.fuse_dialog.show()
        return self.fuse_dialog

    # -- reactions -----------------------------------------------------------------------------

    def update_enabled(self) -> None:
        ok = self.controller.available
        for widget in self.findChildren(QWidget):
            if widget is not self.status_label:
                widget.setEnabled(ok)
        if not ok:
            self.status_label.setText(unavailable(self.controller.reason))
        self._update_apply(self.controller.preview)

    def _show_setting(self, setting: LatentSetting) -> None:
        # Programmatic moves must not come back as user requests.
        for index, slider in enumerate(self.sliders):
            value = setting.sliders[index] if index < len(setting.sliders) else 0.0
            if abs(slider.value() - value) > 1e-9:
                slider.blockSignals(True)
                slider.setValue(value)
                slider.blockSignals(False)
        seed = NO_SEED if setting.seed is None else setting.seed
        if self.seed_spin.value() != seed:
            self.seed_spin.blockSignals(True)
            self.seed_spin.setValue(seed)
            self.seed_spin.blockSignals(False)

    def _show_variants(self, variants: list[Variant]) -> None:
        self.gallery.show_variants(variants)
        for combo, default in ((self.fuse_a, 0), (self.fuse_b, 1)):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([f"v{n}" for n in range(1, len(variants) + 1)])
            combo.setCurrentIndex(min(default, len(variants) - 1))
            combo.blockSignals(False)

    def _blend(self, t: float) -> None:
        a = self.gallery.setting(self.fuse_a.currentIndex())
        b = self.gallery.setting(self.fuse_b.currentIndex())
        if a is None or b is None:
            self.status_label.setText("Sample variants first, then pick two to fuse.")
            return
        self.controller.blend(a, b, t)

    def _commit_variant(self, setting: LatentSetting) -> None:
        self.controller.choose(setting)
        self.controller.apply()

    def _on_preview(self, preview: Preview | None) -> None:
        self._update_apply(preview)
        if preview is not None:
            # A model with fewer directions than sliders: the extra ones would do nothing.
            for index, slider in enumerate(self.sliders):
                slider.setEnabled(index < preview.direction_count)

    def _update_apply(self, preview: Preview | None) -> None:
        has = preview is not None and self.controller.available
        self.apply_button.setEnabled(has)
        self.discard_button.setEnabled(has)

    def _save_labels(self) -> None:
        QSettings().setValue(LABELS_KEY, [label.text() for label in self.labels])


class LatentDock(QDockWidget):
    """The panel in a scroll area, docked at the window's right; View > Latent Panel."""

    def __init__(self, host: PanelHost, controller: LatentViewModel) -> None:
        super().__init__("Latent")
        self.setObjectName("dock_latent")  # saveState needs it
        self.panel = LatentPanel(controller)
        scroll = QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(scroll)
        self.setMinimumWidth(330)
        for section in (self.panel.fuse_section, self.panel.generate_section):
            # Once the unfolded body is laid out, scroll so that it shows.
            section.expanded.connect(
                lambda part: QTimer.singleShot(0, lambda: scroll.ensureWidgetVisible(part.body))
            )
        host.add_panel(self, "action_latent_panel", "&Latent Panel")
        # The window's status bar follows the panel's, so an old fill report never sits under
        # a preview it does not describe.
        controller.status.connect(host.show_status)
