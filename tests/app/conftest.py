"""Qt tests run headless and never touch the user's settings."""

from __future__ import annotations

import os

# Must be set before the first Qt import (pytest-qt creates the QApplication later).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QSettings


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path) -> None:
    """A fresh, empty settings store per test: no test sees another's method or geometry."""
    QCoreApplication.setOrganizationName("ManifoldInpaintTests")
    QCoreApplication.setApplicationName("editor-tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings")
    )


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Recovery files go to a temp folder, never the user's data folder."""
    folder = tmp_path / "data"
    monkeypatch.setenv("MANIFOLD_INPAINT_DATA_DIR", str(folder))
    return folder
