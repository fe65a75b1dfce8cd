"""The canonical tables every part of ward_geo reads and writes.

Incidents (one row per incident, GeoDataFrame in EPSG:4326):

============== ============================ ==================================================
column         dtype                        meaning
============== ============================ ==================================================
incident_id    str, unique                  the source's id, or a stable generated one
category       str (a code of CATEGORIES)   the mapped category
category_raw   str or null                  the value as found in the source
occurred_at    datetime64[ns, UTC]          when; naive input read in the configured zone
time_precision str                          ``exact`` | ``day`` | ``month`` | ``year``
severity       float or null                optional severity weight (>= 0)
description    str or null                  free text, kept verbatim (escape before HTML)
source         str                          where the row came from (file name, "synthetic")
ward_id        str or null                  the ward containing the point (spatial join)
geometry       Point                        lon/lat, EPSG:4326
============== ============================ ==================================================

Boundaries (one row per ward, GeoDataFrame in EPSG:4326): ``ward_id`` (str, unique, an
ASCII slug such as ``phuong-ba-dinh`` unless the source has ids), ``name`` (NFC Vietnamese),
``name_en`` (str or null), ``population`` (nullable Int64), geometry (Polygon/MultiPolygon,
exterior rings counter-clockwise).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ward_geo.errors import InputError
from ward_geo.problems import Problems, rows_text

__all__ = [
    "WGS84",
    "INCIDENT_COLUMNS",
    "BOUNDARY_COLUMNS",
    "TIME_PRECISIONS",
    "empty_incidents",
    "empty_boundaries",
    "conform_incidents",
    "slugify",
    "nfc",
    "check_incidents",
    "check_boundaries",
    "id_text",
    "ids_strictly_increasing",
]

WGS84 = "EPSG:4326"

INCIDENT_COLUMNS: tuple[str, ...] = (
    "incident_id",
    "category",
    "category_raw",
    "occurred_at",
    "time_precision",
    "severity",
    "description",
    "source",
    "ward_id",
    "geometry",
)
BOUNDARY_COLUMNS: tuple[str, ...] = ("ward_id", "name", "name_en", "population", "geometry")
TIME_PRECISIONS: tuple[str, ...] = ("exact", "day", "month", "year")

_STRING_COLUMNS = ("incident_id", "category", "category_raw", "time_precision", "description", "source", "ward_id")


def nfc(value: object) -> object:
    """NFC-normalise a string (Vietnamese text arrives in NFC and NFD forms); others unchanged."""
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def slugify(value: str) -> str:
    """ASCII slug of a (Vietnamese) name: ``"Phường Ba Đình"`` -> ``"phuong-ba-dinh"``."""
    text = unicodedata.normalize("NFKD", value).replace("đ", "d").replace("Đ", "D")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", "-", text.lower()).strip("-")


def empty_incidents() -> gpd.GeoDataFrame:
    """An incident table with the canonical columns and no rows."""
    return conform_incidents(
        gpd.GeoDataFrame({c: [] for c in INCIDENT_COLUMNS if c != "geometry"}, geometry=[], crs=WGS84)
    )


def empty_boundaries() -> gpd.GeoDataFrame:
    """A boundary table with the canonical columns and no rows."""
    frame = gpd.GeoDataFrame(
        {"ward_id": [], "name": [], "name_en": [], "population": pd.array([], dtype="Int64")},
        geometry=[],
        crs=WGS84,
    )
    return frame


def conform_incidents(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``frame`` with exactly the canonical incident columns, order and dtypes.

    Missing optional columns are added as nulls; extra columns are dropped. The CRS must
    already be EPSG:4326.
    """
    out = frame.copy()
    for col in INCIDENT_COLUMNS:
        if col not in out.columns and col != "geometry":
            out[col] = None
    for col in _STRING_COLUMNS:
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    out["occurred_at"] = pd.to_datetime(out["occurred_at"], utc=True).astype("datetime64[ns, UTC]")
    out["severity"] = pd.to_numeric(out["severity"], errors="coerce").astype(np.float64)
    out = gpd.GeoDataFrame(out[list(INCIDENT_COLUMNS)], geometry="geometry", crs=frame.crs or WGS84)
    return out.reset_index(drop=True)


