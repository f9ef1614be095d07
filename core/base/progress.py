"""Progress events yielded by long-running engine generators.

Every long operation in ``core`` is a generator: each ``yield`` reports progress and is a point
where the caller may stop iterating (cancel). The final result is the generator's return value.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """``fraction`` in ``[0, 1]`` of the whole operation, and a short human message."""

    fraction: float
    message: str = ""


Steps = Generator[Progress, None, T]


def run_to_end(steps: Generator[Progress, None, T]) -> T:
    """Drive a progress generator to completion and return its result."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


def scaled(
    steps: Generator[Progress, None, T], start: float, end: float
) -> Generator[Progress, None, T]:
    """Re-map the fractions of a nested generator into ``[start, end]``."""
    while True:
        try:
            event = next(steps)
        except StopIteration as stop:
            return stop.value
        yield Progress(start + (end - start) * event.fraction, event.message)
