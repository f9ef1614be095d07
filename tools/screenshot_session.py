"""A restorer's session in the real editor, screenshotted step by step (issue 17).

    MANIFOLD_INPAINT_DATA_DIR=$(mktemp -d) xvfb-run -a -s "-screen 0 1400x900x24" \\
        .venv/bin/python tools/screenshot_session.py [FOLDER] [--scratch DIR]

Drives the real window through its automation contract and the keys a user presses:
opens ``cracked_boy.png`` from ``../shared/data/real``, Detect (D), shot of the proposal
(``session-1-detect.png``), Accept (Shift+D), Fill (F) with the default method, shot
(``session-2-filled.png``); PgDn to ``scratched_girl.png``, the same, shot of the fill
(``session-3-girl.png``); the bundled sample: Fill (F) of its mask, a brush stroke, a latent
slider dragged and let go, shot of the textured preview (``session-4-latent.png``). Prints each
status bar text. Under X the shots are of the whole screen (``import -window root``), else of
the window. ``--scratch DIR`` also keeps the in-between shots and the filled photos there.
Skips (exit 0) when the real scans are absent.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real"
MAX_BYTES = 400_000


class Session:
    """The window, the output folders and the log of what the status bar said."""

    def __init__(self, out: Path, scratch: Path | None) -> None:
        # Throw-away settings: the walk must not depend on (or change) the user's.
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
        app = QApplication.instance()
        self.app = app if isinstance(app, QApplication) else QApplication(sys.argv[:1])
        from app.main_window import MainWindow

        self.window = MainWindow()
        self.window.move(0, 0)
        self.window.resize(1400, 900)  # the whole Xvfb screen
        self.window.show()
        self.window.activateWindow()
        self.out, self.scratch = out, scratch
        self.filled: list[bool] = []
        self.window.fill_finished.connect(lambda: self.filled.append(True))
        self.wait(lambda: False, 1.0)  # let the window map and draw

    def wait(self, done: Callable[[], bool], timeout: float = 300.0) -> bool:
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            self.app.processEvents()
            time.sleep(0.01)
        self.app.processEvents()
        return bool(done())

    def status(self, step: str) -> str:
        text = self.window.statusBar().currentMessage()
        panel = self.window.detect_panel.status_label.text().replace("\n", " / ")
        print(f"[{step}] status bar: {text!r}\n[{step}] damage panel: {panel!r}", flush=True)
        return text

    def key(self, key: Qt.Key, modifier: Qt.KeyboardModifier, happened: Callable[[], bool]) -> None:
        """Press a key as the user does, on the focused widget; say so if it did nothing."""
        target = self.app.focusWidget() or self.window.canvas
        QTest.keyClick(target, key, modifier)
        self.app.processEvents()
        if not happened():
            print(f"!! key {key!r} on {type(target).__name__} did nothing", flush=True)

    def shot(self, name: str, keep: bool = True) -> None:
        folder = self.out if keep else self.scratch
        if folder is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        self.wait(lambda: False, 0.5)  # repaints after the last change
        if os.environ.get("DISPLAY") and shutil.which("import"):
            subprocess.run(["import", "-window", "root", str(path)], check=True)
        else:
            self.window.grab().save(str(path))
        if path.stat().st_size > MAX_BYTES:  # 256 colours keep a screenshot readable
            if self.scratch is not None:  # the full colours, for a close look
                self.scratch.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, self.scratch / f"{path.stem}-raw.png")
            shrink(path)
        print(f"shot {path} ({path.stat().st_size // 1000} KB)", flush=True)

    def keep_result(self, name: str) -> None:
        doc = self.window.document()
        if self.scratch is not None and doc is not None:
            self.scratch.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.asarray(doc.image)).save(self.scratch / name)


def shrink(path: Path) -> None:
    """A palette PNG under ``MAX_BYTES``: dithered (a photo not posterised), fewer colours if need
    be."""
    image = Image.open(path).convert("RGB")
    for colours in (256, 224, 192, 160, 128):
        palette = image.quantize(colours)
        image.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG).save(
            path, optimize=True
        )
        if path.stat().st_size <= MAX_BYTES:
            return


def detect_accept_fill(s: Session, stem: str, detect_shot: str | None, fill_shot: str) -> None:
    """Detect (D), look at the proposal, Accept (Shift+D), Fill (F), look at the result."""
    w = s.window
    start = time.monotonic()
    s.key(Qt.Key.Key_D, Qt.KeyboardModifier.NoModifier, lambda: w.detect.busy)
    if not w.detect.busy and w.detect.proposal is None:
        w.detect_actions["detect"].trigger()
    s.wait(lambda: not w.detect.busy and w.detect.proposal is not None)
    print(f"[{stem} detect] {time.monotonic() - start:.1f} s", flush=True)
    s.status(f"{stem} detect")
    s.shot(detect_shot or f"{stem}-detect.png", keep=detect_shot is not None)
    s.key(Qt.Key.Key_D, Qt.KeyboardModifier.ShiftModifier, lambda: w.detect.proposal is None)
    if w.detect.proposal is not None:
        w.detect_actions["accept"].trigger()
    s.status(f"{stem} accept")
    fill(s, stem)
    s.shot(fill_shot, keep=True)
    s.keep_result(f"{stem}-filled.png")


def fill(s: Session, stem: str) -> None:
    w = s.window
    before = len(s.filled)
    print(f"[{stem} fill] method {w.method_combo.currentData()!r}", flush=True)
    start = time.monotonic()
    s.key(Qt.Key.Key_F, Qt.KeyboardModifier.NoModifier, lambda: w.fill.busy)
    if not w.fill.busy and len(s.filled) == before:
        w.action.fill.trigger()
    s.wait(lambda: len(s.filled) > before)
    print(f"[{stem} fill] {time.monotonic() - start:.1f} s", flush=True)
    s.status(f"{stem} fill")


def stroke(s: Session, points: list[tuple[float, float]], size: int) -> None:
    """A brush stroke through image points (x, y), as a mouse drag on the canvas."""
    canvas = s.window.canvas
    s.window.toolbox.set_brush_size(size)
    at = [canvas.map_from_image(QPointF(x, y)).toPoint() for x, y in points]
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at[0])
    for p in at[1:]:
        QTest.mouseMove(canvas, p)
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at[-1])
    s.app.processEvents()


def drag_slider(s: Session, index: int, fraction: float) -> None:
    """Drag latent slider ``index`` from its handle (the middle, at 0) to ``fraction`` of its
    length, then let go: as a mouse does it."""
    panel = s.window.latent_panel
    labeled = panel.sliders[index]
    inner = getattr(labeled, "_slider", labeled)
    y = inner.height() // 2
    start, end = QPoint(inner.width() // 2, y), QPoint(int(inner.width() * fraction), y)
    QTest.mousePress(inner, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for t in np.linspace(0, 1, 8)[1:]:
        QTest.mouseMove(inner, start + (end - start) * float(t))
        s.wait(lambda: False, 0.05)
    QTest.mouseRelease(inner, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    print(f"[latent] slider {index} now {labeled.value():.2f}", flush=True)


def latent_walk(s: Session) -> None:
    """The sample: fill its mask, brush a new hole, move a latent slider and let it go."""
    w = s.window
    w.open_sample()
    s.wait(lambda: w.document() is not None)
    s.status("sample open")
    fill(s, "sample")
    s.keep_result("sample-filled.png")
    # A new hole over the red macaw's green and blue wing feathers.
    stroke(s, [(640, 330), (660, 350), (685, 370), (705, 395)], 34)
    doc = w.document()
    print(f"[sample stroke] masked {int(doc.mask.sum()) if doc else 0} px", flush=True)
    w.latent_dock.raise_()
    s.wait(lambda: False, 0.5)
    drag_slider(s, 0, 0.85)
    start = time.monotonic()
    s.wait(lambda: w.latent.settled(), 300)
    s.wait(lambda: False, 0.5)
    print(f"[latent] settled {time.monotonic() - start:.1f} s after release", flush=True)
    print(f"[latent] panel: {w.latent_panel.status_label.text()!r}", flush=True)
    s.status("latent")
    s.shot("session-4-latent.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT / "docs")
    parser.add_argument("--scratch", type=Path, default=None)
    args = parser.parse_args()
    boy, girl = REAL / "cracked_boy.png", REAL / "scratched_girl.png"
    if not (boy.exists() and girl.exists()):
        print(f"skipped: the real scans are not in {REAL}")
        return 0
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # A fresh data folder: no recovery dialog from earlier runs.
    os.environ.setdefault("MANIFOLD_INPAINT_DATA_DIR", tempfile.mkdtemp(prefix="session-data-"))
    sys.path.insert(0, str(ROOT))
    s = Session(args.folder, args.scratch)
    w = s.window
    w.open_path(boy)
    s.wait(lambda: w.document() is not None)
    s.status("boy open")
    detect_accept_fill(s, "boy", "session-1-detect.png", "session-2-filled.png")
    s.key(Qt.Key.Key_PageDown, Qt.KeyboardModifier.NoModifier, lambda: "girl" in w.windowTitle())
    if "girl" not in w.windowTitle():
        w.action.next.trigger()
    s.wait(lambda: w.document() is not None and "girl" in w.document().title)
    s.status("girl open")
    detect_accept_fill(s, "girl", None, "session-3-girl.png")
    latent_walk(s)
    # Nothing to save: the walk leaves the photos as they were, without asking.
    w.ask_unsaved = lambda _titles: QMessageBox.StandardButton.Discard
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
