"""The OGC API – Features provider: what the collections' routes serve, without the web framework.

As pygeoapi separates its providers from its routes, the routes of ``api/routes/ogc.py`` check
the request (parameters, CRS, role) and this module selects, pages and serialises the
features: wards and hotspots from the cached tables of the current data version, incidents
from the store in the worker (keyset paging on ``(occurred_at, incident_id)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import geopandas as gpd
import pandas as pd
import shapely

from ward_geo.api import ogc, services
from ward_geo.api.config import ApiSettings
from ward_geo.api.deps import Principal, ServiceState
from ward_geo.api.params import ItemsParams
from ward_geo.errors import NotFoundError, ParameterError
from ward_geo.io.writers import geojson_dumps, to_geojson

__all__ = ["collection_extent", "items_page", "feature", "incident_page", "incident_page_in_worker"]

#: A keyset cursor: the time and id of the last row served, and how many rows at that time were served.
Cursor = tuple[pd.Timestamp, str, int]


@dataclass(frozen=True)
class _Selection:
    """The checked filters of an items request."""

    box: tuple[float, float, float, float] | None
    when: Any
    categories: tuple[str, ...]
    after: Cursor | None
    link_params: dict[str, Any]


async def collection_extent(state: ServiceState, collection: str) -> dict[str, Any]:
    """The spatial and temporal extent of a collection (cached per data version)."""
    version = await services.data_version(state)
    kind = "wards" if collection == "wards" else "incidents"

    async def load() -> dict[str, Any]:
        if kind == "wards":
            wards = await services.ward_table(state, version)
            return ogc.extent_of(tuple(wards.total_bounds) if len(wards) else None)
        # hotspots lie within the incidents' extent: describe them by it, so that listing the
        # collections never waits for a city-wide hotspot computation
        incidents: dict[str, Any] = await state.run(lambda: _incident_extent(state))
        return incidents

    extent = await state.collections.get_or_compute(("extent", kind, version), load)
    return cast(dict[str, Any], extent)


def _incident_extent(state: ServiceState) -> dict[str, Any]:
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


def _select(info: ogc.CollectionInfo, params: ItemsParams) -> _Selection:
    cats = services.parse_categories(params.category)
    after = None
    if params.cursor is not None:
        if info.id != "incidents" or params.offset:
            raise ParameterError("cursor pages the incidents collection and cannot be combined with offset",
                                 details={"parameter": "cursor"})
        after = ogc.decode_cursor(params.cursor)
    link_params = {"bbox": params.bbox, "datetime": params.datetime, "category": ",".join(cats) or None,
                   "ward_id": params.ward_id, "cursor": params.cursor}
    return _Selection(ogc.parse_bbox(params.bbox), ogc.parse_datetime(params.datetime), tuple(cats), after,
                      link_params)


async def items_page(state: ServiceState, info: ogc.CollectionInfo, params: ItemsParams, principal: Principal,
                     base: str) -> bytes:
    """One page of a collection's features as GeoJSON bytes.

    Parameters
    ----------
    state : ServiceState
        The running service.
    info : ogc.CollectionInfo
        The collection (its role already checked).
    params : ItemsParams
        Paging and filters.
    principal : Principal
        The caller (viewers get the aggregate hotspots).
    base : str
        The service's base URL, for the links.

    Returns
    -------
    bytes
        A GeoJSON FeatureCollection with ``numberMatched``, ``numberReturned`` and links.
    """
    selection = _select(info, params)
    version = await services.data_version(state)
    if info.id == "incidents":  # built in the worker process, which has its own store connection
        when = selection.when
        since = when.start if when else None
        until = services.exclusive_end(when.end) if when is not None else None
        filters = dict(ward_ids=[params.ward_id] if params.ward_id else None,
                       categories=list(selection.categories) or None, since=since, until=until, bbox=selection.box)
        page = (filters, params.limit, params.offset, selection.after, base, selection.link_params)
        body: bytes = await state.run(lambda: state.parse(incident_page_in_worker, state.settings, *page))
        return body
    if info.id == "wards":
        table = await services.ward_table(state, version)
    else:
        table = await services.all_hotspots(state, version, aggregate=not principal.allows("analyst"),
                                            caller=principal.caller)
    page_body: bytes = await state.run(lambda: _table_page(table, info, params, selection, base))
    return page_body


def _table_mask(table: gpd.GeoDataFrame, info: ogc.CollectionInfo, ward_id: str | None,
                selection: _Selection) -> pd.Series:
    mask = pd.Series(True, index=table.index)
    if ward_id and info.id == "wards":
        mask &= table["ward_id"] == ward_id
    elif ward_id:
        mask &= table["ward_ids"].map(lambda ids: ward_id in list(ids) if ids is not None else False)
    if selection.categories:
        # wards carry no category; hotspots are selected by their dominant category
        mask &= table["dominant_category"].isin(selection.categories) if info.id == "hotspots" else False
    if selection.when is not None and info.temporal and len(table):
        mask &= selection.when.overlaps(table["first_seen"], table["last_seen"])
    if selection.box is not None and len(table):
        mask &= pd.Series(shapely.intersects(table.geometry.array, shapely.box(*selection.box)), index=table.index)
    return mask


def _table_page(table: gpd.GeoDataFrame, info: ogc.CollectionInfo, params: ItemsParams, selection: _Selection,
                base: str) -> bytes:
    """Select, page and serialise a cached table (in a worker thread: polygons can be large)."""
    selected = table.loc[_table_mask(table, info, params.ward_id, selection).to_numpy(dtype=bool)]
    matched = len(selected)
    frame = selected.iloc[params.offset : params.offset + params.limit]
    body = _features(frame, info.id_field)
    body["numberMatched"] = int(matched)
    body["numberReturned"] = len(body["features"])
    body["timeStamp"] = ogc.now_stamp()
    body["links"] = ogc.items_links(base, info.id, selection.link_params,
                                    ogc.Page(params.offset, params.limit, len(body["features"]), int(matched)))
    return geojson_dumps(body).encode("utf-8")


async def feature(state: ServiceState, info: ogc.CollectionInfo, feature_id: str,
                  principal: Principal) -> dict[str, Any]:
    """One feature of a collection as a GeoJSON Feature (without links); 404 when absent."""
    version = await services.data_version(state)
    frame: gpd.GeoDataFrame | None
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
            else await services.all_hotspots(state, version, aggregate=not principal.allows("analyst"),
                                             caller=principal.caller)
        )
        frame = table.loc[table[info.id_field].astype(str) == feature_id] if len(table) else None
    if frame is None or not len(frame):
        raise NotFoundError(f"no feature {feature_id!r} in collection {info.id!r}", details={"collection": info.id})
    found: dict[str, Any] = _features(frame.iloc[:1], info.id_field)["features"][0]
    return found


def _features(frame: gpd.GeoDataFrame, id_field: str) -> dict[str, Any]:
    collection: dict[str, Any] = to_geojson(frame)
    for item in collection["features"]:
        item["id"] = str(item.get("properties", {}).get(id_field))
    return collection


def incident_page(
    store: Any, filters: dict[str, Any], limit: int, offset: int, after: Cursor | None,
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
        base, "incidents", link_params,
        ogc.Page(offset, limit, len(body["features"]), int(matched or 0), keyset=not offset, next_cursor=next_cursor),
    )
    return geojson_dumps(body).encode("utf-8")


def incident_page_in_worker(settings: ApiSettings, *page: Any) -> bytes:
    """:func:`incident_page` with the worker's own store (a separate process, or a thread)."""
    return incident_page(services.worker_store(settings), *page)


def _keyset_page(
    store: Any, filters: dict[str, Any], limit: int, after: Cursor | None
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
