"""The start-up check that names the system libraries Qt's xcb plugin lacks (fakes only: no
test here needs a machine that lacks them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app import platform_check
from app.platform_check import (
    check_platform,
    debian_package,
    fedora_package,
    has_no_display,
    message,
    missing_libraries,
    xcb_will_be_used,
)

ROOT = Path(__file__).resolve().parents[2]

# What ldd printed for PySide6 6.x's libqxcb.so on a Debian 12 machine without two xcb-util libs
# (abridged; each missing library is listed once per library that needs it).
LDD_GLIBC = """\
\tlinux-vdso.so.1 (0x00007f8138308000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x7f81)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f8138150000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f8138148000)
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-randr.so.0 => /lib/x86_64-linux-gnu/libxcb-randr.so.0 (0x00007f813812f000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f813641e000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007f813830a000)
"""
LDD_MUSL = """\
\t/lib/ld-musl-x86_64.so.1 (0x7f3c)
Error loading shared library libxcb-icccm.so.4: No such file or directory (needed by libqxcb.so)
\tlibxcb-util.so.1 => /usr/lib/libxcb-util.so.1 (0x7f3c)
"""
WAYLAND_SESSION = {"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}
LDD_ALL_FOUND = "\tlibxcb-icccm.so.4 => /lib/x86_64-linux-gnu/libxcb-icccm.so.4 (0x7f81)\n"


def test_the_missing_libraries_are_read_from_ldd_once_each_in_order() -> None:
    assert missing_libraries(LDD_GLIBC) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert missing_libraries(LDD_MUSL) == ["libxcb-icccm.so.4"]
    assert missing_libraries(LDD_ALL_FOUND) == []
    assert missing_libraries("") == []


@pytest.mark.parametrize(
    ("soname", "debian", "fedora"),
    [
        ("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm"),
        ("libxcb-keysyms.so.1", "libxcb-keysyms1", "xcb-util-keysyms"),
        ("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0", "libxkbcommon-x11"),
        ("libglib-2.0.so.0", "libglib2.0-0", "glib2"),
        # Not in the table: Debian's naming rule, and Fedora's libxcb or dnf's soname lookup.
        ("libxcb-xinerama.so.0", "libxcb-xinerama0", "'libxcb-xinerama.so.0()(64bit)'"),
        ("libxcb-randr.so.0", "libxcb-randr0", "libxcb"),
        ("libxcb.so.1", "libxcb1", "libxcb"),
        ("libSM.so.6", "libsm6", "'libSM.so.6()(64bit)'"),
        ("libfoo2.so.0", "libfoo2-0", "'libfoo2.so.0()(64bit)'"),
    ],
)
def test_package_names(soname: str, debian: str, fedora: str) -> None:
    assert debian_package(soname) == debian
    assert fedora_package(soname) == fedora


def test_the_message_names_the_libraries_and_both_install_commands() -> None:
    text = message(["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-randr.so.0"])
    lines = text.splitlines()
    assert lines[0].startswith("error: ") and "libxcb-icccm.so.4, libxcb-keysyms.so.1" in lines[0]
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1 libxcb-randr0" in text
    assert "sudo dnf install xcb-util-wm xcb-util-keysyms libxcb" in text


@pytest.mark.parametrize(
    ("env", "platform", "expected"),
    [
        ({"DISPLAY": ":0"}, "linux", True),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "linux", True),
        ({"QT_QPA_PLATFORM": "xcb:nograb"}, "linux", True),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux", False),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland;xcb"}, "linux", False),
        ({**WAYLAND_SESSION, "DISPLAY": ":0"}, "linux", False),  # Qt picks Wayland there
        ({"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}, "linux", True),
        ({}, "linux", False),
        ({"DISPLAY": ":0"}, "darwin", False),
        ({"DISPLAY": ":0"}, "win32", False),
    ],
)
def test_only_linux_with_the_xcb_platform_is_checked(
    env: dict[str, str], platform: str, expected: bool
) -> None:
    assert xcb_will_be_used(env, platform) is expected


def test_no_display_at_all_is_said_before_qt_aborts() -> None:
    assert has_no_display({}, "linux")
    assert not has_no_display({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not has_no_display({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not has_no_display({}, "darwin")


def test_check_platform_runs_ldd_on_the_plugin_and_reports_what_it_lacks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plugin = tmp_path / "libqxcb.so"
    asked: list[Path] = []
    monkeypatch.setattr(platform_check, "xcb_plugin", lambda: plugin)
    monkeypatch.setattr(platform_check, "run_ldd", lambda lib: asked.append(lib) or LDD_GLIBC)
    monkeypatch.setattr(sys, "platform", "linux")
    text = check_platform({"DISPLAY": ":0"})
    assert asked == [plugin] and text is not None and "libxcb-keysyms1" in text
    monkeypatch.setattr(platform_check, "run_ldd", lambda lib: LDD_ALL_FOUND)
    assert check_platform({"DISPLAY": ":0"}) is None
    monkeypatch.setattr(platform_check, "run_ldd", lambda lib: None)  # no ldd: Qt decides
    assert check_platform({"DISPLAY": ":0"}) is None
    asked.clear()
    assert check_platform({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}) is None
    assert asked == []  # not even looked at


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PySide6's xcb plugin is Linux's")
def test_the_real_plugin_is_found_and_ldd_reads_it() -> None:
    plugin = platform_check.xcb_plugin()
    assert plugin is not None and plugin.name == "libqxcb.so"
    report = platform_check.run_ldd(plugin)
    if report is None:
        pytest.skip("no ldd here")
    assert "libQt6XcbQpa.so.6" in report  # the plugin's own Qt library, found or not


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux start-up check")
def test_the_editor_without_a_display_is_one_clear_message(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py")], env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines() == [platform_check.NO_DISPLAY]
