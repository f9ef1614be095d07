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
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.base.progress import Steps
from core.texture import TextureOptions, synthesize_steps

# For a whole canvas, not a hole: the texture energy is voted (there are no surroundings to
# continue it from), the fill's own low band and middle band are kept where matches are good
# (the layout's band only where they are poor), and 5-px patches with one search pass keep a
# 512 px picture near 4 s on the loaded 2-core CPU (7 px and 2 passes: 6-10 s; the detail
# ratio on Kodak exemplars is the same or better: 0.69-0.78 against 0.50-0.75).
OPTIONS = TextureOptions(
    patch_size=5,
    coarse_iterations=2,
    search_iterations=1,
    voted_energy_from_px=0.0,
    own_bands_from_px=float("inf"),
    low_band_keep=0.0,
    mid_gain=1.0,
    mid_gain_far=1.0,
)


@dataclass(frozen=True)
class Exemplar:
    """A texture source: float32 (h, w, 3) in [0, 1] and the pixels never to copy (or None)."""

    image: np.ndarray
    avoid: np.ndarray | None = None


def fit_height(exemplar: Exemplar, height: int, max_width: int) -> Exemplar:
    """Scaled to ``height`` rows, then cropped to its most detailed ``max_width`` columns."""
    h, w = exemplar.image.shape[:2]
    width = max(1, round(w * height / h))
    interp = cv2.INTER_AREA if height < h else cv2.INTER_CUBIC
    image = cv2.resize(exemplar.image, (width, height), interpolation=interp)
    avoid = None
    if exemplar.avoid is not None:
        # Any coverage counts (area resampling, > 0): a 1-px scratch must stay out of reach
        # after shrinking, where nearest sampling would skip it.
        grown = cv2.dilate(exemplar.avoid.astype(np.uint8), np.ones((3, 3), np.uint8))
        covered = cv2.resize(
            grown.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA
        )
        avoid = covered > 0
    if width > max_width:
        x = _most_detailed_window(image, avoid, max_width)
        image = image[:, x : x + max_width]
        avoid = None if avoid is None else avoid[:, x : x + max_width]
    return Exemplar(np.clip(image, 0, 1).astype(np.float32), avoid)


def _most_detailed_window(image: np.ndarray, avoid: np.ndarray | None, width: int) -> int:
    """Left column of the ``width``-wide window with the most gradient energy (pixels to
    avoid left out): where the exemplar has texture to give (a photo's bokeh has none)."""
    grey = image.mean(axis=2)
    energy = np.abs(np.diff(grey, axis=1, append=grey[:, -1:]))
    energy += np.abs(np.diff(grey, axis=0, append=grey[-1:]))
    if avoid is not None:
        energy[avoid] = 0.0
    columns = np.concatenate([[0.0], np.cumsum(energy.sum(axis=0))])
    sums = columns[width:] - columns[:-width]
    return int(np.argmax(sums))


def match_colours(layout: np.ndarray, exemplars: list[Exemplar], share: float) -> np.ndarray:
    """Move the layout's colours ``share`` of the way to the exemplars' palette (mean and
    standard deviation per Lab channel, Reinhard et al. 2001): patches of a red-and-green
    photo cannot paint a blue sky, and where nothing matches the engine keeps the smooth
    layout, so a palette far from the exemplar's leaves the picture untextured."""
    if share <= 0 or not exemplars:
        return layout
    lab = cv2.cvtColor(layout, cv2.COLOR_RGB2Lab).reshape(-1, 3)
    pixels = []
    for e in exemplars:
        ex = cv2.cvtColor(e.image, cv2.COLOR_RGB2Lab)
        pixels.append(ex[~e.avoid] if e.avoid is not None else ex.reshape(-1, 3))
    target = np.concatenate(pixels)
    mean, std = lab.mean(axis=0), np.maximum(lab.std(axis=0), 1e-3)
    moved = (lab - mean) / std * target.std(axis=0) + target.mean(axis=0)
    out = (lab + share * (moved - lab)).reshape(layout.shape).astype(np.float32)
    return np.clip(cv2.cvtColor(out, cv2.COLOR_Lab2RGB), 0.0, 1.0).astype(np.float32)


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
    h, w = layout.shape[:2]
    image, hole, guide = _side_by_side(layout, exemplars, density)
    filled = yield from synthesize_steps(image, hole, guide, seed, options=OPTIONS)
    return np.ascontiguousarray(filled[:h, -w:])


def _padding(n: int, short: int) -> int:
    """Rows or columns to add so that ``n`` halves exactly at every pyramid level of the
    engine (it stops halving at ~48 px on the short side; some OpenCV resizes of more than
    4 channels fail on sizes that do not halve exactly)."""
    levels = max(0, int(np.ceil(np.log2(max(short, 1) / 24.0)))) + 1
    multiple = 1 << levels
    return (-n) % multiple


def _side_by_side(
    layout: np.ndarray, exemplars: list[Exemplar], density: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image, hole, guide) of [exemplars | canvas], padded with canvas (hole) to sizes that
    halve exactly; the canvas is the top-right (h, w) corner."""
    h, w = layout.shape[:2]
    total = sum(e.image.shape[1] for e in exemplars) + w
    pad_y, pad_x = _padding(h, min(h, total)), _padding(total, min(h, total))
    canvas_guide = cv2.copyMakeBorder(layout, 0, pad_y, pad_x, 0, cv2.BORDER_REPLICATE)
    parts = [np.pad(e.image, ((0, pad_y), (0, 0), (0, 0))) for e in exemplars]
    holes = []
    for e in exemplars:
        hole = np.ones((h + pad_y, e.image.shape[1]), bool)
        hole[:h] = e.avoid if e.avoid is not None else False
        holes.append(hole)
    guides = [
        cv2.copyMakeBorder(low_band(e.image, density), 0, pad_y, 0, 0, cv2.BORDER_REPLICATE)
        for e in exemplars
    ]
    image = np.concatenate([*parts, np.zeros_like(canvas_guide)], axis=1)
    hole = np.concatenate([*holes, np.ones(canvas_guide.shape[:2], bool)], axis=1)
    guide = np.concatenate([*guides, canvas_guide], axis=1).astype(np.float32)
    return np.ascontiguousarray(image, np.float32), hole, guide
