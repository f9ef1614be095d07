"""A crop's geometry, for every fill method: the one place that cuts, scales, pads and pastes.

The pipeline (``core.pipeline.session``) plans the regions of a mask (``plan_regions``: nearby
holes together, a context margin, tiles for large regions), cuts each crop at the method's
working scale and pads it to the method's multiple (``extract_crop``), and pastes the fill back
over the holes with a feathered band (``paste_crop``). Inside a crop, a method's model may run
at a scale of its own (the manifold net's depends on the hole's thickness, biharmonic's on its
area) and a multiple of its own: the method declares them (``FillMethod.model_scale``,
``model_multiple``) and ``model_view`` / ``back_to_crop`` make the model's view and bring its
fill back. A crop's hole is measured once (``HoleMeasure``: one distance transform), and the
measure is handed down with the crop.

A method declares what it needs - ``working_scale`` (by the region's size), ``pad_multiple``,
``min_margin`` and ``margin_factor``, ``model_scale`` and ``model_multiple`` - and implements
none of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from core.base.masks import distance_to_known
from core.base.pixels import Box, from_float, to_float_rgb

# Width, in px, of the band outside the hole over which the fill fades into the original.
BLEND_BAND = 3
# Holes closer than this (px) are filled together in one crop.
GROUP_DISTANCE = 12
GROUP_FACTOR = 4
# Longest side, at the method's working scale, of one pass; larger regions are tiled.
MAX_TILE = 768


class Planned(Protocol):
    """What planning reads of a fill method (``core.methods.base.FillMethod`` declares it)."""

    min_margin: int
    margin_factor: float

    def working_scale(self, region_height: int, region_width: int) -> float: ...


class HoleMeasure:
    """How a crop's hole is shaped, measured once and handed down with the crop: its thickness
    (px from its innermost pixel to the nearest known one, the outside of the crop counting as
    known), the mean of that distance over its pixels, and its pixel count. All come from one
    distance transform, made when one is first asked for; then only the numbers are kept."""

    def __init__(self, hole: np.ndarray) -> None:
        self._hole: np.ndarray | None = hole
        self._values: tuple[float, float, int] | None = None

    @property
    def measured(self) -> bool:
        """Whether the hole has been measured (and let go)."""
        return self._values is not None

    def _measure(self) -> tuple[float, float, int]:
        if self._values is None:
            hole = self._hole
            assert hole is not None
            if hole.any():
                distance = distance_to_known(hole)
                mean = float(distance[hole].mean())
                self._values = float(distance.max()), mean, int(hole.sum())
            else:
                self._values = 0.0, 0.0, 0
            self._hole = None
        return self._values

    @property
    def thickness(self) -> float:
        return self._measure()[0]

    @property
    def mean_distance(self) -> float:
        return self._measure()[1]

    @property
    def area(self) -> int:
        return self._measure()[2]


@dataclass(frozen=True)
class CropPlan:
    """One pass of a method: ``box`` (y0, y1, x0, x1) is cut out; hole pixels inside ``core``
    (y0, y1, x0, x1, a sub-box of ``box``) are written back."""

    box: Box
    core: Box
    scale: float
    index: int

    def shifted(self, dy: int, dx: int) -> CropPlan:
        """The same plan in coordinates whose origin is (dy, dx)."""
        y0, y1, x0, x1 = self.box
        c0, c1, c2, c3 = self.core
        return CropPlan((y0 - dy, y1 - dy, x0 - dx, x1 - dx),
                        (c0 - dy, c1 - dy, c2 - dx, c3 - dx), self.scale, self.index)  # fmt: skip


@dataclass
class PreparedCrop:
    plan: CropPlan
    pixels: np.ndarray  # float32 (h, w, 3) at working scale, padded; holes zeroed
    hole: np.ndarray  # bool (h, w) at working scale, padded
    size: tuple[int, int]  # (h, w) at working scale before padding


def _expand(box: Box, margin: int, shape: tuple[int, int]):
    y0, y1, x0, x1 = box
    return (
        max(0, y0 - margin),
        min(shape[0], y1 + margin),
        max(0, x0 - margin),
        min(shape[1], x1 + margin),
    )


def plan_regions(mask: np.ndarray, method: Planned) -> list[CropPlan]:
    """Boxes to fill, in a deterministic order (top to bottom, left to right)."""
    if not mask.any():
        return []
    # Group on a 4x coarser grid: labelling a 24 MP mask at full size would cost 96 MB.
    coarse = _any_pool(mask, GROUP_FACTOR)
    reach = max(1, GROUP_DISTANCE // GROUP_FACTOR)
    grouped = cv2.dilate(
        coarse.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (reach, reach))
    )
    count, _, stats, _ = cv2.connectedComponentsWithStats(grouped, connectivity=8)
    plans: list[CropPlan] = []
    for label in range(1, count):
        x, y, w, h = (int(v) * GROUP_FACTOR for v in stats[label, :4])
        region = _tighten(mask, (y, min(y + h, mask.shape[0]), x, min(x + w, mask.shape[1])))
        if region is not None:
            plans.extend(_tile_region(region, mask, method, len(plans)))
    return [
        CropPlan(p.box, p.core, p.scale, i)
        for i, p in enumerate(sorted(plans, key=lambda p: (p.core[0], p.core[2])))
    ]


def _any_pool(mask: np.ndarray, factor: int) -> np.ndarray:
    """``True`` where any pixel of a ``factor`` x ``factor`` block is a hole."""
    h, w = mask.shape
    padded = np.pad(mask, ((0, (-h) % factor), (0, (-w) % factor)))
    return padded.reshape(padded.shape[0] // factor, factor, -1, factor).any(axis=(1, 3))


def _tighten(mask: np.ndarray, box: Box):
    """The smallest box holding every hole pixel of ``box`` (None when it holds none)."""
    y0, y1, x0, x1 = box
    block = mask[y0:y1, x0:x1]
    rows = np.flatnonzero(block.any(axis=1))
    cols = np.flatnonzero(block.any(axis=0))
    if rows.size == 0:
        return None
    return y0 + rows[0], y0 + rows[-1] + 1, x0 + cols[0], x0 + cols[-1] + 1


def _tile_region(region: Box, mask: np.ndarray, method: Planned, first: int) -> Iterator[CropPlan]:
    y0, y1, x0, x1 = region
    scale = min(1.0, float(method.working_scale(y1 - y0, x1 - x0)))
    tile = max(32, int(MAX_TILE / scale))
    rows = range(y0, y1, tile)
    cols = range(x0, x1, tile)
    for ty in rows:
        for tx in cols:
            core = (ty, min(ty + tile, y1), tx, min(tx + tile, x1))
            if not mask[core[0] : core[1], core[2] : core[3]].any():
                continue
            longest = max(core[1] - core[0], core[3] - core[2])
            # min_margin is in working-scale pixels, the factor applies to full resolution.
            margin = int(max(method.min_margin / scale, method.margin_factor * longest))
            box = _expand(core, margin + BLEND_BAND, mask.shape)
            yield CropPlan(box, core, scale, first)
            first += 1


def _padding(size: tuple[int, int], multiple: int) -> tuple[tuple[int, int], tuple[int, int], str]:
    pad_h, pad_w = (-size[0]) % multiple, (-size[1]) % multiple
    mode = "reflect" if min(size) > max(pad_h, pad_w) else "edge"
    return (0, pad_h), (0, pad_w), mode


def extract_hole(mask: np.ndarray, plan: CropPlan, pad_multiple: int) -> np.ndarray:
    """The hole of ``plan``'s crop as the method sees it: at working scale, padded."""
    y0, y1, x0, x1 = plan.box
    hole = mask[y0:y1, x0:x1].copy()
    if plan.scale < 1.0:
        h = max(1, round((y1 - y0) * plan.scale))
        w = max(1, round((x1 - x0) * plan.scale))
        # A working pixel is a hole if any full-resolution pixel under it is.
        hole = cv2.resize(hole.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) > 0
    pad_y, pad_x, mode = _padding(hole.shape, pad_multiple)
    return np.pad(hole, (pad_y, pad_x), mode=mode) if pad_y[1] or pad_x[1] else hole


