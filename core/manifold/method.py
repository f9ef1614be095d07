"""The ``manifold`` fill method: the learned latent-variable model (``core.manifold.net``).

A fill is ``decode(encode(crop, hole), z)``. ``prepare_steps`` runs the encoder - all the work
that does not depend on the latent z - and ``render_steps`` picks z from the seed and the
options and runs the decoder, so a new z (a variant, a slider move) costs one decoder pass.

How z is chosen (``latent_for``), in the prior's whitened units per region:
``z = mu_p + sigma_p * (temperature * eps + sum_i a_i d_i)`` with ``(mu_p, sigma_p)`` the
crop's prior p(z | context), ``eps`` the region seed's standard normal draw (zero without a
seed: the most likely fill), ``a_i`` the slider values and ``d_i`` the model's directions
(``core.manifold.directions``); fusion blends two such codes (``ManifoldOptions.blend``).

Thicker holes are filled in two parts: the net's decode is the *structure* guide, and the
texture engine (``core.texture``) fills the hole with patches of the crop's known pixels that
agree with the photo around them and with that guide, keeping the guide's low band where no
patch agrees. A sampled or slid z moves the guide ``guide_spread`` times as far from the most
likely fill's as the net alone would, so variants differ in structure and stay sharp. With
``texture=False`` the (spread) guide itself is the fill: the editor's live slider preview.

Holes at most ``thin_hole_px`` thick (dust specks, hairline cracks) get the biharmonic fill
instead: it is better there, and a latent has nothing to vary in a 2-px crack. The sliders
steer the thicker holes of the same mask.

Small crops of one padded shape are prepared and rendered in batches (dense dust: many
specks): one encoder and one decoder pass for all, each crop computed as it would be alone.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import cv2
import numpy as np

from core.base import resources
from core.base.cpu import thread_count, tune_allocator
from core.base.errors import ModelError
from core.base.interpolation import lerp, slerp
from core.base.masks import hole_thickness
from core.base.pixels import initial_fill, opencv_inpaint
from core.base.progress import Progress, Steps, scaled
from core.base.weights import load_model_files, model_status
from core.manifold.directions import directions_for
from core.manifold.options import MAX_HOLE_RADIUS, ManifoldOptions
from core.methods.base import CropContext, FillMethod, region_seed
from core.methods.classical import BiharmonicInpaint
from core.methods.geometry import HoleMeasure, back_to_crop, view_shape

# torch (with the network) and the texture engine (numba) are imported where they are used:
# they cost 2.1 s and 0.6 s to import on the 2-core CPU, and this module is imported at every
# start of the editor and the command line (core.pipeline.registry), where the manifold method
# may never run.

MODEL_NAME = "manifold"
# Longest crop side the pipeline hands over (larger regions are scaled down first).
MAX_SIDE = 768
# Known pixels this far (px, working resolution) around the hole drive refinement.
REFINE_BAND = 8
# Below this many working pixels one thread is faster: for a dust speck's 56x56 crop, torch's
# thread hand-offs cost more than the convolutions (8 ms vs 100 ms on a busy 2-core CPU).
SINGLE_THREAD_PIXELS = 128 * 128
DEFAULT_OPTIONS = ManifoldOptions()
# Deep holes hold the net's guide more loosely in the texture's patch choice: there its decode
# is a blotch (a box's barn-red smear, a horizon it does not continue), and the patches' own
# coherence continues fields and skies better (Kodak boxes: detail 0.62 -> 0.65 for 0.05 dB;
# docs/texture.md). Strokes and thick strokes (mean distance up to 22 px on Kodak) keep the
# full weight; boxes (37-53 px) get the loose one.
LOOSE_GUIDE_FROM_PX = 24.0
LOOSE_GUIDE_AT_PX = 36.0
LOOSE_GUIDE_WEIGHT = 0.25


@dataclass
class ManifoldCache:
    """One encoded crop: what ``decode`` needs for any z."""

    encoded: Any  # core.manifold.net.Encoded of this crop alone (views into ``batch``)
    crop: np.ndarray  # float32 (h, w, 3), as given
    hole: np.ndarray  # bool (h, w)
    scale: float  # internal scale the net ran at
    work_size: tuple[int, int]  # (h, w) at that scale, before padding
    prior_mean: np.ndarray  # (latent_dim,)
    prior_std: np.ndarray  # (latent_dim,)
    # The batch it was encoded in and its place there: a batch rendered whole needs no copy.
    batch: tuple[Any, int] | None = None
    # The decode of the prior mean (the most likely fill), made when a guide is first spread.
    mean_fill: np.ndarray | None = None
    # Mean distance (px, crop resolution) from the hole's pixels to the nearest known one: a
    # stroke's is about a quarter of its width.
    mean_distance: float = 0.0


@dataclass
class ThinFill:
    """A thin hole's prepared state: its biharmonic fill, the same for every z."""

    fill: np.ndarray


