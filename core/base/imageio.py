"""Reading and writing photos: PNG, JPEG, TIFF, WebP and BMP.

Pixels follow the conventions in :mod:`core`: ``(H, W, C)`` with ``C`` in ``{1, 2, 3, 4}`` (gray,
gray+alpha, RGB, RGBA, always RGB order), dtype ``uint8``, ``uint16`` or ``float32`` as stored in
the file.

Decisions worth knowing:

* EXIF orientation is applied to the pixels once, at read time, and the tag in the kept EXIF is
  reset to 1, so a written file displays the same everywhere.
* ``Image.exif`` holds the EXIF block in its TIFF form (starting ``II*\\0`` or ``MM\\0*``), without
  the ``Exif\\0\\0`` prefix a JPEG APP1 segment uses; it is added back when writing a JPEG.
* float32 TIFFs are read as float32 exactly as stored: values are NOT clipped to ``[0, 1]`` at read
  time (HDR or out-of-range data survives a read/write round trip). Code that needs ``[0, 1]``
  clips, as :func:`core.base.pixels.to_float_rgb` does. Writing float32 to a TIFF keeps float32;
  to a PNG it becomes 16-bit, to JPEG/WebP/BMP 8-bit (clipped to ``[0, 1]`` and rounded).
* 16-bit images written to JPEG, WebP or BMP become 8-bit (``round(v / 257)``); those formats have
  no 16-bit mode. Alpha is dropped for JPEG (no alpha there); gray becomes RGB in WebP.
* WebP is written lossy at ``quality`` below 100 and lossless (pixel exact) at ``quality=100``.
* Palette images become RGB, or RGBA when the palette has transparency; CMYK becomes RGB.
* ``max_pixels`` is checked against the size in the file header before any pixel is decoded.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import secrets
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image as PILImage

from core.base.errors import ImageReadError, ImageTooLargeError, ImageWriteError
from core.base.quiet import c_stderr_captured, silence_libraries

silence_libraries()  # a damaged file is our one message, not the decoders' warnings first

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "SUPPORTED_SUFFIXES",
    "Image",
    "decode_image",
    "is_image_file",
    "list_images",
    "read_image",
    "read_rgb8",
    "write_image",
]

DEFAULT_MAX_PIXELS = 200_000_000
SUPPORTED_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")

_FORMAT_BY_SUFFIX = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".bmp": "BMP",
}
_ORIENTATION_TAG = 0x0112
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_EXIF_LIMIT = 65533 - 6  # one APP1 segment, minus the "Exif\0\0" prefix


@dataclass
class Image:
    """A decoded photo and the metadata worth keeping.

    ``pixels`` is ``(H, W, C)``, ``C`` in ``{1, 2, 3, 4}`` (gray, gray+alpha, RGB, RGBA), dtype
    ``uint8``, ``uint16`` or ``float32``. ``exif`` is the raw EXIF block (TIFF form, no
    ``Exif\\0\\0`` prefix) with its orientation already applied to ``pixels`` (tag reset to 1).
    """

    pixels: np.ndarray
    icc_profile: bytes | None = None
    exif: bytes | None = None
    format: str | None = None
    source: Path | None = None

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[2]) if self.pixels.ndim == 3 else 1

    @property
    def has_alpha(self) -> bool:
        return self.channels in (2, 4)

    @property
    def bit_depth(self) -> int:
        return int(self.pixels.dtype.itemsize * 8)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def is_image_file(path: Path) -> bool:
    """A file whose suffix is one of ``SUPPORTED_SUFFIXES`` (any case)."""
    return path.suffix.lower() in SUPPORTED_SUFFIXES and path.is_file()


def list_images(folder: Path, recursive: bool = False) -> list[Path]:
    """The image files in ``folder`` (and its sub-folders when ``recursive``), sorted."""
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if is_image_file(p))


def read_rgb8(path: Path) -> np.ndarray:
    """uint8 RGB through OpenCV alone: the fast path for training corpora of 8-bit photos
    (no orientation, alpha, ICC or 16 bit; use :func:`read_image` for the user's files)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ImageReadError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_image(path: str | Path, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image:
    """Read a PNG, JPEG, TIFF, WebP or BMP file.

    The format is recognised from the file's content, not its name. EXIF orientation is applied
    to the pixels. Raises :class:`ImageReadError` with a message for the user on any problem,
    including an image larger than ``max_pixels`` (``None`` = no limit), checked before decoding.
    """
    path = Path(path)
    name = path.name or str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise ImageReadError(f"{path} is a folder, not an image file") from None
    except PermissionError:
        raise ImageReadError(f"cannot read {path}: permission denied") from None
    except OSError as exc:
        raise ImageReadError(f"cannot read {path}: {exc.strerror or exc}") from None
    image = decode_image(data, name=name, max_pixels=max_pixels)
    image.source = path
    return image


def decode_image(
    data: bytes, *, name: str = "<bytes>", max_pixels: int | None = DEFAULT_MAX_PIXELS
) -> Image:
    """Decode an image held in memory; see :func:`read_image`. ``name`` is used in messages."""
    data = bytes(data)
    if not data:
        raise ImageReadError(f"{name} is empty (0 bytes)")
    fmt = _sniff(data, name)
    with c_stderr_captured():  # libtiff, libpng... print about damaged files on fd 2
        image = _decode(data, name, fmt, max_pixels)
    image.pixels = _normalise_pixels(image.pixels, name)
    image.format = fmt
    return image


def _decode(data: bytes, name: str, fmt: str, max_pixels: int | None) -> Image:
    try:
        if fmt == "PNG":
            image = _decode_png(data, name, max_pixels)
        elif fmt == "TIFF":
            image = _decode_tiff(data, name, max_pixels)
        else:
            image = _decode_with_pillow(data, name, fmt, max_pixels)
    except ImageReadError:
        raise
    except MemoryError:
        raise ImageReadError(f"not enough memory to open {name}") from None
    except Exception as exc:  # any decoder failure is a damaged file to the user
        raise ImageReadError(f"{name} is damaged or truncated ({_short(exc)})") from None
    return image


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _sniff(data: bytes, name: str) -> str:
    head = data[:32]
    if head.startswith(_PNG_SIGNATURE):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:2] == b"BM":
        return "BMP"
    other = _other_format(head)
    if other:
        raise ImageReadError(
            f"{name} is a {other} image, which is not supported; "
            "convert it to PNG, JPEG, TIFF, WebP or BMP"
        )
    if _looks_like_text(data[:4096]):
        raise ImageReadError(f"{name} is not an image: it contains text")
    raise ImageReadError(f"{name} is not a supported image (PNG, JPEG, TIFF, WebP or BMP)")


