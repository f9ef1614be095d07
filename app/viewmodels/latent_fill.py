"""The latent fill of a photo's mask: live previews, the textured fill, variants and Apply.

``LatentFill`` renders what the latent panel's setting (``LatentViewModel``) gives for the
mask of the photo on screen; it never draws. Every decode runs on the model worker from a
snapshot (document image, mask, setting), so the GUI never waits; a slider move supersedes a
render still waiting (the worker's coalescing), and results for a photo or mask that changed
meanwhile are dropped. The preview is shown on the canvas but never written into the document;
``apply`` commits the shown fill as one undo step (``FillCommand``).

The encoded holes (a ``LatentSession``, made in ``_encode``, the editor's one call into
``core.pipeline.latent`` for it) live on the worker only (``_Engines``): the first request after
the mask or photo changes re-encodes, every later one only decodes. The network is the one Fill
uses (``methods.loaded_method``): one copy of the weights; the model worker runs one task at a
time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar, cast

import cv2
import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from app.qimage import to_display_uint8
from app.viewmodels.commands import FillCommand
from app.viewmodels.document import Box, Document
from app.viewmodels.fill import FillViewModel
from app.viewmodels.jobs import JobViewModel
from app.viewmodels.methods import LEARNED, MethodCatalog, loaded_method
from app.viewmodels.session import Session
from app.worker import Failure, StepsFactory, Task, Worker
from core.base.errors import InpaintError
from core.base.progress import Steps
from core.manifold.method import ManifoldFill
from core.manifold.options import Blend, LatentSetting
from core.pipeline.latent import LatentSession
from core.pipeline.session import FillResult, describe_paths

DEFAULT_VARIANTS = 6
THUMBNAIL = 256  # px, longest side of a variant as rendered: the hover view (the strip: 128)
HINT = "Move a slider to steer the fill of the mask; nothing changes until Apply."
NO_MASK = "Paint over the damage first: the sliders move the fill of the mask."
# The worker keys: a newer request supersedes a waiting one of its key.
PREVIEW, TEXTURED = "preview", "textured fill"
# A slider moved without a drag (arrow keys, wheel, a typed value) is textured once it has
# rested this long; a drag is textured when it is let go.
SETTLE_MS = 300
MethodFactory = Callable[[str], ManifoldFill]  # device -> a ready method
T = TypeVar("T")


def _load_method(device: str) -> ManifoldFill:
    return cast(ManifoldFill, loaded_method(LEARNED, device))


def _encode(method: ManifoldFill, image: np.ndarray, mask: np.ndarray) -> LatentSession:
    session = LatentSession(method, image, mask)
    session.encode()
    return session


@dataclass(frozen=True)
class Recipe:
    """What a preview shows: a latent setting, or the fusion of two (``blend``)."""

    setting: LatentSetting
    blend: tuple[LatentSetting, float] | None = None  # (b, t): ``t`` of the way to ``b``

    def describe(self, directions: int) -> str:
        a = _fit(self.setting, directions)
        if self.blend is None:
            return a.describe()
        b, t = _fit(self.blend[0], directions), self.blend[1]
        return f"blend {1 - t:.0%} [{a.describe()}] + {t:.0%} [{b.describe()}]"

    def steps(self, engine: LatentSession, textured: bool) -> Steps[FillResult]:
        count = len(engine.directions)
        blend = None if self.blend is None else Blend(_fit(self.blend[0], count), self.blend[1])
        return engine.render_steps(_fit(self.setting, count), textured, blend)


@dataclass(frozen=True)
class Preview:
    """A rendered fill: ``patch`` replaces ``engine.box`` of ``engine.image``. ``textured``:
    the textured fill (what Apply commits); else the net's fill alone, the live preview of a
    moving slider."""

    engine: LatentSession
    patch: np.ndarray
    text: str  # what produced it, for the undo step and the status line
    recipe: Recipe
    textured: bool = True
    paths: dict[str, int] = field(default_factory=dict)  # path -> regions ("texture": 1)
    seconds: float = 0.0  # the render's time on the worker

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

    def describe(self) -> str:
        """The status line: which fill, how it was made, how long it took."""
        if not self.textured:
            return f"Net preview (fast, untextured): {self.text}"
        return f"Textured: {self.text} - {describe_paths(self.paths)}, {self.seconds:.1f} s"

    def describe_shown(self) -> str:
        """The status line while it is on screen (a net preview's textured fill follows)."""
        then = "Apply to keep it" if self.textured else "then the textured fill"
        return f"{self.describe()} - {then}"


@dataclass(frozen=True)
class Variant:
    setting: LatentSetting
    thumbnail: np.ndarray  # uint8 (h, w, C) display pixels of the box around the holes


@dataclass
class _Sampling:
    """One Sample/More request: a task per variant, and the variants made so far."""

    keep: list[Variant] = field(default_factory=list)  # the strip before (More)
    count: int = 0
    tasks: list[Task] = field(default_factory=list)
    done: dict[int, Variant] = field(default_factory=dict)  # by index in the request


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
    grain: bool = False  # Fill > Match Film Grain, as the fill itself would


class LatentFill(JobViewModel):
    """The fill of the photo's mask at a latent setting: its renders run on the model worker
    (``busy``); ``progress`` follows the slow ones (textured fill, variants; (-1, "") = ended)."""

    preview_changed = Signal(object)  # Preview, or None: the canvas shows the document again
    variants_changed = Signal(list)  # list[Variant]: the whole strip, once sampling ended
    variant_ready = Signal(int, object)  # place in the strip, Variant: sampled one by one
    applied = Signal()

    def __init__(
        self,
        session: Session,
        fill: FillViewModel,
        methods: MethodCatalog,
        worker: Worker,
        variants: int = DEFAULT_VARIANTS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(worker, parent)
        self._session, self._fill, self._methods = session, fill, methods
        self.variant_count = variants
        self.preview: Preview | None = None
        self.variants: list[Variant] = []
        # Looked up at call time, so tests can substitute a tiny network.
        self._engines = _Engines(lambda: _load_method)
        self._version = 0  # bumped whenever the mask or document changes
        self._mask_copy: tuple[int, np.ndarray] | None = None
        self._tasks: dict[str, Task | None] = {PREVIEW: None, TEXTURED: None}
        self._gallery = _Sampling()
        self.recipe: Recipe | None = None  # what the newest preview request renders
        self._requested = 0  # preview requests so far; each result carries its number
        self._latest = 0  # the newest preview request
        self._latest_textured = False  # whether that one renders the textured fill
        self._shown = 0  # the preview on screen (requests up to it are old news)
        self._dragging = False  # a slider is held: net-only previews until it is let go
        # A slider moved without a drag (keys, wheel, typed value): texture once it rests.
        self._settle_timer = QTimer(self)
        self._settle_timer.setSingleShot(True)
        self._settle_timer.setInterval(SETTLE_MS)
        self._settle_timer.timeout.connect(self.settle)
        self._apply_when_ready = False
        self._applying = False
        session.mask_changed.connect(self._on_mask)
        session.image_changed.connect(self._on_image)

    def describe(self, doc: Document | None) -> str:
        """The panel's text for photo ``doc``, before any request for it."""
        why_not = self._methods.why_not(LEARNED)
        if why_not:
            return unavailable(why_not)
        if doc is None or not doc.mask.any():
            return NO_MASK
        return HINT

    # -- rendering -----------------------------------------------------------------------------

    def _snapshot(self, quiet: bool = False) -> _Snapshot | None:
        doc = self._session.document
        say = (lambda _text: None) if quiet else self.status.emit
        why_not = self._methods.why_not(LEARNED)
        if why_not:
            say(unavailable(why_not))
            return None
        if doc is None:
            return None
        if self._mask_copy is None or self._mask_copy[0] != self._version:
            # One copy per mask edit, not per slider move (a 24 MP mask is 24 MB).
            self._mask_copy = (self._version, doc.mask.copy())
        mask = self._mask_copy[1]
        if not mask.any():
            say(NO_MASK)
            return None
        try:
            device = self._fill.job_device()
        except InpaintError:
            device = "cpu"
        return _Snapshot(doc, doc.image, mask, self._version, device, self._fill.grain)

    def _steps(self, snap: _Snapshot, job: Callable[[LatentSession], Steps[T]]) -> StepsFactory:
        """The work of ``job`` on the encoded holes of ``snap`` (encoded on first use)."""
        engines = self._engines

        def steps() -> Steps[T]:
            engine = engines.get(snap.device, snap.image, snap.mask, snap.version)
            engine.grain = snap.grain
            return (yield from job(engine))

        return steps

    def show(self, setting: LatentSetting, textured: bool = True) -> None:
        """Preview ``setting``: the net's fill at once; the textured fill after it now
        (``textured``), when the drag ends, or once a slider moved without a drag rests."""
        self._show(Recipe(setting), textured)

    def blend(self, a: LatentSetting, b: LatentSetting, t: float) -> None:
        """Fusion: preview the code ``t`` of the way from variant ``a`` to variant ``b`` (the
        net's fill; textured when the fusion slider is let go or rests)."""
        self._show(Recipe(a, (b, min(1.0, max(0.0, t)))), False)

    def _show(self, recipe: Recipe, textured: bool) -> None:
        self.recipe = recipe
        snap = self._snapshot()
        if snap is None:
            return
        self._request(snap, recipe, False)
        if textured:
            self._settle_timer.stop()
            self._request(snap, recipe, True)
        elif not self._dragging:
            self._settle_timer.start()

    def drag_started(self) -> None:
        """A slider (direction or fusion) is held: previews stay net-only until released."""
        self._dragging = True
        self._settle_timer.stop()

    def drag_ended(self) -> None:
        """The slider was let go: the textured fill replaces the net preview."""
        self._dragging = False
        self.settle()

    def settle(self) -> None:
        """Render the textured fill of what the net preview shows (nothing when it is already
        on screen or on its way)."""
        self._settle_timer.stop()
        recipe = self.recipe
        if recipe is None or self._textured_coming():
            return
        snap = self._snapshot(quiet=True)
        if snap is not None:
            self._request(snap, recipe, True)

    def _request(self, snap: _Snapshot, recipe: Recipe, textured: bool) -> None:
        # A textured fill still running is stale now: stop it at its next cancel point.
        running = self._tasks[TEXTURED]
        if running is not None:
            running.cancel()
        self._requested += 1
        self._latest, self._latest_textured = self._requested, textured
        number = self._requested

        def job(engine: LatentSession) -> Steps[Preview]:
            start = time.monotonic()
            result = yield from recipe.steps(engine, textured)
            text = recipe.describe(len(engine.directions))
            return Preview(engine, result.patch, text, recipe, textured, result.paths,
                           time.monotonic() - start)  # fmt: skip

        key = TEXTURED if textured else PREVIEW
        task = self._run(
            self._steps(snap, job), key=key, priority=1,
            progress=self._texturing_progress if textured else None,
            done=partial(self._preview_done, snap, number),
            failed=lambda failure: self._failed(key, task, failure),
            aborted=self._update_progress,
        )  # fmt: skip
        self._tasks[key] = task
        if textured:
            self._on_progress(0.0, "Texturing")

    def make_variants(
        self, sliders: tuple[float, ...], take_seed: Callable[[], int], more: bool = False
    ) -> None:
        """A gallery of ``variant_count`` sampled, textured fills (seeds from ``take_seed``,
        ``sliders``); ``more`` adds to the strip instead of replacing it. One task per variant:
        the strip fills as they come, and a slider's previews get the worker between two."""
        snap = self._snapshot()
        if snap is None:
            return
        self._drop_sampling()
        settings = [LatentSetting(take_seed(), sliders) for _ in range(self.variant_count)]
        self._gallery = sampling = _Sampling(list(self.variants) if more else [], len(settings))
        for index, setting in enumerate(settings):

            def job(engine: LatentSession, s: LatentSetting = setting) -> Steps[Variant]:
                result = yield from engine.render_steps(_fit(s, len(engine.directions)))
                return Variant(s, _thumbnail(result.patch))

            sampling.tasks.append(self._run(
                self._steps(snap, job),
                progress=partial(self._variant_progress, index, len(settings)),
                done=partial(self._variant_done, snap, sampling, index),
                failed=partial(self._gallery_failed, sampling),
                aborted=partial(self._gallery_ended, sampling),
            ))  # fmt: skip
        self._on_progress(0.0, f"Sampling variant 1 of {len(settings)}")

    def cancel(self) -> bool:
        """Stop the textured fill and the variants being rendered; True when something was
        stopped. The net preview on screen stays."""
        self._apply_when_ready = False
        self._settle_timer.stop()
        task = self._tasks[TEXTURED]
        stopped = task is not None and task.cancel()
        for task in self._gallery.tasks:
            stopped = task.cancel() or stopped
        return stopped

    def _drop_sampling(self) -> None:
        """Stop the variants being rendered; what they still report is ignored."""
        old, self._gallery = self._gallery, _Sampling()
        for task in old.tasks:
            task.cancel()
        self._update_progress()

    def clear_preview(self) -> None:
        self._apply_when_ready = False
        self._settle_timer.stop()
        for key in (PREVIEW, TEXTURED):
            task = self._tasks[key]
            if task is not None:
                task.cancel()
        self.recipe = None
        self._latest = self._shown = self._requested  # anything asked for before now is old
        if self.preview is not None:
            self.preview = None
            self.preview_changed.emit(None)

    def rendering(self) -> bool:
        """Whether a preview or gallery render has not ended yet (or a rested slider's
        textured fill is about to be asked for)."""
        tasks = [*self._tasks.values(), *self._gallery.tasks]
        open_task = any(task is not None and not task.ended for task in tasks)
        return open_task or self._settle_timer.isActive()

    def settled(self) -> bool:
        """The newest preview asked for is on screen and nothing is rendering."""
        return not self.rendering() and self.preview is not None and self._shown == self._latest

    def _slow_tasks(self) -> list[Task]:
        tasks = [self._tasks[TEXTURED], *self._gallery.tasks]
        return [t for t in tasks if t is not None and not t.ended]

    def _on_progress(self, fraction: float, text: str) -> None:
        if self._slow_tasks():
            self.progress.emit(fraction, f"{text}... {fraction:.0%}")

    def _texturing_progress(self, fraction: float, _message: str) -> None:
        self._on_progress(fraction, "Texturing")

    def _variant_progress(self, index: int, count: int, fraction: float, _message: str) -> None:
        self._on_progress((index + fraction) / count, f"Sampling variant {index + 1} of {count}")

    def _update_progress(self) -> None:
        if not self._slow_tasks():
            self.progress.emit(-1.0, "")

    def _variant_done(
        self, snap: _Snapshot, sampling: _Sampling, index: int, variant: object
    ) -> None:
        if not self._current(snap) or sampling is not self._gallery:
            return  # the photo or mask changed since it was asked for
        assert isinstance(variant, Variant)
        sampling.done[index] = variant
        self.variant_ready.emit(len(sampling.keep) + len(sampling.done) - 1, variant)
        self._gallery_ended(sampling)

    def _gallery_failed(self, sampling: _Sampling, failure: Failure) -> None:
        if sampling is self._gallery:
            self.status.emit(f"Latent gallery failed: {failure.text}")
        self._gallery_ended(sampling)

    def _gallery_ended(self, sampling: _Sampling) -> None:
        """A variant task ended; the strip is complete once all have (cancelled: those done)."""
        self._update_progress()
        if sampling is not self._gallery or not all(t.ended for t in sampling.tasks):
            return
        made = [sampling.done[i] for i in sorted(sampling.done)]
        self.variants = sampling.keep + made
        self.variants_changed.emit(self.variants)
        if len(made) < sampling.count:
            self.status.emit(f"Sampling stopped: {len(made)} of {sampling.count} variants made")
        else:
            self.status.emit(
                f"{len(self.variants)} variants: click to preview, double-click to apply"
            )

    def _preview_done(self, snap: _Snapshot, number: int, result: object) -> None:
        # Intermediate results of a drag are shown (they are newer than what is on screen);
        # only those asked for before the one shown (or before a clear) are dropped.
        self._update_progress()
        if not self._current(snap) or number <= self._shown:
            return
        assert isinstance(result, Preview)
        self._shown = number
        self.preview = result
        self.preview_changed.emit(result)
        if result.textured:
            self.status.emit(result.describe_shown())
            if self._apply_when_ready and number == self._latest:
                self.apply()
        else:
            then = "release the slider for" if self._dragging else "then"
            self.status.emit(f"{result.describe()} - {then} the textured fill")

    def _current(self, snap: _Snapshot) -> bool:
        doc = self._session.document
        return doc is snap.doc and doc.image is snap.image and snap.version == self._version

    def _failed(self, key: str, task: Task | None, failure: Failure) -> None:
        self._update_progress()
        if task is self._tasks.get(key):
            self.status.emit(f"Latent {key} failed: {failure.text}")
            self._apply_when_ready = False

    # -- committing ----------------------------------------------------------------------------

    def apply(self) -> bool:
        """Commit the textured fill of the newest setting as one undo step. When it is not on
        screen yet (a net preview, or still rendering), it is rendered and committed as soon
        as it arrives (the GUI does not wait)."""
        doc = self._session.document
        preview = self.preview
        ready = preview is not None and preview.textured and self._shown == self._latest
        if not ready:
            if self.recipe is None:
                return False
            self.settle()  # a net preview on screen: render it textured first
            self._apply_when_ready = self._textured_coming()
            return False
        assert preview is not None
        if doc is None or doc.image is not preview.engine.image:
            return False
        self._commit(doc, preview)
        return True

    def _textured_coming(self) -> bool:
        """The newest request is a textured fill, on screen or on its way."""
        task = self._tasks[TEXTURED]
        on_its_way = task is not None and not task.ended
        return self._latest_textured and (self._shown == self._latest or on_its_way)

    def _commit(self, doc: Document, preview: Preview) -> None:
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
        self.status.emit(
            f"Applied: {preview.text} - {describe_paths(preview.paths)}, {preview.seconds:.1f} s"
        )
        self.applied.emit()

    # -- another document, a kept one back -----------------------------------------------------

    def leave(self) -> None:
        """Another document is on screen: what was rendered for this one is dropped."""
        self._version += 1
        self._drop_sampling()
        self.variants = []
        self.variants_changed.emit([])
        self.clear_preview()

    def restore_variants(self, variants: list[Variant]) -> None:
        """Show again the variants a document was left with."""
        self.variants = variants
        self.variants_changed.emit(variants)

    def restore(self, preview: Preview, recipe: Recipe | None) -> None:
        """Show again the preview a document was left with (``recipe``: its newest request
        then); left before that request's textured fill arrived, it is rendered now."""
        self.recipe = recipe
        self.preview = preview
        self.preview_changed.emit(preview)
        self.status.emit(preview.describe_shown())
        done = preview.textured and preview.recipe == recipe
        self._latest_textured = done
        if not done:
            self.settle()

    def _on_mask(self, _box: object) -> None:
        self._version += 1
        self.clear_preview()
        self._drop_sampling()  # variants of the old mask are of no use
        if self.variants:
            self.variants = []
            self.variants_changed.emit([])

    def _on_image(self) -> None:
        if not self._applying:
            self.clear_preview()


def unavailable(why_not: str) -> str:
    """What the panel says while the manifold model cannot run."""
    return f"Latent navigation needs the manifold model: {why_not}"


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
