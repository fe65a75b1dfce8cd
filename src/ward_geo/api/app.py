"""The FastAPI application: :func:`create_app` wires settings, keys, store, routes and errors.

Every error leaves the service through :func:`error_response` as JSON
``{"code", "message", "details"?, "report"?, "request_id"}``: library errors keep their
status and code (:mod:`ward_geo.errors`), request validation errors become 422
``invalid_parameter`` (400 on the OGC API routes, as OGC API – Features requires),
unknown routes 404 ``not_found``, and anything unexpected 500 ``internal_error`` with
no stack trace (the trace goes to the log with the request id).
"""

from __future__ import annotations

import gc
import json
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ward_geo import __version__
from ward_geo.api.cache import ResultCache
from ward_geo.api.config import ApiSettings, check_deployment, load_api_settings
from ward_geo.api.deps import ServiceState, StoreProvider
from ward_geo.api.hotpath import HotPathMiddleware
from ward_geo.api.keys import KeyStore
from ward_geo.api.middleware import RequestContextMiddleware, configure_logging
from ward_geo.errors import (
    AuthenticationError,
    BusyError,
    InsufficientStorageError,
    NotFoundError,
    ParameterError,
    PayloadTooLargeError,
    WardGeoError,
    is_disk_full,
)

__all__ = ["create_app", "error_response", "StrictJSONResponse"]

log = logging.getLogger("ward_geo.api")
_OGC_PREFIXES = ("/collections", "/conformance")


class StrictJSONResponse(JSONResponse):
    """JSON that refuses NaN and infinities instead of writing invalid JSON."""

    def render(self, content: Any) -> bytes:
        """Compact JSON; NaN or infinity raises instead of being written."""
        return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


class _MethodNotAllowed(WardGeoError):
    status_code = 405
    code = "method_not_allowed"


