"""The fill pipeline shared by every method and every caller (CLI, editor, latent panel, bench).

The geometry of every step is ``core.methods.geometry``'s, for every method alike:

1. ``plan_regions``: group the mask's hole pixels into regions (nearby specks together), give each
   a box with context margin, and split regions too large for one pass into tiles.
2. ``extract_crop``: cut the box out, convert it to float32 RGB in ``[0, 1]``, blank the holes,
   scale it to the method's working resolution and pad it to the method's multiple. Its hole is
   measured once (``HoleMeasure``) and handed to the method with it (``CropContext.measure``).
3. the method fills the crop in two steps: ``prepare`` (what depends on neither the seed nor the
   latent; once per crop) and ``render`` (per seed / latent setting). Small crops it can stack
   (``FillMethod.batch_key``) are prepared and rendered together. A model that runs at a scale
   of its own inside the crop gets its view from the geometry too (``FillMethod.view``).
4. ``paste_crop``: undo padding and scaling, and blend the fill into the output over the hole
   pixels plus a narrow feathered band; every pixel farther than ``BLEND_BAND`` px from the hole
   keeps its exact input value.
5. with ``grain``: each filled region gets the grain of the photo around it
   (``core.pipeline.grain``).

One door: every caller (the editor, the CLI, the latent panel's ``core.pipeline.latent``, the
bench) states a fill as a ``FillRequest`` and fills through a ``FillSession``, whose every render
returns a ``FillResult``: the filled pixels, the boxes that hold every changed pixel and the path
each region took. ``FillSession`` plans and prepares a request once, then renders it as often
as asked (variants, sliders, fusion); ``fill_steps`` is one render of a request.

Regions are filled in order, each seeing the fills of the earlier ones as known context; a
region whose crop no earlier fill reaches is *independent*: it is prepared once, from the
original pixels, and may be batched with others. Work and memory are proportional to the
boxes around the damage, never to the whole photo (only the bool mask is whole-image sized).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

from core.base.errors import InpaintError, MaskError
from core.base.masks import hole_boxes
from core.base.pixels import Box
from core.base.progress import Progress, Steps, run_to_end, scaled
from core.methods.base import CropContext, FillMethod, region_seed
from core.methods.geometry import (
    BLEND_BAND,
    CropPlan,
    HoleMeasure,
    PreparedCrop,
    extract_crop,
    extract_hole,
    paste_crop,
    plan_regions,
)
from core.pipeline.grain import match_grain
from core.pipeline.registry import get_method


@dataclass(frozen=True)
class FillRequest:
    """Everything a fill needs; a snapshot, so the caller may keep editing meanwhile.

    ``options`` is the method's typed options (e.g. ``core.manifold.options.ManifoldOptions``)
    or None for its defaults; options of another method are refused with a clear error."""

    image: np.ndarray
    mask: np.ndarray
    method: str = "telea"
    seed: int | None = None
    device: str = "cpu"
    options: Any = None
    # Add grain to the fill up to the surroundings' (core.pipeline.grain): for grainy scans.
    grain: bool = False

    def __post_init__(self) -> None:
        if self.seed is not None and not isinstance(self.seed, int | np.integer):
            raise InpaintError(f"the seed must be a whole number, got {self.seed!r}")


@dataclass(frozen=True, eq=False)
class FillResult:
    """One render of a request: the filled pixels, where they may differ from the request's
    image, and how each region was filled. ``image`` is made from ``patch`` on first use."""

    source: np.ndarray  # the request's image (never modified)
    box: Box  # the part of it the fill computed: the union of the regions' crops
    patch: np.ndarray  # ``box`` of the filled image, in the image's dtype
    boxes: list[Box]  # every pixel the fill may have changed lies in one of them
    paths: dict[str, int]  # how many regions each path filled: {"texture": 1, "net": 2}
    grain: bool = False  # the fill took the film grain of the photo around it

    @cached_property
    def image(self) -> np.ndarray:
        """The whole filled image (a new array, kept)."""
        return _compose(self.source, self.box, self.patch)

    def describe(self) -> str:
        """How the regions were filled: "3 regions (1 texture, 2 thin-hole biharmonic)", and
        whether with the surroundings' grain."""
        if not self.paths:
            return "nothing: the mask is empty"
        grained = ", with the film grain around them" if self.grain else ""
        return describe_paths(self.paths) + grained


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


