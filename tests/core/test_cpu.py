"""core.base.cpu: the one helper that sets thread counts."""

from __future__ import annotations

import numba
import pytest
import torch

from core.base.cpu import thread_count


@pytest.mark.parametrize("library", [torch, numba])
def test_thread_count_sets_the_count_inside_and_restores_it(library) -> None:  # type: ignore[no-untyped-def]
    before = library.get_num_threads()
    with thread_count(1, library):
        assert library.get_num_threads() == 1
    assert library.get_num_threads() == before
    with thread_count(0, library):  # 0: the library's own choice, untouched
        assert library.get_num_threads() == before
    with pytest.raises(RuntimeError), thread_count(1, library):
        raise RuntimeError("work failed")
    assert library.get_num_threads() == before


def test_thread_count_means_torch_by_default() -> None:
    before = torch.get_num_threads()
    with thread_count(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
