"""Benchmark the damage detectors on damage synthesized over the bench photos (fixed seed).

    python tools/bench_detect.py --images ../shared/data/bench [--limit N] [--json out.json]
    python tools/bench_detect.py --calibrate ../shared/data/train   # classical default threshold
    python tools/bench_detect.py --methods net,classical --record   # into the net's manifest entry

Per method (net, classical), pooled over the photos:

* scratch F1 and dust F1: each photo damaged once with scratches only and once with dust only
  (rendered with grain and JPEG noise). ``F1`` leaves out the pixels a detector cannot be
  judged on (hole pixels where the mark is invisible, the blurred fringe just outside a mark);
  ``strict F1`` counts every pixel against the generator's mask;
* clean FP: share of the pixels flagged on the untouched photos at the default threshold;
  rows or columns already black in a photo (the Kodak PNGs' last row: damage the files have)
  are left out of this and of F1 (``black_lines``);
* end to end: the photo with scratches and dust, filled (``--fill-method``, telea) over the
  detected mask (grown as ``fill --auto-mask`` grows it) versus over the true mask;
  hole-PSNR over the true damage, and the gap;
* speed: seconds per megapixel of the detection alone.

``--real DIR`` instead scores the real damaged scans in DIR against the reference masks made by
``tools/real_masks.py`` (``tests/data/real_masks``): recall (share of the reference damage
within ``--tolerance`` px of a detected pixel) and precision (share of the detected pixels
within that distance of reference damage), leaving out the masks' ignore pixels.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.base import metrics
from core.base.imageio import list_images, read_rgb8
from core.detect import detect, fill_mask, threshold_mask
from core.detect.synth import synthesize
from core.detect.train import tolerant_counts
from core.pipeline.session import FillRequest, fill


def counts(pred: np.ndarray, mask: np.ndarray, ignore: np.ndarray | None) -> np.ndarray:
    keep = np.ones_like(mask) if ignore is None else ~ignore
    return np.array(
        [(pred & mask & keep).sum(), (pred & ~mask & keep).sum(), (~pred & mask & keep).sum()],
        np.int64,
    )


def f1(tp_fp_fn: np.ndarray) -> float:
    tp, fp, fn = (float(v) for v in tp_fp_fn)
    return 2 * tp / max(1.0, 2 * tp + fp + fn)


def precision(tp_fp_fn: np.ndarray) -> float:
    tp, fp, _ = (float(v) for v in tp_fp_fn)
    return tp / max(1.0, tp + fp)


def recall(tp_fp_fn: np.ndarray) -> float:
    tp, _, fn = (float(v) for v in tp_fp_fn)
    return tp / max(1.0, tp + fn)


def hole_psnr(out: np.ndarray, clean: np.ndarray, mask: np.ndarray) -> float:
    """``core.base.metrics.hole_psnr`` of two uint8 images."""
    return metrics.hole_psnr(out / 255.0, clean / 255.0, mask)


def black_lines(clean: np.ndarray) -> np.ndarray:
    """Rows and columns that are entirely black in the *clean* photo: damage the source file
    already has (every Kodak PNG here ends in a black row). A detector that flags them finds
    real damage, so they are left out of F1 and of the clean-photo false positives."""
    dark = clean.max(axis=2) == 0
    lines = np.zeros(dark.shape, bool)
    lines[dark.all(axis=1), :] = True
    lines[:, dark.all(axis=0)] = True
    return lines


def to_u8(image: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8)


def run(
    images: list[Path],
    methods: list[str],
    seed: int,
    fill_method: str,
    models: Path | None,
    at: float | None = None,
) -> dict:
    results: dict = {}
    for method in methods:
        c = {k: np.zeros(3, np.int64) for k in ("scratch", "dust", "scratch_strict", "dust_strict")}
        flagged, pixels, seconds, megapixels, judged_out = 0, 0, 0.0, 0.0, 0
        psnr_true, psnr_detected = [], []
        threshold = None
        for index, path in enumerate(images):
            clean = read_rgb8(path)
            clean_f = clean.astype(np.float32) / 255.0
            known_damage = black_lines(clean)
            for kind in ("scratch", "dust"):
                rng = np.random.default_rng([seed, index, 0 if kind == "scratch" else 1])
                d = synthesize(clean_f, rng, (kind,))
                t = time.perf_counter()
                result = detect(to_u8(d.image), method=method, models_dir=models, threshold=at)
                seconds += time.perf_counter() - t
                megapixels += clean.shape[0] * clean.shape[1] / 1e6
                threshold = result.threshold
                c[kind] += counts(result.mask, d.mask, d.ignore | known_damage)
                c[f"{kind}_strict"] += counts(result.mask, d.mask, known_damage)
            result = detect(clean, method=method, models_dir=models, threshold=at)
            flagged += int((result.mask & ~known_damage).sum())
            pixels += int((~known_damage).sum())
            judged_out += int(known_damage.sum())
            # End to end: both kinds together, filled over the true and the detected mask.
            rng = np.random.default_rng([seed, index, 2])
            d = synthesize(clean_f, rng, ("scratch", "dust"))
            damaged = to_u8(d.image)
            detected = fill_mask(detect(damaged, method=method, models_dir=models, threshold=at))
            for mask, store in ((d.mask, psnr_true), (detected, psnr_detected)):
                out = fill(FillRequest(damaged, mask, fill_method))
                store.append(hole_psnr(out, clean, d.mask))
            print(f"  {method}: {path.name} done", file=sys.stderr, flush=True)
        results[method] = {
            "threshold": threshold,
            "scratch_f1": f1(c["scratch"]),
            "dust_f1": f1(c["dust"]),
            "scratch_precision": precision(c["scratch"]),
            "scratch_recall": recall(c["scratch"]),
            "dust_precision": precision(c["dust"]),
            "dust_recall": recall(c["dust"]),
            "scratch_f1_strict": f1(c["scratch_strict"]),
            "dust_f1_strict": f1(c["dust_strict"]),
            "clean_fp_percent": 100.0 * flagged / max(1, pixels),
            "black_line_pixels_left_out": judged_out,
            "e2e_psnr_true_mask": float(np.mean(psnr_true)),
            "e2e_psnr_detected": float(np.mean(psnr_detected)),
            "e2e_gap_db": float(np.mean(psnr_true) - np.mean(psnr_detected)),
            "seconds_per_mp": seconds / max(1e-9, megapixels),
        }
    return results


def table(results: dict, fill_method: str) -> str:
    rows = [
        "| method | thr | scratch F1 (strict) P/R | dust F1 (strict) P/R | clean FP % | "
        f"hole-PSNR true / detected ({fill_method}) | gap dB | s/MP |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        rows.append(
            f"| {name} | {r['threshold']:.3f} | "
            f"{r['scratch_f1']:.3f} ({r['scratch_f1_strict']:.3f}) "
            f"{r['scratch_precision']:.2f}/{r['scratch_recall']:.2f} | "
            f"{r['dust_f1']:.3f} ({r['dust_f1_strict']:.3f}) "
            f"{r['dust_precision']:.2f}/{r['dust_recall']:.2f} | {r['clean_fp_percent']:.3f} | "
            f"{r['e2e_psnr_true_mask']:.2f} / {r['e2e_psnr_detected']:.2f} | "
            f"{r['e2e_gap_db']:.2f} | {r['seconds_per_mp']:.2f} |"
        )
    return "\n".join(rows)


def run_real(
    folder: Path, masks: Path, methods: list[str], tolerance: int, models: Path | None
) -> dict:
    """Recall and precision on the real scans against their reference masks, per scan and
    pooled."""
    import cv2

    results: dict = {}
    names = sorted(p.stem for p in masks.glob("*.png"))
    for method in methods:
        pooled, per = np.zeros(4, np.int64), {}
        for name in names:
            scan = folder / f"{name}.png"
            if not scan.is_file():
                print(f"  no scan {scan}: skipped", file=sys.stderr)
                continue
            reference = cv2.imread(str(masks / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
            result = detect(read_rgb8(scan), method=method, models_dir=models)
            c = tolerant_counts(result.mask, reference, tolerance)
            pooled += c
            per[name] = {
                "recall": c[0] / max(1, c[1]),
                "precision": c[2] / max(1, c[3]),
                "flagged_percent": 100.0 * float(result.mask.mean()),
                "reference_percent": 100.0 * float((reference == 255).mean()),
            }
        results[method] = {
            "recall": pooled[0] / max(1, pooled[1]),
            "precision": pooled[2] / max(1, pooled[3]),
            "scans": per,
        }
    return results


def real_table(results: dict, tolerance: int) -> str:
    rows = [
        f"| method | scan | recall ({tolerance} px) | precision ({tolerance} px) | flagged % "
        "| reference % |",
        "|---|---|---|---|---|---|",
    ]
    for method, r in results.items():
        for name, s in r["scans"].items():
            rows.append(
                f"| {method} | {name} | {s['recall']:.3f} | {s['precision']:.3f} | "
                f"{s['flagged_percent']:.2f} | {s['reference_percent']:.2f} |"
            )
        rows.append(f"| {method} | pooled | {r['recall']:.3f} | {r['precision']:.3f} | | |")
    return "\n".join(rows)


def run_large(
    images: list[Path], megapixels: float, seed: int, models: Path | None, tile: int | None = None
) -> dict:
    """Seconds and peak memory of one detection on a ``megapixels`` photo (the first bench
    photo enlarged, with 40 long scratches 2-12 px wide), 8-bit as a scan opens. Alone in its
    process: the peak is the process's (``ru_maxrss``)."""
    import resource

    import cv2

    clean = read_rgb8(images[0])
    h, w = clean.shape[:2]
    factor = (megapixels * 1e6 / (h * w)) ** 0.5
    size = (round(w * factor), round(h * factor))
    damaged = cv2.resize(clean, size, interpolation=cv2.INTER_CUBIC)
    # A few long scratches drawn in place: a float synthesis of 24 MP would set the peak itself.
    rng = np.random.default_rng([seed, 99])
    for _ in range(40):
        x0, x1 = rng.integers(0, size[0], 2)
        y0, y1 = rng.integers(0, size[1], 2)
        shade = (235, 232, 220) if rng.random() < 0.6 else (30, 28, 25)
        cv2.line(damaged, (int(x0), int(y0)), (int(x1), int(y1)), shade, int(rng.integers(2, 12)))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    result = detect(damaged, models_dir=models, tile=tile)
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mp = damaged.shape[0] * damaged.shape[1] / 1e6
    return {
        "megapixels": round(mp, 2),
        "seconds": round(seconds, 1),
        "seconds_per_mp": round(seconds / mp, 3),
        "peak_rss_mib": round(peak),
        "peak_rss_before_detect_mib": round(before),
        "method": result.method,
    }


