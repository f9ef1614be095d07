"""The crop-and-paste fill pipeline: what changes, what must not, and how work is split."""

from __future__ import annotations

from typing import ClassVar

import cv2
import numpy as np
import pytest

from core.base.errors import InpaintError, MaskError
from core.base.masks import hole_boxes
from core.bench import known_unchanged
from core.methods.base import CropContext, FillMethod
from core.methods.geometry import BLEND_BAND, MAX_TILE, plan_regions
from core.pipeline import registry
from core.pipeline.registry import get_method
from core.pipeline.session import (
    FillRequest,
    FillResult,
    FillSession,
    describe_paths,
    fill,
    fill_steps,
)
from tests.conftest import assert_batched_regions_see_original_pixels, drain, synthetic_photo


def far_from_hole(mask: np.ndarray, distance: int = BLEND_BAND) -> np.ndarray:
    """Pixels more than ``distance`` px (chessboard) away from every hole pixel."""
    size = 2 * distance + 1
    near = cv2.dilate(mask.astype(np.uint8), np.ones((size, size), np.uint8))
    return near == 0


class RecordingMethod(FillMethod):
    """Fills with a constant and records the crops it was given (for pipeline geometry)."""

    name = "test-recording"
    pad_multiple = 8
    calls: ClassVar[list[tuple[tuple[int, ...], float, int | None]]] = []
    scale: ClassVar[float] = 1.0

    def working_scale(self, region_height: int, region_width: int) -> float:
        return type(self).scale

    def fill(self, crop: np.ndarray, hole: np.ndarray, context: CropContext) -> np.ndarray:
        type(self).calls.append((crop.shape, context.scale, context.seed))
        assert not crop[hole].any(), "hole pixels must reach the method blanked"
        out = crop.copy()
        out[hole] = 0.5
        return out


registry.METHODS.setdefault(RecordingMethod.name, RecordingMethod)


@pytest.fixture
def recording():
    RecordingMethod.calls.clear()
    RecordingMethod.scale = 1.0
    yield RecordingMethod
    RecordingMethod.scale = 1.0


def scratch_mask(shape: tuple[int, int], seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, np.uint8)
    for _ in range(4):
        p0 = (int(rng.integers(0, shape[1])), int(rng.integers(0, shape[0])))
        p1 = (int(rng.integers(0, shape[1])), int(rng.integers(0, shape[0])))
        cv2.line(mask, p0, p1, 1, 3)
    return mask.astype(bool)


@pytest.mark.parametrize("method", ["telea", "ns", "biharmonic", "patchmatch"])
def test_pixels_beyond_the_band_are_bit_identical(photo, method):
    mask = scratch_mask(photo.shape[:2])
    out = fill(FillRequest(photo, mask, method))
    keep = far_from_hole(mask)
    assert out.dtype == photo.dtype and out.shape == photo.shape
    np.testing.assert_array_equal(out[keep], photo[keep])
    # the band itself is narrow: a classical fill returns known pixels as they were
    assert (out[~mask] == photo[~mask]).all()


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_every_dtype_and_channel_count_keeps_shape_and_outside(dtype, channels):
    base = synthetic_photo(64, 96).astype(np.float32) / 255.0
    if channels in (1, 2):
        base = base.mean(axis=2, keepdims=True)
    if channels in (2, 4):
        alpha = np.linspace(0.2, 1.0, 96, dtype=np.float32)[None, :, None].repeat(64, 0)
        base = np.concatenate([base, alpha], axis=2)
    scale = {np.uint8: 255, np.uint16: 65535, np.float32: 1}[dtype]
    image = (base * scale).astype(dtype)
    mask = np.zeros((64, 96), bool)
    mask[20:30, 10:80] = True
    out = fill(FillRequest(image, mask, "telea"))
    assert out.shape == image.shape and out.dtype == image.dtype
    keep = far_from_hole(mask)
    np.testing.assert_array_equal(out[keep], image[keep])
    assert not np.array_equal(out[mask], image[mask])


def test_hole_is_filled_from_its_surroundings():
    image = np.full((80, 80, 3), (200, 40, 90), np.uint8)
    damaged = image.copy()
    mask = np.zeros((80, 80), bool)
    mask[30:50, 25:60] = True
    damaged[mask] = 255  # the damage itself must not leak into the fill
    out = fill(FillRequest(damaged, mask, "telea"))
    assert np.abs(out.astype(int) - image.astype(int)).max() <= 1


