"""numba kernels of the texture engine: patch distance, PatchMatch search and EM voting.

Arrays are plain numpy: ``feat`` float32 (h, w, c) - the colour channels of the current
estimate, then the (weighted) guide channels; ``src_ok`` bool (h, w): a patch centred there lies
inside the image and has no hole pixel, so it may be copied; the nearest-neighbour field
(``nny``, ``nnx``, ``cost``) is kept at image size and read only at target centres (``targets``:
int32 (n, 2) rows of (y, x), in raster order).

Costs are per pixel and channel (sum of squared differences over the patch's pixels inside the
image, divided by their count), so patches cut by the crop's border compare fairly with whole
ones. Everything is seeded: numba's generator is seeded at the start of each call.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_INF = np.float32(1e30)


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


@njit(cache=True, nogil=True)
def init_costs(
    feat: np.ndarray,
    targets: np.ndarray,
    nny: np.ndarray,
    nnx: np.ndarray,
    cost: np.ndarray,
    r: int,
) -> None:
    """Recompute the cost of every target's current match (after the estimate changed)."""
    for i in range(targets.shape[0]):
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


@njit(cache=True, nogil=True)
def patchmatch(
    feat: np.ndarray,
    src_ok: np.ndarray,
    sources: np.ndarray,
    targets: np.ndarray,
    is_target: np.ndarray,
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
    any good match)."""
    np.random.seed(seed)
    h, w = src_ok.shape
    n = targets.shape[0]
    n_src = sources.shape[0]
    for it in range(iterations):
        step = 1 if it % 2 == 0 else -1
        for j in range(n):
            i = j if step == 1 else n - 1 - j
            py, px = targets[i, 0], targets[i, 1]
            ny_ = py - step
            if 0 <= ny_ < h and is_target[ny_, px]:
                _try(feat, src_ok, nny, nnx, cost, py, px, nny[ny_, px] + step, nnx[ny_, px], r)
            nx_ = px - step
            if 0 <= nx_ < w and is_target[py, nx_]:
                _try(feat, src_ok, nny, nnx, cost, py, px, nny[py, nx_], nnx[py, nx_] + step, r)
            radius = max_radius
            while radius >= 1:
                by, bx = nny[py, px], nnx[py, px]
                qy = by + np.random.randint(-radius, radius + 1)
                qx = bx + np.random.randint(-radius, radius + 1)
                _try(feat, src_ok, nny, nnx, cost, py, px, qy, qx, r)
                radius //= 2
            if global_draw:
                k = np.random.randint(0, n_src)
                _try(feat, src_ok, nny, nnx, cost, py, px, sources[k, 0], sources[k, 1], r)


@njit(cache=True, nogil=True)
def vote(
    image: np.ndarray,
    hole: np.ndarray,
    targets: np.ndarray,
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
    more weight near the centre, patches that disagree blur each other less.
    """
    h, w, c = image.shape
    for y in range(h):
        for x in range(w):
            weight[y, x] = 0.0
            error[y, x] = 0.0
            for k in range(c):
                out[y, x, k] = 0.0
    for i in range(targets.shape[0]):
        py, px = targets[i, 0], targets[i, 1]
        qy, qx = nny[py, px], nnx[py, px]
        wt = np.exp(-cost[py, px] / (2.0 * sigma2)) + 1e-12
        for dy in range(-r, r + 1):
            ty = py + dy
            if ty < 0 or ty >= h:
                continue
            for dx in range(-r, r + 1):
                tx = px + dx
                if tx < 0 or tx >= w or not hole[ty, tx]:
                    continue
                wk = wt * spatial[dy + r, dx + r]
                weight[ty, tx] += wk
                error[ty, tx] += wk * cost[py, px]
                for k in range(c):
                    out[ty, tx, k] += wk * image[qy + dy, qx + dx, k]