def _other_format(head: bytes) -> str | None:
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return "HEIC/HEIF"
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL "):
        return "JPEG XL"
    if head.startswith(b"\x00\x00\x00\x0cjP  ") or head.startswith(b"\xff\x4f\xff\x51"):
        return "JPEG 2000"
    if head.startswith(b"8BPS"):
        return "Photoshop (PSD)"
    return None


def _looks_like_text(sample: bytes) -> bool:
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at the end of the sample is still text.
        try:
            text = sample[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return len(text) > 0 and printable / len(text) > 0.95


def _check_size(width: int, height: int, name: str, max_pixels: int | None) -> None:
    if width <= 0 or height <= 0:
        raise ImageReadError(f"{name} is damaged: its header gives a size of {width}x{height}")
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLargeError(
            f"{name} is {width}x{height} ({width * height / 1e6:.0f} megapixels), more than the "
            f"limit of {max_pixels / 1e6:.0f} megapixels; if you trust this file, raise the "
            "limit with --max-pixels (megapixels, 0 = no limit) or the maximum image size setting",
            width,
            height,
        )


_PIL_LIMIT_LOCK = threading.Lock()


@contextlib.contextmanager
def _pillow_unlimited() -> Iterator[None]:
    """Pillow's own decompression-bomb check off: ``max_pixels`` is the one that applies."""
    with _PIL_LIMIT_LOCK:
        saved = PILImage.MAX_IMAGE_PIXELS
        PILImage.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            PILImage.MAX_IMAGE_PIXELS = saved


def _cv2_decode(data: bytes) -> np.ndarray | None:
    try:
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        return None
    if pixels is None or pixels.size == 0:
        return None
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.shape[2] == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    elif pixels.shape[2] == 4:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGBA)
    return pixels


