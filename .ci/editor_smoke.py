"""CI: the editor under a real X server (Xvfb, Qt's xcb platform), as a new user starts it.

    xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/python .ci/editor_smoke.py \\
        --seconds 90 --shot out/ci/editor-xvfb.png -- .venv/bin/python main.py

Runs the command with fresh settings (first launch: the sample photo opens) and no
QT_QPA_PLATFORM, waits for the editor's window on the sample, keeps it up for ``--seconds``
(it must stay alive), screenshots the screen and checks the window is drawn (not blank), then
closes it. Fails if the editor died, never showed, printed anything on stderr, or drew nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TITLE = "sample_damaged.png - Manifold Inpaint"
SHOW_TIMEOUT_S = 120


def window_geometry() -> tuple[int, int, int, int] | None:
    """(x, y, width, height) of the editor's top-level window on the sample, if it is shown."""
    tree = subprocess.run(
        ["xwininfo", "-root", "-tree"], capture_output=True, text=True, check=True
    ).stdout
    for line in tree.splitlines():
        if f'"{TITLE}"' in line:
            match = re.search(r"(\d+)x(\d+)\+(-?\d+)\+(-?\d+)\s+\+(-?\d+)\+(-?\d+)", line)
            if match:
                w, h, _, _, x, y = (int(v) for v in match.groups())
                if w > 1 and h > 1:
                    return x, y, w, h
    return None


def screenshot(path: Path) -> np.ndarray:
    """The whole X screen as an (H, W, 3) uint8 array, also saved to ``path`` (PNG)."""
    from PySide6.QtGui import QGuiApplication, QImage

    app = QGuiApplication.instance() or QGuiApplication(["smoke"])
    image = app.primaryScreen().grabWindow(0).toImage()
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(str(path))
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    rows = np.frombuffer(image.constBits(), np.uint8, count=stride * height).reshape(height, stride)
    return rows[:, : width * 3].reshape(height, width, 3).copy()


def fail(message: str, editor: subprocess.Popen | None = None) -> int:
    if editor is not None and editor.poll() is None:
        editor.kill()
    print(f"editor smoke test FAILED: {message}", file=sys.stderr)
    return 1


def run(command: list[str], seconds: float, shot: Path) -> int:
    if not os.environ.get("DISPLAY"):
        return fail("no DISPLAY: run this under xvfb-run")
    home = Path(tempfile.mkdtemp(prefix="editor-smoke-"))
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}  # the real xcb
    env.update(XDG_CONFIG_HOME=str(home / "config"), MANIFOLD_INPAINT_DATA_DIR=str(home / "data"))
    err_path = home / "stderr.txt"
    with open(err_path, "wb") as err:
        editor = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
    start = time.monotonic()
    geometry = None
    while geometry is None:
        if editor.poll() is not None:
            return fail(f"exit status {editor.returncode}: {err_path.read_text()[-2000:]}")
        if time.monotonic() - start > SHOW_TIMEOUT_S:
            return fail(f"no window titled {TITLE!r} after {SHOW_TIMEOUT_S} s", editor)
        time.sleep(0.5)
        geometry = window_geometry()
    shown = time.monotonic()
    print(f"window {TITLE!r} {geometry[2]}x{geometry[3]} shown {shown - start:.1f} s after start")
    while time.monotonic() - shown < seconds:
        if editor.poll() is not None:
            return fail(f"died after {time.monotonic() - shown:.0f} s: {err_path.read_text()}")
        time.sleep(1)
    if window_geometry() is None:
        return fail("the window is gone", editor)
    pixels = screenshot(shot)
    x, y, w, h = geometry
    inside = pixels[max(y, 0) : y + h, max(x, 0) : x + w].reshape(-1, 3)
    colours = len({tuple(p) for p in inside[:: max(1, len(inside) // 20000)]})
    spread = float(inside.std())
    print(f"up {seconds:.0f} s; screenshot {shot} ({pixels.shape[1]}x{pixels.shape[0]}): "
          f"{colours} colours in the window, std {spread:.1f}")  # fmt: skip
    editor.send_signal(signal.SIGTERM)
    try:
        editor.wait(timeout=15)
    except subprocess.TimeoutExpired:
        editor.kill()
    if colours < 500 or spread < 10:
        return fail(f"the window looks blank ({colours} colours, std {spread:.1f})")
    noise = err_path.read_text().strip()
    if noise:
        return fail(f"the editor printed on stderr:\n{noise[:2000]}")
    print("editor smoke test passed")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument("--shot", type=Path, default=Path("out/ci/editor-xvfb.png"))
    parser.add_argument("command", nargs="+", help="the editor's command line (after --)")
    args = parser.parse_args()
    return run(args.command, args.seconds, args.shot)


if __name__ == "__main__":
    sys.exit(main())
