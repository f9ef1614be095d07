"""Realistic film/print damage rendered over clean photos, with exact labels.

The hole shapes come from :mod:`core.base.maskgen` (``scratch``, ``dust``: the same generators the
fill model trains on) plus two variants of our own (strongly curved and broken scratches, sparse
large specks). Each connected mark is then *rendered*, not pasted: light or dark, tinted, partly
transparent, with its strength varying along its length, blurred by the scan optics, and the whole
photo gets film grain and JPEG noise. The label is the generator's mask; pixels where the rendered
mark is invisible (a white scratch over white sky) and the blurred fringe just outside a mark are
returned as ``ignore`` - neither damage nor clean - so neither training nor scoring asks for the
impossible.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.base import maskgen
from core.detect.aging import aged_damage, paper_texture, print_frame, tone
from core.detect.real_layers import DamageLayer, composite_real

DAMAGE_KINDS = ("scratch", "dust")
# Share of the toned photos that show the print's own frame (0.3 until step 28400, then 0.6:
# the frame of the real girl's scan was still flagged).
PRINT_FRAME_SHARE = 0.6
# A hole pixel whose rendered value moved less than this (0-1 scale) counts as invisible.
VISIBLE_DELTA = 0.04


@dataclass
class Damaged:
    """float32 RGB ``image`` in [0, 1] with damage; bool ``mask`` (true holes); bool ``ignore``;
    float32 ``change``: how far each pixel moved (largest channel, before grain and JPEG) - what
    leaving it unfilled costs."""

    image: np.ndarray
    mask: np.ndarray
    ignore: np.ndarray
    change: np.ndarray


def curved_scratch(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Strongly curved scratches (an S or an arc), some broken into dashes, 1-2 px wide."""
    canvas = np.zeros((height, width), np.uint8)
    for _ in range(int(rng.integers(1, 5))):
        length = rng.uniform(0.2, 0.9) * max(height, width)
        y0, x0 = rng.uniform(0, height), rng.uniform(0, width)
        angle = rng.uniform(0, np.pi)
        t = np.linspace(-0.5, 0.5, 48)
        bend = rng.uniform(-0.3, 0.3) * length
        wiggle = rng.uniform(-0.08, 0.08) * length * np.sin(2 * np.pi * t * rng.uniform(1, 3))
        along, across = length * t, bend * (0.25 - t * t) * 4 + wiggle
        xs = x0 + np.cos(angle) * along - np.sin(angle) * across
        ys = y0 + np.sin(angle) * along + np.cos(angle) * across
        pts = np.round(np.stack([xs, ys], 1)).astype(np.int32)
        thickness = int(rng.integers(1, 3))
        if rng.random() < 0.4:  # broken: dashes of random length
            start = 0
            while start < len(pts) - 1:
                stop = min(len(pts), start + int(rng.integers(3, 12)))
                cv2.polylines(canvas, [pts[start:stop]], False, 1, thickness=thickness)
                start = stop + int(rng.integers(1, 5))
        else:
            cv2.polylines(canvas, [pts], False, 1, thickness=thickness)
    return canvas.astype(bool)


