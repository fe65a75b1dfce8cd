"""plan_patrol on a small hand-made street graph: routes, times, stops, fallbacks, determinism."""

from __future__ import annotations

import datetime as dt
import json
import math
import re

import numpy as np
import pytest
from _planning_data import HAND_WARD, LAT0, LON0, STEP, grid_node

from ward_geo.errors import ParameterError
from ward_geo.planning import TravelNetwork, plan_patrol
from ward_geo.planning.network import DETOUR_FACTOR, FOOT_SPEED_KMH, haversine_m

PLAN = {"eps": 40, "min_samples": 5, "time_limit_s": 20}
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+07:00$")


def _plan(incidents, boundaries, graph, **kwargs):
    kwargs = {"shift_start": "08:00", "shift_end": "16:00", "units": 2, "graph": graph, **PLAN, **kwargs}
    return plan_patrol(incidents, boundaries, HAND_WARD, **kwargs)


@pytest.fixture
def day_plan(hand_incidents, hand_boundaries, hand_graph):
    return _plan(hand_incidents, hand_boundaries, hand_graph)


def test_routes_are_continuous_and_follow_graph_edges(day_plan, hand_graph) -> None:
    coords_of = {(round(d["x"], 9), round(d["y"], 9)): n for n, d in hand_graph.nodes(data=True)}
    station = day_plan.summary["station"]
    assert day_plan.summary["uses_street_network"]
    for unit in day_plan.units:
        assert unit.stops, "every unit has work in this ward"
        pts = [(round(x, 9), round(y, 9)) for x, y in unit.coords]
        assert pts[0] == pts[-1] == (round(station["lon"], 9), round(station["lat"], 9))
        nodes = [coords_of[p] for p in pts]  # every vertex is a graph node
        for a, b in zip(nodes[:-1], nodes[1:], strict=False):
            # foot may walk a one-way street against its direction
            assert hand_graph.has_edge(a, b) or hand_graph.has_edge(b, a), (a, b)
        # the stops come along the line in their order
        pos = 0
        for stop in unit.stops:
            pos = pts.index((round(stop.lon, 9), round(stop.lat, 9)), pos)
        # the route's length is the sum of its edges
        length = sum(hand_graph.edges[a, b, 0]["length"] if hand_graph.has_edge(a, b) else hand_graph.edges[b, a, 0]["length"]
                     for a, b in zip(nodes[:-1], nodes[1:], strict=False))
        assert unit.distance_m == pytest.approx(length, rel=1e-6)


def test_stops_are_on_the_network(day_plan, hand_graph) -> None:
    for stop in day_plan.stops:
        assert stop.node in hand_graph.nodes
        node = hand_graph.nodes[stop.node]
        assert (stop.lon, stop.lat) == (node["x"], node["y"])
        assert stop.snap_m < 30  # the planted spots sit on grid nodes


def test_dwell_and_travel_fit_in_the_shift(day_plan, hand_graph) -> None:
    shift = day_plan.shift
    network = TravelNetwork(hand_graph, "foot")
    index = {n: i for i, n in enumerate(network.nodes)}
    station = index[day_plan.summary["station"]["node"]]
    for unit in day_plan.units:
        assert unit.travel_s + unit.dwell_s <= shift.minutes * 60
        assert shift.start_datetime <= unit.back_at <= shift.end_datetime
        here, free_at = station, shift.start_datetime
        for stop in unit.stops:
            node = index[stop.node]
            seconds, _ = network.travel([here], [node])
            assert stop.arrival >= free_at + dt.timedelta(seconds=math.floor(seconds[0, 0]))
            assert 10 * 60 <= stop.dwell_s <= 15 * 60
            here, free_at = node, stop.departure
        seconds, _ = network.travel([here], [station])
        assert unit.back_at >= free_at + dt.timedelta(seconds=math.floor(seconds[0, 0]))
    # revisits of one hotspot are at least an hour apart
    by_hotspot: dict[str, list[dt.datetime]] = {}
    for stop in day_plan.stops:
        by_hotspot.setdefault(stop.hotspot_id, []).append(stop.arrival)
    for arrivals in by_hotspot.values():
        arrivals.sort()
        assert all(b - a >= dt.timedelta(minutes=60) for a, b in zip(arrivals[:-1], arrivals[1:], strict=False))
    assert max(len(v) for v in by_hotspot.values()) > 1


def test_unreachable_hotspot_is_reported(day_plan) -> None:
    unreachable = day_plan.summary["unreachable"]
    assert len(unreachable) == 1
    item = unreachable[0]
    assert abs(item["lon"] - (LON0 + 10 * STEP)) < 0.0003
    assert "not connected to the station" in item["reason"]
    assert item["hotspot_id"] not in {s.hotspot_id for s in day_plan.stops}
    assert item["hotspot_id"] in day_plan.schedule_markdown(lang="en")
    kinds = [f["properties"]["kind"] for f in day_plan.to_geojson()["features"]]
    assert kinds.count("unreachable") == 1
    # the three reachable hotspots are all visited
    assert day_plan.summary["hotspots"] == 4 and day_plan.summary["hotspots_visited"] == 3
    assert 0 < day_plan.summary["risk_covered_share"] < 1


