"""Map pages: a ward map and the city overview, assembled from payloads and elements.

:func:`ward_map` draws one ward with its neighbours for context; :func:`city_map` draws many
wards shaded by incident density; :func:`write_maps` writes both kinds for a set of wards.
The display options (offline, language, tile server, time zone, stamp) are one
:class:`MapOptions`, given as ``options=`` or as the keywords of the same names.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict, Unpack

import folium
import geopandas as gpd
import shapely

from ward_geo.errors import InputError, ParameterError
from ward_geo.maps.elements import JsLayer, add_base_layers, add_controls, add_incident_layers, info_html, legend_html
from ward_geo.maps.escaping import escape_html, script_json
from ward_geo.maps.output import inline_assets, save_map
from ward_geo.maps.payloads import boundary_payload, hotspot_payload, incident_payload, patrol_payload, streets_payload
from ward_geo.maps.popups import as_list
from ward_geo.maps.style import ui_words
from ward_geo.schema import WGS84, check_boundaries, check_incidents, empty_incidents
from ward_geo.settings import resolve_timezone
from ward_geo.streets import OSM_ATTRIBUTION
from ward_geo.wards import resolve_ward_ids

__all__ = ["MapOptions", "MapKeywords", "WardMap", "ward_map", "city_map", "write_maps", "hotspots_in_ward"]


@dataclass(frozen=True)
class MapOptions:
    """How a map page is displayed.

    Attributes
    ----------
    offline : bool or None
        True: no network request at all. False: standard OSM tiles. None (default): offline
        unless a tile server is configured (``tile_url`` or ``settings.tile_url``).
    lang : {"vi", "en"}
        Label language.
    tile_url : str or None
        Tile URL template of a local tile server (default ``settings.tile_url``).
    timezone : str or None
        Zone for displayed times and periods (default ``settings.timezone``).
    generated_at : datetime or None
        Stamp shown on the map (default now).
    """

    offline: bool | None = None
    lang: str = "vi"
    tile_url: str | None = None
    timezone: str | None = None
    generated_at: datetime | None = None


class MapKeywords(TypedDict, total=False):
    """Keywords of the map builders: ``options`` and/or its fields one by one (they win)."""

    options: MapOptions | None
    offline: bool | None
    lang: str
    tile_url: str | None
    timezone: str | None
    generated_at: datetime | None


def _options(keywords: MapKeywords) -> MapOptions:
    given: dict[str, Any] = {k: v for k, v in keywords.items() if k != "options"}
    base = keywords.get("options") or MapOptions()
    if not isinstance(base, MapOptions):
        raise ParameterError(f"options must be a MapOptions, got {type(base).__name__}")
    return dataclasses.replace(base, **given)


class WardMap(folium.Map):
    """A folium map that knows how it was built.

    Attributes
    ----------
    ward_geo_offline : bool
        The page must make no network request (checked when rendered).
    ward_geo_ward_id : str or None
        The ward of a ward map; None for an overview.
    """

    ward_geo_offline: bool = False
    ward_geo_ward_id: str | None = None


@dataclass(frozen=True)
class _Layers:
    """The optional data drawn over the incidents."""

    hotspots: gpd.GeoDataFrame | None = None
    patrol: Any = None
    streets: Any = None


@dataclass(frozen=True)
class _Frame:
    """What one page shows: its title, wards in focus and labelled, extent, street clip, shading."""

    title: str
    focus_ids: set[str]
    label_ids: set[str]
    extent: shapely.Geometry
    street_clip: shapely.Geometry | None
    choropleth: bool


def _ward_names(boundaries: gpd.GeoDataFrame, lang: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for _, row in boundaries.iterrows():
        name = row.get("name_en") if lang == "en" and isinstance(row.get("name_en"), str) else row.get("name")
        names[str(row["ward_id"])] = name if isinstance(name, str) and name else str(row["ward_id"])
    return names


def _ward_counts(incidents: gpd.GeoDataFrame) -> dict[str, int]:
    if not len(incidents) or "ward_id" not in incidents.columns:
        return {}
    return {str(k): int(v) for k, v in incidents["ward_id"].value_counts().items()}


def _new_map(extent: shapely.Geometry) -> WardMap:
    minx, miny, maxx, maxy = extent.bounds
    m = WardMap(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=14, tiles=None, control_scale=True,
                   prefer_canvas=False, zoom_snap=0.25)
    # Without a tile layer Leaflet has no zoom range; the cluster plugin needs one.
    m.options["max_zoom"] = 19
    m.options["min_zoom"] = 10
    return m


def _build(incidents: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame, frame: _Frame, layers: _Layers,
           options: MapOptions) -> WardMap:
    lang = options.lang
    ui = ui_words(lang)
    zone = resolve_timezone(options.timezone)
    # pandas deep-copies ``attrs`` (e.g. a validation report) on every operation.
    incidents = incidents.copy(deep=False)
    incidents.attrs = {}
    tile_url = options.tile_url
    if tile_url is None:
        from ward_geo.settings import get_settings

        tile_url = get_settings().tile_url
    offline = tile_url is None if options.offline is None else options.offline
    generated_at = options.generated_at or datetime.now(zone)
    payload, periods, date_range = incident_payload(incidents, lang, zone)

    m = _new_map(frame.extent)
    inline_assets(m, frame.title)
    add_base_layers(m, ui, tile_url, offline, streets_payload(layers.streets, frame.street_clip))
    bjson = boundary_payload(boundaries, focus=frame.focus_ids, permanent=frame.label_ids,
                             incident_counts=_ward_counts(incidents), lang=lang, choropleth=frame.choropleth)
    bopts = script_json({"attribution": escape_html(OSM_ATTRIBUTION), "choropleth": frame.choropleth})
    m.add_child(JsLayer(ui["ward_density"] if frame.choropleth else ui["wards"],
                        f"WardGeo.boundaries({script_json(bjson)}, {bopts})"))
    add_incident_layers(m, payload, ui)
    hjson = hotspot_payload(layers.hotspots, periods, lang, zone, _ward_names(boundaries, lang), incidents)
    if hjson["features"]:
        m.add_child(JsLayer(ui["hotspots"], f"WardGeo.hotspots(wg_state, {script_json(hjson)})"))
    patrol_units: list[Mapping[str, Any]] = []
    if layers.patrol is not None:
        pdata = patrol_payload(layers.patrol, lang)
        patrol_units = pdata["units"]
        m.add_child(JsLayer(ui["patrol"], f"WardGeo.patrol({script_json(pdata)})"))

    legend = legend_html(payload["cats"], lang, hotspots=bool(hjson["features"]), patrol_units=patrol_units,
                         coarse_week=payload["coarse_week"])
    minx, miny, maxx, maxy = frame.extent.bounds
    add_controls(m, lang, legend=legend, info=info_html(frame.title, lang, date_range, len(incidents), generated_at),
                 slider=bool(len(incidents)), bounds=[[miny, minx], [maxy, maxx]])
    m.ward_geo_offline = bool(offline) and not tile_url
    single = len(frame.focus_ids) == 1 and not frame.choropleth
    m.ward_geo_ward_id = next(iter(frame.focus_ids)) if single else None
    return m


def _incidents(incidents: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Checked incidents in EPSG:4326 (none when None)."""
    if incidents is None:
        return empty_incidents()
    return check_incidents(incidents, unique_ids=False)


