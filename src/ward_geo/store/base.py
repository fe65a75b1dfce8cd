"""The :class:`IncidentStore` interface shared by every store implementation.

A store keeps the canonical incident table (see :mod:`ward_geo.schema`) and the ward
boundaries durably, and answers filtered queries. Every implementation gives the same
guarantees, checked by one shared test suite (``tests/store/``):

- **Idempotent ingest.** Rows are keyed by ``incident_id``. A row identical to one already
  stored counts as a duplicate and is not written again; a row whose id is stored with
  different content is a conflict: the whole batch is refused with an
  :class:`~ward_geo.errors.InputError` listing the conflicting ids. "Content" is every
  column except ``source`` (provenance: the same incident arriving in a renamed file is a
  duplicate and keeps the source it was first stored with); ``ward_id`` is content, so
  ingest with the same boundaries each time (the CLI uses the store's wards by default).
- **All-or-nothing batches.** A batch is written in one transaction. Invalid rows, a
  conflict, a crash of the writing process or a lost connection leave the store exactly as it
  was before the batch.
- **Durable on return.** When :meth:`IncidentStore.ingest` returns, the rows survive a crash of
  the process or of the machine.
- **Safe for concurrent writers.** Several threads or processes may ingest overlapping batches
  at the same time; no row is lost and none is stored twice.

Times are stored to the microsecond in UTC (finer digits are floored). Text is stored
verbatim (no normalisation), so Vietnamese text and HTML round-trip byte for byte; text may
not contain NUL characters or unpaired surrogates, which no database stores faithfully.
"""

from __future__ import annotations

import math
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ward_geo.categories import CATEGORY_CODES
from ward_geo.errors import InputError, ParameterError
from ward_geo.schema import BOUNDARY_COLUMNS, INCIDENT_COLUMNS, TIME_PRECISIONS, WGS84, conform_incidents

if TYPE_CHECKING:  # pragma: no cover
    from ward_geo.io.validation import ValidationReport

__all__ = [
    "IncidentStore",
    "IngestResult",
    "QueryFilters",
    "PreparedBatch",
    "PreparedBoundaries",
    "ORDERS",
    "WARD_COUNT_COLUMNS",
    "BATCH_COLUMNS",
]

#: Accepted values of the ``order`` argument of :meth:`IncidentStore.query`.
ORDERS: tuple[str | None, ...] = ("occurred_at", "-occurred_at", "incident_id", None)
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


@dataclass(frozen=True)
class QueryFilters:
    """Normalised query filters (see :meth:`IncidentStore.query`)."""

    ward_ids: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    since_us: int | None = None
    until_us: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    limit: int | None = None
    offset: int = 0
    order: str | None = "occurred_at"

    @property
    def empty(self) -> bool:
        """True when the filters cannot match any row (an empty id or category list)."""
        return self.ward_ids == () or self.categories == ()


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


