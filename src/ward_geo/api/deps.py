"""Request dependencies: the service state, the store and authentication.

Every data endpoint declares the role it needs with ``Depends(require("viewer"))``
(or ``"analyst"`` / ``"admin"``). A request without a key gets 401, a key whose role is
too weak gets 403. Keys are read from ``X-API-Key`` or ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ward_geo.api.cache import ResultCache
from ward_geo.api.config import ApiSettings
from ward_geo.api.hotpath import HotPath
from ward_geo.api.keys import ROLES, KeyStore, role_allows
from ward_geo.api.work import Caller, DataVersions, WorkQueue
from ward_geo.errors import AuthenticationError, PermissionDeniedError, StoreError, WardGeoError

__all__ = ["ServiceState", "StoreProvider", "Principal", "get_state", "require", "api_key_header", "bearer"]


class StoreProvider:
    """One open store per worker thread (SQLite connections stay in their thread).

    Parameters
    ----------
    settings : ApiSettings
        Passed to :func:`ward_geo.store.open_store`.
    """

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def get(self) -> Any:
        """The calling thread's store (opened on first use)."""
        store = getattr(self._local, "store", None)
        if store is None:
            from ward_geo.store import open_store

            try:
                store = open_store(self.settings)
            except WardGeoError:
                raise
            except Exception as exc:  # the store's driver failed: report as unavailable
                raise StoreError(f"the incident store cannot be opened: {exc}") from exc
            self._local.store = store
            with self._lock:
                self._all.append(store)
        return store

    def check(self) -> None:
        """Verify the store file behind the open stores (see :meth:`IncidentStore.check_file`).

        Raises
        ------
        StoreFileChangedError
            The file was deleted, replaced or truncated (its data is rescued on the way).
        """
        with self._lock:
            stores = list(self._all)
        if stores:
            stores[0].check_file()

    def close(self) -> None:
        """Close every store opened by any thread."""
        with self._lock:
            stores, self._all = self._all, []
        for store in stores:
            try:
                store.close()
            except Exception:  # closing is best effort at shutdown
                pass


