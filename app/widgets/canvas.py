"""The photo view: zoom, pan, the mask overlay, tool input and the hold-to-compare view.

A plain QWidget rather than a QGraphicsView: one transform (``scale`` and ``offset``, widget =
offset + image * scale) serves painting, tools and tests alike. Paint cost follows the exposed
rectangle, not the photo: zoomed out, a pre-halved copy of the photo is drawn (``app.pyramid``,
prepared off the GUI thread for large photos, updated only in the changed box after a fill), and
the mask overlay is a QImage whose pixels strokes update in place.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFocusEvent,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from app.pyramid import Pyramid
from app.qimage import MaskOverlay, array_to_qimage
from app.viewmodels.document import Box
from app.viewmodels.session import Session
from app.widgets.tools import ToolBox

MASK_COLOR = QColor(255, 40, 80, 130)
# Detected damage not yet accepted: cyan, far from the mask's red, so the two never read alike.
PROPOSAL_COLOR = QColor(0, 230, 255, 150)
BACKGROUND = QColor(38, 38, 42)
MIN_SCALE, MAX_SCALE = 0.01, 32.0
WHEEL_STEP = 1.25
SMOOTH_BELOW = (
    2.5  # zoom from which photo pixels are drawn as sharp blocks  # zoom factor per wheel notch
)
EMPTY_HINT = "Open a photo (Ctrl+O) or drop one here\nor try File > Open Sample Photo"
COMPARE_KEYS = (Qt.Key.Key_Backslash, Qt.Key.Key_C)


def _checkerboard() -> QBrush:
    tile = QPixmap(16, 16)
    tile.fill(QColor(200, 200, 200))
    painter = QPainter(tile)
    painter.fillRect(0, 0, 8, 8, QColor(150, 150, 150))
    painter.fillRect(8, 8, 8, 8, QColor(150, 150, 150))
    painter.end()
    return QBrush(tile)


class Canvas(QWidget):
    view_changed = Signal(float)  # the zoom factor (1.0 = 100 %)
    compare_changed = Signal(bool)

    def __init__(self, session: Session, toolbox: ToolBox, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setMouseTracking(True)  # the brush footprint follows the pointer
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(200, 150)
        self._session, self._toolbox = session, toolbox
        self._photo: Pyramid | None = None
        self._original: Pyramid | None = None
        self._overlay: MaskOverlay | None = None
        self._image_size = QSize()
        self._scale = 1.0
        self._offset = QPointF()
        self._fit_mode = True
        self._pan_from: QPointF | None = None
        self._space_held = False
        self._comparing = False
        self._tool_down = False
        self._pointer: QPointF | None = None
        # A fill shown over the photo without being in the document (latent sliders): the
        # QImage of a box of the photo, that box (y0, y1, x0, x1) and the box to frame.
        self._preview: tuple[QImage, Box, Box] | None = None
        # A proposed mask (damage detection) drawn over the mask until accepted or discarded.
        self._proposal: MaskOverlay | None = None
        session.document_changed.connect(self._on_document)
        session.image_changed.connect(self._on_image)
        session.mask_changed.connect(self._on_mask)
        session.mask_visible_changed.connect(lambda _visible: self.update())
        toolbox.brush_size_changed.connect(lambda _size: self.update())
        toolbox.tool_changed.connect(lambda _name: self._update_cursor())
        toolbox.preview_changed.connect(self.update)
        self._update_cursor()

    # -- coordinates -------------------------------------------------------------------------

    @property
    def scale(self) -> float:
        return self._scale

    def map_to_image(self, pos: QPointF) -> QPointF:
        """Widget coordinates to image coordinates (pixel (r, c) spans [c, c+1) x [r, r+1))."""
        return (QPointF(pos) - self._offset) / self._scale

    def map_from_image(self, pos: QPointF) -> QPointF:
        return QPointF(pos) * self._scale + self._offset

    def image_rect(self) -> QRectF:
        """Where the photo lies, in widget coordinates."""
        w, h = self._image_size.width(), self._image_size.height()
        return QRectF(self._offset, QPointF(self._offset.x() + w * self._scale,
                                            self._offset.y() + h * self._scale))  # fmt: skip

    def _widget_rect(self, box: Box) -> QRect:
        y0, y1, x0, x1 = box
        rect = QRectF(self.map_from_image(QPointF(x0, y0)), self.map_from_image(QPointF(x1, y1)))
        return rect.toAlignedRect().adjusted(-2, -2, 2, 2)

    # -- view --------------------------------------------------------------------------------

    def fit_to_window(self) -> None:
        """Show the whole photo, as large as fits, centred; stays fitted on resize."""
        self._fit_mode = True
        if self._image_size.isEmpty():
            return
        w, h = self._image_size.width(), self._image_size.height()
        self._scale = min(self.width() / w, self.height() / h)
        self._offset = QPointF((self.width() - w * self._scale) / 2,
                               (self.height() - h * self._scale) / 2)  # fmt: skip
        self._view_moved()

    def zoom_actual(self) -> None:
        """100 %: one photo pixel per screen pixel, keeping the view's centre."""
        self.zoom_to(1.0, QPointF(self.width() / 2, self.height() / 2))

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.zoom_to(self._scale * factor, anchor)

    def zoom_to(self, scale: float, anchor: QPointF | None = None) -> None:
        """Zoom so that the photo point under ``anchor`` (widget coords) stays put."""
        if self._image_size.isEmpty():
            return
        anchor = QPointF(self.width() / 2, self.height() / 2) if anchor is None else anchor
        fixed = self.map_to_image(anchor)
        self._scale = min(MAX_SCALE, max(MIN_SCALE, scale))
        self._offset = anchor - fixed * self._scale
        self._fit_mode = False
        self._view_moved()

    def pan_by(self, delta: QPointF) -> None:
        self._offset += delta
        self._fit_mode = False
        self._view_moved()

    def _view_moved(self) -> None:
        self.update()
        self.view_changed.emit(self._scale)

    @property
    def comparing(self) -> bool:
        """The original is shown (\\ or C held)."""
        return self._comparing

    def set_comparing(self, on: bool) -> None:
        """Show the photo as it was opened instead of the current result (and hide the mask)."""
        if on == self._comparing:
            return
        self._comparing = on
        doc = self._session.document
        if on and self._original is None and doc is not None:
            self._original = Pyramid(doc.original)
        self.update()
        self.compare_changed.emit(on)

    def set_preview(
        self, pixels: np.ndarray | None, box: Box | None = None, frame: Box | None = None
    ) -> None:
        """Show ``pixels`` in place of the photo's ``box`` (None: show the document again),
        with a dashed frame around ``frame`` (default: ``box``). Only the box is converted, so
        a preview costs the same on a 24 MP photo as on a small one."""
        old = self._preview
        if pixels is None or box is None:
            self._preview = None
        else:
            self._preview = (array_to_qimage(pixels), box, box if frame is None else frame)
        for shown in (old, self._preview):
            if shown is not None:
                self.update(self._widget_rect(shown[1]))

    def set_proposal(self, mask: np.ndarray | None) -> None:
        """Tint ``mask`` (bool, the photo's shape) in ``PROPOSAL_COLOR``; None hides it."""
        # Not checked against the photo's size here: on a switch of photos the proposal may come
        # before the photo; painting skips one that does not match.
        if mask is None:
            self._proposal = None
        elif self._proposal is None or self._proposal.shape != mask.shape:
            self._proposal = MaskOverlay(mask, PROPOSAL_COLOR)
        else:
            self._proposal.update(mask)  # in place: a slider move allocates nothing
        self.update()

    @property
    def preview_box(self) -> Box | None:
        return None if self._preview is None else self._preview[1]

    # -- document binding --------------------------------------------------------------------

    def _on_document(self) -> None:
        doc = self._session.document
        self._original = None
        self._tool_down = False
        if doc is None:
            self._photo, self._overlay, self._image_size = None, None, QSize()
            self.update()
            return
        # Large photos come with their pyramid, prepared while they were decoded.
        prepared = doc.display
        ready = isinstance(prepared, Pyramid) and prepared.source is doc.image
        self._photo = prepared if ready else Pyramid(doc.image)
        self._overlay = MaskOverlay(doc.mask, MASK_COLOR)
        self._image_size = QSize(doc.image.shape[1], doc.image.shape[0])
        self.fit_to_window()

    def _on_image(self) -> None:
        doc = self._session.document
        if doc is None:
            return
        boxes = self._session.image_change_boxes
        if boxes is not None and self._photo is not None:
            for box in boxes:  # after a fill: convert only what it may have changed
                self._photo.update(doc.image, box)
                self.update(self._widget_rect(box))
        else:
            self._photo = Pyramid(doc.image)
            self.update()

    def _on_mask(self, box: Box | None) -> None:
        doc = self._session.document
        if doc is None or self._overlay is None:
            return
        self._overlay.update(doc.mask, box)
        self.update() if box is None else self.update(self._widget_rect(box))

    # -- painting ----------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(event.rect(), BACKGROUND)
        photo = self._original if self._comparing else self._photo
        if photo is None:
            self._paint_hint(painter)
            return
        target = self.image_rect()
        if target.intersects(QRectF(event.rect())):
            # The whole photo is drawn, clipped to the exposed rectangle: the raster engine only
            # fills clipped spans, so the cost follows the exposed area, and partial repaints
            # sample exactly as full ones do (no seams after a stroke).
            painter.setClipRect(event.rect())
            if photo.has_alpha:
                painter.fillRect(target, _checkerboard())  # transparent areas read as such
            level = photo.level_for(self._scale)
            # Smooth up to a moderate zoom; crisp pixel blocks beyond, for retouching detail.
            smooth = self._scale < SMOOTH_BELOW and self._scale != 1.0
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
            painter.drawImage(target, level, QRectF(level.rect()))
            if self._overlay is not None and self._session.mask_visible and not self._comparing:
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
                painter.drawImage(target, self._overlay.image)
            size = (self._image_size.height(), self._image_size.width())
            proposal = self._proposal
            if proposal is not None and proposal.shape == size and not self._comparing:
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
                painter.drawImage(target, proposal.image)
            if self._preview is not None and not self._comparing:
                # Over the mask overlay: the preview's holes are filled, which is the point.
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
                image, (y0, y1, x0, x1), (f0, f1, f2, f3) = self._preview
                rect = QRectF(self.map_from_image(QPointF(x0, y0)),
                              self.map_from_image(QPointF(x1, y1)))  # fmt: skip
                painter.drawImage(rect, image, QRectF(image.rect()))
                rect = QRectF(self.map_from_image(QPointF(f2, f0)),
                              self.map_from_image(QPointF(f3, f1)))  # fmt: skip
                # A dashed frame says "not applied yet": the document is unchanged under it.
                frame = ((QColor(0, 0, 0, 160), Qt.PenStyle.SolidLine),
                         (QColor(255, 255, 255, 220), Qt.PenStyle.DashLine))  # fmt: skip
                for color, dash in frame:
                    painter.setPen(QPen(color, 1, dash))
                    painter.drawRect(rect.adjusted(-0.5, -0.5, 0.5, 0.5))
            painter.setClipping(False)
        self._paint_decorations(painter)

    def _paint_hint(self, painter: QPainter) -> None:
        painter.setPen(QColor(200, 200, 200))
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, EMPTY_HINT)

    def _paint_decorations(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        preview = self._toolbox.current.preview()
        if preview is not None and not preview.isEmpty():
            shape = [self.map_from_image(p) for p in preview]
            for color, dash in ((QColor("black"), Qt.PenStyle.SolidLine),
                                (QColor("white"), Qt.PenStyle.DashLine)):  # fmt: skip
                painter.setPen(QPen(color, 1, dash))
                painter.drawPolygon(shape)
        if self._comparing:
            painter.setPen(QColor("white"))
            painter.fillRect(QRectF(8, 8, 78, 22), QColor(0, 0, 0, 160))
            painter.drawText(QRectF(8, 8, 78, 22), Qt.AlignmentFlag.AlignCenter, "Original")
        elif self._shows_footprint():
            assert self._pointer is not None
            radius = self._footprint_radius()
            for color, width in ((QColor(0, 0, 0, 200), 3), (QColor(255, 255, 255, 230), 1)):
                painter.setPen(QPen(color, width))
                painter.drawEllipse(self._pointer, radius, radius)

    def _footprint_radius(self) -> float:
        return max(1.5, self._toolbox.brush_size * self._scale / 2)

    def _shows_footprint(self) -> bool:
        return (self._pointer is not None and self._toolbox.current.shows_footprint
                and self._pan_from is None and not self._space_held
                and self._photo is not None)  # fmt: skip

    def _footprint_rect(self) -> QRect:
        if self._pointer is None:
            return QRect()
        r = self._footprint_radius() + 3
        return QRectF(self._pointer - QPointF(r, r), self._pointer + QPointF(r, r)).toAlignedRect()

    def _update_cursor(self) -> None:
        if self._pan_from is not None:
            shape = Qt.CursorShape.ClosedHandCursor
        elif self._space_held:
            shape = Qt.CursorShape.OpenHandCursor
        else:
            shape = Qt.CursorShape.CrossCursor
        self.setCursor(shape)

    # -- input -------------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        if self._fit_mode:
            self.fit_to_window()
        super().resizeEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        notches = event.angleDelta().y() / 120
        if notches:
            self.zoom_by(WHEEL_STEP**notches, event.position())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        pos = event.position()
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space_held
        ):
            self._pan_from = pos
            self._update_cursor()
        elif (
            button == Qt.MouseButton.LeftButton and self._photo is not None and not self._tool_down
        ):
            self._tool_down = True
            self._toolbox.current.press(self.map_to_image(pos), event.modifiers())
        self._move_pointer(pos)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._pan_from is not None:
            delta, self._pan_from = pos - self._pan_from, pos
            self.pan_by(delta)
        elif self._tool_down:
            self._toolbox.current.move(self.map_to_image(pos))
        self._move_pointer(pos)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._pan_from is not None and event.button() in (
            Qt.MouseButton.MiddleButton,
            Qt.MouseButton.LeftButton,
        ):
            self._pan_from = None
            self._update_cursor()
        elif self._tool_down and event.button() == Qt.MouseButton.LeftButton:
            self._tool_down = False
            self._toolbox.current.release(self.map_to_image(pos))
        self._move_pointer(pos)

    def leaveEvent(self, event: object) -> None:
        self._move_pointer(None)

    def _move_pointer(self, pos: QPointF | None) -> None:
        old = self._footprint_rect()
        self._pointer = pos
        self.update(old.united(self._footprint_rect()))

    # The compare keys (\, C) work wherever the focus is in the window: ``CompareKeys``.

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.isAutoRepeat():
            return super().keyPressEvent(event)
        if event.key() == Qt.Key.Key_Space:
            self._space_held = True
            self._update_cursor()
            self.update(self._footprint_rect())
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.isAutoRepeat():
            return
        if event.key() == Qt.Key.Key_Space:
            self._space_held = False
            self._update_cursor()
            self.update()
        else:
            super().keyReleaseEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        # Keys released while another widget has focus never reach us: drop held states.
        self._space_held = False
        self._update_cursor()
        super().focusOutEvent(event)


