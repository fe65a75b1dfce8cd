"""The embedded store: one SQLite file, no server.

Layout of the file (schema version 1):

- ``incidents``: one row per incident; the point as ``lon``/``lat`` REAL columns (a point
  needs no WKB), ``occurred_at`` as INTEGER microseconds since 1970-01-01 UTC; a UNIQUE
  index on ``incident_id`` and indexes on ``(ward_id, occurred_at)``,
  ``(category, occurred_at)`` and ``occurred_at``.
- ``incidents_rtree``: an R*Tree over the points (same ``id``) for bbox queries. The R*Tree
  keeps 32-bit bounds rounded outwards, so it only pre-selects; the exact ``lon``/``lat``
  test follows.
- ``boundaries``: wards with ``geometry`` as WKB, ``area_km2`` (geodesic) and population.
- ``batches``: the ingest log; ``meta``: schema version, store id and data generation.
- ``hotspot_sets``: stored hotspot sets (``set_id`` primary key, ``key``, ``data_version``,
  ``created_at`` as INTEGER microseconds UTC, ``ward_ids`` / ``definition`` / ``attrs`` /
  ``columns`` as JSON text, ``n_hotspots``, ``seq`` = put order) with an index on
  ``(key, created_at)``; ``hotspot_features``: one row per hotspot (``set_id``,
  ``position``, ``properties`` JSON, ``geometry`` WKB). Both tables are created when a store
  written by an older ward_geo is opened (the schema version stays 1: older versions ignore
  them).

Durability and concurrency
--------------------------
The file runs in WAL mode with ``synchronous=FULL``: every commit is fsynced to the
write-ahead log before :meth:`SQLiteStore.ingest` returns, so a returned ingest survives a
power cut (``NORMAL`` would only guarantee consistency, not that the last commits persist).
A process killed mid-batch leaves uncommitted WAL frames that the next opener ignores, so
the store reopens in the state before the batch. Writers take the write lock up front with
``BEGIN IMMEDIATE`` and wait up to ``timeout`` seconds (busy timeout) for each other;
within the lock the batch is checked against the stored rows and inserted, so concurrent
overlapping batches neither lose nor duplicate rows. Readers never block writers (WAL).

The file under a running process
--------------------------------
The store remembers the file's identity (``st_dev``, ``st_ino``) when it is first opened
in a process. Before every write (inside the write lock, and again after the commit) and
on :meth:`SQLiteStore.check_file` it verifies that the path still names that file and that
its size is still whole pages (never by opening it: closing a second descriptor of the
file would drop SQLite's locks). (The ``-wal`` file is not compared: SQLite
itself may delete and re-create it when another process closes the last connection.)
When the file was deleted, replaced or
truncated, every store of that file in the process refuses writes from then on
(:class:`~ward_geo.errors.StoreFileChangedError`, code ``store_file_changed``), and the
data the open connection still sees is copied with SQLite's backup API to
``<name>.rescued-<UTC time>`` beside the file (mode 0600). A write that raced the deletion
was either refused or is in that copy. A later open that would create a new empty store
where a rescued copy lies is refused with a message telling the operator what to do.

New store files (and their ``-wal``/``-shm``, which SQLite creates with the file's mode)
are created 0600 in a folder created 0700. A full disk (``SQLITE_FULL``) rolls the write
back and raises :class:`~ward_geo.errors.InsufficientStorageError` (HTTP 507).
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import pandas as pd

from ward_geo.errors import (
    InsufficientStorageError,
    StoreError,
    StoreFileChangedError,
    WardGeoError,
    is_disk_full,
)
from ward_geo.store.base import (
    BATCH_COLUMNS,
    HOTSPOT_SETS_KEPT,
    ROW_FIELDS,
    HotspotSetRecord,
    IncidentStore,
    IngestResult,
)
from ward_geo.store.files import (
    RESCUED_INFIX,
    FileGuard,
    FileLost,
    create_private,
    file_identity,
    guard_for,
    refuse_empty_over_rescued,
    rescue,
    rescued_copies,
)
from ward_geo.store.filters import BBox, normalize_filters
from ward_geo.store.sql import Dialect, Statement, scope_counts, select_boundaries

__all__ = [
    "RESCUED_INFIX",
    "SCHEMA_VERSION",
    "SQLiteDialect",
    "SQLiteStore",
    "refuse_empty_over_rescued",
    "rescued_copies",
]

T = TypeVar("T")

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL UNIQUE,
    category TEXT NOT NULL,
    category_raw TEXT,
    occurred_at INTEGER NOT NULL,
    time_precision TEXT,
    severity REAL,
    description TEXT,
    source TEXT,
    ward_id TEXT,
    lon REAL NOT NULL,
    lat REAL NOT NULL,
    batch_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_ward_time ON incidents (ward_id, occurred_at);
CREATE INDEX IF NOT EXISTS incidents_category_time ON incidents (category, occurred_at);
CREATE INDEX IF NOT EXISTS incidents_time ON incidents (occurred_at);
CREATE TABLE IF NOT EXISTS boundaries (
    ward_id TEXT PRIMARY KEY,
    name TEXT,
    name_en TEXT,
    population INTEGER,
    area_km2 REAL NOT NULL,
    geometry BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    source TEXT,
    added INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    at TEXT NOT NULL
);
"""
_HOTSPOT_SCHEMA = """
CREATE TABLE IF NOT EXISTS hotspot_sets (
    set_id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    data_version TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    ward_ids TEXT NOT NULL,
    definition TEXT NOT NULL,
    attrs TEXT NOT NULL,
    columns TEXT NOT NULL,
    n_hotspots INTEGER NOT NULL,
    seq INTEGER NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS hotspot_sets_key_time ON hotspot_sets (key, created_at);
CREATE TABLE IF NOT EXISTS hotspot_features (
    set_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    properties TEXT NOT NULL,
    geometry BLOB,
    PRIMARY KEY (set_id, position)
);
"""
_HOTSPOT_TABLES = ("hotspot_sets", "hotspot_features")
_SET_COLS = "set_id, key, data_version, created_at, ward_ids, definition, attrs, columns, n_hotspots"
_NEWEST = " ORDER BY created_at DESC, seq DESC"
_RTREE = "CREATE VIRTUAL TABLE IF NOT EXISTS incidents_rtree USING rtree(id, min_lon, max_lon, min_lat, max_lat)"
_LONLAT_INDEX = "CREATE INDEX IF NOT EXISTS incidents_lon_lat ON incidents (lon, lat)"

