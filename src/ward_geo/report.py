"""Ward reports: year-on-year figures, top hotspots with their trend, and map accuracy.

The programme reports trends as "social-order crime down 24 % on last year". For a period
(``since`` to ``until``) :func:`year_on_year` counts incidents per ward and category and
compares them with the same period one year earlier. The change is tested with the exact
conditional test for two Poisson counts over equal exposure: given ``n = current + previous``,
``current ~ Binomial(n, 1/2)`` under no change; the two-sided p-value comes from
``scipy.stats.binomtest``. A change is called significant at p < 0.05.

:func:`ward_report` assembles one ward's figures, its top hotspots with their trend class,
and the accuracy of the ward's map on the last backtest fold into Markdown and HTML (every
data string HTML-escaped).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ward_geo.categories import CATEGORY_CODES, category_label
from ward_geo.errors import InputError, NotFoundError, ParameterError

__all__ = ["year_on_year", "WardReport", "ward_report", "default_period"]


def _utc(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def default_period(times: pd.Series, months: int = 12) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The ``months`` months ending with the month of the latest incident (whole months)."""
    t = pd.to_datetime(times, utc=True).dropna()
    if t.empty:
        raise InputError("no dated incidents")
    last = t.max().tz_convert(None).to_period("M")
    until = (last + 1).to_timestamp().tz_localize("UTC")
    since = (last + 1 - months).to_timestamp().tz_localize("UTC")
    return since, until


