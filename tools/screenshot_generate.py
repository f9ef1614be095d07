"""Render generation and fusion in the editor for the docs: ``python tools/screenshot_generate.py
[FOLDER]``.

The real editor offscreen on the bundled sample: New from manifold (seed 7, texture from the
sample, its damage mask never copied) -> ``screenshot-generate.png``; then the Fuse dialog
between the sample and a Kodak photo at t = 0.4 -> ``screenshot-fuse.png`` (skipped when
../shared is absent).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "bench" / "kodim13.png"


def wait(app: QApplication, done, timeout: float = 120.0) -> bool:  # type: ignore[no-untyped-def]
    # Sparse processEvents calls: PySide6 6.12.0 on Python 3.11 drops a reference to None on
    # every Qt call that returns nothing.
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
    return bool(done())


def main(folder: str = "docs") -> int:
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from app.main_window import MainWindow

    window = MainWindow()
    window.resize(1200, 800)
    window.show()
    window.open_sample()
    window.latent_dock.raise_()
    made: list[object] = []
    window.layout.generated.connect(made.append)
    window.layout.new_from_manifold(7)
    wait(app, lambda: bool(made))
    panel = window.latent_panel
    panel.generate_section.set_expanded(True)
    window.canvas.fit_to_window()
    window.statusBar().showMessage(panel.status_label.text())
    app.processEvents()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out / "screenshot-generate.png"))
    if KODAK.exists():
        window.session.activate(window.session.documents()[0])  # the sample: photo A
        dialog = panel.open_fuse_dialog()
        assert dialog is not None
        dialog.resize(420, 480)
        shown: list[object] = []
        window.layout.fuse_preview_ready.connect(shown.append)
        dialog.set_b_path(KODAK)
        dialog.slider.setValue(0.4)
        wait(app, lambda: len(shown) >= 2 and not window.layout.busy())
        app.processEvents()
        dialog.grab().save(str(out / "screenshot-fuse.png"))
        dialog.close()
    for doc in window.session.documents():
        doc.undo_stack.setClean()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
