"""Worker-side steps of the Dask DBSCAN: select, check, project, tile, cluster and label one partition or group."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ward_geo.analysis.dask_partitions import _MAX_PROBLEMS, ROW_BITS
from ward_geo.categories import CATEGORY_CODES
from ward_geo.cluster import (
    NodeLabels,
    TileLayout,
    TileRows,
    cluster_tiles,
    label_tiles,
    tile_copies,
    tile_counts,
)
from ward_geo.schema import WGS84


@dataclass(frozen=True)
class _Filters:
    categories: tuple[str, ...] | None = None
    since: pd.Timestamp | None = None
    until: pd.Timestamp | None = None
    ward_ids: tuple[str, ...] | None = None
    boundaries: gpd.GeoDataFrame | None = None  # wards for assigning ward_id (input CRS)


def _select(part: gpd.GeoDataFrame, filters: _Filters) -> gpd.GeoDataFrame:
    """The rows of one partition that pass the filters (ward_id filled from boundaries)."""
    part = part.reset_index(drop=True)
    keep = np.ones(len(part), dtype=bool)
    if filters.categories is not None:
        keep &= part["category"].isin(filters.categories).to_numpy(dtype=bool)
    if filters.since is not None or filters.until is not None:
        t = pd.to_datetime(part["occurred_at"], utc=True)
        if filters.since is not None:
            keep &= (t >= filters.since).to_numpy(dtype=bool, na_value=False)
        if filters.until is not None:
            keep &= (t < filters.until).to_numpy(dtype=bool, na_value=False)
    if not keep.all():
        part = part.iloc[np.flatnonzero(keep)].reset_index(drop=True)
    if filters.boundaries is not None and len(part) and (
        "ward_id" not in part.columns or part["ward_id"].isna().all()
    ):
        from ward_geo.io.readers import assign_wards

        # only the geometry goes through the join (assign_wards copies its input)
        located = assign_wards(gpd.GeoDataFrame(geometry=part.geometry.values, crs=part.crs), filters.boundaries)
        part = part.assign(ward_id=located["ward_id"].to_numpy(dtype=object))
    if filters.ward_ids is not None:
        if "ward_id" not in part.columns:
            return part.iloc[:0]
        inside = part["ward_id"].isin(filters.ward_ids).to_numpy(dtype=bool)
        if not inside.all():
            part = part.iloc[np.flatnonzero(inside)].reset_index(drop=True)
    return part


def _problems(sel: gpd.GeoDataFrame, index: int) -> tuple[list[tuple[int, int, str, str]], int]:
    """Rows of a selected partition that cannot be clustered (capped list, total)."""
    problems: list[tuple[int, int, str, str]] = []
    geoms = sel.geometry.values
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for r in np.flatnonzero(bad)[:_MAX_PROBLEMS]:
        problems.append((index, int(r), "geometry", "missing or empty; expected a Point"))
    total = int(bad.sum())
    wrong = (~bad) & (shapely.get_type_id(geoms) != 0)
    for r in np.flatnonzero(wrong)[: max(0, _MAX_PROBLEMS - len(problems))]:
        problems.append((index, int(r), "geometry", f"is a {geoms[r].geom_type}, not a Point"))
    total += int(wrong.sum())
    if total == 0 and len(sel):
        xy = shapely.get_coordinates(geoms)
        nonfinite = ~np.isfinite(xy).all(axis=1)
        for r in np.flatnonzero(nonfinite)[:_MAX_PROBLEMS]:
            problems.append((index, int(r), "geometry", "has NaN or infinite coordinates"))
        total += int(nonfinite.sum())
    if len(sel) and sel.crs is None:
        problems.append((index, -1, "crs", "the partition has no CRS; declare one (for example EPSG:4326)"))
        total += 1
    return problems, total


def _load(part: gpd.GeoDataFrame, index: int, filters: _Filters,
          order_by: str | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read one partition once: its selected rows as plain columns, and a summary.

    The frame holds ``gid``, the source-CRS coordinates ``sx``/``sy``, ``score``
    (category weight x severity), ``ward`` (categorical ward id), ``cat`` (index into
    ``CATEGORY_CODES``, -1 other), ``t`` (UTC) and, with ``order_by``, ``key`` (that
    column as strings: the order key of the clustering); the summary the row count, the
    lon/lat extent, the ward ids and every problem.
    """
    from ward_geo.analysis.hotspots.request import incident_weights as _weights

    summary: dict[str, Any] = {"index": index, "n": 0, "bounds": None, "crs": None, "problems": [],
                               "n_problems": 0, "wards": []}
    missing = [c for c in ("category", "occurred_at", *([order_by] if order_by else [])) if c not in part.columns]
    if missing:
        why = f"has no column(s) {', '.join(missing)} (expected a canonical incident table)"
        summary.update(problems=[(index, -1, "columns", why)], n_problems=1)
        return pd.DataFrame(), summary
    sel = _select(part, filters)
    problems, total = _problems(sel, index)
    summary.update(problems=problems, n_problems=total)
    if total:
        return pd.DataFrame(), summary
    n = len(sel)
    xy = shapely.get_coordinates(sel.geometry.values)
    cat_index = {c: i for i, c in enumerate(CATEGORY_CODES)}
    ward = (sel["ward_id"] if "ward_id" in sel.columns else pd.Series([None] * n, dtype=object))
    ward = ward.astype(object).where(ward.notna(), None).astype("category")
    t = pd.to_datetime(sel["occurred_at"], utc=True)
    frame = pd.DataFrame({
        "gid": (np.int64(index) << ROW_BITS) | np.arange(n, dtype=np.int64),
        "sx": xy[:, 0], "sy": xy[:, 1],
        "score": np.asarray(_weights(sel) if n else np.empty(0), dtype=np.float64),
        "ward": ward.to_numpy(),
        "cat": sel["category"].map(cat_index).fillna(-1).to_numpy(dtype=np.int16),
        "t": t.dt.tz_localize(None).astype("datetime64[ns]").to_numpy(),
    })
    frame["ward"] = frame["ward"].astype("category")
    if order_by:
        frame["key"] = sel[order_by].astype(str).to_numpy(dtype=object)
    if n:
        lonlat = xy if sel.crs.equals(WGS84) else shapely.get_coordinates(sel.geometry.to_crs(WGS84).values)
        summary["bounds"] = (float(lonlat[:, 0].min()), float(lonlat[:, 1].min()),
                             float(lonlat[:, 0].max()), float(lonlat[:, 1].max()))
        summary["crs"] = sel.crs.to_wkt()
    summary["n"] = n
    summary["wards"] = sorted(str(w) for w in frame["ward"].cat.categories)
    return frame, summary


