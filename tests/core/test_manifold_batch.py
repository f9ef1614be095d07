"""Small crops of the manifold method filled in batches: the same pixels as one by one, the
same z per seed, never a crop that an earlier fill reaches in a batch, and cancellable."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from core.manifold.method import ManifoldFill
from core.manifold.options import ManifoldOptions
from core.methods import geometry
from core.methods.base import CropContext
from core.methods.geometry import BLEND_BAND, plan_regions
from core.pipeline import registry
from core.pipeline.session import FillRequest, fill, fill_steps
from tests.conftest import assert_batched_regions_see_original_pixels, drain, synthetic_photo
from tests.core.test_manifold import tiny_net


@pytest.fixture
def method(monkeypatch: pytest.MonkeyPatch) -> ManifoldFill:
    """A tiny random net, registered as the pipeline's ``manifold``."""
    method = ManifoldFill.from_net(tiny_net())
    monkeypatch.setitem(registry.LOADED, ("manifold", "cpu"), method)
    # These specks are thin enough for the biharmonic fill; here the net's batching is tested.
    monkeypatch.setattr("core.manifold.method.DEFAULT_OPTIONS", ManifoldOptions(thin_hole_px=0))
    return method


def dust(height: int = 320, width: int = 480, count: int = 60, seed: int = 2) -> np.ndarray:
    """Dust specks of radius 1-3 px: most regions get crops of one padded shape."""
    rng = np.random.default_rng(seed)
    canvas = np.zeros((height, width), np.uint8)
    for _ in range(count):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(canvas, centre, int(rng.integers(1, 4)), 1, -1)
    return canvas.astype(bool)


def record_batches(method: ManifoldFill, monkeypatch: pytest.MonkeyPatch) -> list[list[Any]]:
    """The contexts' seeds of every batch the net decodes (a list per ``render_batch_steps``)."""
    batches: list[list[Any]] = []
    original = method.render_batch_steps

    def recording(prepared, contexts):  # type: ignore[no-untyped-def]
        batches.append([context.seed for context in contexts])
        return (yield from original(prepared, contexts))

    monkeypatch.setattr(method, "render_batch_steps", recording)
    return batches


def one_by_one(
    method: ManifoldFill, monkeypatch: pytest.MonkeyPatch, request: FillRequest
) -> np.ndarray:
    with monkeypatch.context() as patch:
        patch.setattr(method, "max_batch", 1)
        return fill(request)


@pytest.mark.parametrize("seed", [None, 5])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_batched_dust_fill_equals_the_one_by_one_fill(method, monkeypatch, seed, dtype) -> None:  # type: ignore[no-untyped-def]
    image = synthetic_photo(320, 480)
    if dtype == np.float32:
        image = image.astype(np.float32) / 255.0  # no rounding to levels: float differences show
    request = FillRequest(image, dust(), "manifold", seed)
    sizes: list[int] = []
    run_encoder = method._run_encoder
    monkeypatch.setattr(
        method, "_run_encoder", lambda inputs: sizes.append(len(inputs)) or run_encoder(inputs)
    )
    batched = fill(request)
    assert max(sizes) >= 3 and len(sizes) < 0.7 * sum(sizes)  # 45 crops, 26 encoder runs
    sizes.clear()
    expected = one_by_one(method, monkeypatch, request)
    assert set(sizes) == {1}
    if dtype == np.float32:
        # Stacked convolutions may round the last float bit unlike a lone crop's: up to 6e-8
        # here. A region missing an earlier region's fill differs by 5e-5 to 2e-4.
        np.testing.assert_allclose(batched, expected, rtol=0, atol=2e-6)
    else:
        # Those last bits could move a pixel by one level; none moved here nor on the Kodak
        # bench.
        diff = np.abs(batched.astype(int) - expected)
        assert diff.max() <= 1 and (diff > 0).any(axis=2)[request.mask].mean() < 0.01


