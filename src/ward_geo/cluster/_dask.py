"""Exact DBSCAN on a Dask cluster: square tiles with ``2 * eps`` halos and a global merge.

This is ward_geo's one distributed DBSCAN engine. :class:`DistributedDBSCAN` runs it on
an array held by the driver; :func:`ward_geo.analysis.distributed.dask_dbscan` runs the
same tile steps on rows that stay on the Dask workers (it only adds the reading,
projection and shuffle of partitioned incident tables). Only numpy, numba and — inside
the functions that talk to a cluster — dask are used here.

Algorithm
---------
1. **Tiles.** The extent is cut into square tiles of side ``T >= 8 * eps``
   (:class:`TileLayout`). Every point is *owned* by the tile holding it and copied as a
   *halo* point to every other tile whose square lies within ``2 * eps`` (plus a
   micrometre and a relative margin) of it (:func:`tile_copies`). Tiles are packed into
   groups of about equal size; one group is one Dask task.
2. **Cluster each tile** (:func:`cluster_tiles`): core flags with the grid kernels of
   :class:`~ward_geo.cluster.DBSCAN` on tile + halo. A point within ``eps`` of the tile
   has its whole neighbourhood inside the halo, so its flag is exact; a farther halo
   point can only be under-counted, so every flagged point is truly core. The flagged
   core points are joined into local components (*nodes*) with the single-machine
   union-find; every core–core edge ``(p, q)`` lies whole in the tile owning ``p``.
3. **Merge** (:func:`merge_tiles`, on the driver, small): a core point present in several
   tiles links their nodes; connected components over the links are the clusters.
4. **Label** (:func:`label_tiles`): core points take their cluster; a border point takes
   the cluster of *smallest rank* among its core neighbours (all within ``eps`` of an
   owned point, so all with exact flags); the rest are noise.

The order rule
--------------
Clusters are ranked by their smallest core point under an *order key* (default: the row
index), and that rank is both the cluster label and the border tie-break. This is the
rule of :class:`~ward_geo.cluster.DBSCAN` (and scikit-learn) on the rows sorted by the
key, so with ``key = row index`` the labels equal ``DBSCAN(eps, min_samples).fit(X)``
label for label, and with ``key = incident_id`` they equal DBSCAN on the rows in
``incident_id`` order, whatever order the partitions hold them in. Keys must be
unique and totally ordered (integers, or strings compared by code point).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
from numba import njit
from numpy.typing import NDArray

from ward_geo.cluster._dbscan_inner import (
    connect_cores,
    core_boxes,
    core_flags,
    core_tables,
    label_points,
    scatter_to,
)
from ward_geo.cluster._grid import build_grid, cell_boxes, find_root, union_roots
from ward_geo.cluster._validation import (
    DEFAULT_MAX_EPS_M,
    check_eps,
    check_min_samples,
    validate_points,
    validate_weights,
)
from ward_geo.errors import ConfigurationError, ParameterError

__all__ = [
    "DistributedDBSCAN",
    "NodeLabels",
    "TileClusters",
    "TileLayout",
    "TileRows",
    "cluster_tiles",
    "label_tiles",
    "merge_tiles",
    "open_client",
    "plan_tiles",
    "tile_copies",
    "tile_counts",
]

#: Bits of a node id that hold the local component inside its tile (``tile << 32 | root``).
NODE_BITS = 32


# --------------------------------------------------------------------------- tiles


@dataclass(frozen=True)
class TileLayout:
    """Square tiles over the metric extent, and the group (Dask task) of each tile.

    Attributes
    ----------
    xmin, ymin : float
        Origin of the tile grid (the data's lower-left corner, metres).
    side : float
        Tile side in metres.
    nx, ny : int
        Tiles along x and y; tile ``ix * ny + iy``.
    halo : float
        Halo width (``2 * eps`` plus a micrometre and a relative margin).
    group_of_tile : ndarray of int64
        Group of every tile (``-1`` for tiles without points).
    n_groups : int
        Number of groups.
    """

    xmin: float
    ymin: float
    side: float
    nx: int
    ny: int
    halo: float
    group_of_tile: np.ndarray = field(repr=False)
    n_groups: int = 1

    def home(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tile column and row owning each point."""
        ix = np.floor((x - self.xmin) / self.side).astype(np.int64)
        iy = np.floor((y - self.ymin) / self.side).astype(np.int64)
        return np.clip(ix, 0, self.nx - 1), np.clip(iy, 0, self.ny - 1)

    def reach(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
        """First and last tile column and row whose tile + halo holds each point.

        Every operation is monotone under IEEE rounding, so a point ``p`` within ``2 * eps``
        of ``q`` has ``q``'s range covering ``p``'s home tile: the halo exceeds ``2 * eps``
        by far more than the rounding of ``x - xmin``.
        """
        u = x - self.xmin
        v = y - self.ymin
        x0 = np.floor((u - self.halo) / self.side).astype(np.int64)
        x1 = np.floor((u + self.halo) / self.side).astype(np.int64)
        y0 = np.floor((v - self.halo) / self.side).astype(np.int64)
        y1 = np.floor((v + self.halo) / self.side).astype(np.int64)
        return (np.clip(x0, 0, self.nx - 1), np.clip(x1, 0, self.nx - 1),
                np.clip(y0, 0, self.ny - 1), np.clip(y1, 0, self.ny - 1))

    def with_groups(self, counts: np.ndarray, n_groups: int) -> TileLayout:
        """Pack this layout's occupied tiles packed into at most ``n_groups`` groups.

        ``counts`` are the rows (own + halo) of every tile (:func:`tile_counts`); the
        largest tile goes first, each to the lightest group.
        """
        occupied = int((counts > 0).sum())
        groups = max(1, min(int(n_groups), occupied))
        group = np.full(counts.size, -1, dtype=np.int64)
        load = np.zeros(groups, dtype=np.int64)
        for t in np.argsort(-counts, kind="stable"):
            if counts[t] == 0:
                break
            g = int(np.argmin(load))
            group[t] = g
            load[g] += counts[t]
        return TileLayout(self.xmin, self.ymin, self.side, self.nx, self.ny, self.halo, group, groups)


def plan_tiles(extent: tuple[float, float, float, float], eps: float, n_groups: int,
               tile_side: float | None = None) -> TileLayout:
    """Tiles over ``extent = (xmin, ymin, xmax, ymax)``: about four per group, side ``>= 8 * eps``.

    The groups are not assigned yet (every tile in group 0): count the rows with
    :func:`tile_counts` and call :meth:`TileLayout.with_groups`.
    """
    xmin, ymin, xmax, ymax = (float(v) for v in extent)
    span = max(xmax - xmin, ymax - ymin, eps)
    area = max((xmax - xmin) * (ymax - ymin), eps * eps)
    side = float(tile_side) if tile_side is not None else math.sqrt(area / (4 * max(1, n_groups)))
    side = max(side, 8.0 * eps)
    nx = int(math.floor((xmax - xmin) / side)) + 1
    ny = int(math.floor((ymax - ymin) / side)) + 1
    halo = 2.0 * eps * (1.0 + 1e-9) + 1e-6 + 1e-12 * span
    return TileLayout(xmin, ymin, side, nx, ny, halo, np.zeros(nx * ny, dtype=np.int64), max(1, n_groups))


def tile_counts(x: np.ndarray, y: np.ndarray, layout: TileLayout) -> np.ndarray:
    """Rows (own + halo) each tile receives from these points."""
    size = layout.nx * layout.ny
    counts = np.zeros(size, dtype=np.int64)
    if x.shape[0] == 0:
        return counts
    x0, x1, y0, y1 = layout.reach(x, y)
    for ox in range(int((x1 - x0).max()) + 1):
        for oy in range(int((y1 - y0).max()) + 1):
            m = (x0 + ox <= x1) & (y0 + oy <= y1)
            counts += np.bincount((x0[m] + ox) * layout.ny + (y0[m] + oy), minlength=size)
    return counts


def tile_copies(x: np.ndarray, y: np.ndarray, layout: TileLayout) -> tuple[np.ndarray, ...]:
    """One entry per (point, tile whose tile + halo holds it).

    Returns
    -------
    rows, tile, own, shared : ndarray
        The point (index into ``x``), the tile, whether the tile owns the point, and
        whether the point lies in more than one tile (so its core status and component
        must be linked across tiles).
    """
    n = x.shape[0]
    if n == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0, bool), np.zeros(0, bool)
    hx, hy = layout.home(x, y)
    home = hx * layout.ny + hy
    x0, x1, y0, y1 = layout.reach(x, y)
    shared = (x0 != x1) | (y0 != y1)
    rows, tiles = [], []
    for ox in range(int((x1 - x0).max()) + 1):
        for oy in range(int((y1 - y0).max()) + 1):
            idx = np.flatnonzero((x0 + ox <= x1) & (y0 + oy <= y1))
            rows.append(idx)
            tiles.append((x0[idx] + ox) * layout.ny + (y0[idx] + oy))
    r = np.concatenate(rows)
    t = np.concatenate(tiles)
    return r, t, t == home[r], shared[r]


# --------------------------------------------------------------------------- tile steps


@contextlib.contextmanager
def _numba_threads(n: int) -> Iterator[None]:
    previous = numba.get_num_threads()
    # numba.config sets its attributes from the environment at import: no static type
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _tile_runs(tiles_sorted: np.ndarray) -> list[tuple[int, int, int]]:
    """(tile, start, stop) of the runs of a sorted tile array."""
    if tiles_sorted.size == 0:
        return []
    cuts = np.flatnonzero(np.diff(tiles_sorted)) + 1
    starts = np.concatenate([[0], cuts])
    stops = np.concatenate([cuts, [tiles_sorted.size]])
    return [(int(tiles_sorted[s]), int(s), int(e)) for s, e in zip(starts, stops, strict=True)]


@dataclass(frozen=True)
class TileRows:
    """The rows of one group of tiles: own and halo copies of points (steps 2 and 4).

    Attributes
    ----------
    x, y : ndarray of float64
        Metric coordinates of the rows.
    tile, own, shared : ndarray
        As returned by :func:`tile_copies`.
    w : ndarray of float64 or None
        Sample weights (``None``: 1 each).
    """

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    tile: NDArray[np.int64]
    own: NDArray[np.bool_]
    shared: NDArray[np.bool_]
    w: NDArray[np.float64] | None = None


@dataclass(frozen=True)
class NodeLabels:
    """Cluster label of every node, as :func:`merge_tiles` returns them (step 3).

    Attributes
    ----------
    keys : ndarray of int64
        The node ids, sorted.
    labels : ndarray of int64
        The cluster label of each node.
    """

    keys: NDArray[np.int64]
    labels: NDArray[np.int64]


@dataclass
class TileClusters:
    """Outcome of :func:`cluster_tiles` for the rows of one group (in input order).

    Attributes
    ----------
    core : ndarray of bool
        Flagged core points (exact for points within ``eps`` of their tile, never a false
        positive).
    node : ndarray of int64
        Node (``tile << 32 | local root``) of every flagged core row, ``-1`` elsewhere.
    linked : ndarray of bool
        Core rows whose (point, node) pair the merge needs: halo rows and rows of points
        held by several tiles.
    node_ids : ndarray of int64
        Every node of the group.
    node_first : ndarray of int64
        Row of the node's owned core point with the smallest order key, ``-1`` when the
        node has no owned core point.
    """

    core: np.ndarray
    node: np.ndarray
    linked: np.ndarray
    node_ids: np.ndarray
    node_first: np.ndarray


def cluster_tiles(group: TileRows, key: np.ndarray, eps: float, min_samples: float, *,
                  threads: int = 1) -> TileClusters:
    """Core flags and local components of every tile among these rows (step 2).

    Parameters
    ----------
    group : TileRows
        The rows (own and halo copies of points) of the group.
    key : ndarray
        Order key of each row's point (see the module docstring).
    eps, min_samples : float
    threads : int
        Numba threads for the kernels.
    """
    x, y, w, tile, own, shared = group.x, group.y, group.w, group.tile, group.own, group.shared
    n = x.shape[0]
    order = np.argsort(tile, kind="stable")
    ts = tile[order]
    core = np.zeros(n, dtype=bool)
    node = np.full(n, -1, dtype=np.int64)
    eps2 = eps * eps
    node_ids: list[np.ndarray] = []
    node_first: list[np.ndarray] = []
    with _numba_threads(threads):
        for t, s, e in _tile_runs(ts):
            rows_t = order[s:e]
            xt = np.ascontiguousarray(x[rows_t], dtype=np.float64)
            yt = np.ascontiguousarray(y[rows_t], dtype=np.float64)
            wt = np.ascontiguousarray(w[rows_t], dtype=np.float64) if w is not None else np.ones(e - s)
            grid = build_grid(xt, yt, eps)
            wsorted = wt[grid.order]
            bx0, bx1, by0, by1, cw, full = cell_boxes(grid.xs, grid.ys, wsorted, grid.start, eps2)
            flags = core_flags(grid.xs, grid.ys, wsorted, grid.start, grid.nbr_ptr, grid.nbr,
                               bx0, bx1, by0, by1, cw, full, eps2, float(min_samples))
            cptr, cpos = core_tables(flags, grid.start)
            if cpos.size == 0:
                continue
            cx = grid.xs[cpos]
            cy = grid.ys[cpos]
            kx0, kx1, ky0, ky1 = core_boxes(cx, cy, cptr)
            root = connect_cores(cx, cy, cptr, full, grid.nbr_ptr, grid.nbr, kx0, kx1, ky0, ky1, eps2)
            rows = rows_t[grid.order[cpos]]  # input row of each core point
            core[rows] = True
            ids = (np.int64(t) << NODE_BITS) | root.astype(np.int64)
            node[rows] = ids
            uniq, inv = np.unique(root, return_inverse=True)
            first = np.full(uniq.size, -1, dtype=np.int64)
            owned = np.flatnonzero(own[rows])
            if owned.size:
                # owned core rows by key, then the first of each node
                by_key = owned[np.argsort(key[rows[owned]], kind="stable")]
                nodes_sorted, at = np.unique(inv[by_key], return_index=True)
                first[nodes_sorted] = rows[by_key[at]]
            node_ids.append((np.int64(t) << NODE_BITS) | uniq.astype(np.int64))
            node_first.append(first)
    linked = core & (~own | shared)
    return TileClusters(
        core=core, node=node, linked=linked,
        node_ids=np.concatenate(node_ids) if node_ids else np.empty(0, np.int64),
        node_first=np.concatenate(node_first) if node_first else np.empty(0, np.int64),
    )


@njit(cache=True, nogil=True)
def _union_pairs(
    parent: NDArray[np.int64], a: NDArray[np.int64], b: NDArray[np.int64]
) -> NDArray[np.int64]:
    for k in range(a.shape[0]):
        union_roots(parent, a[k], b[k])
    for i in range(parent.shape[0]):
        parent[i] = find_root(parent, i)
    return parent


def merge_tiles(link_point: np.ndarray, link_node: np.ndarray, node_ids: np.ndarray,
                node_key: np.ndarray, node_owned: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Cluster label of every node (step 3).

    Parameters
    ----------
    link_point, link_node : ndarray of int64
        The ``linked`` rows of every group: global point id and node.
    node_ids : ndarray of int64
        Every node of every group.
    node_key : ndarray
        Smallest order key among the node's owned core points (any value where
        ``node_owned`` is false).
    node_owned : ndarray of bool

    Returns
    -------
    keys, labels, k
        The node ids sorted, the label of each, and the number of clusters. Clusters are
        numbered by their smallest core key.
    """
    order = np.argsort(node_ids, kind="stable")
    keys = np.asarray(node_ids, dtype=np.int64)[order]
    node_key = np.asarray(node_key)[order]
    node_owned = np.asarray(node_owned, dtype=bool)[order]
    m = keys.size
    if m == 0:
        return keys, np.empty(0, dtype=np.int64), 0
    g = np.asarray(link_point, dtype=np.int64)
    nd = np.searchsorted(keys, np.asarray(link_node, dtype=np.int64))
    srt = np.lexsort((nd, g))
    g, nd = g[srt], nd[srt]
    same = np.flatnonzero(g[1:] == g[:-1])
    parent = _union_pairs(np.arange(m, dtype=np.int64), nd[same + 1], nd[same])
    _, comp = np.unique(parent, return_inverse=True)
    k = int(comp.max()) + 1
    big = np.iinfo(np.int64).max
    comp_min = np.full(k, big, dtype=np.int64)
    owned = np.flatnonzero(node_owned)
    if owned.size:
        _, key_rank = np.unique(node_key[owned], return_inverse=True)
        np.minimum.at(comp_min, comp[owned], key_rank.astype(np.int64))
    if (comp_min == big).any():  # pragma: no cover - a broken invariant
        raise RuntimeError("a cluster without an owned core point: the tile halos are too narrow")
    rank = np.empty(k, dtype=np.int64)
    rank[np.argsort(comp_min, kind="stable")] = np.arange(k)
    return keys, rank[comp], k


def label_tiles(group: TileRows, core: np.ndarray, node: np.ndarray, node_labels: NodeLabels,
                eps: float, *, threads: int = 1) -> NDArray[np.int64]:
    """Labels of every row given each node's cluster (step 4), in input order.

    Exact for rows their tile owns: core rows take their node's cluster, border rows the
    smallest cluster label among their core neighbours, others ``-1``.

    Parameters
    ----------
    group : TileRows
        The rows of the group (``w``, ``own`` and ``shared`` are not used).
    core, node : ndarray
        ``TileClusters.core`` and ``TileClusters.node`` of these rows.
    node_labels : NodeLabels
        The cluster of every node (:func:`merge_tiles`).
    eps : float
    threads : int
        Numba threads for the kernels.
    """
    x, y, tile = group.x, group.y, group.tile
    node_keys = node_labels.keys
    n = x.shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    order = np.argsort(tile, kind="stable")
    eps2 = eps * eps
    with _numba_threads(threads):
        for _t, s, e in _tile_runs(tile[order]):
            rows_t = order[s:e]
            ct = core[rows_t]
            if not ct.any():
                continue
            xt = np.ascontiguousarray(x[rows_t], dtype=np.float64)
            yt = np.ascontiguousarray(y[rows_t], dtype=np.float64)
            clabel = np.full(e - s, -1, dtype=np.int64)
            clabel[ct] = node_labels.labels[np.searchsorted(node_keys, node[rows_t][ct])]
            grid = build_grid(xt, yt, eps)
            *_, full = cell_boxes(grid.xs, grid.ys, np.ones(e - s), grid.start, eps2)
            core_sorted = ct[grid.order]
            cptr, cpos = core_tables(core_sorted, grid.start)
            cx = grid.xs[cpos]
            cy = grid.ys[cpos]
            kx0, kx1, ky0, ky1 = core_boxes(cx, cy, cptr)
            clab = clabel[grid.order[cpos]]
            lab_sorted = label_points(grid.xs, grid.ys, core_sorted, grid.start, cptr, cx, cy, clab, full,
                                      grid.nbr_ptr, grid.nbr, kx0, kx1, ky0, ky1, eps2)
            labels[rows_t] = scatter_to(lab_sorted, grid.order)
    return labels


# --------------------------------------------------------------------------- client


def open_client(scheduler: str | None = None, *, n_workers: int = 2, memory_limit: str = "4GB",
                processes: bool = True) -> Any:
    """Open a Dask client for the scheduler at ``scheduler``, else for a new local cluster.

    The new :class:`distributed.LocalCluster` has single-threaded workers (close both with
    ``client.close()`` and ``client.cluster.close()``).

    Raises
    ------
    ConfigurationError
        When the scheduler cannot be reached.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            # distributed's Client and LocalCluster constructors carry no annotations
            return Client(scheduler, timeout="10s")  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise ConfigurationError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from None
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=n_workers, threads_per_worker=1, processes=processes,
        memory_limit=memory_limit, dashboard_address=":0",
    )
    return Client(cluster)  # type: ignore[no-untyped-call]


