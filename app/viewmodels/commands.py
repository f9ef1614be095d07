"""The undo steps. Each changes a document through the session's public calls
(``Session.write_mask``, ``Session.set_image``), as every other edit does."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QUndoCommand

from app.viewmodels.document import Box, Document
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
    """A fill result replacing the document's image (both arrays kept, no copies made)."""

    def __init__(
        self,
        session: Session,
        doc: Document,
        after: np.ndarray,
        method: str,
        boxes: list[Box] | None = None,
    ) -> None:
        super().__init__(f"Fill ({method})")
        self._session, self._doc = session, doc
        self._before, self._after = doc.image, after
        self._boxes = boxes  # where the two may differ, when known: the canvas redraws only those

    def redo(self) -> None:
        self._session.set_image(self._doc, self._after, show_mask=False, boxes=self._boxes)

    def undo(self) -> None:
        self._session.set_image(self._doc, self._before, show_mask=True, boxes=self._boxes)
