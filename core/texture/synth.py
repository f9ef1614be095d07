"""Guided exemplar completion: the guide decides the structure, the photo supplies the texture.

Multi-scale EM completion (Wexler, Shechtman and Irani 2007) with PatchMatch search (Barnes et
al. 2009). Each hole pixel of the estimate is the weighted mean of the known patches that best
explain the patches covering it. The patch distance compares colour, a blurred copy of the guide
(the net's fill) and the texture energy expected there (Newson et al. 2014), so copied patches
must agree with the photo around them, with the structure the net decided and with how textured
the surroundings are. Coarse to fine: the coarsest level starts from the guide (or, with no
guide, a smooth Telea fill: plain exemplar completion, the PatchMatch baseline); every finer level
is rebuilt from its own pixels through the upsampled nearest-neighbour field, then refined.

Last (guided), HiFill's frequency split (Yi et al. 2020): the fill's low band is pulled towards
the guide's, fully where the vote found no source agreeing with the guide, and its middle band
is damped near the known pixels: texture in the wrong place costs more than a smooth fill.
Holes deeper than 24 px on average skip it and vote their texture energy (``_deep_hole_rules``).
See docs/texture.md for the measurements behind each choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numba
import numpy as np

from core.base.cpu import thread_count
from core.base.errors import InpaintError
from core.base.masks import distance_to_known, hole_thickness
from core.base.progress import Progress, Steps
from core.texture import kernels


@dataclass(frozen=True)
class TextureOptions:
    """Knobs of ``synthesize_steps``; the defaults were chosen on the Kodak bench."""

    patch_size: int = 7  # odd; pixels per side of a patch, at every level
    guide_weight: float = 1.0  # weight of the guide channels against colour in the distance
    guide_sigma: float = 4.0  # blur (full-resolution px) of the guide channels
    coarse_iterations: int = 3  # EM iterations at every level but the finest
    fine_iterations: int = 1  # EM iterations at the finest level
    search_iterations: int = 2  # PatchMatch passes per EM iteration
    local_levels: int = 2  # the finest levels search only near their upsampled matches ...
    local_radius: int = 8  # ... this far (level px), with this many passes:
    local_search_iterations: int = 1
    coarsest_hole_px: float = 6.0  # stop coarsening once the hole is this thin (level px)
    min_side: int = 24  # ... or the crop's shorter side this short
    min_sources: int = 64  # ... or fewer source patches would remain
    vote_percentile: float = 75.0  # patch weights exp(-cost / 2 s2), s2 this cost percentile
    sharp_levels: int = 1  # at the finest this many levels the vote weighs a patch's pixels
    vote_spatial_sigma: float = 0.7  # by distance to its centre (Gaussian, px; 0: flat)
    texture_weight: float = 5.0  # weight of the texture-energy channels (0: none)
    texture_sigma: float = 3.0  # px, window over which gradient magnitudes are averaged
    # Holes whose pixels lie farther than this on average (px to the nearest known pixel) vote
    # their texture energy like colour; nearer holes keep it fixed (0: always voted) ...
    voted_energy_from_px: float = 24.0
    # ... and keep their own low and middle bands instead of the guide's (inf: never). See
    # ``_deep_hole_rules``.
    own_bands_from_px: float = 24.0
    low_band_sigma: float = 8.0  # px, the split between the guide's band and the texture's
    mid_gain: float = 0.52  # gain of the fill's band between grain_sigma and low_band_sigma
    mid_gain_far: float = 1.25  # ... up to mid_gain_start px into the hole, and this far in:
    mid_gain_distance: float = 60.0  # px
    mid_gain_start: float = 16.0  # px
    grain_sigma: float = 1.0  # px
    low_band_keep: float = 0.6  # share of the guide's low band kept where matches are good
    confidence_cost: float = 0.004  # a vote cost this high keeps 1/e of the guide's low band
    # Levels of at least this many pixels run the kernels on all of numba's threads (the same
    # pixels either way); None: one thread always. On the shared 2-core CPU two threads never
    # paid: 512 x 512, 30 % hole, 0.65 s on one thread against 0.76 s with levels from 256 x 256
    # parallel and 0.98 s with all (load 3); a 64 x 64 crop 0.04 s against 0.25-0.46 s (load 8).
    parallel_min_pixels: int | None = None


@dataclass
class _Level:
    image: np.ndarray  # float32 (h, w, c): channels voted; hole pixels hold the estimate
    hole: np.ndarray  # bool (h, w)
    guide: np.ndarray | None  # float32 (h, w, k): channels compared but never voted


def _shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``cv2.resize`` with area averaging to ``size`` (w, h), four channels at a time: OpenCV
    refuses more than four for sizes that do not halve exactly."""
    if image.ndim == 2 or image.shape[2] <= 4:
        out = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        return out if out.ndim == image.ndim else out[..., None]
    parts = [
        _shrink(np.ascontiguousarray(image[..., c : c + 4]), size)
        for c in range(0, image.shape[2], 4)
    ]
    return np.concatenate(parts, axis=2)


