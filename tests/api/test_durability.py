"""Ingest against a real server: concurrent overlapping batches, and SIGKILL mid-ingest."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from ward_geo.io.writers import geojson_dumps, to_geojson
from ward_geo.store.sqlite import SQLiteStore

from .conftest import _populate, make_incidents, start_server

pytestmark = pytest.mark.slow
GJ = {"content-type": "application/geo+json"}


def _stored_ids(data_dir) -> list[str]:
    with SQLiteStore(data_dir / "ward_geo.sqlite") as store:
        return list(store.query(order="incident_id")["incident_id"])


def test_concurrent_overlapping_batches_lose_and_duplicate_nothing(tmp_path, api_wards):
    data_dir = tmp_path / "data"
    keys = _populate(data_dir, api_wards, None)
    pool = make_incidents(api_wards, n_per_ward=200, seed=5, prefix="cc")  # 600 incidents
    # 8 batches of 150 rows, each overlapping its neighbours by 75 rows
    batches = [pool.iloc[i * 75 : i * 75 + 150] for i in range(7)] + [pool.iloc[-150:]]
    bodies = [geojson_dumps(to_geojson(b)) for b in batches]
    server = start_server(data_dir, tmp_path / "server.log")
    try:
        headers = {"X-API-Key": keys["admin"], **GJ}

        def post(body: str) -> dict:
            with httpx.Client(timeout=120) as c:
                r = c.post(f"{server.url}/incidents", content=body, headers=headers)
                assert r.status_code == 201, r.text
                return r.json()

        # a second writer process (this test process, straight into the store, twice) at the same time
        extra = make_incidents(api_wards, n_per_ward=75, seed=6, prefix="dd")

        def direct_writer() -> list[int]:
            with SQLiteStore(data_dir / "ward_geo.sqlite") as store:
                return [store.ingest(extra.iloc[:150]).added, store.ingest(extra).added]

        # every batch twice, from 8 threads at once
        with ThreadPoolExecutor(9) as ex:
            direct = ex.submit(direct_writer)
            results = list(ex.map(post, bodies + bodies))
            direct_added = direct.result()
        assert sum(r["added"] for r in results) == len(pool)
        assert direct_added == [150, len(extra) - 150]
        assert sum(r["added"] + r["duplicates"] for r in results) == 2 * sum(len(b) for b in batches)
        ids = _stored_ids(data_dir)
        assert len(ids) == len(set(ids)) == len(pool) + len(extra)
        assert set(ids) == set(pool["incident_id"]) | set(extra["incident_id"])
        with httpx.Client(timeout=60) as c:
            page = c.get(f"{server.url}/collections/incidents/items", params={"limit": 1000},
                         headers={"X-API-Key": keys["analyst"]}).json()
        assert page["numberMatched"] == len(pool) + len(extra)
    finally:
        server.stop()


def test_sigkill_during_ingest_keeps_exactly_the_acknowledged_batches(tmp_path, api_wards):
    data_dir = tmp_path / "data"
    keys = _populate(data_dir, api_wards, None)
    n_batches = 40
    batches = [make_incidents(api_wards, n_per_ward=75, seed=100 + i, prefix=f"k{i:02d}") for i in range(n_batches)]
    bodies = [geojson_dumps(to_geojson(b)) for b in batches]
    log = tmp_path / "server.log"
    server = start_server(data_dir, log)
    acked: set[int] = set()
    attempted: set[int] = set()
    lock = threading.Lock()
    next_batch = iter(range(n_batches))

    def writer() -> None:
        with httpx.Client(timeout=60) as c:
            while True:
                with lock:
                    i = next(next_batch, None)
                if i is None:
                    return
                with lock:
                    attempted.add(i)
                try:
                    r = c.post(f"{server.url}/incidents", content=bodies[i],
                               headers={"X-API-Key": keys["admin"], **GJ})
                except httpx.HTTPError:
                    return  # the server died under us
                if r.status_code == 201:
                    with lock:
                        acked.add(i)

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while len(acked) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()  # SIGKILL while the writers still have requests in flight
    for t in threads:
        t.join(60)
    assert 6 <= len(acked) < n_batches, "the kill must land in the middle of the ingest run"
    in_flight = attempted - acked

    restarted = start_server(data_dir, log)
    try:
        with httpx.Client(timeout=60) as c:
            page = c.get(f"{restarted.url}/collections/incidents/items", params={"limit": 10000},
                         headers={"X-API-Key": keys["analyst"]}).json()
        stored = {f["id"] for f in page["features"]}
        assert page["numberMatched"] == len(stored)
        present = set()
        for i, batch in enumerate(batches):
            ids = set(batch["incident_id"])
            inside = ids & stored
            assert inside in (set(), ids), f"batch {i} is partly stored ({len(inside)} of {len(ids)})"
            if inside:
                present.add(i)
        assert acked <= present, f"acknowledged batches lost: {sorted(acked - present)}"
        # anything beyond the acknowledged batches can only be a request whose answer was cut off
        assert present - acked <= in_flight
        assert stored == set().union(*(set(batches[i]["incident_id"]) for i in present))
        # the store still takes writes after the crash
        r = httpx.post(f"{restarted.url}/incidents", content=bodies[-1], headers={"X-API-Key": keys["admin"], **GJ},
                       timeout=60)
        assert r.status_code == 201
    finally:
        restarted.stop()
