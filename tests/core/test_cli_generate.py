"""``generate`` and ``fuse`` on the command line, with the shipped layout model: outputs,
reproducibility, and one clear line for every mistake (nothing written)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from core.layout.model import availability
from main import main
from tests.conftest import synthetic_photo

pytestmark = pytest.mark.skipif(not availability()[0], reason="no shipped layout model")


def _png(path: Path, seed: int, h: int = 40, w: int = 60) -> Path:
    assert cv2.imwrite(str(path), synthetic_photo(h, w, seed=seed))
    return path


def _read(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_COLOR)


def test_generate_writes_the_size_asked_and_a_seed_repeats(tmp_path, capsys) -> None:
    ex = _png(tmp_path / "ex.png", 1)
    args = ["generate", "--seed", "3", "--size", "48x32", "--texture", str(ex)]
    assert main([*args, "-o", str(tmp_path / "a.png")]) == 0
    assert main([*args, "-o", str(tmp_path / "b.png")]) == 0
    assert "seed 3" in capsys.readouterr().out
    a, b = _read(tmp_path / "a.png"), _read(tmp_path / "b.png")
    assert a.shape == (32, 48, 3)
    np.testing.assert_array_equal(a, b)


def test_generate_layout_only_with_sliders(tmp_path) -> None:
    base = ["generate", "--seed", "1", "--size", "32x32", "--layout-only"]
    assert main([*base, "-o", str(tmp_path / "a.png")]) == 0
    assert main([*base, "--slider", "2.5", "-o", str(tmp_path / "b.png")]) == 0
    assert np.abs(_read(tmp_path / "a.png").astype(int) - _read(tmp_path / "b.png")).mean() > 0


def test_fuse_writes_a_picture_of_as_shape(tmp_path, capsys) -> None:
    a, b = _png(tmp_path / "a.png", 1, 30, 50), _png(tmp_path / "b.png", 2)
    out = tmp_path / "f.png"
    assert main(["fuse", str(a), str(b), "-o", str(out), "--t", "0.3", "--texture", "b"]) == 0
    assert _read(out).shape == (30, 50, 3)
    assert "t 0.3" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generate", "--size", "12"], "size must look like"),
        (["generate", "--size", "5x5"], "size must be"),
        (["generate", "--texture", "missing.png"], "missing.png"),
        (["generate", "--colour-match", "2"], "colour match"),
        (["fuse", "A", "B", "--t", "1.5"], "between 0 and 1"),
        (["fuse", "A", "missing.png"], "missing.png"),
    ],
)
def test_mistakes_are_one_clear_line_and_write_nothing(tmp_path, capsys, args, message) -> None:
    a, b = _png(tmp_path / "a.png", 1), _png(tmp_path / "b.png", 2)
    args = [str(a) if x == "A" else str(b) if x == "B" else x for x in args]
    out = tmp_path / "out.png"
    assert main([*args, "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


def test_an_existing_output_or_an_input_is_never_overwritten(tmp_path, capsys) -> None:
    a, b = _png(tmp_path / "a.png", 1), _png(tmp_path / "b.png", 2)
    original = a.read_bytes()
    assert main(["fuse", str(a), str(b), "-o", str(a), "--overwrite"]) == 1
    assert "is an input" in capsys.readouterr().err
    assert a.read_bytes() == original
    keep = tmp_path / "keep.png"
    keep.write_bytes(b"keep me")
    assert main(["generate", "--size", "16x16", "--layout-only", "-o", str(keep)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert keep.read_bytes() == b"keep me"
