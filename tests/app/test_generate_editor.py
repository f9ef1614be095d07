"""Generation and fusion in the editor (offscreen), with the shipped layout model: "New from
manifold" opens a textured picture titled with its seed (the same pixels as the engine gives
for that seed and exemplar), the latent panel's sliders move a generated picture's layout
(live low-resolution previews, Apply renders it, undo), and the Fuse dialog's live slider."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.main_window import MainWindow
from app.viewmodels.layout import display_pixels, low_res_layout
from core.base.imageio import Image, write_image
from core.base.pixels import to_float_rgb
from core.base.progress import run_to_end
from core.layout.generate import (
    Generation,
    code_of,
    fuse_steps,
    generate_steps,
    load_exemplar,
    make_exemplar,
    preview,
)
from core.layout.model import LayoutModel, availability
from core.manifold.options import LatentSetting
from tests.app.driving import open_window
from tests.conftest import synthetic_photo

pytestmark = pytest.mark.skipif(not availability()[0], reason="no shipped layout model")
TIMEOUT_MS = 60_000
SIZE = (48, 40)  # (w, h) of the generated pictures here: small, so the texture is quick


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "scan.png"
    write_image(Image(synthetic_photo(120, 161, seed=3)), path)
    return path


@pytest.fixture
def window(qtbot, photo: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    win = open_window(qtbot, photo, (1100, 760))
    win.document().mask[40:70, 50:95] = True  # damage: never copied as texture
    win.session.mask_changed.emit(None)
    win.layout.generate_size = SIZE
    yield win
    win.close()


def generate(qtbot, win: MainWindow):  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(win.layout.generated, timeout=TIMEOUT_MS):
        win.latent_panel.generate_button.click()
    return win.document()


def seed_of(win: MainWindow) -> int:
    made = win.layout.made(win.document())
    assert made is not None and made.generation.seed is not None
    return made.generation.seed


def test_new_from_manifold_opens_the_seeds_picture_textured_from_the_photo(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    photo_doc = window.document()
    exemplar = make_exemplar(to_float_rgb(photo_doc.image), photo_doc.mask.copy())
    doc = generate(qtbot, window)
    seed = seed_of(window)
    assert doc is not photo_doc and f"(seed {seed})" in doc.title
    assert doc.image.shape == (SIZE[1], SIZE[0], 3) and not doc.mask.any()
    expected = run_to_end(generate_steps(LayoutModel.load(), Generation(seed, *SIZE), exemplar))
    np.testing.assert_array_equal(doc.image, display_pixels(expected))
    assert window.latent_panel.seed_spin.value() == seed
    assert doc.image.std() > 5


def test_sliders_preview_a_generated_layout_and_apply_renders_it(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    doc = generate(qtbot, window)
    seed, before = seed_of(window), doc.image.copy()
    window.latent_panel.sliders[0].setValue(2.0)
    qtbot.waitUntil(lambda: window.latent.settled() and window.latent.preview is not None,
                    timeout=TIMEOUT_MS)  # fmt: skip
    shown = window.latent.preview
    model = LayoutModel.load()
    code = code_of(model, Generation(seed, *SIZE, (2.0,)))
    np.testing.assert_array_equal(shown.patch, display_pixels(low_res_layout(code, *SIZE)))
    assert window.canvas.preview_box == (0, SIZE[1], 0, SIZE[0])
    np.testing.assert_array_equal(doc.image, before)  # a preview never touches the document
    with qtbot.waitSignal(window.latent.applied, timeout=TIMEOUT_MS):
        window.latent_panel.apply_button.click()
    exemplar = window.layout.made(doc).exemplar
    expected = run_to_end(generate_steps(model, Generation(seed, *SIZE, (2.0,)), exemplar))
    np.testing.assert_array_equal(doc.image, display_pixels(expected))
    assert window.canvas.preview_box is None
    window.action.undo.trigger()
    np.testing.assert_array_equal(doc.image, before)


def test_a_generated_document_shows_its_own_seed_again(qtbot, window, photo) -> None:  # type: ignore[no-untyped-def]
    doc = generate(qtbot, window)
    seed = seed_of(window)
    assert window.open_path(photo)
    window.session.activate(doc)
    assert window.latent_panel.seed_spin.value() == seed
    assert f"seed {seed}" in window.latent_panel.status_label.text()


def test_the_fuse_dialog_previews_live_and_fuses_into_a_new_document(
    qtbot, window, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    b_path = tmp_path / "other.png"
    write_image(Image(synthetic_photo(80, 100, seed=9)), b_path)
    a_doc = window.document()
    dialog = window.latent_panel.open_fuse_dialog()
    assert dialog is not None and not dialog.fuse_button.isEnabled()
    with qtbot.waitSignal(window.layout.fuse_preview_ready, timeout=TIMEOUT_MS):
        assert dialog.set_b_path(b_path)
    with qtbot.waitSignal(window.layout.fuse_preview_ready, timeout=TIMEOUT_MS):
        dialog.slider.setValue(0.0)
    model = LayoutModel.load()
    a = make_exemplar(to_float_rgb(a_doc.image), a_doc.mask.copy())
    own = display_pixels(preview(model, model.encode(a.image), 256, 191))
    np.testing.assert_array_equal(dialog.shown, own)  # t = 0: A's own layout
    dialog.slider.setValue(0.25)
    dialog.texture.setCurrentIndex(dialog.texture.findData("b"))
    with qtbot.waitSignal(window.layout.generated, timeout=TIMEOUT_MS):
        dialog.fuse_button.click()
    fused = window.document()
    assert fused is not a_doc and fused.title.startswith("Fused 1 (scan.png + other.png")
    b = load_exemplar(b_path)
    expected = run_to_end(fuse_steps(model, a, b, 0.25, "b"))
    np.testing.assert_array_equal(fused.image, display_pixels(expected))


def test_without_the_layout_model_generation_says_why(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    window.layout.set_available(False, "no layout weights")
    first = window.document()
    window.latent.new_from_manifold()
    assert window.document() is first
    assert "no layout weights" in window.latent_panel.status_label.text()


def test_variants_of_a_generated_picture_point_to_the_seed_and_sliders(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    generate(qtbot, window)
    window.latent.make_variants()
    assert "seed and sliders" in window.latent_panel.status_label.text()
    assert LatentSetting(seed_of(window)) == LatentSetting(window.latent.setting.seed)


def test_a_generated_pictures_unapplied_layout_waits_for_it(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    doc = generate(qtbot, window)
    window.latent_panel.sliders[0].setValue(1.5)
    qtbot.waitUntil(lambda: window.latent.settled() and window.latent.preview is not None,
                    timeout=TIMEOUT_MS)  # fmt: skip
    shown = window.latent.preview
    assert window.open_neighbour(-1) and window.document() is not doc  # PgUp: the photo
    assert window.latent.preview is None and window.canvas.preview_box is None
    assert window.open_neighbour(1) and window.document() is doc  # PgDn: back, layout and all
    assert window.latent.preview is shown and window.canvas.preview_box == shown.box
    assert window.latent.settled()
    assert "Apply renders it textured" in window.latent_panel.status_label.text()
    window.masks.invert()  # the picture was edited: its layout preview is old news
    assert window.latent.preview is None and window.canvas.preview_box is None
