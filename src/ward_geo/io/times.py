"""Vectorised timestamp parsing with precision and time zones.

Accepted forms (each value on its own; a column may mix them):

=============================================== ==========
value                                           precision
=============================================== ==========
``2025-03-01T14:30:00+07:00``, ``...Z``         exact (the offset is used)
``2025-03-01 14:30``, ``2025-03-01T14:30:05``   exact (naive: read in ``timezone``)
``2025-03-01``                                  day
``2025-03`` or ``2025/03``                      month (first day of the month, 00:00)
``2025``                                        year
``01/03/2025`` (day first, Vietnamese order)    day
``01/03/2025 14:30``                            exact
datetime64 columns (GeoPackage, Parquet)        exact
=============================================== ==========

Naive values are local times in ``timezone`` (``Asia/Ho_Chi_Minh`` by default), then
converted to UTC. Values that are empty, unparseable, local times that do not exist or
are ambiguous in the zone (DST changes), before 1900 or in the future get a reason and
no time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ParsedTimes", "parse_times", "EXPECTED_TIME_FORMS"]

EXPECTED_TIME_FORMS = "ISO 8601 (2025-03-01T14:30, 2025-03-01, 2025-03) or dd/mm/yyyy [HH:MM]"
_EARLIEST = pd.Timestamp("1900-01-01", tz="UTC")

_AWARE = r".*\d:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|z|UTC|[+-]\d{2}(?::?\d{2})?)"
_YEAR = r"\d{4}"
_MONTH = r"\d{4}[-/]\d{1,2}"
_DAY_ISO = r"\d{4}-\d{1,2}-\d{1,2}"
_DMY = r"\d{1,2}/\d{1,2}/\d{4}"
_DMY_TIME = r"\d{1,2}/\d{1,2}/\d{4}[ T]\d{1,2}:\d{2}(?::\d{2})?"


@dataclass(frozen=True)
class ParsedTimes:
    """Result of :func:`parse_times`.

    Attributes
    ----------
    values : pandas.Series of datetime64[ns, UTC]
        The instants (``NaT`` where ``reason`` is set).
    precision : numpy.ndarray of object
        ``"exact"``, ``"day"``, ``"month"``, ``"year"`` or ``None``.
    reason : numpy.ndarray of object
        ``None`` for good values, else a short reason (``"missing"``, ``"unparseable"``,
        ``"in the future"``, ...).
    """

    values: pd.Series
    precision: np.ndarray
    reason: np.ndarray


def _localize(naive: pd.Series, timezone: str) -> pd.Series:
    return naive.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")


def parse_times(values: Any, timezone: str, *, now: pd.Timestamp | None = None) -> ParsedTimes:
    """Parse a column of timestamps (see the module docstring for the accepted forms).

    Parameters
    ----------
    values : Series or sequence
        The raw values.
    timezone : str
        IANA zone of naive values.
    now : Timestamp, optional
        The present (tz-aware); later instants are "in the future". Default: now.

    Returns
    -------
    ParsedTimes
    """
    series = values.reset_index(drop=True) if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    n = len(series)
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now).tz_convert("UTC")
    result = pd.Series(pd.NaT, index=pd.RangeIndex(n), dtype="datetime64[ns, UTC]")
    precision = np.full(n, None, dtype=object)
    reason = np.full(n, None, dtype=object)
    if n == 0:
        return ParsedTimes(result, precision, reason)

    parsed = pd.Series(pd.NaT, index=pd.RangeIndex(n), dtype="datetime64[us, UTC]")
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        parsed = series.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
        missing = series.isna().to_numpy()
        precision[~missing] = "exact"
    elif pd.api.types.is_datetime64_dtype(series.dtype):
        missing = series.isna().to_numpy()
        local = _localize(series.astype("datetime64[us]"), timezone)
        reason[~missing & local.isna().to_numpy()] = f"nonexistent or ambiguous local time in {timezone}"
        parsed = local.astype("datetime64[us, UTC]")
        precision[~missing] = "exact"
    else:
        if isinstance(series.dtype, pd.StringDtype):
            text = series.str.strip()
        else:
            objects = series.astype(object)
            text = objects.where(objects.notna(), None).astype("string").str.strip()
        missing = (text.isna() | (text == "")).to_numpy(dtype=bool, na_value=True)

        def match(pattern: str) -> np.ndarray:
            found: np.ndarray = text.str.fullmatch(pattern).to_numpy(dtype=bool, na_value=False) & ~missing
            return found

        is_year = match(_YEAR)
        is_month = match(_MONTH)
        is_dmy = match(_DMY)
        is_dmy_time = match(_DMY_TIME)
        is_aware = match(_AWARE) & ~is_dmy_time
        is_iso_day = match(_DAY_ISO)
        rest = ~missing & ~is_year & ~is_month & ~is_dmy & ~is_dmy_time & ~is_aware
        naive = pd.Series(pd.NaT, index=pd.RangeIndex(n), dtype="datetime64[us]")

        def put(mask: np.ndarray, strings: pd.Series, fmt: str, prec: np.ndarray | str, **kw: Any) -> None:
            if mask.any():
                got = pd.to_datetime(strings[mask], format=fmt, errors="coerce", **kw)
                naive[mask] = got.astype("datetime64[us]")
                precision[mask] = prec if isinstance(prec, str) else prec[mask]

        put(is_year, text + "-01-01", "%Y-%m-%d", "year")
        put(is_month, text.str.replace("/", "-", regex=False) + "-01", "%Y-%m-%d", "month")
        put(is_dmy, text, "%d/%m/%Y", "day")
        put(is_dmy_time, text.str.replace("T", " ", regex=False), "mixed", "exact", dayfirst=True)
        put(rest, text, "ISO8601", np.where(is_iso_day, "day", "exact"))
        if is_aware.any():
            aware = pd.to_datetime(
                text[is_aware].str.replace(r"\s*UTC$", "Z", regex=True), format="ISO8601", utc=True, errors="coerce"
            )
            parsed[is_aware] = aware.astype("datetime64[us, UTC]")
            precision[is_aware] = "exact"
        local_mask = ~missing & ~is_aware & naive.notna().to_numpy()
        if local_mask.any():
            local = _localize(naive[local_mask], timezone)
            bad_local = local.isna().to_numpy()
            idx = np.flatnonzero(local_mask)
            reason[idx[bad_local]] = f"nonexistent or ambiguous local time in {timezone}"
            parsed[local_mask] = local.astype("datetime64[us, UTC]")
        unparsed = ~missing & parsed.isna().to_numpy() & (reason == None)  # noqa: E711
        reason[unparsed] = "unparseable"

    reason[missing] = "missing"
    valid = parsed.notna().to_numpy() & (reason == None)  # noqa: E711
    with np.errstate(invalid="ignore"):
        future = valid & (parsed > now).to_numpy(dtype=bool, na_value=False)
        ancient = valid & (parsed < _EARLIEST).to_numpy(dtype=bool, na_value=False)
    reason[future] = "in the future"
    reason[ancient] = "before 1900"
    good = valid & ~future & ~ancient
    result[good] = parsed[good].astype("datetime64[ns, UTC]")
    precision[~good] = None
    return ParsedTimes(result, precision, reason)
