"""Operating points of the damage detector: what each threshold (and two inference-side
variants) gives on the real scans, on synthetic Kodak damage and on clean photos.

    python tools/detect_operating_points.py --thresholds 0.5446,0.45,0.35,0.25
    python tools/detect_operating_points.py --hysteresis 0.6,0.4 --budgets 0.0025,0.0035
    python tools/detect_operating_points.py --views 2,4 --budgets 0.0025

Every row scores one way of turning the net into a mask:

* a threshold on the shipped probability (``--thresholds``; the Sensitivity slider position
  that gives it is printed beside it);
* hysteresis (``--hysteresis K``): a pixel is flagged when it is at least ``K`` times the
  threshold and joined through such pixels to one at the threshold (the grey-level
  reconstruction of the probability under ``probability / K``, so the slider would stay one
  comparison);
* flip averaging (``--views N``): the mean probability of the photo, mirrored, transposed
  (2: the photo and its mirror; 4: also the transposed photo and its mirror).

With ``--budgets`` each variant's threshold is calibrated as export calibrates the shipped one:
the value that flags that share of the clean ``val/`` pixels (never below 0.3), so variants are
compared at equal false alarms on clean photos. Columns: recall / precision on the real scans
(``tools/bench_detect.py --real``'s definitions, 2 px), pixel F1 of Kodak scratches and dust
(seed 7, ``tools/bench_detect.py``'s definitions), flagged share of the clean Kodak and val
photos. Slow parts run once: the net's probabilities for all photos and views.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_detect import black_lines, counts, f1, to_u8, tolerant_counts

from core.base.imageio import list_images, read_rgb8
from core.base.progress import run_to_end
from core.detect import default_threshold, without_frame_lines
from core.detect.net import load_net, predict_steps
from core.detect.synth import synthesize


def flip_views(net, image: np.ndarray, views: int) -> np.ndarray:
    """The net's probability of ``image`` (uint8 RGB) averaged over ``views`` flips (1, 2, 4)."""
    rgb = image.astype(np.float32) / 255.0

    def predict(view: np.ndarray) -> np.ndarray:
        return run_to_end(predict_steps(net, np.ascontiguousarray(view)))

    maps = [predict(rgb)]
    if views >= 2:
        maps.append(predict(rgb[:, ::-1])[:, ::-1])
    if views >= 4:
        maps.append(predict(rgb.transpose(1, 0, 2)).T)
        maps.append(predict(rgb[::-1].transpose(1, 0, 2)).T[::-1])
    return np.mean(maps, axis=0).astype(np.float32)


def hysteresis(probability: np.ndarray, ratio: float) -> np.ndarray:
    """Per pixel, the highest threshold ``t`` at which hysteresis with a low threshold of
    ``ratio * t`` flags it: ``hysteresis(p, k) >= t`` is that mask for every ``t``."""
    from skimage.morphology import reconstruction

    if ratio >= 1.0:
        return probability
    ceiling = np.minimum(probability / ratio, 1.0)
    return reconstruction(probability, ceiling, method="dilation").astype(np.float32)


def sensitivity_for(threshold: float, default: float) -> float:
    """The Sensitivity slider position giving ``threshold`` (the inverse of
    ``core.detect.threshold_for_sensitivity``)."""
    if threshold <= default:
        return 0.5 + 0.5 * (default - threshold) / (default - 0.02)
    return 0.5 * (1.0001 - threshold) / (1.0001 - default)


def collect(args: argparse.Namespace, net, views: int, default: float) -> dict[str, list]:
    """Frame-ruled probabilities (and labels) of every photo of the four sets."""
    data: dict[str, list] = {"real": [], "kodak": [], "val": []}

    def probability(image: np.ndarray) -> np.ndarray:
        return without_frame_lines(flip_views(net, image, views), default)

    import cv2

    for reference_path in sorted(args.real_masks.glob("*.png")):
        scan = args.real / f"{reference_path.stem}.png"
        if scan.is_file():
            reference = cv2.imread(str(reference_path), cv2.IMREAD_GRAYSCALE)
            data["real"].append((reference_path.stem, probability(read_rgb8(scan)), reference))
    for index, path in enumerate(list_images(args.images)[: args.limit or None]):
        clean = read_rgb8(path)
        entry = {"black": black_lines(clean), "clean": probability(clean)}
        for kind in ("scratch", "dust"):
            rng = np.random.default_rng([args.seed, index, 0 if kind == "scratch" else 1])
            damage = synthesize(clean.astype(np.float32) / 255.0, rng, (kind,))
            entry[kind] = (probability(to_u8(damage.image)), damage.mask, damage.ignore)
        data["kodak"].append(entry)
        print(f"  {path.name} done", file=sys.stderr, flush=True)
    for path in list_images(args.clean)[: args.limit_clean or None]:
        data["val"].append(probability(read_rgb8(path)))
    return data


