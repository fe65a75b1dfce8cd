"""Writing map pages: the inlined browser assets, rendering to HTML, the offline check, saving.

An offline page carries Leaflet, its plugins and ward_geo's own script and style inline
(:mod:`ward_geo.maps.assets` pins and verifies them); :func:`render_map_html` refuses to
produce an offline page that would still reference the network.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import folium

from ward_geo.errors import ConfigurationError, ParameterError
from ward_geo.maps.assets import asset_bundle
from ward_geo.maps.elements import RawText, figure_of
from ward_geo.maps.escaping import escape_html

__all__ = ["inline_assets", "external_references", "render_map_html", "save_map"]


def _static(name: str) -> str:
    return resources.files("ward_geo.maps").joinpath("static", name).read_text(encoding="utf-8")


def inline_assets(m: folium.Map, title: str) -> None:
    """Replace folium's CDN links by the pinned assets and ward_geo's runtime, inlined in the page head.

    Parameters
    ----------
    m : folium.Map
        The map (its page gets the title and the assets).
    title : str
        Page title (escaped here).
    """
    # Folium's defaults link Leaflet, jQuery, Bootstrap and Font Awesome from CDNs; none of
    # them is needed here: the pinned assets are inlined instead.
    m.default_js = []
    m.default_css = []
    root = figure_of(m)
    root.title = escape_html(title)
    runtime = (
        f"<style data-asset=\"ward_geo\">\n{_static('ward_geo_map.css')}\n</style>\n"
        f"<script data-asset=\"ward_geo\">\n{_static('ward_geo_map.js')}\n</script>"
    )
    root.header.add_child(RawText(asset_bundle().html() + "\n" + runtime), name="ward_geo_assets")


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
    """Render a map built by :func:`~ward_geo.maps.page.ward_map`/:func:`~ward_geo.maps.page.city_map` to HTML.

    Parameters
    ----------
    m : folium.Map
        The map.

    Returns
    -------
    str
        The page.

    Raises
    ------
    ConfigurationError
        When an offline map would reference anything on the network.
    """
    html = str(m.get_root().render())
    if getattr(m, "ward_geo_offline", False):
        external = external_references(html)
        if external:
            raise ConfigurationError(f"offline map references network resources: {external[:5]}")
    return html


def save_map(m: folium.Map, path: str | Path) -> Path:
    """Write ``m`` as one HTML file (parent folders created).

    Parameters
    ----------
    m : folium.Map
        A map built by :func:`~ward_geo.maps.page.ward_map` or :func:`~ward_geo.maps.page.city_map`.
    path : str or Path
        An ``.html`` (or ``.htm``) file; written atomically.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ParameterError
        ``path`` is not an HTML file name.
    ConfigurationError
        An offline map would reference the network.
    """
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ParameterError(f"map output must be an .html file, got {str(path)!r}")
    html = render_map_html(m)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
