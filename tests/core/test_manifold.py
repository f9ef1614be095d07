"""The manifold method with a tiny random network: shapes, seeds, the encode/decode split, the
pipeline contract, model-file checks; and the shipped weights when they are present."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from core.base.errors import InpaintError, ModelError
from core.base.resources import MODELS_DIR
from core.manifold.directions import directions_for
from core.manifold.method import ManifoldFill, choose_internal_scale
from core.manifold.net import ManifoldNet, NetConfig, blur121
from core.manifold.options import ManifoldOptions
from core.methods.base import CropContext
from core.methods.geometry import BLEND_BAND
from core.pipeline import registry
from core.pipeline.session import FillRequest, fill
from tests.conftest import drain, synthetic_photo

TINY = NetConfig(widths=(8, 8, 16, 16, 16), z_dim=4)


def tiny_net(seed: int = 0) -> ManifoldNet:
    torch.manual_seed(seed)
    net = ManifoldNet(TINY)
    # The last layer and the z projections start at zero (a trained net's are not); randomise
    # everything so that z visibly matters.
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return net


@pytest.fixture
def method() -> ManifoldFill:
    return ManifoldFill.from_net(tiny_net())


def crop_and_hole(h: int = 48, w: int = 64) -> tuple[np.ndarray, np.ndarray]:
    crop = synthetic_photo(h, w).astype(np.float32) / 255.0
    hole = np.zeros((h, w), bool)
    hole[16:30, 20:40] = True
    crop[hole] = 0.0
    return crop, hole


def test_net_shapes_and_encode_decode_equals_forward() -> None:
    net = tiny_net().eval()
    x = torch.rand(2, 3, 32, 48)
    hole = torch.zeros(2, 1, 32, 48)
    hole[..., 8:20, 10:30] = 1
    enc = net.encode(x * (1 - hole), hole, x)
    assert enc.prior_mu.shape == enc.prior_logvar.shape == (2, TINY.z_dim)
    with torch.no_grad():
        out = net.decode(enc, enc.prior_mu)
        full = net(x * (1 - hole), hole, x, None)
    assert out.shape == x.shape
    assert torch.allclose(out, full)


def test_upsampling_blur_removes_the_pixel_shuffle_grid() -> None:
    """A uniform feature change (what z's FiLM shift is) comes out of 1x1 conv + pixel
    shuffle as a period-2 pattern; the decoder's blur leaves it flat."""
    torch.manual_seed(0)
    up = torch.nn.Conv2d(16, 4 * 8, 1)
    uniform = torch.ones(1, 16, 6, 6) * torch.randn(1, 16, 1, 1)
    with torch.no_grad():
        shuffled = torch.nn.functional.pixel_shuffle(up(uniform), 2)
        blurred = blur121(shuffled)
    grid = shuffled[..., 1:-1, 1:-1]
    assert (grid - grid.mean(dim=(2, 3), keepdim=True)).abs().amax() > 0.05
    flat = blurred[..., 1:-1, 1:-1]
    assert (flat - flat.mean(dim=(2, 3), keepdim=True)).abs().amax() < 1e-5
    # A smooth ramp passes unchanged: the blur only takes out the finest pattern.
    ramp = torch.linspace(0, 1, 12).view(1, 1, 1, 12).expand(1, 1, 12, 12)
    torch.testing.assert_close(blur121(ramp)[..., 1:-1], ramp[..., 1:-1])


def test_up_blur_is_a_switch_on_the_same_weights() -> None:
    """Weights trained without the blur load into a net with it (it has none of its own);
    configs stored before the switch existed read as blur off."""
    plain, blurred = tiny_net(), ManifoldNet(NetConfig(**{**TINY.to_dict(), "up_blur": True}))
    blurred.load_state_dict(plain.state_dict())
    assert NetConfig.from_dict({"widths": [8, 8, 16, 16, 16], "z_dim": 4}).up_blur is False
    assert NetConfig.from_dict(blurred.config.to_dict()).up_blur is True
    x = torch.rand(1, 3, 32, 32)
    hole = torch.zeros(1, 1, 32, 32)
    hole[..., 8:24, 8:24] = 1
    with torch.no_grad():
        a = plain.eval()(x * (1 - hole), hole, x, None)
        b = blurred.eval()(x * (1 - hole), hole, x, None)
        c = ManifoldNet(replace(blurred.config, up_blur_full_res=False))
        c.load_state_dict(plain.state_dict())
        c = c.eval()(x * (1 - hole), hole, x, None)
    assert not torch.allclose(a, b)
    assert not torch.allclose(b, c) and not torch.allclose(a, c)


def test_thin_holes_get_the_biharmonic_fill_unless_thin_hole_px_is_0(
    method: ManifoldFill,
) -> None:
    from core.methods.classical import BiharmonicInpaint

    crop = synthetic_photo(48, 64).astype(np.float32) / 255.0
    crack = np.zeros((48, 64), bool)
    crack[10:40, 30:33] = True  # 3 px wide: every hole pixel within 2 px of a known one
    crack[20:23, 8:56] = True
    biharmonic = BiharmonicInpaint().fill(crop, crack, CropContext())
    np.testing.assert_array_equal(method.fill(crop, crack, CropContext(seed=3)), biharmonic)
    assert method.batch_key(crack, CropContext()) is None
    # The sliders steer thick holes only: a crack keeps its biharmonic fill.
    sliders = CropContext(seed=3, options=ManifoldOptions(sliders=(2.0, -1.0)))
    np.testing.assert_array_equal(method.fill(crop, crack, sliders), biharmonic)
    net = method.fill(crop, crack, CropContext(options=ManifoldOptions(thin_hole_px=0)))
    assert np.abs(net - biharmonic)[crack].max() > 1e-3
    # A 14 x 20 hole is 7 px thick: the net's.
    thick_crop, thick = crop_and_hole()
    net = method.fill(thick_crop, thick, CropContext())
    assert (
        np.abs(net - BiharmonicInpaint().fill(thick_crop, thick, CropContext()))[thick].max() > 1e-3
    )


def test_fill_keeps_shape_and_known_pixels(method: ManifoldFill) -> None:
    crop, hole = crop_and_hole(45, 61)  # not a multiple of 16: the method pads itself
    out = method.fill(crop, hole, CropContext())
    assert out.shape == crop.shape and out.dtype == np.float32
    assert np.array_equal(out[~hole], crop[~hole])
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_same_seed_same_pixels_other_seed_other_fill(method: ManifoldFill) -> None:
    crop, hole = crop_and_hole()
    a = method.fill(crop, hole, CropContext(seed=5))
    b = ManifoldFill.from_net(tiny_net()).fill(crop, hole, CropContext(seed=5))
    c = method.fill(crop, hole, CropContext(seed=6))
    mean = method.fill(crop, hole, CropContext())
    assert np.array_equal(a, b)
    assert np.abs(a - c)[hole].mean() > 1e-4
    assert np.abs(a - mean)[hole].mean() > 1e-4
    # sample=False keeps the prior mean even with a seed.
    assert np.array_equal(
        method.fill(crop, hole, CropContext(seed=5, options=ManifoldOptions(sample=False))), mean
    )


def test_encode_once_decode_many_matches_full_passes(method: ManifoldFill) -> None:
    crop, hole = crop_and_hole()
    cache = method.encode(crop, hole)
    assert cache.prior_mean.shape == cache.prior_std.shape == (method.latent_dim,)
    zs = [method.sample_z(cache, seed) for seed in range(3)]
    decoded = [method.decode(cache, z) for z in zs]
    net_only = ManifoldOptions(texture=False, guide_spread=1.0)
    for seed, out in enumerate(decoded):
        fresh = ManifoldFill.from_net(tiny_net())
        full = fresh.fill(crop, hole, CropContext(seed=seed, options=net_only))
        np.testing.assert_allclose(out, full, atol=1e-6)


def test_sliders_move_the_fill_in_prior_std_units_along_the_directions(
    method: ManifoldFill,
) -> None:
    crop, hole = crop_and_hole()
    net_only = ManifoldOptions(texture=False, guide_spread=1.0)
    base = method.fill(crop, hole, CropContext(options=net_only))
    moved = method.fill(crop, hole, CropContext(options=replace(net_only, sliders=(1.0,))))
    cache = method.encode(crop, hole)
    first = directions_for(method).vectors[0]
    direct = method.decode(cache, cache.prior_mean + first * cache.prior_std)
    assert np.abs(moved - base)[hole].mean() > 1e-4
    np.testing.assert_allclose(moved, direct, atol=1e-6)
    too_many = (0.0,) * TINY.z_dim + (1.0,)
    with pytest.raises(InpaintError, match="slider"):
        method.fill(crop, hole, CropContext(options=ManifoldOptions(sliders=too_many)))


def striped_crop(h: int = 80, w: int = 112) -> tuple[np.ndarray, np.ndarray]:
    """Fine diagonal stripes over a colour ramp with a 36 px box hole (its pixels 6 px from
    known ones on average, over TEXTURE_MIN_PX): texture a smooth fill lacks."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    stripes = 0.5 + 0.35 * np.sign(np.sin((x + y) * np.pi / 3))
    crop = np.stack([stripes, 0.3 + 0.4 * x / w, stripes * 0.6], axis=2).astype(np.float32)
    hole = np.zeros((h, w), bool)
    hole[22:58, 38:74] = True
    crop[hole] = 0.0
    return crop, hole


def _detail(image: np.ndarray, hole: np.ndarray) -> float:
    gy, gx = np.gradient(image.mean(axis=2))
    return float(np.hypot(gx, gy)[hole].mean())


def test_thick_holes_take_texture_from_the_photo_guided_by_the_net(method: ManifoldFill) -> None:
    crop, hole = striped_crop()
    net_only = method.fill(crop, hole, CropContext(options=ManifoldOptions(texture=False)))
    textured = method.fill(crop, hole, CropContext())
    assert np.array_equal(textured[~hole], crop[~hole])
    # The stripes continue into the hole: far more gradient than the net's smooth fill, about
    # as much as the stripes have where they are known.
    assert _detail(textured, hole) > 3 * _detail(net_only, hole)
    assert _detail(textured, hole) > 0.5 * _detail(crop, ~hole)
    assert np.array_equal(textured, method.fill(crop, hole, CropContext()))
    _, prepared = drain(method.prepare_steps(crop, hole, CropContext()))
    assert method.describe(prepared, ManifoldOptions()) == "texture"
    assert method.describe(prepared, ManifoldOptions(texture=False)) == "net"


def test_deep_holes_hold_the_guide_loosely(method: ManifoldFill, monkeypatch) -> None:
    from core import texture
    from core.manifold.method import LOOSE_GUIDE_WEIGHT, guide_weight_for

    assert guide_weight_for(10.0) == 1.0 and guide_weight_for(24.0) == 1.0
    assert guide_weight_for(30.0) == pytest.approx(0.5 * (1.0 + LOOSE_GUIDE_WEIGHT))
    assert guide_weight_for(36.0) == LOOSE_GUIDE_WEIGHT == guide_weight_for(80.0)
    used: list[float] = []
    real = texture.synthesize_steps

    def spy(*args, options=None):  # type: ignore[no-untyped-def]
        used.append(options.guide_weight)
        return real(*args, options=options)

    monkeypatch.setattr(texture, "synthesize_steps", spy)
    crop, hole = striped_crop()  # pixels 6 px from known ones on average
    method.fill(crop, hole, CropContext())
    big, _ = striped_crop(280, 280)
    deep = np.zeros(big.shape[:2], bool)
    deep[20:260, 20:260] = True  # a 240 px square: its pixels 40 px from known ones on average
    big[deep] = 0.0
    method.fill(big, deep, CropContext())
    assert used == [1.0, LOOSE_GUIDE_WEIGHT]


def test_narrow_strokes_keep_the_nets_fill(method: ManifoldFill) -> None:
    """A 6 px stroke's pixels are 1.5 px from known ones on average: no texture there."""
    crop, _ = striped_crop()
    hole = np.zeros(crop.shape[:2], bool)
    hole[37:43, 10:100] = True
    crop[hole] = 0.0
    _, prepared = drain(method.prepare_steps(crop, hole, CropContext(options=ManifoldOptions(
        thin_hole_px=0.0))))  # fmt: skip
    assert method.describe(prepared, ManifoldOptions()) == "net"
    assert method.describe(prepared, ManifoldOptions(texture_min_px=1.0)) == "texture"


def test_narrow_strokes_take_their_colour_from_around_them(method: ManifoldFill) -> None:
    """On a sepia crop the net's own chroma drifts; a narrow stroke keeps the net's lightness
    with the colour of its surroundings."""
    import cv2

    crop = np.empty((64, 96, 3), np.float32)
    crop[:] = (0.62, 0.52, 0.38)
    crop += np.linspace(-0.1, 0.1, 96, dtype=np.float32)[None, :, None]
    hole = np.zeros(crop.shape[:2], bool)
    hole[30:36, 8:88] = True
    crop[hole] = 0.0
    options = ManifoldOptions(thin_hole_px=0.0)

    def chroma_error(fill: np.ndarray) -> float:
        lab = cv2.cvtColor(fill, cv2.COLOR_RGB2Lab)
        ring = cv2.dilate(hole.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) & ~hole
        return float(np.abs(lab[hole][:, 1:].mean(0) - lab[ring][:, 1:].mean(0)).max())

    recoloured = method.fill(crop, hole, CropContext(options=options))
    raw = method.fill(crop, hole, CropContext(options=replace(options, texture=False)))
    assert chroma_error(recoloured) < 1.0 < chroma_error(raw)


def test_a_sampled_guide_moves_spread_times_as_far_as_the_net_put_it(
    method: ManifoldFill,
) -> None:
    crop, hole = crop_and_hole()
    cache = method.encode(crop, hole)
    mean, sampled = method.decode(cache), method.decode(cache, method.sample_z(cache, 3))
    spread = method.fill(
        crop, hole, CropContext(seed=3, options=ManifoldOptions(texture=False, guide_spread=2.0))
    )
    np.testing.assert_allclose(spread, np.clip(mean + 2.0 * (sampled - mean), 0, 1), atol=1e-6)
    # The most likely fill is not spread: nothing moved it.
    most_likely = method.fill(crop, hole, CropContext(options=ManifoldOptions(texture=False)))
    np.testing.assert_allclose(most_likely, mean, atol=1e-6)


def test_bad_options_are_clear_errors() -> None:
    for bad in (
        {"temperature": -1.0},
        {"refine_steps": 2.5},
        {"max_hole_radius": 0.0},
        {"thin_hole_px": float("nan")},
        {"sliders": (1.0, float("inf"))},
        {"guide_spread": -1.0},
        {"texture_min_px": float("nan")},
    ):
        with pytest.raises(InpaintError):
            ManifoldOptions(**bad)
    with pytest.raises(TypeError):
        ManifoldOptions(refine=3)  # type: ignore[call-arg]  # a misspelt option is no option
    image = synthetic_photo(40, 40)
    mask = np.zeros((40, 40), bool)
    mask[10:20, 10:20] = True
    with pytest.raises(InpaintError, match="telea"):
        fill(FillRequest(image, mask, "telea", options=ManifoldOptions()))


def test_refine_reports_progress_and_returns_a_fill(method: ManifoldFill) -> None:
    crop, hole = crop_and_hole()
    steps = method.fill_steps(crop, hole, CropContext(options=ManifoldOptions(refine_steps=3)))
    events, out = drain(steps)
    assert len(events) >= 4
    assert [e.fraction for e in events] == sorted(e.fraction for e in events)
    assert np.array_equal(out[~hole], crop[~hole])


def test_internal_scale_follows_hole_thickness() -> None:
    hole = np.zeros((400, 400), bool)
    hole[100:104, 50:350] = True  # a 4-px scratch
    assert choose_internal_scale(hole) == 1.0
    hole[50:350, 50:350] = True  # a 300-px box: 150 px from known pixels
    assert choose_internal_scale(hole) == 0.25
    assert choose_internal_scale(hole, max_radius=16) == 0.0625 * 2  # never below 1/8


def test_pipeline_leaves_known_pixels_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.LOADED, ("manifold", "cpu"), ManifoldFill.from_net(tiny_net()))
    image = synthetic_photo(120, 160)
    mask = np.zeros(image.shape[:2], bool)
    mask[30:70, 40:100] = True
    mask[100, 10:150] = True
    out = fill(FillRequest(image=image, mask=mask, method="manifold", seed=3))
    import cv2

    distance = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)
    far = distance > BLEND_BAND + 0.5
    assert np.array_equal(out[far], image[far])
    assert not np.array_equal(out[mask], image[mask])


