"""Hotspots a planner can act on: patrol-sized polygons ranked by their forecast.

:func:`find_hotspots` turns incidents (a GeoDataFrame, or the store) into a table of hotspot
polygons (EPSG:4326), one row per hotspot, in named steps::

    request = parse_request(...)             # request.py: every problem listed at once
    incidents = select_incidents(...)        # load, check, filter, canonical order, window
    method = choose (auto) or the one asked  # selection by backtest evidence (evaluation.py)
    labels = run_method(method, ...)         # registry.py: the only dispatch on method names
    labels, polygons = hotspot_polygons(...) # polygons.py: split at peaks, cap, hug members
    forecast = forecast_counts(...)          # forecast.py: next period's expected incidents
    table = hotspot_table(...)               # table.py: statistics, ids, rank by forecast

Methods are listed in :mod:`ward_geo.analysis.hotspots.registry`; ``"auto"`` (the default)
runs the rolling-origin backtest of the delivered polygons on the analysis window
(:func:`ward_geo.analysis.evaluation.select_method`) and picks the method with the most test
incidents captured at 5 % of the study area; when no method beats the prior-count map it says
so and delivers ``counts`` hotspots. The choice and its evidence are in
``attrs["params"]["selection"]``.

The study area (background rate of the suggested DBSCAN parameters, grids, the 5 % cap) is the
wards asked for with ``ward_ids``, else the wards holding at least one incident; without
boundaries, the incidents' convex hull buffered by 200 m.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ward_geo.analysis.hotspots.forecast import DEFAULT_HALF_LIFE_DAYS, forecast_counts, recency_weights
from ward_geo.analysis.hotspots.polygons import (
    DEFAULT_MAX_ACROSS_M,
    DEFAULT_MAX_AREA_SHARE,
    MIN_BUFFER_M,
    hotspot_polygons,
    points_within,
)
from ward_geo.analysis.hotspots.registry import METHODS, REGISTRY, Clustering, MethodInput, run_method
from ward_geo.analysis.hotspots.request import (
    DEFAULT_WINDOW,
    HotspotRequest,
    default_window,
    filter_incidents,
    incident_weights,
    metric_xy,
    parse_request,
    select_incidents,
    study_area,
    study_wards,
)
from ward_geo.analysis.hotspots.table import (
    HIGH_FRACTION,
    HOTSPOT_COLUMNS,
    MEDIUM_FRACTION,
    empty_table,
    hotspot_table,
    priority_for_ranks,
    ranked_outlines,
)
from ward_geo.categories import CATEGORY_CODES
from ward_geo.errors import InputError, ParameterError

if TYPE_CHECKING:  # pragma: no cover
    from ward_geo.store.base import IncidentStore

__all__ = [
    "METHODS",
    "HOTSPOT_COLUMNS",
    "MIN_BUFFER_M",
    "DEFAULT_MAX_ACROSS_M",
    "DEFAULT_WINDOW",
    "find_hotspots",
    "hotspot_members",
    "hotspot_table",
    "hotspot_polygons",
    "priority_for_ranks",
    "delivered_hotspots",
]


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


def _groups(gdf: gpd.GeoDataFrame, per_category: bool) -> list[tuple[str | None, np.ndarray]]:
    if not per_category:
        return [(None, np.arange(len(gdf)))]
    cats = gdf["category"].astype(object).fillna("other").to_numpy(dtype=object)
    present = [c for c in CATEGORY_CODES if (cats == c).any()]
    present += sorted({str(c) for c in pd.unique(cats)} - set(present))
    return [(c, np.flatnonzero(cats == c)) for c in present]


def _place_weights(polygons_m: np.ndarray, X: np.ndarray, labels: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Sum of ``w`` over the incidents in each place.

    A place holds its members, plus the unclustered incidents inside the polygon (members of
    other hotspots are counted once, in their own).
    """
    k = len(polygons_m)
    if k == 0:
        return np.empty(0)
    member = labels >= 0
    total = np.bincount(labels[member], weights=w[member], minlength=k).astype(np.float64)
    loose = np.flatnonzero(~member & (w > 0))
    if len(loose):
        pts, polys = points_within(polygons_m, X[loose])
        total += np.bincount(polys, weights=w[loose[pts]], minlength=k)
    return total


