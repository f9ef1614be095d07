"""The shipped layout model: encode a photo to a whitened code, decode a code to a layout.

Codes handed out here are *whitened* under the fitted prior (``core.layout.prior``): a seed's
code is a standard normal draw, slider ``k`` moves coordinate ``k`` (the prior's k-th largest
axis) in prior standard deviations, and fusion blends whitened codes spherically
(``core.manifold.options.slerp``) as the latent panel does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from core.base.cpu import thread_count, tune_allocator
from core.base.errors import InpaintError, ModelError
from core.base.resources import MODELS_DIR
from core.base.weights import load_model_files, model_status
from core.layout.data import squeeze
from core.layout.export import MODEL_NAME, PRIOR_KEYS
from core.layout.net import LayoutVAE, NetConfig
from core.layout.prior import unwhiten, whiten

# The net is tiny (a 64 px decode is ~3 ms on one thread): more threads only add waits at
# OpenMP barriers, and on a shared CPU a descheduled thread stalls a decode for ~270 ms
# (measured: 2 threads 2-280 ms by the load of the moment, 1 thread 3-7 ms).
THREADS = 1

_LOADED: dict[str, LayoutModel] = {}


def availability(models_dir: Path | None = None) -> tuple[bool, str]:
    """(usable, reason) of the shipped layout weights."""
    return model_status(MODEL_NAME, models_dir or MODELS_DIR)


class LayoutModel:
    def __init__(self, net: LayoutVAE, mean: np.ndarray, basis: np.ndarray) -> None:
        self.net = net.eval()
        self.mean = np.asarray(mean, np.float32)
        self.basis = np.asarray(basis, np.float32)

    @classmethod
    def load(cls, models_dir: Path | None = None) -> LayoutModel:
        """The shipped model (loaded once per folder and kept)."""
        folder = models_dir or MODELS_DIR
        key = str(folder)
        if key not in _LOADED:
            tune_allocator()
            tensors, config = load_model_files(MODEL_NAME, folder)
            net = LayoutVAE(NetConfig.from_dict(config.get("net", {})))
            weights = {k: v.float() for k, v in tensors.items() if k not in PRIOR_KEYS}
            if set(weights) != set(net.state_dict()) or not set(PRIOR_KEYS) <= set(tensors):
                raise ModelError("the layout model file does not match this version's network")
            net.load_state_dict(weights)
            _LOADED[key] = cls(net, tensors["prior_mean"].numpy(), tensors["prior_basis"].numpy())
        return _LOADED[key]

    @property
    def z_dim(self) -> int:
        return int(self.net.config.z_dim)

    @property
    def size(self) -> int:
        return int(self.net.config.size)

    def sample(self, seed: int, temperature: float = 1.0) -> np.ndarray:
        """The whitened code of ``seed`` (same seed, same code)."""
        rng = np.random.default_rng(int(seed))
        return (rng.standard_normal(self.z_dim) * float(temperature)).astype(np.float32)

    def with_sliders(self, code: np.ndarray, sliders: Sequence[float]) -> np.ndarray:
        """``code`` moved by ``sliders[k]`` prior standard deviations along axis k."""
        if len(sliders) > self.z_dim:
            raise InpaintError(f"{len(sliders)} sliders for a {self.z_dim}-number code")
        out = np.array(code, np.float32, copy=True)
        out[: len(sliders)] += np.asarray(sliders, np.float32)
        return out

    @torch.no_grad()
    def encode(self, image: np.ndarray) -> np.ndarray:
        """The whitened posterior mean of a photo (h, w, 3), float [0, 1] or uint8; the whole
        photo is squeezed to the layout's square, as in training."""
        if image.ndim != 3 or image.shape[2] < 3:
            raise InpaintError(f"expected an RGB image, got shape {image.shape}")
        rgb = np.ascontiguousarray(image[..., :3])
        small = squeeze(rgb, self.size).transpose(2, 0, 1)[None]
        with thread_count(THREADS):
            mu, _ = self.net.encode(torch.from_numpy(np.ascontiguousarray(small)))
        return whiten(mu.numpy()[0], self.mean, self.basis)

    @torch.no_grad()
    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Whitened code(s) (d,) or (n, d) -> layout(s) (size, size, 3) or (n, ...), float32."""
        batch = np.atleast_2d(np.asarray(codes, np.float32))
        z = torch.from_numpy(unwhiten(batch, self.mean, self.basis))
        with thread_count(THREADS):
            out = self.net.decode(z).numpy().transpose(0, 2, 3, 1)
        return np.ascontiguousarray(out if np.ndim(codes) == 2 else out[0])

    def layout(self, code: np.ndarray, width: int, height: int) -> np.ndarray:
        """The decoded layout stretched to ``width`` x ``height`` (bicubic), float32 [0, 1]."""
        return upsample(self.decode(code), width, height)


def upsample(layout: np.ndarray, width: int, height: int) -> np.ndarray:
    out = cv2.resize(layout, (int(width), int(height)), interpolation=cv2.INTER_CUBIC)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
