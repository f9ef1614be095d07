"""Name -> fill method class. Methods register themselves with ``@register``."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TypeVar

from core.errors import InpaintError
from core.methods.base import FillMethod

M = TypeVar("M", bound=type[FillMethod])

_REGISTRY: dict[str, type[FillMethod]] = {}


def register(cls: M) -> M:
    if cls.name in _REGISTRY:
        raise ValueError(f"fill method {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


@dataclass(frozen=True)
class MethodInfo:
    name: str
    description: str
    available: bool
    reason: str = ""


def _load_builtin_methods() -> None:
    # Imported for their @register side effect.
    from core.methods import classical  # noqa: F401

    try:
        importlib.import_module("core.methods.manifold")
    except ModuleNotFoundError as missing:
        # Optional until that module exists; a broken import inside it still surfaces.
        if missing.name != "core.methods.manifold":
            raise


def method_names() -> list[str]:
    _load_builtin_methods()
    return list(_REGISTRY)


def method_class(name: str) -> type[FillMethod]:
    _load_builtin_methods()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(_REGISTRY)
        raise InpaintError(f"unknown fill method {name!r} (known: {known})") from None


def describe_methods() -> list[MethodInfo]:
    """Every registered method, and whether it can run here (e.g. its weights exist)."""
    _load_builtin_methods()
    infos = []
    for name, cls in _REGISTRY.items():
        check = getattr(cls, "availability", None)
        ok, reason = check() if check else (True, "")
        infos.append(MethodInfo(name, cls.description, ok, reason))
    return infos


def default_method_name() -> str:
    """The learned model when it can run, else the fastest classical fill."""
    for info in describe_methods():
        if info.name == "manifold" and info.available:
            return "manifold"
    return "telea"


_INSTANCES: dict[tuple[str, str], FillMethod] = {}


def get_method(name: str, device: str = "cpu") -> FillMethod:
    """A ready instance of method ``name`` on ``device``; loaded once and then reused, since
    learned methods load weights on construction."""
    key = (name, device)
    if key not in _INSTANCES:
        _INSTANCES[key] = method_class(name)(device=device)
    return _INSTANCES[key]
