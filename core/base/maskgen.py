"""Random damage masks of the classes the product meets.

Used by training (random masks), the benchmark (seeded masks, so runs compare) and later by the
damage detector (synthetic damage). Every generator is a plain function of ``(height, width,
rng)`` returning a bool ``(height, width)`` mask, ``True`` = hole; the same ``rng`` state gives
the same mask.

Sizes scale with the image's shorter side (``s``) except for scratches and dust, which are
physical defects of a print or scan and stay a few pixels wide at any size. On a 768x512 image
the classes cover roughly: scratch and dust 1-4 % of the area, thin ~20 %, medium ~28 %,
thick ~29 %, box 10-30 % (one to two boxes of 200-340 px).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

KINDS = ("scratch", "dust", "thin", "medium", "thick", "box")


def _canvas(height: int, width: int) -> np.ndarray:
    return np.zeros((height, width), np.uint8)


def _polyline(
    canvas: np.ndarray, rng: np.random.Generator, vertices: int, step: float, width: int
) -> None:
    """One random-walk stroke (LaMa style): straight segments with random turns."""
    h, w = canvas.shape
    y, x = rng.uniform(0, h), rng.uniform(0, w)
    angle = rng.uniform(0, 2 * np.pi)
    points = [(x, y)]
    for _ in range(vertices):
        angle += rng.uniform(-1.2, 1.2)
        length = rng.uniform(0.5, 1.0) * step
        x = float(np.clip(x + length * np.cos(angle), 0, w - 1))
        y = float(np.clip(y + length * np.sin(angle), 0, h - 1))
        points.append((x, y))
    pts = np.round(np.array(points)).astype(np.int32)
    cv2.polylines(canvas, [pts], False, 1, thickness=max(1, width), lineType=cv2.LINE_8)
    # Round joints, as a brush leaves.
    if width > 2:
        for px, py in pts:
            cv2.circle(canvas, (int(px), int(py)), width // 2, 1, -1)


def scratch(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Long thin scratches and cracks, 1-3 px wide, some with short branches."""
    canvas = _canvas(height, width)
    s = min(height, width)
    for _ in range(int(rng.integers(3, 9))):
        if rng.random() < 0.6:  # long, nearly straight scratch across the print
            y0, x0 = rng.uniform(0, height), rng.uniform(0, width)
            angle = rng.uniform(0, np.pi)
            length = rng.uniform(0.3, 1.0) * max(height, width)
            bend = rng.uniform(-0.1, 0.1) * length
            t = np.linspace(0, 1, 24)
            xs = x0 + np.cos(angle) * length * (t - 0.5) - np.sin(angle) * bend * (t * (1 - t)) * 4
            ys = y0 + np.sin(angle) * length * (t - 0.5) + np.cos(angle) * bend * (t * (1 - t)) * 4
            pts = np.round(np.stack([xs, ys], 1)).astype(np.int32)
            cv2.polylines(canvas, [pts], False, 1, thickness=int(rng.integers(1, 4)))
        else:  # a crack: jagged, with branches
            for _ in range(int(rng.integers(1, 4))):
                _polyline(canvas, rng, int(rng.integers(6, 16)), s * 0.06, int(rng.integers(1, 3)))
    return canvas.astype(bool)


def dust(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Dust specks and small blotches: dots of radius 1-4 px, a few short hairs."""
    canvas = _canvas(height, width)
    area = height * width
    count = int(area * rng.uniform(1.5e-3, 3.5e-3))
    ys = rng.integers(0, height, count)
    xs = rng.integers(0, width, count)
    radii = np.minimum(rng.geometric(0.45, count), 4)
    for y, x, r in zip(ys, xs, radii, strict=True):
        if r <= 1 and rng.random() < 0.5:
            canvas[y, x] = 1
        else:
            cv2.ellipse(
                canvas,
                (int(x), int(y)),
                (int(r), max(1, int(r * rng.uniform(0.5, 1.0)))),
                float(rng.uniform(0, 180)),
                0,
                360,
                1,
                -1,
            )
    for _ in range(int(rng.integers(0, 6))):  # hairs
        _polyline(canvas, rng, int(rng.integers(2, 6)), 12.0, 1)
    return canvas.astype(bool)


def _strokes(
    height: int,
    width: int,
    rng: np.random.Generator,
    width_range: tuple[float, float],
    target_area: tuple[float, float],
) -> np.ndarray:
    """LaMa-style irregular strokes until the covered fraction reaches a random target."""
    canvas = _canvas(height, width)
    s = min(height, width)
    target = rng.uniform(*target_area)
    for _ in range(64):
        stroke_w = max(1, round(rng.uniform(*width_range) * s))
        _polyline(canvas, rng, int(rng.integers(3, 9)), s * rng.uniform(0.1, 0.3), stroke_w)
        if canvas.mean() >= target:
            break
    return canvas.astype(bool)


def thin(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    return _strokes(height, width, rng, (0.012, 0.03), (0.14, 0.26))


def medium(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    return _strokes(height, width, rng, (0.04, 0.08), (0.22, 0.33))


def thick(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    return _strokes(height, width, rng, (0.09, 0.16), (0.24, 0.34))


def box(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """One or two axis-aligned boxes, each side 40-66 % of the shorter image side."""
    canvas = np.zeros((height, width), bool)
    s = min(height, width)
    for _ in range(int(rng.integers(1, 3))):
        bh = int(rng.uniform(0.39, 0.66) * s)
        bw = int(rng.uniform(0.39, 0.66) * s)
        bh, bw = min(bh, height - 1), min(bw, width - 1)
        y = int(rng.integers(0, height - bh + 1))
        x = int(rng.integers(0, width - bw + 1))
        candidate = canvas.copy()
        candidate[y : y + bh, x : x + bw] = True
        # A second box only while the total stays near the 10-30 % the class stands for.
        if canvas.any() and candidate.mean() > 0.32:
            break
        canvas = candidate
    return canvas


GENERATORS: dict[str, Callable[[int, int, np.random.Generator], np.ndarray]] = {
    "scratch": scratch,
    "dust": dust,
    "thin": thin,
    "medium": medium,
    "thick": thick,
    "box": box,
}


def generate(kind: str, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A bool ``(height, width)`` mask of class ``kind`` (one of ``KINDS``)."""
    try:
        generator = GENERATORS[kind]
    except KeyError:
        raise ValueError(f"unknown mask kind {kind!r} (known: {', '.join(KINDS)})") from None
    mask = generator(height, width, rng)
    if not mask.any():  # never hand out an empty hole
        mask[height // 2, width // 2] = True
    return mask
