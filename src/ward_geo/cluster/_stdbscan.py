"""Space-time DBSCAN (ST-DBSCAN, after Birant & Kut 2007) on projected coordinates.

Two incidents are neighbours when they are within ``eps_m`` metres in space **and**
within ``eps_t`` in time (``dx * dx + dy * dy <= eps_m ** 2`` and ``|t_i - t_j| <=
eps_t`` in seconds). With that neighbourhood the algorithm is exact DBSCAN: core points
have a neighbourhood weight (themselves included) of at least ``min_samples``, core
points that are neighbours share a cluster, and a border point takes the smallest label
among its core neighbours' clusters, clusters being numbered by their first core point —
the same result as ``sklearn.cluster.DBSCAN`` run on the space-time neighbourhood graph.

The search uses the spatial grid of :mod:`ward_geo.cluster._grid` (cells of side
``eps_m / sqrt(2)``) with each cell's points sorted by time, so each point scans only the
time window of the 25 surrounding cells.
"""

from __future__ import annotations

import datetime as _dt
import math
import numbers
from typing import Any

import numpy as np
import pandas as pd
from numba import njit, prange

from ward_geo.cluster._dbscan_inner import number_clusters, scatter_to
from ward_geo.cluster._grid import (
    BoolArray,
    FloatArray,
    IntArray,
    box_max_d2,
    box_min_d2,
    build_grid,
    cell_boxes,
    find_root,
    thread_budget,
    union_roots,
)
from ward_geo.cluster._validation import (
    DEFAULT_MAX_EPS_M,
    check_eps,
    check_min_samples,
    validate_points,
    validate_weights,
)
from ward_geo.errors import ParameterError

__all__ = ["STDBSCAN", "to_seconds", "warm_up"]


@njit(cache=True, nogil=True)
def sort_cells_by_time(ts: FloatArray, start: IntArray) -> IntArray:
    """Permutation (within each cell) that sorts a cell's points by time."""
    n = ts.shape[0]
    perm = np.empty(n, dtype=np.int64)
    for c in range(start.shape[0] - 1):
        s = start[c]
        e = start[c + 1]
        local = np.argsort(ts[s:e], kind="mergesort")
        for k in range(e - s):
            perm[s + k] = s + local[k]
    return perm


@njit(cache=True, nogil=True, inline="always")
def window_start(ts: FloatArray, lo: int, hi: int, tmin: float) -> int:
    while lo < hi:
        mid = (lo + hi) >> 1
        if ts[mid] < tmin:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True, inline="always")
def time_window(ts: FloatArray, lo: int, hi: int, pt: float, eps_t: float) -> tuple[int, int]:
    """Exact slice ``[a, b)`` of a time-sorted cell with ``|pt - ts[j]| <= eps_t``.

    ``pt - ts[j]`` falls and ``ts[j] - pt`` rises along the cell, so both ends are found
    by bisection on the very comparisons the pair test makes.
    """
    a = lo
    b = hi
    while a < b:
        mid = (a + b) >> 1
        if pt - ts[mid] <= eps_t:
            b = mid
        else:
            a = mid + 1
    first = a
    b = hi
    while a < b:
        mid = (a + b) >> 1
        if ts[mid] - pt > eps_t:
            b = mid
        else:
            a = mid + 1
    return first, a