def _project(frame: pd.DataFrame, src_wkt: str, metric_wkt: str, weighted: bool,
             ward_codes: dict[str, int]) -> pd.DataFrame:
    """Metric coordinates (one pyproj call, as the single-machine path) and integer codes."""
    from pyproj import CRS, Transformer

    n = len(frame)
    if n:
        transformer = Transformer.from_crs(CRS.from_wkt(src_wkt), CRS.from_wkt(metric_wkt), always_xy=True)
        x, y = transformer.transform(frame["sx"].to_numpy(), frame["sy"].to_numpy())
    else:
        x = y = np.empty(0)
    out = {"gid": frame["gid"].to_numpy(dtype=np.int64) if n else np.empty(0, np.int64),
           "x": np.asarray(x, dtype=np.float64), "y": np.asarray(y, dtype=np.float64),
           "score": frame["score"].to_numpy(dtype=np.float64) if n else np.empty(0)}
    if weighted:
        out["w"] = out["score"]
    if "key" in frame.columns:
        out["key"] = frame["key"].to_numpy(dtype=object)
    if n:
        cats = frame["ward"].cat.categories
        table = np.array([ward_codes.get(str(c), -1) for c in cats] + [-1], dtype=np.int32)
        codes = frame["ward"].cat.codes.to_numpy()
        out["ward"] = table[np.where(codes < 0, len(cats), codes)]
        out["cat"] = frame["cat"].to_numpy(dtype=np.int16)
        out["t"] = frame["t"].to_numpy(dtype="datetime64[ns]")
    else:
        out.update(ward=np.empty(0, np.int32), cat=np.empty(0, np.int16), t=np.empty(0, "datetime64[ns]"))
    return pd.DataFrame(out)


def _extent(frame: pd.DataFrame) -> tuple[float, float, float, float, int]:
    if len(frame) == 0:
        return (math.inf, math.inf, -math.inf, -math.inf, 0)
    return (float(frame["x"].min()), float(frame["y"].min()), float(frame["x"].max()),
            float(frame["y"].max()), int(len(frame)))


