"""The damage of real old prints, rendered over clean photos with exact labels.

What the two real scans in ``../shared/data/real`` show and :mod:`.synth`'s scratches and dust
lacked (issue 14):

* **crack networks**: cracks that grow, branch and join, 1-12 px wide, with ragged edges;
  bright cream where the emulsion is gone and the paper shows (with the paper's texture
  inside), or dark where dirt sits in them; flakes of lost emulsion along them;
* **folds**: a long gentle line across the print, a light ridge beside a dark one;
* **long faint scratches** across the whole photo;
* the print itself: **toned** (sepia, monochrome, faded colour, uneven exposure), on textured
  paper, sometimes a halftone reproduction.

Marks are drawn at twice the resolution and averaged down, so their edges are soft the way a
scanner sees them; the label is the drawn shape at the photo's resolution (coverage >= 0.5).
"""

from __future__ import annotations

import cv2
import numpy as np

AGED_KINDS = ("crack", "fold", "faint")
SUPERSAMPLE = 2


def smooth_noise(shape: tuple[int, int], rng: np.random.Generator, cell: float) -> np.ndarray:
    """Noise in about [-1, 1] varying over ``cell`` px (coarse random grid, bicubic)."""
    h, w = shape
    gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    grid = rng.uniform(-1, 1, (gh, gw)).astype(np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def _ragged(shape: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Roughen a uint8 shape's outline by up to ``amount`` px (signed distance + noise)."""
    if amount <= 0.2:
        return shape
    inside = cv2.distanceTransform(shape, cv2.DIST_L2, 3)
    outside = cv2.distanceTransform(1 - shape, cv2.DIST_L2, 3)
    noise = smooth_noise(shape.shape, rng, rng.uniform(2.0, 6.0))
    return ((inside - outside + amount * noise) > 0).astype(np.uint8)


def _coverage(big: np.ndarray, height: int, width: int) -> np.ndarray:
    """Supersampled uint8 shape -> float32 coverage at (height, width)."""
    return cv2.resize(big.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA)


def _grow_crack(canvas: np.ndarray, rng: np.random.Generator, width: float) -> None:
    """One crack tree on a supersampled canvas: a persistent random walk that branches."""
    big_h, big_w = canvas.shape
    s = SUPERSAMPLE
    if rng.random() < 0.6:  # from the print's edge, heading inwards
        side = int(rng.integers(4))
        t = rng.uniform(0, 1)
        x, y = [(t * big_w, 0), (big_w - 1, t * big_h), (t * big_w, big_h - 1), (0, t * big_h)][
            side
        ]
        angle = [np.pi / 2, np.pi, -np.pi / 2, 0.0][side] + rng.uniform(-0.8, 0.8)
    else:
        x, y = rng.uniform(0, big_w), rng.uniform(0, big_h)
        angle = rng.uniform(0, 2 * np.pi)
    length = rng.uniform(0.3, 1.2) * max(big_h, big_w)
    wobble = rng.uniform(0.02, 0.15)  # some cracks run nearly straight, some meander
    stack = [(x, y, angle, width, length, 0)]
    segments = 0
    while stack and segments < 600:
        x, y, angle, w, remaining, depth = stack.pop()
        heading = angle
        while remaining > 0 and segments < 600:
            step = s * rng.uniform(2.0, 5.0)
            angle += rng.normal(0.0, wobble)
            if rng.random() < 0.08:  # a sharp kink, as the emulsion splits
                angle += rng.uniform(-0.6, 0.6)
            angle += 0.2 * (heading - angle)  # persistence: cracks run on, not in circles
            nx, ny = x + step * np.cos(angle), y + step * np.sin(angle)
            thickness = max(1, round(w * s))
            cv2.line(canvas, (round(x), round(y)), (round(nx), round(ny)), 1, thickness)
            segments += 1
            x, y, remaining = nx, ny, remaining - step
            w = float(np.clip(w * rng.uniform(0.9, 1.1), 0.7, 14.0))
            if not (0 <= x < big_w and 0 <= y < big_h):
                break
            if depth < 3 and rng.random() < 0.04:
                turn = rng.choice([-1.0, 1.0]) * rng.uniform(0.4, 1.4)
                child = (x, y, angle + turn, w * rng.uniform(0.4, 0.9), remaining * 0.6, depth + 1)
                stack.append(child)


def crack_network(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """float32 coverage of a network of cracks (and emulsion flakes along them)."""
    s = SUPERSAMPLE
    big = np.zeros((height * s, width * s), np.uint8)
    # Widths 1-12 px, most of them thin: log-uniform per tree.
    base = float(np.exp(rng.uniform(np.log(0.8), np.log(12.0))))
    for _ in range(int(rng.integers(1, 6))):
        _grow_crack(big, rng, base * rng.uniform(0.5, 1.2))
    ys, xs = np.nonzero(big)
    if xs.size and rng.random() < 0.6:  # flakes: emulsion lost around the crack
        for i in rng.integers(0, xs.size, int(rng.integers(1, 12))):
            r = s * float(np.exp(rng.uniform(np.log(1.5), np.log(12.0))))
            n = int(rng.integers(5, 10))
            angles = np.sort(rng.uniform(0, 2 * np.pi, n))
            radii = r * rng.uniform(0.4, 1.2, n)
            poly = np.stack([xs[i] + radii * np.cos(angles), ys[i] + radii * np.sin(angles)], 1)
            cv2.fillPoly(big, [np.round(poly).astype(np.int32)], 1)
    big = _ragged(big, rng, s * rng.uniform(0.3, 0.3 + 0.25 * base))
    return _coverage(big, height, width)


def _curve(
    height: int, width: int, rng: np.random.Generator, bend: float, angle: float | None = None
) -> np.ndarray:
    """Points of a gentle curve from one edge of a (height, width) canvas to another."""
    cy, cx = rng.uniform(0.2, 0.8) * height, rng.uniform(0.2, 0.8) * width
    angle = rng.uniform(0, np.pi) if angle is None else angle
    half = np.hypot(height, width)
    t = np.linspace(-1, 1, 64)
    across = bend * half * (1 - t * t) + 0.01 * half * smooth_noise((1, 64), rng, 12)[0]
    xs = cx + np.cos(angle) * half * t - np.sin(angle) * across
    ys = cy + np.sin(angle) * half * t + np.cos(angle) * across
    return np.stack([xs, ys], 1)


def fold(
    height: int, width: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(light, dark, cracked) coverage of a fold: a light ridge with a dark line beside it,
    and, often, the emulsion cracked open along it (bright, strong: the long straight crack
    down the real boy's scan). Half the folds run parallel to the print's edges, as a print
    folded in two does."""
    s = SUPERSAMPLE
    angle = None
    if rng.random() < 0.5:
        angle = float(rng.choice([0.0, np.pi / 2]) + rng.normal(0.0, 0.03))
    pts = _curve(height, width, rng, rng.uniform(-0.05, 0.05), angle) * s
    light = np.zeros((height * s, width * s), np.uint8)
    dark = np.zeros_like(light)
    cracked = np.zeros_like(light)
    normal = np.array([-(pts[-1, 1] - pts[0, 1]), pts[-1, 0] - pts[0, 0]])
    normal = normal / max(1e-6, np.hypot(*normal))
    w_light = rng.uniform(1.0, 3.5) * s
    w_dark = rng.uniform(0.7, 2.0) * s
    offset = (w_light + w_dark) / 2 * rng.choice([-1.0, 1.0])
    cv2.polylines(light, [np.round(pts).astype(np.int32)], False, 1, max(1, round(w_light)))
    shifted = np.round(pts + offset * normal).astype(np.int32)
    cv2.polylines(dark, [shifted], False, 1, max(1, round(w_dark)))
    dark &= 1 - light
    if rng.random() < 0.6:  # cracked along the fold, over most or part of its length
        keep = smooth_noise(light.shape, rng, 40 * s) > rng.uniform(-1.0, 0.4)
        cracked = _ragged(light, rng, s * rng.uniform(0.3, 1.5)) * keep
    return tuple(_coverage(c, height, width) for c in (light, dark, cracked))


def faint_scratches(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """float32 coverage of one to three long thin scratches across the whole print."""
    s = SUPERSAMPLE
    big = np.zeros((height * s, width * s), np.uint8)
    for _ in range(int(rng.integers(1, 4))):
        pts = _curve(height, width, rng, rng.uniform(-0.1, 0.1)) * s
        thickness = max(1, round(rng.uniform(0.8, 2.5) * s))
        cv2.polylines(big, [np.round(pts).astype(np.int32)], False, 1, thickness)
    return _coverage(big, height, width)


def paper_colour(rng: np.random.Generator) -> np.ndarray:
    """The colour of bare photo paper: cream to white, warm."""
    level = rng.uniform(0.75, 1.0)
    warm = rng.uniform(0.0, 0.14)
    return np.array([level, level * (1 - 0.5 * warm), level * (1 - warm)], np.float32)


def tone(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An old print's rendering of a clean photo: sepia, monochrome or faded colour, with
    uneven exposure. float32 RGB in [0, 1] in and out."""
    luma = cv2.cvtColor(np.ascontiguousarray(image, np.float32), cv2.COLOR_RGB2GRAY)[..., None]
    pick = rng.random()
    if pick < 0.45:  # sepia: from a dark brown to the paper's cream
        dark = np.array([0.10, 0.07, 0.04], np.float32) * rng.uniform(0.3, 1.5)
        light = paper_colour(rng)
        out = dark + (light - dark) * luma ** rng.uniform(0.8, 1.25)
    elif pick < 0.75:  # monochrome, slightly tinted
        tint = 1.0 + rng.normal(0.0, 0.03, 3).astype(np.float32)
        out = luma * tint
    else:  # faded colour: less saturation and contrast, lifted blacks, a cast
        saturation = rng.uniform(0.2, 0.8)
        out = luma + saturation * (image - luma)
        cast = 1.0 + rng.normal(0.0, 0.05, 3).astype(np.float32)
        out = out * cast
    contrast = rng.uniform(0.55, 1.0)
    out = 0.5 + contrast * (out - 0.5) + rng.uniform(-0.05, 0.08)
    if rng.random() < 0.5:
        out = out * (
            1.0 + 0.12 * smooth_noise(image.shape[:2], rng, 0.5 * max(image.shape))[..., None]
        )
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def print_frame(
    image: np.ndarray,
    rng: np.random.Generator,
    canvas: tuple[int, int],
    offset: tuple[int, int],
) -> np.ndarray:
    """The edge of the print inside the scan, on some sides of a ``canvas``-sized photo: a thin
    dark or light line a few px in from the edge, then the scanner's lid or the paper's margin.
    Not damage: a detector must leave it alone (the shipped net flagged the girl's frame)."""
    h, w = image.shape[:2]
    oy, ox = offset
    out = image.copy()
    yy = np.arange(h)[:, None] + oy
    xx = np.arange(w)[None, :] + ox
    for side in range(4):
        if rng.random() < 0.4:
            continue
        inset = int(rng.integers(2, 24))
        line = int(rng.integers(1, 4))
        dist = [yy, canvas[1] - 1 - xx, canvas[0] - 1 - yy, xx][side]  # px from that edge
        dist = np.broadcast_to(dist, (h, w))
        margin = paper_colour(rng) if rng.random() < 0.5 else np.full(3, rng.uniform(0, 1))
        ink = np.full(3, rng.uniform(0.0, 0.3) if rng.random() < 0.7 else rng.uniform(0.8, 1.0))
        out[dist < inset] = margin.astype(np.float32)
        out[(dist >= inset) & (dist < inset + line)] = ink.astype(np.float32)
    return out


def paper_texture(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Fine multiplicative texture of the paper and, sometimes, a halftone screen."""
    h, w = image.shape[:2]
    fibres = cv2.GaussianBlur(
        rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), rng.uniform(0.8, 2.5)
    )
    fibres /= max(1e-6, float(fibres.std()))
    out = image * (1.0 + rng.uniform(0.005, 0.035) * fibres[..., None])
    if rng.random() < 0.12:  # halftone reproduction: a dot screen at 45 degrees
        period = rng.uniform(3.0, 6.0)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        u, v = (xx + yy) / np.sqrt(2), (xx - yy) / np.sqrt(2)
        screen = np.cos(2 * np.pi * u / period) * np.cos(2 * np.pi * v / period)
        out = out * (1.0 + rng.uniform(0.05, 0.2) * screen[..., None])
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def aged_damage(
    clean: np.ndarray,
    rng: np.random.Generator,
    kinds: tuple[str, ...],
    canvas: tuple[int, int],
    offset: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(damaged float32 RGB, hole mask, alpha) - the ``kinds`` of :data:`AGED_KINDS` drawn on a
    ``canvas``-sized print and composited over the window of ``clean`` at ``offset``."""
    h, w = clean.shape[:2]
    oy, ox = offset
    out = clean.copy()
    mask = np.zeros((h, w), bool)
    alpha_all = np.zeros((h, w), np.float32)

    def put(coverage: np.ndarray, colour: np.ndarray, opacity: float, vary: float = 0.4) -> None:
        nonlocal out
        cover = coverage[oy : oy + h, ox : ox + w]
        fade = 1.0 - vary * (0.5 + 0.5 * smooth_noise((h, w), rng, rng.uniform(10, 60)))
        a = (cover * opacity * fade)[..., None]
        out = out * (1 - a) + colour * a
        alpha_all[:] = np.maximum(alpha_all, a[..., 0])

    for kind in kinds:
        if kind == "crack":
            cover = crack_network(*canvas, rng)
            if rng.random() < 0.7:  # bright: bare paper, its texture inside
                paper = paper_colour(rng) * (
                    1
                    + rng.uniform(0.01, 0.06)
                    * smooth_noise((h, w), rng, rng.uniform(1.5, 4))[..., None]
                )
                put(cover, paper, rng.uniform(0.85, 1.0), rng.uniform(0.0, 0.3))
            else:  # dark: dirt in the crack
                level = rng.uniform(0.03, 0.3)
                put(
                    cover,
                    np.array([level, level * 0.9, level * 0.8], np.float32),
                    rng.uniform(0.5, 1.0),
                )
        elif kind == "fold":
            light, dark, cracked = fold(*canvas, rng)
            strength = rng.uniform(0.2, 0.7)
            put(light, paper_colour(rng), strength)
            put(dark, np.array([0.1, 0.08, 0.06], np.float32), strength * rng.uniform(0.4, 0.9))
            put(cracked, paper_colour(rng), rng.uniform(0.7, 1.0), rng.uniform(0.0, 0.3))
            cover = np.maximum(np.maximum(light, dark), cracked)
        elif kind == "faint":
            cover = faint_scratches(*canvas, rng)
            level = rng.uniform(0.85, 1.0) if rng.random() < 0.7 else rng.uniform(0.0, 0.2)
            put(cover, np.full(3, level, np.float32), rng.uniform(0.2, 0.5))
        else:
            raise ValueError(f"unknown aged damage {kind!r} (known: {', '.join(AGED_KINDS)})")
        mask |= cover[oy : oy + h, ox : ox + w] >= 0.5
    return out.astype(np.float32), mask, alpha_all