# PNG -----------------------------------------------------------------------------------------


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(type, body) of each chunk; IDAT bodies are not copied out (given as b"").

    The CRC of critical chunks is checked here, as libpng does: a damaged file is then a clean
    error instead of libpng's "incorrect data check" on stderr from inside OpenCV.
    """
    pos = len(_PNG_SIGNATURE)
    view = memoryview(data)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = view[pos + 8 : pos + 8 + length]
        stored = data[pos + 8 + length : pos + 12 + length]
        if len(body) < length or len(stored) < 4:
            raise ImageReadError("PNG chunk cut short")
        critical = kind[:1].isupper()
        if critical and zlib.crc32(body, zlib.crc32(kind)) != struct.unpack(">I", stored)[0]:
            raise ImageReadError(f"the PNG {kind.decode('latin-1')} chunk is corrupt")
        yield kind, b"" if kind == b"IDAT" else bytes(body)
        if kind == b"IEND":
            return
        pos += 12 + length
    raise ImageReadError("the file ends before the PNG end marker")


def _decode_png(data: bytes, name: str, max_pixels: int | None) -> Image:
    icc = exif = transparent = None
    header = None
    problem = None
    try:
        for kind, body in _png_chunks(data):
            if kind == b"IHDR" and len(body) >= 13:
                header = struct.unpack(">IIBB", body[:10])
            elif kind == b"iCCP" and icc is None:
                with contextlib.suppress(ValueError, zlib.error):
                    icc = zlib.decompress(body[body.index(b"\0") + 2 :])
            elif kind == b"eXIf" and exif is None:
                exif = body
            elif kind == b"tRNS":
                transparent = body
    except ImageReadError as exc:
        problem = str(exc)
    if header is None:
        raise ImageReadError(f"{name} is damaged: the PNG header is missing")
    _check_size(header[0], header[1], name, max_pixels)
    if problem:
        raise ImageReadError(f"{name} is damaged or truncated: {problem}")
    pixels = _cv2_decode(data)
    if pixels is None:
        pixels = _pillow_pixels_from(data)
    colour_type = header[3]
    if colour_type == 4 and pixels.shape[2] == 4:  # gray+alpha that the decoder made BGRA
        pixels = pixels[..., [0, 3]]
    elif colour_type == 0 and pixels.shape[2] == 3:
        pixels = pixels[..., :1]
    if transparent and colour_type in (0, 2) and pixels.shape[2] in (1, 3):
        pixels = _colour_key_alpha(pixels, transparent, header[2])
    return _oriented(Image(pixels, icc_profile=icc, exif=_clean_exif(exif)))


def _colour_key_alpha(pixels: np.ndarray, trns: bytes, depth: int) -> np.ndarray:
    """Gray or RGB PNG whose tRNS chunk names one transparent colour: add that as alpha."""
    samples = pixels.shape[2]
    if depth not in (8, 16) or len(trns) < 2 * samples:
        return pixels
    key = np.array(struct.unpack(f">{samples}H", trns[: 2 * samples]), np.uint32)
    top = np.iinfo(pixels.dtype).max
    if key.max() > top:
        return pixels
    alpha = np.where((pixels == key.astype(pixels.dtype)).all(axis=2), 0, top)
    return np.concatenate([pixels, alpha[..., None].astype(pixels.dtype)], axis=2)


# Pillow: JPEG, WebP, BMP (and fallbacks) ------------------------------------------------------


def _open_pillow(data: bytes) -> PILImage.Image:
    with _pillow_unlimited():
        return PILImage.open(io.BytesIO(data))


def _decode_with_pillow(data: bytes, name: str, fmt: str, max_pixels: int | None) -> Image:
    im = _open_pillow(data)
    _check_size(im.width, im.height, name, max_pixels)
    icc = im.info.get("icc_profile") or None
    exif = im.info.get("exif") or None
    im.load()
    pixels = _pillow_to_array(im)
    return _oriented(Image(pixels, icc_profile=icc, exif=_clean_exif(exif)))


def _pillow_pixels_from(data: bytes) -> np.ndarray:
    im = _open_pillow(data)
    im.load()
    return _pillow_to_array(im)


def _pillow_to_array(im: PILImage.Image) -> np.ndarray:
    mode = im.mode
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode == "1":
        im = im.convert("L")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        im = im.convert("RGB")
    elif mode == "RGBa":
        im = im.convert("RGBA")
    elif mode == "La":
        im = im.convert("LA")
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA"):
        pixels = np.asarray(im, dtype=np.uint8)
    elif mode.startswith("I;16") or mode == "I":
        pixels = np.asarray(im)
        if pixels.dtype != np.uint16:
            pixels = np.clip(pixels, 0, 65535).astype(np.uint16)
    elif mode == "F":
        pixels = np.asarray(im, dtype=np.float32)
    else:
        pixels = np.asarray(im.convert("RGBA" if "A" in mode else "RGB"), dtype=np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    return np.ascontiguousarray(pixels)


# TIFF ----------------------------------------------------------------------------------------


def _decode_tiff(data: bytes, name: str, max_pixels: int | None) -> Image:
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        if not tif.pages:
            raise ImageReadError(f"{name} is damaged: the TIFF holds no image")
        page = tif.pages.first
        _check_size(int(page.imagewidth), int(page.imagelength), name, max_pixels)
        orientation = _tiff_tag(page, 274)
        icc = _tiff_tag(page, 34675)
        pixels = None
        try:
            pixels = _tifffile_pixels(page)
        except ImageReadError:
            raise
        except Exception:
            pixels = None  # codec not available (e.g. LZW without imagecodecs) or odd layout
    if pixels is None:
        pixels = _cv2_decode(data)
        if pixels is not None and pixels.dtype not in (np.uint8, np.uint16, np.float32):
            pixels = None
    if pixels is None:
        pixels = _pillow_pixels_from(data)
    exif = _tiff_exif(data)
    image = Image(pixels, icc_profile=bytes(icc) if icc else None, exif=exif)
    with contextlib.suppress(TypeError, ValueError):
        image.pixels = _apply_orientation(image.pixels, int(orientation or 1))
    return image


def _tiff_tag(page: tifffile.TiffPage, code: int) -> object:
    tag = page.tags.get(code)
    return None if tag is None else tag.value


def _tifffile_pixels(page: tifffile.TiffPage) -> np.ndarray | None:
    """Pixels as stored, for the layouts whose meaning is plain; ``None`` for the others."""
    photometric = int(page.photometric)
    if photometric not in (1, 2):  # MINISBLACK, RGB; palette, CMYK, YCbCr... go to libtiff
        return None
    if page.dtype not in (np.uint8, np.uint16, np.float32, np.float16, np.float64):
        return None
    if int(page.bitspersample) not in (8, 16, 32, 64):
        return None
    pixels = page.asarray()
    if int(page.planarconfig) == 2 and pixels.ndim == 3 and page.samplesperpixel > 1:
        pixels = np.moveaxis(pixels, 0, -1)
    while pixels.ndim > 3 and pixels.shape[0] == 1:
        pixels = pixels[0]
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.ndim != 3 or pixels.shape[:2] != (page.imagelength, page.imagewidth):
        return None
    if photometric == 1:
        pixels = pixels[..., :2]
    else:
        if pixels.shape[2] < 3:
            return None
        pixels = pixels[..., :4]
    if pixels.dtype in (np.float16, np.float64):
        pixels = pixels.astype(np.float32)
    return np.ascontiguousarray(pixels)


_TIFF_EXIF_TAGS = (0x010E, 0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298)


def _tiff_exif(data: bytes) -> bytes | None:
    """A TIFF's descriptive tags and EXIF/GPS sub-IFDs as an EXIF block (best effort)."""
    try:
        with _pillow_unlimited():
            source = PILImage.open(io.BytesIO(data)).getexif()
            exif = PILImage.Exif()
            for tag in _TIFF_EXIF_TAGS:
                if tag in source:
                    exif[tag] = source[tag]
            for ifd in (0x8769, 0x8825):
                values = source.get_ifd(ifd)
                if values:
                    exif[ifd] = values
            return _strip_exif_prefix(exif.tobytes()) if len(exif) else None
    except Exception:
        return None


