"""OGC API – Features parameter parsing and document building (no HTTP here).

Parses the ``bbox`` (CRS84) and ``datetime`` (RFC 3339 instant or interval with open
ends) parameters, and builds landing page, conformance, collection and item documents.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import pandas as pd

from ward_geo.errors import ParameterError

__all__ = [
    "CONFORMANCE",
    "CRS84",
    "COLLECTIONS",
    "CollectionInfo",
    "parse_bbox",
    "parse_datetime",
    "parse_instant",
    "TimeFilter",
    "GEOJSON",
    "OPENAPI_JSON",
]

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.1"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]


@dataclass(frozen=True)
class CollectionInfo:
    """A feature collection the service publishes."""

    id: str
    title: str
    description: str
    role: str  # role needed to read items
    id_field: str
    temporal: bool


COLLECTIONS: dict[str, CollectionInfo] = {
    "wards": CollectionInfo(
        id="wards",
        title="Ward boundaries",
        description="Administrative wards (phường / xã) known to the store, with population.",
        role="viewer",
        id_field="ward_id",
        temporal=False,
    ),
    "incidents": CollectionInfo(
        id="incidents",
        title="Incidents",
        description="Individual incident points (analyst role or higher).",
        role="analyst",
        id_field="incident_id",
        temporal=True,
    ),
    "hotspots": CollectionInfo(
        id="hotspots",
        title="Hotspots",
        description="Ranked hotspot polygons over all incidents in the store (DBSCAN, automatic parameters).",
        role="viewer",
        id_field="hotspot_id",
        temporal=True,
    ),
}


# ---------------------------------------------------------------- bbox
def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    """Parse ``minlon,minlat,maxlon,maxlat`` (or the 6-number 3D form) in CRS84.

    Raises
    ------
    ParameterError
        Naming the expectation when the value is malformed or out of range.
    """
    if value is None or value == "":
        return None
    parts = value.split(",")
    if len(parts) not in (4, 6):
        raise ParameterError(
            f"bbox must have 4 numbers (minlon,minlat,maxlon,maxlat) or 6 (with heights); got {len(parts)}",
            details={"parameter": "bbox", "value": value},
        )
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ParameterError(
            "bbox must be comma-separated numbers", details={"parameter": "bbox", "value": value}
        ) from None
    if not all(math.isfinite(n) for n in numbers):
        raise ParameterError("bbox numbers must be finite", details={"parameter": "bbox", "value": value})
    if len(numbers) == 6:
        minx, miny, _, maxx, maxy, _ = numbers
    else:
        minx, miny, maxx, maxy = numbers
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90):
        raise ParameterError(
            "bbox is in CRS84: longitudes within [-180, 180], latitudes within [-90, 90]",
            details={"parameter": "bbox", "value": value},
        )
    if miny > maxy:
        raise ParameterError(
            "bbox: the minimum latitude is above the maximum", details={"parameter": "bbox", "value": value}
        )
    if minx > maxx:
        raise ParameterError(
            "bbox crossing the antimeridian is not supported; split it in two requests",
            details={"parameter": "bbox", "value": value},
        )
    return (minx, miny, maxx, maxy)


# ---------------------------------------------------------------- datetime
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class TimeFilter:
    """A closed time interval; ``None`` ends are open. Both ends are inclusive."""

    start: pd.Timestamp | None
    end: pd.Timestamp | None

    def contains(self, ts: pd.Series) -> pd.Series:
        """Boolean mask of timestamps inside the interval."""
        mask = pd.Series(True, index=ts.index)
        if self.start is not None:
            mask &= ts >= self.start
        if self.end is not None:
            mask &= ts <= self.end
        return mask.fillna(False).astype(bool)

    def overlaps(self, first: pd.Series, last: pd.Series) -> pd.Series:
        """Boolean mask of ``[first, last]`` spans that overlap the interval."""
        mask = pd.Series(True, index=first.index)
        if self.start is not None:
            mask &= last >= self.start
        if self.end is not None:
            mask &= first <= self.end
        return mask.fillna(False).astype(bool)


def parse_instant(text: str, *, end: bool, name: str = "datetime") -> pd.Timestamp:
    """An RFC 3339 date-time, or a date meaning its first (``end=False``) or last UTC microsecond."""
    problem = ParameterError(
        f"{name}: {text!r} is not an RFC 3339 date-time (e.g. 2025-03-01T00:00:00Z) or date between "
        "1678 and 2261",
        details={"parameter": name, "value": text},
    )
    try:
        if _DATE.match(text):
            day = date.fromisoformat(text)
            start = pd.Timestamp(datetime(day.year, day.month, day.day, tzinfo=UTC)).as_unit("ns")
            return start + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1) if end else start
        if not _DATETIME.match(text):
            raise problem
        parsed = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00").replace("t", "T"))
        return pd.Timestamp(parsed).tz_convert(UTC).as_unit("ns")
    except (ValueError, OverflowError):  # invalid calendar values, or outside the nanosecond range
        raise problem from None


def parse_datetime(value: str | None) -> TimeFilter | None:
    """Parse the OGC ``datetime`` parameter.

    Accepts an instant (``2025-03-01T08:00:00Z``; a date ``2025-03-01`` means that whole
    UTC day) or an interval ``start/end`` where either end may be open (``..`` or empty).

    Raises
    ------
    ParameterError
        When the value is not RFC 3339, or the interval ends before it starts.
    """
    if value is None or value == "":
        return None
    if "/" in value:
        parts = value.split("/")
        if len(parts) != 2:
            raise ParameterError(
                "datetime interval must be 'start/end' with '..' for an open end",
                details={"parameter": "datetime", "value": value},
            )
        a, b = (p.strip() for p in parts)
        if a in ("", "..") and b in ("", ".."):
            return TimeFilter(None, None)
        start = None if a in ("", "..") else parse_instant(a, end=False)
        end = None if b in ("", "..") else parse_instant(b, end=True)
        if start is not None and end is not None and start > end:
            raise ParameterError(
                "datetime interval ends before it starts", details={"parameter": "datetime", "value": value}
            )
        return TimeFilter(start, end)
    start = parse_instant(value.strip(), end=False)
    end = parse_instant(value.strip(), end=True) if _DATE.match(value.strip()) else start
    return TimeFilter(start, end)


# ---------------------------------------------------------------- documents
def link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    """An OGC link object."""
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def landing_page(base: str, title: str) -> dict[str, Any]:
    """The landing page document."""
    return {
        "title": title,
        "description": "Hotspot analysis and patrol planning for ward police (OGC API – Features).",
        "links": [
            link(f"{base}/", "self", "application/json", "This document"),
            link(f"{base}/openapi.json", "service-desc", OPENAPI_JSON, "The API definition"),
            link(f"{base}/conformance", "conformance", "application/json", "Conformance classes"),
            link(f"{base}/collections", "data", "application/json", "Feature collections"),
        ],
    }


def collection_document(base: str, info: CollectionInfo, extent: dict[str, Any]) -> dict[str, Any]:
    """The description of one collection."""
    return {
        "id": info.id,
        "title": info.title,
        "description": info.description,
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": extent,
        "links": [
            link(f"{base}/collections/{info.id}", "self", "application/json", info.title),
            link(f"{base}/collections/{info.id}/items", "items", GEOJSON, f"{info.title} (GeoJSON)"),
        ],
    }


def extent_of(bounds: tuple[float, float, float, float] | None, first: Any = None, last: Any = None) -> dict[str, Any]:
    """An OGC extent from lon/lat bounds and an optional time span (NaN-free)."""
    extent: dict[str, Any] = {}
    if bounds is not None and all(isinstance(v, float | int) and math.isfinite(v) for v in bounds):
        extent["spatial"] = {"bbox": [[round(float(v), 7) for v in bounds]], "crs": CRS84}
    else:
        extent["spatial"] = {"bbox": [[-180.0, -90.0, 180.0, 90.0]], "crs": CRS84}

    def iso(value: Any) -> str | None:
        """ISO 8601 UTC text of a time, or None."""
        if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
            return None
        ts = pd.Timestamp(value)
        if ts is pd.NaT:
            return None
        ts = ts.tz_localize(UTC) if ts.tzinfo is None else ts.tz_convert(UTC)
        return str(ts.isoformat()).replace("+00:00", "Z")

    if first is not None or last is not None:
        extent["temporal"] = {
            "interval": [[iso(first), iso(last)]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    return extent


@dataclass(frozen=True)
class Page:
    """Where an items page lies: its offset and size, what it returned and matched.

    With ``keyset`` the ``next`` link carries ``next_cursor`` (none when it is None) instead
    of an offset, and there is no ``prev`` link.
    """

    offset: int
    limit: int
    returned: int
    matched: int
    keyset: bool = False
    next_cursor: str | None = None


def items_links(base: str, collection: str, params: dict[str, Any], page_at: Page) -> list[dict[str, str]]:
    """``self``, ``collection``, and ``next``/``prev`` paging links of an items page."""
    offset, limit, returned, matched = page_at.offset, page_at.limit, page_at.returned, page_at.matched
    keyset, next_cursor = page_at.keyset, page_at.next_cursor
    url = f"{base}/collections/{collection}/items"
    kept = {k: v for k, v in params.items() if v not in (None, "") and k not in ("offset", "limit", "f", "cursor")}
    if keyset:
        here = {**kept, "limit": limit, "f": "json", **({"cursor": params["cursor"]} if params.get("cursor") else {})}
        links = [
            link(f"{url}?{urlencode(here)}", "self", GEOJSON, "This page"),
            link(f"{base}/collections/{collection}", "collection", "application/json", "The collection"),
        ]
        if next_cursor:
            query = {**kept, "limit": limit, "cursor": next_cursor, "f": "json"}
            links.append(link(f"{url}?{urlencode(query)}", "next", GEOJSON, "Next page"))
        return links

    def page(at: int) -> str:
        query = {**kept, "limit": limit, "offset": at, "f": "json"}
        return f"{url}?{urlencode(query)}"

    links = [
        link(page(offset), "self", GEOJSON, "This page"),
        link(f"{base}/collections/{collection}", "collection", "application/json", "The collection"),
    ]
    if offset + returned < matched and returned > 0:
        links.append(link(page(offset + returned), "next", GEOJSON, "Next page"))
    if offset > 0:
        links.append(link(page(max(0, offset - limit)), "prev", GEOJSON, "Previous page"))
    return links


def now_stamp() -> str:
    """The ``timeStamp`` of a response (UTC, seconds)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")



def encode_cursor(occurred_at: Any, incident_id: str, ties: int) -> str:
    """The opaque keyset cursor after a row: its time (ns), its id and the rows served at that time."""
    import base64
    import json

    raw = json.dumps([int(occurred_at.value), str(incident_id), int(ties)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, str, int]:
    """``(time, incident_id, ties)`` of a cursor from :func:`encode_cursor`; ParameterError otherwise."""
    import base64
    import binascii
    import json

    import pandas as pd

    bad = ParameterError("cursor is not valid; follow the 'next' link of the previous page",
                         details={"parameter": "cursor"})
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if (not isinstance(raw, list) or len(raw) != 3 or not isinstance(raw[0], int) or not isinstance(raw[1], str)
            or not isinstance(raw[2], int) or not 0 < raw[2] <= 1_000_000 or not 0 < len(raw[1]) <= 200):
        raise bad
    try:
        return pd.Timestamp(raw[0], unit="ns", tz="UTC"), raw[1], raw[2]
    except (ValueError, OverflowError):
        raise bad from None
