"""The Fuse dialog: a picture between the photo on screen (A) and another (B) on the layout
manifold, with a live slider. Widgets only: the work is ``LayoutViewModel``'s."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QLabeledDoubleSlider

from app.qimage import array_to_qimage
from app.viewmodels.layout import LayoutViewModel
from core.base.errors import InpaintError
from core.base.imageio import SUPPORTED_SUFFIXES
from core.layout.generate import load_exemplar
from core.layout.texturing import Exemplar

PREVIEW_PX = 256
TEXTURES = (("Both photos", "both"), ("A only", "a"), ("B only", "b"))


class FuseDialog(QDialog):
    """A is the document on screen; B is picked from a file. The slider's every move asks for
    the fused layout at low resolution; Fuse renders it textured as a new document."""

    def __init__(
        self, controller: LayoutViewModel, a: Exemplar, a_name: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("fuse_dialog")
        self.setWindowTitle("Fuse two photos")
        self.controller, self.a, self.a_name = controller, a, a_name
        self.b: Exemplar | None = None
        self.b_name = ""
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.addRow("A", QLabel(a_name))
        row = QHBoxLayout()
        self.b_label = QLabel("(choose a photo)")
        self.b_label.setObjectName("fuse_b_name")
        choose = QPushButton("Choose...")
        choose.setObjectName("fuse_choose_b")
        choose.clicked.connect(lambda _checked=False: self._choose_b())
        row.addWidget(self.b_label, 1)
        row.addWidget(choose)
        form.addRow("B", row)
        self.slider = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("fuse_t")
        self.slider.setRange(0.0, 1.0)
        self.slider.setDecimals(2)
        self.slider.setValue(0.5)
        self.slider.setToolTip("0 = A's layout, 1 = B's (spherical blend of the two codes)")
        self.slider.valueChanged.connect(lambda _v: self.request_preview())
        form.addRow("A ... B", self.slider)
        self.texture = QComboBox()
        self.texture.setObjectName("fuse_texture")
        for text, key in TEXTURES:
            self.texture.addItem(text, key)
        form.addRow("Texture from", self.texture)
        layout.addLayout(form)
        self.picture = QLabel("Choose photo B to see the fusion.")
        self.picture.setObjectName("fuse_preview")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(PREVIEW_PX, PREVIEW_PX)
        layout.addWidget(self.picture, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.fuse_button = buttons.addButton("Fuse", QDialogButtonBox.ButtonRole.AcceptRole)
        self.fuse_button.setObjectName("fuse_accept")
        self.fuse_button.setEnabled(False)
        buttons.accepted.connect(self.fuse)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.shown: np.ndarray | None = None
        controller.fuse_preview_ready.connect(self._show)

    def _choose_b(self) -> None:
        patterns = " ".join(f"*{s}" for s in SUPPORTED_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(self, "Photo B", "", f"Images ({patterns})")
        if path:
            self.set_b_path(Path(path))

    def set_b_path(self, path: Path) -> bool:
        try:
            b = load_exemplar(path)
        except InpaintError as error:
            self.b_label.setText(str(error))
            return False
        self.set_b(b, path.name)
        return True

    def set_b(self, b: Exemplar, name: str) -> None:
        self.b, self.b_name = b, name
        self.b_label.setText(name)
        self.fuse_button.setEnabled(True)
        self.request_preview()

    def request_preview(self) -> None:
        if self.b is not None:
            self.controller.fuse_preview(self.a.image, self.b.image, self.slider.value())

    def _show(self, pixels: object) -> None:
        assert isinstance(pixels, np.ndarray)
        self.shown = pixels
        self.picture.setPixmap(QPixmap.fromImage(array_to_qimage(pixels)))

    def fuse(self) -> None:
        if self.b is None:
            return
        texture = str(self.texture.currentData())
        self.controller.fuse(self.a, self.b, self.slider.value(), texture,
                             (self.a_name, self.b_name))  # fmt: skip
        self.accept()
