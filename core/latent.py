"""Navigating the manifold model's latent: directions, slider settings, variants and fusion.

A fill of the ``manifold`` method is ``decode(encode(crop, hole), z)``. This module turns z into
something an artist can steer:

* **Directions** (``response_directions``, the sliders' default): the z-space directions that
  change the decoded fill most, as eigenvectors of the decoder's measured response to one-std
  steps along each z axis on a few probe crops of the bundled sample photo; computed once per
  loaded model (one batched decode per probe, well under a second), so nothing is stored.
  ``sefa_directions`` (Shen & Zhou 2021: eigenvectors of ``A^T A``, ``A`` = the FiLM weights
  that consume z) needs no decode at all, but on the shipped weights its order did not match the
  measured change and its first direction moved fills ~3x less (``tools/bench_latent.py``).
  PCA of posterior codes (GANSpace) is not possible: the shipped model has no posterior weights.
* **Whitened parameterisation**: per crop, ``z = mu_p + sigma_p * (eps + sum_i a_i d_i)`` with
  ``(mu_p, sigma_p)`` the crop's prior, ``eps`` the seed's standard normal draw (zero for the most
  likely fill) and ``a_i`` the slider values in units of prior standard deviation.
* **LatentSession**: one image + mask, encoded once per region (``core.pipeline`` planning and
  cropping); ``render`` then costs one decoder pass per region plus compositing, which is exactly
  the pipeline's: only hole pixels and the ``BLEND_BAND`` px band around them change. Rendering
  works on the box around the holes only (``box``), so its cost does not grow with the photo.

A ``LatentSetting`` (seed + slider values) reproduces a fill exactly, and is what the CLI's
``fill --seed S --direction i=V`` spells: the same z as the editor's sliders.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from core.methods.base import CropContext
from core.methods.manifold import MAX_HOLE_RADIUS, ManifoldCache, ManifoldFill
from core.pipeline import (
    BLEND_BAND,
    CropPlan,
    PreparedCrop,
    _region_seed,
    extract_crop,
    paste_crop,
    plan_regions,
    validate,
)
from core.progress import Progress, Steps, run_to_end

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]  # y0, y1, x0, x1, end exclusive
DEFAULT_SLIDERS = 8
SLIDER_RANGE = 3.0  # prior standard deviations either way


# -- directions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Directions:
    """Orthonormal z directions, most influential first.

    ``vectors``: float32 ``(n, latent_dim)``, one unit direction per row, rows orthonormal.
    ``strength``: float32 ``(n,)``, descending: ``||A d||``, how much the z-consuming weights
    respond to a unit step along the direction (SeFa's eigenvalue, square-rooted).
    """

    vectors: np.ndarray
    strength: np.ndarray

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def offset(self, values: Sequence[float]) -> np.ndarray:
        """``sum_i values[i] * d_i`` (float32, ``latent_dim``); missing values count as 0."""
        values = np.asarray(values, np.float32)
        if values.size > len(self):
            # The editor may show more sliders than a small model has directions; those stay 0.
            if values[len(self) :].any():
                raise ValueError(f"{values.size} slider values for {len(self)} directions")
            values = values[: len(self)]
        return (values @ self.vectors[: values.size]).astype(np.float32)


def z_weights(net: object) -> np.ndarray:
    """Every weight matrix that consumes z, stacked: ``(outputs, latent_dim)`` float64.

    In ``ManifoldNet`` z enters only through the FiLM projections (scale and shift of the
    bottleneck and two decoder stages), so these rows are the decoder's whole view of z.
    """
    rows = [film.proj.weight.detach().double().cpu().numpy() for film in net.film]  # type: ignore[attr-defined]
    return np.concatenate(rows, axis=0)


def _eigen_directions(gram: np.ndarray) -> Directions:
    """Eigenvectors of a symmetric PSD matrix as directions, largest eigenvalue first."""
    eigenvalues, vectors = np.linalg.eigh(gram)  # ascending, columns orthonormal
    order = np.argsort(eigenvalues)[::-1]
    vectors = vectors[:, order].T
    # eigh's signs are arbitrary: make the largest component positive, so "+" means the same
    # thing on every machine and in every run.
    signs = np.sign(vectors[np.arange(len(vectors)), np.abs(vectors).argmax(axis=1)])
    vectors = vectors * signs[:, None]
    strength = np.sqrt(np.clip(eigenvalues[order], 0.0, None))
    return Directions(vectors.astype(np.float32), strength.astype(np.float32))


def sefa_directions(net: object) -> Directions:
    """SeFa directions of ``net``: eigenvectors of ``A^T A`` by descending eigenvalue."""
    a = z_weights(net)
    return _eigen_directions(a.T @ a)


# Probe crops for ``response_directions``: side, hole side, and where they are cut from the
# bundled sample photo (natural content the model was trained on; no corpus needed at run time).
PROBE_SIDE, PROBE_HOLE = 160, 64
PROBE_ORIGINS = ((40, 60), (40, 520), (300, 300), (320, 40))


def probe_crops() -> list[tuple[np.ndarray, np.ndarray]]:
    """(crop float32 RGB with the hole zeroed, hole) pairs that ``response_directions`` uses."""
    from core.imageio import read_image
    from core.pipeline import to_float_rgb
    from core.resources import SAMPLE_IMAGE

    try:
        photo = to_float_rgb(read_image(SAMPLE_IMAGE).pixels)
    except Exception:  # a stripped install: a smooth synthetic photo still probes the decoder
        yy, xx = np.mgrid[0:512, 0:768].astype(np.float32)
        photo = np.stack([0.5 + 0.3 * np.sin(xx / 37 + c) * np.cos(yy / 23 - c) for c in
                          (0.0, 1.0, 2.0)], axis=2).astype(np.float32)  # fmt: skip
    probes = []
    for y, x in PROBE_ORIGINS:
        crop = photo[y : y + PROBE_SIDE, x : x + PROBE_SIDE].copy()
        if crop.shape[:2] != (PROBE_SIDE, PROBE_SIDE):
            continue
        hole = np.zeros(crop.shape[:2], bool)
        start = (PROBE_SIDE - PROBE_HOLE) // 2
        hole[start : start + PROBE_HOLE, start : start + PROBE_HOLE] = True
        crop[hole] = 0.0
        probes.append((crop, hole))
    return probes


def decoder_responses(method: ManifoldFill, cache: ManifoldCache, step: float = 1.0) -> np.ndarray:
    """How the decoded hole answers a ``step`` prior-std move along each z axis:
    ``(latent_dim, hole values)`` float64, one batched decoder pass (secant, not a gradient:
    the sliders move whole standard deviations, where the net is not linear)."""
    import torch

    enc = cache.encoded
    dim = method.latent_dim
    batch = dim + 1

    def widen(t: torch.Tensor) -> torch.Tensor:
        return t.expand(batch, *t.shape[1:])

    wide = enc._replace(  # type: ignore[attr-defined]
        skips=tuple(widen(t) for t in enc.skips),  # type: ignore[attr-defined]
        bottleneck=widen(enc.bottleneck),  # type: ignore[attr-defined]
        init=widen(enc.init),  # type: ignore[attr-defined]
    )
    z = np.tile(cache.prior_mean, (batch, 1))
    z[1:] += step * np.diag(cache.prior_std)
    with torch.inference_mode():
        z_t = torch.from_numpy(z.astype(np.float32)).to(method.device)
        out = method.net.decode(wide, z_t).clamp(0, 1)
    hole = enc.hole[0, 0] > 0  # type: ignore[attr-defined]
    moved = (out[1:] - out[:1])[:, :, hole].reshape(dim, -1)
    return moved.double().cpu().numpy() / step


def response_directions(
    method: ManifoldFill, probes: list[tuple[np.ndarray, np.ndarray]] | None = None
) -> Directions:
    """Principal directions of what the decoder actually does with z (GANSpace-style PCA, but
    of decoded hole pixels per unit step, so no training corpus or posterior is needed):
    eigenvectors of ``sum_probes R R^T``, ``R`` from ``decoder_responses``. ``strength`` is the
    RMS change of a hole value (0-1 scale) per prior std. Measured on this model (bench_latent):
    its first direction changes fills ~3x more than SeFa's, and the order matches the measured
    change, where SeFa's (from weights alone) did not."""
    dim = method.latent_dim
    gram = np.zeros((dim, dim))
    probes = probe_crops() if probes is None else probes
    for crop, hole in probes:
        responses = decoder_responses(method, method.encode(crop, hole))
        gram += responses @ responses.T / max(1, responses.shape[1])
    if not gram.any():  # no probe, or a net that ignores z altogether
        return sefa_directions(method.net)
    return _eigen_directions(gram / len(probes))


_DIRECTIONS: weakref.WeakKeyDictionary[object, Directions] = weakref.WeakKeyDictionary()


def directions_for(method: ManifoldFill) -> Directions:
    """The loaded model's slider directions, computed once per network object (well under a
    second) and then fixed: a slider means the same thing for every hole, so it can be named."""
    found = _DIRECTIONS.get(method.net)
    if found is None:
        found = _DIRECTIONS[method.net] = _first_working(method)
    return found


def _first_working(method: ManifoldFill) -> Directions:
    """Response directions; if the network has changed shape under this module (it is still
    being developed), SeFa's; failing that the z axes themselves: sliders must never break."""
    try:
        return response_directions(method)
    except Exception:
        log.exception("response directions failed; using SeFa's")
    try:
        return sefa_directions(method.net)
    except Exception:
        log.exception("SeFa directions failed; using the z axes")
    dim = method.latent_dim
    return Directions(np.eye(dim, dtype=np.float32), np.ones(dim, np.float32))


# -- settings, codes and blending -------------------------------------------------------------


@dataclass(frozen=True)
class LatentSetting:
    """What reproduces one fill: ``seed`` (None: eps = 0, the most likely fill before sliders)
    and slider values in prior standard deviations along directions 1, 2, ..."""

    seed: int | None = None
    sliders: tuple[float, ...] = ()

    def with_slider(self, index: int, value: float) -> LatentSetting:
        values = list(self.sliders) + [0.0] * max(0, index + 1 - len(self.sliders))
        values[index] = float(value)
        return LatentSetting(self.seed, tuple(values))

    def describe(self) -> str:
        seed = "most likely" if self.seed is None else f"seed {self.seed}"
        moved = [f"{i + 1}={v:+.2f}" for i, v in enumerate(self.sliders) if v]
        return seed + (f", {' '.join(moved)}" if moved else "")


def seed_eps(seed: int | None, index: int, dim: int) -> np.ndarray:
    """Region ``index``'s standard normal draw for ``seed``, exactly as the pipeline and
    ``ManifoldFill.sample_z`` draw it (so the CLI and the editor agree)."""
    region_seed = _region_seed(seed, index)
    if region_seed is None:
        return np.zeros(dim, np.float32)
    return np.random.default_rng(region_seed).standard_normal(dim).astype(np.float32)


def lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    return ((1.0 - t) * a + t * b).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation of whitened codes: a straight line between two Gaussian draws
    passes through codes of atypically small norm (blurry, "average" fills); the great circle
    keeps the norm typical. Falls back to lerp for (near-)parallel or zero codes."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na < 1e-6 or nb < 1e-6:
        return lerp(a, b, t)
    cos = float(np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0))
    omega = float(np.arccos(cos))
    if omega < 1e-4:
        return lerp(a, b, t)
    return ((np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)).astype(
        np.float32
    )


