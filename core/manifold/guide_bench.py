"""End to end: what a structure net's guide is worth to the texture engine (issue 24).

A guide is judged by the fill it leads to, not by its own pixels: each held-out case is filled
by the texture engine (``core.texture.synthesize_steps``) three ways and scored by the
perceptual distance to the original (``core.perceptual``, frozen Lite2 features):

* ``none``: the engine with no guide (plain exemplar completion; what today's net barely beat);
* ``oracle``: the engine with the original blurred by ``ORACLE_SIGMA`` px - a guide that knows
  only the coarse layout and the colours (what a right structure is worth);
* ``net``: the engine with the net's most likely fill as guide, and ``variant``: with a sampled
  z's fill, moved ``GUIDE_SPREAD`` times from the most likely one, as the product does.

``progress`` = (none - net) / (none - oracle): 0 is no better than no guide, 1 is the oracle.
All guided runs weigh the guide fully (``guide_weight`` 1): this measures the guide, not the
product's rule for loosening it in deep holes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import cv2
import numpy as np

from core.base import maskgen
from core.base.progress import run_to_end
from core.manifold.options import GUIDE_SPREAD
from core.perceptual import perceptual_distance

ORACLE_SIGMA = 8.0
CASE_SIZE = 192
CASE_KINDS = ("box", "thick", "medium")


@dataclass(frozen=True)
class GuideCase:
    truth: np.ndarray  # float32 (h, w, 3) in [0, 1]
    hole: np.ndarray  # bool (h, w)
    kind: str
    seed: int


def guide_cases(images: list[np.ndarray], count: int, seed: int = 4321) -> list[GuideCase]:
    """``count`` fixed cases: a ``CASE_SIZE`` crop of each held-out photo in turn (at full
    and half scale alternately), with a box, a thick or a medium stroke mask in turn."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        image = images[i % len(images)]
        if (i // len(images)) % 2 == 1:
            h, w = image.shape[:2]
            size = (max(CASE_SIZE, w // 2), max(CASE_SIZE, h // 2))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        h, w = image.shape[:2]
        y = int(rng.integers(0, h - CASE_SIZE + 1))
        x = int(rng.integers(0, w - CASE_SIZE + 1))
        truth = image[y : y + CASE_SIZE, x : x + CASE_SIZE].astype(np.float32) / 255.0
        kind = CASE_KINDS[i % len(CASE_KINDS)]
        hole = maskgen.generate(kind, CASE_SIZE, CASE_SIZE, rng)
        cases.append(GuideCase(np.ascontiguousarray(truth), hole, kind, i))
    return cases


def engine(case: GuideCase, guide: np.ndarray | None, weight: float = 1.0) -> np.ndarray:
    """The texture engine's fill of ``case`` following ``guide`` (None: no guide) at guide
    weight ``weight``."""
    from core.texture import TextureOptions, synthesize_steps

    options = TextureOptions(guide_weight=weight)
    return run_to_end(synthesize_steps(case.truth, case.hole, guide, case.seed, options=options))


def score(case: GuideCase, fill: np.ndarray) -> float:
    return perceptual_distance(fill, case.truth, case.hole)


def bracket_scores(cases: list[GuideCase]) -> dict[str, list[float]]:
    """The two brackets per case (they do not depend on the net: computed once per run)."""
    none = [score(c, engine(c, None)) for c in cases]
    oracle = [score(c, engine(c, cv2.GaussianBlur(c.truth, (0, 0), ORACLE_SIGMA))) for c in cases]
    return {"none": none, "oracle": oracle}


def net_guides(net, case: GuideCase, spread: float = GUIDE_SPREAD) -> tuple[np.ndarray, np.ndarray]:
    """(the most likely fill's guide, a sampled variant's guide) of ``net`` for ``case``, as
    ``ManifoldFill`` makes them (a copy of the net: the method freezes what it wraps)."""
    from core.manifold.method import ManifoldFill

    method = ManifoldFill.from_net(copy.deepcopy(net).float())
    crop = case.truth.copy()
    crop[case.hole] = 0.0
    cache = method.encode(crop, case.hole)
    z = method.sample_z(cache, seed=1000 + case.seed)
    best = method.guides([cache], [cache.prior_mean], spread)[0]
    variant = method.guides([cache], [z], spread)[0]
    return best, variant


def guide_scores(
    net, cases: list[GuideCase], brackets: dict[str, list[float]], spread: float = GUIDE_SPREAD
) -> dict:
    """Mean distances (none, oracle, net, variant), per kind and pooled, and the progress;
    ``spread``: how far a variant's guide is moved (the product's ``GUIDE_SPREAD``)."""
    rows = []
    for i, case in enumerate(cases):
        best, variant = net_guides(net, case, spread)
        rows.append(
            (case.kind, brackets["none"][i], brackets["oracle"][i],
             score(case, engine(case, best)), score(case, engine(case, variant)))
        )  # fmt: skip
    out: dict = {}
    for kind in (*CASE_KINDS, "all"):
        picked = np.array([r[1:] for r in rows if kind in ("all", r[0])], np.float64)
        if not len(picked):
            continue
        none, oracle, mine, variant = picked.mean(0)
        # A floor: where the oracle barely helps (thin strokes), progress is noise.
        gap = max(none - oracle, 0.02 * none, 1e-6)
        entry = {
            "none": none,
            "oracle": oracle,
            "net": mine,
            "variant": variant,
            "progress": (none - mine) / gap,
            "variant_progress": (none - variant) / gap,
        }
        if kind == "all":
            out.update(entry)
        else:
            out[kind] = entry
    return out
