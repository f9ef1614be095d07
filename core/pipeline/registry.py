"""Name -> fill method: a plain mapping of the built-in methods, and their instances.

Importing this module imports no heavy library: each method loads torch or its weights only
when it is constructed or asked whether it can run.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.base.errors import InpaintError
from core.manifold.method import ManifoldFill
from core.methods.base import FillMethod
from core.methods.classical import (
    BiharmonicInpaint,
    NavierStokesInpaint,
    PatchMatchInpaint,
    TeleaInpaint,
)

METHODS: dict[str, type[FillMethod]] = {
    cls.name: cls
    for cls in (
        TeleaInpaint, NavierStokesInpaint, BiharmonicInpaint, PatchMatchInpaint, ManifoldFill
    )
}  # fmt: skip


@dataclass(frozen=True)
class MethodInfo:
    name: str
    description: str
    available: bool
    reason: str = ""


def method_class(name: str) -> type[FillMethod]:
    try:
        return METHODS[name]
    except KeyError:
        known = ", ".join(METHODS)
        raise InpaintError(f"unknown fill method {name!r} (known: {known})") from None


def method_info(name: str) -> MethodInfo:
    """Whether method ``name`` can run here (e.g. its weights exist and check out), and why not."""
    cls = method_class(name)
    ok, reason = cls.availability()
    return MethodInfo(name, cls.description, ok, reason)


def describe_methods() -> list[MethodInfo]:
    """Every method, and whether it can run here."""
    return [method_info(name) for name in METHODS]


def require_available(name: str) -> None:
    """Raise :class:`InpaintError` with the reason when method ``name`` cannot run here."""
    info = method_info(name)
    if not info.available:
        raise InpaintError(f"the {name} method cannot run: {info.reason}")


def default_method_name() -> str:
    """The learned model when it can run, else the fastest classical fill."""
    return "manifold" if method_info("manifold").available else "telea"


# Loaded instances by (name, device); tests may put a method of their own here.
LOADED: dict[tuple[str, str], FillMethod] = {}


def get_method(name: str, device: str = "cpu") -> FillMethod:
    """A ready instance of method ``name`` on ``device``; loaded once and then reused, since
    learned methods load weights on construction."""
    key = (name, device)
    if key not in LOADED:
        LOADED[key] = method_class(name)(device=device)
    return LOADED[key]
