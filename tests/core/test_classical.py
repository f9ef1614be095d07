"""The classical fills' own rules (the pipeline's tests cover how they are called)."""

from __future__ import annotations

import cv2
import numpy as np
from skimage.restoration import inpaint_biharmonic

from core.methods.base import CropContext
from core.methods.classical import BiharmonicInpaint
from tests.conftest import synthetic_photo


class SmallLimit(BiharmonicInpaint):
    max_unknowns = 60


def strokes(shape: tuple[int, int]) -> np.ndarray:
    hole = np.zeros(shape, np.uint8)
    for y in (10, 30, 50, 70):  # four strokes of about 50 px each: 200 in all
        cv2.line(hole, (10, y), (60, y + 5), 1, 1)
    return hole.astype(bool)


def test_biharmonic_solves_regions_under_the_limit_at_full_resolution_whatever_their_total():
    crop = synthetic_photo(80, 72, seed=3).astype(np.float32) / 255.0
    hole = strokes(crop.shape[:2])
    assert hole.sum() > SmallLimit.max_unknowns  # over the limit in all, each stroke under it
    given = crop.copy()
    given[hole] = 0.0
    expected = inpaint_biharmonic(given, hole, split_into_regions=True, channel_axis=-1)
    filled = SmallLimit().fill(given, hole, CropContext())
    assert np.abs(filled - expected)[hole].max() < 1e-5
    assert np.array_equal(filled[~hole], given[~hole])


def test_biharmonic_solves_a_region_over_the_limit_at_a_lower_scale():
    crop = synthetic_photo(80, 72, seed=3).astype(np.float32) / 255.0
    hole = strokes(crop.shape[:2])
    hole[40:60, 20:40] = True  # a 400 px blob joining one stroke: over the limit
    given = crop.copy()
    given[hole] = 0.0
    filled = SmallLimit().fill(given, hole, CropContext())
    full = inpaint_biharmonic(given, hole, split_into_regions=True, channel_axis=-1)
    assert np.isfinite(filled).all() and np.array_equal(filled[~hole], given[~hole])
    assert np.abs(filled - full)[hole].max() > 1e-4  # not the full-resolution solve
    assert np.abs(filled - full)[hole].mean() < 0.05  # but close to it
