"""Getis-Ord Gi* hot and cold spots on a square grid (PySAL ``esda`` / ``libpysal``).

Incidents are counted on a square grid over the study area (the wards' union, or the
incidents' buffered convex hull): :func:`ward_geo.analysis.study_grid.make_grid`, 100 m cells for
ward- and city-sized areas. Every cell of the study area takes part, empty cells included
(a count of zero is an observation). Neighbours are the queen-contiguous cells (the 8
around a cell) that are in the study area; binary weights with the cell itself included
(``G_Local(star=True, transform="B")``).

Significance: conditional-permutation pseudo p-values (``permutations`` = 999 by default,
seeded; esda folds them over both tails, so a cell counts only in the direction where its G*
and its expectation under conditional randomisation agree with the sign of z — a lone
incident among empty cells is not a hot spot), or the analytic normal p-value when
``permutations=0``; then the Benjamini-Hochberg
false discovery rate threshold of :func:`esda.fdr` at ``alpha``. Significant cells with a
positive z are hot, with a negative z cold; edge-connected significant cells are merged into
one polygon per spot, with ``gi_z`` (the strongest z of its cells) and ``p_value`` (the smallest).

Islands (study-area cells without any neighbour, e.g. a detached part of a ward) are kept
but never significant; a grid where every cell has the same count yields no spots.

``esda`` compiles its permutation kernels with numba on first use (about 15 s). Call
:func:`warm_up` once at service start (or in a background thread) so no request pays it.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np

from ward_geo.analysis.density import GridRegions, regions_from_cells
from ward_geo.analysis.study_grid import make_grid
from ward_geo.errors import ParameterError

__all__ = ["gistar_grid", "gistar_regions", "warm_up", "is_warm"]

_WARM = threading.Event()
_WARM_LOCK = threading.Lock()


def warm_up() -> None:
    """Compile esda's numba kernels now (idempotent, thread-safe; about 15 s the first time)."""
    if _WARM.is_set():
        return
    with _WARM_LOCK:
        if _WARM.is_set():
            return
        y = np.array([0.0, 1.0, 3.0, 0.0, 2.0, 5.0, 0.0, 1.0, 0.0])
        counts = y.reshape(3, 3)
        _gi_star(counts.ravel(), np.ones(9, dtype=bool), 3, 3, permutations=9, seed=0)
        _WARM.set()


def is_warm() -> bool:
    """Whether :func:`warm_up` has run (or a Gi* computation already compiled the kernels)."""
    return _WARM.is_set()


