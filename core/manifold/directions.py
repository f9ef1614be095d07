"""The manifold model's latent directions: what the editor's sliders move.

* **Directions** (``response_directions``, the sliders' default): the z-space directions that
  change the decoded fill most, as eigenvectors of the decoder's measured response to one-std
  steps along each z axis on a few probe crops of the bundled sample photo; computed once per
  loaded model (one batched decode per probe, well under a second), so nothing is stored.
  ``sefa_directions`` (Shen & Zhou 2021: eigenvectors of ``A^T A``, ``A`` = the FiLM weights
  that consume z) needs no decode at all, but on the shipped weights its order did not match the
  measured change and its first direction moved fills ~3x less (``tools/bench_latent.py``).
  PCA of posterior codes (GANSpace) is not possible: the shipped model has no posterior weights.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from core.base.errors import InpaintError
from core.base.imageio import read_image
from core.base.pixels import to_float_rgb
from core.base.resources import SAMPLE_IMAGE

# torch is imported where a decode runs: importing it costs 2.1 s (2-core CPU), and this module
# is imported with the fill methods at every start of the editor and the command line.

log = logging.getLogger(__name__)


class EncodedCrop(Protocol):
    """What the directions read of an encoded crop (``core.manifold.method.ManifoldCache``)."""

    encoded: Any  # core.manifold.net.Encoded
    prior_mean: np.ndarray
    prior_std: np.ndarray


class LatentModel(Protocol):
    """What the directions need of the manifold fill (``core.manifold.method.ManifoldFill``),
    which imports this module: the network, its device and latent size, and an encoder."""

    net: Any  # core.manifold.net.ManifoldNet
    device: str

    @property
    def latent_dim(self) -> int: ...

    def encode(self, crop: np.ndarray, hole: np.ndarray) -> EncodedCrop: ...


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
                raise InpaintError(f"{values.size} slider values for {len(self)} directions")
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


def decoder_responses(method: LatentModel, cache: EncodedCrop, step: float = 1.0) -> np.ndarray:
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
    method: LatentModel, probes: list[tuple[np.ndarray, np.ndarray]] | None = None
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


def directions_for(method: LatentModel) -> Directions:
    """The loaded model's slider directions, computed once per network object (well under a
    second) and then fixed: a slider means the same thing for every hole, so it can be named."""
    found = _DIRECTIONS.get(method.net)
    if found is None:
        found = _DIRECTIONS[method.net] = _first_working(method)
    return found


def use_directions(method: LatentModel, directions: Directions) -> None:
    """Make ``directions`` the sliders' directions of ``method`` (tools comparing several)."""
    _DIRECTIONS[method.net] = directions


def _first_working(method: LatentModel) -> Directions:
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