def specks(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Sparse dust: a few dozen specks of radius 1-5 px and irregular blotches."""
    canvas = np.zeros((height, width), np.uint8)
    count = int(height * width * rng.uniform(2e-4, 8e-4)) + 1
    for _ in range(count):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = float(rng.uniform(0.6, 5.0))
        n = int(rng.integers(5, 9))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = r * rng.uniform(0.6, 1.2, n)
        poly = np.stack([x + radii * np.cos(angles), y + radii * np.sin(angles)], 1)
        cv2.fillPoly(canvas, [np.round(poly).astype(np.int32)], 1)
    return canvas.astype(bool)


def damage_mask(kind: str, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Hole shapes of one damage class, ``"scratch"`` or ``"dust"`` (mixing the variants)."""
    if kind == "scratch":
        if rng.random() < 0.35:
            return curved_scratch(height, width, rng)
        return maskgen.scratch(height, width, rng)
    if kind == "dust":
        if rng.random() < 0.3:
            return specks(height, width, rng)
        return maskgen.dust(height, width, rng)
    raise ValueError(f"unknown damage kind {kind!r} (known: {', '.join(DAMAGE_KINDS)})")


def _smooth_noise(shape: tuple[int, int], rng: np.random.Generator, cell: float) -> np.ndarray:
    """Low-frequency noise in about [-1, 1] (coarse random grid, bicubic upscaling)."""
    h, w = shape
    gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    grid = rng.uniform(-1, 1, (gh, gw)).astype(np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def render_damage(
    clean: np.ndarray, mask: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(damaged float32 RGB, alpha float32 HxW) - ``mask``'s marks composited over ``clean``."""
    h, w = mask.shape
    if not mask.any():
        return clean.copy(), np.zeros((h, w), np.float32)
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    # Per mark: polarity, strength and tint; index 0 (background) gets alpha 0.
    bright = rng.random(count) < 0.5
    opacity = rng.uniform(0.45, 1.0, count).astype(np.float32)
    opacity[0] = 0.0
    level = np.where(bright, rng.uniform(0.78, 1.0, count), rng.uniform(0.0, 0.25, count))
    tint = rng.normal(0.0, 0.04, (count, 3))
    colour = np.clip(level[:, None] + tint, 0.0, 1.0).astype(np.float32)
    alpha = opacity[labels]
    # Marks fade in and out along their length (worn emulsion, uneven dust).
    alpha *= 1.0 - 0.35 * (0.5 + 0.5 * _smooth_noise((h, w), rng, rng.uniform(8, 40)))
    sigma = rng.uniform(0.0, 0.9)
    if sigma > 0.25:
        alpha = cv2.GaussianBlur(alpha, (0, 0), sigma)
        # Blur spreads the colour too: take it from the nearest mark.
        colour_map = cv2.GaussianBlur(colour[labels] * mask[..., None], (0, 0), sigma)
        weight = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), sigma)[..., None]
        colour_map = colour_map / np.maximum(weight, 1e-4)
    else:
        colour_map = colour[labels]
    a = alpha[..., None]
    return (clean * (1.0 - a) + colour_map * a).astype(np.float32), alpha


def degrade(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Film grain (slightly correlated, stronger in the mid-tones) and JPEG noise."""
    out = image
    grain = rng.uniform(0.0, 0.035)
    if grain > 0.004:
        noise = rng.normal(0.0, 1.0, image.shape[:2]).astype(np.float32)
        if rng.random() < 0.5:
            noise = cv2.GaussianBlur(noise, (0, 0), 0.7) * 1.8
        colour = rng.normal(0.0, 0.3, image.shape).astype(np.float32)
        luma = image.mean(axis=2, keepdims=True)
        shape = 0.5 + 2.0 * luma * (1.0 - luma)
        out = out + grain * shape * (noise[..., None] + colour)
    out = np.clip(out, 0.0, 1.0)
    if rng.random() < 0.6:
        quality = int(rng.integers(55, 96))
        u8 = np.rint(out * 255).astype(np.uint8)
        ok, data = cv2.imencode(".jpg", u8, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            out = cv2.imdecode(data, cv2.IMREAD_UNCHANGED).astype(np.float32) / 255.0
    return out.astype(np.float32)


def synthesize(
    clean: np.ndarray,
    rng: np.random.Generator,
    kinds: tuple[str, ...] = DAMAGE_KINDS,
    *,
    mask_shape: tuple[int, int] | None = None,
    offset: tuple[int, int] = (0, 0),
    noise: bool = True,
    aged: tuple[str, ...] = (),
    toned: bool = False,
    real: list[DamageLayer] | None = None,
) -> Damaged:
    """Damage ``clean`` (float32 RGB in [0, 1]) with marks of every class in ``kinds``.

    ``mask_shape``/``offset`` generate the marks over a larger canvas and keep the window at
    ``offset``: a crop then sees marks sized for the whole photo. ``kinds=()`` gives a clean
    sample that still gets grain and JPEG noise. ``aged`` adds the damage of old prints
    (:data:`.aging.AGED_KINDS`: crack networks, folds, faint scratches); ``toned`` first turns
    the photo into an old print (sepia, monochrome or faded, then paper texture): that print
    is the clean reference. With neither, the random draws are those of the first synthesis,
    so the benchmark's damage does not change. ``real``: damage layers cut from real scans
    (:mod:`.real_layers`), pasted over everything else.
    """
    h, w = clean.shape[:2]
    canvas = mask_shape or (h, w)
    if toned:
        clean = tone(clean, rng)
        if rng.random() < PRINT_FRAME_SHARE:
            clean = print_frame(clean, rng, canvas, offset)
    mask = np.zeros((h, w), bool)
    oy, ox = offset
    for kind in kinds:
        mask |= damage_mask(kind, canvas[0], canvas[1], rng)[oy : oy + h, ox : ox + w]
    damaged, alpha = render_damage(clean, mask, rng)
    if aged:
        damaged, aged_mask, aged_alpha = aged_damage(damaged, rng, aged, canvas, offset)
        mask |= aged_mask
        alpha = np.maximum(alpha, aged_alpha)
    if real:
        damaged, real_mask, real_alpha = composite_real(damaged, rng, real)
        mask |= real_mask
        alpha = np.maximum(alpha, real_alpha)
    change = np.abs(damaged - clean).max(axis=2)
    visible = change > VISIBLE_DELTA
    # Blurred fringe outside the holes: neither damage nor clean.
    ignore = (mask & ~visible) | (~mask & (alpha > 0.15))
    if noise:
        if toned:
            damaged = paper_texture(damaged, rng)
            sigma = rng.uniform(0.0, 0.8)  # a soft scan
            if sigma > 0.3:
                damaged = cv2.GaussianBlur(damaged, (0, 0), sigma)
        damaged = degrade(damaged, rng)
    return Damaged(damaged, mask, ignore, change)
