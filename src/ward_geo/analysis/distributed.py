"""Distributed hotspot detection on Dask: exact DBSCAN over partitioned GeoParquet.

The incidents stay on the Dask workers from the moment they are read
(:func:`dask_geopandas.read_parquet` on a folder or glob of GeoParquet files, or
:func:`dask_geopandas.from_geopandas` for a table in memory); the driver only sees a few
numbers per partition, the small table of clusters that meet across tiles, and the
results asked for.

Algorithm (the result equals :class:`ward_geo.cluster.DBSCAN` on the union of the
partitions, label for label; the tile steps are those of the one Dask engine,
:mod:`ward_geo.cluster`'s :class:`~ward_geo.cluster.DistributedDBSCAN`)
---------------------------------------------------------------------------------------
0. **Scan** each partition (in parallel): row count after the filters, lon/lat extent
   (which fixes the metric CRS exactly as :func:`ward_geo.projection.metric_crs_for`
   does for the whole table) and every geometry problem, raised once for all partitions.
1. **Prepare** each partition: metric ``x, y`` (the same one pyproj call per point as the
   single-machine path), a global id ``gid = partition << 40 | row`` whose order is the
   row order of the union, and the attributes the statistics need. Persisted on workers.
2. **Tile**: the metric extent is cut into square tiles of side ``T`` (at least
   ``8 * eps``). Every point is *owned* by the tile holding it and copied, as a *halo*
   point, to every other tile whose square lies within ``2 * eps`` (plus a margin of a
   micrometre) of it. Tiles are packed into groups of about equal work and the rows are
   moved to their group with a Dask shuffle (``set_index`` on the group with fixed
   divisions), so one group is one partition.
3. **Cluster each tile** (one Dask task per group): core flags with ward_geo's grid
   kernels on tile + halo. A point within ``eps`` of the tile has its whole
   neighbourhood inside the ``2 * eps`` halo, so its flag is exact; farther halo points
   can only be under-counted, never promoted, so every flagged point is truly core. Core
   points of tile + halo are joined into local components with the single-machine
   union-find. Every core-core edge ``(p, q)`` is seen whole by the tile owning ``p``.
4. **Merge** (driver, small): a core point that appears in several tiles (as owner and
   as halo) joins their local components; connected components over these links give
   the clusters, numbered by their smallest core point in the *order* — the
   single-machine rule.
5. **Label** each tile's own points (one task per group): core points take their
   cluster, border points the smallest cluster among their core neighbours (all within
   ``eps``, so all with exact flags and labels), the rest are noise.

The order is the union's row order (``gid``), or with ``order_by="incident_id"`` the
order of the incident ids (as strings, by code point). DBSCAN gives a contested border
point to the cluster whose first core point comes first in the row order, so
:func:`find_hotspots_dask` uses ``order_by="incident_id"``: the single-machine
``find_hotspots`` clusters the rows sorted by ``incident_id``, and the two engines then
agree on every member, whatever order the partitions hold the rows in.

Per-ward and per-cluster statistics are Dask group-by aggregations over the labelled
rows (:meth:`DaskDBSCANResult.ward_stats`, :meth:`DaskDBSCANResult.cluster_stats`);
:func:`find_hotspots_dask` (also reached as ``find_hotspots(..., engine="dask")``)
returns the same hotspot table as the single-machine :func:`ward_geo.analysis.hotspots.find_hotspots`.
For points already in memory as an array, :class:`ward_geo.cluster.DistributedDBSCAN`
is the lighter tool.

The cluster is the ``client`` passed in, else the scheduler at ``settings.dask_scheduler``
(``WARD_GEO_DASK_SCHEDULER``), else a :class:`distributed.LocalCluster` of two worker
processes with a memory limit (see :func:`dask_client`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ward_geo.analysis.dask_partitions import (
    _MAX_PROBLEMS,
    _ROW_MASK,
    DEFAULT_GROUP_ROWS,
    ROW_BITS,
    _require_dask,
    dask_client,
    read_incident_partitions,
)
from ward_geo.analysis.dask_result import DaskDBSCANResult
from ward_geo.analysis.dask_tiles import (
    _cluster_group,
    _expand,
    _extent,
    _Filters,
    _label_group,
    _label_partition,
    _latest_time,
    _load,
    _project,
    _tile_counts,
)
from ward_geo.cluster import (
    TileLayout,
    check_eps,
    check_min_samples,
    merge_tiles,
    plan_tiles,
)
from ward_geo.errors import InputError, ParameterError
from ward_geo.problems import Problems

__all__ = [
    "DaskDBSCANResult",
    "TileLayout",
    "dask_client",
    "dask_dbscan",
    "find_hotspots_dask",
    "read_incident_partitions",
]


def _merge(links: list[pd.DataFrame], nodes: list[pd.DataFrame]) -> tuple[np.ndarray, np.ndarray, int]:
    """Cluster label of every node: components over shared core points, numbered by min key."""
    node_tab = pd.concat(nodes, ignore_index=True) if nodes else pd.DataFrame({"node": [], "owned": [], "key": []})
    link_tab = pd.concat(links, ignore_index=True) if links else pd.DataFrame({"gid": [], "node": []})
    owned = node_tab["owned"].to_numpy(dtype=bool)
    key = node_tab["key"].to_numpy(dtype=object)
    return merge_tiles(link_tab["gid"].to_numpy(dtype=np.int64), link_tab["node"].to_numpy(dtype=np.int64),
                       node_tab["node"].to_numpy(dtype=np.int64), key, owned)


def _check_dbscan_args(eps: Any, min_samples: Any, max_eps: float | None, n_groups: Any,
                       tile_side: Any) -> tuple[float, int]:
    """Check the DBSCAN parameters together; raise one error listing every problem."""
    problems = Problems("invalid distributed DBSCAN parameters")
    e = k = None
    try:
        e = check_eps(eps, max_eps)
    except ParameterError as exc:
        problems.add(exc.message)
    try:
        k = check_min_samples(min_samples)
    except ParameterError as exc:
        problems.add(exc.message)
    if n_groups is not None and (isinstance(n_groups, bool) or not isinstance(n_groups, int) or n_groups < 1):
        problems.add(f"n_groups must be an integer >= 1, got {n_groups!r}")
    if tile_side is not None and (
        isinstance(tile_side, bool) or not isinstance(tile_side, (int, float)) or not math.isfinite(tile_side)
        or tile_side <= 0
    ):
        problems.add(f"tile_side must be a positive number of metres, got {tile_side!r}")
    problems.raise_if_any(ParameterError)
    assert e is not None and k is not None  # noqa: S101 - both checks passed
    return float(e), int(k)


def _raise_problems(scans: list[dict[str, Any]]) -> None:
    """Raise one error listing the problems every partition's scan found (partition and row named)."""
    total = sum(s["n_problems"] for s in scans)
    if not total:
        return
    problems = Problems(f"{total} incident(s) cannot be clustered")
    for part, row, column, why in [p for s in scans for p in s["problems"]][:_MAX_PROBLEMS]:
        where = f"partition {part} row {row}: field {column!r}" if row >= 0 else f"partition {part}:"
        problems.add(f"{where} {why}")
    problems.throw(InputError)


