"""The service serves the ward's stored hotspot set: the ids, ranks and names every face shows."""

from __future__ import annotations

from ward_geo.settings import Settings
from ward_geo.store import open_store
from ward_geo.workflows import ward_hotspot_set

from .conftest import make_client

WARD = "phuong-hoan-kiem"


def test_service_serves_the_stored_set(service):
    with make_client(service.data_dir) as c:
        body = c.get(f"/wards/{WARD}/hotspots", headers=service.headers("viewer")).json()
        features = body["features"]
        assert features, body
        set_id = body["hotspotSet"]["hotspot_set_id"]
        assert {f["properties"]["hotspot_set_id"] for f in features} == {set_id}
        plan = c.post("/patrol-plans", json={"ward_id": WARD, "shift_start": "18:00", "shift_end": "22:00",
                                             "units": 1, "mode": "foot", "time_limit_s": 2},
                      headers=service.headers("viewer"))
        assert plan.status_code == 200, plan.text
        summary = next(f["properties"] for f in plan.json()["features"] if f["properties"].get("kind") == "station")
        assert summary["hotspot_set_id"] == set_id
    # the library reads the very set the service stored
    with open_store(Settings(data_dir=service.data_dir)) as store:
        hset = ward_hotspot_set(store, WARD)
    assert hset.from_store and hset.set_id == set_id
    assert [f["properties"]["hotspot_id"] for f in features] == hset.hotspots["hotspot_id"].tolist()
    assert [f["properties"]["name"] for f in features] == hset.hotspots["name"].tolist()
    assert [f["properties"]["rank"] for f in features] == hset.hotspots["rank"].tolist()
