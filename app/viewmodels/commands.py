"""The undo steps. Each changes a document through the session's public calls
(``Session.write_mask``, ``Session.set_image``), as every other edit does."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QUndoCommand

from app.viewmodels.document import Box, Document, changed_box
from app.viewmodels.session import Session


class MaskEditCommand(QUndoCommand):
    """A change of the mask inside ``box``; only that patch is kept, before and after. Pushed
    after the edit was made, so its first ``redo`` has nothing to do."""

    def __init__(
        self, session: Session, doc: Document, box: Box, before: np.ndarray, text: str
    ) -> None:
        super().__init__(text)
        y0, y1, x0, x1 = box
        self._session, self._doc, self._box = session, doc, box
        self._before = before
        self._after = doc.mask[y0:y1, x0:x1].copy()
        self._applied = True

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        self._session.write_mask(self._doc, self._box, self._after)

    def undo(self) -> None:
        self._session.write_mask(self._doc, self._box, self._before)


class FillCommand(QUndoCommand):
    """A fill result replacing the document's image (both arrays kept, no copies made).

    Restorers work in passes: the region a fill filled (``filled``) leaves the mask with it, so
    the next stroke starts a new mask and the next Fill acts on that only. Undo brings back the
    image and the mask together. ``Document.last_fill`` follows, for an explicit refill.
    """

    def __init__(
        self,
        session: Session,
        doc: Document,
        after: np.ndarray,
        method: str,
        boxes: list[Box] | None = None,
        filled: np.ndarray | None = None,
    ) -> None:
        super().__init__(f"Fill ({method})")
        self._session, self._doc = session, doc
        self._before, self._after = doc.image, after
        self._boxes = boxes  # where the two may differ, when known: the canvas redraws only those
        self._filled = filled
        self._last_fill_before = doc.last_fill
        self._mask_box = None if filled is None else changed_box(filled, np.zeros_like(filled))
        self._mask_before: np.ndarray | None = None
        if self._mask_box is not None:
            y0, y1, x0, x1 = self._mask_box
            self._mask_before = doc.mask[y0:y1, x0:x1].copy()

    def redo(self) -> None:
        if self._mask_box is not None and self._filled is not None:
            y0, y1, x0, x1 = self._mask_box
            left = self._doc.mask[y0:y1, x0:x1] & ~self._filled[y0:y1, x0:x1]
            self._session.write_mask(self._doc, self._mask_box, left)
            self._doc.last_fill = self._filled
        self._session.set_image(self._doc, self._after, show_mask=True, boxes=self._boxes)

    def undo(self) -> None:
        if self._mask_box is not None and self._mask_before is not None:
            self._session.write_mask(self._doc, self._mask_box, self._mask_before)
            self._doc.last_fill = self._last_fill_before
        self._session.set_image(self._doc, self._before, show_mask=True, boxes=self._boxes)
