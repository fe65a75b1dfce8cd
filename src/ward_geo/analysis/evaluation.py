r"""How far to trust a hotspot map: accuracy metrics, rolling-origin backtests and tuning.

Metrics
-------
For a map that flags an area :math:`a` of a study area :math:`A`, with :math:`N` incidents in
the test window of which :math:`n` fall in the flagged area:

- **hit rate** :math:`H = n / N`;
- **Prediction Accuracy Index** (Chainey, Tompson & Uhlig 2008)
  :math:`PAI = (n / N) / (a / A)`: how many times better than flagging at random;
- **Predictive Efficiency Index** (Hunt 2016) :math:`PEI = PAI / PAI^{*} = n / n^{*}`, where
  :math:`n^{*}` is the largest number of test incidents any selection of grid cells with the same
  area :math:`a` could have captured (the best possible map, known only in hindsight);
- **Recapture Rate Index** (Levine 2008), as used here:
  :math:`RRI = (n_{test} / N_{test}) / (n_{train} / N_{train})`: the share of test incidents
  in the flagged area over the share of training incidents in it. RRI near 1 means the
  hotspots hold their share of incidents from one period to the next; below 1, they fade.

Undefined values (no test incidents, no training incidents in the flagged area) are ``NaN``
in Python and ``null`` in JSON, never 0.

The study area :math:`A` is explicit: the union of the wards by default, otherwise the
convex hull of the incidents. Every method is compared **at equal flagged area**: each
turns its training data into a score per grid cell, and the top-scoring cells are flagged
until the share of :math:`A` asked for (5 % by default) is reached.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ward_geo.analysis.study_grid import StudyGrid, make_grid
from ward_geo.categories import category_weight
from ward_geo.errors import InputError, ParameterError
from ward_geo.projection import to_metric

__all__ = [
    "hit_rate",
    "pai",
    "pei",
    "rri",
    "flag_top_cells",
    "accuracy_at_share",
    "accuracy_curve",
    "evaluate_hotspots",
    "study_area_for",
    "risk_surface",
    "parse_window",
    "rolling_folds",
    "Fold",
    "BacktestResult",
    "backtest",
    "TuningResult",
    "tune",
    "METHODS",
    "BASELINES",
    "DEFAULT_SHARES",
]

#: Shares of the study area at which accuracy curves are drawn (1 % … 20 %).
DEFAULT_SHARES: tuple[float, ...] = (0.01, 0.02, 0.03, 0.05, 0.075, 0.10, 0.15, 0.20)
#: Hotspot methods compared by the backtest.
METHODS: tuple[str, ...] = ("dbscan", "hdbscan", "stdbscan", "kde", "gistar")
#: Naive baselines: training-window counts per cell, and the last period's counts per cell.
BASELINES: tuple[str, ...] = ("grid_counts", "last_period")


# ----------------------------------------------------------------------------- metrics


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


# ----------------------------------------------------------------------------- risk surfaces


def _weights(frame: pd.DataFrame) -> np.ndarray:
    return np.ones(len(frame), dtype=np.float64)


def _clustered_mask(method: str, xy: np.ndarray, times: pd.Series, params: dict[str, Any]) -> np.ndarray:
    """Which training points belong to a cluster under ``method`` (noise excluded)."""
    if len(xy) == 0:
        return np.zeros(0, dtype=bool)
    if method == "dbscan":
        from ward_geo.cluster import DBSCAN
        from ward_geo.cluster import suggest_dbscan_params

        chosen = suggest_dbscan_params(
            xy, area_m2=params.get("area_m2"), eps=params.get("eps"), min_samples=params.get("min_samples")
        )
        eps, ms = chosen.eps, chosen.min_samples
        labels = DBSCAN(eps=float(eps), min_samples=int(ms)).fit(xy).labels_
    elif method == "hdbscan":
        from ward_geo.cluster import HDBSCAN

        mcs = int(params.get("min_cluster_size") or max(10, round(0.003 * len(xy))))
        if len(xy) <= mcs:
            return np.zeros(len(xy), dtype=bool)
        labels = HDBSCAN(min_cluster_size=mcs).fit(xy).labels_
    elif method == "stdbscan":
        from ward_geo.cluster import suggest_dbscan_params
        from ward_geo.cluster import STDBSCAN

        chosen = suggest_dbscan_params(
            xy, area_m2=params.get("area_m2"), eps=params.get("eps"), min_samples=params.get("min_samples")
        )
        eps, ms = chosen.eps, chosen.min_samples
        eps_t = pd.Timedelta(params.get("eps_t", "30D"))
        labels = STDBSCAN(eps_m=float(eps), eps_t=eps_t, min_samples=int(ms)).fit(xy, t=times).labels_
    else:  # pragma: no cover - guarded by risk_surface
        raise ParameterError(f"unknown clustering method {method!r}")
    return np.asarray(labels) >= 0


def risk_surface(
    method: str,
    grid: StudyGrid,
    train_xy: np.ndarray,
    train_times: pd.Series | None = None,
    *,
    origin: pd.Timestamp | None = None,
    last_period: pd.DateOffset | None = None,
    weights: np.ndarray | None = None,
    params: dict[str, Any] | None = None,
) -> np.ndarray:
    """Score per grid cell that ``method`` gives from the training incidents.

    - ``grid_counts``: (weighted) count per cell over the training window;
    - ``last_period``: count per cell over the last test-window-length before ``origin`` only
      (cells with equal counts are taken in cell order, like every tie);
    - ``kde``: Gaussian kernel density of the cell counts, bandwidth ``params["bandwidth"]``
      metres (default twice the cell size);
    - ``gistar``: Getis-Ord Gi* z-score of the cell counts (esda, queen contiguity);
    - ``dbscan`` / ``hdbscan`` / ``stdbscan``: count of *clustered* training incidents per
      cell (noise removed) first; when the clusters cover less than the share asked for, the
      rest of the area is filled by raw training counts (a small tie-break term), so the
      method then flags what the grid-count baseline flags beyond its clusters.
    """
    params = dict(params or {})
    counts = grid.counts(train_xy, weights)
    if method == "grid_counts":
        return counts
    if method == "last_period":
        if train_times is None or origin is None or last_period is None:
            raise ParameterError("last_period needs training times, the fold origin and the period length")
        recent = (train_times >= origin - last_period).to_numpy()
        return grid.counts(train_xy[recent], None if weights is None else weights[recent])
    if method == "kde":
        from scipy.ndimage import gaussian_filter

        bandwidth = float(params.get("bandwidth") or 2.0 * grid.cell_size)
        if bandwidth <= 0:
            raise ParameterError(f"bandwidth must be positive metres, got {bandwidth!r}")
        density = gaussian_filter(grid.raster(counts), sigma=bandwidth / grid.cell_size, mode="constant", truncate=3.0)
        return density.ravel()
    if method == "gistar":
        return _gistar_scores(grid, counts) + 1e-9 * counts
    if method in ("dbscan", "hdbscan", "stdbscan"):
        params.setdefault("area_m2", grid.area)
        times = train_times if train_times is not None else pd.Series(pd.NaT, index=range(len(train_xy)))
        clustered = _clustered_mask(method, train_xy, times, params)
        w = None if weights is None else weights[clustered]
        return grid.counts(train_xy[clustered], w) + 1e-3 * counts
    raise ParameterError(f"unknown method {method!r}; expected one of {METHODS + BASELINES}")


def _gistar_scores(grid: StudyGrid, counts: np.ndarray) -> np.ndarray:
    """Gi* z-scores of the cells (esda, analytical inference, queen neighbours)."""
    from ward_geo.analysis.gistar import gi_star_on_grid

    z, _, _ = gi_star_on_grid(counts, grid, permutations=0)
    return z


# ----------------------------------------------------------------------------- backtest

_WINDOW = re.compile(r"^\s*(\d+)\s*([DWMY])\s*$", re.IGNORECASE)


def parse_window(text: str | pd.DateOffset) -> pd.DateOffset:
    """Parse a window length such as ``"12M"``, ``"1M"``, ``"4W"``, ``"30D"``, ``"1Y"``."""
    if isinstance(text, pd.DateOffset):
        return text
    m = _WINDOW.match(str(text))
    if not m or int(m.group(1)) <= 0:
        raise ParameterError(f"window {text!r} is not a positive length such as 12M, 4W, 30D or 1Y")
    n, unit = int(m.group(1)), m.group(2).upper()
    return {
        "D": pd.DateOffset(days=n),
        "W": pd.DateOffset(weeks=n),
        "M": pd.DateOffset(months=n),
        "Y": pd.DateOffset(years=n),
    }[unit]


@dataclass(frozen=True)
class Fold:
    """One rolling-origin fold: train on ``[train_start, origin)``, test on ``[origin, test_end)``."""

    index: int
    train_start: pd.Timestamp
    origin: pd.Timestamp
    test_end: pd.Timestamp


def rolling_folds(
    times: pd.Series,
    *,
    train: str | pd.DateOffset = "12M",
    test: str | pd.DateOffset = "1M",
    step: str | pd.DateOffset = "1M",
    max_folds: int | None = None,
) -> list[Fold]:
    """Rolling-origin folds over the span of ``times`` (no test incident is ever in training).

    The first origin is the earliest time (floored to the day) plus ``train``; origins move
    by ``step`` while the test window starts at or before the latest incident (so data known
    only to the month, stamped on the month's first day, still get their last test window).
    With ``max_folds``, the most recent folds are kept.
    """
    t = pd.to_datetime(times, utc=True).dropna()
    if t.empty:
        raise InputError("no incident has a time; a backtest needs dated incidents")
    train_off, test_off, step_off = parse_window(train), parse_window(test), parse_window(step)
    start = t.min().floor("D")
    end = t.max()
    folds: list[Fold] = []
    origin = start + train_off
    while origin <= end:
        folds.append(Fold(len(folds), origin - train_off, origin, origin + test_off))
        origin = origin + step_off
        if len(folds) > 10_000:
            raise ParameterError("more than 10,000 folds: use a larger step")
    if not folds:
        raise InputError(
            f"the data span {start.date()} – {end.date()} is shorter than one training window ({train}) "
            f"plus one test window ({test})"
        )
    if max_folds is not None and max_folds > 0:
        folds = [Fold(i, f.train_start, f.origin, f.test_end) for i, f in enumerate(folds[-max_folds:])]
    return folds


@dataclass
class BacktestResult:
    """Per-fold scores, per-method summaries and accuracy curves of a backtest.

    Attributes
    ----------
    folds : DataFrame
        One row per (fold, method): window bounds, n_train, n_test, hit_rate, pai, pei, rri.
    curves : DataFrame
        Median hit rate and PAI over folds per (method, share).
    summary : DataFrame
        Per method: median and interquartile range of hit_rate, pai, pei and rri over folds.
    share : float
        The share of area at which the fold table is scored.
    study_area_m2, cell_size : float
    skipped : list of dict
        Folds left out, with the reason (no training or no test incidents).
    """

    folds: pd.DataFrame
    curves: pd.DataFrame
    summary: pd.DataFrame
    share: float
    study_area_m2: float
    cell_size: float
    metric_crs: str
    skipped: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)

    def best_method(self, *, metric: str = "pai_median", candidates: Iterable[str] | None = None) -> str:
        """The method with the highest median score (baselines included unless excluded)."""
        table = self.summary
        if candidates is not None:
            table = table[table["method"].isin(list(candidates))]
        table = table.dropna(subset=[metric])
        if table.empty:
            raise InputError("no method could be scored on these folds")
        return str(table.sort_values([metric, "method"], ascending=[False, True]).iloc[0]["method"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (NaN -> null, timestamps ISO 8601)."""
        return _json_safe(
            {
                "share": self.share,
                "study_area_m2": self.study_area_m2,
                "cell_size_m": self.cell_size,
                "metric_crs": self.metric_crs,
                "params": self.params,
                "summary": self.summary.to_dict(orient="records"),
                "folds": self.folds.to_dict(orient="records"),
                "curves": self.curves.to_dict(orient="records"),
                "skipped": self.skipped,
            }
        )

    def to_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, allow_nan=False, indent=2), encoding="utf-8")
        return path

    def plot(self, path: str | Path, *, title: str | None = None) -> Path:
        """Write a PNG with hit-rate and PAI curves against the share of area flagged."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
        for method, part in self.curves.groupby("method", sort=False):
            style = "--" if method in BASELINES else "-"
            ax1.plot(part["share"] * 100, part["hit_rate"] * 100, style, marker="o", ms=3, label=method)
            ax2.plot(part["share"] * 100, part["pai"], style, marker="o", ms=3, label=method)
        ax1.set_xlabel("area flagged (% of study area)")
        ax1.set_ylabel("hit rate (% of test incidents)")
        ax2.set_xlabel("area flagged (% of study area)")
        ax2.set_ylabel("PAI")
        for ax in (ax1, ax2):
            ax.grid(alpha=0.3)
        ax2.legend(fontsize=8)
        n_folds = self.folds["fold"].nunique() if len(self.folds) else 0
        fig.suptitle(title or f"Backtest accuracy (median over {n_folds} folds)")
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path)
        plt.close(fig)
        return path


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (pd.Timestamp,)):
        return None if pd.isna(obj) else obj.isoformat()
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if not np.isfinite(obj) else float(obj)
    if obj is pd.NaT:
        return None
    return obj


def _summarise(folds: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for method, part in folds.groupby("method", sort=False):
        row: dict[str, Any] = {"method": method, "folds": int(part["n_test"].gt(0).sum())}
        for metric in ("hit_rate", "pai", "pei", "rri"):
            values = part[metric].dropna()
            row[f"{metric}_median"] = float(values.median()) if len(values) else math.nan
            row[f"{metric}_q25"] = float(values.quantile(0.25)) if len(values) else math.nan
            row[f"{metric}_q75"] = float(values.quantile(0.75)) if len(values) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def backtest(
    incidents: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame | None = None,
    *,
    train: str | pd.DateOffset = "12M",
    test: str | pd.DateOffset = "1M",
    step: str | pd.DateOffset = "1M",
    methods: Sequence[str] = METHODS + BASELINES,
    share: float = 0.05,
    shares: Sequence[float] = DEFAULT_SHARES,
    cell_size: float | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    max_folds: int | None = None,
    weighted: bool = False,
    on_fold: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Rolling-origin evaluation of hotspot methods and naive baselines at equal flagged area.

    Parameters
    ----------
    incidents : GeoDataFrame
        Canonical incidents (``occurred_at`` required).
    boundaries : GeoDataFrame, optional
        Wards; their union is the study area (default: the incidents' convex hull).
    train, test, step : str or DateOffset
        Window lengths such as ``"12M"``, ``"1M"``, ``"4W"``.
    methods : sequence of str
        Any of :data:`METHODS` and :data:`BASELINES`.
    share : float
        Share of the study area flagged for the fold table (default 5 %).
    shares : sequence of float
        Shares for the accuracy curves.
    cell_size : float, optional
        Grid cell side in metres (default :func:`~ward_geo.analysis.study_grid.default_cell_size`).
    params : dict, optional
        Per-method parameters, e.g. ``{"dbscan": {"eps": 100, "min_samples": 10}, "kde": {"bandwidth": 200}}``.
    max_folds : int, optional
        Keep only the most recent folds.
    weighted : bool
        Weight incidents by category weight × severity (default: plain counts).
    on_fold : callable, optional
        Called as ``on_fold(done, total)`` after each fold (progress bars).

    Returns
    -------
    BacktestResult
    """
    unknown = [m for m in methods if m not in METHODS + BASELINES]
    if unknown:
        raise ParameterError(f"unknown method(s) {unknown}; expected any of {list(METHODS + BASELINES)}")
    if "occurred_at" not in incidents.columns:
        raise InputError("incidents have no occurred_at column; a backtest needs dated incidents")
    dated = incidents[incidents["occurred_at"].notna()]
    inc_m, crs = to_metric(dated)
    bounds_m = boundaries.to_crs(crs) if boundaries is not None else None
    grid = make_grid(study_area_for(inc_m, bounds_m), cell_size)
    xy = shapely.get_coordinates(inc_m.geometry.values)
    times = pd.to_datetime(inc_m["occurred_at"], utc=True).reset_index(drop=True)
    weights = None
    if weighted:
        sev = pd.to_numeric(inc_m.get("severity"), errors="coerce").fillna(1.0).to_numpy()
        weights = inc_m["category"].map(category_weight).to_numpy(dtype=float) * sev
    folds = rolling_folds(times, train=train, test=test, step=step, max_folds=max_folds)
    test_off = parse_window(test)
    params = {m: dict((params or {}).get(m, {})) for m in methods}
    rows: list[dict[str, Any]] = []
    curve_rows: list[pd.DataFrame] = []
    skipped: list[dict[str, Any]] = []
    for done, fold in enumerate(folds, start=1):
        tr = ((times >= fold.train_start) & (times < fold.origin)).to_numpy()
        te = ((times >= fold.origin) & (times < fold.test_end)).to_numpy()
        n_tr, n_te = int(tr.sum()), int(te.sum())
        if n_tr == 0 or n_te == 0:
            skipped.append(
                {"fold": fold.index, "origin": fold.origin.isoformat(),
                 "reason": "no training incidents" if n_tr == 0 else "no test incidents"}
            )
            if on_fold:
                on_fold(done, len(folds))
            continue
        train_xy, test_xy = xy[tr], xy[te]
        train_t = times[tr].reset_index(drop=True)
        w_tr = None if weights is None else weights[tr]
        test_counts = grid.counts(test_xy)
        train_counts = grid.counts(train_xy)
        for method in methods:
            scores = risk_surface(
                method, grid, train_xy, train_t, origin=fold.origin, last_period=test_off,
                weights=w_tr, params=params[method],
            )
            acc = accuracy_at_share(
                scores, grid, test_counts, n_te, share=share, train_counts=train_counts, n_train_total=n_tr
            )
            rows.append(
                {"fold": fold.index, "method": method, "train_start": fold.train_start, "origin": fold.origin,
                 "test_end": fold.test_end, "n_train": n_tr, "n_test": n_te,
                 "hit_rate": acc["hit_rate"], "pai": acc["pai"], "pei": acc["pei"], "rri": acc["rri"]}
            )
            curve = accuracy_curve(scores, grid, test_counts, n_te, shares)
            curve.insert(0, "method", method)
            curve.insert(0, "fold", fold.index)
            curve_rows.append(curve)
        if on_fold:
            on_fold(done, len(folds))
    fold_table = pd.DataFrame(rows, columns=[
        "fold", "method", "train_start", "origin", "test_end", "n_train", "n_test", "hit_rate", "pai", "pei", "rri",
    ])
    if curve_rows:
        all_curves = pd.concat(curve_rows, ignore_index=True)
        curves = all_curves.groupby(["method", "share"], sort=False)[["hit_rate", "pai", "pei"]].median().reset_index()
    else:
        curves = pd.DataFrame(columns=["method", "share", "hit_rate", "pai", "pei"])
    return BacktestResult(
        folds=fold_table,
        curves=curves,
        summary=_summarise(fold_table) if len(fold_table) else pd.DataFrame(columns=["method"]),
        share=share,
        study_area_m2=grid.area,
        cell_size=grid.cell_size,
        metric_crs=crs.to_string(),
        skipped=skipped,
        params=params,
    )