def test_biharmonic_continues_smooth_gradients_exactly():
    # A biharmonic fill reproduces any linear ramp through a hole; Telea flattens it.
    yy, xx = np.mgrid[0:120, 0:160].astype(np.float32)
    ramp = np.stack([xx / 160, yy / 120, (xx + yy) / 280], axis=2)
    mask = np.zeros((120, 160), bool)
    mask[50:62, 30:130] = True
    mask[10:14, 140:150] = True
    out = fill(FillRequest(ramp, mask, "biharmonic"))
    assert np.abs(out[mask] - ramp[mask]).max() < 1e-3
    telea = fill(FillRequest(ramp, mask, "telea"))
    assert np.abs(telea[mask] - ramp[mask]).mean() > 5 * np.abs(out[mask] - ramp[mask]).mean()


def test_biharmonic_solves_large_holes_at_a_lower_scale_and_still_follows_the_ramp():
    # 75 000 hole pixels: solved at about 1/2 scale (scikit-image at full size took 17-20 s per
    # photo on large holes here, and strayed 0.13 from this ramp on average).
    yy, xx = np.mgrid[0:400, 0:500].astype(np.float32)
    ramp = np.stack([xx / 500, yy / 400, (xx + yy) / 900], axis=2)
    mask = np.zeros((400, 500), bool)
    mask[80:330, 100:400] = True
    out = fill(FillRequest(ramp, mask, "biharmonic"))
    assert np.abs(out[mask] - ramp[mask]).mean() < 0.02
    # On a textured photo the low-scale fill must not touch known pixels beyond the band.
    photo = synthetic_photo(400, 500)
    out = fill(FillRequest(photo, mask, "biharmonic"))
    assert known_unchanged(out, photo, mask)  # the bench's check (Euclidean distance)


def test_input_arrays_are_never_modified(photo):
    mask = scratch_mask(photo.shape[:2])
    image_before, mask_before = photo.copy(), mask.copy()
    fill(FillRequest(photo, mask, "telea"))
    np.testing.assert_array_equal(photo, image_before)
    np.testing.assert_array_equal(mask, mask_before)


def test_empty_mask_is_a_no_op(photo):
    out = fill(FillRequest(photo, np.zeros(photo.shape[:2], bool), "telea"))
    np.testing.assert_array_equal(out, photo)
    assert out is not photo


def test_mask_of_another_size_is_a_clear_error(photo):
    with pytest.raises(MaskError, match="same size"):
        fill(FillRequest(photo, np.zeros((10, 10), bool), "telea"))


def test_many_small_regions_are_all_filled(recording):
    rng = np.random.default_rng(3)
    image = synthetic_photo(400, 600)
    mask = np.zeros((400, 600), bool)
    ys, xs = rng.integers(0, 398, 300), rng.integers(0, 598, 300)
    for y, x in zip(ys, xs, strict=True):
        mask[y : y + 2, x : x + 2] = True
    out = fill(FillRequest(image, mask, recording.name))
    np.testing.assert_array_equal(out[mask], np.full((mask.sum(), 3), 128, np.uint8))
    keep = far_from_hole(mask)
    np.testing.assert_array_equal(out[keep], image[keep])
    # nearby specks share a crop: far fewer passes than specks
    assert 1 < len(recording.calls) < 300


def test_regions_touching_every_border(recording):
    image = synthetic_photo(50, 70)
    mask = np.zeros((50, 70), bool)
    mask[0:5, 20:40] = True
    mask[45:50, 20:40] = True
    mask[20:30, 0:3] = True
    mask[20:30, 67:70] = True
    mask[0:2, 0:2] = True
    out = fill(FillRequest(image, mask, recording.name))
    assert (out[mask] == 128).all()
    keep = far_from_hole(mask)
    np.testing.assert_array_equal(out[keep], image[keep])
    for shape, _, _ in recording.calls:
        assert shape[0] % 8 == 0 and shape[1] % 8 == 0  # padded to pad_multiple


def test_crops_follow_the_damage_not_the_photo():
    """Scattered scratches on a big photo: the boxes cover a small part of it."""
    mask = np.zeros((4000, 6000), bool)
    mask[1000:1003, 500:900] = True
    mask[3000:3400, 5000:5002] = True
    mask[200:204, 3000:3004] = True
    plans = plan_regions(mask, get_method("telea"))
    area = sum((b[1] - b[0]) * (b[3] - b[2]) for b in (p.box for p in plans))
    assert len(plans) == 3
    assert area < 0.01 * mask.size


