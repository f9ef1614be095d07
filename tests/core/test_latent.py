"""The manifold latent with a tiny random network: directions, exact parity with the pipeline
(and so with the CLI), compositing limited to holes + band, determinism, fusion endpoints."""

from __future__ import annotations

import numpy as np
import pytest

from core.base.errors import InpaintError
from core.base.interpolation import slerp
from core.base.masks import grow
from core.base.progress import run_to_end
from core.manifold.directions import (
    directions_for,
    probe_crops,
    response_directions,
    sefa_directions,
    z_weights,
)
from core.manifold.method import ManifoldFill
from core.manifold.options import Blend, LatentSetting, ManifoldOptions, parse_directions
from core.methods.geometry import BLEND_BAND
from core.pipeline.latent import LatentSession
from core.pipeline.session import FillRequest, fill
from tests.conftest import synthetic_photo
from tests.core.test_manifold import tiny_net


@pytest.fixture
def method() -> ManifoldFill:
    return ManifoldFill.from_net(tiny_net())


@pytest.fixture
def scene() -> tuple[np.ndarray, np.ndarray]:
    image = synthetic_photo(120, 161)
    mask = np.zeros(image.shape[:2], bool)
    mask[40:70, 50:95] = True
    return image, mask


def pipeline_fill(method, image, mask, setting: LatentSetting) -> np.ndarray:  # type: ignore[no-untyped-def]
    options = ManifoldOptions(sliders=setting.sliders)
    from core.pipeline import registry

    registry.LOADED[("manifold", "cpu")] = method  # the pipeline looks methods up by name
    try:
        return fill(FillRequest(image, mask, "manifold", setting.seed, "cpu", options))
    finally:
        del registry.LOADED[("manifold", "cpu")]


def test_directions_are_orthonormal_and_ordered_by_strength(method: ManifoldFill) -> None:
    d = sefa_directions(method.net)
    assert d.vectors.shape == (method.latent_dim, method.latent_dim)
    np.testing.assert_allclose(d.vectors @ d.vectors.T, np.eye(len(d)), atol=1e-5)
    assert np.all(np.diff(d.strength) <= 1e-6)
    # strength is what it says: how strongly the z-consuming weights answer a unit step.
    a = z_weights(method.net)
    np.testing.assert_allclose(np.linalg.norm(a @ d.vectors.T, axis=0), d.strength, rtol=1e-4)
    # Deterministic signs: the same net gives the same directions.
    np.testing.assert_array_equal(sefa_directions(method.net).vectors, d.vectors)


def test_response_directions_are_orthonormal_and_ordered_by_measured_change(
    method: ManifoldFill,
) -> None:
    d = response_directions(method)
    np.testing.assert_allclose(d.vectors @ d.vectors.T, np.eye(len(d)), atol=1e-5)
    assert np.all(np.diff(d.strength) <= 1e-6) and d.strength[0] > 0
    # The order is the measured one: a step along direction 1 changes the probe holes more
    # than a step along the last direction.

    crop, hole = probe_crops()[0]
    cache = method.encode(crop, hole)

    def change(v: np.ndarray) -> float:
        z = cache.prior_mean + cache.prior_std * 2.0 * v
        return float(np.abs(method.decode(cache, z) - method.decode(cache, None))[hole].mean())

    assert change(d.vectors[0]) > change(d.vectors[-1])
    assert directions_for(method) is directions_for(method)  # computed once per model


def test_render_matches_the_pipeline_exactly(method: ManifoldFill, scene) -> None:  # type: ignore[no-untyped-def]
    image, mask = scene
    session = LatentSession(method, image, mask)
    for setting in (LatentSetting(), LatentSetting(7), LatentSetting(7, (1.5, 0.0, -2.0))):
        np.testing.assert_array_equal(
            session.render_image(setting), pipeline_fill(method, image, mask, setting)
        )


def test_sliders_change_only_holes_and_band_and_reset_is_exact(method: ManifoldFill, scene) -> None:  # type: ignore[no-untyped-def]
    image, mask = scene
    session = LatentSession(method, image, mask)
    likely = session.render_image(LatentSetting())
    moved = session.render_image(LatentSetting(None, (3.0,)))
    changed = (moved != likely).any(axis=2)
    assert changed[mask].mean() > 0.3
    assert not changed[~grow(mask, BLEND_BAND)].any()
    assert not (moved != image).any(axis=2)[~grow(mask, BLEND_BAND)].any()
    np.testing.assert_array_equal(session.render_image(LatentSetting(None, (0.0,))), likely)


def test_grain_matches_the_pipeline_and_changes_only_the_holes(method: ManifoldFill, scene) -> None:  # type: ignore[no-untyped-def]
    from core.pipeline import registry

    image, mask = scene
    session = LatentSession(method, image, mask)
    setting = LatentSetting(5)
    plain = session.render_image(setting)
    session.grain = True
    grained = session.render_image(setting)
    registry.LOADED[("manifold", "cpu")] = method
    try:
        request = FillRequest(image, mask, "manifold", 5, "cpu", ManifoldOptions(), grain=True)
        np.testing.assert_array_equal(grained, fill(request))
    finally:
        del registry.LOADED[("manifold", "cpu")]
    changed = (grained != plain).any(axis=2)
    assert changed[mask].mean() > 0.3 and not changed[~mask].any()


