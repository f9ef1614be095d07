"""Render generation and fusion in the editor for the docs: ``python tools/screenshot_generate.py
[FOLDER]``.

The real editor offscreen on the bundled sample: New from manifold (seed 7, texture from the
sample, its damage mask never copied) -> ``screenshot-generate.png``; then the Fuse dialog
between the sample and a Kodak photo at t = 0.4 -> ``screenshot-fuse.png`` (skipped when
../shared is absent).
"""

from __future__ import annotations

import sys
from pathlib import Path

from offscreen_editor import sample_window, save_shot, wait  # this script's folder is on sys.path

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "bench" / "kodim13.png"
# Sparse processEvents calls: PySide6 6.12.0 on Python 3.11 drops a reference to None on
# every Qt call that returns nothing.
STEP_S = 0.02


def main(folder: str = "docs") -> int:
    app, window = sample_window(1200, 800)
    window.latent_dock.raise_()
    made: list[object] = []
    window.layout.generated.connect(made.append)
    window.layout.new_from_manifold(7)
    wait(app, lambda: bool(made), step=STEP_S)
    panel = window.latent_panel
    panel.generate_section.set_expanded(True)
    window.canvas.fit_to_window()
    window.statusBar().showMessage(panel.status_label.text())
    save_shot(app, window, folder, "screenshot-generate.png")
    if KODAK.exists():
        window.session.activate(window.session.documents()[0])  # the sample: photo A
        dialog = panel.open_fuse_dialog()
        assert dialog is not None
        dialog.resize(420, 480)
        shown: list[object] = []
        window.layout.fuse_preview_ready.connect(shown.append)
        dialog.set_b_path(KODAK)
        dialog.slider.setValue(0.4)
        wait(app, lambda: len(shown) >= 2 and not window.layout.busy, step=STEP_S)
        save_shot(app, dialog, folder, "screenshot-fuse.png")
        dialog.close()
    for doc in window.session.documents():
        doc.undo_stack.setClean()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
