"""View-model of latent navigation: slider setting, live preview, variants, fusion, generation.

The panel widgets bind to ``LatentViewModel``; it never draws. Every decode runs on the model
worker from a snapshot (document image, mask, setting), so the GUI never waits; a slider move
supersedes a render still waiting (the worker's coalescing), and results for a photo or mask
that changed meanwhile are dropped. The preview is shown on the canvas but never written into
the document; ``apply`` commits the shown fill as one undo step (``FillCommand``).

The encoded holes (a ``LatentSession``, made in ``_encode``, the editor's one call into
``core.latent`` for it) live on the worker only (``_Engines``): the first request after the mask
or photo changes re-encodes, every later one only decodes. The network is the one Fill uses
(``methods.loaded_method``): one copy of the weights; the model worker runs one task at a time.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal

from app.qimage import to_display_uint8
from app.viewmodels.commands import FillCommand
from app.viewmodels.document import Box, Document
from app.viewmodels.fill import FillViewModel
from app.viewmodels.layout import LayoutPreview, LayoutViewModel
from app.viewmodels.methods import LEARNED, MethodCatalog, loaded_method
from app.viewmodels.session import Session
from app.worker import Failure, Task, Worker, call
from core.errors import InpaintError
from core.manifold.latent import LatentSession
from core.manifold.method import ManifoldFill
from core.manifold.options import DEFAULT_SLIDERS, SLIDER_RANGE, LatentSetting

__all__ = ["SLIDER_RANGE", "LatentSetting", "LatentViewModel", "Preview", "Variant"]

DEFAULT_VARIANTS = 6
THUMBNAIL = 256  # px, longest side of a variant as rendered: the hover view (the strip: 128)
HINT = "Move a slider to steer the fill of the mask; nothing changes until Apply."
PREVIEW, GALLERY = "preview", "gallery"  # the worker keys: a newer request supersedes a waiting one
MethodFactory = Callable[[str], ManifoldFill]  # device -> a ready method


def _load_method(device: str) -> ManifoldFill:
    return cast(ManifoldFill, loaded_method(LEARNED, device))


def _encode(method: ManifoldFill, image: np.ndarray, mask: np.ndarray) -> LatentSession:
    session = LatentSession(method, image, mask)
    session.encode()
    return session


@dataclass(frozen=True)
class Preview:
    """A rendered fill: ``patch`` replaces ``engine.box`` of ``engine.image``."""

    engine: LatentSession
    patch: np.ndarray
    text: str  # what produced it, for the undo step and the status line
    setting: LatentSetting | None  # None for a fusion

    @property
    def box(self) -> Box:
        return self.engine.box

    @property
    def frame(self) -> Box:
        """The holes' own box: what the canvas frames as "not applied yet"."""
        return self.engine.hole_box

    @property
    def direction_count(self) -> int:
        return len(self.engine.directions)

    def image(self) -> np.ndarray:
        return self.engine.compose(self.patch)


@dataclass(frozen=True)
class Variant:
    setting: LatentSetting
    thumbnail: np.ndarray  # uint8 (h, w, C) display pixels of the box around the holes


class _Engines:
    """The model and the encoded holes; touched only by tasks on the model worker."""

    def __init__(self, factory: Callable[[], MethodFactory]) -> None:
        self._factory = factory
        self._method: ManifoldFill | None = None
        self._device = ""
        self._engine: LatentSession | None = None
        self._version = -1

    def get(self, device: str, image: np.ndarray, mask: np.ndarray, version: int) -> LatentSession:
        if self._method is None or device != self._device:
            self._method, self._device, self._engine = self._factory()(device), device, None
        engine = self._engine
        if engine is None or engine.image is not image or self._version != version:
            engine = _encode(self._method, image, mask)
            self._engine, self._version = engine, version
        return engine


@dataclass(frozen=True)
class _Snapshot:
    doc: Document
    image: np.ndarray
    mask: np.ndarray
    version: int
    device: str