def dask_dbscan(  # noqa: PLR0913 - public keywords are its documented contract
    incidents: Any,
    eps: float,
    min_samples: int,
    *,
    client: Any = None,
    weighted: bool = False,
    boundaries: gpd.GeoDataFrame | None = None,
    categories: Sequence[str] | None = None,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    ward_ids: Sequence[str] | None = None,
    crs: Any = None,
    npartitions: int | None = None,
    n_groups: int | None = None,
    tile_side: float | None = None,
    max_eps: float | None = 5000.0,
    order_by: str | None = None,
) -> DaskDBSCANResult:
    """Exact DBSCAN of partitioned incidents on a Dask cluster.

    Parameters
    ----------
    incidents : str, Path, list, GeoDataFrame or dask_geopandas.GeoDataFrame
        See :func:`read_incident_partitions` (GeoParquet folder, glob, files, or a table).
    eps : float
        Radius in metres.
    min_samples : int
        Core threshold (summed weight of the neighbourhood, the point itself included).
    client : distributed.Client, optional
        Default: :func:`dask_client` (a LocalCluster unless ``WARD_GEO_DASK_SCHEDULER``
        is set). The result keeps rows persisted on this client: keep it open while
        using the result.
    weighted : bool
        Use ``category weight x severity`` as sample weights (as ``find_hotspots``'s
        ``weighted=True``).
    boundaries : GeoDataFrame, optional
        Wards; fills ``ward_id`` of partitions that have none (for the ward filter and
        the per-ward statistics).
    categories, since, until, ward_ids
        Row filters (category codes, UTC timestamps ``since <= occurred_at < until``,
        ward ids), applied in every partition.
    crs : CRS-like, optional
        Metric CRS; default the one :func:`ward_geo.projection.metric_crs_for` picks
        for the whole selection.
    npartitions : int, optional
        Pieces of a table in memory.
    n_groups : int, optional
        Tile groups (one Dask task each per step); default about 1.5 million rows each,
        at least two per worker.
    tile_side : float, optional
        Tile side in metres (at least ``8 * eps``); default from ``n_groups``.
    max_eps : float or None
        As :class:`~ward_geo.cluster.DBSCAN`.
    order_by : str, optional
        Column whose values (as strings, by code point; unique) order the clustering:
        clusters are numbered by their first core point in that order and a border point
        within ``eps`` of several clusters joins the first. Default the union's row
        order, so the labels equal ``DBSCAN`` on the union's rows; ``"incident_id"``
        gives those of ``DBSCAN`` on the rows sorted by id (what ``find_hotspots`` does).

    Returns
    -------
    DaskDBSCANResult

    Raises
    ------
    ParameterError
        Invalid ``eps``, ``min_samples``, ``n_groups`` or ``tile_side``.
    InputError
        Unreadable input, or rows without a point geometry (every problem listed).
    """
    import dask.dataframe as dd

    _require_dask()
    eps_f, ms = _check_dbscan_args(eps, min_samples, max_eps, n_groups, tile_side)
    ddf = read_incident_partitions(incidents, npartitions=npartitions)
    crs_differs = boundaries is not None and ddf.crs is not None and boundaries.crs is not None
    if crs_differs and boundaries is not None and not boundaries.crs.equals(ddf.crs):
        boundaries = boundaries.to_crs(ddf.crs)
    filters = _Filters(
        categories=tuple(categories) if categories is not None else None,
        since=since, until=until,
        ward_ids=tuple(ward_ids) if ward_ids is not None else None,
        boundaries=boundaries,
    )
    spec = _ScanSpec(eps_f, ms, weighted, crs, n_groups, tile_side, order_by)
    if client is not None:
        return _dask_dbscan_on(client, ddf, filters, spec)
    with dask_client() as cl:
        result = _dask_dbscan_on(cl, ddf, filters, spec)
        # the cluster closes here: keep the labelled rows in the driver's memory
        labelled = result.labelled.compute()
        result.labelled = dd.from_pandas(labelled, npartitions=max(1, result.n_groups), sort=False)  # type: ignore[no-untyped-call]
        result.client = None
    return result


