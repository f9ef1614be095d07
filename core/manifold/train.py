"""Training loop of the manifold net (single process, or DDP under ``torchrun``).

Objective (two paths, after Pluralistic Image Completion, to keep the latent alive):

* reconstructive path (first ``posterior_fraction`` of each batch): z ~ q(z | full image, hole),
  decoded and compared with the truth; KL(q || p(z | context)) with free bits pulls the prior
  towards the posterior without squeezing the posterior shut (a plain CVAE's KL drives q onto p
  and the decoder learns to ignore z);
* generative path (rest of the batch): z = prior mean, also compared with the truth, so the
  prior mean is the best single (most likely) fill that inference uses by default.

Reconstruction terms, on every sample normalised by its own hole area so that 1-px scratches
weigh as much as big boxes: L1 over the hole and a 3-px band around it (the pipeline blends over
that band) with a small weight elsewhere; L1 of image gradients (edges continued, not smeared);
and a log-amplitude spectrum loss (keeps texture energy that plain L1 trades for blur).

Checkpoints are ``torch.save`` dicts of tensors and plain values, read back with
``weights_only=True`` (no code runs on load). The shipped model is exported to safetensors.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core import maskgen
from core.cpu import tune_allocator
from core.errors import InpaintError
from core.imageio import read_rgb8
from core.manifold.data import Batch, RandomCrops, split_files, validation_batches
from core.manifold.net import Encoded, ManifoldNet, NetConfig, count_parameters
from core.metrics import gradient_ratio, hole_psnr
from core.progress import Progress, Steps


def _default_kinds() -> dict[str, float]:
    return {"scratch": 0.14, "dust": 0.1, "thin": 0.16, "medium": 0.18, "thick": 0.2, "box": 0.22}


@dataclass
class TrainConfig:
    """Training hyper-parameters (stored with the checkpoints and the exported weights)."""

    crop: int = 160
    batch: int = 12  # per process
    steps: int = 100_000
    lr: float = 3e-4
    warmup: int = 300
    lr_final: float = 0.05
    grad_clip: float = 1.0
    # Loss weights.
    known_weight: float = 0.1  # L1 weight of known pixels farther than the blend band
    w_l1: float = 1.0
    w_grad: float = 1.0
    w_fft: float = 0.05
    w_kl: float = 0.002
    # Adversarial (PatchGAN, hinge) weight on the fills; 0 = no discriminator. Rewards texture
    # and sharp continued edges that L1 trades for blur.
    w_adv: float = 0.0
    # Diversity (mode seeking) on the generative path: a fill decoded from a prior sample must
    # differ in structure from the prior-mean fill by at least ``div_target`` (mean |change of
    # the image gradients| at 1/4 scale in the hole, per unit of whitened noise) and meet the
    # photo at the hole's border; keeps the decoder from ignoring z. 0 = off. Pair it with
    # w_adv, which keeps the sampled fills realistic.
    w_div: float = 0.0
    div_target: float = 0.02
    # Every latent axis alive and distinct (for the sliders): on the generative path, two random
    # z axes are each moved by 2 prior std; each move must change the fill's structure (as in
    # the diversity term) by at least ``axis_target`` per std (hinge, weight ``w_axis``), and the
    # two changes (hole pixels at ``axis_pool`` scale) must not point the same way (squared
    # cosine, weight ``w_decor``; after OroJaR, Wei et al. 2021). Without it the decoder routes z
    # through a few shared directions and the sliders past the fifth barely move the fill.
    # 0 = off.
    w_axis: float = 0.0
    axis_target: float = 0.01
    w_decor: float = 0.0
    # Scale of both measures (average pooling factor): coarser ones leave the decoder no room to
    # make two axes "different" by fine grid patterns in different phases.
    axis_pool: int = 4
    disc_lr: float = 2e-4
    free_bits: float = 0.25  # nats per latent dimension that cost nothing
    posterior_fraction: float = 0.5
    # Data.
    scale_min: float = 0.35
    scale_max: float = 1.0
    kind_weights: dict[str, float] = field(default_factory=_default_kinds)
    val_count: int = 16
    val_crop: int = 192
    # Schedule.
    val_every: int = 500
    ckpt_every: int = 200
    log_every: int = 50
    seed: int = 0
    threads: int = 0  # torch threads per process; 0 = torch's default

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# ---------------------------------------------------------------------------------------------
# Losses


def _band(hole: torch.Tensor, width: int = 3) -> torch.Tensor:
    return F.max_pool2d(hole, 2 * width + 1, stride=1, padding=width)


def _per_sample(values: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weighted mean per sample, then mean over the batch."""
    dims = tuple(range(1, values.dim()))
    num = (values * weight).sum(dim=dims)
    den = (weight.expand_as(values)).sum(dim=dims).clamp_min(1e-6)
    return (num / den).mean()


