"""Folium maps of incidents, hotspots and patrol plans: ward maps and a city overview.

A map page holds these layers (all toggleable in the layer control):

* a vector basemap of the street network from OpenStreetMap (offline), and/or a tile layer
  (``settings.tile_url`` for a local tile server, or standard OSM tiles when ``offline=False``);
* ward boundaries with names (the city overview shades wards by incident density);
* incidents, one marker-cluster layer per category (labels in Vietnamese by default);
* a heatmap weighted by category weight;
* hotspot polygons coloured by priority, outlined by trend, with a popup (counts by category,
  peak hours bar chart, first/last seen, trend, rank, accuracy note);
* the patrol plan (routes per unit and numbered stops) when given;

plus a legend, a scale bar, fullscreen, an info box with the data's date range and a
generated-at stamp, and a time slider replaying incidents and hotspots by month or week.

Offline maps (the default when no tile server is configured) are one self-contained HTML file:
Leaflet and its plugins are inlined (see :mod:`ward_geo.maps.assets`) and the page makes no
network request. Every data string is HTML-escaped (:mod:`ward_geo.maps.escaping`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.map import Layer
from folium.plugins import Fullscreen

from ward_geo.analysis.trends import TREND_LABELS, trend_label
from ward_geo.categories import CATEGORIES
from ward_geo.errors import ConfigurationError, InputError, NotFoundError, ParameterError
from ward_geo.maps.assets import asset_bundle
from ward_geo.maps.escaping import escape_html, script_json
from ward_geo.schema import WGS84
from ward_geo.streets import OSM_ATTRIBUTION

__all__ = [
    "ward_map",
    "city_map",
    "save_map",
    "render_map_html",
    "external_references",
    "write_maps",
    "hotspots_in_ward",
    "OSM_ATTRIBUTION",
    "PRIORITY_COLOURS",
    "TREND_STYLES",
]

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"

PRIORITY_COLOURS: dict[str, str] = {"high": "#d50000", "medium": "#ff6d00", "low": "#fdd835"}

#: Outline style of hotspot polygons by trend (Leaflet path options).
TREND_STYLES: dict[str, dict[str, Any]] = {
    "new": {"dashArray": "8 6", "weight": 3, "fillOpacity": 0.35},
    "emerging": {"dashArray": "8 6", "weight": 3, "fillOpacity": 0.35},
    "increasing": {"dashArray": None, "weight": 4.5, "fillOpacity": 0.4},
    "intensifying": {"dashArray": None, "weight": 4.5, "fillOpacity": 0.4},
    "persistent": {"dashArray": None, "weight": 2.5, "fillOpacity": 0.3},
    "stable": {"dashArray": None, "weight": 2.5, "fillOpacity": 0.3},
    "decreasing": {"dashArray": "2 6", "weight": 2.5, "fillOpacity": 0.15},
    "diminishing": {"dashArray": "2 6", "weight": 2.5, "fillOpacity": 0.15},
    "consecutive": {"dashArray": "12 4", "weight": 3.5, "fillOpacity": 0.35},
    "sporadic": {"dashArray": "1 5", "weight": 2, "fillOpacity": 0.2},
    "oscillating": {"dashArray": "6 3 1 3", "weight": 2, "fillOpacity": 0.2},
    "historical": {"dashArray": "1 8", "weight": 1.5, "fillOpacity": 0.05},
    "no_pattern": {"dashArray": None, "weight": 1.5, "fillOpacity": 0.2},
}
_DEFAULT_TREND_STYLE: dict[str, Any] = {"dashArray": None, "weight": 2.5, "fillOpacity": 0.3}

_MAJOR_HIGHWAYS = {
    "motorway": 3.5, "trunk": 3.5, "primary": 3.0, "secondary": 2.5, "tertiary": 2.0,
    "motorway_link": 2.0, "trunk_link": 2.0, "primary_link": 2.0, "secondary_link": 1.8, "tertiary_link": 1.6,
}
_UNIT_COLOURS = ("#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#ad1457", "#4e342e", "#283593")

UI: dict[str, dict[str, str]] = {
    "vi": {
        "incidents": "Sự việc", "heatmap": "Bản đồ nhiệt", "hotspots": "Điểm nóng", "streets": "Đường phố",
        "wards": "Ranh giới phường", "patrol": "Kế hoạch tuần tra", "tiles": "Bản đồ nền",
        "legend": "Chú giải", "categories": "Loại sự việc", "priority": "Mức ưu tiên", "trend": "Xu hướng",
        "high": "Cao", "medium": "Trung bình", "low": "Thấp", "when": "Thời gian", "id": "Mã",
        "date_range": "Dữ liệu", "generated": "Tạo lúc", "n_incidents": "Số sự việc", "rank": "Hạng",
        "score": "Điểm có trọng số", "area": "Diện tích", "density": "Mật độ", "first_seen": "Lần đầu",
        "last_seen": "Lần cuối", "peak_hours": "Giờ cao điểm", "by_category": "Theo loại",
        "wards_in": "Phường", "accuracy": "Độ chính xác", "all": "Tất cả", "month": "Theo tháng",
        "week": "Theo tuần", "play": "Phát lại", "to": "đến", "unit": "Tổ", "arrival": "Đến lúc",
        "dwell": "Dừng", "minutes": "phút", "station": "Trụ sở", "station_text": "điểm xuất phát và kết thúc",
        "unreachable": "Không tới được", "stop": "Điểm dừng", "per_km2": "/km²", "none": "không có",
        "city": "Toàn thành phố", "ward_density": "Mật độ sự việc theo phường", "no_week": "sự việc chỉ biết tháng/năm: chỉ hiện ở “Tất cả”",
        "accuracy_text": "Vùng là bao lồi của các sự việc trong cụm; vị trí gốc có sai số của nguồn.",
        "exact_share": "có giờ chính xác", "params": "Tham số",
        "emerging": "Mới nổi", "increasing": "Tăng", "stable": "Ổn định", "decreasing": "Giảm",
        "unknown_trend": "chưa đánh giá",
    },
    "en": {
        "incidents": "Incidents", "heatmap": "Heatmap", "hotspots": "Hotspots", "streets": "Streets",
        "wards": "Ward boundaries", "patrol": "Patrol plan", "tiles": "Base map",
        "legend": "Legend", "categories": "Categories", "priority": "Priority", "trend": "Trend",
        "high": "High", "medium": "Medium", "low": "Low", "when": "When", "id": "ID",
        "date_range": "Data", "generated": "Generated", "n_incidents": "Incidents", "rank": "Rank",
        "score": "Weighted score", "area": "Area", "density": "Density", "first_seen": "First seen",
        "last_seen": "Last seen", "peak_hours": "Peak hours", "by_category": "By category",
        "wards_in": "Wards", "accuracy": "Accuracy", "all": "All", "month": "By month",
        "week": "By week", "play": "Replay", "to": "to", "unit": "Unit", "arrival": "Arrival",
        "dwell": "Dwell", "minutes": "min", "station": "Station", "station_text": "start and end of the shift",
        "unreachable": "Unreachable", "stop": "Stop", "per_km2": "/km²", "none": "none",
        "city": "City overview", "ward_density": "Incident density by ward", "no_week": "incidents known only to the month/year: shown under “All” only",
        "accuracy_text": "The area is the convex hull of the cluster's incidents; source locations carry their own error.",
        "exact_share": "with exact time", "params": "Parameters",
        "emerging": "Emerging", "increasing": "Increasing", "stable": "Stable", "decreasing": "Decreasing",
        "unknown_trend": "not evaluated",
    },
}


# ------------------------------------------------------------------------------------ helpers


def _trend_text(trend: str, ui: dict[str, str]) -> str:
    """Label of a trend: the classes of :mod:`ward_geo.analysis.trends`, else the UI's words."""
    if trend in TREND_LABELS:
        return trend_label(trend, "en" if ui is UI["en"] else "vi")
    return ui.get(trend, trend)


