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

import geopandas as gpd
import numpy as np
import pandas as pd

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