def test_large_regions_are_tiled_and_fully_filled(recording):
    image = synthetic_photo(300, 2000)
    mask = np.zeros((300, 2000), bool)
    mask[140:150, 10:1990] = True  # one scratch longer than a tile
    out = fill(FillRequest(image, mask, recording.name))
    assert len(recording.calls) >= 2000 // MAX_TILE
    assert (out[mask] == 128).all()


def test_working_scale_is_applied_and_undone(recording):
    recording.scale = 0.5
    image = synthetic_photo(200, 200)
    mask = np.zeros((200, 200), bool)
    mask[80:120, 80:120] = True
    out = fill(FillRequest(image, mask, recording.name))
    ((shape, scale, _),) = recording.calls
    assert scale == 0.5
    assert shape[0] <= 104 and shape[1] <= 104  # half of the (at most 200 px) box, padded
    # away from its rim (where upsampling mixes in the context) the hole holds the fill
    interior = np.zeros_like(mask)
    interior[83:117, 83:117] = True
    assert (np.abs(out[interior].astype(int) - 128) <= 1).all()
    keep = far_from_hole(mask)
    np.testing.assert_array_equal(out[keep], image[keep])


def test_seeds_are_per_region_and_reproducible(recording):
    image = synthetic_photo(100, 300)
    mask = np.zeros((100, 300), bool)
    mask[40:50, 10:30] = True
    mask[40:50, 200:230] = True
    fill(FillRequest(image, mask, recording.name, seed=7))
    first = [seed for _, _, seed in recording.calls]
    recording.calls.clear()
    fill(FillRequest(image, mask, recording.name, seed=7))
    assert [seed for _, _, seed in recording.calls] == first
    assert len(set(first)) == 2


def test_progress_rises_to_one_and_stopping_early_changes_nothing(photo):
    mask = scratch_mask(photo.shape[:2])
    steps = fill_steps(FillRequest(photo, mask, "telea"))
    events, result = drain(steps)
    fractions = [event.fraction for event in events]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert result.image.shape == photo.shape
    before = photo.copy()
    cancelled = fill_steps(FillRequest(photo, mask, "telea"))
    next(cancelled)
    cancelled.close()  # what a cancel does: stop iterating
    np.testing.assert_array_equal(photo, before)


class ContextMeanMethod(FillMethod):
    """Fills the holes with the mean of the crop's known pixels, so a region's fill depends on
    every earlier fill inside its box; batches crops of one shape and records each batch's
    seeds (with request seed 0 a region's seed is its plan index)."""

    name = "test-context-mean"
    max_batch: ClassVar[int] = 8
    batches: ClassVar[list[list[int | None]]] = []

    def fill(self, crop: np.ndarray, hole: np.ndarray, context: CropContext) -> np.ndarray:
        out = crop.copy()
        out[hole] = crop[~hole].mean(axis=0)
        return out

    def batch_key(self, hole: np.ndarray, context: CropContext) -> object:
        return hole.shape

    def render_batch_steps(self, prepared, contexts):  # type: ignore[no-untyped-def]
        type(self).batches.append([context.seed for context in contexts])
        return (yield from super().render_batch_steps(prepared, contexts))


registry.METHODS.setdefault(ContextMeanMethod.name, ContextMeanMethod)


