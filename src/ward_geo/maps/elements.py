"""The elements of a map page: layers drawn by the browser code, the legend, the info box, controls.

Folium's own layers template their options into JavaScript; ward_geo's layers instead
emit one JavaScript expression built from :func:`~ward_geo.maps.escaping.script_json` data
only (:class:`JsLayer`), and raw text is placed with :class:`RawText`, which is never
re-read as a template.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import folium
import pandas as pd
from branca.element import Element, Figure, MacroElement
from folium.map import Layer
from folium.plugins import Fullscreen

from ward_geo.errors import ConfigurationError
from ward_geo.maps.escaping import escape_html, script_json
from ward_geo.maps.periods import fmt_local
from ward_geo.maps.style import OSM_TILES, PRIORITY_COLOURS, trend_text, ui_words
from ward_geo.streets import OSM_ATTRIBUTION

__all__ = [
    "RawText",
    "JsLayer",
    "JsScript",
    "legend_html",
    "info_html",
    "add_base_layers",
    "add_incident_layers",
    "add_controls",
]


def figure_of(element: Element) -> Figure:
    """The page (:class:`branca.element.Figure`) an element belongs to."""
    root = element.get_root()
    if not isinstance(root, Figure):
        raise ConfigurationError("a map element can only be rendered inside a page")
    return root


class RawText(Element):
    """Text placed in the page verbatim.

    Branca wraps every rendered macro in a new ``Element`` whose text is compiled as a Jinja
    template again, so data containing ``{{ ... }}`` would be evaluated. ward_geo's data and
    inlined assets therefore go through this element, which is never templated.

    Parameters
    ----------
    text : str
        The text, already escaped for where it goes.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "WardGeoRaw"
        self._text = text

    def render(self, **kwargs: Any) -> str:
        """The text, unchanged."""
        return self._text


class JsLayer(Layer):
    """A Leaflet layer created by a JavaScript expression built from escaped JSON only.

    Parameters
    ----------
    name : str
        Name in the layer control (escaped here).
    expression : str
        JavaScript creating the layer.
    overlay, show : bool
        As for folium layers.
    """

    def __init__(self, name: str, expression: str, *, overlay: bool = True, show: bool = True) -> None:
        super().__init__(name=escape_html(name), overlay=overlay, control=True, show=show)
        self._name = "WardGeoLayer"
        self.expression = expression

    def render(self, **kwargs: Any) -> str:
        """Add the layer's statements to the page script."""
        script = figure_of(self).script
        name = self.get_name()
        script.add_child(RawText(f"var {name} = {self.expression};"), name=name)
        if self.show:
            if self._parent is None:
                raise ConfigurationError("a map layer can only be rendered on a map")
            script.add_child(RawText(f"{self._parent.get_name()}.addLayer({name});"), name=name + "_add")
        return ""


