"""Icons: every icon an action names exists and draws something; the main actions and the
window have one; the tool bars show them and still fit a 1100 px window; a missing or broken
icon is an empty QIcon (and a warning), never an exception; a dark palette gets light icons."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QToolBar, QToolButton

from app import icons
from app.icons import INK, icon
from app.main_window import APP_ICON, MainWindow
from app.window.actions import ACTION_ICONS
from core.base.resources import ICONS_DIR, SAMPLE_IMAGE
from tests.app.driving import open_window

ICON_NAMES = sorted({*ACTION_ICONS.values(), APP_ICON})
MAIN_ACTIONS = [
    "action_open", "action_save", "action_undo", "action_redo", "action_fill",
    "action_cancel", "action_tool_brush", "action_tool_eraser", "action_tool_rectangle",
    "action_tool_lasso", "action_zoom_fit", "action_zoom_100", "action_show_mask",
    "action_detect",
]  # fmt: skip
TOOLBARS = ["toolbar_main", "toolbar_fill", "toolbar_mask"]


def opaque_colours(qicon: QIcon, size: int = 48) -> list[QColor]:
    """The colours of the pixels of ``qicon`` drawn at ``size`` px that are mostly opaque."""
    image = qicon.pixmap(size).toImage()
    colours = (image.pixelColor(x, y) for y in range(image.height()) for x in range(image.width()))
    return [c for c in colours if c.alpha() > 128]


@pytest.fixture
def window(qtbot) -> MainWindow:  # type: ignore[no-untyped-def]
    return open_window(qtbot, SAMPLE_IMAGE, (1100, 800))


@pytest.fixture
def fresh_icons() -> Iterator[None]:
    icons.clear_cache()
    yield
    icons.clear_cache()


@pytest.mark.parametrize("name", ICON_NAMES)
def test_icon_file_exists_is_self_contained_and_draws(qapp, fresh_icons, name: str) -> None:
    path = ICONS_DIR / f"{name}.svg"
    assert path.is_file(), f"{path} is missing"
    text = path.read_text(encoding="utf-8")
    assert 'viewBox="0 0 24 24"' in text
    for forbidden in ("<text", "<image", "href", "url("):  # no text, no external references
        assert forbidden not in text, f"{name}.svg contains {forbidden}"
    qicon = icon(name)
    assert not qicon.isNull()
    opaque = opaque_colours(qicon)
    # Something is drawn, and it is an icon, not a filled square.
    assert 48 * 48 * 0.04 < len(opaque) < 48 * 48 * 0.9, (name, len(opaque))
    if name != APP_ICON:  # the action icons are all one dark grey on the light palette
        assert all(c.lightness() < 110 for c in opaque), name
        assert INK in text


def test_main_actions_and_the_window_have_icons(window: MainWindow) -> None:
    for name in ACTION_ICONS:
        action = window.findChild(QAction, name)
        assert action is not None, f"no action {name} (renamed? update ACTION_ICONS)"
        assert not action.icon().isNull(), name
    for name in MAIN_ACTIONS:
        assert not window.findChild(QAction, name).icon().isNull(), name
    assert not window.windowIcon().isNull()
    assert opaque_colours(window.windowIcon())


def test_tool_bars_show_every_icon_and_fit_1100_px(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    qtbot.wait(10)
    for bar_name in TOOLBARS:
        bar = window.findChild(QToolBar, bar_name)
        buttons = [bar.widgetForAction(a) for a in bar.actions() if not a.isSeparator()]
        buttons = [b for b in buttons if isinstance(b, QToolButton)]
        assert buttons, bar_name
        for button in buttons:
            assert not button.defaultAction().icon().isNull(), button.defaultAction().objectName()
            assert not button.icon().isNull()
        # Nothing pushed into the overflow menu (the ">>" button) at 1100 px.
        extension = bar.findChild(QToolButton, "qt_toolbar_ext_button")
        assert extension is None or not extension.isVisible(), f"{bar_name} overflows"
        assert bar.geometry().right() <= window.width()
    # Icon and text for the tools and the fill; the nav / history / zoom buttons icon only.
    style = Qt.ToolButtonStyle
    assert (
        window.findChild(QToolBar, "toolbar_mask").toolButtonStyle()
        == style.ToolButtonTextBesideIcon
    )
    main = window.findChild(QToolBar, "toolbar_main")
    assert main.widgetForAction(window.action.undo).toolButtonStyle() == style.ToolButtonIconOnly
    assert window.action.previous.toolTip() == "Previous Image in Folder"


def test_missing_icon_is_an_empty_icon_and_a_warning(qapp, fresh_icons, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING, logger="app.icons"):
        missing = icon("no_such_icon_anywhere")
    assert isinstance(missing, QIcon)
    assert missing.isNull()
    assert missing.pixmap(24).isNull()
    assert "no_such_icon_anywhere" in caplog.text


def test_broken_svg_is_an_empty_icon(
    qapp, fresh_icons, caplog, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "broken.svg").write_text("<svg this is not", encoding="utf-8")
    (tmp_path / "binary.svg").write_bytes(b"\xff\xfe\x00garbage")
    monkeypatch.setattr(icons, "ICONS_DIR", tmp_path)
    with caplog.at_level(logging.WARNING, logger="app.icons"):
        assert icon("broken").isNull()
        assert icon("binary").isNull()
    assert "broken" in caplog.text
    assert "binary" in caplog.text


def test_dark_palette_gets_light_icons(qapp, fresh_icons) -> None:  # type: ignore[no-untyped-def]
    app = QApplication.instance()
    old = app.palette()
    dark = QPalette(old)
    dark.setColor(QPalette.ColorRole.Window, QColor("#2b2b2b"))
    try:
        app.setPalette(dark)
        assert icons.dark_palette()
        light_ink = opaque_colours(icon("save"))
        assert light_ink
        assert all(c.lightness() > 160 for c in light_ink)
    finally:
        app.setPalette(old)
    assert not icons.dark_palette()
    assert all(c.lightness() < 110 for c in opaque_colours(icon("save")))
