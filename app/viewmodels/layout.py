"""View-model of generation and fusion with the layout manifold (``core.layout``).

"New from manifold" decodes a seed's layout code and textures it with patches of an exemplar
(the photo open in the editor, its masked damage never copied; the bundled sample when none
is open), then opens the picture as a new document titled with its seed, and records what
made it (``made``). While a generated document is on screen, the latent panel's seed and
sliders move its layout code (``GeneratedPictures`` asks here): each move shows the decoded
layout alone at low resolution (tens of milliseconds); Apply renders it textured at full size
as one undo step. Fusion blends two photos' codes (the Fuse dialog):
a live low-resolution layout for each position of its slider, a new document on Fuse.

Every decode runs on the model worker (``LayoutModel.load`` keeps the one copy of the
weights); a newer preview supersedes one still waiting. Nothing here draws.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal

from app.viewmodels.commands import FillCommand
from app.viewmodels.document import Box, Document
from app.viewmodels.jobs import JobViewModel
from app.viewmodels.session import Session
from app.worker import Failure, StepsFactory, Task, Worker, call
from core.base.pixels import from_float, to_float_rgb
from core.layout.generate import (
    Generation,
    code_of,
    fuse_steps,
    fused_code,
    generate_steps,
    load_exemplar,
    make_exemplar,
    preview,
)
from core.layout.model import LayoutModel, availability
from core.layout.texturing import Exemplar
from core.manifold.options import LatentSetting

GENERATE_SIZE = (512, 512)  # (w, h) of "New from manifold"
PREVIEW_SIDE = 256  # px, long side of a layout decoded while a slider moves
LAYOUT_PREVIEW, FUSE_PREVIEW = "layout-preview", "fuse-preview"  # worker keys (coalescing)


@dataclass(frozen=True)
class Generated:
    """What made a generated document: its seed, size and sliders, and the exemplar."""

    generation: Generation
    exemplar: Exemplar
    exemplar_name: str

    @property
    def setting(self) -> LatentSetting:
        return LatentSetting(self.generation.seed, self.generation.sliders)


@dataclass(frozen=True)
class LayoutPreview:
    """A generated document's layout for a new setting, at the document's size (the canvas
    shows it over the whole picture until Apply renders it textured)."""

    patch: np.ndarray  # uint8 (h, w, 3)
    doc_id: int  # id() of the document it was made for
    box: Box
    text: str
    direction_count: int

    @property
    def frame(self) -> Box:
        return self.box


def display_pixels(values: np.ndarray) -> np.ndarray:
    return from_float(values, np.dtype(np.uint8))


def low_res_layout(code: np.ndarray, width: int, height: int) -> np.ndarray:
    """The layout at ``PREVIEW_SIDE`` px on the long side, enlarged to (width, height)."""
    model = LayoutModel.load()
    scale = min(1.0, PREVIEW_SIDE / max(width, height))
    small = preview(model, code, max(8, round(width * scale)), max(8, round(height * scale)))
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


class LayoutViewModel(JobViewModel):
    """The layout model's work on the model worker (``busy`` while a render or a preview is
    open); a render's progress and every failure are ``status`` notes."""

    preview_ready = Signal(object)  # LayoutPreview of the newest request
    fuse_preview_ready = Signal(object)  # uint8 (h, w, 3): the Fuse dialog's live picture
    generated = Signal(object)  # Document just made (generated or fused)
    applied = Signal()  # a generated document's new setting was rendered into it

    def __init__(self, session: Session, worker: Worker, parent: QObject | None = None) -> None:
        super().__init__(worker, parent)
        self._session = session
        self._made: dict[int, Generated] = {}  # id(document) -> what made it
        self._availability: tuple[bool, str] | None = None
        self._count = 0  # documents made, for titles
        self.generate_size = GENERATE_SIZE

    # -- availability ------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        if self._availability is None:
            self._availability = availability()
        return self._availability[0]

    @property
    def reason(self) -> str:
        return "" if self.available else (self._availability or (False, ""))[1]

    def set_available(self, available: bool, reason: str = "") -> None:
        self._availability = (available, reason)

    # -- generated documents -----------------------------------------------------------------

    def made(self, doc: Document | None) -> Generated | None:
        """What made ``doc``, when it was generated here (None for a photo)."""
        return None if doc is None else self._made.get(id(doc))

    def _exemplar(self) -> tuple[Exemplar, str, Path | None]:
        """(texture source, its name, the file it came from): the document on screen (its
        masked damage left out), a generated one's own exemplar, else the bundled sample."""
        doc = self._session.document
        made = self.made(doc)
        if made is not None:
            return made.exemplar, made.exemplar_name, doc.origin if doc else None
        if doc is None:
            return load_exemplar(None), "the sample photo", None
        image = to_float_rgb(doc.image)
        return make_exemplar(image, doc.mask.copy()), doc.title, doc.path or doc.origin

    def photo_on_screen(self) -> tuple[Exemplar, str] | None:
        """Photo A of a fusion: the document on screen as an exemplar, and its title."""
        if self._session.document is None:
            return None
        exemplar = self._exemplar()[0]
        return exemplar, self._session.document.title

    def new_from_manifold(
        self, seed: int, size: tuple[int, int] | None = None, sliders: tuple = ()
    ) -> Task | None:
        """Generate seed ``seed`` at ``size`` (w, h; default ``generate_size``), textured from
        the photo on screen, and open it as a new document (on the model worker;
        ``generated`` says when)."""
        size = size or self.generate_size
        if not self.available:
            self.status.emit(f"Generation needs the layout model: {self.reason}")
            return None
        exemplar, name, origin = self._exemplar()
        generation = Generation(seed, size[0], size[1], tuple(sliders))

        def steps():
            model = LayoutModel.load()
            return (yield from generate_steps(model, generation, exemplar))

        def done(result: object) -> None:
            made = Generated(generation, exemplar, name)
            title = f"Generated {self._next_number()} (seed {seed})"
            self._open(result, title, made, origin)
            back = "" if origin is None else f"; PgUp goes back to {origin.name}"
            self._session.message.emit(
                f"New document {title}: {size[0]} x {size[1]}, texture from {name}{back}."
            )

        self.status.emit(f"Generating seed {seed} ({size[0]} x {size[1]})...")
        return self._render("generate", steps, done)

    def _next_number(self) -> int:
        self._count += 1
        return self._count

    def _open(self, result: object, title: str, made: Generated | None, origin) -> None:
        assert isinstance(result, np.ndarray)
        doc = self._session.new_document(display_pixels(result), title, None, origin)
        if made is not None:
            self._made[id(doc)] = made
        self.generated.emit(doc)

    def _render(self, key: str, steps: StepsFactory, done: Callable[[object], None]) -> Task:
        """A full-size render on the model worker, its progress in the status line."""
        return self._run(
            steps, key=key, done=done, failed=partial(self._failed, "Generation"),
            progress=self._progress_note,
        )  # fmt: skip

    def _progress_note(self, fraction: float, text: str) -> None:
        self.status.emit(f"{text} ({fraction:.0%})")

    def _failed(self, what: str, failure: Failure) -> None:
        self.status.emit(f"{what} failed: {failure.text}")

    # -- moving a generated document's layout ------------------------------------------------------

    def _generation(self, made: Generated, setting: LatentSetting) -> Generation:
        g = made.generation
        sliders = tuple(setting.sliders)
        while sliders and sliders[-1] == 0.0:
            sliders = sliders[:-1]  # trailing zeros change nothing; keep the title short
        return Generation(setting.seed, g.width, g.height, sliders, g.texture, g.colour_match)

    def request_preview(self, doc: Document, setting: LatentSetting) -> None:
        """The layout of ``setting`` for generated ``doc``, at low resolution (coalesced)."""
        made = self.made(doc)
        if made is None:
            return
        generation = self._generation(made, setting)
        h, w = doc.image.shape[:2]

        def job() -> LayoutPreview:
            model = LayoutModel.load()
            code = code_of(model, generation)
            count = model.z_dim
            patch = display_pixels(low_res_layout(code, w, h))
            box = (0, h, 0, w)
            return LayoutPreview(patch, id(doc), box, generation.describe(), count)

        self._run(
            call(job), key=LAYOUT_PREVIEW, priority=1, done=self.preview_ready.emit,
            failed=partial(self._failed, "Layout preview"),
        )  # fmt: skip

    def apply(self, doc: Document, setting: LatentSetting) -> bool:
        """Render ``setting`` textured at full size into generated ``doc`` (one undo step)."""
        made = self.made(doc)
        if made is None:
            return False
        generation = self._generation(made, setting)

        def steps():
            model = LayoutModel.load()
            return (yield from generate_steps(model, generation, made.exemplar))

        def done(result: object) -> None:
            assert isinstance(result, np.ndarray)
            if self._session.document is not doc:
                return  # the user moved on; nothing is changed behind their back
            text = f"layout: {generation.describe()}"
            doc.undo_stack.push(FillCommand(self._session, doc, display_pixels(result), text))
            self._made[id(doc)] = Generated(generation, made.exemplar, made.exemplar_name)
            self.status.emit(f"Applied: {generation.describe()}")
            self.applied.emit()

        self.status.emit(f"Rendering {generation.describe()}...")
        self._render("apply", steps, done)
        return True

    # -- fusion ------------------------------------------------------------------------------

    def fuse_preview(self, a: np.ndarray, b: np.ndarray, t: float, side: int = 256) -> None:
        """The fused layout of photos ``a`` and ``b`` (float RGB) at ``t``, ``side`` px on
        the long side of ``a``'s shape; ``fuse_preview_ready`` brings it (coalesced)."""
        h, w = a.shape[:2]
        scale = side / max(h, w)
        size = (max(8, round(w * scale)), max(8, round(h * scale)))

        def job() -> np.ndarray:
            model = LayoutModel.load()
            return display_pixels(preview(model, fused_code(model, a, b, t), *size))

        self._run(
            call(job), key=FUSE_PREVIEW, priority=1, done=self.fuse_preview_ready.emit,
            failed=partial(self._failed, "Fusion preview"),
        )  # fmt: skip

    def fuse(
        self, a: Exemplar, b: Exemplar, t: float, texture: str, names: tuple[str, str]
    ) -> Task | None:
        """Fuse at ``t`` with texture from ``texture`` ('a', 'b', 'both') at full size (``a``'s
        shape, long side at most 512) and open the result as a new document."""
        if not self.available:
            self.status.emit(f"Fusion needs the layout model: {self.reason}")
            return None
        origin = self._session.document.path if self._session.document else None

        def steps():
            model = LayoutModel.load()
            return (yield from fuse_steps(model, a, b, t, texture))

        def done(result: object) -> None:
            title = f"Fused {self._next_number()} ({names[0]} + {names[1]}, t {t:.2f})"
            self._open(result, title, None, origin)
            self.status.emit(f"{title}: texture from {texture}")

        self.status.emit(f"Fusing {names[0]} and {names[1]} at t {t:.2f}...")
        return self._render("fuse", steps, done)
