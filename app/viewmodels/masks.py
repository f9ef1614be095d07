"""Editing the current document's mask: strokes of the tools and whole-mask operations, each
one undo step (``MaskEditCommand``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject

from app.viewmodels.commands import MaskEditCommand
from app.viewmodels.document import Box, changed_box, union
from app.viewmodels.session import Session
from core.base import masks
from core.base.errors import InpaintError

GROW_STEP = 3  # px that Grow / Shrink Mask move the mask's edge


class MaskEditor(QObject):
    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.grow_step = GROW_STEP
        self._stroke_before: np.ndarray | None = None
        self._stroke_box: Box | None = None
        session.leaving.connect(self._finish_stroke)

    # -- strokes (the tools) -----------------------------------------------------------------

    def begin_stroke(self) -> np.ndarray | None:
        """Start a stroke; returns the mask to draw into (draw, then ``stroke_drawn``)."""
        doc = self.session.document
        if doc is None:
            return None
        self._stroke_before = doc.mask.copy()
        self._stroke_box = None
        return doc.mask

    def stroke_drawn(self, box: Box | None) -> None:
        """Part of the current stroke was drawn into ``box``."""
        doc = self.session.document
        if doc is None or box is None or self._stroke_before is None:
            return
        self._stroke_box = union(self._stroke_box, box)
        self.session.mask_written(doc, box)

    def end_stroke(self, text: str) -> None:
        """Finish the stroke as one undo step (nothing if it changed nothing)."""
        doc, before, box = self.session.document, self._stroke_before, self._stroke_box
        self._stroke_before = self._stroke_box = None
        if doc is None or before is None or box is None:
            return
        y0, y1, x0, x1 = box
        patch = before[y0:y1, x0:x1]
        if np.array_equal(patch, doc.mask[y0:y1, x0:x1]):
            return
        doc.undo_stack.push(MaskEditCommand(self.session, doc, box, patch.copy(), text))

    def _finish_stroke(self) -> None:
        if self._stroke_before is not None:
            self.end_stroke("Paint mask")

    # -- whole-mask operations ---------------------------------------------------------------

    def replace(self, new_mask: np.ndarray, text: str) -> None:
        """Make ``new_mask`` the current document's mask, as one undo step."""
        doc = self.session.document
        if doc is None:
            return
        box = changed_box(doc.mask, new_mask)
        if box is None:
            self.session.set_mask_visible(True)
            return
        y0, y1, x0, x1 = box
        before = doc.mask[y0:y1, x0:x1].copy()
        self.session.write_mask(doc, box, new_mask[y0:y1, x0:x1])
        doc.undo_stack.push(MaskEditCommand(self.session, doc, box, before, text))

    def add(self, extra: np.ndarray, text: str) -> bool:
        """Mark ``extra`` (bool, the mask's shape) as damage too, as one undo step; False when
        it adds nothing (no step is made)."""
        doc = self.session.document
        if doc is None or extra.shape != doc.mask.shape or not (extra & ~doc.mask).any():
            return False
        self.replace(doc.mask | extra, text)
        return True

    def load_file(self, path: str | Path) -> bool:
        """Replace the mask by a mask image, as one undo step. A file that cannot be used
        (unreadable, another size, marking nothing) is a message and changes nothing."""
        doc = self.session.document
        if doc is None:
            return False
        try:
            mask = masks.load_mask(path, doc.mask.shape)
        except InpaintError as error:
            self.session.error.emit(str(error))
            return False
        if not mask.any():
            self.session.message.emit(f"{Path(path).name} marks no damage; the mask is unchanged.")
            return False
        self.replace(mask, "Load mask")
        return True

    def clear(self) -> None:
        doc = self.session.document
        if doc is not None:
            self.replace(np.zeros_like(doc.mask), "Clear mask")

    def invert(self) -> None:
        doc = self.session.document
        if doc is not None:
            self.replace(masks.invert(doc.mask), "Invert mask")

    def grow(self, pixels: int | None = None) -> None:
        doc = self.session.document
        if doc is not None:
            px = self.grow_step if pixels is None else pixels
            self.replace(masks.grow(doc.mask, px), f"Grow mask {px} px")

    def shrink(self, pixels: int | None = None) -> None:
        doc = self.session.document
        if doc is not None:
            px = self.grow_step if pixels is None else pixels
            self.replace(masks.shrink(doc.mask, px), f"Shrink mask {px} px")
