"""Can a guide's trustworthiness be read from the photo? (issue 24: "weigh the guide by how
much the net can know ... measured, not assumed").

    python tools/guide_trust.py --set tune|kodak|skimage [--cases 24] [--json OUT]

For each case of ``tools/guide_bench.py`` (the same 192 px crops and holes): the texture
engine's fill with no guide, with the 8 px oracle, and with the net's most likely guide and a
variant's, each at guide weight 1 and at the product's loose weight (``LOOSE_GUIDE_WEIGHT``),
scored by the perceptual distance to the original; beside them three things the product could
know before filling - the decoder's error on the known ring around the hole (how well the net
reproduces what it can see), the jump between the guide just inside the hole and the photo just
outside (its seam), and the hole's mean depth. Prints the rank correlation of each with the
guide's relative gain over no guide, and the progress (0 no guide, 1 the oracle) of full and loose
guides.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from guide_bench import load, photos

from core.manifold.guide_bench import ORACLE_SIGMA, engine, guide_cases, score
from core.manifold.method import LOOSE_GUIDE_WEIGHT, ManifoldFill
from core.manifold.options import GUIDE_SPREAD

RING_PX = 8  # the known band around the hole the decoder's error is taken on


def raw_decode(method: ManifoldFill, cache) -> np.ndarray:
    """The decoder's most likely output over the whole crop, known pixels included."""
    import torch

    from core.manifold.method import _stacked

    with torch.inference_mode():
        z = torch.from_numpy(cache.prior_mean[None].astype(np.float32))
        out = method.net.decode(_stacked([cache]), z)
    h, w = cache.work_size
    raw = out[0, :, :h, :w].clamp(0, 1).float().numpy().transpose(1, 2, 0)
    size = (cache.hole.shape[1], cache.hole.shape[0])
    return raw if raw.shape[:2] == cache.hole.shape else cv2.resize(raw, size, cv2.INTER_CUBIC)


def predictors(case, raw: np.ndarray, guide: np.ndarray) -> dict[str, float]:
    hole = case.hole.astype(np.uint8)
    grow = lambda px: cv2.dilate(hole, np.ones((2 * px + 1,) * 2, np.uint8)) > 0  # noqa: E731
    ring = grow(RING_PX) & ~case.hole
    outside = grow(2) & ~case.hole
    inside = case.hole & ~(cv2.erode(hole, np.ones((5, 5), np.uint8)) > 0)
    truth = cv2.GaussianBlur(case.truth, (0, 0), 2)
    ring_error = np.abs(cv2.GaussianBlur(raw, (0, 0), 2) - truth)[ring].mean()
    seam = np.abs(cv2.GaussianBlur(guide, (0, 0), 2)[inside].mean(0) - truth[outside].mean(0))
    depth = cv2.distanceTransform(hole, cv2.DIST_L2, 5)[case.hole].mean()
    return {"ring_error": float(ring_error), "seam": float(seam.mean()), "depth": float(depth)}


def measure(net, cases) -> list[dict]:
    method = ManifoldFill.from_net(copy.deepcopy(net).float())
    rows = []
    for case in cases:
        crop = case.truth.copy()
        crop[case.hole] = 0.0
        cache = method.encode(crop, case.hole)
        z = method.sample_z(cache, seed=1000 + case.seed)
        best, variant = method.guides([cache, cache], [cache.prior_mean, z], GUIDE_SPREAD)
        oracle = cv2.GaussianBlur(case.truth, (0, 0), ORACLE_SIGMA)
        row = {"kind": case.kind, **predictors(case, raw_decode(method, cache), best)}
        row["none"] = score(case, engine(case, None))
        row["oracle"] = score(case, engine(case, oracle))
        for name, guide in (("net", best), ("variant", variant)):
            row[name] = score(case, engine(case, guide))
            row[f"{name}_loose"] = score(case, engine(case, guide, LOOSE_GUIDE_WEIGHT))
        rows.append(row)
    return rows


def report(rows: list[dict]) -> None:
    from scipy.stats import spearmanr

    def column(key: str) -> np.ndarray:
        return np.array([r[key] for r in rows], np.float64)

    none, oracle = column("none"), column("oracle")
    gap = max(none.mean() - oracle.mean(), 0.02 * none.mean())
    for key in ("ring_error", "seam", "depth"):
        x = column(key)
        # The gain as a share of the case's distance: large holes are far in any case.
        rho_net = spearmanr(x, 1 - column("net") / none).statistic
        rho_variant = spearmanr(x, 1 - column("variant") / none).statistic
        print(f"{key:10} rank correlation with the gain: net {rho_net:+.2f}, ", end="")
        print(f"variant {rho_variant:+.2f}")
    for key in ("net", "variant", "net_loose", "variant_loose"):
        worse = int((column(key) > none).sum())
        progress = (none.mean() - column(key).mean()) / gap
        print(f"{key:13} progress {progress:+.2f}, worse than no guide in {worse} of {len(rows)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", choices=("tune", "kodak", "skimage"), default="tune")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/train"))
    parser.add_argument("--cases", type=int, default=24)
    parser.add_argument("--json", type=Path, help="also write the per-case figures here")
    args = parser.parse_args()
    rows = measure(load(None, None), guide_cases(photos(args.set, args.data), args.cases))
    report(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
