"""What the routes do, written once: cached hotspots, maps, patrol plans and ingest.

Functions named ``compute_*`` / ``load_*`` / ``ingest_file`` are blocking and run in
worker threads (``ServiceState.compute`` / ``ServiceState.run``); the async functions
are what routes await. Results are cached per (ward, parameters, store data version).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from ward_geo.analysis.hotspots.registry import METHODS
from ward_geo.api.deps import ServiceState
from ward_geo.api.ogc import TimeFilter, parse_instant
from ward_geo.categories import CATEGORY_CODES
from ward_geo.errors import InputError, NotFoundError, ParameterError, WardGeoError
from ward_geo.schema import WGS84

__all__ = [
    "WARD_ID_PATTERN",
    "HOTSPOT_METHODS",
    "HotspotQuery",
    "data_version",
    "ensure_ward",
    "ward_hotspots",
    "all_hotspots",
    "ward_table",
    "ward_map_html",
    "patrol_plan",
    "ingest_file",
    "parse_categories",
    "parse_time_bounds",
]

log = logging.getLogger("ward_geo.api")
WARD_ID_PATTERN = r"^[a-z0-9][a-z0-9\-]{0,99}$"
_WARD_ID = re.compile(WARD_ID_PATTERN)
#: Hotspot methods the service accepts: ``auto`` and the registry's.
HOTSPOT_METHODS: tuple[str, ...] = METHODS
#: Columns of the hotspot table that are never served (they list individual incidents).
_POINT_LEVEL_COLUMNS = ("member_ids",)


# ---------------------------------------------------------------- parameters
def parse_categories(values: list[str] | None) -> tuple[str, ...]:
    """Category codes from repeated and/or comma-separated values; unknown codes -> 422."""
    if not values:
        return ()
    codes = sorted({part.strip() for value in values for part in value.split(",") if part.strip()})
    unknown = [c for c in codes if c not in CATEGORY_CODES]
    if unknown:
        raise ParameterError(
            f"unknown category {', '.join(map(repr, unknown))}; expected codes among {', '.join(CATEGORY_CODES)}",
            details={"parameter": "category", "unknown": unknown},
        )
    return tuple(codes)


def parse_time_bounds(since: str | None, until: str | None) -> TimeFilter:
    """``since``/``until`` (RFC 3339 date-time or date, inclusive) as a TimeFilter."""
    start = parse_instant(since, end=False, name="since") if since else None
    end = parse_instant(until, end=True, name="until") if until else None
    if start is not None and end is not None and start > end:
        raise ParameterError("'since' is after 'until'", details={"since": since, "until": until})
    return TimeFilter(start, end)


def _exclusive(end: pd.Timestamp | None) -> pd.Timestamp | None:
    """An inclusive end as the store's exclusive ``until`` (times are kept to the microsecond)."""
    return None if end is None else end + pd.Timedelta(microseconds=1)


@dataclass(frozen=True)
class HotspotQuery:
    """Parameters of a ward hotspot request (hashable: part of the cache key)."""

    ward_id: str
    method: str
    categories: tuple[str, ...]
    since: pd.Timestamp | None
    until: pd.Timestamp | None
    eps: float | None = None
    min_samples: int | None = None


# ---------------------------------------------------------------- store helpers
async def data_version(state: ServiceState) -> str:
    """The store's current data version (cache key component).

    The embedded store is read on the event loop's own connection: a single-row read that a
    concurrent writer does not block (WAL mode), so the cached path needs no worker-thread
    hop. Other stores (network round trips) are asked from a worker thread.
    """
    store = state.stores.get()
    if getattr(store, "backend", "") == "sqlite":
        return str(store.data_version())
    return await state.run(lambda: str(state.stores.get().data_version()))


def load_boundaries(state: ServiceState) -> gpd.GeoDataFrame:
    """Every ward of the store (blocking)."""
    return state.stores.get().boundaries()


async def ward_table(state: ServiceState, version: str) -> gpd.GeoDataFrame:
    """The store's wards, cached per data version."""

    async def load() -> gpd.GeoDataFrame:
        return await state.run(load_boundaries, state)

    return await state.collections.get_or_compute(("wards", version), load)


