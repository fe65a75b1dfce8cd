"""Operations under hostile conditions (issue item 8): private files, a full disk, client
hang-ups and slow request bodies — against the library and a real ``ward-geo serve``."""

from __future__ import annotations

import errno
import json
import os
import socket
import sqlite3
import stat
import time
from pathlib import Path

import geopandas as gpd
import httpx
import pytest
from api.conftest import (
    RealServer,
    _populate,
    make_client,
    make_incidents,
    start_server,
)
from waiting import wait_until

from ward_geo.api.deps import StoreProvider
from ward_geo.errors import InsufficientStorageError
from ward_geo.io.writers import geojson_dumps, to_geojson
from ward_geo.store.sqlite import SQLiteStore

NAME = "ward_geo.sqlite"
GJ = {"content-type": "application/geo+json"}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _log_entries(path: Path) -> list[dict]:
    entries = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            entries.append({"raw": line})
    return entries


def _big_batch(wards: gpd.GeoDataFrame, prefix: str, n: int = 600) -> gpd.GeoDataFrame:
    frame = make_incidents(wards.iloc[:1], n_per_ward=n, seed=3, prefix=prefix)
    frame["description"] = [f"mô tả {i} " + "x" * 400 for i in range(len(frame))]
    return frame


# ---------------------------------------------------------------- permissions
def test_new_store_files_are_private(tmp_path: Path, api_wards: gpd.GeoDataFrame) -> None:
    old = os.umask(0o022)  # the usual umask: files would be 0644 and folders 0755
    try:
        folder = tmp_path / "fresh"
        with SQLiteStore(folder / NAME) as store:
            store.put_boundaries(api_wards)
            for suffix in ("", "-wal", "-shm"):
                assert _mode(Path(f"{folder / NAME}{suffix}")) == 0o600, suffix
        assert _mode(folder) == 0o700
    finally:
        os.umask(old)


def test_serve_creates_private_files(tmp_path: Path) -> None:
    data_dir = tmp_path / "served" / "data"  # does not exist: the service creates it
    server = start_server(data_dir, tmp_path / "server.log")
    try:
        assert _mode(data_dir) == 0o700
        for suffix in ("", "-wal", "-shm"):
            assert _mode(Path(f"{data_dir / NAME}{suffix}")) == 0o600, suffix
    finally:
        server.stop()


# ---------------------------------------------------------------- full disk
def _fill_up(store: SQLiteStore) -> None:
    """Let the database grow by a few pages only: SQLite's own "database or disk is full"."""
    conn = store._connection()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 4}")


def test_full_store_rolls_back_with_insufficient_storage(
    tmp_path: Path, api_wards: gpd.GeoDataFrame, api_incidents: gpd.GeoDataFrame
) -> None:
    path = tmp_path / NAME
    with SQLiteStore(path) as store:
        store.put_boundaries(api_wards)
        store.ingest(api_incidents)
        version = store.data_version()
        _fill_up(store)
        with pytest.raises(InsufficientStorageError) as caught:
            store.ingest(_big_batch(api_wards, "full"))
        assert caught.value.status_code == 507 and caught.value.code == "insufficient_storage"
        assert "full" in caught.value.message and str(tmp_path) not in caught.value.message
        assert store.count() == len(api_incidents) and store.data_version() == version
        assert len(store.batches()) == 1
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM incidents WHERE incident_id LIKE 'full-%'").fetchone()[0] == 0
    finally:
        conn.close()
    with SQLiteStore(path) as store:  # the file is fine afterwards: a write succeeds once there is room
        assert store.ingest(_big_batch(api_wards, "room", n=80)).added == 80


