"""Aggregate-only views of a hotspot table, for roles that may not see single incidents.

A hotspot table describes groups of incidents; with small groups (``min_samples=1``) it
describes single incidents, located to the metre and timed to the minute. The functions
here turn a table into one that never describes fewer than ``k`` incidents and never
locates or times anything better than a grid cell and a day:

- hotspots with fewer than ``k`` incidents are dropped;
- every count below ``k`` in a breakdown (``category_counts``, ``peak_weekdays``) becomes
  ``None``; the hour-of-day histogram (``peak_hours``) is dropped altogether (a difference
  of two answers would otherwise date an added incident to the hour);
- each polygon is replaced by the union of the ``grid_m`` × ``grid_m`` cells (of the metric
  CRS, EPSG:3405 by default) that it touches, so every vertex lies on the grid; ``area_m2``,
  ``density_per_km2`` and coordinate names follow the coarse polygon;
- ``first_seen`` / ``last_seen`` and any date-time in the accompanying parameters are
  floored to the UTC day;
- ``min_samples`` below ``k`` is raised to ``k`` (:func:`clamp_parameters`).

Everything here is pure (no I/O); the service applies it for the viewer role.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ward_geo.errors import ConfigurationError

__all__ = [
    "AggregatePolicy",
    "MIN_K",
    "aggregate_hotspots",
    "clamp_parameters",
    "coarsen_times",
    "grid_cover",
    "suppress_count",
]

#: The smallest group size a policy may use.
MIN_K = 5
#: Most cells one polygon is covered with; larger polygons use a coarser multiple of the grid.
MAX_CELLS = 20_000
_COORD_NAME = re.compile(r"^\s*-?\d+(\.\d+)?\s*,\s*-?\d+(\.\d+)?\s*$")
_ISO_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+\-]\d{2}:?\d{2})?$")


@dataclass(frozen=True)
class AggregatePolicy:
    """How coarse an aggregate view is.

    Parameters
    ----------
    k : int
        Smallest number of incidents any published figure may describe (at least 5).
    grid_m : float
        Cell size in metres of the grid polygons are snapped to.
    metric_crs : str
        Projected CRS (metres) of the grid.

    Raises
    ------
    ConfigurationError
        ``k`` below :data:`MIN_K` or a grid that is not a positive size.
    """

    k: int = 5
    grid_m: float = 50.0
    metric_crs: str = "EPSG:3405"

    def __post_init__(self) -> None:
        if int(self.k) < MIN_K:
            raise ConfigurationError(
                f"the aggregate group size k={self.k} is below the minimum of {MIN_K}; "
                f"set WARD_GEO_VIEWER_MIN_INCIDENTS to {MIN_K} or more"
            )
        if not (math.isfinite(self.grid_m) and self.grid_m > 0):
            raise ConfigurationError(f"the aggregate grid must be a positive number of metres, not {self.grid_m!r}")


def suppress_count(value: Any, k: int) -> Any:
    """``value`` when it is a count of at least ``k`` (or zero), else None."""
    if value is None:
        return None
    try:
        n = int(value)
    except (TypeError, ValueError):
        return None
    return n if n == 0 or n >= k else None


def clamp_parameters(eps: float | None, min_samples: int | None, policy: AggregatePolicy) -> tuple[
    float | None, int | None, dict[str, Any]
]:
    """Clustering parameters an aggregate caller may use, and what was changed.

    ``min_samples`` below ``k`` is raised to ``k`` (a core point then needs ``k``
    neighbours, so no cluster can have fewer members). ``eps`` is kept: with every group
    below ``k`` suppressed, a small radius only yields fewer hotspots.

    Returns
    -------
    eps, min_samples, clamped
        ``clamped`` maps each changed parameter to ``{"requested", "used"}``.
    """
    clamped: dict[str, Any] = {}
    if min_samples is not None and min_samples < policy.k:
        clamped["min_samples"] = {"requested": int(min_samples), "used": int(policy.k)}
        min_samples = int(policy.k)
    return eps, min_samples, clamped


def coarsen_times(value: Any) -> Any:
    """``value`` (a JSON-like structure) with every ISO date-time string cut to its date."""
    if isinstance(value, str):
        match = _ISO_TIME.match(value)
        return match.group(1) if match else value
    if isinstance(value, dict):
        return {k: coarsen_times(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [coarsen_times(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return value


def grid_cover(geometry: Any, grid_m: float, max_cells: int = MAX_CELLS) -> Any:
    """The union of the grid cells (origin 0, 0; side ``grid_m``) that ``geometry`` touches.

    ``geometry`` is in a metric CRS. When it would need more than ``max_cells`` cells, a
    whole multiple of ``grid_m`` is used (coarser, never finer). Every vertex of the result
    is a multiple of the cell size.
    """
    if geometry is None or shapely.is_empty(geometry):
        return geometry
    minx, miny, maxx, maxy = shapely.bounds(geometry)
    step = float(grid_m)
    nx = math.floor(maxx / step) - math.floor(minx / step) + 1
    ny = math.floor(maxy / step) - math.floor(miny / step) + 1
    if nx * ny > max_cells:
        step *= math.ceil(math.sqrt(nx * ny / max_cells))
        nx = math.floor(maxx / step) - math.floor(minx / step) + 1
        ny = math.floor(maxy / step) - math.floor(miny / step) + 1
    xs = (math.floor(minx / step) + np.arange(nx)) * step
    ys = (math.floor(miny / step) + np.arange(ny)) * step
    gx, gy = np.meshgrid(xs, ys)
    cells = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + step, gy.ravel() + step)
    shapely.prepare(geometry)
    hit = shapely.intersects(geometry, cells)
    return shapely.simplify(shapely.union_all(cells[hit]), 0.0)  # collinear cell corners dropped


def _coord_name(geometry: Any) -> str | None:
    if geometry is None or shapely.is_empty(geometry):
        return None
    point = shapely.point_on_surface(geometry)
    return f"{point.y:.3f}, {point.x:.3f}"


def aggregate_hotspots(hotspots: gpd.GeoDataFrame, policy: AggregatePolicy) -> gpd.GeoDataFrame:
    """The aggregate view of a hotspot table (see the module notes).

    Parameters
    ----------
    hotspots : GeoDataFrame
        A hotspot table (:mod:`ward_geo.analysis.hotspots.table`), any CRS.
    policy : AggregatePolicy

    Returns
    -------
    GeoDataFrame
        Same columns and CRS, only hotspots of at least ``k`` incidents, coarsened; ranks are
        renumbered 1..n in the original order. ``attrs`` are kept with date-times cut to dates.
    """
    attrs = coarsen_times(dict(hotspots.attrs)) if hotspots.attrs else {}
    if "n_incidents" in hotspots.columns and len(hotspots):
        keep = pd.to_numeric(hotspots["n_incidents"], errors="coerce").fillna(0).to_numpy() >= policy.k
        frame = hotspots.loc[keep].copy()
    else:
        frame = hotspots.iloc[0:0].copy() if "n_incidents" not in hotspots.columns else hotspots.copy()
    frame = frame.drop(columns=[c for c in ("member_ids",) if c in frame.columns])
    if len(frame):
        crs = frame.crs
        metric = frame.geometry.to_crs(policy.metric_crs) if crs is not None else frame.geometry
        coarse = np.array([grid_cover(g, policy.grid_m) for g in metric.array], dtype=object)
        area = shapely.area(coarse)
        coarse_series = gpd.GeoSeries(coarse, index=frame.index, crs=policy.metric_crs if crs is not None else None)
        frame = frame.set_geometry(coarse_series.to_crs(crs) if crs is not None else coarse_series)
        if "area_m2" in frame.columns:
            frame["area_m2"] = np.round(area, 0)
        if "density_per_km2" in frame.columns and "n_incidents" in frame.columns:
            with np.errstate(divide="ignore", invalid="ignore"):
                density = frame["n_incidents"].to_numpy(dtype=float) / (area / 1e6)
            frame["density_per_km2"] = np.round(np.where(area > 0, density, np.nan), 1)
        if "name" in frame.columns:
            frame["name"] = [
                _coord_name(g) if isinstance(n, str) and _COORD_NAME.match(n) else n
                for n, g in zip(frame["name"], frame.geometry.array, strict=True)
            ]
    for column in ("first_seen", "last_seen"):
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column], utc=True).dt.floor("D")
    if "category_counts" in frame.columns:
        frame["category_counts"] = [
            {c: suppress_count(n, policy.k) for c, n in (counts or {}).items()} if isinstance(counts, dict) else None
            for counts in frame["category_counts"]
        ]
    if "peak_weekdays" in frame.columns:
        frame["peak_weekdays"] = [
            [suppress_count(n, policy.k) for n in row] if row is not None else None for row in frame["peak_weekdays"]
        ]
    if "peak_hours" in frame.columns:
        frame["peak_hours"] = [None] * len(frame)
    if "ward_shares" in frame.columns:
        frame["ward_shares"] = [
            [round(float(s), 2) for s in shares] if isinstance(shares, (list, tuple, np.ndarray)) else shares
            for shares in frame["ward_shares"]
        ]
    if "rank" in frame.columns and len(frame):
        order = np.argsort(frame["rank"].to_numpy(), kind="stable")
        ranks = np.empty(len(frame), dtype=np.int64)
        ranks[order] = np.arange(1, len(frame) + 1)
        frame["rank"] = ranks
    frame = frame.reset_index(drop=True)
    frame.attrs = attrs
    return frame