def _queen_neighbours(valid: np.ndarray, nx: int, ny: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) of valid cells that are queen neighbours, as positions in the valid list."""
    cells = np.flatnonzero(valid)
    pos = np.full(nx * ny, -1, dtype=np.int64)
    pos[cells] = np.arange(len(cells))
    ix = cells % nx
    iy = cells // nx
    src: list[np.ndarray] = []
    dst: list[np.ndarray] = []
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            if dx == 0 and dy == 0:
                continue
            jx = ix + dx
            jy = iy + dy
            ok = (jx >= 0) & (jx < nx) & (jy >= 0) & (jy < ny)
            j = np.where(ok, jy * nx + jx, 0)
            ok &= valid[j]
            src.append(pos[cells[ok]])
            dst.append(pos[j[ok]])
    return np.concatenate(src), np.concatenate(dst)


_WEIGHTS_CACHE: dict[tuple[int, int, bytes], tuple[Any, np.ndarray]] = {}
_WEIGHTS_CACHE_LOCK = threading.Lock()


def _queen_weights(valid: np.ndarray, nx: int, ny: int) -> tuple[Any, np.ndarray]:
    """Queen weights (libpysal) of the valid cells and the CSR row starts, cached per grid.

    Backtest folds and trend slices run Gi* many times on one grid; the weights are built
    once (a few grids are kept).
    """
    import hashlib

    import libpysal

    key = (nx, ny, hashlib.sha1(np.packbits(valid).tobytes()).digest())
    with _WEIGHTS_CACHE_LOCK:
        hit = _WEIGHTS_CACHE.get(key)
    if hit is not None:
        return hit
    n = int(valid.sum())
    src, dst = _queen_neighbours(valid, nx, ny)
    order = np.lexsort((dst, src))
    src, dst = src[order], dst[order]
    starts = np.searchsorted(src, np.arange(n + 1))
    neighbours = {i: dst[starts[i] : starts[i + 1]].tolist() for i in range(n)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the self-weight of Gi* set once here, so G_Local(star=True) uses it as it is
        w = libpysal.weights.fill_diagonal(libpysal.weights.W(neighbours, silence_warnings=True), 1.0)
    with _WEIGHTS_CACHE_LOCK:
        if len(_WEIGHTS_CACHE) >= 4:
            _WEIGHTS_CACHE.pop(next(iter(_WEIGHTS_CACHE)))
        _WEIGHTS_CACHE[key] = (w, starts)
    return w, starts


def _gi_star(
    y_all: np.ndarray,
    valid: np.ndarray,
    nx: int,
    ny: int,
    *,
    permutations: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gi* z and p for the valid cells; returns (z, p, island mask), each over valid cells."""
    import esda

    y = np.asarray(y_all, dtype=np.float64)[valid]
    n = len(y)
    w, starts = _queen_weights(valid, nx, ny)
    islands = np.diff(starts) == 0
    z = np.zeros(n)
    p = np.ones(n)
    if n < 3 or np.ptp(y) == 0 or islands.all():
        return z, p, islands
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = esda.G_Local(
            y,
            w,
            transform="B",
            star=True,
            permutations=permutations,
            keep_simulations=False,
            n_jobs=1,
            seed=seed,
        )
    z = np.nan_to_num(np.asarray(g.Zs, dtype=np.float64), nan=0.0)
    p = np.asarray(g.p_sim if permutations else g.p_norm, dtype=np.float64)
    p = np.where(np.isfinite(p), p, 1.0)
    if permutations:
        # esda's pseudo p-value is folded (either tail). A cell is only a hot (cold) spot
        # when its G* is above (below) its expectation under conditional randomisation
        # and the analytic z agrees; otherwise it is not significant in that direction.
        total = y.sum()
        card = np.diff(starts).astype(np.float64)
        expected = (y + card * (total - y) / (n - 1)) / total
        observed = np.asarray(g.Gs, dtype=np.float64)
        agree = np.sign(observed - expected) == np.sign(z)
        p = np.where(agree, p, 1.0)
    z[islands] = 0.0
    p[islands] = 1.0
    if permutations:
        _WARM.set()
    return z, p, islands


def gistar_grid(
    X: np.ndarray,
    study_area: Any,
    *,
    weights: np.ndarray | None = None,
    cell_size: float | None = None,
    permutations: int = 999,
    seed: int = 0,
) -> dict[str, Any]:
    """Gi* on the grid: the grid, the counts and z / p for every study-area cell.

    Returns
    -------
    dict
        ``grid`` (:class:`~ward_geo.analysis.study_grid.StudyGrid`), ``counts`` (all cells),
        ``z``, ``p`` (NaN-free, over all cells; 0 / 1 outside the study area), ``islands``
        (bool over all cells).
    """
    if permutations < 0:
        raise ParameterError(f"permutations must be >= 0, got {permutations!r}")
    grid = make_grid(study_area, cell_size)
    counts = grid.counts(np.asarray(X, dtype=np.float64), weights)
    z_v, p_v, isl_v = _gi_star(counts, grid.valid, grid.nx, grid.ny, permutations=permutations, seed=seed)
    z = np.zeros(grid.nx * grid.ny)
    p = np.ones(grid.nx * grid.ny)
    islands = np.zeros(grid.nx * grid.ny, dtype=bool)
    z[grid.valid] = z_v
    p[grid.valid] = p_v
    islands[grid.valid] = isl_v
    return {"grid": grid, "counts": counts, "z": z, "p": p, "islands": islands}


