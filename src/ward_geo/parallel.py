"""Threads for vectorised geometry steps that release the GIL.

GEOS (through shapely's array functions) and PROJ (through pyproj) release the GIL while
they work on an array, so splitting one large array call into a few contiguous chunks run on
a small shared thread pool uses every core without copying data between processes. Results
are the same as one call over the whole array: each chunk is an independent slice and the
pieces are joined in order.

The calling thread and a pool of ``threads - 1`` workers share the work, where ``threads`` is
:attr:`ward_geo.settings.Settings.threads` (``WARD_GEO_THREADS``); one thread runs
everything in the calling thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import pairwise
from typing import Any, TypeVar

import numpy as np

__all__ = ["thread_count", "cost_slices", "map_in_threads", "start_in_thread"]

T = TypeVar("T")
R = TypeVar("R")

_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_POOL_LOCK = threading.Lock()


def thread_count() -> int:
    """Threads to use: ``WARD_GEO_THREADS``, else the CPUs of this process (at most 4)."""
    from ward_geo.settings import get_settings

    configured = get_settings().threads
    if configured is not None:
        return configured
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


def cost_slices(costs: np.ndarray, parts: int) -> list[slice]:
    """Split ``range(len(costs))`` into at most ``parts`` contiguous slices of similar total cost.

    Parameters
    ----------
    costs : ndarray of float, shape (n,)
        Non-negative cost of every item (for a geometry: its number of coordinates).
    parts : int
        Most slices to return.

    Returns
    -------
    list of slice
        Non-empty, contiguous, in order, covering every item exactly once.
    """
    n = len(costs)
    if n == 0:
        return []
    parts = max(1, min(int(parts), n))
    total = np.cumsum(np.asarray(costs, dtype=np.float64))
    if parts == 1 or total[-1] <= 0:
        return [slice(0, n)]
    targets = total[-1] * np.arange(1, parts) / parts
    cuts = np.unique(np.clip(np.searchsorted(total, targets, side="right"), 1, n - 1))
    edges = [0, *cuts.tolist(), n]
    return [slice(a, b) for a, b in pairwise(edges) if b > a]


def _pool(size: int) -> ThreadPoolExecutor:
    global _POOL, _POOL_SIZE
    with _POOL_LOCK:
        if _POOL is None or _POOL_SIZE != size:
            if _POOL is not None:
                _POOL.shutdown(wait=False)
            _POOL = ThreadPoolExecutor(max_workers=size, thread_name_prefix="ward_geo")
            _POOL_SIZE = size
        return _POOL


def _inline() -> bool:
    """Whether work must run in the calling thread (one thread, or already on the pool)."""
    return thread_count() <= 1 or threading.current_thread().name.startswith("ward_geo")


def map_in_threads(func: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[func(item) for item in items]``, the items spread over the calling thread and the pool.

    The first item runs in the calling thread, the others on the shared pool of
    ``thread_count() - 1`` workers. With one item or one thread, or when called from a pool
    thread (no nested waits), everything runs in the calling thread. Exceptions raised by
    ``func`` reach the caller unchanged.
    """
    if len(items) <= 1 or _inline():
        return [func(item) for item in items]
    pool = _pool(thread_count() - 1)
    rest = [pool.submit(func, item) for item in items[1:]]
    first = func(items[0])
    return [first, *(future.result() for future in rest)]


def start_in_thread(func: Callable[..., R], *args: Any) -> Future[R]:
    """Start ``func(*args)`` on the pool and return its future (run at once when inline).

    For overlapping two independent steps: the caller goes on with other work and asks the
    future for the result when it needs it.
    """
    if _inline():
        done: Future[R] = Future()
        try:
            done.set_result(func(*args))
        except BaseException as exc:  # handed to the caller by Future.result()
            done.set_exception(exc)
        return done
    return _pool(thread_count() - 1).submit(func, *args)
