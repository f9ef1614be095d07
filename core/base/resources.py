"""Paths of the files the program ships (icons, model weights and manifest, the sample photo).

They live in the checkout's ``resources/`` folder, installed as the package
``manifold_inpaint_resources`` (see setup.py), and are found through :mod:`importlib.resources`:
a wheel, ``pip install .``, ``pipx`` and an editable install all find them the same way.
``MODELS_DIR`` is looked up at call time by the model loaders, so tests can point it at a copy.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PACKAGE = "manifold_inpaint_resources"


def _resources_dir() -> Path:
    try:
        root = resources.files(PACKAGE)
    except ModuleNotFoundError:
        # A source tree run without installing the project (``PYTHONPATH=. python main.py``):
        # the folder beside core/ is the one an install would ship.
        return Path(__file__).resolve().parent.parent / "resources"
    # Installed wheels are unpacked on disk, so this is a real folder: OpenCV, Qt and
    # safetensors need file system paths, not a Traversable.
    return Path(str(root))


RESOURCES_DIR = _resources_dir()
MODELS_DIR = RESOURCES_DIR / "models"
ICONS_DIR = RESOURCES_DIR / "icons"
SAMPLE_IMAGE = RESOURCES_DIR / "sample" / "sample_damaged.png"
SAMPLE_MASK = RESOURCES_DIR / "sample" / "sample_damage_mask.png"
