"""Request and response models of the service (they shape the OpenAPI document)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ward_geo.api.services import WARD_ID_PATTERN

__all__ = [
    "ErrorBody",
    "Link",
    "LandingPage",
    "Conformance",
    "Collection",
    "Collections",
    "FeatureCollection",
    "Feature",
    "PatrolPlanRequest",
    "IngestResponse",
    "Health",
]

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ErrorBody(BaseModel):
    """Every error answer: a stable machine-readable ``code`` and a human ``message``."""

    code: str = Field(examples=["not_found"])
    message: str
    details: dict[str, Any] | None = None
    report: dict[str, Any] | None = None
    request_id: str | None = None


class Link(BaseModel):
    """A link of an OGC API document."""

    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class LandingPage(BaseModel):
    """The OGC API landing page."""

    title: str
    description: str | None = None
    links: list[Link]


class Conformance(BaseModel):
    """The conformance classes implemented."""

    conformsTo: list[str]


class Collection(BaseModel):
    """One feature collection's description."""

    model_config = ConfigDict(extra="allow")

    id: str
    title: str | None = None
    description: str | None = None
    links: list[Link]
    extent: dict[str, Any] | None = None
    itemType: str | None = None
    crs: list[str] | None = None


class Collections(BaseModel):
    """The feature collections."""

    links: list[Link]
    collections: list[Collection]


class Feature(BaseModel):
    """A GeoJSON Feature (RFC 7946)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["Feature"]
    id: str | int | None = None
    geometry: dict[str, Any] | None
    properties: dict[str, Any] | None


class FeatureCollection(BaseModel):
    """A GeoJSON FeatureCollection (RFC 7946), with OGC paging members on item pages."""

    model_config = ConfigDict(extra="allow")

    type: Literal["FeatureCollection"]
    features: list[Feature]
    links: list[Link] | None = None
    numberMatched: int | None = None
    numberReturned: int | None = None
    timeStamp: str | None = None


class PatrolPlanRequest(BaseModel):
    """A patrol plan request: which ward, which shift, how many units, on foot or by motorbike."""

    model_config = ConfigDict(extra="forbid")

    ward_id: str = Field(pattern=WARD_ID_PATTERN, examples=["phuong-hoan-kiem"])
    shift_start: str = Field(default="08:00", examples=["08:00"], description="HH:MM, local time")
    shift_end: str = Field(default="16:00", examples=["16:00"], description="HH:MM; before the start = overnight")
    date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="shift date (YYYY-MM-DD)")
    units: int = Field(default=1, ge=1, le=20)
    mode: Literal["foot", "motorbike", "car"] = "foot"
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    time_limit_s: float = Field(default=5, gt=0, le=30)

    @field_validator("shift_start", "shift_end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError("expected a time HH:MM between 00:00 and 23:59")
        return value

    @field_validator("date")
    @classmethod
    def _real_date(cls, value: str | None) -> str | None:
        if value is not None:
            from datetime import date

            try:
                day = date.fromisoformat(value)
            except ValueError:
                raise ValueError("expected a calendar date YYYY-MM-DD") from None
            if not 1970 <= day.year <= 2100:
                raise ValueError("expected a shift date between 1970 and 2100")
        return value


class IngestResponse(BaseModel):
    """The answer to an ingest: the fields of ``ward-geo ingest --json`` and the full report."""

    rows_read: int
    added: int
    duplicates: int
    rejected: int
    repaired: int
    outside_wards: int
    batch_id: str
    store_total: int
    data_version: str
    report: dict[str, Any]


class Health(BaseModel):
    """A liveness or readiness answer."""

    status: str
    detail: dict[str, Any] | None = None
