"""The damage network: a small fully convolutional U-Net giving a per-pixel damage logit.

Layout (``s`` = input resolution, ``w`` = ``width``)::

    RGB - 0.5                    3 ch, s
      enc1: 2 x conv3x3          w,   s
      enc2: conv s2, conv        2w,  s/2
      enc3: conv s2, dilated 2, dilated 4   3w, s/4   (context: tells a scratch from texture)
      dec2: up + skip, conv      2w,  s/2
      dec1: up + skip, conv      w,   s
      head: 1x1                  1,   s

No normalisation layers: each output pixel depends only on a window of about ``RECEPTIVE_RADIUS``
px, so a large photo can be processed in tiles with that much overlap and give the same result
as one pass. About 22k multiply-adds per pixel at ``w = 16``.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.detect.tiling import tiled_steps
from core.progress import Progress

MODEL_NAME = "detect"
# Each output pixel sees this many input px on each side (see the module docstring);
# tiles overlap by a bit more.
RECEPTIVE_RADIUS = 34
TILE_MARGIN = 40
PAD_MULTIPLE = 4


@dataclass(frozen=True)
class DetectNetConfig:
    """Architecture and calibration, stored as JSON beside the weights."""

    width: int = 16
    # Default probability threshold, calibrated after training (clean-photo false positives).
    threshold: float = 0.5

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DetectNetConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation)


class DetectNet(nn.Module):
    def __init__(self, config: DetectNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or DetectNetConfig()
        w = self.config.width
        act = nn.ReLU(inplace=True)
        self.enc1 = nn.Sequential(_conv(3, w), act, _conv(w, w), act)
        self.enc2 = nn.Sequential(_conv(w, 2 * w, 2), act, _conv(2 * w, 2 * w), act)
        self.enc3 = nn.Sequential(
            _conv(2 * w, 3 * w, 2), act, _conv(3 * w, 3 * w, 1, 2), act, _conv(3 * w, 3 * w, 1, 4)
        )
        self.dec2 = nn.Sequential(_conv(5 * w, 2 * w), act)
        self.dec1 = nn.Sequential(_conv(3 * w, w), act)
        self.head = nn.Conv2d(w, 1, 1)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """``rgb`` (N, 3, H, W) in [0, 1], H and W multiples of ``PAD_MULTIPLE`` -> logits
        (N, 1, H, W)."""
        x1 = self.enc1(rgb - 0.5)
        x2 = self.enc2(x1)
        x3 = F.relu(self.enc3(x2))
        up = F.interpolate(x3, size=x2.shape[-2:], mode="bilinear", align_corners=False)
        y2 = self.dec2(torch.cat([x2, up], 1))
        up = F.interpolate(y2, size=x1.shape[-2:], mode="bilinear", align_corners=False)
        return self.head(self.dec1(torch.cat([x1, up], 1)))


def predict_steps(
    net: DetectNet, rgb: np.ndarray, *, tile: int = 512
) -> Generator[Progress, None, np.ndarray]:
    """Damage probability (float32 HxW) of float32 RGB ``rgb``, in tiles of ``tile`` px with
    ``TILE_MARGIN`` px of context each side; yields progress per tile."""
    net.eval()

    def run(window: np.ndarray) -> np.ndarray:
        tensor = torch.from_numpy(np.ascontiguousarray(window.transpose(2, 0, 1)))
        with torch.inference_mode():
            return torch.sigmoid(net(tensor[None]))[0, 0].numpy()

    prob = yield from tiled_steps(
        run, rgb, tile=tile, margin=TILE_MARGIN, multiple=PAD_MULTIPLE, label="damage net: tile"
    )
    return prob


def state_to_tensors(net: DetectNet) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}


def load_net(models_dir=None) -> DetectNet:
    """The shipped detector, after its sha256 check (raises :class:`core.errors.ModelError`)."""
    from core.errors import ModelError
    from core.models import load_model_files
    from core.resources import MODELS_DIR

    tensors, config = load_model_files(MODEL_NAME, models_dir or MODELS_DIR)
    net = DetectNet(DetectNetConfig.from_dict(config))
    try:
        net.load_state_dict(tensors)
    except RuntimeError as error:
        raise ModelError(f"the {MODEL_NAME} weights do not fit their config: {error}") from None
    return net.eval()
