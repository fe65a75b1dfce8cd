"""Patrol-planning endpoints: ward hotspots, ward maps, patrol plans (viewer role)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from ward_geo.api import services
from ward_geo.api.deps import ServiceState, StateDep, ViewerDep
from ward_geo.api.hotpath import entity_tag, matches
from ward_geo.api.ogc import GEOJSON
from ward_geo.api.params import HotspotParamsDep
from ward_geo.api.schemas import FeatureCollection, PatrolPlanRequest

router = APIRouter(tags=["patrol planning"])

WardId = Path(
    pattern=services.WARD_ID_PATTERN,
    max_length=100,
    description="ward id from the wards collection, e.g. phuong-hoan-kiem",
    examples=["phuong-hoan-kiem"],
)
_GEOJSON: dict[int | str, dict[str, Any]] = {200: {"content": {GEOJSON: {}}, "description": "GeoJSON (RFC 7946)"}}


def _conditional(
    request: Request, body: bytes, media_type: str, headers: dict[str, str] | None = None, tag: str | None = None
) -> Response:
    """``body`` with an ETag; 304 without a body when the client already holds it.

    ``private, no-cache``: a client may keep the answer (never a shared cache) and
    revalidates it with ``If-None-Match``, which costs a few bytes on a patrol tablet's
    mobile link instead of the whole map.
    """
    tag = tag or entity_tag(body)
    out = {"ETag": tag, "Cache-Control": "private, no-cache", **(headers or {})}
    given = request.headers.get("if-none-match")
    if given is not None and matches(given, tag):
        return Response(status_code=304, headers=out)
    return Response(body, media_type=media_type, headers=out)


@router.get(
    "/wards/{ward_id}/hotspots",
    response_model=FeatureCollection,
    responses=_GEOJSON,
    summary="Ranked hotspot polygons of a ward",
)
async def ward_hotspots(request: Request, params: HotspotParamsDep, principal: ViewerDep, state: StateDep,
                        ward_id: str = WardId) -> Response:
    """The ward's hotspot set as GeoJSON (viewers get the aggregate view)."""
    query = params.query(ward_id)
    headers: dict[str, str] = {}
    if not principal.allows("analyst"):  # viewers see the aggregate view only
        query, clamped = services.viewer_query(state, query)
        if clamped:
            headers["X-Parameters-Clamped"] = ",".join(f"{k}={v['used']}" for k, v in clamped.items())
    answer = await services.ward_hotspots(state, query, principal.caller)
    if answer.fresh:  # later identical requests are answered by the fast path (api/hotpath.py)
        state.hotpath.remember(ward_id, request.scope.get("query_string", b""), query.aggregate,
                               answer.logical, answer.scope, headers)
    headers["X-Data-Freshness"] = "fresh" if answer.fresh else "stale"
    return _conditional(request, answer.body, GEOJSON, headers, tag=state.hotpath.tag(answer.body))


@router.get(
    "/maps/{ward_id}.html",
    response_class=HTMLResponse,
    summary="Offline HTML map of a ward (incident points only for analysts)",
)
async def ward_map(request: Request, principal: ViewerDep, state: StateDep, ward_id: str = WardId) -> Response:
    """The ward's offline HTML map (incident points only for analysts)."""
    with_points = principal.allows("analyst")
    body = await services.ward_map_html(state, ward_id, with_points=with_points, caller=principal.caller)
    return _conditional(request, body, "text/html; charset=utf-8", {"Content-Security-Policy": _map_csp(state)})


def _map_csp(state: ServiceState) -> str:
    """The map page may load nothing from the network except the configured tile server."""
    images = "'self' data: blob:"
    tile_url = state.settings.tile_url
    if tile_url:
        parts = urlsplit(tile_url)
        if parts.scheme in ("http", "https") and parts.netloc:
            images += f" {parts.scheme}://{parts.netloc}"
    return f"default-src 'self' 'unsafe-inline' data: blob:; img-src {images}; connect-src 'none'"


@router.post(
    "/patrol-plans",
    response_model=FeatureCollection,
    responses=_GEOJSON,
    summary="Plan patrol routes for a ward and shift",
)
async def patrol_plans(request: PatrolPlanRequest, principal: ViewerDep, state: StateDep) -> Response:
    """Plan patrol routes for a ward and shift (viewers: over the aggregate hotspots)."""
    body = await services.patrol_plan(state, request.model_dump(), principal.caller,
                                      aggregate=not principal.allows("analyst"))
    return Response(body, media_type=GEOJSON)