def _editing_text(widget: QWidget) -> bool:
    """``widget`` takes typed text: there C is a letter, and \\ a character."""
    if isinstance(widget, (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)):
        return not widget.isReadOnly()
    return isinstance(widget, QComboBox) and widget.isEditable()


class CompareKeys(QObject):
    """Hold \\ or C to compare with the original wherever the focus is in ``window`` (a dock's
    slider, the variant strip, a tool bar's combo box), except in a text field. An application
    event filter: the keys go to the focus widget, and some keep them (type-ahead search)
    before they could reach the window."""

    def __init__(self, window: QWidget, canvas: Canvas) -> None:
        super().__init__(window)
        self._window, self._canvas = window, canvas

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.WindowDeactivate and watched is self._window:
            self._canvas.set_comparing(False)  # the key may be released in another window
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        assert isinstance(event, QKeyEvent)
        if event.key() not in COMPARE_KEYS:
            return False
        if kind == QEvent.Type.KeyRelease:
            # Wherever the focus went meanwhile; a held key's repeats are no release.
            if not self._canvas.comparing:
                return False
            if not event.isAutoRepeat():
                self._canvas.set_comparing(False)
            return True
        if (
            not isinstance(watched, QWidget)
            or watched.window() is not self._window
            or _editing_text(watched)
            or event.modifiers() != Qt.KeyboardModifier.NoModifier
        ):
            return False
        self._canvas.set_comparing(True)  # a repeat of the held key changes nothing
        return True
