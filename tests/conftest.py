"""Shared fixtures. Qt tests run offscreen unless a display is explicitly configured."""

from __future__ import annotations

import os

import numpy as np
import pytest

# Must happen before any Qt import: without a display Qt would abort the whole run.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def drain(steps):  # type: ignore[no-untyped-def]
    """(every Progress a steps generator yielded, its result): ``run_to_end`` that keeps the
    events for tests that check them."""
    events = []
    while True:
        try:
            events.append(next(steps))
        except StopIteration as stop:
            return events, stop.value


def synthetic_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth colourful uint8 RGB image with some texture, deterministic per seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = []
    for _ in range(3):
        fy, fx = rng.uniform(0.005, 0.05, 2)
        phase = rng.uniform(0, 6.3)
        channels.append(0.5 + 0.35 * np.sin(fy * y + fx * x + phase))
    image = np.stack(channels, axis=2) + rng.normal(0, 0.03, (height, width, 3))
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


@pytest.fixture
def photo() -> np.ndarray:
    return synthetic_photo(240, 320)


def assert_batched_regions_see_original_pixels(
    mask: np.ndarray, plans: list, batches: list[list[int]], band: int
) -> None:
    """No region of a batch (``batches``: lists of plan indices) may be reached - its box
    widened by the blend ``band`` + 1 - by a hole of any region planned before it: batched
    regions are prepared from the original pixels."""
    by_index = {plan.index: plan for plan in plans}
    reach = band + 1
    for indices in batches:
        for index in indices:
            y0, y1, x0, x1 = by_index[index].box
            near = np.zeros_like(mask)
            near[max(0, y0 - reach) : y1 + reach, max(0, x0 - reach) : x1 + reach] = True
            for earlier in (p for p in plans if p.index < index):
                c0, c1, c2, c3 = earlier.core
                reached = (mask & near)[c0:c1, c2:c3]
                assert not reached.any(), f"region {index} is reached by region {earlier.index}"
