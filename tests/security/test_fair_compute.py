"""Viewers cannot tie up the CPU (issue 12, case 4): cold computations go through a bounded
work queue with a per-key limit and slots reserved for analysts, against a real server."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest

from api.conftest import _populate, make_incidents, start_server
from waiting import wait_until
from ward_geo.api.keys import KeyStore

WARD = "phuong-hoan-kiem"


@pytest.fixture(scope="module")
def busy_server(tmp_path_factory, api_wards):
    """One ward with 12,000 incidents (a cold computation takes a while); queue of 6, 2 reserved."""
    data_dir = tmp_path_factory.mktemp("busy_server")
    ward = api_wards.loc[api_wards["ward_id"] == WARD]
    keys = _populate(data_dir, api_wards, make_incidents(ward, n_per_ward=12_000, seed=11, prefix="busy"))
    store = KeyStore(data_dir / "api_keys.json")
    viewers = [store.create("viewer", label=f"tablet {i}")[0] for i in range(3)]
    env = {"WARD_GEO_COMPUTE_QUEUE_SIZE": "6", "WARD_GEO_COMPUTE_RESERVED": "2", "WARD_GEO_COMPUTE_PER_KEY": "2",
           "WARD_GEO_COMPUTE_THREADS": "2", "WARD_GEO_RETRY_AFTER_S": "3"}
    server = start_server(data_dir, data_dir / "server.log", extra_env=env)
    try:
        yield server, keys, viewers
    finally:
        server.stop()


def _in_flight(server, keys) -> int:
    text = httpx.get(f"{server.url}/metrics", headers={"X-API-Key": keys["admin"]}, timeout=30).text
    match = re.search(r"^ward_geo_compute_queue_in_flight (\d+)$", text, re.M)
    return int(match.group(1)) if match else -1


async def _get(client, server, key, eps, done: list):
    r = await client.get(f"{server.url}/wards/{WARD}/hotspots", params={"eps": eps}, headers={"X-API-Key": key})
    done.append((eps, r.status_code, time.monotonic()))
    return r


def test_one_viewer_key_gets_at_most_its_share(busy_server):
    server, keys, viewers = busy_server

    async def scenario():
        done: list = []
        async with httpx.AsyncClient(timeout=300) as client:
            first = [asyncio.create_task(_get(client, server, viewers[0], 20 + i, done)) for i in range(2)]
            await asyncio.to_thread(wait_until, lambda: _in_flight(server, keys) == 2, timeout=60)
            excess = await asyncio.gather(*(_get(client, server, viewers[0], 30 + i, done) for i in range(8)))
            planner = await _get(client, server, keys["analyst"], 45, done)
            return await asyncio.gather(*first), excess, planner

    first, excess, planner = asyncio.run(scenario())
    assert [r.status_code for r in first] == [200, 200]
    assert [r.status_code for r in excess] == [503] * 8
    assert all(r.headers["retry-after"] == "3" and r.json()["code"] == "busy" for r in excess)
    assert planner.status_code == 200


def test_full_queue_refuses_viewers_but_admits_the_planner_first(busy_server):
    server, keys, viewers = busy_server

    async def scenario():
        done: list = []
        async with httpx.AsyncClient(timeout=300) as client:
            admitted = [asyncio.create_task(_get(client, server, viewers[i // 2], 50 + i, done)) for i in range(4)]
            await asyncio.to_thread(wait_until, lambda: _in_flight(server, keys) == 4, timeout=60)
            refused = await _get(client, server, viewers[2], 60, done)
            planner = await _get(client, server, keys["analyst"], 61, done)
            return await asyncio.gather(*admitted), refused, planner, done

    admitted, refused, planner, done = asyncio.run(scenario())
    assert [r.status_code for r in admitted] == [200] * 4
    assert refused.status_code == 503 and refused.headers["retry-after"] == "3"
    assert planner.status_code == 200
    # two viewer computations were waiting for a thread when the planner came: it went first
    finished = [eps for eps, status, _ in sorted(done, key=lambda d: d[2]) if status == 200]
    assert finished.index(61) < len(finished) - 1, finished
    # cached answers never queue: the same viewer request now answers from the cache at once
    again = httpx.get(f"{server.url}/wards/{WARD}/hotspots", params={"eps": 50}, headers={"X-API-Key": viewers[0]})
    assert again.status_code == 200 and again.headers["x-data-freshness"] == "fresh"
