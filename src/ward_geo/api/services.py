"""What the routes do, written once: cached hotspots, maps, patrol plans and ingest.

Functions named ``compute_*`` / ``load_*`` / ``ingest_file`` are blocking and run in
worker threads (``ServiceState.compute`` / ``ServiceState.run``); the async functions
are what routes await. Results are cached per (ward, parameters, store data version).
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from ward_geo.analysis.hotspots.registry import METHODS
from ward_geo.api.deps import ServiceState
from ward_geo.api.ogc import TimeFilter, parse_instant
from ward_geo.api.work import BACKGROUND, Caller
from ward_geo.categories import CATEGORY_CODES
from ward_geo.errors import InputError, NotFoundError, ParameterError, StoreError, WardGeoError
from ward_geo.io.options import ReaderOptions
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


def exclusive_end(end: pd.Timestamp | None) -> pd.Timestamp | None:
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
    aggregate: bool = False


# ---------------------------------------------------------------- store helpers
_worker = threading.local()


def worker_store(settings: Any) -> Any:
    """The store of the calling thread for ``settings`` (opened once; used by the worker process)."""
    from ward_geo.store import open_store

    stores = getattr(_worker, "stores", None)
    if stores is None:
        stores = _worker.stores = {}
    key = settings.model_dump_json()
    if key not in stores:
        stores[key] = open_store(settings)
    return stores[key]


async def data_version(state: ServiceState) -> str:
    """The store's current data version (cache key component).

    The embedded store is read on the event loop's own connection: a single-row read that a
    concurrent writer does not block (WAL mode), so the cached path needs no worker-thread
    hop. Other stores (network round trips) are asked from a worker thread.
    """
    cached = state.versions.cached_generation()
    if cached is not None:
        return cached
    store = state.stores.get()
    if getattr(store, "backend", "") == "sqlite":
        return str(state.versions.generation())
    return str(await state.run(state.versions.generation))


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
    until = exclusive_end(query.until)
    return ward_hotspot_set(
        store, ward_id, method=query.method, categories=list(query.categories) or None,
        since=query.since, until=until, params=params or None,
    )


def aggregate_policy(state: ServiceState) -> Any:
    """The viewers' :class:`~ward_geo.analysis.hotspots.disclosure.AggregatePolicy`."""
    from ward_geo.analysis.hotspots.disclosure import AggregatePolicy

    return AggregatePolicy(k=state.settings.viewer_min_incidents, grid_m=state.settings.viewer_grid_m)


def viewer_query(state: ServiceState, query: HotspotQuery) -> tuple[HotspotQuery, dict[str, Any]]:
    """``query`` as an aggregate caller may run it (``min_samples`` raised to k) and what changed."""
    from dataclasses import replace

    from ward_geo.analysis.hotspots.disclosure import clamp_parameters

    eps, min_samples, clamped = clamp_parameters(query.eps, query.min_samples, aggregate_policy(state))
    return replace(query, eps=eps, min_samples=min_samples, aggregate=True), clamped


def compute_ward_hotspots(state: ServiceState, query: HotspotQuery, version: str) -> bytes:
    """Hotspot GeoJSON bytes of one ward's hotspot set (blocking, CPU-bound).

    With ``query.aggregate`` the table is the viewers' aggregate view
    (:func:`~ward_geo.analysis.hotspots.disclosure.aggregate_hotspots`).
    """
    from ward_geo.io.writers import geojson_dumps, json_safe, to_geojson

    state.count_computation("hotspots")
    hset = _ward_set(state, query.ward_id, query)
    hotspots = hset.hotspots
    summary = json_safe(hset.summary())
    chosen = json_safe(hotspots.attrs.get("params"))
    n_selected: int | None = int((hotspots.attrs.get("params") or {}).get("n_selected", 0))
    if query.aggregate:
        from ward_geo.analysis.hotspots.disclosure import aggregate_hotspots, coarsen_times, suppress_count

        policy = aggregate_policy(state)
        hotspots = aggregate_hotspots(hotspots, policy)
        summary = coarsen_times({**summary, "n_hotspots": int(len(hotspots))})
        chosen = coarsen_times(chosen)
        n_selected = suppress_count(n_selected, policy.k)
    collection = to_geojson(_serve_hotspots(hotspots))
    collection["ward_id"] = query.ward_id
    collection["hotspotSet"] = summary
    collection["parameters"] = json_safe(
        {
            "method": query.method,
            "categories": list(query.categories),
            "since": query.since,
            "until": query.until,
            "eps": query.eps,
            "min_samples": query.min_samples,
            "chosen": chosen,
        }
    )
    if query.aggregate:
        collection["aggregate"] = {"min_incidents": policy.k, "grid_m": policy.grid_m, "time_resolution": "day"}
    collection["numberOfIncidents"] = n_selected
    collection["dataVersion"] = version
    return geojson_dumps(collection).encode("utf-8")


