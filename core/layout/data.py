"""Training and held-out data of the layout VAE: whole photos at low resolution.

Photos are decoded once and kept at ``STORE_SHORT`` px on the short side (uint8, a few MB for
the corpus). A training sample is a large crop (at least half the photo's area, aspect ratio
free between 2:3 and 3:2, so whole photos squeezed into a square - what inference encodes - are
among them), squeezed to the layout's square, flipped left-right half the time and colour
jittered (brightness, contrast, saturation). Never flipped upside down: sky above ground is the
structure to learn.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.base.errors import InpaintError
from core.base.imageio import list_images, read_rgb8

STORE_SHORT = 96
HELD_OUT = "val"  # BSDS500's val/ part: never trained on, measured on


def split_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """(train, held out): the held-out photos are those in a ``val/`` folder (none when there
    is no such folder: then nothing is measured on unseen photos)."""
    files = list_images(folder, recursive=True)
    if not files:
        raise InpaintError(f"no images found under {folder}")
    held = [p for p in files if p.parent.name == HELD_OUT]
    train = [p for p in files if p.parent.name != HELD_OUT]
    if not train:
        raise InpaintError(f"only held-out ({HELD_OUT}/) images under {folder}")
    return train, held


def shrink(image: np.ndarray, short: int = STORE_SHORT) -> np.ndarray:
    h, w = image.shape[:2]
    scale = short / min(h, w)
    if scale >= 1.0:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def load_small(paths: list[Path]) -> list[np.ndarray]:
    return [shrink(read_rgb8(p)) for p in paths]


def squeeze(image: np.ndarray, size: int) -> np.ndarray:
    """The whole image resized to ``size`` x ``size`` (aspect ratio not kept), float32 [0, 1]."""
    interp = cv2.INTER_AREA if min(image.shape[:2]) >= size else cv2.INTER_LINEAR
    out = cv2.resize(image, (size, size), interpolation=interp)
    return out.astype(np.float32) / (255.0 if image.dtype == np.uint8 else 1.0)


def _jitter(image: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    b, c, s = rng.uniform(1 - amount, 1 + amount, size=3)
    grey = image.mean(axis=2, keepdims=True)
    image = grey + s * (image - grey)  # saturation
    image = image.mean() + c * (image - image.mean())  # contrast
    return np.clip(image * b, 0.0, 1.0)


def random_sample(
    image: np.ndarray, rng: np.random.Generator, size: int, jitter: float = 0.2
) -> np.ndarray:
    """One augmented (size, size, 3) float32 sample of ``image``."""
    h, w = image.shape[:2]
    area = rng.uniform(0.5, 1.0) * h * w
    aspect = float(np.exp(rng.uniform(np.log(2 / 3), np.log(3 / 2))))  # width / height
    cw = int(min(w, round(np.sqrt(area * aspect))))
    ch = int(min(h, round(np.sqrt(area / aspect))))
    y = int(rng.integers(0, h - ch + 1))
    x = int(rng.integers(0, w - cw + 1))
    sample = squeeze(image[y : y + ch, x : x + cw], size)
    if rng.random() < 0.5:
        sample = sample[:, ::-1]
    return _jitter(sample, rng, jitter).astype(np.float32)


def random_batch(
    images: list[np.ndarray], rng: np.random.Generator, count: int, size: int
) -> np.ndarray:
    """(count, 3, size, size) float32."""
    picks = rng.integers(0, len(images), size=count)
    return np.stack([random_sample(images[i], rng, size) for i in picks]).transpose(0, 3, 1, 2)


def whole_batch(images: list[np.ndarray], size: int, flips: bool = False) -> np.ndarray:
    """Every image squeezed whole (and, with ``flips``, also mirrored): (n, 3, size, size)."""
    squeezed = [squeeze(im, size) for im in images]
    if flips:
        squeezed += [s[:, ::-1] for s in squeezed]
    return np.ascontiguousarray(np.stack(squeezed).transpose(0, 3, 1, 2))
