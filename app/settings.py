"""Persistent preferences (QSettings): brush size, method, device, last folder, recent files,
window geometry.

Tests isolate QSettings by pointing its INI location at a temp folder (tests/app/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "ManifoldInpaint"
APPLICATION = "Manifold Inpaint"
MAX_RECENT = 10
DEFAULT_BRUSH = 25


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

    @property
    def brush_size(self) -> int:
        return int(self._get("brush/size", DEFAULT_BRUSH, int))

    @brush_size.setter
    def brush_size(self, value: int) -> None:
        self._store.setValue("brush/size", int(value))

    @property
    def method(self) -> str:
        return str(self._get("fill/method", "", str))

    @method.setter
    def method(self, value: str) -> None:
        self._store.setValue("fill/method", value)

    @property
    def device(self) -> str:
        return str(self._get("fill/device", "auto", str))

    @device.setter
    def device(self, value: str) -> None:
        self._store.setValue("fill/device", value)

    @property
    def grain(self) -> bool:
        """Fill > Match Film Grain."""
        return self._store.value("fill/grain", False, type=bool)

    @grain.setter
    def grain(self, value: bool) -> None:
        self._store.setValue("fill/grain", bool(value))

    @property
    def max_pixels(self) -> int | None:
        """Largest photo opened without asking (decompression-bomb guard); None = no limit."""
        from core.base.imageio import DEFAULT_MAX_PIXELS

        value = int(self._get("files/max_pixels", DEFAULT_MAX_PIXELS, int))
        return None if value <= 0 else value

    @max_pixels.setter
    def max_pixels(self, value: int | None) -> None:
        self._store.setValue("files/max_pixels", int(value or 0))

    @property
    def last_folder(self) -> str:
        return str(self._get("files/last_folder", "", str))

    @last_folder.setter
    def last_folder(self, value: str) -> None:
        self._store.setValue("files/last_folder", value)

    @property
    def seen_sample(self) -> bool:
        return self._store.value("files/seen_sample", False, type=bool)

    @seen_sample.setter
    def seen_sample(self, value: bool) -> None:
        self._store.setValue("files/seen_sample", bool(value))

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

    @property
    def geometry(self) -> QByteArray | None:
        value = self._store.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    @geometry.setter
    def geometry(self, value: QByteArray) -> None:
        self._store.setValue("window/geometry", value)

    @property
    def window_state(self) -> QByteArray | None:
        value = self._store.value("window/state")
        return value if isinstance(value, QByteArray) else None

    @window_state.setter
    def window_state(self, value: QByteArray) -> None:
        self._store.setValue("window/state", value)

    def sync(self) -> None:
        self._store.sync()