def hotspots_in_ward(hotspots: gpd.GeoDataFrame, ward_id: str, shape: shapely.Geometry | None = None
                     ) -> gpd.GeoDataFrame:
    """The hotspots touching a ward: by their ``ward_ids`` column, else by intersecting ``shape``.

    Parameters
    ----------
    hotspots : GeoDataFrame
        Hotspots (``ward_ids`` column when present).
    ward_id : str
        The ward.
    shape : shapely geometry, optional
        The ward's shape, used when there is no ``ward_ids`` column.

    Returns
    -------
    GeoDataFrame
    """
    if "ward_ids" in hotspots.columns:
        keep = hotspots["ward_ids"].map(lambda ids: ward_id in [str(i) for i in as_list(ids)])
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
    **keywords: Unpack[MapKeywords],
) -> WardMap:
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
    **keywords
        ``options`` (a :class:`MapOptions`) and/or its fields ``offline``, ``lang``,
        ``tile_url``, ``timezone``, ``generated_at`` (keywords override ``options``).

    Returns
    -------
    WardMap
        A :class:`folium.Map`.

    Raises
    ------
    NotFoundError
        ``ward_id`` names no ward of ``boundaries``.
    InputError
        The incidents or boundaries fail their checks (the message names rows and fields).
    """
    options = _options(keywords)
    ui_words(options.lang)
    boundaries = check_boundaries(boundaries)
    wid = resolve_ward_ids(boundaries, ward_id)[0]
    ward = boundaries[boundaries["ward_id"].astype(str) == wid].iloc[[0]]
    shape = ward.geometry.iloc[0]
    incidents = _incidents(incidents)
    if len(incidents):
        if "ward_id" in incidents.columns and incidents["ward_id"].notna().any():
            incidents = incidents[incidents["ward_id"] == wid]
        else:
            incidents = incidents[incidents.intersects(shape)]
    if hotspots is not None and len(hotspots):
        hotspots = hotspots_in_ward(hotspots, wid, shape)
    neighbours = boundaries[boundaries.intersects(shape.buffer(0.002))]
    name = ward["name"].iloc[0] if "name" in ward.columns else wid
    if options.lang == "en" and "name_en" in ward.columns and isinstance(ward["name_en"].iloc[0], str):
        name = ward["name_en"].iloc[0]
    metric = gpd.GeoSeries([shape], crs=WGS84)
    clip = metric.to_crs(metric.estimate_utm_crs()).buffer(150).to_crs(WGS84).iloc[0]
    frame = _Frame(title=str(name), focus_ids={wid}, label_ids=set(neighbours["ward_id"].astype(str)), extent=shape,
                   street_clip=clip, choropleth=False)
    return _build(incidents, neighbours, frame, _Layers(hotspots, patrol, streets), options)


def city_map(
    incidents: gpd.GeoDataFrame | None,
    boundaries: gpd.GeoDataFrame,
    *,
    ward_ids: Iterable[str] | None = None,
    hotspots: gpd.GeoDataFrame | None = None,
    patrol: Any = None,
    streets: Any = None,
    title: str | None = None,
    **keywords: Unpack[MapKeywords],
) -> WardMap:
    """Overview map of many wards, shaded by incident density.

    Parameters are those of :func:`ward_map`; ``ward_ids`` limits the wards drawn (default:
    every ward of ``boundaries``; ids or names). The view fits the wards that have incidents
    (all wards when there are none); labels are permanent for those wards and shown on hover
    for the others. ``title`` defaults to "Toàn thành phố" / "City overview".

    Returns
    -------
    WardMap
        A :class:`folium.Map`.
    """
    options = _options(keywords)
    ui = ui_words(options.lang)
    boundaries = check_boundaries(boundaries)
    if ward_ids is not None:
        wanted = [str(w) for w in ward_ids]
        if wanted:
            wanted = resolve_ward_ids(boundaries, wanted)
        boundaries = boundaries[boundaries["ward_id"].astype(str).isin(wanted)]
    if boundaries.empty:
        raise InputError("no ward boundaries to draw")
    incidents = _incidents(incidents)
    active: set[str] = set()
    if len(incidents) and "ward_id" in incidents.columns:
        active = set(incidents["ward_id"].dropna().astype(str)) & set(boundaries["ward_id"].astype(str))
    focus = boundaries[boundaries["ward_id"].isin(active)] if active else boundaries
    extent = shapely.union_all(focus.geometry.to_numpy()).envelope
    frame = _Frame(title=title or ui["city"], focus_ids=active, label_ids=active, extent=extent,
                   street_clip=extent.buffer(0.003), choropleth=True)
    return _build(incidents, boundaries, frame, _Layers(hotspots, patrol, streets), options)


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
    **keywords: Unpack[MapKeywords],
) -> dict[str, Path]:
    """Write ``<ward_id>.html`` for each ward and ``city.html`` (the overview) into ``out_dir``.

    Parameters
    ----------
    incidents, boundaries, hotspots, streets
        As for :func:`ward_map`; computed once and shared by every map.
    out_dir : str or Path
        Folder (created).
    ward_ids : iterable of str
        Wards to draw; each must be a slug (``[a-z0-9-]``), as it becomes a file name.
    patrols : mapping, optional
        ``{ward_id: plan}`` patrol plans to draw on the ward maps.
    city : bool, default True
        Also write ``city.html``: the overview of every ward of ``boundaries``.
    **keywords
        ``options`` and/or the display keywords, as for :func:`ward_map`.

    Returns
    -------
    dict
        ``{ward_id or "city": path}``.
    """
    options = _options(keywords)
    wards = [str(w) for w in ward_ids]
    bad = [w for w in wards if not _SAFE_NAME.match(w)]
    if bad:
        raise ParameterError(f"ward ids must be slugs of [a-z0-9-] to name map files, got {bad}")
    out = Path(out_dir)
    written: dict[str, Path] = {}
    for ward_id in wards:
        m = ward_map(incidents, boundaries, ward_id, hotspots=hotspots, streets=streets,
                     patrol=(patrols or {}).get(ward_id), options=options)
        written[ward_id] = save_map(m, out / f"{ward_id}.html")
    if city:
        m = city_map(incidents, boundaries, hotspots=hotspots, streets=streets, options=options)
        written["city"] = save_map(m, out / "city.html")
    return written
