"""The layout VAE: a 64 x 64 photo <-> a latent vector of ``z_dim`` numbers.

A plain convolutional VAE (Kingma and Welling 2014): the encoder halves the resolution four
times to 4 x 4 and maps the flattened features to the posterior's mean and log-variance; the
decoder maps z back to 4 x 4 features and doubles four times (nearest upsampling + convolutions:
no transposed-convolution checkerboards). A global code, not a spatial one: generation needs a
whole picture's arrangement (sky above ground), which a grid of independent codes cannot hold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from core.base.records import from_record


@dataclass(frozen=True)
class NetConfig:
    size: int = 64  # side of the (square) layout in pixels
    z_dim: int = 64
    # Encoder widths, finest first; the decoder mirrors them. Measured on the 2-core CPU (1
    # thread, bf16, channels_last, batch 32): 0.25 s a step, (32, 64, 128, 128) 0.52 s.
    widths: tuple[int, ...] = (16, 32, 64, 128)

    @classmethod
    def from_dict(cls, data: dict) -> NetConfig:
        return from_record(cls, data, tuples=("widths",))

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def bottom(self) -> int:
        return self.size >> len(self.widths)


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1),
        nn.GroupNorm(min(8, cout // 4), cout),
        nn.SiLU(),
        nn.Conv2d(cout, cout, 3, padding=1),
        nn.SiLU(),
    )


class LayoutVAE(nn.Module):
    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        widths = config.widths
        if config.bottom < 1 or config.size % (1 << len(widths)):
            raise ValueError(f"size {config.size} does not halve {len(widths)} times")
        layers: list[nn.Module] = []
        cin = 3
        for width in widths:
            layers += [
                nn.Conv2d(cin, width, 4, stride=2, padding=1),
                nn.SiLU(),
                _block(width, width),
            ]
            cin = width
        self.encoder = nn.Sequential(*layers)
        flat = widths[-1] * config.bottom**2
        self.to_posterior = nn.Linear(flat, 2 * config.z_dim)
        self.from_z = nn.Linear(config.z_dim, flat)
        ups: list[nn.Module] = []
        rev = list(reversed(widths))
        for cin, cout in zip(rev, [*rev[1:], rev[-1]], strict=True):
            ups += [nn.Upsample(scale_factor=2, mode="nearest"), _block(cin, cout)]
        self.decoder = nn.Sequential(*ups)
        self.to_rgb = nn.Conv2d(rev[-1], 3, 3, padding=1)

    def encode(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log-variance) of q(z | image); ``image`` (N, 3, size, size) in [0, 1]."""
        features = self.encoder(image * 2.0 - 1.0).flatten(1)
        mu, logvar = self.to_posterior(features.float()).chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 6.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(N, 3, size, size) in [0, 1]."""
        c = self.config
        x = self.from_z(z).view(z.shape[0], c.widths[-1], c.bottom, c.bottom)
        return torch.sigmoid(self.to_rgb(self.decoder(x)).float())


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
