"""The editor's view-model: documents, undo, the fill job, progress and errors.

Widgets bind to the signals here and call its methods; nothing in this module draws. A fill is a
snapshot ``FillRequest`` run by a ``JobSlot`` (one job at a time); its result is applied as one
undo step only if the document still holds the image and mask the fill started from (else it is
stale and dropped). Documents stay in memory while the app runs, so going back to a photo in the
folder finds its mask, result and undo history as they were.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
from PySide6.QtCore import QEventLoop, QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoGroup, QUndoStack

from app.pyramid import Pyramid
from app.worker import Job, JobSlot
from core import imageio, masks, pipeline
from core.device import resolve_device
from core.errors import ImageTooLargeError, InpaintError
from core.progress import Progress
from core.registry import default_method_name, describe_methods
from core.resources import SAMPLE_IMAGE, SAMPLE_MASK

Box = tuple[int, int, int, int]  # y0, y1, x0, x1 in image pixels, end exclusive
T = TypeVar("T")


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


class MaskEditCommand(QUndoCommand):
    """A change of the mask inside ``box``; only that patch is kept, before and after."""

    def __init__(self, session: Session, doc: Document, box: Box, before: np.ndarray, text: str):
        super().__init__(text)
        y0, y1, x0, x1 = box
        self._session, self._doc, self._box = session, doc, box
        self._before = before
        self._after = doc.mask[y0:y1, x0:x1].copy()
        self._applied = True  # pushed after the edit was made: the first redo has nothing to do

    def _put(self, patch: np.ndarray) -> None:
        y0, y1, x0, x1 = self._box
        self._doc.mask[y0:y1, x0:x1] = patch
        self._session._notify_mask(self._doc, self._box)

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        self._put(self._after)

    def undo(self) -> None:
        self._put(self._before)


class FillCommand(QUndoCommand):
    """A fill result replacing the document's image (both arrays kept, no copies made)."""

    def __init__(
        self,
        session: Session,
        doc: Document,
        after: np.ndarray,
        method: str,
        boxes: list[Box] | None = None,
    ):
        super().__init__(f"Fill ({method})")
        self._session, self._doc = session, doc
        self._before, self._after = doc.image, after
        self._boxes = boxes  # where the two may differ, when known: the canvas redraws only those

    def redo(self) -> None:
        self._session._set_image(self._doc, self._after, show_mask=False, boxes=self._boxes)

    def undo(self) -> None:
        self._session._set_image(self._doc, self._before, show_mask=True, boxes=self._boxes)


@dataclass
class _FillJob(Job):
    doc: Document
    request: pipeline.FillRequest
    device_failed: bool = False


# Files larger than this are decoded on a worker thread while the event loop keeps running.
BACKGROUND_READ_BYTES = 4 << 20


class _Done(QObject):
    done = Signal()


def run_in_background(work: Callable[[], T], name: str) -> T:
    """``work()`` on a worker thread while the GUI thread keeps serving events (repaints, the
    busy indicator); returns its result or raises its exception here."""
    outcome: dict[str, object] = {}
    signal = _Done()
    loop = QEventLoop()
    signal.done.connect(loop.quit)  # queued: the loop quits even if the thread ends first

    def run() -> None:
        try:
            outcome["result"] = work()
        except BaseException as error:  # re-raised on the GUI thread below
            outcome["error"] = error
        finally:
            signal.done.emit()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    loop.exec()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["result"]  # type: ignore[return-value]


def _read_for_display(path: Path, max_pixels: int | None) -> tuple[imageio.Image, Pyramid]:
    image = imageio.read_image(path, max_pixels=max_pixels)
    return image, Pyramid(image.pixels)


def _with_changed_boxes(
    steps: Generator[Progress, None, np.ndarray], request: pipeline.FillRequest
) -> Generator[Progress, None, tuple[np.ndarray, list[Box]]]:
    """The fill, plus boxes holding every pixel it may have changed (a fill changes nothing
    beyond the blend band around the holes), found on the worker thread: the canvas then
    redraws only those, not a 50 MP photo."""
    result = yield from steps
    return result, masks.hole_boxes(request.mask, pipeline.BLEND_BAND + 1)


