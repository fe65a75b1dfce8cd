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

The study area :math:`A` is the wards analysed (those asked for, else those holding
incidents), never the whole file's extent. :func:`backtest` scores **what users get**: for
each rolling fold the hotspot set is built from the training window by the same code as
:func:`ward_geo.analysis.hotspots.find_hotspots` (one method registry), its polygons are taken
by rank while they fit in the share of :math:`A` (1 % and 5 %), and they are scored on the test
window beside naive maps flagging **the same area** (prior counts, last period, a KDE map) and
the best possible (PEI), with a bootstrap interval of the ratio to prior counts.
:func:`select_method` uses that evidence for ``method="auto"``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ward_geo.analysis.accuracy import (
    DEFAULT_SHARES,
    accuracy_at_share,
    accuracy_curve,
    evaluate_hotspots,
    flag_top_cells,
    hit_rate,
    pai,
    pei,
    rri,
    study_area_for,
)
from ward_geo.analysis.backtest_folds import Fold, parse_window, rolling_folds
from ward_geo.analysis.study_grid import StudyGrid, make_grid
from ward_geo.errors import InputError, ParameterError
from ward_geo.jsonsafe import json_safe

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
    "parse_window",
    "rolling_folds",
    "Fold",
    "BacktestResult",
    "backtest",
    "cell_inclusion",
    "MethodSelection",
    "select_method",
    "AUTO_CANDIDATES",
    "BASELINES",
    "DEFAULT_SHARES",
    "DELIVERED_SHARES",
]