def _downscale(image: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half size, averaging known pixels only; a pixel at least half known stays known."""
    h, w = hole.shape
    size = (max(1, (w + 1) // 2), max(1, (h + 1) // 2))
    known = (~hole).astype(np.float32)
    num = _shrink(image * known[..., None], size)
    den = cv2.resize(known, size, interpolation=cv2.INTER_AREA)
    small_hole = den < 0.5
    small = num / np.maximum(den, 1e-6)[..., None]
    small[small_hole] = 0.0
    return small.astype(np.float32), small_hole


def _sources(hole: np.ndarray, r: int) -> np.ndarray:
    """bool (h, w): patches centred here lie inside the crop and hold no hole pixel."""
    kernel = np.ones((2 * r + 1, 2 * r + 1), np.uint8)
    ok = cv2.erode((~hole).astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return ok.astype(bool)


def _targets(hole: np.ndarray, r: int) -> np.ndarray:
    """bool (h, w): patches centred here overlap the hole."""
    kernel = np.ones((2 * r + 1, 2 * r + 1), np.uint8)
    return cv2.dilate(hole.astype(np.uint8), kernel).astype(bool)


def _pyramid(
    image: np.ndarray, hole: np.ndarray, guide: np.ndarray | None, options: TextureOptions
) -> list[_Level]:
    """Finest first; coarsening stops when the hole is thin, the crop small or the sources
    few (see ``TextureOptions``)."""
    r = options.patch_size // 2
    levels = [_Level(image, hole, guide)]
    while True:
        top = levels[-1]
        if hole_thickness(top.hole) <= options.coarsest_hole_px or min(top.hole.shape) < 2 * max(
            options.min_side, options.patch_size
        ):
            break
        small, small_hole = _downscale(top.image, top.hole)
        if int(_sources(small_hole, r).sum()) < options.min_sources:
            break
        small_guide = None
        if top.guide is not None:
            size = (small.shape[1], small.shape[0])
            small_guide = _shrink(top.guide, size)
        levels.append(_Level(small, small_hole, small_guide))
    return levels


def _smooth_fill(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Telea's fill (16 bit): the unguided start."""
    mask8 = hole.astype(np.uint8)
    wide = np.rint(np.clip(image, 0.0, 1.0) * 65535.0).astype(np.uint16)
    channels = [
        cv2.inpaint(np.ascontiguousarray(wide[..., c]), mask8, 3.0, cv2.INPAINT_TELEA)
        for c in range(3)
    ]
    return np.stack(channels, axis=2).astype(np.float32) / 65535.0


def _texture_energy(image: np.ndarray, hole: np.ndarray, sigma: float) -> np.ndarray:
    """float32 (h, w, 2): mean |dI/dx| and |dI/dy| of the luminance around each pixel, over
    known pixels only, and smoothly continued into the hole (Telea). Newson et al. 2014: voted
    like colour, these channels keep the EM from settling on smooth patches - a blur of any
    texture matches a blurred estimate best - where the surroundings are textured."""
    gray = image @ np.array([0.299, 0.587, 0.114], np.float32)
    known = ~hole
    gx = np.zeros_like(gray)
    gy = np.zeros_like(gray)
    vx = np.zeros(gray.shape, np.float32)
    vy = np.zeros(gray.shape, np.float32)
    gx[:, 1:-1] = np.abs(gray[:, 2:] - gray[:, :-2]) * 0.5
    gy[1:-1, :] = np.abs(gray[2:, :] - gray[:-2, :]) * 0.5
    vx[:, 1:-1] = known[:, 2:] & known[:, :-2]
    vy[1:-1, :] = known[2:, :] & known[:-2, :]
    channels = []
    for g, v in ((gx, vx), (gy, vy)):
        num = cv2.GaussianBlur(g * v, (0, 0), sigma)
        den = cv2.GaussianBlur(v, (0, 0), sigma)
        channels.append(num / np.maximum(den, 1e-6))
        unknown = den < 0.2
    energy = np.stack(channels, axis=2).astype(np.float32)
    if unknown.any() and not unknown.all():
        scale = max(float(energy[~unknown].max()), 1e-6)
        mask8 = unknown.astype(np.uint8)
        for c in range(2):
            wide = np.rint(np.clip(energy[..., c] / scale, 0, 1) * 65535).astype(np.uint16)
            filled = cv2.inpaint(wide, mask8, 3.0, cv2.INPAINT_TELEA)
            energy[..., c] = filled.astype(np.float32) / 65535 * scale
    return energy


def _start(top: _Level, guide: np.ndarray | None, energy: np.ndarray | None) -> np.ndarray:
    """The coarsest level's first estimate: the guide averaged down (or a smooth fill), and
    the continued texture energy."""
    size = (top.hole.shape[1], top.hole.shape[0])
    if guide is None:
        colour = _smooth_fill(np.ascontiguousarray(top.image[..., :3]), top.hole)
    else:
        colour = _shrink(guide, size)
    if energy is None:
        return colour
    return np.concatenate([colour, _shrink(energy, size)], 2)


def _features(level: _Level, options: TextureOptions) -> np.ndarray:
    """Colour, then the blurred guide scaled so squared differences weigh ``guide_weight``."""
    if level.guide is None:
        return np.ascontiguousarray(level.image, np.float32)
    return np.ascontiguousarray(np.concatenate([level.image, level.guide], axis=2), np.float32)


@dataclass
class _Field:
    """The nearest-neighbour field of one level."""

    nny: np.ndarray  # int32 (h, w)
    nnx: np.ndarray
    cost: np.ndarray  # float32 (h, w)
    targets: np.ndarray  # int32 (n, 2)
    is_target: np.ndarray  # bool (h, w)
    index: np.ndarray  # int32 (h, w): row of each target in ``targets``, -1 elsewhere
    src_ok: np.ndarray  # bool (h, w)
    sources: np.ndarray  # int32 (m, 2)


def _new_field(hole: np.ndarray, r: int) -> _Field:
    h, w = hole.shape
    is_target = _targets(hole, r)
    src_ok = _sources(hole, r)
    index = np.full((h, w), -1, np.int32)
    index[is_target] = np.arange(int(is_target.sum()), dtype=np.int32)
    return _Field(
        index=index,
        nny=np.zeros((h, w), np.int32),
        nnx=np.zeros((h, w), np.int32),
        cost=np.full((h, w), np.float32(1e30)),
        targets=np.argwhere(is_target).astype(np.int32),
        is_target=is_target,
        src_ok=src_ok,
        sources=np.argwhere(src_ok).astype(np.int32),
    )


def _random_matches(nnf: _Field, rng: np.random.Generator, where: np.ndarray) -> None:
    """Point the targets at rows ``where`` of ``nnf.targets`` at uniformly drawn sources."""
    picks = nnf.sources[rng.integers(0, len(nnf.sources), size=len(where))]
    ty, tx = nnf.targets[where, 0], nnf.targets[where, 1]
    nnf.nny[ty, tx] = picks[:, 0]
    nnf.nnx[ty, tx] = picks[:, 1]


def _upsample_field(coarse: _Field, fine: _Field, rng: np.random.Generator) -> None:
    """Each fine target inherits its coarse parent's match, doubled and offset as the target
    is inside its parent; where that is no valid source, a random one."""
    ty, tx = fine.targets[:, 0], fine.targets[:, 1]
    ch, cw = coarse.nny.shape
    cy, cx = np.minimum(ty // 2, ch - 1), np.minimum(tx // 2, cw - 1)
    qy = 2 * coarse.nny[cy, cx] + (ty - 2 * cy)
    qx = 2 * coarse.nnx[cy, cx] + (tx - 2 * cx)
    h, w = fine.src_ok.shape
    inside = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w) & coarse.is_target[cy, cx]
    valid = inside.copy()
    valid[inside] = fine.src_ok[qy[inside], qx[inside]]
    fine.nny[ty[valid], tx[valid]] = qy[valid]
    fine.nnx[ty[valid], tx[valid]] = qx[valid]
    _random_matches(fine, rng, np.flatnonzero(~valid))


def _spatial_weights(r: int, sigma: float) -> np.ndarray:
    """float32 (2r+1, 2r+1): Gaussian falloff from the patch centre (flat for sigma 0)."""
    if sigma <= 0:
        return np.ones((2 * r + 1, 2 * r + 1), np.float32)
    d = np.arange(-r, r + 1, dtype=np.float32)
    g = np.exp(-(d**2) / (2 * sigma**2))
    return np.outer(g, g).astype(np.float32)


def _reconstruct(level: _Level, nnf: _Field, r: int) -> None:
    """The level's hole from its own (full-resolution) source pixels through the upsampled
    field, all patches weighted alike: a sharp start, where upsampling the coarser estimate
    would give a blurred one that then matches blurred, incoherent sources."""
    _vote(level, nnf, np.zeros(level.hole.shape, np.float32), r, 1.0, 0.0)


def _vote(
    level: _Level, nnf: _Field, cost: np.ndarray, r: int, sigma2: float, spatial_sigma: float
) -> tuple[np.ndarray, np.ndarray]:
    """The level's hole pixels voted through the field (``kernels.vote``, patches weighted by
    ``cost`` and ``sigma2``, their pixels by ``spatial_sigma``); the vote's error map and
    weights."""
    h, w = level.hole.shape
    out = np.zeros((h, w, level.image.shape[2]), np.float32)
    weight = np.zeros((h, w), np.float32)
    error = np.zeros((h, w), np.float32)
    kernels.vote(
        level.image,
        level.hole,
        nnf.index,
        nnf.nny,
        nnf.nnx,
        cost,
        r,
        sigma2,
        out,
        weight,
        error,
        _spatial_weights(r, spatial_sigma),
    )
    hole = level.hole
    level.image[hole] = out[hole] / np.maximum(weight[hole], 1e-20)[:, None]
    return error, weight


def _threads(pixels: int, options: TextureOptions) -> int:
    """numba threads for a level of ``pixels``: one below ``parallel_min_pixels``, else 0 (as
    many as numba has). numba's thread count is per calling thread, so setting it never
    touches another worker's."""
    limit = options.parallel_min_pixels
    return 0 if limit is not None and pixels >= limit else 1


def _kernel_seed(seed: int, level: int, step: int) -> int:
    return int(np.random.SeedSequence([seed, level, step]).generate_state(1)[0] & 0x7FFFFFFF)


def _em_step(
    level: _Level, nnf: _Field, options: TextureOptions, seed: int, local: bool, sharp: bool
) -> tuple[np.ndarray, np.ndarray]:
    """One search + vote; returns the vote's error map and weights. ``local``: search near
    the current matches only (the coarser levels placed the structure)."""
    r = options.patch_size // 2
    h, w = level.hole.shape
    feat = _features(level, options)
    kernels.init_costs(feat, nnf.targets, nnf.nny, nnf.nnx, nnf.cost, r)
    kernels.patchmatch(
        feat,
        nnf.src_ok,
        nnf.sources,
        nnf.targets,
        nnf.index,
        nnf.nny,
        nnf.nnx,
        nnf.cost,
        r,
        options.local_search_iterations if local else options.search_iterations,
        seed,
        options.local_radius if local else max(h, w),
        not local,
    )
    costs = nnf.cost[nnf.targets[:, 0], nnf.targets[:, 1]]
    sigma2 = max(float(np.percentile(costs, options.vote_percentile)), 1e-6)
    spatial_sigma = options.vote_spatial_sigma if sharp else 0.0
    return _vote(level, nnf, nnf.cost, r, sigma2, spatial_sigma)


def _fallback(image: np.ndarray, hole: np.ndarray, guide: np.ndarray | None) -> np.ndarray:
    """No patch to copy (all hole, or too little known): the guide, else Telea, else grey."""
    result = image.copy()
    if guide is not None:
        result[hole] = guide[hole]
    elif not hole.all():
        result[hole] = _smooth_fill(image, hole)[hole]
    else:
        result[hole] = 0.5
    return result


def _check(image: np.ndarray, hole: np.ndarray, guide: np.ndarray | None) -> None:
    if image.ndim != 3 or image.shape[2] != 3:
        raise InpaintError(f"texture synthesis needs an (h, w, 3) image, got {image.shape}")
    if hole.shape != image.shape[:2]:
        raise InpaintError(f"hole {hole.shape} does not match the image {image.shape[:2]}")
    if guide is not None and guide.shape != image.shape:
        raise InpaintError(f"guide {guide.shape} does not match the image {image.shape}")


def synthesize_steps(
    image: np.ndarray,
    hole: np.ndarray,
    guide: np.ndarray | None,
    seed: int,
    *,
    options: TextureOptions | None = None,
) -> Steps[np.ndarray]:
    """Fill ``hole`` in ``image`` with the photo's own patches, following ``guide``.

    ``image``: float32 (h, w, 3) in [0, 1] (hole pixels are ignored); ``hole``: bool (h, w);
    ``guide``: float32 (h, w, 3), the structure for the hole (the net's fill at the crop's
    resolution), or None for plain exemplar completion. The same arguments and ``seed`` give
    the same pixels. Yields ``Progress`` after every EM iteration (each a cancel point) and
    returns the filled image (float32; pixels outside ``hole`` as given).
    """
    options = options or TextureOptions()
    if options.patch_size < 3 or options.patch_size % 2 == 0:
        raise InpaintError(f"patch size must be odd and >= 3, got {options.patch_size}")
    _check(image, hole, guide)
    hole = np.asarray(hole, bool)
    image = np.ascontiguousarray(image, np.float32).copy()
    image[hole] = 0.0
    if guide is not None:
        guide = np.ascontiguousarray(guide, np.float32).copy()
        guide[~hole] = image[~hole]
    r = options.patch_size // 2
    if not hole.any():
        yield Progress(1.0, "nothing to fill")
        return image
    if not _sources(hole, r).any():
        yield Progress(1.0, "too little known area for texture: kept the guide")
        return _fallback(image, hole, guide)

    energy_fixed, guide_bands = _deep_hole_rules(hole, options)
    levels = _build_levels(image, hole, guide, options, energy_fixed)
    error, weight = yield from _em_levels(levels, seed, options)
    result = np.ascontiguousarray(levels[0].image[..., :3])
    if guide is not None and guide_bands:
        result = _keep_guide_low_band(result, hole, guide, error, weight, options)
    result[~hole] = image[~hole]
    yield Progress(1.0, "texture done")
    return np.clip(result, 0.0, 1.0)


def _build_levels(
    image: np.ndarray,
    hole: np.ndarray,
    guide: np.ndarray | None,
    options: TextureOptions,
    energy_fixed: bool,
) -> list[_Level]:
    """The pyramid with its fixed channels, the coarsest level's hole set to its start."""
    # The guide is compared in its own band: the net's fill is smooth, the photo is not, and
    # unblurred the guide term would favour smooth sources. Blurred once at full resolution,
    # then averaged down with the pyramid (known pixels: the photo's own blur).
    fixed = []  # channels compared but not voted: the target side stays as given
    if guide is not None and options.guide_weight > 0:
        band = cv2.GaussianBlur(guide, (0, 0), options.guide_sigma)
        fixed.append(band * np.float32(np.sqrt(options.guide_weight)))
    energy = None
    if options.texture_weight > 0:
        energy = _texture_energy(image, hole, options.texture_sigma) * options.texture_weight
        if energy_fixed:
            fixed.append(energy)
            energy = None
    work_image = image if energy is None else np.concatenate([image, energy], axis=2)
    extra = np.concatenate(fixed, axis=2).astype(np.float32) if fixed else None
    levels = _pyramid(work_image, hole, extra, options)
    top = levels[-1]
    top.image[top.hole] = _start(top, guide, energy)[top.hole]
    return levels


def _deep_hole_rules(hole: np.ndarray, options: TextureOptions) -> tuple[bool, bool]:
    """(whether the texture energy stays its continuation from the border, whether the guide's
    low band and the damped middle band are applied) for ``hole``, by how far its pixels lie
    from known ones on average. Near the border both pay: voted, in strokes, the energy let the
    EM settle on smooth patches, and there the guide is at its most reliable. Across a box the
    continued energy is a smooth interpolation over 40 px and more that held whole fills to
    flat sources (kodim01's stone wall came back a flat grey-brown triangle), and the guide's
    low band is the net's blotch: colour hazes from strong neighbours. Blind pairs on boxes
    (docs/texture.md, "Deep holes"): voted energy chosen in 21 of 24 on Kodak and 15 of 21 on
    photos never tuned on (the unguided engine: 21 / 24, 14 / 21); then the fill's own bands in
    21 of 24 and 17 of 21. Thick strokes (up to 22 px on Kodak, boxes from 37) were a draw."""
    mean_distance = float(distance_to_known(hole)[hole].mean())
    return (
        mean_distance <= options.voted_energy_from_px,
        mean_distance <= options.own_bands_from_px,
    )


def _em_levels(
    levels: list[_Level], seed: int, options: TextureOptions
) -> Steps[tuple[np.ndarray, np.ndarray]]:
    """EM completion coarse to fine, in place; returns the finest vote's (error, weight)."""
    r = options.patch_size // 2
    # The finest level starts from its coarser level's solution and needs fewer iterations;
    # a single level starts from scratch.
    counts = [
        options.fine_iterations if i == 0 and len(levels) > 1 else options.coarse_iterations
        for i in range(len(levels))
    ]
    work = [lvl.hole.size * n for lvl, n in zip(levels, counts, strict=True)]
    done, total = 0.0, float(sum(work))
    rng = np.random.default_rng(seed)
    nnf: _Field | None = None
    shape = levels[0].hole.shape
    error, weight = np.zeros(shape, np.float32), np.ones(shape, np.float32)
    for index in range(len(levels) - 1, -1, -1):
        level = levels[index]
        fresh = _new_field(level.hole, r)
        if nnf is None:
            _random_matches(fresh, rng, np.arange(len(fresh.targets)))
        else:
            _upsample_field(nnf, fresh, rng)
            with thread_count(_threads(level.hole.size, options), numba):
                _reconstruct(level, fresh, r)
        nnf = fresh
        for step in range(counts[index]):
            local = index < options.local_levels and index < len(levels) - 1
            sharp = index < options.sharp_levels
            with thread_count(_threads(level.hole.size, options), numba):
                error, weight = _em_step(
                    level, nnf, options, _kernel_seed(seed, index, step), local, sharp
                )
            done += work[index] / counts[index]
            yield Progress(min(done / total, 0.99), f"texture level {index} step {step + 1}")
    return error, weight


def _keep_guide_low_band(
    result: np.ndarray,
    hole: np.ndarray,
    guide: np.ndarray,
    error: np.ndarray,
    weight: np.ndarray,
    options: TextureOptions,
) -> np.ndarray:
    """Swap the fill's low band for the guide's by how badly the vote matched: keep
    ``low_band_keep`` of the guide's everywhere, all of it where the cost is far above
    ``confidence_cost``."""
    mean_cost = error / np.maximum(weight, 1e-20)
    confidence = np.exp(-mean_cost / max(options.confidence_cost, 1e-12))
    share = options.low_band_keep + (1.0 - options.low_band_keep) * (1.0 - confidence)
    sigma = options.low_band_sigma
    low_fill = cv2.GaussianBlur(result, (0, 0), sigma)
    low_guide = cv2.GaussianBlur(guide, (0, 0), sigma)
    out = result + share[..., None].astype(np.float32) * (low_guide - low_fill)
    # The band between the fine grain and the low band: copied in the wrong phase it costs the
    # most squared error per unit of visible detail (photos' spectra fall as 1/f^2). Near the
    # known pixels the guide is at its most reliable, so that band is scaled by ``mid_gain``
    # up to ``mid_gain_start`` px into the hole (all of a stroke's width), rising to
    # ``mid_gain_far`` at ``mid_gain_distance`` px: deep in a box the net's guide is a blotch
    # and the copied texture has more to give than it costs.
    distance = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3)
    start = options.mid_gain_start
    ramp = np.clip((distance - start) / max(options.mid_gain_distance - start, 1e-6), 0.0, 1.0)
    gain = options.mid_gain + (options.mid_gain_far - options.mid_gain) * ramp
    fine = cv2.GaussianBlur(result, (0, 0), options.grain_sigma)
    out += (gain - 1.0)[..., None].astype(np.float32) * (fine - low_fill)
    return out.astype(np.float32)
