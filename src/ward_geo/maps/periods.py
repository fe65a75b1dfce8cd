"""Times on the map: local times, their display, and the month/week periods of the time slider.

Incident times are stored in UTC; the map shows them in the configured zone
(:func:`ward_geo.settings.resolve_timezone`) and replays them by calendar month or ISO week.
"""

from __future__ import annotations

import math
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["Periods", "local_times", "fmt_local", "utc_timestamp", "clock"]


def local_times(incidents: gpd.GeoDataFrame, zone: ZoneInfo) -> pd.Series:
    """The incidents' ``occurred_at`` in ``zone`` (NaT where unknown)."""
    times = pd.to_datetime(incidents["occurred_at"], utc=True)
    return times.dt.tz_convert(zone)


def fmt_local(ts: pd.Timestamp | None, precision: str = "exact") -> str:
    """A local time as text to its precision: ``2024``, ``2024-05``, ``2024-05-17`` or ``2024-05-17 21:30``."""
    if ts is None or pd.isna(ts):
        return ""
    if precision == "year":
        return str(ts.strftime("%Y"))
    if precision == "month":
        return str(ts.strftime("%Y-%m"))
    if precision == "day":
        return str(ts.strftime("%Y-%m-%d"))
    return str(ts.strftime("%Y-%m-%d %H:%M"))


class Periods:
    """Contiguous month and ISO-week periods covering a time range (local time).

    Parameters
    ----------
    start, end : Timestamp or None
        First and last local time of the data; None (or NaT) when there is none.
    lang : {"vi", "en"}
        Language of the period labels.

    Attributes
    ----------
    months, weeks : list of str
        Labels of the periods, in order.
    """

    def __init__(self, start: pd.Timestamp | None, end: pd.Timestamp | None, lang: str) -> None:
        self.lang = lang
        if start is None or end is None or pd.isna(start) or pd.isna(end):
            self.month0: int | None = None
            self.week0: pd.Timestamp | None = None
            self.months: list[str] = []
            self.weeks: list[str] = []
            return
        m0 = start.year * 12 + start.month - 1
        m1 = end.year * 12 + end.month - 1
        self.month0 = m0
        self.months = [self._month_label(k) for k in range(m0, m1 + 1)]
        monday0 = (start.normalize() - pd.Timedelta(days=start.weekday())).tz_localize(None)
        monday1 = (end.normalize() - pd.Timedelta(days=end.weekday())).tz_localize(None)
        self.week0 = monday0
        n_weeks = int((monday1 - monday0).days // 7) + 1
        self.weeks = [self._week_label(monday0 + pd.Timedelta(days=7 * k)) for k in range(n_weeks)]

    def _month_label(self, k: int) -> str:
        year, month = divmod(k, 12)
        return f"Tháng {month + 1:02d}/{year}" if self.lang == "vi" else f"{year}-{month + 1:02d}"

    def _week_label(self, monday: pd.Timestamp) -> str:
        sunday = monday + pd.Timedelta(days=6)
        if self.lang == "vi":
            return f"Tuần {monday:%d/%m}–{sunday:%d/%m/%Y}"
        return f"Week {monday:%Y-%m-%d} – {sunday:%m-%d}"

    def month_index(self, local: pd.Series) -> NDArray[np.int64]:
        """Month period of each local time (clipped to the range)."""
        if self.month0 is None or len(local) == 0:
            return np.zeros(len(local), dtype=np.int64)
        k = (local.dt.year * 12 + local.dt.month - 1).to_numpy(dtype=np.int64)
        return np.asarray(np.clip(k - self.month0, 0, len(self.months) - 1), dtype=np.int64)

    def week_index(self, local: pd.Series) -> NDArray[np.int64]:
        """Week period of each local time (clipped to the range)."""
        if self.week0 is None or len(local) == 0:
            return np.zeros(len(local), dtype=np.int64)
        days = (local.dt.tz_localize(None).dt.normalize() - self.week0).dt.days.to_numpy(dtype=np.int64)
        return np.asarray(np.clip(days // 7, 0, len(self.weeks) - 1), dtype=np.int64)

    def index_of(self, ts: pd.Timestamp | None, unit: str, default: int) -> int:
        """Period index of one local timestamp (clipped to the range)."""
        if ts is None or pd.isna(ts) or self.month0 is None or self.week0 is None:
            return default
        if unit == "week":
            days = (ts.tz_localize(None).normalize() - self.week0).days
            return int(min(max(days // 7, 0), len(self.weeks) - 1))
        k = ts.year * 12 + ts.month - 1 - self.month0
        return int(min(max(k, 0), len(self.months) - 1))


def utc_timestamp(value: Any) -> pd.Timestamp | None:
    """A UTC timestamp from a datetime, ISO string or epoch-free value; None when missing/unparsable."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    if pd.isna(stamp):
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def clock(value: Any) -> str:
    """``HH:MM`` of an ISO 8601 time (its own offset kept), else the value as text."""
    if value is None:
        return ""
    try:
        return str(pd.Timestamp(str(value)).strftime("%H:%M"))
    except (TypeError, ValueError):
        return str(value)
