"""``fill`` against the bad-input table (tests/bad_inputs.py): one clear line, exit status 1,
nothing written; odd but valid files fill and keep their depth; empty and full masks; broken
model files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.base.imageio import Image, read_image, write_image
from core.base.masks import grow, save_mask
from core.methods.geometry import BLEND_BAND
from core.pipeline.registry import describe_methods
from main import main
from tests.bad_inputs import (
    BAD_FILES,
    BROKEN,
    ODD_FILES,
    BadFile,
    OddFile,
    leftovers,
    use_broken_models,
    write,
)

ROOT = Path(__file__).resolve().parents[2]


def _mask_file(folder: Path, mask: np.ndarray, name: str = "mask.png") -> Path:
    path = folder / name
    save_mask(mask, path)
    return path


def _scratch(shape: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape[:2], bool)
    mask[shape[0] // 3 : shape[0] // 3 + 3, 5:-5] = True
    return mask


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("case", BAD_FILES, ids=lambda c: c.name)
def test_bad_file_is_one_clear_line_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: BadFile
) -> None:
    source = write(tmp_path, case)
    mask = _mask_file(tmp_path, np.ones((40, 60), bool))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "restored.png"
    before = source.read_bytes()
    args = ["fill", str(source), "--mask", str(mask), "-o", str(out), "--method", "telea"]
    assert main(args) == 1
    line = _one_line(capsys.readouterr().err)
    for word in case.words:
        assert word in line
    assert not out.exists() and leftovers(out_dir) == []
    assert source.read_bytes() == before  # the input is untouched


def test_the_pixel_limit_can_be_raised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "scan.png"
    write_image(Image(np.full((100, 80, 3), 90, np.uint8)), source)
    mask = _mask_file(tmp_path, _scratch((100, 80)))
    out = tmp_path / "o.png"
    args = ["fill", str(source), "--mask", str(mask), "-o", str(out), "--method", "telea"]
    assert main([*args, "--max-pixels", "0.005"]) == 1
    assert "--max-pixels" in _one_line(capsys.readouterr().err) and not out.exists()
    assert main([*args, "--max-pixels", "0"]) == 0  # 0 = no limit
    assert out.exists()


@pytest.mark.parametrize("case", ODD_FILES, ids=lambda c: c.name)
def test_odd_files_fill_and_keep_their_depth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: OddFile
) -> None:
    source = write(tmp_path, case)
    hole = _scratch(case.shape)
    mask = _mask_file(tmp_path, hole)
    out = tmp_path / f"restored{source.suffix}"
    assert main(["fill", str(source), "--mask", str(mask), "-o", str(out), "--method", "ns"]) == 0
    assert "wrote" in capsys.readouterr().out
    before, after = read_image(source).pixels, read_image(out).pixels
    assert after.shape == case.shape and after.dtype == case.dtype
    if source.suffix != ".jpg":  # lossless: every pixel beyond the blend band is exact
        keep = ~grow(hole, BLEND_BAND)
        np.testing.assert_array_equal(after[keep], before[keep])


def test_empty_mask_says_so_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "scan.png"
    write_image(Image(np.full((30, 40, 3), 90, np.uint8)), source)
    mask = _mask_file(tmp_path, np.zeros((30, 40), bool))
    out = tmp_path / "o.png"
    assert main(["fill", str(source), "--mask", str(mask), "-o", str(out), "--method", "ns"]) == 0
    captured = capsys.readouterr()
    assert "nothing to fill" in captured.err and "empty" in captured.err
    assert "wrote" not in captured.out
    assert not out.exists()


@pytest.mark.parametrize("method", ["telea", "ns"])
def test_a_mask_covering_everything_gives_a_flat_fill(tmp_path: Path, method: str) -> None:
    source = tmp_path / "scan.png"
    write_image(Image(np.random.default_rng(0).integers(0, 256, (50, 70, 3), np.uint8)), source)
    mask = _mask_file(tmp_path, np.ones((50, 70), bool))
    out = tmp_path / "o.png"
    assert main(["fill", str(source), "--mask", str(mask), "-o", str(out), "--method", method]) == 0
    filled = read_image(out).pixels
    assert filled.shape == (50, 70, 3)
    assert np.ptp(filled) == 0 and 100 < filled.mean() < 156  # flat mid-grey, not black


def test_a_mask_covering_everything_is_generated_by_the_manifold(tmp_path: Path) -> None:
    if not {i.name: i for i in describe_methods()}["manifold"].available:
        pytest.skip("the shipped manifold weights are not usable here")
    source = tmp_path / "scan.png"
    write_image(Image(np.zeros((48, 64, 3), np.uint8)), source)
    mask = _mask_file(tmp_path, np.ones((48, 64), bool))
    outs = []
    for seed in (1, 2):
        out = tmp_path / f"o{seed}.png"
        args = ["fill", str(source), "--mask", str(mask), "-o", str(out), "--method", "manifold"]
        assert main([*args, "--seed", str(seed)]) == 0
        outs.append(read_image(out).pixels)
    assert outs[0].mean() > 60  # generated from a neutral start, not left black
    assert not np.array_equal(outs[0], outs[1])  # the seed draws another sample


# -- model files -------------------------------------------------------------------------------


@pytest.fixture(params=sorted(BROKEN))
def broken_models(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    """A broken copy of resources/models (the real files are never touched)."""
    return use_broken_models(tmp_path, monkeypatch, request.param)


def test_broken_model_files_are_one_line_and_the_default_falls_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], broken_models: str
) -> None:
    info = {i.name: i for i in describe_methods()}["manifold"]
    assert not info.available and broken_models in info.reason
    source = tmp_path / "scan.png"
    write_image(Image(np.full((30, 40, 3), 90, np.uint8)), source)
    mask = _mask_file(tmp_path, _scratch((30, 40)))
    out = tmp_path / "o.png"
    args = ["fill", str(source), "--mask", str(mask), "-o", str(out)]
    assert main([*args, "--method", "manifold"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert "manifold" in line and broken_models in line and not out.exists()
    assert main(args) == 0  # no --method: the best available, a classical fill
    assert out.exists()


@pytest.mark.parametrize("case", BAD_FILES[:5], ids=lambda c: c.name)
def test_a_bad_mask_file_is_one_clear_line_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: BadFile
) -> None:
    source = tmp_path / "scan.png"
    write_image(Image(np.full((40, 60, 3), 90, np.uint8)), source)
    mask = write(tmp_path, case)
    out = tmp_path / "o.png"
    args = ["fill", str(source), "--mask", str(mask), "-o", str(out), "--method", "telea"]
    assert main(args) == 1
    line = _one_line(capsys.readouterr().err)
    assert all(word in line for word in case.words) and mask.name in line
    assert not out.exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "case", [c for c in BAD_FILES if c.filename.endswith(".png")], ids=lambda c: c.name
)
def test_a_bad_file_in_a_real_process_prints_exactly_one_line(
    tmp_path: Path, case: BadFile
) -> None:
    """What a user's terminal shows: the decoders' own stderr chatter (libpng) included."""
    source = write(tmp_path, case)
    mask = _mask_file(tmp_path, np.ones((40, 60), bool))
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "fill", str(source), "--mask", str(mask),
         "-o", str(tmp_path / "o.png"), "--method", "telea"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    _one_line(result.stderr)
    assert not (tmp_path / "o.png").exists()