# Metadata and orientation -------------------------------------------------------------------


def _strip_exif_prefix(exif: bytes) -> bytes:
    return exif[6:] if exif.startswith(b"Exif\x00\x00") else exif


def _clean_exif(exif: bytes | None) -> bytes | None:
    if not exif:
        return None
    exif = _strip_exif_prefix(bytes(exif))
    return exif if exif[:4] in (b"II*\x00", b"MM\x00*") else None


def _find_orientation(exif: bytes) -> tuple[int, str, int] | None:
    """(offset of the value, byte order, value) of IFD0's orientation tag, if any."""
    try:
        order = "<" if exif[:2] == b"II" else ">"
        (ifd,) = struct.unpack(order + "I", exif[4:8])
        (count,) = struct.unpack(order + "H", exif[ifd : ifd + 2])
        for i in range(count):
            entry = ifd + 2 + 12 * i
            tag, kind = struct.unpack(order + "HH", exif[entry : entry + 4])
            if tag == _ORIENTATION_TAG and kind == 3:  # SHORT
                (value,) = struct.unpack(order + "H", exif[entry + 8 : entry + 10])
                return entry + 8, order, value
    except struct.error:
        return None
    return None


def _oriented(image: Image) -> Image:
    """Apply the EXIF orientation to the pixels and reset the tag to 1 in place."""
    if image.exif is None:
        return image
    found = _find_orientation(image.exif)
    if found is None:
        return image
    offset, order, value = found
    image.pixels = _apply_orientation(image.pixels, value)
    if value != 1:
        patched = bytearray(image.exif)
        patched[offset : offset + 2] = struct.pack(order + "H", 1)
        image.exif = bytes(patched)
    return image