@dataclass
class _NetInput:
    """One crop as the net sees it: at its internal scale, padded to the net's multiple."""

    masked: np.ndarray  # float32 (H, W, 3), holes zeroed
    hole: np.ndarray  # bool (H, W)
    init: np.ndarray  # float32 (H, W, 3): the Navier-Stokes fill
    scale: float
    work_size: tuple[int, int]  # (h, w) before padding
    mean_distance: float  # of the hole, at the crop's resolution (see ManifoldCache)


def scale_for_thickness(thickness: float, max_radius: float = MAX_HOLE_RADIUS) -> float:
    """1, 1/2, 1/4 or 1/8: the largest at which a hole ``thickness`` px thick is within
    ``max_radius`` px of known pixels."""
    scale = 1.0
    while thickness * scale > max_radius and scale > 0.125:
        scale /= 2
    return scale


def choose_internal_scale(hole: np.ndarray, max_radius: float = MAX_HOLE_RADIUS) -> float:
    return scale_for_thickness(hole_thickness(hole), max_radius)


def is_thin(thickness: float, options: ManifoldOptions) -> bool:
    """Whether a hole this thick gets the classical fill (see ``thin_hole_px``)."""
    return 0 < thickness <= options.thin_hole_px


def _threads(sizes: Sequence[tuple[int, int]]) -> int:
    """torch threads for crops of ``sizes`` ((h, w) each): one when every crop is small, else 0
    (as many as torch has). That holds for a batch of them too: on the loaded 2-core CPU 16
    stacked 64x64 crops took 3.8 ms per crop on one thread and 490 ms on two (every op waits
    for the starved second thread)."""
    return 1 if max(h * w for h, w in sizes) < SINGLE_THREAD_PIXELS else 0


def _inference(net, device: str):
    import torch

    # Frozen: refinement optimises z only, and no gradient buffers should pile up.
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    return net.eval().to(device).to(memory_format=torch.channels_last)


def _options(context: CropContext) -> ManifoldOptions:
    return _chosen(context.options)


def _chosen(options: object) -> ManifoldOptions:
    """The options asked for, or the defaults."""
    return options if isinstance(options, ManifoldOptions) else DEFAULT_OPTIONS