def _ui(lang: str) -> dict[str, str]:
    if lang not in UI:
        raise ParameterError(f"lang must be 'vi' or 'en', got {lang!r}")
    return UI[lang]


def _static(name: str) -> str:
    return resources.files("ward_geo.maps").joinpath("static", name).read_text(encoding="utf-8")


def _zone(timezone: str | None) -> ZoneInfo:
    if timezone is None:
        from ward_geo.settings import get_settings

        timezone = get_settings().timezone
    return ZoneInfo(timezone)


def _check_incidents(incidents: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    from ward_geo.schema import empty_incidents

    if incidents is None:
        return empty_incidents()
    if not isinstance(incidents, gpd.GeoDataFrame):
        raise ParameterError("incidents must be a GeoDataFrame with the canonical incident columns")
    missing = [c for c in ("incident_id", "category", "occurred_at", "geometry") if c not in incidents.columns]
    if missing:
        raise InputError(f"incidents lack required column(s) {missing}")
    if incidents.crs is None:
        raise InputError("incidents have no CRS; expected EPSG:4326 (or any CRS to reproject from)")
    if len(incidents) and not incidents.crs.equals(WGS84):
        incidents = incidents.to_crs(WGS84)
    geoms = incidents.geometry
    bad = ~(geoms.notna() & (geoms.geom_type == "Point")) if len(incidents) else pd.Series([], dtype=bool)
    if bool(bad.any()):
        rows = [int(i) for i in np.flatnonzero(bad.to_numpy())[:10]]
        raise InputError(f"incidents rows {rows} (field geometry): expected a Point, got empty or another type")
    return incidents


def _check_boundaries(boundaries: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not isinstance(boundaries, gpd.GeoDataFrame) or "ward_id" not in boundaries.columns:
        raise ParameterError("boundaries must be a GeoDataFrame with ward_id, name and geometry columns")
    if boundaries.crs is None:
        raise InputError("boundaries have no CRS; expected EPSG:4326")
    if not boundaries.crs.equals(WGS84):
        boundaries = boundaries.to_crs(WGS84)
    return boundaries


def _local_times(incidents: gpd.GeoDataFrame, zone: ZoneInfo) -> pd.Series:
    times = pd.to_datetime(incidents["occurred_at"], utc=True)
    return times.dt.tz_convert(zone)


def _fmt_local(ts: pd.Timestamp | None, precision: str = "exact") -> str:
    if ts is None or pd.isna(ts):
        return ""
    if precision == "year":
        return ts.strftime("%Y")
    if precision == "month":
        return ts.strftime("%Y-%m")
    if precision == "day":
        return ts.strftime("%Y-%m-%d")
    return ts.strftime("%Y-%m-%d %H:%M")


class _Periods:
    """Contiguous month and ISO-week periods covering a time range (local time)."""

    def __init__(self, start: pd.Timestamp | None, end: pd.Timestamp | None, lang: str) -> None:
        self.lang = lang
        if start is None or end is None or pd.isna(start) or pd.isna(end):
            self.month0 = self.week0 = None
            self.months: list[str] = []
            self.weeks: list[str] = []
            return
        m0 = start.year * 12 + start.month - 1
        m1 = end.year * 12 + end.month - 1
        self.month0 = m0
        self.months = [self._month_label(k) for k in range(m0, m1 + 1)]
        monday0 = (start.normalize() - pd.Timedelta(days=start.weekday())).tz_localize(None)
        monday1 = (end.normalize() - pd.Timedelta(days=end.weekday())).tz_localize(None)
        self.week0 = monday0
        n_weeks = int((monday1 - monday0).days // 7) + 1
        self.weeks = [self._week_label(monday0 + pd.Timedelta(days=7 * k)) for k in range(n_weeks)]

    def _month_label(self, k: int) -> str:
        year, month = divmod(k, 12)
        return f"Tháng {month + 1:02d}/{year}" if self.lang == "vi" else f"{year}-{month + 1:02d}"

    def _week_label(self, monday: pd.Timestamp) -> str:
        sunday = monday + pd.Timedelta(days=6)
        if self.lang == "vi":
            return f"Tuần {monday:%d/%m}–{sunday:%d/%m/%Y}"
        return f"Week {monday:%Y-%m-%d} – {sunday:%m-%d}"

    def month_index(self, local: pd.Series) -> np.ndarray:
        if self.month0 is None or len(local) == 0:
            return np.zeros(len(local), dtype=np.int64)
        k = (local.dt.year * 12 + local.dt.month - 1).to_numpy(dtype=np.int64)
        return np.clip(k - self.month0, 0, len(self.months) - 1)

    def week_index(self, local: pd.Series) -> np.ndarray:
        if self.week0 is None or len(local) == 0:
            return np.zeros(len(local), dtype=np.int64)
        days = (local.dt.tz_localize(None).dt.normalize() - self.week0).dt.days.to_numpy(dtype=np.int64)
        return np.clip(days // 7, 0, len(self.weeks) - 1)

    def index_of(self, ts: pd.Timestamp | None, unit: str, default: int) -> int:
        """Period index of one local timestamp (clipped to the range)."""
        if ts is None or pd.isna(ts) or self.month0 is None or self.week0 is None:
            return default
        if unit == "week":
            days = (ts.tz_localize(None).normalize() - self.week0).days
            return int(min(max(days // 7, 0), len(self.weeks) - 1))
        k = ts.year * 12 + ts.month - 1 - self.month0
        return int(min(max(k, 0), len(self.months) - 1))


def _category_entry(code: str, lang: str, count: int) -> dict[str, Any]:
    cat = CATEGORIES.get(code)
    if cat is None:
        return {"code": escape_html(code), "label": escape_html(code), "colour": "#757575", "weight": 1.0, "n": count}
    return {"code": cat.code, "label": escape_html(cat.label(lang)), "colour": cat.colour, "weight": cat.weight, "n": count}


def _incident_payload(
    incidents: gpd.GeoDataFrame, lang: str, zone: ZoneInfo
) -> tuple[dict[str, Any], _Periods, tuple[pd.Timestamp | None, pd.Timestamp | None]]:
    ui = _ui(lang)
    n = len(incidents)
    local = _local_times(incidents, zone) if n else pd.Series([], dtype="datetime64[ns, UTC]")
    start = local.min() if n else None
    end = local.max() if n else None
    periods = _Periods(start, end, lang)

    codes = incidents["category"].astype("string").fillna("other").to_numpy(dtype=object) if n else np.array([], dtype=object)
    counts = pd.Series(codes).value_counts() if n else pd.Series([], dtype=int)
    ordered = [c for c in CATEGORIES if c in counts.index] + sorted(c for c in counts.index if c not in CATEGORIES)
    cat_index = {code: k for k, code in enumerate(ordered)}
    cats = [_category_entry(code, lang, int(counts[code])) for code in ordered]

    precision = (
        incidents["time_precision"].astype("string").fillna("exact").to_numpy(dtype=object)
        if "time_precision" in incidents.columns and n
        else np.full(n, "exact", dtype=object)
    )
    # Incidents without a time (or known only to the year/month) appear under "All" only.
    no_time = local.isna().to_numpy(dtype=bool) if n else np.zeros(0, dtype=bool)
    filled = local.fillna(start) if n and bool(no_time.any()) and start is not None else local
    pm = periods.month_index(filled) if n and not no_time.all() else np.full(n, -2, dtype=np.int64)
    pw = periods.week_index(filled) if n and not no_time.all() else np.full(n, -2, dtype=np.int64)
    coarse_week = np.isin(precision, ["month", "year"]) | no_time
    pw = np.where(coarse_week, -2, pw)
    pm = np.where((precision == "year") | no_time, -2, pm)

    xs = np.round(incidents.geometry.x.to_numpy(), 5) if n else np.array([])
    ys = np.round(incidents.geometry.y.to_numpy(), 5) if n else np.array([])

    when = local.dt.strftime("%Y-%m-%d %H:%M").to_numpy(dtype=object) if n else np.array([], dtype=object)
    coarse = precision != "exact"
    for k in np.flatnonzero(coarse):
        when[k] = _fmt_local(local.iloc[k], str(precision[k]))
    when = [w if isinstance(w, str) else "" for w in when]
    if "description" in incidents.columns and n:
        desc = [escape_html(d) if isinstance(d, str) and d else None for d in incidents["description"].tolist()]
    else:
        desc = [None] * n
    payload = {
        "lat": ys.tolist(),
        "lon": xs.tolist(),
        "c": [cat_index[c] for c in codes],
        "pm": pm.tolist(),
        "pw": pw.tolist(),
        "t": when,
        "d": desc,
        "id": [escape_html(v) for v in incidents["incident_id"].tolist()] if n else [],
        "cats": cats,
        "months": periods.months,
        "weeks": periods.weeks,
        "default_unit": "week" if len(periods.months) <= 3 else "month",
        "labels": {"when": escape_html(ui["when"]), "id": escape_html(ui["id"])},
        "coarse_week": int(coarse_week.sum()),
    }
    return payload, periods, (start, end)


def _line_coords(geom: shapely.Geometry) -> list[list[list[float]]]:
    out = []
    parts = geom.geoms if hasattr(geom, "geoms") else [geom]
    for part in parts:
        if part.is_empty or part.geom_type != "LineString":
            continue
        coords = np.round(np.asarray(part.coords)[:, :2], 5)
        if len(coords) >= 2:
            out.append([[float(y), float(x)] for x, y in coords])
    return out


def _first(value: Any) -> Any:
    if isinstance(value, (list, tuple, np.ndarray)):
        return value[0] if len(value) else None
    return value


def _streets_payload(streets: Any, clip: shapely.Geometry | None, tolerance: float = 1.5e-5) -> dict[str, Any]:
    """Street lines as a light vector basemap: ``minor`` coordinates and named ``major`` roads."""
    if streets is None:
        return {"minor": [], "major": []}
    if not isinstance(streets, gpd.GeoDataFrame):
        import networkx as nx

        if isinstance(streets, nx.MultiDiGraph | nx.MultiGraph | nx.DiGraph | nx.Graph):
            from ward_geo.streets import street_edges

            streets = street_edges(streets)
        else:
            raise ParameterError("streets must be a GeoDataFrame of lines or a street graph")
    if streets.crs is not None and not streets.crs.equals(WGS84):
        streets = streets.to_crs(WGS84)
    gdf = streets[streets.geometry.notna()]
    if clip is not None and len(gdf):
        gdf = gdf.iloc[np.sort(gdf.sindex.query(clip, predicate="intersects"))]
        geoms = gdf.geometry.to_numpy()
        shapely.prepare(clip)
        inside = shapely.contains(clip, geoms)
        clipped = geoms.copy()
        clipped[~inside] = shapely.intersection(geoms[~inside], clip)
        gdf = gdf.set_geometry(gpd.GeoSeries(clipped, index=gdf.index, crs=WGS84))
    # osmnx graphs hold both directions of two-way streets: draw each geometry once.
    wkb = gdf.geometry.normalize().to_wkb() if len(gdf) else pd.Series([], dtype=object)
    gdf = gdf.loc[~pd.Series(wkb.to_numpy(), index=gdf.index).duplicated()]
    simplified = shapely.simplify(gdf.geometry.to_numpy(), tolerance, preserve_topology=False)
    highway = gdf["highway"].map(_first) if "highway" in gdf.columns else pd.Series([None] * len(gdf), index=gdf.index)
    names = gdf["name"].map(_first) if "name" in gdf.columns else pd.Series([None] * len(gdf), index=gdf.index)
    minor: list[list[list[float]]] = []
    major: list[dict[str, Any]] = []
    for geom, hw, name in zip(simplified, highway, names, strict=True):
        lines = _line_coords(geom)
        if not lines:
            continue
        weight = _MAJOR_HIGHWAYS.get(str(hw)) if hw is not None else None
        if weight is None:
            minor.extend(lines)
        else:
            label = escape_html(name) if isinstance(name, str) and name else ""
            for line in lines:
                major.append({"coords": line, "weight": weight, "name": label})
    return {"minor": minor, "major": major}


def _boundary_payload(
    boundaries: gpd.GeoDataFrame,
    *,
    focus: set[str],
    permanent: set[str],
    incident_counts: Mapping[str, int],
    lang: str,
    choropleth: bool,
) -> dict[str, Any]:
    ui = _ui(lang)
    features = []
    metric = boundaries.to_crs(boundaries.estimate_utm_crs()) if len(boundaries) else boundaries
    areas = metric.geometry.area.to_numpy() / 1e6 if len(boundaries) else np.array([])
    densities = []
    for ward_id, area in zip(boundaries["ward_id"], areas, strict=True):
        densities.append(incident_counts.get(ward_id, 0) / area if area > 0 else 0.0)
    top = max(densities) if densities else 0.0
    geoms = shapely.simplify(boundaries.geometry.to_numpy(), 1e-5, preserve_topology=True)
    for (_, row), geom, density in zip(boundaries.iterrows(), geoms, densities, strict=True):
        name = row.get("name")
        if lang == "en" and isinstance(row.get("name_en"), str) and row.get("name_en"):
            name = row["name_en"]
        ward_id = str(row["ward_id"])
        count = int(incident_counts.get(ward_id, 0))
        label = escape_html(name if isinstance(name, str) and name else ward_id)
        popup = (
            f'<div class="wg-popup"><b>{label}</b><br>{escape_html(ui["n_incidents"])}: {count}'
            f'<br>{escape_html(ui["density"])}: {density:.1f}{escape_html(ui["per_km2"])}</div>'
        )
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(geom),
                "properties": {
                    "label": label,
                    "focus": ward_id in focus,
                    "permanent": ward_id in permanent,
                    "popup": popup,
                    "fill_opacity": round(0.05 + 0.55 * (density / top), 3) if top > 0 else 0.05,
                },
            }
        )
    return {"type": "FeatureCollection", "features": _round_features(features)}


def _round_features(features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def rnd(coords: Any) -> Any:
        if isinstance(coords, (float, int)):
            return round(float(coords), 6)
        return [rnd(c) for c in coords]

    for f in features:
        f["geometry"] = {"type": f["geometry"]["type"], "coordinates": rnd(f["geometry"]["coordinates"])}
    return features


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str) and value.strip().startswith("{"):
        import json

        return dict(json.loads(value))
    return {}


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple, np.ndarray)):
        return list(value)
    if isinstance(value, str) and value.strip().startswith("["):
        import json

        return list(json.loads(value))
    return []


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def _utc_timestamp(value: Any) -> pd.Timestamp | None:
    """A UTC timestamp from a datetime, ISO string or epoch-free value; None when missing/unparsable."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    if pd.isna(stamp):
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _hotspot_popup(row: Mapping[str, Any], lang: str, zone: ZoneInfo, params_reason: str | None,
                   ward_names: Mapping[str, str], exact_share: float | None) -> str:
    ui = _ui(lang)
    e = escape_html
    priority = str(row.get("priority") or "")
    trend = row.get("trend")
    trend_text = _trend_text(trend, ui) if isinstance(trend, str) and trend else ui["unknown_trend"]
    rank = row.get("rank")
    rank_text = str(int(rank)) if _num(rank) is not None else "–"
    name = row.get("name")
    place = f" · {e(str(name))}" if isinstance(name, str) and name else ""
    head = f"{e(ui['hotspots'])} #{e(rank_text)}{place} · {e(ui['priority'])}: {e(ui.get(priority, priority))}"
    rows = [
        ("id", str(row.get("hotspot_id") or "–")),
        (ui["n_incidents"], str(int(_num(row.get("n_incidents")) or 0))),
        (ui["rank"], rank_text),
        (ui["trend"], trend_text),
    ]
    forecast = _num(row.get("forecast_incidents"))
    if forecast is not None:
        low, high = _num(row.get("forecast_low")), _num(row.get("forecast_high"))
        interval = f" ({low:.0f}–{high:.0f})" if low is not None and high is not None else ""
        label = "dự báo tháng tới" if lang == "vi" else "forecast, next month"
        rows.append((label, f"{forecast:.1f}{interval}"))
    score = _num(row.get("weighted_score"))
    if score is not None:
        rows.append((ui["score"], f"{score:.1f}"))
    area = _num(row.get("area_m2"))
    if area is not None:
        rows.append((ui["area"], f"{area / 1e4:.2f} ha"))
    density = _num(row.get("density_per_km2"))
    if density is not None:
        rows.append((ui["density"], f"{density:.0f}{ui['per_km2']}"))
    for key, label in (("first_seen", ui["first_seen"]), ("last_seen", ui["last_seen"])):
        stamp = _utc_timestamp(row.get(key))
        if stamp is not None:
            rows.append((label, _fmt_local(stamp.tz_convert(zone), "day")))
    wards = [ward_names.get(str(w), str(w)) for w in _as_list(row.get("ward_ids"))]
    if wards:
        rows.append((ui["wards_in"], ", ".join(wards)))
    table = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)

    counts = _as_dict(row.get("category_counts"))
    cat_rows = []
    for code, count in sorted(counts.items(), key=lambda kv: -float(_num(kv[1]) or 0)):
        cat = CATEGORIES.get(code)
        label = cat.label(lang) if cat else str(code)
        colour = cat.colour if cat else "#757575"
        cat_rows.append(
            f'<tr><td><span class="wg-sw" style="display:inline-block;width:9px;height:9px;border-radius:50%;'
            f'background:{colour}"></span> {e(label)}</td><td>{"–" if count is None else int(_num(count) or 0)}</td></tr>'
        )
    cats_html = f"<div><b>{e(ui['by_category'])}</b><table>{''.join(cat_rows)}</table></div>" if cat_rows else ""

    hours = [int(_num(h) or 0) for h in _as_list(row.get("peak_hours"))]
    bars = ""
    if len(hours) == 24 and max(hours) > 0:
        top = max(hours)
        cells = "".join(
            f'<div title="{h:02d}:00 – {c}" style="height:{max(1, round(38 * c / top))}px"></div>'
            for h, c in enumerate(hours)
        )
        bars = (
            f"<div><b>{e(ui['peak_hours'])}</b><div class=\"wg-bars\">{cells}</div>"
            '<div class="wg-bars-axis"><span>0h</span><span>6h</span><span>12h</span><span>18h</span><span>23h</span></div></div>'
        )
    note = ui["accuracy_text"]
    if exact_share is not None:
        note += f" {exact_share:.0%} {ui['exact_share']}."
    if params_reason:
        note += f" {ui['params']}: {params_reason}"
    return (
        f'<div class="wg-popup"><b>{head}</b><table>{table}</table>{cats_html}{bars}'
        f'<div class="wg-note">{e(ui["accuracy"])}: {e(note)}</div></div>'
    )


def _hotspot_payload(
    hotspots: gpd.GeoDataFrame | None,
    periods: _Periods,
    lang: str,
    zone: ZoneInfo,
    ward_names: Mapping[str, str],
    incidents: gpd.GeoDataFrame,
) -> dict[str, Any]:
    if hotspots is None or len(hotspots) == 0:
        return {"type": "FeatureCollection", "features": []}
    if not isinstance(hotspots, gpd.GeoDataFrame):
        raise ParameterError("hotspots must be a GeoDataFrame (as returned by find_hotspots)")
    if hotspots.crs is not None and not hotspots.crs.equals(WGS84):
        hotspots = hotspots.to_crs(WGS84)
    params = hotspots.attrs.get("params") if isinstance(hotspots.attrs, dict) else None
    reason = None
    if isinstance(params, Mapping):
        reason = params.get("reason")
    elif params is not None and hasattr(params, "reason"):
        reason = params.reason
    # pandas deep-copies ``attrs`` on every operation: work on a copy without them.
    hotspots = hotspots.copy(deep=False)
    hotspots.attrs = {}
    exact_ids: set[str] | None = None
    known_ids: set[str] = set()
    if "time_precision" in incidents.columns and len(incidents):
        ids = incidents["incident_id"].astype(str).to_numpy(dtype=object)
        known_ids = set(ids)
        exact_ids = set(ids[(incidents["time_precision"] == "exact").to_numpy(dtype=bool)])
    features = []
    n_months = max(len(periods.months) - 1, 0)
    n_weeks = max(len(periods.weeks) - 1, 0)
    ui = _ui(lang)
    for _, row in hotspots.iterrows():
        geom = row.geometry
        if geom is None or geom.is_empty:
            continue
        members = _as_list(row.get("member_ids")) if "member_ids" in hotspots.columns else []
        exact = None
        if exact_ids is not None and members:
            present = [str(m) for m in members if str(m) in known_ids]
            exact = sum(m in exact_ids for m in present) / len(present) if present else None
        priority = str(row.get("priority") or "low")
        trend = row.get("trend") if isinstance(row.get("trend"), str) else None
        style = dict(TREND_STYLES.get(trend or "", _DEFAULT_TREND_STYLE))
        colour = PRIORITY_COLOURS.get(priority, "#9e9e9e")
        style.update({"color": colour, "fillColor": colour, "opacity": 0.95})
        first_local = _utc_timestamp(row.get("first_seen"))
        last_local = _utc_timestamp(row.get("last_seen"))
        first_local = first_local.tz_convert(zone) if first_local is not None else None
        last_local = last_local.tz_convert(zone) if last_local is not None else None
        rank = _num(row.get("rank"))
        place = row.get("name") if isinstance(row.get("name"), str) and row.get("name") else ui["hotspots"]
        tooltip = (
            f"#{int(rank) if rank is not None else '–'} {escape_html(str(place))} · "
            f"{escape_html(ui.get(priority, priority))} · {int(_num(row.get('n_incidents')) or 0)} "
            f"{escape_html(ui['incidents'].lower())}"
        )
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(shapely.simplify(geom, 5e-6, preserve_topology=True)),
                "properties": {
                    "style": style,
                    "popup": _hotspot_popup(row, lang, zone, reason, ward_names, exact),
                    "tooltip": tooltip,
                    "m0": periods.index_of(first_local, "month", 0),
                    "m1": periods.index_of(last_local, "month", n_months),
                    "w0": periods.index_of(first_local, "week", 0),
                    "w1": periods.index_of(last_local, "week", n_weeks),
                },
            }
        )
    return {"type": "FeatureCollection", "features": _round_features(features)}


def _clock(value: Any) -> str:
    """``HH:MM`` of an ISO 8601 time (its own offset kept), else the value as text."""
    if value is None:
        return ""
    try:
        return pd.Timestamp(str(value)).strftime("%H:%M")
    except (TypeError, ValueError):
        return str(value)


def _patrol_payload(patrol: Mapping[str, Any] | Any, lang: str) -> dict[str, Any]:
    """Routes and stops from a patrol plan (a GeoJSON FeatureCollection or an object with to_geojson())."""
    ui = _ui(lang)
    if hasattr(patrol, "to_geojson"):
        patrol = patrol.to_geojson()
    if not isinstance(patrol, Mapping) or patrol.get("type") != "FeatureCollection":
        raise InputError("patrol plan must be a GeoJSON FeatureCollection of LineStrings (routes) and Points (stops)")
    units: dict[str, str] = {}

    def unit_colour(unit: str) -> str:
        if unit not in units:
            units[unit] = _UNIT_COLOURS[len(units) % len(_UNIT_COLOURS)]
        return units[unit]

    routes: list[dict[str, Any]] = []
    stops: list[dict[str, Any]] = []
    for k, feature in enumerate(patrol.get("features") or []):
        geom = (feature or {}).get("geometry") or {}
        props = (feature or {}).get("properties") or {}
        unit = str(props.get("unit", props.get("unit_id", props.get("vehicle", 1))))
        gtype = geom.get("type")
        coords = geom.get("coordinates")
        if gtype in ("LineString", "MultiLineString"):
            lines = [coords] if gtype == "LineString" else coords
            for line in lines:
                try:
                    latlngs = [[round(float(p[1]), 6), round(float(p[0]), 6)] for p in line]
                except (TypeError, ValueError, IndexError) as exc:
                    raise InputError(f"patrol feature {k} (field geometry): expected [lon, lat] pairs") from exc
                routes.append(
                    {"coords": latlngs, "colour": unit_colour(unit), "label": escape_html(f"{ui['unit']} {unit}")}
                )
        elif gtype == "Point":
            try:
                lon, lat = float(coords[0]), float(coords[1])
            except (TypeError, ValueError, IndexError) as exc:
                raise InputError(f"patrol feature {k} (field geometry): expected a [lon, lat] point") from exc
            kind = str(props.get("kind", "stop"))
            order = props.get("sequence", props.get("order", props.get("seq", len(stops) + 1)))
            arrival = _clock(props.get("arrival", props.get("arrival_time", props.get("eta"))))
            departure = _clock(props.get("departure"))
            dwell = props.get("dwell_minutes", props.get("dwell_min", props.get("dwell")))
            reason = props.get("reason", props.get("name", props.get("label")))
            if kind == "station":
                rows = [(ui["station"], ui["station_text"])]
                badge, colour = "⌂", "#263238"
            elif kind == "unreachable":
                rows = [(ui["unreachable"], props.get("hotspot_id", ""))]
                badge, colour = "!", "#9e9e9e"
            else:
                rows = [(ui["unit"], unit), (ui["stop"], order)]
                if arrival:
                    rows.append((ui["arrival"], arrival + (f" – {departure}" if departure else "")))
                if dwell is not None:
                    rows.append((ui["dwell"], f"{dwell} {ui['minutes']}"))
                if props.get("hotspot_id"):
                    rows.append((ui["hotspots"], props["hotspot_id"]))
                badge, colour = order, unit_colour(unit)
            table = "".join(f"<tr><th>{escape_html(a)}</th><td>{escape_html(b)}</td></tr>" for a, b in rows)
            note = f'<div class="wg-note">{escape_html(reason)}</div>' if reason else ""
            stops.append(
                {
                    "lat": round(lat, 6),
                    "lon": round(lon, 6),
                    "order": escape_html(badge),
                    "colour": colour,
                    "popup": f'<div class="wg-popup"><table>{table}</table>{note}</div>',
                }
            )
        else:
            raise InputError(f"patrol feature {k} (field geometry.type): expected LineString or Point, got {gtype!r}")
    return {"routes": routes, "stops": stops, "units": [{"unit": escape_html(u), "colour": c} for u, c in units.items()]}


# ------------------------------------------------------------------------------ folium elements


class _Raw(Element):
    """Text placed in the page verbatim.

    Branca wraps every rendered macro in a new ``Element`` whose text is compiled as a Jinja
    template again, so data containing ``{{ ... }}`` would be evaluated. ward_geo's data and
    inlined assets therefore go through this element, which is never templated.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "WardGeoRaw"
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


class _JsLayer(Layer):
    """A Leaflet layer created by a JavaScript expression built from escaped JSON only."""

    def __init__(self, name: str, expression: str, *, overlay: bool = True, show: bool = True) -> None:
        super().__init__(name=escape_html(name), overlay=overlay, control=True, show=show)
        self._name = "WardGeoLayer"
        self.expression = expression

    def render(self, **kwargs: Any) -> None:
        script = self.get_root().script
        name = self.get_name()
        script.add_child(_Raw(f"var {name} = {self.expression};"), name=name)
        if self.show:
            script.add_child(_Raw(f"{self._parent.get_name()}.addLayer({name});"), name=name + "_add")


class _JsScript(MacroElement):
    """A script statement (state, controls) built from escaped JSON only."""

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "WardGeoScript"
        self.code = code

    def render(self, **kwargs: Any) -> None:
        self.get_root().script.add_child(_Raw(self.code), name=self.get_name())


def _legend_html(cats: Sequence[Mapping[str, Any]], lang: str, *, hotspots: bool, patrol_units: Sequence[Mapping[str, Any]],
                 coarse_week: int) -> str:
    ui = _ui(lang)
    e = escape_html
    parts = [f"<h4>{e(ui['legend'])}</h4>"]
    if cats:
        parts.append(f'<div class="wg-sec">{e(ui["categories"])}</div>')
        for cat in cats:
            parts.append(
                f'<div class="wg-row"><span class="wg-sw" style="background:{cat["colour"]}"></span>'
                f'<span>{cat["label"]} ({int(cat["n"])})</span></div>'
            )
    if hotspots:
        parts.append(f'<div class="wg-sec">{e(ui["hotspots"])} – {e(ui["priority"])}</div>')
        for level in ("high", "medium", "low"):
            colour = PRIORITY_COLOURS[level]
            parts.append(
                f'<div class="wg-row"><span class="wg-poly" style="background:{colour}55;border-color:{colour}"></span>'
                f"<span>{e(ui[level])}</span></div>"
            )
        parts.append(f'<div class="wg-sec">{e(ui["trend"])}</div>')
        for trend, dash in (("new", "dashed"), ("intensifying", "solid"), ("persistent", "solid"),
                            ("diminishing", "dotted"), ("historical", "dotted")):
            width = 4 if trend == "intensifying" else 1 if trend == "historical" else 2
            parts.append(
                f'<div class="wg-row"><span class="wg-line" style="border-top:{width}px {dash} #333"></span>'
                f"<span>{e(_trend_text(trend, ui))}</span></div>"
            )
    if patrol_units:
        parts.append(f'<div class="wg-sec">{e(ui["patrol"])}</div>')
        for unit in patrol_units:
            parts.append(
                f'<div class="wg-row"><span class="wg-line" style="border-top:3px dashed {unit["colour"]}"></span>'
                f'<span>{e(ui["unit"])} {unit["unit"]}</span></div>'
            )
    if coarse_week:
        parts.append(f'<div class="wg-muted">{coarse_week} {e(ui["no_week"])}</div>')
    return "".join(parts)


def _info_html(title: str, lang: str, date_range: tuple[pd.Timestamp | None, pd.Timestamp | None], n: int,
               generated_at: datetime) -> str:
    ui = _ui(lang)
    e = escape_html
    start, end = date_range
    if start is not None and end is not None and not pd.isna(start):
        span = f"{_fmt_local(start, 'day')} {ui['to']} {_fmt_local(end, 'day')}"
    else:
        span = ui["none"]
    return (
        f"<h4>{e(title)}</h4>"
        f"<div>{e(ui['date_range'])}: {e(span)} · {n} {e(ui['incidents'].lower())}</div>"
        f'<div class="wg-muted">{e(ui["generated"])}: {e(generated_at.strftime("%Y-%m-%d %H:%M %Z"))}</div>'
    )


# ------------------------------------------------------------------------------------ the map


def _build(
    incidents: gpd.GeoDataFrame | None,
    boundaries: gpd.GeoDataFrame,
    *,
    title: str,
    focus_ids: set[str],
    label_ids: set[str],
    extent: shapely.Geometry,
    street_clip: shapely.Geometry | None,
    hotspots: gpd.GeoDataFrame | None,
    patrol: Any,
    streets: Any,
    offline: bool | None,
    lang: str,
    tile_url: str | None,
    choropleth: bool,
    timezone: str | None,
    generated_at: datetime | None,
) -> folium.Map:
    ui = _ui(lang)
    zone = _zone(timezone)
    incidents = _check_incidents(incidents)
    # pandas deep-copies ``attrs`` (e.g. a validation report) on every operation.
    incidents = incidents.copy(deep=False)
    incidents.attrs = {}
    if tile_url is None:
        from ward_geo.settings import get_settings

        tile_url = get_settings().tile_url
    if offline is None:
        offline = tile_url is None
    generated_at = generated_at or datetime.now(zone)

    payload, periods, date_range = _incident_payload(incidents, lang, zone)
    ward_names = {}
    for _, row in boundaries.iterrows():
        name = row.get("name_en") if lang == "en" and isinstance(row.get("name_en"), str) else row.get("name")
        ward_names[str(row["ward_id"])] = name if isinstance(name, str) and name else str(row["ward_id"])
    counts: dict[str, int] = {}
    if len(incidents) and "ward_id" in incidents.columns:
        counts = {str(k): int(v) for k, v in incidents["ward_id"].value_counts().items()}

    minx, miny, maxx, maxy = extent.bounds
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=14,
        tiles=None,
        control_scale=True,
        prefer_canvas=False,
        zoom_snap=0.25,
    )
    # Folium's defaults link Leaflet, jQuery, Bootstrap and Font Awesome from CDNs; none of
    # them is needed here: the pinned assets are inlined instead.
    # Without a tile layer Leaflet has no zoom range; the cluster plugin needs one.
    m.options["max_zoom"] = 19
    m.options["min_zoom"] = 10
    m.default_js = []
    m.default_css = []
    root = m.get_root()
    root.title = escape_html(title)
    bundle = asset_bundle()
    runtime = (
        f"<style data-asset=\"ward_geo\">\n{_static('ward_geo_map.css')}\n</style>\n"
        f"<script data-asset=\"ward_geo\">\n{_static('ward_geo_map.js')}\n</script>"
    )
    root.header.add_child(_Raw(bundle.html() + "\n" + runtime), name="ward_geo_assets")

    osm = script_json({"attribution": escape_html(OSM_ATTRIBUTION)})

    # Base layers: a tile server when configured (or OSM tiles online); the vector streets always.
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=escape_html(f"{OSM_ATTRIBUTION} · {tile_url}"), name=escape_html(ui["tiles"]),
                         max_zoom=19, overlay=False, control=True).add_to(m)
    elif not offline:
        folium.TileLayer(tiles=OSM_TILES, attr=escape_html(OSM_ATTRIBUTION), name=escape_html(ui["tiles"]), max_zoom=19,
                         overlay=False, control=True).add_to(m)
    street_data = _streets_payload(streets, street_clip)
    has_tiles = bool(tile_url) or not offline
    if street_data["minor"] or street_data["major"]:
        # The vector streets are the basemap offline; over tiles they stay available but off.
        m.add_child(_JsLayer(ui["streets"], f"WardGeo.streets({script_json(street_data)}, {osm})", show=not has_tiles))

    bjson = _boundary_payload(boundaries, focus=focus_ids, permanent=label_ids, incident_counts=counts, lang=lang,
                              choropleth=choropleth)
    bopts = script_json({"attribution": escape_html(OSM_ATTRIBUTION), "choropleth": choropleth})
    m.add_child(_JsLayer(ui["ward_density"] if choropleth else ui["wards"], f"WardGeo.boundaries({script_json(bjson)}, {bopts})"))

    state = _JsScript(f"var wg_state = WardGeo.incidents({script_json(payload)});")
    state._name = "WardGeoState"
    m.add_child(state)
    for k, cat in enumerate(payload["cats"]):
        # Category labels are escaped HTML already; the layer control shows them as HTML.
        layer = _JsLayer("", f"WardGeo.categoryLayer(wg_state, {k})")
        layer.layer_name = (
            f'<span class="wg-sw" style="display:inline-block;width:10px;height:10px;border-radius:50%;'
            f'background:{cat["colour"]}"></span> {cat["label"]} ({int(cat["n"])})'
        )
        m.add_child(layer)
    if len(incidents):
        heat_opts = script_json({"radius": 16, "blur": 14, "minOpacity": 0.25})
        m.add_child(_JsLayer(ui["heatmap"], f"WardGeo.heatLayer(wg_state, {heat_opts})", show=False))

    hjson = _hotspot_payload(hotspots, periods, lang, zone, ward_names, incidents)
    if hjson["features"]:
        m.add_child(_JsLayer(ui["hotspots"], f"WardGeo.hotspots(wg_state, {script_json(hjson)})"))

    patrol_units: list[Mapping[str, Any]] = []
    if patrol is not None:
        pdata = _patrol_payload(patrol, lang)
        patrol_units = pdata["units"]
        m.add_child(_JsLayer(ui["patrol"], f"WardGeo.patrol({script_json(pdata)})"))

    folium.LayerControl(position="topright", collapsed=True).add_to(m)
    fullscreen = Fullscreen(position="topleft", title="Toàn màn hình" if lang == "vi" else "Full screen",
                            title_cancel="Thoát toàn màn hình" if lang == "vi" else "Exit full screen")
    fullscreen.default_js = []
    fullscreen.default_css = []
    m.add_child(fullscreen)

    legend = _legend_html(payload["cats"], lang, hotspots=bool(hjson["features"]), patrol_units=patrol_units,
                          coarse_week=payload["coarse_week"])
    info = _info_html(title, lang, date_range, len(incidents), generated_at)
    labels = {k: escape_html(ui[k]) for k in ("all", "month", "week", "play")}
    name = m.get_name()
    controls = [
        f"WardGeo.htmlControl({name}, {script_json(info)}, 'topleft', 'wg-info');",
        f"WardGeo.htmlControl({name}, {script_json(legend)}, 'bottomright', 'wg-legend');",
    ]
    if len(incidents):
        controls.append(f"var wg_time = WardGeo.timeSlider({name}, wg_state, {script_json(labels)});")
    bounds = [[miny, minx], [maxy, maxx]]
    controls.append(f"{name}.fitBounds({script_json(bounds)}, {{padding: [10, 10]}});")
    controls.append(f"{name}.attributionControl.addAttribution({script_json(escape_html(OSM_ATTRIBUTION))});")
    m.add_child(_JsScript("\n".join(controls)))
    m.ward_geo_offline = bool(offline) and not tile_url  # type: ignore[attr-defined]
    m.ward_geo_ward_id = next(iter(focus_ids)) if len(focus_ids) == 1 and not choropleth else None  # type: ignore[attr-defined]
    return m


def _resolve_ward(boundaries: gpd.GeoDataFrame, ward_id: str) -> gpd.GeoDataFrame:
    hit = boundaries[boundaries["ward_id"] == ward_id]
    if hit.empty:
        from ward_geo.schema import slugify

        slug = slugify(ward_id)
        hit = boundaries[(boundaries["ward_id"] == slug) | (boundaries["name"].map(lambda n: isinstance(n, str) and slugify(n) == slug))]
    if hit.empty:
        sample = ", ".join(map(str, boundaries["ward_id"].head(8)))
        raise NotFoundError(f"ward {ward_id!r} not in the boundaries (e.g. {sample})")
    return hit.iloc[[0]]


def hotspots_in_ward(hotspots: gpd.GeoDataFrame, ward_id: str, shape: shapely.Geometry | None = None) -> gpd.GeoDataFrame:
    """The hotspots touching a ward: by their ``ward_ids`` column, else by intersecting ``shape``."""
    if "ward_ids" in hotspots.columns:
        keep = hotspots["ward_ids"].map(lambda ids: ward_id in [str(i) for i in _as_list(ids)])
        return hotspots[keep.to_numpy(dtype=bool)]
    if shape is None:
        return hotspots
    return hotspots[hotspots.intersects(shape)]


def ward_map(
    incidents: gpd.GeoDataFrame | None,
    boundaries: gpd.GeoDataFrame,
    ward_id: str,
    *,
    hotspots: gpd.GeoDataFrame | None = None,
    patrol: Any = None,
    streets: Any = None,
    offline: bool | None = None,
    lang: str = "vi",
    tile_url: str | None = None,
    timezone: str | None = None,
    generated_at: datetime | None = None,
) -> folium.Map:
    """Interactive map of one ward.

    Parameters
    ----------
    incidents : GeoDataFrame or None
        Canonical incidents (EPSG:4326). Only those inside the ward (``ward_id`` column when
        present, else by location) are drawn.
    boundaries : GeoDataFrame
        Ward boundaries (``ward_id``, ``name``, ``name_en``, geometry). Neighbouring wards are
        drawn for context.
    ward_id : str
        The ward (id, or a name that slugifies to it).
    hotspots : GeoDataFrame, optional
        Output of :func:`ward_geo.analysis.hotspots.find_hotspots` (with ``trend`` when evaluated).
    patrol : dict or PatrolPlan, optional
        GeoJSON FeatureCollection of route LineStrings and stop Points (``unit``, ``order``,
        ``arrival``, ``dwell_min``), or an object with ``to_geojson()``.
    streets : GeoDataFrame or networkx graph, optional
        Street lines for the offline vector basemap (clipped to the ward, simplified).
    offline : bool, optional
        True: no network request at all. False: standard OSM tiles. Default: offline unless a
        tile server is configured (``tile_url`` or ``settings.tile_url``).
    lang : {"vi", "en"}
        Label language.
    tile_url : str, optional
        Tile URL template of a local tile server (default ``settings.tile_url``).
    timezone : str, optional
        Zone for displayed times and periods (default ``settings.timezone``).
    generated_at : datetime, optional
        Stamp shown on the map (default now).

    Returns
    -------
    folium.Map
    """
    boundaries = _check_boundaries(boundaries)
    ward = _resolve_ward(boundaries, ward_id)
    wid = str(ward["ward_id"].iloc[0])
    shape = ward.geometry.iloc[0]
    incidents = _check_incidents(incidents)
    if len(incidents):
        if "ward_id" in incidents.columns and incidents["ward_id"].notna().any():
            incidents = incidents[incidents["ward_id"] == wid]
        else:
            incidents = incidents[incidents.intersects(shape)]
    if hotspots is not None and len(hotspots):
        hotspots = hotspots_in_ward(hotspots, wid, shape)
    neighbours = boundaries[boundaries.intersects(shape.buffer(0.002))]
    name = ward["name"].iloc[0]
    if lang == "en" and isinstance(ward["name_en"].iloc[0] if "name_en" in ward.columns else None, str):
        name = ward["name_en"].iloc[0]
    metric = gpd.GeoSeries([shape], crs=WGS84)
    metric_crs = metric.estimate_utm_crs()
    clip = metric.to_crs(metric_crs).buffer(150).to_crs(WGS84).iloc[0]
    return _build(
        incidents,
        neighbours,
        title=str(name),
        focus_ids={wid},
        label_ids=set(neighbours["ward_id"].astype(str)),
        extent=shape,
        street_clip=clip,
        hotspots=hotspots,
        patrol=patrol,
        streets=streets,
        offline=offline,
        lang=lang,
        tile_url=tile_url,
        choropleth=False,
        timezone=timezone,
        generated_at=generated_at,
    )


def city_map(
    incidents: gpd.GeoDataFrame | None,
    boundaries: gpd.GeoDataFrame,
    *,
    ward_ids: Iterable[str] | None = None,
    hotspots: gpd.GeoDataFrame | None = None,
    patrol: Any = None,
    streets: Any = None,
    offline: bool | None = None,
    lang: str = "vi",
    tile_url: str | None = None,
    title: str | None = None,
    timezone: str | None = None,
    generated_at: datetime | None = None,
) -> folium.Map:
    """Overview map of many wards, shaded by incident density.

    Parameters are those of :func:`ward_map`; ``ward_ids`` limits the wards drawn (default:
    every ward of ``boundaries``). The view fits the wards that have incidents (all wards when
    there are none); labels are permanent for those wards and shown on hover for the others.
    """
    boundaries = _check_boundaries(boundaries)
    if ward_ids is not None:
        wanted = [str(w) for w in ward_ids]
        unknown = sorted(set(wanted) - set(boundaries["ward_id"].astype(str)))
        if unknown:
            raise NotFoundError(f"wards not in the boundaries: {unknown}")
        boundaries = boundaries[boundaries["ward_id"].isin(wanted)]
    if boundaries.empty:
        raise InputError("no ward boundaries to draw")
    incidents = _check_incidents(incidents)
    active: set[str] = set()
    if len(incidents) and "ward_id" in incidents.columns:
        active = set(incidents["ward_id"].dropna().astype(str)) & set(boundaries["ward_id"].astype(str))
    focus = boundaries[boundaries["ward_id"].isin(active)] if active else boundaries
    extent = shapely.union_all(focus.geometry.to_numpy()).envelope
    ui = _ui(lang)
    return _build(
        incidents,
        boundaries,
        title=title or ui["city"],
        focus_ids=active,
        label_ids=active,
        extent=extent,
        street_clip=extent.buffer(0.003),
        hotspots=hotspots,
        patrol=patrol,
        streets=streets,
        offline=offline,
        lang=lang,
        tile_url=tile_url,
        choropleth=True,
        timezone=timezone,
        generated_at=generated_at,
    )


_SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}$")


