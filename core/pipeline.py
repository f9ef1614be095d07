"""The fill pipeline shared by every method.

1. ``plan_regions``: group the mask's hole pixels into regions (nearby specks together), give each
   a box with context margin, and split regions too large for one pass into tiles.
2. ``extract_crop``: cut the box out, convert it to float32 RGB in ``[0, 1]``, blank the holes,
   scale it to the method's working resolution and pad it to the method's multiple.
3. the method fills the crop; small crops it can stack (``FillMethod.batch_key``) are filled
   together when their boxes are disjoint (see ``fill_steps``).
4. ``paste_crop``: undo padding and scaling, and blend the fill into the output over the hole
   pixels plus a narrow feathered band; every pixel farther than ``BLEND_BAND`` px from the hole
   keeps its exact input value.

Work and memory are proportional to the boxes around the damage, never to the whole photo (only
the bool mask and its labels are whole-image sized).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from core.errors import MaskError
from core.methods import CropContext, FillMethod, get_method
from core.progress import Progress, Steps, scaled

# Width, in px, of the band outside the hole over which the fill fades into the original.
BLEND_BAND = 3
# Holes closer than this (px) are filled together in one crop.
GROUP_DISTANCE = 12
GROUP_FACTOR = 4
# Longest side, at the method's working scale, of one pass; larger regions are tiled.
MAX_TILE = 768
# Most crops waiting in batches; past it the oldest batch is filled (bounds their memory).
MAX_PENDING = 64


@dataclass(frozen=True)
class FillRequest:
    """Everything a fill needs; a snapshot, so the caller may keep editing meanwhile."""

    image: np.ndarray
    mask: np.ndarray
    method: str = "telea"
    seed: int | None = None
    device: str = "cpu"
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CropPlan:
    """One pass of a method: ``box`` (y0, y1, x0, x1) is cut out; hole pixels inside ``core``
    (y0, y1, x0, x1, a sub-box of ``box``) are written back."""

    box: tuple[int, int, int, int]
    core: tuple[int, int, int, int]
    scale: float
    index: int


@dataclass
class PreparedCrop:
    plan: CropPlan
    pixels: np.ndarray  # float32 (h, w, 3) at working scale, padded; holes zeroed
    hole: np.ndarray  # bool (h, w) at working scale, padded
    size: tuple[int, int]  # (h, w) at working scale before padding


def validate(image: np.ndarray, mask: np.ndarray) -> None:
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4):
        raise MaskError(f"image must be HxWxC with 1-4 channels, got shape {image.shape}")
    if mask.shape != image.shape[:2]:
        raise MaskError(
            f"mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
            f"{image.shape[1]}x{image.shape[0]}; they must be the same size"
        )
    if mask.dtype != np.bool_:
        raise MaskError(f"mask must be a bool array, got {mask.dtype}")


def _expand(box: tuple[int, int, int, int], margin: int, shape: tuple[int, int]):
    y0, y1, x0, x1 = box
    return (
        max(0, y0 - margin),
        min(shape[0], y1 + margin),
        max(0, x0 - margin),
        min(shape[1], x1 + margin),
    )


def plan_regions(mask: np.ndarray, method: FillMethod) -> list[CropPlan]:
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


def _tighten(mask: np.ndarray, box: tuple[int, int, int, int]):
    """The smallest box holding every hole pixel of ``box`` (None when it holds none)."""
    y0, y1, x0, x1 = box
    block = mask[y0:y1, x0:x1]
    rows = np.flatnonzero(block.any(axis=1))
    cols = np.flatnonzero(block.any(axis=0))
    if rows.size == 0:
        return None
    return y0 + rows[0], y0 + rows[-1] + 1, x0 + cols[0], x0 + cols[-1] + 1


def _tile_region(
    region: tuple[int, int, int, int], mask: np.ndarray, method: FillMethod, first: int
) -> Iterator[CropPlan]:
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


def to_float_rgb(pixels: np.ndarray) -> np.ndarray:
    """Colour channels of an image block as float32 RGB in [0, 1] (gray is replicated)."""
    colour = pixels[..., :3] if pixels.shape[2] >= 3 else pixels[..., :1]
    if pixels.dtype == np.uint8:
        out = colour.astype(np.float32) / 255.0
    elif pixels.dtype == np.uint16:
        out = colour.astype(np.float32) / 65535.0
    else:
        out = np.clip(colour.astype(np.float32), 0.0, 1.0)
    if out.shape[2] == 1:
        out = np.repeat(out, 3, axis=2)
    return out


def from_float(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float in [0, 1] back to the image's dtype (rounded, clipped)."""
    values = np.clip(values, 0.0, 1.0)
    if dtype == np.uint8:
        return np.rint(values * 255.0).astype(np.uint8)
    if dtype == np.uint16:
        return np.rint(values * 65535.0).astype(np.uint16)
    return values.astype(dtype)


