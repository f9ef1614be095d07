"""Crash recovery files: the masks and fills of open documents, so a killed editor loses nothing.

Layout under :func:`recovery_root` (the user's data folder, or ``$MANIFOLD_INPAINT_DATA_DIR``)::

    recovery/<pid>-<token>/owner.json            one folder per running editor
    recovery/<pid>-<token>/<key>/entry.json      one folder per document (key: hash of its path)
    recovery/<pid>-<token>/<key>/mask-<gen>.png  the mask, 8-bit gray (255 = hole)
    recovery/<pid>-<token>/<key>/patch-<gen>-<i>.tif  once a fill changed the image: each box
                                 that differs from the source file, lossless, in its dtype
    recovery/<pid>-<token>/<key>/original-<gen>.tif  a document made in the editor (no source
                                 file): the pixels it started from, written once

Every file is written atomically and ``entry.json`` last, naming the generation it belongs to, so
a kill at any moment leaves either the previous complete entry or the new one. A folder whose
owner process is gone is an orphan: the next launch offers to restore it. ``entry.json`` keeps
the source file's size and mtime, and a restore only applies to that same file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import platformdirs

from core.base.errors import InpaintError
from core.base.imageio import Image, read_image, write_image
from core.base.masks import load_mask, save_mask
from core.base.pixels import Box

DATA_DIR_ENV = "MANIFOLD_INPAINT_DATA_DIR"
PATCH_CELL = 64  # px: differences are found and stored on a grid of this size
ENTRY_NAME = "entry.json"
OWNER_NAME = "owner.json"
FORMAT_VERSION = 1


def data_dir() -> Path:
    """The user's data folder for this app (``$MANIFOLD_INPAINT_DATA_DIR`` overrides it)."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir("manifold-inpaint", appauthor=False))


def recovery_root() -> Path:
    return data_dir() / "recovery"


@dataclass(frozen=True)
class SourceStamp:
    """Identifies the exact file a document was read from."""

    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> SourceStamp:
        stat = path.stat()
        return cls(str(path), stat.st_size, stat.st_mtime_ns)

    def unchanged(self) -> bool:
        try:
            return SourceStamp.of(Path(self.path)) == self
        except OSError:
            return False


