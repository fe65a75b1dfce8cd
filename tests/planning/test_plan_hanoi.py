"""Plans on the real central-Hanoi street network for Phường Hoàn Kiếm with simulated incidents."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ward_geo.planning import evaluate_patrol, plan_patrol
from ward_geo.projection import metric_crs_for_bounds
from ward_geo.streets import street_edges

WARD = "phuong-hoan-kiem"


@pytest.fixture(scope="module")
def plan(hoan_kiem_incidents, hanoi_boundaries, hanoi_graph):
    return plan_patrol(hoan_kiem_incidents, hanoi_boundaries, WARD, shift_start="08:00", shift_end="16:00",
                       units=3, mode="foot", graph=hanoi_graph, seed=0, date="2026-01-09", time_limit_s=30)


def test_three_unit_plan_covers_the_shift_risk(plan) -> None:
    s = plan.summary
    assert s["uses_street_network"] and s["units"] == 3 and s["weekday"] == "friday"
    assert s["hotspots"] >= 2 and s["stops"] >= s["hotspots_visited"] >= 2
    assert 0.1 < s["risk_covered_share"] <= 1.0
    assert s["hotspot_risk_covered_share"] == 1.0  # three units reach every hotspot
    assert not s["solver_time_limited"]
    for unit in plan.units:
        assert unit.travel_s + unit.dwell_s <= 8 * 3600
        assert unit.back_at <= plan.shift.end_datetime
        arrivals = [stop.arrival for stop in unit.stops]
        assert arrivals == sorted(arrivals)


def test_routes_follow_the_real_streets(plan, hanoi_graph) -> None:
    edges = street_edges(hanoi_graph)
    crs = metric_crs_for_bounds(tuple(edges.total_bounds))
    edges_m = edges.to_crs(crs)
    routes = plan.routes_frame().to_crs(crs)
    import geopandas as gpd

    for line in routes.geometry:
        vertices = gpd.GeoSeries(gpd.points_from_xy(*np.array(line.coords).T), crs=crs)
        _, dist = edges_m.sindex.nearest(vertices, return_distance=True)
        assert dist.max() < 0.5  # every vertex lies on a street
        # consecutive vertices are never far apart in a straight jump across blocks
        steps = np.hypot(*np.diff(np.array(line.coords), axis=0).T)
        assert steps.max() < 1000
    station = plan.summary["station"]
    for unit in plan.units:
        assert unit.coords[0] == unit.coords[-1] == (station["lon"], station["lat"])
        assert unit.distance_m > 0


def test_stops_are_street_nodes_near_their_hotspots(plan, hanoi_graph) -> None:
    assert plan.stops
    for stop in plan.stops:
        node = hanoi_graph.nodes[stop.node]
        assert (node["x"], node["y"]) == (stop.lon, stop.lat)
        assert stop.snap_m <= 250
        assert 600 <= stop.dwell_s <= 900


def test_same_seed_same_plan(plan, hoan_kiem_incidents, hanoi_boundaries, hanoi_graph) -> None:
    again = plan_patrol(hoan_kiem_incidents, hanoi_boundaries, WARD, shift_start="08:00", shift_end="16:00",
                        units=3, mode="foot", graph=hanoi_graph, seed=0, date="2026-01-09", time_limit_s=30)
    assert again.to_json() == plan.to_json()


def test_night_shift_on_motorbike(hoan_kiem_incidents, hanoi_boundaries, hanoi_graph) -> None:
    night = plan_patrol(hoan_kiem_incidents, hanoi_boundaries, WARD, shift_start="22:00", shift_end="06:00",
                        units=2, mode="motorbike", graph=hanoi_graph, time_limit_s=30)
    s = night.summary
    assert s["crosses_midnight"] and s["mode"] == "motorbike"
    assert night.stops and all(night.shift.start_datetime <= x.arrival < night.shift.end_datetime for x in night.stops)
    doc = json.loads(night.to_json())
    assert doc["properties"]["shift_end"].endswith("06:00:00+07:00")


def test_evaluation_against_busiest_segments(hoan_kiem_incidents, hanoi_boundaries, hanoi_graph) -> None:
    result = evaluate_patrol(hoan_kiem_incidents, hanoi_boundaries, WARD, holdout_weeks=8, radius_m=100,
                             shift_start="18:00", shift_end="02:00", units=3, graph=hanoi_graph, time_limit_s=30)
    d = result.to_dict()
    assert d["n_test"] > 20 and d["stops"] >= 2
    assert 0 < d["plan_share"] <= 1 and 0 <= d["baseline_share"] <= 1
    assert len(result.baseline_points) == d["stops"]
    assert d["patrol_hours"] == 24.0
    assert d["plan_share_per_patrol_hour"] == pytest.approx(d["plan_share"] / 24, abs=1e-4)
    assert "busiest street segments" in d["baseline"]
    # the plan was made without the held-out weeks
    assert result.plan.risk.incidents["occurred_at"].max() < result.cutoff