def _plain_dict(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as plain JSON data (the shared sanitiser: NaN -> null, timestamps ISO 8601)."""
    plain: dict[str, Any] = json_safe(data)
    return plain


# ----------------------------------------------------------------------------- delivered backtest

#: Methods ``method="auto"`` chooses among (earlier wins a tie).
AUTO_CANDIDATES: tuple[str, ...] = ("recency", "dbscan", "kde", "counts")
#: Naive baselines scored beside every method at the same flagged area.
BASELINES: tuple[str, ...] = ("prior_counts", "last_period", "kde_map")
#: Shares of the study area at which delivered hotspots are scored.
DELIVERED_SHARES: tuple[float, ...] = (0.01, 0.05)
#: Cell side of the baselines (metres) and the Gaussian of the KDE baseline.
BASELINE_CELL_M = 50.0
BASELINE_KDE_SIGMA_M = 100.0
#: Largest baseline grid; coarser cells above it.
_MAX_BASELINE_CELLS = 300_000


def cell_inclusion(scores: np.ndarray, valid: np.ndarray, n_cells: float) -> np.ndarray:
    """Probability that each cell is flagged when the top ``n_cells`` valid cells are taken.

    ``n_cells`` may be fractional (an area between whole cells). Cells tied with the last cell
    taken share what is left of the area equally, so the expected hits of a selection do not
    depend on how ties happen to be ordered.
    """
    p = np.zeros(len(scores), dtype=np.float64)
    idx = np.flatnonzero(valid)
    if len(idx) == 0 or n_cells <= 0:
        return p
    s = np.asarray(scores, dtype=np.float64)[idx]
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    uniq, starts = np.unique(-s_sorted, return_index=True)
    ends = np.r_[starts[1:], len(s_sorted)]
    left = float(min(n_cells, len(idx)))
    for a, b in zip(starts, ends, strict=True):
        size = b - a
        if left >= size:
            p[idx[order[a:b]]] = 1.0
            left -= size
        else:
            p[idx[order[a:b]]] = left / size
            left = 0.0
        if left <= 0:
            break
    return p


@dataclass
class BacktestResult:
    """Scores of delivered hotspot polygons and the naive baselines at the same area.

    Attributes
    ----------
    folds : DataFrame
        One row per (fold, method, share): window, n_train, n_test, n_hotspots taken,
        flagged_area_m2, hit_rate, pai, pei and the PAI of each baseline at that area.
    summary : DataFrame
        Per (method, share): folds scored, median hit rate, PAI (with quartiles), PEI, the
        baselines' median PAI, and ``ratio_to_counts`` (test incidents captured over those of
        prior counts at the same areas, pooled over folds) with a bootstrap 90 % interval.
    shares : tuple of float
    study_area_m2, cell_size : float
    metric_crs : str
    skipped : list of dict
        Folds left out and why.
    notes : list of str
        Warnings: degenerate study areas, ties.
    """

    folds: pd.DataFrame
    summary: pd.DataFrame
    shares: tuple[float, ...]
    study_area_m2: float
    cell_size: float
    metric_crs: str
    skipped: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def at(self, share: float = 0.05) -> pd.DataFrame:
        """The summary rows at one share."""
        return self.summary[np.isclose(self.summary["share"], share)].reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (NaN -> null, timestamps ISO 8601)."""
        return _plain_dict({
            "shares": list(self.shares), "study_area_m2": self.study_area_m2, "cell_size_m": self.cell_size,
            "metric_crs": self.metric_crs, "params": self.params, "notes": self.notes,
            "summary": self.summary.to_dict(orient="records"), "folds": self.folds.to_dict(orient="records"),
            "skipped": self.skipped,
        })

    def to_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as UTF-8 JSON to ``path`` and return the path."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, allow_nan=False, indent=2), encoding="utf-8")
        return path

    def plot(self, path: str | Path, *, title: str | None = None) -> Path:
        """Write a PNG: median PAI of each method and baseline at each share."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(self.shares), figsize=(5.5 * len(self.shares), 4.2), dpi=110, squeeze=False)
        for ax, share in zip(axes[0], self.shares, strict=True):
            rows = self.at(share)
            labels = list(rows["method"]) + list(BASELINES)
            values = list(rows["pai_median"]) + [float(np.nanmedian(rows[f"{b}_pai_median"])) if len(rows) else math.nan
                                                 for b in BASELINES]
            colours = ["#c0392b"] * len(rows) + ["#7f8c8d"] * len(BASELINES)
            ax.bar(range(len(labels)), values, color=colours)
            ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
            ax.set_title(f"{share:.0%} of the study area")
            ax.set_ylabel("median PAI over folds")
            ax.grid(axis="y", alpha=0.3)
        n_folds = self.folds["fold"].nunique() if len(self.folds) else 0
        fig.suptitle(title or f"Delivered hotspots vs baselines ({n_folds} folds)")
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path)
        plt.close(fig)
        return path


def _baseline_grid(area: Any, cell_size: float) -> StudyGrid:
    minx, miny, maxx, maxy = area.bounds
    cell = max(cell_size, math.sqrt(max((maxx - minx) * (maxy - miny), 1.0) / _MAX_BASELINE_CELLS))
    return make_grid(area, float(math.ceil(cell)))


def _take_by_rank(polys_m: np.ndarray, area: Any, limit_m2: float) -> tuple[Any, int]:
    """Union of the longest rank prefix of polygons whose total area in the study area fits the limit."""
    if len(polys_m) == 0:
        return shapely.Polygon(), 0
    inside = shapely.contains(area, polys_m)
    clipped = np.asarray(polys_m, dtype=object).copy()
    if (~inside).any():
        clipped[~inside] = shapely.intersection(clipped[~inside], area)
    sizes = shapely.area(clipped)
    n = int(np.searchsorted(np.cumsum(sizes), limit_m2 * (1 + 1e-9), side="right"))
    if n == 0:
        return shapely.Polygon(), 0
    return shapely.union_all(clipped[:n]), n


def _smooth(grid: StudyGrid, counts: np.ndarray, sigma_m: float) -> np.ndarray:
    from scipy import ndimage

    smoothed: np.ndarray = ndimage.gaussian_filter(grid.raster(counts), sigma=sigma_m / grid.cell_size,
                                                   mode="constant", truncate=3.0).ravel()
    return smoothed


def _check_backtest_args(methods: Sequence[str], shares: Sequence[float], registered: tuple[str, ...]) -> None:
    """Raise a clear error for an unknown method or a share outside (0, 1)."""
    unknown = [m for m in methods if m not in registered and m != "auto"]
    if unknown:
        raise ParameterError(f"unknown method(s) {unknown}; expected auto or any of {list(registered)}")
    bad_shares = [s for s in shares if not (isinstance(s, int | float) and 0.0 < float(s) < 1.0)]
    if bad_shares or not shares:
        raise ParameterError(f"shares must be fractions strictly between 0 and 1, got {list(shares)!r}")


@dataclass(frozen=True)
class _FoldScoring:
    """What every method of one fold is scored against: the study area and the test window."""

    grid: StudyGrid
    area: Any
    area_m2: float
    test_xy: np.ndarray
    test_cells: np.ndarray
    test_counts: np.ndarray
    baselines: dict[str, np.ndarray]


def _score_at_share(
    scoring: _FoldScoring, polys_m: np.ndarray, share: float
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Score the hotspots taken by rank within ``share`` of the area, and the baselines at that area.

    Returns the metrics of the fold table's row, which test incidents the hotspots hold, and
    each test incident's inclusion in the prior-counts map.
    """
    grid, area, A = scoring.grid, scoring.area, scoring.area_m2
    n_te = len(scoring.test_xy)
    taken, n_taken = _take_by_rank(polys_m, area, share * A)
    a = float(taken.area)
    inside = np.zeros(n_te, dtype=bool)
    if a > 0:
        shapely.prepare(taken)
        inside = shapely.contains_xy(taken, scoring.test_xy[:, 0], scoring.test_xy[:, 1])
    n = float(inside.sum())
    k_cells = a / grid.cell_area
    best = float((cell_inclusion(scoring.test_counts, grid.valid, k_cells) * scoring.test_counts).sum())
    metrics: dict[str, Any] = {
        "n_taken": n_taken, "flagged_area_m2": a, "n_hit": n, "hit_rate": hit_rate(n, n_te),
        "pai": pai(n, n_te, a, A) if a > 0 else math.nan,
        "pei": pei(n, best) if a > 0 else math.nan,
    }
    counts_p = np.zeros(n_te)
    for name, scores in scoring.baselines.items():
        p = cell_inclusion(scores, grid.valid, k_cells)
        per_incident = np.where(scoring.test_cells >= 0, p[np.maximum(scoring.test_cells, 0)], 0.0)
        nb = float(per_incident.sum())
        metrics[f"{name}_hit_rate"] = hit_rate(nb, n_te)
        metrics[f"{name}_pai"] = pai(nb, n_te, a, A) if a > 0 else math.nan
        if name == "prior_counts":
            counts_p = per_incident
    return metrics, inside, counts_p


