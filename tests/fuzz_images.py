"""A seeded corpus of damaged image files: valid PNG / JPEG / TIFF / WebP / BMP photos of one
size, then truncated, bit-flipped, with damaged headers, zeroed blocks, or spliced with another
format. Shared by the CLI fuzz test and the editor's.

``python -m tests.fuzz_images OUT_DIR [COUNT] [SEED]`` writes it to a folder, to look at.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image as PILImage

HEIGHT, WIDTH = 48, 64  # every base photo's size: one mask fits all


@dataclass(frozen=True)
class FuzzFile:
    name: str  # unique, with the base format's suffix
    data: bytes


def _photo(channels: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    planes = [xx * 4, yy * 5, (xx * yy) % 256, np.full((HEIGHT, WIDTH), 180)]
    pixels = np.stack(planes[:channels], axis=2) + rng.integers(0, 24, (HEIGHT, WIDTH, channels))
    return np.clip(pixels, 0, 255).astype(np.uint8)


def _pil(pixels: np.ndarray, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image = PILImage.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels)
    image.save(out, format=fmt, **options)
    return out.getvalue()


def _tiff(pixels: np.ndarray, **options: object) -> bytes:
    out = io.BytesIO()
    tifffile.imwrite(out, pixels, **options)
    return out.getvalue()


def _exif() -> bytes:
    exif = PILImage.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Fuzz Camera"
    return exif.tobytes()


# Base files: the layouts each decoder path sees (8/16-bit, gray, alpha, palette, compressed,
# tiled, progressive, EXIF...).
BASES: dict[str, Callable[[], bytes]] = {
    "rgb.png": lambda: _pil(_photo(), "PNG"),
    "gray.png": lambda: _pil(_photo(1), "PNG"),
    "rgba.png": lambda: _pil(_photo(4), "PNG"),
    "palette.png": lambda: _pil_palette("PNG"),
    "deep.png": lambda: _png16(),
    "base.jpg": lambda: _pil(_photo(), "JPEG", quality=85),
    "progressive.jpg": lambda: _pil(_photo(), "JPEG", quality=80, progressive=True),
    "exif.jpg": lambda: _pil(_photo(), "JPEG", quality=85, exif=_exif()),
    "gray.jpg": lambda: _pil(_photo(1), "JPEG", quality=85),
    "rgb.tif": lambda: _tiff(_photo(), photometric="rgb"),
    "deep.tif": lambda: _tiff(_photo().astype(np.uint16) * 257, photometric="rgb"),
    "float.tif": lambda: _tiff(_photo().astype(np.float32) / 255, photometric="rgb"),
    "strips.tif": lambda: _tiff(_photo(), photometric="rgb", rowsperstrip=8),
    "deflate.tif": lambda: _tiff(_photo(), photometric="rgb", compression="zlib"),
    "tiled.tif": lambda: _tiff(_photo(), photometric="rgb", tile=(16, 16)),
    "planar.tif": lambda: _tiff(np.moveaxis(_photo(), 2, 0), photometric="rgb", planarconfig=2),
    "pil.tif": lambda: _pil(_photo(), "TIFF", compression="tiff_lzw"),
    "lossy.webp": lambda: _pil(_photo(), "WEBP", quality=80),
    "lossless.webp": lambda: _pil(_photo(4), "WEBP", lossless=True),
    "rgb.bmp": lambda: _pil(_photo(), "BMP"),
    "palette.bmp": lambda: _pil_palette("BMP"),
    "rgba.bmp": lambda: _pil(_photo(4), "BMP"),
}


def _pil_palette(fmt: str) -> bytes:
    out = io.BytesIO()
    PILImage.fromarray(_photo()).quantize(32).save(out, format=fmt)
    return out.getvalue()


def _png16() -> bytes:
    out = io.BytesIO()
    PILImage.fromarray(_photo(1)[..., 0].astype(np.uint16) * 257).save(out, format="PNG")
    return out.getvalue()


# Mutations -----------------------------------------------------------------------------------


def _truncate(data: bytes, rng: np.random.Generator, _other: bytes) -> bytes:
    return data[: int(rng.integers(1, len(data)))]


def _flip_bits(data: bytes, rng: np.random.Generator, _other: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 24))):
        i = int(rng.integers(0, len(out)))
        out[i] ^= 1 << int(rng.integers(0, 8))
    return bytes(out)


def _damage_header(data: bytes, rng: np.random.Generator, _other: bytes) -> bytes:
    """Random bytes over a few header positions (sizes, offsets, chunk lengths live there)."""
    out = bytearray(data)
    end = min(len(out), 160)
    for _ in range(int(rng.integers(1, 6))):
        i = int(rng.integers(2, end))  # keep the first bytes: the format is still recognised
        out[i] = int(rng.integers(0, 256))
    return bytes(out)


def _zero_block(data: bytes, rng: np.random.Generator, _other: bytes) -> bytes:
    out = bytearray(data)
    start = int(rng.integers(0, len(out)))
    length = min(int(rng.integers(4, 512)), len(out) - start)
    out[start : start + length] = bytes(length)
    return bytes(out)


def _splice(data: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    """This file's head on another format's tail."""
    cut = int(rng.integers(8, max(9, len(data) // 2)))
    return data[:cut] + other[int(rng.integers(0, len(other) // 2)) :]


def _big_numbers(data: bytes, rng: np.random.Generator, _other: bytes) -> bytes:
    """0xFF.. over a 4-byte field in the header: huge sizes, counts and offsets."""
    out = bytearray(data)
    i = int(rng.integers(4, max(5, min(len(out) - 4, 120))))
    out[i : i + 4] = b"\xff\xff\xff\x7f"
    return bytes(out[: len(data)])


MUTATIONS = {
    "cut": _truncate,
    "flip": _flip_bits,
    "header": _damage_header,
    "zero": _zero_block,
    "splice": _splice,
    "huge": _big_numbers,
}


def write_mask(path: Path) -> Path:
    """A scratch-like mask of the base photos' size, for filling every file of the corpus."""
    from core.base.masks import save_mask

    hole = np.zeros((HEIGHT, WIDTH), bool)
    hole[HEIGHT // 3 : HEIGHT // 3 + 4, 6:-6] = True
    save_mask(hole, path)
    return path


def corpus(count: int = 300, seed: int = 1234) -> list[FuzzFile]:
    """``count`` mutated files (cycling through bases and mutations), plus each base intact."""
    rng = np.random.default_rng(seed)
    bases = {name: make() for name, make in BASES.items()}
    names = list(bases)
    files = [FuzzFile(f"intact-{name}", data) for name, data in bases.items()]
    kinds = list(MUTATIONS)
    for i in range(count):
        base = names[i % len(names)]
        kind = kinds[(i // len(names) + i) % len(kinds)]
        other = bases[names[int(rng.integers(0, len(names)))]]
        data = MUTATIONS[kind](bases[base], rng, other)
        files.append(FuzzFile(f"{i:03d}-{kind}-{base}", data))
    return files


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    args = [int(a) for a in sys.argv[2:4]]
    for item in corpus(*args):
        (folder / item.name).write_bytes(item.data)
