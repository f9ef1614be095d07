"""The latent panel's engine: one image + mask, encoded once, rendered for any latent setting.

A ``LatentSetting`` (seed + slider values) reproduces a fill exactly, and is what the CLI's
``fill --seed S --direction i=V`` spells: both state a ``FillRequest`` of the manifold method
and render it through a ``FillSession`` (``core.pipeline.session``), so the editor and the
command line give the same pixels; a render returns the session's ``FillResult``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from core.base.pixels import Box
from core.base.progress import Steps, run_to_end
from core.manifold.directions import Directions, directions_for
from core.manifold.method import ManifoldFill
from core.manifold.options import Blend, LatentSetting, ManifoldOptions
from core.pipeline.session import FillRequest, FillResult, FillSession


class LatentSession:
    """One image + mask, encoded once; ``render`` any latent setting by re-decoding only.

    ``image`` and ``mask`` follow ``core``'s conventions and are not modified (the session keeps
    a copy of the box around the holes). Thread use: one thread at a time (the editor's render
    thread); ``render`` is deterministic. Only hole pixels and the blend band around them
    change, and only the box around the holes (``box``) is computed, so a render's cost does
    not grow with the photo.
    """

    def __init__(
        self,
        method: ManifoldFill,
        image: np.ndarray,
        mask: np.ndarray,
        options: ManifoldOptions | None = None,
    ) -> None:
        self.method = method
        self.options = options if options is not None else ManifoldOptions()
        request = FillRequest(image, mask, method.name, device=method.device, options=self.options)
        self._session = FillSession(request, keep=True, method=method)

    @property
    def image(self) -> np.ndarray:
        return self._session.image

    @property
    def box(self) -> Box:
        return self._session.box

    @property
    def hole_box(self) -> Box:
        return self._session.hole_box

    @property
    def directions(self) -> Directions:
        return directions_for(self.method)

    @property
    def grain(self) -> bool:
        """Renders add the surroundings' grain to the fill (``FillSession.grain``)."""
        return self._session.grain

    @grain.setter
    def grain(self, value: bool) -> None:
        self._session.grain = bool(value)

    def encode_steps(self) -> Steps[None]:
        """Encode every independent region (progress per batch; stop iterating to cancel)."""
        return self._session.prepare_steps()

    def encode(self) -> None:
        run_to_end(self.encode_steps())

    def render_steps(
        self, setting: LatentSetting, textured: bool = True, blend: Blend | None = None
    ) -> Steps[FillResult]:
        """The fill for ``setting`` (its ``patch`` is the box ``self.box``, in the image's
        dtype); yields progress (each yield a cancel point). ``textured=False``: the net's
        (spread) fill alone, one decoder pass per region - the live preview while a slider
        moves. ``blend``: fusion, the code ``blend.t`` of the way from ``setting``'s to
        ``blend.toward``'s (per region)."""
        options = replace(
            self.options, sample=True, sliders=setting.sliders, blend=blend,
            texture=self.options.texture and textured,
        )  # fmt: skip
        return self._session.render_steps(setting.seed, options)

    def render(
        self, setting: LatentSetting, textured: bool = True, blend: Blend | None = None
    ) -> np.ndarray:
        """The filled box of ``render_steps`` (scripts and tests)."""
        return run_to_end(self.render_steps(setting, textured, blend)).patch

    def compose(self, patch: np.ndarray) -> np.ndarray:
        """The whole image with a rendered box pasted in (a new array)."""
        return self._session.compose(patch)

    def render_image(self, setting: LatentSetting, textured: bool = True) -> np.ndarray:
        """The whole filled image of ``render_steps`` (scripts and tests)."""
        return run_to_end(self.render_steps(setting, textured)).image