def _apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels into display orientation (EXIF/TIFF orientation 1-8)."""
    if orientation == 2:
        out = pixels[:, ::-1]
    elif orientation == 3:
        out = pixels[::-1, ::-1]
    elif orientation == 4:
        out = pixels[::-1]
    elif orientation == 5:
        out = pixels.transpose(1, 0, 2)
    elif orientation == 6:
        out = np.rot90(pixels, k=-1)
    elif orientation == 7:
        out = pixels.transpose(1, 0, 2)[::-1, ::-1]
    elif orientation == 8:
        out = np.rot90(pixels, k=1)
    else:
        return pixels
    return np.ascontiguousarray(out)


def _normalise_pixels(pixels: np.ndarray, name: str) -> np.ndarray:
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4):
        raise ImageReadError(f"{name} has an unsupported pixel layout {pixels.shape}")
    if pixels.dtype == np.bool_:
        pixels = pixels.astype(np.uint8) * 255
    if pixels.dtype not in (np.uint8, np.uint16, np.float32):
        raise ImageReadError(f"{name} has an unsupported sample type ({pixels.dtype})")
    return np.ascontiguousarray(pixels)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def write_image(
    image: Image, path: str | Path, *, overwrite: bool = False, quality: int = 95
) -> None:
    """Write ``image`` to ``path``; the format comes from the suffix (see ``SUPPORTED_SUFFIXES``).

    Bit depth is kept where the format allows it (PNG and TIFF keep 16-bit, TIFF keeps float32),
    as are alpha, the ICC profile and EXIF. ``quality`` (1-100) applies to JPEG and WebP; WebP at
    100 is lossless. The file is written atomically: a temporary file in the same folder is
    fsynced and renamed over ``path``, so a failure never leaves a partial file behind. Raises
    :class:`ImageWriteError` with a message for the user, also when ``path`` exists and
    ``overwrite`` is false.
    """
    path = Path(path)
    fmt = _FORMAT_BY_SUFFIX.get(path.suffix.lower())
    if fmt is None:
        shown = path.suffix or "(no extension)"
        raise ImageWriteError(
            f"cannot save {path.name} as {shown}: use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if not 1 <= int(quality) <= 100:
        raise ImageWriteError(f"quality must be between 1 and 100, got {quality}")
    folder = path.parent
    if not folder.is_dir():
        raise ImageWriteError(f"cannot save {path.name}: the folder {folder} does not exist")
    if path.is_dir():
        raise ImageWriteError(f"cannot save {path}: a folder has that name")
    if path.exists() and not overwrite:
        raise ImageWriteError(f"{path} exists; choose another name or allow overwriting")
    pixels = _writable_pixels(image.pixels)
    try:
        data = _encode(fmt, pixels, image.icc_profile, _clean_exif(image.exif), int(quality))
    except ImageWriteError:
        raise
    except MemoryError:
        raise ImageWriteError(f"not enough memory to save {path.name}") from None
    except Exception as exc:
        raise ImageWriteError(f"could not encode {path.name} as {fmt}: {_short(exc)}") from None
    _atomic_write(path, data, overwrite)


def _writable_pixels(pixels: np.ndarray) -> np.ndarray:
    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4) or 0 in pixels.shape:
        raise ImageWriteError(
            f"cannot save an image of shape {pixels.shape}: expected HxWxC with 1-4 channels"
        )
    if pixels.dtype == np.bool_:
        pixels = pixels.astype(np.uint8) * 255
    elif pixels.dtype in (np.float16, np.float64):
        pixels = pixels.astype(np.float32)
    if pixels.dtype not in (np.uint8, np.uint16, np.float32):
        raise ImageWriteError(f"cannot save {pixels.dtype} pixels: use uint8, uint16 or float32")
    return np.ascontiguousarray(pixels)


def _to_uint8(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.uint16:
        return ((pixels.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return np.rint(np.clip(np.nan_to_num(pixels), 0.0, 1.0) * 255.0).astype(np.uint8)


def _to_uint16(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint16:
        return pixels
    if pixels.dtype == np.uint8:
        return pixels.astype(np.uint16) * 257
    return np.rint(np.clip(np.nan_to_num(pixels), 0.0, 1.0) * 65535.0).astype(np.uint16)


def _encode(
    fmt: str, pixels: np.ndarray, icc: bytes | None, exif: bytes | None, quality: int
) -> bytes:
    if fmt == "PNG":
        return _encode_png(pixels, icc, exif)
    if fmt == "TIFF":
        return _encode_tiff(pixels, icc, exif)
    pixels = _to_uint8(pixels)
    channels = pixels.shape[2]
    if fmt == "JPEG":
        if channels in (2, 4):
            pixels = pixels[..., : channels - 1]  # JPEG has no alpha
    elif fmt == "WEBP":
        if channels == 1:
            pixels = np.repeat(pixels, 3, axis=2)
        elif channels == 2:
            pixels = pixels[..., [0, 0, 0, 1]]
    elif fmt == "BMP":
        return _encode_bmp(pixels)
    im = PILImage.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels)
    out = io.BytesIO()
    options: dict[str, object] = {}
    if icc and fmt != "BMP":
        options["icc_profile"] = icc
    if fmt == "JPEG":
        options.update(quality=quality, subsampling=0 if quality >= 90 else 2, optimize=True)
        if exif and len(exif) <= _JPEG_EXIF_LIMIT:
            options["exif"] = b"Exif\x00\x00" + exif
    elif fmt == "WEBP":
        if quality >= 100:
            options.update(lossless=True, exact=True, quality=100, method=4)
        else:
            options.update(quality=quality, exact=True, method=4)
        if exif:
            options["exif"] = exif
    im.save(out, format=fmt, **options)
    return out.getvalue()


def _encode_bmp(pixels: np.ndarray) -> bytes:
    """8-bit gray, 24-bit RGB or 32-bit RGBA BMP (OpenCV writes alpha in a V5 header, which
    Pillow does not)."""
    channels = pixels.shape[2]
    if channels == 2:
        pixels = pixels[..., [0, 0, 0, 1]]
    if pixels.shape[2] == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    elif pixels.shape[2] == 4:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGRA)
    ok, encoded = cv2.imencode(".bmp", pixels)
    if not ok:
        raise ImageWriteError("the BMP encoder failed")
    return encoded.tobytes()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body))
        + kind
        + body
        + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    )


def _encode_png(pixels: np.ndarray, icc: bytes | None, exif: bytes | None) -> bytes:
    if pixels.dtype == np.float32:
        pixels = _to_uint16(pixels)
    if pixels.shape[2] == 2:
        data = _encode_png_gray_alpha(pixels)
    else:
        bgr = pixels
        if pixels.shape[2] == 3:
            bgr = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
        elif pixels.shape[2] == 4:
            bgr = cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGRA)
        ok, encoded = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 6])
        if not ok:
            raise ImageWriteError("the PNG encoder failed")
        data = encoded.tobytes()
    extra = b""
    if icc:
        extra += _png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc))
    if exif:
        extra += _png_chunk(b"eXIf", exif)
    if not extra:
        return data
    ihdr_end = len(_PNG_SIGNATURE) + 8 + 13 + 4
    assert data[len(_PNG_SIGNATURE) + 4 : len(_PNG_SIGNATURE) + 8] == b"IHDR"
    return data[:ihdr_end] + extra + data[ihdr_end:]


def _encode_png_gray_alpha(pixels: np.ndarray) -> bytes:
    """Gray+alpha PNG (8 or 16 bit), which OpenCV cannot write; rows use the 'Up' filter."""
    height, width, _ = pixels.shape
    depth = 16 if pixels.dtype == np.uint16 else 8
    raw = pixels.astype(">u2" if depth == 16 else np.uint8).view(np.uint8).reshape(height, -1)
    filtered = raw.copy()
    filtered[1:] = raw[1:] - raw[:-1]  # uint8 arithmetic wraps modulo 256, as PNG wants
    rows = np.empty((height, filtered.shape[1] + 1), np.uint8)
    rows[:, 0] = 2
    rows[0, 0] = 0
    rows[:, 1:] = filtered
    rows[0, 1:] = raw[0]
    header = struct.pack(">IIBBBBB", width, height, depth, 4, 0, 0, 0)
    return (
        _PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + _png_chunk(b"IEND", b"")
    )


def _encode_tiff(pixels: np.ndarray, icc: bytes | None, exif: bytes | None) -> bytes:
    channels = pixels.shape[2]
    options: dict[str, object] = {
        "photometric": "minisblack" if channels <= 2 else "rgb",
        "compression": "zlib",
        "predictor": pixels.dtype != np.float32,
        "metadata": None,
    }
    if channels in (2, 4):
        options["extrasamples"] = ["unassalpha"]
    if icc:
        options["iccprofile"] = icc
    extratags = _exif_as_tiff_tags(exif) if exif else []
    # tifffile writes the Software tag itself (and logs a warning for a second one).
    for tag in [t for t in extratags if t[0] == _SOFTWARE_TAG]:
        options["software"] = tag[3]
        extratags.remove(tag)
    if extratags:
        options["extratags"] = extratags
    data = pixels[..., 0] if channels == 1 else pixels
    out = io.BytesIO()
    tifffile.imwrite(out, data, **options)
    return out.getvalue()


# Descriptive IFD0 tags that are plain ASCII: kept in a written TIFF. (The EXIF sub-IFD with
# camera settings has no simple place in tifffile's writer and is not kept in TIFF.)
_TIFF_ASCII_TAGS = (0x010E, 0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298)
_SOFTWARE_TAG = 0x0131


def _exif_as_tiff_tags(exif: bytes) -> list[tuple[int, str, int, str, bool]]:
    try:
        parsed = PILImage.Exif()
        parsed.load(exif)
    except Exception:
        return []
    tags = []
    for code in _TIFF_ASCII_TAGS:
        value = parsed.get(code)
        if isinstance(value, str) and value and value.isascii():
            tags.append((code, "s", 0, value, True))
    return tags


def _atomic_write(path: Path, data: bytes, overwrite: bool) -> None:
    folder = path.parent
    tmp: Path | None = None
    fd = -1
    try:
        for _ in range(100):
            tmp = folder / f".{path.name}.{secrets.token_hex(4)}.tmp"
            try:
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
                fd = os.open(tmp, flags, 0o666)
                break
            except FileExistsError:
                continue
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if not overwrite and path.exists():
            raise ImageWriteError(f"{path} exists; choose another name or allow overwriting")
        os.replace(tmp, path)
        tmp = None
        _fsync_folder(folder)
    except ImageWriteError:
        raise
    except OSError as exc:
        raise ImageWriteError(_write_error_message(path, exc)) from None
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_error_message(path: Path, exc: OSError) -> str:
    code = exc.errno
    if code in (errno.EACCES, errno.EPERM):
        return f"cannot save {path.name}: no permission to write in {path.parent}"
    if code == errno.EROFS:
        return f"cannot save {path.name}: {path.parent} is on a read-only disk"
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return f"cannot save {path.name}: the disk is full"
    if code == errno.ENAMETOOLONG:
        return f"cannot save {path.name}: the file name is too long"
    return f"cannot save {path}: {exc.strerror or exc}"