class IncidentStore(ABC):
    """Durable store of incidents and ward boundaries.

    Use as a context manager (``with open_store() as store: ...``) or call :meth:`close`.
    Implementations: :class:`~ward_geo.store.sqlite.SQLiteStore` (the embedded default) and
    :class:`~ward_geo.store.postgis.PostGISStore`.
    """

    #: Short name of the backend ("sqlite", "postgis").
    backend: str = ""

    # ------------------------------------------------------------------ writing
    @abstractmethod
    def ingest(self, incidents: gpd.GeoDataFrame, *, source: str | None = None) -> IngestResult:
        """Add incidents atomically and idempotently.

        Parameters
        ----------
        incidents : GeoDataFrame
            Canonical incident rows (see :mod:`ward_geo.schema`); other CRSs are reprojected
            to EPSG:4326, a missing CRS is taken as EPSG:4326.
        source : str, optional
            Label of the batch in the batch log; rows whose own ``source`` is null take it.
            Defaults to the most frequent ``source`` of the rows.

        Returns
        -------
        IngestResult
            Rows added and duplicates skipped.

        Raises
        ------
        InputError
            Invalid rows (every problem listed in ``details["problems"]``) or rows whose
            ``incident_id`` is already stored with different content
            (``details["conflicting_ids"]``). Nothing is written.
        StoreError
            The store is unreachable or the transaction failed. Nothing is written.
        """

    @abstractmethod
    def put_boundaries(self, boundaries: gpd.GeoDataFrame) -> int:
        """Add or replace ward boundaries (keyed by ``ward_id``) in one transaction.

        Returns
        -------
        int
            The number of wards added or changed (0 when every ward was already stored
            identically). :meth:`data_version` changes when this is non-zero.
        """

    # ------------------------------------------------------------------ reading
    @abstractmethod
    def query(
        self,
        *,
        ward_ids: Iterable[str] | str | None = None,
        categories: Iterable[str] | str | None = None,
        since: Any = None,
        until: Any = None,
        bbox: Sequence[float] | None = None,
        limit: int | None = None,
        offset: int = 0,
        order: str | None = "occurred_at",
    ) -> gpd.GeoDataFrame:
        """Incidents matching every given filter, as the canonical GeoDataFrame.

        Parameters
        ----------
        ward_ids, categories : str or iterable of str, optional
            Keep rows whose ``ward_id`` / ``category`` is one of these (an empty list
            matches nothing).
        since, until : str, datetime or Timestamp, optional
            Half-open time window ``since <= occurred_at < until``; naive values are read in
            the configured time zone (``WARD_GEO_TIMEZONE``).
        bbox : (min_lon, min_lat, max_lon, max_lat), optional
            Keep points inside the box, edges included (EPSG:4326 degrees).
        limit, offset : int, optional
            Paging, applied after ordering.
        order : {"occurred_at", "-occurred_at", "incident_id", None}
            Sort key; ties are broken by ``incident_id``; ``None`` keeps insertion order.

        Returns
        -------
        GeoDataFrame
            Canonical incident columns, EPSG:4326, ``occurred_at`` tz-aware UTC.
        """

    @abstractmethod
    def count(
        self,
        *,
        ward_ids: Iterable[str] | str | None = None,
        categories: Iterable[str] | str | None = None,
        since: Any = None,
        until: Any = None,
        bbox: Sequence[float] | None = None,
    ) -> int:
        """Number of incidents matching the filters (same meaning as :meth:`query`)."""

    @abstractmethod
    def get(self, incident_id: str) -> pd.Series | None:
        """The incident with this id as a row of the canonical table, or None."""

    @abstractmethod
    def boundaries(self, ward_ids: Iterable[str] | str | None = None) -> gpd.GeoDataFrame:
        """Stored ward boundaries (``BOUNDARY_COLUMNS``, EPSG:4326), ordered by ``ward_id``."""

    @abstractmethod
    def ward_counts(self) -> pd.DataFrame:
        """Wards with their area and incident count.

        Returns
        -------
        DataFrame
            Columns ``ward_id, name, area_km2, population, n_incidents``, one row per stored
            ward plus one per ``ward_id`` that incidents carry but no stored boundary has
            (name, area and population null), ordered by ``ward_id``. Incidents outside every
            ward (null ``ward_id``) are not listed; :meth:`count` includes them.
        """

    @abstractmethod
    def batches(self) -> pd.DataFrame:
        """The batch log: ``batch_id, source, added, duplicates, at`` (oldest first)."""

    @abstractmethod
    def data_version(self) -> str:
        """Opaque token that changes whenever incidents are added or boundaries change."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection; the store cannot be used afterwards."""

    def __enter__(self) -> IncidentStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ shared helpers
    @staticmethod
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
        """Check and normalise query arguments; raises ParameterError naming the argument."""
        problems: list[str] = []
        wards = _string_tuple("ward_ids", ward_ids, problems)
        cats = _string_tuple("categories", categories, problems)
        since_us = _time_us("since", since, problems)
        until_us = _time_us("until", until, problems)
        box: tuple[float, float, float, float] | None = None
        if bbox is not None:
            try:
                values = tuple(float(v) for v in bbox)
            except (TypeError, ValueError):
                values = ()
            if len(values) != 4 or not all(math.isfinite(v) for v in values):
                problems.append(f"bbox must be four finite numbers (min_lon, min_lat, max_lon, max_lat), got {bbox!r}")
            elif values[0] > values[2] or values[1] > values[3]:
                problems.append(f"bbox minimums must not exceed maximums, got {values!r}")
            else:
                box = values  # type: ignore[assignment]
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0):
            problems.append(f"limit must be a non-negative integer or None, got {limit!r}")
        if isinstance(offset, bool) or not isinstance(offset, (int, np.integer)) or offset < 0:
            problems.append(f"offset must be a non-negative integer, got {offset!r}")
        if order not in ORDERS:
            problems.append(f"order must be one of {ORDERS!r}, got {order!r}")
        if problems:
            raise ParameterError("; ".join(problems), details={"problems": problems})
        return QueryFilters(
            ward_ids=wards,
            categories=cats,
            since_us=since_us,
            until_us=until_us,
            bbox=box,
            limit=None if limit is None else int(limit),
            offset=int(offset),
            order=order,
        )

    @staticmethod
    def prepare_incidents(incidents: gpd.GeoDataFrame, source: str | None = None) -> PreparedBatch:
        """Validate a batch and turn it into plain rows; raises InputError listing every problem.

        Rows are numbered as in a ValidationReport: the input file's data rows when
        ``incidents`` came from a reader (its report in ``attrs["validation_report"]`` says
        which rows it rejected), else 1-based positions in ``incidents``. The InputError
        carries a report listing them.
        Identical rows repeated within the batch are kept once (and counted as duplicates);
        rows sharing an ``incident_id`` with different content are a conflict.
        """
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
        frame = conform_incidents(frame.set_crs(WGS84, allow_override=True))
        n = len(frame)
        row_of = _source_rows(incidents, n)
        problems: list[dict[str, Any]] = []

        def problem(position: int, fld: str, reason: str, value: Any = None) -> None:
            shown = None if value is None else str(value)
            problems.append({"row": row_of[position], "field": fld, "reason": reason, "value": shown})

        text: dict[str, list[str | None]] = {}
        for col in _TEXT_FIELDS:
            values: list[str | None] = []
            for i, v in enumerate(frame[col].tolist()):
                if v is None:
                    values.append(None)
                    continue
                s = v if isinstance(v, str) else str(v)
                if "\x00" in s:
                    problem(i, col, "contains a NUL character, which cannot be stored", s.replace("\x00", "\\x00"))
                try:
                    s.encode("utf-8")
                except UnicodeEncodeError:
                    problem(i, col, "is not valid Unicode text (unpaired surrogate)", repr(s))
                values.append(s)
            text[col] = values

        if source is not None:
            text["source"] = [source if s is None else s for s in text["source"]]

        for i, (iid, cat, prec) in enumerate(zip(text["incident_id"], text["category"], text["time_precision"])):
            if iid is None or not iid.strip():
                problem(i, "incident_id", "is missing (every incident needs a non-empty id)", iid)
            if cat is None:
                problem(i, "category", "is missing (expected a category code)")
            elif cat not in CATEGORY_CODES:
                problem(i, "category", f"is not a category code (expected one of {', '.join(CATEGORY_CODES)})", cat)
            if prec is not None and prec not in TIME_PRECISIONS:
                problem(i, "time_precision", f"expected one of {', '.join(TIME_PRECISIONS)}", prec)

        occurred = frame["occurred_at"]
        ns = occurred.array.asi8 if len(occurred) else np.array([], dtype=np.int64)
        time_null = occurred.isna().to_numpy()
        occurred_us: list[int | None] = [None if time_null[i] else int(ns[i] // 1000) for i in range(n)]
        for i in np.flatnonzero(time_null):
            problem(int(i), "occurred_at", "is missing (expected a date or time)")

        severity_raw = frame["severity"].to_numpy(dtype=np.float64, na_value=np.nan)
        severity: list[float | None] = []
        for i, v in enumerate(severity_raw):
            if math.isnan(v):
                severity.append(None)
            else:
                if not math.isfinite(v) or v < 0:
                    problem(i, "severity", "expected a finite number >= 0 or null", v)
                severity.append(float(v))

        geoms = np.asarray(frame.geometry.array, dtype=object)
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
        for i in np.flatnonzero(~(usable & in_range)):
            i = int(i)
            if kinds[i] == -1:
                problem(i, "geometry", "is missing (expected a Point)")
            elif kinds[i] != 0:
                problem(i, "geometry", f"expected a Point, got a {geoms[i].geom_type}")
            elif empty[i]:
                problem(i, "geometry", "is an empty Point")
            else:
                problem(
                    i, "geometry", "coordinates out of range (expected lon in [-180, 180], lat in [-90, 90])",
                    f"{lon[i]} {lat[i]}",
                )

        rows: list[tuple[Any, ...]] = [
            (
                text["incident_id"][i],
                text["category"][i],
                text["category_raw"][i],
                occurred_us[i],
                text["time_precision"][i],
                severity[i],
                text["description"][i],
                text["source"][i],
                text["ward_id"][i],
                float(lon[i]),
                float(lat[i]),
            )
            for i in range(n)
        ]

        if problems:
            raise InputError(
                _problem_message(problems, n),
                report=_refusal_report(problems, n, source),
                details={"problems": problems},
            )

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
            clashes = [
                {"row": row_of[i], "field": "incident_id", "reason": "appears more than once with different content",
                 "value": row[0]}
                for i, row in enumerate(rows)
                if row[0] in conflicts
            ]
            raise InputError(
                f"{len(ids)} incident_id(s) appear more than once in the batch with different content: "
                f"{_list(ids)}; nothing was written",
                report=_refusal_report(clashes, n, source),
                details={"conflicting_ids": ids},
            )

        label = source
        if label is None:
            sources = pd.Series(text["source"], dtype=object).dropna()
            label = str(sources.mode().iloc[0]) if len(sources) else None
        return PreparedBatch(
            rows=unique_rows, n_input=n, in_batch_duplicates=in_batch_duplicates, source=label,
            positions={iid: row_of[i] for iid, i in first.items()},
        )

    @staticmethod
    def prepare_boundaries(boundaries: gpd.GeoDataFrame) -> PreparedBoundaries:
        """Validate ward boundaries; raises InputError listing every problem."""
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
        problems: list[dict[str, Any]] = []
        rows: list[tuple[Any, ...]] = []
        seen: set[str] = set()
        names = frame["name"].tolist() if "name" in frame.columns else [None] * len(frame)
        names_en = frame["name_en"].tolist() if "name_en" in frame.columns else [None] * len(frame)
        pops = frame["population"].tolist() if "population" in frame.columns else [None] * len(frame)
        for i, (wid, name, name_en, pop, geom) in enumerate(
            zip(frame["ward_id"].tolist(), names, names_en, pops, frame.geometry.array)
        ):
            bad = len(problems)
            wid = None if _is_null(wid) else str(wid)
            if wid is None or not wid.strip():
                problems.append({"row": i + 1, "field": "ward_id", "reason": "is missing"})
            elif wid in seen:
                problems.append({"row": i + 1, "field": "ward_id", "reason": "appears more than once", "value": wid})
            else:
                seen.add(wid)
            population: int | None = None
            if not _is_null(pop):
                try:
                    population = int(pop)
                    if population < 0 or population != float(pop):
                        raise ValueError
                except (TypeError, ValueError):
                    problems.append(
                        {"row": i + 1, "field": "population", "reason": "expected a whole number >= 0",
                         "value": str(pop)}
                    )
            if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
                kind = "nothing" if geom is None else ("an empty geometry" if geom.is_empty else f"a {geom.geom_type}")
                reason = f"expected a Polygon or MultiPolygon, got {kind}"
                problems.append({"row": i + 1, "field": "geometry", "reason": reason})
            if len(problems) > bad:
                continue
            area_m2 = abs(geod.geometry_area_perimeter(geom)[0])
            rows.append(
                (
                    wid,
                    None if _is_null(name) else str(name),
                    None if _is_null(name_en) else str(name_en),
                    population,
                    area_m2 / 1e6,
                    shapely.to_wkb(geom, output_dimension=2),
                )
            )
        if problems:
            raise InputError(
                f"{len(problems)} problem(s) in the boundaries; nothing was written: "
                + "; ".join(f"row {p['row']} {p['field']}: {p['reason']}" for p in problems[:_MAX_LISTED]),
                details={"problems": problems},
            )
        return PreparedBoundaries(rows=rows)

    @staticmethod
    def frame_from_rows(rows: Sequence[Sequence[Any]]) -> gpd.GeoDataFrame:
        """Build the canonical GeoDataFrame from stored rows in :data:`ROW_FIELDS` order."""
        cols = list(zip(*rows)) if rows else [()] * len(ROW_FIELDS)
        data = dict(zip(ROW_FIELDS, cols))
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

    @staticmethod
    def boundaries_from_rows(rows: Sequence[Sequence[Any]]) -> gpd.GeoDataFrame:
        """Build the boundary GeoDataFrame from ``(ward_id, name, name_en, population, wkb)`` rows."""
        cols = list(zip(*rows)) if rows else [()] * 5
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

    @staticmethod
    def ward_counts_from_rows(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
        """Build the :meth:`ward_counts` frame from rows in its column order."""
        cols = list(zip(*rows)) if rows else [()] * len(WARD_COUNT_COLUMNS)
        return pd.DataFrame(
            {
                "ward_id": pd.array(list(cols[0]), dtype=object),
                "name": pd.array(list(cols[1]), dtype=object),
                "area_km2": np.array([np.nan if v is None else v for v in cols[2]], dtype=np.float64),
                "population": pd.array(list(cols[3]), dtype="Int64"),
                "n_incidents": np.array(cols[4], dtype=np.int64),
            }
        )

    @staticmethod
    def conflict_error(ids: Sequence[str], batch: PreparedBatch) -> InputError:
        """The error raised when stored ids would be overwritten with different content."""
        ids = sorted(ids)
        issues = [
            {"row": batch.positions.get(i), "field": "incident_id",
             "reason": "already stored with different content (give a changed incident a new id)", "value": i}
            for i in ids
        ]
        issues.sort(key=lambda p: (p["row"] is None, p["row"] or 0))
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


def _problem_message(problems: list[dict[str, Any]], n: int) -> str:
    rows = sorted({p["row"] for p in problems})
    head = "; ".join(f"row {p['row']} {p['field']}: {p['reason']}" for p in problems[:_MAX_LISTED])
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


def _refusal_report(problems: list[dict[str, Any]], n: int, source: str | None) -> ValidationReport:
    """A ValidationReport for a refused batch: every row rejected, the culprits listed."""
    from ward_geo.io.validation import ValidationReport

    report = ValidationReport(source=source or "", rows_read=n, rows_accepted=0, rows_rejected=n)
    for p in problems:
        report.add(p["row"], p["field"], p["reason"], "rejected", p.get("value"))
    report.note(
        f"the store refused the whole batch of {n} row(s) because of the {len(problems)} problem(s) listed; "
        "nothing was written"
    )
    return report


def _is_null(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _string_tuple(name: str, value: Iterable[str] | str | None, problems: list[str]) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    bad = [v for v in items if not isinstance(v, str)]
    if bad:
        problems.append(f"{name} must be strings, got {bad[:5]!r}")
        return None
    return tuple(dict.fromkeys(items))


def _time_us(name: str, value: Any, problems: list[str]) -> int | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        problems.append(f"{name} is not a date or time: {value!r} ({exc})")
        return None
    if ts is pd.NaT:
        problems.append(f"{name} is not a date or time: {value!r}")
        return None
    try:
        if ts.tzinfo is None:
            from ward_geo.settings import get_settings

            ts = ts.tz_localize(get_settings().timezone)
        return int(ts.tz_convert("UTC").as_unit("ns").value // 1000)
    except (OverflowError, ValueError) as exc:  # OutOfBoundsDatetime is a ValueError
        problems.append(f"{name} {value!r} is outside the supported years 1677–2262 ({exc})")
        return None
