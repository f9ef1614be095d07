"""CPU speed settings: threads, the allocator, bfloat16.

``thread_count``: the one way ``core`` sets how many threads torch or numba use for a while.

glibc hands large freed blocks back to the OS and maps big allocations with mmap; torch frees
and re-allocates the same activation buffers on every forward pass, so each pass pays page
faults again. Keeping the memory (no mmap for large blocks, a high trim threshold) measured
1.3-2x faster on a 2-core CPU (``tune_allocator``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import sys
from collections.abc import Iterator
from types import ModuleType

# torch is imported where it is used: it costs 2.1 s to import on the 2-core CPU, and the
# texture engine (numba only) and the fill methods use this module without it.

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_done = False


def tune_allocator(trim_threshold: int = 1 << 30) -> bool:
    """Apply the glibc settings once per process; False where there is no glibc."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold))
    _done = ok
    return ok


@contextlib.contextmanager
def thread_count(threads: int, library: ModuleType | None = None) -> Iterator[None]:
    """``threads`` threads for ``library``'s parallel work inside the block (torch when None;
    numba, whose count is per calling thread, works the same way), then the count before;
    0, or the count it has already, leaves it alone. Never hold it across a ``yield``."""
    if library is None:
        import torch as library
    before = library.get_num_threads()
    if threads <= 0 or threads == before:
        yield
        return
    library.set_num_threads(threads)
    try:
        yield
    finally:
        library.set_num_threads(before)


def bf16_native() -> bool:
    """Whether this CPU runs bfloat16 convolutions natively (emulated they are far slower)."""
    import torch

    cpu = getattr(torch, "cpu", None)
    for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        check = getattr(cpu, name, None)  # private torch API: guarded
        try:
            if check is not None and check():
                return True
        except Exception:  # any failure means "not known to be native"
            continue
    return False