@dataclass(frozen=True)
class RecoveredDocument:
    """One autosaved document found on disk."""

    folder: Path
    source: SourceStamp
    title: str
    mask_file: Path
    patches: tuple[tuple[Path, Box], ...]  # (file, y0 y1 x0 x1 in the image); () = no fill
    shape: tuple[int, ...]
    dtype: str
    saved_at: float
    # A document made in the editor (no source file): the pixels it started from, and the
    # photo it was made from (where it sits in that folder), if any.
    original_file: Path | None = None
    origin: str | None = None

    def load_original(self) -> np.ndarray:
        """The pixels a document made in the editor started from (``original_file``)."""
        if self.original_file is None:
            raise ValueError(f"{self.title} has a source file: open it instead")
        pixels = read_image(self.original_file, max_pixels=None).pixels
        if pixels.shape != self.shape or str(pixels.dtype) != self.dtype:
            raise InpaintError(f"the recovered picture {self.title} is damaged")
        return pixels

    def load_mask(self) -> np.ndarray:
        return load_mask(self.mask_file, self.shape[:2])

    def load_image(self, original: np.ndarray) -> np.ndarray | None:
        """The filled image: ``original`` (the source's pixels) with the saved patches pasted
        in; None if no fill was saved."""
        if not self.patches:
            return None
        if original.shape != self.shape or str(original.dtype) != self.dtype:
            raise InpaintError(f"the recovered fill of {self.title} does not fit the photo")
        image = original.copy()
        for path, (y0, y1, x0, x1) in self.patches:
            patch = read_image(path, max_pixels=None).pixels
            if patch.shape != (y1 - y0, x1 - x0, self.shape[2]) or patch.dtype != image.dtype:
                raise InpaintError(f"the recovered fill of {self.title} is damaged")
            image[y0:y1, x0:x1] = patch
        return image


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return False  # no cheap check; an orphan offered twice beats one never offered
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RecoveryStore:
    """The autosaves of this running editor. ``save`` and ``discard`` may run on a worker
    thread, one call at a time."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else recovery_root()
        self.folder = self.root / f"{os.getpid()}-{secrets.token_hex(4)}"
        self._generation = 0

    def _ensure_folder(self) -> None:
        if not (self.folder / OWNER_NAME).is_file():
            self.folder.mkdir(parents=True, exist_ok=True)
            _write_json(self.folder / OWNER_NAME, {"pid": os.getpid(), "started": time.time()})

    @staticmethod
    def key(source: Path) -> str:
        return hashlib.sha256(str(source).encode("utf-8")).hexdigest()[:16]

    def save(
        self,
        source: SourceStamp,
        title: str,
        mask: np.ndarray,
        patches: list[tuple[np.ndarray, Box]] | None,
        shape: tuple[int, ...],
        dtype: str,
        *,
        original: np.ndarray | None = None,
        origin: str | None = None,
    ) -> Path:
        """Write one document's mask and, when a fill changed the image, ``patches``: the
        pixels of each box (y0, y1, x0, x1) that differs from the source file (see
        :func:`diff_patches`). ``patches=None`` keeps the patches of the previous save (only the
        mask changed since). A document made in the editor has no source file (``source`` only
        names it): ``original`` is the pixels it started from, written with its first save, and
        ``origin`` the photo it was made from. Returns the document's folder."""
        self._ensure_folder()
        folder = self.folder / self.key(Path(source.path))
        folder.mkdir(exist_ok=True)
        self._generation += 1
        gen = f"{time.time_ns():x}-{self._generation}"
        mask_name = f"mask-{gen}.png"
        save_mask(mask, folder / mask_name)
        previous = _read_entry(folder)
        original_name = None
        if original is not None:
            if previous is not None and previous.original_file is not None:
                original_name = previous.original_file.name  # it never changes
            else:
                original_name = f"original-{gen}.tif"  # lossless in the image's own dtype
                write_image(Image(original), folder / original_name)
        if patches is None:
            kept = [(path.name, box) for path, box in previous.patches] if previous else []
        else:
            kept = []
            for index, (pixels, box) in enumerate(patches):
                name = f"patch-{gen}-{index}.tif"  # lossless in the image's own dtype
                write_image(Image(pixels), folder / name)
                kept.append((name, box))
        entry = {
            "version": FORMAT_VERSION,
            "source": source.path,
            "size": source.size,
            "mtime_ns": source.mtime_ns,
            "title": title,
            "mask": mask_name,
            "patches": [{"file": name, "box": [int(v) for v in box]} for name, box in kept],
            "shape": list(shape),
            "dtype": dtype,
            "saved_at": time.time(),
            "original": original_name,
            "origin": origin,
        }
        _write_json(folder / ENTRY_NAME, entry)
        keep = {ENTRY_NAME, mask_name, *(name for name, _ in kept)}
        if original_name is not None:
            keep.add(original_name)
        for old in folder.iterdir():
            if old.name not in keep and not old.name.startswith("."):
                with contextlib.suppress(OSError):
                    old.unlink()
        return folder

    def discard(self, source: Path) -> None:
        shutil.rmtree(self.folder / self.key(source), ignore_errors=True)

    def discard_all(self) -> None:
        """Remove this editor's autosaves (clean exit, or the user chose to discard)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def orphans(self) -> list[RecoveredDocument]:
        """Autosaves left by editors that are no longer running, newest first."""
        found: list[RecoveredDocument] = []
        if not self.root.is_dir():
            return found
        for owner_folder in self.root.iterdir():
            if owner_folder == self.folder or not owner_folder.is_dir():
                continue
            if _pid_alive(_owner_pid(owner_folder)):
                continue
            for doc_folder in sorted(owner_folder.iterdir()):
                entry = _read_entry(doc_folder)
                if entry is not None:
                    found.append(entry)
        return sorted(found, key=lambda e: -e.saved_at)

    def remove_orphans(self, entries: list[RecoveredDocument]) -> None:
        owners = {entry.folder.parent for entry in entries}
        for entry in entries:
            shutil.rmtree(entry.folder, ignore_errors=True)
        for owner in owners:
            remaining = [p for p in owner.iterdir() if p.is_dir()] if owner.is_dir() else []
            if not remaining:
                shutil.rmtree(owner, ignore_errors=True)


def _owner_pid(folder: Path) -> int:
    try:
        return int(json.loads((folder / OWNER_NAME).read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        # No owner file yet: it may be being created right now; its name starts with the pid.
        try:
            return int(folder.name.split("-", 1)[0])
        except ValueError:
            return -1


def _read_entry(folder: Path) -> RecoveredDocument | None:
    """The entry in ``folder``; None when absent, foreign or incomplete (never raises)."""
    try:
        data = json.loads((folder / ENTRY_NAME).read_text(encoding="utf-8"))
        if data.get("version") != FORMAT_VERSION:
            return None
        mask_file = folder / str(data["mask"])
        patches = tuple(
            (folder / str(p["file"]), tuple(int(v) for v in p["box"])) for p in data["patches"]
        )
        original = data.get("original")  # absent in entries of photos and older editors
        original_file = folder / str(original) if original else None
        files = [mask_file, *(path for path, _ in patches)]
        if original_file is not None:
            files.append(original_file)
        if not all(path.is_file() for path in files):
            return None
        return RecoveredDocument(
            folder=folder,
            source=SourceStamp(str(data["source"]), int(data["size"]), int(data["mtime_ns"])),
            title=str(data["title"]),
            mask_file=mask_file,
            patches=patches,  # type: ignore[arg-type]
            shape=tuple(int(v) for v in data["shape"]),
            dtype=str(data["dtype"]),
            saved_at=float(data["saved_at"]),
            original_file=original_file,
            origin=str(data["origin"]) if data.get("origin") else None,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def diff_patches(
    original: np.ndarray, image: np.ndarray, cell: int = PATCH_CELL
) -> list[tuple[np.ndarray, Box]]:
    """The parts of ``image`` that differ from ``original``: one box per cluster of changed
    ``cell``-px cells, with its pixels. Scattered fills on a 50 MP scan give a few small boxes
    instead of the whole image. Compared in bands of rows, so no whole-image temporaries."""
    height, width = original.shape[:2]
    grid = np.zeros((-(-height // cell), -(-width // cell)), np.uint8)
    for row in range(grid.shape[0]):
        band = slice(row * cell, (row + 1) * cell)
        diff = original[band] != image[band]
        if diff.ndim == 3:
            diff = diff.any(axis=2)
        columns = np.pad(diff.any(axis=0), (0, grid.shape[1] * cell - width))
        grid[row] = columns.reshape(-1, cell).any(axis=1)
    count, _, stats, _ = cv2.connectedComponentsWithStats(grid, connectivity=8)
    patches = []
    for label in range(1, count):
        x, y, w, h = (int(v) * cell for v in stats[label, :4])
        box = (y, min(height, y + h), x, min(width, x + w))
        patches.append((image[box[0] : box[1], box[2] : box[3]], box))
    return patches
