"""One photo being restored, and the box arithmetic the view-models share."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtGui import QUndoStack

from core.base import imageio
from core.base.pixels import Box


@dataclass(eq=False)
class Document:
    """One photo being restored. ``image`` and ``mask`` follow ``core``'s conventions; ``image``
    is replaced (never written in place), so an array reference identifies a state of it."""

    image: np.ndarray
    mask: np.ndarray
    source: imageio.Image  # as read from disk: format, ICC and EXIF are written back on save
    title: str
    path: Path | None = None
    # Where Save writes without asking; None until the user has picked a file once.
    save_path: Path | None = None
    undo_stack: QUndoStack = field(default_factory=QUndoStack)
    # The canvas's drawing of ``image`` when it was prepared off the GUI thread (large photos):
    # an app.pyramid.Pyramid whose ``source`` is the array it shows.
    display: object | None = None
    # The mask of the last fill still applied (undo follows), for an explicit refill.
    last_fill: np.ndarray | None = None
    # For a document made in the editor: the photo it was made from (it follows that one in
    # the folder's order).
    origin: Path | None = None

    @property
    def original(self) -> np.ndarray:
        return self.source.pixels

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()


def changed_box(before: np.ndarray, after: np.ndarray) -> Box | None:
    """Bounding box of the pixels that differ, or None when nothing does."""
    height, width = before.shape[:2]
    changed_rows, changed_cols = np.zeros(height, np.bool_), np.zeros(width, np.bool_)
    for top in range(0, height, 256):  # in blocks: no whole-image temporaries on a 50 MP scan
        diff = before[top : top + 256] != after[top : top + 256]
        if diff.ndim == 3:
            diff = diff.any(axis=2)
        changed_rows[top : top + 256] = diff.any(axis=1)
        changed_cols |= diff.any(axis=0)
    rows, cols = np.flatnonzero(changed_rows), np.flatnonzero(changed_cols)
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def union(a: Box | None, b: Box | None) -> Box | None:
    if a is None or b is None:
        return a or b
    return min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])


def folder_images(folder: Path) -> list[Path]:
    """Photos in ``folder`` that the engine can read, in case-insensitive name order."""
    suffixes = set(imageio.SUPPORTED_SUFFIXES)
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes]
    return sorted(files, key=lambda p: p.name.lower())
