r"""Accuracy of a hotspot map against the incidents of a test window.

For a map that flags an area :math:`a` of a study area :math:`A`, with :math:`N` incidents in
the test window of which :math:`n` fall in the flagged area: the hit rate :math:`n / N`, the
Prediction Accuracy Index (PAI), the Predictive Efficiency Index (PEI) and the Recapture Rate
Index (RRI), as defined in :mod:`ward_geo.analysis.evaluation`. Undefined values are ``NaN``,
never 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ward_geo.analysis.study_grid import StudyGrid, make_grid
from ward_geo.errors import InputError, ParameterError
from ward_geo.projection import to_metric

__all__ = [
    "DEFAULT_SHARES",
    "accuracy_at_share",
    "accuracy_curve",
    "evaluate_hotspots",
    "flag_top_cells",
    "hit_rate",
    "pai",
    "pei",
    "rri",
    "study_area_for",
]

#: Shares of the study area at which accuracy curves are drawn (1 % … 20 %).
DEFAULT_SHARES: tuple[float, ...] = (0.01, 0.02, 0.03, 0.05, 0.075, 0.10, 0.15, 0.20)


def hit_rate(n: float, N: float) -> float:
    """Hit rate :math:`n / N`; NaN when there are no test incidents."""
    return float(n) / float(N) if N > 0 else math.nan


def pai(n: float, N: float, a: float, A: float) -> float:
    """Prediction Accuracy Index :math:`(n/N) / (a/A)`; NaN when undefined.

    Parameters
    ----------
    n, N : float
        Test incidents inside the flagged area, and all test incidents.
    a, A : float
        Flagged area and study area (same units).
    """
    if N <= 0 or a <= 0 or A <= 0:
        return math.nan
    return (float(n) / float(N)) / (float(a) / float(A))


def pei(n: float, n_best: float) -> float:
    """Predictive Efficiency Index :math:`n / n^{*}` (= PAI / best PAI at the same area)."""
    return float(n) / float(n_best) if n_best > 0 else math.nan


def rri(n_test: float, N_test: float, n_train: float, N_train: float) -> float:
    """Recapture Rate Index :math:`(n_{test}/N_{test}) / (n_{train}/N_{train})`."""
    if N_test <= 0 or N_train <= 0 or n_train <= 0:
        return math.nan
    return (float(n_test) / float(N_test)) / (float(n_train) / float(N_train))


def _k_cells(grid: StudyGrid, share: float) -> int:
    if not (0.0 < share <= 1.0):
        raise ParameterError(f"share of area flagged must be in (0, 1], got {share!r}")
    return max(1, min(grid.n_cells, int(round(share * grid.n_cells))))


def flag_top_cells(scores: np.ndarray, grid: StudyGrid, share: float) -> np.ndarray:
    """Boolean mask of the top-scoring valid cells covering ``share`` of the study area.

    Ties are broken by cell index, so the selection is deterministic.
    """
    k = _k_cells(grid, share)
    valid_idx = np.flatnonzero(grid.valid)
    s = np.asarray(scores, dtype=np.float64)[valid_idx]
    s = np.where(np.isfinite(s), s, -np.inf)
    order = np.lexsort((valid_idx, -s))  # descending score, then ascending index
    mask = np.zeros(grid.nx * grid.ny, dtype=bool)
    mask[valid_idx[order[:k]]] = True
    return mask


def _best_hits(test_counts: np.ndarray, grid: StudyGrid, k: int) -> float:
    valid_counts = np.sort(np.asarray(test_counts)[grid.valid])[::-1]
    return float(valid_counts[:k].sum())


def accuracy_at_share(
    scores: np.ndarray,
    grid: StudyGrid,
    test_counts: np.ndarray,
    n_test_total: int,
    *,
    share: float = 0.05,
    train_counts: np.ndarray | None = None,
    n_train_total: int | None = None,
) -> dict[str, float]:
    """Hit rate, PAI, PEI and RRI of flagging the top ``share`` of cells by ``scores``.

    ``n_test_total`` counts every test incident, including those outside the grid, so
    incidents outside the study area count as misses.
    """
    mask = flag_top_cells(scores, grid, share)
    k = int(mask.sum())
    n = float(np.asarray(test_counts)[mask].sum())
    a = k * grid.cell_area
    out = {
        "share": float(share),
        "flagged_area_m2": a,
        "n_hit": n,
        "n_test": float(n_test_total),
        "hit_rate": hit_rate(n, n_test_total),
        "pai": pai(n, n_test_total, a, grid.area),
        "pei": pei(n, _best_hits(test_counts, grid, k)),
        "rri": math.nan,
    }
    if train_counts is not None and n_train_total is not None:
        out["rri"] = rri(n, n_test_total, float(np.asarray(train_counts)[mask].sum()), n_train_total)
    return out


def accuracy_curve(
    scores: np.ndarray,
    grid: StudyGrid,
    test_counts: np.ndarray,
    n_test_total: int,
    shares: Sequence[float] = DEFAULT_SHARES,
) -> pd.DataFrame:
    """Hit rate and PAI against the share of area flagged."""
    rows = [accuracy_at_share(scores, grid, test_counts, n_test_total, share=s) for s in shares]
    return pd.DataFrame(rows)[["share", "hit_rate", "pai", "pei"]]


# ----------------------------------------------------------------------------- study area


def study_area_for(
    incidents_m: gpd.GeoDataFrame, boundaries_m: gpd.GeoDataFrame | None = None
) -> shapely.Geometry:
    """The study area A in the incidents' metric CRS: the wards' union, else the incidents' hull."""
    if boundaries_m is not None and len(boundaries_m):
        return shapely.union_all(boundaries_m.geometry.values)
    if len(incidents_m) < 3:
        raise InputError("need boundaries or at least 3 incidents to define a study area")
    hull = shapely.convex_hull(shapely.union_all(incidents_m.geometry.values))
    return hull.buffer(50.0)