def extract_crop(
    image: np.ndarray, mask: np.ndarray, plan: CropPlan, pad_multiple: int
) -> PreparedCrop:
    y0, y1, x0, x1 = plan.box
    pixels = to_float_rgb(image[y0:y1, x0:x1])
    hole = mask[y0:y1, x0:x1]
    if plan.scale < 1.0:
        h = max(1, round((y1 - y0) * plan.scale))
        w = max(1, round((x1 - x0) * plan.scale))
        pixels = cv2.resize(pixels, (w, h), interpolation=cv2.INTER_AREA)
        hole = cv2.resize(hole.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) > 0
    pixels[hole] = 0.0
    size = hole.shape
    pad_y, pad_x, mode = _padding(size, pad_multiple)
    if pad_y[1] or pad_x[1]:
        pixels = np.pad(pixels, (pad_y, pad_x, (0, 0)), mode=mode)
    return PreparedCrop(
        plan, np.ascontiguousarray(pixels), extract_hole(mask, plan, pad_multiple), size
    )


def blend_weights(hole: np.ndarray, band: int = BLEND_BAND) -> np.ndarray:
    """1 inside the hole, fading linearly to 0 at ``band`` px outside it."""
    if band <= 0:
        return hole.astype(np.float32)
    distance = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return np.clip(1.0 - distance / (band + 1.0), 0.0, 1.0).astype(np.float32)


