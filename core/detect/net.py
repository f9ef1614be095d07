"""The damage network: a small fully convolutional U-Net giving a per-pixel damage logit.

Layout (``s`` = input resolution, ``w`` = ``width``) with ``levels=3``::

    RGB - 0.5 (+ 2 median residuals)  3 or 5 ch, s
      enc1: 2 x conv3x3          w,   s
      enc2: conv s2, conv        2w,  s/2
      enc3: conv s2, dilated 2, dilated 4   3w, s/4   (context: tells a scratch from texture)
      dec2: up + skip, conv      2w,  s/2
      dec1: up + skip, conv      w,   s
      head: 1x1                  1,   s

``levels=4`` widens the middle to 4w at s/4 (conv s2, conv) and adds a context level of 6w at
s/8 (conv s2, dilated 2, 4, 8); its decoder ends in two convs at full resolution. That sees
about 150 px each side - enough to tell a scratch from the thin frame of a window, which
continues into a rectangle - for under twice the multiply-adds.

No normalisation across pixels (BatchNorm is a per-channel affine at inference): each output
pixel depends only on a window of :func:`receptive_radius` px, so a large photo can be
processed in tiles with that much overlap and give the same result as one pass.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass, fields

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.base.cpu import bf16_native, tune_allocator
from core.base.progress import Progress
from core.detect.tiling import EDGE_BORDER, tiled_steps
from core.pretrained.lite0 import (
    FEATURE_CHANNELS,
    Lite0Encoder,
    LiteEncoder,
    fold_batch_norm,
    to_encoder_input,
)

MODEL_NAME = "detect"
# Tile side for large photos: each tile drags up to 152 px of context along each side, which
# costs 2.8x at 448 px and 1.7x at 1024. But the activations of one tile set the peak memory:
# on a 24 MP 8-bit scan (tools/bench_detect.py --large 24, CPU shared with other jobs), one
# pass: 1024 px tiles peaked at 3.2 GB (0.9-2.2 s/MP), 640 at 1.9 GB (1.3 s/MP), 512 at
# 1.46 GB (1.4 s/MP); with the 1/2 pass of the shipped scales, 512 at 1.58 GB and 448 at
# 1.28 GB: 448 keeps the 1.5 GB budget.
DEFAULT_TILE = 448
# Tile side when the net runs in bfloat16 (half the activation memory; 24 MP scan, 1/2 pass
# included): 640 px 1.16 GB 1.21 s/MP, 768 px 1.25 GB 1.04 s/MP, 1024 px 2.0 GB 0.86 s/MP.
BF16_TILE = 768
# Tile side of the lite0 net (float32): its margin is SEMANTIC_CONTEXT, not the unet's 150 px,
# so larger tiles pay less for it. A 24 MP scan on 2 cores (AVX2), BatchNorms folded (see
# ``fold_batch_norms``; peak RSS of the process, tools/bench_detect.py --large 24): 512 px
# 1.37-1.50 s/MP 1050-1094 MiB, 576 px 1.25-1.43 s/MP 1127-1198 MiB, 640 px 1.22-1.43 s/MP
# 1258-1261 MiB (unfolded: 640 px 1.48 s/MP 1429 MiB, 512 px 1.79 s/MP 1318 MiB). 576 keeps
# the 1.5 s/MP budget with a margin and the earlier net's 1.25 GB.
SEMANTIC_TILE = 576
# A photo of at most this many px squared runs as one tile whatever the tile side (a Kodak
# photo, 768 x 512, is one pass as before); its peak memory is that of a 640 px tile.
SEMANTIC_WHOLE_SIDE = 640


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
    # Resolution levels of the U-Net: 3 (the first shipped layout) or 4 (wider context).
    levels: int = 3
    # Downsampling factors the net runs at; the probabilities, brought back to the photo's
    # size, are combined by their maximum. (1,) is one pass. (1, 2, 4) finds a 12 px crack at
    # 1/4 as a 3 px one, for 1 + 1/4 + 1/16 of the time. A factor runs only where the shrunk
    # photo keeps ``min_side`` px on its short side (see ``active_scales``).
    scales: tuple[int, ...] = (1,)
    min_side: int = 512
    # Run the convolutions in bfloat16 where the CPU does them natively (AVX512-BF16 or AMX,
    # see ``bf16_native``): 2x faster and half the activation memory; the calibrated threshold
    # is measured that way. Elsewhere float32, whatever this says.
    bf16: bool = False
    # "unet": the small U-Net above, trained from scratch. "lite0": a U-Net whose encoder is
    # EfficientNet-Lite0 started from ImageNet weights (:class:`SemanticDetectNet`): features
    # that know a whisker, a wire and an eye from a crack.
    arch: str = "unet"

    @property
    def channels(self) -> int:
        return 5 if self.features else 3

    @property
    def multiples(self) -> tuple[int, ...]:
        """Channel multiples of ``width`` per level, full resolution first."""
        return (1, 2, 3) if self.levels == 3 else (1, 2, 4, 6)

    @property
    def pad_multiple(self) -> int:
        """Input sides must be multiples of this (one factor 2 per downsampling)."""
        return 32 if self.arch == "lite0" else 2 ** (self.levels - 1)

    @property
    def context_dilations(self) -> tuple[int, ...]:
        """Dilations of the convs after the last downsampling."""
        return (2, 4) if self.levels == 3 else (2, 4, 8)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DetectNetConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "scales" in values:
            values["scales"] = tuple(int(f) for f in values["scales"])
        return cls(**values)


def net_input(rgb: np.ndarray, config: DetectNetConfig) -> np.ndarray:
    """float32 (C, H, W) input of the net for float32 RGB ``rgb`` (H, W, 3) in [0, 1]."""
    x = rgb.astype(np.float32) - 0.5
    if config.features:
        res = median_residuals(rgb, (5, 9))
        x = np.concatenate([x, 4.0 * np.stack(res, axis=2)], axis=2)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def median_residuals(rgb: np.ndarray, sizes: tuple[int, ...]) -> list[np.ndarray]:
    """The luma of float32 RGB ``rgb`` minus its median over each ``size`` x ``size`` box
    (0-1 scale, signed): what a mark thinner or smaller than half the box leaves."""
    luma = cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2GRAY)
    # OpenCV's large-kernel median needs uint8; 8 bits are plenty for this evidence.
    byte = np.rint(np.clip(luma, 0.0, 1.0) * 255.0).astype(np.uint8)
    return [luma - cv2.medianBlur(byte, k).astype(np.float32) / 255.0 for k in sizes]


def _block(cin: int, cout: int, norm: bool, stride: int = 1, dilation: int = 1) -> list[nn.Module]:
    conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation)
    layers: list[nn.Module] = [conv, nn.BatchNorm2d(cout)] if norm else [conv]
    return [*layers, nn.ReLU(inplace=True)]


class DetectNet(nn.Module):
    # Modules are named enc1..encL and decL-1..dec1 (not a list) so that the weights of the
    # first shipped layout keep their names.
    def __init__(self, config: DetectNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or DetectNetConfig()
        c, n, levels = self.config, self.config.norm, self.config.levels
        if levels not in (3, 4):
            raise ValueError(f"levels must be 3 or 4, got {levels}")
        widths = [c.width * m for m in c.multiples]
        first = widths[0]
        self.enc1 = nn.Sequential(*_block(c.channels, first, n), *_block(first, first, n))
        for i in range(1, levels):
            cin, cout = widths[i - 1], widths[i]
            layers = _block(cin, cout, n, 2)
            if i < levels - 1:
                layers += _block(cout, cout, n)
            else:
                for d in c.context_dilations:
                    layers += _block(cout, cout, n, 1, d)
            setattr(self, f"enc{i + 1}", nn.Sequential(*layers))
        for i in range(levels - 1, 0, -1):
            layers = _block(widths[i - 1] + widths[i], widths[i - 1], n)
            if i == 1 and levels > 3:
                layers += _block(first, first, n)
            setattr(self, f"dec{i}", nn.Sequential(*layers))
        self.head = nn.Conv2d(first, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (N, C, H, W) from :func:`net_input`, H and W multiples of
        ``config.pad_multiple`` -> logits (N, 1, H, W)."""
        skips = [self.enc1(x)]
        for i in range(2, self.config.levels + 1):
            skips.append(getattr(self, f"enc{i}")(skips[-1]))
        y = skips.pop()
        for i in range(self.config.levels - 1, 0, -1):
            skip = skips.pop()
            up = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = getattr(self, f"dec{i}")(torch.cat([skip, up], 1))
        return self.head(y)


