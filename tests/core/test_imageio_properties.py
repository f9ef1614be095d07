"""Hypothesis over write/read round trips: random sizes (1xN and Nx1 included), dtypes, channel
counts and formats. Every file written reads back with the same height and width, and the
pixel values the format's documented conversion gives (exact where the format is lossless)."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core.base.imageio import Image, read_image, write_image

DTYPES = [np.uint8, np.uint16, np.float32]


@st.composite
def images(draw: st.DrawFn) -> np.ndarray:
    height = draw(st.integers(1, 40))
    width = draw(st.integers(1, 40))
    channels = draw(st.sampled_from([1, 2, 3, 4]))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dtype == np.float32:
        return rng.random((height, width, channels), dtype=np.float32)
    top = np.iinfo(dtype).max
    return rng.integers(0, top, (height, width, channels), endpoint=True).astype(dtype)


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.uint16:
        return ((pixels.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return np.rint(np.clip(pixels, 0, 1) * 255).astype(np.uint8)


def expected(pixels: np.ndarray, suffix: str) -> np.ndarray:
    """What the module docstring of core.base.imageio promises a read of the written file gives."""
    if suffix == ".tif":
        return pixels
    if suffix == ".png":
        if pixels.dtype == np.float32:
            return np.rint(np.clip(pixels, 0, 1) * 65535).astype(np.uint16)
        return pixels
    eight = to_uint8(pixels)
    channels = eight.shape[2]
    if suffix == ".bmp" and channels == 2:
        return eight[..., [0, 0, 0, 1]]
    if suffix == ".webp":
        if channels == 1:
            return np.repeat(eight, 3, axis=2)
        if channels == 2:
            return eight[..., [0, 0, 0, 1]]
    return eight


def round_trip(pixels: np.ndarray, suffix: str) -> np.ndarray:
    with TemporaryDirectory() as folder:
        path = Path(folder) / f"image{suffix}"
        write_image(Image(pixels), path, quality=100)  # WebP at 100 is lossless
        assert sorted(p.name for p in Path(folder).iterdir()) == [path.name]  # no temp left
        return read_image(path).pixels


@settings(max_examples=150, deadline=None)
@given(pixels=images(), suffix=st.sampled_from([".png", ".tif", ".bmp", ".webp"]))
def test_write_then_read_gives_the_documented_pixels(pixels: np.ndarray, suffix: str) -> None:
    back = round_trip(pixels, suffix)
    want = expected(pixels, suffix)
    assert back.shape == want.shape and back.dtype == want.dtype
    if suffix == ".webp" and pixels.shape[2] in (2, 4):
        # WebP keeps exact colour only where alpha is not zero (``exact`` keeps the rest too,
        # but libwebp may still alter fully transparent pixels).
        visible = want[..., -1] > 0
        np.testing.assert_array_equal(back[visible], want[visible])
    else:
        np.testing.assert_array_equal(back, want)


@settings(max_examples=60, deadline=None)
@given(pixels=images(), quality=st.integers(1, 99))
def test_jpeg_keeps_the_size_and_drops_alpha_at_any_quality(
    pixels: np.ndarray, quality: int
) -> None:
    back = round_trip(pixels, ".jpg")
    channels = pixels.shape[2]
    colour = 1 if channels in (1, 2) else 3  # JPEG drops alpha
    assert back.shape == (*pixels.shape[:2], colour) and back.dtype == np.uint8
