"""Validated batches: incident and boundary rows checked once, for every backend.

:func:`prepare_incidents` and :func:`prepare_boundaries` check a whole table, collect every
problem (:class:`~ward_geo.problems.Problems`) and raise once, naming row, field and
expectation; what passes becomes plain Python tuples the backends bind as query parameters.
The reverse direction (stored rows back to the canonical frames) lives here too.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from ward_geo.categories import CATEGORY_CODES
from ward_geo.errors import InputError
from ward_geo.problems import Problems
from ward_geo.schema import BOUNDARY_COLUMNS, INCIDENT_COLUMNS, TIME_PRECISIONS, WGS84, conform_incidents

if TYPE_CHECKING:  # pragma: no cover
    from ward_geo.io.validation import ValidationReport

__all__ = [
    "BATCH_COLUMNS",
    "ROW_FIELDS",
    "WARD_COUNT_COLUMNS",
    "IngestResult",
    "PreparedBatch",
    "PreparedBoundaries",
    "boundaries_from_rows",
    "conflict_error",
    "frame_from_rows",
    "prepare_boundaries",
    "prepare_incidents",
    "ward_counts_from_rows",
]

#: Columns of :meth:`IncidentStore.ward_counts`.
WARD_COUNT_COLUMNS: tuple[str, ...] = ("ward_id", "name", "area_km2", "population", "n_incidents")
#: Columns of :meth:`IncidentStore.batches`.
BATCH_COLUMNS: tuple[str, ...] = ("batch_id", "source", "added", "duplicates", "at")

# Column order of a stored incident row, as the stores exchange it with the database.
ROW_FIELDS: tuple[str, ...] = (
    "incident_id",
    "category",
    "category_raw",
    "occurred_us",
    "time_precision",
    "severity",
    "description",
    "source",
    "ward_id",
    "lon",
    "lat",
)
_TEXT_FIELDS = ("incident_id", "category", "category_raw", "time_precision", "description", "source", "ward_id")
_MAX_LISTED = 20
_SOURCE = ROW_FIELDS.index("source")


@dataclass(frozen=True)
class IngestResult:
    """What one call of :meth:`IncidentStore.ingest` did.

    Attributes
    ----------
    added : int
        Rows newly written.
    duplicates : int
        Rows not written because an identical row was already stored (or appeared earlier
        in the same batch).
    batch_id : str
        Identifier of the batch in the store's batch log.
    report : ValidationReport or None
        The validation report of the rows, when they came from a reader (taken from
        ``incidents.attrs["validation_report"]``).
    """

    added: int
    duplicates: int
    batch_id: str
    report: ValidationReport | None = None

    @property
    def rejected(self) -> int:
        """Rows the reader rejected before the store saw them (0 without a report)."""
        return int(getattr(self.report, "rows_rejected", 0) or 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary (the report, when present, under ``"report"``)."""
        body: dict[str, Any] = {
            "batch_id": self.batch_id,
            "added": self.added,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
        }
        if self.report is not None:
            body["report"] = self.report.to_dict()
        return body

@dataclass
class PreparedBatch:
    """A validated batch of incident rows, ready to be written.

    ``rows`` holds one tuple per distinct incident, in :data:`ROW_FIELDS` order, with plain
    Python values (``None`` for null). ``in_batch_duplicates`` counts rows dropped because an
    identical row came earlier in the same batch; ``positions`` maps each id to its 1-based
    row in the input.
    """

    rows: list[tuple[Any, ...]]
    n_input: int
    in_batch_duplicates: int
    source: str | None
    positions: dict[str, int] = field(default_factory=dict)
    batch_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="microseconds"))


@dataclass
class PreparedBoundaries:
    """Validated ward rows: ``(ward_id, name, name_en, population, area_km2, wkb)`` tuples."""

    rows: list[tuple[Any, ...]]




