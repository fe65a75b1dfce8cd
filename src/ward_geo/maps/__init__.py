"""Interactive maps: ward maps and a city overview, offline by default.

See :mod:`ward_geo.maps.builder` for the layers and :mod:`ward_geo.maps.assets` for the
pinned, inlined browser assets.
"""

from ward_geo.maps.assets import fetch_assets, licence_table, load_manifest
from ward_geo.maps.builder import city_map, external_references, render_map_html, save_map, ward_map, write_maps
from ward_geo.maps.escaping import escape_html, script_json

__all__ = [
    "ward_map",
    "city_map",
    "save_map",
    "render_map_html",
    "write_maps",
    "external_references",
    "fetch_assets",
    "licence_table",
    "load_manifest",
    "escape_html",
    "script_json",
]
