"""Autosave for crash recovery: after each change, a debounced timer snapshots the changed
documents on the GUI thread (a mask copy; the image array is never modified in place, so its
reference is a snapshot) and the files worker writes them with ``core.base.recovery``.

A document that becomes clean again (saved, or undone to where it was opened) has its recovery
files removed. ``shutdown(discard=True)`` on a clean exit removes this editor's folder. A
document made in the editor (New from manifold) has no file to recover onto: the pixels it
started from are saved with its work, and a restore opens it as a new document again.
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from app.viewmodels.commands import FillCommand
from app.viewmodels.document import Box, Document
from app.viewmodels.masks import MaskEditor
from app.viewmodels.session import Session
from app.worker import Task, Worker, call
from core.base.errors import InpaintError
from core.base.recovery import RecoveredDocument, RecoveryStore, SourceStamp, diff_patches

log = logging.getLogger(__name__)

AUTOSAVE_DELAY_MS = 1500  # quiet time after the last change before writing


@dataclass(frozen=True)
class _Snapshot:
    stamp: SourceStamp
    title: str
    mask: np.ndarray | None  # None: discard this document's recovery files
    image: np.ndarray | None  # the current image, when a fill changed it
    original: np.ndarray
    image_saved: bool  # this very image is on disk already: only the mask is written
    shape: tuple[int, ...]
    dtype: str
    made_here: bool = False  # no source file: ``original`` is written with the work
    origin: str | None = None  # the photo a document made here was made from


class Autosaver(QObject):
    saved = Signal()  # a round of writes finished (tests wait for it)
    failed = Signal(str)  # a write failed; the next change tries again

    def __init__(
        self, session: Session, store: RecoveryStore, worker: Worker, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.session, self.store, self._worker = session, store, worker
        self._pending: dict[int, Document] = {}
        self._stamps: dict[int, SourceStamp] = {}
        self._task: Task | None = None
        self._written = threading.Event()  # set while no round of writes is in flight
        self._written.set()
        # Per source path, the image last written (weakly: the undo stack owns the arrays).
        self._saved_image: dict[str, weakref.ref] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(AUTOSAVE_DELAY_MS)
        self._timer.timeout.connect(self.flush)
        session.edited.connect(self.schedule)
        # Stamp each file as it is opened: an edit much later must not stamp a file that was
        # changed on disk in between (a restore would then apply to the wrong pixels).
        session.document_changed.connect(lambda: self._stamp(session.document))

    @property
    def delay_ms(self) -> int:
        return self._timer.interval()

    @delay_ms.setter
    def delay_ms(self, value: int) -> None:
        self._timer.setInterval(int(value))

    def _stamp(self, doc: Document | None) -> bool:
        if doc is None:
            return False
        if doc.path is None:
            # Made in the editor: no file, so a name no file has keys its recovery folder.
            self._stamps.setdefault(id(doc), SourceStamp(f"<untitled {id(doc)}>", 0, 0))
        elif id(doc) not in self._stamps:
            try:
                self._stamps[id(doc)] = SourceStamp.of(doc.path)
            except OSError:
                return False
        return True

    def schedule(self, doc: Document) -> None:
        if not self._stamp(doc):
            return  # its file could not be read
        self._pending[id(doc)] = doc
        self._timer.start()  # restart: write once the edits pause

    def flush(self) -> None:
        """Snapshot the pending documents now and write them on the worker thread."""
        if not self._pending:
            return
        if self._task is not None and not self._task.ended:
            self._timer.start()  # the previous round is still writing; try again later
            return
        snapshots = [self._snapshot(doc) for doc in self._pending.values()]
        self._pending.clear()
        self._written.clear()
        self._task = self._worker.submit(
            call(lambda: self._write(snapshots)),
            on_done=self._round_done,
            on_abort=self._written.set,
        )

    def _snapshot(self, doc: Document) -> _Snapshot:
        stamp = self._stamps[id(doc)]
        if not doc.modified:
            return _Snapshot(stamp, doc.title, None, None, doc.original, False, (), "")
        image = doc.image if doc.image is not doc.original else None
        saved = self._saved_image.get(stamp.path)
        image_saved = saved is not None and saved() is doc.image
        shape, dtype = tuple(doc.image.shape), str(doc.image.dtype)
        origin = None if doc.origin is None else str(doc.origin)
        return _Snapshot(
            stamp, doc.title, doc.mask.copy(), image, doc.original, image_saved, shape, dtype,
            made_here=doc.path is None, origin=origin,
        )  # fmt: skip

    @staticmethod
    def _patches(snap: _Snapshot) -> list[tuple[np.ndarray, Box]] | None:
        """What of the image to write: nothing new (None) when this image was saved before,
        else the boxes a fill changed (a painted mask alone changes none)."""
        if snap.image_saved:
            return None
        if snap.image is None or snap.image.shape != snap.original.shape:
            return []
        return diff_patches(snap.original, snap.image)

    def _write(self, snapshots: list[_Snapshot]) -> str:
        """On the files worker: write each snapshot; returns what went wrong, if anything."""
        try:
            return self._write_all(snapshots)
        finally:
            self._written.set()

    def _write_all(self, snapshots: list[_Snapshot]) -> str:
        problem = ""
        for snap in snapshots:
            try:
                if snap.mask is None:
                    self.store.discard(Path(snap.stamp.path))
                    self._saved_image.pop(snap.stamp.path, None)
                else:
                    patches = self._patches(snap)
                    original = snap.original if snap.made_here else None
                    self.store.save(
                        snap.stamp, snap.title, snap.mask, patches, snap.shape, snap.dtype,
                        original=original, origin=snap.origin,
                    )  # fmt: skip
                    shown = snap.image if snap.image is not None else snap.original
                    self._saved_image[snap.stamp.path] = weakref.ref(shown)
            except Exception as error:  # a full disk must not take the editor down
                log.warning("autosave of %s failed: %s", snap.title, error)
                problem = f"Autosave of {snap.title} failed: {error}"
        return problem

    def _round_done(self, problem: str) -> None:
        if problem:
            self.failed.emit(problem)
        self.saved.emit()

    def wait(self, timeout_s: float = 30.0) -> None:
        """Block until the current round of writes is done."""
        self._written.wait(timeout_s)

    def shutdown(self, *, discard: bool) -> None:
        """Stop autosaving; ``discard`` removes this editor's recovery files (clean exit)."""
        self._timer.stop()
        self._pending.clear()
        self.wait()
        if discard:
            self.store.discard_all()


