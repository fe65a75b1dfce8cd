"""The one registry of hotspot methods, used by :func:`find_hotspots` and by the backtest.

Every method turns a :class:`MethodInput` (incident positions in metres, their times and
weights, the study area, the analysis window) into a label per incident; the polygons,
forecasts and ranks are then made the same way for all of them
(:mod:`ward_geo.analysis.hotspots.polygons`, :mod:`~ward_geo.analysis.hotspots.forecast`).
The backtest calls the same entries, so it scores exactly what users get.

``dbscan``, ``hdbscan``, ``stdbscan``
    Density clusters (:mod:`ward_geo.cluster`); eps / min_samples from the data when omitted.
``kde``
    Incidents in the top density contours of a kernel density surface.
``gistar``
    Incidents in Getis-Ord Gi* hot-spot cells (FDR-corrected); cold spots with ``cold=True``.
``recency``
    A space–time model: incidents weighted ``2**(-age / half_life)`` (90 days) are counted on
    25 m cells and smoothed with a Gaussian of ``bandwidth`` (default 50 m, "lightly");
    the top cells up to ``share`` (default 5 %) of the study area, edge-connected, with at least
    ``min_incidents`` incidents, are hotspots.
``counts``
    The naive map as a method: training counts on ``cell_size`` (default 50 m) cells, top cells
    up to ``share`` of the study area. It is what ``auto`` delivers where nothing beats it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MethodInput", "Clustering", "Method", "REGISTRY", "METHODS", "method_names", "run_method",
           "suggest_eps_min_samples", "top_cell_labels"]


@dataclass(frozen=True)
class MethodInput:
    """What every method sees: positions (metres), times, weights, study area and window."""

    X: np.ndarray
    times: pd.Series
    weights: np.ndarray
    study_area: Any
    area_m2: float | None
    until: pd.Timestamp
    coarse_times: int = 0


@dataclass
class Clustering:
    """Labels per incident (-1 = none) and the parameters used, with the reason."""

    labels: np.ndarray
    params: dict[str, Any]
    buffer_m: float | None = None
    polygons: np.ndarray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class Method:
    """A registry entry: name, accepted options and the function that labels incidents."""

    name: str
    options: frozenset[str]
    uses_eps: bool
    uses_min_samples: bool
    run: Callable[[MethodInput, float | None, int | None, dict[str, Any]], Clustering]
    summary: str


def suggest_eps_min_samples(X: np.ndarray, eps: float | None, min_samples: int | None,
             area_m2: float | None) -> tuple[float, int, str]:
    """Eps and min_samples: explicit values win; the rest from the data (and why)."""
    from ward_geo.cluster import suggest_dbscan_params

    if eps is not None and min_samples is not None:
        return float(eps), int(min_samples), "eps and min_samples given explicitly"
    suggestion = suggest_dbscan_params(X, area_m2=area_m2, eps=eps, min_samples=min_samples)
    return float(suggestion.eps), int(suggestion.min_samples), str(suggestion.reason)


def _run_dbscan(inp: MethodInput, eps: float | None, min_samples: int | None,
                params: dict[str, Any]) -> Clustering:
    from ward_geo.cluster import DBSCAN

    e, k, reason = suggest_eps_min_samples(inp.X, eps, min_samples, inp.area_m2)
    weighted = bool(params.get("weighted", False))
    model = DBSCAN(eps=e, min_samples=k)
    model.fit(inp.X, sample_weight=inp.weights if weighted else None)
    return Clustering(np.asarray(model.labels_, dtype=np.int64),
                      {"eps": e, "min_samples": k, "weighted": weighted, "reason": reason})


def _run_hdbscan(inp: MethodInput, eps: float | None, min_samples: int | None,
                 params: dict[str, Any]) -> Clustering:
    from ward_geo.cluster import HDBSCAN

    size = params.get("min_cluster_size")
    reason = "min_cluster_size given explicitly"
    if size is None:
        if min_samples is not None:
            size, reason = max(2, int(min_samples)), "min_cluster_size = min_samples (given)"
        else:
            size = int(np.clip(round(0.5 * math.sqrt(len(inp.X))), 5, 500))
            reason = f"min_cluster_size = {size}: half the square root of the {len(inp.X)} incidents, within [5, 500]"
    kwargs: dict[str, Any] = {"min_cluster_size": int(size)}
    if min_samples is not None:
        kwargs["min_samples"] = int(min_samples)
    if params.get("cluster_selection_epsilon") is not None:
        kwargs["cluster_selection_epsilon"] = float(params["cluster_selection_epsilon"])
    model = HDBSCAN(**kwargs)
    model.fit(inp.X)
    return Clustering(np.asarray(model.labels_, dtype=np.int64), {**kwargs, "reason": reason})


DEFAULT_EPS_TIME_H = 168.0


def _run_stdbscan(inp: MethodInput, eps: float | None, min_samples: int | None,
                  params: dict[str, Any]) -> Clustering:
    from ward_geo.cluster import STDBSCAN

    e, k, reason = suggest_eps_min_samples(inp.X, eps, min_samples, inp.area_m2)
    eps_time = float(params.get("eps_time") or DEFAULT_EPS_TIME_H)
    if params.get("eps_time") is None:
        reason += f"; eps_time = {eps_time:g} h (default: one week)"
    if inp.coarse_times:
        reason += (f"; {inp.coarse_times} incident(s) only have a month or year: their time is the start of "
                   "that period, so space-time clusters among them are not meaningful")
    model = STDBSCAN(eps_m=e, eps_t=eps_time, min_samples=k)
    model.fit(inp.X, t=pd.to_datetime(inp.times, utc=True))
    return Clustering(np.asarray(model.labels_, dtype=np.int64),
                      {"eps": e, "eps_time_h": eps_time, "min_samples": k, "reason": reason})


def _run_kde(inp: MethodInput, eps: float | None, min_samples: int | None,
             params: dict[str, Any]) -> Clustering:
    from ward_geo.analysis.density import kde_regions

    regions = kde_regions(
        inp.X, weights=inp.weights, study_area=inp.study_area, bandwidth=params.get("bandwidth"),
        cell_size=params.get("cell_size"), quantile=float(params.get("quantile", 0.95)),
        min_incidents=int(params.get("min_incidents", 3)),
    )
    return Clustering(regions.labels, dict(regions.params), extra=dict(regions.extra))


def _run_gistar(inp: MethodInput, eps: float | None, min_samples: int | None,
                params: dict[str, Any]) -> Clustering:
    from ward_geo.analysis.gistar import gistar_regions

    regions = gistar_regions(
        inp.X, weights=None, study_area=inp.study_area, cell_size=params.get("cell_size"),
        alpha=float(params.get("alpha", 0.05)), permutations=int(params.get("permutations", 999)),
        cold=bool(params.get("cold", False)), seed=int(params.get("seed", 0)),
        min_incidents=int(params.get("min_incidents", 3)),
    )
    return Clustering(regions.labels, dict(regions.params), polygons=regions.polygons, extra=dict(regions.extra))


def top_cell_labels(inp: MethodInput, values: np.ndarray, grid: Any, share: float,
                    min_incidents: int) -> tuple[np.ndarray, int]:
    """Label incidents by the edge-connected regions of the top cells up to ``share`` of the area."""
    from scipy import ndimage

    cells = grid.cell_index(inp.X)
    scores = np.where(grid.valid, values, -np.inf)
    n_flag = max(1, int(math.floor(share * grid.n_cells)))
    positive = np.flatnonzero(scores > 0)
    order = positive[np.lexsort((positive, -scores[positive]))][:n_flag]
    mask = np.zeros(grid.nx * grid.ny, dtype=bool)
    mask[order] = True
    comp, k = ndimage.label(grid.raster(mask))
    comp = comp.ravel()
    point_comp = np.where(cells >= 0, comp[np.maximum(cells, 0)], 0)
    counts = np.bincount(point_comp, minlength=k + 1)[1:]
    keep = counts >= min_incidents
    remap = np.full(k + 1, -1, dtype=np.int64)
    remap[1:][keep] = np.arange(int(keep.sum()))
    return remap[point_comp], int(len(order))


_GRIDS: dict[tuple[bytes, float], Any] = {}


def _grid_for(inp: MethodInput, cell: float) -> Any:
    """The study grid of ``cell`` metres (the last few are kept: backtest folds share one area)."""
    import shapely

    from ward_geo.analysis.study_grid import make_grid

    area = inp.study_area
    if area is None or area.is_empty:
        area = shapely.buffer(shapely.convex_hull(shapely.multipoints(inp.X)), 200.0)
    minx, miny, maxx, maxy = area.bounds
    cell = max(float(cell), float(np.ceil(np.sqrt((maxx - minx) * (maxy - miny) / 300_000.0))))  # large areas
    key = (shapely.to_wkb(area), cell)
    grid = _GRIDS.get(key)
    if grid is None:
        grid = make_grid(area, cell)
        if len(_GRIDS) >= 8:
            _GRIDS.pop(next(iter(_GRIDS)))
        _GRIDS[key] = grid
    return grid


def _run_recency(inp: MethodInput, eps: float | None, min_samples: int | None,
                 params: dict[str, Any]) -> Clustering:
    from scipy import ndimage

    from ward_geo.analysis.hotspots.forecast import DEFAULT_HALF_LIFE_DAYS, recency_weights

    cell = float(params.get("cell_size") or 25.0)
    bandwidth = float(params.get("bandwidth") or 50.0)
    half_life = float(params.get("half_life_days") or DEFAULT_HALF_LIFE_DAYS)
    share = float(params.get("share", 0.05))
    min_inc = int(params.get("min_incidents", 3))
    grid = _grid_for(inp, cell)
    w = recency_weights(inp.times, inp.until, half_life)
    raster = grid.raster(grid.counts(inp.X, w))
    smooth = ndimage.gaussian_filter(raster, sigma=bandwidth / cell, mode="constant", truncate=3.0).ravel()
    labels, n_cells = top_cell_labels(inp, smooth, grid, share, min_inc)
    return Clustering(labels, {
        "cell_size": cell, "bandwidth": bandwidth, "half_life_days": half_life, "share": share,
        "min_incidents": min_inc,
        "reason": (f"incidents weighted 2^(-age/{half_life:g} d) on {cell:g} m cells, Gaussian-smoothed "
                   f"(σ = {bandwidth:g} m); the top {n_cells} cells ({share:.0%} of the study area), "
                   f"edge-connected, with at least {min_inc} incidents"),
    })


def _run_counts(inp: MethodInput, eps: float | None, min_samples: int | None,
                params: dict[str, Any]) -> Clustering:
    cell = float(params.get("cell_size") or 50.0)
    share = float(params.get("share", 0.05))
    min_inc = int(params.get("min_incidents", 3))
    grid = _grid_for(inp, cell)
    labels, n_cells = top_cell_labels(inp, grid.counts(inp.X), grid, share, min_inc)
    return Clustering(labels, {
        "cell_size": cell, "share": share, "min_incidents": min_inc,
        "reason": (f"incident counts on {cell:g} m cells; the top {n_cells} cells ({share:.0%} of the study "
                   f"area), edge-connected, with at least {min_inc} incidents"),
    })


_SHAPE = frozenset({"buffer_m", "concave_ratio", "max_across_m"})

REGISTRY: dict[str, Method] = {
    m.name: m
    for m in (
        Method("dbscan", _SHAPE | {"weighted"}, True, True, _run_dbscan, "density clusters (DBSCAN)"),
        Method("hdbscan", _SHAPE | {"min_cluster_size", "cluster_selection_epsilon"}, False, True, _run_hdbscan,
               "variable-density clusters (HDBSCAN)"),
        Method("stdbscan", _SHAPE | {"eps_time"}, True, True, _run_stdbscan, "space-time clusters (ST-DBSCAN)"),
        Method("kde", _SHAPE | {"bandwidth", "cell_size", "quantile", "min_incidents"}, False, False, _run_kde,
               "top kernel-density contours"),
        Method("gistar", _SHAPE | {"cell_size", "alpha", "permutations", "cold", "seed", "min_incidents"},
               False, False, _run_gistar, "Getis-Ord Gi* hot spots"),
        Method("recency", _SHAPE | {"cell_size", "bandwidth", "half_life_days", "share", "min_incidents"},
               False, False, _run_recency, "recency-weighted, lightly smoothed counts (space-time)"),
        Method("counts", _SHAPE | {"cell_size", "share", "min_incidents"}, False, False, _run_counts,
               "prior counts per cell (the naive map)"),
    )
}

#: Every method name accepted by ``find_hotspots`` (``auto`` chooses among the others).
METHODS: tuple[str, ...] = ("auto", *REGISTRY)


def method_names() -> tuple[str, ...]:
    """Names of the registered methods (without ``auto``)."""
    return tuple(REGISTRY)


def run_method(name: str, inp: MethodInput, eps: float | None, min_samples: int | None,
               params: dict[str, Any]) -> Clustering:
    """Label incidents with the registered method ``name``: the only dispatch on method names."""
    return REGISTRY[name].run(inp, eps, min_samples, params)