def delivered_hotspots(  # noqa: PLR0913 - its keywords mirror find_hotspots, the documented entry point
    gdf: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame | None,
    method: str,
    *,
    eps: float | None = None,
    min_samples: int | None = None,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    ward_ids: Sequence[str] | None = None,
    per_category: bool = False,
    options: dict[str, Any] | None = None,
    timezone: str | None = None,
    clustering: Clustering | None = None,
    outlines_only: bool = False,
) -> gpd.GeoDataFrame:
    """The hotspot table of one registered method on already selected incidents.

    This is the core :func:`find_hotspots` runs after validation and selection, and the one the
    backtest runs on each fold's training window, so both deliver the same object.

    Parameters
    ----------
    gdf : GeoDataFrame
        Checked incidents in canonical order, already filtered to the analysis window.
    boundaries : GeoDataFrame, optional
        Wards; the study area is ``ward_ids`` among them, else the wards holding incidents.
    method : str
        A registered method (not ``"auto"``).
    eps, min_samples : optional
        Method parameters (see the registry).
    since, until : Timestamp, optional
        The analysis window (UTC); it sets the forecast's exposure and the recency weights.
    ward_ids : sequence of str, optional
        The study wards.
    per_category : bool, default False
        One clustering per category.
    options : dict, optional
        Method and shape options (``buffer_m``, ``max_across_m``, ``horizon``, ...).
    timezone : str, optional
        Zone of the local hour and weekday histograms.
    clustering : Clustering, optional
        Labels computed elsewhere for all of ``gdf`` (the Dask engine); the method is not run.
    outlines_only : bool, default False
        Return only ``hotspot_id``, ``rank``, ``n_incidents`` and the polygons, in the metric CRS
        (:func:`~ward_geo.analysis.hotspots.table.ranked_outlines`): the same ids, ranks and
        polygons as the full table, without its statistics; what the backtest scores.

    Returns
    -------
    GeoDataFrame
        The hotspot table (EPSG:4326), sorted by rank, ``attrs["params"]`` filled.
    """
    clock = _Clock()
    opts = dict(options or {})
    if method not in REGISTRY:
        raise ParameterError(f"method {method!r} is not registered (expected one of {', '.join(REGISTRY)})")
    if len(gdf) == 0:
        out = empty_table(method)
        out.attrs["params"] = {"method": method, "n_hotspots": 0, "reason": "no incidents match the filters"}
        return out
    X, crs = metric_xy(gdf)
    boundaries_m = boundaries.to_crs(crs) if boundaries is not None and len(boundaries) else None
    clock.lap("project")
    wards_m = study_wards(boundaries_m, X, list(ward_ids) if ward_ids is not None else None)
    area = study_area(wards_m, X)
    area_m2 = float(area.area) if area is not None else None
    times = pd.to_datetime(gdf["occurred_at"], utc=True)
    t_end = until if until is not None else (times.max() + pd.Timedelta(microseconds=1))
    t_start = since if since is not None else times.min()
    length_days = max((t_end - t_start) / pd.Timedelta(days=1), 1.0)
    weights = incident_weights(gdf)
    coarse = 0
    if "time_precision" in gdf.columns:
        coarse_mask = gdf["time_precision"].isin(["month", "year"]).to_numpy(dtype=bool)
    else:
        coarse_mask = np.zeros(len(gdf), dtype=bool)
    method_opts = {k: v for k, v in opts.items() if k in REGISTRY[method].options}
    shape = {
        "buffer_m": float(method_opts.pop("buffer_m", None) or MIN_BUFFER_M),
        "max_across_m": float(method_opts.pop("max_across_m", None) or DEFAULT_MAX_ACROSS_M),
        "concave_ratio": float(method_opts.pop("concave_ratio", 0.3)),
    }
    max_area_share = float(opts.get("max_area_share") or DEFAULT_MAX_AREA_SHARE)
    max_area = max_area_share * area_m2 if area_m2 else None
    clock.lap("select")

    labels = np.full(len(gdf), -1, dtype=np.int64)
    polygons: list[np.ndarray] = []
    scopes: list[str | None] = []
    extras: dict[str, list[np.ndarray]] = {}
    group_params: dict[str, Any] = {}
    offset = 0
    for scope, idx in _groups(gdf, per_category):
        coarse = int(coarse_mask[idx].sum())
        inp = MethodInput(X[idx], times.iloc[idx], weights[idx], area, area_m2, t_end, coarse)
        if clustering is not None and not per_category:
            res = clustering
        else:
            res = run_method(method, inp, eps, min_samples, method_opts)
        clock.lap("cluster")
        cold = np.asarray(res.extra.get("spot_type", np.empty(0)), dtype=object) == "cold"
        if res.polygons is not None and cold.any():
            # cold spots have (almost) no members to hug: keep the method's own cells
            sub, polys = res.labels.copy(), np.asarray(res.polygons, dtype=object)
            parent = np.arange(len(polys))
        else:
            sub, polys, parent = hotspot_polygons(
                inp.X, res.labels, max_area_m2=max_area, buffer_m=shape["buffer_m"],
                max_across_m=shape["max_across_m"], concave_ratio=shape["concave_ratio"])
        clock.lap("polygons")
        k = len(polys)
        sub = sub.copy()
        sub[sub >= 0] += offset
        labels[idx] = sub
        polygons.append(polys)
        scopes.extend([scope] * k)
        for name, values in res.extra.items():
            extras.setdefault(name, []).append(np.asarray(values)[parent] if len(parent) else np.asarray(values)[:0])
        offset += k
        n_clusters = int(res.labels.max()) + 1 if len(res.labels) and res.labels.max() >= 0 else 0
        group_params["*" if scope is None else scope] = {
            **res.params, **shape, "n_clusters": n_clusters, "n_hotspots": k,
            "n_noise": int((sub < 0).sum()),
            "n_split_off": int(((sub < 0) & (res.labels >= 0)).sum()),
        }
    polygons_m = np.concatenate(polygons) if polygons else np.empty(0, dtype=object)
    extra = {name: np.concatenate(v) for name, v in extras.items()}
    horizon = str(opts.get("horizon", "month"))
    half_life = float(opts.get("half_life_days") or DEFAULT_HALF_LIFE_DAYS)
    w_recent = recency_weights(times, t_end, half_life)
    forecast = forecast_counts(_place_weights(polygons_m, X, labels, w_recent), length_days, horizon=horizon,
                               half_life_days=half_life)
    if outlines_only:
        return ranked_outlines(gdf, labels, polygons_m, crs, method=method, scopes=scopes, forecast=forecast,
                               extra=extra)
    out = hotspot_table(gdf, labels, polygons_m, crs, method=method, scopes=scopes, boundaries_m=boundaries_m,
                        timezone=timezone, extra=extra, forecast=forecast)
    clock.lap("stats")
    record: dict[str, Any] = {
        "method": method,
        "metric_crs": crs.to_string(),
        "study_wards": wards_m["ward_id"].astype(str).tolist() if wards_m is not None else None,
        "study_area_m2": round(area_m2, 1) if area_m2 else None,
        "max_area_m2": round(max_area, 1) if max_area else None,
        "horizon": horizon,
        "half_life_days": half_life,
        "window_days": round(length_days, 3),
        "n_hotspots": int(len(out)),
        "priority_rule": (
            f"high: top {HIGH_FRACTION:.0%} of ranks (at least 1); medium: ranks up to {MEDIUM_FRACTION:.0%}; "
            "low: the rest (and Gi* cold spots)"
        ),
        "rank_rule": (f"expected incidents in the next {horizon} (recency-weighted Poisson-Gamma, half-life "
                      f"{half_life:g} days), then members, then id"),
    }
    if len(out) == 0:
        record["note"] = (f"no hotspot in {len(gdf)} incidents with these parameters; try a smaller eps or "
                          "min_samples, per_category=True, or another method")
    if per_category:
        record["per_category_params"] = group_params
        record["reason"] = "parameters chosen per category (see per_category_params)"
    else:
        record.update(group_params["*"])
    out.attrs["params"] = record
    out.attrs["timings_s"] = {k: round(v, 4) for k, v in clock.wall.items()}
    out.attrs["cpu_s"] = {k: round(v, 4) for k, v in clock.cpu.items()}
    return out


