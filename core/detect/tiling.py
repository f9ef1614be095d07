"""Run a local per-pixel function over a large photo in overlapping tiles.

The photo gets ``border`` px of repeated edge pixels all round (and, at the bottom and right,
up to a multiple of the net's stride); that padded photo is what one pass would see. Each tile
is processed with ``margin`` px of real context on every side where the padded photo has it,
and at its borders the window simply ends, so ``fn`` meets them exactly as in one pass: when
``margin`` covers the function's reach, the tiled result equals one pass, while memory stays
bounded by the tile size.

Why ``EDGE_BORDER`` px of repeated edge: most Kodak photos - like many scans - have a flat
frame 2 px wide along two sides. Met at the photo's edge, it is a thin line, a perfect scratch;
mirrored padding doubles it into a 4 px line. Repeating the edge widens it into a flat band
that no detector mistakes for a scratch. The damage net at step 12350 flagged 0.42 % of the 24
clean Kodak photos' pixels with no padding, 0.19 % of them within 3 px of the border; with 16 px
of repeated edge 0.25 % and 0.05 %, scratch / dust F1 0.707 / 0.782 -> 0.747 / 0.793, at 1.75 s
per megapixel instead of 1.64. Padding by the whole context margin (150 px) instead cost 1.8x.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import numpy as np

from core.base.progress import Progress

EDGE_BORDER = 16


def _starts(length: int, tile: int) -> list[int]:
    return list(range(0, length, tile)) if length > tile else [0]


def tiled_steps(
    fn: Callable[[np.ndarray], np.ndarray],
    rgb: np.ndarray,
    *,
    tile: int,
    margin: int,
    multiple: int = 1,
    border: int = 0,
    label: str = "tile",
    prepare: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Generator[Progress, None, np.ndarray]:
    """float32 HxW map of ``fn`` over float32 RGB ``rgb``.

    ``fn`` takes a window (h, w, 3) whose sides are multiples of ``multiple`` and returns an
    (h, w) map. Tile starts are multiples of ``multiple`` too, so strided layers see the same
    pixel grid in every tile. ``border`` px of repeated edge pixels go around the photo first.
    ``prepare`` (per pixel, e.g. 8-bit to float RGB) is applied to each window, so ``rgb`` may
    be the photo as it was read: no full-size float copy (288 MB for a 24 MP scan) is made,
    and the padded photo is never built either - each window gathers its own edge pixels.
    """
    h, w = rgb.shape[:2]
    tile = max(multiple, tile - tile % multiple)
    margin += (-margin) % multiple
    border += (-border) % multiple
    # The padded photo is what one pass would see; windows end at its borders, where ``fn``
    # meets them exactly as in one pass. Bottom and right: up to a multiple of ``multiple``.
    full_h = h + 2 * border + (-h) % multiple
    full_w = w + 2 * border + (-w) % multiple
    out = np.empty((h, w), np.float32)
    ys, xs = _starts(h, tile), _starts(w, tile)
    total, done = len(ys) * len(xs), 0
    for y in ys:
        for x in xs:
            th, tw = min(tile, h - y), min(tile, w - x)
            py, px = y + border, x + border  # the tile's corner in the padded photo
            y0, x0 = max(0, py - margin), max(0, px - margin)
            y1, x1 = min(full_h, py + th + margin), min(full_w, px + tw + margin)
            # Rows and columns of the padded photo, as indices into the photo (edge repeated).
            rows = np.clip(np.arange(y0, y1) - border, 0, h - 1)
            cols = np.clip(np.arange(x0, x1) - border, 0, w - 1)
            window = rgb[rows[0] : rows[-1] + 1][rows - rows[0]][:, cols]
            if prepare is not None:
                window = prepare(window)
            result = fn(np.ascontiguousarray(window))
            out[y : y + th, x : x + tw] = result[py - y0 : py - y0 + th, px - x0 : px - x0 + tw]
            done += 1
            yield Progress(done / total, f"{label} {done} of {total}")
    return out
