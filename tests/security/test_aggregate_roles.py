"""Aggregate roles stay aggregate: a viewer never sees a hotspot, count, position or time
that describes a single incident (issue 12, case 3), against a real ``ward-geo serve``."""

from __future__ import annotations

import json
import re

import httpx
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from waiting import wait_until
from ward_geo.errors import ConfigurationError

WARD = "phuong-cua-nam"
K = 5
GRID_M = 50.0
_TO_METRIC = Transformer.from_crs("EPSG:4326", "EPSG:3405", always_xy=True)


def _get(server, keys, role, path, **params):
    r = httpx.get(f"{server.url}{path}", params=params, headers={"X-API-Key": keys[role]}, timeout=120)
    assert r.status_code == 200, r.text
    return r


def _vertices(feature) -> np.ndarray:
    geom = shapely.geometry.shape(feature["geometry"])
    return shapely.get_coordinates(geom)


def _assert_aggregate(features, tolerance_m: float = 0.1) -> None:
    for f in features:
        p = f["properties"]
        if "n_incidents" in p:
            assert p["n_incidents"] >= K, p
        xy = _vertices(f)
        x, y = _TO_METRIC.transform(xy[:, 0], xy[:, 1])
        off = np.abs(np.stack([x, y]) / GRID_M - np.round(np.stack([x, y]) / GRID_M)) * GRID_M
        assert off.max() < tolerance_m, f"vertex {off.max():.3f} m off the {GRID_M:g} m grid"
        for column in ("first_seen", "last_seen"):
            if p.get(column):
                assert re.match(r"^\d{4}-\d{2}-\d{2}T00:00:00(\.0+)?(Z|\+00:00)$", p[column]), p[column]
        assert p.get("peak_hours") is None
        assert all(n is None or n == 0 or n >= K for n in (p.get("category_counts") or {}).values())
        assert all(n is None or n == 0 or n >= K for n in (p.get("peak_weekdays") or []))
        assert "member_ids" not in p


def test_tiny_parameters_give_viewers_no_small_hotspot(real_server):
    server, keys = real_server
    analyst = _get(server, keys, "analyst", f"/wards/{WARD}/hotspots", eps=1, min_samples=1).json()
    # the attack works on the full view: one "hotspot" per incident
    assert analyst["features"] and min(f["properties"]["n_incidents"] for f in analyst["features"]) == 1
    r = _get(server, keys, "viewer", f"/wards/{WARD}/hotspots", eps=1, min_samples=1)
    body = r.json()
    assert all(f["properties"]["n_incidents"] >= K for f in body["features"])
    assert body["parameters"]["min_samples"] == K and r.headers["x-parameters-clamped"] == f"min_samples={K}"
    wider = _get(server, keys, "viewer", f"/wards/{WARD}/hotspots", eps=40, min_samples=2).json()
    assert wider["features"], "the clusters of the fixture are still found"
    _assert_aggregate(wider["features"])


def test_viewer_positions_on_the_grid_and_times_to_the_day(real_server):
    server, keys = real_server
    body = _get(server, keys, "viewer", f"/wards/{WARD}/hotspots").json()
    assert body["features"]
    _assert_aggregate(body["features"])
    assert body["aggregate"] == {"min_incidents": K, "grid_m": GRID_M, "time_resolution": "day"}
    text = httpx.get(f"{server.url}/wards/{WARD}/hotspots", headers={"X-API-Key": keys["viewer"]}).text
    assert not re.search(r"\d{2}:\d{2}:\d{2}(?<!00:00:00)", text), "a time of day is served"
    items = _get(server, keys, "viewer", "/collections/hotspots/items", limit=100).json()
    assert items["features"]
    _assert_aggregate(items["features"])
    # the analyst still gets the exact polygons and times
    full = _get(server, keys, "analyst", f"/wards/{WARD}/hotspots").json()
    assert any(f["properties"]["peak_hours"] for f in full["features"])
    assert any(not f["properties"]["first_seen"].endswith("T00:00:00Z") for f in full["features"])


def _map_hotspots(html: str) -> list[dict]:
    marker = "WardGeo.hotspots(wg_state, "
    assert marker in html
    start = html.index(marker) + len(marker)
    collection, _ = json.JSONDecoder().raw_decode(html[start:])
    return collection["features"]


def test_viewer_map_draws_only_aggregate_hotspots(real_server):
    server, keys = real_server
    viewer = _map_hotspots(_get(server, keys, "viewer", f"/maps/{WARD}.html").text)
    assert viewer
    _assert_aggregate(viewer, tolerance_m=0.5)  # the map writes 6 decimals (about 0.1 m)
    analyst = _map_hotspots(_get(server, keys, "analyst", f"/maps/{WARD}.html").text)
    assert any(p["properties"].get("n_incidents", K) for p in analyst)