@dataclass(frozen=True)
class CachedAnswer:
    """A served body, whether it reflects the current data, and its cache and scope keys."""

    body: bytes
    fresh: bool
    logical: Any = None
    scope: Any = None


def scope_key(query: HotspotQuery) -> tuple[Any, ...]:
    """The data scope one hotspot answer reads: ward, categories, window (exclusive end)."""
    return (query.ward_id, query.categories, query.since, exclusive_end(query.until))


async def ward_token(state: ServiceState, ward_id: str) -> str:
    """The data token of everything stored for one ward (its incidents and boundary).

    Maps and patrol plans of the ward are cached under it, so ingests into other wards keep them.
    """
    return await scope_token(state, HotspotQuery(ward_id=ward_id, method="auto", categories=(), since=None,
                                                 until=None))


async def scope_token(state: ServiceState, query: HotspotQuery) -> str:
    """The data token of one hotspot answer (ward, categories, window).

    Concurrent requests for the same unknown token share one store read.
    """
    key = scope_key(query)
    cached = state.versions.cached_scope(key)
    if cached is not None:
        return cached
    pending = state.scope_reads.get(key)
    if pending is None:
        pending = asyncio.ensure_future(state.run(state.versions.scope, *key))
        state.scope_reads[key] = pending
        pending.add_done_callback(lambda _: state.scope_reads.pop(key, None))
    return await asyncio.shield(pending)


async def ward_hotspots(state: ServiceState, query: HotspotQuery, caller: Caller = BACKGROUND) -> CachedAnswer:
    """Cached hotspot GeoJSON of a ward (validated against the store's wards).

    The cache holds one answer per query; it is current while the query's scope token is
    unchanged (an ingest into another ward leaves it so). When it is not, the previous
    answer is served as stale while one background computation makes the new one
    (``WARD_GEO_SERVE_STALE``), else the request waits for it. Cold work goes through the
    work queue (503 when full).
    """
    version = await data_version(state)
    await ensure_ward(state, query.ward_id, version)
    token = await scope_token(state, query)
    logical = ("hotspots", query)
    entry = state.hotspots.get(logical)
    if entry is not None and entry[0] == token:
        return CachedAnswer(entry[1], True, logical, scope_key(query))

    async def compute(who: Caller) -> bytes:
        body = await state.work.submit((logical, token), who, compute_ward_hotspots, state, query, token)
        state.hotspots.put(logical, (token, body))
        return body

    if entry is not None and state.settings.serve_stale:
        # one refresh of an answer at a time, started at most every WARD_GEO_REFRESH_INTERVAL_S (a
        # steady trickle of ingests into the ward must not keep the cores recomputing), not counted
        # against the caller's key
        now = time.monotonic()
        last = state.refreshes.get(logical)
        if last is None or (last >= 0 and now - last >= state.settings.refresh_interval_s):
            state.refreshes[logical] = -1.0  # running

            async def refresh() -> bytes:
                try:
                    return await compute(Caller(None, caller.privileged))
                finally:
                    state.refreshes[logical] = now
                    state.stale_until.pop(logical, None)  # the next request decides again

            _refresh_in_background(state, refresh)
            deadline = math.inf
        else:
            deadline = math.inf if last < 0 else last + state.settings.refresh_interval_s
        # until then the fast path serves this stale answer too (no routing, no store read)
        state.stale_until[logical] = (token, deadline)
        return CachedAnswer(entry[1], False, logical, scope_key(query))
    state.hotspots.misses += 1
    return CachedAnswer(await compute(caller), True, logical, scope_key(query))


