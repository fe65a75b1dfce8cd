"""The JSON data a map page draws: incidents, streets, ward boundaries, hotspots, patrol plans.

Each function turns a table (or a plan) into plain data for the browser code in
``static/ward_geo_map.js``. Strings from data are HTML-escaped here (the browser inserts
them as HTML); the page embeds the result with :func:`~ward_geo.maps.escaping.script_json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ward_geo.categories import CATEGORIES
from ward_geo.errors import ParameterError
from ward_geo.maps.escaping import escape_html
from ward_geo.maps.patrol import patrol_payload
from ward_geo.maps.periods import Periods, fmt_local, local_times, utc_timestamp
from ward_geo.maps.popups import as_list, hotspot_popup, num
from ward_geo.maps.style import MAJOR_HIGHWAYS, category_entry, trend_style, ui_words
from ward_geo.schema import WGS84

__all__ = ["incident_payload", "streets_payload", "boundary_payload", "hotspot_payload", "patrol_payload"]

DateRange = tuple[pd.Timestamp | None, pd.Timestamp | None]


def incident_payload(
    incidents: gpd.GeoDataFrame, lang: str, zone: ZoneInfo
) -> tuple[dict[str, Any], Periods, DateRange]:
    """Incident markers as column arrays, with their categories and time-slider periods.

    Parameters
    ----------
    incidents : GeoDataFrame
        Checked incidents in EPSG:4326.
    lang : {"vi", "en"}
        Label language.
    zone : ZoneInfo
        Zone of the displayed times and periods.

    Returns
    -------
    payload : dict
        ``lat``/``lon``/``c`` (category index)/``pm``/``pw`` (month and week period, -2 for
        "All" only)/``t``/``d``/``id`` arrays, ``cats``, ``months``, ``weeks`` and labels.
    periods : Periods
        The periods of the time slider.
    date_range : tuple
        First and last local time (None when there are no incidents).
    """
    ui = ui_words(lang)
    n = len(incidents)
    local = local_times(incidents, zone) if n else pd.Series([], dtype="datetime64[ns, UTC]")
    start = local.min() if n else None
    end = local.max() if n else None
    periods = Periods(start, end, lang)

    codes = (incidents["category"].astype("string").fillna("other").to_numpy(dtype=object) if n
             else np.array([], dtype=object))
    counts = pd.Series(codes).value_counts() if n else pd.Series([], dtype=int)
    ordered = [c for c in CATEGORIES if c in counts.index] + sorted(c for c in counts.index if c not in CATEGORIES)
    cat_index = {code: k for k, code in enumerate(ordered)}
    cats = [category_entry(code, lang, int(counts[code])) for code in ordered]

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
        when[k] = fmt_local(local.iloc[k], str(precision[k]))
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


def streets_payload(streets: Any, clip: shapely.Geometry | None, tolerance: float = 1.5e-5) -> dict[str, Any]:
    """Street lines as a light vector basemap: ``minor`` coordinates and named ``major`` roads.

    Parameters
    ----------
    streets : GeoDataFrame, networkx graph or None
        Street lines (``highway`` and ``name`` columns used when present) or a street graph.
    clip : shapely geometry or None
        Area to keep (lines are cut at its edge).
    tolerance : float, default 1.5e-5
        Simplification tolerance in degrees.

    Returns
    -------
    dict
        ``{"minor": [lines], "major": [{"coords", "weight", "name"}]}``.
    """
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
    nothing = pd.Series([None] * len(gdf), index=gdf.index)
    highway = gdf["highway"].map(_first) if "highway" in gdf.columns else nothing
    names = gdf["name"].map(_first) if "name" in gdf.columns else nothing
    minor: list[list[list[float]]] = []
    major: list[dict[str, Any]] = []
    for geom, hw, name in zip(simplified, highway, names, strict=True):
        lines = _line_coords(geom)
        if not lines:
            continue
        weight = MAJOR_HIGHWAYS.get(str(hw)) if hw is not None else None
        if weight is None:
            minor.extend(lines)
        else:
            label = escape_html(name) if isinstance(name, str) and name else ""
            for line in lines:
                major.append({"coords": line, "weight": weight, "name": label})
    return {"minor": minor, "major": major}


def boundary_payload(
    boundaries: gpd.GeoDataFrame,
    *,
    focus: set[str],
    permanent: set[str],
    incident_counts: Mapping[str, int],
    lang: str,
    choropleth: bool,
) -> dict[str, Any]:
    """Ward polygons with labels, popups and (for the overview) a density shading.

    Parameters
    ----------
    boundaries : GeoDataFrame
        Checked ward boundaries in EPSG:4326.
    focus : set of str
        Wards drawn as the map's subject.
    permanent : set of str
        Wards whose label is always shown (others on hover).
    incident_counts : mapping
        Incidents per ward id.
    lang : {"vi", "en"}
        Label language.
    choropleth : bool
        Shade wards by incident density (the overview).

    Returns
    -------
    dict
        A GeoJSON FeatureCollection.
    """
    ui = ui_words(lang)
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
    """Round coordinates to 6 decimals (about 0.1 m) to keep pages small."""
    def rnd(coords: Any) -> Any:
        if isinstance(coords, (float, int)):
            return round(float(coords), 6)
        return [rnd(c) for c in coords]

    for f in features:
        f["geometry"] = {"type": f["geometry"]["type"], "coordinates": rnd(f["geometry"]["coordinates"])}
    return features




def _params_reason(hotspots: gpd.GeoDataFrame) -> str | None:
    """The analysis's reason for its parameters (``attrs["params"]``), when recorded."""
    params = hotspots.attrs.get("params") if isinstance(hotspots.attrs, dict) else None
    if isinstance(params, Mapping):
        reason = params.get("reason")
    else:
        reason = getattr(params, "reason", None) if params is not None else None
    return None if reason is None else str(reason)


