"""The ``manifold`` fill: the learned latent-variable model (``core.nets.manifold``).

A fill is ``decode(encode(crop, hole), z)``. ``encode`` does all the work that does not depend
on the latent z (and is cached per crop), so a new z - a variant, a slider move - costs one
decoder pass.

``CropContext.options`` keys this method reads:

``sample`` (bool, default True)
    When the request has a seed, draw z from the prior p(z | context) with that seed (the same
    seed gives the same pixels); False keeps z = prior mean even with a seed. Without a seed z
    is the prior mean: the most likely fill.
``temperature`` (float, default 1.0)
    Scales the prior standard deviation when sampling.
``z_offset`` (sequence of ``latent_dim`` floats)
    Added to z, in units of the prior standard deviation (what the latent sliders move).
``z`` (sequence of ``latent_dim`` floats)
    An explicit latent, used as is (overrides ``sample``; ``z_offset`` still applies).
``refine_steps`` (int, default 0)
    Optimise z for this many Adam steps so the decoded image agrees with the known pixels in a
    band around the hole; progress is yielded per step.
``max_hole_radius`` (float, default ``MAX_HOLE_RADIUS``)
    The net runs at 1, 1/2, 1/4 or 1/8 of the crop's resolution, the largest at which the
    thickest part of the hole is at most this many pixels from known pixels.
``thin_hole_px`` (float, default ``THIN_HOLE_PX``)
    A hole whose every pixel is at most this far from a known pixel (dust specks, hairline
    scratches) gets the biharmonic fill instead of the net, unless ``z``, ``z_offset`` or
    ``refine_steps`` ask for the latent; 0 always runs the net.

``--variants K`` in the fill command maps to K fills with K seeds; the encode cache makes the
second and later ones a decoder pass each.

The pipeline hands small crops of a plain fill (no ``refine_steps``, ``z`` or ``z_offset``) that
the net runs at one padded shape to ``fill_batch_steps`` together (dense dust: many specks): one
encoder and one decoder pass for all, each crop's computation as it would be alone.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np

from core.errors import ModelError
from core.methods.base import CropContext, FillMethod, downscale_known
from core.methods.registry import register
from core.progress import Progress, Steps

MODEL_NAME = "manifold"
# Thickest hole (px from the nearest known pixel) the net fills at full resolution; larger
# holes run at 1/2, 1/4 or 1/8 scale. Training holes reach ~50 px from known pixels (boxes in
# 160-px crops); 48 beat 24 and 96 on the Kodak bench (8 images: medium +0.17 dB, box +0.15).
MAX_HOLE_RADIUS = 48.0
# Holes at most this thick (px from the nearest known pixel) get the biharmonic fill: on
# Kodak's scratches and dust it beats the net (24.40 / 25.93 dB against 24.12 / 25.54 for the
# step-10500 weights, 23.90 / 25.16 for the blurred decoder's) in less time, and there is
# nothing for a latent to vary in a 2-px crack. 3 px left the larger specks and crack forks to
# the net (24.05 / 25.28); 5 and 8 px gave the same figures and left the thin strokes, where the
# net leads biharmonic by 1 dB, to the net; 5 keeps brush strokes of ~10 px and more with it.
THIN_HOLE_PX = 5.0
# Longest crop side the pipeline hands over (larger regions are scaled down first).
MAX_SIDE = 768
# Known pixels this far (px, working resolution) around the hole drive refinement.
REFINE_BAND = 8


@dataclass
class ManifoldCache:
    """One encoded crop: what ``decode`` needs for any z."""

    encoded: object  # core.nets.manifold.Encoded
    crop: np.ndarray  # float32 (h, w, 3), as given
    hole: np.ndarray  # bool (h, w)
    scale: float  # internal scale the net ran at
    work_size: tuple[int, int]  # (h, w) at that scale, before padding
    prior_mean: np.ndarray  # (latent_dim,)
    prior_std: np.ndarray  # (latent_dim,)


@dataclass
class _NetInput:
    """One crop as the net sees it: at its internal scale, padded to the net's multiple."""

    masked: np.ndarray  # float32 (H, W, 3), holes zeroed
    hole: np.ndarray  # bool (H, W)
    init: np.ndarray  # float32 (H, W, 3): the Navier-Stokes fill
    scale: float
    work_size: tuple[int, int]  # (h, w) before padding