def _tile_counts(frame: pd.DataFrame, layout: TileLayout) -> np.ndarray:
    """Rows (own + halo) each tile receives from this partition."""
    if len(frame) == 0:
        return np.zeros(layout.nx * layout.ny, dtype=np.int64)
    return tile_counts(frame["x"].to_numpy(), frame["y"].to_numpy(), layout)


def _expand(frame: pd.DataFrame, layout: TileLayout) -> pd.DataFrame:
    """One row per (point, tile whose tile + halo holds it), with its group."""
    rows, tile, own, shared = tile_copies(frame["x"].to_numpy(), frame["y"].to_numpy(), layout)
    out = frame.iloc[rows].reset_index(drop=True)
    out.insert(0, "tile", tile)
    out.insert(0, "group", layout.group_of_tile[tile])
    out["own"] = own
    out["shared"] = shared
    return out


def _cluster_group(
    frame: pd.DataFrame, eps: float, min_samples: float, threads: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Core flags and local components of every tile of one group.

    Returns the group's rows (with ``core`` and ``node``), the links (``gid``, ``node``)
    of core points that appear in more than one tile, and every node with the order key
    (``key`` column, else ``gid``) of its first owned core point.
    """
    frame = frame.reset_index(drop=True)
    gid = frame["gid"].to_numpy()
    key = frame["key"].to_numpy(dtype=object) if "key" in frame.columns else gid
    group = TileRows(
        frame["x"].to_numpy(), frame["y"].to_numpy(), frame["tile"].to_numpy(),
        frame["own"].to_numpy(), frame["shared"].to_numpy(),
        frame["w"].to_numpy() if "w" in frame.columns else None,
    )
    res = cluster_tiles(group, key, eps, min_samples, threads=threads)
    frame["core"] = res.core
    frame["node"] = res.node
    links = pd.DataFrame({"gid": gid[res.linked], "node": res.node[res.linked]})
    has = res.node_first >= 0
    first_key = key[np.maximum(res.node_first, 0)] if res.node_first.size else key[:0]
    nodes = pd.DataFrame({"node": res.node_ids, "owned": has,
                          "key": pd.Series(first_key, dtype=object).where(has, None)})
    return frame, links, nodes


def _label_group(frame: pd.DataFrame, node_keys: np.ndarray, node_labels: np.ndarray, eps: float,
                 threads: int) -> pd.DataFrame:
    """Labels of the own points of every tile of one group (given each node's cluster)."""
    core = frame["core"].to_numpy()
    group = TileRows(frame["x"].to_numpy(), frame["y"].to_numpy(), frame["tile"].to_numpy(),
                     frame["own"].to_numpy(), frame["shared"].to_numpy())
    labels = label_tiles(group, core, frame["node"].to_numpy(), NodeLabels(node_keys, node_labels), eps,
                         threads=threads)
    own = frame["own"].to_numpy()
    keep = [c for c in ("gid", "x", "y", "score", "ward", "cat", "t") if c in frame.columns]
    out = frame.loc[own, keep].reset_index(drop=True)
    out["label"] = labels[own]
    out["core"] = core[own]
    return out


def _latest_time(part: gpd.GeoDataFrame, filters: _Filters) -> pd.Timestamp | None:
    """Latest ``occurred_at`` among the selected rows of one partition."""
    sel = _select(part, filters)
    if len(sel) == 0:
        return None
    t = pd.to_datetime(sel["occurred_at"], utc=True).max()
    return None if pd.isna(t) else t


def _label_partition(part: gpd.GeoDataFrame, index: int, filters: _Filters, labels: np.ndarray) -> gpd.GeoDataFrame:
    """Label the selected rows of one partition.

    Cluster members are kept whole, the others reduced to what the forecast counts (id,
    time, position), so hotspots' forecasts see every incident.
    """
    sel = _select(part, filters)
    keep = np.flatnonzero(labels >= 0)
    out = sel.iloc[keep].reset_index(drop=True)
    out["_label"] = labels[keep]
    rest_names = ("incident_id", "category", "occurred_at", "time_precision", "geometry")
    rest_cols = [c for c in rest_names if c in sel.columns]
    rest = sel.iloc[np.flatnonzero(labels < 0)][rest_cols].reset_index(drop=True)
    rest["_label"] = -1
    return pd.concat([out, rest], ignore_index=True) if len(rest) else out


# ------------------------------------------------------------------ driver
