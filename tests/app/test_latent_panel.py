"""The latent panel in the real window (offscreen), with a tiny random manifold network: live
preview limited to holes + band, Reset exact, apply/undo exact, reproducibility, coalescing,
variants, fusion. Generation from the layout manifold: test_generate_editor.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon

from app.main_window import MainWindow
from app.qimage import qimage_to_array, to_display_uint8
from app.viewmodels import latent as latent_model
from app.viewmodels import latent_fill
from app.viewmodels.methods import LEARNED
from core.base.imageio import Image, write_image
from core.base.masks import grow
from core.manifold.method import ManifoldFill
from core.methods.geometry import BLEND_BAND
from core.pipeline import session as pipeline
from core.pipeline.latent import LatentSession, LatentSetting
from tests.app.driving import open_window
from tests.conftest import synthetic_photo
from tests.core.test_manifold import tiny_net

TIMEOUT_MS = 30_000


@pytest.fixture
def tiny(monkeypatch) -> ManifoldFill:  # type: ignore[no-untyped-def]
    method = ManifoldFill.from_net(tiny_net())
    monkeypatch.setattr(latent_fill, "_load_method", lambda device: method)
    monkeypatch.setattr(ManifoldFill, "availability", classmethod(lambda cls: (True, "")))
    return method


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "scan.png"
    write_image(Image(synthetic_photo(120, 161)), path)  # odd width on purpose
    return path


@pytest.fixture
def window(qtbot, photo: Path, tiny: ManifoldFill) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    win = open_window(qtbot, photo, (1100, 760))
    win.document().mask[40:70, 50:95] = True
    win.session.mask_changed.emit(None)
    yield win
    win.close()


def settle(qtbot, win: MainWindow) -> latent_model.Preview:  # type: ignore[no-untyped-def]
    """Wait until the newest request is on screen."""
    c = win.latent
    qtbot.waitUntil(c.settled, timeout=TIMEOUT_MS)
    assert c.preview is not None
    return c.preview


def previews(win: MainWindow) -> list[latent_model.Preview]:
    """Every preview shown from now on, in order."""
    shown: list[latent_model.Preview] = []
    win.latent.preview_changed.connect(lambda p: shown.append(p) if p is not None else None)
    return shown


def reference(method: ManifoldFill, win: MainWindow, setting: LatentSetting) -> np.ndarray:
    doc = win.document()
    return LatentSession(method, doc.image, doc.mask.copy()).render_image(setting)


def test_moving_a_slider_previews_only_hole_and_band_pixels(qtbot, window, tiny) -> None:  # type: ignore[no-untyped-def]
    doc = window.document()
    before = doc.image.copy()
    window.latent_panel.sliders[0].setValue(2.5)  # as the user's drag does
    preview = settle(qtbot, window)
    shown = preview.image()
    changed = (shown != before).any(axis=2)
    assert changed[doc.mask].mean() > 0.9
    assert not changed[~grow(doc.mask, BLEND_BAND)].any()
    np.testing.assert_array_equal(doc.image, before)  # the document is untouched
    assert window.canvas.preview_box == preview.box
    np.testing.assert_array_equal(shown, reference(tiny, window, LatentSetting(None, (2.5,))))


def test_reset_restores_the_most_likely_fill_exactly(qtbot, window, tiny) -> None:  # type: ignore[no-untyped-def]
    panel = window.latent_panel
    panel.sliders[1].setValue(-2.0)
    panel.seed_spin.setValue(17)
    settle(qtbot, window)
    qtbot.mouseClick(panel.reset_button, Qt.MouseButton.LeftButton)
    preview = settle(qtbot, window)
    assert all(s.value() == 0 for s in panel.sliders) and panel.seed_spin.text() == "most likely"
    np.testing.assert_array_equal(preview.image(), reference(tiny, window, LatentSetting()))


def test_same_seed_and_sliders_give_identical_pixels(qtbot, window, tiny) -> None:  # type: ignore[no-untyped-def]
    panel = window.latent_panel
    panel.seed_spin.setValue(5)
    panel.sliders[0].setValue(1.25)
    first = settle(qtbot, window).image()
    panel.seed_spin.setValue(6)
    assert (settle(qtbot, window).image() != first).any()
    panel.seed_spin.setValue(5)
    np.testing.assert_array_equal(settle(qtbot, window).image(), first)
    np.testing.assert_array_equal(first, reference(tiny, window, LatentSetting(5, (1.25,))))


def test_a_variant_applied_and_undone_restores_the_document_exactly(qtbot, window, tiny) -> None:  # type: ignore[no-untyped-def]
    doc, panel = window.document(), window.latent_panel
    before, mask = doc.image.copy(), doc.mask.copy()
    with qtbot.waitSignal(window.latent.variants_changed, timeout=TIMEOUT_MS):
        qtbot.mouseClick(panel.sample_button, Qt.MouseButton.LeftButton)
    assert panel.gallery.count() == 6
    settings = [panel.gallery.setting(i) for i in range(6)]
    assert len({s.seed for s in settings}) == 6
    with qtbot.waitSignal(window.latent.applied, timeout=TIMEOUT_MS):
        panel.gallery.itemDoubleClicked.emit(panel.gallery.item(2))
    applied = doc.image.copy()
    assert (applied != before).any()
    window.action.undo.trigger()
    np.testing.assert_array_equal(doc.image, before)
    np.testing.assert_array_equal(doc.mask, mask)
    # The committed pixels are the variant's, reproducible from its seed and sliders.
    expected = LatentSession(tiny, before, mask).render_image(settings[2])
    np.testing.assert_array_equal(applied, expected)
    window.action.redo.trigger()
    np.testing.assert_array_equal(doc.image, applied)


def test_more_adds_variants_and_fusion_endpoints_are_the_variants(qtbot, window, tiny) -> None:  # type: ignore[no-untyped-def]
    panel = window.latent_panel
    with qtbot.waitSignal(window.latent.variants_changed, timeout=TIMEOUT_MS):
        window.latent.make_variants()
    with qtbot.waitSignal(window.latent.variants_changed, timeout=TIMEOUT_MS):
        qtbot.mouseClick(panel.more_button, Qt.MouseButton.LeftButton)
    assert panel.gallery.count() == 12
    a, b = panel.gallery.setting(0), panel.gallery.setting(1)
    doc = window.document()
    engine = LatentSession(tiny, doc.image, doc.mask.copy())
    nets = previews(window)
    panel.blend_slider.setValue(1.0)
    end = settle(qtbot, window)
    # At t = 1 the fusion is variant b: its net preview, then its textured fill.
    net = next(p for p in nets if not p.textured)
    np.testing.assert_array_equal(net.patch, engine.render(b, textured=False))
    assert end.textured and (end.patch != net.patch).any()
    np.testing.assert_array_equal(end.patch, engine.render(b))
    panel.blend_slider.setValue(0.5)
    middle = settle(qtbot, window).image()
    assert (middle != reference(tiny, window, a)).any()
    panel.blend_slider.setValue(0.0)
    np.testing.assert_array_equal(settle(qtbot, window).image(), reference(tiny, window, a))


def test_apply_during_a_drag_commits_the_newest_setting_as_one_step(qtbot, window, tiny) -> None:  # type: ignore[no-untyped-def]
    doc, panel = window.document(), window.latent_panel
    before, mask = doc.image.copy(), doc.mask.copy()
    start = time.monotonic()
    for value in np.linspace(-3, 3, 40):  # a fast drag: far more moves than decodes
        panel.sliders[0].setValue(float(value))
    assert time.monotonic() - start < 1.0  # the GUI thread never waited for a decode
    with qtbot.waitSignal(window.latent.applied, timeout=TIMEOUT_MS):
        window.latent.apply()  # the newest decode may still be running: it commits on arrival
    assert window.latent.worker.dropped > 0
    expected = LatentSession(tiny, before, mask).render_image(LatentSetting(None, (3.0,)))
    np.testing.assert_array_equal(doc.image, expected)
    assert doc.undo_stack.count() == 1
    window.action.undo.trigger()
    np.testing.assert_array_equal(doc.image, before)


def test_panel_is_disabled_without_the_manifold_model(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    window.latent.set_available(False, "no weights")
    panel = window.latent_panel
    assert not panel.sliders[0].isEnabled() and not panel.generate_button.isEnabled()
    assert "no weights" in panel.status_label.text()


# -- issue 17: the panel at the default size, thumbnails, generated documents -------------------


def test_the_panel_fits_the_default_window(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    window.resize(1200, 800)
    window.latent_dock.raise_()
    qtbot.waitUntil(lambda: window.latent_dock.widget().isVisible())
    panel, scroll = window.latent_panel, window.latent_dock.widget()
    viewport = scroll.viewport()

    def shown(widget) -> bool:  # type: ignore[no-untyped-def]
        top = widget.mapTo(viewport, widget.rect().topLeft()).y()
        return widget.isVisible() and top >= 0 and top + widget.height() <= viewport.height()

    controls = [panel.sliders[-1], panel.apply_button, panel.gallery, panel.sample_button,
                panel.more_button, panel.fuse_section.header,
                panel.generate_section.header]  # fmt: skip
    assert scroll.verticalScrollBar().value() == 0
    assert all(shown(c) for c in controls), [c.objectName() for c in controls if not shown(c)]
    panel.generate_section.header.click()  # unfolding a section scrolls to it
    qtbot.waitUntil(lambda: shown(panel.generate_button))
    panel.fuse_section.header.click()
    qtbot.waitUntil(lambda: shown(panel.blend_slider))


def test_variants_are_at_least_128_px_and_hovering_shows_a_larger_view(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    window.resize(1200, 800)
    window.latent_dock.raise_()
    gallery = window.latent_panel.gallery
    with qtbot.waitSignal(window.latent.variants_changed, timeout=TIMEOUT_MS):
        window.latent.make_variants()
    assert gallery.iconSize().width() >= 128 and gallery.iconSize().height() >= 128
    rect = gallery.visualItemRect(gallery.item(0))
    assert max(rect.width(), rect.height()) >= 128  # as laid out, not only as asked
    icon = gallery.item(0).icon().pixmap(gallery.iconSize())
    assert max(icon.width(), icon.height()) >= 128
    # Selected, it keeps its colours (no selection tint over the pixels being judged).
    selected = gallery.item(0).icon().pixmap(gallery.iconSize(), QIcon.Mode.Selected)
    assert selected.toImage() == icon.toImage()
    gallery.itemEntered.emit(gallery.item(0))  # the pointer rests on the first thumbnail
    zoom = gallery.zoom
    assert zoom.isVisible() and max(zoom.pixmap().width(), zoom.pixmap().height()) >= 200
    gallery.viewportEntered.emit()  # off the thumbnails
    assert not zoom.isVisible()


def test_new_from_manifold_is_a_document_in_the_folder_list(qtbot, window, photo) -> None:  # type: ignore[no-untyped-def]
    neighbour = photo.with_name("zz-next.png")
    write_image(Image(synthetic_photo(90, 120, seed=4)), neighbour)
    first = window.document()
    window.layout.generate_size = (40, 30)
    with qtbot.waitSignal(window.layout.generated, timeout=TIMEOUT_MS):
        window.latent.new_from_manifold()
    generated = window.document()
    assert generated is not first and generated.title.startswith("Generated 1 (seed ")
    assert "Generated 1" in window.statusBar().currentMessage()
    assert "PgUp goes back to scan.png" in window.statusBar().currentMessage()
    assert window.open_neighbour(1) and window.document().path == neighbour.resolve()
    assert window.open_neighbour(-1) and window.document() is generated
    assert "2 of 3" in window.statusBar().currentMessage()
    window.action.previous.trigger()  # PgUp: back to the photo it was made from
    assert window.document() is first


def test_the_panel_text_describes_the_photo_on_screen(qtbot, window, photo) -> None:  # type: ignore[no-untyped-def]
    other = photo.with_name("other.png")
    write_image(Image(synthetic_photo(90, 120, seed=5)), other)
    window.latent_panel.sliders[0].setValue(1.0)
    settle(qtbot, window)
    with qtbot.waitSignal(window.latent.applied, timeout=TIMEOUT_MS):
        window.latent.apply()
    assert "Applied" in window.latent_panel.status_label.text()
    assert window.open_path(other)  # nothing masked there, nothing applied
    text = window.latent_panel.status_label.text()
    assert "Applied" not in text and "Paint over the damage first" in text


def test_opening_a_photo_leaves_the_status_bar_to_what_opening_said(qtbot, window, photo) -> None:  # type: ignore[no-untyped-def]
    other = photo.with_name("other.png")
    write_image(Image(synthetic_photo(90, 120, seed=5)), other)
    assert window.open_path(other)  # nothing masked there
    assert "Paint over the damage first" in window.latent_panel.status_label.text()
    # The latent panel's hint is its own: with the damage panel in front, a status bar that
    # says "the sliders move the fill" speaks of controls the user cannot see.
    assert "Paint over the damage first" not in window.statusBar().currentMessage()


def test_fill_and_the_latent_panel_share_one_loaded_network() -> None:
    from app.viewmodels.methods import LEARNED, MethodCatalog, loaded_method
    from core.pipeline.registry import get_method

    if not MethodCatalog().available(LEARNED):
        pytest.skip("the shipped manifold weights are not usable here")
    # The real loader (the window tests substitute a tiny net): the pipeline's own instance.
    assert latent_fill._load_method("cpu") is get_method(LEARNED, "cpu")
    assert loaded_method(LEARNED, "cpu") is get_method(LEARNED, "cpu")


# -- issue 16: net-only previews while a slider is held, the textured fill after release --------


def canvas_pixels(win: MainWindow) -> np.ndarray:
    shown = win.canvas._preview
    assert shown is not None
    return qimage_to_array(shown[0])


def test_a_held_slider_previews_the_net_and_release_shows_the_texture(qtbot, window, tiny) -> None:  # type: ignore[no-untyped-def]
    c, slider = window.latent, window.latent_panel.sliders[0]
    doc = window.document()
    engine = LatentSession(tiny, doc.image, doc.mask.copy())
    shown = previews(window)
    slider.sliderPressed.emit()  # the user takes hold of the slider
    for value in (0.5, 1.5, 2.5):
        slider.setValue(value)
    qtbot.waitUntil(lambda: not c.rendering(), timeout=TIMEOUT_MS)
    assert shown and not any(p.textured for p in shown)  # nothing textured while held
    net = shown[-1]
    np.testing.assert_array_equal(net.patch, engine.render(LatentSetting(None, (2.5,)), False))
    assert "Net preview" in window.latent_panel.status_label.text()
    assert "release the slider" in window.latent_panel.status_label.text()
    assert window.statusBar().currentMessage() == window.latent_panel.status_label.text()
    slider.sliderReleased.emit()  # let go: the textured fill replaces the net's
    textured = settle(qtbot, window)
    assert textured.textured and textured.paths == {"texture": 1}
    np.testing.assert_array_equal(textured.patch, engine.render(LatentSetting(None, (2.5,))))
    assert (textured.patch != net.patch).any()
    expected = to_display_uint8(textured.patch)
    np.testing.assert_array_equal(canvas_pixels(window), expected)  # on the canvas
    text = window.latent_panel.status_label.text()
    assert text.startswith("Textured:") and "1 region (1 texture)" in text
    assert not window.latent_panel.progress_bar.isVisible()


def test_apply_over_a_net_preview_commits_the_textured_fill(qtbot, window, tiny) -> None:  # type: ignore[no-untyped-def]
    c, slider = window.latent, window.latent_panel.sliders[1]
    doc = window.document()
    before, mask = doc.image.copy(), doc.mask.copy()
    slider.sliderPressed.emit()
    slider.setValue(-2.0)
    qtbot.waitUntil(c.settled, timeout=TIMEOUT_MS)
    assert isinstance(c.preview, latent_model.Preview) and not c.preview.textured
    net = c.preview.image()
    with qtbot.waitSignal(c.applied, timeout=TIMEOUT_MS):
        assert not c.apply()  # the textured fill is rendered first, then committed
    expected = LatentSession(tiny, before, mask).render_image(LatentSetting(None, (0.0, -2.0)))
    np.testing.assert_array_equal(doc.image, expected)
    assert (doc.image != net).any()
    assert doc.undo_stack.count() == 1
    assert "texture" in window.latent_panel.status_label.text()


def test_variants_are_textured_and_sampling_can_be_cancelled(qtbot, window, tiny) -> None:  # type: ignore[no-untyped-def]
    c, panel = window.latent, window.latent_panel
    doc = window.document()
    seen: list[tuple[bool, int]] = []

    def first_arrived(_place: int, _variant: object) -> None:
        if not seen:  # the user cancels as soon as the first variant shows
            seen.append((panel.progress_bar.isVisible(), panel.gallery.count()))
            qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)

    c.variant_ready.connect(first_arrived)
    with qtbot.waitSignal(c.variants_changed, timeout=TIMEOUT_MS):
        c.make_variants()
    c.variant_ready.disconnect(first_arrived)
    assert seen == [(True, 1)]  # progress shown; the strip fills as variants arrive
    assert 1 <= len(c.variants) < 6 and panel.gallery.count() == len(c.variants)
    assert "Sampling stopped" in panel.status_label.text()
    assert not c.rendering() and not panel.progress_bar.isVisible()
    first = c.variants[0]
    engine = LatentSession(tiny, doc.image, doc.mask.copy())
    expected = latent_fill._thumbnail(engine.render(first.setting))  # textured
    np.testing.assert_array_equal(first.thumbnail, expected)
    with qtbot.waitSignal(c.variants_changed, timeout=TIMEOUT_MS):
        c.make_variants()  # a full strip after a cancel
    assert len(c.variants) == 6 == panel.gallery.count()


def test_the_status_after_a_fill_names_each_regions_path(qtbot, window, tiny, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(pipeline, "get_method", lambda name, device="cpu": tiny)
    doc = window.document()
    doc.mask[100:102, 10:150] = True  # a 2-px scratch beside the box: the thin path
    window.session.mask_changed.emit(None)
    window.fill.method = LEARNED
    with qtbot.waitSignal(window.fill.finished, timeout=TIMEOUT_MS):
        assert window.fill.start()
    text = window.statusBar().currentMessage()
    assert f"with {LEARNED} in " in text
    assert "2 regions (1 texture, 1 thin-hole biharmonic)" in text


def test_an_empty_variant_strip_says_what_fills_it(qtbot) -> None:  # type: ignore[no-untyped-def]
    from app.widgets.gallery import VariantGallery

    gallery = VariantGallery()
    qtbot.addWidget(gallery)
    gallery.resize(300, gallery.height())
    empty = qimage_to_array(gallery.viewport().grab().toImage())[..., :3].astype(int)
    gallery.placeholder = ""
    blank = qimage_to_array(gallery.viewport().grab().toImage())[..., :3].astype(int)
    # The hint is drawn: the empty strip differs from one with nothing to say.
    assert np.abs(empty - blank).sum(axis=2).max() > 60


# -- issue 26: latent state belongs to its document ----------------------------------------------


def test_a_generated_pictures_seed_and_sliders_never_reach_a_photo(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    c, panel = window.latent, window.latent_panel
    photo_doc = window.document()
    panel.seed_spin.setValue(5)  # the photo's own draw
    window.layout.generate_size = (40, 30)
    with qtbot.waitSignal(window.layout.generated, timeout=TIMEOUT_MS):
        c.new_from_manifold()
    generated = window.document()
    seed = window.layout.made(generated).generation.seed
    assert c.setting.seed == seed
    panel.sliders[3].setValue(2.39)  # moves the generated picture's layout
    window.action.previous.trigger()  # PgUp: back to the photo it was made from
    assert window.document() is photo_doc
    assert c.setting == LatentSetting(5, (0.0,) * c.slider_count)
    assert panel.seed_spin.value() == 5 and panel.sliders[3].value() == 0.0
    panel.sliders[0].setValue(1.0)  # the photo's next fill: its own seed, only this slider
    assert c.setting == LatentSetting(5, (1.0,) + (0.0,) * (c.slider_count - 1))
    window.action.next.trigger()  # PgDn: the generated picture keeps its own setting
    assert window.document() is generated
    assert c.setting.seed == seed and c.setting.sliders[3] == pytest.approx(2.39)
    assert c.setting.sliders[0] == 0.0


def test_an_unapplied_preview_and_its_variants_wait_for_the_photo(qtbot, window, photo) -> None:  # type: ignore[no-untyped-def]
    other = photo.with_name("zz-next.png")
    write_image(Image(synthetic_photo(90, 120, seed=4)), other)
    c, panel = window.latent, window.latent_panel
    first = window.document()
    with qtbot.waitSignal(c.variants_changed, timeout=TIMEOUT_MS):
        c.make_variants()
    variants = list(c.variants)
    panel.gallery.itemClicked.emit(panel.gallery.item(2))  # preview the third variant
    preview = settle(qtbot, window)
    assert window.open_neighbour(1) and window.document().path == other.resolve()  # PgDn
    assert c.preview is None and panel.gallery.count() == 0
    assert window.canvas.preview_box is None
    assert window.open_neighbour(-1) and window.document() is first  # PgUp: all back
    assert c.preview is preview and c.variants == variants and panel.gallery.count() == 6
    assert window.canvas.preview_box == preview.box and panel.apply_button.isEnabled()
    assert c.setting == variants[2].setting
    assert "Apply to keep it" in panel.status_label.text()
    with qtbot.waitSignal(c.applied, timeout=TIMEOUT_MS):
        panel.apply_button.click()
    np.testing.assert_array_equal(first.image, preview.image())


def test_a_kept_preview_is_dropped_when_its_photo_changed_meanwhile(qtbot, window, photo) -> None:  # type: ignore[no-untyped-def]
    write_image(Image(synthetic_photo(90, 120, seed=4)), photo.with_name("zz-next.png"))
    c = window.latent
    first = window.document()
    window.latent_panel.sliders[0].setValue(1.0)
    settle(qtbot, window)
    assert window.open_neighbour(1)
    # A fill of the first photo that ends after the switch replaces its image.
    window.session.set_image(first, first.image.copy(), show_mask=False)
    assert window.open_neighbour(-1) and window.document() is first
    assert c.preview is None and window.canvas.preview_box is None
    assert c.setting == LatentSetting(None, (1.0,) + (0.0,) * (c.slider_count - 1))


def test_a_net_preview_left_before_its_texture_is_textured_on_return(qtbot, window, photo) -> None:  # type: ignore[no-untyped-def]
    write_image(Image(synthetic_photo(90, 120, seed=4)), photo.with_name("zz-next.png"))
    c, slider = window.latent, window.latent_panel.sliders[0]
    first = window.document()
    slider.sliderPressed.emit()  # held: net previews only
    slider.setValue(1.5)
    net = settle(qtbot, window)
    assert not net.textured
    assert window.open_neighbour(1) and window.open_neighbour(-1)
    assert window.document() is first and c.preview is net
    textured = settle(qtbot, window)
    assert textured.textured and textured.recipe == net.recipe
    slider.sliderReleased.emit()
