"""Per-row checks of incidents: the ledger of rejections and repairs, points, degrees, times, ids."""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ward_geo.errors import InputError
from ward_geo.io import coords as C
from ward_geo.io.times import EXPECTED_TIME_FORMS, parse_times
from ward_geo.io.validation import ValidationReport

_SWAP_MARGIN_DEG = 0.5


def _fmt(v: float) -> str:
    return f"{v:.7f}".rstrip("0").rstrip(".")


def _pairs(x: np.ndarray, y: np.ndarray) -> list[str]:
    return [f"{_fmt(a)}, {_fmt(b)}" for a, b in zip(x, y, strict=True)]


class _Ledger:
    """Per-row outcome while validating: which rows are rejected or repaired, and the report."""

    def __init__(self, report: ValidationReport, n: int) -> None:
        self.report = report
        self.n = n
        self.rows = np.arange(1, n + 1)
        self.rejected = np.zeros(n, dtype=bool)
        self.repaired = np.zeros(n, dtype=bool)

    def _add(self, mask: np.ndarray, field: str, reasons: Any, action: Any, values: Any) -> np.ndarray:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            reasons = reasons if isinstance(reasons, str) else list(np.asarray(reasons, dtype=object)[mask])
            vals = None if values is None else list(np.asarray(values, dtype=object)[mask])
            self.report.add_many(self.rows[mask], field, reasons, action, vals)
        return mask

    def reject(self, mask: np.ndarray, field: str, reasons: Any, values: Any = None) -> None:
        """Reject the rows in ``mask`` (``reasons``: one string or one per row)."""
        self.rejected |= self._add(mask, field, reasons, "rejected", values)

    def repair(self, mask: np.ndarray, field: str, reason: str, values: Any = None) -> None:
        """Record a repair of the rows in ``mask``."""
        self.repaired |= self._add(mask, field, reason, "repaired", values)

    def warn(self, mask: np.ndarray, field: str, reason: str, values: Any = None) -> None:
        """Record a warning on the rows in ``mask`` (they are kept unchanged)."""
        self._add(mask, field, reason, "warning", values)

    def file_error(self, field: str, reason: str, message: str) -> InputError:
        """A file-level problem that makes every row unusable: the error to raise."""
        self.report.add(None, field, reason, "rejected")
        self.report.rows_rejected = self.n
        return InputError(f"{self.report.source}: {message}", report=self.report)


_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _reject_nul_bytes(table: pd.DataFrame, ledger: _Ledger) -> None:
    """Reject rows with a NUL character (U+0000) in any text field; the field is named."""
    for col in table.columns:
        values = table[col]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
            continue
        arr = values.to_numpy(dtype=object)
        texts = [v for v in arr if isinstance(v, str)]
        if not texts or "\x00" not in "".join(texts):
            continue
        mask = np.fromiter((isinstance(v, str) and "\x00" in v for v in arr), dtype=bool, count=len(arr))
        ledger.reject(mask, str(col), "the text contains a NUL character (U+0000); remove control characters",
                      [v.replace("\x00", "\\0") if isinstance(v, str) else v for v in arr])


def _checked_ids(ids: np.ndarray, field: str, ledger: _Ledger) -> np.ndarray:
    """Ids NFC-normalised; ids with zero-width or bidirectional control characters rejected."""
    import unicodedata

    texts = [v for v in ids if isinstance(v, str)]
    joined = "\x1f".join(texts)
    if joined.isascii():
        return ids
    out = np.asarray([unicodedata.normalize("NFC", v) if isinstance(v, str) else v for v in ids], dtype=object)
    if _INVISIBLE.search(joined):
        found = [_INVISIBLE.search(v) if isinstance(v, str) else None for v in out]
        mask = np.asarray([m is not None for m in found], dtype=bool)
        reasons = [f"the id contains the invisible control character U+{ord(m.group()):04X}; ids must be visible "
                   "text without zero-width or bidirectional controls" if m else "" for m in found]
        shown = [v.encode("unicode_escape").decode("ascii") if isinstance(v, str) else v for v in out]
        ledger.reject(mask, field, reasons, shown)
    return out


def _points_from_geometry(geometry: gpd.GeoSeries, ledger: _Ledger) -> tuple[np.ndarray, np.ndarray]:
    """x, y of point geometries; null, empty and non-point geometries rejected."""
    n = ledger.n
    null = geometry.isna().to_numpy()
    geoms = np.array(geometry.values, dtype=object)
    geoms[null] = None
    empty = ~null & shapely.is_empty(geoms)
    types = np.asarray(shapely.get_type_id(geoms))
    ledger.reject(null, "geometry", "missing geometry (null); incidents need a point")
    ledger.reject(empty, "geometry", "empty geometry; incidents need a point")
    single_multi = (types == 4) & ~empty & (shapely.get_num_geometries(geoms) == 1)
    other = ~null & ~empty & (types != 0) & ~single_multi
    if other.any():
        names = geometry.geom_type.astype(object).to_numpy()
        ledger.reject(other, "geometry", [f"geometry is a {t}; incidents must be points" for t in names])
    points = np.where(single_multi, shapely.get_geometry(geoms, 0), geoms)
    point_ok = ~null & ~empty & ((types == 0) | single_multi)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    if point_ok.any():
        x[point_ok] = shapely.get_x(points[point_ok])
        y[point_ok] = shapely.get_y(points[point_ok])
    ledger.repair(single_multi, "geometry", "MultiPoint with one point read as a Point")
    ledger.reject(point_ok & ~(np.isfinite(x) & np.isfinite(y)), "geometry", "point coordinates are not finite numbers")
    return x, y


