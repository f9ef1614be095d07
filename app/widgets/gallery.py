"""The variant gallery: a strip of thumbnails of sampled fills, each a reproducible setting."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem, QWidget

from app.qimage import array_to_qimage
from app.viewmodels.latent import THUMBNAIL, LatentSetting, Variant

SETTING_ROLE = Qt.ItemDataRole.UserRole


class VariantGallery(QListWidget):
    """Click: preview that variant; double-click: preview and apply it."""

    chosen = Signal(object)  # LatentSetting
    committed = Signal(object)  # LatentSetting

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("latent_gallery")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(THUMBNAIL // 2 + 16, THUMBNAIL // 2 + 16))
        self.setSpacing(3)
        self.setUniformItemSizes(True)
        self.setMinimumHeight(THUMBNAIL // 2 + 44)
        self.itemClicked.connect(lambda item: self.chosen.emit(item.data(SETTING_ROLE)))
        self.itemDoubleClicked.connect(lambda item: self.committed.emit(item.data(SETTING_ROLE)))

    def show_variants(self, variants: list[Variant]) -> None:
        self.clear()
        for number, variant in enumerate(variants, 1):
            icon = QIcon(QPixmap.fromImage(array_to_qimage(variant.thumbnail)))
            item = QListWidgetItem(icon, f"v{number}")
            item.setData(SETTING_ROLE, variant.setting)
            # The tooltip says how to get this exact fill again (editor or `fill --seed`).
            item.setToolTip(describe_for_cli(variant.setting))
            self.addItem(item)

    def setting(self, row: int) -> LatentSetting | None:
        item = self.item(row)
        return None if item is None else item.data(SETTING_ROLE)


def describe_for_cli(setting: LatentSetting) -> str:
    args = [] if setting.seed is None else [f"--seed {setting.seed}"]
    args += [f"--direction {i + 1}={v:g}" for i, v in enumerate(setting.sliders) if v]
    return f"{setting.describe()}\nfill --method manifold {' '.join(args)}".rstrip()
