"""Koper dwell times and spaced revisits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ward_geo.errors import ParameterError
from ward_geo.planning.stops import koper_dwell, plan_visits


def _hotspots(risks: list[float]) -> pd.DataFrame:
    risks_arr = np.array(risks, dtype=float)
    n = len(risks)
    prio = ["high" if i < n / 3 else "medium" if i < 2 * n / 3 else "low" for i in range(n)]
    return pd.DataFrame({"hotspot_id": [f"h{i}" for i in range(n)], "risk": risks_arr,
                         "risk_share": risks_arr / risks_arr.sum(), "priority": prio})


def test_dwell_between_10_and_15_minutes_in_proportion_to_risk() -> None:
    d = koper_dwell(np.array([10.0, 5.0, 0.0]))
    assert d.tolist() == [15.0, 12.5, 10.0]
    with pytest.raises(ParameterError):
        koper_dwell(np.array([1.0]), (15, 10))


def test_revisits_are_spaced_through_the_shift() -> None:
    visits = plan_visits(_hotspots([50, 20, 10, 5, 5, 5]), 480, 3, travel_minutes=8)
    by_hotspot: dict[str, list] = {}
    for v in visits:
        by_hotspot.setdefault(v.hotspot_id, []).append(v)
        assert 0 <= v.earliest_s <= v.latest_s <= 480 * 60 - v.dwell_s
        assert 600 <= v.dwell_s <= 900
    assert len(by_hotspot["h0"]) > 1  # the riskiest hotspot is revisited
    for hid, vs in by_hotspot.items():
        gap = 60 * 60 if vs[0].hotspot == 0 or vs[0].hotspot == 1 else 90 * 60
        for a, b in zip(vs[:-1], vs[1:], strict=False):
            # even the latest arrival of one visit leaves the gap before the earliest next one
            assert b.earliest_s - a.latest_s >= gap - 1, hid
        # revisits are worth less than the first visit
        assert all(x.value > y.value for x, y in zip(vs[:-1], vs[1:], strict=False))
    counts = [len(by_hotspot[f"h{i}"]) for i in range(6)]
    assert counts == sorted(counts, reverse=True)  # more risk, more visits


def test_every_hotspot_offered_once_when_capacity_is_short() -> None:
    visits = plan_visits(_hotspots([5.0] * 30), 60, 1, travel_minutes=10)
    assert len(visits) == 30 and {v.n_visits for v in visits} == {1}


def test_no_units_is_an_error() -> None:
    with pytest.raises(ParameterError, match="units"):
        plan_visits(_hotspots([1.0]), 480, 0, travel_minutes=5)


def test_windows_leave_time_to_get_there_and_back() -> None:
    hot = _hotspots([30, 10])
    visits = plan_visits(hot, 240, 2, travel_minutes=5, access_minutes=np.array([25.0, 5.0]),
                         return_minutes=np.array([30.0, 5.0]))
    for v in visits:
        access, back = (25, 30) if v.hotspot == 0 else (5, 5)
        assert v.earliest_s >= access * 60
        assert v.latest_s + v.dwell_s <= (240 - back) * 60
    first = [v for v in visits if v.hotspot == 0]
    assert first[0].earliest_s == 25 * 60 and len(first) >= 2
    # the windows tile the reachable time: the last one ends when the unit must head back
    assert abs(first[-1].latest_s + first[-1].dwell_s - (240 - 30) * 60) <= 60


def test_short_span_never_breaks_the_revisit_gap() -> None:
    visits = plan_visits(_hotspots([10.0]), 100, 5, travel_minutes=1)
    assert len(visits) == 1  # 100 minutes cannot hold two visits an hour apart with room to move
