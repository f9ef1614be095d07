"""core.base.quiet: what C code prints on fd 2 during a decode is captured (and logged at debug
level), fd 2 comes back afterwards, also when decodes overlap on threads; a TIFF's Software tag
is written without tifffile's warning."""

from __future__ import annotations

import logging
import os
import threading

import numpy as np
import pytest

from core.base.imageio import Image, read_image, write_image
from core.base.quiet import c_stderr_captured


def test_c_level_prints_are_captured_and_logged_and_fd2_comes_back(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="core.base.quiet")
    with c_stderr_captured():
        os.write(2, b"TIFFReadDirectory: Bogus field\n")  # as libtiff's fprintf(stderr) does
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"
    assert "TIFFReadDirectory: Bogus field" in caplog.text


def test_overlapping_decodes_on_threads_restore_fd2_once_the_last_ends(
    capfd: pytest.CaptureFixture[str],
) -> None:
    inside, release = threading.Barrier(3), threading.Event()

    def decode() -> None:
        with c_stderr_captured():
            inside.wait()
            os.write(2, b"libpng warning: iCCP: known incorrect sRGB profile\n")
            release.wait()

    threads = [threading.Thread(target=decode) for _ in range(2)]
    for thread in threads:
        thread.start()
    inside.wait()
    release.set()
    for thread in threads:
        thread.join()
    os.write(2, b"visible\n")
    assert capfd.readouterr().err == "visible\n"


def test_a_tiff_keeps_its_software_tag_without_a_warning(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image as PILImage

    exif = PILImage.Exif()
    exif[0x0131] = "Scanner Suite 5"
    exif[0x010F] = "Acme"
    path = tmp_path / "scan.tif"
    with caplog.at_level(logging.WARNING):
        write_image(Image(np.zeros((8, 8, 3), np.uint8), exif=exif.tobytes()[6:]), path)
    assert caplog.records == []  # tifffile said nothing
    kept = PILImage.open(path).getexif()
    assert kept[0x0131] == "Scanner Suite 5" and kept[0x010F] == "Acme"
    assert read_image(path).pixels.shape == (8, 8, 3)