class _ExactShare:
    """Share of a hotspot's incidents with an exact time (None when the incidents lack precision)."""

    def __init__(self, incidents: gpd.GeoDataFrame) -> None:
        self.known: set[str] = set()
        self.exact: set[str] | None = None
        if "time_precision" in incidents.columns and len(incidents):
            ids = incidents["incident_id"].astype(str).to_numpy(dtype=object)
            self.known = set(ids)
            self.exact = set(ids[(incidents["time_precision"] == "exact").to_numpy(dtype=bool)])

    def of(self, members: list[Any]) -> float | None:
        """Share of ``members`` (incident ids) drawn on the map that have an exact time."""
        if self.exact is None or not members:
            return None
        present = [str(m) for m in members if str(m) in self.known]
        return sum(m in self.exact for m in present) / len(present) if present else None


def _local(value: Any, zone: ZoneInfo) -> pd.Timestamp | None:
    stamp = utc_timestamp(value)
    return stamp.tz_convert(zone) if stamp is not None else None


def _hotspot_tooltip(row: Mapping[str, Any], ui: dict[str, str], priority: str) -> str:
    rank = num(row.get("rank"))
    name = row.get("name")
    place = name if isinstance(name, str) and name else ui["hotspots"]
    return (
        f"#{int(rank) if rank is not None else '–'} {escape_html(str(place))} · "
        f"{escape_html(ui.get(priority, priority))} · {int(num(row.get('n_incidents')) or 0)} "
        f"{escape_html(ui['incidents'].lower())}"
    )


def hotspot_payload(
    hotspots: gpd.GeoDataFrame | None,
    periods: Periods,
    lang: str,
    zone: ZoneInfo,
    ward_names: Mapping[str, str],
    incidents: gpd.GeoDataFrame,
) -> dict[str, Any]:
    """Hotspot polygons with their style, popup, tooltip and time-slider span.

    Parameters
    ----------
    hotspots : GeoDataFrame or None
        Output of :func:`ward_geo.analysis.hotspots.find_hotspots`.
    periods : Periods
        The time slider's periods (each hotspot shows from its first to its last period).
    lang : {"vi", "en"}
        Label language.
    zone : ZoneInfo
        Zone of the dates shown.
    ward_names : mapping
        Ward id to display name.
    incidents : GeoDataFrame
        The incidents drawn (for the share with an exact time).

    Returns
    -------
    dict
        A GeoJSON FeatureCollection (no features when there are no hotspots).

    Raises
    ------
    ParameterError
        ``hotspots`` is not a GeoDataFrame.
    """
    if hotspots is None or len(hotspots) == 0:
        return {"type": "FeatureCollection", "features": []}
    if not isinstance(hotspots, gpd.GeoDataFrame):
        raise ParameterError("hotspots must be a GeoDataFrame (as returned by find_hotspots)")
    if hotspots.crs is not None and not hotspots.crs.equals(WGS84):
        hotspots = hotspots.to_crs(WGS84)
    reason = _params_reason(hotspots)
    # pandas deep-copies ``attrs`` on every operation: work on a copy without them.
    hotspots = hotspots.copy(deep=False)
    hotspots.attrs = {}
    share = _ExactShare(incidents)
    has_members = "member_ids" in hotspots.columns
    n_months = max(len(periods.months) - 1, 0)
    n_weeks = max(len(periods.weeks) - 1, 0)
    ui = ui_words(lang)
    features = []
    for _, row in hotspots.iterrows():
        geom = row.geometry
        if geom is None or geom.is_empty:
            continue
        exact = share.of(as_list(row.get("member_ids")) if has_members else [])
        priority = str(row.get("priority") or "low")
        trend = row.get("trend") if isinstance(row.get("trend"), str) else None
        first_local, last_local = _local(row.get("first_seen"), zone), _local(row.get("last_seen"), zone)
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(shapely.simplify(geom, 5e-6, preserve_topology=True)),
                "properties": {
                    "style": trend_style(trend, priority),
                    "popup": hotspot_popup(row, lang, zone, reason, ward_names, exact),
                    "tooltip": _hotspot_tooltip(row, ui, priority),
                    "m0": periods.index_of(first_local, "month", 0),
                    "m1": periods.index_of(last_local, "month", n_months),
                    "w0": periods.index_of(first_local, "week", 0),
                    "w1": periods.index_of(last_local, "week", n_weeks),
                },
            }
        )
    return {"type": "FeatureCollection", "features": _round_features(features)}
