"""Hotspots a planner can act on: ranked polygons with the statistics behind them.

:func:`find_hotspots` turns incidents (a GeoDataFrame, or the store) into a table of hotspot
polygons, one row per hotspot, in EPSG:4326. Five methods share the same output:

``"dbscan"``
    Density-based clusters (:class:`ward_geo.cluster.DBSCAN`, exact). ``eps`` (metres)
    and ``min_samples`` are chosen from the data by
    :func:`ward_geo.cluster.suggest_dbscan_params` when not given; explicit values win.
``"hdbscan"``
    Variable-density clusters (:class:`ward_geo.cluster.HDBSCAN`);
    ``min_cluster_size`` defaults to ``min_samples`` when given, else to
    ``clip(round(sqrt(n) / 2), 5, 500)`` for ``n`` incidents (15 for a thousand).
``"stdbscan"``
    Space–time clusters (:class:`ward_geo.cluster.STDBSCAN`): ``eps`` in metres and
    ``eps_time`` (hours, default 168 = one week).
``"kde"``
    Top density contours of a kernel density surface of the incidents weighted by
    ``category weight × severity`` (:mod:`ward_geo.analysis.density`); extra column
    ``peak_density_per_km2``.
``"gistar"``
    Getis-Ord Gi* hot spots (and cold spots with ``cold=True``) of incident counts on a grid,
    FDR-corrected (:mod:`ward_geo.analysis.gistar`); extra columns ``gi_z``, ``p_value``,
    ``spot_type``. Call :func:`ward_geo.analysis.gistar.warm_up` at service start.

The study area (background rate of the suggested DBSCAN parameters, grid of kde / gistar)
is the wards asked for with ``ward_ids``, else the wards holding at least one incident;
without boundaries, the incidents' convex hull (buffered by 200 m for the grids).

Output columns
--------------
hotspot_id
    ``"<method>-<12 hex>"``: a SHA-1 of the method, the category scope and the sorted member
    incident ids, so the same input gives the same ids in every run and in any row order.
method, category
    The method, and the category the hotspot was computed for (``None`` = all selected).
ward_ids, ward_shares
    Every ward the polygon touches, and the share of the polygon's area inside each
    (shares below 1 % are ignored as border noise; shares sum to the part inside wards).
    Without boundaries: the wards of the member incidents and their share of members.
n_incidents, weighted_score
    Members, and the sum of ``category weight × severity`` (severity 1 when missing).
area_m2, density_per_km2
    Polygon area and members per km².
category_counts, dominant_category
    ``{category: count}`` (largest first) and the most frequent category (ties: taxonomy order).
first_seen, last_seen
    Earliest and latest ``occurred_at`` of members (UTC).
peak_hours, peak_weekdays
    Histograms of local hour (24 bins; only ``time_precision == "exact"`` members) and of
    weekday (7 bins, Monday first; members with exact or day precision), in the configured
    time zone (``WARD_GEO_TIMEZONE``, or the ``timezone`` parameter).
rank, priority
    Rank 1 = highest ``weighted_score`` (ties: more incidents, then ``hotspot_id``).
    Priority rule: ``"high"`` for the top 20 % of ranks (at least one hotspot), ``"medium"``
    for the ranks up to 50 %, ``"low"`` for the rest and for every Gi* cold spot.
member_ids
    The member incident ids (sorted); see :func:`hotspot_members`.
trend
    ``None`` (filled in by trend analysis).

Polygons are a concave hull of the members buffered by ``buffer_m`` (default
``max(eps / 2, 15 m)``), so they are always valid areas: one address gives a disc, one street a
capsule along it, never a sliver. Grid methods give the union of their significant cells.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ward_geo.categories import CATEGORIES, CATEGORY_CODES
from ward_geo.errors import InputError, ParameterError
from ward_geo.schema import WGS84

if TYPE_CHECKING:  # pragma: no cover
    from pyproj import CRS

    from ward_geo.store.base import IncidentStore

__all__ = [
    "METHODS",
    "HOTSPOT_COLUMNS",
    "find_hotspots",
    "hotspot_members",
    "hotspot_table",
    "priority_for_ranks",
    "MIN_BUFFER_M",
]

METHODS: tuple[str, ...] = ("dbscan", "hdbscan", "stdbscan", "kde", "gistar")

HOTSPOT_COLUMNS: tuple[str, ...] = (
    "hotspot_id",
    "method",
    "category",
    "ward_ids",
    "ward_shares",
    "n_incidents",
    "weighted_score",
    "area_m2",
    "density_per_km2",
    "category_counts",
    "dominant_category",
    "first_seen",
    "last_seen",
    "peak_hours",
    "peak_weekdays",
    "rank",
    "priority",
    "trend",
    "member_ids",
    "geometry",
)

#: Smallest buffer around the members of a cluster (metres): one address becomes a disc.
MIN_BUFFER_M = 15.0
#: Ward shares below this fraction of a hotspot's area are border noise and ignored.
MIN_WARD_SHARE = 0.01
#: Fraction of ranks that are "high" and (cumulatively) "medium" priority.
HIGH_FRACTION = 0.2
MEDIUM_FRACTION = 0.5

_DEFAULT_EPS_TIME_H = 168.0
_HDBSCAN_BUFFER_M = 25.0

_METHOD_PARAMS: dict[str, frozenset[str]] = {
    "dbscan": frozenset({"buffer_m", "concave_ratio", "weighted"}),
    "hdbscan": frozenset({"buffer_m", "concave_ratio", "min_cluster_size", "cluster_selection_epsilon"}),
    "stdbscan": frozenset({"buffer_m", "concave_ratio", "eps_time"}),
    "kde": frozenset({"bandwidth", "cell_size", "quantile", "min_incidents"}),
    "gistar": frozenset({"cell_size", "alpha", "permutations", "cold", "seed", "min_incidents"}),
}
_COMMON_PARAMS = frozenset({"timezone"})


# ------------------------------------------------------------------ small helpers


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def priority_for_ranks(ranks: np.ndarray, n: int | None = None) -> np.ndarray:
    """Priority of each rank (1-based) among ``n`` hotspots (see the module rule).

    ``high``: rank <= max(1, ceil(0.2 n)); ``medium``: rank <= ceil(0.5 n); else ``low``.
    """
    ranks = np.asarray(ranks, dtype=np.int64)
    total = int(len(ranks) if n is None else n)
    high = max(1, math.ceil(HIGH_FRACTION * total))
    medium = max(high, math.ceil(MEDIUM_FRACTION * total))
    return np.where(ranks <= high, "high", np.where(ranks <= medium, "medium", "low")).astype(object)


def _local_zone(timezone: str | None) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from ward_geo.settings import get_settings

    zone = timezone or get_settings().timezone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ParameterError(f"timezone {zone!r} is not an IANA time zone name (for example 'Asia/Ho_Chi_Minh')") from exc
    return zone


def _parse_time(value: object, name: str, zone: str, problems: list[str]) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        problems.append(f"{name}={value!r} is not a date or timestamp (expected ISO 8601, e.g. 2025-01-31)")
        return None
    if ts is pd.NaT:
        problems.append(f"{name} is empty (NaT); expected a date or timestamp")
        return None
    if ts.tzinfo is None:
        ts = ts.tz_localize(zone)
    return ts.tz_convert("UTC")


def _validate_categories(categories: object, problems: list[str]) -> list[str] | None:
    if categories is None:
        return None
    if isinstance(categories, str):
        categories = [categories]
    if not isinstance(categories, Iterable):
        problems.append(f"categories must be a category code or a list of codes, got {categories!r}")
        return None
    cats = [str(c) for c in categories]
    unknown = [c for c in cats if c not in CATEGORIES]
    if unknown:
        problems.append(f"unknown category code(s) {', '.join(map(repr, unknown))} (known: {', '.join(CATEGORY_CODES)})")
    if not cats:
        problems.append("categories is an empty list; omit it to use every category")
    return sorted(set(cats), key=CATEGORY_CODES.index) if not unknown else None


def _validate_ward_ids(ward_ids: object, problems: list[str]) -> list[str] | None:
    if ward_ids is None:
        return None
    if isinstance(ward_ids, str):
        return [ward_ids]
    if not isinstance(ward_ids, Iterable):
        problems.append(f"ward_ids must be a ward id or a list of ids, got {ward_ids!r}")
        return None
    out = [str(w) for w in ward_ids]
    if not out:
        problems.append("ward_ids is an empty list; omit it to use every ward")
    return out


def _validate_params(
    method: object,
    eps: object,
    min_samples: object,
    params: dict[str, Any],
    problems: list[str],
) -> None:
    if method not in METHODS:
        problems.append(f"method {method!r} is unknown (expected one of {', '.join(METHODS)})")
        method = "dbscan"
        allowed = frozenset(params)
    else:
        allowed = _METHOD_PARAMS[str(method)] | _COMMON_PARAMS
    unknown = sorted(set(params) - allowed)
    if unknown:
        problems.append(
            f"parameter(s) {', '.join(unknown)} do not apply to method {method!r} "
            f"(accepted: eps, min_samples, {', '.join(sorted(allowed))})"
        )
    if eps is not None:
        if method in {"kde", "gistar", "hdbscan"}:
            problems.append(f"eps does not apply to method {method!r}")
        elif not _is_number(eps) or not math.isfinite(float(eps)) or float(eps) <= 0:
            problems.append(f"eps must be a positive distance in metres, got {eps!r}")
    if min_samples is not None:
        if method in {"kde", "gistar"}:
            problems.append(f"min_samples does not apply to method {method!r}")
        elif not isinstance(min_samples, numbers.Integral) or isinstance(min_samples, bool) or int(min_samples) < 1:
            problems.append(f"min_samples must be an integer >= 1, got {min_samples!r}")
    for key in ("buffer_m", "eps_time", "bandwidth", "cell_size", "cluster_selection_epsilon"):
        if key in params and params[key] is not None:
            v = params[key]
            bad = not _is_number(v) or not math.isfinite(float(v)) or float(v) <= 0
            if key == "cluster_selection_epsilon" and _is_number(v) and float(v) == 0:
                bad = False
            if bad:
                unit = "hours" if key == "eps_time" else "metres"
                problems.append(f"{key} must be a positive number of {unit}, got {v!r}")
    if "concave_ratio" in params:
        v = params["concave_ratio"]
        if not _is_number(v) or not 0.0 <= float(v) <= 1.0:
            problems.append(f"concave_ratio must be between 0 and 1, got {v!r}")
    if "quantile" in params:
        v = params["quantile"]
        if not _is_number(v) or not 0.0 < float(v) < 1.0:
            problems.append(f"quantile must be strictly between 0 and 1, got {v!r}")
    if "alpha" in params:
        v = params["alpha"]
        if not _is_number(v) or not 0.0 < float(v) < 1.0:
            problems.append(f"alpha must be strictly between 0 and 1, got {v!r}")
    for key in ("cold", "weighted"):
        if key in params and not isinstance(params[key], bool | np.bool_):
            problems.append(f"{key} must be true or false, got {params[key]!r}")
    if "timezone" in params and params["timezone"] is not None and not isinstance(params["timezone"], str):
        problems.append(f"timezone must be an IANA zone name, got {params['timezone']!r}")
    for key in ("min_cluster_size", "min_incidents", "permutations", "seed"):
        if key in params and params[key] is not None:
            v = params[key]
            lowest = {"permutations": 0, "seed": 0, "min_cluster_size": 2}.get(key, 1)
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or int(v) < lowest:
                problems.append(f"{key} must be an integer >= {lowest}, got {v!r}")


# ------------------------------------------------------------------ input


def _load_incidents(
    incidents: gpd.GeoDataFrame | None,
    store: IncidentStore | None,
    *,
    categories: list[str] | None,
    since: pd.Timestamp | None,
    until: pd.Timestamp | None,
    ward_ids: list[str] | None,
) -> gpd.GeoDataFrame:
    if incidents is not None:
        if not isinstance(incidents, gpd.GeoDataFrame):
            raise InputError(f"incidents must be a GeoDataFrame, got {type(incidents).__name__}")
        return incidents
    if store is None:
        from ward_geo.store import open_store

        with open_store() as opened:
            return opened.query(ward_ids=ward_ids, categories=categories, since=since, until=until)
    return store.query(ward_ids=ward_ids, categories=categories, since=since, until=until)


def _check_incidents(gdf: gpd.GeoDataFrame) -> None:
    problems: list[str] = []
    if gdf.crs is None:
        problems.append("incidents have no CRS; declare one (for example crs='EPSG:4326')")
    for col in ("incident_id", "category", "occurred_at"):
        if col not in gdf.columns:
            problems.append(f"incidents have no {col!r} column (read them with ward_geo.read_incidents)")
    if problems:
        raise InputError("; ".join(problems))
    geoms = gdf.geometry.values
    bad = np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if len(bad):
        raise InputError(
            f"{len(bad)} incident(s) have no geometry (rows {', '.join(map(str, bad[:10].tolist()))}"
            f"{', ...' if len(bad) > 10 else ''}); field 'geometry' must be a point",
            details={"rows": bad[:100].tolist(), "field": "geometry"},
        )
    kinds = shapely.get_type_id(geoms)
    bad = np.flatnonzero(kinds != 0)
    if len(bad):
        raise InputError(
            f"{len(bad)} incident geometry(ies) are not points (rows {', '.join(map(str, bad[:10].tolist()))}); "
            "field 'geometry' must be a Point",
            details={"rows": bad[:100].tolist(), "field": "geometry"},
        )
    ids = gdf["incident_id"]
    missing = np.flatnonzero(ids.isna().to_numpy())
    if len(missing):
        raise InputError(
            f"{len(missing)} incident(s) have no incident_id (rows {', '.join(map(str, missing[:10].tolist()))})",
            details={"rows": missing[:100].tolist(), "field": "incident_id"},
        )
    dup = ids.astype(str).duplicated(keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        raise InputError(
            f"incident_id must be unique; {int(dup.sum())} rows share ids "
            f"(rows {', '.join(map(str, rows[:10].tolist()))}, ids {', '.join(map(repr, ids[dup].astype(str).unique()[:5]))})",
            details={"rows": rows[:100].tolist(), "field": "incident_id"},
        )


def _filter(
    gdf: gpd.GeoDataFrame,
    categories: list[str] | None,
    since: pd.Timestamp | None,
    until: pd.Timestamp | None,
    ward_ids: list[str] | None,
) -> gpd.GeoDataFrame:
    keep = np.ones(len(gdf), dtype=bool)
    if categories is not None:
        keep &= gdf["category"].isin(categories).to_numpy()
    if since is not None or until is not None:
        t = pd.to_datetime(gdf["occurred_at"], utc=True)
        if since is not None:
            keep &= (t >= since).to_numpy(dtype=bool, na_value=False)
        if until is not None:
            keep &= (t < until).to_numpy(dtype=bool, na_value=False)
    if ward_ids is not None:
        if len(gdf) and ("ward_id" not in gdf.columns or gdf["ward_id"].isna().all()):
            raise InputError(
                "incidents have no ward_id values to filter by ward: give boundaries (or read the "
                "incidents with boundaries=...) so each incident gets its ward"
            )
        keep &= gdf["ward_id"].isin(ward_ids).to_numpy(dtype=bool)
    if keep.all():
        return gdf
    return gdf.iloc[np.flatnonzero(keep)]


# ------------------------------------------------------------------ clustering back-ends


@dataclass
class _Clustering:
    labels: np.ndarray
    params: dict[str, Any]
    buffer_m: float
    polygons: np.ndarray | None = None  # for grid methods: one metric polygon per label
    extra: dict[str, np.ndarray] = field(default_factory=dict)


def _suggest(X: np.ndarray, eps: float | None, min_samples: int | None,
             area_m2: float | None) -> tuple[float, int, str]:
    """eps and min_samples: explicit values win; the rest from the data (and why)."""
    from ward_geo.cluster import suggest_dbscan_params

    if eps is not None and min_samples is not None:
        return float(eps), int(min_samples), "eps and min_samples given explicitly"
    suggestion = suggest_dbscan_params(X, area_m2=area_m2, eps=eps, min_samples=min_samples)
    return float(suggestion.eps), int(suggestion.min_samples), str(suggestion.reason)


def _codes(series: pd.Series, fill: str) -> tuple[np.ndarray, list[str]]:
    """Integer codes and their values for a text column (missing -> ``fill``); fast on Arrow strings."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    values = [str(u) for u in uniques]
    if (codes < 0).any():
        if fill in values:
            codes = np.where(codes < 0, values.index(fill), codes)
        else:
            codes = np.where(codes < 0, len(values), codes)
            values.append(fill)
    return np.asarray(codes, dtype=np.int64), values


