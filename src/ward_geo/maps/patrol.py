"""The JSON data of a patrol plan on the map: routes per unit and numbered stops with popups.

A plan is a GeoJSON FeatureCollection (or an object with ``to_geojson()``, such as
:class:`ward_geo.planning.PatrolPlan`); each unit gets a colour in the order it appears.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ward_geo.errors import InputError
from ward_geo.maps.escaping import escape_html
from ward_geo.maps.periods import clock
from ward_geo.maps.popups import table_html
from ward_geo.maps.style import UNIT_COLOURS, ui_words

__all__ = ["patrol_payload"]


class _UnitColours:
    """A colour per patrol unit, in the order units first appear."""

    def __init__(self) -> None:
        self.units: dict[str, str] = {}

    def __call__(self, unit: str) -> str:
        if unit not in self.units:
            self.units[unit] = UNIT_COLOURS[len(self.units) % len(UNIT_COLOURS)]
        return self.units[unit]


def _route_lines(k: int, gtype: str, coords: Any) -> list[list[list[float]]]:
    lines = [coords] if gtype == "LineString" else coords
    try:
        return [[[round(float(p[1]), 6), round(float(p[0]), 6)] for p in line] for line in lines]
    except (TypeError, ValueError, IndexError) as exc:
        raise InputError(f"patrol feature {k} (field geometry): expected [lon, lat] pairs") from exc


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _stop_rows(props: Mapping[str, Any], kind: str, unit: str, order: Any, ui: dict[str, str]) -> list[tuple[str, str]]:
    if kind == "station":
        return [(ui["station"], ui["station_text"])]
    if kind == "unreachable":
        return [(ui["unreachable"], _text(props.get("hotspot_id", "")))]
    rows: list[tuple[str, str]] = [(ui["unit"], unit), (ui["stop"], _text(order))]
    arrival = clock(props.get("arrival", props.get("arrival_time", props.get("eta"))))
    departure = clock(props.get("departure"))
    dwell = props.get("dwell_minutes", props.get("dwell_min", props.get("dwell")))
    if arrival:
        rows.append((ui["arrival"], arrival + (f" – {departure}" if departure else "")))
    if dwell is not None:
        rows.append((ui["dwell"], f"{dwell} {ui['minutes']}"))
    if props.get("hotspot_id"):
        rows.append((ui["hotspots"], str(props["hotspot_id"])))
    return rows


def _stop(k: int, coords: Any, props: Mapping[str, Any], unit: str, context: tuple[int, _UnitColours, dict[str, str]]
          ) -> dict[str, Any]:
    n_stops, colours, ui = context
    try:
        lon, lat = float(coords[0]), float(coords[1])
    except (TypeError, ValueError, IndexError) as exc:
        raise InputError(f"patrol feature {k} (field geometry): expected a [lon, lat] point") from exc
    kind = str(props.get("kind", "stop"))
    order = props.get("sequence", props.get("order", props.get("seq", n_stops + 1)))
    reason = props.get("reason", props.get("name", props.get("label")))
    badge, colour = {"station": ("⌂", "#263238"), "unreachable": ("!", "#9e9e9e")}.get(kind, (order, ""))
    if kind not in ("station", "unreachable"):
        colour = colours(unit)
    rows = _stop_rows(props, kind, unit, order, ui)
    table = table_html(rows)
    note = f'<div class="wg-note">{escape_html(reason)}</div>' if reason else ""
    return {
        "lat": round(lat, 6),
        "lon": round(lon, 6),
        "order": escape_html(badge),
        "colour": colour,
        "popup": f'<div class="wg-popup"><table>{table}</table>{note}</div>',
    }


def patrol_payload(patrol: Mapping[str, Any] | Any, lang: str) -> dict[str, Any]:
    """Routes and stops from a patrol plan (a GeoJSON FeatureCollection or an object with ``to_geojson()``).

    Parameters
    ----------
    patrol : mapping or PatrolPlan
        Route LineStrings and stop Points (``unit``, ``order``, ``arrival``, ``dwell_min``,
        ``kind`` of ``stop``/``station``/``unreachable``).
    lang : {"vi", "en"}
        Label language.

    Returns
    -------
    dict
        ``routes``, ``stops`` and ``units`` (with their colours) for the browser code.

    Raises
    ------
    InputError
        Not a FeatureCollection, or a feature whose geometry is not a route or a stop; the
        message names the feature and the field.
    """
    ui = ui_words(lang)
    if hasattr(patrol, "to_geojson"):
        patrol = patrol.to_geojson()
    if not isinstance(patrol, Mapping) or patrol.get("type") != "FeatureCollection":
        raise InputError("patrol plan must be a GeoJSON FeatureCollection of LineStrings (routes) and Points (stops)")
    colours = _UnitColours()
    routes: list[dict[str, Any]] = []
    stops: list[dict[str, Any]] = []
    for k, feature in enumerate(patrol.get("features") or []):
        geom = (feature or {}).get("geometry") or {}
        props = (feature or {}).get("properties") or {}
        unit = str(props.get("unit", props.get("unit_id", props.get("vehicle", 1))))
        gtype = geom.get("type")
        if gtype in ("LineString", "MultiLineString"):
            label = escape_html(f"{ui['unit']} {unit}")
            routes.extend({"coords": line, "colour": colours(unit), "label": label}
                          for line in _route_lines(k, gtype, geom.get("coordinates")))
        elif gtype == "Point":
            stops.append(_stop(k, geom.get("coordinates"), props, unit, (len(stops), colours, ui)))
        else:
            raise InputError(f"patrol feature {k} (field geometry.type): expected LineString or Point, got {gtype!r}")
    units = [{"unit": escape_html(u), "colour": c} for u, c in colours.units.items()]
    return {"routes": routes, "stops": stops, "units": units}