def evaluate_hotspots(
    hotspots: gpd.GeoDataFrame,
    test_incidents: gpd.GeoDataFrame,
    *,
    boundaries: gpd.GeoDataFrame | None = None,
    train_incidents: gpd.GeoDataFrame | None = None,
    cell_size: float | None = None,
) -> dict[str, float]:
    """Accuracy of a set of hotspot polygons against test incidents.

    The flagged area ``a`` is the union of the hotspot polygons within the study area;
    ``n*`` for PEI is the best count reachable with the same area of grid cells.

    Returns
    -------
    dict
        ``hit_rate``, ``pai``, ``pei``, ``rri`` (NaN without ``train_incidents``),
        ``flagged_area_m2``, ``study_area_m2``, ``share``, ``n_hit``, ``n_test``.
    """
    if len(test_incidents) == 0:
        return {k: math.nan for k in ("hit_rate", "pai", "pei", "rri")} | {
            "n_hit": 0.0, "n_test": 0.0, "flagged_area_m2": math.nan, "study_area_m2": math.nan, "share": math.nan,
        }
    test_m, crs = to_metric(test_incidents)
    bounds_m = boundaries.to_crs(crs) if boundaries is not None else None
    area_poly = study_area_for(test_m, bounds_m)
    flagged = shapely.union_all(hotspots.to_crs(crs).geometry.values) if len(hotspots) else shapely.Polygon()
    flagged = shapely.intersection(flagged, area_poly)
    a = float(flagged.area)
    A = float(area_poly.area)
    shapely.prepare(flagged)
    xy = shapely.get_coordinates(test_m.geometry.values)
    inside = shapely.contains_xy(flagged, xy[:, 0], xy[:, 1]) if a > 0 else np.zeros(len(xy), bool)
    n = float(inside.sum())
    N = float(len(test_m))
    grid = make_grid(area_poly, cell_size)
    k = max(1, int(round(a / grid.cell_area))) if a > 0 else 0
    n_best = _best_hits(grid.counts(xy), grid, k) if k else 0.0
    out = {
        "hit_rate": hit_rate(n, N),
        "pai": pai(n, N, a, A),
        "pei": min(1.0, pei(n, n_best)) if n_best > 0 else math.nan,
        "rri": math.nan,
        "flagged_area_m2": a,
        "study_area_m2": A,
        "share": a / A if A else math.nan,
        "n_hit": n,
        "n_test": N,
    }
    if train_incidents is not None and len(train_incidents):
        txy = shapely.get_coordinates(train_incidents.to_crs(crs).geometry.values)
        n_train = float(shapely.contains_xy(flagged, txy[:, 0], txy[:, 1]).sum()) if a > 0 else 0.0
        out["rri"] = rri(n, N, n_train, len(txy))
    return out