@dataclass
class _Region:
    plan: CropPlan  # in the session box's coordinates
    # No earlier region's fill (or blend band) reaches this one's crop: it holds original pixels
    # only, so it is prepared once and may be batched. Otherwise it is cut out of the partly
    # filled image at each render, exactly as filling one region after the other would.
    independent: bool
    group: int = -1  # batch group of an independent region
    crop: PreparedCrop | None = None  # kept between renders by sessions that keep state
    # An independent region's hole as measured at planning (``batch_key``), handed down with
    # its crop so that the method measures it once; None when planning measured nothing.
    measure: HoleMeasure | None = None
    # What the method prepared; for a dependent region (key of the crop it came from, state).
    prepared: Any = None


class FillSession:
    """One request: planned once, prepared once, rendered as often as asked.

    The request's image and mask follow ``core``'s conventions and are not modified (the session
    keeps a copy of the box around the holes, ``box``). ``method``: the loaded instance of
    ``request.method`` to use (the latent panel's network), else the registry's. ``keep`` holds
    every independent region's prepared state between renders (variants, sliders); without it
    each render prepares what it needs and lets it go, so memory stays that of a few crops.
    ``grain`` (the request's, may be changed between renders): every render adds the
    surroundings' grain to the filled pixels (``core.pipeline.grain``). One thread at a time.
    """

    def __init__(
        self, request: FillRequest, keep: bool = True, method: FillMethod | None = None
    ) -> None:
        image, mask, options = request.image, request.mask, request.options
        validate(image, mask)
        if method is None:
            method = get_method(request.method, request.device)
        elif method.name != request.method:
            raise InpaintError(f"a {method.name} method cannot fill a {request.method} request")
        method.check_options(options)
        self.request, self.image, self.method, self.options = request, image, method, options
        self.keep, self.grain = keep, request.grain
        plans = plan_regions(mask, method)
        self.box: Box = _union([p.box for p in plans])
        # The holes' own bounding box (image coordinates): what the editor frames as "preview".
        self.hole_box: Box = _union([_hole_extent(mask)]) if plans else self.box
        y0, y1, x0, x1 = self.box
        self._base = image[y0:y1, x0:x1].copy()
        self._mask = mask[y0:y1, x0:x1].copy()
        self._regions = self._regions_of([p.shifted(y0, x0) for p in plans])
        self._groups: dict[int, list[_Region]] = {}
        for region in self._regions:
            if region.independent:
                self._groups.setdefault(region.group, []).append(region)
        self._prepared = False
        # Every pixel a render may change: the holes grown by the blend band.
        self._changed = hole_boxes(mask, BLEND_BAND + 1)

    @property
    def region_count(self) -> int:
        return len(self._regions)

    @property
    def prepared(self) -> bool:
        return self._prepared

    def _context(
        self, region: _Region, seed: int | None, options: Any, measure: HoleMeasure | None
    ) -> CropContext:
        plan = region.plan
        return CropContext(region_seed(seed, plan.index), plan.scale, options, plan.index, measure)

    def _regions_of(self, plans: list[CropPlan]) -> list[_Region]:
        """Which regions are independent, and their batch groups: consecutive independent
        regions of one ``batch_key``, at most ``max_batch`` each."""
        owned = np.zeros_like(self._mask)  # hole pixels of earlier regions
        regions, open_groups, group_sizes = [], {}, []
        reach = BLEND_BAND + 1
        for plan in plans:
            y0, y1, x0, x1 = plan.box
            near = owned[max(0, y0 - reach) : y1 + reach, max(0, x0 - reach) : x1 + reach]
            region = _Region(plan, independent=not near.any())
            if region.independent:
                hole = extract_hole(self._mask, plan, self.method.pad_multiple)
                measure = HoleMeasure(hole)
                context = self._context(region, None, self.options, measure)
                key = self.method.batch_key(hole, context)
                region.measure = measure if measure.measured else None  # the numbers only
                group = open_groups.get(key) if key is not None else None
                if group is None or group_sizes[group] >= self.method.max_batch:
                    group = len(group_sizes)
                    group_sizes.append(0)
                    if key is not None:
                        open_groups[key] = group
                region.group = group
                group_sizes[group] += 1
            regions.append(region)
            c0, c1, c2, c3 = plan.core
            owned[c0:c1, c2:c3] |= self._mask[c0:c1, c2:c3]
        return regions

    def _members(self, group: int) -> list[_Region]:
        return self._groups[group]

    def _prepare_group(self, members: list[_Region]) -> Steps[list[Any]]:
        """Crops and prepared states of one batch group (kept when the session keeps state)."""
        if all(m.prepared is not None for m in members):
            return [m.prepared for m in members]
        crops = [
            m.crop
            if m.crop is not None
            else extract_crop(self._base, self._mask, m.plan, self.method.pad_multiple)
            for m in members
        ]
        items = [
            (c.pixels, c.hole, self._context(m, None, self.options, m.measure))
            for c, m in zip(crops, members, strict=True)
        ]
        if len(items) == 1:
            prepared = [(yield from self.method.prepare_steps(*items[0]))]
        else:
            prepared = yield from self.method.prepare_batch_steps(items)
        for member, crop, state in zip(members, crops, prepared, strict=True):
            member.crop = crop
            if self.keep:
                member.prepared = state
        return prepared

    def prepare_steps(self) -> Steps[None]:
        """Prepare every independent region now (progress per batch group; stop iterating
        to cancel). Rendering prepares what is missing by itself."""
        groups = sorted(self._groups)
        for number, group in enumerate(groups):
            start, end = number / len(groups), (number + 1) / len(groups)
            yield from scaled(self._prepare_group(self._members(group)), start, end)
            yield Progress(end, f"prepared {number + 1} of {len(groups)}")
        self._prepared = self.keep

    def prepare(self) -> None:
        run_to_end(self.prepare_steps())

    def render_steps(self, seed: int | None = None, options: Any = None) -> Steps[FillResult]:
        """The fill for ``seed`` (None: the most likely fill; ``fill_steps`` renders the
        request's) and ``options`` (default: the request's). Options that change what is
        prepared (e.g. the manifold net's working scale) need a new session."""
        options = self.options if options is None else options
        self.method.check_options(options)
        if not self.method.same_preparation(self.options, options):
            raise InpaintError("these options change what was prepared: start a new session")
        out, remaining = self._base.copy(), self._mask.copy()
        paths: dict[str, int] = {}  # regions filled by each path (``FillMethod.describe``)
        pending: dict[int, np.ndarray] = {}  # fills of independent regions not pasted yet
        total = max(1, len(self._regions))
        for number, region in enumerate(self._regions):
            start, end = number / total, (number + 1) / total
            if region.independent:
                if id(region) not in pending:
                    # The whole group at its first member: the later ones wait in ``pending``.
                    members = self._members(region.group)
                    steps = self._render_group(members, seed, options, paths)
                    pending.update((yield from scaled(steps, start, end)))
                filled, crop = pending.pop(id(region)), region.crop
            else:
                crop = extract_crop(out, remaining, region.plan, self.method.pad_multiple)
                context = self._context(region, seed, options, HoleMeasure(crop.hole))
                steps = self._fill_dependent(region, crop, context, paths)
                filled = yield from scaled(steps, start, end)
            assert crop is not None
            paste_crop(out, remaining, crop, filled)
            if not self.keep:
                region.crop = None
            c0, c1, c2, c3 = region.plan.core
            remaining[c0:c1, c2:c3] = False
            yield Progress(end, f"filled region {number + 1} of {total}")
        if self.grain:
            match_grain(out, self._mask, seed)
        return FillResult(self.image, self.box, out, list(self._changed), paths, self.grain)

    def _fill_dependent(
        self, region: _Region, crop: PreparedCrop, context: CropContext, paths: dict[str, int]
    ) -> Steps[np.ndarray]:
        """Prepare and render a region cut from the partly filled image. Its crop changes only
        when an earlier fill that reaches it changes (a thick hole's, with the latent): a
        session that keeps state reuses what it prepared for the same crop last time."""
        key = _crop_key(crop) if self.keep else None
        if key is None or region.prepared is None or region.prepared[0] != key:
            plain = replace(context, seed=None)
            prepared = yield from scaled(
                self.method.prepare_steps(crop.pixels, crop.hole, plain), 0.0, 0.5
            )
            region.prepared = (key, prepared) if self.keep else None
        else:
            prepared = region.prepared[1]
        self._count_paths([prepared], context.options, paths)
        return (yield from scaled(self.method.render_steps(prepared, context), 0.5, 1.0))

    def _count_paths(self, prepared: list[Any], options: Any, paths: dict[str, int]) -> None:
        for state in prepared:
            path = self.method.describe(state, options)
            paths[path] = paths.get(path, 0) + 1

    def _render_group(
        self, members: list[_Region], seed: int | None, options: Any, paths: dict[str, int]
    ) -> Steps[dict[int, np.ndarray]]:
        prepared = yield from scaled(self._prepare_group(members), 0.0, 0.5)
        self._count_paths(prepared, options, paths)
        contexts = [self._context(m, seed, options, m.measure) for m in members]
        if len(members) == 1:
            filled = [
                (yield from scaled(self.method.render_steps(prepared[0], contexts[0]), 0.5, 1))
            ]
        else:
            steps = self.method.render_batch_steps(prepared, contexts)
            filled = yield from scaled(steps, 0.5, 1.0)
        return {id(m): f for m, f in zip(members, filled, strict=True)}

    def render(self, seed: int | None = None, options: Any = None) -> FillResult:
        return run_to_end(self.render_steps(seed, options))

    def compose(self, patch: np.ndarray) -> np.ndarray:
        """The whole image with a rendered box pasted in (a new array)."""
        return _compose(self.image, self.box, patch)


