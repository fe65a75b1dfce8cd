"""Projection of any layer to a metric CRS for analysis.

Every analysis in ward_geo works in metres, in the CRS chosen here, and records it:
for data inside Vietnam the national VN-2000 / UTM zone (EPSG:3405 zone 48N, west of
108° E; EPSG:3406 zone 49N, east of it); elsewhere the WGS 84 / UTM zone of the data's
centre (EPSG:326xx north, 327xx south).
"""

from __future__ import annotations

import geopandas as gpd
from pyproj import CRS

from ward_geo.errors import InputError

__all__ = ["metric_crs_for", "metric_crs_for_bounds", "to_metric", "VIETNAM_BOUNDS"]

#: (min_lon, min_lat, max_lon, max_lat) of Vietnam's territory, with a small margin.
VIETNAM_BOUNDS = (102.0, 8.0, 110.0, 23.5)


def metric_crs_for_bounds(bounds: tuple[float, float, float, float]) -> CRS:
    """The metric CRS for lon/lat ``bounds`` ``(min_lon, min_lat, max_lon, max_lat)``.

    Parameters
    ----------
    bounds : tuple of float
        Extent in degrees (EPSG:4326).

    Returns
    -------
    pyproj.CRS
        VN-2000 / UTM 48N or 49N inside Vietnam, else the WGS 84 UTM zone of the centre.
    """
    min_lon, min_lat, max_lon, max_lat = bounds
    lon = (min_lon + max_lon) / 2.0
    lat = (min_lat + max_lat) / 2.0
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise InputError(f"extent {bounds} is not in degrees; cannot choose a metric CRS")
    vmin_lon, vmin_lat, vmax_lon, vmax_lat = VIETNAM_BOUNDS
    if vmin_lon <= lon <= vmax_lon and vmin_lat <= lat <= vmax_lat:
        return CRS.from_epsg(3405 if lon < 108.0 else 3406)
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def metric_crs_for(gdf: gpd.GeoDataFrame) -> CRS:
    """The metric CRS that fits ``gdf``'s location (see :func:`metric_crs_for_bounds`)."""
    if gdf.crs is None:
        raise InputError("layer has no CRS; declare one (for example crs='EPSG:4326') before projecting")
    if len(gdf) == 0 or gdf.geometry.is_empty.all():
        raise InputError("layer has no geometries; cannot choose a metric CRS")
    if gdf.crs.is_projected and gdf.crs.axis_info and gdf.crs.axis_info[0].unit_name in {"metre", "meter"}:
        lonlat = gdf.to_crs(4326)
    elif gdf.crs.is_geographic:
        lonlat = gdf if gdf.crs.equals(CRS.from_epsg(4326)) else gdf.to_crs(4326)
    else:
        lonlat = gdf.to_crs(4326)
    return metric_crs_for_bounds(tuple(lonlat.total_bounds))


def to_metric(gdf: gpd.GeoDataFrame, crs: CRS | str | int | None = None) -> tuple[gpd.GeoDataFrame, CRS]:
    """Project ``gdf`` to a metric CRS and return it with the CRS chosen.

    Parameters
    ----------
    gdf : GeoDataFrame
        Any layer with a CRS.
    crs : CRS-like, optional
        Use this metric CRS instead of choosing one (for example to put incidents and
        boundaries in the same CRS).

    Returns
    -------
    (GeoDataFrame, pyproj.CRS)
        The projected copy (``attrs["metric_crs"]`` holds the CRS as a string) and the CRS.
    """
    target = CRS.from_user_input(crs) if crs is not None else metric_crs_for(gdf)
    if not target.is_projected:
        raise InputError(f"{target.name} is not a projected (metric) CRS")
    out = gdf.to_crs(target)
    out.attrs["metric_crs"] = target.to_string()
    return out, target
