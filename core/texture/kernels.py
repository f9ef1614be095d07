"""numba kernels of the texture engine: patch distance, PatchMatch search and EM voting.

Arrays are plain numpy: ``feat`` float32 (h, w, c) - the voted channels of the current
estimate (colour), then the fixed, weighted ones (guide, texture energy); ``src_ok`` bool
(h, w): a patch centred there lies inside the image and has no hole pixel, so it may be copied;
the nearest-neighbour field (``nny``, ``nnx``, ``cost``) is kept at image size and read only at
target centres (``targets``: int32 (n, 2) rows of (y, x), in raster order).

Costs are per pixel and channel (sum of squared differences over the patch's pixels inside the
image, divided by their count), so patches cut by the crop's border compare fairly with whole
ones.

Deterministic on any number of threads: the targets are cut into fixed chunks of ``CHUNK``
(raster order), each searched by one thread, propagating only between targets of its own chunk;
random draws come from a counter-based generator keyed by (seed, pass, target), never from a
shared state; the vote gathers per pixel (no two threads write one pixel).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_INF = np.float32(1e30)
# Targets per chunk: enough that most propagation stays inside a chunk (a chunk spans several
# rows of a large hole), small enough that two threads share a 30 % hole of a 512 px crop.
CHUNK = 4096
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True)
def _mix(x: np.uint64) -> np.uint64:
    """splitmix64's finaliser: a well-mixed 64-bit value of x."""
    z = x
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def _draw(state: np.uint64, lo: int, hi: int) -> tuple[np.uint64, int]:
    """(next state, an integer in [lo, hi]) from a splitmix64 stream."""
    state = state + _GOLDEN
    return state, lo + int(_mix(state) % np.uint64(hi - lo + 1))


@njit(cache=True, nogil=True)
def _count_inside(h: int, w: int, py: int, px: int, r: int) -> int:
    """Pixels of the patch centred at (py, px) that lie inside an h x w image."""
    y0, y1 = max(py - r, 0), min(py + r, h - 1)
    x0, x1 = max(px - r, 0), min(px + r, w - 1)
    return (y1 - y0 + 1) * (x1 - x0 + 1)


@njit(cache=True, nogil=True)
def patch_cost(feat: np.ndarray, py: int, px: int, qy: int, qx: int, r: int, limit: float) -> float:
    """Cost of copying the patch at q onto the patch at p; stops early (returning a value
    above ``limit``) once the partial sum already exceeds it. q's patch must lie inside."""
    h, w, c = feat.shape
    n = _count_inside(h, w, py, px, r)
    bound = limit * n * c
    total = 0.0
    for dy in range(-r, r + 1):
        ty = py + dy
        if ty < 0 or ty >= h:
            continue
        sy = qy + dy
        for dx in range(-r, r + 1):
            tx = px + dx
            if tx < 0 or tx >= w:
                continue
            sx = qx + dx
            for k in range(c):
                d = feat[ty, tx, k] - feat[sy, sx, k]
                total += d * d
        if total > bound:
            return total / (n * c)
    return total / (n * c)


@njit(cache=True, nogil=True, parallel=True)
def init_costs(
    feat: np.ndarray,
    targets: np.ndarray,
    nny: np.ndarray,
    nnx: np.ndarray,
    cost: np.ndarray,
    r: int,
) -> None:
    """Recompute the cost of every target's current match (after the estimate changed)."""
    for i in prange(targets.shape[0]):
        py, px = targets[i, 0], targets[i, 1]
        cost[py, px] = patch_cost(feat, py, px, nny[py, px], nnx[py, px], r, _INF)


@njit(cache=True, nogil=True)
def _try(
    feat: np.ndarray,
    src_ok: np.ndarray,
    nny: np.ndarray,
    nnx: np.ndarray,
    cost: np.ndarray,
    py: int,
    px: int,
    qy: int,
    qx: int,
    r: int,
) -> None:
    h, w = src_ok.shape
    if qy < 0 or qy >= h or qx < 0 or qx >= w or not src_ok[qy, qx]:
        return
    if qy == nny[py, px] and qx == nnx[py, px]:
        return
    d = patch_cost(feat, py, px, qy, qx, r, cost[py, px])
    if d < cost[py, px]:
        cost[py, px] = d
        nny[py, px] = qy
        nnx[py, px] = qx


