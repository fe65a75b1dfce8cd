"""Inputs the commands share: boundaries, incidents (a file or the store), hotspot sets, files.

Each helper reads from a file when the user names one and from the embedded store
otherwise, so the commands stay a few lines of option handling and printing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer

from ward_geo.errors import InputError, ParameterError, WardGeoError

if TYPE_CHECKING:
    import geopandas as gpd

    from ward_geo.store import IncidentStore
    from ward_geo.workflows import HotspotSet

__all__ = [
    "INCIDENT_SUFFIXES",
    "check_incidents_suffix",
    "write_incidents_file",
    "read_incident_file",
    "ward_boundaries",
    "load_incidents",
    "map_inputs",
    "patrol_inputs",
    "ward_set",
    "hotspot_sets",
    "read_hotspots",
    "read_patrol",
    "parse_station",
]

#: File names the incident writers can tell the format of.
INCIDENT_SUFFIXES = (".parquet", ".geoparquet", ".geojson", ".json", ".csv", ".csv.gz")


def check_incidents_suffix(path: Path) -> Path:
    """``path`` when its suffix names an incident format, else a usage error on ``--output``."""
    if not path.name.lower().endswith(INCIDENT_SUFFIXES):
        raise typer.BadParameter(
            f"cannot tell the format of {path.name!r}: use .parquet, .geojson, .json, .csv or .csv.gz",
            param_hint="--output",
        )
    return path


def write_incidents_file(incidents: gpd.GeoDataFrame, path: Path) -> Path:
    """Write incidents by file suffix: GeoParquet, GeoJSON or CSV (lon/lat columns)."""
    from ward_geo.io.writers import csv_safe_frame, write_geojson, write_geoparquet

    name = check_incidents_suffix(path).name.lower()
    if name.endswith((".parquet", ".geoparquet")):
        return write_geoparquet(incidents, path)
    if name.endswith((".geojson", ".json")):
        return write_geojson(incidents, path)
    frame = incidents.drop(columns="geometry")
    frame.insert(len(frame.columns), "lon", incidents.geometry.x.round(7))
    frame.insert(len(frame.columns), "lat", incidents.geometry.y.round(7))
    frame["occurred_at"] = incidents["occurred_at"].map(lambda t: t.isoformat())
    path.parent.mkdir(parents=True, exist_ok=True)
    csv_safe_frame(frame).to_csv(path, index=False, encoding="utf-8")
    return path


def read_incident_file(path: Path, **keywords: Any) -> gpd.GeoDataFrame:
    """The canonical incidents of one file (``keywords`` as for ``read_incidents``), without the report."""
    from ward_geo.io.readers import read_incidents

    return cast("gpd.GeoDataFrame", read_incidents(path, **keywords))


def ward_boundaries(boundaries: Path | None) -> gpd.GeoDataFrame:
    """Boundaries from a file, else the store's, else the reference Hanoi wards."""
    from ward_geo.io.readers import read_boundaries
    from ward_geo.store import open_store

    if boundaries is not None:
        return read_boundaries(boundaries)
    with open_store() as store:
        bounds = store.boundaries()
    if len(bounds) == 0:
        from ward_geo.settings import get_settings

        bounds = read_boundaries(get_settings().reference_file("boundaries", "hanoi_wards_2025.geojson"))
    return bounds


def load_incidents(incidents: Path | list[Path] | None, bounds: Any, timezone: str | None = None) -> gpd.GeoDataFrame:
    """Incidents from one or more files (ward join with ``bounds``), or the store when None."""
    import pandas as pd

    paths = [incidents] if isinstance(incidents, Path) else list(incidents or [])
    if not paths:
        from ward_geo.store import open_store

        with open_store() as store:
            return store.query()
    keywords: dict[str, Any] = {"boundaries": bounds}
    if timezone:
        keywords["timezone"] = timezone
    frames = [read_incident_file(path, **keywords) for path in paths]
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    duplicated = frame["incident_id"].duplicated()
    if duplicated.any():
        raise WardGeoError(
            f"{int(duplicated.sum())} incident ids occur in more than one file "
            f"(first: {frame.loc[duplicated, 'incident_id'].iloc[0]!r}); give each incident once"
        )
    return frame


