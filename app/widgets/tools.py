"""Mask tools: brush, eraser, rectangle and lasso.

Tools receive positions in image coordinates (floats; pixel ``(row, col)`` covers
``[col, col+1) x [row, row+1)``) from the canvas and draw into the current mask through the
``MaskEditor`` (one stroke, one undo step). Drawing is
done on a small patch around each segment, so a stroke costs its footprint, not the photo.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPolygonF

from app.viewmodels.document import Box
from app.viewmodels.masks import MaskEditor

MIN_BRUSH, MAX_BRUSH = 1, 1000
_SHIFT = 4  # OpenCV fixed-point bits: sub-pixel precise strokes
_ONE = 1 << _SHIFT


def _clip_box(x0: float, y0: float, x1: float, y1: float, shape: tuple[int, ...]) -> Box | None:
    h, w = shape[:2]
    box = (max(0, math.floor(y0)), min(h, math.ceil(y1)), max(0, math.floor(x0)),
           min(w, math.ceil(x1)))  # fmt: skip
    return box if box[0] < box[1] and box[2] < box[3] else None


def _fixed(x: float, y: float, box: Box) -> tuple[int, int]:
    # Pixel centres sit at integer+0.5 in image coordinates but at integers in OpenCV's.
    return round((x - 0.5 - box[2]) * _ONE), round((y - 0.5 - box[0]) * _ONE)


def _apply(mask: np.ndarray, box: Box, drawn: np.ndarray, value: bool) -> Box | None:
    y0, y1, x0, x1 = box
    hit = drawn.astype(bool)
    if not hit.any():
        return None
    mask[y0:y1, x0:x1][hit] = value
    return box


def paint_line(
    mask: np.ndarray, p0: QPointF, p1: QPointF, diameter: float, value: bool
) -> Box | None:
    """A round-capped line of width ``diameter`` from ``p0`` to ``p1``; returns the touched box."""
    r = max(diameter / 2.0, 0.5)
    xs, ys = (p0.x(), p1.x()), (p0.y(), p1.y())
    box = _clip_box(min(xs) - r - 1, min(ys) - r - 1, max(xs) + r + 1, max(ys) + r + 1, mask.shape)
    if box is None:
        return None
    drawn = np.zeros((box[1] - box[0], box[3] - box[2]), np.uint8)
    a, b = _fixed(p0.x(), p0.y(), box), _fixed(p1.x(), p1.y(), box)
    radius = round((r - 0.5) * _ONE)  # OpenCV's radius is centre to centre of edge pixels
    cv2.circle(drawn, a, radius, 1, -1, cv2.LINE_8, _SHIFT)
    if a != b:
        cv2.circle(drawn, b, radius, 1, -1, cv2.LINE_8, _SHIFT)
        # The body of the stroke: a quad of the segment widened by r on each side.
        dx, dy = p1.x() - p0.x(), p1.y() - p0.y()
        length = math.hypot(dx, dy)
        nx, ny = -dy / length * r, dx / length * r
        quad = [_fixed(p.x() + sx * nx, p.y() + sx * ny, box)
                for p, sx in ((p0, 1), (p1, 1), (p1, -1), (p0, -1))]  # fmt: skip
        cv2.fillPoly(drawn, [np.array(quad, np.int32)], 1, cv2.LINE_8, _SHIFT)
    return _apply(mask, box, drawn, value)


def paint_polygon(mask: np.ndarray, points: list[QPointF], value: bool) -> Box | None:
    """Fill the polygon through ``points`` (pixels whose centre is inside)."""
    if len(points) < 3:
        return None
    xs, ys = [p.x() for p in points], [p.y() for p in points]
    box = _clip_box(min(xs) - 1, min(ys) - 1, max(xs) + 1, max(ys) + 1, mask.shape)
    if box is None:
        return None
    drawn = np.zeros((box[1] - box[0], box[3] - box[2]), np.uint8)
    poly = np.array([_fixed(p.x(), p.y(), box) for p in points], np.int32)
    cv2.fillPoly(drawn, [poly], 1, cv2.LINE_8, _SHIFT)
    return _apply(mask, box, drawn, value)


def paint_rect(mask: np.ndarray, a: QPointF, b: QPointF, value: bool) -> Box | None:
    """Fill the pixels whose centre lies inside the rectangle with corners ``a`` and ``b``."""
    h, w = mask.shape
    x0, x1 = sorted((a.x(), b.x()))
    y0, y1 = sorted((a.y(), b.y()))
    c0, c1 = max(0, round(x0)), min(w, round(x1))
    r0, r1 = max(0, round(y0)), min(h, round(y1))
    if c0 >= c1 or r0 >= r1:
        return None
    mask[r0:r1, c0:c1] = value
    return r0, r1, c0, c1


class Tool:
    """Base: a press-move-release gesture in image coordinates, committed as one undo step."""

    name = ""
    label = ""
    shortcut = ""
    tip = ""
    shows_footprint = False

    def __init__(self, box: ToolBox, editor: MaskEditor) -> None:
        self._toolbox, self._editor = box, editor
        self._mask: np.ndarray | None = None

    @property
    def active(self) -> bool:
        return self._mask is not None

    def press(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> None:
        self._mask = self._editor.begin_stroke()
        self._value = not bool(modifiers & Qt.KeyboardModifier.AltModifier)
        if self._mask is not None:
            self._start(pos)

    def move(self, pos: QPointF) -> None:
        if self._mask is not None:
            self._drag(pos)

    def release(self, pos: QPointF) -> None:
        if self._mask is None:
            return
        self._drag(pos)
        self._finish()
        self._mask = None
        self._editor.end_stroke(self.label)

    def preview(self) -> QPolygonF | None:
        """Outline to draw while dragging, in image coordinates."""
        return None

    def _start(self, pos: QPointF) -> None: ...

    def _drag(self, pos: QPointF) -> None: ...

    def _finish(self) -> None: ...


class BrushTool(Tool):
    name, label, shortcut = "brush", "Brush", "B"
    tip = (
        "Paint the damage, a little wider than it: its soft edge is damage too "
        "([ and ] change the size)"
    )
    shows_footprint = True
    erase = False

    def _start(self, pos: QPointF) -> None:
        self._last = pos
        self._stamp(pos, pos)

    def _drag(self, pos: QPointF) -> None:
        if pos != self._last:
            self._stamp(self._last, pos)
            self._last = pos

    def _stamp(self, a: QPointF, b: QPointF) -> None:
        assert self._mask is not None
        value = not self.erase
        box = paint_line(self._mask, a, b, self._toolbox.brush_size, value)
        self._editor.stroke_drawn(box)


class EraserTool(BrushTool):
    name, label, shortcut = "eraser", "Eraser", "E"
    tip = "Remove parts of the mask ([ and ] change the size)"
    erase = True


class RectTool(Tool):
    name, label, shortcut = "rectangle", "Rectangle", "R"
    tip = "Drag a rectangle to mask (hold Alt to unmask)"

    def _start(self, pos: QPointF) -> None:
        self._a = self._b = pos

    def _drag(self, pos: QPointF) -> None:
        self._b = pos
        self._toolbox.preview_changed.emit()

    def _finish(self) -> None:
        assert self._mask is not None
        self._editor.stroke_drawn(paint_rect(self._mask, self._a, self._b, self._value))
        self._toolbox.preview_changed.emit()

    def preview(self) -> QPolygonF | None:
        return QPolygonF(QRectF(self._a, self._b).normalized()) if self.active else None


class LassoTool(Tool):
    name, label, shortcut = "lasso", "Lasso", "L"
    tip = "Draw around an area to mask it (hold Alt to unmask)"

    def _start(self, pos: QPointF) -> None:
        self._points = [pos]

    def _drag(self, pos: QPointF) -> None:
        if pos != self._points[-1]:
            self._points.append(pos)
            self._toolbox.preview_changed.emit()

    def _finish(self) -> None:
        assert self._mask is not None
        self._editor.stroke_drawn(paint_polygon(self._mask, self._points, self._value))
        self._toolbox.preview_changed.emit()

    def preview(self) -> QPolygonF | None:
        return QPolygonF(self._points) if self.active else None


class ToolBox(QObject):
    """The tools, which one is active, and the brush size they share."""

    tool_changed = Signal(str)
    brush_size_changed = Signal(int)
    preview_changed = Signal()  # a rectangle / lasso outline moved

    def __init__(self, editor: MaskEditor, brush_size: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tools: dict[str, Tool] = {
            cls.name: cls(self, editor) for cls in (BrushTool, EraserTool, RectTool, LassoTool)
        }
        self._current = self.tools["brush"]
        self._brush_size = int(np.clip(brush_size, MIN_BRUSH, MAX_BRUSH))

    @property
    def current(self) -> Tool:
        return self._current

    def set_tool(self, name: str) -> None:
        if name != self._current.name:
            self._current = self.tools[name]
            self.tool_changed.emit(name)

    @property
    def brush_size(self) -> int:
        return self._brush_size

    def set_brush_size(self, size: int) -> None:
        size = int(np.clip(size, MIN_BRUSH, MAX_BRUSH))
        if size != self._brush_size:
            self._brush_size = size
            self.brush_size_changed.emit(size)

    def step_brush_size(self, up: bool) -> None:
        """``]`` / ``[``: about 15 % per press, at least 1 px, like most paint programs."""
        step = max(1, round(self._brush_size * 0.15))
        self.set_brush_size(self._brush_size + (step if up else -step))