def find_hotspots(  # noqa: PLR0913 - the documented public entry point; its keywords are the contract
    incidents: gpd.GeoDataFrame | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
    method: str = "auto",
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
    """Find patrol-sized hotspot polygons, ranked by the expected incidents of the next period.

    Parameters
    ----------
    incidents : GeoDataFrame, optional
        Canonical incidents (see :mod:`ward_geo.schema`). ``None`` reads them from ``store``,
        with the filters pushed down to the store's query (:func:`ward_geo.workflows.store_hotspots`
        reads the configured store).
    boundaries : GeoDataFrame, optional
        Wards (``ward_id`` + polygons): ``ward_ids`` / ``ward_shares`` by area, the study area.
        When reading from a store, the store's wards.
    method : str, default "auto"
        ``"auto"`` or a registered method (:data:`METHODS`; see the registry module).
    categories : str or list of str, optional
        Category codes to keep (default all).
    since, until : date-like, optional
        The analysis window, ``since <= occurred_at < until`` (naive values in the configured
        time zone). Neither given: the default window (``window`` option, default ``"12M"``
        ending at the end of the day of the latest incident; ``window=None`` for all).
    eps, min_samples : optional
        dbscan / stdbscan radius (metres) and core threshold (hdbscan: min_samples); chosen
        from the data when omitted.
    per_category : bool, default False
        Cluster each category on its own.
    store : IncidentStore, optional
        Source when ``incidents`` is None.
    ward_ids : str or list of str, optional
        Keep incidents of these wards only; they are the study area.
    engine : {"local", "dask"}, default "local"
        ``"dask"`` clusters on a Dask cluster (method ``"dbscan"``; same table):
        :func:`ward_geo.analysis.distributed.find_hotspots_dask`.
    tune : bool, default False
        Same as ``method="auto"`` (kept for older scripts).
    **params
        Method options (see the registry), the shape options ``buffer_m`` (15 m),
        ``max_across_m`` (250 m), ``concave_ratio`` (0.3), ``max_area_share`` (0.05), and
        ``horizon`` (``"day"``, ``"week"``, ``"month"``), ``half_life_days`` (90),
        ``window`` (``"12M"``), ``timezone``.

    Returns
    -------
    GeoDataFrame
        The hotspot table (EPSG:4326, columns in :mod:`ward_geo.analysis.hotspots.table`),
        sorted by rank; ``attrs["params"]`` holds the method, the parameters and why, the
        window, the selection evidence (``auto``) and the filters; ``attrs["timings_s"]`` and
        ``attrs["cpu_s"]`` the seconds per stage.

    Raises
    ------
    ParameterError
        Unknown method or option, or an out-of-range value (every problem is listed).
    InputError
        Incidents without CRS, ids or point geometries.
    """
    if engine == "dask":
        from ward_geo.analysis.distributed import find_hotspots_dask

        return find_hotspots_dask(incidents, boundaries, "dbscan" if method == "auto" else method, categories,
                                  since, until, eps=eps, min_samples=min_samples, per_category=per_category,
                                  store=store, ward_ids=ward_ids, **params)
    if engine != "local":
        raise ParameterError(f"engine must be 'local' or 'dask', got {engine!r}")
    if tune:
        method = "auto"
    request = parse_request(method, eps, min_samples, params, categories=categories, since=since, until=until,
                            ward_ids=ward_ids, per_category=per_category, boundaries=boundaries)
    gdf, boundaries, n_input = select_incidents(request, incidents, store, boundaries)
    return hotspots_for_request(request, gdf, boundaries, n_input)


def hotspots_for_request(request: HotspotRequest, gdf: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame | None,
                         n_input: int) -> gpd.GeoDataFrame:
    """Run a validated request on selected incidents: window, method choice, delivered table."""
    since, until, window_rule = default_window(gdf["occurred_at"], request)
    if window_rule != "given":
        gdf = filter_incidents(gdf, None, since, until, None)
    record: dict[str, Any] = {
        "method": request.method,
        "categories": request.categories,
        "since": since.isoformat() if since is not None else None,
        "until": until.isoformat() if until is not None else None,
        "window_rule": window_rule,
        "ward_ids": request.ward_ids,
        "per_category": request.per_category,
        "timezone": request.timezone,
        "n_input": int(n_input),
        "n_selected": int(len(gdf)),
    }
    method, eps, min_samples = request.method, request.eps, request.min_samples
    options = dict(request.options)
    selection: dict[str, Any] | None = None
    if method == "auto":
        from ward_geo.analysis.evaluation import select_method

        choice = select_method(gdf, boundaries, since=since, until=until, ward_ids=request.ward_ids,
                               options=options, timezone=request.timezone)
        method, selection = choice.method, choice.to_dict()
        options = {**options, **choice.params}
    if len(gdf) == 0:
        out = empty_table(method)
        out.attrs["params"] = {**record, "method": method, "reason": "no incidents match the filters",
                               "n_hotspots": 0, "selection": selection}
        return out
    out = delivered_hotspots(gdf, boundaries, method, eps=eps, min_samples=min_samples, since=since, until=until,
                             ward_ids=request.ward_ids, per_category=request.per_category, options=options,
                             timezone=request.timezone)
    out.attrs["params"] = {**record, **out.attrs["params"], "requested_method": request.method,
                           "selection": selection}
    return out


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
