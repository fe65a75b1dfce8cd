"""Robust, vectorised coordinate parsing and plausibility checks.

Coordinates arrive as numbers, as strings (``"21.0285"``), with a comma as the decimal
separator (``"21,0285"``, common in Vietnamese spreadsheets), empty, ``NaN``, ``inf``
or as text that is no number at all. :func:`parse_coordinates` turns a column into a
float array plus a status code per value, so callers can reject or repair each row and
say why. :func:`detect_swaps` finds rows whose latitude and longitude are exchanged and
can be put back without guessing; :func:`looks_projected` finds metre values in a file
declared as degrees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "OK",
    "MISSING",
    "NON_NUMERIC",
    "NON_FINITE",
    "COMMA_DECIMAL",
    "STATUS_NAMES",
    "ParsedCoordinates",
    "parse_coordinates",
    "parse_coordinate",
    "out_of_range",
    "looks_projected",
    "detect_swaps",
    "expand_extent",
]

#: The value is a finite number.
OK = 0
#: Empty, null, ``NaN`` or a null word such as ``"NA"``.
MISSING = 1
#: Text that is not a number.
NON_NUMERIC = 2
#: ``inf`` or ``-inf``.
NON_FINITE = 3
#: A finite number written with a decimal comma (``"21,0285"``), read as ``21.0285``.
COMMA_DECIMAL = 4
STATUS_NAMES: dict[int, str] = {
    OK: "ok",
    MISSING: "missing",
    NON_NUMERIC: "non_numeric",
    NON_FINITE: "non_finite",
    COMMA_DECIMAL: "comma_decimal",
}

_NULL_WORDS = ("", "nan", "na", "n/a", "null", "none", "-", "--")
_COMMA_DECIMAL = r"[+-]?\d+,\d+"


@dataclass(frozen=True)
class ParsedCoordinates:
    """Result of :func:`parse_coordinates`.

    Attributes
    ----------
    values : numpy.ndarray of float64
        The parsed numbers; ``NaN`` where the status is not OK or COMMA_DECIMAL
        (``inf`` is kept for NON_FINITE).
    status : numpy.ndarray of int8
        One of :data:`OK`, :data:`MISSING`, :data:`NON_NUMERIC`, :data:`NON_FINITE`,
        :data:`COMMA_DECIMAL` per value.
    """

    values: np.ndarray
    status: np.ndarray

    @property
    def usable(self) -> np.ndarray:
        """Boolean mask of values that are finite numbers (OK or COMMA_DECIMAL)."""
        mask: np.ndarray = (self.status == OK) | (self.status == COMMA_DECIMAL)
        return mask


def parse_coordinates(values: Sequence[Any] | pd.Series | np.ndarray) -> ParsedCoordinates:
    """Parse a column of coordinates, one status per value.

    Parameters
    ----------
    values : sequence, Series or ndarray
        Numbers, strings or a mix. Strings may carry surrounding spaces and a decimal
        comma (``"105,8412"``); a value with both a comma and a point, or any other
        text, is NON_NUMERIC.

    Returns
    -------
    ParsedCoordinates
    """
    series = values.reset_index(drop=True) if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    n = len(series)
    if n == 0:
        return ParsedCoordinates(np.empty(0, dtype=np.float64), np.empty(0, dtype=np.int8))
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        out = series.to_numpy(dtype=np.float64, na_value=np.nan)
        status = np.where(np.isnan(out), MISSING, np.where(np.isinf(out), NON_FINITE, OK)).astype(np.int8)
        return ParsedCoordinates(out, status)

    if isinstance(series.dtype, pd.StringDtype):
        is_bool = np.zeros(n, dtype=bool)
        text = series.str.strip()
    else:
        objects = series.astype(object)
        is_bool = objects.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
        text = objects.where(objects.notna(), None).astype("string").str.strip()
    missing = (text.isna() | text.str.lower().isin(_NULL_WORDS)).to_numpy(dtype=bool, na_value=True)
    comma = text.str.fullmatch(_COMMA_DECIMAL).to_numpy(dtype=bool, na_value=False)
    fixed = text.where(~comma, text.str.replace(",", ".", regex=False))
    # Only plain decimal notation is a coordinate; pandas would also accept "1_000" etc.
    plain = fixed.str.fullmatch(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|infinity)", case=False)
    plain = plain.to_numpy(dtype=bool, na_value=False) & ~is_bool
    numbers = pd.to_numeric(fixed.where(plain, None), errors="coerce")
    out = np.asarray(numbers, dtype=np.float64)
    status = np.full(n, OK, dtype=np.int8)
    status[comma] = COMMA_DECIMAL
    status[np.isinf(out)] = NON_FINITE
    status[np.isnan(out)] = NON_NUMERIC
    status[missing] = MISSING
    out = np.where((status == OK) | (status == COMMA_DECIMAL) | (status == NON_FINITE), out, np.nan)
    return ParsedCoordinates(out, status)


def parse_coordinate(value: Any) -> tuple[float, str]:
    """Parse one coordinate; returns ``(number or NaN, status name)``.

    >>> parse_coordinate("21,0285")
    (21.0285, 'comma_decimal')
    """
    parsed = parse_coordinates(pd.Series([value], dtype=object))
    return float(parsed.values[0]), STATUS_NAMES[int(parsed.status[0])]


def out_of_range(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks of finite longitudes outside [-180, 180] and latitudes outside [-90, 90]."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.isfinite(lon) & (np.abs(lon) > 180.0), np.isfinite(lat) & (np.abs(lat) > 90.0)


def looks_projected(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mask of points that cannot be degrees and look like projected metres.

    A point qualifies when it is out of the degree range (|x| > 180 or |y| > 90) and
    at least one of its values is 1000 or more in magnitude — typical of UTM or
    VN-2000 eastings/northings (``585000, 2326000``), not of a typo in degrees.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(x) & np.isfinite(y)
        beyond = (np.abs(x) > 180.0) | (np.abs(y) > 90.0)
        big = np.maximum(np.abs(x), np.abs(y)) >= 1000.0
    projected: np.ndarray = finite & beyond & big
    return projected


def expand_extent(
    extent: Sequence[float], margin: float = 0.5
) -> tuple[float, float, float, float]:
    """``(min_lon, min_lat, max_lon, max_lat)`` grown by ``margin`` degrees on every side."""
    min_x, min_y, max_x, max_y = (float(v) for v in extent)
    return (min_x - margin, min_y - margin, max_x + margin, max_y + margin)


def _inside(x: np.ndarray, y: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    min_x, min_y, max_x, max_y = box
    with np.errstate(invalid="ignore"):
        return (x >= min_x) & (x <= max_x) & (y >= min_y) & (y <= max_y)


def detect_swaps(
    lon: np.ndarray,
    lat: np.ndarray,
    extent: Sequence[float] | None = None,
    *,
    margin: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Find rows whose longitude and latitude are exchanged, fixing only unambiguous ones.

    A row is swapped back when

    * an ``extent`` (the boundaries' or a declared region's ``(min_lon, min_lat,
      max_lon, max_lat)``, grown by ``margin`` degrees) is known, the point as given
      lies outside it and the exchanged point lies inside it; or
    * the latitude as given is impossible (|lat| > 90) while both exchanged values are
      valid degrees — the only reading that makes sense.

    Parameters
    ----------
    lon, lat : array-like of float
        Coordinates as read (degrees).
    extent : sequence of 4 floats, optional
        Expected region.
    margin : float
        Degrees added around ``extent``.

    Returns
    -------
    (swap, ambiguous) : tuple of boolean arrays
        ``swap``: rows to exchange. ``ambiguous``: rows that fit the extent both ways
        (left as given; the caller may warn).
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    finite = np.isfinite(lon) & np.isfinite(lat)
    with np.errstate(invalid="ignore"):
        impossible_lat = finite & (np.abs(lat) > 90.0) & (np.abs(lat) <= 180.0) & (np.abs(lon) <= 90.0)
    if extent is None:
        return impossible_lat, np.zeros(len(lon), dtype=bool)
    box = expand_extent(extent, margin)
    as_given = _inside(lon, lat, box)
    exchanged = _inside(lat, lon, box)
    swap = finite & ~as_given & (exchanged | impossible_lat)
    ambiguous = finite & as_given & exchanged & (lon != lat)
    return swap, ambiguous
