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
from ward_geo.errors import (
    InputError,
    InsufficientStorageError,
    PayloadTooLargeError,
    StoreError,
    WardGeoError,
    is_disk_full,
)
from ward_geo.io.writers import geojson_dumps

router = APIRouter(tags=["ingest"])

#: Content types always accepted by POST /incidents and the parser that reads them
#: (never GDAL's content sniffing).
MEDIA_TYPES = {
    "application/geo+json": "geojson",
    "application/json": "geojson",
    "text/csv": "csv",
    "application/csv": "csv",
}
#: Content types of the GDAL formats that WARD_GEO_UPLOAD_GDAL_FORMATS may enable.
GDAL_MEDIA_TYPES = {
    "application/geopackage+sqlite3": "gpkg",
    "application/zip": "zip",
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
        415: {"model": ErrorBody, "description": "Not GeoJSON or CSV (or an enabled GDAL format)"},
        507: {"model": ErrorBody, "description": "No space left to spool the upload"},
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
    kind = upload_kind(request, state.settings.upload_gdal_formats)
    limit = state.settings.max_upload_bytes
    path = spool_file(state.settings.resolved_spool_dir, kind)
    try:
        size = 0
        try:
            with open(path, "wb") as fh:  # noqa: ASYNC230 - chunk writes to a local file, as before
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise PayloadTooLargeError(
                            f"the upload exceeds WARD_GEO_MAX_UPLOAD_BYTES={limit} bytes; split it into smaller "
                            "requests",
                            details={"limit_bytes": limit},
                        )
                    fh.write(chunk)
        except OSError as exc:
            raise _storage_error(exc) from None
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
        options["format"] = "vector" if kind in GDAL_MEDIA_TYPES.values() else kind
        outcome = await state.run(
            lambda: ingest_file(
                state, path, source=source or "api", options=options, allow_rejected=on_error == "skip"
            )
        )
        body = dataclasses.asdict(outcome)
        return Response(geojson_dumps(body).encode("utf-8"), status_code=201, media_type="application/json")
    finally:
        path.unlink(missing_ok=True)


def upload_kind(request: Request, gdal_formats: list[str]) -> str:
    """The parser of the body: ``geojson``, ``csv`` or an enabled GDAL format; else 415."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    kind = MEDIA_TYPES.get(media)
    if kind is None and GDAL_MEDIA_TYPES.get(media) in gdal_formats:
        kind = GDAL_MEDIA_TYPES[media]
    accepted = sorted(MEDIA_TYPES) + sorted(m for m, k in GDAL_MEDIA_TYPES.items() if k in gdal_formats)
    if kind is None:
        raise UnsupportedMediaTypeError(
            f"content type {media[:100] or '(none)'!r} is not accepted; send application/geo+json "
            "(a FeatureCollection) or text/csv",
            details={"accepted": accepted},
        )
    if encoding not in ("identity", "gzip") or (encoding == "gzip" and kind not in ("geojson", "csv")):
        raise UnsupportedMediaTypeError(
            f"content encoding {encoding[:40]!r} is not accepted for {media}; send it uncompressed"
            + (" or gzip-compressed" if kind in ("geojson", "csv") else ""),
            details={"accepted_encodings": ["identity", "gzip"] if kind in ("geojson", "csv") else ["identity"]},
        )
    return kind


_SUFFIXES = {"geojson": ".geojson", "csv": ".csv", "gpkg": ".gpkg", "zip": ".zip"}


def spool_file(folder: Path, kind: str) -> Path:
    """A new private (0600) file for an upload body in the spool folder."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="upload-", suffix=_SUFFIXES[kind], dir=folder)
    except OSError as exc:
        raise _storage_error(exc) from None
    os.close(fd)
    return Path(name)


def _storage_error(exc: OSError) -> WardGeoError:
    if is_disk_full(exc):
        return InsufficientStorageError(
            "no space left to receive the upload; nothing was stored (free disk space on the server, "
            "or try again later)"
        )
    return StoreError(f"the upload could not be spooled ({exc.strerror or type(exc).__name__}); nothing was stored")


def clean_spool(folder: Path) -> int:
    """Empty the spool folder (left-overs of a crash) and make it private; return files removed."""
    removed = 0
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    for entry in folder.iterdir():
        if entry.is_file() or entry.is_symlink():
            entry.unlink(missing_ok=True)
            removed += 1
    return removed
