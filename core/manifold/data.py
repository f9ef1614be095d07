"""Training and validation data for the manifold net: random crops of a photo folder with
random damage masks, and a fixed held-out validation set.

Images are decoded once and kept in memory as uint8 (the BSDS500 corpus is ~230 MB decoded).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.base import maskgen
from core.base.errors import InpaintError
from core.base.imageio import list_images
from core.base.pixels import initial_fill


def split_files(folder: Path, val_count: int) -> tuple[list[Path], list[Path]]:
    """(train, validation): validation is a fixed set of ``val_count`` files, taken from a
    ``test/`` sub-folder when there is one, and never trained on."""
    files = list_images(folder, recursive=True)
    if not files:
        raise InpaintError(f"no images found under {folder}")
    held = [p for p in files if p.parent.name == "test"] or files
    # Every k-th file rather than the first ones: a spread of scenes, still deterministic.
    step = max(1, len(held) // max(1, val_count))
    val = held[::step][:val_count]
    val_set = set(val)
    return [p for p in files if p not in val_set], val


@dataclass
class Batch:
    """float32 NCHW arrays in [0, 1]; ``hole`` is (N, 1, H, W)."""

    image: np.ndarray
    hole: np.ndarray
    init: np.ndarray
    kinds: list[str]


def _to_batch(images: list[np.ndarray], holes: list[np.ndarray], kinds: list[str]) -> Batch:
    floats = [im.astype(np.float32) / 255.0 for im in images]
    inits = [initial_fill(im, h) for im, h in zip(floats, holes, strict=True)]
    img = np.stack(floats).transpose(0, 3, 1, 2)
    init = np.stack(inits).transpose(0, 3, 1, 2)
    hole = np.stack(holes).astype(np.float32)[:, None]
    return Batch(img, hole, init, kinds)


class RandomCrops:
    """Endless random (crop, mask) batches; all randomness comes from ``rng``."""

    def __init__(
        self,
        images: list[np.ndarray],
        crop: int,
        scale_range: tuple[float, float],
        kind_weights: dict[str, float],
    ) -> None:
        self.images = images
        self.crop = crop
        self.scale_range = scale_range
        self.kinds = list(kind_weights)
        weights = np.array([kind_weights[k] for k in self.kinds], np.float64)
        self.probs = weights / weights.sum()

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, str]:
        image = self.images[int(rng.integers(len(self.images)))]
        h, w = image.shape[:2]
        # Random down-scaling: the product runs big holes at 1/2 or 1/4 scale.
        low = max(self.scale_range[0], self.crop / min(h, w))
        scale = rng.uniform(low, max(low, self.scale_range[1]))
        if scale < 0.999:
            size = (max(self.crop, round(w * scale)), max(self.crop, round(h * scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            h, w = image.shape[:2]
        y = int(rng.integers(0, h - self.crop + 1))
        x = int(rng.integers(0, w - self.crop + 1))
        patch = image[y : y + self.crop, x : x + self.crop]
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        kind = self.kinds[int(rng.choice(len(self.kinds), p=self.probs))]
        hole = maskgen.generate(kind, self.crop, self.crop, rng)
        return np.ascontiguousarray(patch), hole, kind

    def batch(self, size: int, rng: np.random.Generator) -> Batch:
        samples = [self.sample(rng) for _ in range(size)]
        return _to_batch([s[0] for s in samples], [s[1] for s in samples], [s[2] for s in samples])


def validation_batches(
    images: list[np.ndarray], crop: int, seed: int, batch: int = 16
) -> list[Batch]:
    """Fixed validation crops: for every image, a centre crop at full and at half scale, each
    with one mask of every class; the masks come from ``seed`` and never change."""
    rng = np.random.default_rng(seed)
    crops, holes, kinds = [], [], []
    for image in images:
        for scale in (1.0, 0.5):
            im = image
            if scale != 1.0:
                h, w = image.shape[:2]
                size = (max(crop, round(w * scale)), max(crop, round(h * scale)))
                im = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            h, w = im.shape[:2]
            y, x = (h - crop) // 2, (w - crop) // 2
            patch = np.ascontiguousarray(im[y : y + crop, x : x + crop])
            for kind in maskgen.KINDS:
                crops.append(patch)
                holes.append(maskgen.generate(kind, crop, crop, rng))
                kinds.append(kind)
    return [
        _to_batch(crops[i : i + batch], holes[i : i + batch], kinds[i : i + batch])
        for i in range(0, len(crops), batch)
    ]
