"""The interface every fill method implements.

Methods are small: they fill one prepared crop. The pipeline (``core.pipeline.session``) owns
everything around them, through ``core.methods.geometry`` - splitting the mask into regions,
cropping with context, converting dtypes, resizing to the method's working scale, padding to
``pad_multiple`` and pasting the result back. A method whose model runs at a scale of its own
inside the crop declares it (``model_scale``, ``model_multiple``) and takes its ``view`` of
the crop; ``core.methods.geometry.back_to_crop`` brings the model's fill back. The crop's hole
is measured once and handed down (``CropContext.measure``).

A fill is two steps, so that one image can be rendered many times (variants, latent sliders):
``prepare_steps`` does the work that depends neither on the seed nor on the latent (the
manifold net's encoder), once per crop; ``render_steps`` turns that into the filled crop for
one seed and option set (a decoder pass). Classical methods implement ``fill`` alone: their
whole fill is the render.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from core.base.errors import InpaintError
from core.base.progress import Progress, Steps, run_to_end, scaled
from core.methods.geometry import HoleMeasure, ModelView, model_view


def region_seed(seed: int | None, index: int) -> int | None:
    """The seed of region ``index`` of a fill asked for with ``seed`` (None stays None): each
    region draws its own numbers, so adding a speck elsewhere never changes a region's fill."""
    return None if seed is None else (seed * 1_000_003 + index) % (2**63)


@dataclass(frozen=True)
class CropContext:
    """What a method may know about the crop it fills, besides its pixels."""

    # The region's own seed (``region_seed`` of the request's seed); None = the most likely fill.
    seed: int | None = None
    # Scale factor the pipeline applied to the crop (1.0 = full resolution).
    scale: float = 1.0
    # The request's options: an instance of the method's ``options_type``, or None (defaults).
    options: Any = None
    # The region's number in the fill's plan.
    index: int = 0
    # The crop's hole measured (``HoleMeasure`` of the ``hole`` the method is given), or None:
    # the method measures it (``FillMethod.measure``).
    measure: HoleMeasure | None = None


