"""The filters of :meth:`~ward_geo.store.base.IncidentStore.query`, checked once for every backend.

:func:`normalize_filters` turns the user's arguments (ids or a single id, times as text,
datetimes or Timestamps, a bbox as any sequence of numbers) into one :class:`QueryFilters`
of plain values, or raises :class:`~ward_geo.errors.ParameterError` naming every argument
that is wrong. The SQL builder (:mod:`ward_geo.store.sql`) only ever sees these values and
binds each of them as a query parameter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ward_geo.errors import ParameterError

__all__ = ["ORDERS", "QueryFilters", "check_text", "normalize_filters"]

#: Accepted values of the ``order`` argument of :meth:`IncidentStore.query`.
ORDERS: tuple[str | None, ...] = ("occurred_at", "-occurred_at", "incident_id", None)

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class QueryFilters:
    """Normalised query filters (see :meth:`IncidentStore.query`)."""

    ward_ids: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    since_us: int | None = None
    until_us: int | None = None
    bbox: BBox | None = None
    limit: int | None = None
    offset: int = 0
    order: str | None = "occurred_at"

    @property
    def empty(self) -> bool:
        """True when the filters cannot match any row (an empty id or category list)."""
        return self.ward_ids == () or self.categories == ()


def normalize_filters(
    *,
    ward_ids: Iterable[str] | str | None = None,
    categories: Iterable[str] | str | None = None,
    since: Any = None,
    until: Any = None,
    bbox: Sequence[float] | None = None,
    limit: int | None = None,
    offset: int = 0,
    order: str | None = "occurred_at",
) -> QueryFilters:
    """Check and normalise query arguments.

    Parameters
    ----------
    ward_ids, categories, since, until, bbox, limit, offset, order
        As :meth:`IncidentStore.query` takes them.

    Returns
    -------
    QueryFilters
        Plain values: tuples of distinct strings, microseconds since 1970 UTC, floats.

    Raises
    ------
    ParameterError
        Every wrong argument, named, in ``details["problems"]``.
    """
    problems: list[str] = []
    filters = QueryFilters(
        ward_ids=string_tuple("ward_ids", ward_ids, problems),
        categories=string_tuple("categories", categories, problems),
        since_us=time_us("since", since, problems),
        until_us=time_us("until", until, problems),
        bbox=_bbox(bbox, problems),
        limit=_count_arg("limit", limit, problems, none_ok=True),
        offset=_count_arg("offset", offset, problems, none_ok=False) or 0,
        order=order,
    )
    if order not in ORDERS:
        problems.append(f"order must be one of {ORDERS!r}, got {order!r}")
    if problems:
        raise ParameterError("; ".join(problems), details={"problems": problems})
    return filters


def check_text(name: str, value: Any) -> str:
    """``value`` when it is a non-empty string, else ParameterError naming ``name``."""
    if not isinstance(value, str) or not value:
        raise ParameterError(f"{name} must be a non-empty string, got {value!r}")
    return value


def string_tuple(name: str, value: Iterable[str] | str | None, problems: list[str]) -> tuple[str, ...] | None:
    """Distinct strings of ``value`` in order (one string is one item); a problem for non-strings."""
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    bad = [v for v in items if not isinstance(v, str)]
    if bad:
        problems.append(f"{name} must be strings, got {bad[:5]!r}")
        return None
    return tuple(dict.fromkeys(items))


def time_us(name: str, value: Any, problems: list[str]) -> int | None:
    """Microseconds since 1970-01-01 UTC of a time (naive: the configured zone); None when absent."""
    if value is None:
        return None
    ts = _timestamp(name, value, problems)
    if ts is None:
        return None
    try:
        if ts.tzinfo is None:
            from ward_geo.settings import resolve_timezone

            ts = ts.tz_localize(resolve_timezone(None))
        return int(ts.tz_convert("UTC").as_unit("ns").value // 1000)
    except (OverflowError, ValueError) as exc:  # OutOfBoundsDatetime is a ValueError
        problems.append(f"{name} {value!r} is outside the supported years 1677–2262 ({exc})")
        return None


def utc_timestamp(name: str, value: Any, problems: list[str]) -> pd.Timestamp | None:
    """``value`` as a UTC Timestamp floored to the microsecond; a problem when naive or invalid."""
    ts = _timestamp(name, value, problems)
    if ts is None:
        return None
    if ts.tzinfo is None:
        problems.append(f"{name} must be time-zone aware (for example pd.Timestamp.now('UTC')), got {value!r}")
        return None
    return ts.tz_convert("UTC").floor("us")


def _timestamp(name: str, value: Any, problems: list[str]) -> pd.Timestamp | None:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        problems.append(f"{name} is not a date or time: {value!r} ({exc})")
        return None
    if ts is pd.NaT:
        problems.append(f"{name} is not a date or time: {value!r}")
        return None
    return ts


def _bbox(bbox: Sequence[float] | None, problems: list[str]) -> BBox | None:
    if bbox is None:
        return None
    try:
        values = tuple(float(v) for v in bbox)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        problems.append(f"bbox must be four finite numbers (min_lon, min_lat, max_lon, max_lat), got {bbox!r}")
        return None
    x0, y0, x1, y1 = values
    if x0 > x1 or y0 > y1:
        problems.append(f"bbox minimums must not exceed maximums, got {values!r}")
        return None
    return (x0, y0, x1, y1)


def _count_arg(name: str, value: Any, problems: list[str], *, none_ok: bool) -> int | None:
    """A non-negative integer argument (``limit``, ``offset``) as int."""
    if value is None and none_ok:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        expected = "a non-negative integer or None" if none_ok else "a non-negative integer"
        problems.append(f"{name} must be {expected}, got {value!r}")
        return None
    return int(value)