def write_maps(
    incidents: gpd.GeoDataFrame | None,
    boundaries: gpd.GeoDataFrame,
    out_dir: str | Path,
    *,
    ward_ids: Iterable[str],
    hotspots: gpd.GeoDataFrame | None = None,
    streets: Any = None,
    patrols: Mapping[str, Any] | None = None,
    city: bool = True,
    offline: bool | None = None,
    lang: str = "vi",
) -> dict[str, Path]:
    """Write ``<ward_id>.html`` for each ward and ``city.html`` (the overview) into ``out_dir``.

    Parameters
    ----------
    incidents, boundaries, hotspots, streets, offline, lang
        As for :func:`ward_map`; computed once and shared by every map.
    out_dir : str or Path
        Folder (created).
    ward_ids : iterable of str
        Wards to draw; each must be a slug (``[a-z0-9-]``), as it becomes a file name.
    patrols : mapping, optional
        ``{ward_id: plan}`` patrol plans to draw on the ward maps.
    city : bool, default True
        Also write ``city.html``: the overview of every ward of ``boundaries``.

    Returns
    -------
    dict
        ``{ward_id or "city": path}``.
    """
    wards = [str(w) for w in ward_ids]
    bad = [w for w in wards if not _SAFE_NAME.match(w)]
    if bad:
        raise ParameterError(f"ward ids must be slugs of [a-z0-9-] to name map files, got {bad}")
    out = Path(out_dir)
    written: dict[str, Path] = {}
    for ward_id in wards:
        m = ward_map(incidents, boundaries, ward_id, hotspots=hotspots, streets=streets,
                     patrol=(patrols or {}).get(ward_id), offline=offline, lang=lang)
        written[ward_id] = save_map(m, out / f"{ward_id}.html")
    if city:
        m = city_map(incidents, boundaries, hotspots=hotspots, streets=streets, offline=offline, lang=lang)
        written["city"] = save_map(m, out / "city.html")
    return written


