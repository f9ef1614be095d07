"""Damage cut from real scans, composited over clean photos (as "Bringing Old Photos Back to
Life" composited its 62 scanned scratch textures).

A scan's damage, under its reference mask (``tests/data/real_masks``: 255 damage, 128
ignore), becomes a layer: the scan minus its own background (the scan inpainted under the
mask), and the mask's soft coverage. Over a clean photo the layer is warped (rotation, scale,
flips, an elastic field) and blended in one of three ways:

* ``additive``: the photo plus the residual (the crack brightens or darkens it by as much as it
  did the scan);
* ``lighten`` / ``darken``: the photo mixed toward the crack's own colour from the scan (or
  its negative), only where that brightens (darkens) it - bare paper over a dark coat, dirt
  over a sky.

Labels are the warped mask where the blend moved the pixel visibly; the warped mask's
fringe, and marks that stayed invisible, are ``ignore``. Layers are for training only: the
scans stay in ``../shared/data/real``. Train with the layers of one scan and judge on the
other (``--real-layers``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.base.errors import InpaintError
from core.base.imageio import read_rgb8
from core.detect.aging import smooth_noise

BLENDS = ("additive", "lighten", "darken")
# Masks' coverage below this is the fringe of a mark: neither damage nor clean.
LABEL_COVERAGE = 0.5


@dataclass(frozen=True)
class DamageLayer:
    """``residual`` float32 HxWx3 (scan - background, zero off the damage); ``colour`` float32
    HxWx3 (the scan's own pixels); ``coverage`` float32 HxW in [0, 1]; ``damage`` (y, x) of
    the damaged pixels, to aim a paste at damage."""

    name: str
    residual: np.ndarray
    colour: np.ndarray
    coverage: np.ndarray
    damage: np.ndarray


def extract_layer(scan: np.ndarray, reference: np.ndarray, name: str = "") -> DamageLayer:
    """The damage of ``scan`` (uint8 HxWx3) under ``reference`` (uint8 HxW: 255 damage, 128
    ignore) as a layer."""
    if scan.shape[:2] != reference.shape:
        raise InpaintError(f"{name}: scan {scan.shape[:2]} and mask {reference.shape} differ")
    damage = (reference == 255).astype(np.uint8)
    # The background under a crack: the scan inpainted over the crack and its 2 px fringe.
    hole = cv2.dilate(damage, np.ones((5, 5), np.uint8))
    background = cv2.inpaint(scan, hole, 5, cv2.INPAINT_TELEA).astype(np.float32) / 255.0
    colour = scan.astype(np.float32) / 255.0
    coverage = cv2.GaussianBlur(damage.astype(np.float32), (0, 0), 0.6)
    coverage = np.maximum(coverage, damage.astype(np.float32))
    residual = (colour - background) * coverage[..., None]
    ys, xs = np.nonzero(damage)
    return DamageLayer(name, residual, colour, coverage, np.stack([ys, xs], 1))


def load_layers(scans: Path, masks: Path, names: tuple[str, ...]) -> list[DamageLayer]:
    """The layers of the scans ``names`` (``scans/NAME.png`` under ``masks/NAME.png``)."""
    layers = []
    for name in names:
        reference = cv2.imread(str(masks / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
        if reference is None:
            raise InpaintError(f"no reference mask {masks / f'{name}.png'}")
        layers.append(extract_layer(read_rgb8(scans / f"{name}.png"), reference, name))
    return layers


def _warp_maps(
    shape: tuple[int, int], layer: DamageLayer, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """For each pixel of a ``shape`` window: where to read the layer (x, y)."""
    h, w = shape
    angle = rng.uniform(0, 2 * np.pi)
    # How many photo px a layer px becomes: the scans are small, their cracks 1-12 px wide.
    scale = float(np.exp(rng.uniform(np.log(0.6), np.log(2.2))))
    flip = -1.0 if rng.random() < 0.5 else 1.0
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
    # Aim the window's middle at a damaged pixel, so most pastes show damage.
    ty, tx = layer.damage[int(rng.integers(len(layer.damage)))]
    ty, tx = ty + rng.uniform(-24, 24), tx + rng.uniform(-24, 24)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dy, dx = yy - h / 2, xx - w / 2
    # An elastic wobble: a few px of smooth displacement.
    amount = rng.uniform(0.0, 4.0)
    cell = rng.uniform(20, 60)
    for field in (dy, dx):
        field += amount * smooth_noise((h, w), rng, cell)
    map_x = tx + flip * (cos * dx - sin * dy)
    map_y = ty + (sin * dx + cos * dy)
    return map_x.astype(np.float32), map_y.astype(np.float32)


def _read(image: np.ndarray, maps: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return cv2.remap(image, *maps, cv2.INTER_LINEAR, borderValue=0)


def composite_real(
    clean: np.ndarray,
    rng: np.random.Generator,
    layers: list[DamageLayer],
    count: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(damaged float32 RGB, hole mask, coverage) - ``count`` (default 1-3) warped pastes of
    random ``layers`` blended over ``clean`` (float32 RGB in [0, 1])."""
    h, w = clean.shape[:2]
    out = clean.astype(np.float32).copy()
    mask = np.zeros((h, w), bool)
    cover_all = np.zeros((h, w), np.float32)
    for _ in range(count or int(rng.integers(1, 4))):
        layer = layers[int(rng.integers(len(layers)))]
        maps = _warp_maps((h, w), layer, rng)
        cover = _read(layer.coverage, maps)
        if not (cover >= LABEL_COVERAGE).any():
            continue
        opacity = rng.uniform(0.5, 1.0)
        a = (cover * opacity)[..., None]
        blend = BLENDS[int(rng.choice(3, p=(0.4, 0.35, 0.25)))]
        if blend == "additive":
            gain = rng.uniform(0.6, 1.3) * (1.0 if rng.random() < 0.75 else -1.0)
            out = out + gain * opacity * _read(layer.residual, maps)
        else:
            colour = _read(layer.colour, maps)
            if blend == "darken":
                colour = 1.0 - colour
                colour = colour * rng.uniform(0.2, 0.7)
                target = np.minimum(out, colour)
            else:
                target = np.maximum(out, colour)
            out = out * (1 - a) + target * a
        out = np.clip(out, 0.0, 1.0)
        mask |= cover >= LABEL_COVERAGE
        cover_all = np.maximum(cover_all, cover * opacity)
    return out.astype(np.float32), mask, cover_all
