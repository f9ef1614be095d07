"""Settings stored as JSON (a model's net and training configs): a dataclass read back."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def from_record(cls: type[T], data: dict[str, Any], tuples: tuple[str, ...] = ()) -> T:
    """``cls`` (a dataclass) from ``data``: keys it has no field for are left out (a record
    written by another version), and the fields named in ``tuples`` (JSON lists) become tuples
    of ints."""
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values = {k: v for k, v in data.items() if k in known}
    for name in tuples:
        if name in values:
            values[name] = tuple(int(v) for v in values[name])
    return cls(**values)
