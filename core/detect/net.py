"""The damage network: a small fully convolutional U-Net giving a per-pixel damage logit.

Layout (``s`` = input resolution, ``w`` = ``width``)::

    RGB - 0.5 (+ 2 median residuals)  3 or 5 ch, s
      enc1: 2 x conv3x3          w,   s
      enc2: conv s2, conv        2w,  s/2
      enc3: conv s2, dilated 2, dilated 4   3w, s/4   (context: tells a scratch from texture)
      dec2: up + skip, conv      2w,  s/2
      dec1: up + skip, conv      w,   s
      head: 1x1                  1,   s

No normalisation across pixels (BatchNorm is a per-channel affine at inference): each output
pixel depends only on a window of about ``RECEPTIVE_RADIUS`` px, so a large photo can be
processed in tiles with that much overlap and give the same result as one pass. About 22k
multiply-adds per pixel at ``w = 16``.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import asdict, dataclass, fields

import cv2
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
    # Extra inputs: luma minus its 5x5 and 9x9 medians. A median erases marks thinner than
    # half its size but keeps edges, so these residuals light up scratches and specks and
    # stay dark on contours: the net learns far faster than from RGB alone.
    features: bool = False
    # BatchNorm after each conv (per-channel affine at inference: tiles stay exact).
    norm: bool = False

    @property
    def channels(self) -> int:
        return 5 if self.features else 3

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DetectNetConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def net_input(rgb: np.ndarray, config: DetectNetConfig) -> np.ndarray:
    """float32 (C, H, W) input of the net for float32 RGB ``rgb`` (H, W, 3) in [0, 1]."""
    x = rgb.astype(np.float32) - 0.5
    if config.features:
        luma = cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2GRAY)
        # OpenCV's large-kernel median needs uint8; 8 bits are plenty for this evidence.
        byte = np.rint(np.clip(luma, 0.0, 1.0) * 255.0).astype(np.uint8)
        res = [luma - cv2.medianBlur(byte, k).astype(np.float32) / 255.0 for k in (5, 9)]
        x = np.concatenate([x, 4.0 * np.stack(res, axis=2)], axis=2)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def _block(cin: int, cout: int, norm: bool, stride: int = 1, dilation: int = 1) -> list[nn.Module]:
    conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation)
    layers: list[nn.Module] = [conv, nn.BatchNorm2d(cout)] if norm else [conv]
    return [*layers, nn.ReLU(inplace=True)]


class DetectNet(nn.Module):
    def __init__(self, config: DetectNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or DetectNetConfig()
        w, n = self.config.width, self.config.norm
        self.enc1 = nn.Sequential(*_block(self.config.channels, w, n), *_block(w, w, n))
        self.enc2 = nn.Sequential(*_block(w, 2 * w, n, 2), *_block(2 * w, 2 * w, n))
        self.enc3 = nn.Sequential(
            *_block(2 * w, 3 * w, n, 2),
            *_block(3 * w, 3 * w, n, 1, 2),
            *_block(3 * w, 3 * w, n, 1, 4),
        )
        self.dec2 = nn.Sequential(*_block(5 * w, 2 * w, n))
        self.dec1 = nn.Sequential(*_block(3 * w, w, n))
        self.head = nn.Conv2d(w, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (N, C, H, W) from :func:`net_input`, H and W multiples of ``PAD_MULTIPLE`` ->
        logits (N, 1, H, W)."""
        x1 = self.enc1(x)
        x2 = self.enc2(x1)
        x3 = self.enc3(x2)
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
        tensor = torch.from_numpy(net_input(window, net.config))
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
