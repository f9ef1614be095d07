"""The editor's documents: opening (large photos on the files worker), switching, saving, and the
one place where a document's image and mask change (``set_image``, ``write_mask``), so that
every change reaches the canvas and the panels through the same signals.

Documents stay in memory while the app runs, so going back to a photo in the folder finds its
mask, result and undo history as they were.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoGroup

from app.pyramid import Pyramid
from app.viewmodels.document import Box, Document, folder_images
from app.worker import Worker, call
from core.base import imageio, masks
from core.base.errors import ImageTooLargeError, InpaintError
from core.base.resources import SAMPLE_IMAGE, SAMPLE_MASK

# Files larger than this are decoded on the files worker while the event loop keeps running.
BACKGROUND_READ_BYTES = 4 << 20

Read = tuple[imageio.Image, Pyramid | None]


@dataclass(frozen=True)
class Neighbour:
    """A photo (a file, or a document made in the editor) next to the current one."""

    target: Path | Document
    number: int  # its place in the folder, from 1
    count: int  # photos in the folder (and documents made from them)
    wrapped: bool  # reached by going round past the folder's last (or first) photo

    @property
    def name(self) -> str:
        return self.target.name if isinstance(self.target, Path) else self.target.title


def _read(path: Path, max_pixels: int | None, pyramid: bool) -> Read | Exception:
    """The photo (and its display pyramid, for one read off the GUI thread), or what went wrong
    as a value: the caller tells a photo over the limit from a broken file."""
    try:
        image = imageio.read_image(path, max_pixels=max_pixels)
        return image, Pyramid(image.pixels) if pyramid else None
    except (InpaintError, MemoryError) as error:
        return error


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # read_image reports the problem


class Session(QObject):
    document_changed = Signal()  # another document became current (or none)
    leaving = Signal()  # the current document is about to stop being current
    image_changed = Signal()  # the current document's image was replaced
    mask_changed = Signal(object)  # Box of the current mask that changed, or None for all
    mask_visible_changed = Signal(bool)
    message = Signal(str)  # a passing note for the status bar
    error = Signal(str)  # something the user must see; the document is unchanged
    opened = Signal(str)  # a file was opened (for recent files / last folder)
    too_large = Signal(str, str)  # path, message: over the pixel limit; may be opened anyway
    loading_changed = Signal(bool)  # a photo is being decoded on the files worker
    edited = Signal(object)  # Document whose undo history moved (autosave listens)

    def __init__(self, files: Worker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_group = QUndoGroup(self)
        self._files = files
        self._documents: dict[Path, Document] = {}
        self._current: Document | None = None
        self._mask_visible = True
        self.loading = False
        self.max_pixels: int | None = imageio.DEFAULT_MAX_PIXELS
        # Read by image_changed listeners: only these boxes may differ from the previous image.
        self.image_change_boxes: list[Box] | None = None

    # -- documents ---------------------------------------------------------------------------

    @property
    def document(self) -> Document | None:
        return self._current

    def documents(self) -> list[Document]:
        return list(self._documents.values())

    def unsaved_titles(self) -> list[str]:
        return [doc.title for doc in self._documents.values() if doc.modified]

    def open_path(
        self, path: str | Path, *, unlimited: bool = False, background: bool | None = None
    ) -> bool:
        """Make ``path`` the current document (reusing it if it was open); False on error. A
        folder opens its first photo in PgUp / PgDn's order (they go through the others).

        A file over ``BACKGROUND_READ_BYTES`` (or any, with ``background=True``) is read on the
        files worker: True then means "opening", and ``document_changed`` follows. A photo
        over ``self.max_pixels`` emits ``too_large`` instead of ``error``; opening it again
        with ``unlimited`` (the user said "open anyway") lifts the limit.
        """
        path = Path(path).expanduser().resolve()
        if path.is_dir():
            first = self._first_photo(path)
            if first is None:
                return False
            path = first
        doc = self._documents.get(path)
        if doc is not None:
            self._open_done(path, doc)
            return True
        if self.loading:
            self.message.emit("Still opening the previous photo...")
            return False
        limit = None if unlimited else self.max_pixels
        if background is None:
            background = _file_size(path) >= BACKGROUND_READ_BYTES
        if not background:
            return self._add_read(path, _read(path, limit, pyramid=False))
        self._set_loading(True)
        self.message.emit(f"Opening {path.name}...")
        self._files.submit(
            call(lambda: _read(path, limit, pyramid=True)),
            on_done=lambda outcome: self._read_in_background(path, outcome),
            on_error=lambda failure: self._read_in_background(path, InpaintError(failure.text)),
        )
        return True

    def _first_photo(self, folder: Path) -> Path | None:
        """The photo ``folder`` opens on; None, with an error saying why, if it has none."""
        try:
            photos = folder_images(folder)
        except OSError as error:
            self.error.emit(f"Cannot read the folder {folder}: {error.strerror or error}")
            return None
        if not photos:
            kinds = ", ".join(suffix.lstrip(".") for suffix in imageio.SUPPORTED_SUFFIXES)
            self.error.emit(f"No photos to open in {folder} (the editor opens {kinds} files).")
            return None
        return photos[0]

    def _read_in_background(self, path: Path, outcome: Read | Exception) -> None:
        self._set_loading(False)
        self._add_read(path, outcome)

    def _add_read(self, path: Path, outcome: Read | Exception) -> bool:
        if isinstance(outcome, ImageTooLargeError):
            self.too_large.emit(str(path), str(outcome))
        elif isinstance(outcome, MemoryError):
            self.error.emit(f"Not enough memory to open {path.name}.")
        elif isinstance(outcome, Exception):
            self.error.emit(str(outcome))
        else:
            source, display = outcome
            doc = self._new_document(source, path.name, path)
            doc.display = display
            self._documents[path] = doc
            self._open_done(path, doc)
            return True
        return False

    def _open_done(self, path: Path, doc: Document) -> None:
        self.activate(doc)
        self.opened.emit(str(path))

    def _set_loading(self, loading: bool) -> None:
        self.loading = loading
        self.loading_changed.emit(loading)

    def open_sample(self) -> bool:
        """The bundled damaged photo with its damage already masked, ready to fill."""
        if not self.open_path(SAMPLE_IMAGE, background=False):
            return False
        doc = self._current
        if doc is not None and not doc.mask.any() and SAMPLE_MASK.exists():
            doc.mask[:] = masks.load_mask(SAMPLE_MASK, doc.image.shape[:2])
            self.mask_written(doc, None)
        self.message.emit("Sample photo: its damage is already masked - press F to fill it.")
        return True

    def new_document(
        self,
        pixels: np.ndarray,
        title: str,
        mask: np.ndarray | None = None,
        origin: Path | None = None,
    ) -> Document:
        """An untitled document made in the editor (e.g. generated) from the photo at ``origin``
        (where PgUp / PgDn find it); Save asks where to write."""
        doc = self._new_document(imageio.Image(pixels), title, None)
        doc.origin = origin
        if mask is not None:
            doc.mask[:] = mask
        # Unsaved until saved once (it exists nowhere else): the title says so, closing asks,
        # and the autosave keeps it for recovery.
        doc.undo_stack.resetClean()
        # Keyed by a name no file can have: documents are looked up by path when reopened.
        self._documents[Path(f"<untitled {id(doc)}>")] = doc
        self.activate(doc)
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
        if doc is self._current:
            return
        self.leaving.emit()  # a stroke in progress is finished on the photo it was drawn on
        self._current = doc
        self.undo_group.setActiveStack(doc.undo_stack)
        self._mask_visible = True
        self.document_changed.emit()
        self.mask_visible_changed.emit(True)

    def neighbour(self, step: int) -> Neighbour | None:
        """What ``step`` places after (negative: before) the current photo in its folder; past
        either end it wraps round (``Neighbour.wrapped`` says so). Documents made in the editor
        (New from manifold) sit right after the photo they were made from."""
        doc = self._current
        if doc is None:
            return None
        anchor = doc.path if doc.path is not None else doc.origin
        if anchor is None or not anchor.parent.is_dir():
            return None
        entries: list[Path | Document] = []
        for path in folder_images(anchor.parent):
            entries.append(path)
            entries += [d for d in self._documents.values() if d.path is None and d.origin == path]
        here: Path | Document = doc if doc.path is None else doc.path
        if here not in entries:
            return None
        index = entries.index(here) + step
        wrapped = not 0 <= index < len(entries)
        index %= len(entries)
        return Neighbour(entries[index], index + 1, len(entries), wrapped and len(entries) > 1)

    def open_neighbour(self, neighbour: Neighbour) -> bool:
        """Open (or switch to) what ``neighbour`` names."""
        if isinstance(neighbour.target, Document):
            self.activate(neighbour.target)
            return True
        return self.open_path(neighbour.target)

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

    # -- changing a document (undo commands and the mask editor come through here) -----------

    @property
    def mask_visible(self) -> bool:
        return self._mask_visible

    def set_mask_visible(self, visible: bool) -> None:
        if visible != self._mask_visible:
            self._mask_visible = visible
            self.mask_visible_changed.emit(visible)

    def write_mask(self, doc: Document, box: Box, patch: np.ndarray) -> None:
        """Put ``patch`` into ``box`` of ``doc``'s mask."""
        y0, y1, x0, x1 = box
        doc.mask[y0:y1, x0:x1] = patch
        self.mask_written(doc, box)

    def mask_written(self, doc: Document, box: Box | None) -> None:
        """``box`` of ``doc``'s mask (None: all of it) was just written."""
        if doc is self._current:
            self.set_mask_visible(True)  # editing a hidden mask would be editing blind
            self.mask_changed.emit(box)

    def set_image(
        self, doc: Document, image: np.ndarray, *, show_mask: bool, boxes: list[Box] | None = None
    ) -> None:
        """Replace ``doc``'s image; ``boxes``, when given, hold every pixel that may differ."""
        same_shape = doc.image.shape == image.shape and doc.image.dtype == image.dtype
        doc.image = image
        self.image_change_boxes = boxes if same_shape else None
        if doc is self._current:
            self.image_changed.emit()
            self.set_mask_visible(show_mask)
