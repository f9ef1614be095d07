"""Generation and fusion of whole pictures: a layout code, decoded, textured from exemplars.

``generate_steps``: the code of a seed (plus slider moves) -> its layout at the output size
-> texture from an exemplar photo. ``fuse_steps``: two photos' codes blended spherically
(``core.manifold.options.slerp``, as the latent panel's fusion) -> layout -> texture from
either photo or both. ``preview``: the layout alone, at low resolution (what a slider drag
shows). Each is reproducible: the same arguments give the same pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.base.errors import InpaintError
from core.base.imageio import read_image
from core.base.interpolation import slerp
from core.base.masks import load_mask
from core.base.pixels import to_float_rgb
from core.base.progress import Progress, Steps, scaled
from core.base.resources import SAMPLE_IMAGE, SAMPLE_MASK
from core.layout.model import LayoutModel
from core.layout.texturing import Exemplar, fit_height, match_colours, texture_steps

DEFAULT_SIZE = (512, 512)  # (width, height)
MAX_SIDE = 4096
TEXTURE_CHOICES = ("a", "b", "both")


@dataclass(frozen=True)
class Generation:
    """What reproduces a generated picture; seed None: the prior's mean layout (code 0)."""

    seed: int | None
    width: int = DEFAULT_SIZE[0]
    height: int = DEFAULT_SIZE[1]
    sliders: tuple[float, ...] = ()
    texture: bool = True  # False: the upsampled layout alone
    # Share of the way the layout's colours move to the exemplar's palette (0: the layout's).
    colour_match: float = 0.5

    def __post_init__(self) -> None:
        check_size(self.width, self.height)
        if not (np.isfinite(self.colour_match) and 0.0 <= self.colour_match <= 1.0):
            raise InpaintError(f"colour match must be between 0 and 1, got {self.colour_match}")
        values = tuple(float(v) for v in self.sliders)
        if not all(np.isfinite(values)):
            raise InpaintError("slider values must be finite numbers")
        object.__setattr__(self, "sliders", values)

    def describe(self) -> str:
        moved = [f"{i + 1}={v:+.2f}" for i, v in enumerate(self.sliders) if v]
        seed = "mean layout" if self.seed is None else f"seed {self.seed}"
        return seed + (f", {' '.join(moved)}" if moved else "")


def check_size(width: int, height: int) -> None:
    if not (8 <= width <= MAX_SIDE and 8 <= height <= MAX_SIDE):
        raise InpaintError(f"size must be 8 to {MAX_SIDE} px a side, got {width}x{height}")


def parse_size(text: str) -> tuple[int, int]:
    """'WxH' -> (w, h)."""
    parts = text.lower().replace(" ", "").split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise InpaintError(f"size must look like 512x384, got {text!r}")
    width, height = int(parts[0]), int(parts[1])
    check_size(width, height)
    return width, height


def code_of(model: LayoutModel, generation: Generation) -> np.ndarray:
    seed = generation.seed
    base = np.zeros(model.z_dim, np.float32) if seed is None else model.sample(seed)
    return model.with_sliders(base, generation.sliders)


def preview(model: LayoutModel, code: np.ndarray, width: int, height: int) -> np.ndarray:
    """The layout of ``code`` at (``width``, ``height``): no texture, a few milliseconds."""
    return model.layout(code, width, height)


def _density(model: LayoutModel, width: int, height: int) -> tuple[float, float]:
    return model.size / width, model.size / height


def _textured(
    model: LayoutModel,
    code: np.ndarray,
    size: tuple[int, int],
    exemplars: list[Exemplar],
    seed: int,
    colour_match: float = 0.0,
) -> Steps[np.ndarray]:
    width, height = size
    yield Progress(0.0, "decoding the layout")
    layout = model.layout(code, width, height)
    if not exemplars:
        yield Progress(1.0, "layout decoded")
        return layout
    # One canvas width of each exemplar: more source costs search time, not detail.
    fitted = [fit_height(e, height, width) for e in exemplars]
    layout = match_colours(layout, fitted, colour_match)
    steps = texture_steps(layout, fitted, _density(model, width, height), seed)
    result = yield from scaled(steps, 0.05, 1.0)
    return result


