"""Damage detection: synthesis, both detectors, thresholds, tiling, weights check, CLI."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from core.base.errors import ModelError
from core.base.masks import grow
from core.base.progress import Progress, run_to_end
from core.base.weights import model_status
from core.detect import (
    FILL_GROW,
    DamageResult,
    detect,
    detect_steps,
    fill_mask,
    fill_probability,
    proposed_share,
    threshold_for_sensitivity,
    threshold_mask,
)
from core.detect.classical import classical_steps
from core.detect.net import (
    MODEL_NAME,
    DetectNet,
    DetectNetConfig,
    active_scales,
    load_net,
    predict_steps,
    receptive_radius,
)
from core.detect.synth import Damaged, synthesize
from main import main
from tests.conftest import drain, synthetic_photo

HAS_NET = model_status(MODEL_NAME)[0]
needs_net = pytest.mark.skipif(not HAS_NET, reason="the detect model is not shipped yet")


def damaged_photo(kind: str, seed: int = 1, noise: bool = False) -> Damaged:
    clean = synthetic_photo(192, 256, seed=3).astype(np.float32) / 255.0
    d = synthesize(clean, np.random.default_rng(seed), (kind,), noise=noise)
    d.image = np.rint(d.image * 255).astype(np.uint8)
    return d


def f1(pred: np.ndarray, d: Damaged) -> float:
    keep = ~d.ignore
    tp = (pred & d.mask & keep).sum()
    fp = (pred & ~d.mask & keep).sum()
    fn = (~pred & d.mask & keep).sum()
    return 2 * tp / max(1, 2 * tp + fp + fn)


def test_synthesis_is_seeded_and_labels_are_consistent():
    a, b = damaged_photo("scratch"), damaged_photo("scratch")
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)
    assert a.mask.dtype == np.bool_ and a.ignore.shape == a.mask.shape
    assert 0.002 < a.mask.mean() < 0.2
    # Outside the marks and their fringe the photo is untouched (noise=False).
    clean = synthetic_photo(192, 256, seed=3)
    far = cv2.dilate(a.mask.astype(np.uint8), np.ones((7, 7), np.uint8)) == 0
    assert np.abs(a.image[far].astype(int) - clean[far]).max() <= 1
    # Most hole pixels really changed: the labels are not invisible marks.
    changed = np.abs(a.image.astype(int) - clean).max(axis=2) > 8
    assert changed[a.mask].mean() > 0.6


@pytest.mark.parametrize("kind", ["scratch", "dust"])
def test_classical_detector_finds_synthetic_damage(kind):
    d = damaged_photo(kind)
    result = detect(d.image, method="classical")
    assert result.method == "classical"
    # A weak baseline: at its clean-photo threshold it misses faint marks.
    assert f1(result.mask, d) > 0.3


@needs_net
@pytest.mark.parametrize("kind", ["scratch", "dust"])
def test_shipped_net_finds_synthetic_damage_with_grain_and_jpeg(kind):
    d = damaged_photo(kind, seed=5, noise=True)
    result = detect(d.image, method="net")
    assert result.method == "net" and result.note == ""
    # Shipped net at its clean-photo threshold: about 0.7 here (0.3-0.5 for the classical).
    assert f1(result.mask, d) > 0.6


@pytest.mark.parametrize("method", ["classical", pytest.param("net", marks=needs_net)])
def test_clean_smooth_photo_flags_almost_nothing(method):
    result = detect(synthetic_photo(192, 256, seed=4), method=method)
    assert result.mask.mean() < 0.005


@pytest.mark.parametrize("method", ["classical", pytest.param("net", marks=needs_net)])
def test_a_flat_scan_frame_is_not_a_scratch(method):
    # Most Kodak photos, like many scans, start with a flat grey frame 2 px wide on two sides.
    photo = synthetic_photo(192, 256, seed=4)
    photo[:2, :] = photo[:, :2] = 99
    frame = np.zeros(photo.shape[:2], bool)
    frame[:3, :] = frame[:, :3] = True
    result = detect(photo, method=method)
    assert result.mask[frame].mean() < 0.05
    assert result.mask.mean() < 0.005


def test_marks_along_the_photos_edge_are_a_frame_not_damage():
    from core.detect import without_frame_lines

    probability = np.zeros((200, 300), np.float32)
    probability[20:180, 294:297] = 0.9  # a frame line 4 px in from the right edge
    probability[3:5, 40:260] = 0.8  # ... and one along the top
    probability[60:140, 150:153] = 0.9  # a crack in the picture, parallel to the side
    probability[150:153, 2:40] = 0.9  # a crack reaching the left edge across it
    out = without_frame_lines(probability, 0.5)
    assert not out[:, 290:].any() and not out[:8].any()
    assert (out[60:140, 150:153] == 0.9).all() and (out[150:153, 2:40] == 0.9).all()
    assert not (probability[:, 290:] == 0).all()  # the input is left as it was


def test_threshold_is_monotonic_and_cheap():
    prob = np.random.default_rng(0).random((64, 64), dtype=np.float32)
    masks = [threshold_mask(prob, t) for t in np.linspace(0, 1, 11)]
    for looser, stricter in itertools.pairwise(masks):
        assert not (stricter & ~looser).any()
    sliders = [threshold_for_sensitivity(s, 0.6) for s in np.linspace(0, 1, 21)]
    assert all(a >= b for a, b in itertools.pairwise(sliders))
    assert threshold_for_sensitivity(0.5, 0.6) == pytest.approx(0.6)
    assert not threshold_mask(prob, threshold_for_sensitivity(0.0, 0.6)).any()


@pytest.mark.parametrize(
    "image",
    [
        synthetic_photo(40, 50)[..., :1],
        np.dstack(
            [synthetic_photo(40, 50).astype(np.uint16) * 257, np.full((40, 50), 9, np.uint16)]
        ),
        synthetic_photo(40, 50).astype(np.float32) / 255.0,
        synthetic_photo(3, 5),
    ],
    ids=["gray-u8", "rgba-u16", "rgb-f32", "tiny"],
)
def test_shapes_and_dtypes(image):
    steps = detect_steps(image, method="classical")
    events, result = drain(steps)
    assert isinstance(result, DamageResult) and all(isinstance(e, Progress) for e in events)
    assert result.probability.shape == image.shape[:2] and result.probability.dtype == np.float32
    assert result.mask.shape == image.shape[:2] and result.mask.dtype == np.bool_
    assert result.probability.min() >= 0.0 and result.probability.max() <= 1.0
    assert np.array_equal(result.mask, threshold_mask(result.probability, result.threshold))
    assert fill_mask(result).sum() >= result.mask.sum()


def lively_net(config: DetectNetConfig) -> DetectNet:
    """A random net whose every pixel reaches the output (default init leaves it nearly flat,
    with many ReLUs dead)."""
    torch.manual_seed(0)
    net = DetectNet(config).eval()
    for module in net.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.normal_(module.weight, std=(2.0 / module.weight[0].numel()) ** 0.5)
            torch.nn.init.normal_(module.bias, std=0.1)
    return net


@pytest.mark.parametrize("levels", [3, 4])
def test_tiles_equal_one_pass(levels):
    rgb = damaged_photo("scratch").image.astype(np.float32) / 255.0
    rgb = np.concatenate([rgb, rgb[::-1]], 0)[:, :250]  # 384 x 250: uneven tiles
    net = lively_net(DetectNetConfig(width=4, levels=levels))
    whole = run_to_end(predict_steps(net, rgb, tile=1024))
    tiled = run_to_end(predict_steps(net, rgb, tile=96))
    assert whole.std() > 1e-3
    assert np.abs(whole - tiled).max() < 1e-4
    whole = run_to_end(classical_steps(rgb, tile=1024))
    tiled = run_to_end(classical_steps(rgb, tile=100))
    assert np.abs(whole - tiled).max() < 1e-4


@pytest.fixture
def models_dir(tmp_path) -> Path:
    """A models folder holding a random detect net, listed with its sha256."""
    from safetensors.torch import save_file

    from core.base.weights import sha256_file, write_manifest_entry
    from core.detect.net import state_to_tensors

    folder = tmp_path / "models"
    folder.mkdir()
    torch.manual_seed(0)
    save_file(state_to_tensors(DetectNet(DetectNetConfig(width=4))), str(folder / "d.safetensors"))
    (folder / "d.json").write_text(json.dumps({"width": 4, "threshold": 0.5}))
    entry = {"name": MODEL_NAME, "file": "d.safetensors", "config": "d.json"}
    write_manifest_entry(dict(entry, sha256=sha256_file(folder / "d.safetensors")), folder)
    return folder


@pytest.mark.parametrize("levels", [3, 4])
def test_receptive_radius_bounds_the_reach_of_one_output_pixel(levels):
    config = DetectNetConfig(width=4, levels=levels)
    net = lively_net(config)
    x = torch.randn(1, 3, 448, 448, requires_grad=True)
    net(x)[0, 0, 224, 224].backward()
    rows, cols = torch.nonzero(x.grad.abs().sum((0, 1)), as_tuple=True)
    reach = int(max(224 - rows.min(), rows.max() - 224, 224 - cols.min(), cols.max() - 224))
    # An upper bound, and a tight one (a loose bound would only make tiles slower).
    assert receptive_radius(config) - 8 <= reach <= receptive_radius(config)


def test_weights_that_do_not_match_the_manifest_fall_back_to_classical(models_dir):
    assert load_net(models_dir).config.width == 4
    weights = models_dir / "d.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match its manifest"):
        load_net(models_dir)
    image = synthetic_photo(32, 32)
    with pytest.raises(ModelError):
        detect(image, method="net", models_dir=models_dir)
    result = detect(image, method="auto", models_dir=models_dir)
    assert result.method == "classical" and "does not match its manifest" in result.note


def _write(path: Path, rgb: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def test_cli_detect_writes_a_0_255_mask_of_the_input_size(tmp_path, capsys):
    d = damaged_photo("scratch")
    photo = _write(tmp_path / "photo.jpg", d.image)
    out = tmp_path / "mask.png"
    assert main(["detect", str(photo), "-o", str(out), "--method", "classical"]) == 0
    mask = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert mask.ndim == 2 and mask.dtype == np.uint8 and mask.shape == d.mask.shape
    assert set(np.unique(mask)) <= {0, 255} and (mask == 255).any()
    # What it writes is the fill mask: the detection grown by FILL_GROW, one definition.
    pixels = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)  # as the JPEG reads back
    detected = detect(pixels, method="classical")
    assert np.array_equal(mask == 255, fill_mask(detected))
    assert np.array_equal(fill_mask(detected), grow(detected.mask, FILL_GROW))
    assert f"{proposed_share(fill_mask(detected)):.2%} of the photo proposed" in (
        capsys.readouterr().out
    )
    # Lower threshold, more damage; existing output refused without --overwrite.
    assert main(["detect", str(photo), "-o", str(out), "--method", "classical"]) == 1
    args = ["detect", str(photo), "-o", str(out), "--threshold", "0.3", "--overwrite"]
    assert main([*args, "--method", "classical"]) == 0
    assert (cv2.imread(str(out), cv2.IMREAD_UNCHANGED) == 255).sum() >= (mask == 255).sum()


def test_cli_detect_folder(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        _write(src / f"p{i}.png", damaged_photo("dust", seed=i).image)
    assert main(["detect", str(src), "-o", str(tmp_path / "masks")]) == 0
    assert sorted(p.name for p in (tmp_path / "masks").iterdir()) == ["p0.png", "p1.png"]


def test_fill_auto_mask_on_a_folder(tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    clean = synthetic_photo(192, 256, seed=3)
    cases = [damaged_photo("scratch", seed=i) for i in range(2)]
    for i, d in enumerate(cases):
        _write(src / f"p{i}.png", d.image)
    assert main(["fill", str(src), "--auto-mask", "-o", str(out), "--method", "telea"]) == 0
    for i, d in enumerate(cases):
        filled = cv2.cvtColor(cv2.imread(str(out / f"p{i}.png")), cv2.COLOR_BGR2RGB)
        assert filled.shape == d.image.shape
        before = np.abs(d.image.astype(int) - clean)[d.mask].mean()
        after = np.abs(filled.astype(int) - clean)[d.mask].mean()
        # The classical fallback misses most faint marks; the net finds more of them.
        assert after < (0.6 if HAS_NET else 0.85) * before
    assert main(["fill", str(src), "--auto-mask", "--mask", str(src), "-o", str(out)]) == 1
    assert "not both" in capsys.readouterr().err


def _tiny_corpus(root: Path) -> Path:
    corpus = root / "corpus"
    for part in ("train", "val"):
        (corpus / part).mkdir(parents=True)
        for i in range(2):
            _write(corpus / part / f"{i}.jpg", synthetic_photo(96, 128, seed=i))
    return corpus


def _train_detect(corpus: Path, out: Path, steps: int, *extra: str) -> int:
    common = ["train", "--model", "detect", "--data", str(corpus), "--out", str(out)]
    common += ["--batch", "2", "--crop", "64", "--width", "4", "--threads", "1"]
    common += ["--val-every", "100", "--ckpt-every", "1", "--steps", str(steps)]
    return main([*common, *extra])


def test_training_through_main_resumes_exactly_and_exports(tmp_path):
    corpus = _tiny_corpus(tmp_path)
    assert _train_detect(corpus, tmp_path / "a", 3) == 0
    assert _train_detect(corpus, tmp_path / "b", 1) == 0
    assert _train_detect(corpus, tmp_path / "b", 3) == 0
    a = torch.load(tmp_path / "a" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=True)
    assert a["step"] == b["step"] == 3
    assert all(torch.equal(a["net"][k], b["net"][k]) for k in a["net"])
    start = DetectNet(DetectNetConfig(width=4))
    assert not torch.equal(a["net"]["head.weight"], start.state_dict()["head.weight"])
    # Validation at the last step: val.jsonl as before, and the best checkpoint.
    records = [json.loads(line) for line in (tmp_path / "a" / "val.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [3]
    assert {"threshold", "scratch_f1", "dust_f1", "scratch_f1@0.5"} <= set(records[0])
    assert (tmp_path / "a" / "best.pt").is_file()
    assert json.loads((tmp_path / "a" / "args.json").read_text())["width"] == 4
    # Export: calibrated config, safetensors and a manifest entry that loading accepts.
    models = tmp_path / "models"
    args = ["train", "--model", "detect", "--out", str(tmp_path / "a"), "--export", str(models)]
    assert main(args) == 0
    net = load_net(models)
    assert net.config.width == 4 and 0.5 <= net.config.threshold <= 1.0
    entry = json.loads((models / "manifest.json").read_text())["models"][0]
    assert entry["training"]["command"].startswith("python main.py train --model detect --data")
    assert entry["training"]["steps"] == 3
    # A models folder starts a fine-tuning run too (its weights checked against the manifest).
    # (Another seed: its own random weights would be far from these.)
    extra = ["--init", str(models), "--phase-start", "3", "--seed", "5"]
    assert _train_detect(corpus, tmp_path / "c", 4, *extra) == 0
    tuned = torch.load(tmp_path / "c" / "last.pt", weights_only=True)
    assert tuned["step"] == 4
    assert torch.allclose(tuned["net"]["head.weight"], a["net"]["head.weight"], atol=0.02)


def test_a_checkpoint_of_the_earlier_trainer_resumes_exactly(tmp_path):
    corpus = _tiny_corpus(tmp_path)
    assert _train_detect(corpus, tmp_path / "a", 2) == 0
    assert _train_detect(corpus, tmp_path / "b", 1) == 0
    # The earlier trainer wrote only the weights, the optimiser and the step.
    state = torch.load(tmp_path / "b" / "last.pt", weights_only=True)
    old = tmp_path / "old"
    old.mkdir()
    torch.save({"net": state["net"], "opt": state["opt"], "step": 1}, old / "last.pt")
    assert _train_detect(corpus, old, 2) == 0
    a = torch.load(tmp_path / "a" / "last.pt", weights_only=True)["net"]
    resumed = torch.load(old / "last.pt", weights_only=True)
    assert resumed["step"] == 2 and all(torch.equal(a[k], resumed["net"][k]) for k in a)


def test_resuming_with_another_net_or_a_detect_flag_elsewhere_is_a_clear_error(tmp_path, capsys):
    corpus = _tiny_corpus(tmp_path)
    assert _train_detect(corpus, tmp_path / "a", 1) == 0
    assert _train_detect(corpus, tmp_path / "a", 2, "--width", "8") == 1
    assert "holds a net of width 4" in capsys.readouterr().err
    args = ["train", "--data", str(corpus), "--out", str(tmp_path / "m"), "--aged", "0.5"]
    assert main(args) == 1
    assert "--aged: only for --model detect" in capsys.readouterr().err


def test_fine_tuning_with_old_print_damage_in_bf16_resumes_and_exports_its_scales(tmp_path):
    corpus = _tiny_corpus(tmp_path)
    base = tmp_path / "base.safetensors"
    from safetensors.torch import save_file

    from core.detect.net import state_to_tensors

    torch.manual_seed(1)
    save_file(state_to_tensors(DetectNet(DetectNetConfig(width=4))), str(base))
    extra = ["--aged", "1", "--toned", "1", "--bf16", "--init", str(base), "--phase-start", "10"]
    assert _train_detect(corpus, tmp_path / "a", 12, *extra) == 0
    assert _train_detect(corpus, tmp_path / "b", 11, *extra) == 0
    assert _train_detect(corpus, tmp_path / "b", 12, *extra) == 0
    a = torch.load(tmp_path / "a" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=True)
    assert a["step"] == 12 and all(torch.allclose(a["net"][k], b["net"][k]) for k in a["net"])
    from safetensors.torch import load_file

    start = load_file(str(base))
    assert not torch.allclose(a["net"]["head.weight"], start["head.weight"])  # it trained
    assert torch.allclose(a["net"]["head.weight"], start["head.weight"], atol=0.05)  # from base
    models = tmp_path / "models"
    args = ["train", "--model", "detect", "--out", str(tmp_path / "a"), "--export", str(models)]
    assert main([*args, "--scales", "1,2"]) == 0
    assert load_net(models).config.scales == (1, 2)
    entry = json.loads((models / "manifest.json").read_text())["models"][0]
    assert "--aged 1.0 --toned 1.0 --bf16 --init" in entry["training"]["command"]
    assert "--scales 1,2" in entry["training"]["export"]


def test_soft_f1_term_is_one_minus_f1_on_confident_logits_and_skips_ignored_pixels():
    from core.detect.train import loss_fn

    target = torch.zeros(1, 1, 8, 8)
    target[..., 2:4, :] = 1.0  # 16 hole pixels
    weight = torch.ones_like(target)
    predicted = target.clone()
    predicted[..., 2, :] = 0.0  # 8 of them missed
    predicted[..., 6, :4] = 1.0  # 4 false alarms
    logits = (predicted * 2 - 1) * 40.0  # sigmoid is 0 or 1 to float precision
    bce_only = loss_fn(logits, target, weight)
    with_f1 = loss_fn(logits, target, weight, w_f1=1.0)
    # F1 = 2 tp / (2 tp + fp + fn) = 16 / 28; the term adds 1 to the denominator (no 0 / 0).
    assert with_f1 - bce_only == pytest.approx(1.0 - 16 / 29, abs=1e-4)
    # Ignored pixels count for neither term: ignoring every mistake leaves a perfect score.
    weight[..., 2, :] = 0.0
    weight[..., 6, :4] = 0.0
    assert loss_fn(logits, target, weight, w_f1=1.0) == pytest.approx(1.0 - 16 / 17, abs=1e-4)


def test_visibility_weight_makes_a_glaring_miss_cost_more_than_a_faint_one():
    from core.detect.train import VISIBLE_REF, loss_fn

    target = torch.zeros(1, 1, 4, 8)
    target[..., 1, :] = 1.0
    weight = torch.ones_like(target)
    logits = torch.full_like(target, -4.0)  # every hole pixel missed
    faint = torch.where(target > 0, 0.05, 0.0)
    glaring = torch.where(target > 0, 0.5, 0.0)
    plain = loss_fn(logits, target, weight)
    # Off by default, and with no change map: the plain weighted BCE.
    assert loss_fn(logits, target, weight, 0.0, glaring, 0.0) == pytest.approx(plain.item())
    assert loss_fn(logits, target, weight, 0.0, None, 2.0) == pytest.approx(plain.item())
    faint_loss = loss_fn(logits, target, weight, 0.0, faint, 2.0)
    glaring_loss = loss_fn(logits, target, weight, 0.0, glaring, 2.0)
    # The divisor is the base weight: 8 hole pixels x 3 + 24 clean pixels x 1 = 48. On top, each
    # missed hole pixel adds w_visible * (change / VISIBLE_REF)^2 times its BCE.
    per_miss = torch.nn.functional.softplus(torch.tensor(4.0)).item()
    extra = 2.0 * (0.5 / VISIBLE_REF) ** 2 * 8 * per_miss / (24 + 24)
    assert glaring_loss - plain == pytest.approx(extra, rel=1e-4)
    assert plain < faint_loss < glaring_loss


def test_damage_change_is_how_far_each_pixel_moved_before_the_noise():
    clean = synthetic_photo(96, 96, seed=3).astype(np.float32) / 255.0
    d = synthesize(clean, np.random.default_rng(5), ("scratch", "dust"), noise=False)
    moved = np.abs(d.image - clean).max(axis=2)
    assert d.change.shape == d.mask.shape and d.change.dtype == np.float32
    np.testing.assert_allclose(d.change, moved, atol=1e-6)
    assert d.change[d.mask].mean() > 0.1 and d.change[~d.mask & ~d.ignore].max() < 0.2


def test_learning_rate_phase_restarts_the_cosine():
    from core.detect.train import TrainConfig, learning_rate

    first = TrainConfig(lr=2e-3, steps=1000)
    assert learning_rate(0, first) == pytest.approx(2e-5)  # warm-up: 1/100 of the rate
    assert learning_rate(500, first) == pytest.approx(1e-3)  # half-way down the cosine
    second = TrainConfig(lr=6e-4, steps=1600, phase_start=1000)
    assert learning_rate(1000, second) == pytest.approx(6e-6)  # warm-up again
    assert learning_rate(1300, second) == pytest.approx(3e-4)
    assert learning_rate(1600, second) == pytest.approx(0.0, abs=1e-12)


def test_training_crops_reach_past_the_edge_into_repeated_pixels_that_are_ignored():
    from core.detect.train import DamageMix, sample

    photo = synthetic_photo(160, 200, seed=2)
    past_top = 0
    for seed in range(40):
        image, mask, ignore, _, _, _ = sample(
            [photo], np.random.default_rng(seed), 128, DamageMix(edge_border=16)
        )
        assert image.shape == (128, 128, 3) and mask.shape == ignore.shape == (128, 128)
        padded_rows = ignore.all(axis=1)
        if padded_rows[0]:
            past_top += 1
            first = int(np.argmin(padded_rows))  # the photo's first row
            assert 0 < first <= 16
            assert (image[:first] == image[first]).all() and not mask[:first].any()
    assert past_top > 3


def test_fill_probability_thresholds_to_the_grown_mask_at_every_threshold():
    rng = np.random.default_rng(0)
    prob = cv2.GaussianBlur(rng.random((60, 70)).astype(np.float32), (0, 0), 2.0)
    result = DamageResult(prob, prob >= 0.5, 0.5, "net")
    grown = fill_probability(prob)
    for t in (0.45, 0.5, 0.55):
        assert np.array_equal(grown >= t, grow(prob >= t, FILL_GROW))
        assert np.array_equal(fill_mask(result, t), grow(prob >= t, FILL_GROW))
    assert proposed_share(fill_mask(result)) == pytest.approx(fill_mask(result).mean())


def test_scales_run_the_net_on_shrunk_copies_and_keep_the_maximum():
    rgb = damaged_photo("scratch").image.astype(np.float32) / 255.0
    net = lively_net(DetectNetConfig(width=4, levels=4))
    one = run_to_end(predict_steps(net, rgb))
    half = cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA)
    coarse = cv2.resize(
        run_to_end(predict_steps(net, half)), rgb.shape[1::-1], interpolation=cv2.INTER_LINEAR
    )
    events, both = drain(predict_steps(net, rgb, scales=(1, 2)))
    assert both.shape == rgb.shape[:2]
    assert np.allclose(both, np.maximum(one, coarse), atol=1e-5)
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    config = DetectNetConfig.from_dict({"width": 4, "scales": [1, 2, 4]})
    assert config.scales == (1, 2, 4)


def test_coarse_scales_run_only_where_the_shrunk_photo_keeps_min_side():
    config = DetectNetConfig(width=4, scales=(1, 2, 4), min_side=256)
    assert active_scales(config, 300, 900) == (1,)
    assert active_scales(config, 600, 900) == (1, 2)
    assert active_scales(config, 1100, 1024) == (1, 2, 4)
    net = lively_net(config)
    rgb = damaged_photo("scratch").image.astype(np.float32) / 255.0  # 192 px: one pass
    assert np.array_equal(
        run_to_end(predict_steps(net, rgb)), run_to_end(predict_steps(net, rgb, scales=(1,)))
    )


def test_bf16_inference_stays_close_to_float32_and_tiles_by_its_own_size():
    from core.base.cpu import bf16_native

    rgb = damaged_photo("scratch").image.astype(np.float32) / 255.0
    net = lively_net(DetectNetConfig(width=4, levels=4))
    fp32 = run_to_end(predict_steps(net, rgb))
    net.config = dataclasses.replace(net.config, bf16=True)
    low = run_to_end(predict_steps(net, rgb))
    if not bf16_native():
        assert np.array_equal(low, fp32)  # float32 where bfloat16 would be emulated
    assert np.abs(low - fp32).max() < 0.1 and np.abs(low - fp32).mean() < 0.01


def test_tiles_convert_the_photo_as_read_like_a_whole_float_copy():
    from core.base.pixels import to_float_rgb

    image = damaged_photo("scratch").image  # uint8
    net = lively_net(DetectNetConfig(width=4, levels=4))
    whole = run_to_end(predict_steps(net, to_float_rgb(image), tile=1024))
    tiled = run_to_end(predict_steps(net, image, tile=96, prepare=to_float_rgb))
    assert np.abs(whole - tiled).max() < 1e-4


@pytest.mark.parametrize("kind", ["crack", "fold", "faint"])
def test_aged_damage_labels_what_it_draws(kind):
    clean = synthetic_photo(160, 200, seed=3).astype(np.float32) / 255.0
    d = synthesize(clean, np.random.default_rng(4), (), aged=(kind,), toned=True, noise=False)
    again = synthesize(clean, np.random.default_rng(4), (), aged=(kind,), toned=True, noise=False)
    assert np.array_equal(d.image, again.image) and np.array_equal(d.mask, again.mask)
    assert d.mask.any()
    # Outside the marks and their fringe the photo is the toned clean print: unchanged.
    outside = ~d.mask & ~d.ignore
    assert np.percentile(d.change[outside], 99) < 0.02
    # Inside, what is labelled and judged moved visibly.
    judged = d.mask & ~d.ignore
    assert judged.any() and d.change[judged].min() > 0.04


def test_without_aged_options_the_synthesis_is_the_benchmarks():
    clean = synthetic_photo(96, 128, seed=3).astype(np.float32) / 255.0
    a = synthesize(clean, np.random.default_rng(5), ("scratch", "dust"))
    b = synthesize(clean, np.random.default_rng(5), ("scratch", "dust"), aged=(), toned=False)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)


REAL_MASKS = Path(__file__).resolve().parents[1] / "data" / "real_masks"
REAL_SCANS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"


def _bench_tool():
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "tools" / "bench_detect.py"
    spec = importlib.util.spec_from_file_location("bench_detect", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "name, shape", [("cracked_boy", (256, 256)), ("scratched_girl", (336, 256))]
)
def test_reference_masks_of_the_real_scans(name, shape):
    mask = cv2.imread(str(REAL_MASKS / f"{name}.png"), cv2.IMREAD_UNCHANGED)
    assert mask.shape == shape and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 128, 255} and (mask == 255).mean() > 0.003
    scan = REAL_SCANS / f"{name}.png"
    if scan.is_file():  # the scans live outside the repo
        assert cv2.imread(str(scan)).shape[:2] == shape


def test_tolerant_counts_forgive_the_tolerance_and_skip_ignored_pixels():
    tool = _bench_tool()
    reference = np.zeros((40, 40), np.uint8)
    reference[20, 5:35] = 255  # a 1 px line
    reference[0:5, 0:5] = 128  # ignored
    pred = np.zeros((40, 40), bool)
    pred[22, 5:20] = True  # 2 px off: found within 2 px, half the line
    pred[1, 1] = True  # in the ignored corner: not judged
    pred[35, 35] = True  # a false alarm
    found, total, near, judged = tool.tolerant_counts(pred, reference, 2)
    assert (found, total) == (15, 30) and (near, judged) == (15, 16)
    found, _, near, _ = tool.tolerant_counts(pred, reference, 1)
    assert found == 0 and near == 0


def _tool(name: str):
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _hysteresis_mask(probability: np.ndarray, low: float, high: float) -> np.ndarray:
    """Textbook hysteresis, 8-connected: the pixels >= ``low`` joined to a pixel >= ``high``."""
    count, labels = cv2.connectedComponents((probability >= low).astype(np.uint8), connectivity=8)
    seeded = np.zeros(count, bool)
    seeded[labels[probability >= high]] = True
    seeded[0] = False
    return seeded[labels]


def test_operating_points_hysteresis_map_thresholds_to_the_hysteresis_mask():
    tool = _tool("detect_operating_points")
    rng = np.random.default_rng(2)
    probability = cv2.GaussianBlur(rng.random((48, 64)).astype(np.float32), (0, 0), 1.5)
    probability = (probability - probability.min()) / np.ptp(probability)
    grew = 0
    for ratio in (0.4, 0.7):
        grown = tool.hysteresis(probability, ratio)
        assert np.all(grown >= probability)
        for t in (0.5, 0.7, 0.85):
            expected = _hysteresis_mask(probability, ratio * t, t)
            assert np.array_equal(grown >= t, expected)
            grew += int((expected & (probability < t)).sum())
    assert grew > 0  # the cases grow masks beyond the plain threshold
    assert tool.hysteresis(probability, 1.0) is probability


def test_operating_points_sensitivity_inverts_the_slider():
    from core.detect import threshold_for_sensitivity

    tool = _tool("detect_operating_points")
    for default in (0.3, 0.5446):
        for s in np.linspace(0.0, 1.0, 11):
            t = threshold_for_sensitivity(s, default)
            assert tool.sensitivity_for(t, default) == pytest.approx(s, abs=1e-9)
