"""The PostGIS store: the same interface and guarantees as the embedded store, on a server.

Selected by ``WARD_GEO_DATABASE_URL=postgresql://user:password@host:port/dbname``. The
database needs the ``postgis`` extension (created on first use when the user may do so).
Tables live in their own schema (default ``ward_geo``):

- ``incidents``: ``incident_id`` primary key, ``occurred_at timestamptz``,
  ``geom geometry(Point, 4326)`` with a GiST index, btree indexes on
  ``(ward_id, occurred_at)``, ``(category, occurred_at)`` and ``occurred_at``; ``seq``
  keeps insertion order.
- ``boundaries`` (``geom geometry(Geometry, 4326)``, GiST), ``batches`` (the ingest log) and
  ``meta`` (store id, data generation).
- ``hotspot_sets`` (``set_id`` primary key, ``key``, ``data_version``, ``created_at
  timestamptz``, ``ward_ids`` / ``definition`` / ``attrs`` / ``columns`` as ``json`` (text
  kept verbatim, so key order survives), ``n_hotspots``, ``seq`` = put order; index on
  ``(key, created_at)``) and ``hotspot_features`` (``set_id``, ``position``, ``properties
  json``, ``geom geometry(Geometry, 4326)``). Both are created when a store made by an older
  ward_geo is opened. Writes of one key are serialised by an advisory lock, so concurrent
  puts cannot keep more than ``keep`` sets.

Every filter (ward, category, time window, bbox via ``&&`` on the GiST index) runs in SQL.

Ingest copies the batch into a temporary table (``COPY``), then, inside one transaction
holding a per-schema advisory lock (so concurrent writers are serialised and cannot race
between the content check and the insert): finds stored ids with different content
(``IS DISTINCT FROM`` over every column; any -> InputError, rollback), inserts the rest
with ``INSERT ... ON CONFLICT DO NOTHING``, bumps the data generation and logs the batch.
PostgreSQL's commit is durable (``synchronous_commit`` on, the server default). A lost
connection aborts the transaction on the server, so nothing is half-written; the store
reports a StoreError and reconnects on the next call.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import geopandas as gpd
import pandas as pd

from ward_geo.errors import ConfigurationError, StoreError, WardGeoError
from ward_geo.store.base import (
    BATCH_COLUMNS,
    HOTSPOT_SETS_KEPT,
    ROW_FIELDS,
    HotspotSetRecord,
    IncidentStore,
    IngestResult,
)
from ward_geo.store.filters import BBox, normalize_filters
from ward_geo.store.sql import Dialect, Statement, scope_counts, select_boundaries

try:  # psycopg is the optional [postgis] extra
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict
except ImportError:  # pragma: no cover - exercised only without the extra
    psycopg = None  # type: ignore[assignment]

__all__ = ["DEFAULT_SCHEMA", "PostGISDialect", "PostGISStore"]

DEFAULT_SCHEMA = "ward_geo"
T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_SELECT = (
    "incident_id, category, category_raw, "
    "(extract(epoch FROM occurred_at) * 1000000)::bigint, time_precision, severity, description, "
    "source, ward_id, ST_X(geom), ST_Y(geom)"
)
_STAGING_COLS = "ord, " + ", ".join(ROW_FIELDS)
_TS = "(timestamptz 'epoch' + s.occurred_us * interval '1 microsecond')"


def _schema_sql(schema: sql.Identifier) -> list[sql.Composed]:
    statements = [
        "CREATE SCHEMA IF NOT EXISTS {s}",
        "CREATE TABLE IF NOT EXISTS {s}.meta (key text PRIMARY KEY, value text NOT NULL)",
        """CREATE TABLE IF NOT EXISTS {s}.incidents (
            seq bigserial NOT NULL,
            incident_id text PRIMARY KEY,
            category text NOT NULL,
            category_raw text,
            occurred_at timestamptz NOT NULL,
            time_precision text,
            severity double precision,
            description text,
            source text,
            ward_id text,
            geom geometry(Point, 4326) NOT NULL,
            batch_id text NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS incidents_geom_gist ON {s}.incidents USING gist (geom)",
        "CREATE INDEX IF NOT EXISTS incidents_ward_time ON {s}.incidents (ward_id, occurred_at)",
        "CREATE INDEX IF NOT EXISTS incidents_category_time ON {s}.incidents (category, occurred_at)",
        "CREATE INDEX IF NOT EXISTS incidents_time ON {s}.incidents (occurred_at)",
        "CREATE INDEX IF NOT EXISTS incidents_seq ON {s}.incidents (seq)",
        """CREATE TABLE IF NOT EXISTS {s}.boundaries (
            ward_id text PRIMARY KEY,
            name text,
            name_en text,
            population bigint,
            area_km2 double precision NOT NULL,
            geom geometry(Geometry, 4326) NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS boundaries_geom_gist ON {s}.boundaries USING gist (geom)",
        """CREATE TABLE IF NOT EXISTS {s}.batches (
            seq bigserial NOT NULL,
            batch_id text PRIMARY KEY,
            source text,
            added bigint NOT NULL,
            duplicates bigint NOT NULL,
            at timestamptz NOT NULL
        )""",
    ]
    return [sql.SQL(s).format(s=schema) for s in statements]


def _hotspot_schema_sql(schema: sql.Identifier) -> list[sql.Composed]:
    statements = [
        """CREATE TABLE IF NOT EXISTS {s}.hotspot_sets (
            seq bigserial NOT NULL,
            set_id text PRIMARY KEY,
            key text NOT NULL,
            data_version text NOT NULL,
            created_at timestamptz NOT NULL,
            ward_ids json NOT NULL,
            definition json NOT NULL,
            attrs json NOT NULL,
            columns json NOT NULL,
            n_hotspots bigint NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS hotspot_sets_key_time ON {s}.hotspot_sets (key, created_at)",
        """CREATE TABLE IF NOT EXISTS {s}.hotspot_features (
            set_id text NOT NULL,
            position bigint NOT NULL,
            properties json NOT NULL,
            geom geometry(Geometry, 4326),
            PRIMARY KEY (set_id, position)
        )""",
    ]
    return [sql.SQL(s).format(s=schema) for s in statements]


_SET_SELECT = (
    "set_id, key, data_version, (extract(epoch FROM created_at) * 1000000)::bigint, ward_ids::text, "
    "definition::text, attrs::text, columns::text, n_hotspots"
)
_NEWEST = " ORDER BY created_at DESC, seq DESC"


class PostGISDialect(Dialect):
    """PostGIS's spelling of the incident filters (``%s`` placeholders, arrays, timestamptz, GiST)."""

    param = "%s"
    incidents = "{s}.incidents"
    row_columns = _SELECT
    row_number = "seq"
    bytewise = ' COLLATE "C"'
    no_limit = None
    boundaries = "{s}.boundaries"
    boundary_wkb = "ST_AsBinary(geom)"

    def in_list(self, column: str, values: tuple[str, ...]) -> Statement:
        """``column = ANY(%s)`` with the values bound as one array."""
        return Statement(f"{column} = ANY(%s)", [list(values)])

    def time_value(self, us: int) -> datetime:
        """A time-zone aware datetime (the column is timestamptz)."""
        return _EPOCH + timedelta(microseconds=us)

    def in_bbox(self, box: BBox) -> Statement:
        """``&&`` on the GiST index, then the exact edge-inclusive test."""
        x0, y0, x1, y1 = box
        return Statement(
            "geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) "
            "AND ST_X(geom) BETWEEN %s AND %s AND ST_Y(geom) BETWEEN %s AND %s",
            [x0, y0, x1, y1, x0, x1, y0, y1],
        )


class PostGISStore(IncidentStore):
    """Incident store in a PostgreSQL database with PostGIS.

    Parameters
    ----------
    url : str
        ``postgresql://user:password@host:port/dbname`` (libpq URL; query parameters such
        as ``sslmode`` or ``application_name`` are passed through).
    schema : str, default "ward_geo"
        Schema holding the tables (created when absent). Several independent stores can
        share a database under different schemas.
    timeout : float, default 30
        Seconds to wait for the connection and for another writer's ingest lock.

    Notes
    -----
    One instance may be shared by threads (calls are serialised); each process opens its own.
    """

    backend = "postgis"
    dialect = PostGISDialect()

    def __init__(self, url: str, *, schema: str = DEFAULT_SCHEMA, timeout: float = 30.0) -> None:
        self._params: dict[str, Any] = {}
        self._conn: psycopg.Connection | None = None
        if psycopg is None:
            raise ConfigurationError(
                "the PostGIS store needs psycopg 3: install ward_geo with the [postgis] extra"
            )
        if not isinstance(schema, str) or not schema or len(schema) > 63:
            raise ConfigurationError(f"invalid PostGIS schema name {schema!r} (1 to 63 characters)")
        try:
            params = conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise ConfigurationError(f"invalid PostgreSQL URL: {exc}") from None
        self._url = url
        self._params = params
        self.schema = schema
        self.timeout = float(timeout)
        self._s = sql.Identifier(schema)
        self._lock = threading.RLock()
        self._closed = False
        self._store_id = ""
        self._run("open", self._setup, write=True)

    @property
    def where(self) -> str:
        """``host:port/dbname`` of the server (no credentials), for messages."""
        p = self._params
        return f"{p.get('host', 'localhost')}:{p.get('port', 5432)}/{p.get('dbname', '')}"

    def __repr__(self) -> str:
        return f"PostGISStore({self.where!r}, schema={self.schema!r})"

    # ------------------------------------------------------------------ plumbing
    def _connect(self, *, ping: bool = False) -> psycopg.Connection:
        """The open connection (checked with a round trip when ``ping``), reconnecting if needed."""
        if self._closed:
            raise StoreError(f"the PostGIS store {self.where} is closed")
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            if not ping:
                return self._conn
            try:
                self._conn.execute("SELECT 1")
                return self._conn
            except psycopg.OperationalError:
                pass  # the server dropped the idle connection: open a new one below
        self._drop()
        extra: dict[str, Any] = {"autocommit": True, "connect_timeout": max(1, int(self.timeout))}
        if "application_name" not in self._params:
            extra["application_name"] = "ward_geo"
        try:
            conn = psycopg.connect(self._url, **extra)
            conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(f"{int(self.timeout * 1000)}ms")))
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to PostGIS at {self.where}: {_first_line(exc)}; check WARD_GEO_DATABASE_URL "
                "and that the server is running",
                details={"server": self.where},
            ) from None
        self._conn = conn
        return conn

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                pass
            self._conn = None

    def _run(self, action: str, fn: Callable[[psycopg.Connection], T], *, write: bool) -> T:
        """Run ``fn(conn)``, mapping database failures to StoreError.

        Reads are retried once on a fresh connection when the old one turned out to be dead
        (for example after a server restart). Writes first check the connection with a round
        trip (reconnecting when the server dropped it while idle) and are never retried once
        started: a failure mid-transaction raises StoreError (the server rolls back).
        """
        with self._lock:
            for attempt in (0, 1):
                conn = self._connect(ping=write)
                try:
                    return fn(conn)
                except WardGeoError:
                    raise
                except psycopg.OperationalError as exc:
                    lost = conn.closed or conn.broken
                    self._drop()
                    if lost and not write and attempt == 0:
                        continue
                    raise self._error(action, exc, lost=lost, write=write) from None
                except psycopg.Error as exc:
                    raise self._error(action, exc, lost=False, write=write) from None
            raise AssertionError("unreachable")  # pragma: no cover

    def _error(self, action: str, exc: Exception, *, lost: bool, write: bool) -> StoreError:
        reason = _first_line(exc)
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            what = f"another writer held the ingest lock for more than {self.timeout:g} s"
        elif lost:
            what = f"the connection to the server was lost ({reason})"
        else:
            what = reason
        tail = "; the transaction was rolled back and nothing was written" if write else ""
        if lost and write:
            tail += " (if the connection broke while committing, re-run the same ingest: it is idempotent)"
        return StoreError(
            f"PostGIS store {self.where}: {action} failed: {what}{tail}",
            details={"server": self.where, "error": reason, "connection_lost": bool(lost)},
        )

    def _setup(self, conn: psycopg.Connection) -> None:
        # An existing store is only read (DDL would wait for running ingests); else create it.
        with conn.cursor() as cur:
            names = [f'"{self.schema}".{table}' for table in ("meta", "batches", "hotspot_sets", "hotspot_features")]
            cur.execute("SELECT to_regclass(%s), to_regclass(%s), to_regclass(%s), to_regclass(%s)", names)
            found = cur.fetchone() or (None, None, None, None)
            if found[0] and found[1]:
                cur.execute(sql.SQL("SELECT value FROM {s}.meta WHERE key = 'store_id'").format(s=self._s))
                row = cur.fetchone()
                if row is not None:
                    self._store_id = row[0]
                    if not (found[2] and found[3]):  # a store made before hotspot sets existed
                        with conn.transaction():
                            cur.execute("SELECT pg_advisory_xact_lock(hashtext('ward_geo.schema'))")
                            for statement in _hotspot_schema_sql(self._s):
                                cur.execute(statement)
                    return
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('ward_geo.schema'))")
            cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
            if cur.fetchone() is None:
                try:
                    with conn.transaction():
                        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
                except psycopg.Error as exc:
                    raise StoreError(
                        f"the database {self.where} lacks the PostGIS extension and it could not be created "
                        f"({_first_line(exc)}): install PostGIS on the server and run CREATE EXTENSION postgis "
                        "as a superuser",
                        details={"server": self.where},
                    ) from None
            for statement in _schema_sql(self._s) + _hotspot_schema_sql(self._s):
                cur.execute(statement)
            cur.execute(
                sql.SQL(
                    "INSERT INTO {s}.meta (key, value) VALUES ('schema_version', '1'), ('store_id', %s), "
                    "('generation', '0') ON CONFLICT (key) DO NOTHING"
                ).format(s=self._s),
                (uuid.uuid4().hex,),
            )
            cur.execute(sql.SQL("SELECT value FROM {s}.meta WHERE key = 'store_id'").format(s=self._s))
            stored = cur.fetchone()
            if stored is None:  # pragma: no cover - inserted just above in the same transaction
                raise StoreError(f"the PostGIS store {self.where} has no store id", details={"server": self.where})
            self._store_id = stored[0]

    def close(self) -> None:
        """See :meth:`IncidentStore.close`."""
        with self._lock:
            self._drop()
            self._closed = True

    def _q(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(s=self._s)

    # ------------------------------------------------------------------ writing
    def ingest(self, incidents: gpd.GeoDataFrame, *, source: str | None = None) -> IngestResult:
        """See :meth:`IncidentStore.ingest`."""
        batch = self.prepare_incidents(incidents, source)
        report = incidents.attrs.get("validation_report") if hasattr(incidents, "attrs") else None
        same = (
            "(i.category, i.category_raw, i.occurred_at, i.time_precision, i.severity, i.description, "
            "i.ward_id, ST_X(i.geom), ST_Y(i.geom)) IS NOT DISTINCT FROM "
            f"(s.category, s.category_raw, {_TS}, s.time_precision, s.severity, s.description, "
            "s.ward_id, s.lon, s.lat)"
        )

        def work(conn: psycopg.Connection) -> tuple[int, int]:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"ward_geo.ingest.{self.schema}",))
                cur.execute(
                    "CREATE TEMP TABLE ward_geo_staging (ord bigint, incident_id text, category text, "
                    "category_raw text, occurred_us bigint, time_precision text, severity double precision, "
                    "description text, source text, ward_id text, lon double precision, lat double precision) "
                    "ON COMMIT DROP"
                )
                with cur.copy(f"COPY ward_geo_staging ({_STAGING_COLS}) FROM STDIN") as copy:
                    for k, row in enumerate(batch.rows):
                        copy.write_row((k, *row))
                cur.execute(
                    self._q(
                        "SELECT s.incident_id FROM ward_geo_staging s JOIN {s}.incidents i "
                        f"ON i.incident_id = s.incident_id WHERE NOT {same}"
                    )
                )
                conflicts = [r[0] for r in cur.fetchall()]
                if conflicts:
                    raise self.conflict_error(conflicts, batch)
                cur.execute(
                    self._q(
                        "INSERT INTO {s}.incidents (incident_id, category, category_raw, occurred_at, "
                        "time_precision, severity, description, source, ward_id, geom, batch_id) "
                        f"SELECT s.incident_id, s.category, s.category_raw, {_TS}, s.time_precision, s.severity, "
                        "s.description, s.source, s.ward_id, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326), %s "
                        "FROM ward_geo_staging s ORDER BY s.ord ON CONFLICT (incident_id) DO NOTHING"
                    ),
                    (batch.batch_id,),
                )
                added = cur.rowcount
                if added:
                    self._bump(cur)
                duplicates = batch.n_input - added
                cur.execute(
                    self._q(
                        "INSERT INTO {s}.batches (batch_id, source, added, duplicates, at) "
                        "VALUES (%s, %s, %s, %s, %s)"
                    ),
                    (batch.batch_id, batch.source, added, duplicates, datetime.fromisoformat(batch.at)),
                )
            return added, duplicates

        added, duplicates = self._run("ingest", work, write=True)
        return IngestResult(added=added, duplicates=duplicates, batch_id=batch.batch_id, report=report)

    def _bump(self, cur: psycopg.Cursor) -> None:
        cur.execute(self._q("UPDATE {s}.meta SET value = (value::bigint + 1)::text WHERE key = 'generation'"))

    def put_boundaries(self, boundaries: gpd.GeoDataFrame) -> int:
        """See :meth:`IncidentStore.put_boundaries`."""
        prepared = self.prepare_boundaries(boundaries)

        def work(conn: psycopg.Connection) -> int:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"ward_geo.ingest.{self.schema}",))
                changed = 0
                statement = self._q(
                    "INSERT INTO {s}.boundaries AS b (ward_id, name, name_en, population, area_km2, geom) "
                    "VALUES (%s, %s, %s, %s, %s, ST_GeomFromWKB(%s, 4326)) ON CONFLICT (ward_id) DO UPDATE SET "
                    "name = excluded.name, name_en = excluded.name_en, population = excluded.population, "
                    "area_km2 = excluded.area_km2, geom = excluded.geom "
                    "WHERE (b.name, b.name_en, b.population, ST_AsBinary(b.geom)) IS DISTINCT FROM "
                    "(excluded.name, excluded.name_en, excluded.population, ST_AsBinary(excluded.geom))"
                )
                for row in prepared.rows:
                    cur.execute(statement, row)
                    changed += cur.rowcount
                if changed:
                    self._bump(cur)
            return changed

        return self._run("storing boundaries", work, write=True)

    # ------------------------------------------------------------------ reading
    def _fetch(self, action: str, statement: sql.Composed, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        def work(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
            with conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall()

        return self._run(action, work, write=False)

    def _fetch_rows(self, action: str, statement: Statement) -> list[tuple[Any, ...]]:
        return self._fetch(action, self._q(statement.text), statement.params)

    def batches(self) -> pd.DataFrame:
        """See :meth:`IncidentStore.batches`."""
        rows = self._fetch(
            "reading the batch log",
            self._q(f"SELECT {', '.join(BATCH_COLUMNS)} FROM {{s}}.batches ORDER BY at, seq"),
            [],
        )
        out = [
            (b, s, int(a), int(d), at.astimezone(UTC).isoformat(timespec="microseconds")) for b, s, a, d, at in rows
        ]
        return pd.DataFrame(out, columns=list(BATCH_COLUMNS)).astype({"added": "int64", "duplicates": "int64"})

    def data_version(self) -> str:
        """See :meth:`IncidentStore.data_version`."""
        statement = self._q("SELECT value FROM {s}.meta WHERE key = 'generation'")
        rows = self._fetch("reading the data version", statement, [])
        return f"{self._store_id}-{rows[0][0]}"

    # ------------------------------------------------------------------ hotspot sets
    def _snapshot(self, action: str, fn: Callable[[psycopg.Cursor], T]) -> T:
        """Run ``fn(cursor)`` in one read-only REPEATABLE READ transaction (one snapshot)."""

        def work(conn: psycopg.Connection) -> T:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                return fn(cur)

        return self._run(action, work, write=False)

    def put_hotspot_set(self, record: HotspotSetRecord, *, keep: int = HOTSPOT_SETS_KEPT) -> None:
        """See :meth:`IncidentStore.put_hotspot_set`."""
        prepared = self.prepare_hotspot_set(record, keep)
        row = list(prepared.set_row())
        row[3] = _EPOCH + timedelta(microseconds=prepared.created_us)

        def work(conn: psycopg.Connection) -> None:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"ward_geo.hotspots.{self.schema}.{prepared.key}",)
                )
                cur.execute(
                    self._q(
                        "INSERT INTO {s}.hotspot_sets (set_id, key, data_version, created_at, ward_ids, definition, "
                        "attrs, columns, n_hotspots) VALUES (%s, %s, %s, %s, %s::json, %s::json, %s::json, "
                        "%s::json, %s) ON CONFLICT (set_id) DO NOTHING"
                    ),
                    row,
                )
                if cur.rowcount == 0:
                    cur.execute(
                        self._q("SELECT key, data_version FROM {s}.hotspot_sets WHERE set_id = %s"), (prepared.set_id,)
                    )
                    stored = cur.fetchone()
                    if stored is not None and tuple(stored) != (prepared.key, prepared.data_version):
                        raise self.hotspot_set_conflict(prepared, stored[0], stored[1])
                    return
                cur.executemany(
                    self._q(
                        "INSERT INTO {s}.hotspot_features (set_id, position, properties, geom) "
                        "VALUES (%s, %s, %s::json, ST_GeomFromWKB(%s::bytea, 4326))"
                    ),
                    [(prepared.set_id, *feature) for feature in prepared.features],
                )
                cur.execute(
                    self._q(f"SELECT set_id FROM {{s}}.hotspot_sets WHERE key = %s{_NEWEST} OFFSET %s"),
                    (prepared.key, prepared.keep),
                )
                doomed = [r[0] for r in cur.fetchall()]
                if doomed:
                    cur.execute(self._q("DELETE FROM {s}.hotspot_features WHERE set_id = ANY(%s)"), (doomed,))
                    cur.execute(self._q("DELETE FROM {s}.hotspot_sets WHERE set_id = ANY(%s)"), (doomed,))

        self._run("storing a hotspot set", work, write=True)

    def _one_set(self, where: str, params: Sequence[Any]) -> HotspotSetRecord | None:
        def work(cur: psycopg.Cursor) -> HotspotSetRecord | None:
            cur.execute(self._q(f"SELECT {_SET_SELECT} FROM {{s}}.hotspot_sets WHERE {where}{_NEWEST} LIMIT 1"), params)
            row = cur.fetchone()
            if row is None:
                return None
            cur.execute(
                self._q(
                    "SELECT properties::text, ST_AsBinary(geom) FROM {s}.hotspot_features "
                    "WHERE set_id = %s ORDER BY position"
                ),
                (row[0],),
            )
            return self.hotspot_set_from_rows(row, cur.fetchall())

        return self._snapshot("reading a hotspot set", work)

    def hotspot_sets(self, *, key: str | None = None, ward_id: str | None = None) -> pd.DataFrame:
        """See :meth:`IncidentStore.hotspot_sets`."""
        clauses: list[str] = []
        params: list[Any] = []
        if key is not None:
            clauses.append("key = %s")
            params.append(self.check_text("key", key))
        if ward_id is not None:
            clauses.append("ward_ids::jsonb @> jsonb_build_array(%s::text)")
            params.append(self.check_text("ward_id", ward_id))
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        text = (
            "SELECT set_id, key, data_version, (extract(epoch FROM created_at) * 1000000)::bigint, "
            f"ward_ids::text, n_hotspots FROM {{s}}.hotspot_sets{where}{_NEWEST}"
        )
        return self.hotspot_listing_from_rows(self._fetch("listing hotspot sets", self._q(text), params))

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
        wards_statement = select_boundaries(self.dialect, f.ward_ids)

        def work(cur: psycopg.Cursor) -> str:
            count, last = 0, 0
            if not f.empty:
                cur.execute(self._q(counts.text), counts.params)
                count, last = cur.fetchone() or (0, 0)
            wards: list[tuple[Any, ...]] = []
            if f.ward_ids != ():
                cur.execute(self._q(wards_statement.text), wards_statement.params)
                wards = cur.fetchall()
            return self.scope_token(self._store_id, f, count, last, wards)

        return self._snapshot("reading the scope version", work)

    def drop(self) -> None:
        """Delete this store's schema and everything in it (irreversible; used by tests)."""

        def work(conn: psycopg.Connection) -> None:
            with conn.transaction():
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {s} CASCADE").format(s=self._s))

        self._run("dropping the store", work, write=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