def _compose(image: np.ndarray, box: Box, patch: np.ndarray) -> np.ndarray:
    out = image.copy()
    y0, y1, x0, x1 = box
    out[y0:y1, x0:x1] = patch
    return out


def _crop_key(crop: PreparedCrop) -> bytes:
    return hashlib.blake2b(
        crop.pixels.tobytes() + np.packbits(crop.hole).tobytes(), digest_size=16
    ).digest()


def _hole_extent(mask: np.ndarray) -> Box:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _union(boxes: list[Box]) -> Box:
    if not boxes:
        return 0, 0, 0, 0
    return (
        min(b[0] for b in boxes),
        max(b[1] for b in boxes),
        min(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def fill_steps(request: FillRequest) -> Steps[FillResult]:
    """Fill ``request.mask`` in ``request.image``; yields progress, returns the result, its
    ``image`` a new array made here (on the thread that runs the steps).

    The input arrays are never modified. One render of a ``FillSession`` that keeps no state:
    memory stays that of the crops being filled."""
    validate(request.image, request.mask)
    if not request.mask.any():
        yield Progress(1.0, "nothing to fill: the mask is empty")
        empty = request.image[:0, :0].copy()
        return FillResult(request.image, (0, 0, 0, 0), empty, [], {}, request.grain)
    yield Progress(0.0, f"loading {request.method}")
    session = FillSession(request, keep=False)
    result = yield from session.render_steps(request.seed)
    _ = result.image  # composed now, on the thread running the fill, not where it is read
    yield Progress(1.0, f"filled {result.describe()}")
    return result


def describe_paths(paths: dict[str, int]) -> str:
    """``{"texture": 2, "thin-hole biharmonic": 40}`` -> "42 regions (2 texture, 40
    thin-hole biharmonic)"."""
    regions = sum(paths.values())
    how = ", ".join(f"{count} {path}" for path, count in sorted(paths.items()))
    noun = "region" if regions == 1 else "regions"
    return f"{regions} {noun} ({how})"


def fill(request: FillRequest) -> np.ndarray:
    """The filled image of ``fill_steps`` run to completion (scripts, tests, the bench)."""
    return run_to_end(fill_steps(request)).image