def folder_images(folder: Path) -> list[Path]:
    """Photos in ``folder`` that the engine can read, in case-insensitive name order."""
    suffixes = set(imageio.SUPPORTED_SUFFIXES)
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes]
    return sorted(files, key=lambda p: p.name.lower())


class Session(QObject):
    document_changed = Signal()  # another document became current (or none)
    image_changed = Signal()  # the current document's image was replaced
    mask_changed = Signal(object)  # Box of the current mask that changed, or None for all
    mask_visible_changed = Signal(bool)
    busy_changed = Signal(bool)
    progress_changed = Signal(float, str)
    message = Signal(str)  # a passing note for the status bar
    error = Signal(str)  # something the user must see; the document is unchanged
    fill_finished = Signal()  # a fill result was applied to its document
    opened = Signal(str)  # a file was opened (for recent files / last folder)
    too_large = Signal(str, str)  # path, message: over the pixel limit; may be opened anyway
    loading_changed = Signal(bool)  # a photo is being decoded
    edited = Signal(object)  # Document whose undo history moved (autosave listens)
    closed = Signal(object)  # Document dropped from the session

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_group = QUndoGroup(self)
        self._documents: dict[Path, Document] = {}
        self._current: Document | None = None
        self._mask_visible = True
        self._fill: JobSlot[_FillJob] = JobSlot(self)
        self._runner = self._fill.runner  # its thread; tests check it is gone after a close
        self._fill.busy_changed.connect(self.busy_changed)
        self._fill.progressed.connect(self.progress_changed)
        self._fill.returned.connect(self._on_returned)
        self._fill.errored.connect(self._on_errored)
        self._fill.aborted.connect(self._on_aborted)
        self._fill.device_failed.connect(self._on_device_failed)
        # After an accelerator error (out of memory, CUDA failure) fills run on the CPU.
        self.cpu_fallback = False
        self.loading = False
        self.max_pixels: int | None = imageio.DEFAULT_MAX_PIXELS
        self.image_change_boxes: list[Box] | None = None
        self._stroke_before: np.ndarray | None = None
        self._stroke_box: Box | None = None
        self.method = default_method_name()
        self.device = "auto"
        self.grow_step = 3

    # -- documents ---------------------------------------------------------------------------

    @property
    def document(self) -> Document | None:
        return self._current

    @property
    def mask_visible(self) -> bool:
        return self._mask_visible

    def documents(self) -> list[Document]:
        return list(self._documents.values())

    def unsaved_titles(self) -> list[str]:
        return [doc.title for doc in self._documents.values() if doc.modified]

    def open_path(self, path: str | Path, *, unlimited: bool = False) -> bool:
        """Make ``path`` the current document (reusing it if it was open); False on error.

        A photo over ``self.max_pixels`` emits ``too_large`` instead of ``error``; opening it
        again with ``unlimited`` (the user said "open anyway") lifts the limit.
        """
        path = Path(path).expanduser().resolve()
        doc = self._documents.get(path)
        if doc is None:
            if self.loading:
                self.message.emit("Still opening the previous photo...")
                return False
            try:
                source, display = self._read(path, None if unlimited else self.max_pixels)
            except ImageTooLargeError as error:
                self.too_large.emit(str(path), str(error))
                return False
            except InpaintError as error:
                self.error.emit(str(error))
                return False
            except MemoryError:
                self.error.emit(f"Not enough memory to open {path.name}.")
                return False
            doc = self._new_document(source, path.name, path)
            doc.display = display
            self._documents[path] = doc
        self._activate(doc)
        self.opened.emit(str(path))
        return True

    def _read(self, path: Path, max_pixels: int | None) -> tuple[imageio.Image, Pyramid | None]:
        """The photo, and for a large one its display pyramid, both made off the GUI thread."""
        try:
            size = path.stat().st_size
        except OSError:
            size = 0  # read_image reports the problem
        if size < BACKGROUND_READ_BYTES:
            return imageio.read_image(path, max_pixels=max_pixels), None
        self.loading = True
        self.loading_changed.emit(True)
        self.progress_changed.emit(0.0, f"Opening {path.name}...")
        try:
            return run_in_background(lambda: _read_for_display(path, max_pixels), "open")
        finally:
            self.loading = False
            self.loading_changed.emit(False)

    def open_sample(self) -> bool:
        """The bundled damaged photo with its damage already masked, ready to fill."""
        if not self.open_path(SAMPLE_IMAGE):
            return False
        doc = self._current
        if doc is not None and not doc.mask.any() and SAMPLE_MASK.exists():
            doc.mask[:] = masks.load_mask(SAMPLE_MASK, doc.image.shape[:2])
            self._notify_mask(doc, None)
        self.message.emit("Sample photo: its damage is already masked - press F to fill it.")
        return True

    def new_document(
        self, pixels: np.ndarray, title: str, mask: np.ndarray | None = None
    ) -> Document:
        """An untitled document made in the editor (e.g. generated); Save asks where to write."""
        doc = self._new_document(imageio.Image(pixels), title, None)
        if mask is not None:
            doc.mask[:] = mask
        # Keyed by a name no file can have: documents are looked up by path when reopened.
        self._documents[Path(f"<untitled {id(doc)}>")] = doc
        self._activate(doc)
        self.mask_changed.emit(None)
        return doc

    def _new_document(self, source: imageio.Image, title: str, path: Path | None) -> Document:
        pixels = source.pixels
        if pixels.ndim == 2:
            source = dataclasses.replace(source, pixels=pixels[..., None])
        mask = np.zeros(source.pixels.shape[:2], np.bool_)
        doc = Document(source.pixels, mask, source, title, path)
        self.undo_group.addStack(doc.undo_stack)
        doc.undo_stack.indexChanged.connect(lambda _index: self.edited.emit(doc))
        doc.undo_stack.cleanChanged.connect(lambda _clean: self.edited.emit(doc))
        return doc

    def activate(self, doc: Document) -> None:
        """Make an open document the current one."""
        if doc is not self._current:
            self._activate(doc)

    def _activate(self, doc: Document) -> None:
        self._cancel_stroke()
        self._current = doc
        self.undo_group.setActiveStack(doc.undo_stack)
        self._mask_visible = True
        self.document_changed.emit()
        self.mask_visible_changed.emit(True)

    def neighbour_path(self, step: int) -> Path | None:
        """The photo ``step`` places after (negative: before) the current one in its folder."""
        doc = self._current
        if doc is None or doc.path is None or not doc.path.parent.is_dir():
            return None
        files = folder_images(doc.path.parent)
        if doc.path not in files:
            return None
        index = files.index(doc.path) + step
        return files[index] if 0 <= index < len(files) else None

    # -- saving ------------------------------------------------------------------------------

    def needs_save_path(self) -> bool:
        """True while Save must ask where to write (never straight over the opened file)."""
        return self._current is not None and self._current.save_path is None

    def suggested_save_path(self) -> Path | None:
        doc = self._current
        if doc is None:
            return None
        if doc.save_path is not None:
            return doc.save_path
        if doc.path is None or doc.path.parent == SAMPLE_IMAGE.parent:
            return Path.home() / "restored.png"
        return doc.path.with_name(f"{doc.path.stem}-restored{doc.path.suffix}")

    def save(self, path: str | Path | None = None, *, overwrite: bool = False) -> bool:
        """Write the current image to ``path`` (or the document's save path, which may be
        overwritten since the user chose it). Format, bit depth, alpha, ICC and EXIF come from
        the file the photo was read from."""
        doc = self._current
        if doc is None:
            return False
        if path is None:
            if doc.save_path is None:
                raise ValueError("no save path yet: ask the user (Save As)")
            path, overwrite = doc.save_path, True
        path = Path(path)
        image = dataclasses.replace(doc.source, pixels=doc.image, source=path)
        try:
            imageio.write_image(image, path, overwrite=overwrite)
        except InpaintError as error:
            self.error.emit(str(error))
            return False
        doc.save_path = path.resolve()
        doc.undo_stack.setClean()
        self.message.emit(f"Saved {path}")
        return True

    # -- mask editing ------------------------------------------------------------------------

    def begin_mask_edit(self) -> np.ndarray | None:
        """Start a stroke; returns the mask to draw into (edit it, then ``mask_edited``)."""
        doc = self._current
        if doc is None:
            return None
        self._stroke_before = doc.mask.copy()
        self._stroke_box = None
        return doc.mask

    def mask_edited(self, box: Box | None) -> None:
        """Part of the current stroke was drawn into ``box``."""
        if self._current is None or box is None or self._stroke_before is None:
            return
        self._stroke_box = union(self._stroke_box, box)
        self._notify_mask(self._current, box)

    def end_mask_edit(self, text: str) -> None:
        """Finish the stroke as one undo step (nothing if it changed nothing)."""
        doc, before, box = self._current, self._stroke_before, self._stroke_box
        self._stroke_before = self._stroke_box = None
        if doc is None or before is None or box is None:
            return
        y0, y1, x0, x1 = box
        patch = before[y0:y1, x0:x1]
        if np.array_equal(patch, doc.mask[y0:y1, x0:x1]):
            return
        doc.undo_stack.push(MaskEditCommand(self, doc, box, patch.copy(), text))

    def _cancel_stroke(self) -> None:
        if self._stroke_before is not None:
            self.end_mask_edit("Paint mask")

    def _replace_mask(self, new_mask: np.ndarray, text: str) -> None:
        doc = self._current
        if doc is None:
            return
        box = changed_box(doc.mask, new_mask)
        if box is None:
            self._show_mask()
            return
        y0, y1, x0, x1 = box
        before = doc.mask[y0:y1, x0:x1].copy()
        doc.mask[y0:y1, x0:x1] = new_mask[y0:y1, x0:x1]
        self._notify_mask(doc, box)
        doc.undo_stack.push(MaskEditCommand(self, doc, box, before, text))

    def apply_recovered(self, mask: np.ndarray, image: np.ndarray | None) -> None:
        """Put autosaved work back into the current document, as undo steps."""
        doc = self._current
        if doc is None or mask.shape != doc.mask.shape:
            return
        if image is not None and image.shape == doc.image.shape and image.dtype == doc.image.dtype:
            doc.undo_stack.push(FillCommand(self, doc, image, "recovered"))
        self._replace_mask(mask, "Recovered mask")

    def load_mask_file(self, path: str | Path) -> bool:
        """Replace the mask by a mask image, as one undo step. A file that cannot be used
        (unreadable, another size, marking nothing) is a message and changes nothing."""
        doc = self._current
        if doc is None:
            return False
        try:
            mask = masks.load_mask(path, doc.mask.shape)
        except InpaintError as error:
            self.error.emit(str(error))
            return False
        if not mask.any():
            self.message.emit(f"{Path(path).name} marks no damage; the mask is unchanged.")
            return False
        self._replace_mask(mask, "Load mask")
        return True

    def add_to_mask(self, extra: np.ndarray, text: str) -> bool:
        """Mark ``extra`` (bool, the mask's shape) as damage too, as one undo step; False when
        it adds nothing (no step is made)."""
        doc = self._current
        if doc is None or extra.shape != doc.mask.shape or not (extra & ~doc.mask).any():
            return False
        self._replace_mask(doc.mask | extra, text)
        return True

    def clear_mask(self) -> None:
        if self._current is not None:
            self._replace_mask(np.zeros_like(self._current.mask), "Clear mask")

    def invert_mask(self) -> None:
        if self._current is not None:
            self._replace_mask(masks.invert(self._current.mask), "Invert mask")

    def grow_mask(self, pixels: int | None = None) -> None:
        if self._current is not None:
            px = self.grow_step if pixels is None else pixels
            self._replace_mask(masks.grow(self._current.mask, px), f"Grow mask {px} px")

    def shrink_mask(self, pixels: int | None = None) -> None:
        if self._current is not None:
            px = self.grow_step if pixels is None else pixels
            self._replace_mask(masks.shrink(self._current.mask, px), f"Shrink mask {px} px")

    def set_mask_visible(self, visible: bool) -> None:
        if visible != self._mask_visible:
            self._mask_visible = visible
            self.mask_visible_changed.emit(visible)

    def _show_mask(self) -> None:
        self.set_mask_visible(True)

    def _notify_mask(self, doc: Document, box: Box | None) -> None:
        if doc is self._current:
            self._show_mask()  # editing a hidden mask would be editing blind
            self.mask_changed.emit(box)

    def _set_image(
        self, doc: Document, image: np.ndarray, *, show_mask: bool, boxes: list[Box] | None = None
    ) -> None:
        same_shape = doc.image.shape == image.shape and doc.image.dtype == image.dtype
        doc.image = image
        # Read by image_changed listeners: only these boxes may differ from the previous image.
        self.image_change_boxes = boxes if same_shape else None
        if doc is self._current:
            self.image_changed.emit()
            self.set_mask_visible(show_mask)

    # -- filling -----------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._fill.busy

    def start_fill(self) -> bool:
        """Fill the current mask in the background; False (with a message) if it can't start."""
        doc = self._current
        if doc is None or self._fill.busy:
            return False
        if not doc.mask.any():
            self.message.emit("Nothing to fill: paint over the damage first.")
            return False
        info = {m.name: m for m in describe_methods()}.get(self.method)
        if info is not None and not info.available:
            self.error.emit(f"{self.method} cannot run here: {info.reason}")
            return False
        try:
            device = "cpu" if self.cpu_fallback else resolve_device(self.device)
        except InpaintError as error:
            self.error.emit(str(error))
            return False
        # A snapshot: the user keeps painting into doc.mask while this runs.
        request = pipeline.FillRequest(doc.image, doc.mask.copy(), self.method, device=device)
        # Looked up at call time so that tests (and future hooks) can substitute the pipeline.
        self._fill.start(
            _FillJob(doc, request),
            lambda: _with_changed_boxes(pipeline.fill_steps(request), request),
        )
        self.progress_changed.emit(0.0, f"Filling with {self.method}...")
        return True

    def cancel_fill(self) -> None:
        if self._fill.cancel():
            self.progress_changed.emit(0.0, "Cancelling...")

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Stop any job and wait for its thread (call before the window goes away)."""
        return self._fill.shutdown(timeout_s)

    # The slot has ended the job before these arrive, and drops signals of any other job.

    def _on_returned(self, job: _FillJob, outcome: tuple[np.ndarray, list[Box]]) -> None:
        result, boxes = outcome
        doc, request = job.doc, job.request
        if doc.image is not request.image or not np.array_equal(doc.mask, request.mask):
            self.message.emit(
                "The mask or photo changed while filling, so that result was dropped. "
                "Press Fill again."
            )
            return
        doc.undo_stack.push(FillCommand(self, doc, result, request.method, boxes))
        self.message.emit(f"Filled with {request.method}.")
        self.fill_finished.emit()

    def _on_errored(self, job: _FillJob, text: str) -> None:
        if job.device_failed:
            text += f". The {job.request.device} device failed: the next fill runs on the CPU"
        self.error.emit(f"The fill failed: {text}")

    def _on_device_failed(self, job: _FillJob) -> None:
        if job.request.device != "cpu":
            job.device_failed = True
            self.cpu_fallback = True

    def _on_aborted(self, _job: _FillJob) -> None:
        self.message.emit("Fill cancelled; the photo is unchanged.")
