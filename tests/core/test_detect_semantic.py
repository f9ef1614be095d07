"""The lite0 damage net (EfficientNet-Lite0 encoder), damage cut from real scans, hard
negatives, and the training recipe that ties them together."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from core.base.errors import InpaintError
from core.base.progress import run_to_end
from core.detect.net import (
    MODEL_NAME,
    SEMANTIC_CONTEXT,
    DetectNetConfig,
    SemanticDetectNet,
    build_net,
    fold_batch_norms,
    load_net,
    net_input,
    predict_steps,
    state_to_tensors,
    tile_margin,
)
from core.detect.real_layers import composite_real, extract_layer, load_layers
from core.detect.train import (
    RECIPES,
    TrainConfig,
    batch,
    learning_rate,
    loss_fn,
    speck_content,
    thin_content,
    tolerant_counts,
)
from tests.conftest import synthetic_photo

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
MASKS = Path(__file__).resolve().parents[1] / "data" / "real_masks"
LITE0 = DetectNetConfig(width=4, features=True, norm=True, arch="lite0")


def test_lite0_net_gives_one_logit_per_pixel_on_sides_of_32():
    net = build_net(LITE0).eval()
    assert isinstance(net, SemanticDetectNet) and LITE0.pad_multiple == 32
    with torch.no_grad():
        out = net(torch.rand(2, 5, 64, 96) - 0.5)
    assert out.shape == (2, 1, 64, 96)


def test_lite0_full_resolution_branch_places_a_one_px_line_exactly():
    """The encoder starts at stride 2; the full-resolution branch must still move the logit
    of the very pixel a line crosses, not only its neighbourhood."""
    torch.manual_seed(0)
    net = build_net(LITE0).eval()
    x = torch.zeros(1, 5, 64, 64, requires_grad=True)
    net(x)[0, 0, 32, 33].backward()
    grad = x.grad.abs().sum((0, 1))
    assert grad[32, 33] > 0 and grad[32, 33] >= grad[32, 34] * 0.5


def test_lite0_predicts_any_photo_size_in_tiles_close_to_one_pass():
    torch.manual_seed(0)
    net = build_net(LITE0).eval()
    rgb = synthetic_photo(150, 230, seed=4).astype(np.float32) / 255.0
    # A lively output (default init is nearly flat): logits of std 2 around 0.
    with torch.no_grad():
        x = torch.from_numpy(net_input(rgb[:128, :224], LITE0))[None]
        logits = net(x)
        net.head.weight.mul_(2.0 / float(logits.std()))
        net.head.bias.sub_(float(net(x).mean()))
    whole = run_to_end(predict_steps(net, rgb, tile=1024))
    tiled = run_to_end(predict_steps(net, rgb, tile=96))
    assert whole.shape == (150, 230) and whole.std() > 0.01
    # Not exact (the encoder reaches past SEMANTIC_CONTEXT), but close.
    assert np.abs(whole - tiled).mean() < 0.1 * whole.std()
    assert tile_margin(LITE0) == SEMANTIC_CONTEXT


def test_lite0_weights_load_from_a_models_folder(tmp_path):
    from safetensors.torch import save_file

    from core.base.weights import sha256_file, write_manifest_entry

    torch.manual_seed(0)
    saved = build_net(LITE0)
    save_file(state_to_tensors(saved), str(tmp_path / "d.safetensors"))
    (tmp_path / "d.json").write_text(json.dumps({**LITE0.to_dict(), "threshold": 0.6}))
    entry = {"name": MODEL_NAME, "file": "d.safetensors", "config": "d.json"}
    write_manifest_entry(dict(entry, sha256=sha256_file(tmp_path / "d.safetensors")), tmp_path)
    loaded = load_net(tmp_path)
    assert isinstance(loaded, SemanticDetectNet) and loaded.config.threshold == 0.6
    x = torch.rand(1, 5, 32, 32)
    with torch.no_grad():
        assert torch.allclose(loaded(x), saved.eval()(x))


@pytest.mark.parametrize(
    "config", [LITE0, DetectNetConfig(width=4, features=True, norm=True)], ids=["lite0", "unet"]
)
def test_folding_batch_norms_keeps_the_probabilities(config):
    import copy

    torch.manual_seed(0)
    net = build_net(config)
    # Trained statistics, not the identity a fresh BatchNorm starts with.
    for bn in (m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.2, 0.2)
    net.eval()
    folded = fold_batch_norms(copy.deepcopy(net))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    x = torch.rand(1, 5, 64, 96)
    with torch.no_grad():
        assert torch.allclose(folded(x), net(x), atol=1e-4)


def fake_scan(crack_value: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """A flat brown 'print' with a bright diagonal crack, and its reference mask."""
    scan = np.full((96, 96, 3), (120, 90, 60), np.uint8)
    reference = np.zeros((96, 96), np.uint8)
    cv2.line(reference, (10, 10), (85, 80), 255, 2)
    scan[reference == 255] = int(crack_value * 255)
    reference[0:4, :] = 128  # an ignored strip
    return scan, reference


def test_layer_holds_the_crack_minus_its_background():
    scan, reference = fake_scan()
    layer = extract_layer(scan, reference, "fake")
    on = reference == 255
    assert layer.residual[on].mean() > 0.3  # bright crack over a dark print
    far = cv2.dilate(on.astype(np.uint8), np.ones((9, 9), np.uint8)) == 0
    assert np.abs(layer.residual[far]).max() == 0.0
    assert len(layer.damage) == on.sum()
    with pytest.raises(InpaintError):
        extract_layer(scan, reference[:50], "bad")


def test_pasted_damage_changes_only_the_labelled_pixels_and_their_fringe():
    layer = extract_layer(*fake_scan(), "fake")
    clean = synthetic_photo(128, 128, seed=1).astype(np.float32) / 255.0
    hit, labelled, moved_labelled = 0, 0, 0
    for seed in range(6):
        damaged, mask, cover = composite_real(clean, np.random.default_rng(seed), [layer])
        assert damaged.shape == clean.shape and damaged.dtype == np.float32
        moved = np.abs(damaged - clean).max(axis=2) > 1e-4
        assert not (moved & (cover == 0)).any()  # nothing moves off the pasted coverage
        hit += int(mask.any())
        labelled += int(mask.sum())
        moved_labelled += int((moved & mask).sum())
    assert hit >= 4  # pastes aim at the layer's damage
    # Most labelled pixels moved; the rest (a lighten over a brighter photo) are what
    # ``synthesize`` marks as invisible, hence ignored.
    assert moved_labelled >= 0.5 * labelled


@pytest.mark.skipif(not (SHARED / "real").is_dir(), reason="../shared/data/real is absent")
def test_layers_of_the_real_scans_load():
    layers = load_layers(SHARED / "real", MASKS, ("cracked_boy", "scratched_girl"))
    assert [layer.name for layer in layers] == ["cracked_boy", "scratched_girl"]
    assert all(len(layer.damage) > 100 for layer in layers)


def test_thin_content_finds_lines_not_flat_areas_or_dense_texture():
    flat = np.full((96, 96, 3), 0.5, np.float32)
    assert not thin_content(flat).any()
    line = flat.copy()
    cv2.line(line, (5, 40), (90, 60), (0.9, 0.9, 0.9), 1)  # a whisker
    found = thin_content(line)
    assert found[40:61, 5:91].sum() >= 80 and found.sum() < 600
    rng = np.random.default_rng(0)
    texture = np.clip(0.5 + rng.normal(0, 0.15, (96, 96, 1)), 0, 1).repeat(3, 2)
    texture = cv2.GaussianBlur(texture.astype(np.float32), (0, 0), 0.8)
    assert thin_content(texture).mean() < 0.1  # gravel is not thin content


def test_thin_content_weighs_up_clean_pixels_only():
    photo = np.full((160, 160, 3), 128, np.uint8)
    cv2.line(photo, (0, 80), (159, 90), (250, 250, 250), 1)
    config = DetectNetConfig(features=True)
    _, target, plain, _ = batch([photo], 0, 3, 2, 128, config, w_thin=0.0)
    _, target2, weighted, _ = batch([photo], 0, 3, 2, 128, config, w_thin=4.0)
    assert torch.equal(target, target2)
    assert set(torch.unique(plain).tolist()) <= {0.0, 1.0}
    assert (weighted == 5.0).any() and not ((weighted == 5.0) & (target > 0)).any()


def test_speck_content_finds_isolated_specks_not_lines_blobs_or_gravel():
    flat = np.full((96, 96, 3), 0.5, np.float32)
    assert not speck_content(flat).any()
    dots = flat.copy()
    for x, y in ((20, 20), (60, 30), (40, 70)):
        cv2.circle(dots, (x, y), 2, (0.1, 0.1, 0.1), -1)  # an eye highlight, a button
    found = speck_content(dots)
    assert all(found[y, x] for x, y in ((20, 20), (60, 30), (40, 70)))
    assert found.sum() < 3 * 49
    big = flat.copy()
    cv2.circle(big, (48, 48), 12, (0.1, 0.1, 0.1), -1)  # an object, not a speck
    cv2.line(big, (5, 10), (90, 12), (0.9, 0.9, 0.9), 1)  # a line: thin content's business
    assert not speck_content(big).any()
    rng = np.random.default_rng(0)
    gravel = np.clip(0.5 + rng.normal(0, 0.15, (96, 96, 1)), 0, 1).repeat(3, 2)
    gravel = cv2.GaussianBlur(gravel.astype(np.float32), (0, 0), 0.8)
    assert speck_content(gravel).mean() < 0.02  # dense texture is left out


def test_speck_weight_reaches_the_specks_of_a_batch_only_when_asked():
    photo = np.full((160, 160, 3), 128, np.uint8)
    for x in range(10, 160, 37):
        for y in range(10, 160, 41):
            cv2.circle(photo, (x, y), 2, (20, 20, 20), -1)
    config = DetectNetConfig(features=True)
    _, target, plain, _ = batch([photo], 0, 3, 2, 128, config, w_speck=0.0)
    _, target2, weighted, _ = batch([photo], 0, 3, 2, 128, config, w_speck=3.0)
    assert torch.equal(target, target2)
    assert not (plain == 4.0).any()
    assert (weighted == 4.0).any() and not ((weighted == 4.0) & (target > 0)).any()


def test_a_phase_restarts_the_cosine_cycle_with_its_own_settings():
    config = TrainConfig(
        steps=300, lr=1e-3, warmup=10, phases=({"from": 200, "lr": 2e-4, "w_speck": 3.0},)
    )
    first, second = config.at_step(199), config.at_step(200)
    assert (first.steps, first.lr, first.w_speck) == (200, 1e-3, 0.0)
    assert (second.phase_start, second.steps, second.lr, second.w_speck) == (200, 300, 2e-4, 3.0)
    assert learning_rate(199, first) < 1e-6  # the first cycle runs down to its phase's start
    assert learning_rate(200, second) == pytest.approx(2e-4 / 10)  # and the next ramps up
    assert config.at_step(299).lr == 2e-4
    # A shorter run never reaches a phase that starts after its end.
    short = TrainConfig(steps=50, phases=config.phases)
    assert short.at_step(49).steps == 50 and short.at_step(49).w_speck == 0.0
    with pytest.raises(InpaintError, match="phase"):
        TrainConfig(steps=300, phases=({"from": 100, "width": 32},))  # the net's shape stays
    with pytest.raises(InpaintError, match="phase"):
        TrainConfig(steps=300, phases=({"lr": 1e-4},))  # where does it start?


def test_the_recipes_first_cycle_is_the_5000_step_run_it_continues():
    """The shipped run trained 5000 steps before the recipe had a second phase; the recipe's
    first cycle must be that run exactly, so resuming it goes on as one command would."""
    recipe = TrainConfig(**RECIPES["semantic"])
    earlier = TrainConfig(**{k: v for k, v in RECIPES["semantic"].items() if k != "phases"})
    earlier = TrainConfig.from_dict({**vars(earlier), "steps": 5000})
    for step in (0, 150, 2500, 4999):
        assert learning_rate(step, recipe.at_step(step)) == learning_rate(step, earlier)
        assert recipe.at_step(step).real == earlier.real and recipe.at_step(step).w_speck == 0
    assert recipe.at_step(5000).phase_start == 5000 and recipe.at_step(5000).real < earlier.real


def test_hard_negative_weight_raises_the_loss_of_a_false_alarm_on_them():
    logits = torch.full((1, 1, 4, 4), 2.0)  # everything flagged
    target = torch.zeros_like(logits)
    plain = torch.ones_like(logits)
    hard = plain.clone()
    hard[..., 0, :] = 5.0
    assert loss_fn(logits, target, hard) > loss_fn(logits, target, plain)


def test_tolerant_counts_forgive_a_px_off_and_skip_ignored_pixels():
    reference = np.zeros((20, 20), np.uint8)
    reference[10, 2:18] = 255
    reference[0:3] = 128
    pred = np.zeros((20, 20), bool)
    pred[11, 2:18] = True  # one px off
    pred[1, 5] = True  # in the ignored band
    found, total, right, detected = tolerant_counts(pred, reference, 2)
    assert (found, total, right, detected) == (16, 16, 16, 16)


def test_semantic_recipe_is_a_valid_config_that_pastes_one_scan_and_judges_the_other():
    config = TrainConfig(**RECIPES["semantic"])
    assert config.arch == "lite0" and config.net_config().arch == "lite0"
    assert config.layer_scans == ("cracked_boy",)
    with pytest.raises(InpaintError, match="real-layers"):
        TrainConfig(real=0.3)
    with pytest.raises(InpaintError, match="arch"):
        TrainConfig(arch="vit")


def test_manifest_command_of_a_recipe_run_names_the_recipe_and_what_differs():
    from dataclasses import asdict

    from core.detect.export import training_command

    args = {**asdict(TrainConfig(**RECIPES["semantic"])), "data": "D", "out": "O", "init": None}
    assert training_command(args) == (
        "python main.py train --model detect --recipe semantic --data D --out O --seed 0"
    )
    shorter = {**args, "steps": 100}
    assert "--recipe" not in training_command(shorter)
    assert "--steps 100" in training_command(shorter)