def restore(
    session: Session, mask_editor: MaskEditor, entries: list[RecoveredDocument]
) -> tuple[int, list[str]]:
    """Open each entry's photo (or, for a document made in the editor, a new document of the
    pixels it started from) and re-apply its mask and fill as undo steps (so the document is
    unsaved again). Returns (restored count, problems for the user). The photos are read on
    the GUI thread: this runs once, at start-up, before the user works in the window."""
    restored, problems = 0, []
    for entry in entries:
        if entry.original_file is not None:
            try:
                pixels = entry.load_original()
            except InpaintError as error:
                problems.append(f"{entry.title}: {error}")
                continue
            origin = None if entry.origin is None else Path(entry.origin)
            session.new_document(pixels, entry.title, origin=origin)
        elif not entry.source.unchanged():
            problems.append(f"{entry.title} changed or moved since; its work was not restored")
            continue
        elif not session.open_path(entry.source.path, unlimited=True, background=False):
            problems.append(f"{entry.title} could not be opened")
            continue
        doc = session.document
        assert doc is not None
        try:
            mask, image = entry.load_mask(), entry.load_image(doc.original)
        except InpaintError as error:
            problems.append(f"{entry.title}: {error}")
            continue
        _apply_recovered(session, mask_editor, doc, mask, image)
        restored += 1
    return restored, problems


def _apply_recovered(
    session: Session,
    mask_editor: MaskEditor,
    doc: Document,
    mask: np.ndarray,
    image: np.ndarray | None,
) -> None:
    """Put autosaved work back into ``doc`` (the current document), as undo steps."""
    if mask.shape != doc.mask.shape:
        return
    if image is not None and image.shape == doc.image.shape and image.dtype == doc.image.dtype:
        doc.undo_stack.push(FillCommand(session, doc, image, "recovered"))
    mask_editor.replace(mask, "Recovered mask")
