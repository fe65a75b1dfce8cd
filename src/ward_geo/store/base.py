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

Hotspot sets
------------
A store also keeps computed hotspot tables (:class:`HotspotSetRecord`) so that a result can
be served again without recomputing it: :meth:`IncidentStore.put_hotspot_set` writes one set
(its definition, the data version it was computed on and its features) in one transaction,
keeps the newest ``keep`` sets per definition ``key`` and never touches the incidents or the
data version. :meth:`IncidentStore.scope_version` tells whether the incidents and wards a
set was computed from have changed since. The features are serialised here, once, for every
backend (:func:`encode_hotspot_features` / :func:`decode_hotspot_features`): each row's
properties as one JSON object, the geometry as WKB, and a column map (name and dtype of
every column) saved with the set so that decoding restores the dtypes.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ward_geo.categories import CATEGORY_CODES
from ward_geo.errors import InputError, ParameterError, StoreError
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
    "HotspotSetRecord",
    "PreparedHotspotSet",
    "HOTSPOT_SET_COLUMNS",
    "HOTSPOT_SETS_KEPT",
    "encode_hotspot_features",
    "decode_hotspot_features",
    "json_safe",
]

#: Accepted values of the ``order`` argument of :meth:`IncidentStore.query`.
ORDERS: tuple[str | None, ...] = ("occurred_at", "-occurred_at", "incident_id", None)
#: Columns of :meth:`IncidentStore.ward_counts`.
WARD_COUNT_COLUMNS: tuple[str, ...] = ("ward_id", "name", "area_km2", "population", "n_incidents")
#: Columns of :meth:`IncidentStore.batches`.
BATCH_COLUMNS: tuple[str, ...] = ("batch_id", "source", "added", "duplicates", "at")
#: Columns of :meth:`IncidentStore.hotspot_sets`.
HOTSPOT_SET_COLUMNS: tuple[str, ...] = ("set_id", "key", "data_version", "created_at", "ward_ids", "n_hotspots")
#: Default number of hotspot sets :meth:`IncidentStore.put_hotspot_set` keeps per key.
HOTSPOT_SETS_KEPT = 5

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


# Column order of a stored hotspot set row, as the stores exchange it with the database.
HOTSPOT_SET_FIELDS: tuple[str, ...] = (
    "set_id",
    "key",
    "data_version",
    "created_us",
    "ward_ids",
    "definition",
    "attrs",
    "columns",
    "n_hotspots",
)