#: Columns every analysis needs (``occurred_at`` may be all null for a purely spatial method).
REQUIRED_INCIDENT_COLUMNS: tuple[str, ...] = ("incident_id", "category", "occurred_at", "geometry")
#: Shapely type ids of (multi)polygons.
_POLYGONAL = (3, 6)


def id_text(ids: pd.Series) -> Any:
    """Incident ids as an Arrow ``large_string`` array (each id as ``str(id)``)."""
    import pyarrow as pa

    if not (pd.api.types.is_string_dtype(ids.dtype) and ids.dtype != object):
        ids = ids.astype(str)
    return pa.array(ids, type=pa.large_string(), from_pandas=True)


def ids_strictly_increasing(text: Any) -> bool:
    """Whether an Arrow string array is in strictly increasing (byte) order.

    Ids in the canonical (stored) order are strictly increasing, hence unique: checking
    this needs no hash table.
    """
    import pyarrow.compute as pc

    return len(text) < 2 or bool(pc.all(pc.less(text[:-1], text[1:])).as_py())


def check_incidents(
    incidents: object,
    *,
    required: Sequence[str] = REQUIRED_INCIDENT_COLUMNS,
    to_wgs84: bool = True,
    unique_ids: bool = True,
) -> gpd.GeoDataFrame:
    """Check an incident table; raise once listing every problem.

    The one validator of the canonical incident table for analyses, maps and plans
    (readers and the store check rows further, with the file's row numbers). Rows are
    named by their 0-based position in ``incidents``.

    Parameters
    ----------
    incidents : GeoDataFrame
        The incidents (canonical columns, see the module docstring).
    required : sequence of str, default REQUIRED_INCIDENT_COLUMNS
        Columns that must be present.
    to_wgs84 : bool, default True
        Reproject to EPSG:4326 when the table is in another CRS.
    unique_ids : bool, default True
        Check that ``incident_id`` is present on every row and unique.

    Returns
    -------
    GeoDataFrame
        ``incidents`` (reprojected to EPSG:4326 when asked and needed).

    Raises
    ------
    InputError
        Not a GeoDataFrame, missing columns, no CRS, rows without a point geometry or
        with non-finite coordinates, missing or repeated ids; the message names the rows,
        the field and what was expected.
    """
    if not isinstance(incidents, gpd.GeoDataFrame):
        raise InputError(
            f"incidents must be a GeoDataFrame with the canonical columns, got {type(incidents).__name__} "
            "(read them with ward_geo.read_incidents)"
        )
    problems = Problems("incidents")
    for col in required:
        if col not in incidents.columns:
            problems.add(f"missing column {col!r} (read incidents with ward_geo.read_incidents)", field=col)
    if incidents.crs is None:
        problems.add("no CRS; declare one (for example crs='EPSG:4326')", field="crs")
    problems.raise_if_any(InputError)
    _check_points(incidents, problems)
    if unique_ids and "incident_id" in incidents.columns:
        _check_ids(incidents["incident_id"], problems)
    problems.raise_if_any(InputError)
    if to_wgs84 and len(incidents) and not incidents.crs.equals(WGS84):
        return incidents.to_crs(WGS84)
    return incidents