def test_same_seed_same_plan_other_seed_other_order(hand_incidents, hand_boundaries, hand_graph) -> None:
    a = _plan(hand_incidents, hand_boundaries, hand_graph, seed=7)
    b = _plan(hand_incidents, hand_boundaries, hand_graph, seed=7)
    assert a.to_json() == b.to_json()
    assert a.schedule_markdown() == b.schedule_markdown()
    orders = {
        tuple(tuple(s.hotspot_id for s in u.stops) for u in _plan(hand_incidents, hand_boundaries, hand_graph, seed=s).units)
        for s in range(4)
    }
    assert len(orders) > 1, "the seed makes the order unpredictable"


def test_midnight_crossing_shift(hand_incidents, hand_boundaries, hand_graph) -> None:
    # the night incidents fall on Mondays (23:00) and, after midnight, on the shifts of Sundays
    plan = _plan(hand_incidents, hand_boundaries, hand_graph, shift_start="22:00", shift_end="02:00", units=1,
                 date="2026-01-05")
    assert plan.summary["crosses_midnight"] and plan.summary["weekday"] == "monday"
    assert plan.summary["shift_start"] == "2026-01-05T22:00:00+07:00"
    assert plan.summary["shift_end"] == "2026-01-06T02:00:00+07:00"
    assert plan.summary["incidents_in_shift_hours"] == 10  # the 23:00 ones only
    assert plan.summary["hotspots"] == 1  # only the night-time spot
    assert plan.stops and all(plan.shift.start_datetime <= s.arrival < plan.shift.end_datetime for s in plan.stops)
    assert any(s.arrival.date() == dt.date(2026, 1, 6) for s in plan.stops)  # revisited after midnight
    every_day = _plan(hand_incidents, hand_boundaries, hand_graph, shift_start="22:00", shift_end="02:00", units=1)
    assert every_day.summary["incidents_in_shift_hours"] == 30
    night_spot = (LON0, LAT0 + 4 * STEP)
    assert all(haversine_m(s.lon, s.lat, *night_spot) < 30 for s in plan.stops)


def test_no_network_fallback_says_so(hand_incidents, hand_boundaries) -> None:
    plan = _plan(hand_incidents, hand_boundaries, False)
    s = plan.summary
    assert not s["uses_street_network"] and "straight-line" in s["network"]
    assert s["fallback"] and any("straight-line" in n for n in s["notes"])
    assert "straight-line" in plan.schedule_markdown(lang="en")
    props = plan.to_geojson()["properties"]
    assert props["uses_street_network"] is False
    # without a network nothing is unreachable: the detached hotspot is visited too
    assert s["unreachable"] == [] and s["hotspots_visited"] == 4
    for unit in plan.units:
        expected = 0.0
        for (x1, y1), (x2, y2) in zip(unit.coords[:-1], unit.coords[1:], strict=False):
            expected += float(haversine_m(x1, y1, x2, y2)) * DETOUR_FACTOR
        assert unit.distance_m == pytest.approx(expected, rel=1e-6)
        assert unit.travel_s == pytest.approx(expected / (FOOT_SPEED_KMH / 3.6), abs=len(unit.coords))


def test_ward_outside_the_network_falls_back(hand_incidents, hand_boundaries, hand_graph) -> None:
    far = hand_graph.copy()
    for _, data in far.nodes(data=True):
        data["x"] += 1.0  # a network 100 km away
    plan = _plan(hand_incidents, hand_boundaries, far)
    assert not plan.summary["uses_street_network"]
    assert "does not cover the ward" in plan.summary["fallback"]


def test_motorbike_respects_oneway_foot_does_not(hand_graph) -> None:
    a, b = grid_node(0, 0), grid_node(1, 0)
    foot = TravelNetwork(hand_graph, "foot")
    bike = TravelNetwork(hand_graph, "motorbike")
    ia, ib = (list(foot.nodes).index(n) for n in (a, b))
    f_ab, _ = foot.travel([ia], [ib])
    f_ba, _ = foot.travel([ib], [ia])
    m_ab, _ = bike.travel([ia], [ib])
    m_ba, pred = bike.travel([ib], [ia])
    assert f_ab[0, 0] == pytest.approx(f_ba[0, 0])
    assert m_ba[0, 0] > 2.5 * m_ab[0, 0]  # round the block
    assert len(bike.path(pred[0], ib, ia)) == 4


