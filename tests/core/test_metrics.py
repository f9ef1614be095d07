"""Fill quality measures: each answers the question it names, on images made to answer it."""

from __future__ import annotations

import numpy as np

from core.base.metrics import (
    colour_shift,
    gradient_ratio,
    grain_ratio,
    hole_psnr,
    ring,
    structure_psnr,
)


def grainy(seed: int = 0, size: int = 96) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.full((size, size, 3), (0.6, 0.5, 0.35), np.float32)  # sepia
    return np.clip(base + rng.normal(0, 0.04, (size, size, 1)), 0, 1).astype(np.float32)


def square_hole(size: int = 96) -> np.ndarray:
    hole = np.zeros((size, size), bool)
    hole[36:60, 30:66] = True
    return hole


def test_ring_is_the_known_band_around_the_hole():
    hole = square_hole()
    band = ring(hole, 2, 8)
    assert not (band & hole).any()
    ys, xs = np.nonzero(band)
    assert ys.min() >= 36 - 8 and ys.max() < 60 + 8 and xs.min() >= 30 - 8
    assert not band[35, 40] and band[30, 40]  # 1 px away: too close; 6 px away: in


def test_colour_shift_sees_an_olive_fill_on_sepia_and_not_a_matching_one():
    image, hole = grainy(), square_hole()
    olive = image.copy()
    olive[hole] = (0.45, 0.5, 0.3)
    assert colour_shift(olive, hole)[1] < -5  # a* (green-red) falls
    assert np.abs(colour_shift(image, hole)).max() < 1.0


def test_grain_ratio_is_low_for_a_smooth_fill_and_near_one_for_a_grainy_one():
    image, hole = grainy(), square_hole()
    smooth = image.copy()
    smooth[hole] = image[~hole].mean(axis=0)
    assert grain_ratio(smooth, hole) < 0.1
    assert 0.8 < grain_ratio(image, hole) < 1.2


def test_structure_psnr_forgives_texture_that_hole_psnr_punishes():
    truth, hole = grainy(1), square_hole()
    other_grain = truth.copy()
    other_grain[hole] = grainy(2)[hole]  # same colour, different grain
    assert structure_psnr(other_grain, truth, hole) > hole_psnr(other_grain, truth, hole) + 10
    assert 0.8 < gradient_ratio(other_grain, truth, hole) < 1.2