def hole_thickness(hole: np.ndarray) -> float:
    """Distance (px) from the hole's innermost pixel to the nearest known one; outside the
    crop counts as known; 0 for no hole."""
    if not hole.any():
        return 0.0
    padded = np.pad(hole, 1, constant_values=False).astype(np.uint8)
    return float(cv2.distanceTransform(padded, cv2.DIST_L2, 3).max())


def choose_internal_scale(hole: np.ndarray, max_radius: float = MAX_HOLE_RADIUS) -> float:
    """1, 1/2, 1/4 or 1/8: the largest at which the hole's thickest part is within
    ``max_radius`` px of known pixels."""
    radius = hole_thickness(hole)
    scale = 1.0
    while radius * scale > max_radius and scale > 0.125:
        scale /= 2
    return scale


def ns_fill(image: np.ndarray, hole: np.ndarray, radius: float = 3.0) -> np.ndarray:
    """Navier-Stokes fill in 16 bit (OpenCV's float path is unreliable): the net's initial
    fill, as in training."""
    mask8 = hole.astype(np.uint8)
    wide = np.rint(np.clip(image, 0.0, 1.0) * 65535.0).astype(np.uint16)
    channels = [
        cv2.inpaint(np.ascontiguousarray(wide[..., c]), mask8, radius, cv2.INPAINT_NS)
        for c in range(3)
    ]
    return np.stack(channels, axis=2).astype(np.float32) / 65535.0


# Below this many working pixels one thread is faster: for a dust speck's 56x56 crop, torch's
# thread hand-offs cost more than the convolutions (8 ms vs 100 ms on a busy 2-core CPU).
SINGLE_THREAD_PIXELS = 128 * 128


@contextmanager
def _threads_for(sizes: Sequence[tuple[int, int]]) -> Iterator[None]:
    """One torch thread when every crop (``sizes``: their (h, w)) is small. That holds for a
    batch of them too: on the loaded 2-core CPU 16 stacked 64x64 crops took 3.8 ms per crop
    on one thread and 490 ms on two (every op waits for the starved second thread)."""
    import torch

    before = torch.get_num_threads()
    if max(h * w for h, w in sizes) >= SINGLE_THREAD_PIXELS or before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _max_radius(options: dict) -> float:
    return float(options.get("max_hole_radius", MAX_HOLE_RADIUS))


def _wants_latent(options: dict) -> bool:
    return (
        int(options.get("refine_steps", 0) or 0) > 0
        or options.get("z") is not None
        or options.get("z_offset") is not None
    )


def is_thin_hole(hole: np.ndarray, options: dict) -> bool:
    """Whether ``hole`` gets the classical fill (see ``thin_hole_px``)."""
    limit = float(options.get("thin_hole_px", THIN_HOLE_PX))
    if limit <= 0 or not hole.any() or _wants_latent(options):
        return False
    return hole_thickness(hole) <= limit


def _scaled_size(shape: tuple[int, ...], scale: float) -> tuple[int, int]:
    """(h, w) of a crop of ``shape`` at ``scale``, rounded as ``downscale_known`` does."""
    if scale >= 1.0:
        return int(shape[0]), int(shape[1])
    return max(1, round(shape[0] * scale)), max(1, round(shape[1] * scale))


def _inference(net, device: str):
    import torch

    # Frozen: refinement optimises z only, and no gradient buffers should pile up.
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    return net.eval().to(device).to(memory_format=torch.channels_last)