def test_geojson_is_strict_rfc7946(day_plan) -> None:
    text = day_plan.to_json()
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    kinds = [f["properties"]["kind"] for f in doc["features"]]
    assert kinds.count("route") == 2 and kinds.count("station") == 1
    assert kinds.count("stop") == len(day_plan.stops)
    for f in doc["features"]:
        geom = f["geometry"]
        pts = [geom["coordinates"]] if geom["type"] == "Point" else geom["coordinates"]
        assert geom["type"] == {"route": "LineString"}.get(f["properties"]["kind"], "Point")
        for x, y in pts:
            assert -180 <= x <= 180 and -90 <= y <= 90
            assert len(repr(x).split(".")[-1]) <= 7
        if f["properties"]["kind"] == "stop":
            p = f["properties"]
            assert ISO.match(p["arrival"]) and ISO.match(p["departure"])
            assert {"unit", "sequence", "dwell_minutes", "hotspot_id", "reason"} <= set(p)
            assert {"categories", "n_incidents", "trend"} <= set(p["reason"])
    summary = doc["properties"]
    for key in ("distance_m", "travel_minutes", "dwell_minutes", "risk_covered_share", "network", "unreachable"):
        assert key in summary


def test_schedule_markdown_lists_every_stop(day_plan, tmp_path) -> None:
    geo, md = day_plan.write(tmp_path / "plan.geojson", lang="en")
    text = md.read_text(encoding="utf-8")
    assert md.name == "plan.md" and geo.is_file()
    assert text.count("## Unit ") == 2
    rows = [line for line in text.splitlines() if re.match(r"^\| \d+ \| \d\d:\d\d \|", line)]
    assert len(rows) == len(day_plan.stops)
    assert "Theft" in text and "Unreachable hotspots" in text
    vi = day_plan.schedule_markdown()
    assert "Kế hoạch tuần tra" in vi and "Trộm cắp tài sản" in vi


def test_station_can_be_given(hand_incidents, hand_boundaries, hand_graph) -> None:
    plan = _plan(hand_incidents, hand_boundaries, hand_graph, start_point=(LON0 + 4 * STEP + 0.00002, LAT0 + 4 * STEP))
    assert plan.summary["station"]["node"] == grid_node(4, 4)
    assert plan.units[0].coords[0] == (LON0 + 4 * STEP, LAT0 + 4 * STEP)


def test_all_stops_required_but_too_many(hand_incidents, hand_boundaries, hand_graph) -> None:
    with pytest.raises(ParameterError, match="not every visit fits"):
        _plan(hand_incidents, hand_boundaries, hand_graph, units=1, dwell_minutes=(200, 240), allow_drop=False)


def test_short_shift_drops_low_value_visits(hand_incidents, hand_boundaries, hand_graph) -> None:
    # three hours, one unit, hour-long stops: one of the three reachable hotspots cannot be visited
    plan = _plan(hand_incidents, hand_boundaries, hand_graph, shift_start="09:00", shift_end="12:00", units=1,
                 dwell_minutes=(60, 70))
    assert plan.summary["hotspots"] == 4 and len(plan.summary["dropped"]) == 1
    assert "did not fit" in plan.summary["dropped"][0]["reason"]
    visited = {s.hotspot_id for s in plan.stops}
    top = plan.hotspots["hotspot_id"].iloc[0]
    unreachable = {u["hotspot_id"] for u in plan.summary["unreachable"]}
    reachable = [h for h in plan.hotspots["hotspot_id"] if h not in unreachable]  # by risk, descending
    assert top in visited and plan.summary["dropped"][0]["hotspot_id"] == reachable[-1]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [({"units": 0}, "units"), ({"mode": "bicycle"}, "mode"), ({"seed": -1}, "seed"),
     ({"start_point": (500, 21)}, "start_point")],
)
def test_bad_parameters_are_listed(hand_incidents, hand_boundaries, hand_graph, kwargs, fragment) -> None:
    with pytest.raises(ParameterError, match=fragment):
        _plan(hand_incidents, hand_boundaries, hand_graph, **kwargs)


def test_no_incidents_in_the_shift_gives_an_empty_plan(hand_incidents, hand_boundaries, hand_graph) -> None:
    plan = _plan(hand_incidents, hand_boundaries, hand_graph, shift_start="03:00", shift_end="05:00")
    assert plan.stops == [] and plan.summary["hotspots"] == 0
    assert any("no hotspots" in n for n in plan.summary["notes"])
    doc = json.loads(plan.to_json())
    assert [f["properties"]["kind"] for f in doc["features"]].count("route") == 2
    assert np.isfinite(plan.summary["distance_m"])


def test_cars_keep_out_of_alleys_and_footways(hand_graph) -> None:
    from ward_geo.planning.network import edge_speed_kmh

    alley = {"highway": "service", "length": 50.0}
    footway = {"highway": "footway", "length": 50.0}
    main = {"highway": "primary", "length": 50.0, "maxspeed": "60"}
    assert edge_speed_kmh(alley, "car") is None and edge_speed_kmh(alley, "motorbike") == 15.0
    assert edge_speed_kmh(footway, "motorbike") is None and edge_speed_kmh(footway, "foot") == FOOT_SPEED_KMH
    assert edge_speed_kmh(main, "motorbike") == 35.0 and edge_speed_kmh(main, "car") == 30.0  # urban caps
    assert edge_speed_kmh({"highway": ["residential", "service"], "length": 9.0}, "motorbike") == 15.0
