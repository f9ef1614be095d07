"""The wheel a user would install: built from the project's files, installed into a fresh
virtual environment outside the checkout, and run from there.

Slow (about 40 s, most of it pip installing torch and PySide6 from pip's cache or PyPI): the
only test that sees the program as ``pip install .`` or ``pipx`` leave it, with its resources
found through ``importlib.resources`` instead of the checkout.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core.base.imageio import Image, read_image, write_image
from core.base.masks import save_mask
from tests.conftest import synthetic_photo

ROOT = Path(__file__).resolve().parent.parent
# What a source distribution holds: everything else in the checkout must not matter.
SOURCES = ["app", "core", "resources", "main.py", "setup.py", "pyproject.toml", "README.md"]

pytestmark = pytest.mark.slow


def _run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600):
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _build_wheel(work: Path) -> Path:
    """Build from a copy of the sources, so no build/ folder is left in the checkout."""
    source = work / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    # The setuptools at hand when there is one (no download); else pip fetches one.
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation]
    _run([*pip, "-w", work / "dist", source], cwd=work)
    (wheel,) = (work / "dist").glob("manifold_inpaint-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (outside the checkout) with the wheel and its dependencies installed."""
    work = tmp_path_factory.mktemp("wheel")
    assert ROOT not in work.parents
    wheel = _build_wheel(work)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for shipped in (ROOT / "resources").rglob("*"):
        if shipped.is_file() and "__pycache__" not in shipped.parts:
            inside = (
                "manifold_inpaint_resources/" + shipped.relative_to(ROOT / "resources").as_posix()
            )
            assert inside in names, f"{inside} is not in the wheel"
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # torch first and pinned: pip takes the local CPU build when there is one (as in CI).
    # --no-compile: byte-compiling torch's thousands of modules would double the time.
    pip = [python, "-m", "pip", "install", "-q", "--no-compile"]
    _run([*pip, "torch==2.13.0"], cwd=work)
    _run([*pip, wheel], cwd=work)
    return env_dir


def _env(env_dir: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        PATH=f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        XDG_CONFIG_HOME=str(home / "config"),
        MANIFOLD_INPAINT_DATA_DIR=str(home / "data"),
        QT_QPA_PLATFORM="offscreen",
    )
    return env


def test_info_finds_both_models_inside_the_installed_package(installed: Path, tmp_path: Path):
    out = _run(
        [installed / "bin" / "manifold-inpaint", "info"], tmp_path, _env(installed, tmp_path)
    )
    lines = out.stdout.splitlines()
    models = next(line for line in lines if line.startswith("models ("))
    assert str(installed) in models and str(ROOT) not in models  # the venv's copy
    assert any(line.split() == ["detect", "ready", "(sha256", "checked)"] for line in lines)
    assert any(line.split() == ["manifold", "ready", "(sha256", "checked)"] for line in lines)
    assert any(line.strip().startswith("manifold ") and "[ready]" in line for line in lines)


def test_a_manifold_fill_runs_from_the_installed_script(installed: Path, tmp_path: Path):
    pixels = synthetic_photo(64, 96, seed=3)
    write_image(Image(pixels), tmp_path / "photo.png")
    hole = np.zeros((64, 96), bool)
    hole[24:40, 30:60] = True
    save_mask(hole, tmp_path / "mask.png")
    args = ["fill", "photo.png", "--mask", "mask.png", "-o", "out.png", "--method", "manifold"]
    result = _run(
        [installed / "bin" / "manifold-inpaint", *args], tmp_path, _env(installed, tmp_path)
    )
    assert result.stderr == ""
    filled = read_image(tmp_path / "out.png").pixels
    assert filled.shape == pixels.shape
    error = np.abs(filled[hole].astype(int) - pixels[hole].astype(int)).mean()
    assert error < 40  # a plausible fill of a smooth photo, not a blank or garbage
    assert np.abs(filled[~hole].astype(int) - pixels[~hole]).mean() < 1


def test_the_editor_finds_its_icons_and_sample_in_the_installed_package(
    installed: Path, tmp_path: Path
):
    check = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "import app.icons, core.base.resources as r\n"
        "assert r.SAMPLE_IMAGE.is_file() and r.SAMPLE_MASK.is_file(), r.SAMPLE_IMAGE\n"
        "assert not app.icons.icon('save').isNull() and not app.icons.icon('app').isNull()\n"
        "print(r.RESOURCES_DIR)\n"
    )
    result = _run([installed / "bin" / "python", "-c", check], tmp_path, _env(installed, tmp_path))
    assert Path(result.stdout.strip()).is_relative_to(installed)


def test_the_installed_command_with_no_arguments_opens_the_editor_on_the_sample(
    installed: Path, tmp_path: Path
):
    """``manifold-inpaint`` alone is the editor (offscreen here): on a first launch it opens the
    sample, which it records in its settings, and keeps running."""
    env = _env(installed, tmp_path)
    settings = tmp_path / "config" / "ManifoldInpaint" / "Manifold Inpaint.conf"
    editor = subprocess.Popen(
        [installed / "bin" / "manifold-inpaint"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not (settings.is_file() and "seen_sample=true" in settings.read_text()):
            assert editor.poll() is None, editor.communicate()
            assert time.monotonic() < deadline, "the sample was never opened"
            time.sleep(0.5)
        assert editor.poll() is None
    finally:
        editor.terminate()
        _, err = editor.communicate(timeout=30)
    assert "Traceback" not in err