class ManifoldFill(FillMethod):
    name = "manifold"
    description = "learned latent manifold model (variants, latent sliders, refinement)"
    options_type = ManifoldOptions
    # The crop stays unpadded at the pipeline's working scale (the texture and the thin-hole
    # fill work on it); the net sees its own view of it (``model_scale``, ``model_multiple``).
    pad_multiple = 1
    min_margin = 24
    margin_factor = 0.5
    # Crops per batch: 64x64 crops took 7.5 ms each alone, 3.8 ms in batches of 16 and of 32
    # (one thread, loaded 2-core CPU).
    max_batch: ClassVar[int] = 16

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        try:
            import safetensors  # noqa: F401
            import torch  # noqa: F401
        except ImportError as missing:
            return False, f"{missing.name} is not installed"
        # Looked up at call time, so that tests can point it at a copy of the folder.
        return model_status(MODEL_NAME, resources.MODELS_DIR)

    def __init__(self, device: str = "cpu", models_dir=None) -> None:
        super().__init__(device)

        from core.manifold.net import ManifoldNet, NetConfig

        tune_allocator()
        # Looked up at call time, so that tests can point it at a copy of the folder.
        tensors, config = load_model_files(MODEL_NAME, models_dir or resources.MODELS_DIR)
        net = ManifoldNet(NetConfig.from_dict(config.get("net", {})))
        expected = {k for k in net.state_dict() if not k.startswith("posterior")}
        if set(tensors) != expected:
            raise ModelError("the manifold model file does not match this version's network")
        net.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=False)
        self.net = _inference(net, device)
        self.config = config

    @classmethod
    def from_net(cls, net, device: str = "cpu") -> ManifoldFill:
        """Wrap an in-memory network (tests, training previews) without model files."""
        self = cls.__new__(cls)
        FillMethod.__init__(self, device)
        self.net = _inference(net, device)
        self.config = {"net": net.config.to_dict()}
        return self

    @property
    def latent_dim(self) -> int:
        return int(self.net.z_dim)

    def working_scale(self, region_height: int, region_width: int) -> float:
        # Bound the crop; the net's own scale inside it follows the hole (``model_scale``).
        return min(1.0, MAX_SIDE / max(region_height, region_width, 1))

    def model_scale(self, measure: HoleMeasure, options: Any) -> float:
        """The net runs at 1, 1/2, 1/4 or 1/8 of the crop: the largest at which the hole's
        thickest part is within ``max_hole_radius`` px of known pixels."""
        return scale_for_thickness(measure.thickness, _chosen(options).max_hole_radius)

    @property
    def model_multiple(self) -> int:
        return int(self.net.config.multiple)

    def same_preparation(self, options: object, other: object) -> bool:
        return _chosen(options).preparation() == _chosen(other).preparation()

    # -- encode / decode ------------------------------------------------------------------

    def encode(
        self, crop: np.ndarray, hole: np.ndarray, max_radius: float = MAX_HOLE_RADIUS
    ) -> ManifoldCache:
        """Run everything that does not depend on z."""
        context = CropContext(options=ManifoldOptions(max_hole_radius=max_radius))
        return self._encode_many([(crop, hole, context)])[0]

    def _encode_many(
        self, items: Sequence[tuple[np.ndarray, np.ndarray, CropContext]]
    ) -> list[ManifoldCache]:
        """``encode`` for each ``(crop, hole, context)`` in one pass of the net (they must
        share one padded shape)."""
        crops = [np.ascontiguousarray(crop[..., :3], np.float32) for crop, _, _ in items]
        inputs = [
            self._net_input(crop, hole, context)
            for crop, (_, hole, context) in zip(crops, items, strict=True)
        ]
        encoded = self._run_encoder(inputs)
        return [
            self._cache_entry(encoded, j, inputs[j], crops[j], items[j][1])
            for j in range(len(items))
        ]

    def _net_input(self, crop: np.ndarray, hole: np.ndarray, context: CropContext) -> _NetInput:
        view = self.view(crop, hole, context)
        init = initial_fill(view.pixels, view.hole)
        mean = self.measure(hole, context).mean_distance
        padded = view.pad(view.pixels), view.pad(view.hole), view.pad(init)
        return _NetInput(*padded, view.scale, view.size, mean)

    def _run_encoder(self, inputs: Sequence[_NetInput]) -> Any:
        """``net.encode`` of same-shaped inputs in one batch."""
        import torch

        # no_grad, not inference_mode: refinement back-propagates through these tensors.
        with torch.no_grad(), thread_count(_threads([i.work_size for i in inputs])):
            masked = self._tensor(np.stack([i.masked.transpose(2, 0, 1) for i in inputs]))
            hole_t = self._tensor(np.stack([i.hole[None] for i in inputs]))
            init_t = self._tensor(np.stack([i.init.transpose(2, 0, 1) for i in inputs]))
            return self.net.encode(masked * (1 - hole_t), hole_t, init_t)

    def _cache_entry(
        self, encoded: Any, index: int, net_input: _NetInput, crop: np.ndarray, hole: np.ndarray
    ) -> ManifoldCache:
        one = encoded.take(slice(index, index + 1))
        return ManifoldCache(
            mean_distance=net_input.mean_distance,
            encoded=one,
            crop=crop,
            hole=hole.copy(),
            scale=net_input.scale,
            work_size=net_input.work_size,
            prior_mean=one.prior_mu[0].float().cpu().numpy(),
            prior_std=(0.5 * one.prior_logvar[0]).exp().float().cpu().numpy(),
            batch=(encoded, index),
        )

    def _tensor(self, array: np.ndarray):
        """(N, C, H, W) numpy -> float32 tensor on the device, channels last."""
        import torch

        tensor = torch.from_numpy(np.ascontiguousarray(array, np.float32))
        return tensor.to(self.device).contiguous(memory_format=torch.channels_last)

    def decode(self, cache: ManifoldCache, z: np.ndarray | None = None) -> np.ndarray:
        """The filled crop (float32 (h, w, 3), known pixels as given) for latent ``z``
        (default: the prior mean)."""
        z = cache.prior_mean if z is None else z
        return self._decode_many([cache], [z])[0]

    def _decode_many(
        self, caches: Sequence[ManifoldCache], zs: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        """``decode`` of each cache with its z, in one pass of the decoder."""
        import torch

        with torch.inference_mode(), thread_count(_threads([c.work_size for c in caches])):
            z = np.stack([np.asarray(z, np.float32) for z in zs])
            out = self.net.decode(_stacked(caches), torch.from_numpy(z).to(self.device))
        return [self._finish(cache, out[i : i + 1]) for i, cache in enumerate(caches)]

    def _finish(self, cache: ManifoldCache, out) -> np.ndarray:
        h, w = cache.work_size
        fill = out[0, :, :h, :w].clamp(0, 1).float().cpu().numpy().transpose(1, 2, 0)
        return back_to_crop(fill, cache.scale, cache.crop, cache.hole)

    # -- the latent -----------------------------------------------------------------------

    def seed_noise(self, seed: int | None) -> np.ndarray:
        """The standard normal draw of a region seed (zeros for None)."""
        if seed is None:
            return np.zeros(self.latent_dim, np.float32)
        return np.random.default_rng(seed).standard_normal(self.latent_dim).astype(np.float32)

    def sample_z(self, cache: ManifoldCache, seed: int, temperature: float = 1.0) -> np.ndarray:
        """A deterministic draw from the prior p(z | context)."""
        return cache.prior_mean + temperature * cache.prior_std * self.seed_noise(seed)

    def slider_offset(self, sliders: Sequence[float]) -> np.ndarray:
        """``sum_i a_i d_i`` along the model's directions (computed once per loaded model)."""
        return directions_for(self).offset(sliders)

    def region_code(self, seed: int | None, sliders: Sequence[float]) -> np.ndarray:
        """The whitened code ``eps + sum_i a_i d_i`` of a region seed and slider values."""
        return self.seed_noise(seed) + self.slider_offset(sliders)

    def latent_for(self, cache: ManifoldCache, context: CropContext) -> np.ndarray:
        """The z that ``context`` (its region seed and options) asks for."""
        options = _options(context)
        blend = options.blend
        if blend is not None and 0.0 < blend.t < 1.0:
            mix = slerp if blend.spherical else lerp
            own = self.region_code(context.seed if options.sample else None, options.sliders)
            toward = self.region_code(
                region_seed(blend.toward.seed, context.index), blend.toward.sliders
            )
            code = mix(own, toward, blend.t)
            return (cache.prior_mean + cache.prior_std * code).astype(np.float32)
        seed, sliders, temperature = context.seed, options.sliders, options.temperature
        if blend is not None and blend.t >= 1.0:
            sliders, temperature = blend.toward.sliders, 1.0
        seed = _drawn_seed(context)
        z = cache.prior_mean.copy() if seed is None else self.sample_z(cache, seed, temperature)
        if any(sliders):
            z = z + self.slider_offset(sliders) * cache.prior_std
        return z

    # -- FillMethod -----------------------------------------------------------------------

    def prepare_steps(self, crop: np.ndarray, hole: np.ndarray, context: CropContext) -> Steps[Any]:
        measure = self.measure(hole, context)
        context = replace(context, measure=measure)  # one measure for all that follows
        if is_thin(measure.thickness, _options(context)):
            yield Progress(1.0, "thin hole: biharmonic fill")
            return ThinFill(BiharmonicInpaint().fill(crop, hole, context))
        cache = self._encode_many([(crop, hole, context)])[0]
        yield Progress(1.0, "encoded")
        return cache

    def _textured(self, cache: ManifoldCache, options: ManifoldOptions) -> bool:
        return options.texture and cache.mean_distance > options.texture_min_px

    def render_steps(self, prepared: Any, context: CropContext) -> Steps[np.ndarray]:
        if isinstance(prepared, ThinFill):
            yield Progress(1.0)
            return prepared.fill
        options = _options(context)
        z = self.latent_for(prepared, context)
        if options.refine_steps > 0:
            z = yield from scaled(self.refine_steps(prepared, z, options.refine_steps), 0, 0.3)
        guide = self.guides([prepared], [z], options.guide_spread)[0]
        return (yield from scaled(self.texture_steps(prepared, guide, context), 0.3, 1.0))

    def guides(
        self, caches: Sequence[ManifoldCache], zs: Sequence[np.ndarray], spread: float
    ) -> list[np.ndarray]:
        """The net's fills for ``zs`` (one decoder pass), each moved ``spread`` times as far
        from its most likely fill as the net put it (clipped to [0, 1])."""
        fills = self._decode_many(caches, zs)
        moved = [
            i for i, (c, z) in enumerate(zip(caches, zs, strict=True))
            if spread != 1.0 and not np.array_equal(z, c.prior_mean)
        ]  # fmt: skip
        for i, mean in zip(moved, self._mean_fills([caches[i] for i in moved]), strict=True):
            fills[i] = np.clip(mean + spread * (fills[i] - mean), 0.0, 1.0)
        return fills

    def _mean_fills(self, caches: Sequence[ManifoldCache]) -> list[np.ndarray]:
        """Each cache's most likely fill, decoded once (one pass for those not yet decoded)."""
        missing = [c for c in caches if c.mean_fill is None]
        if missing:
            decoded = self._decode_many(missing, [c.prior_mean for c in missing])
            for cache, fill in zip(missing, decoded, strict=True):
                cache.mean_fill = fill
        return [c.mean_fill for c in caches if c.mean_fill is not None]

    def texture_steps(
        self, cache: ManifoldCache, guide: np.ndarray, context: CropContext
    ) -> Steps[np.ndarray]:
        """The hole of ``cache``'s crop filled with the crop's own patches, following
        ``guide``; the guide itself when the options turn texture off."""
        options = _options(context)
        if not self._textured(cache, options):
            yield Progress(1.0)
            # A narrow stroke keeps the net's lightness and takes its colour from around it:
            # on sepia scans the net's own chroma drifts olive (a* -0.67 on the cracked scan).
            return _surrounding_chroma(guide, cache.crop, cache.hole) if options.texture else guide
        from core.texture import TextureOptions, synthesize_steps

        # The texture's draws follow the latent's: the most likely fill is one picture, and
        # fusion's end is the variant it ends at.
        seed = _drawn_seed(context)
        texture = TextureOptions(guide_weight=guide_weight_for(cache.mean_distance))
        filled = yield from synthesize_steps(
            cache.crop, cache.hole, guide, seed or 0, options=texture
        )
        result = cache.crop.copy()
        result[cache.hole] = filled[cache.hole]
        return result

    def describe(self, prepared: Any, options: object = None) -> str:
        if isinstance(prepared, ThinFill):
            return "thin-hole biharmonic"
        return "texture" if self._textured(prepared, _chosen(options)) else "net"

    def batch_key(self, hole: np.ndarray, context: CropContext) -> Hashable | None:
        """Small crops of one padded shape (and preparation options): stacked, each is computed
        as it would be alone. Thin holes and large crops go alone."""
        options, measure = _options(context), self.measure(hole, context)
        # Only small crops pay more in per-call overhead than in convolutions.
        if is_thin(measure.thickness, options) or hole.size >= SINGLE_THREAD_PIXELS:
            return None
        scale = self.model_scale(measure, options)
        return scale, *view_shape(hole.shape, scale, self.model_multiple), options.preparation()

    def prepare_batch_steps(
        self, items: Sequence[tuple[np.ndarray, np.ndarray, CropContext]]
    ) -> Steps[list[Any]]:
        """One encoder pass for all ``items`` (one ``batch_key``)."""
        items = [(c, h, replace(x, measure=self.measure(h, x))) for c, h, x in items]
        keys = {self.batch_key(hole, context) for _, hole, context in items}
        if len(items) < 2 or len(keys) > 1 or None in keys:
            return (yield from super().prepare_batch_steps(items))
        caches = self._encode_many(items)
        yield Progress(1.0, "encoded")
        return caches

    def render_batch_steps(
        self, prepared: Sequence[Any], contexts: Sequence[CropContext]
    ) -> Steps[list[np.ndarray]]:
        """One decoder pass for all crops, each z chosen from its own context; refinement
        optimises each crop's z on its own."""
        plain = all(isinstance(p, ManifoldCache) for p in prepared)
        if len(prepared) < 2 or not plain or any(_options(c).refine_steps for c in contexts):
            return (yield from super().render_batch_steps(prepared, contexts))
        zs = [self.latent_for(p, c) for p, c in zip(prepared, contexts, strict=True)]
        guides = self.guides(prepared, zs, _options(contexts[0]).guide_spread)
        results = []
        for number, (cache, guide, context) in enumerate(
            zip(prepared, guides, contexts, strict=True)
        ):
            steps = self.texture_steps(cache, guide, context)
            span = (0.1 + 0.9 * number / len(guides), 0.1 + 0.9 * (number + 1) / len(guides))
            results.append((yield from scaled(steps, *span)))
        return results

    def refine_steps(self, cache: ManifoldCache, z: np.ndarray, steps: int) -> Steps[np.ndarray]:
        """Optimise z so the decoded image matches the known pixels around the hole (the net
        predicts the whole crop, so agreement there measures how well z fits the context)."""
        import torch

        enc = cache.encoded
        hole = enc.hole
        band = torch.nn.functional.max_pool2d(hole, 2 * REFINE_BAND + 1, 1, REFINE_BAND) - hole
        # ``masked`` input = the known pixels; zero in the hole, so the band selects known ones.
        target = enc.init
        z_t = torch.from_numpy(np.ascontiguousarray(z, np.float32))[None].to(self.device)
        z_t.requires_grad_(True)
        optim = torch.optim.Adam([z_t], lr=0.05)
        mean = torch.from_numpy(cache.prior_mean)[None].to(self.device)
        std = torch.from_numpy(cache.prior_std)[None].to(self.device)
        denom = band.sum().clamp_min(1.0) * 3
        with torch.enable_grad():
            for step in range(steps):
                out = self.net.decode(enc, z_t)
                fit = ((out - target).abs() * band).sum() / denom
                # Stay where the prior puts mass: a weak pull towards the prior mean.
                prior = 1e-3 * (((z_t - mean) / std) ** 2).mean()
                loss = fit + prior
                optim.zero_grad()
                loss.backward()
                optim.step()
                yield Progress(0.05 + 0.9 * (step + 1) / steps, f"refine {step + 1}/{steps}")
        return z_t.detach()[0].cpu().numpy()


def guide_weight_for(mean_distance: float) -> float:
    """Weight of the net's guide in the texture's patch distance for a hole whose pixels lie
    ``mean_distance`` px from the known ones on average: 1 up to ``LOOSE_GUIDE_FROM_PX``,
    falling linearly to ``LOOSE_GUIDE_WEIGHT`` at ``LOOSE_GUIDE_AT_PX``."""
    t = (mean_distance - LOOSE_GUIDE_FROM_PX) / (LOOSE_GUIDE_AT_PX - LOOSE_GUIDE_FROM_PX)
    return float(1.0 + (LOOSE_GUIDE_WEIGHT - 1.0) * np.clip(t, 0.0, 1.0))


def _surrounding_chroma(fill: np.ndarray, crop: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``fill``'s CIELAB lightness with the a*, b* of a Telea fill of the hole."""
    smooth = opencv_inpaint(crop, hole, 5.0, cv2.INPAINT_TELEA)
    lab = cv2.cvtColor(np.ascontiguousarray(fill, np.float32), cv2.COLOR_RGB2Lab)
    lab[..., 1:] = cv2.cvtColor(np.ascontiguousarray(smooth, np.float32), cv2.COLOR_RGB2Lab)[
        ..., 1:
    ]
    result = crop.copy()
    recoloured = np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0.0, 1.0)
    result[hole] = recoloured[hole]
    return result


def _drawn_seed(context: CropContext) -> int | None:
    """The region seed z is drawn with (None: the prior mean, before sliders); a blend
    part-way uses its own seed."""
    options = _options(context)
    blend = options.blend
    if blend is not None and blend.t >= 1.0:
        return region_seed(blend.toward.seed, context.index)
    return context.seed if options.sample else None


def _stacked(caches: Sequence[ManifoldCache]) -> Any:
    """The caches' encodings stacked in order: the batch they were encoded in when they are
    exactly that batch, else a copy."""
    first = caches[0].batch
    if first is not None and all(
        c.batch is not None and c.batch[0] is first[0] and c.batch[1] == i
        for i, c in enumerate(caches)
    ):
        whole = first[0]
        if int(whole.prior_mu.shape[0]) == len(caches):
            return whole
    if len(caches) == 1:
        return caches[0].encoded
    return type(caches[0].encoded).cat([c.encoded for c in caches])
