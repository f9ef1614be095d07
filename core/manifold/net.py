"""The manifold network: a conditional latent-variable inpainting model.

Layout (``s`` = input resolution)::

    input (masked RGB, hole mask, classical initial fill)        7 ch, s
      encoder  -> skips at s, s/2, s/4, s/8 and a bottleneck at s/16
      context blocks at s/16 (spectral = global receptive field, dilated)
      prior head: pooled context -> p(z | context) = N(mu_p, sigma_p)      [cached by encode]
    z (``z_dim`` vector) -> FiLM (per-channel scale/shift) at s/16, s/8, s/4
      latent blocks at s/16, decoder up to s with the cached skips
      -> residual added to the classical initial fill                     [decode]

Training adds a posterior q(z | full image, hole) from a small separate encoder.

Why a residual over a classical fill: on 1-4 px scratches and dust the classical fill is already
good, and a zero-initialised last layer starts the net exactly there, so small holes begin no
worse than classical and the net only learns corrections. ``encode`` is everything that does not
depend on z, so a new z costs one ``decode`` (the latent sliders call it repeatedly).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from core.base.records import from_record


@dataclass(frozen=True)
class NetConfig:
    """Architecture hyper-parameters (stored with the weights)."""

    # Channels at s, s/2, s/4, s/8, s/16.
    widths: tuple[int, ...] = (16, 32, 64, 128, 192)
    context_blocks: int = 3  # before z (cached)
    latent_blocks: int = 2  # after z (re-run per decode)
    z_dim: int = 16
    # The input must be a multiple of this (4 stride-2 stages).
    multiple: int = 16
    # A fixed [1 2 1] blur after each pixel shuffle. Without it a spatially uniform change of
    # z's FiLM scale and shift comes out of 1x1-conv + shuffle upsampling as a period-2 pattern
    # at every stage: moving a latent slider printed a dot grid over the fill. The blur has a
    # zero at that frequency, so no such pattern survives; it has no weights to learn.
    up_blur: bool = False
    # Whether the last upsampling (s/2 -> s) is blurred too. Not needed against the grid: z's
    # changes are already smooth by then (off in the shipped weights; Kodak dust was the same
    # either way, 25.16 / 25.18 dB).
    up_blur_full_res: bool = True

    def to_dict(self) -> dict:
        data = asdict(self)
        data["widths"] = list(self.widths)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> NetConfig:
        return from_record(cls, data, tuples=("widths",))


IN_CHANNELS = 7


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2, inplace=True)


class ResBlock(nn.Module):
    """Two 3x3 convolutions with a residual; ``dilation`` widens the receptive field."""

    def __init__(self, channels: int, dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = _act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


class SpectralBlock(nn.Module):
    """Fourier-unit block (as in LaMa's FFC): a 1x1 convolution in the frequency domain
    mixes every position with every other one, so one block sees the whole crop."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        half = channels // 2
        self.reduce = nn.Conv2d(channels, half, 1)
        self.freq = nn.Conv2d(half * 2, half * 2, 1)
        self.expand = nn.Conv2d(half, channels, 1)
        self.local = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = _act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.reduce(x))
        h, w = y.shape[-2:]
        # FFT needs a plain float32 layout (torch.fft refuses bfloat16, so the frequency
        # domain stays out of autocast); the result is small (s/16).
        with torch.autocast(x.device.type, enabled=False):
            spec = torch.fft.rfft2(y.float().contiguous(), norm="ortho")
            spec = torch.cat([spec.real, spec.imag], dim=1)
            spec = self.act(self.freq(spec))
            real, imag = spec.chunk(2, dim=1)
            y = torch.fft.irfft2(torch.complex(real, imag), s=(h, w), norm="ortho")
        y = self.expand(y.contiguous(memory_format=torch.channels_last))
        return x + self.act(self.local(x)) + y


def _block(kind: int, channels: int) -> nn.Module:
    # Alternate global (spectral) and dilated local blocks.
    return SpectralBlock(channels) if kind % 2 == 0 else ResBlock(channels, dilation=2)