def _weights(gdf: gpd.GeoDataFrame, cat_codes: tuple[np.ndarray, list[str]] | None = None) -> np.ndarray:
    """``category weight × severity`` per incident (severity 1 when missing or negative)."""
    codes, values = cat_codes if cat_codes is not None else _codes(gdf["category"], "other")
    table = np.array([CATEGORIES[v].weight if v in CATEGORIES else 1.0 for v in values] or [1.0])
    cat_w = table[codes]
    if "severity" in gdf.columns:
        sev = pd.to_numeric(gdf["severity"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        sev = np.where(np.isfinite(sev) & (sev >= 0), sev, 1.0)
    else:
        sev = 1.0
    return (cat_w * sev).astype(np.float64)


def _cluster_dbscan(X: np.ndarray, eps: float | None, min_samples: int | None, params: dict[str, Any],
                    weights: np.ndarray, area_m2: float | None) -> _Clustering:
    from ward_geo.cluster import DBSCAN

    e, k, reason = _suggest(X, eps, min_samples, area_m2)
    weighted = bool(params.get("weighted", False))
    model = DBSCAN(eps=e, min_samples=k)
    model.fit(X, sample_weight=weights if weighted else None)
    buffer_m = float(params.get("buffer_m") or max(e / 2.0, MIN_BUFFER_M))
    return _Clustering(
        np.asarray(model.labels_, dtype=np.int64),
        {"eps": e, "min_samples": k, "weighted": weighted, "reason": reason, "buffer_m": buffer_m},
        buffer_m,
    )


def _cluster_hdbscan(X: np.ndarray, min_samples: int | None, params: dict[str, Any],
                     area_m2: float | None) -> _Clustering:
    from ward_geo.cluster import HDBSCAN

    size = params.get("min_cluster_size")
    reason = "min_cluster_size given explicitly"
    if size is None:
        if min_samples is not None:
            size, reason = max(2, int(min_samples)), "min_cluster_size = min_samples (given)"
        else:
            size = int(np.clip(round(0.5 * math.sqrt(len(X))), 5, 500))
            reason = f"min_cluster_size = {size}: half the square root of the {len(X)} incidents, within [5, 500]"
    kwargs: dict[str, Any] = {"min_cluster_size": int(size)}
    if min_samples is not None:
        kwargs["min_samples"] = int(min_samples)
    if params.get("cluster_selection_epsilon") is not None:
        kwargs["cluster_selection_epsilon"] = float(params["cluster_selection_epsilon"])
    model = HDBSCAN(**kwargs)
    model.fit(X)
    buffer_m = float(params.get("buffer_m") or _HDBSCAN_BUFFER_M)
    return _Clustering(
        np.asarray(model.labels_, dtype=np.int64),
        {**kwargs, "reason": reason, "buffer_m": buffer_m},
        buffer_m,
    )


def _cluster_stdbscan(X: np.ndarray, t: pd.Series, eps: float | None, min_samples: int | None,
                      params: dict[str, Any], area_m2: float | None) -> _Clustering:
    from ward_geo.cluster import STDBSCAN

    e, k, reason = _suggest(X, eps, min_samples, area_m2)
    eps_time = float(params.get("eps_time") or _DEFAULT_EPS_TIME_H)
    if params.get("eps_time") is None:
        reason += f"; eps_time = {eps_time:g} h (default: one week)"
    model = STDBSCAN(eps_m=e, eps_t=eps_time, min_samples=k)
    model.fit(X, t=pd.to_datetime(t, utc=True))
    buffer_m = float(params.get("buffer_m") or max(e / 2.0, MIN_BUFFER_M))
    return _Clustering(
        np.asarray(model.labels_, dtype=np.int64),
        {"eps": e, "eps_time_h": eps_time, "min_samples": k, "reason": reason, "buffer_m": buffer_m},
        buffer_m,
    )


def _cluster_grid(method: str, X: np.ndarray, weights: np.ndarray, study_area: Any,
                  params: dict[str, Any]) -> _Clustering:
    if method == "kde":
        from ward_geo.analysis.density import kde_regions

        regions = kde_regions(
            X,
            weights=weights,
            study_area=study_area,
            bandwidth=params.get("bandwidth"),
            cell_size=params.get("cell_size"),
            quantile=float(params.get("quantile", 0.95)),
            min_incidents=int(params.get("min_incidents", 3)),
        )
    else:
        from ward_geo.analysis.gistar import gistar_regions

        regions = gistar_regions(
            X,
            weights=None,
            study_area=study_area,
            cell_size=params.get("cell_size"),
            alpha=float(params.get("alpha", 0.05)),
            permutations=int(params.get("permutations", 999)),
            cold=bool(params.get("cold", False)),
            seed=int(params.get("seed", 0)),
            min_incidents=int(params.get("min_incidents", 3)),
        )
    return _Clustering(regions.labels, dict(regions.params), 0.0, regions.polygons, dict(regions.extra))


# ------------------------------------------------------------------ polygons


#: Clusters with more members than this have their members snapped to a grid before the
#: hull: cells of ``buffer / 8``, coarser if needed to keep about :data:`MAX_HULL_POINTS`
#: cells per cluster. The buffer grows by whatever the snapping could move a member beyond
#: half the buffer, so every member stays inside its polygon and hulls stay fast.
SNAP_ABOVE = 500
MAX_HULL_POINTS = 2_000


def _distinct_positions(
    X: np.ndarray, labels: np.ndarray, k: int, buffer_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct member positions per cluster, their cluster, and each cluster's buffer."""
    m = labels >= 0
    lab = labels[m]
    pts = X[m]
    sizes = np.bincount(lab, minlength=k)
    lo = np.full((k, 2), np.inf)
    hi = np.full((k, 2), -np.inf)
    np.minimum.at(lo, lab, pts)
    np.maximum.at(hi, lab, pts)
    extent = np.prod(np.maximum(hi - lo, 1.0), axis=1)
    cell_k = np.where(
        sizes > SNAP_ABOVE,
        np.maximum(max(buffer_m / 8.0, 0.5), np.sqrt(extent / MAX_HULL_POINTS)),
        0.5,
    )
    buffers = buffer_m + np.maximum(0.0, cell_k * math.sqrt(0.5) - buffer_m / 2.0)
    cell = cell_k[lab]
    q = np.floor((pts - lo[lab]) / cell[:, None]).astype(np.int64)
    if len(q) and int(q.max()) < 2**21 and k < 2**21:
        key = (lab.astype(np.int64) << 42) | (q[:, 0] << 21) | q[:, 1]
        _, first = np.unique(key, return_index=True)
    else:  # more than 2**21 cells across: slower but general
        _, first = np.unique(np.column_stack([lab, q]), axis=0, return_index=True)
    first = first[np.argsort(lab[first], kind="stable")]
    coords = lo[lab[first]] + (q[first] + 0.5) * cell[first, None]
    small = sizes[lab[first]] <= SNAP_ABOVE
    coords[small] = pts[first[small]]  # small clusters keep their exact positions
    return coords, lab[first], buffers


def _member_polygons(X: np.ndarray, labels: np.ndarray, k: int, buffer_m: float, ratio: float) -> np.ndarray:
    """Buffered concave hull of each cluster's members (metric), one per label 0..k-1."""
    if k == 0:
        return np.empty(0, dtype=object)
    coords, owner, buffers = _distinct_positions(X, labels, k, buffer_m)
    multipoints = shapely.multipoints(coords, indices=owner)
    hulls = shapely.concave_hull(multipoints, ratio=ratio) if ratio < 1.0 else shapely.convex_hull(multipoints)
    polys = shapely.buffer(hulls, buffers, quad_segs=8)
    bad = ~shapely.is_valid(polys)
    if bad.any():
        polys[bad] = shapely.make_valid(polys[bad])
    return _single_polygons(polys)


def _single_polygons(polys: np.ndarray) -> np.ndarray:
    """One Polygon per hotspot: parts are merged; disjoint parts become their convex hull (covering all)."""
    types = shapely.get_type_id(polys)
    out = polys.copy()
    for i in np.flatnonzero(types != 3):
        parts = [p for p in shapely.get_parts(polys[i]) if shapely.get_type_id(p) == 3]
        if not parts:
            out[i] = shapely.buffer(polys[i], MIN_BUFFER_M)
            continue
        merged = shapely.union_all(parts)
        if shapely.get_type_id(merged) == 3:
            out[i] = merged
        else:
            # disjoint parts: the convex hull keeps one valid polygon covering them all
            out[i] = shapely.convex_hull(merged)
    return out


# ------------------------------------------------------------------ table


def _hash_ids(method: str, scope: str, ids_sorted: np.ndarray) -> str:
    h = hashlib.sha1(f"{method}|{scope}|".encode())
    h.update("\x1f".join(ids_sorted.tolist()).encode("utf-8"))
    return f"{method}-{h.hexdigest()[:12]}"


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


def hotspot_table(
    incidents: gpd.GeoDataFrame,
    labels: np.ndarray,
    polygons_m: np.ndarray,
    crs: CRS,
    *,
    method: str,
    scopes: Sequence[str | None],
    boundaries_m: gpd.GeoDataFrame | None = None,
    timezone: str | None = None,
    extra: dict[str, np.ndarray] | None = None,
) -> gpd.GeoDataFrame:
    """Build the hotspot table from member labels and metric polygons (vectorised statistics).

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

    Returns
    -------
    GeoDataFrame
        The hotspot table in EPSG:4326, sorted by rank (see the module docstring).
    """
    zone = _local_zone(timezone)
    labels = np.asarray(labels, dtype=np.int64)
    k = len(polygons_m)
    if k == 0:
        empty = _empty_table(method)
        for name in extra or {}:
            empty.insert(len(empty.columns) - 1, name, pd.Series([], dtype=object))
        return empty
    m = labels >= 0
    lab = labels[m]
    n_inc = np.bincount(lab, minlength=k).astype(np.int64)
    cat_codes, cat_values = _codes(incidents["category"], "other")
    weights = _weights(incidents, (cat_codes, cat_values))
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
        p_codes, p_values = _codes(incidents["time_precision"], "exact")
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

    scope_list = [s if s is not None else "*" for s in scopes]
    hotspot_ids = [
        _hash_ids(method, scope_list[i], member_groups[i])
        if n_inc[i]
        else f"{method}-{hashlib.sha1(f'{method}|{scope_list[i]}|{shapely.to_wkt(polygons_m[i], rounding_precision=0)}'.encode()).hexdigest()[:12]}"
        for i in range(k)
    ]

    area = shapely.area(polygons_m) if k else np.empty(0)
    density = np.where(area > 0, n_inc / np.maximum(area, 1e-9) * 1e6, 0.0)
    member_wards = incidents["ward_id"] if "ward_id" in incidents.columns else None
    ward_ids, ward_shares = _ward_columns(polygons_m, boundaries_m, labels, k, member_wards)

    # rank: weighted score desc, then n desc, then id asc
    order_rank = sorted(range(k), key=lambda i: (-round(float(score[i]), 9), -int(n_inc[i]), hotspot_ids[i]))
    rank = np.empty(k, dtype=np.int64)
    rank[order_rank] = np.arange(1, k + 1)
    extra = dict(extra or {})
    cold = np.asarray(extra.get("spot_type", np.full(k, "hot", dtype=object))) == "cold"
    n_ranked = int((~cold).sum())
    if cold.any():
        # hot spots first, then cold spots
        order_rank = sorted(range(k), key=lambda i: (bool(cold[i]), -round(float(score[i]), 9), -int(n_inc[i]), hotspot_ids[i]))
        rank[order_rank] = np.arange(1, k + 1)
    priority = priority_for_ranks(rank, n_ranked)
    priority[cold] = "low"

    first_ts = pd.to_datetime(np.where(has_time, first, np.iinfo(np.int64).min), utc=True)
    last_ts = pd.to_datetime(np.where(has_time, last, np.iinfo(np.int64).min), utc=True)
    data: dict[str, Any] = {
        "hotspot_id": hotspot_ids,
        "method": [method] * k,
        "category": list(scopes),
        "ward_ids": ward_ids,
        "ward_shares": ward_shares,
        "n_incidents": n_inc,
        "weighted_score": np.round(score, 6),
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
        "rank": rank,
        "priority": list(priority),
        "trend": [None] * k,
        "member_ids": [g.tolist() for g in member_groups],
    }
    for name, values in extra.items():
        data[name] = list(values) if np.asarray(values).dtype == object else np.asarray(values)
    frame = pd.DataFrame(data)
    frame["first_seen"] = pd.to_datetime(frame["first_seen"], utc=True).astype("datetime64[ns, UTC]")
    frame["last_seen"] = pd.to_datetime(frame["last_seen"], utc=True).astype("datetime64[ns, UTC]")
    out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(polygons_m, crs=crs).to_crs(WGS84).values, crs=WGS84)
    geoms = out.geometry.values
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        fixed = np.asarray(geoms, dtype=object).copy()
        fixed[invalid] = _single_polygons(shapely.make_valid(fixed[invalid]))
        out = out.set_geometry(gpd.GeoSeries(fixed, crs=WGS84, index=out.index))
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
    sub = ids.iloc[members]
    if not (pd.api.types.is_string_dtype(sub.dtype) and sub.dtype != object):
        sub = sub.astype(str)
    text = pa.array(sub, type=pa.large_string(), from_pandas=True)
    table = pa.table({"label": labels[members], "id": text})
    order = pc.sort_indices(table, sort_keys=[("label", "ascending"), ("id", "ascending")])
    sorted_ids = np.asarray(pc.take(text, order).to_numpy(zero_copy_only=False), dtype=object)
    bounds = np.cumsum(n_inc)[:-1]
    return np.split(sorted_ids, bounds)


# ------------------------------------------------------------------ public API


def find_hotspots(
    incidents: gpd.GeoDataFrame | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
    method: str = "dbscan",
    categories: str | Sequence[str] | None = None,
    since: object = None,
    until: object = None,
    *,
    eps: float | None = None,
    min_samples: int | None = None,
    per_category: bool = False,
    store: IncidentStore | None = None,
    ward_ids: str | Sequence[str] | None = None,
    engine: str = "local",
    tune: bool = False,
    **params: Any,
) -> gpd.GeoDataFrame:
    """Find ranked hotspot polygons in incidents.

    Parameters
    ----------
    incidents : GeoDataFrame, optional
        Canonical incidents (see :mod:`ward_geo.schema`). ``None`` reads them from ``store``
        (or the configured store, :func:`ward_geo.store.open_store`), with the category, time
        and ward filters pushed down to the store's query.
    boundaries : GeoDataFrame, optional
        Wards (``ward_id`` + polygons) used for ``ward_ids`` / ``ward_shares`` by area and as
        the study area of the grid methods. When reading from a store, the store's wards.
    method : {"dbscan", "hdbscan", "stdbscan", "kde", "gistar"}
        See the module docstring.
    categories : str or list of str, optional
        Category codes to keep (default all).
    since, until : date-like, optional
        Keep incidents with ``since <= occurred_at < until``; naive values are in the
        configured time zone.
    eps : float, optional
        Neighbourhood radius in metres (dbscan, stdbscan); chosen from the data when omitted.
    min_samples : int, optional
        Core-point threshold (dbscan, stdbscan, hdbscan); chosen from the data when omitted.
    per_category : bool, default False
        Cluster each category on its own (``category`` column set); otherwise all together.
    store : IncidentStore, optional
        Source when ``incidents`` is None.
    ward_ids : str or list of str, optional
        Keep incidents of these wards only.
    engine : {"local", "dask"}, default "local"
        ``"dask"`` clusters on a Dask cluster (method ``"dbscan"``; same table), and also
        accepts partitioned GeoParquet as ``incidents`` plus the options ``client``,
        ``npartitions``, ``n_groups``: see :func:`ward_geo.analysis.distributed.find_hotspots_dask`.
    tune : bool, default False
        Choose the method and its parameters by evidence: a rolling-origin backtest on the
        history before ``since`` (required) picks the candidate with the best median PAI at
        5 % of the area (:func:`ward_geo.analysis.evaluation.tune`); explicit ``method`` /
        ``eps`` / ``min_samples`` are then ignored, and ``attrs["params"]["tuning"]`` reports the
        choice with every candidate's backtest score.
    **params
        Method options: ``buffer_m``, ``concave_ratio`` (0..1, default 0.3), ``weighted``
        (dbscan: severity weights as sample weights), ``min_cluster_size``,
        ``cluster_selection_epsilon`` (hdbscan), ``eps_time`` (stdbscan, hours), ``bandwidth``,
        ``cell_size``, ``quantile``, ``min_incidents`` (kde), ``cell_size``, ``alpha``,
        ``permutations``, ``cold``, ``seed``, ``min_incidents`` (gistar), ``timezone`` (all).

    Returns
    -------
    GeoDataFrame
        The hotspot table (EPSG:4326), sorted by rank; ``attrs["params"]`` holds the method,
        the parameters used and why, the metric CRS and the filters; ``attrs["timings_s"]``
        the wall-clock seconds per stage (select, project, cluster, polygons, stats, other) and
        ``attrs["cpu_s"]`` the process CPU seconds.

    Raises
    ------
    ParameterError
        Unknown method or option, or an out-of-range value (every problem is listed).
    InputError
        Incidents without CRS, ids or point geometries.
    """
    if engine == "dask":
        from ward_geo.analysis.distributed import find_hotspots_dask

        return find_hotspots_dask(incidents, boundaries, method, categories, since, until, eps=eps,
                                  min_samples=min_samples, per_category=per_category, store=store,
                                  ward_ids=ward_ids, **params)
    if engine != "local":
        raise ParameterError(f"engine must be 'local' or 'dask', got {engine!r}")
    if tune:
        return _find_hotspots_tuned(incidents, boundaries, categories, since, until, per_category=per_category,
                                    store=store, ward_ids=ward_ids, **params)
    problems: list[str] = []
    _validate_params(method, eps, min_samples, params, problems)
    zone = None
    try:
        zone = _local_zone(params.get("timezone"))
    except ParameterError as exc:
        problems.append(exc.message)
    cats = _validate_categories(categories, problems)
    wards = _validate_ward_ids(ward_ids, problems)
    since_ts = _parse_time(since, "since", zone or "UTC", problems)
    until_ts = _parse_time(until, "until", zone or "UTC", problems)
    if since_ts is not None and until_ts is not None and since_ts >= until_ts:
        problems.append(f"since ({since_ts.isoformat()}) must be before until ({until_ts.isoformat()})")
    if not isinstance(per_category, bool):
        problems.append(f"per_category must be true or false, got {per_category!r}")
    if boundaries is not None and (not isinstance(boundaries, gpd.GeoDataFrame) or "ward_id" not in boundaries.columns):
        problems.append("boundaries must be a GeoDataFrame with a 'ward_id' column (read them with ward_geo.read_boundaries)")
    if problems:
        raise ParameterError("invalid hotspot parameters: " + "; ".join(problems), details={"problems": problems})

    clock = _Clock()
    gdf = _load_incidents(incidents, store, categories=cats, since=since_ts, until=until_ts, ward_ids=wards)
    if boundaries is None and incidents is None and store is not None:
        stored = store.boundaries()
        boundaries = stored if len(stored) else None
    _check_incidents(gdf)
    n_input = len(gdf)
    if wards is not None and boundaries is not None and len(gdf) and (
        "ward_id" not in gdf.columns or gdf["ward_id"].isna().all()
    ):
        from ward_geo.io.readers import assign_wards

        gdf = assign_wards(gdf, boundaries)
    gdf = _filter(gdf, cats, since_ts, until_ts, wards)
    gdf = _canonical_order(gdf)

    record: dict[str, Any] = {
        "method": method,
        "categories": cats,
        "since": since_ts.isoformat() if since_ts is not None else None,
        "until": until_ts.isoformat() if until_ts is not None else None,
        "ward_ids": wards,
        "per_category": per_category,
        "timezone": zone,
        "n_input": int(n_input),
        "n_selected": int(len(gdf)),
    }
    if len(gdf) == 0:
        out = _empty_table(method)
        out.attrs["params"] = {**record, "reason": "no incidents match the filters", "n_hotspots": 0}
        return out

    clock.lap("select")
    X, crs = _metric_xy(gdf)
    boundaries_m = boundaries.to_crs(crs) if boundaries is not None and len(boundaries) else None
    weights = _weights(gdf)
    ratio = float(params.get("concave_ratio", 0.3))

    groups: list[tuple[str | None, np.ndarray]]
    if per_category:
        cat_arr = gdf["category"].astype(object).fillna("other").to_numpy(dtype=object)
        present = [c for c in CATEGORY_CODES if (cat_arr == c).any()]
        present += sorted({str(c) for c in pd.unique(cat_arr)} - set(present))
        groups = [(c, np.flatnonzero(cat_arr == c)) for c in present]
    else:
        groups = [(None, np.arange(len(gdf)))]

    labels = np.full(len(gdf), -1, dtype=np.int64)
    polygons: list[np.ndarray] = []
    scopes: list[str | None] = []
    extras: dict[str, list[np.ndarray]] = {}
    group_params: dict[str, Any] = {}
    study_wards = _study_wards(boundaries_m, X, wards)
    study_area = _study_area(study_wards, X) if method in {"kde", "gistar"} else None
    area_m2 = None
    if study_wards is not None and method in {"dbscan", "hdbscan", "stdbscan"}:
        area_m2 = float(shapely.union_all(study_wards.geometry.values).area) or None
    record["study_wards"] = study_wards["ward_id"].astype(str).tolist() if study_wards is not None else None
    clock.lap("project")
    offset = 0
    for scope, idx in groups:
        Xg = X[idx]
        if method == "dbscan":
            res = _cluster_dbscan(Xg, eps, min_samples, params, weights[idx], area_m2)
        elif method == "hdbscan":
            res = _cluster_hdbscan(Xg, min_samples, params, area_m2)
        elif method == "stdbscan":
            res = _cluster_stdbscan(Xg, gdf["occurred_at"].iloc[idx], eps, min_samples, params, area_m2)
            if "time_precision" in gdf.columns:
                coarse = int(gdf["time_precision"].iloc[idx].isin(["month", "year"]).sum())
                if coarse:
                    res.params["reason"] += (
                        f"; {coarse} incident(s) only have a month or year: their time is the start of "
                        "that period, so space-time clusters among them are not meaningful"
                    )
        else:
            res = _cluster_grid(method, Xg, weights[idx], study_area, params)
        k = int(res.labels.max()) + 1 if len(res.labels) and res.labels.max() >= 0 else 0
        clock.lap("cluster")
        if res.polygons is None:
            polys = _member_polygons(Xg, res.labels, k, res.buffer_m, ratio)
        else:
            polys = np.asarray(res.polygons, dtype=object)
            k = len(polys)
        clock.lap("polygons")
        sub = res.labels.copy()
        sub[sub >= 0] += offset
        labels[idx] = sub
        polygons.append(polys)
        scopes.extend([scope] * k)
        for name, values in res.extra.items():
            extras.setdefault(name, []).append(np.asarray(values))
        offset += k
        group_params["*" if scope is None else scope] = {**res.params, "n_hotspots": k,
                                                          "n_noise": int((res.labels < 0).sum())}

    polygons_m = np.concatenate(polygons) if polygons else np.empty(0, dtype=object)
    extra = {name: np.concatenate(v) for name, v in extras.items()}
    clock.lap("other")
    out = hotspot_table(
        gdf, labels, polygons_m, crs, method=method, scopes=scopes,
        boundaries_m=boundaries_m, timezone=zone, extra=extra,
    )
    clock.lap("stats")
    record["metric_crs"] = crs.to_string()
    record["n_hotspots"] = int(len(out))
    record["priority_rule"] = (
        f"high: top {HIGH_FRACTION:.0%} of ranks (at least 1); medium: ranks up to {MEDIUM_FRACTION:.0%}; "
        "low: the rest (and Gi* cold spots)"
    )
    if len(out) == 0:
        record["note"] = (
            f"no hotspot in {len(gdf)} incidents with these parameters; try a smaller eps or "
            "min_samples, per_category=True, or method='kde'"
        )
    if per_category:
        record["per_category_params"] = group_params
        record["reason"] = "parameters chosen per category (see per_category_params)"
    else:
        record.update(group_params["*"])
    out.attrs["params"] = record
    out.attrs["timings_s"] = {k: round(v, 4) for k, v in clock.wall.items()}
    out.attrs["cpu_s"] = {k: round(v, 4) for k, v in clock.cpu.items()}
    return out


def _canonical_order(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rows sorted by ``incident_id``: the result must not depend on the input's row order.

    DBSCAN gives a border point to the first cluster (in row order) that reaches it, and
    HDBSCAN breaks ties by row order too; clustering the rows in id order makes the members,
    and so the hotspot ids, the same for any order of the same incidents.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = gdf["incident_id"]
    if not (pd.api.types.is_string_dtype(ids.dtype) and ids.dtype != object):
        ids = ids.astype(str)
    text = pa.array(ids, type=pa.large_string(), from_pandas=True)
    if len(text) < 2 or pc.all(pc.less(text[:-1], text[1:])).as_py():
        return gdf  # already in id order (ids are unique)
    return gdf.iloc[np.asarray(pc.sort_indices(text))]


class _Clock:
    """Wall-clock and CPU seconds accumulated per named stage."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._w = time.perf_counter()
        self._c = time.process_time()

    def lap(self, name: str) -> None:
        w, c = time.perf_counter(), time.process_time()
        self.wall[name] = self.wall.get(name, 0.0) + w - self._w
        self.cpu[name] = self.cpu.get(name, 0.0) + c - self._c
        self._w, self._c = w, c


def _metric_xy(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, CRS]:
    """Point coordinates in the metric CRS :func:`ward_geo.projection.to_metric` would choose.

    Only the coordinates are transformed (one vectorised pyproj call), so no projected
    copy of the table and no new geometries are built; the numbers are those of
    ``to_metric(gdf)``.
    """
    from pyproj import Transformer

    from ward_geo.projection import metric_crs_for

    crs = metric_crs_for(gdf)
    xy = shapely.get_coordinates(gdf.geometry.values)
    transformer = Transformer.from_crs(gdf.crs, crs, always_xy=True)
    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y]).astype(np.float64), crs


def _study_wards(
    boundaries_m: gpd.GeoDataFrame | None, X: np.ndarray, ward_ids: list[str] | None
) -> gpd.GeoDataFrame | None:
    """The wards analysed: those asked for, else those containing at least one incident."""
    if boundaries_m is None or len(boundaries_m) == 0:
        return None
    if ward_ids is not None:
        chosen = boundaries_m[boundaries_m["ward_id"].astype(str).isin(ward_ids)]
        return chosen if len(chosen) else None
    tree = shapely.STRtree(np.asarray(boundaries_m.geometry.values, dtype=object))
    _pts, wards = tree.query(shapely.points(X), predicate="within")
    if len(wards) == 0:
        return None
    return boundaries_m.iloc[np.unique(wards)]


def _study_area(boundaries_m: gpd.GeoDataFrame | None, X: np.ndarray) -> Any:
    if boundaries_m is not None:
        area = shapely.union_all(boundaries_m.geometry.values)
        if not area.is_empty and area.area > 0:
            return area
    hull = shapely.convex_hull(shapely.multipoints(X))
    return shapely.buffer(hull, 200.0)


def _empty_table(method: str) -> gpd.GeoDataFrame:
    cols = {c: pd.Series([], dtype=object) for c in HOTSPOT_COLUMNS if c != "geometry"}
    for c in ("n_incidents", "rank"):
        cols[c] = pd.Series([], dtype=np.int64)
    for c in ("weighted_score", "area_m2", "density_per_km2"):
        cols[c] = pd.Series([], dtype=np.float64)
    for c in ("first_seen", "last_seen"):
        cols[c] = pd.Series([], dtype="datetime64[ns, UTC]")
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)


def hotspot_members(hotspots: gpd.GeoDataFrame, hotspot_id: str) -> list[str]:
    """Incident ids of the members of one hotspot.

    Raises
    ------
    NotFoundError
        No hotspot has that id.
    """
    from ward_geo.errors import NotFoundError

    if "hotspot_id" not in hotspots.columns or "member_ids" not in hotspots.columns:
        raise InputError("not a hotspot table: columns 'hotspot_id' and 'member_ids' are required")
    match = hotspots.loc[hotspots["hotspot_id"] == hotspot_id, "member_ids"]
    if match.empty:
        raise NotFoundError(f"no hotspot with id {hotspot_id!r}")
    return [str(v) for v in match.iloc[0]]


def _find_hotspots_tuned(
    incidents: gpd.GeoDataFrame | None,
    boundaries: gpd.GeoDataFrame | None,
    categories: str | Sequence[str] | None,
    since: object,
    until: object,
    *,
    per_category: bool,
    store: IncidentStore | None,
    ward_ids: str | Sequence[str] | None,
    **params: Any,
) -> gpd.GeoDataFrame:
    """``find_hotspots(tune=True)``: backtest the candidates on the history before ``since``."""
    from ward_geo.analysis.evaluation import tune as tune_candidates

    problems: list[str] = []
    zone = _local_zone(params.get("timezone"))
    since_ts = _parse_time(since, "since", zone, problems)
    if since is None:
        problems.append("tune=True needs since= (the analysis window's start): the history before it is the evidence")
    cats = _validate_categories(categories, problems)
    wards = _validate_ward_ids(ward_ids, problems)
    if problems:
        raise ParameterError("invalid hotspot parameters: " + "; ".join(problems), details={"problems": problems})
    history = _load_incidents(incidents, store, categories=cats, since=None, until=since_ts, ward_ids=wards)
    if boundaries is None and incidents is None and store is not None:
        stored = store.boundaries()
        boundaries = stored if len(stored) else None
    history = _filter(history, cats, None, since_ts, wards)
    study = boundaries
    if boundaries is not None and wards is not None:
        study = boundaries[boundaries["ward_id"].isin(wards)]
    choice = tune_candidates(history, study, until=since_ts)
    chosen = dict(choice.params)
    out = find_hotspots(
        incidents, boundaries, choice.method, categories, since, until,
        eps=chosen.pop("eps", None), min_samples=chosen.pop("min_samples", None), per_category=per_category,
        store=store, ward_ids=ward_ids, **{**params, **chosen},
    )
    out.attrs["params"] = {**out.attrs.get("params", {}), "tuning": choice.to_dict(), "reason": choice.reason()}
    return out
