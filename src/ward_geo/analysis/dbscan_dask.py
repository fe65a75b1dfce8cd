"""Exact DBSCAN on a Dask cluster: spatial tiles with halos and a global merge.

The plane is cut into ``kx x ky`` tiles holding about equal numbers of points (x
quantiles, then y quantiles inside each column of tiles). Each tile task sees its own
points plus a halo: every point within ``eps`` of the tile's rectangle. Three rounds of
tile tasks run on the Dask workers, and only small per-point flags travel back:

1. **Core flags.** A point's whole ``eps``-neighbourhood lies in its tile plus halo, so
   each tile decides the core status of the points it owns.
2. **Local components.** With every point's core flag known (halo points' flags come
   from their owning tiles), each tile joins its core points, its own and its halo's,
   with the same union-find as :class:`~ward_geo.cluster.DBSCAN`. Any two core
   points within ``eps`` of each other appear together in the tile of either one, so
   every edge of the core graph is seen by some tile.
3. **Global merge and labels.** The driver unites local components that share a core
   point (connected components over the global point ids), numbers clusters by their
   smallest core-point index, and each tile labels its own border points with the
   smallest label among their core neighbours.

That is the single-machine rule step for step, so ``labels_`` equal
``DBSCAN(eps, min_samples).fit(X).labels_`` exactly. The coordinates are held by the
driver (16 bytes a point: 30 million points are 480 MB); each worker holds only the
tiles it processes, so worker memory is bounded by the tile size, chosen with
``n_tiles``.

The cluster is a :class:`distributed.LocalCluster` by default, or the scheduler at
``settings.dask_scheduler`` (``WARD_GEO_DASK_SCHEDULER``), or a ``client`` passed in.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ward_geo.cluster._grid import cell_boxes, build_grid, thread_budget
from ward_geo.cluster._validation import DEFAULT_MAX_EPS_M, check_eps, check_min_samples
from ward_geo.cluster._dbscan_inner import (
    connect_cores,
    core_boxes,
    core_flags,
    core_tables,
    label_points,
    scatter_to,
)
from ward_geo.cluster._validation import validate_points, validate_weights
from ward_geo.errors import ConfigurationError, ParameterError

__all__ = ["DistributedDBSCAN", "tile_points", "open_client"]


# --------------------------------------------------------------------------- tile tasks


def _tile_core(x: np.ndarray, y: np.ndarray, w: np.ndarray, eps: float, min_samples: float) -> np.ndarray:
    """Core flags of every point of a tile (valid for the tile's own points)."""
    with thread_budget(x.shape[0]):
        grid = build_grid(x, y, eps)
        ws = w[grid.order]
        eps2 = eps * eps
        bx0, bx1, by0, by1, cw, full = cell_boxes(grid.xs, grid.ys, ws, grid.start, eps2)
        core = core_flags(grid.xs, grid.ys, ws, grid.start, grid.nbr_ptr, grid.nbr,
                           bx0, bx1, by0, by1, cw, full, eps2, float(min_samples))
        return scatter_to(core, grid.order)


def _tile_prepare(x, y, core, eps):
    grid = build_grid(x, y, eps)
    eps2 = eps * eps
    *_, full = cell_boxes(grid.xs, grid.ys, np.ones(x.shape[0]), grid.start, eps2)
    core_sorted = core[grid.order]
    cptr, cpos = core_tables(core_sorted, grid.start)
    cx = grid.xs[cpos]
    cy = grid.ys[cpos]
    boxes = core_boxes(cx, cy, cptr)
    return grid, full, core_sorted, cptr, cpos, cx, cy, boxes


def _tile_components(x: np.ndarray, y: np.ndarray, core: np.ndarray, eps: float) -> np.ndarray:
    """Tile-local index of the component root of each core point (``-1`` elsewhere)."""
    with thread_budget(x.shape[0]):
        grid, full, _, cptr, cpos, cx, cy, boxes = _tile_prepare(x, y, core, eps)
        root = connect_cores(cx, cy, cptr, full, grid.nbr_ptr, grid.nbr, *boxes, eps * eps)
        local = grid.order[cpos]
        comp = np.full(x.shape[0], -1, dtype=np.int64)
        comp[local] = local[root]
        return comp


def _tile_labels(x: np.ndarray, y: np.ndarray, core: np.ndarray, core_label: np.ndarray,
                 eps: float) -> np.ndarray:
    """Labels of every tile point given the global labels of the core points."""
    with thread_budget(x.shape[0]):
        grid, full, core_sorted, cptr, cpos, cx, cy, boxes = _tile_prepare(x, y, core, eps)
        clab = core_label[grid.order[cpos]]
        labels_sorted = label_points(grid.xs, grid.ys, core_sorted, grid.start, cptr, cx, cy,
                                      clab, full, grid.nbr_ptr, grid.nbr, *boxes, eps * eps)
        return scatter_to(labels_sorted, grid.order)


# --------------------------------------------------------------------------- tiling


def tile_points(X: np.ndarray, eps: float, n_tiles: int) -> list[tuple[np.ndarray, int]]:
    """Split points into about ``n_tiles`` balanced tiles with ``eps`` halos.

    Parameters
    ----------
    X : ndarray of shape (n, 2)
    eps : float
        Halo width in metres.
    n_tiles : int
        Wanted number of tiles (rounded to ``kx * ky``).

    Returns
    -------
    list of (ndarray, int)
        For each tile, the global indices of its points — its own points first, then its
        halo — and the number of its own points. Every point is owned by exactly one tile.
    """
    kx = max(1, int(math.floor(math.sqrt(n_tiles))))
    ky = max(1, n_tiles // kx)
    # halo slightly wider than eps: a superset of the neighbours is harmless
    halo = eps * (1.0 + 1e-9) + 1e-9 * float(np.abs(X).max(initial=0.0))
    x = X[:, 0]
    y = X[:, 1]
    xcuts = np.quantile(x, np.linspace(0, 1, kx + 1)[1:-1]) if kx > 1 else np.empty(0)
    col = np.searchsorted(xcuts, x, side="right")
    xedges = np.concatenate([[-np.inf], xcuts, [np.inf]])
    tiles: list[tuple[np.ndarray, int]] = []
    for i in range(kx):
        in_col = col == i
        ycuts = (np.quantile(y[in_col], np.linspace(0, 1, ky + 1)[1:-1])
                 if ky > 1 and in_col.any() else np.empty(0))
        yedges = np.concatenate([[-np.inf], ycuts, [np.inf]])
        row = np.searchsorted(ycuts, y, side="right")
        near_col = (x >= xedges[i] - halo) & (x < xedges[i + 1] + halo)
        for j in range(len(yedges) - 1):
            own = in_col & (row == j)
            near = near_col & (y >= yedges[j] - halo) & (y < yedges[j + 1] + halo)
            owned = np.flatnonzero(own)
            halo_idx = np.flatnonzero(near & ~own)
            if owned.size:
                tiles.append((np.concatenate([owned, halo_idx]), int(owned.size)))
    return tiles


def open_client(scheduler: str | None = None, *, n_workers: int = 2,
                memory_limit: str = "4GB", processes: bool = True) -> Any:
    """A Dask client: the given scheduler, else ``settings.dask_scheduler``, else a
    :class:`distributed.LocalCluster` (close it with ``client.close()``).

    Raises
    ------
    ConfigurationError
        When a scheduler address is set but cannot be reached.
    """
    from distributed import Client, LocalCluster

    from ward_geo.settings import get_settings

    address = scheduler or get_settings().dask_scheduler
    if address:
        try:
            return Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ConfigurationError(
                f"cannot reach the Dask scheduler at {address!r} (WARD_GEO_DASK_SCHEDULER): {exc}"
            ) from None
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes,
                           memory_limit=memory_limit, dashboard_address=":0")
    return Client(cluster)


# --------------------------------------------------------------------------- estimator


class DistributedDBSCAN:
    """Exact DBSCAN computed tile by tile on a Dask cluster.

    Parameters
    ----------
    eps : float
        Radius in metres.
    min_samples : int, default 5
    n_tiles : int, optional
        Number of spatial tiles (default: four per worker).
    client : distributed.Client, optional
        Cluster to use; default :func:`open_client` (closed again after ``fit``).
    max_eps : float or None, default 5000

    Attributes
    ----------
    labels_, core_sample_indices_, components_, n_clusters_
        Identical to :class:`ward_geo.cluster.DBSCAN`'s.
    n_tiles_ : int
        Tiles used.
    halo_fraction_ : float
        Halo points shipped per owned point (the overhead of the halos).
    """

    def __init__(self, eps: float, min_samples: int = 5, *, n_tiles: int | None = None,
                 client: Any = None, max_eps: float | None = DEFAULT_MAX_EPS_M) -> None:
        self.eps = eps
        self.min_samples = min_samples
        self.n_tiles = n_tiles
        self.client = client
        self.max_eps = max_eps

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> DistributedDBSCAN:
        """Cluster ``X`` (projected metres) on the Dask cluster.

        Returns
        -------
        DistributedDBSCAN
        """
        problems: list[str] = []
        eps = ms = None
        try:
            eps = check_eps(self.eps, self.max_eps)
        except ParameterError as exc:
            problems.append(exc.message)
        try:
            ms = check_min_samples(self.min_samples)
        except ParameterError as exc:
            problems.append(exc.message)
        if self.n_tiles is not None and (
            isinstance(self.n_tiles, bool) or not isinstance(self.n_tiles, int) or self.n_tiles < 1
        ):
            problems.append(f"n_tiles must be an integer >= 1, got {self.n_tiles!r}")
        if problems:
            raise ParameterError("; ".join(problems))
        X = validate_points(X)
        w = validate_weights(sample_weight, X.shape[0])
        n = X.shape[0]
        client = self.client if self.client is not None else open_client()
        try:
            labels, core = self._run(client, X, w, float(eps), int(ms))
        finally:
            if self.client is None:
                cluster = getattr(client, "cluster", None)
                client.close()
                if cluster is not None:
                    cluster.close()
        core_idx = np.flatnonzero(core)
        self.eps_ = float(eps)
        self.min_samples_ = int(ms)
        self.labels_ = labels
        self.core_sample_indices_ = core_idx
        self.components_ = X[core_idx].copy()
        self.n_clusters_ = int(labels.max()) + 1 if n else 0
        return self

    def _run(self, client: Any, X: np.ndarray, w: np.ndarray, eps: float, ms: int):
        n = X.shape[0]
        if n == 0:
            self.n_tiles_, self.halo_fraction_ = 0, 0.0
            return np.empty(0, dtype=np.int64), np.zeros(0, dtype=bool)
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        tiles = tile_points(X, eps, self.n_tiles or 4 * n_workers)
        self.n_tiles_ = len(tiles)
        self.halo_fraction_ = float(sum(idx.size - own for idx, own in tiles) / n)
        xs = [client.scatter(np.ascontiguousarray(X[idx, 0]), hash=False) for idx, _ in tiles]
        ys = [client.scatter(np.ascontiguousarray(X[idx, 1]), hash=False) for idx, _ in tiles]
        ws = [client.scatter(np.ascontiguousarray(w[idx]), hash=False) for idx, _ in tiles]

        # round 1: core flags of owned points
        futures = [client.submit(_tile_core, xs[k], ys[k], ws[k], eps, float(ms), pure=False)
                   for k in range(len(tiles))]
        core = np.zeros(n, dtype=bool)
        for (idx, own), flags in zip(tiles, client.gather(futures)):
            core[idx[:own]] = flags[:own]

        # round 2: local components over own + halo core points
        futures = [client.submit(_tile_components, xs[k], ys[k], core[idx], eps, pure=False)
                   for k, (idx, _) in enumerate(tiles)]
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        for (idx, _), comp in zip(tiles, client.gather(futures)):
            member = comp >= 0
            rows.append(idx[member])
            cols.append(idx[comp[member]])
        rows_a = np.concatenate(rows)
        cols_a = np.concatenate(cols)
        graph = coo_matrix((np.ones(rows_a.size, dtype=np.int8), (rows_a, cols_a)), shape=(n, n))
        _, comp_of = connected_components(graph, directed=False)
        core_idx = np.flatnonzero(core)
        core_label = np.full(n, -1, dtype=np.int64)
        if core_idx.size:
            uniq, first = np.unique(comp_of[core_idx], return_index=True)
            rank = np.empty(uniq.size, dtype=np.int64)
            rank[np.argsort(first)] = np.arange(uniq.size)
            label_of_comp = np.full(int(comp_of.max()) + 1, -1, dtype=np.int64)
            label_of_comp[uniq] = rank
            core_label[core_idx] = label_of_comp[comp_of[core_idx]]

        # round 3: labels of owned points (border points: smallest neighbouring label)
        futures = [client.submit(_tile_labels, xs[k], ys[k], core[idx], core_label[idx], eps,
                                 pure=False)
                   for k, (idx, _) in enumerate(tiles)]
        labels = np.full(n, -1, dtype=np.int64)
        for (idx, own), lab in zip(tiles, client.gather(futures)):
            labels[idx[:own]] = lab[:own]
        return labels, core

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit and return ``labels_``."""
        return self.fit(X, sample_weight=sample_weight).labels_