def _gather(cl: Any, tasks: list[Any]) -> list[Any]:
    """Compute delayed objects on the client ``cl`` and bring the results to the driver."""
    return list(cl.gather(cl.compute(tasks)))


@dataclass(frozen=True)
class _ScanSpec:
    """The checked parameters of one distributed DBSCAN run."""

    eps: float
    min_samples: int
    weighted: bool
    crs: Any
    n_groups: int | None
    tile_side: float | None
    order_by: str | None = None


def _dask_dbscan_on(cl: Any, ddf: Any, filters: _Filters, spec: _ScanSpec) -> DaskDBSCANResult:
    """Run the distributed DBSCAN steps on the client ``cl`` (see the module's algorithm)."""
    import dask.dataframe as dd
    from dask.delayed import delayed
    from pyproj import CRS

    from ward_geo.projection import metric_crs_for_bounds

    eps_f, ms, weighted, crs = spec.eps, spec.min_samples, spec.weighted, spec.crs
    n_groups, tile_side, order_by, boundaries = spec.n_groups, spec.tile_side, spec.order_by, filters.boundaries
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    missing = [c for c in ("category", "occurred_at") if c not in ddf.columns]
    if missing:
        raise InputError(f"the incidents have no column(s) {', '.join(missing)}; expected a canonical incident "
                         "table (see ward_geo.schema.INCIDENT_COLUMNS)")
    if order_by is not None and order_by not in ddf.columns:
        raise InputError(f"the incidents have no column {order_by!r} to order the clustering by")
    geometry = ddf.geometry.name
    wanted = ("category", "occurred_at", "severity", "ward_id", *([order_by] if order_by else []), geometry)
    ddf = ddf[list(dict.fromkeys(c for c in wanted if c in ddf.columns))]
    parts = ddf.to_delayed()
    loaded = cl.compute([delayed(_load)(p, i, filters, order_by) for i, p in enumerate(parts)])
    scans = cl.gather([cl.submit(_item, f, 1) for f in loaded])
    _raise_problems(scans)
    sizes = np.array([s["n"] for s in scans], dtype=np.int64)
    if (sizes > _ROW_MASK).any():
        raise InputError(f"a partition holds more than 2**{ROW_BITS} rows; split it")
    ward_list: list[str] = []
    if boundaries is not None:
        ward_list = sorted({str(w) for w in boundaries["ward_id"].dropna()})
    ward_list = sorted(set(ward_list) | {w for s in scans for w in s["wards"]})
    ward_codes = {w: i for i, w in enumerate(ward_list)}
    n = int(sizes.sum())
    if crs is not None:
        metric = CRS.from_user_input(crs)
    elif n:
        b = np.array([s["bounds"] for s in scans if s["bounds"] is not None])
        metric = metric_crs_for_bounds((b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()))
    else:
        metric = CRS.from_epsg(3405)
    timings["read"] = time.perf_counter() - clock
    clock = time.perf_counter()

    # 1. metric coordinates and attribute codes, kept on the workers
    prep = [cl.submit(_project, cl.submit(_item, f, 0), s["crs"], metric.to_wkt(), bool(weighted), ward_codes)
            for f, s in zip(loaded, scans, strict=True)]
    del loaded
    extents = np.array(cl.gather(cl.map(_extent, prep)), dtype=float)
    timings["project"] = time.perf_counter() - clock
    clock = time.perf_counter()

    if n == 0:
        empty = dd.from_pandas(_labelled_meta(weighted), npartitions=1)  # type: ignore[no-untyped-call]
        return DaskDBSCANResult(empty, sizes, 0, 0, 0, eps_f, ms, metric, ward_list, 0, 0, 0.0, 0.0,
                                timings, cl)
    # 2. tiles, groups of tiles, and the shuffle of every row to its tiles' group
    n_workers = max(1, len(cl.scheduler_info().get("workers", {})))
    xmin, ymin = extents[:, 0].min(), extents[:, 1].min()
    xmax, ymax = extents[:, 2].max(), extents[:, 3].max()
    groups = n_groups or max(2 * n_workers, math.ceil(n / DEFAULT_GROUP_ROWS))
    layout = plan_tiles((xmin, ymin, xmax, ymax), eps_f, groups, tile_side)
    counts = np.sum(cl.gather(cl.map(_tile_counts, prep, layout=layout)), axis=0)
    occupied = int((counts > 0).sum())
    layout = layout.with_groups(counts, groups)
    groups, side = layout.n_groups, layout.side
    halo_fraction = float(counts.sum() - n) / n
    expanded = [delayed(_expand)(f, layout) for f in prep]
    frame = dd.from_delayed(expanded, meta=_expanded_meta(weighted, order_by is not None), verify_meta=False)
    frame = frame.set_index("group", divisions=list(range(groups)) + [groups], sorted=False)
    frame = cl.persist(frame)
    _wait(frame)
    del prep, expanded
    timings["shuffle"] = time.perf_counter() - clock
    clock = time.perf_counter()

    # 3. core flags and local components per tile
    threads = 1
    clustered = cl.compute([delayed(_cluster_group)(p, eps_f, float(ms), threads) for p in frame.to_delayed()])
    del frame
    states = [cl.submit(_item, f, 0) for f in clustered]
    links = cl.gather([cl.submit(_item, f, 1) for f in clustered])
    nodes = cl.gather([cl.submit(_item, f, 2) for f in clustered])
    _wait(states)
    del clustered
    timings["cluster"] = time.perf_counter() - clock
    clock = time.perf_counter()

    # 4. merge across tiles
    keys, node_labels, k = _merge(links, nodes)
    del links, nodes
    keys_f, labels_f = cl.scatter([keys, node_labels], broadcast=True)
    timings["merge"] = time.perf_counter() - clock
    clock = time.perf_counter()

    # 5. labels of own points
    labelled_parts = cl.map(_label_group, states, node_keys=keys_f, node_labels=labels_f, eps=eps_f,
                            threads=threads)
    _wait(labelled_parts)
    del states
    labelled = dd.from_delayed(labelled_parts, meta=_labelled_meta(weighted), verify_meta=False)
    n_core = int(sum(cl.gather(cl.map(_n_core, labelled_parts))))
    timings["label"] = time.perf_counter() - clock
    result = DaskDBSCANResult(
        labelled=labelled, partition_sizes=sizes, n=n, n_clusters=int(k), n_core=n_core, eps=eps_f,
        min_samples=ms, crs=metric, ward_ids=ward_list, n_tiles=occupied, n_groups=groups,
        tile_side=side, halo_fraction=halo_fraction, timings_s={k2: round(v, 4) for k2, v in timings.items()},
        client=cl,
    )
    result._futures = labelled_parts
    return result


