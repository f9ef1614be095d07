"""The texture engine (core.texture): seeded, local, continues textures, follows its guide."""

from __future__ import annotations

import numpy as np
import pytest

from core.base.errors import InpaintError
from core.base.progress import Progress, run_to_end
from core.texture import TextureOptions, synthesize_steps


def stripes(height: int = 64, width: int = 64, period: int = 8) -> np.ndarray:
    """Vertical stripes, dark and light, with a little seeded noise so no two patches tie."""
    x = np.arange(width)
    row = np.where((x // (period // 2)) % 2 == 0, 0.2, 0.8).astype(np.float32)
    image = np.repeat(np.repeat(row[None, :, None], height, 0), 3, 2)
    noise = np.random.default_rng(0).normal(0, 0.02, image.shape).astype(np.float32)
    return np.clip(image + noise, 0, 1)


def noise_texture(height: int, width: int, colour: tuple[float, float, float], seed: int):
    rng = np.random.default_rng(seed)
    base = np.array(colour, np.float32)
    grain = rng.normal(0, 0.08, (height, width, 1)).astype(np.float32)
    return np.clip(base + grain, 0, 1).astype(np.float32)


def box(height: int, width: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    hole = np.zeros((height, width), bool)
    hole[y0:y1, x0:x1] = True
    return hole


def fill(image, hole, guide=None, seed=0, **options):
    masked = image.copy()
    masked[hole] = 0.0
    return run_to_end(
        synthesize_steps(masked, hole, guide, seed, options=TextureOptions(**options))
    )


def hole_rmse(result: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> float:
    return float(np.sqrt(np.mean((result[hole] - truth[hole]) ** 2)))


def test_same_seed_same_pixels_and_seed_matters():
    image = noise_texture(64, 64, (0.5, 0.4, 0.3), seed=1)
    hole = box(64, 64, 20, 44, 20, 44)
    a = fill(image, hole, seed=3)
    b = fill(image, hole, seed=3)
    c = fill(image, hole, seed=4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a[hole], c[hole])


def test_thread_count_does_not_change_pixels():
    image = noise_texture(64, 80, (0.4, 0.5, 0.3), seed=12)
    hole = box(64, 80, 16, 48, 20, 60)
    guide = np.full_like(image, 0.45)
    parallel = fill(image, hole, guide, seed=2, parallel_min_pixels=0)
    single = fill(image, hole, guide, seed=2, parallel_min_pixels=None)
    assert np.array_equal(parallel, single)


def test_only_hole_pixels_change():
    image = noise_texture(48, 64, (0.3, 0.6, 0.2), seed=2)
    hole = box(48, 64, 10, 30, 15, 40)
    guide = np.full_like(image, 0.5)
    for g in (None, guide):
        result = fill(image, hole, g)
        assert result.dtype == np.float32 and result.shape == image.shape
        assert np.array_equal(result[~hole], image[~hole])
        assert np.isfinite(result).all() and result.min() >= 0 and result.max() <= 1


def test_stripes_continue_through_the_hole():
    image = stripes()
    hole = box(64, 64, 20, 44, 22, 42)
    result = fill(image, hole)
    # A flat fill (the hole's mean colour) is off by ~0.3 everywhere; the stripes are
    # continued in phase, so the fill is close to the truth.
    flat = np.full_like(image, image[hole].mean())
    assert hole_rmse(result, image, hole) < 0.25 * hole_rmse(flat, image, hole)


def test_stripes_continue_at_the_border():
    image = stripes()
    hole = box(64, 64, 0, 24, 40, 64)  # the top right corner
    result = fill(image, hole)
    flat = np.full_like(image, image[hole].mean())
    assert hole_rmse(result, image, hole) < 0.25 * hole_rmse(flat, image, hole)


def two_texture_scene() -> tuple[np.ndarray, np.ndarray]:
    """Red grain on the left, blue grain on the right, a hole across the middle."""
    red = noise_texture(64, 96, (0.7, 0.2, 0.2), seed=5)
    blue = noise_texture(64, 96, (0.2, 0.3, 0.7), seed=6)
    image = np.where(np.arange(96)[None, :, None] < 48, red, blue).astype(np.float32)
    return image, box(64, 96, 16, 48, 28, 68)


def test_guide_steers_structure():
    image, hole = two_texture_scene()
    red, blue = np.array([0.7, 0.2, 0.2], np.float32), np.array([0.2, 0.3, 0.7], np.float32)
    top = np.zeros_like(hole)
    top[:32] = True
    # Guide A: red above the middle, blue below; guide B the other way round.
    guide_a = np.where(top[..., None], red, blue).astype(np.float32)
    guide_b = np.where(top[..., None], blue, red).astype(np.float32)
    a = fill(image, hole, guide_a)
    b = fill(image, hole, guide_b)
    redness_a = (a[..., 0] - a[..., 2])[hole & top].mean()
    redness_b = (b[..., 0] - b[..., 2])[hole & top].mean()
    assert redness_a > 0.3 and redness_b < -0.3
    assert (a[..., 0] - a[..., 2])[hole & ~top].mean() < -0.3
    # ... with the photo's grain, not the guide's flat colour.
    assert a[hole & top].std(axis=0).mean() > 0.04


def test_progress_is_monotonic_and_ends_at_one():
    image = noise_texture(48, 48, (0.5, 0.5, 0.5), seed=7)
    hole = box(48, 48, 12, 36, 12, 36)
    masked = image.copy()
    masked[hole] = 0
    events = list(_events(synthesize_steps(masked, hole, None, 0)))
    fractions = [e.fraction for e in events]
    assert len(events) >= 3
    assert all(isinstance(e, Progress) for e in events)
    assert fractions == sorted(fractions) and fractions[0] >= 0 and fractions[-1] == 1.0


def _events(steps):
    while True:
        try:
            yield next(steps)
        except StopIteration:
            return


def test_closing_early_stops_and_leaves_no_state():
    image = noise_texture(48, 48, (0.5, 0.5, 0.5), seed=8)
    hole = box(48, 48, 12, 36, 12, 36)
    masked = image.copy()
    masked[hole] = 0
    before = masked.copy()
    steps = synthesize_steps(masked, hole, None, 1)
    first = next(steps)
    assert first.fraction < 1.0
    steps.close()
    with pytest.raises(StopIteration):
        next(steps)
    assert np.array_equal(masked, before)  # the caller's array is not written to
    assert np.array_equal(fill(image, hole, seed=1), fill(image, hole, seed=1))


def test_all_hole_gives_the_guide_or_grey():
    image = np.zeros((32, 32, 3), np.float32)
    hole = np.ones((32, 32), bool)
    guide = noise_texture(32, 32, (0.1, 0.5, 0.9), seed=9)
    assert np.array_equal(fill(image, hole, guide), guide)
    assert np.allclose(fill(image, hole), 0.5)


def test_tiny_known_area_gives_a_plain_fill():
    image = noise_texture(40, 40, (0.6, 0.3, 0.1), seed=10)
    hole = np.ones((40, 40), bool)
    hole[18:22, 18:22] = False  # 4 x 4 known: no whole 7 x 7 patch to copy
    result = fill(image, hole)
    assert np.isfinite(result).all()
    assert np.allclose(result[hole].mean(axis=0), image[~hole].mean(axis=0), atol=0.05)
    guide = np.full_like(image, 0.25)
    assert np.allclose(fill(image, hole, guide)[hole], 0.25)


def test_no_hole_returns_the_image():
    image = noise_texture(16, 16, (0.5, 0.5, 0.5), seed=11)
    hole = np.zeros((16, 16), bool)
    assert np.array_equal(fill(image, hole), image)


def test_bad_input_is_a_clear_error():
    image = np.zeros((16, 16, 3), np.float32)
    hole = np.zeros((16, 16), bool)
    cases = [
        ((image, np.zeros((8, 8), bool), None), {}, "does not match"),
        ((image, hole, np.zeros((8, 8, 3), np.float32)), {}, "guide"),
        ((image[..., 0], hole, None), {}, "image"),
        ((image, hole, None), {"patch_size": 4}, "patch size"),
    ]
    for args, options, message in cases:
        with pytest.raises(InpaintError, match=message):
            run_to_end(synthesize_steps(*args, 0, options=TextureOptions(**options)))


def test_deep_holes_vote_their_texture_energy_and_strokes_keep_it_fixed():
    image = noise_texture(96, 96, (0.5, 0.45, 0.4), seed=9)
    deep = box(96, 96, 28, 68, 28, 68)  # a 40 px square: its pixels ~7 px from known ones
    stroke = box(96, 96, 46, 50, 10, 86)  # 4 px tall: ~1 px
    for hole, voted in ((deep, True), (stroke, False)):
        rule = fill(image, hole, seed=1, voted_energy_from_px=5.0)
        always_voted = fill(image, hole, seed=1, voted_energy_from_px=0.0)
        never_voted = fill(image, hole, seed=1, voted_energy_from_px=float("inf"))
        assert not np.array_equal(always_voted, never_voted)
        assert np.array_equal(rule, always_voted if voted else never_voted)


def test_deep_holes_keep_their_own_bands_and_strokes_take_the_guides():
    image, _ = two_texture_scene()
    guide = np.full_like(image, 0.45)
    deep = box(64, 96, 12, 52, 28, 68)  # a 40 x 40 square: its pixels ~7 px from known ones
    stroke = box(64, 96, 30, 34, 10, 86)  # 4 px tall: ~1 px
    for hole, own in ((deep, True), (stroke, False)):
        rule = fill(image, hole, guide, seed=1, own_bands_from_px=5.0)
        always_own = fill(image, hole, guide, seed=1, own_bands_from_px=0.0)
        never_own = fill(image, hole, guide, seed=1, own_bands_from_px=float("inf"))
        # The guide's flat grey pulls the bands of the fill towards it where it is applied.
        assert not np.array_equal(always_own, never_own)
        assert np.array_equal(rule, always_own if own else never_own)
