"""The perceptual distance of the benchmark (frozen EfficientNet-Lite2 features)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.bench import has_judge
from core.perceptual import hole_box
from tests.conftest import synthetic_photo

needs_judge = pytest.mark.skipif(not has_judge(), reason="efficientnet-lite2 wheel absent")


def test_hole_box_grows_by_the_margin_within_the_image():
    hole = np.zeros((50, 60), bool)
    hole[10:20, 50:55] = True
    assert hole_box(hole, 8) == (slice(2, 28), slice(42, 60))
    assert hole_box(np.zeros((5, 6), bool)) == (slice(0, 5), slice(0, 6))


@needs_judge
def test_distance_is_zero_for_the_original_and_grows_with_what_the_fill_loses():
    from core.perceptual import perceptual_distance

    photo = synthetic_photo(160, 200, seed=5).astype(np.float32) / 255.0
    cv2.line(photo, (20, 30), (180, 120), (0.9, 0.9, 0.9), 2)  # an edge to lose
    hole = np.zeros(photo.shape[:2], bool)
    hole[40:110, 60:140] = True
    assert perceptual_distance(photo, photo, hole) == 0.0
    slight = photo.copy()
    slight[hole] = cv2.GaussianBlur(photo, (0, 0), 1.0)[hole]
    heavy = photo.copy()
    heavy[hole] = cv2.GaussianBlur(photo, (0, 0), 8.0)[hole]
    flat = photo.copy()
    flat[hole] = photo[hole].mean(0)
    d = [perceptual_distance(r, photo, hole) for r in (slight, heavy, flat)]
    assert 0 < d[0] < d[1] <= d[2] * 1.05
    # Off the hole's box nothing counts: changing a far corner leaves the distance alone.
    far = heavy.copy()
    far[150:, :10] = 0.0
    assert perceptual_distance(far, photo, hole) == pytest.approx(d[1])