# -- the session ------------------------------------------------------------------------------


@dataclass
class _Region:
    plan: CropPlan  # in box coordinates
    # Encoded once, from the original pixels; None when an earlier region's fill (or its blend
    # band) reaches into this one's crop, which must then be re-encoded per render exactly as
    # the pipeline would (rare: holes closer than a crop margin are usually grouped together).
    prepared: PreparedCrop | None
    cache: ManifoldCache | None


def _shift(plan: CropPlan, dy: int, dx: int) -> CropPlan:
    y0, y1, x0, x1 = plan.box
    c0, c1, c2, c3 = plan.core
    return CropPlan((y0 - dy, y1 - dy, x0 - dx, x1 - dx), (c0 - dy, c1 - dy, c2 - dx, c3 - dx),
                    plan.scale, plan.index)  # fmt: skip


ZFor = Callable[[int, ManifoldCache], np.ndarray]


class LatentSession:
    """One image + mask, encoded once; ``render`` any latent setting by re-decoding only.

    ``image`` and ``mask`` follow ``core``'s conventions and are not modified (the session keeps
    a copy of the box around the holes). Thread use: one thread at a time (the editor's render
    thread); ``render`` is deterministic.
    """

    def __init__(
        self,
        method: ManifoldFill,
        image: np.ndarray,
        mask: np.ndarray,
        directions: Directions | None = None,
        max_radius: float = MAX_HOLE_RADIUS,
    ) -> None:
        validate(image, mask)
        self.method = method
        self.directions = directions if directions is not None else directions_for(method)
        self.max_radius = max_radius
        self.image = image
        plans = plan_regions(mask, method)
        if plans:
            y0 = min(p.box[0] for p in plans)
            y1 = max(p.box[1] for p in plans)
            x0 = min(p.box[2] for p in plans)
            x1 = max(p.box[3] for p in plans)
        else:
            y0, y1, x0, x1 = 0, 0, 0, 0
        self.box: Box = (y0, y1, x0, x1)
        # The holes' own bounding box (image coordinates): what the editor frames as "preview".
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        self.hole_box: Box = (
            (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
            if plans
            else self.box
        )
        self._base = image[y0:y1, x0:x1].copy()
        self._mask = mask[y0:y1, x0:x1].copy()
        self._plans = [_shift(p, y0, x0) for p in plans]
        self._regions: list[_Region] = []

    @property
    def latent_dim(self) -> int:
        return self.method.latent_dim

    @property
    def region_count(self) -> int:
        return len(self._plans)

    @property
    def encoded(self) -> bool:
        return len(self._regions) == len(self._plans)

    def encode_steps(self) -> Steps[None]:
        """Encode every independent region (progress per region; stop iterating to cancel)."""
        owned = np.zeros_like(self._mask)  # holes of earlier regions
        total = max(1, len(self._plans))
        self._regions = []
        for number, plan in enumerate(self._plans):
            y0, y1, x0, x1 = plan.box
            reach = BLEND_BAND + 1
            near = owned[max(0, y0 - reach) : y1 + reach, max(0, x0 - reach) : x1 + reach]
            if near.any():
                self._regions.append(_Region(plan, None, None))
            else:
                prepared = extract_crop(self._base, self._mask, plan, self.method.pad_multiple)
                cache = self.method.encode(prepared.pixels, prepared.hole, self.max_radius)
                self._regions.append(_Region(plan, prepared, cache))
            c0, c1, c2, c3 = plan.core
            owned[c0:c1, c2:c3] |= self._mask[c0:c1, c2:c3]
            yield Progress((number + 1) / total, f"encoded region {number + 1} of {total}")

    def encode(self) -> None:
        run_to_end(self.encode_steps())

    def region_code(self, setting: LatentSetting, index: int) -> np.ndarray:
        """The whitened code ``eps + sum_i a_i d_i`` of region ``index`` (float32)."""
        return seed_eps(setting.seed, index, self.latent_dim) + self.directions.offset(
            setting.sliders
        )

    def render(self, setting: LatentSetting) -> np.ndarray:
        """The box (``self.box``) of the filled image for ``setting``, in the image's dtype."""
        offset = self.directions.offset(setting.sliders)
        options = {"sample": setting.seed is not None, "z_offset": offset}

        def z_for(index: int, cache: ManifoldCache) -> np.ndarray:
            # The method's own z rule, with the pipeline's per-region seed: bit-identical to
            # ``fill --seed S --direction ...`` through ``core.pipeline``.
            context = CropContext(seed=_region_seed(setting.seed, index), options=options)
            return self.method.latent_for(cache, context)

        return self._render(z_for)

    def render_blend(
        self, a: LatentSetting, b: LatentSetting, t: float, spherical: bool = True
    ) -> np.ndarray:
        """Fusion: decode the code ``t`` of the way from ``a``'s to ``b``'s (per region)."""
        if t <= 0.0:
            return self.render(a)
        if t >= 1.0:
            return self.render(b)
        blend = slerp if spherical else lerp

        def z_for(index: int, cache: ManifoldCache) -> np.ndarray:
            code = blend(self.region_code(a, index), self.region_code(b, index), t)
            return (cache.prior_mean + cache.prior_std * code).astype(np.float32)

        return self._render(z_for)

    def _render(self, z_for: ZFor) -> np.ndarray:
        if not self.encoded:
            self.encode()
        out = self._base.copy()
        remaining = self._mask.copy()
        for region in self._regions:
            plan = region.plan
            prepared, cache = region.prepared, region.cache
            if prepared is None or cache is None:
                prepared = extract_crop(out, remaining, plan, self.method.pad_multiple)
                cache = self.method.encode(prepared.pixels, prepared.hole, self.max_radius)
            filled = self.method.decode(cache, z_for(plan.index, cache))
            paste_crop(out, remaining, prepared, filled)
            c0, c1, c2, c3 = plan.core
            remaining[c0:c1, c2:c3] = False
        return out

    def compose(self, patch: np.ndarray) -> np.ndarray:
        """The whole image with a rendered box pasted in (a new array)."""
        out = self.image.copy()
        y0, y1, x0, x1 = self.box
        out[y0:y1, x0:x1] = patch
        return out

    def render_image(self, setting: LatentSetting) -> np.ndarray:
        return self.compose(self.render(setting))


def parse_directions(specs: Sequence[str], count: int) -> tuple[float, ...]:
    """``["1=1.5", "3=-2"]`` (1-based, as the sliders are numbered) -> slider values."""
    values = [0.0] * count
    for spec in specs:
        key, sep, value = spec.partition("=")
        try:
            index, amount = int(key), float(value)
        except ValueError:
            index, amount = 0, 0.0
            sep = ""
        if not sep:
            raise ValueError(f"--direction takes INDEX=VALUE (e.g. 1=1.5), got {spec!r}")
        if not 1 <= index <= count:
            raise ValueError(f"direction {index} does not exist: the model has 1..{count}")
        values[index - 1] = amount
    while values and values[-1] == 0.0:
        values.pop()
    return tuple(values)


def direction_options(specs: Sequence[str], method_name: str, device: str = "cpu") -> dict:
    """Fill-request options for the CLI's ``--direction i=VALUE`` (repeatable): the same
    ``z_offset`` the editor's sliders produce, so ``--seed S --direction ...`` reproduces a
    slider setting pixel for pixel."""
    from core.errors import InpaintError
    from core.methods import get_method

    if not specs:
        return {}
    if method_name != "manifold":
        raise InpaintError(f"--direction needs the manifold method, not {method_name!r}")
    method = get_method(method_name, device)
    assert isinstance(method, ManifoldFill)
    directions = directions_for(method)
    try:
        values = parse_directions(specs, len(directions))
    except ValueError as error:
        raise InpaintError(str(error)) from None
    return {"z_offset": directions.offset(values)}
