"""Query parameters shared by several routes, declared once as dependency classes.

Each class is used as ``Annotated[HotspotParams, Depends()]``: FastAPI reads the
parameters from the query string with the bounds declared here (every size-like
parameter has an upper bound) and the OpenAPI document lists them as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Query

from ward_geo.api import services
from ward_geo.cluster import DEFAULT_MAX_EPS_M
from ward_geo.io.options import ReaderOptions

__all__ = ["HotspotParams", "ItemsParams", "UploadParams", "HotspotParamsDep", "ItemsParamsDep", "UploadParamsDep"]

MAX_LIMIT = 10_000
_NAME = r"^[A-Za-z0-9_ .:\-]{1,100}$"
_CATEGORY = "category code(s), repeated or comma-separated"


@dataclass
class HotspotParams:
    """The hotspot query of ``GET /wards/{ward_id}/hotspots``."""

    category: list[str] | None = Query(None, description=_CATEGORY)
    since: str | None = Query(None, max_length=40, description="RFC 3339 date-time or date (inclusive)")
    until: str | None = Query(None, max_length=40, description="RFC 3339 date-time or date (inclusive)")
    method: str = Query("auto", pattern="^(" + "|".join(services.HOTSPOT_METHODS) + ")$")
    eps: float | None = Query(
        None, gt=0, le=DEFAULT_MAX_EPS_M, description="neighbourhood radius in metres (default: from the data)"
    )
    min_samples: int | None = Query(
        None, ge=1, le=1_000_000, description="core-point threshold (default: from the data)"
    )

    def query(self, ward_id: str) -> services.HotspotQuery:
        """The framework-neutral query these parameters ask for."""
        window = services.parse_time_bounds(self.since, self.until)
        return services.HotspotQuery(
            ward_id=ward_id,
            method=self.method,
            categories=services.parse_categories(self.category),
            since=window.start,
            until=window.end,
            eps=self.eps,
            min_samples=self.min_samples,
        )


@dataclass
class ItemsParams:
    """The paging and filters of ``GET /collections/{collection_id}/items`` (OGC API – Features)."""

    limit: int = Query(10, ge=1, le=MAX_LIMIT, description="page size (at most 10000)")
    offset: int = Query(0, ge=0, le=10_000_000, description="features to skip (follow the 'next' link)")
    cursor: str | None = Query(
        None, max_length=400, description="incidents: where the previous page ended (from its 'next' link)"
    )
    bbox: str | None = Query(
        None, description="minlon,minlat,maxlon,maxlat in CRS84 (WGS 84 longitude/latitude)", max_length=200
    )
    datetime: str | None = Query(
        None,
        description="RFC 3339 instant or interval: 2025-03-01T08:00:00Z, 2025-03-01/2025-03-31, ../2025-01-01",
        max_length=100,
    )
    category: list[str] | None = Query(None, description=_CATEGORY)
    ward_id: str | None = Query(None, description="only features in this ward", max_length=100)
    f: str | None = Query(None, description="json")


@dataclass
class UploadParams:
    """How ``POST /incidents`` reads its body (the options of ``ward-geo ingest``)."""

    source: str | None = Query(None, pattern=_NAME, description="batch label (default: 'api')")
    on_error: Literal["skip", "reject"] = Query(
        "skip",
        description="skip (as `ward-geo ingest`): store the accepted rows, list the rejected ones in the report; "
        "reject: any rejected row refuses the whole request (422 with the report, nothing stored)",
    )
    lon: str | None = Query(None, pattern=_NAME, description="CSV longitude column (default: detected)")
    lat: str | None = Query(None, pattern=_NAME, description="CSV latitude column (default: detected)")
    id_field: str | None = Query(None, pattern=_NAME, description="incident id column")
    category_field: str | None = Query(None, pattern=_NAME, description="category column")
    time_field: str | None = Query(None, pattern=_NAME, description="time column")
    category: str | None = Query(None, pattern=_NAME, description="give every row this category")
    crs: str | None = Query(
        None, pattern=r"^[A-Za-z]{2,10}:[0-9]{1,6}$", description="CRS of the coordinates, e.g. EPSG:3405"
    )
    timezone: str | None = Query(None, pattern=r"^[A-Za-z_+\-/0-9]{1,64}$", description="zone of naive times (IANA)")

    def reader_options(self, file_format: str) -> ReaderOptions:
        """The reader options given (those left out are detected from the file), for ``file_format``."""
        return ReaderOptions(
            lon=self.lon, lat=self.lat, id_field=self.id_field, category_field=self.category_field,
            time_field=self.time_field, category=self.category, crs=self.crs, timezone=self.timezone,
            format=file_format,
        )


HotspotParamsDep = Annotated[HotspotParams, Depends()]
ItemsParamsDep = Annotated[ItemsParams, Depends()]
UploadParamsDep = Annotated[UploadParams, Depends()]
