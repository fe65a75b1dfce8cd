"""The hotspot table: one row per hotspot polygon, with the statistics behind it.

Columns
-------
hotspot_id
    ``"<method>-<12 hex>"``: a SHA-1 of the method, the category scope and the sorted member
    incident ids, so the same input gives the same ids in every run and in any row order.
name
    A short human name of the place: coordinates (``"21.03456, 105.85123"``) here; the
    workflow (:mod:`ward_geo.workflows`) names it from the street network.
method, category
    The method, and the category the hotspot was computed for (``None`` = all selected).
ward_ids, ward_shares
    Every ward the polygon touches, and the share of the polygon's area inside each (shares
    below 1 % are ignored as border noise). Without boundaries: the wards of the members.
n_incidents, weighted_score
    Members, and the sum of ``category weight × severity`` (severity 1 when missing).
area_m2, density_per_km2
    Polygon area and members per km².
forecast_incidents, forecast_low, forecast_high, forecast_horizon
    Expected incidents in the polygon in the next period and a 90 % interval
    (:mod:`ward_geo.analysis.hotspots.forecast`).
category_counts, dominant_category, first_seen, last_seen, peak_hours, peak_weekdays
    Members per category, the most frequent, first and last time, and histograms of local hour
    (exact times only) and weekday (Monday first).
rank, priority
    Rank 1 = highest forecast (ties: more incidents, then ``hotspot_id``); Gi* cold spots last.
    ``"high"`` for the top 20 % of ranks (at least one), ``"medium"`` up to 50 %, else ``"low"``.
trend, member_ids
    ``None`` (filled by trend analysis) and the sorted member incident ids.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ward_geo.analysis.hotspots.polygons import single_polygons
from ward_geo.analysis.hotspots.request import (
    category_codes,
    id_text,
    incident_weights,
    local_zone,
    strictly_increasing,
    transform_geometries,
)
from ward_geo.categories import CATEGORY_CODES
from ward_geo.schema import WGS84

if TYPE_CHECKING:  # pragma: no cover
    from pyproj import CRS

__all__ = ["HOTSPOT_COLUMNS", "hotspot_table", "empty_table", "priority_for_ranks", "MIN_WARD_SHARE",
           "HIGH_FRACTION", "MEDIUM_FRACTION"]

HOTSPOT_COLUMNS: tuple[str, ...] = (
    "hotspot_id", "rank", "name", "method", "category", "ward_ids", "ward_shares", "n_incidents",
    "weighted_score", "forecast_incidents", "forecast_low", "forecast_high", "forecast_horizon",
    "area_m2", "density_per_km2", "category_counts", "dominant_category", "first_seen", "last_seen",
    "peak_hours", "peak_weekdays", "priority", "trend", "member_ids", "geometry",
)

#: Ward shares below this fraction of a hotspot's area are border noise and ignored.
MIN_WARD_SHARE = 0.01
#: Fraction of ranks that are "high" and (cumulatively) "medium" priority.
HIGH_FRACTION = 0.2
MEDIUM_FRACTION = 0.5


def priority_for_ranks(ranks: np.ndarray, n: int | None = None) -> np.ndarray:
    """Priority of each rank (1-based) among ``n`` hotspots.

    ``high``: rank <= max(1, ceil(0.2 n)); ``medium``: rank <= ceil(0.5 n); else ``low``.
    """
    ranks = np.asarray(ranks, dtype=np.int64)
    total = int(len(ranks) if n is None else n)
    high = max(1, math.ceil(HIGH_FRACTION * total))
    medium = max(high, math.ceil(MEDIUM_FRACTION * total))
    return np.where(ranks <= high, "high", np.where(ranks <= medium, "medium", "low")).astype(object)


def empty_table(method: str = "auto") -> gpd.GeoDataFrame:
    """A hotspot table with no rows and the right columns and dtypes."""
    cols = {c: pd.Series([], dtype=object) for c in HOTSPOT_COLUMNS if c != "geometry"}
    for c in ("n_incidents", "rank"):
        cols[c] = pd.Series([], dtype=np.int64)
    for c in ("weighted_score", "area_m2", "density_per_km2", "forecast_incidents", "forecast_low", "forecast_high"):
        cols[c] = pd.Series([], dtype=np.float64)
    for c in ("first_seen", "last_seen"):
        cols[c] = pd.Series([], dtype="datetime64[ns, UTC]")
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)


def coordinate_names(polygons_wgs84: np.ndarray) -> list[str]:
    """``"lat, lon"`` (5 decimals) of a point inside each polygon."""
    pts = shapely.point_on_surface(polygons_wgs84)
    xy = shapely.get_coordinates(pts)
    return [f"{lat:.5f}, {lon:.5f}" for lon, lat in xy]


def _hash_ids(method: str, scope: str, ids_sorted: np.ndarray) -> str:
    h = hashlib.sha1(f"{method}|{scope}|".encode())
    h.update("\x1f".join(ids_sorted.tolist()).encode("utf-8"))
    return f"{method}-{h.hexdigest()[:12]}"


def make_hotspot_ids(method: str, scopes: Sequence[str | None], member_groups: list[np.ndarray],
                     polygons_m: np.ndarray) -> list[str]:
    """Give every hotspot its id, ``<method>-<12 hex>``.

    The hex is a hash of its scope and sorted member ids (of its polygon when it has no member,
    as a cold spot may).
    """
    scope_list = [s if s is not None else "*" for s in scopes]

    def by_polygon(i: int) -> str:
        text = f"{method}|{scope_list[i]}|{shapely.to_wkt(polygons_m[i], rounding_precision=0)}"
        return f"{method}-{hashlib.sha1(text.encode()).hexdigest()[:12]}"

    return [
        _hash_ids(method, scope_list[i], member_groups[i]) if len(member_groups[i]) else by_polygon(i)
        for i in range(len(polygons_m))
    ]


def rank_hotspots(key_value: np.ndarray, n_incidents: np.ndarray, hotspot_ids: Sequence[str],
                  cold: np.ndarray) -> np.ndarray:
    """Rank 1..k: hot before cold, then ``key_value`` (the forecast) descending, members descending, id."""
    k = len(hotspot_ids)
    order = sorted(range(k), key=lambda i: (bool(cold[i]), -round(float(key_value[i]), 9),
                                            -int(n_incidents[i]), hotspot_ids[i]))
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(1, k + 1)
    return rank


def ranked_outlines(incidents: gpd.GeoDataFrame, labels: np.ndarray, polygons_m: np.ndarray, crs: CRS, *,
                    method: str, scopes: Sequence[str | None], forecast: Any,
                    extra: dict[str, np.ndarray] | None = None) -> gpd.GeoDataFrame:
    """The ids, ranks and polygons of :func:`hotspot_table` without its statistics (what a backtest scores).

    Returns
    -------
    GeoDataFrame
        ``hotspot_id``, ``rank``, ``n_incidents`` and the polygons in the metric ``crs``, sorted by rank;
        the same ids, ranks and polygons as the full table's.
    """
    labels = np.asarray(labels, dtype=np.int64)
    k = len(polygons_m)
    n_inc = np.bincount(labels[labels >= 0], minlength=k)[:k] if k else np.zeros(0, dtype=np.int64)
    members = _member_groups(incidents["incident_id"], labels, n_inc) if k else []
    ids = make_hotspot_ids(method, scopes, members, polygons_m)
    cold = np.asarray((extra or {}).get("spot_type", np.full(k, "hot", dtype=object))) == "cold"
    key_value = np.asarray(forecast.mean, dtype=np.float64)
    rank = rank_hotspots(key_value, n_inc, ids, cold) if k else np.zeros(0, dtype=np.int64)
    out = gpd.GeoDataFrame({"hotspot_id": ids, "rank": rank, "n_incidents": n_inc},
                           geometry=list(polygons_m), crs=crs)
    return out.sort_values("rank", kind="stable").reset_index(drop=True)


def _ward_columns(
    polys_m: np.ndarray,
    boundaries_m: gpd.GeoDataFrame | None,
    labels: np.ndarray,
    k: int,
    member_wards: pd.Series | None,
) -> tuple[list[list[str]], list[dict[str, float]]]:
    ward_ids: list[list[str]] = [[] for _ in range(k)]
    shares: list[dict[str, float]] = [{} for _ in range(k)]
    if k == 0:
        return ward_ids, shares
    if boundaries_m is not None and len(boundaries_m):
        bgeoms = np.asarray(boundaries_m.geometry.values, dtype=object)
        bids = boundaries_m["ward_id"].astype(str).to_numpy()
        tree = shapely.STRtree(bgeoms)
        hi, bi = tree.query(polys_m, predicate="intersects")
        if len(hi):
            inter = shapely.area(shapely.intersection(polys_m[hi], bgeoms[bi]))
            share = inter / np.maximum(shapely.area(polys_m[hi]), 1e-9)
            frame = pd.DataFrame({"h": hi, "w": bids[bi], "s": share})
            frame = frame[frame["s"] >= MIN_WARD_SHARE]
            frame = frame.groupby(["h", "w"], sort=False)["s"].sum().reset_index()
            frame = frame.sort_values(["h", "s", "w"], ascending=[True, False, True])
            for h, grp in frame.groupby("h", sort=False):
                ward_ids[int(h)] = grp["w"].tolist()
                shares[int(h)] = {w: round(float(s), 4) for w, s in zip(grp["w"], grp["s"], strict=True)}
        return ward_ids, shares
    if member_wards is not None:
        m = labels >= 0
        frame = pd.DataFrame({"h": labels[m], "w": member_wards.to_numpy(dtype=object)[m]}).dropna()
        if len(frame):
            counts = frame.groupby(["h", "w"]).size().rename("n").reset_index()
            counts["s"] = counts["n"] / counts.groupby("h")["n"].transform("sum")
            counts = counts.sort_values(["h", "s", "w"], ascending=[True, False, True])
            for h, grp in counts.groupby("h", sort=False):
                ward_ids[int(h)] = grp["w"].astype(str).tolist()
                shares[int(h)] = {str(w): round(float(s), 4) for w, s in zip(grp["w"], grp["s"], strict=True)}
    return ward_ids, shares


class TableContext(TypedDict, total=False):
    """Optional keywords of :func:`hotspot_table`."""

    #: Wards in the metric CRS for ``ward_ids`` / ``ward_shares`` by area.
    boundaries_m: gpd.GeoDataFrame | None
    #: Zone of ``peak_hours`` / ``peak_weekdays`` (default: the configured zone).
    timezone: str | None
    #: Extra per-hotspot columns (for example ``gi_z``).
    extra: dict[str, np.ndarray] | None
    #: Expected incidents per hotspot; the rank follows it.
    forecast: Any


def hotspot_table(
    incidents: gpd.GeoDataFrame,
    labels: np.ndarray,
    polygons_m: np.ndarray,
    crs: CRS,
    *,
    method: str,
    scopes: Sequence[str | None],
    **context: Unpack[TableContext],
) -> gpd.GeoDataFrame:
    """Build the hotspot table from member labels and metric polygons (vectorised statistics).

    The optional keywords ``boundaries_m``, ``timezone``, ``extra`` and ``forecast`` are
    listed in :class:`TableContext`.

    Parameters
    ----------
    incidents : GeoDataFrame
        Canonical incidents (any CRS), aligned with ``labels``.
    labels : ndarray of int, shape (n,)
        Hotspot index 0..k-1 of each incident, -1 for incidents in no hotspot.
    polygons_m : ndarray of shapely Polygon, shape (k,)
        Hotspot polygons in the metric CRS ``crs``.
    crs : pyproj.CRS
        The metric CRS of ``polygons_m`` (and of ``boundaries_m``).
    method : str
        Recorded in ``method`` and part of ``hotspot_id``.
    scopes : sequence of (str or None), length k
        Category each hotspot was computed for (``None``: all selected categories).
    boundaries_m : GeoDataFrame, optional
        Wards in ``crs`` for ``ward_ids`` / ``ward_shares`` by area.
    timezone : str, optional
        Zone of ``peak_hours`` / ``peak_weekdays`` (default: the configured zone).
    extra : dict of name -> ndarray (k,), optional
        Extra per-hotspot columns (for example ``gi_z``).
    forecast : Forecast, optional
        Expected incidents per hotspot (:func:`~ward_geo.analysis.hotspots.forecast.forecast_counts`);
        the rank follows it. Without it, the rank follows ``weighted_score``.

    Returns
    -------
    GeoDataFrame
        The hotspot table in EPSG:4326, sorted by rank (see the module docstring).
    """
    boundaries_m, extra = context.get("boundaries_m"), context.get("extra")
    forecast = context.get("forecast")
    zone = local_zone(context.get("timezone"))
    labels = np.asarray(labels, dtype=np.int64)
    k = len(polygons_m)
    if k == 0:
        empty = empty_table(method)
        for name in extra or {}:
            empty.insert(len(empty.columns) - 1, name, pd.Series([], dtype=object))
        return empty
    m = labels >= 0
    lab = labels[m]
    n_inc = np.bincount(lab, minlength=k).astype(np.int64)
    cat_codes, cat_values = category_codes(incidents["category"], "other")
    weights = incident_weights(incidents, (cat_codes, cat_values))
    score = np.bincount(lab, weights=weights[m], minlength=k)

    # category counts: a (k, n_categories) matrix in taxonomy order
    known = [c for c in CATEGORY_CODES] + sorted(set(cat_values) - set(CATEGORY_CODES))
    remap = np.array([known.index(v) for v in cat_values] or [0], dtype=np.int64)
    codes = remap[cat_codes[m]]
    cat_matrix = np.bincount(lab * len(known) + codes, minlength=k * len(known)).reshape(k, len(known))
    dominant_idx = cat_matrix.argmax(axis=1) if k else np.empty(0, dtype=np.int64)

    # times
    t = pd.to_datetime(incidents["occurred_at"], utc=True)
    t_ns = t.astype("int64").to_numpy()
    t_valid = t.notna().to_numpy()
    first, last = _label_minmax(labels, t_ns, m & t_valid, k)
    has_time = first != np.iinfo(np.int64).max
    local = t.dt.tz_convert(zone)
    if "time_precision" in incidents.columns:
        p_codes, p_values = category_codes(incidents["time_precision"], "exact")
        is_exact = np.array([v == "exact" for v in p_values] or [True])[p_codes]
        is_day = np.array([v == "day" for v in p_values] or [False])[p_codes]
    else:
        is_exact = np.ones(len(incidents), dtype=bool)
        is_day = np.zeros(len(incidents), dtype=bool)
    exact = is_exact & t_valid
    dayish = (is_exact | is_day) & t_valid
    hours = local.dt.hour.fillna(0).to_numpy(dtype=np.int64)
    wdays = local.dt.day_of_week.fillna(0).to_numpy(dtype=np.int64)
    sel = m & exact
    hour_hist = np.bincount(labels[sel] * 24 + hours[sel], minlength=k * 24).reshape(k, 24)
    sel = m & dayish
    wday_hist = np.bincount(labels[sel] * 7 + wdays[sel], minlength=k * 7).reshape(k, 7)

    member_groups = _member_groups(incidents["incident_id"], labels, n_inc)

    hotspot_ids = make_hotspot_ids(method, scopes, member_groups, polygons_m)

    area = shapely.area(polygons_m) if k else np.empty(0)
    density = np.where(area > 0, n_inc / np.maximum(area, 1e-9) * 1e6, 0.0)
    member_wards = incidents["ward_id"] if "ward_id" in incidents.columns else None
    ward_ids, ward_shares = _ward_columns(polygons_m, boundaries_m, labels, k, member_wards)

    # rank: forecast desc (weighted score without a forecast), then members desc, then id asc
    if forecast is not None:
        key_value = np.asarray(forecast.mean, dtype=np.float64)
    else:
        key_value = np.asarray(score, dtype=np.float64)
    extra = dict(extra or {})
    cold = np.asarray(extra.get("spot_type", np.full(k, "hot", dtype=object))) == "cold"
    n_ranked = int((~cold).sum())
    rank = rank_hotspots(key_value, n_inc, hotspot_ids, cold)
    priority = priority_for_ranks(rank, n_ranked)
    priority[cold] = "low"

    first_ts = pd.to_datetime(np.where(has_time, first, np.iinfo(np.int64).min), utc=True)
    last_ts = pd.to_datetime(np.where(has_time, last, np.iinfo(np.int64).min), utc=True)
    data: dict[str, Any] = {
        "hotspot_id": hotspot_ids,
        "rank": rank,
        "name": [None] * k,
        "method": [method] * k,
        "category": list(scopes),
        "ward_ids": ward_ids,
        "ward_shares": ward_shares,
        "n_incidents": n_inc,
        "weighted_score": np.round(score, 6),
        "forecast_incidents": np.round(forecast.mean, 3) if forecast is not None else np.full(k, np.nan),
        "forecast_low": forecast.low if forecast is not None else np.full(k, np.nan),
        "forecast_high": forecast.high if forecast is not None else np.full(k, np.nan),
        "forecast_horizon": [forecast.horizon if forecast is not None else None] * k,
        "area_m2": np.round(area, 2),
        "density_per_km2": np.round(density, 3),
        "category_counts": [
            {known[j]: int(row[j]) for j in sorted(np.flatnonzero(row), key=lambda j: (-int(row[j]), j))}
            for row in cat_matrix
        ],
        "dominant_category": [known[j] if n_inc[i] else None for i, j in enumerate(dominant_idx)],
        "first_seen": pd.Series(first_ts).where(has_time, pd.NaT),
        "last_seen": pd.Series(last_ts).where(has_time, pd.NaT),
        "peak_hours": [row.tolist() for row in hour_hist],
        "peak_weekdays": [row.tolist() for row in wday_hist],
        "priority": list(priority),
        "trend": [None] * k,
        "member_ids": [g.tolist() for g in member_groups],
    }
    for name, values in extra.items():
        data[name] = list(values) if np.asarray(values).dtype == object else np.asarray(values)
    frame = pd.DataFrame(data)
    frame["first_seen"] = pd.to_datetime(frame["first_seen"], utc=True).astype("datetime64[ns, UTC]")
    frame["last_seen"] = pd.to_datetime(frame["last_seen"], utc=True).astype("datetime64[ns, UTC]")
    out = gpd.GeoDataFrame(frame, geometry=transform_geometries(polygons_m, crs, WGS84), crs=WGS84)
    geoms = out.geometry.values
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        fixed = np.asarray(geoms, dtype=object).copy()
        fixed[invalid] = single_polygons(shapely.make_valid(fixed[invalid]))
        out = out.set_geometry(gpd.GeoSeries(fixed, crs=WGS84, index=out.index))
    out["name"] = coordinate_names(np.asarray(out.geometry.values, dtype=object))
    out = out.sort_values("rank", kind="stable").reset_index(drop=True)
    cols = [c for c in HOTSPOT_COLUMNS if c != "geometry"] + list(extra) + ["geometry"]
    return gpd.GeoDataFrame(out[cols], geometry="geometry", crs=WGS84)


def _label_minmax(labels: np.ndarray, values: np.ndarray, mask: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-label min and max of ``values`` where ``mask`` (int64 extremes where none)."""
    first = np.full(k, np.iinfo(np.int64).max)
    last = np.full(k, np.iinfo(np.int64).min)
    lab = labels[mask]
    if len(lab) == 0:
        return first, last
    order = np.argsort(lab, kind="stable")
    lab = lab[order]
    val = values[mask][order]
    starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
    first[lab[starts]] = np.minimum.reduceat(val, starts)
    last[lab[starts]] = np.maximum.reduceat(val, starts)
    return first, last


def _member_groups(ids: pd.Series, labels: np.ndarray, n_inc: np.ndarray) -> list[np.ndarray]:
    """Sorted member incident ids of each label 0..k-1 (one Arrow sort for all of them)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    k = len(n_inc)
    if k == 0:
        return []
    members = np.flatnonzero(labels >= 0)
    text = id_text(ids.iloc[members])
    if strictly_increasing(text):
        # rows in id order (the canonical order of find_hotspots): a stable sort by label suffices
        order = pa.array(np.argsort(labels[members], kind="stable"))
    else:
        table = pa.table({"label": labels[members], "id": text})
        order = pc.sort_indices(table, sort_keys=[("label", "ascending"), ("id", "ascending")])
    sorted_ids = np.asarray(pc.take(text, order).to_numpy(zero_copy_only=False), dtype=object)
    bounds = np.cumsum(n_inc)[:-1]
    return np.split(sorted_ids, bounds)


