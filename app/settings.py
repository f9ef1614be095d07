"""Persistent preferences (QSettings): brush size, method, device, last folder, recent files,
window geometry.

Tests isolate QSettings by pointing its INI location at a temp folder (tests/app/conftest.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "ManifoldInpaint"
APPLICATION = "Manifold Inpaint"
MAX_RECENT = 10
DEFAULT_BRUSH = 25


class _Stored:
    """A preference kept under ``key``: it reads as ``kind`` (a hand-edited or foreign value
    reads as ``default``; a flag is read by QSettings, which knows "true" from "false") and is
    written as ``kind`` of the value."""

    def __init__(self, key: str, default: Any, kind: type) -> None:
        self.key, self.default, self.kind = key, default, kind

    def __get__(self, settings: Settings | None, owner: type) -> Any:
        if settings is None:
            return self
        if self.kind is bool:
            return settings._store.value(self.key, self.default, type=bool)
        if self.kind is QByteArray:  # Qt's own blobs (window geometry and state)
            value = settings._store.value(self.key)
            return value if isinstance(value, QByteArray) else self.default
        return self.kind(settings._get(self.key, self.default, self.kind))

    def __set__(self, settings: Settings, value: Any) -> None:
        settings._store.setValue(self.key, self.kind(value))


class Settings:
    """Typed accessors over one QSettings store."""

    def __init__(self, store: QSettings | None = None) -> None:
        self._store = store if store is not None else QSettings()

    def _get(self, key: str, default: object, kind: type) -> object:
        value = self._store.value(key, default)
        try:
            return kind(value)
        except (TypeError, ValueError):  # a hand-edited or foreign value: ignore it
            return default

    brush_size = _Stored("brush/size", DEFAULT_BRUSH, int)
    method = _Stored("fill/method", "", str)
    device = _Stored("fill/device", "auto", str)
    grain = _Stored("fill/grain", False, bool)  # Fill > Match Film Grain
    last_folder = _Stored("files/last_folder", "", str)
    seen_sample = _Stored("files/seen_sample", False, bool)  # the first launch's sample shown
    geometry = _Stored("window/geometry", None, QByteArray)
    window_state = _Stored("window/state", None, QByteArray)

    @property
    def max_pixels(self) -> int | None:
        """Largest photo opened without asking (decompression-bomb guard); None = no limit."""
        from core.base.imageio import DEFAULT_MAX_PIXELS

        value = int(self._get("files/max_pixels", DEFAULT_MAX_PIXELS, int))
        return None if value <= 0 else value

    @max_pixels.setter
    def max_pixels(self, value: int | None) -> None:
        self._store.setValue("files/max_pixels", int(value or 0))

    def recent_files(self) -> list[str]:
        value = self._store.value("files/recent", [])
        if isinstance(value, str):  # QSettings returns a one-item list as a plain string
            value = [value]
        return [str(v) for v in value or []]

    def add_recent(self, path: str | Path) -> list[str]:
        path = str(Path(path).resolve())
        recent = [path] + [p for p in self.recent_files() if p != path]
        self._store.setValue("files/recent", recent[:MAX_RECENT])
        return recent[:MAX_RECENT]

    def clear_recent(self) -> None:
        self._store.setValue("files/recent", [])

    def sync(self) -> None:
        self._store.sync()