@pytest.fixture
def context_mean(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(ContextMeanMethod, "batches", [])
    return ContextMeanMethod


def dense_specks(shape: tuple[int, int], count: int, seed: int = 3) -> np.ndarray:
    """Specks of 2x2 px, close enough that many regions' boxes overlap."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, bool)
    for y, x in zip(
        rng.integers(0, shape[0] - 2, count), rng.integers(0, shape[1] - 2, count), strict=True
    ):
        mask[y : y + 2, x : x + 2] = True
    return mask


def overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def test_batched_regions_are_filled_as_one_by_one(context_mean, monkeypatch):
    image = synthetic_photo(300, 400)
    mask = dense_specks(image.shape[:2], 120)
    batched = fill(FillRequest(image, mask, context_mean.name, seed=0))
    assert max(len(batch) for batch in context_mean.batches) > 2
    monkeypatch.setattr(ContextMeanMethod, "max_batch", 1)
    context_mean.batches.clear()
    one_by_one = fill(FillRequest(image, mask, context_mean.name, seed=0))
    assert context_mean.batches == []
    # Every region sees the same context (earlier fills included), so the pixels are equal.
    np.testing.assert_array_equal(batched, one_by_one)


def test_no_region_in_a_batch_is_reached_by_an_earlier_fill(context_mean):
    """Batched regions are prepared from the original pixels: none of them may be reached
    (box plus blend band) by the hole of any region filled before it."""
    image = synthetic_photo(300, 400)
    mask = dense_specks(image.shape[:2], 120)
    fill(FillRequest(image, mask, context_mean.name, seed=0))
    plans = plan_regions(mask, get_method(context_mean.name))
    overlapping = {
        (a.index, b.index) for a in plans for b in plans if a != b and overlap(a.box, b.box)
    }
    assert len(overlapping) > 20  # the scene is dense enough for the check to mean something
    batched = [seeds for seeds in context_mean.batches if len(seeds) > 1]
    # Regions near an earlier one are cut from the partly filled image, one by one; enough of
    # the rest are batched for the check to mean something.
    assert sum(len(seeds) for seeds in batched) >= 10
    assert_batched_regions_see_original_pixels(mask, plans, batched, BLEND_BAND)


def test_batched_fill_progress_rises_and_cancelling_mid_fill_changes_nothing(context_mean):
    image = synthetic_photo(300, 400)
    mask = dense_specks(image.shape[:2], 120)
    request = FillRequest(image, mask, context_mean.name, seed=0)
    fractions = [event.fraction for event in fill_steps(request)]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    image_before, mask_before = image.copy(), mask.copy()
    context_mean.batches.clear()
    steps = fill_steps(request)
    for event in steps:
        if event.fraction > 0.5 and context_mean.batches:
            break  # half the regions pasted, batches among them
    steps.close()
    np.testing.assert_array_equal(image, image_before)
    np.testing.assert_array_equal(mask, mask_before)


def test_a_session_prepares_once_and_renders_the_same_pixels(context_mean, monkeypatch):
    """Regions cut from the partly filled image are prepared again only when their crop
    changed: with a method whose fills never vary, a second render prepares nothing."""
    image = synthetic_photo(300, 400)
    mask = dense_specks(image.shape[:2], 120)
    prepared: list[int | None] = []
    original = ContextMeanMethod.prepare_steps

    def counting(self, crop, hole, context):  # type: ignore[no-untyped-def]
        prepared.append(context.index)
        return (yield from original(self, crop, hole, context))

    monkeypatch.setattr(ContextMeanMethod, "prepare_steps", counting)
    session = FillSession(FillRequest(image, mask, context_mean.name, seed=0), keep=True)
    first = session.render(seed=0).image
    assert len(prepared) == session.region_count
    prepared.clear()
    np.testing.assert_array_equal(session.render(seed=0).image, first)
    assert prepared == []
    np.testing.assert_array_equal(first, fill(FillRequest(image, mask, context_mean.name, seed=0)))


def test_a_fill_returns_its_image_boxes_and_each_regions_path(photo):
    """The one way back: no caller reads progress text to learn what a fill did."""
    mask = scratch_mask(photo.shape[:2])
    mask[20:24, 30:34] = True  # a speck far from the scratches: a region of its own
    _, result = drain(fill_steps(FillRequest(photo, mask, "ns")))
    assert isinstance(result, FillResult) and result.source is photo
    assert result.paths == {"ns": len(plan_regions(mask, get_method("ns")))}
    assert result.describe() == describe_paths(result.paths) and not result.grain
    np.testing.assert_array_equal(result.image, fill(FillRequest(photo, mask, "ns")))
    y0, y1, x0, x1 = result.box
    np.testing.assert_array_equal(result.patch, result.image[y0:y1, x0:x1])
    covered = np.zeros_like(mask)
    for b0, b1, b2, b3 in result.boxes:
        covered[b0:b1, b2:b3] = True
    changed = (result.image != photo).any(axis=2)
    assert changed.any() and not (changed & ~covered).any()
    assert result.boxes == hole_boxes(mask, BLEND_BAND + 1)  # the damage's, not the photo


def test_an_empty_mask_gives_the_image_back_and_no_paths(photo):
    result = fill_steps(FillRequest(photo, np.zeros(photo.shape[:2], bool), "telea"))
    _, result = drain(result)
    assert result.paths == {} and result.boxes == [] and "nothing" in result.describe()
    np.testing.assert_array_equal(result.image, photo)
    assert result.image is not photo


def test_a_session_refuses_a_method_other_than_the_requests(photo):
    mask = scratch_mask(photo.shape[:2])
    with pytest.raises(InpaintError, match="cannot fill a telea request"):
        FillSession(FillRequest(photo, mask, "telea"), method=get_method("ns"))
