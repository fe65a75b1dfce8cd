"""Ingest: ``POST /incidents`` (admin role) with a GeoJSON FeatureCollection or a CSV body."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ward_geo.api.deps import AdminDep, StateDep
from ward_geo.api.params import UploadParamsDep
from ward_geo.api.schemas import ErrorBody, IngestResponse
from ward_geo.api.uploads import ingest_upload

__all__ = ["router"]

router = APIRouter(tags=["ingest"])


@router.post(
    "/incidents",
    status_code=201,
    response_model=IngestResponse,
    summary="Validate and store incidents like `ward-geo ingest` (all-or-nothing, idempotent)",
    responses={
        413: {"model": ErrorBody, "description": "Body larger than WARD_GEO_MAX_UPLOAD_BYTES"},
        415: {"model": ErrorBody, "description": "Not GeoJSON or CSV (or an enabled GDAL format)"},
        507: {"model": ErrorBody, "description": "No space left to spool the upload"},
        422: {"model": ErrorBody,
              "description": "Unreadable body, conflicting ids, or (on_error=reject) rejected rows"},
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
async def post_incidents(request: Request, params: UploadParamsDep, principal: AdminDep, state: StateDep) -> Response:
    """Validate and store an uploaded batch of incidents; answer the ingest report."""
    body = await ingest_upload(state, request, params)
    return Response(body, status_code=201, media_type="application/json")
