"""Mask generators: shapes, determinism per rng, coverage of each class."""

from __future__ import annotations

import numpy as np
import pytest

from core.base import maskgen


@pytest.mark.parametrize("kind", maskgen.KINDS)
def test_mask_is_bool_nonempty_and_deterministic(kind: str) -> None:
    a = maskgen.generate(kind, 120, 180, np.random.default_rng(7))
    b = maskgen.generate(kind, 120, 180, np.random.default_rng(7))
    c = maskgen.generate(kind, 120, 180, np.random.default_rng(8))
    assert a.dtype == np.bool_ and a.shape == (120, 180)
    assert a.any()
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(
    ("kind", "low", "high"),
    [
        ("scratch", 0.001, 0.05),
        ("dust", 0.01, 0.06),
        ("thin", 0.1, 0.3),
        ("medium", 0.18, 0.4),
        ("thick", 0.2, 0.42),
        ("box", 0.1, 0.35),
    ],
)
def test_coverage_on_a_768x512_photo(kind: str, low: float, high: float) -> None:
    rng = np.random.default_rng(0)
    mean = np.mean([maskgen.generate(kind, 512, 768, rng).mean() for _ in range(6)])
    assert low < mean < high


def test_unknown_kind_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown mask kind"):
        maskgen.generate("blob", 10, 10, np.random.default_rng(0))
