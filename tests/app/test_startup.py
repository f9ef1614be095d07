"""Start-up and the command line's editor argument (issue 26): a folder opens its first photo,
and the first launch's sample photo is recorded as seen only once it was shown."""

from __future__ import annotations

from pathlib import Path

import pytest

import app.viewmodels.session as session_module
from app.app import open_editor
from core.base.imageio import Image, write_image
from core.base.resources import SAMPLE_IMAGE
from tests.conftest import synthetic_photo


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three photos in an order that only a case-insensitive sort gets right, and clutter."""
    photos = tmp_path / "scans"
    photos.mkdir()
    for index, name in enumerate(("B.png", "c.png", "a.png")):
        write_image(Image(synthetic_photo(60, 80, seed=index)), photos / name)
    (photos / "notes.txt").write_text("not a photo")
    (photos / "sub.png").mkdir()  # a folder named like a photo
    return photos


def test_a_folder_opens_its_first_photo_and_pgdn_goes_through_the_rest(qtbot, folder) -> None:  # type: ignore[no-untyped-def]
    window = open_editor(str(folder))
    qtbot.addWidget(window)
    assert window.document() is not None and window.document().path == folder / "a.png"
    assert window.open_neighbour(1) and window.document().path == folder / "B.png"
    assert "2 of 3" in window.statusBar().currentMessage()
    assert window.open_neighbour(1) and window.document().path == folder / "c.png"


def test_a_folder_without_photos_says_so(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "notes.txt").write_text("not a photo")
    window = open_editor(str(tmp_path))
    qtbot.addWidget(window)
    assert window.document() is None
    message = window.statusBar().currentMessage()
    assert message.startswith(f"No photos to open in {tmp_path.resolve()}")
    assert "png, jpg" in message
    assert not window.open_path(tmp_path)


def test_the_first_launch_records_the_sample_as_seen_once_it_is_shown(qtbot) -> None:  # type: ignore[no-untyped-def]
    window = open_editor(None)
    qtbot.addWidget(window)
    assert window.document() is not None and window.document().path == SAMPLE_IMAGE.resolve()
    assert not window.settings.seen_sample  # not before the event loop has run
    qtbot.waitUntil(lambda: window.settings.seen_sample)
    again = open_editor(None)  # the next launch starts empty
    qtbot.addWidget(again)
    assert again.document() is None


def test_a_sample_that_could_not_be_opened_is_not_recorded_as_seen(  # type: ignore[no-untyped-def]
    qtbot, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(session_module, "SAMPLE_IMAGE", tmp_path / "missing.png")
    window = open_editor(None)
    qtbot.addWidget(window)
    assert window.document() is None
    assert "missing.png does not exist" in window.statusBar().currentMessage()
    qtbot.wait(100)  # what the event loop would do
    assert not window.settings.seen_sample
