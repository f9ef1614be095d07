"""Pick the torch device: CUDA when present, else Apple MPS, else CPU."""

from __future__ import annotations

from core.base.errors import InpaintError

# torch is imported inside the functions: it costs 2.1 s to import on the 2-core CPU, and the
# command line imports this module at every start (``--device``'s choices).

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def available_devices() -> list[str]:
    import torch

    found = ["cpu"]
    if torch.cuda.is_available():
        found.insert(0, "cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.insert(0, "mps")
    return found


def resolve_device(name: str = "auto") -> str:
    """Turn a user choice (``auto``, ``cpu``, ``cuda``, ``cuda:1``, ``mps``) into a device string
    torch accepts, or raise a clear error when that device is not present."""
    found = available_devices()
    if name == "auto":
        return found[0]
    base = name.split(":", 1)[0]
    if base not in DEVICE_CHOICES or base == "auto":
        raise InpaintError(f"unknown device {name!r} (choose from {', '.join(DEVICE_CHOICES)})")
    if base not in found:
        raise InpaintError(f"device {name!r} is not available here (found: {', '.join(found)})")
    return name


def is_device_error(error: BaseException) -> bool:
    """True for an accelerator failure (out of GPU memory, a CUDA/MPS runtime error): worth
    retrying on the CPU, unlike a bug or bad input."""
    import torch

    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    if oom is not None and isinstance(error, oom):
        return True
    if not isinstance(error, RuntimeError):
        return False
    text = str(error).lower()
    return any(
        word in text for word in ("cuda error", "out of memory", "cudnn", "cublas", "mps backend")
    )
