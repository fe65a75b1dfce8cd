"""Ward hotspots, ward maps and patrol plans: results, validation, caching and invalidation."""

from __future__ import annotations

import json

import pytest

from waiting import wait_until
from ward_geo.analysis.hotspots import find_hotspots
from ward_geo.io.writers import geojson_dumps, to_geojson

from .conftest import make_incidents


def test_ward_hotspots_match_the_library(client, service, api_wards, api_incidents):
    r = client.get("/wards/phuong-hoan-kiem/hotspots", headers=service.headers("viewer"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["type"] == "FeatureCollection" and body["ward_id"] == "phuong-hoan-kiem"
    ward_incidents = api_incidents.loc[api_incidents["ward_id"] == "phuong-hoan-kiem"]
    expected = find_hotspots(ward_incidents, api_wards.loc[api_wards["ward_id"] == "phuong-hoan-kiem"])
    assert [f["properties"]["hotspot_id"] for f in body["features"]] == list(expected["hotspot_id"])
    assert [f["properties"]["n_incidents"] for f in body["features"]] == list(expected["n_incidents"])
    assert len(body["features"]) >= 2
    assert all("member_ids" not in f["properties"] for f in body["features"])
    from ward_geo.analysis.trends import TREND_CLASSES, classify_trends

    ward = api_wards.loc[api_wards["ward_id"] == "phuong-hoan-kiem"]
    trends = classify_trends(expected, ward_incidents, ward)["trend"].tolist()
    assert [f["properties"]["trend"] for f in body["features"]] == trends
    assert set(trends) <= set(TREND_CLASSES)
    assert body["numberOfIncidents"] == len(ward_incidents)
    assert "NaN" not in r.text


def test_ward_hotspot_filters(client, service, api_incidents):
    h = service.headers("viewer")
    drugs = client.get("/wards/phuong-ba-dinh/hotspots", params={"category": "drugs"}, headers=h).json()
    n_drugs = int(((api_incidents["ward_id"] == "phuong-ba-dinh") & (api_incidents["category"] == "drugs")).sum())
    assert drugs["numberOfIncidents"] == n_drugs
    assert drugs["parameters"]["categories"] == ["drugs"]
    window = client.get(
        "/wards/phuong-ba-dinh/hotspots", params={"since": "2025-03-01", "until": "2025-05-31"}, headers=h
    ).json()
    t = api_incidents.loc[api_incidents["ward_id"] == "phuong-ba-dinh", "occurred_at"]
    import pandas as pd

    inside = ((t >= pd.Timestamp("2025-03-01", tz="UTC")) & (t < pd.Timestamp("2025-06-01", tz="UTC"))).sum()
    assert window["numberOfIncidents"] == int(inside)
    fixed = client.get("/wards/phuong-ba-dinh/hotspots", params={"eps": 60, "min_samples": 10}, headers=h).json()
    assert fixed["parameters"]["chosen"]["eps"] == 60 and fixed["parameters"]["chosen"]["min_samples"] == 10
    assert len(fixed["features"]) >= 2
    hd = client.get("/wards/phuong-ba-dinh/hotspots", params={"method": "kde"}, headers=h)
    assert hd.status_code == 200 and hd.json()["parameters"]["method"] == "kde"


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/wards/phuong-khong-co/hotspots", {}, 404, "not_found"),
        ("/wards/..%2F..%2Fetc%2Fpasswd/hotspots", {}, 404, "not_found"),
        ("/wards/Phuong_Hoan_Kiem/hotspots", {}, 422, "invalid_parameter"),
        ("/wards/phuong-hoan-kiem/hotspots", {"category": "unicorns"}, 422, "invalid_parameter"),
        ("/wards/phuong-hoan-kiem/hotspots", {"method": "magic"}, 422, "invalid_parameter"),
        ("/wards/phuong-hoan-kiem/hotspots", {"since": "last week"}, 422, "invalid_parameter"),
        ("/wards/phuong-hoan-kiem/hotspots", {"until": "0001-01-01"}, 422, "invalid_parameter"),
        ("/wards/phuong-hoan-kiem/hotspots", {"eps": -5}, 422, "invalid_parameter"),
        ("/wards/phuong-hoan-kiem/hotspots", {"eps": "nan"}, 422, "invalid_parameter"),
        ("/wards/phuong-hoan-kiem/hotspots", {"since": "2025-05-01", "until": "2025-01-01"}, 422, "invalid_parameter"),
        ("/maps/phuong-khong-co.html", {}, 404, "not_found"),
        ("/maps/..%2Fsecret.html", {}, 404, "not_found"),
    ],
)
def test_bad_ward_requests_are_clear_4xx(shared_client, populated_template, path, params, status, code):
    r = shared_client.get(path, params=params, headers=populated_template.headers("viewer"))
    assert r.status_code == status, r.text
    assert r.json()["code"] == code
    assert "Traceback" not in r.text