def _points_from_columns(table: pd.DataFrame, lon_col: str, lat_col: str,
                         ledger: _Ledger) -> tuple[np.ndarray, np.ndarray]:
    """x, y parsed from two columns; missing, non-numeric and infinite values rejected."""
    out = []
    for col, word, example in ((lon_col, "longitude", "105.8412"), (lat_col, "latitude", "21.0285")):
        parsed = C.parse_coordinates(table[col])
        raw = table[col].astype(object).to_numpy()
        st = parsed.status
        ledger.reject(st == C.MISSING, str(col), f"missing {word}")
        ledger.reject(st == C.NON_NUMERIC, str(col),
                      f"{word} is not a number (expected decimal degrees such as {example})", raw)
        ledger.reject(st == C.NON_FINITE, str(col), f"{word} is not finite", raw)
        ledger.repair(st == C.COMMA_DECIMAL, str(col), f"decimal comma in {word} read as a decimal point", raw)
        out.append(np.where(parsed.usable, parsed.values, np.nan))
    return out[0], out[1]


def _check_degrees(x: np.ndarray, y: np.ndarray, ledger: _Ledger, *, fields: tuple[str, str, str],
                   declared_as: str, extent: Sequence[float] | None, against: str) -> None:
    """Degree plausibility: projected metres, swapped lat/lon (fixed in place), range, (0, 0).

    ``fields`` names the coordinates, the longitude and the latitude in the report.
    """
    coord_field, lon_field, lat_field = fields
    live = ~ledger.rejected & np.isfinite(x) & np.isfinite(y)
    proj = live & C.looks_projected(x, y)
    if proj.any():
        ledger.reject(proj, coord_field,
                      f"coordinates look like projected metres but the file is {declared_as}; "
                      "pass crs= with the projected CRS (for example EPSG:3405 VN-2000 / UTM 48N)", _pairs(x, y))
        if proj.sum() > 0.5 * live.sum():
            ledger.report.note("most coordinates look like projected metres: pass crs= with the projected CRS")
    live &= ~proj
    swap, ambiguous = C.detect_swaps(np.where(live, x, np.nan), np.where(live, y, np.nan), extent,
                                     margin=_SWAP_MARGIN_DEG)
    if swap.any():
        ledger.repair(swap, coord_field,
                      f"latitude and longitude swapped (only the swapped point fits {against}); swapped back",
                      _pairs(x, y))
        x[swap], y[swap] = y[swap].copy(), x[swap].copy()
    ledger.warn(ambiguous, coord_field, "the point fits the expected extent both as given and swapped; kept as given")
    lon_bad, lat_bad = C.out_of_range(x, y)
    if (live & lon_bad).any():
        ledger.reject(live & lon_bad, lon_field, "longitude outside [-180, 180]", [_fmt(v) for v in x])
    if (live & lat_bad).any():
        ledger.reject(live & lat_bad, lat_field, "latitude outside [-90, 90]", [_fmt(v) for v in y])
    live &= ~lon_bad & ~lat_bad
    ledger.reject(live & (x == 0.0) & (y == 0.0), coord_field, "point (0, 0) is a placeholder, not a location")


def _check_times(series: pd.Series, field: str, timezone: str, now: pd.Timestamp | None, ledger: _Ledger) -> Any:
    """Parse the time column; rows with a missing, unparseable, future or too old time rejected."""
    times = parse_times(series, timezone, now=now)
    reasons = times.reason
    has_reason = reasons != None  # noqa: E711
    if has_reason.any():
        texts = reasons.copy()
        for kind, text in (
            ("missing", "missing time"),
            ("unparseable", f"unparseable time (expected {EXPECTED_TIME_FORMS})"),
            ("in the future", "time is in the future"),
            ("before 1900", "time is before 1900"),
        ):
            texts[reasons == kind] = text
        raw = series.astype(object).to_numpy()
        ledger.reject(has_reason, field, texts, np.where(reasons == "missing", None, raw))
    return times


def _check_duplicate_ids(ids: np.ndarray, candidates: np.ndarray, content: dict[str, np.ndarray], field: str,
                         ledger: _Ledger) -> None:
    """Rows sharing an id: identical content keeps the first, differing content rejects all."""
    cand_idx = np.flatnonzero(candidates)
    dup = pd.Series(ids[cand_idx], dtype=object).duplicated(keep=False).to_numpy()
    if not dup.any():
        return
    didx = cand_idx[dup]
    fields = list(content)
    frame = pd.DataFrame({f: content[f][didx] for f in fields}).astype(object)
    frame = frame.where(frame.notna(), "\x00")  # missing values compare equal to each other
    frame["_id"] = ids[didx]
    differs_by_id = dict(zip(*_distinct_counts(frame, fields), strict=True))
    for key, members in pd.Series(didx).groupby(ids[didx], sort=False):
        group_idx = np.sort(members.to_numpy())
        group_rows = group_idx + 1
        differing = [f for f, d in zip(fields, differs_by_id[key], strict=True) if d]
        mask = np.zeros(ledger.n, dtype=bool)
        if not differing:
            mask[group_idx[1:]] = True
            ledger.reject(mask, field, f"duplicate incident_id (identical to row {int(group_rows[0])}); dropped", ids)
            ledger.report.duplicates_dropped += len(group_idx) - 1
        else:
            mask[group_idx] = True
            listing = ", ".join(str(int(r)) for r in group_rows[:10]) + (" …" if len(group_rows) > 10 else "")
            ledger.reject(mask, field, f"conflicting duplicate incident_id (rows {listing} differ in "
                          f"{', '.join(differing)}); all rejected", ids)


def _distinct_counts(frame: pd.DataFrame, fields: list[str]) -> tuple[list[Any], np.ndarray]:
    distinct = frame.groupby("_id", sort=False)[fields].nunique()
    return list(distinct.index), distinct.to_numpy() > 1
