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

The code lives in one module per concern; this module keeps the names importable from here:

* :mod:`ward_geo.maps.page` – the builders (:func:`ward_map`, :func:`city_map`,
  :func:`write_maps`) and :class:`MapOptions`;
* :mod:`ward_geo.maps.payloads` – the JSON data drawn (incidents, streets, wards, hotspots,
  patrol plans), with :mod:`ward_geo.maps.patrol` (routes and stops),
  :mod:`ward_geo.maps.popups` (popup HTML) and :mod:`ward_geo.maps.periods` (local times
  and time-slider periods);
* :mod:`ward_geo.maps.elements` – layers, legend, info box and controls;
* :mod:`ward_geo.maps.style` – colours, line styles and interface words;
* :mod:`ward_geo.maps.output` – inlined assets, rendering, the offline check, saving.
"""

from __future__ import annotations

from ward_geo.maps.output import external_references, render_map_html, save_map
from ward_geo.maps.page import MapKeywords, MapOptions, WardMap, city_map, hotspots_in_ward, ward_map, write_maps
from ward_geo.maps.style import PRIORITY_COLOURS, TREND_STYLES, UI
from ward_geo.streets import OSM_ATTRIBUTION

__all__ = [
    "ward_map",
    "city_map",
    "save_map",
    "render_map_html",
    "external_references",
    "write_maps",
    "hotspots_in_ward",
    "MapOptions",
    "MapKeywords",
    "WardMap",
    "OSM_ATTRIBUTION",
    "PRIORITY_COLOURS",
    "TREND_STYLES",
    "UI",
]
