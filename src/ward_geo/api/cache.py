"""An in-process result cache with single-flight computation.

Keys include the store's ``data_version()``, so an ingest that adds rows makes every
older entry unreachable (it then ages out of the LRU); :meth:`ResultCache.clear` drops
everything at once after an ingest by this process. Concurrent requests for the same
missing key wait for one computation instead of starting their own.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["ResultCache"]

T = TypeVar("T")


class ResultCache(Generic[T]):
    """Least-recently-used cache of computed results.

    Parameters
    ----------
    maxsize : int
        Entries kept; 0 disables caching (every call computes).
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()
        self._inflight: dict[Hashable, asyncio.Future[T]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: Hashable) -> T | None:
        """The cached value for ``key`` or None (marks it recently used)."""
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
                self.hits += 1
            return value

    def put(self, key: Hashable, value: T) -> None:
        """Store ``value`` under ``key``, evicting the least recently used entries."""
        if self.maxsize <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._data.clear()

    async def get_or_compute(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        """Return the cached value or await ``compute()`` once for all concurrent callers."""
        value = self.get(key)
        if value is not None:
            return value
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        self.misses += 1
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await compute()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else needs to
            raise
        finally:
            self._inflight.pop(key, None)
        self.put(key, value)
        future.set_result(value)
        return value