class JsScript(MacroElement):
    """A script statement (state, controls) built from escaped JSON only.

    Parameters
    ----------
    code : str
        The JavaScript.
    """

    def __init__(self, code: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "WardGeoScript"
        self.code = code

    def render(self, **kwargs: Any) -> str:
        """Add the statement to the page script."""
        figure_of(self).script.add_child(RawText(self.code), name=self.get_name())
        return ""


def legend_html(
    cats: Sequence[Mapping[str, Any]],
    lang: str,
    *,
    hotspots: bool,
    patrol_units: Sequence[Mapping[str, Any]],
    coarse_week: int,
) -> str:
    """The legend: categories with counts, hotspot priorities and trends, patrol units.

    Parameters
    ----------
    cats : sequence of mapping
        Category entries of the incident payload (labels escaped already).
    lang : {"vi", "en"}
        Label language.
    hotspots : bool
        Whether hotspots are drawn.
    patrol_units : sequence of mapping
        Units of the patrol plan with their colours.
    coarse_week : int
        Incidents without a week (shown under "All" only).

    Returns
    -------
    str
        HTML.
    """
    ui = ui_words(lang)
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
                f"<span>{e(trend_text(trend, ui))}</span></div>"
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


def info_html(title: str, lang: str, date_range: tuple[pd.Timestamp | None, pd.Timestamp | None], n: int,
              generated_at: datetime) -> str:
    """The info box: title, the data's date range and count, and the generated-at stamp."""
    ui = ui_words(lang)
    e = escape_html
    start, end = date_range
    if start is not None and end is not None and not pd.isna(start):
        span = f"{fmt_local(start, 'day')} {ui['to']} {fmt_local(end, 'day')}"
    else:
        span = ui["none"]
    return (
        f"<h4>{e(title)}</h4>"
        f"<div>{e(ui['date_range'])}: {e(span)} · {n} {e(ui['incidents'].lower())}</div>"
        f'<div class="wg-muted">{e(ui["generated"])}: {e(generated_at.strftime("%Y-%m-%d %H:%M %Z"))}</div>'
    )


def add_base_layers(m: folium.Map, ui: dict[str, str], tile_url: str | None, offline: bool,
                    street_data: Mapping[str, Any]) -> None:
    """Base layers: a tile server when configured (or OSM tiles online); the vector streets always."""
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=escape_html(f"{OSM_ATTRIBUTION} · {tile_url}"),
                         name=escape_html(ui["tiles"]), max_zoom=19, overlay=False, control=True).add_to(m)
    elif not offline:
        folium.TileLayer(tiles=OSM_TILES, attr=escape_html(OSM_ATTRIBUTION), name=escape_html(ui["tiles"]),
                         max_zoom=19, overlay=False, control=True).add_to(m)
    has_tiles = bool(tile_url) or not offline
    if street_data["minor"] or street_data["major"]:
        osm = script_json({"attribution": escape_html(OSM_ATTRIBUTION)})
        # The vector streets are the basemap offline; over tiles they stay available but off.
        m.add_child(JsLayer(ui["streets"], f"WardGeo.streets({script_json(street_data)}, {osm})", show=not has_tiles))


def add_incident_layers(m: folium.Map, payload: Mapping[str, Any], ui: dict[str, str]) -> None:
    """The incidents' shared state, one marker layer per category, and the heatmap (off by default)."""
    state = JsScript(f"var wg_state = WardGeo.incidents({script_json(payload)});")
    state._name = "WardGeoState"
    m.add_child(state)
    for k, cat in enumerate(payload["cats"]):
        # Category labels are escaped HTML already; the layer control shows them as HTML.
        layer = JsLayer("", f"WardGeo.categoryLayer(wg_state, {k})")
        layer.layer_name = (
            f'<span class="wg-sw" style="display:inline-block;width:10px;height:10px;border-radius:50%;'
            f'background:{cat["colour"]}"></span> {cat["label"]} ({int(cat["n"])})'
        )
        m.add_child(layer)
    if payload["lat"]:
        heat_opts = script_json({"radius": 16, "blur": 14, "minOpacity": 0.25})
        m.add_child(JsLayer(ui["heatmap"], f"WardGeo.heatLayer(wg_state, {heat_opts})", show=False))


def add_controls(m: folium.Map, lang: str, *, legend: str, info: str, slider: bool,
                 bounds: list[list[float]]) -> None:
    """Layer control, fullscreen, the info box and legend, the time slider, the initial view."""
    ui = ui_words(lang)
    folium.LayerControl(position="topright", collapsed=True).add_to(m)
    fullscreen = Fullscreen(  # type: ignore[no-untyped-call]
        position="topleft", title="Toàn màn hình" if lang == "vi" else "Full screen",
        title_cancel="Thoát toàn màn hình" if lang == "vi" else "Exit full screen",
    )
    fullscreen.default_js = []
    fullscreen.default_css = []
    m.add_child(fullscreen)
    labels = {k: escape_html(ui[k]) for k in ("all", "month", "week", "play")}
    name = m.get_name()
    controls = [
        f"WardGeo.htmlControl({name}, {script_json(info)}, 'topleft', 'wg-info');",
        f"WardGeo.htmlControl({name}, {script_json(legend)}, 'bottomright', 'wg-legend');",
    ]
    if slider:
        controls.append(f"var wg_time = WardGeo.timeSlider({name}, wg_state, {script_json(labels)});")
    controls.append(f"{name}.fitBounds({script_json(bounds)}, {{padding: [10, 10]}});")
    controls.append(f"{name}.attributionControl.addAttribution({script_json(escape_html(OSM_ATTRIBUTION))});")
    m.add_child(JsScript("\n".join(controls)))
