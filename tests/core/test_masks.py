"""core.base.masks: reading, writing and editing bool hole masks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image as PILImage

from core.base.errors import ImageReadError, ImageWriteError, MaskError
from core.base.imageio import Image, write_image
from core.base.masks import (
    feather,
    grow,
    invert,
    load_mask,
    mask_from_pixels,
    regions,
    save_mask,
    shrink,
)


def _dot(h: int = 21, w: int = 21, y: int = 10, x: int = 10) -> np.ndarray:
    mask = np.zeros((h, w), bool)
    mask[y, x] = True
    return mask


def _disk_reference(mask: np.ndarray, radius: int) -> np.ndarray:
    """Brute-force dilation by a Euclidean disk: the definition grow() must follow."""
    h, w = mask.shape
    out = np.zeros_like(mask)
    ys, xs = np.nonzero(mask)
    yy, xx = np.mgrid[0:h, 0:w]
    for y, x in zip(ys, xs, strict=True):
        out |= (yy - y) ** 2 + (xx - x) ** 2 <= radius**2
    return out


# ----------------------------------------------------------------------------------------------
# mask_from_pixels


def test_gray_nonzero_is_hole():
    pixels = np.array([[0, 1, 255], [0, 0, 128]], np.uint8)
    np.testing.assert_array_equal(mask_from_pixels(pixels), pixels != 0)
    np.testing.assert_array_equal(mask_from_pixels(pixels[..., None]), pixels != 0)


def test_any_colour_channel_counts():
    pixels = np.zeros((1, 4, 3), np.uint16)
    pixels[0, 1, 0] = 1
    pixels[0, 2, 2] = 65535
    np.testing.assert_array_equal(mask_from_pixels(pixels)[0], [False, True, True, False])


def test_float_mask():
    pixels = np.array([[[0.0], [0.25], [1.0]]], np.float32)
    np.testing.assert_array_equal(mask_from_pixels(pixels)[0], [False, True, True])


def test_rgba_transparent_pixel_is_never_a_hole():
    pixels = np.zeros((1, 4, 4), np.uint8)
    pixels[0, 0] = (255, 0, 0, 255)  # opaque red: hole
    pixels[0, 1] = (255, 255, 255, 0)  # transparent white: not a hole
    pixels[0, 2] = (0, 0, 0, 255)  # opaque black: not a hole
    np.testing.assert_array_equal(mask_from_pixels(pixels)[0], [True, False, False, False])


@pytest.mark.parametrize("colour", [0, 255])
def test_single_colour_strokes_on_transparent_layer_use_alpha(colour):
    pixels = np.full((2, 3, 4), colour, np.uint8)
    pixels[..., 3] = 0
    pixels[1, 1, 3] = 200
    expected = np.zeros((2, 3), bool)
    expected[1, 1] = True
    np.testing.assert_array_equal(mask_from_pixels(pixels), expected)


def test_opaque_black_rgba_mask_is_empty():
    pixels = np.zeros((3, 3, 4), np.uint8)
    pixels[..., 3] = 255
    assert not mask_from_pixels(pixels).any()


def test_gray_alpha_mask():
    pixels = np.array([[[255, 255], [255, 0], [0, 255], [9, 10]]], np.uint8)
    np.testing.assert_array_equal(mask_from_pixels(pixels)[0], [True, False, False, True])


@pytest.mark.parametrize("shape", [(3,), (2, 2, 5), (1, 2, 3, 4)])
def test_bad_mask_image_shape(shape):
    with pytest.raises(MaskError):
        mask_from_pixels(np.zeros(shape, np.uint8))


# ----------------------------------------------------------------------------------------------
# load / save


def test_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    mask = rng.random((17, 23)) < 0.3
    save_mask(mask, tmp_path / "m.png")
    with PILImage.open(tmp_path / "m.png") as im:
        assert im.mode == "L"
        values = np.asarray(im)
    assert set(np.unique(values)) <= {0, 255}
    np.testing.assert_array_equal(values == 255, mask)
    loaded = load_mask(tmp_path / "m.png", (17, 23))
    assert loaded.dtype == np.bool_ and loaded.shape == (17, 23)
    np.testing.assert_array_equal(loaded, mask)
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]


@pytest.mark.parametrize("suffix", [".tif", ".bmp"])
def test_other_lossless_formats(tmp_path, suffix):
    mask = _dot(5, 7, 2, 3)
    save_mask(mask, tmp_path / f"m{suffix}")
    np.testing.assert_array_equal(load_mask(tmp_path / f"m{suffix}"), mask)


@pytest.mark.parametrize("suffix", [".jpg", ".webp"])
def test_lossy_formats_are_refused(tmp_path, suffix):
    with pytest.raises(ImageWriteError, match="lossless"):
        save_mask(_dot(), tmp_path / f"m{suffix}")
    assert list(tmp_path.iterdir()) == []


def test_save_never_overwrites_without_permission(tmp_path):
    save_mask(_dot(), tmp_path / "m.png")
    with pytest.raises(ImageWriteError, match="exists"):
        save_mask(np.zeros((21, 21), bool), tmp_path / "m.png")
    assert load_mask(tmp_path / "m.png").sum() == 1
    save_mask(np.zeros((21, 21), bool), tmp_path / "m.png", overwrite=True)
    assert load_mask(tmp_path / "m.png").sum() == 0


@pytest.mark.parametrize(
    "bad", [np.zeros((3, 3), np.uint8), np.zeros((3, 3, 1), bool), np.zeros(3, bool)]
)
def test_save_refuses_non_masks(tmp_path, bad):
    with pytest.raises(MaskError):
        save_mask(bad, tmp_path / "m.png")


def test_size_mismatch_message(tmp_path):
    save_mask(np.zeros((480, 640), bool), tmp_path / "m.png")
    with pytest.raises(MaskError) as info:
        load_mask(tmp_path / "m.png", (600, 800))
    assert str(info.value).startswith("mask is 640x480 but the image is 800x600")


def test_rgb_mask_from_an_editor(tmp_path):
    pixels = np.zeros((4, 6, 3), np.uint8)
    pixels[1:3, 2:5] = (255, 0, 0)
    write_image(Image(pixels), tmp_path / "red.png")
    expected = np.zeros((4, 6), bool)
    expected[1:3, 2:5] = True
    np.testing.assert_array_equal(load_mask(tmp_path / "red.png", (4, 6)), expected)


def test_read_errors_pass_through(tmp_path):
    with pytest.raises(ImageReadError, match="does not exist"):
        load_mask(tmp_path / "missing.png")
    (tmp_path / "text.png").write_text("hello")
    with pytest.raises(ImageReadError, match="text"):
        load_mask(tmp_path / "text.png")


# ----------------------------------------------------------------------------------------------
# grow / shrink


@pytest.mark.parametrize("radius", [1, 2, 3, 5, 8])
def test_grow_dot_is_a_euclidean_disk(radius):
    grown = grow(_dot(), radius)
    assert grown.dtype == np.bool_
    np.testing.assert_array_equal(grown, _disk_reference(_dot(), radius))


@settings(max_examples=40, deadline=None)
@given(
    mask=arrays(bool, st.tuples(st.integers(1, 14), st.integers(1, 14)), elements=st.booleans()),
    radius=st.integers(0, 5),
)
def test_grow_matches_brute_force(mask, radius):
    np.testing.assert_array_equal(grow(mask, radius), _disk_reference(mask, radius))
    # erosion is dilation of the complement, with outside-the-image counted as hole
    padded = np.pad(~mask, radius, constant_values=False)
    expected = ~_disk_reference(padded, radius)[radius : radius + mask.shape[0], :]
    expected = expected[:, radius : radius + mask.shape[1]]
    np.testing.assert_array_equal(shrink(mask, radius), expected)
    assert (shrink(mask, radius) <= mask).all() and (grow(mask, radius) >= mask).all()


def test_shrink_undoes_grow_of_a_dot():
    np.testing.assert_array_equal(shrink(grow(_dot(), 4), 4), _dot())


def test_shrink_removes_thin_lines():
    mask = np.zeros((10, 10), bool)
    mask[5, 1:9] = True
    assert not shrink(mask, 1).any()


def test_image_border_does_not_erode():
    mask = np.zeros((10, 10), bool)
    mask[:, :4] = True
    shrunk = shrink(mask, 2)
    assert shrunk[:, :2].all() and not shrunk[:, 2:].any()


def test_zero_negative_and_edge_cases():
    mask = _dot()
    assert grow(mask, 0) is not mask
    np.testing.assert_array_equal(grow(mask, 0), mask)
    np.testing.assert_array_equal(grow(mask, -3), shrink(mask, 3))
    np.testing.assert_array_equal(shrink(grow(mask, 3), -1), grow(grow(mask, 3), 1))
    empty = np.zeros((5, 6), bool)
    assert not grow(empty, 4).any() and not shrink(empty, 4).any()
    full = np.ones((5, 6), bool)
    assert grow(full, 4).all() and shrink(full, 4).all()
    assert grow(np.ones((1, 1), bool), 2).shape == (1, 1)


def test_inputs_are_not_modified():
    mask = _dot()
    before = mask.copy()
    grow(mask, 2)
    shrink(mask, 2)
    feather(mask, 3)
    invert(mask)
    np.testing.assert_array_equal(mask, before)


def test_edit_operations_refuse_non_bool():
    for op in (lambda m: grow(m, 1), lambda m: shrink(m, 1), lambda m: feather(m, 1), invert):
        with pytest.raises(MaskError, match="bool"):
            op(np.zeros((3, 3), np.uint8))


# ----------------------------------------------------------------------------------------------
# feather, regions, invert


def test_feather_is_one_on_holes_and_fades_outside():
    mask = np.zeros((1, 20), bool)
    mask[0, :5] = True
    soft = feather(mask, 4.0)
    assert soft.dtype == np.float32 and soft.shape == mask.shape
    assert (soft[0, :5] == 1.0).all()
    assert (np.diff(soft[0, 4:10]) < 0).all()  # strictly fading over the band
    assert 0 < soft[0, 5] < 1 and 0 < soft[0, 8] < 1
    assert (soft[0, 10:] == 0).all()
    assert soft.min() >= 0 and soft.max() <= 1


def test_feather_zero_radius_and_empty():
    mask = _dot()
    np.testing.assert_array_equal(feather(mask, 0), mask.astype(np.float32))
    assert not feather(np.zeros((4, 4), bool), 3).any()


def test_regions_counts_8_connected_holes():
    mask = np.zeros((6, 6), bool)
    assert regions(mask) == 0
    mask[0, 0] = mask[1, 1] = True  # diagonal neighbours: one hole
    mask[4, 4] = True
    mask[0, 5] = True
    assert regions(mask) == 3


def test_invert():
    mask = _dot(3, 3, 1, 1)
    inverted = invert(mask)
    assert inverted.dtype == np.bool_ and inverted.sum() == 8 and not inverted[1, 1]