# ----------------------------------------------------------------------------- tuning


@dataclass
class TuningResult:
    """The method and parameters chosen by backtest PAI, with every candidate's scores."""

    method: str
    params: dict[str, Any]
    pai_median: float
    baseline_pai_median: float
    candidates: pd.DataFrame
    folds: int
    share: float

    def reason(self) -> str:
        gain = (self.pai_median / self.baseline_pai_median - 1.0) * 100 if self.baseline_pai_median > 0 else math.nan
        return (
            f"chose {self.method} {self.params} by median PAI at {self.share:.0%} of area over {self.folds} "
            f"backtest folds: {self.pai_median:.2f} vs {self.baseline_pai_median:.2f} for grid counts "
            f"({gain:+.0f}%)"
        )

    def to_dict(self) -> dict[str, Any]:
        return _json_safe(
            {"method": self.method, "params": self.params, "pai_median": self.pai_median,
             "baseline_pai_median": self.baseline_pai_median, "folds": self.folds, "share": self.share,
             "reason": self.reason(), "candidates": self.candidates.to_dict(orient="records")}
        )


def default_candidates(cell_size: float) -> list[tuple[str, dict[str, Any]]]:
    """The (method, params) grid searched by :func:`tune`."""
    out: list[tuple[str, dict[str, Any]]] = []
    for factor in (1.0, 2.0, 3.0):
        out.append(("kde", {"bandwidth": factor * cell_size}))
    for eps in (50.0, 100.0, 200.0):
        for ms in (5, 10, 20):
            out.append(("dbscan", {"eps": eps, "min_samples": ms}))
    out.append(("gistar", {}))
    return out


