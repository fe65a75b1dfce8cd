"""A square analysis grid over a study area, in metres.

Evaluation, baselines and trend analysis count incidents per cell. The grid covers the
study area's bounding box; a cell belongs to the study area when its centre lies inside
the study polygon. Points are assigned to cells by integer division, fully vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ward_geo.errors import ParameterError

__all__ = ["StudyGrid", "make_grid", "default_cell_size"]

#: Upper bound on the number of cells of one grid (memory and esda cost stay bounded).
MAX_CELLS = 400_000


def default_cell_size(area_m2: float, *, target_cells: int = 40_000, minimum: float = 100.0) -> float:
    """Cell side in metres: 100 m for ward- and city-sized areas, coarser for regions.

    The side is ``max(minimum, sqrt(area / target_cells))`` rounded up to 10 m, so a ward
    (a few km²) gets 100 m cells and a county (2,000 km²) gets 230 m cells.
    """
    side = max(minimum, float(np.sqrt(max(area_m2, 1.0) / target_cells)))
    return float(np.ceil(side / 10.0) * 10.0)


@dataclass(frozen=True)
class StudyGrid:
    """A square grid clipped to a study area.

    Attributes
    ----------
    x0, y0 : float
        Lower-left corner of the grid (metres).
    cell_size : float
        Side of a cell (metres).
    nx, ny : int
        Columns and rows.
    valid : ndarray of bool, shape (ny * nx,)
        Cells whose centre lies in the study area.
    study_area : shapely geometry
        The study polygon (metric CRS).
    """

    x0: float
    y0: float
    cell_size: float
    nx: int
    ny: int
    valid: np.ndarray
    study_area: BaseGeometry

    @property
    def n_cells(self) -> int:
        """Number of cells in the study area."""
        return int(self.valid.sum())

    @property
    def cell_area(self) -> float:
        """Area of one cell (square metres)."""
        return self.cell_size * self.cell_size

    @property
    def area(self) -> float:
        """Study area A as the grid sees it: valid cells × cell area (m²)."""
        return self.n_cells * self.cell_area

    def cell_index(self, xy: np.ndarray) -> np.ndarray:
        """Flat cell index of each point, or -1 outside the grid or the study area."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        ix = np.floor((xy[:, 0] - self.x0) / self.cell_size)
        iy = np.floor((xy[:, 1] - self.y0) / self.cell_size)
        inside = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny) & np.isfinite(ix) & np.isfinite(iy)
        flat = np.full(len(xy), -1, dtype=np.int64)
        flat[inside] = (iy[inside] * self.nx + ix[inside]).astype(np.int64)
        keep = flat >= 0
        flat[keep] = np.where(self.valid[flat[keep]], flat[keep], -1)
        return flat

    def counts(self, xy: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Incident count (or weight sum) per cell, shape (ny * nx,); invalid cells are 0."""
        idx = self.cell_index(xy)
        keep = idx >= 0
        w = None if weights is None else np.asarray(weights, dtype=np.float64)[keep]
        return np.bincount(idx[keep], weights=w, minlength=self.nx * self.ny).astype(np.float64)

    def centres(self) -> np.ndarray:
        """Centres of all cells, shape (ny * nx, 2)."""
        xs = self.x0 + (np.arange(self.nx) + 0.5) * self.cell_size
        ys = self.y0 + (np.arange(self.ny) + 0.5) * self.cell_size
        gx, gy = np.meshgrid(xs, ys)
        return np.column_stack([gx.ravel(), gy.ravel()])

    def cell_polygons(self, cells: np.ndarray) -> np.ndarray:
        """Square polygons of the given flat cell indices (shapely array)."""
        cells = np.asarray(cells, dtype=np.int64)
        ix = cells % self.nx
        iy = cells // self.nx
        minx = self.x0 + ix * self.cell_size
        miny = self.y0 + iy * self.cell_size
        boxes: np.ndarray = shapely.box(minx, miny, minx + self.cell_size, miny + self.cell_size)
        return boxes

    def raster(self, values: np.ndarray) -> np.ndarray:
        """Reshape a per-cell vector to a (ny, nx) raster."""
        return np.asarray(values).reshape(self.ny, self.nx)


def make_grid(study_area: BaseGeometry, cell_size: float | None = None) -> StudyGrid:
    """Build the grid over ``study_area`` (a polygon in a metric CRS).

    Parameters
    ----------
    study_area : shapely Polygon or MultiPolygon
        The study area A, in metres.
    cell_size : float, optional
        Cell side in metres; default :func:`default_cell_size`.

    Returns
    -------
    StudyGrid
    """
    if study_area is None or study_area.is_empty or study_area.area <= 0:
        raise ParameterError("study area is empty; give boundaries or incidents that cover an area")
    if cell_size is None:
        cell_size = default_cell_size(study_area.area)
    if not np.isfinite(cell_size) or cell_size <= 0:
        raise ParameterError(f"cell_size must be a positive number of metres, got {cell_size!r}")
    minx, miny, maxx, maxy = study_area.bounds
    nx = max(1, int(np.ceil((maxx - minx) / cell_size)))
    ny = max(1, int(np.ceil((maxy - miny) / cell_size)))
    if nx * ny > MAX_CELLS:
        raise ParameterError(
            f"a {cell_size:g} m grid over this study area has {nx * ny:,} cells (limit {MAX_CELLS:,}); "
            "use a larger cell size"
        )
    xs = minx + (np.arange(nx) + 0.5) * cell_size
    ys = miny + (np.arange(ny) + 0.5) * cell_size
    gx, gy = np.meshgrid(xs, ys)
    valid = shapely.contains_xy(study_area, gx.ravel(), gy.ravel())
    if not valid.any():
        # a study area thinner than one cell: keep the cells it touches
        valid = shapely.intersects(study_area, _boxes(minx, miny, nx, ny, cell_size))
    return StudyGrid(float(minx), float(miny), float(cell_size), nx, ny, np.asarray(valid, dtype=bool), study_area)


def _boxes(minx: float, miny: float, nx: int, ny: int, cell: float) -> np.ndarray:
    ix, iy = np.meshgrid(np.arange(nx), np.arange(ny))
    x = minx + ix.ravel() * cell
    y = miny + iy.ravel() * cell
    boxes: np.ndarray = shapely.box(x, y, x + cell, y + cell)
    return boxes