@dataclass
class ServiceState:
    """Everything the routes share, kept on ``app.state.ward_geo``."""

    settings: ApiSettings
    keys: KeyStore
    stores: StoreProvider
    hotspots: ResultCache[tuple[str, bytes]]  # (data scope token, body) per query
    maps: ResultCache[bytes]
    plans: ResultCache[bytes]
    collections: ResultCache[Any]
    compute_limiter: anyio.CapacityLimiter
    ingest_lock: threading.Lock = field(default_factory=threading.Lock)
    warm: bool = False
    work: WorkQueue = field(init=False)
    hotpath: HotPath = field(init=False)
    versions: DataVersions = field(init=False)
    computations: Counter[str] = field(default_factory=Counter)
    background: set[asyncio.Task[None]] = field(default_factory=set)
    _count_lock: threading.Lock = field(default_factory=threading.Lock)
    _parser: Any = None
    scope_reads: dict[Any, asyncio.Future[str]] = field(default_factory=dict)
    refreshes: dict[Any, float] = field(default_factory=dict)  # logical answer -> start of its last refresh
    # logical answer -> (data token, monotonic deadline): the fast path may serve its cached answer as
    # stale while the data token is this one and the deadline has not passed (a refresh runs or waits)
    stale_until: dict[Any, tuple[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s = self.settings
        self.work = WorkQueue(s.compute_queue_size, s.compute_reserved, s.compute_per_key, s.compute_threads,
                              s.retry_after_s)
        self.hotpath = HotPath(4 * s.hotspot_cache_size)
        self.versions = DataVersions(
            lambda: str(self.stores.get().data_version()),
            lambda wards, cats, since, until: self.stores.get().scope_version(wards, cats, since, until),
            s.version_check_s,
        )

    async def run(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run blocking store work in a worker thread."""
        return await anyio.to_thread.run_sync(func, *args)

    async def compute(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run CPU-bound work in a worker thread, at most ``compute_threads`` at once."""
        return await anyio.to_thread.run_sync(func, *args, limiter=self.compute_limiter)

    def parse(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run CPU-heavy parsing ``func(*args, **kwargs)`` in the parser process (blocking).

        The event loop's process then keeps its interpreter lock for requests while an
        upload is validated (``WARD_GEO_WORKER_PROCESS``); without it, or when the parser
        process died, in this thread.
        """
        pool = self._parser_pool()
        if pool is None:
            return func(*args, **kwargs)
        from concurrent.futures.process import BrokenProcessPool

        try:
            return pool.submit(func, *args, **kwargs).result()
        except BrokenProcessPool:
            with self._count_lock:
                self._parser = None
            return func(*args, **kwargs)

    def _parser_pool(self) -> Any:
        if not self.settings.worker_process:
            return None
        with self._count_lock:
            if self._parser is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                self._parser = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_warm_parser
                )
            return self._parser

    def close_parser(self) -> None:
        """Stop the parser process (at shutdown)."""
        with self._count_lock:
            pool, self._parser = self._parser, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def count_computation(self, kind: str) -> None:
        """Count one computation of ``kind`` (``/metrics``; called from worker threads)."""
        with self._count_lock:
            self.computations[kind] += 1

    def clear_caches(self) -> None:
        """Forget every cached result."""
        for cache in (self.hotspots, self.maps, self.plans, self.collections):
            cache.clear()

    def data_changed(self) -> None:
        """After an ingest by this process: read the data version again on the next request.

        Hotspot answers, maps and patrol plans stay cached (each is keyed by the data token of
        the scope it read, so answers of untouched wards stay current); results keyed by the
        whole store's version (the collections) are dropped.
        """
        self.versions.expire()
        self.collections.clear()


def _warm_parser() -> None:
    """Import the readers once in the parser process (not during the first upload)."""
    import ward_geo.io.readers  # noqa: F401


async def get_state(request: Request) -> ServiceState:
    """The service state of the running app (async: no worker-thread hop)."""
    state: ServiceState = request.app.state.ward_geo
    return state


api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key from `ward-geo keys create`.")
bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token.")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    key_id: str
    role: str

    def allows(self, required: str) -> bool:
        """Whether the caller's role is ``required`` or above."""
        return role_allows(self.role, required)

    @property
    def caller(self) -> Caller:
        """The work-queue identity: the key, privileged from the analyst role up."""
        return Caller(self.key_id, self.allows("analyst"))


def require(role: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that authenticates the request and demands at least ``role``."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    async def dependency(
        request: Request,
        x_api_key: str | None = Depends(api_key_header),
        authorization: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> Principal:
        presented = x_api_key or (authorization.credentials if authorization is not None else None)
        if not presented:
            raise AuthenticationError(
                "an API key is required: send it in the X-API-Key header or as 'Authorization: Bearer <key>'"
            )
        key = request.app.state.ward_geo.keys.verify(presented.strip())
        request.state.key_id = key.key_id
        if not role_allows(key.role, role):
            raise PermissionDeniedError(f"this operation needs the {role!r} role; the key has role {key.role!r}")
        return Principal(key_id=key.key_id, role=key.role)

    dependency.__name__ = f"require_{role}"
    return dependency


#: The service state of the running app, for routes: ``state: StateDep``.
StateDep = Annotated[ServiceState, Depends(get_state)]
#: An authenticated caller with at least the viewer role (aggregate hotspots, maps, plans).
ViewerDep = Annotated[Principal, Depends(require("viewer"))]
#: An authenticated caller with at least the analyst role (incident points).
AnalystDep = Annotated[Principal, Depends(require("analyst"))]
#: An authenticated caller with the admin role (ingest, metrics).
AdminDep = Annotated[Principal, Depends(require("admin"))]