def _export_tiny(models_dir: Path, tmp_path: Path) -> ManifoldNet:
    from core.manifold.export import export_checkpoint
    from core.manifold.train import TrainConfig
    from core.training.loop import save_checkpoint

    net = tiny_net()
    save_checkpoint(
        tmp_path / "best.pt",
        {
            "model": net.state_dict(),
            "optim": {},
            "step": 7,
            "best": 20.0,
            "net_config": json.dumps(TINY.to_dict()),
            "train_config": json.dumps(TrainConfig().__dict__),
            "val": json.dumps({}),
            "elapsed_s": 1.0,
        },
    )
    export_checkpoint(tmp_path / "best.pt", models_dir)
    return net


def test_exported_model_loads_and_matches(tmp_path: Path) -> None:
    models = tmp_path / "models"
    net = _export_tiny(models, tmp_path)
    loaded = ManifoldFill(models_dir=models)
    reference = ManifoldFill.from_net(net)
    crop, hole = crop_and_hole()
    a = loaded.fill(crop, hole, CropContext())
    b = reference.fill(crop, hole, CropContext())
    np.testing.assert_allclose(a, b, atol=5e-3)  # weights are stored as float16
    manifest = json.loads((models / "manifest.json").read_text())
    assert manifest["models"][0]["training"]["steps"] == 7


def test_model_file_with_wrong_sha256_is_refused(tmp_path: Path) -> None:
    models = tmp_path / "models"
    _export_tiny(models, tmp_path)
    weights = models / "manifold.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in the last tensor
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match its manifest"):
        ManifoldFill(models_dir=models)


def test_missing_manifest_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="manifest"):
        ManifoldFill(models_dir=tmp_path)


def test_shipped_weights_fill_a_photo() -> None:
    if not (MODELS_DIR / "manifold.safetensors").is_file():
        pytest.skip("no shipped manifold weights")
    ok, reason = ManifoldFill.availability()
    assert ok, reason
    method = ManifoldFill()
    crop, hole = crop_and_hole(96, 128)
    mean = method.fill(crop, hole, CropContext())
    assert np.array_equal(mean[~hole], crop[~hole])
    # The classical fill alone is a lower bar a trained model clears on a smooth photo.
    truth = synthetic_photo(96, 128).astype(np.float32) / 255.0
    error = np.abs(mean - truth)[hole].mean()
    assert error < 0.1
