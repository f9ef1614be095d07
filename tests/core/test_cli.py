"""The command line: exit codes, one-line errors, and never writing over an input."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from main import main
from tests.conftest import synthetic_photo

ROOT = Path(__file__).resolve().parents[2]


def write_png(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    assert cv2.imwrite(str(path), pixels)
    return path


def read_png(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


@pytest.fixture
def pair(tmp_path):
    """A photo and a mask (one scratch) on disk."""
    photo = synthetic_photo(120, 160, seed=2)
    mask = np.zeros((120, 160), np.uint8)
    cv2.line(mask, (10, 20), (150, 100), 255, 3)
    return write_png(tmp_path / "photo.png", photo), write_png(tmp_path / "mask.png", mask)


def far(mask_path: Path) -> np.ndarray:
    mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE) > 0
    return cv2.dilate(mask.astype(np.uint8), np.ones((17, 17), np.uint8)) == 0


def test_fill_one_image(pair, tmp_path, capsys):
    photo, mask = pair
    out = tmp_path / "out.png"
    assert main(["fill", str(photo), "--mask", str(mask), "-o", str(out), "--method", "telea"]) == 0
    assert "wrote" in capsys.readouterr().out
    before, after = read_png(photo), read_png(out)
    keep = far(mask)
    np.testing.assert_array_equal(after[keep], before[keep])
    hole = cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE) > 0
    assert not np.array_equal(after[hole], before[hole])


def test_fill_grain_changes_the_hole_only(tmp_path, capsys):
    rng = np.random.default_rng(1)
    grainy = np.clip(128 + rng.normal(0, 10, (120, 160, 3)), 0, 255).astype(np.uint8)
    photo = write_png(tmp_path / "grainy.png", grainy)
    mask_pixels = np.zeros((120, 160), np.uint8)
    cv2.line(mask_pixels, (10, 20), (150, 100), 255, 5)
    mask = write_png(tmp_path / "mask.png", mask_pixels)
    outputs = {}
    for name, extra in (("plain", []), ("grain", ["--grain"])):
        out = tmp_path / f"{name}.png"
        args = ["fill", str(photo), "--mask", str(mask), "-o", str(out), "--method", "telea"]
        assert main(args + extra) == 0
        said = capsys.readouterr().out
        assert ("with the film grain around them" in said) == (name == "grain")
        outputs[name] = read_png(out).astype(np.float32)
    hole = mask_pixels > 0
    np.testing.assert_array_equal(outputs["grain"][~hole], outputs["plain"][~hole])
    assert outputs["grain"][hole].std() > 2 * outputs["plain"][hole].std()


def test_fill_a_folder_matches_masks_by_stem(tmp_path, capsys):
    images, masks, out = tmp_path / "in", tmp_path / "masks", tmp_path / "out"
    images.mkdir(), masks.mkdir()
    for index in range(3):
        write_png(images / f"scan{index}.png", synthetic_photo(60, 80, seed=index))
        mask = np.zeros((60, 80), np.uint8)
        mask[10 + 10 * index : 20 + 10 * index, 20:60] = 255
        write_png(masks / f"scan{index}.png", mask)
    code = main(["fill", str(images), "--mask", str(masks), "-o", str(out), "--method", "ns"])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["scan0.png", "scan1.png", "scan2.png"]
    for index in range(3):
        keep = far(masks / f"scan{index}.png")
        before, after = read_png(images / f"scan{index}.png"), read_png(out / f"scan{index}.png")
        np.testing.assert_array_equal(after[keep], before[keep])
    assert "filled 3 of 3" in capsys.readouterr().out


def test_batch_goes_on_past_a_bad_image_and_fails_at_the_end(tmp_path, capsys):
    images, masks, out = tmp_path / "in", tmp_path / "masks", tmp_path / "out"
    images.mkdir(), masks.mkdir()
    write_png(images / "good.png", synthetic_photo(40, 40))
    write_png(masks / "good.png", np.eye(40, dtype=np.uint8) * 255)
    (images / "bad.png").write_text("not an image")
    write_png(masks / "bad.png", np.eye(40, dtype=np.uint8) * 255)
    code = main(["fill", str(images), "--mask", str(masks), "-o", str(out), "--method", "telea"])
    assert code == 1
    assert (out / "good.png").exists() and not (out / "bad.png").exists()
    captured = capsys.readouterr()
    assert "bad.png" in captured.err and "filled 1 of 2" in captured.out


def test_never_writes_over_an_input(pair, capsys):
    photo, mask = pair
    original = photo.read_bytes()
    args = ["fill", str(photo), "--mask", str(mask), "-o", str(photo), "--overwrite"]
    assert main([*args, "--method", "telea"]) == 1
    assert "refusing to write over the input" in capsys.readouterr().err
    assert photo.read_bytes() == original


def test_existing_output_needs_overwrite(pair, tmp_path, capsys):
    photo, mask = pair
    out = tmp_path / "out.png"
    out.write_bytes(b"keep me")
    args = ["fill", str(photo), "--mask", str(mask), "-o", str(out), "--method", "telea"]
    assert main(args) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"
    assert main([*args, "--overwrite"]) == 0
    assert read_png(out).shape == (120, 160, 3)


def test_variants_are_named_beside_the_output(pair, tmp_path):
    photo, mask = pair
    out = tmp_path / "res.png"
    args = ["fill", str(photo), "--mask", str(mask), "-o", str(out), "--method", "telea"]
    assert main([*args, "--variants", "2", "--seed", "5"]) == 0
    assert (tmp_path / "res_v1.png").exists() and (tmp_path / "res_v2.png").exists()
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method", "nope"], "unknown fill method 'nope'"),
        (["--mask", "missing.png"], "does not exist"),
    ],
)
def test_bad_arguments_are_one_clear_line(pair, tmp_path, capsys, extra, message):
    photo, mask = pair
    args = ["fill", str(photo), "--mask", str(mask), "-o", str(tmp_path / "o.png"), *extra]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_mask_of_the_wrong_size(pair, tmp_path, capsys):
    photo, _ = pair
    small = write_png(tmp_path / "small.png", np.full((10, 10), 255, np.uint8))
    out = tmp_path / "o.png"
    assert main(["fill", str(photo), "--mask", str(small), "-o", str(out), "--method", "ns"]) == 1
    assert "10x10" in capsys.readouterr().err
    assert not out.exists()


def test_corrupt_input_is_an_error_not_a_traceback(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    mask = write_png(tmp_path / "m.png", np.full((4, 4), 255, np.uint8))
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "fill",
            str(bad),
            "--mask",
            str(mask),
            "-o",
            str(tmp_path / "o.png"),
            "--method",
            "telea",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.png").exists()


def test_help_names_the_editors_photo_or_folder_argument(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: manifold-inpaint [PHOTO | FOLDER]\n")
    assert "on the first photo of FOLDER" in " ".join(out.split())
    with pytest.raises(SystemExit):  # the commands keep their own usage line
        main(["fill", "--help"])
    assert capsys.readouterr().out.startswith("usage: manifold-inpaint fill [-h]")


def test_info_lists_methods_and_devices():
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "info"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "telea" in result.stdout and "ns" in result.stdout and "devices: " in result.stdout


def test_fill_says_what_it_filled_how_and_how_long(pair, tmp_path, capsys):
    photo, mask = pair
    out = tmp_path / "out.png"
    assert main(["fill", str(photo), "--mask", str(mask), "-o", str(out), "--method", "telea"]) == 0
    said = capsys.readouterr().out
    assert re.search(
        r"telea: filled \d+\.\d\d% of the photo in 1 region \(1 telea\) in [\d.]+ s", said
    )


def test_auto_mask_that_finds_nothing_says_what_it_looked_for_and_at_what_threshold(
    tmp_path, capsys
):
    photo = write_png(tmp_path / "clean.png", np.full((96, 128, 3), 128, np.uint8))
    out = tmp_path / "out.png"
    args = ["fill", str(photo), "--auto-mask", "-o", str(out), "--method", "telea"]
    assert main([*args, "--threshold", "0.9"]) == 0
    err = capsys.readouterr().err
    assert "nothing to fill in clean.png" in err and "scratches, cracks and dust" in err
    assert "threshold 0.900" in err and not out.exists()
    assert main([*args[:2], "--mask", str(photo), "-o", str(out), "--threshold", "0.5"]) == 1
    assert "--threshold goes with --auto-mask" in capsys.readouterr().err


def test_a_folder_fill_reports_each_image(tmp_path, capsys):
    src, masks, out = tmp_path / "in", tmp_path / "masks", tmp_path / "out"
    for index in range(2):
        write_png(src / f"p{index}.png", synthetic_photo(64, 80, seed=index))
        mask = np.zeros((64, 80), np.uint8)
        mask[10:20, 10 + 20 * index : 30 + 20 * index] = 255
        write_png(masks / f"p{index}.png", mask)
    assert main(["fill", str(src), "--mask", str(masks), "-o", str(out), "--method", "ns"]) == 0
    said = capsys.readouterr().out
    for index in range(2):
        assert re.search(rf"p{index}\.png: filled 3\.91% of the photo in 1 region \(1 ns\)", said)