def generate_steps(
    model: LayoutModel, generation: Generation, exemplar: Exemplar | None
) -> Steps[np.ndarray]:
    """A new picture (float32 (height, width, 3) in [0, 1]) from ``generation``'s seed and
    sliders, textured from ``exemplar`` (None or ``texture=False``: the layout alone)."""
    code = code_of(model, generation)
    exemplars = [exemplar] if exemplar is not None and generation.texture else []
    size = (generation.width, generation.height)
    seed = generation.seed or 0
    steps = _textured(model, code, size, exemplars, seed, generation.colour_match)
    return (yield from steps)


def fused_code(model: LayoutModel, a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """The code ``t`` of the way from photo ``a``'s code to photo ``b``'s (spherical)."""
    check_t(t)
    return slerp(model.encode(a), model.encode(b), float(t))


def check_t(t: float) -> None:
    if not (np.isfinite(t) and 0.0 <= t <= 1.0):
        raise InpaintError(f"t must be between 0 and 1, got {t}")


def fuse_steps(
    model: LayoutModel,
    a: Exemplar,
    b: Exemplar,
    t: float,
    texture: str = "both",
    size: tuple[int, int] | None = None,
    seed: int = 0,
) -> Steps[np.ndarray]:
    """A picture between photos ``a`` and ``b`` (t = 0: ``a``'s layout, 1: ``b``'s), textured
    from ``texture`` ('a', 'b', 'both' or 'none'); ``size`` (w, h) defaults to ``a``'s shape
    with the long side at most 512."""
    check_t(t)
    if texture not in (*TEXTURE_CHOICES, "none"):
        raise InpaintError(f"texture must be one of a, b, both, none; got {texture!r}")
    size = size or default_fuse_size(a.image.shape[1], a.image.shape[0])
    check_size(*size)
    code = fused_code(model, a.image, b.image, t)
    exemplars = {"a": [a], "b": [b], "both": [a, b], "none": []}[texture]
    # No colour matching: the layout's colours are the photos' own.
    return (yield from _textured(model, code, size, exemplars, seed))


def default_fuse_size(width: int, height: int, long_side: int = 512) -> tuple[int, int]:
    scale = min(1.0, long_side / max(width, height))
    return max(8, round(width * scale)), max(8, round(height * scale))


def load_exemplar(path: Path | None, max_side: int = 1536) -> Exemplar:
    """A texture source read from ``path`` (None: the bundled sample photo, whose scratches
    and dust, listed in its damage mask, are never copied), shrunk to ``max_side``."""
    source = Path(path) if path is not None else SAMPLE_IMAGE
    image = to_float_rgb(read_image(source).pixels)
    avoid = None
    if source.resolve() == SAMPLE_IMAGE.resolve() and SAMPLE_MASK.is_file():
        avoid = load_mask(SAMPLE_MASK, image.shape[:2])
    return make_exemplar(image, avoid, max_side)


def make_exemplar(image: np.ndarray, avoid: np.ndarray | None, max_side: int = 1536) -> Exemplar:
    """An exemplar of float RGB pixels in [0, 1] (shrunk to ``max_side``); ``avoid``: pixels
    never to copy (e.g. the photo's masked damage), or None."""
    h, w = image.shape[:2]
    if avoid is not None and not avoid.any():
        avoid = None
    scale = max_side / max(h, w)
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        if avoid is not None:
            covered = cv2.resize(avoid.astype(np.float32), size, interpolation=cv2.INTER_AREA)
            avoid = covered > 0
    return Exemplar(np.ascontiguousarray(image, np.float32), avoid)