def _refresh_in_background(state: ServiceState, compute: Callable[[], Awaitable[bytes]]) -> None:
    async def refresh() -> None:
        try:
            await compute()
        except WardGeoError as exc:  # full queue or bad data: the next request tries again
            log.info("background refresh skipped: %s", exc.message)
        except Exception:
            log.warning("background refresh failed", exc_info=True)

    task = asyncio.ensure_future(refresh())
    state.background.add(task)
    task.add_done_callback(state.background.discard)


def compute_all_hotspots(state: ServiceState) -> gpd.GeoDataFrame:
    """Every ward's default hotspot set, one table (blocking, CPU-bound)."""
    state.count_computation("hotspots-all")
    store = state.stores.get()
    counts = store.ward_counts()
    with_data = counts[(counts["n_incidents"] > 0) & counts["name"].notna()] if len(counts) else counts
    tables = [_ward_set(state, str(w)).hotspots for w in with_data["ward_id"]] if len(counts) else []
    tables = [t for t in tables if len(t)]
    if not tables:
        from ward_geo.analysis.hotspots.table import empty_table

        return empty_table()
    return _serve_hotspots(gpd.GeoDataFrame(pd.concat(tables, ignore_index=True), geometry="geometry", crs=WGS84))


def compute_all_aggregate(state: ServiceState) -> gpd.GeoDataFrame:
    """The ``hotspots`` collection as viewers see it (blocking, CPU-bound)."""
    from ward_geo.analysis.hotspots.disclosure import aggregate_hotspots

    return aggregate_hotspots(compute_all_hotspots(state), aggregate_policy(state))


async def all_hotspots(
    state: ServiceState, version: str, *, aggregate: bool = False, caller: Caller = BACKGROUND
) -> gpd.GeoDataFrame:
    """The ``hotspots`` collection, cached per data version (aggregate view for viewers)."""
    func = compute_all_aggregate if aggregate else compute_all_hotspots
    key = ("hotspots-all", aggregate, version)
    return await state.collections.get_or_compute(key, lambda: state.work.submit(key, caller, func, state))


# ---------------------------------------------------------------- maps
def compute_ward_map(state: ServiceState, ward_id: str, with_points: bool) -> bytes:
    """Offline HTML map of a ward (blocking, CPU-bound).

    ``with_points`` False draws only aggregates (boundary, hotspot polygons): the map a
    viewer may see.
    """
    from ward_geo.maps import render_map_html, ward_map

    state.count_computation("maps")
    store = state.stores.get()
    incidents = store.query(ward_ids=[ward_id]) if with_points else None
    boundaries = store.boundaries()
    hotspots = _serve_hotspots(_ward_set(state, ward_id).hotspots)
    if not with_points:
        from ward_geo.analysis.hotspots.disclosure import aggregate_hotspots

        hotspots = aggregate_hotspots(hotspots, aggregate_policy(state))
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


async def ward_map_html(state: ServiceState, ward_id: str, *, with_points: bool, caller: Caller = BACKGROUND) -> bytes:
    """Cached offline HTML map of a ward (hotspots in the aggregate view without points)."""
    version = await data_version(state)
    await ensure_ward(state, ward_id, version)
    key = ("map", ward_id, with_points, await ward_token(state, ward_id))
    return await state.maps.get_or_compute(
        key, lambda: state.work.submit(key, caller, compute_ward_map, state, ward_id, with_points)
    )


