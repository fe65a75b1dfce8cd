"""Crashes and lost connections: real processes, real SIGKILLs, real server backends terminated."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import pytest
from _store_data import make_incidents
from _store_specs import PG_SKIP, PG_URL, StoreSpec

from ward_geo.errors import StoreError


def _wait_mid_ingest_sqlite(spec: StoreSpec, proc, wal: Path, wal_before: int, *, committing: bool) -> bool:
    """Block until the worker is inside its ingest transaction; True when caught in time.

    ``committing=False``: the worker has held the write lock for 0.5 s and has not started
    writing its commit to the WAL (a 150k-row batch keeps the lock for seconds, and its pages
    stay in the page cache until the commit). ``committing=True``: the WAL is growing while
    the lock is still held, i.e. the commit is being written.
    """
    probe = sqlite3.connect(spec.target, timeout=0, isolation_level=None)
    deadline = time.monotonic() + 90
    held_since = None
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
                held_since = None
            except sqlite3.OperationalError:  # the worker holds the write lock
                now = time.monotonic()
                held_since = held_since or now
                size = wal.stat().st_size if wal.exists() else 0
                if committing and size > wal_before + 1_000_000:
                    return True
                if not committing and now - held_since >= 0.5 and size <= wal_before:
                    return True
            time.sleep(0.001)
        raise AssertionError("worker never got mid-ingest")
    finally:
        probe.close()


def _wait_mid_ingest_postgis(spec: StoreSpec, app: str, proc=None) -> int:
    """Block until the backend of application ``app`` runs the INSERT of an ingest; return its pid."""
    import psycopg

    deadline = time.monotonic() + 90
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if proc is not None:
                assert proc.poll() is None, "worker finished before it could be killed: " + proc.stderr.read()
            row = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND state = 'active' "
                "AND query LIKE %s",
                (app, f'INSERT INTO "{spec.schema}".incidents%'),
            ).fetchone()
            if row:
                return row[0]
            time.sleep(0.005)
    raise AssertionError("ingest never reached its INSERT")


@pytest.mark.slow
def test_process_killed_mid_ingest_leaves_previous_state(spec: StoreSpec):
    with spec.open() as store:
        store.ingest(make_incidents(range(100)))
        version = store.data_version()
    app = f"wgkill{uuid.uuid4().hex[:8]}"
    if spec.backend == "postgis":
        spec = StoreSpec(spec.backend, f"{PG_URL}?application_name={app}", spec.schema)
    wal = Path(spec.target + "-wal")
    wal_before = wal.stat().st_size if wal.exists() else 0
    proc = spec.worker([(50, 150_050)])
    try:
        if spec.backend == "sqlite":
            assert _wait_mid_ingest_sqlite(spec, proc, wal, wal_before, committing=False), proc.stderr.read()
        else:
            _wait_mid_ingest_postgis(spec, app, proc)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    with spec.open() as store:  # the store still opens ...
        assert store.count() == 100  # ... in exactly the state before the batch
        assert store.data_version() == version
        assert len(store.batches()) == 1
        result = store.ingest(make_incidents(range(50, 150)), source="retry")  # and still takes writes
        assert (result.added, result.duplicates) == (50, 50)


@pytest.mark.slow
def test_sqlite_process_killed_while_committing_leaves_all_or_nothing(tmp_path: Path):
    spec = StoreSpec("sqlite", str(tmp_path / "store.sqlite"))
    with spec.open() as store:
        store.ingest(make_incidents(range(100)))
    wal = Path(spec.target + "-wal")
    wal_before = wal.stat().st_size if wal.exists() else 0
    proc = spec.worker([(50, 150_050)])
    caught = _wait_mid_ingest_sqlite(spec, proc, wal, wal_before, committing=True)
    if caught:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(60)
    with spec.open() as store:
        conn = store._connection()
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        n = store.count()
        assert n in (100, 150_050)  # the previous state or the whole batch, never a part
        assert len(store.batches()) == (1 if n == 100 else 2)
        rtree = conn.execute("SELECT count(*) FROM incidents_rtree").fetchone()[0]
        assert rtree == n


@pytest.mark.postgis
@PG_SKIP
@pytest.mark.slow
def test_postgis_connection_loss_mid_ingest_gives_store_error_and_loses_nothing(pg_spec: StoreSpec):
    spec = pg_spec
    import psycopg

    app = f"wgloss{uuid.uuid4().hex[:8]}"
    from ward_geo.store.postgis import PostGISStore

    store = PostGISStore(f"{PG_URL}?application_name={app}", schema=spec.schema)
    store.ingest(make_incidents(range(100)))
    big = make_incidents(range(100, 150_100))
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            store.ingest(big)
        except BaseException as exc:  # noqa: BLE001 - inspected below
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    pid = _wait_mid_ingest_postgis(spec, app)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0] is True
    thread.join(120)
    error = outcome.get("error")
    assert isinstance(error, StoreError), error
    assert "connection to the server was lost" in error.message
    assert "nothing was written" in error.message
    assert error.details["connection_lost"] is True
    # nothing was lost or half-written, and the same handle reconnects
    assert store.count() == 100
    assert store.ingest(make_incidents(range(90, 110))).added == 10
    store.close()


@pytest.mark.postgis
@PG_SKIP
def test_postgis_idle_connection_killed_is_replaced_transparently(pg_spec: StoreSpec):
    spec = pg_spec
    import psycopg

    app = f"wgidle{uuid.uuid4().hex[:8]}"
    from ward_geo.store.postgis import PostGISStore

    store = PostGISStore(f"{PG_URL}?application_name={app}", schema=spec.schema)
    store.ingest(make_incidents(range(10)))
    for action in (lambda: store.count(), lambda: store.ingest(make_incidents(range(10, 20))).added):
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s", (app,)
            ).fetchone()[0]
        assert killed == 1
        assert action() == 10
    assert store.count() == 20
    store.close()


@pytest.mark.postgis
@PG_SKIP
def test_postgis_unreachable_server_gives_store_error():
    from ward_geo.store.postgis import PostGISStore

    with pytest.raises(StoreError, match=r"cannot connect to PostGIS at 127\.0\.0\.1:1/nowhere"):
        PostGISStore("postgresql://nobody:secret@127.0.0.1:1/nowhere", timeout=2)
    try:
        PostGISStore("postgresql://nobody:secret@127.0.0.1:1/nowhere", timeout=2)
    except StoreError as exc:
        assert "secret" not in exc.message


def test_sqlite_writer_waiting_too_long_gives_store_error(tmp_path: Path):
    from ward_geo.store.sqlite import SQLiteStore

    path = tmp_path / "locked.sqlite"
    SQLiteStore(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        store = SQLiteStore(path, timeout=0.2)
        with pytest.raises(StoreError, match="held the write lock"):
            store.ingest(make_incidents(range(3)))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.ingest(make_incidents(range(3))).added == 3
    store.close()


def test_sqlite_store_file_settings(tmp_path: Path):
    from ward_geo.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "deep" / "dir" / "s.sqlite")
    conn = store._connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert {"incidents", "incidents_rtree", "boundaries", "batches", "meta", "incidents_ward_time",
            "incidents_category_time", "incidents_time"} <= names
    plan = " ".join(
        str(r) for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM incidents WHERE id IN (SELECT id FROM incidents_rtree "
            "WHERE max_lon >= 1 AND min_lon <= 2 AND max_lat >= 1 AND min_lat <= 2)"
        )
    )
    assert "incidents_rtree VIRTUAL TABLE INDEX" in plan
    store.close()


def test_sqlite_not_a_database_gives_store_error(tmp_path: Path):
    from ward_geo.store.sqlite import SQLiteStore

    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not a database, just text" * 100)
    with pytest.raises(StoreError, match="not a SQLite database"):
        SQLiteStore(path)