def backtest(  # noqa: PLR0913 - public keywords are its documented contract
    incidents: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame | None = None,
    *,
    ward_ids: Sequence[str] | None = None,
    methods: Sequence[str] = AUTO_CANDIDATES,
    train: str | pd.DateOffset = "12M",
    test: str | pd.DateOffset = "1M",
    step: str | pd.DateOffset | None = None,
    shares: Sequence[float] = DELIVERED_SHARES,
    max_folds: int | None = 6,
    cell_size: float = BASELINE_CELL_M,
    params: dict[str, dict[str, Any]] | None = None,
    options: dict[str, Any] | None = None,
    bootstrap: int = 500,
    seed: int = 0,
    timezone: str | None = None,
    on_fold: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Rolling-origin backtest of the hotspots users get, beside naive baselines at equal area.

    For each fold the hotspot set is built from the training window only, with the same code
    :func:`~ward_geo.analysis.hotspots.find_hotspots` runs
    (:func:`~ward_geo.analysis.hotspots.delivered_hotspots`); its polygons, taken by rank while
    their union fits in ``share`` of the study area, are scored on the test window. The
    baselines flag the same area of ``cell_size`` cells: prior counts (training counts), last
    period (counts in the last test-length of training) and a KDE map (training counts smoothed
    with a 100 m Gaussian); ties at the cut are shared (expected value). PEI divides by the most
    test incidents any cells of that area could hold (polygons finer than cells can exceed 1).

    Parameters
    ----------
    incidents : GeoDataFrame
        Canonical incidents; ``occurred_at`` required.
    boundaries : GeoDataFrame, optional
        Wards. The study area is ``ward_ids`` among them, else the wards holding incidents,
        else the incidents' convex hull buffered by 200 m.
    ward_ids : sequence of str, optional
        The study wards (incidents outside them are ignored).
    methods : sequence of str
        Registered hotspot methods, or ``"auto"`` (the default of ``find_hotspots``: each
        fold's method is chosen by :func:`select_method` on that fold's training window).
    train, test, step : str or DateOffset
        Window lengths (``"12M"``, ``"1M"``, ``"4W"``); ``step`` defaults to ``test``.
    shares : sequence of float
        Shares of the study area scored (default 1 % and 5 %).
    max_folds : int, optional
        Keep the most recent folds (default 6).
    cell_size : float, default 50
        Baseline cell side (metres; coarser for very large areas).
    params : dict, optional
        Per-method parameters, e.g. ``{"dbscan": {"eps": 100, "min_samples": 10}}``.
    options : dict, optional
        Options for every method (``max_across_m``, ``horizon``, ...).
    bootstrap : int, default 500
        Resamples of test incidents (within folds) for the interval of ``ratio_to_counts``.
    seed : int, default 0
    timezone : str, optional
    on_fold : callable, optional
        ``on_fold(done, total)`` after each fold.

    Returns
    -------
    BacktestResult
    """
    from ward_geo.analysis.hotspots import delivered_hotspots
    from ward_geo.analysis.hotspots.registry import REGISTRY
    from ward_geo.analysis.hotspots.request import canonical_order, metric_xy, study_area, study_wards

    _check_backtest_args(methods, shares, tuple(REGISTRY))
    if "occurred_at" not in incidents.columns:
        raise InputError("incidents have no occurred_at column; a backtest needs dated incidents")
    gdf = incidents[incidents["occurred_at"].notna()]
    if gdf.attrs:  # pandas deep-copies attrs on every column access
        gdf = gdf.copy(deep=False)
        gdf.attrs = {}
    wards = list(ward_ids) if ward_ids is not None else None
    if wards is not None and "ward_id" in gdf.columns:
        gdf = gdf[gdf["ward_id"].isin(wards)]
    if len(gdf) == 0:
        raise InputError("no dated incident in the study area; a backtest needs dated incidents")
    gdf = canonical_order(gdf)
    X, crs = metric_xy(gdf)
    boundaries_m = boundaries.to_crs(crs) if boundaries is not None and len(boundaries) else None
    wards_m = study_wards(boundaries_m, X, wards)
    area = study_area(wards_m, X)
    study_ids = wards_m["ward_id"].astype(str).tolist() if wards_m is not None else None
    A = float(area.area)
    grid = _baseline_grid(area, cell_size)
    times = pd.to_datetime(gdf["occurred_at"], utc=True).reset_index(drop=True)
    test_off = parse_window(test)
    folds = rolling_folds(times, train=train, test=test, step=step if step is not None else test,
                          max_folds=max_folds)
    cells = grid.cell_index(X)
    shapely.prepare(area)
    params = {m: dict((params or {}).get(m, {})) for m in methods}
    rows: list[dict[str, Any]] = []
    pooled: dict[tuple[str, float], list[tuple[np.ndarray, np.ndarray]]] = {}
    skipped: list[dict[str, Any]] = []
    notes: list[str] = []
    for done, fold in enumerate(folds, start=1):
        tr = ((times >= fold.train_start) & (times < fold.origin)).to_numpy()
        te = ((times >= fold.origin) & (times < fold.test_end)).to_numpy()
        n_tr, n_te = int(tr.sum()), int(te.sum())
        if n_tr == 0 or n_te == 0:
            skipped.append({"fold": fold.index, "origin": fold.origin.isoformat(),
                            "reason": "no training incidents" if n_tr == 0 else "no test incidents"})
            if on_fold:
                on_fold(done, len(folds))
            continue
        train_counts = np.bincount(cells[tr & (cells >= 0)], minlength=grid.nx * grid.ny).astype(float)
        last = tr & (times >= fold.origin - test_off).to_numpy()
        last_counts = np.bincount(cells[last & (cells >= 0)], minlength=grid.nx * grid.ny).astype(float)
        baseline_scores = {"prior_counts": train_counts, "last_period": last_counts,
                           "kde_map": _smooth(grid, train_counts, BASELINE_KDE_SIGMA_M)}
        test_idx = np.flatnonzero(te)
        test_cells = cells[test_idx]
        test_counts = np.bincount(test_cells[test_cells >= 0], minlength=grid.nx * grid.ny).astype(float)
        train_frame = gdf.iloc[np.flatnonzero(tr)]
        for method in methods:
            opts = {**(options or {}), **params[method]}
            eps = opts.pop("eps", None)
            min_samples = opts.pop("min_samples", None)
            chosen = method
            if method == "auto":  # what find_hotspots delivers by default: chosen on the training window only
                chosen = select_method(train_frame, boundaries, since=fold.train_start, until=fold.origin,
                                       ward_ids=study_ids, options=opts, timezone=timezone).method
            hs = delivered_hotspots(train_frame, boundaries, chosen, eps=eps, min_samples=min_samples,
                                    since=fold.train_start, until=fold.origin, ward_ids=study_ids,
                                    options=opts, timezone=timezone, outlines_only=True)
            polys_m = np.asarray(hs.to_crs(crs).geometry.values, dtype=object) if len(hs) else np.empty(0, object)
            top_share = float(shapely.area(shapely.intersection(polys_m[0], area))) / A if len(polys_m) else math.nan
            scoring = _FoldScoring(grid, area, A, X[test_idx], test_cells, test_counts, baseline_scores)
            for share in shares:
                metrics, inside, counts_p = _score_at_share(scoring, polys_m, float(share))
                a = metrics["flagged_area_m2"]
                row: dict[str, Any] = {
                    "fold": fold.index, "method": method, "share": float(share),
                    "train_start": fold.train_start, "origin": fold.origin, "test_end": fold.test_end,
                    "n_train": n_tr, "n_test": n_te, "chosen": chosen, "n_hotspots": int(len(hs)),
                    "top_share": top_share, **metrics,
                }
                rows.append(row)
                pooled.setdefault((method, float(share)), []).append((inside.astype(float), counts_p))
                if a > 0 and row["prior_counts_hit_rate"] >= 0.999 and row["hit_rate"] >= 0.999:
                    note = (f"degenerate at {share:.0%}: the flagged area holds every test incident for both "
                            f"{method} and prior counts (the study area is far larger than where incidents occur)")
                    if note not in notes:
                        notes.append(note)
        if on_fold:
            on_fold(done, len(folds))
    columns = ["fold", "method", "share", "train_start", "origin", "test_end", "n_train", "n_test", "chosen",
               "n_hotspots", "top_share",
               "n_taken", "flagged_area_m2", "n_hit", "hit_rate", "pai", "pei"]
    columns += [f"{b}_{m}" for b in BASELINES for m in ("hit_rate", "pai")]
    fold_table = pd.DataFrame(rows, columns=columns)
    summary = _summarise(fold_table, pooled, bootstrap, seed)
    return BacktestResult(fold_table, summary, tuple(float(s) for s in shares), A, grid.cell_size,
                          crs.to_string(), skipped, params, notes)


def _ratio_interval(
    parts: list[tuple[np.ndarray, np.ndarray]], bootstrap: int, seed: int
) -> tuple[float, float, float]:
    hits = sum(float(h.sum()) for h, _ in parts)
    base = sum(float(b.sum()) for _, b in parts)
    ratio = hits / base if base > 0 else math.nan
    if bootstrap <= 0 or base <= 0:
        return ratio, math.nan, math.nan
    rng = np.random.default_rng(seed)
    num = np.zeros(bootstrap)
    den = np.zeros(bootstrap)
    for h, b in parts:
        if len(h) == 0:
            continue
        draw = rng.integers(0, len(h), size=(bootstrap, len(h)))
        num += h[draw].sum(axis=1)
        den += b[draw].sum(axis=1)
    ok = den > 0
    if not ok.any():
        return ratio, math.nan, math.nan
    r = num[ok] / den[ok]
    return ratio, float(np.quantile(r, 0.05)), float(np.quantile(r, 0.95))


def _summarise(folds: pd.DataFrame, pooled: dict[tuple[str, float], list[tuple[np.ndarray, np.ndarray]]],
               bootstrap: int, seed: int) -> pd.DataFrame:
    rows = []
    for (method, share), part in folds.groupby(["method", "share"], sort=False):
        row: dict[str, Any] = {"method": method, "share": float(share), "folds": int(part["pai"].notna().sum())}
        for metric in ("hit_rate", "pai", "pei"):
            values = part[metric].dropna()
            row[f"{metric}_median"] = float(values.median()) if len(values) else math.nan
            if metric == "pai":
                row["pai_q25"] = float(values.quantile(0.25)) if len(values) else math.nan
                row["pai_q75"] = float(values.quantile(0.75)) if len(values) else math.nan
        for b in BASELINES:
            values = part[f"{b}_pai"].dropna()
            row[f"{b}_pai_median"] = float(values.median()) if len(values) else math.nan
        ratio, low, high = _ratio_interval(pooled.get((str(method), float(share)), []), bootstrap, seed)
        row.update({"ratio_to_counts": ratio, "ratio_low": low, "ratio_high": high,
                    "area_share_median": float((part["flagged_area_m2"]).median())})
        rows.append(row)
    columns = ["method", "share", "folds", "hit_rate_median", "pai_median", "pai_q25", "pai_q75", "pei_median",
               *[f"{b}_pai_median" for b in BASELINES], "ratio_to_counts", "ratio_low", "ratio_high",
               "area_share_median"]
    return pd.DataFrame(rows, columns=columns)


@dataclass
class MethodSelection:
    """What ``method="auto"`` chose, why, and the evidence."""

    method: str
    params: dict[str, Any]
    reason: str
    evidence: pd.DataFrame
    folds: int
    share: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The selection as plain JSON data."""
        return _plain_dict({
            "method": self.method, "params": self.params, "reason": self.reason, "folds": self.folds,
            "share": self.share, "notes": self.notes,
            "evidence": self.evidence.to_dict(orient="records"),
        })


def select_method(  # noqa: PLR0913 - public keywords are its documented contract
    incidents: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame | None = None,
    *,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    ward_ids: Sequence[str] | None = None,
    candidates: Sequence[str] = AUTO_CANDIDATES,
    share: float = 0.05,
    options: dict[str, Any] | None = None,
    timezone: str | None = None,
    max_folds: int = 6,
    train: str = "6M",
) -> MethodSelection:
    """Choose a hotspot method for a study area by the backtest of its delivered polygons.

    The folds lie inside the analysis window (train ``train``, test one forecast horizon, the
    most recent ``max_folds``), so nothing after ``until`` is used. The candidate capturing the
    most test incidents at ``share`` of the study area (pooled over folds) wins when it beats
    the prior-count map at the same area; otherwise ``counts`` hotspots are delivered and the
    reason says so. With fewer than two scored folds, ``counts`` is delivered as well.
    """
    opts = {k: v for k, v in (options or {}).items() if k != "window"}
    horizon = str(opts.get("horizon", "month"))
    test = {"day": "1D", "week": "1W", "month": "1M"}.get(horizon, "1M")
    from ward_geo.analysis.hotspots.request import filter_incidents

    frame = filter_incidents(incidents, None, since, until, None)
    shape_opts = {k: v for k, v in opts.items() if k in {"buffer_m", "max_across_m", "concave_ratio", "horizon",
                                                         "half_life_days", "max_area_share"}}
    try:
        result = backtest(frame, boundaries, ward_ids=ward_ids, methods=list(candidates), train=train, test=test,
                          shares=(share,), max_folds=max_folds, options=shape_opts, timezone=timezone,
                          bootstrap=200)
    except InputError as exc:
        return MethodSelection("counts", {}, f"counts: too little history for evidence ({exc.message})",
                               pd.DataFrame(), 0, share)
    table = result.at(share)
    n_folds = int(table["folds"].max()) if len(table) else 0
    if n_folds < 2:
        return MethodSelection("counts", {}, f"counts: only {n_folds} backtest fold(s) could be scored; "
                               "too little evidence to prefer a model", table, n_folds, share, result.notes)
    scored = table.dropna(subset=["ratio_to_counts"])
    if scored.empty:
        return MethodSelection("counts", {}, "counts: no candidate could be scored", table, n_folds, share,
                               result.notes)
    order = {m: i for i, m in enumerate(candidates)}
    ranked = scored.assign(_o=scored["method"].map(order)).sort_values(["ratio_to_counts", "_o"],
                                                                       ascending=[False, True])
    best = ranked.iloc[0]
    notes = list(result.notes)
    if len(ranked) > 1 and math.isclose(float(ranked.iloc[1]["ratio_to_counts"]), float(best["ratio_to_counts"]),
                                        rel_tol=1e-9):
        notes.append(f"tie between {best['method']} and {ranked.iloc[1]['method']}: the earlier candidate is kept")
    ratio = float(best["ratio_to_counts"])
    interval = f"90 % interval {best['ratio_low']:.2f}–{best['ratio_high']:.2f}"
    if ratio <= 1.0 and best["method"] != "counts":
        return MethodSelection(
            "counts", {},
            (f"counts: no method beat prior counts at {share:.0%} of the study area over {n_folds} folds "
             f"(best: {best['method']} at {ratio:.2f}×, {interval})"),
            table, n_folds, share, notes)
    return MethodSelection(
        str(best["method"]), {},
        (f"{best['method']}: {ratio:.2f}× the test incidents of prior counts at the same area "
         f"({share:.0%} of the study area, {n_folds} folds, {interval}; median PAI "
         f"{best['pai_median']:.2f} vs {best['prior_counts_pai_median']:.2f})"),
        table, n_folds, share, notes)