# --------------------------------------------------------------------------- estimator


class DistributedDBSCAN:
    """Exact DBSCAN of an array, computed tile by tile on a Dask cluster.

    Parameters
    ----------
    eps : float
        Radius in metres.
    min_samples : int, default 5
    n_groups : int, optional
        Tile groups, one Dask task each per step (default: two per worker).
    tile_side : float, optional
        Tile side in metres (at least ``8 * eps``); default about four tiles per group.
    client : distributed.Client, optional
        Cluster to use; default a new :func:`open_client` LocalCluster (closed again after
        ``fit``).
    max_eps : float or None, default 5000

    Attributes
    ----------
    labels_, core_sample_indices_, components_, n_clusters_
        Identical to :class:`ward_geo.cluster.DBSCAN`'s on the same rows (the order key
        is the row index).
    n_tiles_, n_groups_ : int
        Occupied tiles and groups used.
    halo_fraction_ : float
        Halo copies per point (the overhead of the halos).
    layout_ : TileLayout
    """

    def __init__(self, eps: float, min_samples: int = 5, *, n_groups: int | None = None,
                 tile_side: float | None = None, client: Any = None,
                 max_eps: float | None = DEFAULT_MAX_EPS_M) -> None:
        self.eps = eps
        self.min_samples = min_samples
        self.n_groups = n_groups
        self.tile_side = tile_side
        self.client = client
        self.max_eps = max_eps

    def _check(self) -> tuple[float, int]:
        problems: list[str] = []
        eps: float | None = None
        ms: int | None = None
        try:
            eps = check_eps(self.eps, self.max_eps)
        except ParameterError as exc:
            problems.append(exc.message)
        try:
            ms = check_min_samples(self.min_samples)
        except ParameterError as exc:
            problems.append(exc.message)
        g = self.n_groups
        if g is not None and (isinstance(g, bool) or not isinstance(g, int) or g < 1):
            problems.append(f"n_groups must be an integer >= 1, got {g!r}")
        s = self.tile_side
        if s is not None and (isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s)
                              or s <= 0):
            problems.append(f"tile_side must be a positive number of metres, got {s!r}")
        if problems or eps is None or ms is None:
            raise ParameterError("; ".join(problems))
        return eps, ms

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> DistributedDBSCAN:
        """Cluster ``X`` (projected metres) on the Dask cluster.

        Returns
        -------
        DistributedDBSCAN
        """
        eps, ms = self._check()
        X = validate_points(X)
        w = validate_weights(sample_weight, X.shape[0])
        client = self.client if self.client is not None else open_client()
        try:
            labels, core = self._run(client, X, w, eps, ms)
        finally:
            if self.client is None:
                cluster = getattr(client, "cluster", None)
                client.close()
                if cluster is not None:
                    cluster.close()
        core_idx = np.flatnonzero(core)
        self.eps_ = eps
        self.min_samples_ = ms
        self.labels_ = labels
        self.core_sample_indices_ = core_idx
        self.components_ = X[core_idx].copy()
        self.n_clusters_ = int(labels.max()) + 1 if labels.size else 0
        return self

    def _run(
        self, client: Any, X: np.ndarray, w: np.ndarray, eps: float, ms: int
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        n = X.shape[0]
        self.n_tiles_, self.n_groups_, self.halo_fraction_, self.layout_ = 0, 0, 0.0, None
        if n == 0:
            return np.empty(0, dtype=np.int64), np.zeros(0, dtype=bool)
        x = np.ascontiguousarray(X[:, 0])
        y = np.ascontiguousarray(X[:, 1])
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        groups = self.n_groups or 2 * n_workers
        layout = plan_tiles((x.min(), y.min(), x.max(), y.max()), eps, groups, self.tile_side)
        counts = tile_counts(x, y, layout)
        layout = layout.with_groups(counts, groups)
        rows, tile, own, shared = tile_copies(x, y, layout)
        group = layout.group_of_tile[tile]
        self.layout_ = layout
        self.n_tiles_ = int((counts > 0).sum())
        self.n_groups_ = layout.n_groups
        self.halo_fraction_ = float(rows.size - n) / n
        sel = [np.flatnonzero(group == g) for g in range(layout.n_groups)]
        parts = [client.scatter(TileRows(x[rows[s]], y[rows[s]], tile[s], own[s], shared[s], w[rows[s]]),
                                hash=False)
                 for s in sel]
        # the order key of every row is its point's index: labels equal DBSCAN's on X
        futures = [client.submit(cluster_tiles, p, rows[s], eps, float(ms), pure=False)
                   for p, s in zip(parts, sel, strict=True)]
        results: list[TileClusters] = client.gather(futures)
        core = np.zeros(n, dtype=bool)
        link_point, link_node, node_ids, node_key, node_owned = [], [], [], [], []
        for s, res in zip(sel, results, strict=True):
            pts = rows[s]
            mine = own[s]
            core[pts[mine]] = res.core[mine]
            link_point.append(pts[res.linked])
            link_node.append(res.node[res.linked])
            node_ids.append(res.node_ids)
            has = res.node_first >= 0
            node_key.append(np.where(has, pts[np.maximum(res.node_first, 0)], -1))
            node_owned.append(has)
        keys, node_labels, _k = merge_tiles(np.concatenate(link_point), np.concatenate(link_node),
                                            np.concatenate(node_ids), np.concatenate(node_key),
                                            np.concatenate(node_owned))
        node_labels_f = client.scatter(NodeLabels(keys, node_labels), broadcast=True)
        futures = [client.submit(label_tiles, p, res.core, res.node, node_labels_f, eps, pure=False)
                   for p, res in zip(parts, results, strict=True)]
        labels = np.full(n, -1, dtype=np.int64)
        for s, lab in zip(sel, client.gather(futures), strict=True):
            mine = own[s]
            labels[rows[s][mine]] = lab[mine]
        return labels, core

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit and return ``labels_``."""
        return self.fit(X, sample_weight=sample_weight).labels_
