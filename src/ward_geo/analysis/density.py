"""Kernel density of incidents on a grid, and hotspots as its top density contours.

The surface is a binned Gaussian kernel density estimate: incidents (optionally weighted by
``category weight × severity``) are counted on a square grid of ``cell_size`` metres and
smoothed with a Gaussian of standard deviation ``bandwidth`` metres (truncated at 4σ). The
result is in incidents per km² and its integral equals the total weight.

Default bandwidth (recorded in the hotspot table's ``attrs["params"]["reason"]``)
    Scott's rule for a 2-D Gaussian kernel, ``h = σ · n^(-1/6)``, with σ the robust spread
    of the points (per axis ``min(std, IQR / 1.349)``, averaged in quadrature), clipped to
    [50 m, 250 m]: narrower kernels show single addresses rather than areas, wider ones
    blur whole neighbourhoods together. Ward data typically gets 80-150 m.
Default cell size
    ``bandwidth / 4`` clipped to [10 m, 50 m] (coarser only if the grid would exceed
    :data:`MAX_CELLS`).
Hotspots
    Cells in the study area whose density is at least the ``quantile`` (default 0.95) of the
    densities of the cells in the kernel's support (density above 0.1 % of the peak); those
    cells are grouped by edge contiguity into regions, and regions with at least
    ``min_incidents`` incidents become hotspots (polygon = union of their cells).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from scipy import ndimage

from ward_geo.errors import ParameterError

__all__ = [
    "KDESurface",
    "GridRegions",
    "default_bandwidth",
    "kde_surface",
    "kde_regions",
    "MAX_CELLS",
]

#: Largest KDE grid (cells); a 50 km × 50 km area at 25 m is 4 million cells.
MAX_CELLS = 4_000_000
MIN_BANDWIDTH_M = 50.0
MAX_BANDWIDTH_M = 250.0


@dataclass(frozen=True)
class KDESurface:
    """A density raster in a metric CRS.

    Attributes
    ----------
    density : ndarray, shape (ny, nx)
        Incidents (or weight) per km²; row 0 is the southern edge.
    x0, y0 : float
        Lower-left corner (metres).
    cell_size, bandwidth : float
        Cell side and kernel standard deviation (metres).
    reason : str
        How the bandwidth was chosen.
    """

    density: np.ndarray
    x0: float
    y0: float
    cell_size: float
    bandwidth: float
    reason: str

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns of the density grid."""
        return self.density.shape

    def cell_of(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row, column and an inside-the-grid mask for each point."""
        ny, nx = self.density.shape
        col = np.floor((X[:, 0] - self.x0) / self.cell_size).astype(np.int64)
        row = np.floor((X[:, 1] - self.y0) / self.cell_size).astype(np.int64)
        inside = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
        return row, col, inside

    def value_at(self, X: np.ndarray) -> np.ndarray:
        """Density (per km²) at points ``X`` (metres); 0 outside the grid."""
        X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
        row, col, inside = self.cell_of(X)
        out = np.zeros(len(X))
        out[inside] = self.density[row[inside], col[inside]]
        return out


@dataclass
class GridRegions:
    """Hotspot regions of a grid method: member labels, metric polygons, parameters."""

    labels: np.ndarray
    polygons: np.ndarray
    params: dict[str, Any]
    extra: dict[str, np.ndarray] = field(default_factory=dict)


def default_bandwidth(X: np.ndarray) -> tuple[float, str]:
    """Default KDE bandwidth in metres for points ``X`` (see the module notes) and why."""
    X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
    n = len(X)
    if n < 2:
        return 100.0, "fewer than 2 incidents: fixed 100 m"
    std = X.std(axis=0)
    q75, q25 = np.percentile(X, [75, 25], axis=0)
    iqr = (q75 - q25) / 1.349
    spread = np.where(iqr > 0, np.minimum(std, iqr), std)
    sigma = float(np.sqrt((spread**2).mean()))
    scott = sigma * n ** (-1.0 / 6.0)
    h = float(np.clip(scott, MIN_BANDWIDTH_M, MAX_BANDWIDTH_M))
    h = round(h / 5.0) * 5.0
    return h, (
        f"bandwidth {h:g} m: Scott's rule σ·n^(-1/6) = {scott:.0f} m (robust spread σ = {sigma:.0f} m, "
        f"n = {n}), clipped to [{MIN_BANDWIDTH_M:g}, {MAX_BANDWIDTH_M:g}] m"
    )


def _check_positive(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a positive number of metres, got {value!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise ParameterError(f"{name} must be a positive number of metres, got {value!r}")
    return v


def kde_surface(
    X: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    bandwidth: float | None = None,
    cell_size: float | None = None,
    bounds: tuple[float, float, float, float] | None = None,
) -> KDESurface:
    """Binned Gaussian kernel density of points ``X`` (metres).

    Parameters
    ----------
    X : ndarray, shape (n, 2)
        Points in a metric CRS.
    weights : ndarray, shape (n,), optional
        Weight of each point (default 1).
    bandwidth : float, optional
        Kernel standard deviation in metres (default :func:`default_bandwidth`).
    cell_size : float, optional
        Grid cell side in metres (default ``bandwidth / 4`` in [10, 50]).
    bounds : (minx, miny, maxx, maxy), optional
        Area to cover (default the points' extent); padded by 3 bandwidths.

    Returns
    -------
    KDESurface
    """
    X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
    if len(X) == 0:
        raise ParameterError("kernel density needs at least one incident")
    if not np.isfinite(X).all():
        raise ParameterError("incident coordinates must be finite numbers")
    if bandwidth is None:
        h, reason = default_bandwidth(X)
    else:
        h, reason = _check_positive("bandwidth", bandwidth), "bandwidth given explicitly"
    cell = _check_positive("cell_size", cell_size) if cell_size is not None else float(np.clip(h / 4.0, 10.0, 50.0))
    w = np.ones(len(X)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(X),) or not np.isfinite(w).all() or (w < 0).any():
        raise ParameterError("weights must be one finite, non-negative number per incident")
    minx, miny, maxx, maxy = bounds if bounds is not None else (*X.min(axis=0), *X.max(axis=0))
    pad = 3.0 * h
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    nx = max(1, int(np.ceil((maxx - minx) / cell)))
    ny = max(1, int(np.ceil((maxy - miny) / cell)))
    if nx * ny > MAX_CELLS:
        cell = float(np.ceil(np.sqrt((maxx - minx) * (maxy - miny) / MAX_CELLS)))
        nx = max(1, int(np.ceil((maxx - minx) / cell)))
        ny = max(1, int(np.ceil((maxy - miny) / cell)))
        reason += f"; cell size raised to {cell:g} m to keep the grid under {MAX_CELLS:,} cells"
    col = np.floor((X[:, 0] - minx) / cell).astype(np.int64)
    row = np.floor((X[:, 1] - miny) / cell).astype(np.int64)
    inside = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
    counts = np.bincount(row[inside] * nx + col[inside], weights=w[inside], minlength=nx * ny).reshape(ny, nx)
    smooth = ndimage.gaussian_filter(counts, sigma=h / cell, mode="constant", truncate=4.0)
    density = smooth / (cell * cell / 1e6)
    return KDESurface(density, float(minx), float(miny), float(cell), float(h), reason)


def regions_from_cells(
    mask: np.ndarray,
    x0: float,
    y0: float,
    cell: float,
) -> tuple[np.ndarray, int, np.ndarray]:
    """Group selected cells of a (ny, nx) mask into edge-connected regions.

    Returns
    -------
    (component raster, number of regions, polygons)
        Component id per cell (0 = none, 1..k), and one polygon (union of cells) per region.
    """
    comp, k = ndimage.label(mask)
    if k == 0:
        return comp, 0, np.empty(0, dtype=object)
    rows, cols = np.nonzero(comp)
    ids = comp[rows, cols] - 1
    boxes = shapely.box(x0 + cols * cell, y0 + rows * cell, x0 + (cols + 1) * cell, y0 + (rows + 1) * cell)
    order = np.argsort(ids, kind="stable")
    ids_sorted = ids[order]
    starts = np.flatnonzero(np.r_[True, ids_sorted[1:] != ids_sorted[:-1]])
    ends = np.r_[starts[1:], len(ids_sorted)]
    polygons = np.empty(k, dtype=object)
    for j, (a, b) in enumerate(zip(starts, ends, strict=True)):
        polygons[j] = shapely.coverage_union_all(boxes[order[a:b]])
    return comp, k, polygons


def kde_regions(
    X: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    study_area: Any = None,
    bandwidth: float | None = None,
    cell_size: float | None = None,
    quantile: float = 0.95,
    min_incidents: int = 3,
) -> GridRegions:
    """KDE hotspots: regions of the top density cells (see the module notes).

    Parameters
    ----------
    X : ndarray, shape (n, 2)
        Incidents in metres.
    weights : ndarray, optional
        Weight per incident.
    study_area : shapely geometry, optional
        Only cells whose centre lies inside become hotspots.
    bandwidth, cell_size : float, optional
        See :func:`kde_surface`.
    quantile : float, default 0.95
        Density quantile (over the kernel's support) a cell must reach.
    min_incidents : int, default 3
        Fewest incidents in a region for it to be a hotspot.

    Returns
    -------
    GridRegions
        ``labels`` per incident, one polygon per hotspot, and the parameters with the reason;
        ``extra["peak_density_per_km2"]`` per hotspot.
    """
    if not 0.0 < quantile < 1.0:
        raise ParameterError(f"quantile must be strictly between 0 and 1, got {quantile!r}")
    X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
    bounds = tuple(study_area.bounds) if study_area is not None and not study_area.is_empty else None
    surface = kde_surface(X, weights=weights, bandwidth=bandwidth, cell_size=cell_size, bounds=bounds)
    dens = surface.density
    peak = float(dens.max())
    support = dens > peak * 1e-3
    level = float(np.quantile(dens[support], quantile)) if support.any() else np.inf
    mask = (dens >= level) & support
    if study_area is not None and mask.any():
        rows, cols = np.nonzero(mask)
        cx = surface.x0 + (cols + 0.5) * surface.cell_size
        cy = surface.y0 + (rows + 0.5) * surface.cell_size
        inside = shapely.contains_xy(study_area, cx, cy)
        mask[rows[~inside], cols[~inside]] = False
    comp, k, polygons = regions_from_cells(mask, surface.x0, surface.y0, surface.cell_size)
    row, col, inside = surface.cell_of(X)
    point_comp = np.zeros(len(X), dtype=np.int64)
    point_comp[inside] = comp[row[inside], col[inside]]
    counts = np.bincount(point_comp, minlength=k + 1)[1:]
    keep = counts >= min_incidents
    remap = np.full(k + 1, -1, dtype=np.int64)
    remap[1:][keep] = np.arange(int(keep.sum()))
    labels = remap[point_comp]
    peak_density = ndimage.maximum(dens, labels=comp, index=np.arange(1, k + 1)) if k else np.empty(0)
    params = {
        "bandwidth": surface.bandwidth,
        "cell_size": surface.cell_size,
        "quantile": quantile,
        "density_level_per_km2": round(level, 3) if np.isfinite(level) else None,
        "min_incidents": min_incidents,
        "reason": (
            f"{surface.reason}; hotspots = cells at or above the {quantile:.0%} density quantile "
            f"({level:.1f} per km²), edge-connected, with at least {min_incidents} incidents"
        ),
    }
    return GridRegions(
        labels,
        polygons[keep],
        params,
        {"peak_density_per_km2": np.round(np.asarray(peak_density, dtype=np.float64)[keep], 3)},
    )
