"""The bad-input table shared by the CLI and the editor tests: every file a restorer might
throw at the app, and what must happen (a clear error, or a correct open)."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image as PILImage

from core.base import resources


@dataclass(frozen=True)
class BadFile:
    """A file that must be refused with a message containing ``words``."""

    name: str
    filename: str
    make: Callable[[], bytes]
    words: tuple[str, ...]


@dataclass(frozen=True)
class OddFile:
    """A file that must open as ``shape`` / ``dtype`` (the display orientation)."""

    name: str
    filename: str
    make: Callable[[], bytes]
    shape: tuple[int, int, int]
    dtype: type


def _gradient(h: int, w: int, c: int = 3) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    planes = [(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)), (xx + yy) % 256]
    planes.append(np.full((h, w), 200))
    return np.stack(planes[:c], axis=2).astype(np.uint8)


def pil_bytes(image: PILImage.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def _png(h: int = 40, w: int = 60) -> bytes:
    return pil_bytes(PILImage.fromarray(_gradient(h, w)), "PNG")


def _jpeg(h: int = 40, w: int = 60) -> bytes:
    return pil_bytes(PILImage.fromarray(_gradient(h, w)), "JPEG", quality=90)


def _corrupt_png() -> bytes:
    data = bytearray(pil_bytes(PILImage.fromarray(np.random.default_rng(0).integers(
        0, 256, (40, 60, 3), dtype=np.uint8)), "PNG"))  # fmt: skip
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    return bytes(data)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` (a decompression bomb's header)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        return struct.pack(">I", len(body)) + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def _tiff(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    tifffile.imwrite(out, pixels, photometric="rgb")
    return out.getvalue()


def _exif_jpeg(orientation: int) -> bytes:
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    return pil_bytes(PILImage.fromarray(_gradient(40, 60)), "JPEG", quality=90, exif=exif.tobytes())


def _cmyk_jpeg() -> bytes:
    return pil_bytes(PILImage.fromarray(_gradient(40, 60)).convert("CMYK"), "JPEG", quality=90)


BAD_FILES = [
    BadFile("empty", "empty.png", lambda: b"", ("empty",)),
    BadFile("truncated PNG", "cut.png", lambda: _png()[: len(_png()) * 6 // 10], ("damaged",)),
    BadFile("truncated JPEG", "cut.jpg", lambda: _jpeg()[: len(_jpeg()) // 2], ("damaged",)),
    BadFile("corrupt PNG", "corrupt.png", _corrupt_png, ("damaged",)),
    BadFile("text named .png", "notes.png", lambda: b"just some notes\n" * 20, ("text",)),
    BadFile(
        "GIF (unsupported)",
        "anim.gif",
        lambda: pil_bytes(PILImage.new("P", (8, 8)), "GIF"),
        ("GIF", "not supported"),
    ),
    BadFile(
        "decompression bomb",
        "bomb.png",
        lambda: png_header_only(100_000, 50_000),
        ("100000x50000", "5000 megapixels", "limit"),
    ),
]

ODD_FILES = [
    OddFile(
        "16-bit TIFF",
        "deep.tif",
        lambda: _tiff(_gradient(40, 60).astype(np.uint16) * 257),
        (40, 60, 3),
        np.uint16,
    ),
    OddFile(
        "float TIFF",
        "float.tif",
        lambda: _tiff(_gradient(40, 60).astype(np.float32) / 255),
        (40, 60, 3),
        np.float32,
    ),
    OddFile(
        "gray JPEG",
        "gray.jpg",
        lambda: pil_bytes(PILImage.fromarray(_gradient(40, 60)[..., 0]), "JPEG"),
        (40, 60, 1),
        np.uint8,
    ),
    OddFile(
        "palette PNG",
        "palette.png",
        lambda: pil_bytes(PILImage.fromarray(_gradient(40, 60)).quantize(16), "PNG"),
        (40, 60, 3),
        np.uint8,
    ),
    OddFile(
        "RGBA PNG",
        "alpha.png",
        lambda: pil_bytes(PILImage.fromarray(_gradient(40, 60, 4)), "PNG"),
        (40, 60, 4),
        np.uint8,
    ),
    OddFile("CMYK JPEG", "cmyk.jpg", _cmyk_jpeg, (40, 60, 3), np.uint8),
    OddFile("EXIF orientation 6", "rotated.jpg", lambda: _exif_jpeg(6), (60, 40, 3), np.uint8),
]


def write(folder: Path, case: BadFile | OddFile) -> Path:
    path = folder / case.filename
    path.write_bytes(case.make())
    return path


def leftovers(folder: Path) -> list[str]:
    """Temporary files a failed write could have left behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or ".tmp" in p.name)


# -- model files (always a copy of resources/models) ---------------------------------------


def break_models(folder: Path, how: str) -> None:
    """Damage a copy of resources/models the way ``how`` says (a key of ``BROKEN``)."""
    weights = folder / "manifold.safetensors"
    manifest = json.loads((folder / "manifest.json").read_text())
    entry = next(m for m in manifest["models"] if m["name"] == "manifold")
    if how == "truncated":
        data = weights.read_bytes()
        weights.write_bytes(data[: len(data) // 2])
    elif how == "tampered":
        data = bytearray(weights.read_bytes())
        data[len(data) // 2] ^= 0xFF
        weights.write_bytes(bytes(data))
    elif how == "manifest points nowhere":
        entry["file"] = "gone.safetensors"
    elif how == "not safetensors":  # a pickle with a matching manifest: still refused
        data = b"\x80\x04\x95" + bytes(200)
        weights.write_bytes(data)
        entry["sha256"] = hashlib.sha256(data).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


BROKEN = {
    "truncated": "does not match its manifest",
    "tampered": "does not match its manifest",
    "manifest points nowhere": "missing",
    "not safetensors": "not a safetensors file",
}


def use_broken_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> str:
    """Point ``resources.MODELS_DIR`` at a copy of resources/models broken the way ``how``
    says (a key of ``BROKEN``; the real files are never touched); what a refusal of it says.
    Skips the test where no models are shipped."""
    if not (resources.MODELS_DIR / "manifest.json").is_file():
        pytest.skip("no shipped models")
    copy = tmp_path / "models"
    shutil.copytree(resources.MODELS_DIR, copy)
    break_models(copy, how)
    monkeypatch.setattr(resources, "MODELS_DIR", copy)
    return BROKEN[how]
