"""Numba kernels shared by the grid-based density clustering estimators.

The plane is cut into square cells of side ``eps / sqrt(2)``; every point within ``eps``
of a point lies in the 5 x 5 block of cells around the point's cell. Points are sorted by
cell so each cell is a contiguous slice, and each cell knows its occupied neighbour
cells through a CSR table. Exactness never relies on where a cell boundary falls: every
shortcut is justified by a bounding-box test that is monotone under IEEE rounding (a
bound computed from a box bounds the same formula evaluated on any point inside it), and
every pair test is ``dx * dx + dy * dy <= eps * eps`` — the comparison scikit-learn's
trees make.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numba
import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from ward_geo.errors import ParameterError

__all__ = ["GridIndex", "build_grid", "MAX_CELLS_PER_AXIS", "thread_budget"]

#: Inputs smaller than this run the parallel kernels on one thread: thread start-up and
#: barriers cost more than they save there, and far more on a busy machine.
PARALLEL_MIN_POINTS = 50_000

#: Upper bound on grid cells along one axis: keeps cell keys in int64 and the rounding
#: of cell coordinates far below one cell.
MAX_CELLS_PER_AXIS = 2**31

#: Array types of the kernels' arguments and results.
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@contextlib.contextmanager
def thread_budget(n_points: int) -> Iterator[None]:
    """Run numba kernels on one thread for small inputs (restored afterwards)."""
    if n_points >= PARALLEL_MIN_POINTS:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


@njit(cache=True, nogil=True)
def find_root(parent: IntArray, i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@njit(cache=True, nogil=True)
def union_roots(parent: IntArray, i: int, j: int) -> None:
    ri = find_root(parent, i)
    rj = find_root(parent, j)
    if ri == rj:
        return
    if ri < rj:
        parent[rj] = ri
    else:
        parent[ri] = rj


@njit(cache=True, nogil=True)
def cell_keys(
    x: FloatArray, y: FloatArray, xmin: float, ymin: float, inv_side: float, ncy: int
) -> IntArray:
    n = x.shape[0]
    keys = np.empty(n, dtype=np.int64)
    for i in range(n):
        cx = np.int64(math.floor((x[i] - xmin) * inv_side))
        cy = np.int64(math.floor((y[i] - ymin) * inv_side))
        keys[i] = cx * ncy + cy
    return keys


@njit(cache=True, nogil=True)
def counting_order(keys: IntArray, nkeys: int) -> IntArray:
    """Stable sort permutation of keys in ``[0, nkeys)`` by counting (O(n + nkeys))."""
    n = keys.shape[0]
    pos = np.zeros(nkeys + 1, dtype=np.int64)
    for i in range(n):
        pos[keys[i] + 1] += 1
    for k in range(nkeys):
        pos[k + 1] += pos[k]
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        k = keys[i]
        order[pos[k]] = i
        pos[k] += 1
    return order


@njit(cache=True, nogil=True)
def cells_from_sorted_keys(skeys: IntArray, ncy: int) -> tuple[IntArray, IntArray, IntArray]:
    """Cell slices and integer cell coordinates of sorted keys."""
    n = skeys.shape[0]
    ncell = 0
    for i in range(n):
        if i == 0 or skeys[i] != skeys[i - 1]:
            ncell += 1
    start = np.empty(ncell + 1, dtype=np.int64)
    ccx = np.empty(ncell, dtype=np.int64)
    ccy = np.empty(ncell, dtype=np.int64)
    c = 0
    for i in range(n):
        if i == 0 or skeys[i] != skeys[i - 1]:
            start[c] = i
            ccx[c] = skeys[i] // ncy
            ccy[c] = skeys[i] % ncy
            c += 1
    start[ncell] = n
    return start, ccx, ccy


@njit(cache=True, nogil=True)
def cell_columns(ccx: IntArray) -> tuple[IntArray, IntArray]:
    ncell = ccx.shape[0]
    ncol = 0
    for c in range(ncell):
        if c == 0 or ccx[c] != ccx[c - 1]:
            ncol += 1
    col_start = np.empty(ncol + 1, dtype=np.int64)
    col_of_cell = np.empty(ncell, dtype=np.int64)
    k = -1
    for c in range(ncell):
        if c == 0 or ccx[c] != ccx[c - 1]:
            k += 1
            col_start[k] = c
        col_of_cell[c] = k
    col_start[ncol] = ncell
    return col_start, col_of_cell


@njit(cache=True, nogil=True)
def lower_bound(arr: IntArray, lo: int, hi: int, value: int) -> int:
    while lo < hi:
        mid = (lo + hi) >> 1
        if arr[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def neighbour_cells_of(
    c: int, ccx: IntArray, ccy: IntArray, col_start: IntArray, col_of_cell: IntArray,
    out: IntArray, offset: int, write: bool,
) -> int:
    """Count the occupied cells of the 5 x 5 block around cell ``c``, itself excluded.

    With ``write``, also store them at ``out[offset:]``.
    """
    k = 0
    j = col_of_cell[c]
    ncol = col_start.shape[0] - 1
    cx = ccx[c]
    cy = ccy[c]
    for jj in range(max(0, j - 2), min(ncol, j + 3)):
        lo = col_start[jj]
        hi = col_start[jj + 1]
        if abs(ccx[lo] - cx) > 2:
            continue
        d = lower_bound(ccy, lo, hi, cy - 2)
        while d < hi and ccy[d] <= cy + 2:
            if d != c:
                if write:
                    out[offset + k] = d
                k += 1
            d += 1
    return k


@njit(cache=True, nogil=True, parallel=True)
def neighbour_table(
    ccx: IntArray, ccy: IntArray, col_start: IntArray, col_of_cell: IntArray
) -> tuple[IntArray, IntArray]:
    ncell = ccx.shape[0]
    counts = np.zeros(ncell + 1, dtype=np.int64)
    dummy = np.empty(0, dtype=np.int64)
    for c in prange(ncell):
        counts[c + 1] = neighbour_cells_of(c, ccx, ccy, col_start, col_of_cell, dummy, 0, False)
    ptr = np.cumsum(counts)
    nbr = np.empty(ptr[ncell], dtype=np.int64)
    for c in prange(ncell):
        neighbour_cells_of(c, ccx, ccy, col_start, col_of_cell, nbr, ptr[c], True)
        # nearest cells first: counts reach min_samples sooner, so loops stop earlier
        lo = ptr[c]
        for a in range(lo + 1, ptr[c + 1]):
            d = nbr[a]
            key = (ccx[d] - ccx[c]) ** 2 + (ccy[d] - ccy[c]) ** 2
            b = a - 1
            while b >= lo and (ccx[nbr[b]] - ccx[c]) ** 2 + (ccy[nbr[b]] - ccy[c]) ** 2 > key:
                nbr[b + 1] = nbr[b]
                b -= 1
            nbr[b + 1] = d
    return ptr, nbr


@njit(cache=True, nogil=True, parallel=True)
def cell_boxes(
    xs: FloatArray, ys: FloatArray, ws: FloatArray, start: IntArray, eps2: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, BoolArray]:
    ncell = start.shape[0] - 1
    bx0 = np.empty(ncell)
    bx1 = np.empty(ncell)
    by0 = np.empty(ncell)
    by1 = np.empty(ncell)
    cw = np.empty(ncell)
    full = np.empty(ncell, dtype=np.bool_)
    for c in prange(ncell):
        s = start[c]
        e = start[c + 1]
        x0 = xs[s]
        x1 = xs[s]
        y0 = ys[s]
        y1 = ys[s]
        w = 0.0
        for i in range(s, e):
            x0 = min(x0, xs[i])
            x1 = max(x1, xs[i])
            y0 = min(y0, ys[i])
            y1 = max(y1, ys[i])
            w += ws[i]
        bx0[c] = x0
        bx1[c] = x1
        by0[c] = y0
        by1[c] = y1
        cw[c] = w
        dx = x1 - x0
        dy = y1 - y0
        full[c] = dx * dx + dy * dy <= eps2
    return bx0, bx1, by0, by1, cw, full


@njit(cache=True, nogil=True, inline="always")
def box_min_d2(px: float, py: float, x0: float, x1: float, y0: float, y1: float) -> float:
    dx = max(x0 - px, px - x1, 0.0)
    dy = max(y0 - py, py - y1, 0.0)
    return dx * dx + dy * dy


@njit(cache=True, nogil=True, inline="always")
def box_max_d2(px: float, py: float, x0: float, x1: float, y0: float, y1: float) -> float:
    dx = max(px - x0, x1 - px)
    dy = max(py - y0, y1 - py)
    return dx * dx + dy * dy


@njit(cache=True, nogil=True, inline="always")
def box_box_min_d2(
    ax0: float, ax1: float, ay0: float, ay1: float, bx0: float, bx1: float, by0: float, by1: float
) -> float:
    dx = max(bx0 - ax1, ax0 - bx1, 0.0)
    dy = max(by0 - ay1, ay0 - by1, 0.0)
    return dx * dx + dy * dy


@njit(cache=True, nogil=True, inline="always")
def box_box_max_d2(
    ax0: float, ax1: float, ay0: float, ay1: float, bx0: float, bx1: float, by0: float, by1: float
) -> float:
    dx = max(ax1 - bx0, bx1 - ax0)
    dy = max(ay1 - by0, by1 - ay0)
    return dx * dx + dy * dy


class GridIndex:
    """Points sorted into an ``eps / sqrt(2)`` grid (all arrays in sorted order).

    Attributes
    ----------
    order : ndarray of int64
        ``order[k]`` is the input index of the k-th sorted point.
    xs, ys : ndarray of float64
        Sorted coordinates.
    start : ndarray of int64
        Cell ``c`` holds sorted points ``start[c]:start[c + 1]``.
    nbr_ptr, nbr : ndarray of int64
        CSR table of the occupied cells in the 5 x 5 block around each cell.
    """

    __slots__ = ("order", "xs", "ys", "start", "ccx", "ccy", "nbr_ptr", "nbr")

    def __init__(
        self, order: IntArray, xs: FloatArray, ys: FloatArray, start: IntArray, ccx: IntArray,
        ccy: IntArray, nbr_ptr: IntArray, nbr: IntArray,
    ) -> None:
        self.order = order
        self.xs = xs
        self.ys = ys
        self.start = start
        self.ccx = ccx
        self.ccy = ccy
        self.nbr_ptr = nbr_ptr
        self.nbr = nbr

    @property
    def n_cells(self) -> int:
        return int(self.start.shape[0] - 1)


def build_grid(x: FloatArray, y: FloatArray, eps: float) -> GridIndex:
    """Sort points into the grid of side ``eps / sqrt(2)`` and build the neighbour table.

    Raises
    ------
    ParameterError
        When ``eps`` is so small against the extent of the data that the grid would need
        more than ``MAX_CELLS_PER_AXIS`` cells along an axis.
    """
    side = eps / math.sqrt(2.0)
    inv_side = 1.0 / side if side > 0 else math.inf
    if not math.isfinite(inv_side):
        raise ParameterError(f"eps={eps!r} is too small to build a grid; use a larger eps")
    xmin = float(x.min())
    ymin = float(y.min())
    span = max(float(x.max()) - xmin, float(y.max()) - ymin)
    # the same expression as in cell_keys, so every cell coordinate is < ncx, ncy
    fx = (float(x.max()) - xmin) * inv_side
    fy = (float(y.max()) - ymin) * inv_side
    if not (fx < MAX_CELLS_PER_AXIS - 1 and fy < MAX_CELLS_PER_AXIS - 1):
        raise ParameterError(
            f"eps={eps!r} is too small for data spanning {span:.6g} m: the grid would need "
            f"more than {MAX_CELLS_PER_AXIS} cells along an axis; use an eps of at least "
            f"{span * math.sqrt(2.0) / MAX_CELLS_PER_AXIS:.3g} m"
        )
    ncy = math.floor(fy) + 1
    keys = cell_keys(x, y, xmin, ymin, inv_side, ncy)
    ncx = math.floor(fx) + 1
    if ncx * ncy <= max(4 * x.shape[0], 1 << 16):
        order = counting_order(keys, ncx * ncy)  # dense grid: counting sort
    else:
        order = np.argsort(keys)
    skeys = keys[order]
    del keys
    xs = x[order]
    ys = y[order]
    start, ccx, ccy = cells_from_sorted_keys(skeys, ncy)
    del skeys
    col_start, col_of_cell = cell_columns(ccx)
    nbr_ptr, nbr = neighbour_table(ccx, ccy, col_start, col_of_cell)
    return GridIndex(order, xs, ys, start, ccx, ccy, nbr_ptr, nbr)
