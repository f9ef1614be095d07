"""View-model of the latent panel: the seed and sliders of the document on screen, and who
serves them.

``LatentViewModel`` keeps each document's setting (a generated picture's never reaches a photo)
and hands every request to the document's owner: a photo's mask fill to ``LatentFill``
(``latent_fill``: previews, the textured fill, variants, fusion of two variants, Apply), a
generated picture to ``GeneratedPictures`` (``generated``: its layout). A document left with an
unapplied preview or variants finds them again on its return (the newest ``KEPT_RENDERS``
documents; the others keep only their setting). It never draws; the panel binds to its signals.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.viewmodels.document import Document
from app.viewmodels.generated import REFUSED, GeneratedPictures
from app.viewmodels.latent_fill import LatentFill, Preview, Recipe, Variant
from app.viewmodels.layout import LayoutPreview
from app.viewmodels.methods import LEARNED, MethodCatalog
from app.viewmodels.session import Session
from core.manifold.options import DEFAULT_SLIDERS, SLIDER_RANGE, LatentSetting

__all__ = ["SLIDER_RANGE", "LatentSetting", "LatentViewModel", "Preview", "Recipe", "Variant"]

# Documents left with a preview or variants that keep them (each holds its encoded holes and a
# mask copy); those left longest ago keep only their setting.
KEPT_RENDERS = 4


@dataclass
class _DocumentState:
    """A document's latent state while another one is on screen: its setting, and the preview
    and variants it showed, of ``image`` and ``mask`` (stale once either changed)."""

    setting: LatentSetting
    image: np.ndarray | None = None
    mask: np.ndarray | None = None
    preview: Preview | LayoutPreview | None = None
    recipe: Recipe | None = None  # the newest request when it was left
    variants: list[Variant] = field(default_factory=list)

    def holds_renders(self) -> bool:
        return self.preview is not None or bool(self.variants)

    def drop_renders(self) -> None:
        self.image = self.mask = self.preview = self.recipe = None
        self.variants = []

    def unchanged(self, doc: Document | None) -> bool:
        """``doc`` has the image and mask the kept preview and variants were made from (a fill
        that ended after it was left changes both)."""
        return (
            doc is not None
            and doc.image is self.image
            and self.mask is not None
            and np.array_equal(doc.mask, self.mask)
        )


class LatentViewModel(QObject):
    """The panel binds to these signals, and to the photo fill's own (only a photo has
    variants and slow renders): ``variants_changed``, ``variant_ready`` and ``progress`` are
    ``LatentFill``'s."""

    setting_changed = Signal(object)  # LatentSetting now shown by the sliders and seed field
    # Preview or LayoutPreview, or None: the canvas shows the document again.
    preview_changed = Signal(object)
    status = Signal(str)
    # The panel's text for a photo just shown (its own label only: the status bar keeps what
    # opening the photo said, whichever panel is in front).
    described = Signal(str)
    applied = Signal()  # a preview was committed to its document
    available_changed = Signal(bool, str)  # the manifold model: usable, why not

    def __init__(
        self,
        session: Session,
        methods: MethodCatalog,
        fills: LatentFill,
        generated: GeneratedPictures,
        sliders: int = DEFAULT_SLIDERS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._session, self._methods = session, methods
        self.fills, self.generated = fills, generated
        self.layout = generated.layout  # generation and fusion (the panel's Fuse dialog)
        self.variants_changed, self.variant_ready = fills.variants_changed, fills.variant_ready
        self.progress = fills.progress
        for owner in (fills, generated):
            owner.preview_changed.connect(self.preview_changed)
            owner.status.connect(self.status)
            owner.applied.connect(self.applied)
        self.worker, self.variant_count = fills.worker, fills.variant_count
        # A new document is current before it is known as generated: look again.
        self.layout.generated.connect(self._on_generated)
        # Each document keeps its own seed and sliders: a generated picture's never reach a
        # photo, and going back to a photo finds its own.
        self._states: dict[Document, _DocumentState] = {}
        self.slider_count = sliders
        self.setting = LatentSetting(None, (0.0,) * sliders)
        # Short numbers, easy to note down and type into `fill --seed`; consecutive after that.
        self._next_seed = random.SystemRandom().randrange(1, 100_000)
        session.leaving.connect(self._keep_state)
        session.document_changed.connect(self._on_document)
        methods.changed.connect(self._on_methods)

    # -- what the panel reads ------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """Whether the manifold model can run here (else ``reason`` says why not)."""
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

    @property
    def preview(self) -> Preview | LayoutPreview | None:
        """What the canvas shows over the document (never written into it until Apply)."""
        return self.fills.preview if self.fills.preview is not None else self.generated.preview

    @property
    def variants(self) -> list[Variant]:
        return self.fills.variants

    def rendering(self) -> bool:
        """Whether a preview or gallery render has not ended yet (or a rested slider's
        textured fill is about to be asked for)."""
        return self.fills.rendering()

    def settled(self) -> bool:
        """The newest preview asked for is on screen and nothing is rendering."""
        if self.generated.owns(self._session.document):
            return not self.fills.rendering() and self.generated.settled()
        return self.fills.settled()

    def describe_photo(self) -> str:
        """The panel's text for the document on screen, before any request for it."""
        doc = self._session.document
        text = self.generated.describe(doc)
        return self.fills.describe(doc) if text is None else text

    # -- the setting ---------------------------------------------------------------------------

    def set_slider(self, index: int, value: float) -> None:
        """A slider moved: the net's fill at once; the textured one when the slider is let go
        (``drag_ended``) or, moved without a drag, once it rests."""
        self._set(self.setting.with_slider(index, value), textured=False)

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
        self._set(self._padded(setting))

    def drag_started(self) -> None:
        """A slider (direction or fusion) is held: previews stay net-only until released."""
        self.fills.drag_started()

    def drag_ended(self) -> None:
        """The slider was let go: the textured fill replaces the net preview."""
        self.fills.drag_ended()

    def _set(self, setting: LatentSetting, textured: bool = True) -> None:
        self.setting = setting
        self.setting_changed.emit(setting)
        doc = self._session.document
        if doc is not None and self.generated.owns(doc):
            self.generated.show(doc, setting)
        else:
            self.fills.show(setting, textured)

    def _padded(self, setting: LatentSetting) -> LatentSetting:
        """``setting`` with one value per slider (missing ones 0, extra ones dropped)."""
        sliders = tuple(setting.sliders) + (0.0,) * self.slider_count
        return LatentSetting(setting.seed, sliders[: self.slider_count])

    def _take_seed(self) -> int:
        seed = self._next_seed
        self._next_seed = self._next_seed % (2**31 - 2) + 1
        return seed

    # -- commands ------------------------------------------------------------------------------

    def blend(self, a: LatentSetting, b: LatentSetting, t: float) -> None:
        """Fusion: preview the code ``t`` of the way from variant ``a`` to variant ``b`` (the
        net's fill; textured when the fusion slider is let go or rests)."""
        if not self._refused():
            self.fills.blend(a, b, t)

    def make_variants(self, more: bool = False) -> None:
        """A gallery of ``variant_count`` sampled, textured fills (new seeds, current sliders);
        ``more`` adds to the strip instead of replacing it."""
        if not self._refused():
            self.fills.make_variants(self.setting.sliders, self._take_seed, more)

    def _refused(self) -> bool:
        """A generated picture is on screen: no mask to fill (the panel is told so)."""
        if not self.generated.owns(self._session.document):
            return False
        self.status.emit(REFUSED)
        return True

    def apply(self) -> bool:
        """Commit the textured fill of the newest setting as one undo step (rendered first
        when it is not on screen yet). For a generated picture: render its layout setting
        textured at full size (on the worker)."""
        doc = self._session.document
        if doc is not None and self.generated.owns(doc):
            return self.generated.apply(doc, self.setting)
        return self.fills.apply()

    def cancel(self) -> bool:
        """Stop the textured fill and the variants being rendered; the preview stays."""
        return self.fills.cancel()

    def clear_preview(self) -> None:
        self.fills.clear_preview()
        self.generated.clear()

    def new_from_manifold(self) -> None:
        """A new picture from the layout manifold (a new seed), textured from the photo on
        screen, opened as a new document once rendered."""
        self.generated.new_picture(self._take_seed())

    # -- documents -----------------------------------------------------------------------------

    def _keep_state(self) -> None:
        """The document on screen is about to be left: keep its setting, and its unapplied
        preview and variants, for its return."""
        doc = self._session.document
        if doc is None:
            return
        state = _DocumentState(self.setting)
        preview, variants = self.preview, self.fills.variants
        if preview is not None or variants:
            state.image, state.mask = doc.image, doc.mask.copy()
            state.preview, state.recipe, state.variants = preview, self.fills.recipe, variants
        self._states.pop(doc, None)
        self._states[doc] = state  # most recently left last
        holding = [kept for kept in self._states.values() if kept.holds_renders()]
        for kept in holding[: max(0, len(holding) - KEPT_RENDERS)]:
            kept.drop_renders()

    def _on_generated(self, _doc: object) -> None:
        self._on_document()

    def _on_document(self) -> None:
        self.fills.leave()
        self.generated.clear()
        doc = self._session.document
        state = None if doc is None else self._states.pop(doc, None)
        self.setting = self._first_setting(doc) if state is None else state.setting
        self.setting_changed.emit(self.setting)
        if state is not None and state.holds_renders() and state.unchanged(doc):
            self._restore_renders(state)
        else:
            self.described.emit(self.describe_photo())

    def _restore_renders(self, state: _DocumentState) -> None:
        """Show again the preview and variants a document was left with."""
        self.fills.restore_variants(state.variants)
        preview = state.preview
        if preview is None:
            self.described.emit(self.describe_photo())
        elif isinstance(preview, LayoutPreview):
            self.generated.restore(preview)
        else:
            self.fills.restore(preview, state.recipe)

    def _first_setting(self, doc: Document | None) -> LatentSetting:
        """A document's setting when first shown: a generated one's own seed and sliders, a
        photo's most likely fill."""
        made = self.generated.setting_of(doc)
        return self._padded(LatentSetting(None) if made is None else made)