def _as_tuple(values: Sequence[str] | None) -> tuple[str, ...] | None:
    """A filter's values as a tuple (None, no filter, kept as it is)."""
    return None if values is None else tuple(values)


def _item(value: tuple[Any, ...], i: int) -> Any:
    return value[i]


def _n_core(frame: pd.DataFrame) -> int:
    return int(frame["core"].sum())


def _wait(obj: Any) -> None:
    """Block until persisted collections or futures are computed (errors re-raised)."""
    from distributed import futures_of, wait

    futures = futures_of(obj) if not isinstance(obj, list) else obj  # type: ignore[no-untyped-call]
    wait(futures)  # type: ignore[no-untyped-call]
    for f in futures:
        if f.status == "error":
            f.result()


def _base_columns(weighted: bool) -> dict[str, Any]:
    cols: dict[str, Any] = {
        "gid": np.empty(0, np.int64), "x": np.empty(0), "y": np.empty(0), "score": np.empty(0),
    }
    if weighted:
        cols["w"] = np.empty(0)
    cols.update({"ward": np.empty(0, np.int32), "cat": np.empty(0, np.int16),
                 "t": np.empty(0, "datetime64[ns]")})
    return cols


def _expanded_meta(weighted: bool, ordered: bool = False) -> pd.DataFrame:
    cols = {"group": np.empty(0, np.int64), "tile": np.empty(0, np.int64), **_base_columns(weighted)}
    if ordered:
        cols["key"] = np.empty(0, dtype=object)
    cols.update({"own": np.empty(0, bool), "shared": np.empty(0, bool)})
    return pd.DataFrame(cols)