async def ensure_ward(state: ServiceState, ward_id: str, version: str) -> None:
    """Raise NotFoundError unless ``ward_id`` is a ward of the store."""
    if not _WARD_ID.match(ward_id):
        raise NotFoundError(
            f"no ward {ward_id!r}: ward ids are lower-case slugs such as 'phuong-hoan-kiem'",
            details={"ward_id": ward_id[:100]},
        )
    wards = await ward_table(state, version)
    if ward_id in set(wards["ward_id"]):
        return
    # the boundaries may have changed without new incidents: look once more
    fresh = await state.run(load_boundaries, state)
    state.collections.put(("wards", version), fresh)
    if ward_id not in set(fresh["ward_id"]):
        raise NotFoundError(
            f"no ward {ward_id!r} in the store; GET /collections/wards/items lists the wards",
            details={"ward_id": ward_id},
        )


def _serve_hotspots(hotspots: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    drop = [c for c in _POINT_LEVEL_COLUMNS if c in hotspots.columns]
    return hotspots.drop(columns=drop) if drop else hotspots


# ---------------------------------------------------------------- hotspots
def _ward_set(state: ServiceState, ward_id: str, query: HotspotQuery | None = None) -> Any:
    """The ward's hotspot set (read from the store when current, else computed and kept)."""
    from ward_geo.workflows import ward_hotspot_set

    store = state.stores.get()
    if query is None:
        return ward_hotspot_set(store, ward_id)
    params = {k: v for k, v in (("eps", query.eps), ("min_samples", query.min_samples)) if v is not None}
    until = _exclusive(query.until)
    return ward_hotspot_set(
        store, ward_id, method=query.method, categories=list(query.categories) or None,
        since=query.since, until=until, params=params or None,
    )


def compute_ward_hotspots(state: ServiceState, query: HotspotQuery, version: str) -> bytes:
    """Hotspot GeoJSON bytes of one ward's hotspot set (blocking, CPU-bound)."""
    from ward_geo.io.writers import geojson_dumps, json_safe, to_geojson

    hset = _ward_set(state, query.ward_id, query)
    hotspots = hset.hotspots
    collection = to_geojson(_serve_hotspots(hotspots))
    collection["ward_id"] = query.ward_id
    collection["hotspotSet"] = json_safe(hset.summary())
    collection["parameters"] = json_safe(
        {
            "method": query.method,
            "categories": list(query.categories),
            "since": query.since,
            "until": query.until,
            "eps": query.eps,
            "min_samples": query.min_samples,
            "chosen": hotspots.attrs.get("params"),
        }
    )
    collection["numberOfIncidents"] = int((hotspots.attrs.get("params") or {}).get("n_selected", 0))
    collection["dataVersion"] = version
    return geojson_dumps(collection).encode("utf-8")


async def ward_hotspots(state: ServiceState, query: HotspotQuery) -> bytes:
    """Cached hotspot GeoJSON of a ward (validated against the store's wards)."""
    version = await data_version(state)
    await ensure_ward(state, query.ward_id, version)
    key = ("hotspots", query, version)
    return await state.hotspots.get_or_compute(
        key, lambda: state.compute(compute_ward_hotspots, state, query, version)
    )


def compute_all_hotspots(state: ServiceState) -> gpd.GeoDataFrame:
    """Every ward's default hotspot set, one table (blocking, CPU-bound)."""
    store = state.stores.get()
    counts = store.ward_counts()
    with_data = counts[(counts["n_incidents"] > 0) & counts["name"].notna()] if len(counts) else counts
    tables = [_ward_set(state, str(w)).hotspots for w in with_data["ward_id"]] if len(counts) else []
    tables = [t for t in tables if len(t)]
    if not tables:
        from ward_geo.analysis.hotspots.table import empty_table

        return empty_table()
    return _serve_hotspots(gpd.GeoDataFrame(pd.concat(tables, ignore_index=True), geometry="geometry", crs=WGS84))


async def all_hotspots(state: ServiceState, version: str) -> gpd.GeoDataFrame:
    """The ``hotspots`` collection, cached per data version."""
    return await state.collections.get_or_compute(
        ("hotspots-all", version), lambda: state.compute(compute_all_hotspots, state)
    )


# ---------------------------------------------------------------- maps
def compute_ward_map(state: ServiceState, ward_id: str, with_points: bool) -> bytes:
    """Offline HTML map of a ward (blocking, CPU-bound).

    ``with_points`` False draws only aggregates (boundary, hotspot polygons): the map a
    viewer may see.
    """
    from ward_geo.maps import render_map_html, ward_map

    store = state.stores.get()
    incidents = store.query(ward_ids=[ward_id])
    boundaries = store.boundaries()
    hotspots = _serve_hotspots(_ward_set(state, ward_id).hotspots)
    built = ward_map(
        incidents if with_points else None,
        boundaries,
        ward_id,
        hotspots=hotspots,
        offline=True,
        tile_url=state.settings.tile_url,
    )
    html = render_map_html(built)
    return html.encode("utf-8")


async def ward_map_html(state: ServiceState, ward_id: str, *, with_points: bool) -> bytes:
    """Cached offline HTML map of a ward."""
    version = await data_version(state)
    await ensure_ward(state, ward_id, version)
    key = ("map", ward_id, with_points, version)
    return await state.maps.get_or_compute(key, lambda: state.compute(compute_ward_map, state, ward_id, with_points))


# ---------------------------------------------------------------- patrol plans
def compute_patrol_plan(state: ServiceState, request: dict[str, Any]) -> bytes:
    """Patrol plan GeoJSON bytes (blocking, CPU-bound)."""
    from ward_geo.io.writers import geojson_dumps
    from ward_geo.planning import plan_patrol

    store = state.stores.get()
    ward_id = request["ward_id"]
    incidents = store.query(ward_ids=[ward_id])
    boundaries = store.boundaries()
    hotspots = _ward_set(state, ward_id).hotspots  # the ward's hotspot set: same ids as the map and the API
    plan = plan_patrol(incidents, boundaries, ward_id, hotspots=hotspots,
                       **{k: v for k, v in request.items() if k != "ward_id"})
    return geojson_dumps(plan.to_geojson()).encode("utf-8")


async def patrol_plan(state: ServiceState, request: dict[str, Any]) -> bytes:
    """Cached patrol plan GeoJSON."""
    version = await data_version(state)
    await ensure_ward(state, request["ward_id"], version)
    key = ("plan", tuple(sorted((k, str(v)) for k, v in request.items())), version)
    return await state.plans.get_or_compute(key, lambda: state.compute(compute_patrol_plan, state, request))


# ---------------------------------------------------------------- ingest
@dataclass(frozen=True)
class IngestOutcome:
    """What ``POST /incidents`` answers (the fields of ``ward-geo ingest --json``)."""

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


def ingest_file(
    state: ServiceState,
    path: Path,
    *,
    source: str,
    options: dict[str, Any],
    allow_rejected: bool,
) -> IngestOutcome:
    """Validate an uploaded file like ``ward-geo ingest`` and store it atomically (blocking).

    The file is read with :func:`ward_geo.io.readers.read_incidents` against the store's
    wards, exactly as the CLI does; the accepted rows are stored in one all-or-nothing,
    idempotent batch and the rejected ones are listed in the report. With
    ``allow_rejected=False`` a single rejected row refuses the whole request
    (:class:`~ward_geo.errors.InputError` carrying the report, nothing written). Writes are
    serialised in this process; the store makes each one atomic and idempotent.
    """
    from ward_geo.io.readers import read_incidents

    store = state.stores.get()
    wards = store.boundaries()
    try:
        incidents, report = read_incidents(
            path, boundaries=wards if len(wards) else None, source=source, return_report=True, **options
        )
    except WardGeoError:
        raise
    except Exception as exc:  # a body the reader could not parse at all is bad input, not a crash
        from ward_geo.io.bounded import scrub_paths

        log.warning("upload could not be read", exc_info=True)
        raise InputError(
            f"the body could not be read as {options.get('format', 'geojson').upper()}: "
            f"{type(exc).__name__}: {scrub_paths(str(exc), path)[:200]}"
        ) from None
    if report.rows_rejected and not allow_rejected:
        raise InputError(
            f"{report.rows_rejected} of {report.rows_read} rows were rejected; nothing was stored "
            "(fix them, or leave out on_error=reject to store the valid rows)",
            report=report,
        )
    with state.ingest_lock:
        result = store.ingest(incidents, source=source)
        version = str(store.data_version())
        total = int(store.count())
    state.clear_caches()
    return IngestOutcome(
        rows_read=int(report.rows_read),
        added=int(result.added),
        duplicates=int(result.duplicates),
        rejected=int(report.rows_rejected),
        repaired=int(report.rows_repaired),
        outside_wards=int(report.outside_wards),
        batch_id=str(result.batch_id),
        store_total=total,
        data_version=version,
        report=report.to_dict(),
    )