def paste_crop(
    out: np.ndarray, mask: np.ndarray, prepared: PreparedCrop, filled: np.ndarray
) -> None:
    """Blend ``filled`` (the method's output for ``prepared``) into ``out`` in place."""
    plan = prepared.plan
    y0, y1, x0, x1 = plan.box
    h, w = prepared.size
    filled = filled[:h, :w]
    if (h, w) != (y1 - y0, x1 - x0):
        filled = cv2.resize(filled, (x1 - x0, y1 - y0), interpolation=cv2.INTER_CUBIC)
    hole = mask[y0:y1, x0:x1]
    # Only holes in this pass's core are written; the band may reach into the margin.
    cy0, cy1, cx0, cx1 = plan.core
    own = np.zeros_like(hole)
    own[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0] = hole[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
    weights = blend_weights(own)
    # The band never reaches into holes that other passes own: those keep what they have.
    weights[hole & ~own] = 0.0
    touched = weights > 0
    if not touched.any():
        return
    target = out[y0:y1, x0:x1]
    original = to_float_rgb(target)
    mixed = original + weights[..., None] * (filled.astype(np.float32) - original)
    colour_channels = min(3, target.shape[2] if target.shape[2] != 2 else 1)
    if colour_channels == 1:
        mixed = mixed.mean(axis=2, keepdims=True)
    new_values = from_float(mixed, out.dtype)
    block = target[..., :colour_channels]
    block[touched] = new_values[touched]
    if target.shape[2] in (2, 4):
        _fill_alpha(target, own)


def _fill_alpha(target: np.ndarray, hole: np.ndarray) -> None:
    """Holes in the alpha channel take the alpha of their surroundings (Telea)."""
    alpha = target[..., -1]
    scale = 255.0 if alpha.dtype == np.uint8 else 65535.0 if alpha.dtype == np.uint16 else 1.0
    wide = np.rint(np.clip(alpha / scale, 0.0, 1.0) * 65535.0).astype(np.uint16)
    filled = cv2.inpaint(wide, hole.astype(np.uint8), 3, cv2.INPAINT_TELEA) / 65535.0
    alpha[hole] = from_float(filled, alpha.dtype)[hole]


# -- sessions: plan and prepare once, render as often as asked -------------------------------


# -- a method's model inside a crop ------------------------------------------------------------


def scaled_size(shape: tuple[int, ...], scale: float) -> tuple[int, int]:
    """(h, w) of a crop of ``shape`` at ``scale`` (<= 1), rounded as ``downscale_known`` does."""
    if scale >= 1.0:
        return int(shape[0]), int(shape[1])
    return max(1, round(shape[0] * scale)), max(1, round(shape[1] * scale))


def view_shape(shape: tuple[int, ...], scale: float, multiple: int) -> tuple[int, int]:
    """(h, w) of the padded ``model_view`` of a crop of ``shape``."""
    h, w = scaled_size(shape, scale)
    return h + (-h) % multiple, w + (-w) % multiple


def downscale_known(
    crop: np.ndarray, hole: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """``crop`` (float32 HxWxC) and ``hole`` at ``scale``, averaging known pixels only (hole
    pixels hold zeros that must not bleed in); a working pixel with any hole under it is a hole."""
    h, w = hole.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    known = (~hole).astype(np.float32)
    num = cv2.resize(crop * known[..., None], size, interpolation=cv2.INTER_AREA)
    den = cv2.resize(known, size, interpolation=cv2.INTER_AREA)
    small_hole = den < 0.999  # any hole pixel under it makes a working pixel a hole
    small = num / np.maximum(den, 1e-6)[..., None]
    small[small_hole] = 0.0
    return small.astype(np.float32), small_hole


@dataclass(frozen=True)
class ModelView:
    """A crop as a method's model sees it: at ``scale`` of the crop (known pixels averaged, a
    pixel with any hole under it a hole, holes zeroed); ``pad`` pads to ``multiple``."""

    pixels: np.ndarray  # float32 (h, w, C), not padded
    hole: np.ndarray  # bool (h, w), not padded
    scale: float
    multiple: int

    @property
    def size(self) -> tuple[int, int]:
        """(h, w) before padding."""
        return int(self.hole.shape[0]), int(self.hole.shape[1])

    def pad(self, array: np.ndarray) -> np.ndarray:
        """``array`` of this view's size ((h, w) or (h, w, C)) padded to the multiple, as the
        pipeline pads its crops."""
        pad_y, pad_x, mode = _padding(self.size, self.multiple)
        return np.pad(array, (pad_y, pad_x, *[(0, 0)] * (array.ndim - 2)), mode=mode)


def model_view(crop: np.ndarray, hole: np.ndarray, scale: float, multiple: int) -> ModelView:
    """The view of ``crop`` (float32 (h, w, C)) and its ``hole`` at ``scale`` (<= 1)."""
    if scale < 1.0:
        pixels, small_hole = downscale_known(crop, hole, scale)
    else:
        pixels, small_hole = crop.copy(), hole.copy()
        pixels[small_hole] = 0.0
    return ModelView(pixels, small_hole, scale, multiple)


def back_to_crop(fill: np.ndarray, scale: float, crop: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """A model's ``fill`` of a view (float32, at ``scale`` of the crop, padding cut off) at the
    crop's size: its hole pixels in a float32 copy of ``crop`` (bicubic up, clipped to [0, 1])."""
    if scale < 1.0:
        size = (hole.shape[1], hole.shape[0])
        fill = np.clip(cv2.resize(fill, size, interpolation=cv2.INTER_CUBIC), 0, 1)
    result = crop.astype(np.float32, copy=True)
    result[hole] = fill[hole]
    return result
