"""app.settings: each preference reads back as written, as its type; a hand-edited or foreign
value reads as the default; flags read "false" as False; Qt's blobs come back as blobs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from app.settings import DEFAULT_BRUSH, Settings


def store(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat)


def test_preferences_read_back_as_written_and_as_their_type(tmp_path: Path) -> None:
    settings = Settings(store(tmp_path))
    assert (settings.brush_size, settings.method, settings.device) == (DEFAULT_BRUSH, "", "auto")
    assert settings.grain is False and settings.seen_sample is False
    assert settings.geometry is None and settings.window_state is None
    settings.brush_size, settings.method, settings.device = 40, "telea", "cpu"
    settings.grain = settings.seen_sample = True
    settings.last_folder = "/photos"
    settings.geometry = QByteArray(b"\x01\x02")
    settings.sync()
    again = Settings(store(tmp_path))  # what the next launch reads from the file
    assert again.brush_size == 40 and isinstance(again.brush_size, int)
    assert (again.method, again.device, again.last_folder) == ("telea", "cpu", "/photos")
    assert again.grain is True and again.seen_sample is True
    assert again.geometry == QByteArray(b"\x01\x02") and again.window_state is None


def test_foreign_values_read_as_the_default(tmp_path: Path) -> None:
    raw = store(tmp_path)
    raw.setValue("brush/size", "large")  # hand-edited
    raw.setValue("fill/grain", "false")  # as an INI file spells it
    raw.setValue("window/geometry", "not a blob")
    settings = Settings(raw)
    assert settings.brush_size == DEFAULT_BRUSH
    assert settings.grain is False
    assert settings.geometry is None
