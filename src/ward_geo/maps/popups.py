"""HTML of the popups: hotspot cards and patrol stops.

Every value from data goes through :func:`~ward_geo.maps.escaping.escape_html` here; the
browser code inserts these strings as HTML.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from ward_geo.categories import CATEGORIES
from ward_geo.maps.escaping import escape_html
from ward_geo.maps.periods import fmt_local, utc_timestamp
from ward_geo.maps.style import UNKNOWN_COLOUR, trend_text, ui_words

__all__ = ["as_dict", "as_list", "num", "hotspot_popup", "table_html"]

Rows = list[tuple[str, str]]


def as_dict(value: Any) -> dict[str, Any]:
    """A mapping column value (or its JSON text) as a dict; ``{}`` otherwise."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str) and value.strip().startswith("{"):
        return dict(json.loads(value))
    return {}


def as_list(value: Any) -> list[Any]:
    """A list column value (list, tuple, array or JSON text) as a list; ``[]`` otherwise."""
    if isinstance(value, list | tuple | np.ndarray):
        return list(value)
    if isinstance(value, str) and value.strip().startswith("["):
        return list(json.loads(value))
    return []


def num(value: Any) -> float | None:
    """``value`` as a float; None when missing, NaN or not a number."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def table_html(rows: Rows) -> str:
    """Rows of ``(heading, value)`` as table rows, both escaped."""
    return "".join(f"<tr><th>{escape_html(k)}</th><td>{escape_html(v)}</td></tr>" for k, v in rows)


def _measure_rows(row: Mapping[str, Any], lang: str, ui: dict[str, str]) -> Rows:
    rows: Rows = []
    forecast = num(row.get("forecast_incidents"))
    if forecast is not None:
        low, high = num(row.get("forecast_low")), num(row.get("forecast_high"))
        interval = f" ({low:.0f}–{high:.0f})" if low is not None and high is not None else ""
        label = "dự báo tháng tới" if lang == "vi" else "forecast, next month"
        rows.append((label, f"{forecast:.1f}{interval}"))
    score = num(row.get("weighted_score"))
    if score is not None:
        rows.append((ui["score"], f"{score:.1f}"))
    area = num(row.get("area_m2"))
    if area is not None:
        rows.append((ui["area"], f"{area / 1e4:.2f} ha"))
    density = num(row.get("density_per_km2"))
    if density is not None:
        rows.append((ui["density"], f"{density:.0f}{ui['per_km2']}"))
    return rows


def _time_rows(row: Mapping[str, Any], zone: ZoneInfo, ui: dict[str, str], ward_names: Mapping[str, str]) -> Rows:
    rows: Rows = []
    for key in ("first_seen", "last_seen"):
        stamp = utc_timestamp(row.get(key))
        if stamp is not None:
            rows.append((ui[key], fmt_local(stamp.tz_convert(zone), "day")))
    wards = [ward_names.get(str(w), str(w)) for w in as_list(row.get("ward_ids"))]
    if wards:
        rows.append((ui["wards_in"], ", ".join(wards)))
    return rows


def _category_html(row: Mapping[str, Any], lang: str, ui: dict[str, str]) -> str:
    counts = as_dict(row.get("category_counts"))
    cat_rows = []
    for code, count in sorted(counts.items(), key=lambda kv: -float(num(kv[1]) or 0)):
        cat = CATEGORIES.get(code)
        label = cat.label(lang) if cat else str(code)
        colour = cat.colour if cat else UNKNOWN_COLOUR
        shown = "–" if count is None else int(num(count) or 0)
        cat_rows.append(
            f'<tr><td><span class="wg-sw" style="display:inline-block;width:9px;height:9px;border-radius:50%;'
            f'background:{colour}"></span> {escape_html(label)}</td><td>{shown}</td></tr>'
        )
    if not cat_rows:
        return ""
    return f"<div><b>{escape_html(ui['by_category'])}</b><table>{''.join(cat_rows)}</table></div>"


def _peak_hours_html(row: Mapping[str, Any], ui: dict[str, str]) -> str:
    hours = [int(num(h) or 0) for h in as_list(row.get("peak_hours"))]
    if len(hours) != 24 or max(hours) <= 0:
        return ""
    top = max(hours)
    cells = "".join(
        f'<div title="{h:02d}:00 – {c}" style="height:{max(1, round(38 * c / top))}px"></div>'
        for h, c in enumerate(hours)
    )
    return (
        f"<div><b>{escape_html(ui['peak_hours'])}</b><div class=\"wg-bars\">{cells}</div>"
        '<div class="wg-bars-axis"><span>0h</span><span>6h</span><span>12h</span><span>18h</span><span>23h</span>'
        "</div></div>"
    )


def hotspot_popup(
    row: Mapping[str, Any],
    lang: str,
    zone: ZoneInfo,
    params_reason: str | None,
    ward_names: Mapping[str, str],
    exact_share: float | None,
) -> str:
    """The popup card of one hotspot.

    Parameters
    ----------
    row : mapping
        The hotspot's attributes (a row of :func:`ward_geo.analysis.hotspots.find_hotspots`).
    lang : {"vi", "en"}
        Label language.
    zone : ZoneInfo
        Zone of the dates shown.
    params_reason : str or None
        Why the analysis chose its parameters (shown in the accuracy note).
    ward_names : mapping
        Ward id to display name.
    exact_share : float or None
        Share of the hotspot's incidents with an exact time.

    Returns
    -------
    str
        Escaped HTML.
    """
    ui = ui_words(lang)
    e = escape_html
    priority = str(row.get("priority") or "")
    trend = row.get("trend")
    trend_shown = trend_text(trend, ui) if isinstance(trend, str) and trend else ui["unknown_trend"]
    rank = num(row.get("rank"))
    rank_text = str(int(rank)) if rank is not None else "–"
    name = row.get("name")
    place = f" · {e(str(name))}" if isinstance(name, str) and name else ""
    head = f"{e(ui['hotspots'])} #{e(rank_text)}{place} · {e(ui['priority'])}: {e(ui.get(priority, priority))}"
    rows: Rows = [
        ("id", str(row.get("hotspot_id") or "–")),
        (ui["n_incidents"], str(int(num(row.get("n_incidents")) or 0))),
        (ui["rank"], rank_text),
        (ui["trend"], trend_shown),
    ]
    rows += _measure_rows(row, lang, ui) + _time_rows(row, zone, ui, ward_names)
    note = ui["accuracy_text"]
    if exact_share is not None:
        note += f" {exact_share:.0%} {ui['exact_share']}."
    if params_reason:
        note += f" {ui['params']}: {params_reason}"
    return (
        f'<div class="wg-popup"><b>{head}</b><table>{table_html(rows)}</table>{_category_html(row, lang, ui)}'
        f'{_peak_hours_html(row, ui)}<div class="wg-note">{e(ui["accuracy"])}: {e(note)}</div></div>'
    )