def test_differencing_attack_reveals_no_single_incident(real_server):
    """Ingest one isolated incident; a viewer's answers before and after do not show it."""
    server, keys = real_server
    params = {"eps": 60, "min_samples": 1}
    before = _get(server, keys, "viewer", f"/wards/{WARD}/hotspots", **params).json()
    wards = _get(server, keys, "viewer", "/collections/wards/items", ward_id=WARD).json()
    ward = shapely.geometry.shape(wards["features"][0]["geometry"])
    analyst_before = _get(server, keys, "analyst", f"/wards/{WARD}/hotspots", **params).json()
    taken = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in analyst_before["features"]])
    # a point of the ward far from every hotspot of the full view
    candidates = shapely.points(np.array(
        [[x, y] for x in np.linspace(*ward.bounds[0::2], 25) for y in np.linspace(*ward.bounds[1::2], 25)]
    ))
    inside = candidates[shapely.contains(ward, candidates)]
    point = inside[np.argmax(shapely.distance(inside, taken))]
    lon, lat = round(point.x, 7), round(point.y, 7)
    incident = {
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"incident_id": "lone-0001", "category": "theft", "occurred_at": "2025-06-15T13:37:00Z"},
        }],
    }
    r = httpx.post(f"{server.url}/incidents", json=incident,
                   headers={"X-API-Key": keys["admin"], "content-type": "application/geo+json"}, timeout=120)
    assert r.status_code == 201 and r.json()["added"] == 1, r.text

    def fresh(role):
        def check():
            got = httpx.get(f"{server.url}/wards/{WARD}/hotspots", params=params,
                            headers={"X-API-Key": keys[role]}, timeout=120)
            ok = got.status_code == 200 and got.headers.get("x-data-freshness", "fresh") == "fresh"
            return got.json() if ok and got.json()["dataVersion"] != before["dataVersion"] else None
        return wait_until(check, timeout=120)

    analyst_after = fresh("analyst")
    lone = [f for f in analyst_after["features"] if shapely.geometry.shape(f["geometry"]).distance(point) < 1e-6]
    assert lone and lone[0]["properties"]["n_incidents"] == 1, "the full view shows the lone incident"
    after = fresh("viewer")
    assert not any(shapely.geometry.shape(f["geometry"]).distance(point) < 1e-4 for f in after["features"])
    # every hotspot a viewer sees is unchanged: same polygon, counts and days
    def seen(body):
        keep = ("hotspot_id", "n_incidents", "category_counts", "first_seen", "last_seen", "peak_weekdays", "area_m2")
        return sorted(
            (json.dumps(f["geometry"], sort_keys=True), *(json.dumps(f["properties"].get(k)) for k in keep))
            for f in body["features"]
        )

    assert seen(after) == seen(before)
    text = httpx.get(f"{server.url}/wards/{WARD}/hotspots", params=params, headers={"X-API-Key": keys["viewer"]}).text
    assert "13:37" not in text and "lone-0001" not in text and f"{lon:.5f}" not in text


@pytest.mark.parametrize("k", ["0", "1", "4"])
def test_group_size_below_five_is_refused(k, monkeypatch):
    from ward_geo.api.config import load_api_settings

    monkeypatch.setenv("WARD_GEO_VIEWER_MIN_INCIDENTS", k)
    with pytest.raises(ConfigurationError, match="VIEWER_MIN_INCIDENTS"):
        load_api_settings()


def test_viewer_patrol_plan_visits_only_aggregate_hotspots(service):
    """A viewer's plan is built on the aggregate view: no stop at a hotspot the view leaves out."""
    from api.conftest import make_client

    req = {"ward_id": WARD, "shift_start": "18:00", "shift_end": "22:00", "units": 1, "mode": "foot",
           "time_limit_s": 2}

    def visited(c, role):
        r = c.post("/patrol-plans", json=req, headers=service.headers(role))
        assert r.status_code == 200, r.text
        return {f["properties"]["hotspot_id"] for f in r.json()["features"] if f["properties"].get("hotspot_id")}

    # k above the fixture's cluster sizes (35): the aggregate view of this ward is empty
    with make_client(service.data_dir, viewer_min_incidents=400) as c:
        full = c.get(f"/wards/{WARD}/hotspots", headers=service.headers("analyst")).json()["features"]
        assert full and max(f["properties"]["n_incidents"] for f in full) < 400
        assert c.get(f"/wards/{WARD}/hotspots", headers=service.headers("viewer")).json()["features"] == []
        assert visited(c, "analyst"), "the analyst's plan visits the ward's hotspots"
        assert visited(c, "viewer") == set()
