"""The editor's icons: hand-drawn 24 x 24 SVGs under ``resources/icons``, loaded by name.

``icon("save")`` renders ``resources/icons/save.svg`` with QtSvg into pixmaps at the usual
sizes (so it needs no icon-engine plugin) and caches the QIcon. The action icons are drawn in
one dark grey (``INK``); under a dark palette that grey is swapped for a light one, so the
icons stay visible. A missing or unreadable file is a warning in the log and an empty QIcon,
never an exception: the action then shows its text alone.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from core.base.resources import ICONS_DIR

log = logging.getLogger(__name__)

INK = "#3c3c3c"  # the stroke colour of every action icon
INK_ON_DARK = "#dcdcdc"  # what replaces it under a dark palette
SIZES = (16, 20, 24, 32, 48, 64)  # device pixels; QIcon picks the nearest and scales it
APP_SIZES = (*SIZES, 128, 256)  # the window icon: task bars and docks show it large

_cache: dict[tuple[str, bool], QIcon] = {}


def dark_palette() -> bool:
    """Whether the application's window colour is dark (a dark theme or system dark mode)."""
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def icon(name: str) -> QIcon:
    """The icon ``ICONS_DIR / f"{name}.svg"``, cached; an empty QIcon if it is missing or
    unreadable (logged)."""
    if not isinstance(QGuiApplication.instance(), QGuiApplication):  # pixmaps need one
        log.warning("icon %r: asked for before the QApplication exists (no icon)", name)
        return QIcon()
    dark = dark_palette()
    key = (name, dark)
    cached = _cache.get(key)
    if cached is None:
        cached = _cache[key] = _load(name, dark)
    return QIcon(cached)


def clear_cache() -> None:
    """Forget loaded icons (after the palette or the files change)."""
    _cache.clear()


def _load(name: str, dark: bool) -> QIcon:
    path = ICONS_DIR / f"{name}.svg"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("icon %r: cannot read %s (%s)", name, path, exc)
        return QIcon()
    if dark:
        text = text.replace(INK, INK_ON_DARK)
    renderer = QSvgRenderer(QByteArray(text.encode("utf-8")))
    if not renderer.isValid():
        log.warning("icon %r: %s is not a valid SVG", name, path)
        return QIcon()
    result = QIcon()
    for size in APP_SIZES if name == "app" else SIZES:
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        result.addPixmap(pixmap)
    return result
