"""The variant gallery: a strip of thumbnails of sampled fills, each a reproducible setting;
hovering a thumbnail shows it twice as large beside the panel."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QHideEvent, QIcon, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QLabel, QListView, QListWidget, QListWidgetItem, QWidget

from app.qimage import array_to_qimage
from app.viewmodels.latent import LatentSetting, Variant

SETTING_ROLE = Qt.ItemDataRole.UserRole
LARGE_ROLE = Qt.ItemDataRole.UserRole + 1  # the variant's full-size pixmap, for the hover view
ICON = 128  # px, longest side of a thumbnail in the strip


class VariantGallery(QListWidget):
    """One row of thumbnails (scrolls sideways). Click: preview that variant; double-click:
    preview and apply it; hover: a larger view."""

    chosen = Signal(object)  # LatentSetting
    committed = Signal(object)  # LatentSetting

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("latent_gallery")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(ICON, ICON))
        # Square cells: a wide patch's thumbnail is 128 px wide, a tall one 128 px high.
        self.setGridSize(QSize(ICON + 8, ICON + self.fontMetrics().lineSpacing() + 8))
        self.setSpacing(3)
        self.setUniformItemSizes(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        height = self.gridSize().height() + 6
        self.setFixedHeight(height + self.horizontalScrollBar().sizeHint().height())
        self.setMouseTracking(True)
        self.zoom = QLabel(self, Qt.WindowType.ToolTip)  # the hover view: a window of its own
        self.zoom.setObjectName("latent_gallery_zoom")
        self.zoom.setStyleSheet("border: 1px solid palette(dark); background: palette(base)")
        self.itemEntered.connect(self._show_zoom)
        self.viewportEntered.connect(self.zoom.hide)
        self.viewport().installEventFilter(self)
        self.itemClicked.connect(lambda item: self.chosen.emit(item.data(SETTING_ROLE)))
        self.itemDoubleClicked.connect(lambda item: self.committed.emit(item.data(SETTING_ROLE)))

    # Said in the empty strip, so that a blank box does not look broken.
    placeholder = "No variants yet: Sample draws a strip of fills of the mask to choose from."

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.count() == 0:
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().placeholderText().color())
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
            painter.drawText(self.viewport().rect().adjusted(8, 4, -8, -4), flags, self.placeholder)
            painter.end()

    def show_variants(self, variants: list[Variant]) -> None:
        self.zoom.hide()
        self.clear()
        for variant in variants:
            self.add_variant(variant)
        self.horizontalScrollBar().setValue(0)  # the strip from its start

    def put_variant(self, place: int, variant: Variant) -> None:
        """Show ``variant`` at ``place``, dropping what was there and after it (a new strip
        being sampled replaces the old one as its variants arrive)."""
        self.zoom.hide()
        while self.count() > place:
            self.takeItem(self.count() - 1)
        self.add_variant(variant)

    def add_variant(self, variant: Variant) -> None:
        """One more thumbnail at the end."""
        pixmap = QPixmap.fromImage(array_to_qimage(variant.thumbnail))
        icon = QIcon(pixmap)
        # The same pixels when selected: the style's selection tint would change the colours
        # the user is judging.
        icon.addPixmap(pixmap, QIcon.Mode.Selected)
        item = QListWidgetItem(icon, f"v{self.count() + 1}")
        item.setData(SETTING_ROLE, variant.setting)
        item.setData(LARGE_ROLE, pixmap)
        # The tooltip says how to get this exact fill again (editor or `fill --seed`).
        item.setToolTip(describe_for_cli(variant.setting))
        self.addItem(item)
        self.scrollToItem(item)

    def _show_zoom(self, item: QListWidgetItem) -> None:
        pixmap = item.data(LARGE_ROLE)
        if not isinstance(pixmap, QPixmap) or pixmap.isNull():
            return
        self.zoom.setPixmap(pixmap)
        self.zoom.adjustSize()
        # Left of the item, over the canvas: the panel sits at the window's right edge.
        corner = self.viewport().mapToGlobal(self.visualItemRect(item).topLeft())
        self.zoom.move(corner - QPoint(self.zoom.width() + 8, 0))
        self.zoom.show()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.viewport() and event.type() == QEvent.Type.Leave:
            self.zoom.hide()
        return super().eventFilter(watched, event)

    def hideEvent(self, event: QHideEvent) -> None:
        self.zoom.hide()
        super().hideEvent(event)

    def setting(self, row: int) -> LatentSetting | None:
        item = self.item(row)
        return None if item is None else item.data(SETTING_ROLE)


def describe_for_cli(setting: LatentSetting) -> str:
    args = [] if setting.seed is None else [f"--seed {setting.seed}"]
    args += [f"--direction {i + 1}={v:g}" for i, v in enumerate(setting.sliders) if v]
    return f"{setting.describe()}\nfill --method manifold {' '.join(args)}".rstrip()
