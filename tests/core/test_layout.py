"""The layout manifold: its VAE, prior, training task, shipped-model loading, generation and
fusion, on small synthetic images with a tiny network trained for a few steps."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from core.base.errors import InpaintError, ModelError
from core.base.progress import run_to_end
from core.base.weights import read_manifest
from core.layout import data as layout_data
from core.layout.export import export_checkpoint
from core.layout.generate import (
    Generation,
    fuse_steps,
    fused_code,
    generate_steps,
    parse_size,
    preview,
)
from core.layout.model import LayoutModel
from core.layout.net import LayoutVAE, NetConfig
from core.layout.prior import fit_prior, unwhiten, whiten
from core.layout.texturing import Exemplar, fit_height, match_colours
from core.layout.train import TrainConfig, train_steps
from tests.conftest import synthetic_photo

TINY = NetConfig(size=32, z_dim=6, widths=(4, 8, 8, 8))


def _photo_folder(root: Path) -> Path:
    for sub, count in (("train", 5), ("val", 2)):
        (root / sub).mkdir(parents=True)
        for i in range(count):
            cv2.imwrite(
                str(root / sub / f"{i}.png"), synthetic_photo(60, 90, seed=i + 20 * len(sub))
            )
    return root


def _config(**changes) -> TrainConfig:
    base = dict(batch=4, steps=3, warmup=1, kl_warmup=1, val_every=3, ckpt_every=1, log_every=1)
    return TrainConfig(**{**base, **changes})


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """(training folder, models folder) of a tiny layout model trained 3 steps and exported."""
    root = tmp_path_factory.mktemp("layout")
    data = _photo_folder(root / "data")
    run_to_end(train_steps(_config(), data, root / "run", TINY, log=lambda _: None))
    models = root / "models"
    export_checkpoint(root / "run" / "best.pt", models)
    return root / "run", models


@pytest.fixture(scope="module")
def model(trained) -> LayoutModel:
    return LayoutModel.load(trained[1])


def _exemplar(seed: int = 3, h: int = 48, w: int = 64) -> Exemplar:
    return Exemplar(synthetic_photo(h, w, seed=seed).astype(np.float32) / 255.0)


# -- network, prior, data -----------------------------------------------------------------


def test_net_shapes_and_range() -> None:
    net = LayoutVAE(TINY)
    with torch.no_grad():
        mu, logvar = net.encode(torch.rand(2, 3, 32, 32))
        out = net.decode(mu)
    assert mu.shape == logvar.shape == (2, 6)
    assert out.shape == (2, 3, 32, 32)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_fitted_prior_whitens_the_codes_it_was_fitted_on() -> None:
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(4, 4)) * np.array([3.0, 1.0, 0.5, 0.1])
    codes = rng.normal(size=(4000, 4)) @ mixing.T + 2.0
    mean, basis = fit_prior(codes, np.zeros_like(codes))
    white = whiten(codes, mean, basis)
    np.testing.assert_allclose(np.cov(white, rowvar=False), np.eye(4), atol=0.05)
    np.testing.assert_allclose(unwhiten(white, mean, basis), codes, atol=1e-3)
    # Largest axis first: the first slider moves the most.
    lengths = np.linalg.norm(basis, axis=0)
    assert np.all(np.diff(lengths) <= 1e-6)


def test_split_holds_out_val(tmp_path: Path) -> None:
    train, held = layout_data.split_files(_photo_folder(tmp_path))
    assert len(train) == 5 and len(held) == 2
    assert all(p.parent.name == "val" for p in held)
    assert not set(train) & set(held)


def test_random_samples_are_seeded_squares_in_range() -> None:
    image = synthetic_photo(96, 144, seed=1)
    a = layout_data.random_batch([image], np.random.default_rng(5), 3, 32)
    b = layout_data.random_batch([image], np.random.default_rng(5), 3, 32)
    c = layout_data.random_batch([image], np.random.default_rng(6), 3, 32)
    assert a.shape == (3, 3, 32, 32) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= 0.0 and a.max() <= 1.0


# -- training, export, loading ----------------------------------------------------------------


def test_training_logs_validation_and_exports_a_listed_model(trained) -> None:
    run, models = trained
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    val = [r["val"] for r in records if "val" in r][-1]
    for key in ("psnr", "psnr_blur", "kl", "fitted_std", "fitted_pair_min"):
        assert np.isfinite(val[key])
    entry = {m["name"]: m for m in read_manifest(models)["models"]}["layout"]
    assert entry["file"] == "layout.safetensors" and len(entry["sha256"]) == 64
    assert "SOURCES.md" in entry["data"]
    assert entry["training"]["steps"] == 3


def test_resumed_training_continues_from_its_checkpoint(tmp_path: Path) -> None:
    data = _photo_folder(tmp_path / "data")
    out = tmp_path / "run"
    run_to_end(train_steps(_config(steps=2), data, out, TINY, log=lambda _: None))
    result = run_to_end(train_steps(_config(steps=3), data, out, TINY, log=lambda _: None))
    steps = [json.loads(x).get("step") for x in (out / "log.jsonl").read_text().splitlines()]
    assert result["step"] == 3 and steps.count(1) == 1  # step 1 was not trained twice


def test_a_corrupt_model_file_is_refused(trained, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    for path in trained[1].iterdir():
        (models / path.name).write_bytes(path.read_bytes())
    weights = models / "layout.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelError, match="does not match its manifest"):
        LayoutModel.load(models)


# -- generation ---------------------------------------------------------------------------------


def test_generation_is_reproducible_and_seeds_differ(model) -> None:
    ex = _exemplar()
    first = run_to_end(generate_steps(model, Generation(4, 40, 30), ex))
    again = run_to_end(generate_steps(model, Generation(4, 40, 30), ex))
    other = run_to_end(generate_steps(model, Generation(5, 40, 30), ex))
    assert first.shape == (30, 40, 3) and first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_layout_only_generation_is_the_decoded_code_upsampled(model) -> None:
    out = run_to_end(generate_steps(model, Generation(2, 48, 24, texture=False), None))
    expected = preview(model, model.sample(2), 48, 24)
    np.testing.assert_array_equal(out, expected)


def test_sliders_move_the_layout_and_zero_sliders_do_not(model) -> None:
    base = run_to_end(generate_steps(model, Generation(1, 32, 32, texture=False), None))
    zero = run_to_end(generate_steps(model, Generation(1, 32, 32, (0.0, 0.0), False), None))
    moved = run_to_end(generate_steps(model, Generation(1, 32, 32, (3.0,), False), None))
    np.testing.assert_array_equal(base, zero)
    assert np.abs(moved - base).mean() > 0
    with pytest.raises(InpaintError, match="sliders"):
        model.with_sliders(model.sample(1), [1.0] * (model.z_dim + 1))


def test_texture_brings_the_exemplars_detail(model) -> None:
    ex = _exemplar(h=64, w=96)
    flat = run_to_end(generate_steps(model, Generation(0, 64, 64, texture=False), None))
    textured = run_to_end(generate_steps(model, Generation(0, 64, 64), ex))

    def detail(image):
        return np.abs(np.diff(image, axis=1)).mean()

    assert detail(textured) > detail(flat)


def test_fitting_an_exemplar_keeps_its_damage_out_of_reach() -> None:
    avoid = np.zeros((40, 80), bool)
    avoid[10, 20] = True
    fitted = fit_height(Exemplar(np.ones((40, 80, 3), np.float32), avoid), 20, 30)
    assert fitted.image.shape == (20, 30, 3)
    assert fitted.avoid is not None and fitted.avoid.shape == (20, 30) and fitted.avoid.any()


# -- fusion -------------------------------------------------------------------------------------


def test_fusion_endpoints_are_the_photos_own_decodes(model) -> None:
    a, b = _exemplar(1), _exemplar(2)
    for t, photo in ((0.0, a), (1.0, b)):
        fused = run_to_end(fuse_steps(model, a, b, t, "none", (40, 30)))
        own = preview(model, model.encode(photo.image), 40, 30)
        np.testing.assert_allclose(fused, own, atol=1e-5)
    half = fused_code(model, a.image, b.image, 0.5)
    assert not np.allclose(half, model.encode(a.image))


def test_fusion_default_size_follows_a(model) -> None:
    out = run_to_end(fuse_steps(model, _exemplar(1, 30, 60), _exemplar(2), 0.5, "b"))
    assert out.shape == (30, 60, 3)


@pytest.mark.parametrize("t", [-0.1, 1.5, float("nan")])
def test_fusion_refuses_t_outside_0_1(model, t) -> None:
    with pytest.raises(InpaintError, match="between 0 and 1"):
        run_to_end(fuse_steps(model, _exemplar(1), _exemplar(2), t))


@pytest.mark.parametrize("text", ["512", "0x10", "axb", "10x99999"])
def test_bad_sizes_are_refused(text) -> None:
    with pytest.raises(InpaintError, match="size"):
        parse_size(text)


def test_the_most_detailed_part_of_a_wide_exemplar_is_kept() -> None:
    image = np.full((20, 100, 3), 0.5, np.float32)
    image[:, 70:90:2] = 0.9  # stripes on the right only
    fitted = fit_height(Exemplar(image), 20, 30)
    assert fitted.image.shape == (20, 30, 3)
    assert fitted.image.std() > 0.1


def test_colour_matching_moves_the_layout_to_the_exemplars_palette() -> None:
    layout = np.zeros((16, 16, 3), np.float32)
    layout[..., 2] = np.linspace(0.5, 0.9, 16)  # blue
    red = Exemplar(np.zeros((8, 8, 3), np.float32) + np.array([0.8, 0.1, 0.1], np.float32))
    half = match_colours(layout, [red], 0.5)
    full = match_colours(layout, [red], 1.0)
    np.testing.assert_array_equal(match_colours(layout, [red], 0.0), layout)
    assert full[..., 0].mean() > half[..., 0].mean() > layout[..., 0].mean()
    with pytest.raises(InpaintError, match="colour match"):
        Generation(0, 32, 32, colour_match=1.5)