def _labelled_meta(weighted: bool) -> pd.DataFrame:
    cols = _base_columns(False)
    cols.update({"label": np.empty(0, np.int64), "core": np.empty(0, bool)})
    return pd.DataFrame(cols)


# ------------------------------------------------------------------ hotspot table


def find_hotspots_dask(  # noqa: PLR0913 - public keywords are its documented contract
    incidents: Any = None,
    boundaries: gpd.GeoDataFrame | None = None,
    method: str = "dbscan",
    categories: str | Sequence[str] | None = None,
    since: object = None,
    until: object = None,
    *,
    eps: float | None = None,
    min_samples: int | None = None,
    per_category: bool = False,
    store: Any = None,
    ward_ids: str | Sequence[str] | None = None,
    client: Any = None,
    npartitions: int | None = None,
    n_groups: int | None = None,
    **params: Any,
) -> gpd.GeoDataFrame:
    """:func:`ward_geo.analysis.hotspots.find_hotspots` with the clustering on Dask.

    Same parameters and the same table as the single-machine call (identical rows for the
    same input); reached as ``find_hotspots(..., engine="dask")``. ``incidents`` may also
    be a GeoParquet file, folder, glob or list of files, or a dask_geopandas frame: the
    clustering then never loads the whole table on the driver, only the members of the
    hotspots (the ``member_ids`` of the table).

    Parameters
    ----------
    incidents, boundaries, method, categories, since, until, eps, min_samples, per_category, store, ward_ids
        As for ``find_hotspots``. Only ``method="dbscan"`` runs on Dask, without
        ``per_category``. With partitioned input, ``eps`` and ``min_samples`` must be
        given (choosing them needs every point in one place).
    client : distributed.Client, optional
        See :func:`dask_client`.
    npartitions : int, optional
        Pieces of a table in memory (default one per 500,000 rows).
    n_groups : int, optional
        Tile groups (see :func:`dask_dbscan`).
    **params
        ``buffer_m``, ``concave_ratio``, ``weighted``, ``timezone`` as for ``find_hotspots``.

    Returns
    -------
    GeoDataFrame
        The hotspot table; ``attrs["params"]`` also records ``engine``, the tiles and the
        Dask step timings (``attrs["dask"]``).
    """
    from ward_geo.analysis.hotspots import delivered_hotspots
    from ward_geo.analysis.hotspots.registry import Clustering, suggest_eps_min_samples
    from ward_geo.analysis.hotspots.request import (
        canonical_order,
        default_window,
        filter_incidents,
        metric_xy,
        parse_request,
        select_incidents,
        study_area,
        study_wards,
    )
    from ward_geo.analysis.hotspots.table import empty_table

    _require_dask()
    problems: list[str] = []
    if method != "dbscan":
        problems.append(f"engine='dask' runs method 'dbscan' only, got {method!r}")
    if per_category is not False:
        problems.append("engine='dask' does not support per_category; run one call per category")
    in_memory = incidents is None or isinstance(incidents, gpd.GeoDataFrame)
    if not in_memory and (eps is None or min_samples is None):
        problems.append("engine='dask' on partitioned input needs explicit eps and min_samples")
    try:
        request = parse_request("dbscan", eps, min_samples, params, categories=categories, since=since,
                                until=until, ward_ids=ward_ids, per_category=False, boundaries=boundaries)
    except ParameterError as exc:
        problems.extend(exc.details.get("problems", [exc.message]))
        request = None
    if problems or request is None:
        raise ParameterError("invalid hotspot parameters: " + "; ".join(problems), details={"problems": problems})
    cats, wards, zone = request.categories, request.ward_ids, request.timezone
    weighted = bool(params.get("weighted", False))
    options = dict(request.options)

    if in_memory:
        gdf, boundaries, n_input = select_incidents(request, incidents, store, boundaries)
        since_ts, until_ts, window_rule = default_window(gdf["occurred_at"], request)
        if window_rule != "given":
            gdf = filter_incidents(gdf, None, since_ts, until_ts, None)
        gdf = gdf.reset_index(drop=True)
        record: dict[str, Any] = {"n_input": int(n_input), "n_selected": int(len(gdf)), "window_rule": window_rule}
        if len(gdf) == 0:
            out = empty_table("dbscan")
            out.attrs["params"] = {**record, "method": "dbscan", "engine": "dask",
                                   "reason": "no incidents match the filters", "n_hotspots": 0}
            return out
        X, crs = metric_xy(gdf)
        boundaries_m = boundaries.to_crs(crs) if boundaries is not None and len(boundaries) else None
        study = study_wards(boundaries_m, X, wards)
        area_m2 = float(study_area(study, X).area) or None  # the area the single-machine path uses
        e, k, reason = suggest_eps_min_samples(X, request.eps, request.min_samples, area_m2)
        result = dask_dbscan(gdf, e, k, client=client, weighted=weighted, crs=crs, npartitions=npartitions,
                             n_groups=n_groups, order_by="incident_id")
        labels = result.labels()
        frame = gdf
    else:
        from dask.base import compute
        from dask.delayed import delayed

        since_ts, until_ts = request.since, request.until
        e, k, reason = float(eps), int(min_samples), "eps and min_samples given explicitly"  # type: ignore[arg-type]
        ddf = read_incident_partitions(incidents, npartitions=npartitions)
        window_rule = "given"
        with dask_client(client) as cl:
            if since_ts is None and until_ts is None and request.window is not None:
                # the default window, as the single-machine path applies it: one pass for the latest time
                in_b0 = boundaries.to_crs(ddf.crs) if boundaries is not None and ddf.crs is not None else boundaries
                f0 = _Filters(_as_tuple(cats), None, None, _as_tuple(wards), in_b0)
                tasks = [delayed(_latest_time)(p, f0) for p in ddf.to_delayed()]
                latest = [t for t in compute(*tasks)  # type: ignore[no-untyped-call]
                          if t is not None]
                if latest:
                    since_ts, until_ts, window_rule = default_window(pd.Series([max(latest)]), request)
            result = dask_dbscan(ddf, e, k, client=cl, weighted=weighted, boundaries=boundaries,
                                 categories=cats, since=since_ts, until=until_ts, ward_ids=wards,
                                 n_groups=n_groups, order_by="incident_id")
            all_labels = result.labels()
            bounds = np.concatenate([[0], np.cumsum(result.partition_sizes)])
            in_b = boundaries.to_crs(ddf.crs) if boundaries is not None and ddf.crs is not None else boundaries
            filters = _Filters(_as_tuple(cats), since_ts, until_ts, _as_tuple(wards), in_b)
            pieces = compute(*[  # type: ignore[no-untyped-call]
                delayed(_label_partition)(p, i, filters, all_labels[bounds[i]:bounds[i + 1]])
                for i, p in enumerate(ddf.to_delayed())
            ])
        sub = pd.concat(pieces, ignore_index=True) if pieces else gpd.GeoDataFrame()
        record = {"n_input": int(result.n), "n_selected": int(result.n), "window_rule": window_rule}
        if len(sub) == 0:
            out = empty_table("dbscan")
            out.attrs["params"] = {**record, "method": "dbscan", "engine": "dask", "n_hotspots": 0,
                                   "eps": e, "min_samples": k, "reason": reason}
            return out
        # members in incident_id order, as the single-machine table has them
        frame = canonical_order(gpd.GeoDataFrame(sub, geometry="geometry", crs=ddf.crs)).reset_index(drop=True)
        labels = frame["_label"].to_numpy(dtype=np.int64)
        frame = frame.drop(columns="_label")
    clustering = Clustering(np.asarray(labels, dtype=np.int64),
                            {"eps": e, "min_samples": k, "weighted": weighted, "reason": reason})
    out = delivered_hotspots(frame, boundaries, "dbscan", eps=e, min_samples=k, since=since_ts, until=until_ts,
                             ward_ids=wards, options=options, timezone=zone, clustering=clustering)
    out.attrs["params"] = {
        **record, **out.attrs["params"], "categories": cats, "ward_ids": wards, "per_category": False,
        "timezone": zone, "engine": "dask",
        "since": since_ts.isoformat() if since_ts is not None else None,
        "until": until_ts.isoformat() if until_ts is not None else None,
        "n_noise": int(result.n - (np.asarray(result.labels()) >= 0).sum()),
    }
    out.attrs["dask"] = {
        "n_tiles": result.n_tiles, "n_groups": result.n_groups, "tile_side_m": round(result.tile_side, 3),
        "halo_fraction": round(result.halo_fraction, 4), "timings_s": result.timings_s,
    }
    return out
