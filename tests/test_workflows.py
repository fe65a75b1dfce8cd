"""One hotspot set for a ward and day: the same ids, ranks and names on every face."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ward_geo.cli import app
from ward_geo.io.readers import read_boundaries
from ward_geo.store import open_store
from ward_geo.synth import simulate
from ward_geo.workflows import ward_hotspot_set

WARD = "phuong-hoan-kiem"
OTHER = "phuong-cua-nam"


@pytest.fixture
def filled_store(hanoi_boundaries_path):
    boundaries = read_boundaries(hanoi_boundaries_path)
    incidents = simulate(boundaries, ward_ids=[WARD, OTHER], start="2024-06-01", end="2025-11-30", seed=3)
    with open_store() as store:
        store.put_boundaries(boundaries)
        store.ingest(incidents, source="synthetic")
    return boundaries, incidents


def test_same_set_on_every_face(filled_store):
    from ward_geo.maps import render_map_html, ward_map
    from ward_geo.planning import plan_patrol
    from ward_geo.report import ward_report

    boundaries, _ = filled_store
    with open_store() as store:
        hset = ward_hotspot_set(store, WARD)
        again = ward_hotspot_set(store, WARD)
        incidents = store.query(ward_ids=[WARD])
    spots = hset.hotspots
    assert len(spots) >= 3
    assert again.from_store and again.set_id == hset.set_id
    assert again.hotspots["hotspot_id"].tolist() == spots["hotspot_id"].tolist()
    assert again.hotspots["name"].tolist() == spots["name"].tolist()
    assert spots["name"].is_unique and spots["name"].notna().all()
    assert spots["rank"].tolist() == list(range(1, len(spots) + 1))
    assert spots["forecast_incidents"].is_monotonic_decreasing
    params = spots.attrs["params"]
    assert params["requested_method"] == "auto" and params["selection"]["reason"]
    # no hotspot covers more than 5 % of the ward
    assert (spots["area_m2"] <= 0.05 * params["study_area_m2"] * 1.001).all()

    # the GeoJSON says which set it is and why its method was chosen
    from ward_geo.io.writers import to_geojson

    collection = to_geojson(spots)
    assert collection["hotspotSet"]["hotspot_set_id"] == hset.set_id
    assert collection["selection"]["method"] == params["method"] and collection["selection"]["reason"]

    # the CLI reads the stored set
    result = CliRunner().invoke(app, ["hotspots", "--ward", WARD, "--json", "--top", "50"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["top"]
    assert [r["hotspot_id"] for r in rows] == spots["hotspot_id"].tolist()[:50]
    assert [r["name"] for r in rows] == spots["name"].tolist()[:50]
    assert {r["hotspot_set_id"] for r in rows} == {hset.set_id}

    # the patrol plan visits hotspots of the set and records which set it used
    plan = plan_patrol(incidents, boundaries, WARD, shift_start="18:00", shift_end="23:00", units=2, graph=False,
                       hotspots=spots)
    assert plan.summary["hotspot_set_id"] == hset.set_id
    visited = {s.hotspot_id for unit in plan.units for s in unit.stops}
    assert visited and visited <= set(spots["hotspot_id"])
    names = dict(zip(spots["hotspot_id"], spots["name"], strict=True))
    assert {r for r in plan.hotspots["name"]} <= set(names.values())
    sheet = plan.schedule_markdown()
    first_stop = next(s.hotspot_id for unit in plan.units for s in unit.stops)
    assert names[first_stop] in sheet  # the sheet names the stop's hotspot as the map does

    # the report lists the same top hotspots with the same names and ranks
    report = ward_report(WARD, incidents, boundaries, hotspot_set=hset)
    assert report.hotspots["hotspot_id"].tolist() == spots["hotspot_id"].tolist()[: len(report.hotspots)]
    text = report.to_markdown()
    assert spots["name"].iloc[0] in text and hset.set_id in text

    # the ward map shows them, with their names
    page = render_map_html(ward_map(incidents, boundaries, WARD, hotspots=spots, offline=True))
    assert spots["hotspot_id"].iloc[0] in page
    assert json.dumps(spots["name"].iloc[0], ensure_ascii=False).strip('"') in page or spots["name"].iloc[0] in page


def test_new_data_gives_a_new_version_only_where_it_lands(filled_store):
    boundaries, incidents = filled_store
    with open_store() as store:
        first = ward_hotspot_set(store, WARD)
        other = ward_hotspot_set(store, OTHER)
        extra = incidents[incidents["ward_id"] == OTHER].head(3).copy()
        extra["incident_id"] = [f"extra-{i}" for i in range(len(extra))]
        store.ingest(extra, source="later")
        assert ward_hotspot_set(store, WARD).set_id == first.set_id  # untouched ward: same set
        assert ward_hotspot_set(store, OTHER).set_id != other.set_id  # new data there: new version
        listing = store.hotspot_sets(ward_id=OTHER)
        assert len(listing) == 2


def test_store_hotspots_reads_the_configured_store_like_find_hotspots_on_it(filled_store):
    from ward_geo.analysis.hotspots import find_hotspots
    from ward_geo.workflows import store_hotspots

    kwargs = {"ward_ids": [WARD], "method": "dbscan", "eps": 60, "min_samples": 5}
    configured = store_hotspots(**kwargs)
    with open_store() as store:
        given = find_hotspots(store=store, **kwargs)
    assert len(configured) > 0
    assert configured["hotspot_id"].tolist() == given["hotspot_id"].tolist()
    assert configured.geometry.geom_equals_exact(given.geometry, tolerance=0).all()
