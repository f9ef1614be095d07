"""Texture for a decoded layout, taken from exemplar photos.

The guided texture engine (``core.texture.synthesize_steps``) fills the hole of one image with
patches of its known pixels, guided by a structure image. It has no separate source image, so
the exemplars are placed beside an all-hole canvas::

    image = [exemplar 1 | exemplar 2 | canvas]     hole  = [damage | damage | all]
    guide = [low band 1 | low band 2 | layout ]

and the canvas is cut out of the result. An exemplar's guide is its own low band at the
layout's pixel density (shrunk as the layout was, then enlarged), so a patch is matched by
comparing like with like; pixels marked ``avoid`` (the damage of the bundled sample photo)
are hole too, so they are never copied.

Until the engine is on main, ``standin_texture`` (FALLBACK, not the product's texture) adds
the exemplar's high-frequency residual to the upsampled layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.progress import Progress, Steps

try:  # the engine of issue 16 (branch texture); FALLBACK below until it is merged
    from core.texture import TextureOptions, synthesize_steps
except ImportError:  # pragma: no cover - depends on what is merged
    TextureOptions = None  # type: ignore[assignment,misc]
    synthesize_steps = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Exemplar:
    """A texture source: float32 (h, w, 3) in [0, 1] and the pixels never to copy (or None)."""

    image: np.ndarray
    avoid: np.ndarray | None = None


def engine_available() -> bool:
    return synthesize_steps is not None


def fit_height(exemplar: Exemplar, height: int, max_width: int) -> Exemplar:
    """Scaled to ``height`` rows, then centre-cropped to at most ``max_width`` columns."""
    h, w = exemplar.image.shape[:2]
    width = max(1, round(w * height / h))
    interp = cv2.INTER_AREA if height < h else cv2.INTER_CUBIC
    image = cv2.resize(exemplar.image, (width, height), interpolation=interp)
    avoid = None
    if exemplar.avoid is not None:
        grown = cv2.dilate(exemplar.avoid.astype(np.uint8), np.ones((3, 3), np.uint8))
        avoid = cv2.resize(grown, (width, height), interpolation=cv2.INTER_NEAREST) > 0
    if width > max_width:
        x = (width - max_width) // 2
        image = image[:, x : x + max_width]
        avoid = None if avoid is None else avoid[:, x : x + max_width]
    return Exemplar(np.clip(image, 0, 1).astype(np.float32), avoid)


def low_band(image: np.ndarray, density: tuple[float, float]) -> np.ndarray:
    """``image`` shrunk by ``density`` (x, y) and enlarged back: what a layout can hold."""
    h, w = image.shape[:2]
    small = (max(1, round(w * density[0])), max(1, round(h * density[1])))
    down = cv2.resize(image, small, interpolation=cv2.INTER_AREA)
    return np.clip(cv2.resize(down, (w, h), interpolation=cv2.INTER_CUBIC), 0, 1)


def texture_steps(
    layout: np.ndarray, exemplars: list[Exemplar], density: tuple[float, float], seed: int
) -> Steps[np.ndarray]:
    """Texture the full-size ``layout`` (float32 (h, w, 3)) with patches of ``exemplars``
    (each already at the layout's height, see ``fit_height``); returns float32 (h, w, 3)."""
    if not engine_available():
        yield Progress(0.5, "texture: stand-in (engine not installed)")
        result = standin_texture(layout, exemplars[0], density)
        yield Progress(1.0, "texture done")
        return result
    h, w = layout.shape[:2]
    parts = [e.image for e in exemplars] + [np.zeros_like(layout)]
    holes = [
        e.avoid if e.avoid is not None else np.zeros(e.image.shape[:2], bool) for e in exemplars
    ] + [np.ones((h, w), bool)]
    guides = [low_band(e.image, density) for e in exemplars] + [layout]
    image = np.concatenate(parts, axis=1)
    hole = np.concatenate(holes, axis=1)
    guide = np.concatenate(guides, axis=1).astype(np.float32)
    filled = yield from synthesize_steps(image, hole, guide, seed, options=TextureOptions())
    return np.ascontiguousarray(filled[:, -w:])


def standin_texture(
    layout: np.ndarray, exemplar: Exemplar, density: tuple[float, float]
) -> np.ndarray:
    """FALLBACK stand-in for the engine: the layout plus the exemplar's high-frequency
    residual (the exemplar minus its low band), tiled over the canvas. Detail without
    structure: the residual does not follow the layout's regions."""
    h, w = layout.shape[:2]
    residual = exemplar.image - low_band(exemplar.image, density)
    reps = (int(np.ceil(h / residual.shape[0])), int(np.ceil(w / residual.shape[1])), 1)
    tiled = np.tile(residual, reps)[:h, :w]
    return np.clip(layout + tiled, 0.0, 1.0).astype(np.float32)