def map_inputs(incidents: Path | None, boundaries: Path | None) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Incidents (file or store) and boundaries (file, else the store's, else the reference wards).

    All incidents are loaded even for a ward map: hotspots are found city-wide (so clusters
    across a ward border keep their shape) and the map keeps the ward's own.
    """
    from ward_geo.store import open_store

    bounds = ward_boundaries(boundaries)
    if incidents is not None:
        return read_incident_file(incidents, boundaries=bounds), bounds
    with open_store() as store:
        frame = store.query()
    return frame, bounds


def patrol_inputs(ward: str, incidents: Path | None,
                  boundaries: Path | None) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Incidents (file, or the store's around the ward) and boundaries as for :func:`map_inputs`."""
    from ward_geo.planning.risk import ward_geometry
    from ward_geo.store import open_store

    bounds = ward_boundaries(boundaries)
    if incidents is not None:
        return read_incident_file(incidents, boundaries=bounds), bounds
    minx, miny, maxx, maxy = ward_geometry(bounds, ward).bounds
    pad = 0.003  # about 300 m: incidents just outside the ward still count
    with open_store() as store:
        frame = store.query(bbox=(minx - pad, miny - pad, maxx + pad, maxy + pad))
    return frame, bounds


def ward_set(ward: str, from_file: bool, frame: gpd.GeoDataFrame, bounds: gpd.GeoDataFrame) -> HotspotSet:
    """The ward's hotspot set: the store's (kept there) or, for a file, computed the same way."""
    from ward_geo.workflows import compute_hotspot_set, ward_hotspot_set

    if not from_file:
        from ward_geo.store import open_store

        with open_store() as store:
            if len(store.boundaries([ward])):
                return ward_hotspot_set(store, ward)
    mine = frame[frame["ward_id"] == ward] if "ward_id" in frame.columns else frame
    return compute_hotspot_set(mine, bounds, [ward])


def hotspot_sets(
    frame: gpd.GeoDataFrame | None,
    bounds: gpd.GeoDataFrame | None,
    store: IncidentStore | None,
    wards: list[str] | None,
    *,
    selection: dict[str, Any],
    trend: bool = True,
) -> gpd.GeoDataFrame:
    """The hotspots a command shows: the store's per-ward sets, or one set of a file.

    Parameters
    ----------
    frame, bounds : GeoDataFrame, optional
        Incidents and boundaries of a file (used when ``store`` is None).
    store : IncidentStore, optional
        The store whose kept per-ward hotspot sets are shown.
    wards : list of str, optional
        Wards to show (default: every stored ward with incidents and a name).
    selection : dict
        ``method``, ``categories``, ``since``, ``until`` and ``params`` (clustering options, may be empty).
    trend : bool
        Class each hotspot's trend (file input; the store's sets always carry it).
    """
    import geopandas as gpd
    import pandas as pd

    from ward_geo.workflows import compute_hotspot_set, ward_hotspot_set

    method = selection.get("method", "auto")
    choice = {"method": method, "categories": selection.get("categories"), "since": selection.get("since"),
              "until": selection.get("until"), "params": selection.get("params") or None}
    if store is None:
        return compute_hotspot_set(frame, bounds, wards, trends=trend, **choice).hotspots
    if wards is None:
        counts = store.ward_counts()
        wards = [str(w) for w in counts.loc[(counts["n_incidents"] > 0) & counts["name"].notna(), "ward_id"]]
    tables = [ward_hotspot_set(store, w, **choice).hotspots for w in wards]
    if len(tables) == 1:
        return tables[0]
    if not tables:
        from ward_geo.analysis.hotspots.table import empty_table

        return empty_table(method)
    out = gpd.GeoDataFrame(pd.concat(tables, ignore_index=True), geometry="geometry", crs=tables[0].crs)
    out.attrs = {"params": {"method": method, "ward_ids": wards, "hotspot_sets":
                            [t["hotspot_set_id"].iloc[0] for t in tables if len(t)]}}
    return out


def read_hotspots(path: Path) -> gpd.GeoDataFrame:
    """A hotspots file written by ``ward-geo hotspots`` (any vector format)."""
    import geopandas as gpd

    try:
        return gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise InputError(f"cannot read hotspots file {path}: {exc}") from exc


def read_patrol(path: Path) -> dict[str, Any]:
    """A patrol plan GeoJSON written by ``ward-geo patrol``."""
    try:
        plan: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read patrol plan {path}: expected GeoJSON ({exc})") from exc
    return plan


def parse_station(value: str | None) -> tuple[float, float] | None:
    """The ``--station`` point ``'lon,lat'`` in degrees (None when not given)."""
    if value is None:
        return None
    try:
        lon, lat = (float(v) for v in value.split(","))
    except ValueError:
        raise ParameterError(f"--station must be 'lon,lat' in degrees, e.g. 105.8520,21.0285; got {value!r}") from None
    return lon, lat
