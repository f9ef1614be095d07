"""The training loop the three models share (the manifold net, the layout VAE, the detector).

A model contributes a ``TrainTask``: its state for checkpoints, one optimisation step, and a
validation. The loop owns the rest: resuming from ``OUT/last.pt``, atomic checkpoints
(``last.pt`` every ``ckpt_every`` steps, ``best.pt`` at each best validation), the log
(``OUT/log.jsonl``: running means of the step's terms, validations), progress (a generator:
each step yields, so a caller can stop between steps) and the processes of a ``torchrun``
(only rank 0 validates, logs and writes).

Checkpoints are ``torch.save`` dicts of tensors and plain values, read back with
``weights_only=True`` (no code runs on load).

Autocast: ``autocast(device, enabled)`` runs a forward in bfloat16 where the hardware has fast
bfloat16 matrix units (the AMX of this project's CPU: 1.9-2.3x per training step; CUDA GPUs);
models keep their FFTs in float32 (``torch.fft`` refuses bfloat16).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from core.base.errors import InpaintError
from core.base.progress import Progress, Steps


class TrainTask(Protocol):
    """What a model gives the loop."""

    def state_dict(self) -> dict:
        """Everything a checkpoint holds besides the loop's own step, best and time."""
        ...

    def train_step(self, step: int) -> dict[str, float]:
        """One optimisation step on batch ``step`` (a function of the seed and the step only,
        so a resumed run sees the same data); returns the terms to log (``loss`` first)."""
        ...

    def validate(self, step: int) -> tuple[float, dict]:
        """(score, higher is better; the record to log)."""
        ...


@dataclass(frozen=True)
class Schedule:
    steps: int
    ckpt_every: int = 200
    val_every: int = 500
    log_every: int = 50
    # Keep every validated checkpoint as ``step<N>.pt`` (when the score cannot pick one alone,
    # e.g. adversarial training trades PSNR for detail).
    keep_validated: bool = False


@dataclass
class LoopState:
    step: int = 0
    best: float = -math.inf
    elapsed_s: float = 0.0

    @classmethod
    def from_checkpoint(cls, state: dict | None) -> LoopState:
        if state is None:
            return cls()
        return cls(
            int(state.get("step", 0)),
            float(state.get("best", -math.inf)),
            float(state.get("elapsed_s", 0.0)),
        )


def warmup_cosine(step: int, lr: float, steps: int, warmup: int, lr_final: float) -> float:
    """The manifold and layout nets' learning rate: a linear warm-up over ``warmup`` steps,
    then a cosine down to ``lr_final`` x ``lr`` at ``steps``. A function of the step only, so
    a resumed run follows it exactly."""
    if step < warmup:
        return lr * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, steps - warmup))
    return lr * (lr_final + (1 - lr_final) * 0.5 * (1 + math.cos(math.pi * t)))


def save_checkpoint(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # atomic: a crash never leaves half a checkpoint


def load_checkpoint(path: Path) -> dict:
    try:
        with torch.serialization.safe_globals(_NUMPY_SCALAR_GLOBALS):
            return torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, pickle.UnpicklingError) as error:
        raise InpaintError(f"cannot read checkpoint {path}: {error}") from None


# Runs before the loop stored ``best`` as a float kept a numpy float64 there (a validation
# score computed with numpy); their checkpoints still load, nothing else numpy does.
# Taken from a float64 itself: the reconstructor lives in numpy._core from numpy 2, numpy.core
# before (pyproject allows 1.26).
_NUMPY_SCALAR_GLOBALS = [np.float64(0).__reduce__()[0], np.dtype, type(np.dtype(np.float64))]


def resume_state(out_dir: Path, resume: bool = True) -> dict | None:
    """``OUT/last.pt`` when there is one and ``resume``, else None."""
    last = out_dir / "last.pt"
    return load_checkpoint(last) if resume and last.exists() else None


def append_log(out_dir: Path, record: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "log.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def autocast(device: str, enabled: bool) -> contextlib.AbstractContextManager:
    """bfloat16 autocast on ``device`` (a no-op when not ``enabled``)."""
    kind = "cuda" if device.startswith("cuda") else "cpu"
    return torch.autocast(kind, dtype=torch.bfloat16, enabled=enabled)


@dataclass
class DistInfo:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str) -> tuple[DistInfo, str]:
    """Join the process group when started by ``torchrun`` (WORLD_SIZE > 1); (info, the
    device this process trains on)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(), device
    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        dist.init_process_group(backend=backend)
    if device.startswith("cuda"):
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        torch.cuda.set_device(device)
    return DistInfo(dist.get_rank(), dist.get_world_size()), device


def ranks_in_sync(net: nn.Module) -> bool:
    """DDP keeps replicas identical; check it cheaply with a gathered weight checksum."""
    with torch.no_grad():
        local = torch.stack([p.detach().double().sum() for p in net.parameters()]).cpu()
    gathered = [torch.zeros_like(local) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, local)
    return all(torch.equal(g, gathered[0]) for g in gathered)


def train_loop(
    task: TrainTask,
    out_dir: Path,
    schedule: Schedule,
    state: LoopState,
    dist_info: DistInfo | None = None,
    on_validation: Callable[[int, dict], None] | None = None,
) -> Steps[LoopState]:
    """Run ``task`` from ``state.step`` to ``schedule.steps``; yields a Progress per step and
    returns the final state. ``on_validation(step, record)`` after each validation."""
    dist_info = dist_info or DistInfo()
    main = dist_info.main
    started, first = time.time(), state.step

    def checkpoint(path: Path) -> None:
        elapsed = state.elapsed_s + (time.time() - started)
        save_checkpoint(
            path,
            {**task.state_dict(), "step": state.step, "best": state.best, "elapsed_s": elapsed},
        )

    running: dict[str, float] = {}
    count = 0
    while state.step < schedule.steps:
        terms = task.train_step(state.step)
        state.step += 1
        step = state.step
        for key, value in terms.items():
            running[key] = running.get(key, 0.0) + float(value)
        count += 1
        last = step == schedule.steps
        if main and (step % schedule.log_every == 0 or last):
            rate = (step - first) / max(1e-6, time.time() - started)
            means = {k: round(v / count, 5) for k, v in running.items()}
            append_log(out_dir, {"step": step, "it_s": round(rate, 3), **means})
            running, count = {}, 0
        if main and (step % schedule.val_every == 0 or last):
            score, record = task.validate(step)
            score = float(score)  # a numpy scalar would not load with weights_only
            append_log(out_dir, {"val": record})
            if on_validation is not None:
                on_validation(step, record)
            if score > state.best:
                state.best = score
                checkpoint(out_dir / "best.pt")
            if schedule.keep_validated:
                checkpoint(out_dir / f"step{step}.pt")
        if main and (step % schedule.ckpt_every == 0 or last):
            checkpoint(out_dir / "last.pt")
        loss = terms.get("loss")
        message = f"step {step}" + (f" loss {float(loss):.4f}" if loss is not None else "")
        yield Progress(step / schedule.steps, message)
    state.elapsed_s += time.time() - started
    return state
