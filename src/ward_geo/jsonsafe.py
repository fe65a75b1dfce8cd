"""One conversion of Python, numpy and pandas values into plain JSON data.

Hotspot attributes, validation reports, parameters and patrol plans hold numpy scalars,
timestamps, NaN and tuples; the GeoJSON writers, the store, the map payloads and the
service all need plain ``dict``/``list``/``str``/``int``/``float``/``bool``/``None``.
:func:`json_safe` is that conversion, written once.

Two modes:

* the default, for output (GeoJSON, API answers, maps): NaN and infinities become
  ``null``, naive timestamps are read in the configured zone, unknown objects become their
  text (``to_dict()`` first when they have one);
* ``lossless=True``, for storage: naive timestamps stay naive, infinities are kept as
  ``"Infinity"`` / ``"-Infinity"``
  and a value that cannot be stored faithfully (a set, bytes, a geometry, an object)
  raises :class:`~ward_geo.errors.InputError` naming where it was.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping as shape_mapping

from ward_geo.errors import InputError

__all__ = ["json_safe"]

#: Python types that are already plain JSON values (``bool`` is not ``int`` here: ``type`` is exact).
_PLAIN = frozenset({str, int})


def json_safe(value: Any, *, lossless: bool = False, where: str = "value") -> Any:
    """Convert ``value`` to plain JSON-serialisable Python (recursively).

    ``None``/NaN/NaT/``pd.NA`` -> ``None``; numpy scalars -> int/float/bool; arrays and
    tuples -> lists; dict keys -> str (numbers as JSON writes them); timestamps -> ISO 8601
    with offset; dates and times -> ISO 8601; timedeltas -> ISO 8601 durations. Dict key
    order is kept.

    Parameters
    ----------
    value : object
        The value to convert.
    lossless : bool, default False
        For storage: keep infinities as ``"Infinity"``/``"-Infinity"`` and refuse values
        that cannot be stored faithfully. Otherwise infinities become ``None``, sets sorted
        lists, shapely geometries GeoJSON geometry objects, objects with ``to_dict()`` that
        dict, and anything else ``str(value)``.
    where : str, default "value"
        Name of the value in error messages (``lossless`` only).

    Returns
    -------
    object
        Plain JSON data.

    Raises
    ------
    InputError
        With ``lossless=True``, a value of a type that JSON cannot hold faithfully; the
        message says where it was.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, np.timedelta64):  # numpy counts it as an integer: test it first
        td = pd.Timedelta(value)
        return None if td is pd.NaT else td.isoformat()
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating | decimal.Decimal):
        return _float(float(value), lossless)
    simple = _time_value(value, lossless)
    if simple is not _NOT_TIME:
        return simple
    if isinstance(value, Mapping):
        return _mapping(value, lossless, where)
    return _sequence_or_other(value, lossless, where)


_NOT_TIME = object()


def _float(value: float, lossless: bool) -> float | str | None:
    if math.isfinite(value):
        return value
    if math.isnan(value) or not lossless:
        return None
    return "Infinity" if value > 0 else "-Infinity"


def _time_value(value: Any, lossless: bool) -> Any:
    """ISO 8601 text (or None) of a time-like value; ``_NOT_TIME`` for other values."""
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else _iso_timestamp(pd.Timestamp(value), lossless)
    if isinstance(value, pd.Timestamp | _dt.datetime):
        return _iso_timestamp(value, lossless)
    if isinstance(value, _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, pd.Timedelta | _dt.timedelta | np.timedelta64):
        td = pd.Timedelta(value)
        return None if td is pd.NaT else td.isoformat()
    return _NOT_TIME


def _iso_timestamp(value: pd.Timestamp | _dt.datetime, lossless: bool) -> str:
    """ISO 8601 with offset; a naive time is read in the configured zone (kept naive when lossless)."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is None and not lossless:
        from ward_geo.settings import resolve_timezone

        ts = ts.tz_localize(resolve_timezone(None))
    return str(ts.isoformat())


def _mapping(value: Mapping[Any, Any], lossless: bool, where: str) -> dict[str, Any]:
    if all(type(k) is str and type(v) in _PLAIN for k, v in value.items()):
        return dict(value)  # fast path: counts by category
    return {_key(k, lossless, where): json_safe(v, lossless=lossless, where=f"{where}[{k!r}]")
            for k, v in value.items()}


def _key(key: Any, lossless: bool, where: str) -> str:
    if isinstance(key, str):
        return str(key)
    if isinstance(key, bool | np.bool_):
        return "true" if key else "false"
    if isinstance(key, int | np.integer):
        return str(int(key))
    if isinstance(key, float | np.floating) and math.isfinite(float(key)):
        return repr(float(key))
    if lossless:
        raise InputError(
            f"{where}: cannot store the dict key {key!r} of type {type(key).__name__} as JSON "
            "(expected a string or a number)",
            details={"where": where},
        )
    return str(key)


def _sequence_or_other(value: Any, lossless: bool, where: str) -> Any:
    if type(value) is list and all(type(v) in _PLAIN for v in value):
        return list(value)  # fast path: lists of text or whole numbers (member ids, histograms)
    if isinstance(value, np.ndarray) and value.dtype.kind in "iub":
        return value.tolist()
    if isinstance(value, list | tuple | np.ndarray | pd.Series | pd.Index):
        return [json_safe(v, lossless=lossless, where=f"{where}[{i}]") for i, v in enumerate(value)]
    if lossless:
        raise InputError(
            f"{where}: cannot store a value of type {type(value).__name__} as JSON (expected numbers, text, "
            "booleans, times, lists or dicts of them)",
            details={"where": where, "type": type(value).__name__},
        )
    return _lossy_other(value)


def _lossy_other(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return [json_safe(v) for v in sorted(value, key=str)]
    if isinstance(value, shapely.Geometry):
        return None if value.is_empty else json_safe(shape_mapping(value))
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        try:
            return json_safe(to_dict())
        except TypeError:
            pass
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)