def _check_points(frame: gpd.GeoDataFrame, problems: Problems) -> None:
    geoms = frame.geometry.values
    absent = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    rows = np.flatnonzero(absent)
    if len(rows):
        problems.add(f"{len(rows)} row(s) have no geometry (rows {rows_text(rows)}); expected a Point",
                     field="geometry", row=int(rows[0]))
    other = np.flatnonzero(~absent & (shapely.get_type_id(geoms) != 0))
    if len(other):
        kinds = sorted({geoms[i].geom_type for i in other[:50]})
        problems.add(f"{len(other)} geometry(ies) are not points (rows {rows_text(other)}: {', '.join(kinds)}); "
                     "expected a Point", field="geometry", row=int(other[0]))
    if not len(rows) and not len(other) and len(frame):
        xy = shapely.get_coordinates(geoms)
        bad = np.flatnonzero(~np.isfinite(xy).all(axis=1))
        if len(bad):
            problems.add(f"{len(bad)} point(s) have NaN or infinite coordinates (rows {rows_text(bad)}); "
                         "expected finite numbers", field="geometry", row=int(bad[0]))


def _check_ids(ids: pd.Series, problems: Problems) -> None:
    missing = np.flatnonzero(ids.isna().to_numpy())
    if len(missing):
        problems.add(f"{len(missing)} row(s) have no incident_id (rows {rows_text(missing)}); every incident needs one",
                     field="incident_id", row=int(missing[0]))
        return
    if ids_strictly_increasing(id_text(ids)):
        return
    dup = ids.astype(str).duplicated(keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        shown = ", ".join(repr(str(v)) for v in pd.unique(ids.iloc[rows[:50]].astype(str))[:5])
        problems.add(f"{len(rows)} rows share ids (rows {rows_text(rows)}; ids {shown}); expected unique ids",
                     field="incident_id", row=int(rows[0]))


def check_boundaries(boundaries: object, *, to_wgs84: bool = True) -> gpd.GeoDataFrame:
    """Check a ward boundary table; raise once listing every problem.

    Parameters
    ----------
    boundaries : GeoDataFrame
        One row per ward with ``ward_id``, ``name`` (optional here) and a polygonal
        geometry.
    to_wgs84 : bool, default True
        Reproject to EPSG:4326 when the table is in another CRS.

    Returns
    -------
    GeoDataFrame
        ``boundaries`` (reprojected when asked and needed).

    Raises
    ------
    InputError
        Not a GeoDataFrame, no ``ward_id`` column, no CRS, missing or repeated ward ids,
        geometries that are missing or not polygons.
    """
    if not isinstance(boundaries, gpd.GeoDataFrame):
        raise InputError(
            f"boundaries must be a GeoDataFrame with ward_id, name and geometry columns, got "
            f"{type(boundaries).__name__} (read them with ward_geo.read_boundaries)"
        )
    problems = Problems("boundaries")
    if "ward_id" not in boundaries.columns:
        problems.add("missing column 'ward_id' (read boundaries with ward_geo.read_boundaries)", field="ward_id")
    if boundaries.crs is None:
        problems.add("no CRS; declare one (for example crs='EPSG:4326')", field="crs")
    problems.raise_if_any(InputError)
    ids = boundaries["ward_id"]
    missing = np.flatnonzero(ids.isna().to_numpy())
    if len(missing):
        problems.add(f"{len(missing)} ward(s) have no ward_id (rows {rows_text(missing)})", field="ward_id",
                     row=int(missing[0]))
    dup = np.flatnonzero(ids.notna().to_numpy() & ids.duplicated(keep=False).to_numpy())
    if len(dup):
        problems.add(f"ward ids repeat (rows {rows_text(dup)}); expected one row per ward", field="ward_id",
                     row=int(dup[0]))
    geoms = boundaries.geometry.values
    bad = np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms)
                         | ~np.isin(shapely.get_type_id(geoms), _POLYGONAL))
    if len(bad):
        problems.add(f"{len(bad)} ward geometry(ies) are missing or not polygons (rows {rows_text(bad)}); "
                     "expected a Polygon or MultiPolygon", field="geometry", row=int(bad[0]))
    problems.raise_if_any(InputError)
    if to_wgs84 and len(boundaries) and not boundaries.crs.equals(WGS84):
        return boundaries.to_crs(WGS84)
    return boundaries
