"""Which fill methods the editor offers and whether each can run here: asked once, answered
here for the method picker, Fill, the latent panel and the start-up note. Also the one place
that hands out a loaded method, so that Fill and the latent panel share one copy of the weights
(``core.pipeline.registry.get_method`` keeps one instance per (name, device))."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from core.methods.base import FillMethod
from core.pipeline.registry import MethodInfo, describe_methods, get_method

LEARNED = "manifold"  # the learned fill, which the latent panel steers
FALLBACK = "telea"  # the fastest classical fill: used when the learned one cannot run


class MethodCatalog(QObject):
    changed = Signal(str)  # name of the method whose availability changed

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._infos = {info.name: info for info in describe_methods()}

    def infos(self) -> list[MethodInfo]:
        return list(self._infos.values())

    def why_not(self, name: str) -> str:
        """Empty when ``name`` can run here, else the reason it cannot (for the user)."""
        info = self._infos.get(name)
        if info is None:
            return f"the {name} method is not installed"
        return "" if info.available else info.reason

    def available(self, name: str) -> bool:
        return not self.why_not(name)

    def default(self) -> str:
        """The learned model when it can run, else the fastest classical fill."""
        return LEARNED if self.available(LEARNED) else FALLBACK

    def set_available(self, name: str, available: bool, reason: str = "") -> None:
        """Override what was found at start (tests; a model that failed to load)."""
        old = self._infos.get(name)
        description = old.description if old is not None else ""
        self._infos[name] = MethodInfo(name, description, available, "" if available else reason)
        self.changed.emit(name)


def loaded_method(name: str, device: str) -> FillMethod:
    """The ready instance of ``name`` on ``device`` that the fill pipeline uses too. Not
    thread-safe: use it only on the model worker, which runs one task at a time."""
    return get_method(name, device)