@njit(cache=True, nogil=True, parallel=True)
# a compiled kernel receives its arrays as arguments (numba cannot take option objects)
def st_core_flags(  # noqa: PLR0913
    xs: FloatArray, ys: FloatArray, ts: FloatArray, ws: FloatArray, wsum: FloatArray,
    start: IntArray, nbr_ptr: IntArray, nbr: IntArray, bx0: FloatArray, bx1: FloatArray,
    by0: FloatArray, by1: FloatArray, eps2: float, eps_t: float, min_samples: float,
) -> BoolArray:
    """Core flags; ``wsum`` is the running sum of ``ws`` (``wsum[k] = ws[:k].sum()``)."""
    n = xs.shape[0]
    ncell = start.shape[0] - 1
    core = np.zeros(n, dtype=np.bool_)
    for c in prange(ncell):
        nb0 = nbr_ptr[c]
        for i in range(start[c], start[c + 1]):
            px = xs[i]
            py = ys[i]
            pt = ts[i]
            cnt = 0.0
            for t in range(nb0 - 1, nbr_ptr[c + 1]):
                d = nbr[t] if t >= nb0 else np.int64(c)
                if box_min_d2(px, py, bx0[d], bx1[d], by0[d], by1[d]) > eps2:
                    continue
                a, b = time_window(ts, start[d], start[d + 1], pt, eps_t)
                if box_max_d2(px, py, bx0[d], bx1[d], by0[d], by1[d]) <= eps2:
                    # the whole cell is within eps: weigh its time window at once
                    cnt += wsum[b] - wsum[a]
                else:
                    for j in range(a, b):
                        dx = px - xs[j]
                        dy = py - ys[j]
                        if dx * dx + dy * dy <= eps2:
                            cnt += ws[j]
                if cnt >= min_samples:
                    break
            core[i] = cnt >= min_samples
    return core


@njit(cache=True, nogil=True)
# a compiled kernel receives its arrays as arguments (numba cannot take option objects)
def st_connect(  # noqa: PLR0913
    xs: FloatArray, ys: FloatArray, ts: FloatArray, core: BoolArray, core_slot: IntArray,
    start: IntArray, nbr_ptr: IntArray, nbr: IntArray, eps2: float, eps_t: float, margin: float,
) -> IntArray:
    """Union-find over core points; ``core_slot[i]`` is i's index in the core list."""
    m = 0
    for i in range(core.shape[0]):
        if core[i]:
            m += 1
    parent = np.arange(m)
    ncell = start.shape[0] - 1
    for c in range(ncell):
        nb0 = nbr_ptr[c]
        for i in range(start[c], start[c + 1]):
            if not core[i]:
                continue
            a = core_slot[i]
            px = xs[i]
            py = ys[i]
            pt = ts[i]
            for t in range(nb0 - 1, nbr_ptr[c + 1]):
                d = nbr[t] if t >= nb0 else c
                if d < c:
                    continue
                j = window_start(ts, start[d], start[d + 1], pt - eps_t - margin)
                e = start[d + 1]
                while j < e and ts[j] <= pt + eps_t + margin:
                    if core[j] and (d != c or j > i) and abs(pt - ts[j]) <= eps_t:
                        dx = px - xs[j]
                        dy = py - ys[j]
                        if dx * dx + dy * dy <= eps2:
                            union_roots(parent, a, core_slot[j])
                    j += 1
    for k in range(m):
        parent[k] = find_root(parent, k)
    return parent


@njit(cache=True, nogil=True, parallel=True)
# a compiled kernel receives its arrays as arguments (numba cannot take option objects)
def st_label_points(  # noqa: PLR0913
    xs: FloatArray, ys: FloatArray, ts: FloatArray, core: BoolArray, core_slot: IntArray,
    clab: IntArray, start: IntArray, nbr_ptr: IntArray, nbr: IntArray, eps2: float,
    eps_t: float, margin: float,
) -> IntArray:
    n = xs.shape[0]
    ncell = start.shape[0] - 1
    big = np.iinfo(np.int64).max
    labels = np.full(n, -1, dtype=np.int64)
    for c in prange(ncell):
        nb0 = nbr_ptr[c]
        for i in range(start[c], start[c + 1]):
            if core[i]:
                labels[i] = clab[core_slot[i]]
                continue
            px = xs[i]
            py = ys[i]
            pt = ts[i]
            best = big
            for t in range(nb0 - 1, nbr_ptr[c + 1]):
                d = nbr[t] if t >= nb0 else np.int64(c)
                j = window_start(ts, start[d], start[d + 1], pt - eps_t - margin)
                e = start[d + 1]
                while j < e and ts[j] <= pt + eps_t + margin:
                    if core[j] and abs(pt - ts[j]) <= eps_t:
                        lab = clab[core_slot[j]]
                        if lab < best:
                            dx = px - xs[j]
                            dy = py - ys[j]
                            if dx * dx + dy * dy <= eps2:
                                best = lab
                    j += 1
            if best != big:
                labels[i] = best
    return labels


