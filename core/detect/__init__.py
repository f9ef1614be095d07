"""Damage detection: a per-pixel probability of scratches, cracks and dust, and a proposed mask.

    result = detect(image)                        # DamageResult(probability, mask, threshold, ...)
    mask = threshold_mask(result.probability, t)  # re-threshold cheaply (sensitivity slider)

Two methods: ``"net"``, the small CNN shipped in ``resources/models`` (see :mod:`.net`), and
``"classical"``, top-hat plus line filters (see :mod:`.classical`). ``"auto"`` uses the net and
falls back to the classical detector when the weights are missing or fail their sha256 check
(``DamageResult.note`` then says why). Each method's probability has its own calibrated default
threshold, chosen so that well under 0.5 % of a clean photo's pixels are flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.base.errors import InpaintError, ModelError
from core.base.progress import Progress, Steps, run_to_end

__all__ = [
    "METHODS",
    "DamageResult",
    "default_threshold",
    "detect",
    "detect_steps",
    "fill_mask",
    "fill_probability",
    "proposed_share",
    "threshold_for_sensitivity",
    "threshold_mask",
]

METHODS = ("auto", "net", "classical")
# Px by which a detected mask grows before a fill: a mark's blurred fringe is damage too, and
# a fill taking its border from the fringe would smear the mark back in. Measured with
# tools/measure_fringe.py around the detections of the real cracked scan: 22, 7, 3.4, 2.3 levels
# of contrast left 1, 2, 3, 4 px out; 3 px leaves a rim of about 2 levels (docs/detect.md).
FILL_GROW = 3


# A print's own frame (a thin dark line a few px in from its edge) looks like a long straight
# crack to the net; on the real scratched scan it was most of the false detections. Marks
# lying wholly within this share of the short side from one edge (at least FRAME_BAND_MIN_PX)
# and FRAME_ELONGATION times longer along that edge than across are left out.
FRAME_BAND = 0.05
FRAME_BAND_MIN_PX = 6
FRAME_ELONGATION = 4.0


@dataclass(frozen=True)
class DamageResult:
    """``probability``: float32 HxW in [0, 1]; ``mask``: bool HxW, ``probability >= threshold``;
    ``method``: what actually ran (``"net"`` or ``"classical"``); ``note``: why ``"auto"`` fell
    back to the classical detector, else empty."""

    probability: np.ndarray
    mask: np.ndarray
    threshold: float
    method: str
    note: str = ""


def without_frame_lines(probability: np.ndarray, threshold: float) -> np.ndarray:
    """``probability`` with the marks at ``threshold`` that run along the photo's edge, close
    to it (see ``FRAME_BAND``), set to 0: a print's frame, not damage. A new array."""
    import cv2

    h, w = probability.shape
    band = max(FRAME_BAND_MIN_PX, round(FRAME_BAND * min(h, w)))
    # Half the threshold: a frame line's weaker stretches belong to it too.
    flagged = (probability >= np.float32(0.5 * threshold)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(flagged, connectivity=8)
    out = probability.copy()
    for label in range(1, count):
        x, y, bw, bh, _ = stats[label]
        along_side = (x + bw <= band or x >= w - band) and bh >= FRAME_ELONGATION * bw
        along_top = (y + bh <= band or y >= h - band) and bw >= FRAME_ELONGATION * bh
        if along_side or along_top:
            window = (slice(y, y + bh), slice(x, x + bw))
            out[window][labels[window] == label] = 0.0
    return out


def threshold_mask(probability: np.ndarray, threshold: float) -> np.ndarray:
    """The damage mask at ``threshold``: cheap, so a slider can call it on every move.

    Monotonic: a higher threshold never flags a pixel a lower one leaves out.
    """
    return probability >= np.float32(threshold)


def fill_probability(probability: np.ndarray, grow_px: int = FILL_GROW) -> np.ndarray:
    """``probability`` max-filtered over a disk of ``grow_px``: ``fill_probability(p) >= t`` is
    the mask ``p >= t`` grown by ``grow_px``, for every ``t``, so a sensitivity slider over it
    costs one comparison and no morphology (what the editor's proposal thresholds)."""
    import cv2

    if grow_px <= 0:
        return probability
    # The Euclidean disk of core.base.masks.grow (OpenCV's 5x5 "ellipse" is a different shape).
    yy, xx = np.mgrid[-grow_px : grow_px + 1, -grow_px : grow_px + 1]
    disk = (yy * yy + xx * xx <= grow_px * grow_px + 1e-3).astype(np.uint8)
    return cv2.dilate(probability, disk, borderType=cv2.BORDER_REPLICATE)


def fill_mask(
    result: DamageResult, threshold: float | None = None, grow_px: int = FILL_GROW
) -> np.ndarray:
    """The mask a fill replaces for a detection: the pixels at or above ``threshold`` (default:
    the detection's) grown by ``grow_px`` (see ``FILL_GROW``). The one definition that
    ``detect``, ``fill --auto-mask`` and the editor's Accept share."""
    t = result.threshold if threshold is None else threshold
    return threshold_mask(fill_probability(result.probability, grow_px), t)


def proposed_share(mask: np.ndarray) -> float:
    """The figure "% of the photo proposed": the share of the photo's pixels in the fill mask
    (:func:`fill_mask`), i.e. the pixels a fill would replace, fringe included."""
    return float(np.count_nonzero(mask)) / max(1, mask.size)


def threshold_for_sensitivity(sensitivity: float, default: float) -> float:
    """Map a slider in [0, 1] (0.5 = the calibrated ``default``) to a threshold.

    0 flags nothing (threshold just above 1), 1 flags anything above 0.02; the two halves are
    linear so the middle of the slider is exactly the default.
    """
    s = float(np.clip(sensitivity, 0.0, 1.0))
    if s >= 0.5:
        return default + (0.02 - default) * (s - 0.5) * 2.0
    return 1.0001 + (default - 1.0001) * s * 2.0


@lru_cache(maxsize=2)
def _net(models_dir: Path | None):
    from core.detect.net import load_net

    return load_net(models_dir)


def default_threshold(method: str, models_dir: Path | None = None) -> float:
    """The calibrated default threshold of ``"net"`` or ``"classical"``."""
    if method == "classical":
        from core.detect.classical import DEFAULT_THRESHOLD

        return DEFAULT_THRESHOLD
    return float(_net(models_dir).config.threshold)


def detect_steps(
    image: np.ndarray,
    *,
    method: str = "auto",
    threshold: float | None = None,
    tile: int | None = None,
    models_dir: Path | None = None,
) -> Steps[DamageResult]:
    """Find damage in ``image`` (HxWxC, any dtype of :mod:`core`); yields progress per tile.

    ``threshold=None`` uses the method's calibrated default. ``method="net"`` raises
    :class:`ModelError` when the weights are unusable; ``"auto"`` falls back instead.
    """
    from core.base.pixels import to_float_rgb

    if method not in METHODS:
        raise InpaintError(
            f"unknown detection method {method!r} (choose from {', '.join(METHODS)})"
        )
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4) or min(image.shape[:2]) < 1:
        raise InpaintError(f"image must be HxWxC with 1-4 channels, got shape {image.shape}")
    note = ""
    net = None
    if method in ("auto", "net"):
        yield Progress(0.0, "loading the damage detector")
        try:
            net = _net(models_dir)
        except ModelError as error:
            if method == "net":
                raise
            note = f"using the classical detector: {error}"
    # The photo stays as it was read; each tile is converted to float RGB on its own (a 24 MP
    # scan in float32 would be 288 MB, and the tiles need it only a window at a time).
    if net is not None:
        from core.detect.net import predict_steps

        probability = yield from predict_steps(net, image, tile=tile, prepare=to_float_rgb)
        used = "net"
    else:
        from core.detect.classical import classical_steps

        probability = yield from classical_steps(image, tile=tile or 1024, prepare=to_float_rgb)
        used = "classical"
    default = default_threshold(used, models_dir)
    # At the default: the frame is left out whatever sensitivity the caller asks for.
    probability = without_frame_lines(probability, default)
    threshold = default if threshold is None else threshold
    mask = threshold_mask(probability, threshold)
    yield Progress(1.0, f"{used} detector: {mask.mean():.2%} of the pixels flagged")
    return DamageResult(probability, mask, float(threshold), used, note)


def detect(image: np.ndarray, **options) -> DamageResult:
    """:func:`detect_steps` run to completion."""
    return run_to_end(detect_steps(image, **options))