def test_full_store_answers_507_over_http(service, api_wards, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = StoreProvider.get

    def full_store(self: StoreProvider) -> SQLiteStore:
        store = opened(self)
        _fill_up(store)
        return store

    monkeypatch.setattr(StoreProvider, "get", full_store)
    admin = service.headers("admin")
    with SQLiteStore(service.data_dir / NAME) as store:
        before = store.count()
    with make_client(service.data_dir) as client:
        body = geojson_dumps(to_geojson(_big_batch(api_wards, "http-full")))
        response = client.post("/incidents", headers={**admin, **GJ}, content=body)
        assert response.status_code == 507, response.text
        error = response.json()
        assert error["code"] == "insufficient_storage" and "full" in error["message"]
        assert str(service.data_dir) not in response.text
    with SQLiteStore(service.data_dir / NAME) as store:
        assert store.count() == before


def test_disk_full_elsewhere_is_507_not_500(service) -> None:
    from fastapi.testclient import TestClient

    from ward_geo.api.app import create_app
    from ward_geo.api.config import ApiSettings

    app = create_app(ApiSettings(data_dir=service.data_dir))

    @app.get("/__spool")
    async def spool() -> None:  # what writing a spooled upload to a full temp folder raises
        raise OSError(errno.ENOSPC, "No space left on device", "/var/tmp/ward-geo-upload-x.csv")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/__spool")
    assert response.status_code == 507 and response.json()["code"] == "insufficient_storage"
    assert "/var/tmp" not in response.text


# ---------------------------------------------------------------- client hang-ups and slow bodies
@pytest.fixture
def ops_server(tmp_path: Path, api_wards, api_incidents):
    data_dir = tmp_path / "data"
    keys = _populate(data_dir, api_wards, api_incidents)
    env = {"WARD_GEO_BODY_IDLE_TIMEOUT": "1", "WARD_GEO_BODY_TOTAL_TIMEOUT": "4"}
    server = start_server(data_dir, tmp_path / "server.log", extra_env=env)
    try:
        yield server, keys
    finally:
        server.stop()


def _head(server: RealServer, key: str, length: int) -> bytes:
    return (
        f"POST /incidents HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nX-API-Key: {key}\r\n"
        f"Content-Type: text/csv\r\nContent-Length: {length}\r\nX-Request-ID: {{rid}}\r\n\r\n"
    ).encode()


def _read_all(sock: socket.socket, limit_s: float = 20.0) -> bytes:
    """Read until the server closes the connection (at most ``limit_s``: then the test fails)."""
    sock.settimeout(limit_s)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def test_client_hang_up_is_logged_as_such(ops_server) -> None:
    server, keys = ops_server
    csv_head = b"incident_id,category,occurred_at,lon,lat\n" + b"h-1,theft,2025-03-01T10:00:00+07:00,105.85,21.03\n"
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(_head(server, keys["admin"], 100_000).replace(b"{rid}", b"hangup-1") + csv_head)
    # half a body, then closed
    entries = wait_until(
        lambda: [e for e in _log_entries(server.log_path) if e.get("request_id") == "hangup-1"], timeout=30
    )
    assert len(entries) == 1, entries
    (entry,) = entries
    assert entry["message"] == "client disconnected" and entry["status"] == 499
    text = server.log_path.read_text()
    assert "Traceback" not in text and "unhandled error" not in text and '"status": 500' not in text
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_slow_body_gets_408_and_the_connection_closed(ops_server) -> None:
    server, keys = ops_server
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        started = time.monotonic()
        sock.sendall(_head(server, keys["admin"], 10_000).replace(b"{rid}", b"slow-idle") + b"incident_id,cat")
        reply = _read_all(sock)  # the client sends nothing more: the server must answer and close
        elapsed = time.monotonic() - started
    assert reply.startswith(b"HTTP/1.1 408"), reply[:300]
    assert b'"code":"request_timeout"' in reply.replace(b" ", b"")
    assert elapsed < 10, elapsed  # idle timeout 1 s (plus scheduling), far below the old "never"


def test_trickled_body_hits_the_total_timeout(ops_server) -> None:
    server, keys = ops_server
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        started = time.monotonic()
        sock.sendall(_head(server, keys["admin"], 10_000).replace(b"{rid}", b"slow-total"))
        sock.setblocking(False)
        reply = b""
        while time.monotonic() - started < 20:
            try:
                sock.send(b"x")  # one byte every 0.3 s: never idle for 1 s, but 10 kB would take 50 min
            except OSError:
                break
            try:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
            except BlockingIOError:
                pass
            time.sleep(0.3)  # the attacker's pace, not a wait for the result
        elapsed = time.monotonic() - started
    assert reply.startswith(b"HTTP/1.1 408"), reply[:300]
    assert 3.5 < elapsed < 15, elapsed  # total timeout 4 s


def test_normal_requests_unaffected_by_body_timeouts(ops_server, api_wards) -> None:
    server, keys = ops_server
    batch = make_incidents(api_wards.iloc[:1], n_per_ward=80, seed=21, prefix="ok")
    response = httpx.post(
        f"{server.url}/incidents",
        content=geojson_dumps(to_geojson(batch)).encode(),
        headers={"X-API-Key": keys["admin"], **GJ},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    assert response.json()["added"] == 80
    listing = httpx.get(f"{server.url}/collections/wards/items", headers={"X-API-Key": keys["viewer"]}, timeout=30)
    assert listing.status_code == 200, listing.text
