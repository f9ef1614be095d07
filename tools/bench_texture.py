"""Benchmark of the texture engine (``core.texture``) beside the net alone and classical fills.

    python tools/bench_texture.py [--images 24] [--classes medium thick box]
                                  [--methods texture patchmatch net telea ns biharmonic]
                                  [--variants 8] [--speed] [--json out.json] [--set KEY=VALUE]

Every Kodak photo (``../shared/data/bench``, 768 x 512) is one crop with the bench's seeded mask
of each class (``core.bench.bench_masks``, the masks ``bench`` uses). Methods:

* ``net``: the manifold net's fill (prior mean): today's fill;
* ``texture``: the engine guided by that fill; ``patchmatch``: the engine without a guide
  (plain multi-scale exemplar completion, the PatchMatch baseline);
* ``pmcython``: patchmatch-cython's ``inpaint_pyramid`` when that package is installed (an
  outside PatchMatch, not a dependency of the project);
* ``telea``, ``ns``, ``biharmonic``: the classical methods.

Per class and method (``core.base.metrics``): hole-PSNR, hole-SSIM, detail (gradient magnitude in
the hole over the original's), structure PSNR (hole-PSNR after a sigma-3 px Gaussian blur of
both images), grain (fine-texture std in the fill over the ring around it), the CIELAB a* shift
against that ring, and the median seconds (the net's time is not in ``texture``'s). Fills of
the slow baselines are cached under ``runs/texture_cache`` so design iterations rerun only the
engine.

``--variants K``: for each photo and class, K latents z (seeds 0..K-1) give K guides; the mean
pairwise change (mean absolute difference in the hole, 0-255, after the sigma-3 blur) of the
net's fills against the engine's (seed i with guide i), and the engine's detail.
``--speed``: median warm seconds (wall and CPU) of the engine on a 512 x 512 crop with a 30 %
hole (a box and a stroke mask), and of the net beside it. The CPU is shared: the load average
is printed.
``--set KEY=VALUE`` overrides a ``TextureOptions`` field (experiments).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.base.maskgen import KINDS
from core.base.metrics import (
    colour_shift,
    gradient_ratio,
    grain_ratio,
    hole_psnr,
    hole_ssim,
    structure_psnr,
)
from core.base.progress import run_to_end
from core.bench import bench_masks, pairwise_blurred_change, read_rgb
from core.methods.base import CropContext
from core.pipeline.registry import get_method
from core.texture import TextureOptions, synthesize_steps

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "data" / "bench"
CACHE = ROOT / "runs" / "texture_cache"
CACHED = {"net", "telea", "ns", "biharmonic", "pmcython"}


# -- the guide (one helper, so it is easy to repoint when the manifold code moves) ---------------


class Net:
    """The manifold net's fill of a crop: the engine's guide (the last crop's encoding is
    kept, so variants cost a decode each)."""

    def __init__(self) -> None:
        self.method = get_method("manifold")
        self._last: tuple[bytes, object] | None = None

    def fill(self, crop: np.ndarray, hole: np.ndarray, seed: int | None = None) -> np.ndarray:
        key = crop.tobytes() + np.packbits(hole).tobytes()
        if self._last is None or self._last[0] != key:
            self._last = (key, self.method.encode(crop, hole))
        cache = self._last[1]
        z = None if seed is None else self.method.sample_z(cache, seed)
        return self.method.decode(cache, z)

    def forget(self) -> None:
        self._last = None


# -- metrics ------------------------------------------------------------------------------


def scores(out: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> dict[str, float]:
    return {
        "psnr": hole_psnr(out, truth, hole),
        "ssim": hole_ssim(out, truth, hole),
        "detail": gradient_ratio(out, truth, hole),
        "structure": structure_psnr(out, truth, hole),
        "grain": grain_ratio(out, hole),
        "lab_a": float(colour_shift(out, hole)[1]),
    }


# -- methods ------------------------------------------------------------------------------


def classical(name: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    method = get_method(name)
    return lambda crop, hole: method.fill(crop, hole, CropContext())


def pmcython(crop: np.ndarray, hole: np.ndarray) -> np.ndarray:
    from patchmatch_cython import inpaint_pyramid

    out = inpaint_pyramid(np.rint(crop * 255).astype(np.uint8), hole, seed=0)
    return out.astype(np.float32) / 255.0


def engine(
    crop: np.ndarray, hole: np.ndarray, guide: np.ndarray | None, seed: int, options: TextureOptions
) -> np.ndarray:
    return run_to_end(synthesize_steps(crop, hole, guide, seed, options=options))


def cached_fill(
    name: str, stem: str, kind: str, compute: Callable[[], np.ndarray]
) -> tuple[np.ndarray, float]:
    """(fill, seconds); seconds is NaN when the fill came from the cache."""
    path = CACHE / f"{stem}_{kind}_{name}.npy"
    if path.exists():
        return np.load(path), float("nan")
    started = time.perf_counter()
    out = compute()
    seconds = time.perf_counter() - started
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, out.astype(np.float32))
    np.save(path.with_suffix(".seconds.npy"), np.float32(seconds))
    return out, seconds


def cached_seconds(name: str, stem: str, kind: str) -> float:
    path = CACHE / f"{stem}_{kind}_{name}.seconds.npy"
    return float(np.load(path)) if path.exists() else float("nan")


def load_case(index: int, path: Path, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(truth, masked crop, hole) of photo ``index`` and mask class ``kind``."""
    truth = read_rgb(path)[..., :3].astype(np.float32) / 255.0
    hole = bench_masks(truth.shape[0], truth.shape[1], index, [kind], 0)[kind]
    crop = truth.copy()
    crop[hole] = 0.0
    return truth, crop, hole