@njit(cache=True, nogil=True, parallel=True)
def patchmatch(
    feat: np.ndarray,
    src_ok: np.ndarray,
    sources: np.ndarray,
    targets: np.ndarray,
    index: np.ndarray,
    nny: np.ndarray,
    nnx: np.ndarray,
    cost: np.ndarray,
    r: int,
    iterations: int,
    seed: int,
    max_radius: int,
    global_draw: bool,
) -> None:
    """Barnes et al. 2009: alternate scan-order propagation from the two preceding neighbours
    with a random search around the current match (radius halving from ``max_radius``) and,
    with ``global_draw``, one uniform draw among all sources (the hole's middle is far from
    any good match). ``index``: int32 (h, w), each target's row in ``targets``, -1 elsewhere."""
    h, w = src_ok.shape
    n = targets.shape[0]
    n_src = sources.shape[0]
    chunks = (n + CHUNK - 1) // CHUNK
    for it in range(iterations):
        step = 1 if it % 2 == 0 else -1  # forwards on even passes, else backwards
        key = _mix(np.uint64(seed) * _GOLDEN + np.uint64(it))
        # Each chunk of targets [lo, hi) is one thread's, propagating only inside it.
        for c in prange(chunks):
            lo, hi = c * CHUNK, min(n, (c + 1) * CHUNK)
            for j in range(hi - lo):
                i = lo + j if step == 1 else hi - 1 - j
                py, px = targets[i, 0], targets[i, 1]
                ny_ = py - step
                if 0 <= ny_ < h and lo <= index[ny_, px] < hi:
                    _try(feat, src_ok, nny, nnx, cost, py, px, nny[ny_, px] + step, nnx[ny_, px], r)
                nx_ = px - step
                if 0 <= nx_ < w and lo <= index[py, nx_] < hi:
                    _try(feat, src_ok, nny, nnx, cost, py, px, nny[py, nx_], nnx[py, nx_] + step, r)
                state = _mix(key ^ np.uint64(i))
                radius = max_radius
                while radius >= 1:
                    state, dy = _draw(state, -radius, radius)
                    state, dx = _draw(state, -radius, radius)
                    _try(
                        feat, src_ok, nny, nnx, cost, py, px, nny[py, px] + dy, nnx[py, px] + dx, r
                    )
                    radius //= 2
                if global_draw:
                    state, k = _draw(state, 0, n_src - 1)
                    _try(feat, src_ok, nny, nnx, cost, py, px, sources[k, 0], sources[k, 1], r)


@njit(cache=True, nogil=True, parallel=True)
def vote(
    image: np.ndarray,
    hole: np.ndarray,
    index: np.ndarray,
    nny: np.ndarray,
    nnx: np.ndarray,
    cost: np.ndarray,
    r: int,
    sigma2: float,
    out: np.ndarray,
    weight: np.ndarray,
    error: np.ndarray,
    spatial: np.ndarray,
) -> None:
    """Wexler et al. 2007's E step: every hole pixel becomes the weighted mean of what the
    patches covering it copy there, each patch weighted by exp(-cost / 2 sigma2). ``error``
    accumulates the weighted costs (how well the pixel's neighbourhood is explained).
    ``spatial`` ((2r+1, 2r+1)) also weighs each copied pixel by its place in its patch: with
    more weight near the centre, patches that disagree blur each other less. Only hole pixels
    of ``out``, ``weight`` and ``error`` are written."""
    h, w, c = image.shape
    for ty in prange(h):
        for tx in range(w):
            if not hole[ty, tx]:
                continue
            total = 0.0
            err = 0.0
            acc = np.zeros(c, np.float64)
            for dy in range(-r, r + 1):
                py = ty - dy
                if py < 0 or py >= h:
                    continue
                for dx in range(-r, r + 1):
                    px = tx - dx
                    if px < 0 or px >= w or index[py, px] < 0:
                        continue
                    wt = (np.exp(-cost[py, px] / (2.0 * sigma2)) + 1e-12) * spatial[dy + r, dx + r]
                    qy, qx = nny[py, px] + dy, nnx[py, px] + dx
                    total += wt
                    err += wt * cost[py, px]
                    for k in range(c):
                        acc[k] += wt * image[qy, qx, k]
            weight[ty, tx] = total
            error[ty, tx] = err
            for k in range(c):
                out[ty, tx, k] = acc[k]
