"""The benchmark: metrics on known cases, and a tiny run through the real pipeline."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.bench import format_table, gradient_ratio, hole_psnr, hole_ssim, run_bench
from core.commands.cli import main
from tests.conftest import synthetic_photo


def test_metrics_on_known_cases() -> None:
    truth = synthetic_photo(64, 64).astype(np.float32) / 255.0
    hole = np.zeros((64, 64), bool)
    hole[20:40, 10:50] = True
    assert hole_ssim(truth, truth, hole) > 0.999
    assert hole_psnr(truth, truth, hole) >= 99.0
    flat = truth.copy()
    flat[hole] = truth[hole].mean(axis=0)
    assert gradient_ratio(flat, truth, hole) < 0.5
    assert abs(gradient_ratio(truth, truth, hole) - 1.0) < 1e-6
    assert hole_psnr(flat, truth, hole) < 40.0


def test_bench_runs_methods_through_the_pipeline(tmp_path: Path) -> None:
    paths = []
    for i in range(2):
        paths.append(tmp_path / f"{i}.png")
        cv2.imwrite(str(paths[-1]), synthetic_photo(96, 128, seed=i))
    results = run_bench(paths, ["telea", "ns"], ["scratch", "box"], seed=1)
    for per in results.values():
        for summary in per.values():
            assert summary["images"] == 2 and summary["known_ok"] == 2
            assert 5.0 < summary["hole_psnr"] < 99.0
    again = run_bench(paths, ["telea"], ["box"], seed=1)
    assert again["telea"]["box"]["hole_psnr"] == results["telea"]["box"]["hole_psnr"]
    assert "box" in format_table(results)


def test_bench_command(tmp_path: Path, capsys) -> None:
    cv2.imwrite(str(tmp_path / "a.png"), synthetic_photo(64, 96))
    code = main(["bench", "--images", str(tmp_path), "--methods", "ns", "--classes", "dust"])
    assert code == 0
    assert "dust" in capsys.readouterr().out


def test_bench_entries_fix_options_of_a_method() -> None:
    from core.bench import resolve_entry
    from core.manifold.options import ManifoldOptions

    assert resolve_entry("telea", ManifoldOptions()) == ("telea", None)
    name, options = resolve_entry("manifold-net", ManifoldOptions(thin_hole_px=2.0))
    assert name == "manifold" and options == ManifoldOptions(thin_hole_px=2.0, texture=False)
    assert resolve_entry("manifold-net", None)[1] == ManifoldOptions(texture=False)


def test_patchmatch_continues_a_texture_telea_smooths(tmp_path: Path) -> None:
    """The PatchMatch baseline copies the photo's own patches: stripes continue into a box
    where Telea leaves a smooth ramp."""
    y, x = np.mgrid[0:96, 0:128]
    stripes = np.where(np.sin((x + y) * np.pi / 4) > 0, 200, 60).astype(np.uint8)
    photo = np.repeat(stripes[..., None], 3, axis=2)
    cv2.imwrite(str(tmp_path / "s.png"), photo)
    results = run_bench([tmp_path / "s.png"], ["telea", "patchmatch"], ["box"], seed=2)
    assert results["patchmatch"]["box"]["grad_ratio"] > 0.6
    assert results["patchmatch"]["box"]["grad_ratio"] > 2 * results["telea"]["box"]["grad_ratio"]
    assert results["patchmatch"]["box"]["known_ok"] == 1
