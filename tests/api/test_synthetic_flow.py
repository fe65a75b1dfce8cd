"""End to end on simulated incidents: ingest through the API, then read them back every way."""

from __future__ import annotations

import pytest

from ward_geo.io.writers import geojson_dumps, to_geojson
from ward_geo.synth import simulate

from .conftest import WARDS, make_client


@pytest.fixture(scope="module")
def simulated(api_wards):
    return simulate(api_wards, ward_ids=WARDS, start="2025-01-01", end="2025-07-01", seed=3, scale=0.1)


def test_simulated_incidents_round_trip_through_the_service(empty_service, simulated):
    admin = empty_service.headers("admin")
    with make_client(empty_service.data_dir) as c:
        r = c.post("/incidents", content=geojson_dumps(to_geojson(simulated)),
                   headers={**admin, "content-type": "application/geo+json"})
        assert r.status_code == 201, r.text[:500]
        out = r.json()
        assert out["added"] + out["report"]["duplicates_dropped"] == len(simulated) - out["rejected"]
        assert out["rejected"] == 0
        page = c.get("/collections/incidents/items", params={"limit": 10000}, headers=admin).json()
        assert page["numberMatched"] == out["added"]
        assert {f["id"] for f in page["features"]} == set(simulated["incident_id"])
        # Vietnamese free text comes back unchanged
        by_id = {f["id"]: f["properties"]["description"] for f in page["features"]}
        sample = simulated.dropna(subset=["description"]).iloc[0]
        assert by_id[sample["incident_id"]] == sample["description"]
        for ward_id in WARDS:
            hot = c.get(f"/wards/{ward_id}/hotspots", headers=empty_service.headers("viewer"))
            assert hot.status_code == 200
            body = hot.json()
            assert body["numberOfIncidents"] == int((simulated["ward_id"] == ward_id).sum())
            for f in body["features"]:
                assert ward_id in f["properties"]["ward_ids"]
                assert f["properties"]["priority"] in ("high", "medium", "low")