def extract_crop(
    image: np.ndarray, mask: np.ndarray, plan: CropPlan, pad_multiple: int
) -> PreparedCrop:
    y0, y1, x0, x1 = plan.box
    pixels = to_float_rgb(image[y0:y1, x0:x1])
    hole = mask[y0:y1, x0:x1].copy()
    if plan.scale < 1.0:
        h = max(1, round((y1 - y0) * plan.scale))
        w = max(1, round((x1 - x0) * plan.scale))
        pixels = cv2.resize(pixels, (w, h), interpolation=cv2.INTER_AREA)
        # A working pixel is a hole if any full-resolution pixel under it is.
        hole = cv2.resize(hole.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) > 0
    pixels[hole] = 0.0
    size = hole.shape
    pad_h = (-size[0]) % pad_multiple
    pad_w = (-size[1]) % pad_multiple
    if pad_h or pad_w:
        mode = "reflect" if min(size) > max(pad_h, pad_w) else "edge"
        pixels = np.pad(pixels, ((0, pad_h), (0, pad_w), (0, 0)), mode=mode)
        hole = np.pad(hole, ((0, pad_h), (0, pad_w)), mode=mode)
    return PreparedCrop(plan, np.ascontiguousarray(pixels), hole, size)


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


def _region_seed(seed: int | None, index: int) -> int | None:
    return None if seed is None else (seed * 1_000_003 + index) % (2**63)


Batch = list[tuple[PreparedCrop, CropContext]]


def _overlaps(box: tuple[int, int, int, int], batch: Batch) -> bool:
    y0, y1, x0, x1 = box
    return any(
        y0 < b[1] and b[0] < y1 and x0 < b[3] and b[2] < x1
        for b in (prepared.plan.box for prepared, _ in batch)
    )


def _fill_batch(
    method: FillMethod,
    batch: Batch,
    out: np.ndarray,
    remaining: np.ndarray,
    done: int,
    total: int,
) -> Steps[int]:
    """Fill ``batch`` (regions with pairwise disjoint boxes, in plan order) and paste it into
    ``out``; returns ``done`` plus the batch's size."""
    start, end = done / total, (done + len(batch)) / total
    if len(batch) == 1:
        prepared, context = batch[0]
        steps = method.fill_steps(prepared.pixels, prepared.hole, context)
        filled = [(yield from scaled(steps, start, end))]
    else:
        items = [(prepared.pixels, prepared.hole, context) for prepared, context in batch]
        filled = yield from scaled(method.fill_batch_steps(items), start, end)
    for (prepared, _), result in zip(batch, filled, strict=True):
        paste_crop(out, remaining, prepared, result)
        cy0, cy1, cx0, cx1 = prepared.plan.core
        remaining[cy0:cy1, cx0:cx1] = False
    done += len(batch)
    yield Progress(end, f"filled region {done} of {total}")
    return done


def fill_steps(request: FillRequest) -> Steps[np.ndarray]:
    """Fill ``request.mask`` in ``request.image``; yields progress, returns a new image.

    The input arrays are never modified. Regions are filled in order, each seeing the fills of
    the earlier ones as known context. A region only sees what lies inside its box, so regions
    with disjoint boxes may be filled together: one the method can batch
    (``FillMethod.batch_key``) waits with others of its key until a later region's box
    overlaps one of them (that region must see their fills), the batch is full, or the plans
    end. Each region still sees exactly the fills it would see filled one by one.
    """
    validate(request.image, request.mask)
    out = request.image.copy()
    if not request.mask.any():
        yield Progress(1.0, "nothing to fill: the mask is empty")
        return out
    yield Progress(0.0, f"loading {request.method}")
    method = get_method(request.method, request.device)
    plans = plan_regions(request.mask, method)
    remaining = request.mask.copy()
    total = len(plans)
    done = 0
    pending: dict[Hashable, Batch] = {}  # waiting regions by key: boxes pairwise disjoint
    for plan in plans:
        for key in [k for k, batch in pending.items() if _overlaps(plan.box, batch)]:
            done = yield from _fill_batch(method, pending.pop(key), out, remaining, done, total)
        prepared = extract_crop(out, remaining, plan, method.pad_multiple)
        context = CropContext(
            seed=_region_seed(request.seed, plan.index), scale=plan.scale, options=request.options
        )
        key = method.batch_key(prepared.pixels, prepared.hole, context)
        if key is None:
            batch = [(prepared, context)]
        else:
            pending.setdefault(key, []).append((prepared, context))
            if len(pending[key]) >= method.max_batch:
                batch = pending.pop(key)
            elif sum(len(b) for b in pending.values()) > MAX_PENDING:
                batch = pending.pop(next(iter(pending)))  # the oldest
            else:
                continue
        done = yield from _fill_batch(method, batch, out, remaining, done, total)
    for batch in pending.values():
        done = yield from _fill_batch(method, batch, out, remaining, done, total)
    return out


def fill(request: FillRequest) -> np.ndarray:
    """``fill_steps`` run to completion."""
    from core.progress import run_to_end

    return run_to_end(fill_steps(request))
