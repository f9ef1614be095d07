"""core.base.imageio: every format x depth x layout round trip, metadata, orientation, bad input."""

from __future__ import annotations

import errno
import io
import os
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage
from PIL import ImageOps

from core.base import imageio
from core.base.errors import ImageReadError, ImageWriteError
from core.base.imageio import SUPPORTED_SUFFIXES, Image, decode_image, read_image, write_image
from tests.bad_inputs import pil_bytes, png_header_only

# ----------------------------------------------------------------------------------------------
# helpers


def _random(h: int, w: int, c: int, dtype, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == np.float32:
        return rng.random((h, w, c), dtype=np.float32)
    info = np.iinfo(dtype)
    return rng.integers(0, int(info.max) + 1, (h, w, c), dtype=dtype)


def _smooth(h: int, w: int, c: int) -> np.ndarray:
    """A gradient JPEG can keep within a few levels."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    planes = [(x * 200 / max(w - 1, 1)), (y * 200 / max(h - 1, 1)), (x + y) * 100 / (h + w)]
    out = np.stack([planes[i % 3] + 20 for i in range(c)], axis=2)
    return np.rint(out).astype(np.uint8)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def _srgb_profile() -> bytes:
    try:
        from PIL import ImageCms

        return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    except Exception:  # Pillow without littlecms: any bytes do, they are carried as is
        return b"\x00\x00\x02\x4cfake-icc-profile" * 20


def _exif_bytes(orientation: int = 1) -> bytes:
    exif = PILImage.Exif()
    exif[0x010F] = "Manifold Camera Co"  # Make
    exif[0x0110] = "Restorer 1"  # Model
    exif[0x0112] = orientation
    exif[0x8769] = {0x9003: "2024:05:06 07:08:09", 0x829A: (1, 250)}  # DateTimeOriginal, exposure
    return exif.tobytes()  # with the "Exif\0\0" prefix, as a JPEG carries it


def _parse_exif(raw: bytes) -> PILImage.Exif:
    exif = PILImage.Exif()
    exif.load(raw)
    return exif


# ----------------------------------------------------------------------------------------------
# lossless round trips: every format x depth x layout the format allows

LOSSLESS_CASES = [
    *[(".png", dt, c) for dt in (np.uint8, np.uint16) for c in (1, 2, 3, 4)],
    *[(".tif", dt, c) for dt in (np.uint8, np.uint16, np.float32) for c in (1, 2, 3, 4)],
    *[(".tiff", np.uint8, 3)],
    *[(".bmp", np.uint8, c) for c in (1, 3, 4)],
]


@pytest.mark.parametrize(("suffix", "dtype", "channels"), LOSSLESS_CASES)
def test_lossless_round_trip_is_exact(tmp_path, suffix, dtype, channels):
    pixels = _random(13, 17, channels, dtype, seed=channels)
    path = tmp_path / f"photo{suffix}"
    write_image(Image(pixels), path)
    back = read_image(path)
    assert back.pixels.dtype == dtype
    assert back.pixels.shape == pixels.shape
    np.testing.assert_array_equal(back.pixels, pixels)
    assert back.source == path
    assert back.format == imageio._FORMAT_BY_SUFFIX[suffix]
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("channels", [3, 4])
def test_webp_lossless_round_trip_is_exact(tmp_path, channels):
    pixels = _random(9, 14, channels, np.uint8, seed=3)
    if channels == 4:
        pixels[0, :, 3] = 0  # fully transparent pixels keep their colour too (exact=True)
    write_image(Image(pixels), tmp_path / "a.webp", quality=100)
    back = read_image(tmp_path / "a.webp")
    assert back.format == "WEBP"
    np.testing.assert_array_equal(back.pixels, pixels)


@pytest.mark.parametrize(("channels", "expected"), [(1, 3), (2, 4)])
def test_webp_gray_becomes_rgb(tmp_path, channels, expected):
    pixels = _random(6, 5, channels, np.uint8)
    write_image(Image(pixels), tmp_path / "g.webp", quality=100)
    back = read_image(tmp_path / "g.webp").pixels
    assert back.shape == (6, 5, expected)
    for c in range(3):
        np.testing.assert_array_equal(back[..., c], pixels[..., 0])
    if channels == 2:
        np.testing.assert_array_equal(back[..., 3], pixels[..., 1])


@pytest.mark.parametrize("channels", [3, 4])
def test_webp_lossy_is_close_and_keeps_alpha(tmp_path, channels):
    pixels = _smooth(32, 48, channels)
    if channels == 4:
        pixels[..., 3] = 255
        pixels[:8, :, 3] = 0
    write_image(Image(pixels), tmp_path / "l.webp", quality=90)
    back = read_image(tmp_path / "l.webp").pixels
    assert back.shape == pixels.shape
    diff = np.abs(back[..., :3].astype(int) - pixels[..., :3])
    assert diff.mean() < 3
    if channels == 4:
        assert (back[8:, :, 3] == 255).all()
        assert (back[:8, :, 3] == 0).all()


@pytest.mark.parametrize("channels", [1, 3])
def test_jpeg_round_trip_within_tolerance(tmp_path, channels):
    pixels = _smooth(40, 56, channels)
    write_image(Image(pixels), tmp_path / "p.jpg")
    back = read_image(tmp_path / "p.jpg")
    assert back.format == "JPEG"
    assert back.pixels.shape == pixels.shape and back.pixels.dtype == np.uint8
    diff = np.abs(back.pixels.astype(int) - pixels)
    assert diff.mean() < 1.5 and diff.max() <= 8


@pytest.mark.parametrize("channels", [2, 4])
def test_jpeg_drops_alpha(tmp_path, channels):
    pixels = _smooth(16, 16, channels)
    write_image(Image(pixels), tmp_path / "a.jpeg")
    back = read_image(tmp_path / "a.jpeg").pixels
    assert back.shape == (16, 16, channels - 1)


@pytest.mark.parametrize(("suffix", "quality"), [(".jpg", 100), (".webp", 100), (".bmp", 95)])
@pytest.mark.parametrize("channels", [1, 3])
def test_16_bit_becomes_8_bit_where_the_format_has_no_16_bit(tmp_path, suffix, quality, channels):
    pixels = _random(8, 8, channels, np.uint16)
    pixels[..., 0] = np.rint(_smooth(8, 8, 1)[..., 0].astype(float) * 257).astype(np.uint16)
    write_image(Image(pixels), tmp_path / f"x{suffix}", quality=quality)
    back = read_image(tmp_path / f"x{suffix}").pixels
    assert back.dtype == np.uint8
    expected = np.rint(pixels[..., 0] / 257.0)
    tolerance = 3 if suffix == ".jpg" else 0
    assert np.abs(back[..., 0].astype(int) - expected).max() <= tolerance


def test_16_bit_to_8_bit_rounds_to_nearest():
    values = np.array([0, 128, 129, 257, 65535, 65406], np.uint16).reshape(1, -1, 1)
    np.testing.assert_array_equal(imageio._to_uint8(values).ravel(), [0, 0, 1, 1, 255, 254])


def test_float_to_png_becomes_16_bit_and_is_clipped(tmp_path):
    pixels = np.array([[[-0.5], [0.0], [0.5], [1.0], [3.0]]], np.float32)
    write_image(Image(pixels), tmp_path / "f.png")
    back = read_image(tmp_path / "f.png").pixels
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back.ravel(), [0, 0, 32768, 65535, 65535])


def test_float_tiff_keeps_values_outside_0_1(tmp_path):
    pixels = np.array([[[-0.25, 0.5, 2.5], [np.float32(1 / 3), 1.0, 0.0]]], np.float32)
    write_image(Image(pixels), tmp_path / "hdr.tif")
    back = read_image(tmp_path / "hdr.tif").pixels
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, pixels)


def test_float_tiff_from_another_writer(tmp_path):
    pixels = _random(5, 7, 3, np.float32) * 4 - 1
    tifffile.imwrite(tmp_path / "f.tif", pixels, photometric="rgb")
    np.testing.assert_array_equal(read_image(tmp_path / "f.tif").pixels, pixels)
    gray = _random(5, 7, 1, np.float32)[..., 0].astype(np.float64)
    tifffile.imwrite(tmp_path / "g.tif", gray)
    back = read_image(tmp_path / "g.tif").pixels
    assert back.dtype == np.float32 and back.shape == (5, 7, 1)
    np.testing.assert_allclose(back[..., 0], gray, rtol=1e-6)


@pytest.mark.parametrize("planar", ["contig", "separate"])
def test_16_bit_tiff_with_alpha_from_tifffile(tmp_path, planar):
    pixels = _random(6, 9, 4, np.uint16, seed=9)
    data = np.moveaxis(pixels, -1, 0) if planar == "separate" else pixels
    tifffile.imwrite(
        tmp_path / "a.tif",
        data,
        photometric="rgb",
        planarconfig=planar,
        extrasamples=["assocalpha"],
    )
    back = read_image(tmp_path / "a.tif").pixels
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, pixels)


def test_16_bit_gray_alpha_tiff(tmp_path):
    pixels = _random(4, 3, 2, np.uint16)
    tifffile.imwrite(tmp_path / "la.tif", pixels, photometric="minisblack", extrasamples=[2])
    np.testing.assert_array_equal(read_image(tmp_path / "la.tif").pixels, pixels)


def test_lzw_tiff_reads_without_imagecodecs(tmp_path):
    pixels = _random(10, 12, 3, np.uint8)
    (tmp_path / "lzw.tif").write_bytes(
        pil_bytes(PILImage.fromarray(pixels), "TIFF", compression="tiff_lzw")
    )
    np.testing.assert_array_equal(read_image(tmp_path / "lzw.tif").pixels, pixels)


def test_multipage_tiff_reads_the_first_page(tmp_path):
    first = _random(4, 4, 3, np.uint8, seed=1)
    with tifffile.TiffWriter(tmp_path / "m.tif") as tif:
        tif.write(first, photometric="rgb")
        tif.write(_random(8, 8, 3, np.uint8, seed=2), photometric="rgb")
    np.testing.assert_array_equal(read_image(tmp_path / "m.tif").pixels, first)


# ----------------------------------------------------------------------------------------------
# files from other writers: palette, CMYK, 1-bit, Pillow's 16-bit gray, OpenCV's 16-bit PNG


def test_palette_png_becomes_rgb():
    im = PILImage.new("P", (4, 2))
    im.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 759)
    im.putdata([0, 1, 2, 0, 2, 1, 0, 0])
    pixels = decode_image(pil_bytes(im, "PNG")).pixels
    assert pixels.shape == (2, 4, 3) and pixels.dtype == np.uint8
    np.testing.assert_array_equal(pixels[0, :3], [[255, 0, 0], [0, 255, 0], [0, 0, 255]])
    np.testing.assert_array_equal(pixels, np.asarray(im.convert("RGB")))


def test_palette_png_with_transparency_becomes_rgba():
    im = PILImage.new("P", (3, 1))
    im.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 759)
    im.putdata([0, 1, 2])
    pixels = decode_image(pil_bytes(im, "PNG", transparency=1)).pixels
    np.testing.assert_array_equal(pixels[0], [[255, 0, 0, 255], [0, 255, 0, 0], [0, 0, 255, 255]])


def test_palette_bmp_and_palette_tiff_become_rgb():
    im = PILImage.new("P", (3, 2))
    im.putpalette([10, 20, 30, 200, 100, 0] + [0] * 762)
    im.putdata([0, 1, 0, 1, 1, 0])
    expected = np.asarray(im.convert("RGB"))
    for fmt in ("BMP", "TIFF", "PNG"):
        np.testing.assert_array_equal(decode_image(pil_bytes(im, fmt)).pixels, expected)


def test_png_colour_key_transparency_becomes_alpha():
    gray = np.array([[0, 10, 20]], np.uint8)
    back = decode_image(pil_bytes(PILImage.fromarray(gray), "PNG", transparency=10)).pixels
    np.testing.assert_array_equal(back[0], [[0, 255], [10, 0], [20, 255]])
    rgb = np.array([[[1, 2, 3], [4, 5, 6]]], np.uint8)
    png = pil_bytes(PILImage.fromarray(rgb), "PNG", transparency=(4, 5, 6))
    np.testing.assert_array_equal(decode_image(png).pixels[0, :, 3], [255, 0])


def test_cmyk_jpeg_becomes_rgb():
    im = PILImage.new("CMYK", (16, 8), (0, 255, 255, 0))  # red
    im.paste((255, 0, 255, 0), (8, 0, 16, 8))  # green
    image = decode_image(pil_bytes(im, "JPEG", quality=100))
    assert image.pixels.shape == (8, 16, 3)
    assert np.abs(image.pixels[4, 2].astype(int) - [255, 0, 0]).max() <= 3
    assert np.abs(image.pixels[4, 13].astype(int) - [0, 255, 0]).max() <= 3


def test_one_bit_png_becomes_0_255_gray():
    bits = np.array([[0, 1, 1, 0, 1, 0, 0, 1, 1]], bool)
    pixels = decode_image(pil_bytes(PILImage.fromarray(bits), "PNG")).pixels
    np.testing.assert_array_equal(pixels[..., 0], bits * 255)


def test_16_bit_png_from_other_writers():
    gray = _random(5, 6, 1, np.uint16)[..., 0]
    pil = decode_image(pil_bytes(PILImage.fromarray(gray), "PNG")).pixels
    assert pil.dtype == np.uint16
    np.testing.assert_array_equal(pil[..., 0], gray)
    rgba = _random(5, 6, 4, np.uint16)
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    assert ok
    np.testing.assert_array_equal(decode_image(data.tobytes()).pixels, rgba)


def test_gray_alpha_png_from_pillow():
    la = _random(4, 5, 2, np.uint8)
    back = decode_image(pil_bytes(PILImage.fromarray(la, "LA"), "PNG")).pixels
    np.testing.assert_array_equal(back, la)


def test_gray_alpha_png_we_write_is_valid_for_pillow(tmp_path):
    la = _random(7, 3, 2, np.uint8)
    write_image(Image(la), tmp_path / "la.png")
    with PILImage.open(tmp_path / "la.png") as im:
        assert im.mode == "LA"
        np.testing.assert_array_equal(np.asarray(im), la)


# ----------------------------------------------------------------------------------------------
# odd sizes


@pytest.mark.parametrize("suffix", [".png", ".tif", ".bmp", ".webp", ".jpg"])
@pytest.mark.parametrize("shape", [(1, 1), (1, 23), (23, 1)])
def test_one_pixel_wide_or_high(tmp_path, suffix, shape):
    pixels = _random(*shape, 3, np.uint8)
    write_image(Image(pixels), tmp_path / f"thin{suffix}", quality=100)
    back = read_image(tmp_path / f"thin{suffix}").pixels
    assert back.shape == pixels.shape
    if suffix != ".jpg":
        np.testing.assert_array_equal(back, pixels)


# ----------------------------------------------------------------------------------------------
# EXIF orientation

# How each orientation maps display pixels (what the camera saw) to stored pixels.
_STORE = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, k=1),
    7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],
    8: lambda a: np.rot90(a, k=-1),
}


def _scene() -> np.ndarray:
    """A 24x40 picture with no symmetry: four flat quadrants and a marker block."""
    scene = np.zeros((24, 40, 3), np.uint8)
    scene[:12, :20] = (220, 30, 30)
    scene[:12, 20:] = (30, 220, 30)
    scene[12:, :20] = (30, 30, 220)
    scene[12:, 20:] = (220, 220, 30)
    scene[:8, :8] = (255, 255, 255)
    return scene


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_exif_orientation_is_applied(orientation):
    scene = _scene()
    stored = np.ascontiguousarray(_STORE[orientation](scene))
    data = pil_bytes(PILImage.fromarray(stored), "JPEG", quality=100, exif=_exif_bytes(orientation))
    image = decode_image(data)
    assert image.pixels.shape == scene.shape
    # Reference 1: Pillow's own implementation of the orientation tag.
    reference = np.asarray(ImageOps.exif_transpose(PILImage.open(io.BytesIO(data))))
    np.testing.assert_array_equal(image.pixels, reference)
    # Reference 2: the scene itself (quadrant colours, away from JPEG edge ringing).
    for y, x in [(4, 4), (6, 16), (6, 30), (18, 10), (18, 30)]:
        assert np.abs(image.pixels[y, x].astype(int) - scene[y, x]).max() <= 4, (y, x)
    exif = _parse_exif(image.exif)
    assert exif[0x0112] == 1
    assert exif[0x010F] == "Manifold Camera Co"
    assert exif.get_ifd(0x8769)[0x9003] == "2024:05:06 07:08:09"


@pytest.mark.parametrize("orientation", [3, 6, 7])
def test_png_and_webp_exif_orientation_is_applied(orientation):
    scene = _scene()
    stored = np.ascontiguousarray(_STORE[orientation](scene))
    png = imageio._encode_png(stored, None, _exif_bytes(orientation)[6:])
    np.testing.assert_array_equal(decode_image(png).pixels, scene)
    webp = pil_bytes(
        PILImage.fromarray(stored), "WEBP", lossless=True, exif=_exif_bytes(orientation)[6:]
    )
    image = decode_image(webp)
    np.testing.assert_array_equal(image.pixels, scene)
    assert _parse_exif(image.exif)[0x0112] == 1


@pytest.mark.parametrize("orientation", [2, 6, 8])
def test_tiff_orientation_tag_is_applied(tmp_path, orientation):
    scene = _scene()
    stored = np.ascontiguousarray(_STORE[orientation](scene))
    tifffile.imwrite(
        tmp_path / "o.tif", stored, photometric="rgb", extratags=[(274, "H", 1, orientation)]
    )
    np.testing.assert_array_equal(read_image(tmp_path / "o.tif").pixels, scene)


def test_orientation_is_applied_once_through_a_round_trip(tmp_path):
    scene = _scene()
    data = pil_bytes(
        PILImage.fromarray(np.ascontiguousarray(_STORE[6](scene))), "PNG", exif=_exif_bytes(6)
    )
    first = decode_image(data)
    write_image(first, tmp_path / "again.png")
    second = read_image(tmp_path / "again.png")
    np.testing.assert_array_equal(second.pixels, scene)
    assert _parse_exif(second.exif)[0x0112] == 1


def test_big_endian_exif_orientation():
    exif = PILImage.Exif()
    exif[0x0112] = 8
    little = exif.tobytes()[6:]
    # Same IFD written big-endian by hand: header, one entry, next-IFD offset.
    big = b"MM\x00*" + struct.pack(">IH", 8, 1) + struct.pack(">HHIHH", 0x0112, 3, 1, 8, 0)
    big += b"\x00\x00\x00\x00"
    assert imageio._find_orientation(little)[2] == 8
    pixels = np.arange(6, dtype=np.uint8).reshape(2, 3, 1)
    image = imageio._oriented(Image(pixels.copy(), exif=big))
    np.testing.assert_array_equal(image.pixels, np.rot90(pixels, k=1))
    assert imageio._find_orientation(image.exif)[2] == 1


# ----------------------------------------------------------------------------------------------
# ICC profile and EXIF survive a write/read round trip


@pytest.mark.parametrize(
    ("suffix", "dtype", "channels"),
    [
        (".png", np.uint8, 3),
        (".png", np.uint16, 4),
        (".png", np.uint16, 2),
        (".jpg", np.uint8, 3),
        (".jpg", np.uint16, 1),
        (".webp", np.uint8, 4),
        (".tif", np.uint16, 3),
        (".tif", np.float32, 1),
    ],
)
def test_icc_and_exif_round_trip(tmp_path, suffix, dtype, channels):
    icc = _srgb_profile()
    source = Image(_random(8, 10, channels, dtype), icc_profile=icc, exif=_exif_bytes()[6:])
    write_image(source, tmp_path / f"meta{suffix}")
    back = read_image(tmp_path / f"meta{suffix}")
    assert back.icc_profile == icc
    exif = _parse_exif(back.exif)
    assert exif[0x010F] == "Manifold Camera Co"
    assert exif[0x0110] == "Restorer 1"
    if suffix != ".tif":  # TIFF keeps the descriptive IFD0 tags only (documented)
        assert exif.get_ifd(0x8769)[0x9003] == "2024:05:06 07:08:09"
        assert back.exif == source.exif  # carried byte for byte


def test_exif_with_jpeg_prefix_is_accepted(tmp_path):
    write_image(Image(_smooth(8, 8, 3), exif=_exif_bytes()), tmp_path / "p.png")
    back = read_image(tmp_path / "p.png")
    assert back.exif == _exif_bytes()[6:]


def test_images_without_metadata_have_none():
    image = decode_image(pil_bytes(PILImage.fromarray(_smooth(4, 4, 3)), "PNG"))
    assert image.icc_profile is None and image.exif is None


def test_bmp_has_no_metadata_and_ignores_it(tmp_path):
    write_image(
        Image(_smooth(4, 4, 3), icc_profile=_srgb_profile(), exif=_exif_bytes()[6:]),
        tmp_path / "x.bmp",
    )
    back = read_image(tmp_path / "x.bmp")
    assert back.icc_profile is None and back.exif is None


# ----------------------------------------------------------------------------------------------
# Image properties


def test_image_properties():
    image = Image(np.zeros((5, 7, 4), np.uint16))
    assert (image.height, image.width, image.channels) == (5, 7, 4)
    assert image.has_alpha and image.bit_depth == 16
    gray = Image(np.zeros((2, 3, 1), np.float32))
    assert not gray.has_alpha and gray.bit_depth == 32 and gray.channels == 1
    assert Image(np.zeros((1, 1, 2), np.uint8)).has_alpha
    assert SUPPORTED_SUFFIXES == (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")


# ----------------------------------------------------------------------------------------------
# bad input: always ImageReadError with a readable one-line message


def _assert_read_error(path_or_bytes, *words: str) -> str:
    with pytest.raises(ImageReadError) as info:
        if isinstance(path_or_bytes, bytes):
            decode_image(path_or_bytes, name="photo.png")
        else:
            read_image(path_or_bytes)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message
    return message


def test_missing_file(tmp_path):
    _assert_read_error(tmp_path / "nope.png", "nope.png", "does not exist")


def test_folder_instead_of_file(tmp_path):
    _assert_read_error(tmp_path, "folder")


def test_empty_file(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    _assert_read_error(tmp_path / "empty.jpg", "empty.jpg", "empty")


def test_text_file_named_png(tmp_path):
    (tmp_path / "notes.png").write_text("Shopping list:\n- eggs\n- flour, café crème\n")
    _assert_read_error(tmp_path / "notes.png", "notes.png", "not an image", "text")


def test_random_bytes_are_unsupported(tmp_path):
    (tmp_path / "noise.tif").write_bytes(bytes(range(256)) * 4)
    _assert_read_error(tmp_path / "noise.tif", "noise.tif", "not a supported image")


def test_gif_is_named():
    data = pil_bytes(PILImage.new("P", (2, 2)), "GIF")
    _assert_read_error(data, "photo.png", "GIF", "not supported")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "WEBP", "BMP"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_files(fmt, keep):
    data = pil_bytes(PILImage.fromarray(_random(48, 48, 3, np.uint8)), fmt)
    _assert_read_error(data[: int(len(data) * keep)], "photo.png", "damaged")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "WEBP", "BMP"])
def test_header_only(fmt):
    data = pil_bytes(PILImage.fromarray(_random(48, 48, 3, np.uint8)), fmt)
    _assert_read_error(data[:16], "photo.png")


def test_corrupt_png_data():
    data = bytearray(pil_bytes(PILImage.fromarray(_random(32, 32, 3, np.uint8)), "PNG"))
    middle = len(data) // 2
    data[middle : middle + 40] = bytes(40)
    _assert_read_error(bytes(data), "photo.png", "damaged")


def test_unreadable_file_message(tmp_path, monkeypatch):
    def deny(self):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", deny)
    _assert_read_error(tmp_path / "x.png", "permission denied")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fmt=st.sampled_from(["PNG", "JPEG", "TIFF", "WEBP", "BMP"]),
    position=st.floats(0, 1),
    garbage=st.binary(min_size=1, max_size=16),
    cut=st.booleans(),
)
def test_damaged_files_never_raise_anything_else(fmt, position, garbage, cut):
    data = _FUZZ_SOURCES[fmt]
    at = int(position * (len(data) - 1))
    broken = data[:at] if cut else data[:at] + garbage + data[at + len(garbage) :]
    try:
        image = decode_image(broken, max_pixels=10_000_000)
    except ImageReadError as exc:
        assert "\n" not in str(exc)
    else:
        assert image.pixels.ndim == 3 and image.pixels.shape[2] in (1, 2, 3, 4)


_FUZZ_SOURCES = {
    fmt: pil_bytes(PILImage.fromarray(_random(12, 12, 3, np.uint8)), fmt)
    for fmt in ("PNG", "JPEG", "TIFF", "WEBP", "BMP")
}


# ----------------------------------------------------------------------------------------------
# decompression bombs: the header size is checked before decoding


def test_png_bomb_is_refused_before_decoding(monkeypatch):
    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded a bomb")

    monkeypatch.setattr(cv2, "imdecode", no_decoding)
    message = _assert_read_error(png_header_only(100_000, 50_000), "100000x50000", "--max-pixels")
    assert "5000 megapixels" in message and "200 megapixels" in message


def test_jpeg_bomb_is_refused_from_its_header():
    data = bytearray(pil_bytes(PILImage.fromarray(_smooth(8, 8, 3)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60000, 60000)  # height, width
    _assert_read_error(bytes(data), "60000x60000", "--max-pixels")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 2000, 3000)
    with pytest.raises(ImageReadError, match="3000x2000"):
        decode_image(bytes(data), max_pixels=5_000_000)
    # Without a limit the header is believed (libjpeg pads the missing rows).
    assert decode_image(bytes(data), max_pixels=None).pixels.shape == (2000, 3000, 3)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "WEBP", "BMP"])
def test_max_pixels_applies_to_every_format(fmt):
    data = pil_bytes(PILImage.fromarray(_smooth(10, 20, 3)), fmt)
    with pytest.raises(ImageReadError, match=r"20x10 .*--max-pixels"):
        decode_image(data, max_pixels=199)
    assert decode_image(data, max_pixels=200).pixels.shape == (10, 20, 3)
    assert decode_image(data, max_pixels=None).pixels.shape == (10, 20, 3)


def test_pillow_limit_is_left_as_it_was():
    before = PILImage.MAX_IMAGE_PIXELS
    decode_image(pil_bytes(PILImage.fromarray(_smooth(4, 4, 3)), "JPEG"))
    assert before == PILImage.MAX_IMAGE_PIXELS


# ----------------------------------------------------------------------------------------------
# writing: names, overwriting, atomicity


def test_unknown_suffix(tmp_path):
    image = Image(_smooth(4, 4, 3))
    for name in ("a.gif", "noext"):
        with pytest.raises(ImageWriteError, match=r"\.png"):
            write_image(image, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_suffix_is_case_insensitive(tmp_path):
    write_image(Image(_smooth(4, 4, 3)), tmp_path / "UPPER.PNG")
    assert read_image(tmp_path / "UPPER.PNG").format == "PNG"


def test_never_overwrites_without_permission(tmp_path):
    target = tmp_path / "keep.png"
    target.write_bytes(b"precious")
    with pytest.raises(ImageWriteError, match="exists; choose another name or allow overwriting"):
        write_image(Image(_smooth(4, 4, 3)), target)
    assert target.read_bytes() == b"precious"
    assert _leftovers(tmp_path) == []
    write_image(Image(_smooth(4, 4, 3)), target, overwrite=True)
    assert read_image(target).pixels.shape == (4, 4, 3)


def test_missing_folder(tmp_path):
    with pytest.raises(ImageWriteError, match="does not exist"):
        write_image(Image(_smooth(4, 4, 3)), tmp_path / "nope" / "a.png")


def test_folder_with_the_target_name(tmp_path):
    (tmp_path / "a.png").mkdir()
    with pytest.raises(ImageWriteError, match="folder"):
        write_image(Image(_smooth(4, 4, 3)), tmp_path / "a.png", overwrite=True)


@pytest.mark.parametrize(
    ("failing", "error", "words"),
    [
        ("replace", errno.EACCES, "no permission"),
        ("fsync", errno.ENOSPC, "disk is full"),
        ("replace", errno.EROFS, "read-only"),
        ("replace", errno.EIO, "a.png"),
    ],
)
def test_failed_write_leaves_nothing_behind(tmp_path, monkeypatch, failing, error, words):
    original = getattr(os, failing)

    def fail(*args, **kwargs):
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(imageio.os, failing, fail)
    with pytest.raises(ImageWriteError, match=words):
        write_image(Image(_smooth(4, 4, 3)), tmp_path / "a.png")
    monkeypatch.setattr(imageio.os, failing, original)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "a.tif"
    target.write_bytes(b"old")

    def fail(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(imageio.os, "replace", fail)
    with pytest.raises(ImageWriteError, match="disk is full"):
        write_image(Image(_smooth(4, 4, 3)), target, overwrite=True)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tif"]


def test_unwritable_folder(tmp_path, monkeypatch):
    real_open = os.open

    def deny(path, flags, *args):
        if flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(imageio.os, "open", deny)
    with pytest.raises(ImageWriteError, match="no permission to write"):
        write_image(Image(_smooth(4, 4, 3)), tmp_path / "a.jpg")
    assert list(tmp_path.iterdir()) == []


def test_encoder_failure_is_an_image_write_error(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("encoder exploded")

    monkeypatch.setattr(imageio.tifffile, "imwrite", broken)
    with pytest.raises(ImageWriteError, match=r"could not encode a\.tif"):
        write_image(Image(_smooth(4, 4, 3)), tmp_path / "a.tif")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "pixels",
    [np.zeros((4, 4, 5), np.uint8), np.zeros((0, 4, 3), np.uint8), np.zeros((4, 4, 3), np.int64)],
)
def test_unwritable_pixels(tmp_path, pixels):
    with pytest.raises(ImageWriteError):
        write_image(Image(pixels), tmp_path / "a.png")
    assert list(tmp_path.iterdir()) == []


def test_bad_quality(tmp_path):
    with pytest.raises(ImageWriteError, match="quality"):
        write_image(Image(_smooth(4, 4, 3)), tmp_path / "a.jpg", quality=0)


def test_written_file_is_readable_by_everyone(tmp_path):
    write_image(Image(_smooth(4, 4, 3)), tmp_path / "a.png")
    mode = (tmp_path / "a.png").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_two_dimensional_pixels_are_gray(tmp_path):
    write_image(Image(_smooth(4, 5, 1)[..., 0]), tmp_path / "g.png")
    assert read_image(tmp_path / "g.png").pixels.shape == (4, 5, 1)
