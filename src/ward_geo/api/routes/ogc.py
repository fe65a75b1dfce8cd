"""OGC API – Features, Part 1 (Core + GeoJSON): landing page, conformance, collections, items.

Wards and hotspots need the ``viewer`` role, incident points ``analyst``. Parameter
errors on these routes answer 400 (OGC ``/req/core/query-param-invalid``), unknown
query parameters too (``/req/core/query-param-unknown``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from ward_geo.api import ogc, providers
from ward_geo.api.deps import Principal, StateDep, ViewerDep
from ward_geo.api.params import ItemsParamsDep
from ward_geo.api.schemas import Collection, Collections, Conformance, Feature, FeatureCollection, LandingPage
from ward_geo.errors import NotFoundError, ParameterError, PermissionDeniedError
from ward_geo.io.writers import geojson_dumps

router = APIRouter(tags=["OGC API – Features"])

_ITEM_PARAMS = {"limit", "offset", "cursor", "bbox", "datetime", "f", "category", "ward_id", "crs", "bbox-crs"}
_FEATURE_PARAMS = {"f", "crs"}
_GEOJSON_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {ogc.GEOJSON: {}}, "description": "GeoJSON"},
}


CollectionPath = Path(
    description="wards, incidents or hotspots",
    max_length=100,
    json_schema_extra={"enum": list(ogc.COLLECTIONS)},
)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _json(payload: Any, media_type: str = "application/json") -> Response:
    return Response(geojson_dumps(payload).encode("utf-8"), media_type=media_type)


def _reject_unknown(request: Request, allowed: set[str]) -> None:
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise ParameterError(
            f"unknown query parameter(s) {', '.join(unknown)}; this operation accepts {', '.join(sorted(allowed))}",
            details={"unknown": unknown},
        )


def _check_crs(request: Request) -> None:
    """Only CRS84 is offered (``crs`` / ``bbox-crs`` of OGC API – Features Part 2)."""
    for name in ("crs", "bbox-crs"):
        value = request.query_params.get(name)
        if value is not None and value.strip("<>[] ") not in (ogc.CRS84, "[OGC:CRS84]", "OGC:CRS84"):
            raise ParameterError(
                f"{name}={value[:100]!r} is not offered; features are served in {ogc.CRS84} only",
                details={"parameter": name},
            )


def _check_f(f: str | None) -> None:
    if f not in (None, "json", "geojson"):
        raise ParameterError(f"f={f!r} is not offered; use f=json (GeoJSON)", details={"parameter": "f"})


@router.get("/", response_model=LandingPage, summary="Landing page")
async def landing(request: Request, f: str | None = Query(None, description="json")) -> Response:
    """The landing page (links to the API definition, conformance and collections)."""
    _check_f(f)
    return _json(ogc.landing_page(_base(request), request.app.title))


@router.get("/conformance", response_model=Conformance, summary="Conformance classes")
async def conformance(f: str | None = Query(None, description="json")) -> Response:
    """The conformance classes this service implements."""
    _check_f(f)
    return _json({"conformsTo": ogc.CONFORMANCE})


@router.get("/collections", response_model=Collections, summary="Feature collections")
async def collections(
    request: Request, principal: ViewerDep, state: StateDep, f: str | None = Query(None, description="json")
) -> Response:
    """The collections with their extents."""
    _check_f(f)
    base = _base(request)
    docs = [
        ogc.collection_document(base, info, await providers.collection_extent(state, info.id))
        for info in ogc.COLLECTIONS.values()
    ]
    return _json(
        {
            "links": [
                ogc.link(f"{base}/collections", "self", "application/json", "Feature collections"),
                ogc.link(f"{base}/", "root", "application/json", "Landing page"),
            ],
            "collections": docs,
        }
    )


def _collection(collection_id: str) -> ogc.CollectionInfo:
    info = ogc.COLLECTIONS.get(collection_id)
    if info is None:
        raise NotFoundError(
            f"no collection {collection_id!r}; the collections are {', '.join(ogc.COLLECTIONS)}",
            details={"collection": collection_id[:100]},
        )
    return info


@router.get("/collections/{collection_id}", response_model=Collection, summary="One feature collection")
async def collection(
    request: Request, principal: ViewerDep, state: StateDep, collection_id: str = CollectionPath,
    f: str | None = Query(None, description="json"),
) -> Response:
    """One collection's description and extent."""
    _check_f(f)
    info = _collection(collection_id)
    return _json(ogc.collection_document(_base(request), info, await providers.collection_extent(state, info.id)))


def _check_role(principal: Principal, info: ogc.CollectionInfo) -> None:
    if not principal.allows(info.role):
        raise PermissionDeniedError(
            f"the {info.id!r} collection holds individual records and needs the {info.role!r} role; "
            f"the key has role {principal.role!r}"
        )


@router.get(
    "/collections/{collection_id}/items",
    response_model=FeatureCollection,
    responses=_GEOJSON_RESPONSES,
    summary="Features of a collection (paged)",
)
async def items(request: Request, params: ItemsParamsDep, principal: ViewerDep, state: StateDep,
                collection_id: str = CollectionPath) -> Response:
    """A page of the collection's features (GeoJSON), filtered and paged as asked."""
    _reject_unknown(request, _ITEM_PARAMS)
    _check_crs(request)
    _check_f(params.f)
    info = _collection(collection_id)
    _check_role(principal, info)
    body = await providers.items_page(state, info, params, principal, _base(request))
    return Response(body, media_type=ogc.GEOJSON)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    response_model=Feature,
    responses=_GEOJSON_RESPONSES,
    summary="One feature",
)
async def item(request: Request, principal: ViewerDep, state: StateDep, collection_id: str = CollectionPath,
               feature_id: str = Path(max_length=200, examples=["phuong-hoan-kiem"]),
               f: str | None = Query(None, description="json")) -> Response:
    """One feature of a collection by its id."""
    _reject_unknown(request, _FEATURE_PARAMS)
    _check_crs(request)
    _check_f(f)
    info = _collection(collection_id)
    _check_role(principal, info)
    feature = await providers.feature(state, info, feature_id, principal)
    base = _base(request)
    feature["links"] = [
        ogc.link(f"{base}/collections/{info.id}/items/{_quote(feature_id)}", "self", ogc.GEOJSON, "This feature"),
        ogc.link(f"{base}/collections/{info.id}", "collection", "application/json", "The collection"),
    ]
    return _json(feature, ogc.GEOJSON)


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