_COLS = ", ".join(f if f != "occurred_us" else "occurred_at" for f in ROW_FIELDS)
_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS staging (
    incident_id TEXT PRIMARY KEY, category TEXT, category_raw TEXT, occurred_at INTEGER,
    time_precision TEXT, severity REAL, description TEXT, source TEXT, ward_id TEXT,
    lon REAL, lat REAL
)
"""
# Content that makes two rows with one incident_id "the same" (provenance `source` excluded).
_SAME = " AND ".join(f"s.{c} IS i.{c}" for c in _COLS.split(", ") if c not in ("incident_id", "source"))


class SQLiteDialect(Dialect):
    """SQLite's spelling of the incident filters (``?`` placeholders, integer microseconds).

    Parameters
    ----------
    spatial : {"rtree", "lonlat"}
        The store's spatial index: with an R*Tree a bbox pre-selects through it, then the
        exact ``lon``/``lat`` test follows.
    """

    param = "?"
    incidents = "incidents"
    row_columns = _COLS
    row_number = "id"
    no_limit = -1
    boundaries = "boundaries"
    boundary_wkb = "geometry"

    def __init__(self, spatial: str) -> None:
        self.spatial = spatial

    def in_list(self, column: str, values: tuple[str, ...]) -> Statement:
        """``column IN (?, ?, ...)``, one placeholder per value."""
        return Statement(f"{column} IN ({', '.join('?' * len(values))})", list(values))

    def time_value(self, us: int) -> int:
        """Times are stored as integer microseconds."""
        return us

    def in_bbox(self, box: BBox) -> Statement:
        """The R*Tree pre-selection (when present) and the exact edge-inclusive test."""
        x0, y0, x1, y1 = box
        exact = Statement("lon BETWEEN ? AND ? AND lat BETWEEN ? AND ?", [x0, x1, y0, y1])
        if self.spatial != "rtree":
            return exact
        rtree = (
            "id IN (SELECT id FROM incidents_rtree WHERE max_lon >= ? AND min_lon <= ? "
            "AND max_lat >= ? AND min_lat <= ?)"
        )
        return Statement(f"{rtree} AND {exact.text}", [x0, x1, y0, y1, *exact.params])


class SQLiteStore(IncidentStore):
    """Incident store in one SQLite file (the embedded default).

    Parameters
    ----------
    path : str or Path
        The database file; created (with its folder) when absent.
    timeout : float, default 30
        Seconds a writer waits for another writer's lock before giving up with StoreError.

    Notes
    -----
    One instance may be shared by threads (calls are serialised by a lock); processes each
    open their own instance on the same file.
    """

    backend = "sqlite"

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout = float(timeout)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        name = self.path.name
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            error = InsufficientStorageError if is_disk_full(exc) else StoreError
            raise error(f"cannot create the folder of the store {name}: {exc.strerror or exc}") from exc
        guard = self._guard = guard_for(self.path)
        others: list[SQLiteStore] = []
        with guard.lock:
            if guard.problem is None and guard.identity is not None and guard.problem_now() is not None:
                others = list(guard.stores)
            elif guard.problem is None:
                self._open(guard)
                return
        for other in others:  # outside the guard lock (store lock first): rescue through an open store
            try:
                other.check_file()
            except StoreFileChangedError:
                break
        with guard.lock:
            if guard.problem is None and not others:
                self._open(guard)
                return
            raise StoreFileChangedError(guard.message(), details=guard.details())

    def _open(self, guard: FileGuard) -> None:
        """Connect and set up (called with the guard's lock held)."""
        name = self.path.name
        first = guard.identity is None
        if first:
            refuse_empty_over_rescued(self.path)
        try:
            create_private(self.path)
        except OSError as exc:
            error = InsufficientStorageError if is_disk_full(exc) else StoreError
            raise error(f"cannot create the SQLite store {name}: {exc.strerror or exc}") from exc
        try:
            conn = sqlite3.connect(
                str(self.path), timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the SQLite store {name}: {exc}") from exc
        self._conn = conn
        try:
            self._setup()
        except BaseException:
            conn.close()
            self._conn = None
            raise
        if first:
            guard.identity = file_identity(self.path)
            guard.had_content = self.path.stat().st_size > 0
        guard.stores.append(self)

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # ------------------------------------------------------------------ plumbing
    def _setup(self) -> None:
        with self._errors("open"):
            conn = self._connection()
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(
                    f"the SQLite store {self.path.name} cannot use write-ahead logging (journal mode {mode!r}); "
                    "put the data folder on a local file system"
                )
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute("PRAGMA cache_size = -65536")  # 64 MiB page cache: big batches stay in memory until commit
            if not self._read_meta(conn):
                self._create_schema(conn)
                self._read_meta(conn)
            present = conn.execute(
                f"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN {_HOTSPOT_TABLES!r}"
            ).fetchone()[0]
            if present < len(_HOTSPOT_TABLES):
                self._create_hotspot_tables(conn)

    def _read_meta(self, conn: sqlite3.Connection) -> bool:
        """Load the store id and index kind; False when the schema still has to be created."""
        exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
        if exists is None:
            return False
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if "spatial_index" not in meta:
            return False
        if int(meta["schema_version"]) > SCHEMA_VERSION:
            raise StoreError(
                f"the store {self.path.name} has schema version {meta['schema_version']}, newer than this "
                f"ward_geo understands ({SCHEMA_VERSION}); upgrade ward_geo"
            )
        self._spatial = meta["spatial_index"]
        self.dialect = SQLiteDialect(self._spatial)
        self._store_id = meta["store_id"]
        return True

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        with self._errors("creating the schema"):
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                if version is not None and int(version[0]) > SCHEMA_VERSION:
                    raise StoreError(
                        f"the store {self.path.name} has schema version {version[0]}, newer than this "
                        f"ward_geo understands ({SCHEMA_VERSION}); upgrade ward_geo"
                    )
                try:
                    conn.execute(_RTREE)
                    spatial = "rtree"
                except sqlite3.OperationalError:
                    conn.execute(_LONLAT_INDEX)
                    spatial = "lonlat"
                conn.executemany(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                    [
                        ("schema_version", str(SCHEMA_VERSION)),
                        ("store_id", uuid.uuid4().hex),
                        ("generation", "0"),
                        ("spatial_index", spatial),
                    ],
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _create_hotspot_tables(self, conn: sqlite3.Connection) -> None:
        """Add the hotspot set tables (new stores, and stores written before they existed)."""
        with self._errors("creating the hotspot set tables"):
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _HOTSPOT_SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the store {self.path.name} is closed")
        return self._conn

    class _ErrorScope:
        def __init__(self, store: SQLiteStore, action: str) -> None:
            self.store, self.action = store, action

        def __enter__(self) -> None:
            return None

        def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
            if isinstance(exc, FileLost):
                self.store._lost(exc.problem, committed=exc.committed)
            if exc is None or isinstance(exc, WardGeoError) or not isinstance(exc, sqlite3.Error):
                return
            message = str(exc)
            name = self.store.path.name
            if is_disk_full(exc):
                raise InsufficientStorageError(
                    f"SQLite store {name}: {self.action} failed: the disk holding the store is full (or the "
                    "store reached its size limit); the write was rolled back and nothing was written; "
                    "free disk space and retry",
                    details={"file": name, "sqlite_error": message},
                ) from exc
            if "locked" in message or "busy" in message:
                detail = (
                    f"another process held the write lock for more than {self.store.timeout:g} s"
                )
            elif isinstance(exc, sqlite3.DatabaseError) and "not a database" in message:
                detail = "the file is not a SQLite database"
            else:
                detail = message
            raise StoreError(
                f"SQLite store {name}: {self.action} failed: {detail}; nothing was written",
                details={"file": name, "sqlite_error": message},
            ) from exc

    def _errors(self, action: str) -> SQLiteStore._ErrorScope:
        return SQLiteStore._ErrorScope(self, action)

    # ------------------------------------------------------------------ the file under us
    def _file_check(self, *, committed: bool = False) -> None:
        """Raise FileLost when the file changed (called inside a write, store lock held)."""
        guard = self._guard
        with guard.lock:
            problem = guard.problem or guard.problem_now()
        if problem is not None:
            raise FileLost(problem, committed=committed)

    def _lost(self, problem: str, *, committed: bool = False) -> None:
        """Record the loss, rescue through this store's connection, raise StoreFileChangedError."""
        guard = self._guard
        with guard.lock:
            if guard.problem is None:
                guard.problem = problem
                rescue(self._conn, self.path, guard, self.timeout)
            elif committed:  # this commit may postdate the copy another store took: copy again (a superset)
                rescue(self._conn, self.path, guard, self.timeout)
            message = guard.message()
        if committed:
            message += "; the last write was committed before the change was noticed and is in the rescued copy"
        raise StoreFileChangedError(message, details=guard.details())


    def check_file(self) -> None:
        """See :meth:`IncidentStore.check_file`."""
        with self._lock:
            guard = self._guard
            with guard.lock:
                if guard.problem is not None:
                    raise StoreFileChangedError(guard.message(), details=guard.details())
                problem = guard.problem_now()
            if problem is not None and self._conn is not None:
                self._lost(problem)

    def close(self) -> None:
        """See :meth:`IncidentStore.close`."""
        with self._lock:
            if self._conn is not None:
                guard = self._guard
                with guard.lock:
                    problem = None if guard.problem is not None else guard.problem_now()
                if problem is not None:
                    try:
                        self._lost(problem)  # the last chance to save what this connection still sees
                    except StoreFileChangedError:
                        pass
                self._conn.close()
                self._conn = None
                with guard.lock:
                    if self in guard.stores:
                        guard.stores.remove(self)
                    if not guard.stores:  # the next open looks at the path afresh
                        guard.identity = None
                        guard.problem = guard.rescued = guard.rescue_failed = None
                        guard.had_content = False

    # ------------------------------------------------------------------ writing
    def ingest(self, incidents: gpd.GeoDataFrame, *, source: str | None = None) -> IngestResult:
        """See :meth:`IncidentStore.ingest`."""
        batch = self.prepare_incidents(incidents, source)
        report = incidents.attrs.get("validation_report") if hasattr(incidents, "attrs") else None
        with self._lock, self._errors("ingest"):
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._file_check()
                conn.execute(_STAGING)
                conn.execute("DELETE FROM temp.staging")
                conn.executemany(
                    f"INSERT INTO temp.staging ({_COLS}) VALUES ({', '.join('?' * len(ROW_FIELDS))})", batch.rows
                )
                conflicts = [
                    r[0]
                    for r in conn.execute(
                        f"SELECT s.incident_id FROM temp.staging s JOIN main.incidents i "
                        f"ON i.incident_id = s.incident_id WHERE NOT ({_SAME})"
                    )
                ]
                if conflicts:
                    raise self.conflict_error(conflicts, batch)
                last_id = conn.execute("SELECT COALESCE(MAX(id), 0) FROM main.incidents").fetchone()[0]
                cursor = conn.execute(
                    f"INSERT INTO main.incidents ({_COLS}, batch_id) "
                    f"SELECT {_COLS}, ? FROM temp.staging s "
                    "WHERE NOT EXISTS (SELECT 1 FROM main.incidents i WHERE i.incident_id = s.incident_id) "
                    "ORDER BY s.rowid",
                    (batch.batch_id,),
                )
                added = cursor.rowcount
                if added and self._spatial == "rtree":
                    conn.execute(
                        "INSERT INTO main.incidents_rtree (id, min_lon, max_lon, min_lat, max_lat) "
                        "SELECT id, lon, lon, lat, lat FROM main.incidents WHERE id > ?",
                        (last_id,),
                    )
                if added:
                    self._bump(conn)
                duplicates = batch.n_input - added
                conn.execute(
                    "INSERT INTO main.batches (batch_id, source, added, duplicates, at) VALUES (?, ?, ?, ?, ?)",
                    (batch.batch_id, batch.source, added, duplicates, batch.at),
                )
                conn.execute("DELETE FROM temp.staging")
                conn.execute("COMMIT")
                self._file_check(committed=True)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return IngestResult(added=added, duplicates=duplicates, batch_id=batch.batch_id, report=report)

    @staticmethod
    def _bump(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")

    def put_boundaries(self, boundaries: gpd.GeoDataFrame) -> int:
        """See :meth:`IncidentStore.put_boundaries`."""
        prepared = self.prepare_boundaries(boundaries)
        with self._lock, self._errors("storing boundaries"):
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._file_check()
                before = conn.total_changes
                conn.executemany(
                    "INSERT INTO boundaries (ward_id, name, name_en, population, area_km2, geometry) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (ward_id) DO UPDATE SET "
                    "name = excluded.name, name_en = excluded.name_en, population = excluded.population, "
                    "area_km2 = excluded.area_km2, geometry = excluded.geometry "
                    "WHERE name IS NOT excluded.name OR name_en IS NOT excluded.name_en "
                    "OR population IS NOT excluded.population OR geometry IS NOT excluded.geometry",
                    prepared.rows,
                )
                changed = conn.total_changes - before
                if changed:
                    self._bump(conn)
                conn.execute("COMMIT")
                self._file_check(committed=True)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return changed

    # ------------------------------------------------------------------ reading
    def _fetch_rows(self, action: str, statement: Statement) -> list[tuple[Any, ...]]:
        with self._lock, self._errors(action):
            return self._connection().execute(statement.text, statement.params).fetchall()

    def batches(self) -> pd.DataFrame:
        """See :meth:`IncidentStore.batches`."""
        with self._lock, self._errors("reading the batch log"):
            rows = self._connection().execute(
                f"SELECT {', '.join(BATCH_COLUMNS)} FROM batches ORDER BY at, rowid"
            ).fetchall()
        return pd.DataFrame(rows, columns=list(BATCH_COLUMNS)).astype({"added": "int64", "duplicates": "int64"})

    def data_version(self) -> str:
        """See :meth:`IncidentStore.data_version`."""
        with self._lock, self._errors("reading the data version"):
            generation = self._connection().execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]
        return f"{self._store_id}-{generation}"

    # ------------------------------------------------------------------ hotspot sets
    def _read(self, action: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` in one read transaction (one consistent snapshot of the file)."""
        with self._lock, self._errors(action):
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                return fn(conn)
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

    def put_hotspot_set(self, record: HotspotSetRecord, *, keep: int = HOTSPOT_SETS_KEPT) -> None:
        """See :meth:`IncidentStore.put_hotspot_set`."""
        prepared = self.prepare_hotspot_set(record, keep)
        with self._lock, self._errors("storing a hotspot set"):
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._file_check()
                stored = conn.execute(
                    "SELECT key, data_version FROM hotspot_sets WHERE set_id = ?", (prepared.set_id,)
                ).fetchone()
                if stored is not None:
                    if tuple(stored) != (prepared.key, prepared.data_version):
                        raise self.hotspot_set_conflict(prepared, stored[0], stored[1])
                else:
                    conn.execute(
                        f"INSERT INTO hotspot_sets ({_SET_COLS}, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                        "(SELECT COALESCE(MAX(seq), 0) + 1 FROM hotspot_sets))",
                        prepared.set_row(),
                    )
                    conn.executemany(
                        "INSERT INTO hotspot_features (set_id, position, properties, geometry) VALUES (?, ?, ?, ?)",
                        [(prepared.set_id, *feature) for feature in prepared.features],
                    )
                    doomed = [
                        (r[0],)
                        for r in conn.execute(
                            f"SELECT set_id FROM hotspot_sets WHERE key = ?{_NEWEST} LIMIT -1 OFFSET ?",
                            (prepared.key, prepared.keep),
                        ).fetchall()
                    ]
                    conn.executemany("DELETE FROM hotspot_features WHERE set_id = ?", doomed)
                    conn.executemany("DELETE FROM hotspot_sets WHERE set_id = ?", doomed)
                conn.execute("COMMIT")
                self._file_check(committed=True)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _one_set(self, where: str, params: Sequence[Any]) -> HotspotSetRecord | None:
        def work(conn: sqlite3.Connection) -> HotspotSetRecord | None:
            statement = f"SELECT {_SET_COLS} FROM hotspot_sets WHERE {where}{_NEWEST} LIMIT 1"
            row = conn.execute(statement, params).fetchone()
            if row is None:
                return None
            features = conn.execute(
                "SELECT properties, geometry FROM hotspot_features WHERE set_id = ? ORDER BY position", (row[0],)
            ).fetchall()
            return self.hotspot_set_from_rows(row, features)

        return self._read("reading a hotspot set", work)

    def hotspot_sets(self, *, key: str | None = None, ward_id: str | None = None) -> pd.DataFrame:
        """See :meth:`IncidentStore.hotspot_sets`."""
        clauses: list[str] = []
        params: list[Any] = []
        if key is not None:
            clauses.append("key = ?")
            params.append(self.check_text("key", key))
        if ward_id is not None:
            clauses.append("EXISTS (SELECT 1 FROM json_each(hotspot_sets.ward_ids) w WHERE w.value = ?)")
            params.append(self.check_text("ward_id", ward_id))
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        with self._lock, self._errors("listing hotspot sets"):
            rows = self._connection().execute(
                f"SELECT set_id, key, data_version, created_at, ward_ids, n_hotspots FROM hotspot_sets{where}{_NEWEST}",
                params,
            ).fetchall()
        return self.hotspot_listing_from_rows(rows)

    def scope_version(
        self,
        ward_ids: Iterable[str] | str | None,
        categories: Iterable[str] | str | None = None,
        since: Any = None,
        until: Any = None,
    ) -> str:
        """See :meth:`IncidentStore.scope_version`."""
        f = normalize_filters(ward_ids=ward_ids, categories=categories, since=since, until=until)
        counts = scope_counts(self.dialect, f)
        wards = select_boundaries(self.dialect, f.ward_ids)

        def work(conn: sqlite3.Connection) -> str:
            count, last = 0, 0
            if not f.empty:
                count, last = conn.execute(counts.text, counts.params).fetchone()
            rows = [] if f.ward_ids == () else conn.execute(wards.text, wards.params).fetchall()
            return self.scope_token(self._store_id, f, count, last, rows)

        return self._read("reading the scope version", work)