def tune(
    incidents: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame | None = None,
    *,
    until: pd.Timestamp | str | None = None,
    train: str = "12M",
    test: str = "1M",
    step: str = "1M",
    share: float = 0.05,
    max_folds: int = 6,
    cell_size: float | None = None,
    candidates: Sequence[tuple[str, dict[str, Any]]] | None = None,
) -> TuningResult:
    """Pick a hotspot method and its parameters by backtest PAI on the history before ``until``.

    Each candidate is backtested on the most recent ``max_folds`` folds that end before
    ``until``; the one with the highest median PAI at ``share`` wins (ties: simplest first,
    in the order of :func:`default_candidates`). The naive grid-count baseline is scored on
    the same folds and reported beside it.
    """
    history = incidents
    if until is not None:
        cut = pd.Timestamp(until)
        cut = cut.tz_localize("UTC") if cut.tzinfo is None else cut
        history = incidents[pd.to_datetime(incidents["occurred_at"], utc=True) < cut]
    if len(history) < 20:
        raise InputError(f"only {len(history)} incidents before the analysis window: too few to tune on")
    base = backtest(history, boundaries, train=train, test=test, step=step, methods=["grid_counts"],
                    share=share, shares=(share,), cell_size=cell_size, max_folds=max_folds)
    if base.folds.empty:
        raise InputError("no backtest fold with both training and test incidents before the analysis window")
    cell = base.cell_size
    rows = []
    for method, p in candidates or default_candidates(cell):
        res = backtest(history, boundaries, train=train, test=test, step=step, methods=[method], share=share,
                       shares=(share,), cell_size=cell, params={method: p}, max_folds=max_folds)
        rows.append({"method": method, "params": p, "pai_median": float(res.summary["pai_median"].iloc[0]),
                     "hit_rate_median": float(res.summary["hit_rate_median"].iloc[0])})
    table = pd.DataFrame(rows)
    best = table.dropna(subset=["pai_median"])
    if best.empty:
        raise InputError("no candidate could be scored on the history")
    pick = best.loc[best["pai_median"].idxmax()]
    return TuningResult(
        method=str(pick["method"]),
        params=dict(pick["params"]),
        pai_median=float(pick["pai_median"]),
        baseline_pai_median=float(base.summary["pai_median"].iloc[0]),
        candidates=table,
        folds=int(base.folds["fold"].nunique()),
        share=share,
    )
