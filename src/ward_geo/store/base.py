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

Layout
------
This module holds the interface and the statements every backend shares (``query`` and
``count`` are written here once, from :mod:`ward_geo.store.sql`); the checks of the filters
live in :mod:`ward_geo.store.filters`, the checks of incident and boundary batches in
:mod:`ward_geo.store.batch`, hotspot set records and their serialisation in
:mod:`ward_geo.store.records`. Every name keeps being importable from here.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import pandas as pd

from ward_geo.store.batch import (
    BATCH_COLUMNS,
    ROW_FIELDS,
    WARD_COUNT_COLUMNS,
    IngestResult,
    PreparedBatch,
    PreparedBoundaries,
    boundaries_from_rows,
    conflict_error,
    frame_from_rows,
    prepare_boundaries,
    prepare_incidents,
    ward_counts_from_rows,
)
from ward_geo.store.filters import ORDERS, QueryFilters, check_text, normalize_filters
from ward_geo.store.records import (
    HOTSPOT_SET_COLUMNS,
    HOTSPOT_SET_FIELDS,
    HOTSPOT_SETS_KEPT,
    HotspotSetRecord,
    PreparedHotspotSet,
    _dumps,
    decode_hotspot_features,
    encode_hotspot_features,
    hotspot_listing_from_rows,
    hotspot_set_conflict,
    hotspot_set_from_rows,
    json_safe,
    prepare_hotspot_set,
)
from ward_geo.store.sql import (
    Dialect,
    Statement,
    count_incidents,
    select_boundaries,
    select_incident,
    select_incidents,
    select_ward_counts,
)

__all__ = [
    "BATCH_COLUMNS",
    "HOTSPOT_SETS_KEPT",
    "HOTSPOT_SET_COLUMNS",
    "HOTSPOT_SET_FIELDS",
    "ORDERS",
    "ROW_FIELDS",
    "WARD_COUNT_COLUMNS",
    "HotspotSetRecord",
    "IncidentStore",
    "IngestResult",
    "PreparedBatch",
    "PreparedBoundaries",
    "PreparedHotspotSet",
    "QueryFilters",
    "decode_hotspot_features",
    "encode_hotspot_features",
    "json_safe",
]


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
        f = normalize_filters(
            ward_ids=ward_ids, categories=categories, since=since, until=until, bbox=bbox,
            limit=limit, offset=offset, order=order,
        )
        if f.empty:
            return frame_from_rows([])
        return frame_from_rows(self._fetch_rows("query", select_incidents(self.dialect, f)))

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
        f = normalize_filters(ward_ids=ward_ids, categories=categories, since=since, until=until, bbox=bbox)
        if f.empty:
            return 0
        return int(self._fetch_rows("count", count_incidents(self.dialect, f))[0][0])

    #: How this backend spells its SQL (see :mod:`ward_geo.store.sql`).
    dialect: Dialect

    @abstractmethod
    def _fetch_rows(self, action: str, statement: Statement) -> list[tuple[Any, ...]]:
        """Run one read statement and return its rows (database errors become StoreError)."""

    def get(self, incident_id: str) -> pd.Series | None:
        """The incident with this id as a row of the canonical table, or None."""
        rows = self._fetch_rows("get", select_incident(self.dialect, str(incident_id)))
        return frame_from_rows(rows).iloc[0] if rows else None

    def boundaries(self, ward_ids: Iterable[str] | str | None = None) -> gpd.GeoDataFrame:
        """Stored ward boundaries (``BOUNDARY_COLUMNS``, EPSG:4326), ordered by ``ward_id``."""
        f = normalize_filters(ward_ids=ward_ids)
        return boundaries_from_rows(self._fetch_rows("reading boundaries", select_boundaries(self.dialect, f.ward_ids)))

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
        return ward_counts_from_rows(self._fetch_rows("counting wards", select_ward_counts(self.dialect)))

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
        where = " AND ".join(f"{name} = {self.dialect.param}" for name in columns)
        return where, tuple(check_text(name, value) for name, value in columns.items())

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
    # The checks and conversions every backend uses, kept here under their old names.
    normalize_filters = staticmethod(normalize_filters)
    prepare_incidents = staticmethod(prepare_incidents)
    prepare_boundaries = staticmethod(prepare_boundaries)
    frame_from_rows = staticmethod(frame_from_rows)
    boundaries_from_rows = staticmethod(boundaries_from_rows)
    ward_counts_from_rows = staticmethod(ward_counts_from_rows)
    conflict_error = staticmethod(conflict_error)
    prepare_hotspot_set = staticmethod(prepare_hotspot_set)
    hotspot_set_from_rows = staticmethod(hotspot_set_from_rows)
    hotspot_listing_from_rows = staticmethod(hotspot_listing_from_rows)
    hotspot_set_conflict = staticmethod(hotspot_set_conflict)
    check_text = staticmethod(check_text)

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