def test_same_setting_same_pixels_and_seeds_differ(method: ManifoldFill, scene) -> None:  # type: ignore[no-untyped-def]
    image, mask = scene
    a = LatentSession(method, image, mask).render(LatentSetting(3, (0.5, -1.0)))
    b = LatentSession(method, image, mask).render(LatentSetting(3, (0.5, -1.0)))
    np.testing.assert_array_equal(a, b)
    c = LatentSession(method, image, mask).render(LatentSetting(4, (0.5, -1.0)))
    assert (a != c).any()


def test_regions_whose_crops_touch_are_rendered_like_the_pipeline(method: ManifoldFill) -> None:
    image = synthetic_photo(100, 220)
    mask = np.zeros(image.shape[:2], bool)
    mask[30:60, 20:60] = True
    mask[35:55, 100:150] = True  # its crop overlaps the first hole's band: re-encoded per render
    session = LatentSession(method, image, mask)
    setting = LatentSetting(11, (1.0,))
    np.testing.assert_array_equal(
        session.render_image(setting), pipeline_fill(method, image, mask, setting)
    )


def test_blend_endpoints_are_the_variants(method: ManifoldFill, scene) -> None:  # type: ignore[no-untyped-def]
    image, mask = scene
    session = LatentSession(method, image, mask)
    a, b = LatentSetting(1), LatentSetting(2, (1.0,))
    np.testing.assert_array_equal(session.render(a, blend=Blend(b, 0.0)), session.render(a))
    np.testing.assert_array_equal(session.render(a, blend=Blend(b, 1.0)), session.render(b))
    middle = session.render(a, blend=Blend(b, 0.5))
    assert (middle != session.render(a)).any() and (middle != session.render(b)).any()


def test_slerp_keeps_the_norm_of_unit_codes() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(64), rng.standard_normal(64)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    for t in (0.25, 0.5, 0.75):
        assert np.linalg.norm(slerp(a, b, t)) == pytest.approx(1.0, abs=1e-5)


def test_generation_whole_image_is_the_hole(method: ManifoldFill) -> None:
    image = np.zeros((64, 64, 3), np.uint8)
    mask = np.ones((64, 64), bool)
    session = LatentSession(method, image, mask)
    out = session.render_image(LatentSetting(5))
    assert out.shape == image.shape and out.dtype == np.uint8
    assert out.std() > 0  # something was generated, not a blank


def test_parse_directions() -> None:
    assert parse_directions(["1=1.5", "3=-2"], 4) == (1.5, 0.0, -2.0)
    assert parse_directions([], 4) == ()
    for bad in ("0=1", "5=1", "x", "1:2"):
        with pytest.raises(InpaintError):
            parse_directions([bad], 4)


def test_cli_direction_reproduces_the_slider_setting(
    method: ManifoldFill, scene, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from core.base.imageio import Image, read_image, write_image
    from core.pipeline import registry
    from main import main

    image, mask = scene
    write_image(Image(image), tmp_path / "photo.png")
    write_image(Image((mask * 255).astype(np.uint8)[..., None]), tmp_path / "mask.png")
    monkeypatch.setitem(registry.LOADED, ("manifold", "cpu"), method)
    monkeypatch.setattr(ManifoldFill, "availability", classmethod(lambda cls: (True, "")))
    out = tmp_path / "out.png"
    args = ["fill", str(tmp_path / "photo.png"), "-m", str(tmp_path / "mask.png"), "-o", str(out)]
    args += ["--method", "manifold", "--device", "cpu", "--seed", "9"]
    assert main([*args, "--direction", "1=2", "--direction", "3=-1.5"]) == 0
    expected = LatentSession(method, image, mask).render_image(LatentSetting(9, (2.0, 0.0, -1.5)))
    np.testing.assert_array_equal(read_image(out).pixels, expected)
    assert main([*args, "--direction", "99=1", "--overwrite"]) != 0


def test_a_latent_render_returns_the_pipelines_result(method: ManifoldFill, scene) -> None:  # type: ignore[no-untyped-def]
    """The latent panel's session is one more caller of the one door: its renders are
    ``FillResult`` s carrying the box, the changed boxes and each region's path."""
    image, mask = scene
    mask[100:102, 10:150] = True  # a 2-px scratch beside the box: the thin path
    session = LatentSession(method, image, mask)
    result = run_to_end(session.render_steps(LatentSetting(2)))
    assert result.paths == {"texture": 1, "thin-hole biharmonic": 1}
    assert result.box == session.box and result.source is image
    np.testing.assert_array_equal(
        result.image, pipeline_fill(method, image, mask, LatentSetting(2))
    )
    preview = run_to_end(session.render_steps(LatentSetting(2), textured=False))
    assert preview.paths == {"net": 1, "thin-hole biharmonic": 1}
