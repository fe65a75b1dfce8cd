"""The store file deleted, replaced or truncated under a running process (issue item 6).

Library level: a :class:`SQLiteStore` whose file disappears refuses writes, rescues what
its connection still sees to ``ward_geo.sqlite.rescued-<UTC>`` (0600) and a new open
refuses to start an empty store beside the rescued copy. Service level: the same against
a real ``ward-geo serve`` process — ``/readyz`` 503 saying why, ``POST /incidents`` 503,
and every row acknowledged with 201 is in the rescued copy.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import geopandas as gpd
import httpx
import pytest
from api.conftest import ROLES, RealServer, _populate, make_incidents, start_server
from waiting import wait_until

from ward_geo.errors import StoreFileChangedError
from ward_geo.io.writers import geojson_dumps, to_geojson
from ward_geo.store.sqlite import SQLiteStore, rescued_copies

NAME = "ward_geo.sqlite"


def _rows(path: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {r[0] for r in conn.execute("SELECT incident_id FROM incidents")}
    finally:
        conn.close()


def _batch(wards: gpd.GeoDataFrame, prefix: str, n: int = 4) -> gpd.GeoDataFrame:
    return make_incidents(wards.iloc[:1], n_per_ward=n + 70, seed=hash(prefix) % 1000, prefix=prefix).iloc[:n]


@pytest.fixture
def lib_store(tmp_path: Path, api_wards: gpd.GeoDataFrame, api_incidents: gpd.GeoDataFrame):
    path = tmp_path / "data" / NAME
    store = SQLiteStore(path)
    store.put_boundaries(api_wards)
    store.ingest(api_incidents, source="fixture")
    yield path, store
    store.close()


# ---------------------------------------------------------------- library
def test_deleted_file_refuses_writes_and_rescues_every_row(lib_store, api_wards, api_incidents) -> None:
    path, store = lib_store
    acknowledged = _batch(api_wards, "ack")
    store.ingest(acknowledged, source="acked")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)  # rm ward_geo.sqlite* under the process

    with pytest.raises(StoreFileChangedError) as caught:
        store.ingest(_batch(api_wards, "late"), source="late")
    error = caught.value
    assert error.code == "store_file_changed" and error.status_code == 503
    assert "was deleted" in error.message and str(path.parent) not in error.message
    copies = rescued_copies(path)
    assert len(copies) == 1 and copies[0].name.startswith(f"{NAME}.rescued-")
    assert copies[0].name in error.message
    assert stat.S_IMODE(copies[0].stat().st_mode) == 0o600
    rescued = _rows(copies[0])
    assert set(api_incidents["incident_id"]) | set(acknowledged["incident_id"]) == rescued  # nothing refused in it
    with pytest.raises(StoreFileChangedError):
        store.check_file()
    with pytest.raises(StoreFileChangedError):  # every later write is refused too
        store.put_boundaries(api_wards)


def test_replaced_file_is_noticed(lib_store, api_wards, api_incidents, tmp_path: Path) -> None:
    path, store = lib_store
    other = tmp_path / "other.sqlite"
    with SQLiteStore(other) as intruder:
        intruder.put_boundaries(api_wards.iloc[:1])
    os.replace(other, path)  # mv other.sqlite ward_geo.sqlite
    with pytest.raises(StoreFileChangedError, match="replaced"):
        store.check_file()
    (copy,) = rescued_copies(path)
    assert _rows(copy) == set(api_incidents["incident_id"])
    with pytest.raises(StoreFileChangedError):
        store.ingest(_batch(api_wards, "late"))
    assert _rows(path) == set()  # the replacement was not written to


def test_truncated_file_is_noticed(tmp_path: Path, api_wards, api_incidents) -> None:
    path = tmp_path / NAME
    with SQLiteStore(path) as store:
        store.put_boundaries(api_wards)
        store.ingest(api_incidents)
        store._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the rows now live in the main file
        os.truncate(path, 0)
        with pytest.raises(StoreFileChangedError, match="truncated"):
            store.ingest(_batch(api_wards, "late"))


def test_new_store_in_the_same_process_is_refused(lib_store, api_wards) -> None:
    path, _store = lib_store
    path.unlink()
    with pytest.raises(StoreFileChangedError, match="deleted"):
        SQLiteStore(path)  # e.g. a new worker thread of the service opening its own connection
    assert not path.exists(), "no empty store may be created over the lost one"
    assert len(rescued_copies(path)) == 1


def test_restart_refuses_an_empty_store_beside_a_rescued_copy(tmp_path: Path, api_wards, api_incidents) -> None:
    path = tmp_path / "d" / NAME
    store = SQLiteStore(path)
    store.put_boundaries(api_wards)
    store.ingest(api_incidents)
    path.unlink()
    store.close()  # closing notices the loss and rescues
    (copy,) = rescued_copies(path)
    assert _rows(copy) == set(api_incidents["incident_id"])
    with pytest.raises(StoreFileChangedError) as caught:
        SQLiteStore(path)
    message = caught.value.message
    assert copy.name in message and f"to {NAME}" in message and str(tmp_path) not in message
    assert not path.exists()
    copy.rename(path)  # what the message tells the operator to do
    with SQLiteStore(path) as restored:
        assert restored.count() == len(api_incidents)
        restored.ingest(_batch(api_wards, "after"))


def test_untouched_store_still_writes(lib_store, api_wards) -> None:
    path, store = lib_store
    store.check_file()
    assert store.ingest(_batch(api_wards, "fine")).added == 4
    second = SQLiteStore(path)  # a second connection of the same process
    try:
        second.check_file()
        assert second.ingest(_batch(api_wards, "fine2")).added == 4
    finally:
        second.close()
    assert rescued_copies(path) == []


# ---------------------------------------------------------------- real server
def _post(server: RealServer, key: str, frame: gpd.GeoDataFrame) -> httpx.Response:
    body = geojson_dumps(to_geojson(frame))
    return httpx.post(
        f"{server.url}/incidents",
        content=body.encode(),
        headers={"X-API-Key": key, "Content-Type": "application/geo+json"},
        timeout=60,
    )


def _serve(tmp_path: Path, api_wards, api_incidents) -> tuple[RealServer, dict[str, str]]:
    data_dir = tmp_path / "srv"
    keys = _populate(data_dir, api_wards, api_incidents)
    assert set(keys) == set(ROLES)
    return start_server(data_dir, tmp_path / "server.log"), keys


@pytest.mark.parametrize("how", ["delete", "replace"])
def test_server_notices_the_store_file_changing(tmp_path: Path, api_wards, api_incidents, how: str) -> None:
    server, keys = _serve(tmp_path, api_wards, api_incidents)
    path = server.data_dir / NAME
    try:
        acknowledged = _batch(api_wards, f"ack-{how}")
        first = _post(server, keys["admin"], acknowledged)
        assert first.status_code == 201, first.text
        if how == "delete":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        else:
            other = tmp_path / "other.sqlite"
            with SQLiteStore(other) as intruder:
                intruder.put_boundaries(api_wards.iloc[:1])
            os.replace(other, path)

        ready = wait_until(lambda: (r := httpx.get(f"{server.url}/readyz", timeout=10)).status_code == 503 and r)
        detail = ready.json()["detail"]
        assert detail["code"] == "store_file_changed"
        assert ("deleted" if how == "delete" else "replaced") in detail["message"]
        assert str(server.data_dir) not in ready.text

        late = _post(server, keys["admin"], _batch(api_wards, f"late-{how}"))
        assert late.status_code == 503, late.text
        assert late.json()["code"] == "store_file_changed"

        (copy,) = rescued_copies(path)
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        rescued = _rows(copy)
        assert set(acknowledged["incident_id"]) <= rescued
        assert rescued == set(api_incidents["incident_id"]) | set(acknowledged["incident_id"])
        lines = [json.loads(line) for line in server.log_path.read_text().splitlines() if line.startswith("{")]
        assert any(e.get("rescued_to") == str(copy) for e in lines)
    finally:
        server.stop()

    if how == "delete":  # a restart refuses to start an empty store beside the rescued copy
        with pytest.raises(RuntimeError, match="rescued copy"):
            start_server(server.data_dir, tmp_path / "restart.log", timeout=60)
        assert not path.exists()


def test_write_racing_the_deletion_lands_in_the_rescued_copy(lib_store, api_wards, api_incidents) -> None:
    """A write that passed its check, then the file vanished and another store rescued it,
    commits afterwards: it is refused (not acknowledged) and copied again with it."""
    import threading

    path, store = lib_store
    racer = SQLiteStore(path)  # a second connection of the process (another worker thread's)
    inside, release = threading.Event(), threading.Event()
    bump = racer._bump

    def paused_bump(conn: sqlite3.Connection) -> None:
        inside.set()  # inside the write transaction, past the file check
        assert release.wait(30)
        bump(conn)

    racer._bump = paused_bump  # type: ignore[method-assign]
    late = _batch(api_wards, "race")
    outcome: dict[str, BaseException] = {}

    def write() -> None:
        try:
            racer.ingest(late)
        except BaseException as exc:  # noqa: BLE001 - inspected below
            outcome["error"] = exc

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert inside.wait(30)
        path.unlink()
        with pytest.raises(StoreFileChangedError):
            store.check_file()  # the first rescue: before the racing commit
        assert len(rescued_copies(path)) == 1
        release.set()
        writer.join(30)
        error = outcome.get("error")
        assert isinstance(error, StoreFileChangedError), error  # not acknowledged ...
        copies = rescued_copies(path)
        assert len(copies) == 2 and copies[-1].name in error.message
        assert set(late["incident_id"]) <= _rows(copies[-1])  # ... and not lost
        assert _rows(copies[-1]) == set(api_incidents["incident_id"]) | set(late["incident_id"])
    finally:
        release.set()
        writer.join(30)
        racer.close()
