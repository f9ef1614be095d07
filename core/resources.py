"""Paths of files shipped under ``resources/``."""

from __future__ import annotations

from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent.parent / "resources"
MODELS_DIR = RESOURCES_DIR / "models"
ICONS_DIR = RESOURCES_DIR / "icons"
SAMPLE_IMAGE = RESOURCES_DIR / "sample" / "sample_damaged.png"
SAMPLE_MASK = RESOURCES_DIR / "sample" / "sample_damage_mask.png"