def test_a_batch_gives_each_crop_what_it_gives_alone(method: ManifoldFill) -> None:
    rng = np.random.default_rng(0)
    items = []
    for index, (h, w) in enumerate([(48, 64), (45, 61), (48, 64), (40, 50)]):  # one padded shape
        crop = synthetic_photo(h, w, seed=index).astype(np.float32) / 255.0
        hole = np.zeros((h, w), bool)
        y, x = int(rng.integers(5, h - 15)), int(rng.integers(5, w - 15))
        hole[y : y + 4 + index, x : x + 6] = True
        crop[hole] = 0.0
        items.append((crop, hole, CropContext(seed=[None, 3, 4, 3][index])))
    assert len({method.batch_key(hole, context) for _, hole, context in items}) == 1
    prepare_events, prepared = drain(method.prepare_batch_steps(items))
    events, results = drain(method.render_batch_steps(prepared, [c for _, _, c in items]))
    assert prepare_events and events and events[-1].fraction == 1.0
    for (crop, hole, context), result in zip(items, results, strict=True):
        alone = method.fill(crop, hole, context)
        assert np.array_equal(result[~hole], crop[~hole])
        # Stacked convolutions may round the last float bit differently from a lone crop.
        np.testing.assert_allclose(result, alone, atol=1e-6)
    # Each item drew its own z: item 2 (seed 4) is a sample, not the prior-mean fill.
    mean = method.fill(items[2][0], items[2][1], CropContext())
    assert np.abs(results[2] - mean)[items[2][1]].mean() > 1e-4


def test_batch_keys_group_plain_fills_of_one_padded_shape(method: ManifoldFill) -> None:
    hole = np.zeros((48, 64), bool)
    hole[20:24, 30:36] = True
    key = method.batch_key(
        hole, CropContext(seed=1, options=ManifoldOptions(temperature=0.5, thin_hole_px=0))
    )
    assert key is not None
    assert method.batch_key(hole[:45, :61], CropContext()) == key
    wide = np.zeros((48, 80), bool)
    wide[20:24, 30:36] = True
    assert method.batch_key(wide, CropContext()) != key
    # Latent settings are the render's: they batch like plain fills.
    for options in (
        ManifoldOptions(refine_steps=2, thin_hole_px=0),
        ManifoldOptions(sliders=(1.0,), thin_hole_px=0),
    ):
        assert method.batch_key(hole, CropContext(options=options)) == key
    # A thick hole that the net runs at half scale is another key, as is a large crop.
    assert (
        method.batch_key(
            hole, CropContext(options=ManifoldOptions(max_hole_radius=1, thin_hole_px=0))
        )
        != key
    )
    big = np.zeros((128, 128), bool)
    big[60:64, 60:64] = True
    assert method.batch_key(big, CropContext()) is None


def test_no_crop_in_a_batch_is_reached_by_an_earlier_fill(method, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    image = synthetic_photo(320, 480)
    mask = dust()
    batches = record_batches(method, monkeypatch)
    fill(FillRequest(image, mask, "manifold", seed=0))  # seed 0: a region's seed is its index
    plans = plan_regions(mask, method)
    assert sum(len(seeds) for seeds in batches) > len(plans) // 3
    assert_batched_regions_see_original_pixels(mask, plans, batches, BLEND_BAND)


def test_seeded_batched_fills_are_reproducible(method: ManifoldFill) -> None:
    image = synthetic_photo(320, 480, seed=4)
    mask = dust(seed=5)
    a = fill(FillRequest(image, mask, "manifold", seed=7))
    b = fill(FillRequest(image, mask, "manifold", seed=7))
    c = fill(FillRequest(image, mask, "manifold", seed=8))
    np.testing.assert_array_equal(a, b)
    assert (a != c)[mask].mean() > 0.05


def test_cancelling_a_batched_fill_leaves_the_input_untouched(method, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    image = synthetic_photo(320, 480)
    mask = dust()
    before, mask_before = image.copy(), mask.copy()
    batches = record_batches(method, monkeypatch)
    steps = fill_steps(FillRequest(image, mask, "manifold", seed=1))
    for event in steps:
        if event.fraction > 0.3 and batches:
            break  # a third of the regions pasted, some in batches
    else:
        pytest.fail("the fill ended before it could be cancelled")
    steps.close()
    np.testing.assert_array_equal(image, before)
    np.testing.assert_array_equal(mask, mask_before)


def test_each_crops_hole_is_measured_once(method, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """One distance transform per crop: the batch key, the thin-hole test, the net's scale and
    the texture's guide weight all read the measure the pipeline hands down."""
    measured: list[tuple[int, ...]] = []
    original = geometry.distance_to_known

    def counting(hole: np.ndarray) -> np.ndarray:
        measured.append(hole.shape)
        return original(hole)

    monkeypatch.setattr(geometry, "distance_to_known", counting)
    image = synthetic_photo(320, 480)
    mask = dust()
    mask[100:160, 200:280] = True  # a box among the specks: texture, and crops it reaches
    fill(FillRequest(image, mask, "manifold", seed=1))
    assert len(measured) == len(plan_regions(mask, method))