def calibrate(folder: Path, budget: float) -> None:
    """Print the classical threshold flagging ``budget`` of the clean ``val/`` pixels."""
    from core.base.progress import run_to_end
    from core.detect.classical import classical_steps

    files = [p for p in list_images(folder, recursive=True) if p.parent.name == "val"]
    probs = [
        run_to_end(classical_steps(read_rgb8(p).astype(np.float32) / 255.0)).ravel() for p in files
    ]
    pooled = np.concatenate(probs)
    t = float(np.quantile(pooled, 1.0 - budget))
    print(
        f"classical threshold for {budget:.2%} of clean val pixels: {t:.4f} "
        f"({float(threshold_mask(pooled, t).mean()):.4%} flagged)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, default=Path("../shared/data/bench"))
    parser.add_argument("--methods", default="net,classical")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--limit", type=int, default=0, help="first N photos only")
    parser.add_argument("--fill-method", default="telea")
    parser.add_argument(
        "--threshold", type=float, help="score at this threshold (default: each method's own)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--calibrate", type=Path, metavar="CORPUS")
    parser.add_argument("--budget", type=float, default=0.0025)
    parser.add_argument("--models-dir", type=Path, help="models folder (default: resources/models)")
    parser.add_argument("--real", type=Path, metavar="DIR", help="score the real scans in DIR")
    parser.add_argument("--real-masks", type=Path, default=Path("tests/data/real_masks"))
    parser.add_argument("--tolerance", type=int, default=2, help="px, for --real")
    parser.add_argument(
        "--large", type=float, metavar="MP", help="time one detection on an MP-megapixel photo"
    )
    parser.add_argument("--tile", type=int, help="tile side for --large (default: the net's)")
    parser.add_argument(
        "--record",
        action="store_true",
        help="write the results into the detect model's manifest entry (training.benchmark)",
    )
    args = parser.parse_args()
    if args.record and args.threshold is not None:
        parser.error("--record stores the figures at the default threshold: leave out --threshold")
    if args.calibrate:
        calibrate(args.calibrate, args.budget)
        return 0
    if args.real:
        real = run_real(
            args.real, args.real_masks, args.methods.split(","), args.tolerance, args.models_dir
        )
        print(real_table(real, args.tolerance))
        if args.json:
            args.json.write_text(json.dumps(real, indent=2) + "\n")
        if args.record:
            record_real(real, args)
        return 0
    images = list_images(args.images)
    if args.large:
        print(json.dumps(run_large(images, args.large, args.seed, args.models_dir, args.tile)))
        return 0
    if args.limit:
        images = images[: args.limit]
    results = run(
        images,
        args.methods.split(","),
        args.seed,
        args.fill_method,
        args.models_dir,
        args.threshold,
    )
    print(table(results, args.fill_method))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if args.record:
        record(results, args)
    return 0


def record(results: dict, args: argparse.Namespace) -> None:
    """Store the figures beside the weights they were measured on."""
    from core.base.resources import MODELS_DIR
    from core.base.weights import model_entry, write_manifest_entry
    from core.detect.net import MODEL_NAME

    models = args.models_dir or MODELS_DIR
    entry = model_entry(MODEL_NAME, models)
    command = (
        f"python tools/bench_detect.py --images {args.images} --seed {args.seed} "
        f"--fill-method {args.fill_method}"
    )
    if args.limit:
        command += f" --limit {args.limit}"
    rounded = {m: {k: round(v, 4) for k, v in r.items()} for m, r in results.items()}
    entry.setdefault("training", {})["benchmark"] = {
        "command": command,
        "what": "Kodak24, scratch-only and dust-only damage synthesized with the seed; F1 leaves "
        "out invisible hole pixels and the blurred fringe (strict: every pixel); clean FP on "
        "the untouched photos; end to end: fill over the detected mask grown as fill "
        "--auto-mask grows it vs the true mask, hole-PSNR over the true damage; s/MP: the "
        "detection alone on a 2-core CPU",
        **rounded,
    }
    write_manifest_entry(entry, models)


def record_real(results: dict, args: argparse.Namespace) -> None:
    """Store the real-scan figures beside the weights (training.benchmark_real)."""
    from core.base.resources import MODELS_DIR
    from core.base.weights import model_entry, write_manifest_entry
    from core.detect.net import MODEL_NAME

    models = args.models_dir or MODELS_DIR
    entry = model_entry(MODEL_NAME, models)

    def rounded(value):
        if isinstance(value, dict):
            return {k: rounded(v) for k, v in value.items()}
        return round(float(value), 4)

    entry.setdefault("training", {})["benchmark_real"] = {
        "command": f"python tools/bench_detect.py --real {args.real} --real-masks "
        f"{args.real_masks} --tolerance {args.tolerance}",
        "what": "real damaged scans (../shared/data/real) against the reference masks of "
        "tools/real_masks.py: recall and precision with the tolerance; a scan whose damage "
        "was pasted into training (the data note names it) is not a held-out figure",
        **{m: rounded(r) for m, r in results.items()},
    }
    write_manifest_entry(entry, models)


if __name__ == "__main__":
    sys.exit(main())
