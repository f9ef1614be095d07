"""What the commands share on the console: a progress bar over an engine generator."""

from __future__ import annotations

import sys
from typing import Any, TypeVar

from core.base.progress import Steps

T = TypeVar("T")


def drive(steps: Steps[T], what: str, **bar: Any) -> T:
    """Run a progress generator to its end under a progress bar on stderr; its result. The bar
    goes when it ends and shows only on a terminal unless ``bar`` (tqdm's options) says
    otherwise."""
    from tqdm import tqdm

    options = {"leave": False, "disable": None, **bar}
    with tqdm(total=1000, desc=what, file=sys.stderr, **options) as progress:
        while True:
            try:
                event = next(steps)
            except StopIteration as stop:
                return stop.value
            progress.n = int(event.fraction * 1000)
            progress.set_postfix_str(event.message, refresh=False)
            progress.update(0)
