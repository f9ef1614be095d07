"""Before Qt starts: can its X11 (xcb) platform plugin load here?

When a system library that Qt's xcb plugin links against is missing, Qt aborts with a message
that names the wrong one ("xcb-cursor0 or libxcb-cursor0 is needed", printed whatever is
missing). Ubuntu and Debian desktops often lack one of them. So before the QApplication exists,
the editor asks ``ldd`` which of the plugin's libraries the dynamic linker cannot find and, if
any, says so in one message with the command that installs them, and exits.

Only Linux with the xcb platform is checked (a display in ``DISPLAY`` and ``QT_QPA_PLATFORM``
unset or ``xcb``); offscreen, Wayland, macOS and Windows are left to Qt. Anything unexpected
(no ``ldd``, no plugin file) skips the check: it may only ever help, never stop a start that
would have worked.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

# soname -> (Debian/Ubuntu package, Fedora package), for the libraries Qt 6's xcb plugin and
# Qt's GUI libraries link against. Others follow Debian's naming rule (below) and Fedora's
# soname provides, which dnf resolves itself.
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libGLX.so.0": ("libglx0", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
}
# Every libxcb-EXTENSION.so (randr, shape, shm, sync, xfixes, render, xkb, xinput...) is in
# Fedora's one libxcb package; Debian has one package per extension.
_FEDORA_LIBXCB = re.compile(r"libxcb(-(randr|shape|shm|sync|xfixes|render|xkb|xinput|glx))?\.so\.")

_LDD_MISSING = (
    re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE),  # glibc
    re.compile(r"Error loading shared library (\S+?):"),  # musl
)


def xcb_will_be_used(env: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Whether Qt will load its xcb plugin: Linux, and either ``QT_QPA_PLATFORM`` names xcb
    first, or it is unset with an X display and no Wayland session (where Qt picks Wayland)."""
    if not platform.startswith("linux"):
        return False
    requested = env.get("QT_QPA_PLATFORM", "").strip()
    if requested:
        first = requested.split(";")[0].split(":")[0].strip().lower()
        return first == "xcb"
    if env.get("XDG_SESSION_TYPE") == "wayland" and env.get("WAYLAND_DISPLAY"):
        return False
    return bool(env.get("DISPLAY"))


def missing_libraries(ldd_output: str) -> list[str]:
    """The sonames ``ldd`` could not find, each once, in the order it printed them."""
    found: list[str] = []
    for pattern in _LDD_MISSING:
        for name in pattern.findall(ldd_output):
            if name not in found:
                found.append(name)
    return found


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package of a library: the table, else Debian's naming rule
    (``libfoo-bar.so.3`` -> ``libfoo-bar3``, ``libfoo2.so.0`` -> ``libfoo2-0``)."""
    if soname in PACKAGES:
        return PACKAGES[soname][0]
    match = re.fullmatch(r"(lib.+?)\.so\.(\d+)(\..*)?", soname)
    if not match:
        return soname
    stem, major = match.group(1).lower(), match.group(2)
    return f"{stem}{'-' if stem[-1].isdigit() else ''}{major}"


def fedora_package(soname: str) -> str:
    """The Fedora package of a library: the table, else the soname that dnf resolves."""
    if soname in PACKAGES:
        return PACKAGES[soname][1]
    if _FEDORA_LIBXCB.match(soname):
        return "libxcb"
    return f"'{soname}()(64bit)'"


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def message(missing: list[str]) -> str:
    """What the user reads: what is missing, and the command that installs it."""
    apt = " ".join(_unique([debian_package(name) for name in missing]))
    dnf = " ".join(_unique([fedora_package(name) for name in missing]))
    return (
        "error: the editor cannot start: Qt's X11 platform plugin (xcb) needs system libraries "
        f"that are not installed: {', '.join(missing)}\n"
        f"  Debian / Ubuntu:  sudo apt-get install {apt}\n"
        f"  Fedora:           sudo dnf install {dnf}\n"
        "(the command-line tools need no display: manifold-inpaint --help)"
    )


def xcb_plugin() -> Path | None:
    """The ``libqxcb.so`` Qt will load: under ``QT_QPA_PLATFORM_PLUGIN_PATH`` if set, else in
    Qt's plugin folder (PySide6's own Qt, or a system Qt). Importing QtCore starts no platform."""
    from PySide6.QtCore import QLibraryInfo

    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    for root in (os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", ""), str(plugins)):
        candidate = Path(root) / "libqxcb.so"
        if root and candidate.is_file():
            return candidate
    return None


def run_ldd(library: Path) -> str | None:
    """``ldd``'s report on ``library``; ``None`` if there is no ldd or it failed."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return None
    try:
        result = subprocess.run(
            [ldd, str(library)], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout + result.stderr


NO_DISPLAY = (
    "error: there is no display to open the editor on (neither DISPLAY nor WAYLAND_DISPLAY is "
    "set): run it on a desktop, or over ssh -X; the command-line tools need no display "
    "(manifold-inpaint --help)"
)


def has_no_display(env: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Linux with no display and no platform asked for: Qt would try X11 and abort."""
    return (
        platform.startswith("linux")
        and not env.get("QT_QPA_PLATFORM", "").strip()
        and not env.get("DISPLAY")
        and not env.get("WAYLAND_DISPLAY")
    )


def check_platform(env: Mapping[str, str] | None = None) -> str | None:
    """The message to print instead of starting Qt, or ``None`` when Qt may go ahead."""
    env = os.environ if env is None else env
    if has_no_display(env):
        return NO_DISPLAY
    if not xcb_will_be_used(env):
        return None
    plugin = xcb_plugin()
    report = run_ldd(plugin) if plugin is not None else None
    missing = missing_libraries(report) if report else []
    return message(missing) if missing else None