def test_hotspot_cache_hit_then_invalidated_by_ingest(client, service, api_wards):
    state = client.app.state.ward_geo
    h = service.headers("admin")
    first = client.get("/wards/phuong-cua-nam/hotspots", headers=h)
    misses = state.hotspots.misses
    computed = state.computations["hotspots"]
    again = client.get("/wards/phuong-cua-nam/hotspots", headers=h)
    assert again.content == first.content
    assert state.hotspots.misses == misses and state.hotspots.hits >= 1
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["cache-control"] == "private, no-cache"
    unchanged = client.get("/wards/phuong-cua-nam/hotspots", headers={**h, "If-None-Match": first.headers["etag"]})
    assert unchanged.status_code == 304
    new = make_incidents(api_wards.loc[api_wards["ward_id"] == "phuong-cua-nam"], n_per_ward=80, seed=99, prefix="new")
    r = client.post(
        "/incidents", headers={**h, "content-type": "application/geo+json"}, content=geojson_dumps(to_geojson(new))
    )
    assert r.status_code == 201 and r.json()["added"] == 80
    # the previous answer is served (stale) while one background computation makes the new one
    def fresh():
        r = client.get("/wards/phuong-cua-nam/hotspots", headers={**h, "If-None-Match": first.headers["etag"]})
        return r if r.headers["x-data-freshness"] == "fresh" else None

    changed = wait_until(fresh)
    assert changed.status_code == 200 and changed.headers["etag"] != first.headers["etag"]
    after = changed.json()
    assert state.computations["hotspots"] == computed + 1
    assert after["dataVersion"] != first.json()["dataVersion"]
    assert after["numberOfIncidents"] == first.json()["numberOfIncidents"] + 80


def test_cache_follows_ingest_by_another_process(client, service, api_wards):
    """A CLI-style ingest straight into the store changes data_version: no stale answer."""
    from ward_geo.store.sqlite import SQLiteStore

    h = service.headers("viewer")
    before = client.get("/wards/phuong-ba-dinh/hotspots", headers=h).json()
    with SQLiteStore(service.data_dir / "ward_geo.sqlite") as store:
        store.ingest(make_incidents(api_wards.loc[api_wards["ward_id"] == "phuong-ba-dinh"], 75, 5, "cli"))
    # noticed within WARD_GEO_VERSION_CHECK_S; served stale until the new answer is made
    after = wait_until(
        lambda: (r := client.get("/wards/phuong-ba-dinh/hotspots", headers=h)).headers["x-data-freshness"] == "fresh"
        and r.json()["numberOfIncidents"] != before["numberOfIncidents"]
        and r.json()
    )
    assert after["numberOfIncidents"] == before["numberOfIncidents"] + 75


@pytest.mark.slow
def test_ward_map_offline_html_aggregates_for_viewers(shared_client, populated_template, api_incidents):
    tagged = api_incidents.loc[
        (api_incidents["ward_id"] == "phuong-hoan-kiem") & api_incidents["description"].notna()
    ]
    viewer = shared_client.get("/maps/phuong-hoan-kiem.html", headers=populated_template.headers("viewer"))
    assert viewer.status_code == 200
    assert viewer.headers["content-type"].startswith("text/html")
    html = viewer.text
    assert "<html" in html.lower()
    from ward_geo.maps import external_references

    assert external_references(html) == []  # offline: every asset inlined
    assert tagged["incident_id"].iloc[0] not in html
    analyst = shared_client.get("/maps/phuong-hoan-kiem.html", headers=populated_template.headers("analyst"))
    assert analyst.status_code == 200
    assert analyst.text != html
    assert "<b>tụ tập</b>" not in analyst.text  # user text is escaped in HTML
    cached = shared_client.get("/maps/phuong-hoan-kiem.html", headers=populated_template.headers("viewer"))
    assert cached.content == viewer.content
    assert "connect-src 'none'" in viewer.headers["content-security-policy"]
    # a client holding the map revalidates it for a few bytes
    again = shared_client.get(
        "/maps/phuong-hoan-kiem.html",
        headers={**populated_template.headers("viewer"), "If-None-Match": viewer.headers["etag"]},
    )
    assert again.status_code == 304 and again.content == b""
    assert viewer.headers["etag"] != analyst.headers["etag"]


@pytest.mark.slow
def test_patrol_plan(shared_client, populated_template):
    h = populated_template.headers("viewer")
    req = {"ward_id": "phuong-hoan-kiem", "shift_start": "18:00", "shift_end": "23:00", "units": 2, "mode": "foot",
           "time_limit_s": 2, "seed": 3}
    r = shared_client.post("/patrol-plans", json=req, headers=h)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["type"] == "FeatureCollection" and body["features"]
    json.dumps(body, allow_nan=False)
    for bad in (
        {**req, "units": 0},
        {**req, "shift_start": "25:00"},
        {**req, "mode": "helicopter"},
        {**req, "ward_id": "../../etc"},
        {**req, "date": "2025-02-30"},
        {**req, "date": "0001-01-01"},
        {**req, "date": "9999-12-31"},
        {**req, "extra": 1},
    ):
        r = shared_client.post("/patrol-plans", json=bad, headers=h)
        assert r.status_code == 422, bad
        assert r.json()["code"] == "invalid_parameter"
    r = shared_client.post("/patrol-plans", json={**req, "ward_id": "phuong-khong-co"}, headers=h)
    assert r.status_code == 404
    r = shared_client.post("/patrol-plans", content=b"{not json", headers={**h, "content-type": "application/json"})
    assert r.status_code == 422


def test_a_store_without_incidents_answers_empty_results(empty_service):
    from .conftest import make_client

    h = empty_service.headers("analyst")
    with make_client(empty_service.data_dir) as c:
        hot = c.get("/wards/phuong-hoan-kiem/hotspots", headers=h)
        assert hot.status_code == 200, hot.text
        assert hot.json()["features"] == [] and hot.json()["numberOfIncidents"] == 0
        for cid in ("incidents", "hotspots"):
            page = c.get(f"/collections/{cid}/items", headers=h)
            assert page.status_code == 200 and page.json()["numberMatched"] == 0
            assert not [link for link in page.json()["links"] if link["rel"] == "next"]
        cols = c.get("/collections", headers=h)
        assert cols.status_code == 200
        assert "NaN" not in cols.text