_EXTERNAL = [
    re.compile(r"<script[^>]*\bsrc\s*=\s*[\"']?\s*(?:https?:)?//[^\"'\s>]+", re.I),
    re.compile(r"<link[^>]*\bhref\s*=\s*[\"']?\s*(?:https?:)?//[^\"'\s>]+", re.I),
    re.compile(r"<img[^>]*\bsrc\s*=\s*[\"']?\s*(?:https?:)?//[^\"'\s>]+", re.I),
    re.compile(r"url\(\s*[\"']?\s*(?:https?:)?//[^)\"']+", re.I),
    re.compile(r"@import\s+[\"']?(?:https?:)?//[^\"';]+", re.I),
    re.compile(r"L\.tileLayer\(\s*[\"'](?:https?:)?//[^\"']+", re.I),
]


def external_references(html: str) -> list[str]:
    """Scripts, stylesheets, images, CSS urls and tile layers of ``html`` that point to the network."""
    found: list[str] = []
    for pattern in _EXTERNAL:
        found.extend(match.group(0)[:200] for match in pattern.finditer(html))
    return found


def render_map_html(m: folium.Map) -> str:
    """Render a map built by :func:`ward_map`/:func:`city_map` to one HTML string.

    Raises
    ------
    ConfigurationError
        When an offline map would reference anything on the network.
    """
    html = m.get_root().render()
    if getattr(m, "ward_geo_offline", False):
        external = external_references(html)
        if external:
            raise ConfigurationError(f"offline map references network resources: {external[:5]}")
    return html


def save_map(m: folium.Map, path: str | Path) -> Path:
    """Write ``m`` as one HTML file (parent folders created). Returns the path written."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ParameterError(f"map output must be an .html file, got {str(path)!r}")
    html = render_map_html(m)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
