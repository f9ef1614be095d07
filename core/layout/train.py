"""Training of the layout VAE, a task of the shared loop (``core.training.loop``).

Loss per sample: mean |x - x'| + ``w_grad`` x mean |grad x - grad x'| (edges of masses kept,
not only their colour) + ``w_kl`` x KL(q(z | x) || N(0, I)) / (pixels x 3). ``w_kl`` is the
scale of a Laplace likelihood: with it the loss is the negative ELBO up to a constant, and it
trades sharp reconstructions (small) against a code that fills the prior (large).

Every validation also fits the sampling prior (``core.layout.prior``) to the training photos'
codes and measures, on the held-out photos: reconstruction PSNR (plain and after a sigma
``size / 128`` blur, i.e. sigma 4 px at 512 px), KL, and samples' pixel std and pairwise layout
difference (0-255, after the same blur).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from core.base.cpu import thread_count, tune_allocator
from core.base.progress import Steps
from core.base.records import from_record
from core.layout.data import load_small, random_batch, split_files, whole_batch
from core.layout.net import LayoutVAE, NetConfig, count_parameters
from core.layout.prior import fit_prior, unwhiten
from core.training.loop import (
    LoopState,
    Schedule,
    autocast,
    resume_state,
    train_loop,
    warmup_cosine,
)


@dataclass
class TrainConfig:
    batch: int = 32
    steps: int = 9000
    lr: float = 1e-3
    lr_final: float = 0.05  # of lr, at the last step (cosine)
    warmup: int = 200
    w_grad: float = 0.5
    w_kl: float = 0.03
    kl_warmup: int = 1000  # steps over which the KL weight ramps up (keeps the code alive)
    val_every: int = 500
    ckpt_every: int = 100
    log_every: int = 50
    seed: int = 0
    threads: int = 1
    bf16: bool = True

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        return from_record(cls, data)


def _grad_l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    dx = (a[..., :, 1:] - a[..., :, :-1]) - (b[..., :, 1:] - b[..., :, :-1])
    dy = (a[..., 1:, :] - a[..., :-1, :]) - (b[..., 1:, :] - b[..., :-1, :])
    return dx.abs().mean() + dy.abs().mean()


def vae_loss(
    net: LayoutVAE, x: torch.Tensor, eps: torch.Tensor, config: TrainConfig, kl_scale: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    mu, logvar = net.encode(x)
    z = mu + eps * torch.exp(0.5 * logvar)
    out = net.decode(z)
    l1 = (out - x.float()).abs().mean()
    grad = _grad_l1(out, x.float())
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1).mean()
    loss = l1 + config.w_grad * grad + kl_scale * config.w_kl * kl / x[0].numel()
    return loss, {"l1": l1, "grad": grad, "kl": kl}


def blur_u8(images: np.ndarray, sigma: float) -> np.ndarray:
    """(n, 3, s, s) float [0, 1] -> blurred, 0-255 float."""
    return np.stack(
        [cv2.GaussianBlur(im.transpose(1, 2, 0) * 255.0, (0, 0), sigma) for im in images]
    )


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - b) ** 2))
    return 10 * math.log10(255.0**2 / max(mse, 1e-12))


def pairwise_difference(blurred: np.ndarray) -> tuple[float, float]:
    """(min, mean) over pairs of the mean absolute difference (0-255)."""
    diffs = [
        float(np.abs(blurred[i] - blurred[j]).mean())
        for i in range(len(blurred))
        for j in range(i + 1, len(blurred))
    ]
    return min(diffs), float(np.mean(diffs))


class LayoutTask:
    def __init__(self, config: TrainConfig, net_config: NetConfig, data: tuple) -> None:
        self.config, self.net_config = config, net_config
        self.train_images, self.val = data
        torch.manual_seed(config.seed)
        self.net = LayoutVAE(net_config).to(memory_format=torch.channels_last)
        self.optim = torch.optim.AdamW(self.net.parameters(), lr=config.lr, weight_decay=1e-4)
        self.prior = (
            np.zeros(net_config.z_dim, np.float32),
            np.eye(net_config.z_dim, dtype=np.float32),
        )
        self.last_val: dict = {}

    def state_dict(self) -> dict:
        return {
            "model": self.net.state_dict(),
            "optim": self.optim.state_dict(),
            "prior_mean": torch.from_numpy(self.prior[0]),
            "prior_basis": torch.from_numpy(self.prior[1]),
            "net_config": json.dumps(self.net_config.to_dict()),
            "train_config": json.dumps(asdict(self.config)),
            "val": json.dumps(self.last_val),
        }

    def load(self, state: dict) -> None:
        self.net.load_state_dict(state["model"])
        self.optim.load_state_dict(state["optim"])
        self.prior = (state["prior_mean"].numpy(), state["prior_basis"].numpy())
        self.last_val = json.loads(state.get("val", "{}"))

    def train_step(self, step: int) -> dict[str, float]:
        config = self.config
        rng = np.random.default_rng([config.seed, step])
        x = torch.from_numpy(
            random_batch(self.train_images, rng, config.batch, self.net_config.size)
        )
        x = x.contiguous(memory_format=torch.channels_last)
        eps = torch.from_numpy(
            rng.standard_normal((config.batch, self.net_config.z_dim), np.float32)
        )
        for group in self.optim.param_groups:
            group["lr"] = warmup_cosine(
                step, config.lr, config.steps, config.warmup, config.lr_final
            )
        kl_scale = min(1.0, (step + 1) / max(1, config.kl_warmup))
        self.net.train()
        with autocast("cpu", config.bf16):
            loss, terms = vae_loss(self.net, x, eps, config, kl_scale)
        self.optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
        self.optim.step()
        return {"loss": float(loss.detach()), **{k: float(v.detach()) for k, v in terms.items()}}

    @torch.no_grad()
    def _encode_all(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.net.eval()
        mu, logvar = self.net.encode(torch.from_numpy(batch))
        return mu.numpy(), logvar.exp().numpy()

    @torch.no_grad()
    def validate(self, step: int) -> tuple[float, dict]:
        size = self.net_config.size
        sigma = size / 128.0
        mu, var = self._encode_all(whole_batch(self.train_images, size, flips=True))
        self.prior = fit_prior(mu, var)
        record: dict = {"step": step}
        if len(self.val):
            vmu, _vvar = self._encode_all(self.val)
            recon = self.net.decode(torch.from_numpy(vmu)).numpy()
            x = torch.from_numpy(self.val)
            loss, terms = vae_loss(
                self.net, x, torch.zeros_like(torch.from_numpy(vmu)), self.config, 1.0
            )
            record.update(
                loss=float(loss),
                psnr=psnr(recon * 255, self.val * 255),
                psnr_blur=psnr(blur_u8(recon, sigma), blur_u8(self.val, sigma)),
                kl=float(terms["kl"]),
            )
        rng = np.random.default_rng(1234)
        w = rng.standard_normal((8, self.net_config.z_dim)).astype(np.float32)
        for name, z in (("normal", w), ("fitted", unwhiten(w, *self.prior))):
            samples = self.net.decode(torch.from_numpy(z)).numpy()
            record[f"{name}_std"] = float((samples * 255).std(axis=(1, 2, 3)).mean())
            record[f"{name}_pair_min"], record[f"{name}_pair_mean"] = pairwise_difference(
                blur_u8(samples, sigma)
            )
        self.last_val = record
        return -record.get("loss", 0.0), record


def train_steps(
    config: TrainConfig,
    data_dir: Path,
    out_dir: Path,
    net_config: NetConfig | None = None,
    resume: bool = True,
    log=print,
) -> Steps[dict]:
    """Train until ``config.steps`` (resuming ``out_dir/last.pt``); yields Progress per step,
    returns the last validation. Best checkpoint: lowest held-out loss (negative ELBO)."""
    tune_allocator()
    with thread_count(config.threads):
        state = resume_state(out_dir, resume)
        if state is not None:
            net_config = NetConfig.from_dict(json.loads(state["net_config"]))
            saved = json.loads(state["train_config"])
            config = TrainConfig.from_dict({**asdict(config), "seed": saved["seed"]})
        net_config = net_config or NetConfig()
        train_files, val_files = split_files(data_dir)
        log(f"{len(train_files)} training photos, {len(val_files)} held out")
        val = whole_batch(load_small(val_files), net_config.size) if val_files else np.zeros((0,))
        task = LayoutTask(config, net_config, (load_small(train_files), val))
        loop = LoopState.from_checkpoint(state)
        if state is not None:
            task.load(state)
            log(f"resumed at step {loop.step}")
        log(f"{count_parameters(task.net)} parameters, batch {config.batch}, bf16 {config.bf16}")
        schedule = Schedule(config.steps, config.ckpt_every, config.val_every, config.log_every)

        def describe(step: int, val: dict) -> None:
            log(f"step {step}: " + " ".join(f"{k} {v:.3f}" for k, v in val.items() if k != "step"))

        yield from train_loop(task, out_dir, schedule, loop, on_validation=describe)
    return {"step": loop.step, "best": loop.best, "val": task.last_val}
