"""What the structure net's guide is worth to the texture engine, end to end (issue 24).

    python tools/guide_bench.py [--models resources/models | --checkpoint runs/x/best.pt]
        [--set tune|kodak|skimage] [--cases 24] [--spread 3,2,1.5]

Each case - a 192 px crop with a box, thick or medium stroke - is filled by the texture engine
three ways and scored by the perceptual distance to the original (frozen Lite2 features,
``core.perceptual``; lower is closer): no guide, the original blurred by 8 px (what a right
coarse layout is worth), and the net's guide (its most likely fill, and a sampled variant's
moved as the product moves it). ``progress`` is how far the net's guide goes from no guide
toward the blurred original (``core.manifold.guide_bench``).

Sets: ``tune`` - the 16 photos the manifold trainer holds out of ../shared/data/train (what
its validation sees); ``kodak`` - Kodak24 (the benchmark); ``skimage`` - scikit-image's bundled
photos, never trained or tuned on.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.base.imageio import list_images, read_rgb8
from core.manifold.data import split_files
from core.manifold.guide_bench import bracket_scores, guide_cases, guide_scores
from core.manifold.options import GUIDE_SPREAD

SKIMAGE_PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "camera")


def photos(which: str, data: Path) -> list[np.ndarray]:
    if which == "tune":
        return [read_rgb8(p) for p in split_files(data, 16)[1]]
    if which == "kodak":
        return [read_rgb8(p) for p in list_images(Path("../shared/data/bench"))]
    import skimage.data

    out = []
    for name in SKIMAGE_PHOTOS:
        image = getattr(skimage.data, name)()
        image = np.repeat(image[..., None], 3, 2) if image.ndim == 2 else image[..., :3]
        out.append(np.ascontiguousarray(image))
    return out


def load(models: Path | None, checkpoint: Path | None):
    from core.manifold.net import ManifoldNet, NetConfig
    from core.training.loop import load_checkpoint

    if checkpoint is not None:
        state = load_checkpoint(checkpoint)
        net = ManifoldNet(NetConfig.from_dict(json.loads(state["net_config"])))
        net.load_state_dict(state["model"])
        return net.eval()
    from core.manifold.method import ManifoldFill

    return ManifoldFill(models_dir=models).net


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=Path, help="models folder (default: shipped)")
    parser.add_argument("--checkpoint", type=Path, help="a training checkpoint instead")
    parser.add_argument("--set", choices=("tune", "kodak", "skimage"), default="tune")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/train"))
    parser.add_argument("--cases", type=int, default=24)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--spread", help="variants' guide spreads to compare, e.g. 3,2,1.5 (default: the product's)"
    )
    args = parser.parse_args()
    cases = guide_cases(photos(args.set, args.data), args.cases)
    net, brackets = load(args.models, args.checkpoint), bracket_scores(cases)
    spreads = [float(v) for v in args.spread.split(",")] if args.spread else [GUIDE_SPREAD]
    results = {}
    for spread in spreads:
        print(f"variants' guide spread {spread:g}:")
        results[spread] = report(guide_scores(net, cases, brackets, spread))
    if args.json:
        figures = (
            results[spreads[0]] if len(spreads) == 1 else {str(k): v for k, v in results.items()}
        )
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


def report(scores: dict) -> dict:
    for kind in ("box", "thick", "medium"):
        s = scores.get(kind)
        if s:
            print(
                f"{kind:7} none {s['none']:.3f}  oracle {s['oracle']:.3f}  net {s['net']:.3f} "
                f"(progress {s['progress']:+.2f})  variant {s['variant']:.3f} "
                f"({s['variant_progress']:+.2f})"
            )
    print(
        f"all     none {scores['none']:.3f}  oracle {scores['oracle']:.3f}  net "
        f"{scores['net']:.3f} (progress {scores['progress']:+.2f})  variant "
        f"{scores['variant']:.3f} ({scores['variant_progress']:+.2f})"
    )
    return scores


if __name__ == "__main__":
    sys.exit(main())