@register
class ManifoldFill(FillMethod):
    name = "manifold"
    description = "learned latent manifold model (variants, latent sliders, refinement)"
    # The method pads internally (its internal scale depends on the hole), so the pipeline
    # need not.
    pad_multiple = 1
    min_margin = 24
    margin_factor = 0.5
    cache_size: ClassVar[int] = 4
    # Crops per batch (``fill_batch_steps``): 64x64 crops took 7.5 ms each alone, 3.8 ms in
    # batches of 16 and of 32 (one thread, loaded 2-core CPU).
    max_batch: ClassVar[int] = 16

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        from core import resources
        from core.models import model_status

        try:
            import safetensors  # noqa: F401
            import torch  # noqa: F401
        except ImportError as missing:
            return False, f"{missing.name} is not installed"
        # Looked up at call time, so that tests can point it at a copy of the folder.
        return model_status(MODEL_NAME, resources.MODELS_DIR)

    def __init__(self, device: str = "cpu", models_dir=None) -> None:
        super().__init__(device)

        from core.cpu import tune_allocator
        from core.models import load_model_files
        from core.nets.manifold import ManifoldNet, NetConfig
        from core.resources import MODELS_DIR

        tune_allocator()
        tensors, config = load_model_files(MODEL_NAME, models_dir or MODELS_DIR)
        net = ManifoldNet(NetConfig.from_dict(config.get("net", {})))
        expected = {k for k in net.state_dict() if not k.startswith("posterior")}
        if set(tensors) != expected:
            raise ModelError("the manifold model file does not match this version's network")
        net.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=False)
        self.net = _inference(net, device)
        self.config = config
        self._cache: OrderedDict[bytes, ManifoldCache] = OrderedDict()

    @classmethod
    def from_net(cls, net, device: str = "cpu") -> ManifoldFill:
        """Wrap an in-memory network (tests, training previews) without model files."""

        self = cls.__new__(cls)
        FillMethod.__init__(self, device)
        self.net = _inference(net, device)
        self.config = {"net": net.config.to_dict()}
        self._cache = OrderedDict()
        return self

    @property
    def latent_dim(self) -> int:
        return int(self.net.z_dim)

    def working_scale(self, region_height: int, region_width: int) -> float:
        # Bound the crop the net sees; the hole-dependent scale is chosen inside ``encode``.
        return min(1.0, MAX_SIDE / max(region_height, region_width, 1))

    # -- encode / decode ------------------------------------------------------------------

    def encode(
        self, crop: np.ndarray, hole: np.ndarray, max_radius: float = MAX_HOLE_RADIUS
    ) -> ManifoldCache:
        """Run everything that does not depend on z; cached for the last few crops."""
        return self._encode_many([(crop, hole, max_radius)])[0][0]

    def _encode_many(
        self, items: Sequence[tuple[np.ndarray, np.ndarray, float]]
    ) -> tuple[list[ManifoldCache], Any]:
        """``encode`` for each ``(crop, hole, max_radius)``, running the net once for all those
        not cached (they must share one padded shape), and their ``Encoded`` stacked in order."""
        keys = [self._cache_key(crop, hole, radius) for crop, hole, radius in items]
        found: dict[int, ManifoldCache] = {}
        encoded: Any = None
        for i, key in enumerate(keys):
            if key in self._cache:
                self._cache.move_to_end(key)
                found[i] = self._cache[key]
        missing = [i for i in range(len(items)) if i not in found]
        if missing:
            crops = [np.ascontiguousarray(items[i][0][..., :3], np.float32) for i in missing]
            inputs = [
                self._net_input(crop, items[i][1], items[i][2])
                for crop, i in zip(crops, missing, strict=True)
            ]
            encoded = self._run_encoder(inputs)
            for j, i in enumerate(missing):
                one = encoded.take(slice(j, j + 1))
                found[i] = self._cache_entry(one, inputs[j], crops[j], items[i][1])
                self._cache[keys[i]] = found[i]
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        caches = [found[i] for i in range(len(items))]
        if len(missing) < len(items):
            # Some came from the cache: stack theirs with the new ones (a copy, rarely taken).
            parts = [c.encoded for c in caches]
            encoded = parts[0] if len(parts) == 1 else type(parts[0]).cat(parts)
        return caches, encoded

    @staticmethod
    def _cache_key(crop: np.ndarray, hole: np.ndarray, max_radius: float) -> bytes:
        return hashlib.blake2b(
            crop.tobytes() + np.packbits(hole).tobytes() + repr((crop.shape, max_radius)).encode(),
            digest_size=16,
        ).digest()

    def _padded_shape(self, hole: np.ndarray, max_radius: float) -> tuple[float, int, int]:
        """(internal scale, height, width) of the net's input for this crop."""
        scale = choose_internal_scale(hole, max_radius)
        h, w = _scaled_size(hole.shape, scale)
        multiple = int(self.net.config.multiple)
        return scale, h + (-h) % multiple, w + (-w) % multiple

    def _net_input(self, crop: np.ndarray, hole: np.ndarray, max_radius: float) -> _NetInput:
        scale = choose_internal_scale(hole, max_radius)
        if scale < 1.0:
            small, small_hole = downscale_known(crop, hole, scale)
        else:
            small, small_hole = crop.copy(), hole.copy()
            small[small_hole] = 0.0
        # With no known pixel at all NS has nothing to spread and gives black; the net then
        # generates from neutral grey instead (its prior still varies with the seed).
        init = ns_fill(small, small_hole) if not small_hole.all() else np.full_like(small, 0.5)
        h, w = small_hole.shape
        multiple = int(self.net.config.multiple)
        pad = ((0, (-h) % multiple), (0, (-w) % multiple))
        mode = "reflect" if min(h, w) > max(pad[0][1], pad[1][1]) else "edge"
        small = np.pad(small, (*pad, (0, 0)), mode=mode)
        init = np.pad(init, (*pad, (0, 0)), mode=mode)
        small_hole = np.pad(small_hole, pad, mode=mode)
        return _NetInput(small, small_hole, init, scale, (h, w))

    def _run_encoder(self, inputs: Sequence[_NetInput]) -> Any:
        """``net.encode`` of same-shaped inputs in one batch."""
        import torch

        # no_grad, not inference_mode: refinement back-propagates through these tensors.
        with torch.no_grad(), _threads_for([i.work_size for i in inputs]):
            masked = self._tensor(np.stack([i.masked.transpose(2, 0, 1) for i in inputs]))
            hole_t = self._tensor(np.stack([i.hole[None] for i in inputs]))
            init_t = self._tensor(np.stack([i.init.transpose(2, 0, 1) for i in inputs]))
            return self.net.encode(masked * (1 - hole_t), hole_t, init_t)

    def _cache_entry(
        self, encoded: Any, net_input: _NetInput, crop: np.ndarray, hole: np.ndarray
    ) -> ManifoldCache:
        return ManifoldCache(
            encoded=encoded,
            crop=crop,
            hole=hole.copy(),
            scale=net_input.scale,
            work_size=net_input.work_size,
            prior_mean=encoded.prior_mu[0].float().cpu().numpy(),
            prior_std=(0.5 * encoded.prior_logvar[0]).exp().float().cpu().numpy(),
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
        return self._decode_many(cache.encoded, [cache], [z])[0]

    def _decode_many(
        self, encoded: Any, caches: Sequence[ManifoldCache], zs: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        """``decode`` of each cache with its z; ``encoded`` is theirs, stacked in order."""
        import torch

        with torch.inference_mode(), _threads_for([c.work_size for c in caches]):
            z = np.stack([np.asarray(z, np.float32) for z in zs])
            out = self.net.decode(encoded, torch.from_numpy(z).to(self.device))
        return [self._finish(cache, out[i : i + 1]) for i, cache in enumerate(caches)]

    def _finish(self, cache: ManifoldCache, out) -> np.ndarray:
        h, w = cache.work_size
        fill = out[0, :, :h, :w].clamp(0, 1).float().cpu().numpy().transpose(1, 2, 0)
        if cache.scale < 1.0:
            size = (cache.hole.shape[1], cache.hole.shape[0])
            fill = np.clip(cv2.resize(fill, size, interpolation=cv2.INTER_CUBIC), 0, 1)
        result = cache.crop.copy()
        result[cache.hole] = fill[cache.hole]
        return result

    def sample_z(self, cache: ManifoldCache, seed: int, temperature: float = 1.0) -> np.ndarray:
        """A deterministic draw from the prior p(z | context)."""
        noise = np.random.default_rng(seed).standard_normal(self.latent_dim).astype(np.float32)
        return cache.prior_mean + temperature * cache.prior_std * noise

    def latent_for(self, cache: ManifoldCache, context: CropContext) -> np.ndarray:
        """The z that ``context`` (seed and options) asks for."""
        options = context.options or {}
        if options.get("z") is not None:
            z = np.asarray(options["z"], np.float32)
            if z.shape != (self.latent_dim,):
                raise ModelError(f"option 'z' needs {self.latent_dim} values, got {z.shape}")
        elif context.seed is not None and options.get("sample", True):
            z = self.sample_z(cache, context.seed, float(options.get("temperature", 1.0)))
        else:
            z = cache.prior_mean.copy()
        offset = options.get("z_offset")
        if offset is not None:
            offset = np.asarray(offset, np.float32)
            if offset.shape != (self.latent_dim,):
                raise ModelError(
                    f"option 'z_offset' needs {self.latent_dim} values, got {offset.shape}"
                )
            z = z + offset * cache.prior_std
        return z

    # -- FillMethod -----------------------------------------------------------------------

    def fill(self, crop: np.ndarray, hole: np.ndarray, context: CropContext) -> np.ndarray:
        from core.progress import run_to_end

        return run_to_end(self.fill_steps(crop, hole, context))

    def fill_steps(
        self, crop: np.ndarray, hole: np.ndarray, context: CropContext
    ) -> Steps[np.ndarray]:
        options = context.options or {}
        if is_thin_hole(hole, options):
            from core.methods.classical import BiharmonicInpaint

            yield Progress(1.0, "thin hole: biharmonic fill")
            return BiharmonicInpaint().fill(crop, hole, context)
        cache = self.encode(crop, hole, _max_radius(options))
        z = self.latent_for(cache, context)
        steps = int(options.get("refine_steps", 0) or 0)
        if steps > 0:
            yield Progress(0.05, "encoded")
            z = yield from self.refine_steps(cache, z, steps)
        result = self.decode(cache, z)
        yield Progress(1.0)
        return result

    def batch_key(
        self, crop: np.ndarray, hole: np.ndarray, context: CropContext
    ) -> Hashable | None:
        """Small crops of a plain (most likely or seeded) fill that the net runs at the same
        scale and padded shape: stacked, each is computed as it would be alone."""
        options = context.options or {}
        # Refinement optimises each crop's z on its own. Explicit z and slider offsets are the
        # latent panel's, which ``core.latent`` reproduces bit for bit one crop at a time.
        if _wants_latent(options) or is_thin_hole(hole, options):
            return None
        # Only small crops pay more in per-call overhead than in convolutions.
        if hole.size >= SINGLE_THREAD_PIXELS:
            return None
        return self._padded_shape(hole, _max_radius(options))

    def fill_batch_steps(
        self, items: Sequence[tuple[np.ndarray, np.ndarray, CropContext]]
    ) -> Steps[list[np.ndarray]]:
        """One encoder and one decoder pass for all ``items`` (one ``batch_key``); each z is
        chosen per item from its own seed, as ``fill_steps`` would."""
        keys = {self.batch_key(*item) for item in items}
        if len(items) < 2 or len(keys) > 1 or None in keys:
            return (yield from super().fill_batch_steps(items))
        caches, encoded = self._encode_many(
            [(crop, hole, _max_radius(context.options or {})) for crop, hole, context in items]
        )
        yield Progress(0.5, "encoded")
        zs = [self.latent_for(c, item[2]) for c, item in zip(caches, items, strict=True)]
        results = self._decode_many(encoded, caches, zs)
        yield Progress(1.0)
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