def reconstruction_losses(
    out: torch.Tensor, truth: torch.Tensor, hole: torch.Tensor, config: TrainConfig
) -> dict[str, torch.Tensor]:
    band = _band(hole)
    weight = band + config.known_weight * (1 - band)
    l1 = _per_sample((out - truth).abs(), weight)
    comp = out * hole + truth * (1 - hole)
    grad = _gradient_l1(comp, truth, band).mean()
    spec_out = torch.fft.rfft2(comp.float(), norm="ortho").abs()
    spec_true = torch.fft.rfft2(truth.float(), norm="ortho").abs()
    fft = (torch.log1p(spec_out) - torch.log1p(spec_true)).abs().mean()
    return {"l1": l1, "grad": grad, "fft": fft}


def _gradient_l1(a: torch.Tensor, b: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """Per sample: mean |grad a - grad b| (channel mean, x and y) over the pixels ``where``."""
    dx = (a[..., :, 1:] - a[..., :, :-1]) - (b[..., :, 1:] - b[..., :, :-1])
    dy = (a[..., 1:, :] - a[..., :-1, :]) - (b[..., 1:, :] - b[..., :-1, :])
    total = torch.zeros(a.shape[0], device=a.device)
    for diff, w in ((dx, where[..., :, 1:]), (dy, where[..., 1:, :])):
        num = (diff.abs().mean(dim=1, keepdim=True) * w).sum(dim=(1, 2, 3))
        total = total + num / w.sum(dim=(1, 2, 3)).clamp_min(1)
    return total


def kl_per_dim(
    mu_q: torch.Tensor, logvar_q: torch.Tensor, mu_p: torch.Tensor, logvar_p: torch.Tensor
) -> torch.Tensor:
    """KL(q || p) of diagonal Gaussians, (B, z_dim)."""
    return 0.5 * (
        logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p) ** 2) / logvar_p.exp() - 1.0
    )


