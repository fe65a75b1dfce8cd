"""Numba kernels of the exact grid DBSCAN (see :mod:`ward_geo.cluster._dbscan` for the algorithm).

The names are public inside this private module so the estimators and the Dask engine share them.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ward_geo.cluster._grid import (
    BoolArray,
    FloatArray,
    IntArray,
    box_box_max_d2,
    box_box_min_d2,
    box_max_d2,
    box_min_d2,
    build_grid,
    cell_boxes,
    find_root,
    thread_budget,
    union_roots,
)

# --------------------------------------------------------------------------- kernels


@njit(cache=True, nogil=True, parallel=True)
# a compiled kernel receives its arrays as arguments (numba cannot take option objects)
def core_flags(  # noqa: PLR0913, C901
    xs: FloatArray, ys: FloatArray, ws: FloatArray, start: IntArray, nbr_ptr: IntArray,
    nbr: IntArray, bx0: FloatArray, bx1: FloatArray, by0: FloatArray, by1: FloatArray,
    cw: FloatArray, full: BoolArray, eps2: float, min_samples: float,
) -> BoolArray:
    n = xs.shape[0]
    ncell = start.shape[0] - 1
    core = np.zeros(n, dtype=np.bool_)
    for c in prange(ncell):
        s = start[c]
        e = start[c + 1]
        if full[c] and cw[c] >= min_samples:
            for i in range(s, e):
                core[i] = True
            continue
        # quick reject: the whole 5 x 5 block of cells weighs less than min_samples
        block = cw[c]
        for t in range(nbr_ptr[c], nbr_ptr[c + 1]):
            block += cw[nbr[t]]
        if block < min_samples:
            continue
        for i in range(s, e):
            px = xs[i]
            py = ys[i]
            if full[c]:
                cnt = cw[c]
            else:
                cnt = 0.0
                for j in range(s, e):
                    dx = px - xs[j]
                    dy = py - ys[j]
                    if dx * dx + dy * dy <= eps2:
                        cnt += ws[j]
            if cnt >= min_samples:
                core[i] = True
                continue
            # bounds from whole cells: lower = cells entirely within eps, upper = cells
            # not entirely beyond eps; only the cells in between are scanned
            upper = cnt
            for t in range(nbr_ptr[c], nbr_ptr[c + 1]):
                d = nbr[t]
                if box_min_d2(px, py, bx0[d], bx1[d], by0[d], by1[d]) > eps2:
                    continue
                upper += cw[d]
                if box_max_d2(px, py, bx0[d], bx1[d], by0[d], by1[d]) <= eps2:
                    cnt += cw[d]
            # (the upper bound stops early only with a margin for rounding of fractional weights)
            slack = 1e-9 * (upper + min_samples)
            if cnt >= min_samples or upper + slack < min_samples:
                core[i] = cnt >= min_samples
                continue
            for t in range(nbr_ptr[c], nbr_ptr[c + 1]):
                d = nbr[t]
                if box_min_d2(px, py, bx0[d], bx1[d], by0[d], by1[d]) > eps2:
                    continue
                if box_max_d2(px, py, bx0[d], bx1[d], by0[d], by1[d]) <= eps2:
                    continue  # already counted
                for j in range(start[d], start[d + 1]):
                    dx = px - xs[j]
                    dy = py - ys[j]
                    if dx * dx + dy * dy <= eps2:
                        cnt += ws[j]
                    else:
                        upper -= ws[j]
                if cnt >= min_samples or upper + slack < min_samples:
                    break
            core[i] = cnt >= min_samples
    return core


@njit(cache=True, nogil=True)
def core_tables(core: BoolArray, start: IntArray) -> tuple[IntArray, IntArray]:
    """Per-cell slices into the list of core positions (sorted order)."""
    ncell = start.shape[0] - 1
    cptr = np.zeros(ncell + 1, dtype=np.int64)
    for c in range(ncell):
        k = 0
        for i in range(start[c], start[c + 1]):
            if core[i]:
                k += 1
        cptr[c + 1] = cptr[c] + k
    cpos = np.empty(cptr[ncell], dtype=np.int64)
    k = 0
    for i in range(core.shape[0]):
        if core[i]:
            cpos[k] = i
            k += 1
    return cptr, cpos


@njit(cache=True, nogil=True, parallel=True)
def core_boxes(
    cx: FloatArray, cy: FloatArray, cptr: IntArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    ncell = cptr.shape[0] - 1
    bx0 = np.zeros(ncell)
    bx1 = np.zeros(ncell)
    by0 = np.zeros(ncell)
    by1 = np.zeros(ncell)
    for c in prange(ncell):
        s = cptr[c]
        e = cptr[c + 1]
        if s == e:
            continue
        x0 = cx[s]
        x1 = cx[s]
        y0 = cy[s]
        y1 = cy[s]
        for i in range(s + 1, e):
            x0 = min(x0, cx[i])
            x1 = max(x1, cx[i])
            y0 = min(y0, cy[i])
            y1 = max(y1, cy[i])
        bx0[c] = x0
        bx1[c] = x1
        by0[c] = y0
        by1[c] = y1
    return bx0, bx1, by0, by1


@njit(cache=True, nogil=True)
# a compiled kernel receives its arrays as arguments (numba cannot take option objects)
def connect_cores(  # noqa: PLR0913, C901
    cx: FloatArray, cy: FloatArray, cptr: IntArray, full: BoolArray, nbr_ptr: IntArray,
    nbr: IntArray, kx0: FloatArray, kx1: FloatArray, ky0: FloatArray, ky1: FloatArray,
    eps2: float,
) -> IntArray:
    """Union-find over core points (indices into the core list); returns roots."""
    m = cx.shape[0]
    ncell = cptr.shape[0] - 1
    parent = np.arange(m)
    for c in range(ncell):
        s = cptr[c]
        e = cptr[c + 1]
        if s == e:
            continue
        if full[c]:
            for i in range(s + 1, e):
                parent[i] = s
        else:
            for i in range(s, e):
                for j in range(i + 1, e):
                    dx = cx[i] - cx[j]
                    dy = cy[i] - cy[j]
                    if dx * dx + dy * dy <= eps2:
                        union_roots(parent, i, j)
    for c in range(ncell):
        s = cptr[c]
        e = cptr[c + 1]
        if s == e:
            continue
        for t in range(nbr_ptr[c], nbr_ptr[c + 1]):
            d = nbr[t]
            if d < c:
                continue
            s2 = cptr[d]
            e2 = cptr[d + 1]
            if s2 == e2:
                continue
            if (
                box_box_min_d2(kx0[c], kx1[c], ky0[c], ky1[c], kx0[d], kx1[d], ky0[d], ky1[d])
                > eps2
            ):
                continue
            if full[c] and full[d]:
                # one close pair joins the two cells
                if find_root(parent, s) == find_root(parent, s2):
                    continue
                if (
                    box_box_max_d2(
                        kx0[c], kx1[c], ky0[c], ky1[c], kx0[d], kx1[d], ky0[d], ky1[d]
                    )
                    <= eps2
                ):
                    union_roots(parent, s, s2)
                    continue
                found = False
                for i in range(s, e):
                    px = cx[i]
                    py = cy[i]
                    if box_min_d2(px, py, kx0[d], kx1[d], ky0[d], ky1[d]) > eps2:
                        continue
                    for j in range(s2, e2):
                        dx = px - cx[j]
                        dy = py - cy[j]
                        if dx * dx + dy * dy <= eps2:
                            found = True
                            break
                    if found:
                        break
                if found:
                    union_roots(parent, s, s2)
            else:
                for i in range(s, e):
                    px = cx[i]
                    py = cy[i]
                    for j in range(s2, e2):
                        dx = px - cx[j]
                        dy = py - cy[j]
                        if dx * dx + dy * dy <= eps2:
                            union_roots(parent, i, j)
    for i in range(m):
        parent[i] = find_root(parent, i)
    return parent


@njit(cache=True, nogil=True)
def number_clusters(root: IntArray, core_orig: IntArray) -> IntArray:
    """Cluster label of every core point, numbered by smallest input index."""
    m = root.shape[0]
    first = np.full(m, np.iinfo(np.int64).max, dtype=np.int64)
    for i in range(m):
        r = root[i]
        if core_orig[i] < first[r]:
            first[r] = core_orig[i]
    nroot = 0
    for i in range(m):
        if root[i] == i:
            nroot += 1
    roots = np.empty(nroot, dtype=np.int64)
    firsts = np.empty(nroot, dtype=np.int64)
    k = 0
    for i in range(m):
        if root[i] == i:
            roots[k] = i
            firsts[k] = first[i]
            k += 1
    rank = np.argsort(firsts)
    label_of_root = np.empty(m, dtype=np.int64)
    for lab in range(nroot):
        label_of_root[roots[rank[lab]]] = lab
    out = np.empty(m, dtype=np.int64)
    for i in range(m):
        out[i] = label_of_root[root[i]]
    return out


@njit(cache=True, nogil=True, parallel=True)
# a compiled kernel receives its arrays as arguments (numba cannot take option objects)
def label_points(  # noqa: PLR0913, C901
    xs: FloatArray, ys: FloatArray, core: BoolArray, start: IntArray, cptr: IntArray,
    cx: FloatArray, cy: FloatArray, clab: IntArray, full: BoolArray, nbr_ptr: IntArray,
    nbr: IntArray, kx0: FloatArray, kx1: FloatArray, ky0: FloatArray, ky1: FloatArray,
    eps2: float,
) -> IntArray:
    """Labels in sorted order: cores from ``clab``, border points the smallest label."""
    n = xs.shape[0]
    ncell = start.shape[0] - 1
    big = np.iinfo(np.int64).max
    labels = np.full(n, -1, dtype=np.int64)
    for c in prange(ncell):
        s = start[c]
        e = start[c + 1]
        k = cptr[c]
        for i in range(s, e):
            if core[i]:
                labels[i] = clab[k]
                k += 1
                continue
            px = xs[i]
            py = ys[i]
            best = big
            # own cell first, then the surrounding cells
            nb0 = nbr_ptr[c]
            for t in range(nb0 - 1, nbr_ptr[c + 1]):
                d = nbr[t] if t >= nb0 else np.int64(c)
                s2 = cptr[d]
                e2 = cptr[d + 1]
                if s2 == e2:
                    continue
                if full[d]:
                    # all core points of a full cell share one label
                    lab = clab[s2]
                    if lab >= best:
                        continue
                    if box_min_d2(px, py, kx0[d], kx1[d], ky0[d], ky1[d]) > eps2:
                        continue
                    if box_max_d2(px, py, kx0[d], kx1[d], ky0[d], ky1[d]) <= eps2:
                        best = lab
                        continue
                    for j in range(s2, e2):
                        dx = px - cx[j]
                        dy = py - cy[j]
                        if dx * dx + dy * dy <= eps2:
                            best = lab
                            break
                else:
                    if box_min_d2(px, py, kx0[d], kx1[d], ky0[d], ky1[d]) > eps2:
                        continue
                    for j in range(s2, e2):
                        if clab[j] >= best:
                            continue
                        dx = px - cx[j]
                        dy = py - cy[j]
                        if dx * dx + dy * dy <= eps2:
                            best = clab[j]
            if best != big:
                labels[i] = best
    return labels


@njit(cache=True, nogil=True, parallel=True)
def scatter_to(values: IntArray, order: IntArray) -> IntArray:
    out = np.empty_like(values)
    for k in prange(order.shape[0]):
        out[order[k]] = values[k]
    return out


def dbscan_labels(
    x: FloatArray, y: FloatArray, w: FloatArray, eps: float, min_samples: float
) -> tuple[IntArray, IntArray]:
    """Labels (input order) and sorted core-sample indices for validated inputs."""
    with thread_budget(x.shape[0]):
        return dbscan_labels_unbounded(x, y, w, eps, min_samples)


def dbscan_labels_unbounded(
    x: FloatArray, y: FloatArray, w: FloatArray, eps: float, min_samples: float
) -> tuple[IntArray, IntArray]:
    n = x.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    eps2 = eps * eps
    grid = build_grid(x, y, eps)
    ws = w[grid.order]
    bx0, bx1, by0, by1, cw, full = cell_boxes(grid.xs, grid.ys, ws, grid.start, eps2)
    core = core_flags(
        grid.xs, grid.ys, ws, grid.start, grid.nbr_ptr, grid.nbr,
        bx0, bx1, by0, by1, cw, full, eps2, float(min_samples),
    )
    del ws, bx0, bx1, by0, by1, cw
    cptr, cpos = core_tables(core, grid.start)
    cx = grid.xs[cpos]
    cy = grid.ys[cpos]
    core_orig = grid.order[cpos]
    del cpos
    kx0, kx1, ky0, ky1 = core_boxes(cx, cy, cptr)
    root = connect_cores(cx, cy, cptr, full, grid.nbr_ptr, grid.nbr, kx0, kx1, ky0, ky1, eps2)
    clab = number_clusters(root, core_orig)
    del root
    labels_sorted = label_points(
        grid.xs, grid.ys, core, grid.start, cptr, cx, cy, clab, full,
        grid.nbr_ptr, grid.nbr, kx0, kx1, ky0, ky1, eps2,
    )
    labels = scatter_to(labels_sorted, grid.order)
    core_idx = np.sort(core_orig)
    return labels, core_idx