def year_on_year(
    incidents: pd.DataFrame,
    *,
    since: Any,
    until: Any,
    by: tuple[str, ...] = ("ward_id", "category"),
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Counts for ``[since, until)`` against the same period a year earlier.

    Returns
    -------
    DataFrame
        The ``by`` columns plus ``current``, ``previous``, ``change`` (current − previous),
        ``change_pct`` (NaN when previous is 0), ``p_value`` and ``significant``.
    """
    from scipy.stats import binomtest

    start, end = _utc(since), _utc(until)
    if end <= start:
        raise ParameterError(f"period end {end} is not after its start {start}")
    prev_start, prev_end = start - pd.DateOffset(years=1), end - pd.DateOffset(years=1)
    t = pd.to_datetime(incidents["occurred_at"], utc=True)
    cur = incidents[(t >= start) & (t < end)]
    prev = incidents[(t >= prev_start) & (t < prev_end)]
    keys = list(by)
    a = cur.groupby(keys, dropna=False).size().rename("current")
    b = prev.groupby(keys, dropna=False).size().rename("previous")
    table = pd.concat([a, b], axis=1).fillna(0).astype(int).reset_index()
    table["change"] = table["current"] - table["previous"]
    table["change_pct"] = np.where(table["previous"] > 0,
                                   100.0 * table["change"] / table["previous"].replace(0, 1), np.nan)
    table["p_value"] = [
        float(binomtest(int(c), int(c + p), 0.5).pvalue) if c + p > 0 else 1.0
        for c, p in zip(table["current"], table["previous"], strict=True)
    ]
    table["significant"] = table["p_value"] < alpha
    return table.sort_values(keys).reset_index(drop=True)


@dataclass
class WardReport:
    """One ward's report: figures, hotspots, accuracy; render with ``to_markdown``/``to_html``."""

    ward_id: str
    ward_name: str
    since: pd.Timestamp
    until: pd.Timestamp
    figures: pd.DataFrame
    total: dict[str, Any]
    hotspots: pd.DataFrame
    accuracy: dict[str, Any] | None
    lang: str = "vi"
    notes: list[str] = field(default_factory=list)

    def _period_text(self) -> str:
        last = (self.until - pd.Timedelta(seconds=1)).date()
        return f"{self.since.date()} – {last}"

    def _rows(self) -> list[list[str]]:
        rows = []
        for r in self.figures.itertuples(index=False):
            pct = "" if math.isnan(r.change_pct) else f"{r.change_pct:+.0f}%"
            rows.append([category_label(r.category, self.lang), str(r.current), str(r.previous), f"{r.change:+d}",
                         pct, "< 0.001" if r.p_value < 0.001 else f"{r.p_value:.3f}",
                         "yes" if r.significant else "no"])
        return rows

    def _headline(self) -> str:
        t = self.total
        if t["previous"] == 0:
            return f"{t['current']} incidents in the period; none in the same period a year earlier."
        direction = "down" if t["change"] < 0 else "up"
        sig = "significant" if t["significant"] else "not significant"
        p = "p < 0.001" if t["p_value"] < 0.001 else f"p = {t['p_value']:.3f}"
        return (f"All incidents {direction} {abs(t['change_pct']):.0f}% on last year "
                f"({t['current']} vs {t['previous']}; exact test {p}, {sig}).")

    def to_markdown(self) -> str:
        """The report as Markdown (text from data is escaped for Markdown tables)."""
        def cell(text: str) -> str:
            return str(text).replace("|", "\\|").replace("\n", " ")

        out = [f"# {cell(self.ward_name)} ({cell(self.ward_id)})", "",
               f"Period {self._period_text()} compared with the same period a year earlier.", "",
               f"**{self._headline()}**", "",
               "| category | current | previous | change | change % | p-value | significant |",
               "|---|---:|---:|---:|---:|---:|:---:|"]
        out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in self._rows()]
        out += ["", "## Top hotspots", ""]
        if len(self.hotspots):
            out += ["| rank | hotspot | id | incidents | forecast | dominant category | priority | trend |",
                    "|---:|---|---|---:|---:|---|---|---|"]
            for h in self.hotspots.itertuples(index=False):
                out.append(f"| {h.rank} | {cell(h.name)} | {cell(h.hotspot_id)} | {h.n_incidents} | "
                           f"{h.forecast_incidents:.1f} | "
                           f"{cell(category_label(h.dominant_category, self.lang))} | {cell(h.priority)} | "
                           f"{cell(h.trend)} |")
        else:
            out.append("No hotspot in the period.")
        out += ["", "## Accuracy of the delivered hotspots (backtest)", ""]
        out.append(self._accuracy_text())
        if self.notes:
            out += ["", *[f"- {cell(n)}" for n in self.notes]]
        return "\n".join(out) + "\n"

    def _accuracy_text(self) -> str:
        a = self.accuracy or {}
        def fmt(v: Any, pattern: str) -> str:
            return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else pattern.format(v)
        head = f"Hotspot set {a.get('hotspot_set_id')} ({a.get('method')}, window {a.get('window')})."
        if not a.get("folds"):
            return f"{head} {a.get('reason') or 'No backtest evidence.'}"
        return (f"{head} Backtest of the delivered hotspots over {a['folds']} folds at 5 % of the ward: "
                f"median hit rate {fmt(a.get('hit_rate_median'), '{:.0%}')}, PAI {fmt(a.get('pai_median'), '{:.2f}')} "
                f"against {fmt(a.get('prior_counts_pai_median'), '{:.2f}')} for prior counts at the same area; "
                f"{fmt(a.get('ratio_to_counts'), '{:.2f}')}× the incidents captured "
                f"(90 % interval {fmt(a.get('ratio_low'), '{:.2f}')}–{fmt(a.get('ratio_high'), '{:.2f}')}). "
                f"{a.get('reason') or ''}")

    def to_html(self) -> str:
        """The report as a standalone HTML page; every data string is HTML-escaped."""
        e = html.escape
        rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in self._rows())
        hs = "".join(
            f"<tr><td>{h.rank}</td><td>{e(str(h.name))}</td><td>{e(str(h.hotspot_id))}</td><td>{h.n_incidents}</td>"
            f"<td>{h.forecast_incidents:.1f}</td>"
            f"<td>{e(category_label(h.dominant_category, self.lang))}</td><td>{e(str(h.priority))}</td>"
            f"<td>{e(str(h.trend))}</td></tr>"
            for h in self.hotspots.itertuples(index=False)
        ) or "<tr><td colspan=8>No hotspot in the period.</td></tr>"
        notes = "".join(f"<li>{e(n)}</li>" for n in self.notes)
        return (
            "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">"
            f"<title>{e(self.ward_name)}</title><style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .6em}</style></head><body>"
            f"<h1>{e(self.ward_name)} <small>({e(self.ward_id)})</small></h1>"
            f"<p>Period {e(self._period_text())} compared with the same period a year earlier.</p>"
            f"<p><strong>{e(self._headline())}</strong></p>"
            "<table><tr><th>category</th><th>current</th><th>previous</th><th>change</th><th>change %</th>"
            f"<th>p-value</th><th>significant</th></tr>{rows}</table>"
            "<h2>Top hotspots</h2><table><tr><th>rank</th><th>hotspot</th><th>id</th><th>incidents</th>"
            "<th>forecast</th>"
            f"<th>dominant category</th><th>priority</th><th>trend</th></tr>{hs}</table>"
            f"<h2>Accuracy of the delivered hotspots (backtest)</h2><p>{e(self._accuracy_text())}</p>"
            f"<ul>{notes}</ul></body></html>"
        )

    def save(self, directory: str | Path) -> tuple[Path, Path]:
        """Write ``<ward_id>.md`` and ``<ward_id>.html`` into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        md = directory / f"{self.ward_id}.md"
        page = directory / f"{self.ward_id}.html"
        md.write_text(self.to_markdown(), encoding="utf-8")
        page.write_text(self.to_html(), encoding="utf-8")
        return md, page


def ward_report(  # noqa: PLR0913 - public; its keywords are the documented report options
    ward_id: str,
    incidents: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame,
    *,
    since: Any = None,
    until: Any = None,
    months: int = 12,
    top: int = 10,
    lang: str = "vi",
    hotspot_params: dict[str, Any] | None = None,
    hotspot_set: Any = None,
) -> WardReport:
    """Build the report of one ward.

    Parameters
    ----------
    ward_id : str
        A ``ward_id`` of ``boundaries``.
    incidents : GeoDataFrame
        Canonical incidents (``ward_id`` filled; several years for the comparison).
    boundaries : GeoDataFrame
        Canonical boundaries.
    since, until : timestamp-like, optional
        The period; default the ``months`` whole months up to the latest incident.
    top : int
        Number of hotspots listed.
    hotspot_set : HotspotSet, optional
        The ward's hotspot set (:func:`ward_geo.workflows.ward_hotspot_set`), so the report lists
        the hotspots of the map, the service and the patrol plan; default: computed from
        ``incidents`` by :func:`ward_geo.workflows.compute_hotspot_set` (the same defaults).
    """
    ward = boundaries[boundaries["ward_id"] == ward_id]
    if ward.empty:
        raise NotFoundError(f"ward {ward_id!r} is not among the {len(boundaries)} wards loaded")
    mine = incidents[incidents["ward_id"] == ward_id]
    if since is None or until is None:
        d_since, d_until = default_period(mine["occurred_at"] if len(mine) else incidents["occurred_at"], months)
        since = since if since is not None else d_since
        until = until if until is not None else d_until
    since, until = _utc(since), _utc(until)
    figures = year_on_year(mine, since=since, until=until, by=("category",))
    figures = figures.set_index("category").reindex(
        [c for c in CATEGORY_CODES if c in set(figures["category"])]
    ).reset_index()
    cur, prev = int(figures["current"].sum()), int(figures["previous"].sum())
    from scipy.stats import binomtest

    total = {
        "current": cur, "previous": prev, "change": cur - prev,
        "change_pct": 100.0 * (cur - prev) / prev if prev else math.nan,
        "p_value": float(binomtest(cur, cur + prev, 0.5).pvalue) if cur + prev else 1.0,
    }
    total["significant"] = total["p_value"] < 0.05
    notes: list[str] = []
    t = pd.to_datetime(mine["occurred_at"], utc=True)
    in_period = mine[(t >= since) & (t < until)]
    columns = ["rank", "hotspot_id", "name", "n_incidents", "forecast_incidents", "dominant_category", "priority",
               "trend"]
    hotspots = pd.DataFrame(columns=columns)
    accuracy = None
    if hotspot_set is None:
        from ward_geo.workflows import compute_hotspot_set

        hotspot_set = compute_hotspot_set(mine, ward, [ward_id], params=hotspot_params)
    found = hotspot_set.hotspots
    if len(found):
        hotspots = found.sort_values("rank").head(top)[[c for c in columns if c in found.columns]]
    params = found.attrs.get("params") or {}
    selection = params.get("selection") or {}
    chosen = [r for r in selection.get("evidence") or [] if r.get("method") == params.get("method")]
    accuracy = {
        "hotspot_set_id": hotspot_set.set_id, "method": params.get("method"),
        "window": f"{params.get('since')} – {params.get('until')}", "reason": selection.get("reason"),
        **(chosen[0] if chosen else {}),
    }
    if not len(in_period):
        notes.append("no incidents in the period")
    name = str(ward["name"].iloc[0])
    return WardReport(ward_id, name, since, until, figures, total, hotspots, accuracy, lang, notes)