def to_seconds(t: Any) -> np.ndarray:
    """Times as float64 seconds: datetime-likes become seconds since their minimum.

    Parameters
    ----------
    t : array-like
        Datetimes (numpy ``datetime64``, pandas datetimes with or without a time zone,
        ``datetime`` objects, ISO strings) or numbers already in seconds.

    Returns
    -------
    ndarray of float64

    Raises
    ------
    ParameterError
        When a value cannot be read as a time or is missing.
    """
    if isinstance(t, (pd.Series, pd.Index)):
        values = t
    else:
        values = pd.Series(np.asarray(t) if not isinstance(t, list) else t)
    if pd.api.types.is_bool_dtype(values.dtype):
        raise ParameterError("t must hold datetimes or numbers of seconds, got booleans")
    if pd.api.types.is_numeric_dtype(values.dtype):
        out = np.asarray(values, dtype=np.float64)
    else:
        try:
            dt = pd.to_datetime(pd.Series(values), utc=True, format="mixed")
        except (ValueError, TypeError) as exc:
            raise ParameterError(f"t must hold datetimes or numbers of seconds: {exc}") from None
        ns = dt.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        missing = dt.isna().to_numpy()
        out = np.full(ns.shape[0], np.nan)
        if (~missing).any():
            base = ns[~missing].min()
            out[~missing] = (ns[~missing] - base) / 1e9
    bad = ~np.isfinite(out)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ParameterError(
            f"t has {rows.size} missing or non-finite time(s): rows "
            f"{', '.join(map(str, rows[:10]))}; every point needs a time",
            details={"rows": rows[:100].tolist()},
        )
    return out


def eps_t_seconds(eps_t: Any) -> float:
    if isinstance(eps_t, bool):
        raise ParameterError(f"eps_t must be a duration or a number of hours, got {eps_t!r}")
    if isinstance(eps_t, (pd.Timedelta, _dt.timedelta, np.timedelta64, str)):
        try:
            sec = float(pd.Timedelta(eps_t).total_seconds())
        except (ValueError, TypeError) as exc:
            raise ParameterError(f"eps_t {eps_t!r} is not a duration: {exc}") from None
    elif isinstance(eps_t, numbers.Real):
        sec = float(eps_t) * 3600.0
    else:
        raise ParameterError(f"eps_t must be a duration or a number of hours, got {eps_t!r}")
    if not (math.isfinite(sec) and sec >= 0):
        raise ParameterError(f"eps_t must be a finite duration >= 0, got {eps_t!r}")
    return sec