class TrainStep(nn.Module):
    """The whole training forward in ``forward`` (what DDP needs to see)."""

    def __init__(self, net: ManifoldNet, config: TrainConfig) -> None:
        super().__init__()
        self.net = net
        self.config = config

    def forward(
        self, image: torch.Tensor, hole: torch.Tensor, init: torch.Tensor, eps: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        """-> (loss, terms, fills composited over the photo, their holes): the fills of every
        sample, then those decoded from prior samples when the diversity term is on."""
        net, config = self.net, self.config
        enc = net.encode(image * (1 - hole), hole, init)
        n_post = max(1, round(image.shape[0] * config.posterior_fraction))
        post = slice(0, n_post)
        mu_q, logvar_q = net.posterior_stats(image[post], hole[post], enc.take(post))
        z_q = mu_q + eps[post] * (0.5 * logvar_q).exp()
        z = torch.cat([z_q, enc.prior_mu[n_post:]], dim=0)
        out = net.decode(enc, z)
        terms = reconstruction_losses(out, image, hole, config)
        kl = kl_per_dim(mu_q, logvar_q, enc.prior_mu[post], enc.prior_logvar[post])
        # Free bits on the batch-mean KL of each dimension.
        terms["kl"] = kl.mean(dim=0).clamp_min(config.free_bits).sum()
        terms["kl_raw"] = kl.mean(dim=0).sum().detach()
        loss = (
            config.w_l1 * terms["l1"]
            + config.w_grad * terms["grad"]
            + config.w_fft * terms["fft"]
            + config.w_kl * terms["kl"]
        )
        fakes, fake_holes = out * hole + image * (1 - hole), hole
        n_gen = image.shape[0] - n_post
        if config.w_div > 0 and n_gen > 0:
            gen = slice(n_post, None)
            noise, hole_g, truth_g = eps[gen], hole[gen], image[gen]
            z_s = enc.prior_mu[gen] + (0.5 * enc.prior_logvar[gen]).exp() * noise
            sampled = net.decode(enc.take(gen), z_s)
            sampled_comp = sampled * hole_g + truth_g * (1 - hole_g)
            # Structure, not brightness: a shifted hole is the cheap way to differ (it shows
            # the mask as a ghost), so the change is measured on image gradients and the
            # sampled fill must meet the photo at the hole's border like the truth does.
            # At 1/4 scale: pixel-level patterns (a decoder's checkerboard) do not count.
            change = _gradient_l1(
                F.avg_pool2d(sampled, 4),
                F.avg_pool2d(out[gen], 4),
                (F.avg_pool2d(hole_g, 4) > 0.5).float(),
            )
            change = change / noise.abs().mean(dim=1).clamp_min(1e-3)
            ring = _band(hole_g) * _band(1 - hole_g)
            terms["div"] = F.relu(config.div_target - change).mean()
            terms["seam"] = _gradient_l1(sampled_comp, truth_g, ring).mean()
            terms["spread"] = change.mean().detach()
            loss = loss + config.w_div * terms["div"] + config.w_grad * terms["seam"]
            fakes = torch.cat([fakes, sampled_comp])
            fake_holes = torch.cat([hole, hole_g])
        if (config.w_axis > 0 or config.w_decor > 0) and n_gen > 0:
            axis_loss, moved, moved_holes = self._axis_terms(enc, out, image, hole, n_post, terms)
            loss = loss + axis_loss
            # They face the discriminator too: a move that "differs" by a pattern no photo has
            # (a grid, stripes) is then a fake, not a free way to meet the targets.
            fakes = torch.cat([fakes, moved])
            fake_holes = torch.cat([fake_holes, moved_holes])
        return loss, terms, fakes, fake_holes

    def _axis_terms(
        self, enc, out, image, hole, n_post: int, terms: dict
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The ``w_axis`` / ``w_decor`` terms (see ``TrainConfig``) on the generative samples:
        (their loss, the moved fills composited over the photo, their holes)."""
        net, config = self.net, self.config
        gen = slice(n_post, None)
        mu, std = enc.prior_mu[gen], (0.5 * enc.prior_logvar[gen]).exp()
        n, dim = mu.shape
        # Two distinct axes per sample, each with a random sign; moves of 2 std.
        first = torch.randint(dim, (n,), device=mu.device)
        second = (first + torch.randint(1, dim, (n,), device=mu.device)) % dim
        signs = torch.randint(0, 2, (2, n), device=mu.device).float() * 2 - 1
        rows = torch.arange(n, device=mu.device)
        z_moved = torch.cat([mu, mu]).clone()
        z_moved[rows, first] += 2.0 * signs[0] * std[rows, first]
        z_moved[n + rows, second] += 2.0 * signs[1] * std[rows, second]
        moved = net.decode(Encoded.cat([enc.take(gen)] * 2), z_moved)
        # Both moves of a sample against its prior-mean fill, at the terms' scale.
        hole_2, truth_2 = torch.cat([hole[gen]] * 2), torch.cat([image[gen]] * 2)
        pool = config.axis_pool
        hole_p = (F.avg_pool2d(hole_2, pool) > 0.5).float()
        base_p = torch.cat([F.avg_pool2d(out[gen], pool)] * 2)
        moved_p = F.avg_pool2d(moved, pool)
        change = _gradient_l1(moved_p, base_p, hole_p) / 2.0
        responses = (moved_p - base_p) * hole_p
        a, b = responses[:n].flatten(1), responses[n:].flatten(1)
        cosine2 = (a * b).sum(1) ** 2 / ((a * a).sum(1) * (b * b).sum(1) + 1e-20)
        ring = _band(hole_2) * _band(1 - hole_2)
        moved_comp = moved * hole_2 + truth_2 * (1 - hole_2)
        terms["axis"] = F.relu(config.axis_target - change).mean()
        terms["decor"] = cosine2.mean()
        terms["axis_seam"] = _gradient_l1(moved_comp, truth_2, ring).mean()
        terms["axis_change"] = change.mean().detach()
        loss = (
            config.w_axis * terms["axis"]
            + config.w_decor * terms["decor"]
            + config.w_grad * terms["axis_seam"]
        )
        return loss, moved_comp, hole_2


class PatchDiscriminator(nn.Module):
    """Scores 70-px-ish patches of (image, hole mask) as real or filled."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        self.layers = nn.Sequential(
            sn(nn.Conv2d(4, width, 4, stride=2, padding=1)),
            nn.LeakyReLU(0.2, inplace=True),
            sn(nn.Conv2d(width, 2 * width, 4, stride=2, padding=1)),
            nn.LeakyReLU(0.2, inplace=True),
            sn(nn.Conv2d(2 * width, 4 * width, 4, stride=2, padding=1)),
            nn.LeakyReLU(0.2, inplace=True),
            sn(nn.Conv2d(4 * width, 1, 3, padding=1)),
        )

    def forward(self, image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        return self.layers(torch.cat([image, hole], dim=1))


def _patch_weight(hole: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """1 for patches that hold hole pixels: only those are fakes (the rest is the photo)."""
    return (F.adaptive_max_pool2d(hole, logits.shape[-2:]) > 0).float()


# ---------------------------------------------------------------------------------------------
# Validation


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array).contiguous(memory_format=torch.channels_last)


@torch.no_grad()
def validate(net: ManifoldNet, batches: list[Batch], seed: int = 0) -> dict:
    """Hole-PSNR per mask class (prior-mean fill) next to the classical initial fill, and two
    latent-collapse gauges: the KL of the posterior (nats) and the mean hole difference between
    two prior samples."""
    was_training = net.training
    net.eval()
    per_kind: dict[str, list[float]] = {k: [] for k in maskgen.KINDS}
    init_kind: dict[str, list[float]] = {k: [] for k in maskgen.KINDS}
    detail: dict[str, list[float]] = {k: [] for k in maskgen.KINDS}
    kls, spreads = [], []
    gen = torch.Generator().manual_seed(seed)
    for b in batches:
        image, hole, init = _tensor(b.image), _tensor(b.hole), _tensor(b.init)
        enc = net.encode(image * (1 - hole), hole, init)
        out = net.decode(enc, enc.prior_mu).clamp(0, 1)
        comp = (out * hole + image * (1 - hole)).numpy()
        for i, kind in enumerate(b.kinds):
            hole_i = b.hole[i, 0] > 0.5
            fill_i, truth_i = comp[i].transpose(1, 2, 0), b.image[i].transpose(1, 2, 0)
            per_kind[kind].append(hole_psnr(fill_i, truth_i, hole_i))
            init_kind[kind].append(hole_psnr(b.init[i].transpose(1, 2, 0), truth_i, hole_i))
            if hole_i.any():
                detail[kind].append(gradient_ratio(fill_i, truth_i, hole_i))
        mu_q, logvar_q = net.posterior_stats(image, hole, enc)
        kls.append(kl_per_dim(mu_q, logvar_q, enc.prior_mu, enc.prior_logvar).sum(1).mean())
        std = (0.5 * enc.prior_logvar).exp()
        samples = [
            net.decode(enc, enc.prior_mu + std * torch.randn(std.shape, generator=gen))
            for _ in range(2)
        ]
        diff = (samples[0] - samples[1]).abs().mean(1, keepdim=True)
        spreads.append(float((diff * hole).sum() / hole.sum().clamp_min(1)))
    net.train(was_training)
    psnr = {k: float(np.mean(v)) for k, v in per_kind.items() if v}
    base = {k: float(np.mean(v)) for k, v in init_kind.items() if v}
    return {
        "hole_psnr": psnr,
        "init_psnr": base,
        "mean_psnr": float(np.mean(list(psnr.values()))),
        "mean_gain": float(np.mean([psnr[k] - base[k] for k in psnr])),
        "kl_nats": float(torch.stack(kls).mean()),
        "sample_spread": float(np.mean(spreads)),
        # Detail kept in the hole: mean gradient magnitude relative to the truth's (as in bench).
        "grad_ratio": {k: float(np.mean(v)) for k, v in detail.items() if v},
    }


# ---------------------------------------------------------------------------------------------
# Checkpoints


def save_checkpoint(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # atomic: a crash never leaves half a checkpoint


def load_checkpoint(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError) as error:
        raise InpaintError(f"cannot read checkpoint {path}: {error}") from None


# ---------------------------------------------------------------------------------------------
# Loop


@dataclass
class DistInfo:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str) -> DistInfo:
    """Join the process group when started by ``torchrun`` (WORLD_SIZE > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        dist.init_process_group(backend=backend)
    return DistInfo(dist.get_rank(), dist.get_world_size())


def _lr(step: int, config: TrainConfig) -> float:
    """Linear warm-up, then a cosine down to ``lr_final`` x ``lr`` at ``steps``."""
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    span = max(1, config.steps - config.warmup)
    t = min(1.0, (step - config.warmup) / span)
    return config.lr * (config.lr_final + (1 - config.lr_final) * 0.5 * (1 + math.cos(math.pi * t)))


# NetConfig fields a run may change on trained weights: they add or remove no weights.
WEIGHT_FREE_NET_FIELDS = frozenset({"up_blur", "up_blur_full_res"})


def train_steps(
    config: TrainConfig,
    data_dir: Path,
    out_dir: Path,
    net_config: NetConfig | None = None,
    resume: bool = True,
    device: str = "cpu",
    log=print,
    init_from: Path | None = None,
    net_changes: dict | None = None,
) -> Steps[dict]:
    """Train until ``config.steps``; yields Progress per step, returns the last validation.

    ``out_dir`` holds ``last.pt`` (resumed from when present and ``resume``), ``best.pt`` (best
    mean validation hole-PSNR) and ``log.jsonl``. Without a checkpoint to resume, ``init_from``
    (a models folder such as ``resources/models``) starts from its exported manifold weights:
    checkpoints stay on the machine that trained, the shipped weights travel with the repo.
    ``net_changes`` sets weight-free :class:`NetConfig` fields (the decoder's upsampling blur)
    also for a run that resumes or starts from exported weights.
    """
    tune_allocator()
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    dist_info = init_distributed(device)
    if dist_info.world > 1 and device.startswith("cuda"):
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        torch.cuda.set_device(device)
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"

    state = load_checkpoint(last_path) if resume and last_path.exists() else None
    shipped: dict | None = None
    if state is None and init_from is not None:
        from core.models import load_model_files

        shipped, shipped_config = load_model_files("manifold", init_from)
        net_config = NetConfig.from_dict(shipped_config.get("net", {}))
    if state is not None:
        net_config = NetConfig.from_dict(json.loads(state["net_config"]))
        saved = json.loads(state["train_config"])
        # The schedule and data may change on resume; the seed and the run's identity stay.
        config = TrainConfig.from_dict({**asdict(config), "seed": saved["seed"]})
    net_config = net_config or NetConfig()
    changes = {k: v for k, v in (net_changes or {}).items() if getattr(net_config, k) != v}
    if changes:
        if set(changes) - WEIGHT_FREE_NET_FIELDS:
            raise InpaintError(f"only {sorted(WEIGHT_FREE_NET_FIELDS)} can change on a trained net")
        net_config = replace(net_config, **changes)
        log(f"network changed from now on: {changes}")

    torch.manual_seed(config.seed)  # same initial weights on every rank
    net = ManifoldNet(net_config).to(device).to(memory_format=torch.channels_last)
    optim = torch.optim.AdamW(net.parameters(), lr=config.lr, betas=(0.9, 0.99), weight_decay=0)
    disc = disc_optim = None
    if config.w_adv > 0:
        disc = PatchDiscriminator().to(device).to(memory_format=torch.channels_last)
        disc_optim = torch.optim.AdamW(disc.parameters(), lr=config.disc_lr, betas=(0.5, 0.99))
    step, best = 0, -math.inf
    if state is not None:
        net.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        step, best = int(state["step"]), float(state["best"])
        if disc is not None and "disc" in state:
            disc.load_state_dict(state["disc"])
            disc_optim.load_state_dict(state["disc_optim"])
        elif disc is not None:
            # Adversarial fine-tuning starts now: it trades some PSNR for detail, so the best
            # checkpoint is chosen afresh among its own validations.
            best = -math.inf
        log(f"resumed from {last_path} at step {step} (best val {best:.2f} dB)")
    elif shipped is not None:
        # Exported weights hold no posterior encoder (inference never needs it): it restarts.
        missing, unexpected = net.load_state_dict(
            {k: v.float() for k, v in shipped.items()}, strict=False
        )
        if unexpected or any(not k.startswith("posterior") for k in missing):
            raise InpaintError(f"{init_from} holds weights of another network version")
        log(f"started from the weights in {init_from}")
    model: nn.Module = TrainStep(net, config)
    if dist_info.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model)
    disc_model: nn.Module | None = disc
    if disc is not None and dist_info.world > 1:
        disc_model = DistributedDataParallel(disc)

    train_files, val_files = split_files(data_dir, config.val_count)
    if dist_info.main:
        log(
            f"{len(train_files)} training images, {len(val_files)} held out; "
            f"{count_parameters(net)} parameters at inference ({count_parameters(net, False)} "
            f"in training); {dist_info.world} process(es), batch {config.batch} each"
        )
    crops = RandomCrops(
        [read_rgb8(p) for p in train_files],
        config.crop,
        (config.scale_min, config.scale_max),
        config.kind_weights,
    )
    val_batches = (
        validation_batches([read_rgb8(p) for p in val_files], config.val_crop, seed=12345)
        if dist_info.main
        else []
    )

    def checkpoint(path: Path) -> None:
        extra = {}
        if disc is not None:
            extra = {"disc": disc.state_dict(), "disc_optim": disc_optim.state_dict()}
        save_checkpoint(
            path,
            {
                **extra,
                "model": net.state_dict(),
                "optim": optim.state_dict(),
                "step": step,
                "best": best,
                "net_config": json.dumps(net_config.to_dict()),
                "train_config": json.dumps(asdict(config)),
                "val": json.dumps(last_val),
                "elapsed_s": elapsed + (time.time() - started),
            },
        )

    last_val: dict = json.loads(state["val"]) if state is not None else {}
    elapsed = float(state.get("elapsed_s", 0.0)) if state is not None else 0.0
    started = time.time()
    net.train()
    running: dict[str, float] = {}
    start_step = step
    while step < config.steps:
        # Data and noise depend only on (seed, rank, step): resuming replays the same stream.
        rng = np.random.default_rng([config.seed, dist_info.rank, step])
        batch = crops.batch(config.batch, rng)
        eps = torch.from_numpy(rng.standard_normal((config.batch, net_config.z_dim), np.float32))
        image, hole, init = (_tensor(a).to(device) for a in (batch.image, batch.hole, batch.init))
        for group in optim.param_groups:
            group["lr"] = _lr(step, config)
        loss, terms, comp, comp_hole = model(image, hole, init, eps.to(device))
        if disc_model is not None:
            disc.requires_grad_(False)
            logits = disc_model(comp, comp_hole)
            terms["adv"] = -_per_sample(logits, _patch_weight(comp_hole, logits))
            loss = loss + config.w_adv * terms["adv"]
            disc.requires_grad_(True)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), config.grad_clip)
        optim.step()
        if disc_model is not None:
            # Hinge loss: real photos score > 1, patches with filled pixels < -1.
            real = disc_model(image, hole)
            fake = disc_model(comp.detach(), comp_hole)
            weight = _patch_weight(comp_hole, fake)
            d_loss = F.relu(1 - real).mean() + _per_sample(F.relu(1 + fake), weight)
            disc_optim.zero_grad(set_to_none=True)
            d_loss.backward()
            disc_optim.step()
            terms["disc"] = d_loss.detach()
        step += 1
        for key, value in terms.items():
            running[key] = running.get(key, 0.0) + float(value.detach())
        running["loss"] = running.get("loss", 0.0) + float(loss.detach())
        running["n"] = running.get("n", 0.0) + 1
        message = f"step {step} loss {float(loss.detach()):.4f}"
        if dist_info.main and step % config.log_every == 0:
            n = running.pop("n")
            means = {k: round(v / n, 5) for k, v in running.items()}
            rate = (step - start_step) / max(1e-6, time.time() - started)
            _append_log(out_dir, {"step": step, "it_s": round(rate, 3), **means})
            running = {}
        if dist_info.main and (step % config.val_every == 0 or step == config.steps):
            last_val = validate(net, val_batches)
            last_val["step"] = step
            _append_log(out_dir, {"val": last_val})
            log(
                f"step {step}: val hole-PSNR {last_val['mean_psnr']:.2f} dB "
                f"(+{last_val['mean_gain']:.2f} over NS) "
                + " ".join(f"{k} {v:.2f}" for k, v in last_val["hole_psnr"].items())
                + f" | KL {last_val['kl_nats']:.2f} nats, sample spread "
                f"{last_val['sample_spread']:.4f} | detail "
                + " ".join(f"{k} {v:.2f}" for k, v in last_val["grad_ratio"].items())
            )
            if last_val["mean_psnr"] > best:
                best = last_val["mean_psnr"]
                checkpoint(best_path)
            if disc is not None:
                # PSNR alone cannot pick an adversarial checkpoint (it trades PSNR for detail):
                # keep each validated one to judge by its detail figures and by eye.
                checkpoint(out_dir / f"step{step}.pt")
        if dist_info.main and (step % config.ckpt_every == 0 or step == config.steps):
            checkpoint(last_path)
        yield Progress(step / config.steps, message)
    in_sync = True
    if dist_info.world > 1:
        in_sync = _ranks_in_sync(net)
        if dist_info.main:
            log(f"parameters identical on all {dist_info.world} ranks: {in_sync}")
    return {"step": step, "best": best, "val": last_val, "ranks_in_sync": in_sync}


def _ranks_in_sync(net: nn.Module) -> bool:
    """DDP keeps replicas identical; check it cheaply with a gathered weight checksum."""
    import torch.distributed as dist

    with torch.no_grad():
        local = torch.stack([p.detach().double().sum() for p in net.parameters()]).cpu()
    gathered = [torch.zeros_like(local) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, local)
    return all(torch.equal(g, gathered[0]) for g in gathered)


def _append_log(out_dir: Path, record: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "log.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
