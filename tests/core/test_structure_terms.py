"""The structure recipe's terms (issue 24): perceptual loss, discriminator losses, R1,
DiffAugment, and the end-to-end guide measure's arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.manifold import guide_bench
from core.manifold.adversarial import (
    FeatureDiscriminator,
    PerceptualLoss,
    diff_augment,
    discriminator_loss,
    feature_matching,
    generator_adversarial,
    patch_weight,
    r1_penalty,
    weighted_mean,
)
from core.pretrained.lite0 import Lite0Encoder


def test_perceptual_loss_is_zero_for_the_truth_and_grows_with_the_difference():
    torch.manual_seed(0)
    loss = PerceptualLoss(weights=Lite0Encoder().state_dict())  # no wheel needed
    real = torch.rand(2, 3, 64, 64)
    near = (real + 0.02 * torch.randn_like(real)).clamp(0, 1)
    far = torch.rand(2, 3, 64, 64)
    assert loss(real, real).abs().max() < 1e-6
    d_near, d_far = loss(near, real), loss(far, real)
    assert d_near.shape == (2,)
    assert (d_near > 0).all() and (d_far > d_near).all()


def test_perceptual_loss_trains_the_fill_not_the_frozen_encoder():
    loss = PerceptualLoss(weights=Lite0Encoder().state_dict()).train()
    assert not loss.encoder.training
    fake = torch.rand(1, 3, 64, 64, requires_grad=True)
    loss(fake, torch.rand(1, 3, 64, 64)).sum().backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    assert all(p.grad is None for p in loss.encoder.parameters())


def test_discriminator_gives_a_logit_per_patch_and_its_maps():
    logits, maps = FeatureDiscriminator(width=8)(
        torch.rand(2, 3, 128, 128), torch.zeros(2, 1, 128, 128)
    )
    assert logits.shape == (2, 1, 8, 8)
    assert [m.shape[-1] for m in maps] == [64, 32, 16, 8]


def test_only_patches_with_hole_pixels_count_as_fakes():
    hole = torch.zeros(1, 1, 64, 64)
    hole[..., :8, :8] = 1.0  # only the top-left patch of a 2x2 grid
    fake = torch.zeros(1, 1, 2, 2, requires_grad=True)
    discriminator_loss(torch.full((1, 1, 2, 2), 5.0), fake, hole).backward()
    grad = fake.grad[0, 0]
    assert grad[0, 0] > 0 and torch.count_nonzero(grad) == 1
    fills = torch.zeros(1, 1, 2, 2, requires_grad=True)
    generator_adversarial(fills, hole).backward()
    assert fills.grad[0, 0, 0, 0] < 0 and torch.count_nonzero(fills.grad) == 1


def test_the_discriminator_loss_falls_as_it_tells_photos_from_fills():
    hole = torch.ones(1, 1, 32, 32)
    unsure = discriminator_loss(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), hole)
    right = discriminator_loss(torch.full((1, 1, 2, 2), 4.0), torch.full((1, 1, 2, 2), -4.0), hole)
    assert right < unsure


def test_filled_patch_mean_leaves_out_patches_without_hole_pixels() -> None:
    logits = torch.tensor([[[[-2.0, 5.0], [5.0, 5.0]]]])
    hole = torch.zeros(1, 1, 8, 8)
    hole[..., :4, :4] = 1  # only the top-left patch holds filled pixels
    assert weighted_mean(logits, patch_weight(hole, logits)) == pytest.approx(-2.0)


def test_r1_is_the_squared_gradient_norm_on_real_photos():
    weight = torch.randn(1, 3, 8, 8)
    real = torch.rand(4, 3, 8, 8, requires_grad=True)
    logits = (real * weight).sum((1, 2, 3))  # a linear critic: dD/dx = weight
    assert torch.isclose(r1_penalty(logits, real), weight.pow(2).sum(), rtol=1e-5)


def test_feature_matching_is_the_mean_l1_of_the_maps():
    a = [torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 2, 2)]
    b = [torch.ones(1, 2, 4, 4), torch.full((1, 2, 2, 2), 3.0)]
    assert feature_matching(a, a) == 0
    assert torch.isclose(feature_matching(a, b), torch.tensor(2.0))


def test_diff_augment_moves_image_and_hole_together_and_passes_gradients():
    n, side = 6, 64
    hole = torch.zeros(n, 1, side, side)
    hole[..., 24:40, 24:40] = 1.0
    image = torch.full((n, 3, side, side), 0.2)
    image = (image + 0.6 * hole).requires_grad_(True)  # a bright square exactly on the hole
    moved, moved_hole = diff_augment(image, hole, torch.Generator().manual_seed(3))
    assert moved.shape == image.shape and moved_hole.shape == hole.shape
    assert set(moved_hole.unique().tolist()) <= {0.0, 1.0}
    shifted = False
    for i in range(n):
        inside = moved_hole[i, 0] > 0.5
        assert inside.sum() == 256  # shifts of at most 1/8 of the side keep the square whole
        grey = moved[i].mean(0).detach()
        ring = (grey - grey[~inside].median()).abs()
        assert ring[inside].min() > ring[~inside].max() - 1e-5  # the square went with the hole
        shifted |= not bool(inside[24:40, 24:40].all())
    assert shifted
    moved.sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    again, _ = diff_augment(image, hole, torch.Generator().manual_seed(3))
    assert torch.equal(again, moved)


def test_guide_progress_is_the_share_of_the_way_from_no_guide_to_the_oracle(monkeypatch):
    cases = [
        guide_bench.GuideCase(np.zeros((4, 4, 3), np.float32), np.ones((4, 4), bool), kind, i)
        for i, kind in enumerate(("box", "thick"))
    ]
    brackets = {"none": [2.0, 4.0], "oracle": [1.0, 2.0]}
    # The net's guides score 1.5 and 3.0 (half-way), its variants 2.5 and 5.0 (worse than none).
    scores = {0: (1.5, 2.5), 1: (3.0, 5.0)}

    def guides(net, case, spread):
        best, variant = scores[case.seed]
        return np.full(1, best), np.full(1, variant)

    monkeypatch.setattr(guide_bench, "net_guides", guides)
    monkeypatch.setattr(guide_bench, "engine", lambda case, guide: guide)
    monkeypatch.setattr(guide_bench, "score", lambda case, fill: float(fill[0]))
    out = guide_bench.guide_scores(None, cases, brackets)
    assert out["box"]["progress"] == pytest.approx(0.5)
    assert out["box"]["variant_progress"] == pytest.approx(-0.5)
    assert out["none"] == pytest.approx(3.0) and out["oracle"] == pytest.approx(1.5)
    assert out["progress"] == pytest.approx((3.0 - 2.25) / 1.5)
    assert out["variant_progress"] == pytest.approx((3.0 - 3.75) / 1.5)
