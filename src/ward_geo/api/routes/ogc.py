"""OGC API – Features, Part 1 (Core + GeoJSON): landing page, conformance, collections, items.

Wards and hotspots need the ``viewer`` role, incident points ``analyst``. Parameter
errors on these routes answer 400 (OGC ``/req/core/query-param-invalid``), unknown
query parameters too (``/req/core/query-param-unknown``).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from ward_geo.api import ogc, services
from ward_geo.api.deps import Principal, ServiceState, get_state, require
from ward_geo.api.schemas import Collection, Collections, Conformance, Feature, FeatureCollection, LandingPage
from ward_geo.errors import NotFoundError, ParameterError, PermissionDeniedError
from ward_geo.io.writers import geojson_dumps, to_geojson

router = APIRouter(tags=["OGC API – Features"])

MAX_LIMIT = 10_000
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
    _check_f(f)
    return _json(ogc.landing_page(_base(request), request.app.title))


@router.get("/conformance", response_model=Conformance, summary="Conformance classes")
async def conformance(f: str | None = Query(None, description="json")) -> Response:
    _check_f(f)
    return _json({"conformsTo": ogc.CONFORMANCE})


async def _extent(state: ServiceState, collection: str) -> dict[str, Any]:
    version = await services.data_version(state)
    kind = "wards" if collection == "wards" else "incidents"

    async def load() -> dict[str, Any]:
        if kind == "wards":
            wards = await services.ward_table(state, version)
            return ogc.extent_of(tuple(wards.total_bounds) if len(wards) else None)

        # hotspots lie within the incidents' extent: describe them by it, so that listing the
        # collections never waits for a city-wide hotspot computation
        def incident_extent() -> dict[str, Any]:
            store = state.stores.get()
            first = store.query(order="occurred_at", limit=1)
            last = store.query(order="-occurred_at", limit=1)
            wards = store.boundaries()
            bounds = tuple(wards.total_bounds) if len(wards) else None
            return ogc.extent_of(
                bounds,
                first["occurred_at"].iloc[0] if len(first) else None,
                last["occurred_at"].iloc[0] if len(last) else None,
            )

        return await state.run(incident_extent)

    return await state.collections.get_or_compute(("extent", kind, version), load)


@router.get("/collections", response_model=Collections, summary="Feature collections")
async def collections(
    request: Request,
    f: str | None = Query(None, description="json"),
    principal: Principal = Depends(require("viewer")),
    state: ServiceState = Depends(get_state),
) -> Response:
    _check_f(f)
    base = _base(request)
    docs = [
        ogc.collection_document(base, info, await _extent(state, info.id))
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
    request: Request,
    collection_id: str = CollectionPath,
    f: str | None = Query(None, description="json"),
    principal: Principal = Depends(require("viewer")),
    state: ServiceState = Depends(get_state),
) -> Response:
    _check_f(f)
    info = _collection(collection_id)
    return _json(ogc.collection_document(_base(request), info, await _extent(state, info.id)))


def _check_role(principal: Principal, info: ogc.CollectionInfo) -> None:
    if not principal.allows(info.role):
        raise PermissionDeniedError(
            f"the {info.id!r} collection holds individual records and needs the {info.role!r} role; "
            f"the key has role {principal.role!r}"
        )


def _features(frame: gpd.GeoDataFrame, id_field: str) -> dict[str, Any]:
    collection = to_geojson(frame)
    for feature in collection["features"]:
        feature["id"] = str(feature.get("properties", {}).get(id_field))
    return collection


def _bbox_mask(frame: gpd.GeoDataFrame, bbox: tuple[float, float, float, float]) -> pd.Series:
    box = shapely.box(*bbox)
    return pd.Series(shapely.intersects(frame.geometry.array, box), index=frame.index)


@router.get(
    "/collections/{collection_id}/items",
    response_model=FeatureCollection,
    responses=_GEOJSON_RESPONSES,
    summary="Features of a collection (paged)",
)
async def items(
    request: Request,
    collection_id: str = CollectionPath,
    limit: int = Query(10, ge=1, le=MAX_LIMIT, description="page size (at most 10000)"),
    offset: int = Query(0, ge=0, le=10_000_000, description="features to skip (follow the 'next' link)"),
    cursor: str | None = Query(
        None, max_length=400, description="incidents: where the previous page ended (from its 'next' link)"
    ),
    bbox: str | None = Query(
        None, description="minlon,minlat,maxlon,maxlat in CRS84 (WGS 84 longitude/latitude)", max_length=200
    ),
    datetime: str | None = Query(
        None,
        description="RFC 3339 instant or interval: 2025-03-01T08:00:00Z, 2025-03-01/2025-03-31, ../2025-01-01",
        max_length=100,
    ),
    category: list[str] | None = Query(None, description="category code(s), repeated or comma-separated"),
    ward_id: str | None = Query(None, description="only features in this ward", max_length=100),
    f: str | None = Query(None, description="json"),
    principal: Principal = Depends(require("viewer")),
    state: ServiceState = Depends(get_state),
) -> Response:
    _reject_unknown(request, _ITEM_PARAMS)
    _check_crs(request)
    _check_f(f)
    info = _collection(collection_id)
    _check_role(principal, info)
    box = ogc.parse_bbox(bbox)
    when = ogc.parse_datetime(datetime)
    cats = services.parse_categories(category)
    after = None
    if cursor is not None:
        if info.id != "incidents" or offset:
            raise ParameterError("cursor pages the incidents collection and cannot be combined with offset",
                                 details={"parameter": "cursor"})
        after = ogc.decode_cursor(cursor)
    version = await services.data_version(state)

    base = _base(request)
    link_params = {"bbox": bbox, "datetime": datetime, "category": ",".join(cats) or None, "ward_id": ward_id,
                   "cursor": cursor}
    if info.id == "wards":
        table = await services.ward_table(state, version)
    elif info.id == "hotspots":
        table = await services.all_hotspots(
            state, version, aggregate=not principal.allows("analyst"), caller=principal.caller
        )
    else:  # incidents: built in the worker process, which has its own store connection
        since = when.start if when else None
        until = when.end + pd.Timedelta(microseconds=1) if when is not None and when.end is not None else None
        filters = dict(ward_ids=[ward_id] if ward_id else None, categories=list(cats) or None, since=since,
                       until=until, bbox=box)
        page = (filters, limit, offset, after, base, link_params)
        body = await state.run(lambda: state.parse(incident_page_in_worker, state.settings, *page))
        return Response(body, media_type=ogc.GEOJSON)

    def build() -> bytes:
        """Select, page and serialise (in a worker thread: polygons can be large)."""
        mask = pd.Series(True, index=table.index)
        if ward_id and info.id == "wards":
            mask &= table["ward_id"] == ward_id
        elif ward_id:
            mask &= table["ward_ids"].map(lambda ids: ward_id in list(ids) if ids is not None else False)
        if cats:
            # wards carry no category; hotspots are selected by their dominant category
            mask &= table["dominant_category"].isin(cats) if info.id == "hotspots" else False
        if when is not None and info.temporal and len(table):
            mask &= when.overlaps(table["first_seen"], table["last_seen"])
        if box is not None and len(table):
            mask &= _bbox_mask(table, box)
        selected = table.loc[mask.to_numpy(dtype=bool)]
        matched = len(selected)
        frame = selected.iloc[offset : offset + limit]
        body = _features(frame, info.id_field)
        body["numberMatched"] = int(matched)
        body["numberReturned"] = len(body["features"])
        body["timeStamp"] = ogc.now_stamp()
        body["links"] = ogc.items_links(
            base, info.id, link_params, offset=offset, limit=limit, returned=len(body["features"]), matched=int(matched)
        )
        return geojson_dumps(body).encode("utf-8")

    return Response(await state.run(build), media_type=ogc.GEOJSON)


def incident_page(
    store: Any, filters: dict[str, Any], limit: int, offset: int, after: tuple[pd.Timestamp, str, int] | None,
    base: str, link_params: dict[str, Any],
) -> bytes:
    """One page of the incidents collection as GeoJSON bytes (blocking, CPU-bound)."""
    next_cursor: str | None = None
    if offset:  # offset paging (kept for clients that build their own links)
        matched: int | None = store.count(**filters)
        frame = store.query(**filters, limit=limit, offset=offset, order="occurred_at")
    else:  # keyset paging: the next page starts where this one ends, whatever came before
        frame, next_cursor = _keyset_page(store, filters, limit, after)
        matched = store.count(**filters) if after is None else None
    body = _features(frame, "incident_id")
    if matched is not None:
        body["numberMatched"] = int(matched)
    body["numberReturned"] = len(body["features"])
    body["timeStamp"] = ogc.now_stamp()
    body["links"] = ogc.items_links(
        base, "incidents", link_params, offset=offset, limit=limit, returned=len(body["features"]),
        matched=int(matched or 0), keyset=not offset, next_cursor=next_cursor,
    )
    return geojson_dumps(body).encode("utf-8")


def incident_page_in_worker(settings: Any, *page: Any) -> bytes:
    """:func:`incident_page` with the worker's own store (a separate process, or a thread)."""
    return incident_page(services.worker_store(settings), *page)