def gistar_regions(  # noqa: PLR0913 - public keywords are its documented contract
    X: np.ndarray,
    *,
    study_area: Any,
    weights: np.ndarray | None = None,
    cell_size: float | None = None,
    alpha: float = 0.05,
    permutations: int = 999,
    cold: bool = False,
    seed: int = 0,
    min_incidents: int = 1,
) -> GridRegions:
    """Gi* hot (and cold) spots as merged significant cells.

    Parameters
    ----------
    X : ndarray, shape (n, 2)
        Incidents in metres.
    study_area : shapely geometry
        The area the grid covers (metric CRS).
    weights : ndarray, optional
        Weight per incident (default: counts).
    cell_size : float, optional
        Cell side in metres (default :func:`~ward_geo.analysis.study_grid.default_cell_size`).
    alpha : float, default 0.05
        False discovery rate.
    permutations : int, default 999
        Conditional permutations (0: analytic p-values, no numba).
    cold : bool, default False
        Also return cold spots (``spot_type == "cold"``).
    seed : int, default 0
        Permutation seed.
    min_incidents : int, default 1
        Fewest incidents for a hot spot (cold spots may have none).

    Returns
    -------
    GridRegions
        ``extra`` holds ``gi_z``, ``p_value`` and ``spot_type`` per spot.
    """
    import esda

    if not 0.0 < alpha < 1.0:
        raise ParameterError(f"alpha must be strictly between 0 and 1, got {alpha!r}")
    X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
    res = gistar_grid(X, study_area, weights=weights, cell_size=cell_size, permutations=permutations, seed=seed)
    grid = res["grid"]
    z, p = res["z"], res["p"]
    valid = grid.valid
    p_valid = p[valid]
    threshold = float(esda.fdr(p_valid, alpha)) if len(p_valid) else 0.0
    significant = valid & (p <= threshold) & ~res["islands"]
    cell_of_point = grid.cell_index(X)
    labels = np.full(len(X), -1, dtype=np.int64)
    polygons: list[Any] = []
    gi_z: list[float] = []
    p_value: list[float] = []
    spot_type: list[str] = []
    kinds = [("hot", significant & (z > 0))]
    if cold:
        kinds.append(("cold", significant & (z < 0)))
    for kind, mask in kinds:
        comp, k, polys = regions_from_cells(grid.raster(mask), grid.x0, grid.y0, grid.cell_size)
        if k == 0:
            continue
        comp_flat = comp.ravel()
        point_comp = np.where(cell_of_point >= 0, comp_flat[np.maximum(cell_of_point, 0)], 0)
        counts = np.bincount(point_comp, minlength=k + 1)[1:]
        keep = counts >= (min_incidents if kind == "hot" else 0)
        cells = np.flatnonzero(comp_flat)
        cid = comp_flat[cells]
        zc = np.full(k + 1, 0.0)
        pc = np.full(k + 1, 1.0)
        if kind == "hot":
            np.maximum.at(zc, cid, z[cells])
        else:
            np.minimum.at(zc, cid, z[cells])
        np.minimum.at(pc, cid, p[cells])
        base = len(polygons)
        remap = np.full(k + 1, -1, dtype=np.int64)
        remap[1:][keep] = base + np.arange(int(keep.sum()))
        sel = point_comp > 0
        new = remap[point_comp[sel]]
        labels[np.flatnonzero(sel)[new >= 0]] = new[new >= 0]
        for j in np.flatnonzero(keep):
            polygons.append(polys[j])
            gi_z.append(round(float(zc[j + 1]), 4))
            p_value.append(float(pc[j + 1]))
            spot_type.append(kind)
    params = {
        "cell_size": grid.cell_size,
        "n_cells": grid.n_cells,
        "n_islands": int(res["islands"].sum()),
        "alpha": alpha,
        "fdr_threshold": threshold,
        "permutations": permutations,
        "seed": seed,
        "cold": cold,
        "min_incidents": min_incidents,
        "reason": (
            f"Getis-Ord Gi* on {grid.n_cells:,} square cells of {grid.cell_size:g} m (queen contiguity, "
            f"binary weights, self included), "
            + (f"{permutations} conditional permutations" if permutations else "analytic normal p-values")
            + f", Benjamini-Hochberg FDR at {alpha:g} (p <= {threshold:.4g})"
        ),
    }
    out = np.empty(len(polygons), dtype=object)
    out[:] = polygons
    return GridRegions(
        labels,
        out,
        params,
        {
            "gi_z": np.asarray(gi_z, dtype=np.float64),
            "p_value": np.asarray(p_value, dtype=np.float64),
            "spot_type": np.asarray(spot_type, dtype=object),
        },
    )


def gi_star_on_grid(
    counts: np.ndarray, grid: Any, *, permutations: int = 0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gi* z, p and island flags over all cells of an existing grid, for per-cell counts.

    Used where many Gi* runs share one grid (backtest folds, trend time slices); cells
    outside the study area get z = 0, p = 1.
    """
    z_v, p_v, isl_v = _gi_star(counts, grid.valid, grid.nx, grid.ny, permutations=permutations, seed=seed)
    z = np.zeros(grid.nx * grid.ny)
    p = np.ones(grid.nx * grid.ny)
    islands = np.zeros(grid.nx * grid.ny, dtype=bool)
    z[grid.valid] = z_v
    p[grid.valid] = p_v
    islands[grid.valid] = isl_v
    return z, p, islands