class STDBSCAN:
    """Exact space-time DBSCAN.

    Parameters
    ----------
    eps_m : float
        Spatial radius in metres.
    eps_t : float, str, pandas.Timedelta or datetime.timedelta
        Temporal radius; a number is hours (``eps_t=48`` is two days), a string is read
        by :class:`pandas.Timedelta` (``"2D"``, ``"6h"``).
    min_samples : int, default 5
        Neighbourhood weight (the point itself included) needed for a core point.
    max_eps : float or None, default 5000
        Largest accepted ``eps_m`` in metres; ``None`` lifts the limit.

    Attributes
    ----------
    labels_, core_sample_indices_, components_, n_clusters_
        As in :class:`ward_geo.cluster.DBSCAN`; ``components_`` holds the
        core points' x, y.
    eps_t_seconds_ : float
        The temporal radius in seconds.
    """

    def __init__(
        self,
        eps_m: float = 100.0,
        eps_t: Any = 24.0,
        min_samples: int = 5,
        *,
        max_eps: float | None = DEFAULT_MAX_EPS_M,
    ) -> None:
        self.eps_m = eps_m
        self.eps_t = eps_t
        self.min_samples = min_samples
        self.max_eps = max_eps

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters (scikit-learn convention)."""
        return {
            "eps_m": self.eps_m,
            "eps_t": self.eps_t,
            "min_samples": self.min_samples,
            "max_eps": self.max_eps,
        }

    def fit(self, X: Any, y: Any = None, *, t: Any = None, sample_weight: Any = None) -> STDBSCAN:
        """Cluster incidents in space and time.

        Parameters
        ----------
        X : array-like of shape (n, 2) or (n, 3)
            Projected x, y in metres; with ``t=None`` a third column holds the time in
            seconds.
        y : ignored
        t : array-like of shape (n,), optional
            Times: datetimes (time-zone aware or naive) or numbers of seconds.
        sample_weight : array-like of shape (n,), optional
            Non-negative weights.

        Returns
        -------
        STDBSCAN
        """
        problems: list[str] = []
        eps = _collect(problems, check_eps, self.eps_m, self.max_eps)
        eps_t = _collect(problems, eps_t_seconds, self.eps_t)
        min_samples = _collect(problems, check_min_samples, self.min_samples)
        if problems:
            raise ParameterError("; ".join(problems))
        if t is None:
            arr = validate_points(X, ncols=3)
            xy = arr[:, :2]
            ts = np.ascontiguousarray(arr[:, 2])
        else:
            xy = validate_points(X)
            ts = to_seconds(t)
            if ts.shape[0] != xy.shape[0]:
                raise ParameterError(f"t has {ts.shape[0]} values but X has {xy.shape[0]} rows")
        n = xy.shape[0]
        w = validate_weights(sample_weight, n)
        with thread_budget(n):
            labels, core_idx = stdbscan_labels(
                np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]), ts, w,
                float(eps), float(eps_t), int(min_samples),
            )
        self.eps_t_seconds_ = float(eps_t)
        self.labels_ = labels
        self.core_sample_indices_ = core_idx
        self.components_ = np.ascontiguousarray(xy[core_idx])
        self.n_clusters_ = int(labels.max()) + 1 if n else 0
        return self

    def fit_predict(self, X: Any, y: Any = None, *, t: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit and return ``labels_``."""
        return self.fit(X, t=t, sample_weight=sample_weight).labels_


def _collect(problems: list[str], check: Any, *args: Any) -> Any:
    try:
        return check(*args)
    except ParameterError as exc:
        problems.append(exc.message)
        return None


def stdbscan_labels(
    x: FloatArray, y: FloatArray, ts: FloatArray, w: FloatArray, eps: float, eps_t: float,
    min_samples: int,
) -> tuple[IntArray, IntArray]:
    n = x.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    grid = build_grid(x, y, eps)
    ts_s = ts[grid.order]
    perm = sort_cells_by_time(ts_s, grid.start)
    order = grid.order[perm]
    xs = grid.xs[perm]
    ys = grid.ys[perm]
    tss = ts_s[perm]
    ws = w[order]
    eps2 = eps * eps
    # slack for the window bounds only; the exact test is |t_i - t_j| <= eps_t
    margin = 1e-9 * (eps_t + float(np.abs(ts).max()) + 1.0)
    bx0, bx1, by0, by1, _, _ = cell_boxes(xs, ys, ws, grid.start, eps2)
    wsum = np.concatenate([[0.0], np.cumsum(ws)])
    core = st_core_flags(xs, ys, tss, ws, wsum, grid.start, grid.nbr_ptr, grid.nbr,
                    bx0, bx1, by0, by1, eps2, eps_t, float(min_samples))
    core_slot = np.cumsum(core) - 1
    root = st_connect(xs, ys, tss, core, core_slot, grid.start, grid.nbr_ptr, grid.nbr,
                       eps2, eps_t, margin)
    core_orig = order[core]
    clab = number_clusters(root, core_orig)
    labels_sorted = st_label_points(xs, ys, tss, core, core_slot, clab, grid.start, grid.nbr_ptr,
                               grid.nbr, eps2, eps_t, margin)
    return scatter_to(labels_sorted, order), np.sort(core_orig)


def warm_up() -> None:
    """Compile (or load from the numba cache) the ST-DBSCAN kernels."""
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 100, size=(64, 3))
    STDBSCAN(eps_m=20.0, eps_t=0.01, min_samples=3).fit(X)