def fills_for(
    index: int,
    path: Path,
    kind: str,
    methods: list[str],
    options: TextureOptions,
    get_net: Callable[[], Net],
) -> dict[str, tuple[np.ndarray, float]]:
    """{method: (fill, seconds)} for one photo and class."""
    _, crop, hole = load_case(index, path, kind)
    stem = path.stem
    results: dict[str, tuple[np.ndarray, float]] = {}
    need_net = "net" in methods or "texture" in methods
    if need_net:
        net, seconds = cached_fill("net", stem, kind, lambda: get_net().fill(crop, hole))
        results["net"] = (net, seconds if seconds == seconds else cached_seconds("net", stem, kind))
    for name in methods:
        if name in CACHED and name != "net":
            compute = pmcython if name == "pmcython" else classical(name)
            out, seconds = cached_fill(name, stem, kind, lambda c=compute: c(crop, hole))
            if seconds != seconds:
                seconds = cached_seconds(name, stem, kind)
            results[name] = (out, seconds)
        elif name in ("texture", "patchmatch"):
            guide = results["net"][0] if name == "texture" else None
            started = time.perf_counter()
            out = engine(crop, hole, guide, 0, options)
            results[name] = (out, time.perf_counter() - started)
    return {m: results[m] for m in methods}


def run_table(
    images: list[Path],
    indices: list[int],
    classes: list[str],
    methods: list[str],
    options: TextureOptions,
) -> dict[str, dict[str, dict[str, float]]]:
    net: list[Net] = []

    def get_net() -> Net:
        if not net:
            net.append(Net())
        return net[0]

    per: dict[str, dict[str, dict[str, list[float]]]] = {
        k: {m: {} for m in methods} for k in classes
    }
    for index, path in zip(indices, images, strict=True):
        for kind in classes:
            truth, _, hole = load_case(index, path, kind)
            for name, (out, seconds) in fills_for(
                index, path, kind, methods, options, get_net
            ).items():
                row = per[kind][name]
                for key, value in {**scores(out, truth, hole), "seconds": seconds}.items():
                    row.setdefault(key, []).append(value)
        print(f"  {path.stem} done", file=sys.stderr, flush=True)
    return {
        k: {
            m: {
                key: float(np.nanmedian(v)) if key == "seconds" else float(np.mean(v))
                for key, v in row.items()
            }
            for m, row in by_method.items()
        }
        for k, by_method in per.items()
    }


def format_table(table: dict[str, dict[str, dict[str, float]]]) -> str:
    head = (
        f"{'class':<7} {'method':<11} {'PSNR':>6} {'SSIM':>6} {'detail':>6} {'struct':>6} "
        f"{'grain':>6} {'Lab a*':>6} {'s':>6}"
    )
    lines = [head, "-" * len(head)]
    for kind, by_method in table.items():
        for name, s in by_method.items():
            lines.append(
                f"{kind:<7} {name:<11} {s['psnr']:>6.2f} {s['ssim']:>6.3f} {s['detail']:>6.2f} "
                f"{s['structure']:>6.2f} {s['grain']:>6.2f} {s['lab_a']:>6.2f} "
                f"{s['seconds']:>6.2f}"
            )
    return "\n".join(lines)


# -- variants and speed ---------------------------------------------------------------------


