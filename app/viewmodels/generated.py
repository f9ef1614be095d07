"""Generated pictures on the latent panel: a picture made by "New from manifold" has no mask to
steer; its seed and sliders move its layout code.

``GeneratedPictures`` owns what the panel shows for such a document: the setting it was made
with (``setting_of``), its text, the low-resolution layout of each new setting (``show``; the
newest request supersedes one still waiting), and ``apply`` (the setting rendered textured at
full size, one undo step). The decodes are ``LayoutViewModel``'s, which also records what
made each picture; ``LatentViewModel`` hands a document here when ``owns`` says so. Nothing
here draws.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.viewmodels.document import Document
from app.viewmodels.layout import LayoutPreview, LayoutViewModel
from app.viewmodels.session import Session
from core.manifold.options import LatentSetting

REFUSED = "A generated picture: its seed and sliders move its layout."


class GeneratedPictures(QObject):
    preview_changed = Signal(object)  # LayoutPreview on screen, or None
    status = Signal(str)  # the layout model's notes (generation, fusion, rendering)
    applied = Signal()  # a generated picture's new setting was rendered into it

    def __init__(
        self, session: Session, layout: LayoutViewModel, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._session, self.layout = session, layout
        self.preview: LayoutPreview | None = None
        self._awaiting = False  # a layout was asked for and has not arrived
        layout.preview_ready.connect(self._preview_ready)
        layout.status.connect(self.status)
        layout.applied.connect(self.applied)
        session.mask_changed.connect(self._on_edit)
        session.image_changed.connect(self.clear)

    def owns(self, doc: Document | None) -> bool:
        """Whether ``doc`` is a generated picture (its setting moves its layout)."""
        return self.layout.made(doc) is not None

    def setting_of(self, doc: Document | None) -> LatentSetting | None:
        """The seed and sliders generated ``doc`` was made (or last applied) with."""
        made = self.layout.made(doc)
        return None if made is None else made.setting

    def describe(self, doc: Document | None) -> str | None:
        """The panel's text for generated ``doc``; None for a photo."""
        made = self.layout.made(doc)
        if made is None:
            return None
        return (
            f"Generated picture ({made.generation.describe()}, texture from "
            f"{made.exemplar_name}): the seed and sliders move its layout; Apply renders it."
        )

    def new_picture(self, seed: int) -> None:
        """A new picture of ``seed``, textured from the photo on screen (a new document)."""
        self.layout.new_from_manifold(seed)

    def show(self, doc: Document, setting: LatentSetting) -> None:
        """The layout of ``setting`` for generated ``doc``, at low resolution."""
        self._awaiting = True
        self.layout.request_preview(doc, setting)

    def apply(self, doc: Document, setting: LatentSetting) -> bool:
        """Render ``setting`` textured at full size into generated ``doc`` (on the worker)."""
        return self.layout.apply(doc, setting)

    def settled(self) -> bool:
        """A layout is on screen and none asked for since is on its way."""
        return self.preview is not None and not self._awaiting

    def clear(self) -> None:
        """The canvas shows the document again; a layout asked for before is old news."""
        self._awaiting = False
        if self.preview is not None:
            self.preview = None
            self.preview_changed.emit(None)

    def restore(self, preview: LayoutPreview) -> None:
        """Show again the layout a generated picture was left with."""
        self._show(preview)

    def _preview_ready(self, result: object) -> None:
        assert isinstance(result, LayoutPreview)
        doc = self._session.document
        if doc is None or not self.owns(doc) or result.doc_id != id(doc):
            return  # made for another document
        self._awaiting = False
        self._show(result)

    def _show(self, preview: LayoutPreview) -> None:
        self.preview = preview
        self.preview_changed.emit(preview)
        self.status.emit(f"Layout: {preview.text} - Apply renders it textured")

    def _on_edit(self, _box: object) -> None:
        self.clear()