class SemanticDetectNet(nn.Module):
    """A U-Net whose encoder is EfficientNet-Lite0 (ImageNet weights to start from): its
    features at strides 2-32 know what a thing is, so a crack across a cheek and a whisker on a
    cat's muzzle, equally thin and bright, need not look alike to it.

    The encoder's first map is at stride 2, and a hairline scratch is one px wide: a small
    full-resolution branch (two 3x3 convs over the RGB and median-residual inputs of
    :func:`net_input`) carries the exact position, which the decoder's last level joins.
    Decoder: at each stride, bilinear upsampling, the encoder's map, 3x3 conv + BatchNorm +
    ReLU, widths ``DECODER_WIDTHS``; the full-resolution level has ``width`` channels.
    """

    DECODER_WIDTHS = (96, 64, 48, 32)  # strides 16, 8, 4, 2

    def __init__(self, config: DetectNetConfig) -> None:
        super().__init__()
        self.config = config
        fine = config.width
        self.fine = nn.Sequential(*_block(config.channels, fine, True), *_block(fine, fine, True))
        self.encoder = Lite0Encoder()
        skips = FEATURE_CHANNELS[:-1][::-1]  # strides 16, 8, 4, 2
        below = FEATURE_CHANNELS[-1]
        decoder = []
        for skip, out in zip(skips, self.DECODER_WIDTHS, strict=True):
            decoder.append(nn.Sequential(*_block(below + skip, out, True)))
            below = out
        self.decoder = nn.ModuleList(decoder)
        self.last = nn.Sequential(*_block(below + fine, fine, True), *_block(fine, fine, True))
        self.head = nn.Conv2d(fine, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (N, C, H, W) from :func:`net_input`, sides multiples of 32 -> logits."""
        features = self.encoder(to_encoder_input(x[:, :3] + 0.5))
        y = features.pop()
        for block in self.decoder:
            skip = features.pop()
            up = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = block(torch.cat([up, skip], 1))
        up = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.head(self.last(torch.cat([up, self.fine(x)], 1)))


def fold_batch_norms(net: nn.Module) -> nn.Module:
    """``net`` (in eval mode) with every BatchNorm folded into the conv before it: the same
    probabilities (to float rounding) for one pass over each activation less - a tenth of
    the lite0 detector's time. For inference: a folded net does not train its BatchNorms."""
    net.eval()
    for sequence in [m for m in net.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(sequence) - 1):
            if isinstance(sequence[i], nn.Conv2d) and isinstance(sequence[i + 1], nn.BatchNorm2d):
                fold_batch_norm(sequence, str(i), str(i + 1))
    if isinstance(getattr(net, "encoder", None), LiteEncoder):
        net.encoder.fold_batch_norms()
    return net


def build_net(config: DetectNetConfig) -> nn.Module:
    """The damage net ``config`` describes (either architecture)."""
    if config.arch == "lite0":
        return SemanticDetectNet(config)
    if config.arch != "unet":
        raise ValueError(f"unknown detector architecture {config.arch!r}")
    return DetectNet(config)


def active_scales(config: DetectNetConfig, height: int, width: int) -> tuple[int, ...]:
    """The factors of ``config.scales`` that run on a ``height`` x ``width`` photo: 1, and each
    other factor whose shrunk photo keeps ``config.min_side`` px on its short side.

    Cracks are wide only on large scans; on a small photo the coarse passes see nothing a
    full-size pass misses, only texture that looks thin once shrunk (on the 256 px real scan,
    1/2 and 1/4 raised the flagged share from 1.7 % to 8.3 % at precision 0.36)."""
    short = min(height, width)
    return tuple(f for f in config.scales if f == 1 or short / f >= config.min_side)


# Context each tile of the lite0 net gets (px each side). Its encoder reaches further than any
# affordable margin (stride 32, 5x5 convs), so tiles are not exactly one pass; the share of
# that reach that matters is small at this margin (measured: see test_detect's lite0 tiles).
SEMANTIC_CONTEXT = 64


def default_tile(config: DetectNetConfig, bf16: bool) -> int:
    """Tile side for ``config``'s net (see ``DEFAULT_TILE``, ``BF16_TILE``, ``SEMANTIC_TILE``)."""
    if bf16:
        return BF16_TILE
    return SEMANTIC_TILE if config.arch == "lite0" else DEFAULT_TILE


def tile_margin(config: DetectNetConfig) -> int:
    """Px of context each tile is run with: the unet's whole reach (tiles equal one pass),
    ``SEMANTIC_CONTEXT`` for lite0."""
    return SEMANTIC_CONTEXT if config.arch == "lite0" else receptive_radius(config)


def receptive_radius(config: DetectNetConfig) -> int:
    """Input px on each side that can reach one output pixel (an upper bound).

    A 3x3 conv of dilation ``d`` working at scale ``s`` (px of input per feature px) reaches
    ``d * s`` px; a strided conv reaches one px of its input's scale; a bilinear upsampling
    from scale ``s`` mixes neighbours ``s`` px apart.
    """
    radius = 2  # enc1
    for i in range(1, config.levels):
        scale = 2**i
        radius += scale // 2  # the strided conv, on its input's grid
        if i < config.levels - 1:
            radius += scale
        else:
            radius += sum(d * scale for d in config.context_dilations)
    for i in range(config.levels - 1, 0, -1):
        radius += 2**i + 2 ** (i - 1)  # upsampling from scale 2^i, then a conv at 2^(i-1)
    return radius + (1 if config.levels > 3 else 0)  # the extra full-resolution conv


def predict_steps(
    net: nn.Module,
    rgb: np.ndarray,
    *,
    tile: int | None = None,
    scales: tuple[int, ...] | None = None,
    prepare: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Generator[Progress, None, np.ndarray]:
    """Damage probability (float32 HxW) of float32 RGB ``rgb``, in tiles of ``tile`` px
    (default: :func:`default_tile`) with :func:`tile_margin` px of context each side; yields
    progress per tile. ``scales`` (default: :func:`active_scales` of the config): the photo is
    also run shrunk by each factor, and each pixel keeps the largest probability. ``prepare``: the
    per-pixel conversion of ``rgb`` to float RGB, done per tile (see ``tiling.tiled_steps``)."""
    tune_allocator()
    net.eval().to(memory_format=torch.channels_last)

    device = next(net.parameters()).device  # a net in training may sit on a GPU
    bf16 = net.config.bf16 and (device.type == "cuda" or bf16_native())

    def run(window: np.ndarray) -> np.ndarray:
        tensor = torch.from_numpy(net_input(window, net.config))[None].to(device)
        with torch.inference_mode(), torch.autocast(device.type, torch.bfloat16, enabled=bf16):
            logits = net(tensor.contiguous(memory_format=torch.channels_last))
            return torch.sigmoid(logits.float())[0, 0].cpu().numpy()

    h, w = rgb.shape[:2]
    factors = scales or active_scales(net.config, h, w)
    # Each pass's share of the progress bar: its share of the pixels.
    shares = np.array([1.0 / f**2 for f in factors]) / sum(1.0 / f**2 for f in factors)
    prob: np.ndarray | None = None
    for factor, share, start in zip(factors, shares, np.cumsum(shares) - shares, strict=True):
        small, convert = rgb, prepare
        size = (max(1, round(w / factor)), max(1, round(h / factor)))
        if factor > 1:
            # Shrunk as read (8 or 16 bit, any channels): no full-size float copy.
            small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            small = small[..., None] if small.ndim == 2 else small
        label = "damage net: tile" if factor == 1 else f"damage net at 1/{factor}: tile"
        side = tile or default_tile(net.config, bf16)
        whole = max(side, SEMANTIC_WHOLE_SIDE if net.config.arch == "lite0" else 0)
        if tile is None and small.shape[0] * small.shape[1] <= whole * whole:
            # Small enough: run it whole. A 768 x 512 photo in 640 px tiles paid a second
            # tile's margins (Kodak: 1.29 s/MP against 1.03 whole).
            side = max(small.shape[:2])
        steps = tiled_steps(
            run,
            small,
            tile=side,
            margin=tile_margin(net.config) + 2,
            multiple=net.config.pad_multiple,
            border=EDGE_BORDER,
            label=label,
            prepare=convert,
        )
        while True:
            try:
                step = next(steps)
            except StopIteration as done:
                p = done.value
                break
            yield Progress(float(start + share * step.fraction), step.message)
        if factor > 1:
            p = cv2.resize(p, (w, h), interpolation=cv2.INTER_LINEAR)
        prob = p if prob is None else np.maximum(prob, p, out=prob)
    assert prob is not None
    return prob


def state_to_tensors(net: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}


def load_net(models_dir=None) -> nn.Module:
    """The shipped detector, after its sha256 check (raises
    :class:`core.base.errors.ModelError`)."""
    from core.base.errors import ModelError
    from core.base.resources import MODELS_DIR
    from core.base.weights import load_model_files

    tensors, config = load_model_files(MODEL_NAME, models_dir or MODELS_DIR)
    try:
        net = build_net(DetectNetConfig.from_dict(config))
    except ValueError as error:
        raise ModelError(f"the {MODEL_NAME} config is not usable: {error}") from None
    try:
        net.load_state_dict(tensors)
    except RuntimeError as error:
        raise ModelError(f"the {MODEL_NAME} weights do not fit their config: {error}") from None
    return fold_batch_norms(net)
