"""What a manifold fill can be asked: typed options, latent settings and code blending.

Plain values only (no torch), validated once when built: a bad value is a clear
:class:`InpaintError`, a misspelt field a ``TypeError``, never silently ignored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from core.base.errors import InpaintError

# Thickest hole (px from the nearest known pixel) the net fills at full resolution; larger
# holes run at 1/2, 1/4 or 1/8 scale. Training holes reach ~50 px from known pixels (boxes in
# 160-px crops); 48 beat 24 and 96 on the Kodak bench (8 images: medium +0.17 dB, box +0.15).
MAX_HOLE_RADIUS = 48.0
# Holes at most this thick (px from the nearest known pixel) get the biharmonic fill: on
# Kodak's scratches and dust it beats the net (24.40 / 25.93 dB against 24.12 / 25.54 for the
# step-10500 weights, 23.90 / 25.16 for the blurred decoder's) in less time, and there is
# nothing for a latent to vary in a 2-px crack. 3 px left the larger specks and crack forks to
# the net (24.05 / 25.28); 5 and 8 px gave the same figures and left the thin strokes, where the
# net leads biharmonic by 1 dB, to the net; 5 keeps brush strokes of ~10 px and more with it.
THIN_HOLE_PX = 5.0
# Holes whose pixels are on average at most this far (px) from a known pixel keep the net's
# fill without texture. On Kodak's `thin` strokes (mean distance 2.3-4.0 px, 10th-90th
# percentile; `medium` 6.0-10.4, boxes 38-49) the texture cost 0.69 dB against the net alone
# and fell 0.28 dB below Telea; a region's largest distance does not separate them (thin
# strokes cross into blobs 9-15 px thick).
TEXTURE_MIN_PX = 5.0
# How much further than the net's own change a sampled or slid fill's guide moves from the
# most likely fill's (see ``ManifoldOptions.guide_spread``). The texture follows its guide
# faithfully, so without it variants differ only as much as the net's decodes do (0.96-1.05x
# of the net alone, Kodak); 2 gave 1.8-1.9x and 3 gave 2.6-2.8x, at 1.3-1.4 dB below the
# unexaggerated samples' hole-PSNR (docs/texture.md). The most likely fill never moves.
# End to end (texture engine on the guide, deep-feature distance, docs/structure.md), 3 made a
# variant worse than no guide at all (Kodak progress -0.28, scikit-image -0.64): stains and
# smudges the texture then copied. 2, chosen on the tuning cases (+0.20), judged on Kodak
# +0.18 and scikit-image -0.23; 1.5 scored higher still but its variants barely differ.
GUIDE_SPREAD = 2.0
# The editor's sliders, and their range in prior standard deviations either way.
DEFAULT_SLIDERS = 8
SLIDER_RANGE = 3.0


@dataclass(frozen=True)
class LatentSetting:
    """What reproduces one fill: ``seed`` (None: the most likely fill before sliders) and
    slider values in prior standard deviations along directions 1, 2, ..."""

    seed: int | None = None
    sliders: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "sliders", _finite("sliders", self.sliders))

    def with_slider(self, index: int, value: float) -> LatentSetting:
        values = list(self.sliders) + [0.0] * max(0, index + 1 - len(self.sliders))
        values[index] = float(value)
        return LatentSetting(self.seed, tuple(values))

    def describe(self) -> str:
        seed = "most likely" if self.seed is None else f"seed {self.seed}"
        moved = [f"{i + 1}={v:+.2f}" for i, v in enumerate(self.sliders) if v]
        return seed + (f", {' '.join(moved)}" if moved else "")


@dataclass(frozen=True)
class Blend:
    """Fusion: decode the code ``t`` of the way from the request's own setting to ``toward``
    (spherical by default, see ``core.base.interpolation.slerp``)."""

    toward: LatentSetting
    t: float
    spherical: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.t) and 0.0 <= self.t <= 1.0):
            raise InpaintError(f"blend t must be between 0 and 1, got {self.t}")


@dataclass(frozen=True)
class ManifoldOptions:
    """Options of the ``manifold`` fill. With the request's seed: z is drawn from the prior
    p(z | context) (same seed, same pixels) unless ``sample`` is False; without a seed z is the
    prior mean, the most likely fill."""

    sample: bool = True
    # Scales the prior standard deviation of the seed's draw.
    temperature: float = 1.0
    # Slider values: prior standard deviations along the model's directions 1, 2, ...
    sliders: tuple[float, ...] = ()
    # Fusion with a second latent setting (the request's seed and sliders are the first).
    blend: Blend | None = None
    # Optimise z for this many Adam steps so the decoded image agrees with the known pixels in
    # a band around the hole.
    refine_steps: int = 0
    # The net runs at 1, 1/2, 1/4 or 1/8 of the crop's resolution: the largest at which the
    # hole's thickest part is at most this many pixels from known pixels.
    max_hole_radius: float = MAX_HOLE_RADIUS
    # Holes whose every pixel is at most this far from a known pixel (dust, hairline cracks)
    # get the biharmonic fill (the latent has nothing to vary there); 0 always runs the net.
    thin_hole_px: float = THIN_HOLE_PX
    # Holes beyond the thin path: the net's fill is the structure guide of a texture synthesis
    # from the photo's own patches (core.texture). False: the net's fill alone (the editor's
    # live preview while a slider is dragged).
    texture: bool = True
    # ... for holes whose pixels lie on average more than this many px from a known pixel;
    # narrower ones (strokes a few px wide) keep the net's fill (TEXTURE_MIN_PX).
    texture_min_px: float = TEXTURE_MIN_PX
    # The guide is ``mean + guide_spread * (decode(z) - mean)``, ``mean`` the decode of the
    # most likely z: variants and slider moves change the structure visibly (GUIDE_SPREAD).
    guide_spread: float = GUIDE_SPREAD

    def __post_init__(self) -> None:
        object.__setattr__(self, "sliders", _finite("sliders", self.sliders))
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise InpaintError(f"temperature must be 0 or more, got {self.temperature}")
        if int(self.refine_steps) != self.refine_steps or self.refine_steps < 0:
            raise InpaintError(f"refine steps must be a whole number >= 0, got {self.refine_steps}")
        if not (math.isfinite(self.max_hole_radius) and self.max_hole_radius > 0):
            raise InpaintError(f"max hole radius must be > 0, got {self.max_hole_radius}")
        if not (math.isfinite(self.thin_hole_px) and self.thin_hole_px >= 0):
            raise InpaintError(f"thin hole size must be 0 or more, got {self.thin_hole_px}")
        if not (math.isfinite(self.texture_min_px) and self.texture_min_px >= 0):
            raise InpaintError(f"texture hole size must be 0 or more, got {self.texture_min_px}")
        if not (math.isfinite(self.guide_spread) and self.guide_spread >= 0):
            raise InpaintError(f"guide spread must be 0 or more, got {self.guide_spread}")
        if self.blend is not None and not isinstance(self.blend, Blend):
            raise InpaintError(f"blend must be a Blend, got {type(self.blend).__name__}")

    def preparation(self) -> tuple[float, float]:
        """The fields that change what is prepared (encoded) for a crop; the rest only change
        the render."""
        return (self.max_hole_radius, self.thin_hole_px)


def _finite(name: str, values: Sequence[float]) -> tuple[float, ...]:
    out = tuple(float(v) for v in values)
    if not all(math.isfinite(v) for v in out):
        raise InpaintError(f"{name} must be finite numbers, got {values}")
    return out


def parse_directions(specs: Sequence[str], count: int) -> tuple[float, ...]:
    """``["1=1.5", "3=-2"]`` (1-based, as the sliders are numbered) -> slider values."""
    values = [0.0] * count
    for spec in specs:
        key, sep, value = spec.partition("=")
        try:
            index, amount = int(key), float(value)
        except ValueError:
            index, amount = 0, 0.0
            sep = ""
        if not sep or not math.isfinite(amount):
            raise InpaintError(f"--direction takes INDEX=VALUE (e.g. 1=1.5), got {spec!r}")
        if not 1 <= index <= count:
            raise InpaintError(f"direction {index} does not exist: the model has 1..{count}")
        values[index - 1] = amount
    while values and values[-1] == 0.0:
        values.pop()
    return tuple(values)