def _keyset_page(
    store: Any, filters: dict[str, Any], limit: int, after: tuple[pd.Timestamp, str, int] | None
) -> tuple[gpd.GeoDataFrame, str | None]:
    """One page of incidents in (occurred_at, incident_id) order after the cursor ``after``.

    The store reads from the cursor's time on (an indexed range, not a skip over every
    earlier row); rows at that very time up to the cursor's id were on earlier pages.
    """
    ties = 0
    if after is not None:
        at, last_id, ties = after
        since = filters.get("since")
        filters = {**filters, "since": at if since is None or at > since else since}
    frame = store.query(**filters, limit=limit + ties + 1, order="occurred_at")
    if after is not None and len(frame):
        seen = (frame["occurred_at"] == at).to_numpy() & (frame["incident_id"].astype(str) <= last_id).to_numpy()
        frame = frame.loc[~seen]
    more = len(frame) > limit
    frame = frame.iloc[:limit]
    if not more or not len(frame):
        return frame, None
    last = frame.iloc[-1]
    at_last = int((frame["occurred_at"] == last["occurred_at"]).sum())
    if after is not None and last["occurred_at"] == at:
        at_last += ties
    if pd.isna(last["occurred_at"]):
        return frame, None
    return frame, ogc.encode_cursor(last["occurred_at"], str(last["incident_id"]), at_last)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    response_model=Feature,
    responses=_GEOJSON_RESPONSES,
    summary="One feature",
)
async def item(
    request: Request,
    collection_id: str = CollectionPath,
    feature_id: str = Path(max_length=200, examples=["phuong-hoan-kiem"]),
    f: str | None = Query(None, description="json"),
    principal: Principal = Depends(require("viewer")),
    state: ServiceState = Depends(get_state),
) -> Response:
    _reject_unknown(request, _FEATURE_PARAMS)
    _check_crs(request)
    _check_f(f)
    info = _collection(collection_id)
    _check_role(principal, info)
    version = await services.data_version(state)
    if info.id == "incidents":

        def fetch() -> gpd.GeoDataFrame | None:
            row = state.stores.get().get(feature_id)
            if row is None:
                return None
            return gpd.GeoDataFrame([row.to_dict()], geometry="geometry", crs="EPSG:4326")

        frame = await state.run(fetch)
    else:
        table = (
            await services.ward_table(state, version)
            if info.id == "wards"
            else await services.all_hotspots(
                state, version, aggregate=not principal.allows("analyst"), caller=principal.caller
            )
        )
        frame = table.loc[table[info.id_field].astype(str) == feature_id] if len(table) else None
    if frame is None or not len(frame):
        raise NotFoundError(f"no feature {feature_id!r} in collection {info.id!r}", details={"collection": info.id})
    feature = _features(frame.iloc[:1], info.id_field)["features"][0]
    base = _base(request)
    feature["links"] = [
        ogc.link(f"{base}/collections/{info.id}/items/{_quote(feature_id)}", "self", ogc.GEOJSON, "This feature"),
        ogc.link(f"{base}/collections/{info.id}", "collection", "application/json", "The collection"),
    ]
    return _json(feature, ogc.GEOJSON)


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