def run_variants(
    images: list[Path],
    indices: list[int],
    classes: list[str],
    count: int,
    options: TextureOptions,
) -> dict[str, dict[str, float]]:
    net = Net()
    report: dict[str, dict[str, float]] = {}
    for kind in classes:
        net_change, tex_change, details = [], [], []
        for index, path in zip(indices, images, strict=True):
            truth, crop, hole = load_case(index, path, kind)
            guides = [net.fill(crop, hole, seed) for seed in range(count)]
            textured = [engine(crop, hole, g, s, options) for s, g in enumerate(guides)]
            net_change.append(pairwise_blurred_change(guides, hole))
            tex_change.append(pairwise_blurred_change(textured, hole))
            details.extend(gradient_ratio(t, truth, hole) for t in textured)
        report[kind] = {
            "net_change": float(np.mean(net_change)),
            "texture_change": float(np.mean(tex_change)),
            "ratio": float(np.mean(tex_change) / max(np.mean(net_change), 1e-9)),
            "texture_detail_min": float(np.min(details)),
            "texture_detail_mean": float(np.mean(details)),
        }
    return report


def run_speed(options: TextureOptions, repeats: int = 5) -> dict[str, float]:
    """Median warm seconds of the guided engine on a 512 x 512 crop with a 30 % hole; the
    guide is the net's fill (its time reported apart)."""
    image = read_rgb(BENCH / "kodim05.png")[..., :3].astype(np.float32) / 255.0
    crop = np.ascontiguousarray(image[:512, 128:640])
    side = round((0.3 * 512 * 512) ** 0.5)
    box = np.zeros((512, 512), bool)
    box[(512 - side) // 2 : (512 + side) // 2, (512 - side) // 2 : (512 + side) // 2] = True
    strokes = bench_masks(512, 512, 4, ["thick"], 0)["thick"]
    net = Net()
    result: dict[str, float] = {}
    for name, hole in {"box": box, "strokes": strokes}.items():
        masked = crop.copy()
        masked[hole] = 0.0
        guide = net.fill(masked, hole)
        times, cpu_times, net_times = [], [], []
        for r in range(repeats + 1):
            started, cpu = time.perf_counter(), time.process_time()
            engine(masked, hole, guide, r, options)
            times.append(time.perf_counter() - started)
            cpu_times.append(time.process_time() - cpu)
            net.forget()
            started = time.perf_counter()
            net.fill(masked, hole, r)
            net_times.append(time.perf_counter() - started)
        result[f"{name}_hole_share"] = float(hole.mean())
        result[f"{name}_texture_s"] = statistics.median(times[1:])
        # The engine runs on one thread: its CPU time is its wall time on an idle machine.
        result[f"{name}_texture_cpu_s"] = statistics.median(cpu_times[1:])
        result[f"{name}_net_s"] = statistics.median(net_times[1:])
    return result


def parse_options(pairs: list[str]) -> TextureOptions:
    fields = {f.name: f.type for f in dataclasses.fields(TextureOptions)}
    values: dict[str, object] = {}
    for pair in pairs:
        key, _, raw = pair.partition("=")
        if key not in fields:
            raise SystemExit(f"unknown option {key!r}")
        values[key] = json.loads(raw)
    return TextureOptions(**values)  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--first", type=int, default=0, help="skip this many photos")
    parser.add_argument("--classes", nargs="+", default=["medium", "thick", "box"], choices=KINDS)
    parser.add_argument(
        "--methods",
        nargs="*",
        default=["texture", "patchmatch", "net", "telea", "ns", "biharmonic"],
    )
    parser.add_argument("--variants", type=int, default=0)
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    options = parse_options(args.set)
    images = sorted(BENCH.glob("kodim*.png"))
    if not images:
        print(f"no bench photos in {BENCH}", file=sys.stderr)
        return 1
    chosen = images[args.first : args.first + args.images]
    # Masks are seeded by the photo's index in the full bench, as `bench` seeds them.
    indexed = [images.index(p) for p in chosen]
    report: dict[str, object] = {
        "options": dataclasses.asdict(options),
        "load_average": os.getloadavg(),
    }
    print(f"load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    if args.methods:
        table = run_table(chosen, indexed, args.classes, args.methods, options)
        print(format_table(table))
        report["table"] = table
    if args.variants:
        count = min(len(chosen), 8)
        variants = run_variants(
            chosen[:count], indexed[:count], args.classes, args.variants, options
        )
        print(json.dumps(variants, indent=1))
        report["variants"] = variants
    if args.speed:
        speed = run_speed(options)
        print(json.dumps(speed, indent=1))
        report["speed"] = speed
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