def prepare_incidents(incidents: gpd.GeoDataFrame, source: str | None = None) -> PreparedBatch:
    """Validate a batch and turn it into plain rows.

    Rows are numbered as in a ValidationReport: the input file's data rows when
    ``incidents`` came from a reader (its report in ``attrs["validation_report"]`` says
    which rows it rejected), else 1-based positions in ``incidents``. The InputError
    carries a report listing them. Identical rows repeated within the batch are kept once
    (and counted as duplicates); rows sharing an ``incident_id`` with different content
    are a conflict.

    Parameters
    ----------
    incidents : GeoDataFrame
        Canonical incident rows.
    source : str, optional
        Label of the batch; rows whose own ``source`` is null take it.

    Returns
    -------
    PreparedBatch
        The distinct rows in :data:`ROW_FIELDS` order.

    Raises
    ------
    InputError
        Every problem of every row, in ``details["problems"]``; nothing is written.
    """
    frame = _canonical_frame(incidents, source)
    n = len(frame)
    rows = _BatchCheck(frame, _source_rows(incidents, n))
    text = rows.text_columns()
    if source is not None:
        text["source"] = [source if s is None else s for s in text["source"]]
    rows.check_codes(text)
    occurred_us = rows.times()
    severity = rows.severity()
    lon, lat = rows.points()
    prepared = [
        (
            text["incident_id"][i], text["category"][i], text["category_raw"][i], occurred_us[i],
            text["time_precision"][i], severity[i], text["description"][i], text["source"][i],
            text["ward_id"][i], float(lon[i]), float(lat[i]),
        )
        for i in range(n)
    ]
    if rows.problems:
        raise InputError(
            _problem_message(rows.problems, n),
            report=_refusal_report(rows.problems, n, source),
            details=rows.problems.details(),
        )
    return _distinct_batch(prepared, rows.row_of, source, text["source"])


def _canonical_frame(incidents: gpd.GeoDataFrame, source: str | None) -> gpd.GeoDataFrame:
    """The batch in EPSG:4326 with the canonical columns; InputError for what cannot be checked."""
    if not isinstance(incidents, gpd.GeoDataFrame):
        raise InputError(f"incidents must be a GeoDataFrame, got {type(incidents).__name__}")
    if source is not None and not isinstance(source, str):
        raise InputError(f"source must be a string, got {type(source).__name__}")
    missing = [c for c in ("incident_id", "category", "geometry") if c not in incidents.columns]
    if missing:
        raise InputError(
            f"incidents lack the required column(s) {', '.join(missing)} "
            f"(expected the canonical columns {', '.join(INCIDENT_COLUMNS)})",
            details={"missing_columns": missing},
        )
    frame = incidents
    if frame.crs is not None and not frame.crs.equals(WGS84):
        frame = frame.to_crs(WGS84)
    return conform_incidents(frame.set_crs(WGS84, allow_override=True))


