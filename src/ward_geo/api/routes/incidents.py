"""Ingest: ``POST /incidents`` (admin role) with a GeoJSON FeatureCollection or a CSV body."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from ward_geo.api.deps import Principal, ServiceState, get_state, require
from ward_geo.api.schemas import ErrorBody, IngestResponse
from ward_geo.api.services import ingest_file
from ward_geo.errors import InputError, PayloadTooLargeError, WardGeoError
from ward_geo.io.writers import geojson_dumps

router = APIRouter(tags=["ingest"])

#: Content types accepted by POST /incidents and the file suffix the reader sees.
MEDIA_TYPES = {
    "application/geo+json": ".geojson",
    "application/json": ".geojson",
    "text/csv": ".csv",
    "application/csv": ".csv",
}
_NAME = r"^[A-Za-z0-9_ .:\-]{1,100}$"


class UnsupportedMediaTypeError(WardGeoError):
    """The request body's content type is not one the endpoint reads."""

    status_code = 415
    code = "unsupported_media_type"


@router.post(
    "/incidents",
    status_code=201,
    response_model=IngestResponse,
    summary="Validate and store incidents like `ward-geo ingest` (all-or-nothing, idempotent)",
    responses={
        413: {"model": ErrorBody, "description": "Body larger than WARD_GEO_MAX_UPLOAD_BYTES"},
        415: {"model": ErrorBody, "description": "Not GeoJSON or CSV"},
        422: {"model": ErrorBody, "description": "Unreadable body, conflicting ids, or (on_error=reject) rejected rows"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/geo+json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
async def post_incidents(
    request: Request,
    source: str | None = Query(None, pattern=_NAME, description="batch label (default: 'api')"),
    on_error: Literal["skip", "reject"] = Query(
        "skip",
        description="skip (as `ward-geo ingest`): store the accepted rows, list the rejected ones in the report; "
        "reject: any rejected row refuses the whole request (422 with the report, nothing stored)",
    ),
    lon: str | None = Query(None, pattern=_NAME, description="CSV longitude column (default: detected)"),
    lat: str | None = Query(None, pattern=_NAME, description="CSV latitude column (default: detected)"),
    id_field: str | None = Query(None, pattern=_NAME, description="incident id column"),
    category_field: str | None = Query(None, pattern=_NAME, description="category column"),
    time_field: str | None = Query(None, pattern=_NAME, description="time column"),
    category: str | None = Query(None, pattern=_NAME, description="give every row this category"),
    crs: str | None = Query(None, pattern=r"^[A-Za-z]{2,10}:[0-9]{1,6}$", description="CRS of the coordinates, e.g. EPSG:3405"),
    timezone: str | None = Query(None, pattern=r"^[A-Za-z_+\-/0-9]{1,64}$", description="zone of naive times (IANA)"),
    principal: Principal = Depends(require("admin")),
    state: ServiceState = Depends(get_state),
) -> Response:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    suffix = MEDIA_TYPES.get(media)
    if suffix is None:
        raise UnsupportedMediaTypeError(
            f"content type {media or '(none)'!r} is not accepted; send application/geo+json "
            "(a FeatureCollection) or text/csv",
            details={"accepted": sorted(MEDIA_TYPES)},
        )
    limit = state.settings.max_upload_bytes
    fd, name = tempfile.mkstemp(prefix="ward-geo-upload-", suffix=suffix)
    path = Path(name)
    try:
        size = 0
        with os.fdopen(fd, "wb") as fh:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLargeError(
                        f"the upload exceeds WARD_GEO_MAX_UPLOAD_BYTES={limit} bytes; split it into smaller requests",
                        details={"limit_bytes": limit},
                    )
                fh.write(chunk)
        if size == 0:
            raise InputError("the request body is empty; send a GeoJSON FeatureCollection or a CSV")
        options: dict[str, Any] = {
            k: v
            for k, v in {
                "lon": lon,
                "lat": lat,
                "id_field": id_field,
                "category_field": category_field,
                "time_field": time_field,
                "category": category,
                "crs": crs,
                "timezone": timezone,
            }.items()
            if v is not None
        }
        outcome = await state.run(
            lambda: ingest_file(
                state, path, source=source or "api", options=options, allow_rejected=on_error == "skip"
            )
        )
        body = dataclasses.asdict(outcome)
        return Response(geojson_dumps(body).encode("utf-8"), status_code=201, media_type="application/json")
    finally:
        path.unlink(missing_ok=True)