class LatentViewModel(QObject):
    setting_changed = Signal(object)  # LatentSetting now shown by the sliders and seed field
    preview_changed = Signal(object)  # Preview, or None: the canvas shows the document again
    variants_changed = Signal(list)  # list[Variant]
    status = Signal(str)
    available_changed = Signal(bool, str)  # usable, why not
    applied = Signal()

    def __init__(
        self,
        session: Session,
        fill: FillViewModel,
        methods: MethodCatalog,
        worker: Worker,
        sliders: int = DEFAULT_SLIDERS,
        variants: int = DEFAULT_VARIANTS,
        parent: QObject | None = None,
        layout: LayoutViewModel | None = None,
    ) -> None:
        super().__init__(parent)
        # Generated documents: their seed and sliders move a layout code (``layout``), not
        # the fill of a mask.
        self.layout = layout
        if layout is not None:
            layout.preview_ready.connect(self._layout_preview_done)
            layout.status.connect(self.status)
            layout.applied.connect(self.applied)
            # A new document is current before it is known as generated: look again.
            layout.generated.connect(lambda _doc: self._on_document())
        self._session, self._fill, self._methods, self._worker = session, fill, methods, worker
        self.slider_count = sliders
        self.variant_count = variants
        self.setting = LatentSetting(None, (0.0,) * sliders)
        self.preview: Preview | LayoutPreview | None = None
        self.variants: list[Variant] = []
        # Looked up at call time, so tests can substitute a tiny network.
        self._engines = _Engines(lambda: _load_method)
        self._version = 0  # bumped whenever the mask or document changes
        self._mask_copy: tuple[int, np.ndarray] | None = None
        self._tasks: dict[str, Task | None] = {PREVIEW: None, GALLERY: None}
        self._requested = 0  # preview requests so far; each result carries its number
        self._latest = 0  # the newest preview request
        self._shown = 0  # the preview on screen (requests up to it are old news)
        self._apply_when_ready = False
        self._applying = False
        self._generated = 0  # documents made by New from manifold, for their titles
        # Short numbers, easy to note down and type into `fill --seed`; consecutive after that.
        self._next_seed = random.SystemRandom().randrange(1, 100_000)
        session.document_changed.connect(self._on_document)
        session.mask_changed.connect(self._on_mask)
        session.image_changed.connect(self._on_image)
        methods.changed.connect(self._on_methods)

    # -- availability --------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        return self._methods.available(LEARNED)

    @property
    def reason(self) -> str:
        return self._methods.why_not(LEARNED)

    def set_available(self, available: bool, reason: str = "") -> None:
        """Tests and the method picker may override the check made at start."""
        self._methods.set_available(LEARNED, available, reason)

    def _on_methods(self, name: str) -> None:
        if name == LEARNED:
            self.available_changed.emit(self.available, self.reason)

    # -- the setting ---------------------------------------------------------------------------

    def set_slider(self, index: int, value: float) -> None:
        self._set(self.setting.with_slider(index, value))

    def set_seed(self, seed: int | None) -> None:
        self._set(LatentSetting(seed, self.setting.sliders))

    def reset(self) -> None:
        """The most likely fill: no noise, every slider at 0."""
        self._set(LatentSetting(None, (0.0,) * self.slider_count))

    def resample(self) -> None:
        """A new random draw (a new seed), sliders kept."""
        self._set(LatentSetting(self._take_seed(), self.setting.sliders))

    def choose(self, setting: LatentSetting) -> None:
        """Preview a setting (a gallery variant): sliders and seed follow it."""
        sliders = tuple(setting.sliders) + (0.0,) * (self.slider_count - len(setting.sliders))
        self._set(LatentSetting(setting.seed, sliders[: self.slider_count]))

    def _set(self, setting: LatentSetting) -> None:
        self.setting = setting
        self.setting_changed.emit(setting)
        doc = self._session.document
        if self.layout is not None and self.layout.made(doc) is not None:
            assert doc is not None
            self._requested += 1
            self._latest = self._requested
            self.layout.request_preview(doc, setting)
            return
        self.request_preview()

    def _take_seed(self) -> int:
        seed = self._next_seed
        self._next_seed = self._next_seed % (2**31 - 2) + 1
        return seed

    # -- rendering -----------------------------------------------------------------------------

    def _snapshot(self) -> _Snapshot | None:
        doc = self._session.document
        if self.layout is not None and self.layout.made(doc) is not None:
            self.status.emit("A generated picture: its seed and sliders move its layout.")
            return None
        if not self.available:
            self.status.emit(f"Latent navigation needs the manifold model: {self.reason}")
            return None
        if doc is None:
            return None
        if self._mask_copy is None or self._mask_copy[0] != self._version:
            # One copy per mask edit, not per slider move (a 24 MP mask is 24 MB).
            self._mask_copy = (self._version, doc.mask.copy())
        mask = self._mask_copy[1]
        if not mask.any():
            self.status.emit("Paint over the damage first: the sliders move the fill of the mask.")
            return None
        try:
            device = self._fill.job_device()
        except InpaintError:
            device = "cpu"
        return _Snapshot(doc, doc.image, mask, self._version, device)

    def _submit(
        self, key: str, snap: _Snapshot, job: Callable[[LatentSession], object], number: int = 0
    ) -> None:
        engines = self._engines

        def run() -> object:
            return job(engines.get(snap.device, snap.image, snap.mask, snap.version))

        done = self._preview_done if key == PREVIEW else self._gallery_done
        task = self._worker.submit(
            call(run), key=key, priority=1 if key == PREVIEW else 0,
            on_done=lambda result: done(snap, number, result),
            on_error=lambda failure: self._failed(key, task, failure),
        )  # fmt: skip
        self._tasks[key] = task

    def _request(self, snap: _Snapshot, job: Callable[[LatentSession], Preview]) -> None:
        self._requested += 1
        self._latest = self._requested
        self._submit(PREVIEW, snap, job, self._requested)

    def request_preview(self) -> None:
        snap = self._snapshot()
        if snap is None:
            return
        setting = self.setting

        def job(engine: LatentSession) -> Preview:
            usable = _fit(setting, len(engine.directions))
            return Preview(engine, engine.render(usable), usable.describe(), usable)

        self._request(snap, job)

    def blend(self, a: LatentSetting, b: LatentSetting, t: float) -> None:
        """Fusion: preview the code ``t`` of the way from variant ``a`` to variant ``b``."""
        snap = self._snapshot()
        if snap is None:
            return
        text = f"blend {1 - t:.0%} [{a.describe()}] + {t:.0%} [{b.describe()}]"

        def job(engine: LatentSession) -> Preview:
            count = len(engine.directions)
            return Preview(engine, engine.render_blend(_fit(a, count), _fit(b, count), t), text,
                           None)  # fmt: skip

        self._request(snap, job)

    def make_variants(self, more: bool = False) -> None:
        """A gallery of ``variant_count`` sampled fills (new seeds, current sliders); ``more``
        adds to the strip instead of replacing it."""
        snap = self._snapshot()
        if snap is None:
            return
        settings = [
            LatentSetting(self._take_seed(), self.setting.sliders)
            for _ in range(self.variant_count)
        ]
        keep = list(self.variants) if more else []

        def job(engine: LatentSession) -> list[Variant]:
            fitted = [_fit(s, len(engine.directions)) for s in settings]
            return keep + [Variant(s, _thumbnail(engine.render(s))) for s in fitted]

        self.status.emit("Sampling variants...")
        self._submit(GALLERY, snap, job)

    def clear_preview(self) -> None:
        self._apply_when_ready = False
        task = self._tasks[PREVIEW]
        if task is not None:
            task.cancel()
        self._latest = self._shown = self._requested  # anything asked for before now is old
        if self.preview is not None:
            self.preview = None
            self.preview_changed.emit(None)

    def rendering(self) -> bool:
        """Whether a preview or gallery render has not ended yet."""
        return any(task is not None and not task.ended for task in self._tasks.values())

    def settled(self) -> bool:
        """The newest preview asked for is on screen and nothing is rendering."""
        return not self.rendering() and self.preview is not None and self._shown == self._latest

    def _gallery_done(self, snap: _Snapshot, _number: int, result: object) -> None:
        if not self._current(snap):
            return  # the photo or mask changed since it was asked for
        assert isinstance(result, list)
        self.variants = result
        self.variants_changed.emit(result)
        self.status.emit(f"{len(result)} variants: click to preview, double-click to apply")

    def _preview_done(self, snap: _Snapshot, number: int, result: object) -> None:
        # Intermediate results of a drag are shown (they are newer than what is on screen);
        # only those asked for before the one shown (or before a clear) are dropped.
        if not self._current(snap) or number <= self._shown:
            return
        assert isinstance(result, Preview)
        self._shown = number
        self.preview = result
        self.preview_changed.emit(result)
        if number == self._latest:
            self.status.emit(f"Preview: {result.text} - Apply to keep it")
            if self._apply_when_ready:
                self.apply()

    def _current(self, snap: _Snapshot) -> bool:
        doc = self._session.document
        return doc is snap.doc and doc.image is snap.image and snap.version == self._version

    def _failed(self, key: str, task: Task, failure: Failure) -> None:
        if task is self._tasks.get(key):
            self.status.emit(f"Latent {key} failed: {failure.text}")
            self._apply_when_ready = False

    # -- committing ----------------------------------------------------------------------------

    def apply(self) -> bool:
        """Commit the previewed fill as one undo step; if the newest request is still being
        decoded, commit it as soon as it arrives (the GUI does not wait). For a generated
        document: render its layout setting textured at full size (on the worker)."""
        doc = self._session.document
        if self.layout is not None and self.layout.made(doc) is not None:
            assert doc is not None
            return self.layout.apply(doc, self.setting)
        preview = self.preview
        if self._shown != self._latest or preview is None:
            task = self._tasks[PREVIEW]
            if task is not None and not task.ended:
                self._apply_when_ready = True
                return False
            if preview is None:
                return False
        if not isinstance(preview, Preview) or doc is None or doc.image is not preview.engine.image:
            return False
        self._apply_when_ready = False
        self._applying = True
        try:
            text = f"manifold: {preview.text}"
            filled = doc.mask.copy()  # what the preview filled: a mask edit drops the preview
            doc.undo_stack.push(
                FillCommand(self._session, doc, preview.image(), text, None, filled)
            )
        finally:
            self._applying = False
        self.clear_preview()
        self.status.emit(f"Applied: {preview.text}")
        self.applied.emit()
        return True

    def new_from_manifold(self) -> None:
        """A new picture from the layout manifold (a new seed), textured from the photo on
        screen, opened as a new document once rendered."""
        if self.layout is None:
            self.status.emit("Generation needs the layout model")
            return
        self.layout.new_from_manifold(self._take_seed())

    def _layout_preview_done(self, result: object) -> None:
        assert isinstance(result, LayoutPreview)
        doc = self._session.document
        if self.layout is None or self.layout.made(doc) is None or doc is None:
            return
        if result.doc_id != id(doc):
            return  # made for another document
        self._shown = self._latest
        self.preview = result
        self.preview_changed.emit(result)
        self.status.emit(f"Layout: {result.text} - Apply renders it textured")

    # -- session events ------------------------------------------------------------------------

    def _on_document(self) -> None:
        self._version += 1
        self.variants = []
        self.variants_changed.emit([])
        self.clear_preview()
        made = None if self.layout is None else self.layout.made(self._session.document)
        if made is not None:
            sliders = tuple(made.setting.sliders) + (0.0,) * self.slider_count
            self.setting = LatentSetting(made.setting.seed, sliders[: self.slider_count])
            self.setting_changed.emit(self.setting)
        self.status.emit(self.describe_photo())

    def describe_photo(self) -> str:
        """The panel's text for the photo on screen, before any request for it."""
        doc = self._session.document
        made = None if self.layout is None else self.layout.made(doc)
        if made is not None:
            return (
                f"Generated picture ({made.generation.describe()}, texture from "
                f"{made.exemplar_name}): the seed and sliders move its layout; Apply renders it."
            )
        if not self.available:
            return f"Latent navigation needs the manifold model: {self.reason}"
        if doc is None or not doc.mask.any():
            return "Paint over the damage first: the sliders move the fill of the mask."
        return HINT

    def _on_mask(self, _box: object) -> None:
        self._version += 1
        self.clear_preview()
        if self.variants:
            self.variants = []
            self.variants_changed.emit([])

    def _on_image(self) -> None:
        if not self._applying:
            self.clear_preview()

    @property
    def worker(self) -> Worker:
        return self._worker


def _fit(setting: LatentSetting, directions: int) -> LatentSetting:
    """Sliders beyond the model's directions (a small model, 8 sliders) have no effect."""
    return LatentSetting(setting.seed, tuple(setting.sliders[:directions]))


def _thumbnail(patch: np.ndarray) -> np.ndarray:
    """The patch with its longer side ``THUMBNAIL`` px: small holes are enlarged (pixels kept
    sharp, so that a fill's texture can be judged), large ones reduced."""
    pixels = to_display_uint8(patch)
    h, w = pixels.shape[:2]
    scale = THUMBNAIL / max(h, w, 1)
    if scale != 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_NEAREST
        pixels = cv2.resize(pixels, size, interpolation=interpolation)
        if pixels.ndim == 2:
            pixels = pixels[..., None]
    return np.ascontiguousarray(pixels)
