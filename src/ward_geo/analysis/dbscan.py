"""Exact grid-based DBSCAN for 2-D metric coordinates.

:class:`DBSCAN` gives the result of :class:`sklearn.cluster.DBSCAN` (euclidean metric)
— the same core points, the same noise and the same clusters with the same label
numbers — in O(n) memory and roughly O(n) time on city data.

Algorithm
---------
1. Points are sorted into square cells of side ``eps / sqrt(2)``; a cell whose bounding
   box diagonal is ``<= eps`` ("full" cell, nearly all of them) has all its points
   within ``eps`` of each other, so the cell acts like one weighted point: exact
   duplicates and dense clumps cost O(1) per cell.
2. Core test: a point is core when the summed weight of its ``eps``-neighbourhood
   (itself included, distance ``<= eps``) reaches ``min_samples``. A full cell whose
   weight reaches ``min_samples`` makes all its points core at once; otherwise the 24
   surrounding cells are visited, whole cells being added or skipped by box bounds and
   the rest checked point by point, stopping as soon as the threshold is reached.
3. Core points are joined with union-find: all core points of a full cell together, and
   two neighbouring cells when any core pair is within ``eps``.
4. Clusters are numbered by their smallest core-point index, and a border point takes
   the smallest label among the clusters of its core neighbours. This is exactly what
   scikit-learn's expansion order produces, so ``labels_`` match it label for label.

Pair tests compute ``dx * dx + dy * dy <= eps * eps`` as scikit-learn's KD and ball
trees do for single points, so points exactly ``eps`` apart are neighbours in both. One
boundary case cannot be matched by any fixed rule: when a squared distance exceeds
``eps * eps`` by a rounding step but its rounded square root equals ``eps``,
scikit-learn's trees count the pair or not depending on the tree layout (a whole node
is accepted when the square root of its bound is ``<= eps``); ward_geo always applies
the squared comparison. The tests cover this case against a precomputed reference.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from numba import njit, prange

from ward_geo.analysis._grid import (
    _box_box_max_d2,
    _box_box_min_d2,
    _box_max_d2,
    _box_min_d2,
    _cell_boxes,
    _find,
    _union,
    build_grid,
    thread_budget,
)
from ward_geo.errors import ParameterError

__all__ = ["DBSCAN", "warm_up", "validate_points", "validate_weights", "DEFAULT_MAX_EPS_M"]

#: Largest eps accepted by default (metres). A larger radius chains a whole city into one
#: cluster and makes the neighbour search quadratic; pass ``max_eps=None`` to lift it.
DEFAULT_MAX_EPS_M = 5000.0


# --------------------------------------------------------------------------- kernels


@njit(cache=True, nogil=True, parallel=True)
def _core_flags(xs, ys, ws, start, nbr_ptr, nbr, bx0, bx1, by0, by1, cw, full, eps2, min_samples):
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
                if _box_min_d2(px, py, bx0[d], bx1[d], by0[d], by1[d]) > eps2:
                    continue
                upper += cw[d]
                if _box_max_d2(px, py, bx0[d], bx1[d], by0[d], by1[d]) <= eps2:
                    cnt += cw[d]
            # (the upper bound stops early only with a margin for rounding of fractional weights)
            slack = 1e-9 * (upper + min_samples)
            if cnt >= min_samples or upper + slack < min_samples:
                core[i] = cnt >= min_samples
                continue
            for t in range(nbr_ptr[c], nbr_ptr[c + 1]):
                d = nbr[t]
                if _box_min_d2(px, py, bx0[d], bx1[d], by0[d], by1[d]) > eps2:
                    continue
                if _box_max_d2(px, py, bx0[d], bx1[d], by0[d], by1[d]) <= eps2:
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
def _core_tables(core, start):
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
def _core_boxes(cx, cy, cptr):
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
def _connect_cores(cx, cy, cptr, full, nbr_ptr, nbr, kx0, kx1, ky0, ky1, eps2):
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
                        _union(parent, i, j)
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
                _box_box_min_d2(kx0[c], kx1[c], ky0[c], ky1[c], kx0[d], kx1[d], ky0[d], ky1[d])
                > eps2
            ):
                continue
            if full[c] and full[d]:
                # one close pair joins the two cells
                if _find(parent, s) == _find(parent, s2):
                    continue
                if (
                    _box_box_max_d2(
                        kx0[c], kx1[c], ky0[c], ky1[c], kx0[d], kx1[d], ky0[d], ky1[d]
                    )
                    <= eps2
                ):
                    _union(parent, s, s2)
                    continue
                found = False
                for i in range(s, e):
                    px = cx[i]
                    py = cy[i]
                    if _box_min_d2(px, py, kx0[d], kx1[d], ky0[d], ky1[d]) > eps2:
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
                    _union(parent, s, s2)
            else:
                for i in range(s, e):
                    px = cx[i]
                    py = cy[i]
                    for j in range(s2, e2):
                        dx = px - cx[j]
                        dy = py - cy[j]
                        if dx * dx + dy * dy <= eps2:
                            _union(parent, i, j)
    for i in range(m):
        parent[i] = _find(parent, i)
    return parent


@njit(cache=True, nogil=True)
def _number_clusters(root, core_orig):
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
def _label_points(xs, ys, core, start, cptr, cx, cy, clab, full, nbr_ptr, nbr,
                  kx0, kx1, ky0, ky1, eps2):
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
                    if _box_min_d2(px, py, kx0[d], kx1[d], ky0[d], ky1[d]) > eps2:
                        continue
                    if _box_max_d2(px, py, kx0[d], kx1[d], ky0[d], ky1[d]) <= eps2:
                        best = lab
                        continue
                    for j in range(s2, e2):
                        dx = px - cx[j]
                        dy = py - cy[j]
                        if dx * dx + dy * dy <= eps2:
                            best = lab
                            break
                else:
                    if _box_min_d2(px, py, kx0[d], kx1[d], ky0[d], ky1[d]) > eps2:
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
def _scatter(values, order):
    out = np.empty_like(values)
    for k in prange(order.shape[0]):
        out[order[k]] = values[k]
    return out


def _dbscan_core(x: np.ndarray, y: np.ndarray, w: np.ndarray, eps: float, min_samples: float):
    """Labels (input order) and sorted core-sample indices for validated inputs."""
    with thread_budget(x.shape[0]):
        return _dbscan_run(x, y, w, eps, min_samples)


def _dbscan_run(x: np.ndarray, y: np.ndarray, w: np.ndarray, eps: float, min_samples: float):
    n = x.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    eps2 = eps * eps
    grid = build_grid(x, y, eps)
    ws = w[grid.order]
    bx0, bx1, by0, by1, cw, full = _cell_boxes(grid.xs, grid.ys, ws, grid.start, eps2)
    core = _core_flags(
        grid.xs, grid.ys, ws, grid.start, grid.nbr_ptr, grid.nbr,
        bx0, bx1, by0, by1, cw, full, eps2, float(min_samples),
    )
    del ws, bx0, bx1, by0, by1, cw
    cptr, cpos = _core_tables(core, grid.start)
    cx = grid.xs[cpos]
    cy = grid.ys[cpos]
    core_orig = grid.order[cpos]
    del cpos
    kx0, kx1, ky0, ky1 = _core_boxes(cx, cy, cptr)
    root = _connect_cores(cx, cy, cptr, full, grid.nbr_ptr, grid.nbr, kx0, kx1, ky0, ky1, eps2)
    clab = _number_clusters(root, core_orig)
    del root
    labels_sorted = _label_points(
        grid.xs, grid.ys, core, grid.start, cptr, cx, cy, clab, full,
        grid.nbr_ptr, grid.nbr, kx0, kx1, ky0, ky1, eps2,
    )
    labels = _scatter(labels_sorted, grid.order)
    core_idx = np.sort(core_orig)
    return labels, core_idx


# --------------------------------------------------------------------------- validation


def validate_points(X: Any, *, name: str = "X", ncols: int = 2) -> np.ndarray:
    """Return ``X`` as a C-contiguous float64 array of shape (n, ncols) or raise.

    Raises
    ------
    ParameterError
        When ``X`` is not numeric, has the wrong shape, or holds NaN / infinite values
        (the message names the first offending rows).
    """
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a numeric array of shape (n, {ncols}): {exc}") from None
    if arr.ndim != 2 or arr.shape[1] != ncols:
        raise ParameterError(
            f"{name} must have shape (n, {ncols}) (projected x, y in metres), got {arr.shape}"
        )
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = ", ".join(str(r) for r in rows[:10])
        more = f" and {rows.size - 10} more" if rows.size > 10 else ""
        raise ParameterError(
            f"{name} has {rows.size} row(s) with NaN or infinite coordinates: rows {shown}{more}; "
            "every coordinate must be a finite number",
            details={"rows": rows[:100].tolist()},
        )
    return np.ascontiguousarray(arr)


def validate_weights(sample_weight: Any, n: int) -> np.ndarray:
    """Return weights as float64 of length ``n`` (ones when ``None``) or raise.

    Weights must be finite and non-negative (scikit-learn also accepts negative weights;
    ward_geo's weights are severities, and a negative one is refused).
    """
    if sample_weight is None:
        return np.ones(n, dtype=np.float64)
    try:
        w = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"sample_weight must be numeric: {exc}") from None
    if w.ndim != 1 or w.shape[0] != n:
        raise ParameterError(f"sample_weight must have shape ({n},), got {w.shape}")
    bad = ~(np.isfinite(w) & (w >= 0))
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = ", ".join(str(r) for r in rows[:10])
        raise ParameterError(
            f"sample_weight has {rows.size} value(s) that are negative, NaN or infinite: "
            f"rows {shown}; weights must be finite and >= 0",
            details={"rows": rows[:100].tolist()},
        )
    return np.ascontiguousarray(w)


def _check_eps(eps: Any, max_eps: float | None) -> float:
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise ParameterError(f"eps must be a number of metres, got {eps!r}")
    eps = float(eps)
    if not (math.isfinite(eps) and eps > 0):
        raise ParameterError(f"eps must be a finite number of metres > 0, got {eps!r}")
    if max_eps is not None and eps > max_eps:
        raise ParameterError(
            f"eps={eps:g} m is larger than the limit of {max_eps:g} m: a radius that large "
            "chains whole districts into one cluster; use a ward-scale eps (tens to a few "
            "hundred metres) or raise max_eps explicitly",
            details={"eps": eps, "max_eps": max_eps},
        )
    return eps


def _check_min_samples(min_samples: Any) -> int:
    if isinstance(min_samples, bool) or not isinstance(min_samples, numbers.Integral):
        if isinstance(min_samples, float) and min_samples.is_integer():
            min_samples = int(min_samples)
        else:
            raise ParameterError(f"min_samples must be an integer >= 1, got {min_samples!r}")
    if min_samples < 1:
        raise ParameterError(f"min_samples must be an integer >= 1, got {min_samples!r}")
    return int(min_samples)


# --------------------------------------------------------------------------- estimator


class DBSCAN:
    """Exact DBSCAN on projected 2-D coordinates, equivalent to scikit-learn's.

    Parameters
    ----------
    eps : float, optional
        Neighbourhood radius in metres (a pair at distance ``<= eps`` are neighbours).
        ``None`` chooses it from the data with
        :func:`ward_geo.analysis.params.suggest_dbscan_params`.
    min_samples : int, optional
        Summed weight of a neighbourhood (the point itself included) needed for a core
        point. ``None`` chooses it from the data (when ``eps`` is also ``None``, both).
    max_eps : float or None, default 5000
        Refuse an ``eps`` above this many metres (see :data:`DEFAULT_MAX_EPS_M`);
        ``None`` lifts the limit.

    Attributes
    ----------
    labels_ : ndarray of int64, shape (n,)
        Cluster label per point, ``-1`` for noise; clusters numbered by their first core
        point, border points take the smallest neighbouring cluster — identical to
        ``sklearn.cluster.DBSCAN(eps, min_samples=min_samples).fit(X, sample_weight=w)``.
    core_sample_indices_ : ndarray of int64
        Sorted indices of the core points.
    components_ : ndarray of shape (n_core, 2)
        Coordinates of the core points.
    eps_, min_samples_ : float, int
        The values used (given or chosen).
    params_ : DBSCANParams or None
        The suggestion and its reason when a value was chosen from the data.
    n_clusters_ : int
        Number of clusters found.

    Notes
    -----
    ``sample_weight`` must be finite and ``>= 0``. With fractional weights whose sums
    are not exactly representable, the core test may differ from scikit-learn's when a
    neighbourhood sum lands within rounding of ``min_samples`` (both sum in different
    orders); integer and dyadic weights (0.5, 0.25, ...) give identical results.

    Cost: O(n) memory always. Time is about linear when ``min_samples`` is small next to
    the number of points in an ``eps / sqrt(2)`` cell (dense cells are decided whole);
    when ``min_samples`` far exceeds it, points are tested one by one against the
    neighbouring cells, so time grows with n times the points per cell (on 1 million
    city points: ``eps=50, min_samples=10`` takes ~0.4 CPU-seconds, ``eps=500,
    min_samples=5000`` ~3 s, ``eps=2000, min_samples=100000`` about a minute).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [50, 50]], dtype=float)
    >>> DBSCAN(eps=1.5, min_samples=3).fit(X).labels_.tolist()
    [0, 0, 0, -1]
    """

    def __init__(
        self,
        eps: float | None = None,
        min_samples: int | None = None,
        *,
        max_eps: float | None = DEFAULT_MAX_EPS_M,
    ) -> None:
        self.eps = eps
        self.min_samples = min_samples
        self.max_eps = max_eps

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters (scikit-learn convention)."""
        return {"eps": self.eps, "min_samples": self.min_samples, "max_eps": self.max_eps}

    def set_params(self, **params: Any) -> DBSCAN:
        """Set constructor parameters (scikit-learn convention)."""
        for key, value in params.items():
            if key not in self.get_params():
                raise ParameterError(f"unknown DBSCAN parameter {key!r}")
            setattr(self, key, value)
        return self

    def _resolve_params(self, X: np.ndarray) -> tuple[float, int]:
        problems: list[str] = []
        eps = self.eps
        ms = self.min_samples
        max_eps = self.max_eps
        if max_eps is not None:
            if isinstance(max_eps, bool) or not isinstance(max_eps, numbers.Real) or not (
                float(max_eps) > 0
            ):
                problems.append(f"max_eps must be a number of metres > 0 or None, got {max_eps!r}")
                max_eps = None
        for check, value in ((_check_eps, eps), (_check_min_samples, ms)):
            if value is None:
                continue
            try:
                check(value, max_eps) if check is _check_eps else check(value)
            except ParameterError as exc:
                problems.append(exc.message)
        if problems:
            raise ParameterError("; ".join(problems))
        self.params_ = None
        if eps is None or ms is None:
            from ward_geo.analysis.params import suggest_dbscan_params

            self.params_ = suggest_dbscan_params(X, eps=eps, min_samples=ms)
            eps = self.params_.eps if eps is None else eps
            ms = self.params_.min_samples if ms is None else ms
        return _check_eps(eps, max_eps), _check_min_samples(ms)

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> DBSCAN:
        """Cluster ``X``.

        Parameters
        ----------
        X : array-like of shape (n, 2)
            Projected coordinates in metres (see :func:`ward_geo.projection.to_metric`).
        y : ignored
            Present for scikit-learn API compatibility.
        sample_weight : array-like of shape (n,), optional
            Non-negative weight of each point (for example a severity); a point with
            weight ``w`` counts like ``w`` points at that place.

        Returns
        -------
        DBSCAN
            The fitted estimator.
        """
        X = validate_points(X)
        w = validate_weights(sample_weight, X.shape[0])
        eps, ms = self._resolve_params(X)
        x = np.ascontiguousarray(X[:, 0])
        yy = np.ascontiguousarray(X[:, 1])
        labels, core_idx = _dbscan_core(x, yy, w, eps, ms)
        self.eps_ = eps
        self.min_samples_ = ms
        self.labels_ = labels
        self.core_sample_indices_ = core_idx
        self.components_ = X[core_idx].copy()
        self.n_clusters_ = int(labels.max()) + 1 if labels.size else 0
        self.n_features_in_ = 2
        return self

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit and return ``labels_``."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def __repr__(self) -> str:
        return f"DBSCAN(eps={self.eps!r}, min_samples={self.min_samples!r}, max_eps={self.max_eps!r})"


def warm_up(*, hdbscan: bool = True) -> None:
    """Compile (or load from the numba cache) every clustering kernel.

    The service calls this at start-up so the first request does not pay the compile
    cost. Safe to call more than once.

    Parameters
    ----------
    hdbscan : bool, default True
        Also warm the HDBSCAN backend.
    """
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 100, size=(64, 2))
    X[:8] = X[0]  # duplicates: exercises the full-cell paths
    DBSCAN(eps=10.0, min_samples=3).fit(X)
    DBSCAN(eps=10.0, min_samples=3).fit(X, sample_weight=np.full(64, 0.5))
    from ward_geo.analysis import stdbscan

    stdbscan.warm_up()
    if hdbscan:
        from ward_geo.analysis import hdbscan as _hdbscan

        _hdbscan.warm_up()