def blur121(x: torch.Tensor) -> torch.Tensor:
    """Separable [1 2 1]/4 blur per channel, edges replicated: removes period-2 patterns."""
    kernel = x.new_tensor([0.25, 0.5, 0.25])
    channels = x.shape[1]
    x = F.pad(x, (1, 1, 1, 1), mode="replicate")
    x = F.conv2d(x, kernel.view(1, 1, 1, 3).expand(channels, 1, 1, 3), groups=channels)
    return F.conv2d(x, kernel.view(1, 1, 3, 1).expand(channels, 1, 3, 1), groups=channels)


class FiLM(nn.Module):
    """z -> per-channel scale and shift; zero-initialised so z starts with no effect and the
    net first learns the deterministic (prior-mean) fill."""

    def __init__(self, z_dim: int, channels: int) -> None:
        super().__init__()
        self.proj = nn.Linear(z_dim, 2 * channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.proj(z)[:, :, None, None].chunk(2, dim=1)
        return x * (1 + gamma) + beta


class Encoded(NamedTuple):
    """What ``encode`` caches: skips, the context bottleneck and the prior."""

    skips: tuple[torch.Tensor, ...]  # s, s/2, s/4, s/8
    bottleneck: torch.Tensor  # s/16
    prior_mu: torch.Tensor  # (B, z_dim)
    prior_logvar: torch.Tensor  # (B, z_dim)
    init: torch.Tensor  # classical initial fill (B, 3, H, W)
    hole: torch.Tensor  # (B, 1, H, W)

    def take(self, index: slice) -> Encoded:
        """The samples ``index`` of the batch (views)."""
        return Encoded(tuple(s[index] for s in self.skips), *(t[index] for t in self[1:]))

    @staticmethod
    def cat(parts: Sequence[Encoded]) -> Encoded:
        """Several encodings stacked along the batch dimension, in order."""
        skips = tuple(torch.cat(level) for level in zip(*(p.skips for p in parts), strict=True))
        rest = (torch.cat(field) for field in zip(*(p[1:] for p in parts), strict=True))
        return Encoded(skips, *rest)


def _pool(feat: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean of ``feat`` over positions, weighted by ``weight`` (B, 1, h, w)."""
    total = weight.sum(dim=(2, 3)).clamp_min(1e-6)
    return (feat * weight).sum(dim=(2, 3)) / total


class ManifoldNet(nn.Module):
    def __init__(self, config: NetConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or NetConfig()
        w = config.widths
        self.stem = nn.Sequential(nn.Conv2d(IN_CHANNELS, w[0], 3, padding=1), _act())
        self.down = nn.ModuleList(
            nn.Sequential(nn.Conv2d(w[i], w[i + 1], 3, stride=2, padding=1), _act())
            for i in range(4)
        )
        # Local refinement at s/4 and s/8 before the global blocks.
        self.enc_res = nn.ModuleList([ResBlock(w[2]), ResBlock(w[3], dilation=2)])
        self.context = nn.Sequential(*(_block(i, w[4]) for i in range(config.context_blocks)))
        z = config.z_dim
        # Prior from context pooled over the whole crop and over the hole region.
        self.prior = nn.Sequential(nn.Linear(2 * w[4], 256), _act(), nn.Linear(256, 2 * z))
        self.film = nn.ModuleList([FiLM(z, w[4]), FiLM(z, w[3]), FiLM(z, w[2])])
        self.latent = nn.ModuleList(_block(i + 1, w[4]) for i in range(config.latent_blocks))
        # Decoder stage i goes from level i+1 up to level i and merges that level's skip. The
        # upsampling is a 1x1 convolution at the low resolution + pixel shuffle: 3x3 convolutions
        # at full resolution dominate the CPU time, so the decoder has only one there.
        self.up = nn.ModuleList(nn.Conv2d(w[i + 1], 4 * w[i], 1) for i in reversed(range(4)))
        self.merge = nn.ModuleList(
            nn.Sequential(nn.Conv2d(2 * w[i], w[i], 3, padding=1), _act())
            for i in reversed(range(4))
        )
        self.head = nn.Conv2d(w[0], 3, 3, padding=1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.act = _act()
        # Posterior q(z | full image, hole): training only, cheap (starts at s/2).
        self.posterior_enc = nn.Sequential(
            nn.Conv2d(4, 32, 3, stride=2, padding=1),
            _act(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1),
            _act(),
            nn.Conv2d(64, 96, 3, stride=2, padding=1),
            _act(),
            nn.Conv2d(96, 128, 3, stride=2, padding=1),
            _act(),
        )
        self.posterior = nn.Sequential(
            nn.Linear(2 * 128 + 2 * w[4], 256), _act(), nn.Linear(256, 2 * z)
        )

    @property
    def z_dim(self) -> int:
        return self.config.z_dim

    @staticmethod
    def make_input(masked: torch.Tensor, hole: torch.Tensor, init: torch.Tensor) -> torch.Tensor:
        return torch.cat([masked, hole, init], dim=1)

    def _pooled_context(self, bottleneck: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        small = F.adaptive_max_pool2d(hole, bottleneck.shape[-2:])
        ones = torch.ones_like(small)
        return torch.cat([_pool(bottleneck, ones), _pool(bottleneck, small)], dim=1)

    def encode(self, masked: torch.Tensor, hole: torch.Tensor, init: torch.Tensor) -> Encoded:
        """Everything that does not depend on z. ``masked`` (B,3,H,W) has zeros in the hole,
        ``hole`` (B,1,H,W) is 1 in the hole, ``init`` is the classical fill."""
        x = self.make_input(masked, hole, init)
        s0 = self.stem(x)
        s1 = self.down[0](s0)
        s2 = self.enc_res[0](self.down[1](s1))
        s3 = self.enc_res[1](self.down[2](s2))
        b = self.context(self.down[3](s3))
        stats = self.prior(self._pooled_context(b, hole))
        mu, logvar = stats.chunk(2, dim=1)
        return Encoded((s0, s1, s2, s3), b, mu, logvar.clamp(-8.0, 4.0), init, hole)

    def posterior_stats(
        self, image: torch.Tensor, hole: torch.Tensor, enc: Encoded
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z | full image): mean and log-variance."""
        x = torch.cat([image, hole], dim=1)
        f = self.posterior_enc(x)
        small = F.adaptive_max_pool2d(hole, f.shape[-2:])
        pooled = torch.cat(
            [
                _pool(f, torch.ones_like(small)),
                _pool(f, small),
                self._pooled_context(enc.bottleneck, hole),
            ],
            dim=1,
        )
        mu, logvar = self.posterior(pooled).chunk(2, dim=1)
        return mu, logvar.clamp(-8.0, 4.0)

    def decode(self, enc: Encoded, z: torch.Tensor) -> torch.Tensor:
        """The fill for latent ``z`` (B, z_dim): initial fill + predicted residual (B,3,H,W).
        Values are not clipped (training needs the raw output)."""
        s0, s1, s2, s3 = enc.skips
        h = self.film[0](enc.bottleneck, z)
        for block in self.latent:
            h = block(h)
        for stage, (up, merge, skip) in enumerate(
            zip(self.up, self.merge, (s3, s2, s1, s0), strict=True)
        ):
            h = F.pixel_shuffle(up(h), 2)
            if self.config.up_blur and (self.config.up_blur_full_res or stage < 3):
                h = blur121(h)
            h = self.act(h)
            h = merge(torch.cat([h, skip], dim=1))
            if stage < 2:
                h = self.film[stage + 1](h, z)
        return enc.init + self.head(h)

    def forward(
        self, masked: torch.Tensor, hole: torch.Tensor, init: torch.Tensor, z: torch.Tensor | None
    ) -> torch.Tensor:
        """One full pass; ``z=None`` uses the prior mean."""
        enc = self.encode(masked, hole, init)
        return self.decode(enc, enc.prior_mu if z is None else z)


def count_parameters(module: nn.Module, inference_only: bool = True) -> int:
    skip = ("posterior",) if inference_only else ()
    return sum(p.numel() for n, p in module.named_parameters() if not n.startswith(skip))