@dataclass(frozen=True, eq=False)
class HotspotSetRecord:
    """One stored hotspot table and the definition it was computed from.

    Attributes
    ----------
    set_id : str
        Identifier of the set (primary key in the store).
    key : str
        Hash of the definition without the data version (ward, window rule, method,
        parameters...): sets with one key are versions of the same result.
    data_version : str
        Version of the data the set was computed on (for example
        :meth:`IncidentStore.scope_version` or :meth:`IncidentStore.data_version`).
    definition : dict
        The definition itself (JSON-safe values; see :func:`json_safe`).
    created_at : Timestamp
        When the set was computed; must be time-zone aware, kept in UTC to the microsecond
        (finer digits are floored).
    ward_ids : tuple of str
        Wards the set covers (a list is turned into a tuple, repeats dropped).
    hotspots : GeoDataFrame
        The hotspot features (see :func:`encode_hotspot_features` for what can be stored).
    attrs : dict, default {}
        The table's ``attrs`` (params, evidence...), JSON-safe. A set read back from a store
        has a copy of them in ``hotspots.attrs`` too.

    Raises
    ------
    ParameterError
        A field has the wrong type (every problem listed in ``details["problems"]``).

    Notes
    -----
    Records compare by identity (``eq=False``): a GeoDataFrame has no single truth value.
    """

    set_id: str
    key: str
    data_version: str
    definition: dict[str, Any]
    created_at: pd.Timestamp
    ward_ids: tuple[str, ...]
    hotspots: gpd.GeoDataFrame
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems: list[str] = []
        for name in ("set_id", "key", "data_version"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{name} must be a non-empty string, got {value!r}")
        for name in ("definition", "attrs"):
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                problems.append(f"{name} must be a dict, got {type(value).__name__}")
        created = _utc_timestamp("created_at", self.created_at, problems)
        wards: tuple[str, ...] | None = None
        if self.ward_ids is None:
            problems.append("ward_ids must be a ward id or a sequence of ward ids, got None")
        else:
            try:
                wards = _string_tuple("ward_ids", self.ward_ids, problems)
            except TypeError:
                problems.append(f"ward_ids must be a ward id or a sequence of ward ids, got {self.ward_ids!r}")
        if not isinstance(self.hotspots, gpd.GeoDataFrame):
            problems.append(f"hotspots must be a GeoDataFrame, got {type(self.hotspots).__name__}")
        if problems:
            raise ParameterError("invalid hotspot set record: " + "; ".join(problems), details={"problems": problems})
        object.__setattr__(self, "created_at", created)
        object.__setattr__(self, "ward_ids", wards)
        object.__setattr__(self, "definition", dict(self.definition))
        object.__setattr__(self, "attrs", dict(self.attrs))

    @property
    def n_hotspots(self) -> int:
        """Number of hotspot features in the set."""
        return len(self.hotspots)


@dataclass
class PreparedHotspotSet:
    """A hotspot set encoded for storage (see :meth:`IncidentStore.prepare_hotspot_set`).

    ``created_us`` is microseconds since 1970-01-01 UTC; ``ward_ids``, ``definition``,
    ``attrs`` and ``columns`` are JSON text; ``features`` holds one
    ``(position, properties JSON, WKB or None)`` tuple per hotspot, in table order.
    """

    set_id: str
    key: str
    data_version: str
    created_us: int
    ward_ids: str
    definition: str
    attrs: str
    columns: str
    n_hotspots: int
    features: list[tuple[int, str, bytes | None]]
    keep: int = HOTSPOT_SETS_KEPT

    def set_row(self) -> tuple[Any, ...]:
        """The ``hotspot_sets`` row in :data:`HOTSPOT_SET_FIELDS` order."""
        return tuple(getattr(self, name) for name in HOTSPOT_SET_FIELDS)


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

    # ------------------------------------------------------------------ hotspot sets
    @abstractmethod
    def put_hotspot_set(self, record: HotspotSetRecord, *, keep: int = HOTSPOT_SETS_KEPT) -> None:
        """Store a hotspot set in one transaction, keeping the newest ``keep`` sets of its key.

        Putting a ``set_id`` that is already stored changes nothing (the first stored content
        is kept: a set id stands for one key and data version). After a new set is written,
        the sets with the same ``key`` beyond the newest ``keep`` (by ``created_at``; ties:
        the later put counts as newer) are deleted, in the same transaction. Incidents,
        boundaries and :meth:`data_version` are never touched.

        Parameters
        ----------
        record : HotspotSetRecord
            The set to store.
        keep : int, default 5
            Sets kept per key (at least 1).

        Raises
        ------
        ParameterError
            ``record`` is not a HotspotSetRecord or ``keep`` is not a positive integer.
        InputError
            A value of the set cannot be stored (see :func:`encode_hotspot_features`), or
            ``set_id`` is already stored for another key or data version. Nothing is written.
        StoreError
            The store is unreachable or the transaction failed. Nothing is written.
        """

    #: Query placeholder of the backend's driver (``?`` for sqlite3, ``%s`` for psycopg).
    PARAM = "?"

    @abstractmethod
    def _one_set(self, where: str, params: Sequence[Any]) -> HotspotSetRecord | None:
        """The newest stored set matching the SQL condition ``where`` (one transaction), or None."""

    def _set_where(self, **columns: str) -> tuple[str, tuple[str, ...]]:
        """``col = <placeholder> AND ...`` and the checked values, for :meth:`_one_set`."""
        where = " AND ".join(f"{name} = {self.PARAM}" for name in columns)
        return where, tuple(self.check_text(name, value) for name, value in columns.items())

    def get_hotspot_set(self, set_id: str) -> HotspotSetRecord | None:
        """The stored set with this id, or None."""
        return self._one_set(*self._set_where(set_id=set_id))

    def find_hotspot_set(self, key: str, data_version: str) -> HotspotSetRecord | None:
        """The newest stored set with this key computed on this data version, or None."""
        return self._one_set(*self._set_where(key=key, data_version=data_version))

    def latest_hotspot_set(self, key: str) -> HotspotSetRecord | None:
        """The newest stored set with this key (any data version), or None."""
        return self._one_set(*self._set_where(key=key))

    @abstractmethod
    def hotspot_sets(self, *, key: str | None = None, ward_id: str | None = None) -> pd.DataFrame:
        """List the stored hotspot sets, without their features.

        Parameters
        ----------
        key : str, optional
            Keep the sets with this key.
        ward_id : str, optional
            Keep the sets whose ``ward_ids`` include this ward.

        Returns
        -------
        DataFrame
            Columns ``set_id, key, data_version, created_at`` (datetime64[ns, UTC]),
            ``ward_ids`` (tuples) and ``n_hotspots`` (int64), newest first.
        """

    @abstractmethod
    def scope_version(
        self,
        ward_ids: Iterable[str] | str | None,
        categories: Iterable[str] | str | None = None,
        since: Any = None,
        until: Any = None,
    ) -> str:
        """Short hex token of the incidents and wards a computation reads.

        The token changes when incidents matching the filters are added or when a stored
        boundary of one of the wards is added or changed; it stays the same when an ingest
        adds only incidents outside the filters (for example into other wards). Filters have
        the meaning of :meth:`query` (``ward_ids=None``: every incident and every ward); the
        token also depends on the filters themselves and on the store.

        Returns
        -------
        str
            16 hexadecimal digits.
        """

    def check_file(self) -> None:
        """Verify that the store's backing file is still the one that was opened.

        Stores without a local file (PostGIS) have nothing to check. The SQLite store
        refuses, from then on, every write once its file was deleted, replaced or
        truncated under the running process, and rescues the data it still holds.

        Raises
        ------
        StoreFileChangedError
            The file is gone or changed (the message says where the data was rescued to).
        """
        return None

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

    @staticmethod
    def prepare_hotspot_set(record: HotspotSetRecord, keep: int = HOTSPOT_SETS_KEPT) -> PreparedHotspotSet:
        """Check and encode a hotspot set for storage (nothing is written).

        Raises
        ------
        ParameterError
            ``record`` is not a HotspotSetRecord or ``keep`` is not an integer >= 1.
        InputError
            A value cannot be stored (the message names the column and position, or the key
            inside ``definition`` / ``attrs``).
        """
        if not isinstance(record, HotspotSetRecord):
            raise ParameterError(f"record must be a HotspotSetRecord, got {type(record).__name__}")
        if isinstance(keep, bool) or not isinstance(keep, (int, np.integer)) or keep < 1:
            raise ParameterError(f"keep must be an integer >= 1 (sets kept per key), got {keep!r}")
        columns, features = encode_hotspot_features(record.hotspots)
        return PreparedHotspotSet(
            set_id=record.set_id,
            key=record.key,
            data_version=record.data_version,
            created_us=int(record.created_at.value) // 1000,
            ward_ids=_dumps(list(record.ward_ids)),
            definition=_dumps(json_safe(record.definition, "definition")),
            attrs=_dumps(json_safe(record.attrs, "attrs")),
            columns=columns,
            n_hotspots=len(features),
            features=features,
            keep=int(keep),
        )

    @staticmethod
    def hotspot_set_from_rows(
        set_row: Sequence[Any], feature_rows: Sequence[Sequence[Any]]
    ) -> HotspotSetRecord:
        """Build a record from its stored row (:data:`HOTSPOT_SET_FIELDS` order) and features.

        ``feature_rows`` holds ``(properties JSON, WKB or None)`` pairs ordered by position.

        Raises
        ------
        StoreError
            The stored set is incomplete (fewer or more features than recorded).
        """
        row = dict(zip(HOTSPOT_SET_FIELDS, set_row))
        if len(feature_rows) != int(row["n_hotspots"]):
            raise StoreError(
                f"hotspot set {row['set_id']!r} is damaged: {len(feature_rows)} stored feature(s), "
                f"{row['n_hotspots']} expected; put it again",
                details={"set_id": row["set_id"]},
            )
        attrs = json.loads(row["attrs"])
        hotspots = decode_hotspot_features(row["columns"], feature_rows)
        hotspots.attrs = copy.deepcopy(attrs)
        return HotspotSetRecord(
            set_id=row["set_id"],
            key=row["key"],
            data_version=row["data_version"],
            definition=json.loads(row["definition"]),
            created_at=pd.Timestamp(int(row["created_us"]), unit="us", tz="UTC"),
            ward_ids=tuple(json.loads(row["ward_ids"])),
            hotspots=hotspots,
            attrs=attrs,
        )

    @staticmethod
    def hotspot_listing_from_rows(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
        """Build the :meth:`hotspot_sets` frame from ``(set_id, key, data_version, created_us,
        ward_ids JSON, n_hotspots)`` rows."""
        cols = list(zip(*rows)) if rows else [()] * len(HOTSPOT_SET_COLUMNS)
        ward_ids = np.empty(len(rows), dtype=object)
        for i, text in enumerate(cols[4]):
            ward_ids[i] = tuple(json.loads(text))
        return pd.DataFrame(
            {
                "set_id": pd.Series(list(cols[0]), dtype=object),
                "key": pd.Series(list(cols[1]), dtype=object),
                "data_version": pd.Series(list(cols[2]), dtype=object),
                "created_at": pd.to_datetime(np.asarray(cols[3], dtype=np.int64), unit="us", utc=True).as_unit("ns"),
                "ward_ids": ward_ids,
                "n_hotspots": np.asarray(cols[5], dtype=np.int64),
            }
        )

    @staticmethod
    def hotspot_set_conflict(prepared: PreparedHotspotSet, key: str, data_version: str) -> InputError:
        """The error raised when a set id is already stored for another key or data version."""
        return InputError(
            f"hotspot set {prepared.set_id!r} is already stored for key {key!r} and data version "
            f"{data_version!r}, not {prepared.key!r} / {prepared.data_version!r}; nothing was written "
            "(a set id stands for one key and data version)",
            details={
                "set_id": prepared.set_id,
                "stored": {"key": key, "data_version": data_version},
                "given": {"key": prepared.key, "data_version": prepared.data_version},
            },
        )

    @staticmethod
    def check_text(name: str, value: Any) -> str:
        """``value`` when it is a non-empty string, else ParameterError naming ``name``."""
        if not isinstance(value, str) or not value:
            raise ParameterError(f"{name} must be a non-empty string, got {value!r}")
        return value

    @staticmethod
    def scope_token(
        store_id: str,
        filters: QueryFilters,
        count: int,
        last: int | None,
        boundary_rows: Sequence[Sequence[Any]],
    ) -> str:
        """The :meth:`scope_version` token.

        Parameters
        ----------
        store_id : str
            Identifier of the store.
        filters : QueryFilters
            The normalised filters (their order does not matter).
        count, last : int
            Number of matching incidents and the largest internal row number among them
            (rows are only ever added, so the pair changes whenever a matching row is).
        boundary_rows : sequence
            ``(ward_id, name, name_en, population, wkb)`` of the stored wards in scope,
            ordered by ``ward_id``.
        """
        digest = hashlib.sha256()
        head = [
            store_id,
            None if filters.ward_ids is None else sorted(filters.ward_ids),
            None if filters.categories is None else sorted(filters.categories),
            filters.since_us,
            filters.until_us,
            int(count),
            int(last or 0),
        ]
        digest.update(_dumps(head).encode("utf-8"))
        for ward_id, name, name_en, population, wkb in boundary_rows:
            blob = bytes(wkb)
            digest.update(_dumps([ward_id, name, name_en, population, len(blob)]).encode("utf-8"))
            digest.update(blob)
        return digest.hexdigest()[:16]


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


def _utc_timestamp(name: str, value: Any, problems: list[str]) -> pd.Timestamp | None:
    """``value`` as a UTC Timestamp floored to the microsecond; a problem when naive or invalid."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        problems.append(f"{name} is not a date or time: {value!r} ({exc})")
        return None
    if ts is pd.NaT:
        problems.append(f"{name} is not a date or time: {value!r}")
        return None
    if ts.tzinfo is None:
        problems.append(f"{name} must be time-zone aware (for example pd.Timestamp.now('UTC')), got {value!r}")
        return None
    return ts.tz_convert("UTC").floor("us")


# ---------------------------------------------------------------------- hotspot serialisation


def _dumps(value: Any) -> str:
    """Compact, strict JSON text (ASCII only, so any string survives every database)."""
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def _float_json(value: float) -> float | str | None:
    """A float as JSON: itself when finite, null for NaN, ``"Infinity"`` / ``"-Infinity"``."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return None
    return "Infinity" if value > 0 else "-Infinity"


def _key_json(key: Any, where: str) -> str:
    if isinstance(key, str):
        return str(key)
    if isinstance(key, (bool, np.bool_)):
        return "true" if key else "false"
    if isinstance(key, (int, np.integer)):
        return str(int(key))
    if isinstance(key, (float, np.floating)) and math.isfinite(float(key)):
        return repr(float(key))
    raise InputError(
        f"{where}: cannot store the dict key {key!r} of type {type(key).__name__} as JSON "
        "(expected a string or a number)",
        details={"where": where},
    )


def json_safe(value: Any, where: str = "value") -> Any:
    """Convert ``value`` into plain JSON data (dict, list, str, int, float, bool, None).

    Numpy scalars become Python numbers; NaN, ``None``, ``pd.NA`` and ``NaT`` become
    ``None``; infinities the strings ``"Infinity"`` / ``"-Infinity"``; timestamps, dates and
    timedeltas ISO 8601 strings; tuples and arrays lists; number keys of dicts strings (as
    JSON does). Dict key order is kept.

    Parameters
    ----------
    value : object
        The value to convert.
    where : str, default "value"
        Name of the value in error messages.

    Raises
    ------
    InputError
        A value of another type (sets, bytes, geometries, objects...); the message says
        where it was.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _float_json(float(value))
    if isinstance(value, (datetime, np.datetime64)):
        ts = pd.Timestamp(value)
        return None if ts is pd.NaT else ts.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (timedelta, np.timedelta64)):
        td = pd.Timedelta(value)
        return None if td is pd.NaT else td.isoformat()
    if isinstance(value, Mapping):
        return {_key_json(k, where): json_safe(v, f"{where}[{k!r}]") for k, v in value.items()}
    if type(value) is list and all(type(v) is str for v in value):
        return list(value)  # the common case (member_ids, ward_ids): nothing to convert
    if isinstance(value, (list, tuple, np.ndarray, pd.Series, pd.Index)):
        return [json_safe(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise InputError(
        f"{where}: cannot store a value of type {type(value).__name__} as JSON (expected numbers, text, "
        "booleans, times, lists or dicts of them)",
        details={"where": where, "type": type(value).__name__},
    )


def _codec(dtype: Any) -> str | None:
    """How a column of this dtype is encoded; None when it cannot be stored faithfully."""
    if isinstance(dtype, gpd.array.GeometryDtype):
        return "geometry"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "datetime"
    if isinstance(dtype, np.dtype):
        if dtype == object:
            return "object"
        return {"b": "bool", "i": "int", "u": "int", "f": "float", "M": "datetime", "m": "timedelta"}.get(dtype.kind)
    if isinstance(dtype, (pd.CategoricalDtype, pd.PeriodDtype, pd.IntervalDtype, pd.SparseDtype)):
        return None  # their categories / frequency / subtype would not survive the round trip
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        try:
            same = pd.api.types.pandas_dtype(str(dtype)) == dtype
        except TypeError:
            same = False
        return "extension" if same else None
    return None


def _encode_column(name: str, codec: str, series: pd.Series) -> list[Any]:
    if codec == "bool" or codec == "int":
        return series.to_numpy().tolist()
    if codec == "float":
        return [_float_json(v) for v in series.to_numpy(dtype=np.float64).tolist()]
    if codec == "datetime":
        return [None if t is pd.NaT else t.isoformat() for t in series]
    if codec == "timedelta":
        return [None if t is pd.NaT else int(t.as_unit("ns").value) for t in series]
    values = series.tolist() if codec == "extension" else list(series.to_numpy(dtype=object))
    return [json_safe(v, f"hotspots[{name!r}] at position {i}") for i, v in enumerate(values)]


def _decode_column(codec: str, dtype: Any, values: list[Any]) -> Any:
    if codec == "bool" or codec == "int":
        return np.asarray(values, dtype=dtype)
    if codec == "float":
        return np.asarray([np.nan if v is None else float(v) for v in values], dtype=dtype)
    if codec == "datetime":
        stamps = pd.Series([pd.NaT if v is None else pd.Timestamp(v) for v in values], dtype=object)
        if isinstance(dtype, pd.DatetimeTZDtype):
            return pd.to_datetime(stamps, utc=True).dt.tz_convert(dtype.tz).astype(dtype)
        return pd.to_datetime(stamps).astype(dtype)
    if codec == "timedelta":
        spans = [pd.NaT if v is None else pd.Timedelta(int(v), unit="ns") for v in values]
        return pd.Series(spans, dtype="timedelta64[ns]").astype(dtype)
    if codec == "extension":
        return pd.array(values, dtype=dtype)
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return pd.Series(out, dtype=object)  # a Series: a bare object array of strings would be inferred as str


def encode_hotspot_features(hotspots: gpd.GeoDataFrame) -> tuple[str, list[tuple[int, str, bytes | None]]]:
    """Serialise a hotspot table: a column map and one ``(position, properties, wkb)`` per row.

    Every column except the geometry goes into a JSON object per row (see
    :func:`json_safe` for the values of object columns); the geometry becomes 2-D WKB
    (``None`` for a missing one). The column map (JSON) lists every column with its dtype,
    so :func:`decode_hotspot_features` restores numbers, booleans, nullable and string
    dtypes, datetimes (any unit and time zone, to the nanosecond) and timedeltas exactly.
    Object columns come back as JSON data: lists and dicts (key order kept) as they were,
    numpy scalars as Python numbers, tuples and arrays as lists, nested timestamps as ISO
    strings. The index is not stored (the table comes back with a RangeIndex, in row order).

    Parameters
    ----------
    hotspots : GeoDataFrame
        The table; reprojected to EPSG:4326 when it has another CRS (a missing CRS is taken
        as EPSG:4326).

    Returns
    -------
    columns : str
        The column map, JSON.
    features : list of (int, str, bytes or None)
        Position, properties JSON and WKB of each row.

    Raises
    ------
    InputError
        The table has no active geometry column, another geometry column, non-string or
        repeated column names, a categorical / period / interval / sparse column, geometries
        with Z coordinates, or a value that is not JSON data; the message names the column
        and position.
    """
    if not isinstance(hotspots, gpd.GeoDataFrame):
        raise InputError(f"hotspots must be a GeoDataFrame, got {type(hotspots).__name__}")
    try:
        geom_name = hotspots.geometry.name
    except AttributeError:
        raise InputError("the hotspot table has no active geometry column; call set_geometry first") from None
    frame = hotspots
    if frame.crs is not None and not frame.crs.equals(WGS84):
        frame = frame.to_crs(WGS84)
    names = list(frame.columns)
    bad_names = [n for n in names if not isinstance(n, str)]
    if bad_names:
        raise InputError(
            f"hotspot columns must have string names, got {bad_names[:5]!r}", details={"columns": repr(bad_names)}
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"hotspot column names must be unique; repeated: {repeated!r}", details={"columns": repeated})

    column_map: list[list[str]] = []
    encoded: dict[str, list[Any]] = {}
    for name in names:
        series = frame[name]
        codec = _codec(series.dtype)
        if codec is None:
            raise InputError(
                f"hotspot column {name!r} has the dtype {series.dtype}, which cannot be stored faithfully "
                "(convert it, e.g. .astype(object) or .astype(str))",
                details={"column": name, "dtype": str(series.dtype)},
            )
        if codec == "geometry":
            if name != geom_name:
                raise InputError(
                    f"hotspot column {name!r} is a second geometry column; only the active geometry "
                    f"({geom_name!r}) is stored: drop it or convert it to WKT",
                    details={"column": name},
                )
            column_map.append([name, "geometry"])
            continue
        column_map.append([name, str(series.dtype)])
        encoded[name] = _encode_column(name, codec, series)

    geoms = np.asarray(frame.geometry.array, dtype=object)
    with_z = np.flatnonzero(shapely.has_z(geoms))
    if len(with_z):
        raise InputError(
            f"hotspot geometries must be 2-D; {len(with_z)} have Z coordinates (first at position "
            f"{int(with_z[0])}): drop them with shapely.force_2d",
            details={"positions": [int(i) for i in with_z[:_MAX_LISTED]]},
        )
    wkb = shapely.to_wkb(geoms, output_dimension=2)
    value_names = list(encoded)
    features: list[tuple[int, str, bytes | None]] = []
    for i in range(len(frame)):
        properties = {name: encoded[name][i] for name in value_names}
        features.append((i, _dumps(properties), None if wkb[i] is None else bytes(wkb[i])))
    return _dumps({"geometry": geom_name, "columns": column_map}), features


def decode_hotspot_features(columns: str, feature_rows: Sequence[Sequence[Any]]) -> gpd.GeoDataFrame:
    """Rebuild the table :func:`encode_hotspot_features` serialised.

    Parameters
    ----------
    columns : str
        The column map (JSON).
    feature_rows : sequence of (str, bytes or None)
        Properties JSON and WKB of each row, in position order.

    Returns
    -------
    GeoDataFrame
        EPSG:4326, RangeIndex, the columns in their stored order and dtypes.
    """
    layout = json.loads(columns)
    geom_name = layout["geometry"]
    properties = [json.loads(text) for text, _ in feature_rows]
    data: dict[str, Any] = {}
    for name, dtype_name in layout["columns"]:
        if dtype_name == "geometry":
            blobs = [None if blob is None else bytes(blob) for _, blob in feature_rows]
            data[name] = gpd.GeoSeries(shapely.from_wkb(np.asarray(blobs, dtype=object)), crs=WGS84)
            continue
        dtype = pd.api.types.pandas_dtype(dtype_name)
        codec = _codec(dtype)
        if codec is None:  # pragma: no cover - only dtypes that passed _codec are stored
            raise StoreError(f"stored hotspot column {name!r} has the unsupported dtype {dtype_name!r}")
        data[name] = _decode_column(codec, dtype, [row.get(name) for row in properties])
    index = pd.RangeIndex(len(feature_rows))
    frame = pd.DataFrame(
        {
            name: values.set_axis(index) if isinstance(values, pd.Series) else pd.Series(values, index=index)
            for name, values in data.items()
        },
        index=index,
    )
    return gpd.GeoDataFrame(frame, geometry=geom_name, crs=WGS84)