class _BatchCheck:
    """The per-column checks of one batch, collecting problems by source row."""

    def __init__(self, frame: gpd.GeoDataFrame, row_of: list[int]) -> None:
        self.frame = frame
        self.n = len(frame)
        self.row_of = row_of
        self.problems = Problems("incidents")

    def problem(self, position: int, fld: str, reason: str, value: Any = None) -> None:
        """Record a problem of the row at ``position`` (0-based in the frame)."""
        shown = None if value is None else str(value)
        self.problems.add(reason, field=fld, row=self.row_of[position], value=shown)

    def text_columns(self) -> dict[str, list[str | None]]:
        """The text columns as Python strings; NUL characters and unpaired surrogates are problems."""
        text: dict[str, list[str | None]] = {}
        for col in _TEXT_FIELDS:
            values: list[str | None] = []
            for i, v in enumerate(self.frame[col].tolist()):
                values.append(None if v is None else self._text(i, col, v))
            text[col] = values
        return text

    def _text(self, i: int, col: str, v: Any) -> str:
        s = v if isinstance(v, str) else str(v)
        if "\x00" in s:
            self.problem(i, col, "contains a NUL character, which cannot be stored", s.replace("\x00", "\\x00"))
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            self.problem(i, col, "is not valid Unicode text (unpaired surrogate)", repr(s))
        return s

    def check_codes(self, text: dict[str, list[str | None]]) -> None:
        """Ids present, categories and time precisions from their vocabularies."""
        columns = zip(text["incident_id"], text["category"], text["time_precision"], strict=True)
        for i, (iid, cat, prec) in enumerate(columns):
            if iid is None or not iid.strip():
                self.problem(i, "incident_id", "is missing (every incident needs a non-empty id)", iid)
            if cat is None:
                self.problem(i, "category", "is missing (expected a category code)")
            elif cat not in CATEGORY_CODES:
                expected = ", ".join(CATEGORY_CODES)
                self.problem(i, "category", f"is not a category code (expected one of {expected})", cat)
            if prec is not None and prec not in TIME_PRECISIONS:
                self.problem(i, "time_precision", f"expected one of {', '.join(TIME_PRECISIONS)}", prec)

    def times(self) -> list[int | None]:
        """``occurred_at`` as microseconds since 1970 UTC; a missing time is a problem."""
        occurred = self.frame["occurred_at"]
        ns = occurred.array.asi8 if len(occurred) else np.array([], dtype=np.int64)
        time_null = occurred.isna().to_numpy()
        for i in np.flatnonzero(time_null):
            self.problem(int(i), "occurred_at", "is missing (expected a date or time)")
        return [None if time_null[i] else int(ns[i] // 1000) for i in range(self.n)]

    def severity(self) -> list[float | None]:
        """``severity`` as floats or None; negative or infinite values are problems."""
        raw = self.frame["severity"].to_numpy(dtype=np.float64, na_value=np.nan)
        out: list[float | None] = []
        for i, v in enumerate(raw):
            if math.isnan(v):
                out.append(None)
                continue
            if not math.isfinite(v) or v < 0:
                self.problem(i, "severity", "expected a finite number >= 0 or null", v)
            out.append(float(v))
        return out

    def points(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Longitudes and latitudes of the points; other geometries and bad coordinates are problems."""
        n = self.n
        geoms = np.asarray(self.frame.geometry.array, dtype=object)
        kinds = shapely.get_type_id(geoms)
        points = kinds == 0
        empty = np.zeros(n, dtype=bool)
        empty[points] = shapely.is_empty(geoms[points])
        lon = np.full(n, np.nan)
        lat = np.full(n, np.nan)
        usable = points & ~empty
        lon[usable] = shapely.get_x(geoms[usable])
        lat[usable] = shapely.get_y(geoms[usable])
        in_range = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
        for i in (int(k) for k in np.flatnonzero(~(usable & in_range))):
            if kinds[i] == -1:
                self.problem(i, "geometry", "is missing (expected a Point)")
            elif kinds[i] != 0:
                self.problem(i, "geometry", f"expected a Point, got a {geoms[i].geom_type}")
            elif empty[i]:
                self.problem(i, "geometry", "is an empty Point")
            else:
                reason = "coordinates out of range (expected lon in [-180, 180], lat in [-90, 90])"
                self.problem(i, "geometry", reason, f"{lon[i]} {lat[i]}")
        return lon, lat


def _distinct_batch(
    rows: list[tuple[Any, ...]], row_of: list[int], source: str | None, sources: list[str | None]
) -> PreparedBatch:
    """Drop rows repeated identically within the batch; InputError when one id has two contents."""
    n = len(rows)
    first: dict[str, int] = {}
    conflicts: set[str] = set()
    unique_rows: list[tuple[Any, ...]] = []
    in_batch_duplicates = 0
    for i, row in enumerate(rows):
        j = first.get(row[0])
        if j is None:
            first[row[0]] = i
            unique_rows.append(row)
        elif _content(rows[j]) == _content(row):
            in_batch_duplicates += 1
        else:
            conflicts.add(row[0])
    if conflicts:
        ids = sorted(conflicts)
        clashes = Problems("incidents")
        for i, row in enumerate(rows):
            if row[0] in conflicts:
                clashes.add(
                    "appears more than once with different content", field="incident_id", row=row_of[i], value=row[0]
                )
        raise InputError(
            f"{len(ids)} incident_id(s) appear more than once in the batch with different content: "
            f"{_list(ids)}; nothing was written",
            report=_refusal_report(clashes, n, source),
            details={"conflicting_ids": ids},
        )
    label = source
    if label is None:
        present = pd.Series(sources, dtype=object).dropna()
        label = str(present.mode().iloc[0]) if len(present) else None
    return PreparedBatch(
        rows=unique_rows, n_input=n, in_batch_duplicates=in_batch_duplicates, source=label,
        positions={iid: row_of[i] for iid, i in first.items()},
    )


def prepare_boundaries(boundaries: gpd.GeoDataFrame) -> PreparedBoundaries:
    """Validate ward boundaries.

    Parameters
    ----------
    boundaries : GeoDataFrame
        Ward polygons with ``ward_id`` (and optionally ``name``, ``name_en``, ``population``).

    Returns
    -------
    PreparedBoundaries
        One row per ward, with the geodesic area.

    Raises
    ------
    InputError
        Every problem of every row (1-based), in ``details["problems"]``.
    """
    if not isinstance(boundaries, gpd.GeoDataFrame):
        raise InputError(f"boundaries must be a GeoDataFrame, got {type(boundaries).__name__}")
    missing = [c for c in ("ward_id", "geometry") if c not in boundaries.columns]
    if missing:
        raise InputError(
            f"boundaries lack the required column(s) {', '.join(missing)} "
            f"(expected {', '.join(BOUNDARY_COLUMNS)})",
            details={"missing_columns": missing},
        )
    frame = boundaries
    if frame.crs is not None and not frame.crs.equals(WGS84):
        frame = frame.to_crs(WGS84)
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    problems = Problems("boundaries")
    rows: list[tuple[Any, ...]] = []
    seen: set[str] = set()
    columns = [_optional_column(frame, name) for name in ("name", "name_en", "population")]
    wards = zip(frame["ward_id"].tolist(), *columns, frame.geometry.array, strict=True)
    for i, (wid, name, name_en, pop, geom) in enumerate(wards, start=1):
        bad = len(problems)
        ward_id = _ward_id(i, wid, seen, problems)
        population = _population(i, pop, problems)
        if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            kind = "nothing" if geom is None else ("an empty geometry" if geom.is_empty else f"a {geom.geom_type}")
            problems.add(f"expected a Polygon or MultiPolygon, got {kind}", field="geometry", row=i)
        if len(problems) > bad:
            continue
        area_m2 = abs(geod.geometry_area_perimeter(geom)[0])
        rows.append(
            (ward_id, _text_or_none(name), _text_or_none(name_en), population, area_m2 / 1e6,
             shapely.to_wkb(geom, output_dimension=2))
        )
    if problems:
        raise InputError(
            f"{len(problems)} problem(s) in the boundaries; nothing was written: "
            + "; ".join(f"row {p.row} {p.field}: {p.reason}" for p in list(problems)[:_MAX_LISTED]),
            details=problems.details(),
        )
    return PreparedBoundaries(rows=rows)


def _optional_column(frame: gpd.GeoDataFrame, name: str) -> list[Any]:
    return frame[name].tolist() if name in frame.columns else [None] * len(frame)


def _text_or_none(value: Any) -> str | None:
    return None if _is_null(value) else str(value)


def _ward_id(row: int, value: Any, seen: set[str], problems: Problems) -> str | None:
    wid = _text_or_none(value)
    if wid is None or not wid.strip():
        problems.add("is missing", field="ward_id", row=row)
    elif wid in seen:
        problems.add("appears more than once", field="ward_id", row=row, value=wid)
    else:
        seen.add(wid)
    return wid


def _population(row: int, value: Any, problems: Problems) -> int | None:
    if _is_null(value):
        return None
    try:
        population = int(value)
        if population < 0 or population != float(value):
            raise ValueError
    except (TypeError, ValueError):
        problems.add("expected a whole number >= 0", field="population", row=row, value=str(value))
        return None
    return population


def frame_from_rows(rows: Sequence[Sequence[Any]]) -> gpd.GeoDataFrame:
    """Build the canonical GeoDataFrame from stored rows in :data:`ROW_FIELDS` order."""
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(ROW_FIELDS)
    data = dict(zip(ROW_FIELDS, cols, strict=True))
    occurred = pd.to_datetime(pd.array(list(data["occurred_us"]), dtype="Int64"), unit="us", utc=True)
    frame = gpd.GeoDataFrame(
        {
            "incident_id": list(data["incident_id"]),
            "category": list(data["category"]),
            "category_raw": list(data["category_raw"]),
            "occurred_at": occurred,
            "time_precision": list(data["time_precision"]),
            "severity": np.array([np.nan if v is None else v for v in data["severity"]], dtype=np.float64),
            "description": list(data["description"]),
            "source": list(data["source"]),
            "ward_id": list(data["ward_id"]),
        },
        geometry=gpd.points_from_xy(
            np.asarray(data["lon"], dtype=np.float64), np.asarray(data["lat"], dtype=np.float64)
        ),
        crs=WGS84,
    )
    return conform_incidents(frame)


def boundaries_from_rows(rows: Sequence[Sequence[Any]]) -> gpd.GeoDataFrame:
    """Build the boundary GeoDataFrame from ``(ward_id, name, name_en, population, wkb)`` rows."""
    cols = list(zip(*rows, strict=True)) if rows else [()] * 5
    return gpd.GeoDataFrame(
        {
            "ward_id": pd.array(list(cols[0]), dtype=object),
            "name": pd.array(list(cols[1]), dtype=object),
            "name_en": pd.array(list(cols[2]), dtype=object),
            "population": pd.array(list(cols[3]), dtype="Int64"),
        },
        geometry=gpd.GeoSeries(shapely.from_wkb([bytes(b) for b in cols[4]]), crs=WGS84),
        crs=WGS84,
    )


def ward_counts_from_rows(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Build the :meth:`ward_counts` frame from rows in its column order."""
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(WARD_COUNT_COLUMNS)
    return pd.DataFrame(
        {
            "ward_id": pd.array(list(cols[0]), dtype=object),
            "name": pd.array(list(cols[1]), dtype=object),
            "area_km2": np.array([np.nan if v is None else v for v in cols[2]], dtype=np.float64),
            "population": pd.array(list(cols[3]), dtype="Int64"),
            "n_incidents": np.array(cols[4], dtype=np.int64),
        }
    )



def conflict_error(ids: Sequence[str], batch: PreparedBatch) -> InputError:
    """The error raised when stored ids would be overwritten with different content."""
    ids = sorted(ids)
    ordered = sorted(ids, key=lambda i: (batch.positions.get(i) is None, batch.positions.get(i) or 0))
    issues = Problems("incidents")
    for i in ordered:
        reason = "already stored with different content (give a changed incident a new id)"
        issues.add(reason, field="incident_id", row=batch.positions.get(i), value=i)
    return InputError(
        f"{len(ids)} incident_id(s) are already stored with different content: {_list(ids)}; "
        "nothing was written (give changed incidents new ids)",
        report=_refusal_report(issues, batch.n_input, batch.source),
        details={"conflicting_ids": ids},
    )


def _content(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """The part of a row that decides whether two rows with one id are the same incident."""
    return row[:_SOURCE] + row[_SOURCE + 1 :]


def _list(ids: Sequence[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:_MAX_LISTED])
    return shown + (f" and {len(ids) - _MAX_LISTED} more" if len(ids) > _MAX_LISTED else "")


def _problem_message(problems: Problems, n: int) -> str:
    items = list(problems)
    rows = sorted({p.row for p in items if p.row is not None})
    head = "; ".join(f"row {p.row} {p.field}: {p.reason}" for p in items[:_MAX_LISTED])
    more = f" (and {len(problems) - _MAX_LISTED} more)" if len(problems) > _MAX_LISTED else ""
    return f"{len(rows)} of {n} incident row(s) cannot be stored; nothing was written: {head}{more}"


def _source_rows(incidents: gpd.GeoDataFrame, n: int) -> list[int]:
    """1-based row number of each row of ``incidents``, in its source file when known.

    A reader's frame holds the file's accepted rows in order; its report lists the rejected
    ones, so the k-th accepted row is the k-th row number not rejected. Without a consistent
    report the rows are numbered by position.
    """
    report = getattr(incidents, "attrs", {}).get("validation_report")
    if report is not None and getattr(report, "rows_accepted", None) == n:
        rejected = set(report.rejected_rows())
        accepted = [r for r in range(1, report.rows_read + 1) if r not in rejected]
        if len(accepted) == n:
            return accepted
    return list(range(1, n + 1))


def _refusal_report(problems: Problems, n: int, source: str | None) -> ValidationReport:
    """A ValidationReport for a refused batch: every row rejected, the culprits listed."""
    from ward_geo.io.validation import ValidationReport

    report = ValidationReport(source=source or "", rows_read=n, rows_accepted=0, rows_rejected=n)
    for p in problems:
        report.add(p.row, p.field or "", p.reason, "rejected", p.value)
    report.note(
        f"the store refused the whole batch of {n} row(s) because of the {len(problems)} problem(s) listed; "
        "nothing was written"
    )
    return report


def _is_null(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)
