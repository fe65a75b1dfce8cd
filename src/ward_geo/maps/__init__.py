"""Interactive maps: ward maps and a city overview, offline by default.

See :mod:`ward_geo.maps.builder` for the layers and the modules of each concern, and
:mod:`ward_geo.maps.assets` for the pinned, inlined browser assets.
"""

from ward_geo.maps.assets import fetch_assets, licence_table, load_manifest
from ward_geo.maps.escaping import escape_html, script_json
from ward_geo.maps.output import external_references, render_map_html, save_map
from ward_geo.maps.page import MapOptions, city_map, hotspots_in_ward, ward_map, write_maps

__all__ = [
    "ward_map",
    "city_map",
    "save_map",
    "render_map_html",
    "write_maps",
    "hotspots_in_ward",
    "MapOptions",
    "external_references",
    "fetch_assets",
    "licence_table",
    "load_manifest",
    "escape_html",
    "script_json",
]