def _validation_message(errors: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    problems = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        where = loc[0] if loc else "request"
        name = ".".join(loc[1:]) if len(loc) > 1 else where
        problems.append({"in": where, "field": name, "reason": str(err.get("msg", "invalid"))})
    text = "; ".join(f"{p['in']} {p['field']}: {p['reason']}" for p in problems[:10])
    return f"invalid request: {text}", problems


async def error_response(request: Request, exc: Exception) -> Response:
    """The one exception handler: every error becomes JSON with a stable code."""
    request_id = getattr(request.state, "request_id", None)
    if isinstance(exc, RequestValidationError):
        message, problems = _validation_message(list(exc.errors()))
        error: WardGeoError = ParameterError(message, details={"problems": problems})
    elif isinstance(exc, StarletteHTTPException) and isinstance(exc.__cause__, WardGeoError):
        error = exc.__cause__  # raised while the framework read the body (e.g. the size bound)
    elif isinstance(exc, StarletteHTTPException):
        if exc.status_code == 404:
            error = NotFoundError(f"no such resource: {request.url.path[:200]}")
        elif exc.status_code == 405:
            error = _MethodNotAllowed(f"method {request.method} is not allowed on {request.url.path[:200]}")
        elif exc.status_code == 413:
            error = PayloadTooLargeError(str(exc.detail))
        else:
            error = WardGeoError(str(exc.detail))
            error.status_code = exc.status_code
    elif isinstance(exc, WardGeoError):
        error = exc
    elif is_disk_full(exc):
        error = InsufficientStorageError("the server's disk is full; nothing was stored; retry later")
        log.error("disk full", extra={"fields": {"request_id": request_id, "path": request.url.path}})
    else:
        log.error(
            "unhandled error",
            exc_info=(type(exc), exc, exc.__traceback__),
            extra={"fields": {"request_id": request_id, "path": request.url.path}},
        )
        body = {"code": "internal_error", "message": "internal error; the log has details", "request_id": request_id}
        return StrictJSONResponse(body, status_code=500)
    status = error.status_code
    path = request.url.path
    if status == 422 and error.code == "invalid_parameter" and (path == "/" or path.startswith(_OGC_PREFIXES)):
        status = 400
    body = error.to_dict()
    body["request_id"] = request_id
    try:
        content = json.loads(json.dumps(body, ensure_ascii=False, allow_nan=False, default=str))
    except ValueError:
        content = {"code": error.code, "message": error.message, "request_id": request_id}
    challenge = {"WWW-Authenticate": 'ApiKey header="X-API-Key", Bearer'}
    headers = challenge if isinstance(error, AuthenticationError) else None
    if isinstance(error, BusyError):
        headers = {"Retry-After": str(error.retry_after_s)}
    return StrictJSONResponse(content, status_code=status, headers=headers)


def _warm_up(state: ServiceState) -> None:
    """Compile the clustering kernels, then move the start-up heap out of the collector's way.

    The analysis stack (numba, pandas, shapely, ...) leaves some 280 thousand long-lived
    objects; a full garbage collection walks them all, which took about 0.4 s on the shared
    2-core machine and stalls every request in flight. :func:`gc.freeze` moves them to the
    permanent generation, so later full collections only walk what the service allocates.
    """
    try:
        from ward_geo import cluster as dbscan

        warm = getattr(dbscan, "warm_up", None)
        if callable(warm):
            warm()
        import ward_geo.analysis.hotspots  # noqa: F401 - imported now, not during the first request
        import ward_geo.io.writers  # noqa: F401
        if state.settings.worker_process:
            state.parse(int)  # start the parser process now, not during the first upload
    except Exception:  # warming is an optimisation; a failure only costs the first request time
        log.warning("numba warm-up failed", exc_info=True)
    gc.collect()
    gc.freeze()
    state.warm = True


def _watch_store(state: ServiceState, stop: threading.Event) -> None:
    """Check the store file every ``store_check_interval`` seconds until ``stop`` is set.

    A deleted or replaced SQLite file is then noticed (and its data rescued) even when no
    request writes or probes readiness; the store logs the rescue once.
    """
    while not stop.wait(state.settings.store_check_interval):
        try:
            state.stores.check()
        except WardGeoError:
            continue  # already logged by the store; /readyz and writes report it
        except Exception:
            log.warning("store file check failed", exc_info=True)


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the service.

    Parameters
    ----------
    settings : ApiSettings, optional
        Defaults to the ``WARD_GEO_*`` environment.

    Raises
    ------
    ConfigurationError
        When the configuration is unsafe (see :mod:`ward_geo.api.config`).
    """
    settings = settings if settings is not None else load_api_settings()
    keys = KeyStore(settings.resolved_api_keys_file)
    check_deployment(settings, active_keys=keys.active_count())
    configure_logging(settings.log_level)
    from ward_geo.api.uploads import clean_spool

    removed = clean_spool(settings.resolved_spool_dir)
    if removed:
        log.info("removed %d stale upload files from the spool folder", removed)

    state = ServiceState(
        settings=settings,
        keys=keys,
        stores=StoreProvider(settings),
        hotspots=ResultCache(settings.hotspot_cache_size),
        maps=ResultCache(settings.map_cache_size),
        plans=ResultCache(settings.plan_cache_size),
        collections=ResultCache(64),
        compute_limiter=anyio.CapacityLimiter(settings.compute_threads),
    )

    if not (settings.database_url or "").startswith(("postgresql://", "postgres://")):
        from ward_geo.store.sqlite import refuse_empty_over_rescued

        refuse_empty_over_rescued(settings.store_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        threading.Thread(target=_warm_up, args=(state,), name="ward-geo-warm-up", daemon=True).start()
        stop = threading.Event()
        threading.Thread(
            target=_watch_store, args=(state, stop), name="ward-geo-store-watch", daemon=True
        ).start()
        try:
            yield
        finally:
            state.close_parser()
            stop.set()
            state.stores.close()

    app = FastAPI(
        title="ward_geo",
        version=__version__,
        description=(
            "Hotspot analysis and patrol planning for ward police. OGC API – Features (Core, GeoJSON) "
            "for wards, hotspots and incidents; patrol-planning endpoints; ingest. Every data operation "
            "needs an API key (X-API-Key header or Authorization: Bearer); roles viewer < analyst < admin."
        ),
        lifespan=lifespan,
        default_response_class=StrictJSONResponse,
        docs_url=None,  # the interactive docs page loads scripts from the network; serve offline only
        redoc_url=None,
    )
    app.state.ward_geo = state

    from ward_geo.api.routes import incidents, ogc, ops, wards

    app.include_router(ops.router)
    app.include_router(ogc.router)
    app.include_router(wards.router)
    app.include_router(incidents.router)

    for exc_class in (WardGeoError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(exc_class, error_response)

    app.add_middleware(HotPathMiddleware, get_state=lambda: state)  # inside CORS and request logging
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=settings.cors_allow_credentials,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["X-API-Key", "Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        )

    def body_limit(path: str) -> int:
        return settings.max_upload_bytes if path == "/incidents" else settings.max_json_bytes

    app.add_middleware(
        RequestContextMiddleware,
        body_limit=body_limit,
        body_idle_timeout=settings.body_idle_timeout,
        body_total_timeout=settings.body_total_timeout,
    )
    return app
