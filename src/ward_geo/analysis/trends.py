"""Emerging hotspots: which places are new, growing, steady or fading.

The history is cut into time slices (months by default, or weeks). For every grid cell and
slice, the Getis-Ord Gi* statistic of the slice's cell counts (esda, queen contiguity,
analytical inference) says whether the cell is a significant hot or cold spot in that
slice, after a false-discovery-rate correction (esda.fdr). A Mann-Kendall test on the cell's
counts across slices (vectorised over cells; the same figures as pymannkendall's original test,
which the tests check) gives the trend. Each cell — and
each hotspot, through the cells it covers — then gets one class:

============== ==========================================================================
class          rule (``p`` = share of slices that are significant hot spots)
============== ==========================================================================
new            hot in the final slice and never before
consecutive    one unbroken run of hot slices ending in the final slice, ``p`` < 90 %
intensifying   hot in the final slice, ``p`` >= 90 %, counts increasing (Mann-Kendall)
persistent     hot in the final slice, ``p`` >= 90 %, no significant trend
diminishing    hot in the final slice, ``p`` >= 90 %, counts decreasing — or, ward_geo's
               extension, hot earlier, not in the final slice, counts decreasing
sporadic       hot in the final slice, on and off before, never a cold spot
oscillating    hot in the final slice and a significant cold spot in some earlier slice
historical     not hot in the final slice, but hot in at least 90 % of the earlier slices —
               or, ward_geo's extension for hotspots that stopped abruptly (which a
               Mann-Kendall test often misses), hot in at least 90 % of the slices from
               its first to its last hot slice, and not hot in the last two slices
no_pattern     none of the above (including never hot)
============== ==========================================================================

The classes follow the emerging hot spot analysis of space-time cubes in common GIS
tools; the 90 % threshold is the ``persistent_share`` parameter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ward_geo.analysis.evaluation import study_area_for
from ward_geo.analysis.study_grid import StudyGrid, default_cell_size, make_grid
from ward_geo.errors import InputError, ParameterError
from ward_geo.projection import to_metric

__all__ = [
    "TREND_CLASSES",
    "TREND_LABELS",
    "trend_label",
    "classify_series",
    "slice_counts",
    "mann_kendall",
    "emerging_hotspots",
    "classify_trends",
    "EmergingResult",
]

TREND_CLASSES: tuple[str, ...] = (
    "new", "consecutive", "intensifying", "persistent", "diminishing",
    "sporadic", "oscillating", "historical", "no_pattern",
)

#: Labels of the trend classes: ``{code: {"vi": ..., "en": ...}}``.
TREND_LABELS: dict[str, dict[str, str]] = {
    "new": {"vi": "Mới", "en": "New"},
    "consecutive": {"vi": "Liên tiếp", "en": "Consecutive"},
    "intensifying": {"vi": "Tăng mạnh", "en": "Intensifying"},
    "persistent": {"vi": "Kéo dài", "en": "Persistent"},
    "diminishing": {"vi": "Giảm dần", "en": "Diminishing"},
    "sporadic": {"vi": "Rải rác", "en": "Sporadic"},
    "oscillating": {"vi": "Dao động", "en": "Oscillating"},
    "historical": {"vi": "Trước đây", "en": "Historical"},
    "no_pattern": {"vi": "Không rõ xu hướng", "en": "No pattern"},
}


def trend_label(code: object, lang: str = "vi") -> str:
    """Label of a trend class in ``lang``; unknown values are returned as text."""
    labels = TREND_LABELS.get(str(code))
    return labels["en" if lang == "en" else "vi"] if labels else str(code)


def classify_series(
    hot: np.ndarray,
    cold: np.ndarray,
    mk_trend: str = "no trend",
    *,
    persistent_share: float = 0.9,
) -> str:
    """Classify one place from its per-slice hot/cold flags and its Mann-Kendall trend.

    Parameters
    ----------
    hot, cold : array of bool
        Per slice, oldest first: significant hot spot / significant cold spot.
    mk_trend : {"increasing", "decreasing", "no trend"}
        Mann-Kendall trend of the counts.
    persistent_share : float
        Share of slices that must be hot for persistent / intensifying / diminishing / historical.
    """
    hot = np.asarray(hot, dtype=bool)
    cold = np.asarray(cold, dtype=bool)
    n = len(hot)
    if n == 0 or not hot.any():
        return "no_pattern"
    share = hot.mean()
    if hot[-1]:
        if hot.sum() == 1:
            return "new"
        if cold[:-1].any():
            return "oscillating"
        if share >= persistent_share:
            if mk_trend == "increasing":
                return "intensifying"
            if mk_trend == "decreasing":
                return "diminishing"
            return "persistent"
        first = int(np.argmax(hot))
        if hot[first:].all():
            return "consecutive"
        return "sporadic"
    earlier = hot[:-1]
    if len(earlier) and earlier.mean() >= persistent_share:
        return "historical"
    first, last = int(np.argmax(hot)), n - 1 - int(np.argmax(hot[::-1]))
    if last <= n - 3 and last > first and hot[first : last + 1].mean() >= persistent_share:
        return "historical"
    if mk_trend == "decreasing":
        return "diminishing"
    return "no_pattern"


def mann_kendall(series: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mann-Kendall trend test of many series at once (one per column).

    The original test (Mann 1945; Kendall 1975; Gilbert 1987): the score
    ``S = sum_{i<j} sign(x_j - x_i)``, its variance with the correction for tied values
    ``(n(n-1)(2n+5) - sum_t t(t-1)(2t+5)) / 18``, the continuity-corrected
    ``z = (S - sign(S)) / sqrt(var)``, a two-sided normal p-value, and Kendall's
    ``tau = S / (n(n-1)/2)``. The same figures as ``pymannkendall.original_test`` for each column
    (the tests compare them), without its Theil-Sen slope, vectorised over columns.

    Parameters
    ----------
    series : ndarray, shape (n,) or (n, m)
        Values in time order; each column one series.
    alpha : float, default 0.05
        Significance level of the two-sided test.

    Returns
    -------
    trend : ndarray of str, shape (m,)
        ``"increasing"``, ``"decreasing"`` or ``"no trend"`` (also for series shorter than 4 or
        flat, whose p-value is 1 and tau 0).
    p : ndarray of float, shape (m,)
    tau : ndarray of float, shape (m,)
    """
    from scipy.stats import norm

    x = np.asarray(series, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    n, m = x.shape
    s = np.zeros(m)
    ties = np.zeros(m)
    block = max(1, 4_000_000 // max(n * n, 1))  # columns per block: at most 4 million comparisons
    upper = np.triu(np.ones((n, n), dtype=bool), 1)[:, :, None]  # pairs i < j
    for lo in range(0, m, block):
        xb = x[:, lo:lo + block]
        diff = xb[None, :, :] - xb[:, None, :]  # diff[i, j] = x_j - x_i
        s[lo:lo + block] = np.where(upper, np.sign(diff), 0.0).sum(axis=(0, 1))
        t = (diff == 0).sum(axis=1)  # size of the tie group of every value (itself included)
        ties[lo:lo + block] = ((t - 1) * (2 * t + 5)).sum(axis=0)
    var = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    flat = (n < 4) | np.all(x == x[:1], axis=0) | (var <= 0)
    root = np.sqrt(np.where(flat, 1.0, var))
    z = np.where(s > 0, (s - 1) / root, np.where(s < 0, (s + 1) / root, 0.0))
    p = 2 * (1 - norm.cdf(np.abs(z)))
    significant = np.abs(z) > norm.ppf(1 - alpha / 2)
    trend = np.where(significant & (z > 0), "increasing", np.where(significant & (z < 0), "decreasing", "no trend"))
    tau = s / (0.5 * n * (n - 1)) if n > 1 else np.zeros(m)
    trend = np.where(flat, "no trend", trend).astype(object)
    return trend, np.where(flat, 1.0, p), np.where(flat, 0.0, tau)


def _mann_kendall(series: np.ndarray, alpha: float) -> tuple[str, float, float]:
    """Mann-Kendall trend, p-value and Kendall's tau of one series (see :func:`mann_kendall`)."""
    trend, p, tau = mann_kendall(np.asarray(series, dtype=float), alpha)
    return str(trend[0]), float(p[0]), float(tau[0])


def slice_counts(
    times: pd.Series, cells: np.ndarray, n_cells: int, freq: str = "M", timezone: str | None = None
) -> tuple[np.ndarray, pd.PeriodIndex]:
    """Counts per (slice, cell): an array of shape (n_slices, n_cells) and the slice labels.

    Slices are local calendar months or weeks in ``timezone`` (default the ``timezone``
    setting), so an incident just after local midnight on the 1st counts in its own month.
    """
    if freq not in {"M", "W"}:
        raise ParameterError(f"time slices must be 'M' (months) or 'W' (weeks), got {freq!r}")
    if timezone is None:
        from ward_geo.settings import get_settings

        timezone = get_settings().timezone
    t = pd.to_datetime(times, utc=True).dt.tz_convert(timezone).dt.tz_localize(None)
    periods = t.dt.to_period(freq)
    labels = pd.period_range(periods.min(), periods.max(), freq=freq)
    slice_idx = (periods - labels[0]).map(lambda off: off.n).to_numpy(dtype=np.int64)
    keep = cells >= 0
    flat = slice_idx[keep] * n_cells + cells[keep]
    counts = np.bincount(flat, minlength=len(labels) * n_cells).reshape(len(labels), n_cells)
    return counts.astype(np.float64), labels


def _gistar_flags(grid: StudyGrid, counts: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-slice significant hot / cold cells (Gi*, FDR-corrected), shape (n_slices, n_cells)."""
    import esda

    from ward_geo.analysis.gistar import gi_star_on_grid

    hot = np.zeros_like(counts, dtype=bool)
    cold = np.zeros_like(counts, dtype=bool)
    valid = grid.valid
    for s in range(counts.shape[0]):
        y = counts[s]
        if y.sum() == 0 or np.ptp(y[valid]) == 0:
            continue
        z, p, _ = gi_star_on_grid(y, grid, permutations=0)
        p_two = np.clip(2.0 * p[valid], 0.0, 1.0)
        sig = np.zeros_like(valid)
        sig[valid] = p_two <= esda.fdr(p_two, alpha)
        hot[s] = sig & (z > 0)
        cold[s] = sig & (z < 0)
    return hot, cold


@dataclass
class EmergingResult:
    """Per-cell emerging-hotspot classes and the per-slice data behind them."""

    cells: gpd.GeoDataFrame
    slices: pd.PeriodIndex
    grid: StudyGrid
    counts: np.ndarray
    hot: np.ndarray
    cold: np.ndarray
    metric_crs: str


def emerging_hotspots(
    incidents: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame | None = None,
    *,
    freq: str = "M",
    cell_size: float | None = None,
    alpha: float = 0.05,
    persistent_share: float = 0.9,
) -> EmergingResult:
    """Emerging-hotspot classes for every grid cell with incidents.

    The default cell is 50 m for ward-sized study areas (hotspots there are tens of metres
    across), growing with the area as :func:`~ward_geo.analysis.study_grid.default_cell_size`.

    Returns
    -------
    EmergingResult
        ``cells`` is a GeoDataFrame (EPSG:4326) of cell squares with ``cell``, ``n_incidents``,
        ``hot_slices``, ``n_slices``, ``mk_trend``, ``mk_p``, ``mk_tau`` and ``trend``.
    """
    dated = incidents[incidents["occurred_at"].notna()]
    if len(dated) == 0:
        raise InputError("no dated incidents: trend classes need occurred_at")
    inc_m, crs = to_metric(dated)
    bounds_m = boundaries.to_crs(crs) if boundaries is not None else None
    area = study_area_for(inc_m, bounds_m)
    grid = make_grid(area, cell_size if cell_size is not None else default_cell_size(area.area, minimum=50.0))
    cells = grid.cell_index(shapely.get_coordinates(inc_m.geometry.values))
    n_all = grid.nx * grid.ny
    counts, labels = slice_counts(inc_m["occurred_at"], cells, n_all, freq)
    hot, cold = _gistar_flags(grid, counts, alpha)
    totals = counts.sum(axis=0)
    active = np.flatnonzero((totals > 0) & grid.valid)
    rows = []
    trends, ps, taus = mann_kendall(counts[:, active], alpha)
    for c, trend, p, tau in zip(active.tolist(), trends.tolist(), ps.tolist(), taus.tolist(), strict=True):
        rows.append(
            {"cell": int(c), "n_incidents": int(totals[c]), "hot_slices": int(hot[:, c].sum()),
             "n_slices": len(labels), "mk_trend": trend, "mk_p": p, "mk_tau": tau,
             "trend": classify_series(hot[:, c], cold[:, c], trend, persistent_share=persistent_share)}
        )
    frame = pd.DataFrame(rows, columns=["cell", "n_incidents", "hot_slices", "n_slices", "mk_trend", "mk_p",
                                        "mk_tau", "trend"])
    geoms: list[Any] = list(grid.cell_polygons(frame["cell"].to_numpy())) if len(frame) else []
    out = gpd.GeoDataFrame(frame, geometry=list(geoms), crs=crs).to_crs(4326)
    return EmergingResult(out, labels, grid, counts, hot, cold, crs.to_string())


def classify_trends(
    hotspots: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame | None = None,
    *,
    freq: str = "M",
    cell_size: float | None = None,
    alpha: float = 0.05,
    persistent_share: float = 0.9,
    emerging: EmergingResult | None = None,
) -> gpd.GeoDataFrame:
    """Return ``hotspots`` with a ``trend`` class (and ``trend_detail``) for each hotspot.

    A hotspot is hot in a slice when any grid cell it covers is a significant Gi* hot spot
    in that slice (cold likewise, when none is hot); its Mann-Kendall trend is computed on
    the incidents of those cells per slice.
    """
    out = hotspots.copy()
    if len(out) == 0:
        out["trend"] = pd.Series(dtype=object)
        out["trend_detail"] = pd.Series(dtype=object)
        return out
    res = emerging or emerging_hotspots(
        incidents, boundaries, freq=freq, cell_size=cell_size, alpha=alpha, persistent_share=persistent_share
    )
    grid = res.grid
    polys = out.to_crs(res.metric_crs).geometry.values
    valid_idx = np.flatnonzero(grid.valid)
    boxes = grid.cell_polygons(valid_idx)
    tree = shapely.STRtree(boxes)
    hit_poly, hit_box = tree.query(polys, predicate="intersects")
    trends: list[str] = []
    details: list[dict[str, object] | None] = []
    for i in range(len(out)):
        cells = valid_idx[hit_box[hit_poly == i]]
        if len(cells) == 0:
            trends.append("no_pattern")
            details.append(None)
            continue
        hot = np.asarray(res.hot[:, cells].any(axis=1), dtype=bool)
        cold = np.asarray(res.cold[:, cells].any(axis=1), dtype=bool) & ~hot
        series = res.counts[:, cells].sum(axis=1)
        mk_trend, p, tau = _mann_kendall(series, alpha)
        trends.append(classify_series(hot, cold, mk_trend, persistent_share=persistent_share))
        details.append(
            {"slices": [str(s) for s in res.slices], "counts": [int(v) for v in series],
             "hot": [bool(v) for v in hot], "mk_trend": mk_trend,
             "mk_p": None if math.isnan(p) else round(p, 6), "mk_tau": round(tau, 4)}
        )
    out["trend"] = trends
    out["trend_detail"] = details
    return out