def with_hysteresis(data: dict[str, list], ratio: float) -> dict[str, list]:
    """``data`` with every probability map replaced by its ``hysteresis`` map."""
    kodak = [
        {
            "black": entry["black"],
            "clean": hysteresis(entry["clean"], ratio),
            **{
                kind: (hysteresis(entry[kind][0], ratio), *entry[kind][1:])
                for kind in ("scratch", "dust")
            },
        }
        for entry in data["kodak"]
    ]
    return {
        "real": [(name, hysteresis(p, ratio), ref) for name, p, ref in data["real"]],
        "kodak": kodak,
        "val": [hysteresis(p, ratio) for p in data["val"]],
    }


def score(data: dict[str, list], threshold: float) -> dict[str, float]:
    row: dict[str, float] = {}
    pooled = np.zeros(4, np.int64)
    for name, probability, reference in data["real"]:
        c = tolerant_counts(probability >= threshold, reference, 2)
        pooled += c
        row[f"{name} R"], row[f"{name} P"] = c[0] / max(1, c[1]), c[2] / max(1, c[3])
    row["real R"], row["real P"] = pooled[0] / max(1, pooled[1]), pooled[2] / max(1, pooled[3])
    marks = {kind: np.zeros(3, np.int64) for kind in ("scratch", "dust")}
    flagged = pixels = 0
    for entry in data["kodak"]:
        for kind in marks:
            probability, mask, ignore = entry[kind]
            marks[kind] += counts(probability >= threshold, mask, ignore | entry["black"])
        flagged += int(((entry["clean"] >= threshold) & ~entry["black"]).sum())
        pixels += int((~entry["black"]).sum())
    row["scratch F1"], row["dust F1"] = f1(marks["scratch"]), f1(marks["dust"])
    row["Kodak clean %"] = 100.0 * flagged / max(1, pixels)
    val = [p >= threshold for p in data["val"]]
    row["val clean %"] = 100.0 * float(np.mean([m.mean() for m in val])) if val else float("nan")
    return row


def calibrated(data: dict[str, list], budget: float) -> float:
    pooled = np.concatenate([p.ravel() for p in data["val"]])
    return max(0.3, float(np.quantile(pooled, 1.0 - budget)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real"))
    parser.add_argument("--real-masks", type=Path, default=Path("tests/data/real_masks"))
    parser.add_argument("--images", type=Path, default=Path("../shared/data/bench"))
    parser.add_argument("--clean", type=Path, default=Path("../shared/data/train/val"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--limit", type=int, default=0, help="first N Kodak photos only")
    parser.add_argument("--limit-clean", type=int, default=0, help="first N clean photos only")
    parser.add_argument("--models-dir", type=Path)
    parser.add_argument("--thresholds", default="", help="comma-separated; default: the model's")
    parser.add_argument("--budgets", default="", help="calibrate on --clean to these shares")
    parser.add_argument("--hysteresis", default="", help="comma-separated ratios K < 1")
    parser.add_argument("--views", default="1", help="comma-separated: 1, 2 or 4 flips")
    args = parser.parse_args()
    net = load_net(args.models_dir)
    default = default_threshold("net", args.models_dir)
    ratios = [1.0] + [float(k) for k in args.hysteresis.split(",") if k]
    columns = None
    for views in sorted({int(v) for v in args.views.split(",")}):
        data = collect(args, net, views, default)
        for ratio in ratios:
            grown = with_hysteresis(data, ratio)
            chosen = [float(t) for t in args.thresholds.split(",") if t]
            chosen += [calibrated(grown, float(b)) for b in args.budgets.split(",") if b]
            for threshold in chosen or [default]:
                row = score(grown, threshold)
                if columns is None:
                    columns = list(row)
                    print(
                        "| views | hysteresis | threshold | sensitivity | "
                        + " | ".join(columns)
                        + " |"
                    )
                    print("|---" * (4 + len(columns)) + "|")
                values = " | ".join(f"{row[c]:.3f}" for c in columns)
                print(
                    f"| {views} | {ratio:g} | {threshold:.4f} | "
                    f"{sensitivity_for(threshold, default):.2f} | {values} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