# ---------------------------------------------------------------- patrol plans
def compute_patrol_plan(state: ServiceState, request: dict[str, Any], aggregate: bool = False) -> bytes:
    """Patrol plan GeoJSON bytes (blocking, CPU-bound).

    With ``aggregate`` (viewers) the plan visits only the hotspots of the aggregate view: none of
    fewer than ``WARD_GEO_VIEWER_MIN_INCIDENTS`` incidents, on their coarsened polygons.
    """
    from ward_geo.io.writers import geojson_dumps
    from ward_geo.planning import plan_patrol

    state.count_computation("plans")
    store = state.stores.get()
    ward_id = request["ward_id"]
    incidents = store.query(ward_ids=[ward_id])
    boundaries = store.boundaries()
    hotspots = _ward_set(state, ward_id).hotspots  # the ward's hotspot set: same ids as the map and the API
    if aggregate:
        from ward_geo.analysis.hotspots.disclosure import aggregate_hotspots

        hotspots = aggregate_hotspots(hotspots, aggregate_policy(state))
    plan = plan_patrol(incidents, boundaries, ward_id, hotspots=hotspots,
                       **{k: v for k, v in request.items() if k != "ward_id"})
    return geojson_dumps(plan.to_geojson()).encode("utf-8")


async def patrol_plan(state: ServiceState, request: dict[str, Any], caller: Caller = BACKGROUND,
                      *, aggregate: bool = False) -> bytes:
    """Cached patrol plan GeoJSON (``aggregate``: the viewers' plan, see :func:`compute_patrol_plan`)."""
    version = await data_version(state)
    await ensure_ward(state, request["ward_id"], version)
    key = ("plan", tuple(sorted((k, str(v)) for k, v in request.items())), aggregate,
           await ward_token(state, request["ward_id"]))
    return await state.plans.get_or_compute(
        key, lambda: state.work.submit(key, caller, compute_patrol_plan, state, request, aggregate)
    )


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
    options: ReaderOptions,
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
        incidents, report = state.parse(
            read_incidents, path, boundaries=wards if len(wards) else None, source=source, return_report=True,
            options=options,
        )
    except WardGeoError:
        raise
    except Exception as exc:  # a body the reader could not parse at all is bad input, not a crash
        from ward_geo.io.bounded import scrub_paths

        log.warning("upload could not be read", exc_info=True)
        raise InputError(
            f"the body could not be read as {(options.format or 'geojson').upper()}: "
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
    state.data_changed()
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


async def readiness(state: ServiceState) -> tuple[bool, dict[str, Any]]:
    """Whether the store answers and its file is the one opened, with the data version or the error.

    Parameters
    ----------
    state : ServiceState
        The running service.

    Returns
    -------
    tuple of (bool, dict)
        ``(True, {"data_version": ..., "warm": ...})`` when ready, else ``(False, error body)``.
    """

    def probe() -> str:
        store = state.stores.get()
        store.check_file()
        return str(store.data_version())

    try:
        version = await state.run(probe)
    except WardGeoError as exc:
        error = exc if isinstance(exc, StoreError) else StoreError(exc.message)
        return False, error.to_dict()
    except Exception as exc:  # the store driver failed in an unexpected way: still "not ready"
        return False, StoreError(f"the store did not answer: {type(exc).__name__}").to_dict()
    return True, {"data_version": version, "warm": state.warm}


def metrics_text(state: ServiceState) -> str:
    """Counters of the computations, caches, compute queue and fast path (Prometheus text format)."""
    lines = []
    for kind, n in sorted(state.computations.items()):
        lines.append(f'ward_geo_computations_total{{kind="{kind}"}} {n}')
    for name, cache in (("hotspots", state.hotspots), ("maps", state.maps), ("plans", state.plans)):
        lines.append(f'ward_geo_cache_hits_total{{cache="{name}"}} {cache.hits}')
        lines.append(f'ward_geo_cache_misses_total{{cache="{name}"}} {cache.misses}')
    for name, value in state.work.snapshot().items():
        lines.append(f"ward_geo_compute_queue_{name} {value}")
    lines.append(f"ward_geo_scope_reads_total {state.versions.scope_reads}")
    lines.append(f"ward_geo_hotpath_served_total {state.hotpath.served}")
    return "\n".join(lines) + "\n"
