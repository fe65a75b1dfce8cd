"""An ingest invalidates only what it touches, and the previous answer is served while the
new one is computed (issue 12, case 9), against a real ``ward-geo serve``."""

from __future__ import annotations

import re

import httpx
import shapely

from waiting import wait_until

WARD_A = "phuong-hoan-kiem"
WARD_B = "phuong-ba-dinh"


def _computations(server, keys, kind: str = "hotspots") -> int:
    r = httpx.get(f"{server.url}/metrics", headers={"X-API-Key": keys["admin"]}, timeout=30)
    assert r.status_code == 200, r.text
    match = re.search(rf'^ward_geo_computations_total\{{kind="{kind}"\}} (\d+)$', r.text, re.M)
    return int(match.group(1)) if match else 0


def _fast_path_answers(server, keys) -> int:
    r = httpx.get(f"{server.url}/metrics", headers={"X-API-Key": keys["admin"]}, timeout=30)
    return int(re.search(r"^ward_geo_hotpath_served_total (\d+)$", r.text, re.M).group(1))


def _hotspots(server, keys, ward, **headers):
    return httpx.get(
        f"{server.url}/wards/{ward}/hotspots", headers={"X-API-Key": keys["analyst"], **headers}, timeout=120
    )


def _one_incident(server, keys, ward: str, incident_id: str) -> None:
    wards = httpx.get(f"{server.url}/collections/wards/items", params={"ward_id": ward},
                      headers={"X-API-Key": keys["viewer"]}, timeout=30).json()
    point = shapely.point_on_surface(shapely.geometry.shape(wards["features"][0]["geometry"]))
    body = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [point.x, point.y]},
        "properties": {"incident_id": incident_id, "category": "theft", "occurred_at": "2025-07-01T08:00:00Z"},
    }]}
    r = httpx.post(f"{server.url}/incidents", json=body,
                   headers={"X-API-Key": keys["admin"], "content-type": "application/geo+json"}, timeout=120)
    assert r.status_code == 201 and r.json()["added"] == 1, r.text


def test_ingest_into_one_ward_leaves_the_other_wards_cached(real_server):
    server, keys = real_server
    a0, b0 = _hotspots(server, keys, WARD_A), _hotspots(server, keys, WARD_B)
    assert a0.status_code == b0.status_code == 200
    computed = _computations(server, keys)
    _one_incident(server, keys, WARD_A, "inv-a-0001")

    b1 = _hotspots(server, keys, WARD_B)
    assert b1.status_code == 200 and b1.headers["etag"] == b0.headers["etag"]
    assert b1.headers["x-data-freshness"] == "fresh"
    assert _hotspots(server, keys, WARD_B, **{"If-None-Match": b0.headers["etag"]}).status_code == 304

    # ward A: the previous answer while one recomputation runs, then the new one
    def refreshed():
        r = _hotspots(server, keys, WARD_A)
        assert r.status_code == 200
        assert r.headers["x-data-freshness"] == "fresh" or r.headers["etag"] == a0.headers["etag"]
        return r if r.headers["x-data-freshness"] == "fresh" else None

    a1 = wait_until(refreshed, timeout=120)
    assert a1.headers["etag"] != a0.headers["etag"]
    assert a1.json()["numberOfIncidents"] == a0.json()["numberOfIncidents"] + 1
    assert _computations(server, keys) == computed + 1  # ward A once; ward B not at all
    assert _hotspots(server, keys, WARD_B).headers["etag"] == b0.headers["etag"]


def test_a_trickle_of_ingests_folds_into_few_refreshes(real_server):
    """Ingests into one ward in quick succession do not each start a recomputation: one refresh
    runs at a time and the next starts only after ``WARD_GEO_REFRESH_INTERVAL_S``."""
    server, keys = real_server
    ward = "phuong-cua-nam"
    first = _hotspots(server, keys, ward)
    assert first.status_code == 200
    wait_until(lambda: _hotspots(server, keys, ward).headers["x-data-freshness"] == "fresh", timeout=120)
    computed = _computations(server, keys)
    for i in range(3):
        _one_incident(server, keys, ward, f"trickle-{i:04d}")
        r = _hotspots(server, keys, ward)
        assert r.status_code == 200  # served at once (stale while the refresh runs)
    # while an answer is stale and its refresh runs or waits, the fast path serves it too
    stale_before = _fast_path_answers(server, keys)
    stale = [r for r in (_hotspots(server, keys, ward) for _ in range(5)) if r.headers["x-data-freshness"] == "stale"]
    if len(stale) == 5:  # (when the refresh had already finished, the answers are fresh instead)
        assert _fast_path_answers(server, keys) - stale_before >= 4

    def current():
        r = _hotspots(server, keys, ward)
        return r if r.headers["x-data-freshness"] == "fresh" else None

    final = wait_until(current, timeout=180)
    assert final.json()["numberOfIncidents"] >= first.json()["numberOfIncidents"] + 3
    # the first refresh, then one more for what arrived while it ran (not one per ingest)
    assert _computations(server, keys) - computed <= 2


def test_maps_and_plans_of_other_wards_stay_cached(real_server):
    """An ingest into one ward recomputes neither the map nor the patrol plan of another."""
    server, keys = real_server
    headers = {"X-API-Key": keys["analyst"]}
    plan = {"ward_id": WARD_B, "shift_start": "18:00", "shift_end": "22:00", "units": 1, "mode": "foot",
            "time_limit_s": 2}
    m0 = httpx.get(f"{server.url}/maps/{WARD_B}.html", headers=headers, timeout=180)
    p0 = httpx.post(f"{server.url}/patrol-plans", json=plan, headers=headers, timeout=180)
    assert m0.status_code == 200 and p0.status_code == 200, (m0.text[:200], p0.text[:200])
    maps, plans = _computations(server, keys, "maps"), _computations(server, keys, "plans")
    _one_incident(server, keys, WARD_A, "inv-a-maps-0001")
    m1 = httpx.get(f"{server.url}/maps/{WARD_B}.html", headers=headers, timeout=180)
    p1 = httpx.post(f"{server.url}/patrol-plans", json=plan, headers=headers, timeout=180)
    assert (_computations(server, keys, "maps"), _computations(server, keys, "plans")) == (maps, plans)
    assert m1.content == m0.content and p1.content == p0.content
