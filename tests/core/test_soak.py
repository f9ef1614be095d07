"""Soak: many consecutive fills in one process must not grow memory beyond a small bound.

RSS is read after a warm-up (allocator arenas, OpenCV and torch caches fill up first) and again
after the run; the growth per fill would show a leak of crop buffers, cached methods or latents.
"""

from __future__ import annotations

import gc
import os
import time

import cv2
import numpy as np
import pytest

from core.pipeline.registry import describe_methods
from core.pipeline.session import FillRequest, fill
from tests.conftest import synthetic_photo


def rss_mib() -> float:
    """Resident memory now (not the peak), from /proc."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def scratched(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    for _ in range(int(rng.integers(1, 6))):
        a = (int(rng.integers(0, shape[1])), int(rng.integers(0, shape[0])))
        b = (int(rng.integers(0, shape[1])), int(rng.integers(0, shape[0])))
        cv2.line(mask, a, b, 1, int(rng.integers(1, 5)))
    return mask.astype(bool)


def soak(
    method: str, count: int, warm_up: int, shape: tuple[int, int], masks: int = 0
) -> tuple[float, float]:
    """(RSS growth in MiB after the warm-up, seconds) over ``count`` fills. ``masks`` > 0 cycles
    that many masks (the photo still shifts every fill, so every crop is new)."""
    rng = np.random.default_rng(0)
    photo = synthetic_photo(*shape)
    fixed = [scratched(shape, rng) for _ in range(masks)]

    def request(i: int) -> FillRequest:
        mask = fixed[i % masks] if masks else scratched(shape, rng)
        return FillRequest(np.roll(photo, i, axis=1), mask, method, seed=i)

    for i in range(warm_up):
        fill(request(i))
    gc.collect()
    before = rss_mib()
    start = time.perf_counter()
    for i in range(count):
        out = fill(request(warm_up + i))
        assert out.shape == photo.shape
    seconds = time.perf_counter() - start
    gc.collect()
    return rss_mib() - before, seconds


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads RSS from /proc")
def test_200_telea_fills_do_not_grow_memory() -> None:
    growth, seconds = soak("telea", 200, warm_up=20, shape=(384, 512))  # a new mask every fill
    print(f"telea: 200 fills in {seconds:.1f} s, RSS growth {growth:+.1f} MiB")
    assert growth < 8.0  # a leak of one 384x512 float crop per fill would be ~450 MiB


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads RSS from /proc")
def test_manifold_fills_do_not_grow_memory() -> None:
    if not {i.name: i for i in describe_methods()}["manifold"].available:
        pytest.skip("the shipped manifold weights are not usable here")
    # A few mask layouts, cycled: torch's CPU kernels keep a per-shape cache (oneDNN primitive
    # cache, up to 1024 entries), which grows with every new crop shape until that cap; fixed
    # shapes measure our own buffers, latents and caches.
    growth, seconds = soak("manifold", 40, warm_up=12, shape=(192, 256), masks=4)
    print(f"manifold: 40 fills in {seconds:.1f} s, RSS growth {growth:+.1f} MiB")
    assert growth < 16.0  # one leaked encode per fill would be hundreds of MiB
