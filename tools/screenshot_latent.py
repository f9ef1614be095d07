"""Render the latent panel in use for the README: ``python tools/screenshot_latent.py [FOLDER]``.

The real editor offscreen on the bundled sample photo with a square hole over the background:
direction 1 moved, six variants sampled, the preview on the canvas. Writes
``screenshot-latent.png`` into FOLDER (default ``docs``).
"""

from __future__ import annotations

import sys

import numpy as np
from offscreen_editor import sample_window, save_shot, wait  # this script's folder is on sys.path


def main(folder: str = "docs") -> int:
    app, window = sample_window(1200, 800)  # the default size: the panel fits it
    # First restore the sample's scratches (Telea), so the picture shows only the latent fill.
    window.method_combo.setCurrentIndex(window.method_combo.findData("telea"))
    filled: list[bool] = []
    window.fill_finished.connect(lambda: filled.append(True))
    window.action.fill.trigger()
    wait(app, lambda: bool(filled))
    doc = window.document()
    assert doc is not None
    hole = (70, 170, 60, 170)  # y0, y1, x0, x1: the leaves at the top left
    mask = np.zeros_like(doc.mask)
    mask[hole[0] : hole[1], hole[2] : hole[3]] = True
    window.masks.replace(mask, "Paint mask")
    window.method_combo.setCurrentIndex(window.method_combo.findData("manifold"))
    controller, panel = window.latent, window.latent_panel
    window.latent_dock.raise_()
    panel.labels[0].setText("darker")  # what direction 1 does on these weights (measured)
    got: list[bool] = []
    controller.variants_changed.connect(lambda v: got.append(bool(v)))
    controller.make_variants()
    wait(app, lambda: bool(got))
    panel.seed_spin.setValue(controller.variants[2].setting.seed or 1)
    panel.sliders[0].setValue(2.5)
    panel.sliders[1].setValue(-1.0)
    wait(app, lambda: controller.settled())
    window.canvas.fit_to_window()
    window.statusBar().showMessage(panel.status_label.text())
    save_shot(app, window, folder, "screenshot-latent.png")
    doc.undo_stack.setClean()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