class FillMethod(ABC):
    """A way to fill the hole pixels of an RGB crop.

    Crops are float32 ``(h, w, 3)`` RGB in ``[0, 1]`` whose hole pixels hold no information
    (they are zero), with ``hole``: bool ``(h, w)``. A fill is a float32 array of the same
    shape; only its hole pixels are used.

    Subclasses implement ``fill`` (run at render time), or ``prepare_steps`` and
    ``render_steps`` when part of the work can be shared between renders.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    # The typed options this method reads (a frozen dataclass), or None when it takes none.
    options_type: ClassVar[type | None] = None
    # The pipeline pads crops so that height and width are multiples of this.
    pad_multiple: ClassVar[int] = 1
    # Context added around each hole region: at least ``min_margin`` px, or
    # ``margin_factor`` x the region's longest side, whichever is larger.
    min_margin: ClassVar[int] = 16
    margin_factor: ClassVar[float] = 0.5
    # Most crops the pipeline hands to one ``prepare_batch_steps`` / ``render_batch_steps``.
    max_batch: ClassVar[int] = 1

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        """(can run here, why not): e.g. model weights missing or damaged."""
        return True, ""

    @classmethod
    def check_options(cls, options: object) -> None:
        """Refuse options meant for another method (a clear error, never silently ignored)."""
        if options is None:
            return
        if cls.options_type is None or not isinstance(options, cls.options_type):
            raise InpaintError(
                f"the {cls.name} method takes no {type(options).__name__}"
                if cls.options_type is None
                else f"the {cls.name} method takes {cls.options_type.__name__}, "
                f"not {type(options).__name__}"
            )

    def same_preparation(self, options: object, other: object) -> bool:
        """Whether crops prepared under ``options`` can be rendered under ``other``."""
        return True

    def working_scale(self, region_height: int, region_width: int) -> float:
        """Downscale factor (<= 1) at which to run on a hole region of this size."""
        return 1.0

    # -- the method's model inside a crop (``view``) ------------------------------------------

    def model_scale(self, measure: HoleMeasure, options: Any) -> float:
        """Scale (<= 1) of the crop at which the method's model runs, from the crop's hole (and
        the request's options): 1 for methods that fill the crop as given."""
        return 1.0

    @property
    def model_multiple(self) -> int:
        """The model's view is padded so that its height and width are multiples of this."""
        return 1

    def measure(self, hole: np.ndarray, context: CropContext) -> HoleMeasure:
        """The measure of ``hole`` the pipeline handed down, or a new one."""
        return context.measure if context.measure is not None else HoleMeasure(hole)

    def view(self, crop: np.ndarray, hole: np.ndarray, context: CropContext) -> ModelView:
        """``crop`` as the method's model sees it (``model_scale``, ``model_multiple``)."""
        scale = self.model_scale(self.measure(hole, context), context.options)
        return model_view(crop, hole, scale, self.model_multiple)

    # -- one crop -----------------------------------------------------------------------------

    def fill(self, crop: np.ndarray, hole: np.ndarray, context: CropContext) -> np.ndarray:
        """The filled crop (float32, same shape as ``crop``)."""
        return run_to_end(self.fill_steps(crop, hole, context))

    def prepare_steps(self, crop: np.ndarray, hole: np.ndarray, context: CropContext) -> Steps[Any]:
        """Everything that depends neither on the seed nor on latent options (``context.seed``
        is None here), done once per crop however many renders follow. The default keeps the
        crop for ``render_steps``, which runs ``fill``."""
        yield Progress(1.0)
        return crop, hole

    def render_steps(self, prepared: Any, context: CropContext) -> Steps[np.ndarray]:
        """The filled crop for ``context`` (seed and options) from what ``prepare_steps``
        returned."""
        crop, hole = prepared
        result = self.fill(crop, hole, context)
        yield Progress(1.0)
        return result

    def fill_steps(
        self, crop: np.ndarray, hole: np.ndarray, context: CropContext
    ) -> Steps[np.ndarray]:
        """Prepare and render one crop; yields progress (each yield is a cancel point)."""
        plain = CropContext(None, context.scale, context.options, measure=context.measure)
        prepare = self.prepare_steps(crop, hole, plain)
        prepared = yield from scaled(prepare, 0.0, 0.5)
        return (yield from scaled(self.render_steps(prepared, context), 0.5, 1.0))

    def describe(self, prepared: Any, options: object = None) -> str:
        """How a prepared crop is filled with ``options``, in a few words for the status and
        the CLI."""
        return self.name

    # -- batches ------------------------------------------------------------------------------

    def batch_key(self, hole: np.ndarray, context: CropContext) -> Hashable | None:
        """Crops whose keys are equal (and not None) may be prepared and rendered together;
        None (the default) handles this crop on its own. Decided from the hole (at working
        scale, padded) and the options alone."""
        return None

    def prepare_batch_steps(
        self, items: Sequence[tuple[np.ndarray, np.ndarray, CropContext]]
    ) -> Steps[list[Any]]:
        """``prepare_steps`` of several ``(crop, hole, context)`` items of one batch key."""
        results = []
        for number, (crop, hole, context) in enumerate(items):
            steps = self.prepare_steps(crop, hole, context)
            start, end = number / len(items), (number + 1) / len(items)
            results.append((yield from scaled(steps, start, end)))
        return results

    def render_batch_steps(
        self, prepared: Sequence[Any], contexts: Sequence[CropContext]
    ) -> Steps[list[np.ndarray]]:
        """``render_steps`` of several prepared crops of one batch key; each result must be
        what ``render_steps`` gives for that crop alone."""
        results = []
        for number, (one, context) in enumerate(zip(prepared, contexts, strict=True)):
            steps = self.render_steps(one, context)
            start, end = number / len(prepared), (number + 1) / len(prepared)
            results.append((yield from scaled(steps, start, end)))
        return results
