"""Fair compute and data versions of the service.

:class:`WorkQueue` admits cold computations (hotspots, maps, patrol plans): identical
requests share one computation, an API key may have at most ``per_key`` computations
admitted, at most ``capacity`` are admitted at once of which ``reserved`` only for analyst
and admin keys, and the admitted ones run ``threads`` at a time, analyst and admin work
first. A request that finds no room gets :class:`~ward_geo.errors.BusyError` (503 with
``Retry-After``). Cached answers never come here.

:class:`DataVersions` tells the cache which data an answer was computed from: the store's
generation, read at most every ``check_s`` seconds, and per generation a token of each
(ward, categories, window) scope asked for (:meth:`IncidentStore.scope_version`), so an
ingest into one ward leaves the cached answers of every other ward valid.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio

from ward_geo.errors import BusyError

__all__ = ["Caller", "WorkQueue", "DataVersions", "BACKGROUND"]

T = TypeVar("T")
#: Scope tokens remembered per data generation (then forgotten and read again).
_MAX_SCOPES = 10_000


@dataclass(frozen=True)
class Caller:
    """Who asks for a computation: the API key id and whether it may use the reserved slots."""

    key_id: str | None
    privileged: bool


#: Background refreshes: no key, not privileged.
BACKGROUND = Caller(None, False)


class WorkQueue:
    """Bounded, coalescing, priority-ordered runner of cold computations.

    Parameters
    ----------
    capacity : int
        Distinct computations admitted at once (running or waiting for a thread).
    reserved : int
        Of those, slots that only privileged callers may take.
    per_key : int
        Computations one key may have admitted at once.
    threads : int
        Computations running at once (worker threads).
    retry_after_s : int
        ``Retry-After`` of the refusal.
    """

    def __init__(self, capacity: int, reserved: int, per_key: int, threads: int, retry_after_s: int) -> None:
        self.capacity = capacity
        self.reserved = reserved
        self.per_key = per_key
        self.threads = threads
        self.retry_after_s = retry_after_s
        self._limiter = anyio.CapacityLimiter(threads)
        self._tasks: dict[Hashable, asyncio.Task[Any]] = {}
        self._per_key: Counter[str] = Counter()
        self._running = 0
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self.admitted = 0
        self.coalesced = 0
        self.rejected = 0
        self.failed = 0

    @property
    def admitted_now(self) -> int:
        """Computations admitted and not finished."""
        return len(self._tasks)

    def has(self, key: Hashable) -> bool:
        """True while a computation under ``key`` is admitted."""
        return key in self._tasks

    def _refuse(self, reason: str) -> BusyError:
        self.rejected += 1
        return BusyError(
            f"the service is busy ({reason}); retry in {self.retry_after_s} s",
            retry_after_s=self.retry_after_s,
            details={"reason": reason},
        )

    async def _slot(self, privileged: bool) -> None:
        if self._running < self.threads and not self._waiting:
            self._running += 1
            return
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (0 if privileged else 1, next(self._seq), ready)
        heapq.heappush(self._waiting, entry)
        try:
            await ready
        except asyncio.CancelledError:
            if ready.done() and not ready.cancelled():
                self._release()
            else:
                self._waiting.remove(entry)
                heapq.heapify(self._waiting)
            raise

    def _release(self) -> None:
        while self._waiting:
            _, _, ready = heapq.heappop(self._waiting)
            if not ready.done():
                ready.set_result(None)  # the slot passes to the next waiter
                return
        self._running -= 1

    async def _run(self, func: Callable[..., T], args: tuple[Any, ...], privileged: bool, key_id: str | None) -> T:
        try:
            await self._slot(privileged)
            try:
                return await anyio.to_thread.run_sync(func, *args, limiter=self._limiter)
            finally:
                self._release()
        finally:
            if key_id is not None:
                self._per_key[key_id] -= 1
                if self._per_key[key_id] <= 0:
                    del self._per_key[key_id]

    def start(self, key: Hashable, caller: Caller, func: Callable[..., T], *args: Any) -> asyncio.Task[T]:
        """Admit ``func(*args)`` under ``key`` (or join the computation already admitted).

        Raises
        ------
        BusyError
            No room: the queue is full for this caller's role, or its key has ``per_key``
            computations admitted.
        """
        task = self._tasks.get(key)
        if task is not None:
            self.coalesced += 1
            return task
        limit = self.capacity if caller.privileged else self.capacity - self.reserved
        if len(self._tasks) >= limit:
            raise self._refuse("the compute queue is full")
        if caller.key_id is not None and self._per_key[caller.key_id] >= self.per_key:
            raise self._refuse(f"this API key already has {self.per_key} computations running")
        if caller.key_id is not None:
            self._per_key[caller.key_id] += 1
        self.admitted += 1
        task = asyncio.ensure_future(self._run(func, args, caller.privileged, caller.key_id))
        self._tasks[key] = task

        def done(finished: asyncio.Task[Any]) -> None:
            if self._tasks.get(key) is finished:
                del self._tasks[key]
            if not finished.cancelled() and finished.exception() is not None:
                self.failed += 1

        task.add_done_callback(done)
        return task

    async def submit(self, key: Hashable, caller: Caller, func: Callable[..., T], *args: Any) -> T:
        """Admit and await ``func(*args)``; a client that goes away does not cancel it."""
        return await asyncio.shield(self.start(key, caller, func, *args))

    def snapshot(self) -> dict[str, int]:
        """Counters for ``/metrics``."""
        return {
            "admitted_total": self.admitted,
            "coalesced_total": self.coalesced,
            "rejected_total": self.rejected,
            "failed_total": self.failed,
            "in_flight": len(self._tasks),
            "running": self._running,
        }


class DataVersions:
    """Store generation (checked at most every ``check_s`` s) and per-scope data tokens.

    Parameters
    ----------
    read_generation : callable
        ``() -> str``: the store's data version (a cheap single-row read).
    read_scope : callable
        ``(ward_ids, categories, since, until) -> str``: :meth:`IncidentStore.scope_version`.
    check_s : float
        Longest time a generation read is reused.
    """

    def __init__(
        self,
        read_generation: Callable[[], str],
        read_scope: Callable[..., str],
        check_s: float,
    ) -> None:
        self._read_generation = read_generation
        self._read_scope = read_scope
        self.check_s = check_s
        self._generation: str | None = None
        self._checked = 0.0
        self._scopes: dict[Hashable, str] = {}
        self._lock = threading.Lock()
        self.scope_reads = 0

    def expire(self) -> None:
        """Read the generation again on the next request (after an ingest by this process)."""
        self._checked = 0.0

    def cached_generation(self) -> str | None:
        """The generation when it was read less than ``check_s`` ago, else None."""
        if self._generation is not None and time.monotonic() - self._checked < self.check_s:
            return self._generation
        return None

    def generation(self) -> str:
        """The store's generation (read again when older than ``check_s``)."""
        current = self.cached_generation()
        if current is not None:
            return current
        value = str(self._read_generation())
        with self._lock:
            if value != self._generation:
                self._scopes.clear()
            self._generation = value
            self._checked = time.monotonic()
        return value

    def cached_scope(self, scope: Hashable) -> str | None:
        """The token of ``scope`` when known for the current generation (no I/O)."""
        if self.cached_generation() is None:
            return None
        return self._scopes.get(scope)

    def scope(self, ward_id: str, categories: tuple[str, ...], since: Any, until: Any) -> str:
        """Token of the incidents and ward boundary one hotspot answer reads (blocking)."""
        self.generation()
        key = (ward_id, categories, since, until)
        token = self._scopes.get(key)
        if token is None:
            token = str(self._read_scope([ward_id], list(categories) or None, since, until))
            self.scope_reads += 1
            with self._lock:
                if len(self._scopes) >= _MAX_SCOPES:
                    self._scopes.clear()
                self._scopes[key] = token
        return token
