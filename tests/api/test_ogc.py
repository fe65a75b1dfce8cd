"""OGC API – Features Part 1 (Core + GeoJSON) behaviour, in process."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import shapely

GEOJSON = "application/geo+json"


def _get(client, service, path, role="analyst", **params):
    return client.get(path, params=params or None, headers=service.headers(role))


def test_landing_page_links(shared_client, populated_template):
    r = _get(shared_client, populated_template, "/", role=None)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    rels = {link["rel"]: link for link in r.json()["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["href"].endswith("/openapi.json")
    assert "openapi" in rels["service-desc"]["type"]
    assert rels["data"]["href"].endswith("/collections")
    doc = shared_client.get("/openapi.json").json()
    assert "/collections/{collection_id}/items" in doc["paths"]


def test_conformance(shared_client):
    r = shared_client.get("/conformance")
    assert r.status_code == 200
    classes = r.json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in classes


def test_collections_describe_extent_and_items_link(shared_client, populated_template, api_wards, api_incidents):
    r = _get(shared_client, populated_template, "/collections", role="viewer")
    assert r.status_code == 200
    cols = {c["id"]: c for c in r.json()["collections"]}
    assert set(cols) == {"wards", "incidents", "hotspots"}
    for c in cols.values():
        assert any(link["rel"] == "items" and link["type"] == GEOJSON for link in c["links"])
        assert c["itemType"] == "feature"
    bbox = cols["wards"]["extent"]["spatial"]["bbox"][0]
    assert bbox == pytest.approx(list(api_wards.total_bounds), abs=1e-6)
    first, last = cols["incidents"]["extent"]["temporal"]["interval"][0]
    assert pd.Timestamp(first) == api_incidents["occurred_at"].min()
    assert pd.Timestamp(last) == api_incidents["occurred_at"].max()
    one = _get(shared_client, populated_template, "/collections/wards", role="viewer")
    assert one.status_code == 200 and one.json()["id"] == "wards"
    missing = _get(shared_client, populated_template, "/collections/streets", role="viewer")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_items_default_limit_counts_and_content_type(shared_client, populated_template, api_incidents):
    r = _get(shared_client, populated_template, "/collections/incidents/items")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(GEOJSON)
    body = r.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == len(body["features"]) == 10
    assert body["numberMatched"] == len(api_incidents)
    assert body["timeStamp"].endswith("Z")
    feature = body["features"][0]
    assert feature["id"] == feature["properties"]["incident_id"]
    assert feature["geometry"]["type"] == "Point"
    assert "NaN" not in r.text


def test_paging_with_next_links_visits_every_feature_once(shared_client, populated_template, api_incidents):
    url = "/collections/incidents/items?limit=70"
    seen: list[str] = []
    pages = 0
    while url:
        r = shared_client.get(url, headers=populated_template.headers("analyst"))
        assert r.status_code == 200
        body = r.json()
        seen += [f["id"] for f in body["features"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else None
        pages += 1
    assert pages == 5
    assert sorted(seen) == sorted(api_incidents["incident_id"])


def test_limit_bounds(shared_client, populated_template, api_wards):
    for bad in (0, 10001, -1):
        r = _get(shared_client, populated_template, "/collections/wards/items", limit=bad)
        assert r.status_code == 400, bad
        assert r.json()["code"] == "invalid_parameter"
    r = _get(shared_client, populated_template, "/collections/wards/items", limit=10000)
    assert r.status_code == 200 and r.json()["numberReturned"] == len(api_wards)


def test_bbox_filters_in_crs84(shared_client, populated_template, api_incidents):
    box = (105.845, 21.02, 105.86, 21.035)
    r = _get(shared_client, populated_template, "/collections/incidents/items", limit=1000, bbox=",".join(map(str, box)))
    assert r.status_code == 200
    got = {f["id"] for f in r.json()["features"]}
    x, y = api_incidents.geometry.x, api_incidents.geometry.y
    inside = api_incidents.loc[(x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3]), "incident_id"]
    assert got == set(inside) and got
    wards = _get(shared_client, populated_template, "/collections/wards/items", bbox=",".join(map(str, box))).json()
    for f in wards["features"]:
        assert shapely.geometry.shape(f["geometry"]).intersects(shapely.box(*box))
    for bad in ("1,2,3", "a,b,c,d", "200,0,201,1", "10,50,0,60", "0,10,1,5"):
        r = _get(shared_client, populated_template, "/collections/incidents/items", bbox=bad)
        assert r.status_code == 400, bad
        assert r.json()["code"] == "invalid_parameter"


@pytest.mark.parametrize(
    ("value", "lo", "hi"),
    [
        ("2025-03-01T00:00:00Z/2025-03-31T23:59:59Z", "2025-03-01T00:00:00Z", "2025-03-31T23:59:59Z"),
        ("2025-06-01/..", "2025-06-01T00:00:00Z", None),
        ("../2025-02-01", None, "2025-02-01T23:59:59.999999Z"),
        ("/2025-02-01T00:00:00+07:00", None, "2025-01-31T17:00:00Z"),
        ("2025-04-10", "2025-04-10T00:00:00Z", "2025-04-10T23:59:59.999999Z"),
    ],
)
def test_datetime_instants_and_intervals(shared_client, populated_template, api_incidents, value, lo, hi):
    r = _get(shared_client, populated_template, "/collections/incidents/items", limit=1000, datetime=value)
    assert r.status_code == 200, r.text
    t = api_incidents["occurred_at"]
    mask = pd.Series(True, index=t.index)
    if lo:
        mask &= t >= pd.Timestamp(lo)
    if hi:
        mask &= t <= pd.Timestamp(hi)
    assert {f["id"] for f in r.json()["features"]} == set(api_incidents.loc[mask, "incident_id"])
    assert r.json()["numberMatched"] == int(mask.sum())


def test_datetime_instant_matches_exact_time(shared_client, populated_template, api_incidents):
    row = api_incidents.iloc[5]
    stamp = row["occurred_at"].strftime("%Y-%m-%dT%H:%M:%SZ")
    r = _get(shared_client, populated_template, "/collections/incidents/items", datetime=stamp, limit=100)
    ids = {f["id"] for f in r.json()["features"]}
    assert row["incident_id"] in ids
    assert ids == set(api_incidents.loc[api_incidents["occurred_at"] == row["occurred_at"], "incident_id"])


@pytest.mark.parametrize(
    "bad",
    ["yesterday", "2025-13-01", "2025-03-01/2025-02-01", "a/b/c", "2025-03-01T10:00", "0001-01-01T00:00:00Z",
     "9999-12-31/..", "2025-02-30T10:00:00Z"],
)
def test_invalid_datetime_is_400(shared_client, populated_template, bad):
    r = _get(shared_client, populated_template, "/collections/incidents/items", datetime=bad)
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_parameter"


def test_unknown_parameter_and_format_are_400(shared_client, populated_template):
    r = _get(shared_client, populated_template, "/collections/wards/items", colour="red")
    assert r.status_code == 400 and "colour" in r.json()["message"]
    r = _get(shared_client, populated_template, "/collections/wards/items", f="html")
    assert r.status_code == 400
    r = _get(shared_client, populated_template, "/collections/wards/items", crs="http://www.opengis.net/def/crs/EPSG/0/3405")
    assert r.status_code == 400
    r = _get(shared_client, populated_template, "/collections/wards/items", crs="http://www.opengis.net/def/crs/OGC/1.3/CRS84")
    assert r.status_code == 200


def test_single_features(shared_client, populated_template, api_incidents):
    r = _get(shared_client, populated_template, "/collections/wards/items/phuong-hoan-kiem", role="viewer")
    assert r.status_code == 200 and r.headers["content-type"].startswith(GEOJSON)
    body = r.json()
    assert body["type"] == "Feature" and body["id"] == "phuong-hoan-kiem"
    assert body["properties"]["name"] == "Phường Hoàn Kiếm"
    iid = api_incidents["incident_id"].iloc[10]
    r = _get(shared_client, populated_template, f"/collections/incidents/items/{iid}")
    assert r.status_code == 200 and r.json()["id"] == iid
    # free text comes back verbatim (escaping is the HTML renderer's job)
    tagged = api_incidents.loc[api_incidents["description"].notna()].iloc[0]
    r = _get(shared_client, populated_template, f"/collections/incidents/items/{tagged['incident_id']}")
    assert r.json()["properties"]["description"] == tagged["description"]
    hot = _get(shared_client, populated_template, "/collections/hotspots/items", role="viewer").json()
    hid = hot["features"][0]["id"]
    r = _get(shared_client, populated_template, f"/collections/hotspots/items/{hid}", role="viewer")
    assert r.status_code == 200 and r.json()["id"] == hid
    for path in ("/collections/incidents/items/nope", "/collections/wards/items/nope", "/collections/hotspots/items/x"):
        r = _get(shared_client, populated_template, path)
        assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_hotspots_collection_is_aggregate_only(shared_client, populated_template):
    body = _get(shared_client, populated_template, "/collections/hotspots/items", role="viewer", limit=100).json()
    assert body["numberMatched"] >= 6  # two planted clusters per ward
    for f in body["features"]:
        assert "member_ids" not in f["properties"]
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
    ward = _get(
        shared_client, populated_template, "/collections/hotspots/items", role="viewer", ward_id="phuong-cua-nam"
    ).json()
    assert ward["numberMatched"] >= 2
    assert all("phuong-cua-nam" in f["properties"]["ward_ids"] for f in ward["features"])
    json.dumps(body, allow_nan=False)


def test_hotspot_items_filter_by_time_and_category(shared_client, populated_template):
    h = populated_template.headers("viewer")
    everything = shared_client.get("/collections/hotspots/items", params={"limit": 100}, headers=h).json()
    spans = [(pd.Timestamp(f["properties"]["first_seen"]), pd.Timestamp(f["properties"]["last_seen"]))
             for f in everything["features"]]
    window = ("2025-06-01T00:00:00Z", "2025-06-30T23:59:59Z")
    r = shared_client.get("/collections/hotspots/items", params={"limit": 100, "datetime": "/".join(window)}, headers=h)
    assert r.status_code == 200
    lo, hi = pd.Timestamp(window[0]), pd.Timestamp(window[1])
    assert r.json()["numberMatched"] == sum(1 for a, b in spans if b >= lo and a <= hi)
    early = shared_client.get("/collections/hotspots/items", params={"datetime": "../2024-01-01"}, headers=h).json()
    assert early["numberMatched"] == 0
    drugs = shared_client.get("/collections/hotspots/items", params={"category": "drugs", "limit": 100}, headers=h).json()
    assert drugs["numberMatched"] >= 1
    assert all(f["properties"]["dominant_category"] == "drugs" for f in drugs["features"])
