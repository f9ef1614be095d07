"""core.pipeline.grain: fills as grainy as their surroundings, edges not mistaken for grain."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.base.metrics import grain, grain_ratio
from core.pipeline.grain import match_grain, robust_grain
from core.pipeline.session import FillRequest, fill


def grainy_flat(height: int = 96, width: int = 128, strength: float = 0.04, seed: int = 0):
    """A mid-grey photo with film-like grain (float RGB)."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), 0.7)
    base = np.full((height, width, 3), 0.5, np.float32) + strength * noise[..., None]
    return np.clip(base, 0.0, 1.0)


def crack(height: int = 96, width: int = 128) -> np.ndarray:
    hole = np.zeros((height, width), bool)
    cv2.line(hole.view(np.uint8), (10, 20), (118, 70), 1, 3)
    hole[60:76, 30:50] = True  # a flake beside it
    return hole


def test_a_smooth_fill_on_grain_gets_the_surrounding_grain_and_nothing_else_changes():
    photo = grainy_flat()
    hole = crack()
    filled = photo.copy()
    filled[hole] = 0.5  # what a smooth fill leaves: a ghost band
    before = grain_ratio(filled, hole)
    grained = filled.copy()
    match_grain(grained, hole, seed=3)
    assert before < 0.3
    assert 0.8 <= grain_ratio(grained, hole) <= 1.2
    assert np.array_equal(grained[~hole], filled[~hole])
    # Zero-mean: the fill's tone stays where it was.
    assert abs(float(grained[hole].mean()) - 0.5) < 0.01


def test_grain_is_seeded():
    photo, hole = grainy_flat(), crack()
    photo[hole] = 0.5
    a, b, c = photo.copy(), photo.copy(), photo.copy()
    match_grain(a, hole, seed=1)
    match_grain(b, hole, seed=1)
    match_grain(c, hole, seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_edges_around_a_clean_fill_are_not_taken_for_grain():
    # No grain, but sharp edges cross the ring: the plain std of the ring's fine band is
    # high, its robust estimate is not, and nothing is added.
    photo = np.full((96, 128, 3), 0.3, np.float32)
    photo[:, 64:] = 0.8
    photo[40:44, :] = 0.05
    hole = np.zeros((96, 128), bool)
    hole[30:60, 54:74] = True
    ring_fine = grain(photo)[~hole]
    assert ring_fine.std() > 0.02 and robust_grain(ring_fine) < 1e-4
    filled = photo.copy()
    filled[hole] = 0.55
    out = filled.copy()
    match_grain(out, hole, seed=0)
    assert np.abs(out - filled).max() < 1e-6


@pytest.mark.parametrize("dtype, top", [(np.uint8, 255), (np.uint16, 65535)])
@pytest.mark.parametrize("channels", [1, 4])
def test_integer_grey_and_alpha_images(dtype, top, channels):
    photo = grainy_flat()
    hole = crack()
    photo[hole] = 0.5
    values = np.rint(photo * top).astype(dtype)
    image = (
        values[..., :1].copy()
        if channels == 1
        else np.concatenate([values, np.full((*values.shape[:2], 1), top, dtype)], axis=2)
    )
    out = image.copy()
    match_grain(out, hole, seed=0)
    assert out.dtype == dtype and out.shape == image.shape
    assert np.array_equal(out[~hole], image[~hole])
    assert not np.array_equal(out[hole], image[hole])
    if channels == 4:
        assert np.array_equal(out[..., 3], image[..., 3])  # alpha untouched


def test_fill_request_grain_adds_grain_inside_the_hole_only():
    photo = (grainy_flat(strength=0.05) * 255).astype(np.uint8)
    hole = crack()
    plain = fill(FillRequest(photo, hole, "telea"))
    grained = fill(FillRequest(photo, hole, "telea", seed=4, grain=True))
    assert np.array_equal(plain[~hole], grained[~hole])
    as_float = [x.astype(np.float32) / 255.0 for x in (plain, grained)]
    assert grain_ratio(as_float[1], hole) > grain_ratio(as_float[0], hole) + 0.3
