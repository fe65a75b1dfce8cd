"""PatrolOptions: one object for plan_patrol's choices; the old keywords keep working."""

from __future__ import annotations

import dataclasses

import pytest
from _planning_data import HAND_WARD

from ward_geo.errors import ParameterError
from ward_geo.planning import plan_patrol
from ward_geo.planning.plan import PatrolOptions

CHOICES = {"shift_start": "08:00", "shift_end": "16:00", "units": 2, "eps": 40, "min_samples": 5,
           "time_limit_s": 20, "seed": 3}


def _stops(plan):
    return [(s.unit, s.sequence, s.hotspot_id, s.arrival_s) for unit in plan.units for s in unit.stops]


def test_options_object_and_keywords_give_the_same_plan(hand_incidents, hand_boundaries, hand_graph) -> None:
    by_keywords = plan_patrol(hand_incidents, hand_boundaries, HAND_WARD, graph=hand_graph, **CHOICES)
    by_options = plan_patrol(hand_incidents, hand_boundaries, HAND_WARD, PatrolOptions(**CHOICES), graph=hand_graph)
    assert by_options.summary == by_keywords.summary
    assert _stops(by_options) == _stops(by_keywords)
    assert by_options.summary["units"] == 2 and by_options.summary["seed"] == 3


def test_keywords_override_the_options_object(hand_incidents, hand_boundaries) -> None:
    options = PatrolOptions(**CHOICES)
    plan = plan_patrol(hand_incidents, hand_boundaries, HAND_WARD, options, graph=False, units=1, mode="motorbike")
    assert plan.summary["units"] == 1 and len(plan.units) == 1
    assert plan.summary["mode"] == "motorbike"
    assert options.units == 2, "the caller's options are not changed"


def test_options_are_frozen_and_report_every_problem() -> None:
    options = PatrolOptions()
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.units = 3  # type: ignore[misc]
    bad = PatrolOptions(units=0, mode="boat", seed=-1, max_hotspots=0, max_snap_m=0, time_limit_s=0,
                        solution_limit=0, start_point=(500.0, 0.0))
    problems = bad.problems()
    for name in ("units", "mode", "seed", "max_hotspots", "max_snap_m", "time_limit_s", "solution_limit",
                 "start_point"):
        assert any(p.startswith(name) for p in problems), name


def test_invalid_options_object_is_a_parameter_error(hand_incidents, hand_boundaries) -> None:
    with pytest.raises(ParameterError) as caught:
        plan_patrol(hand_incidents, hand_boundaries, HAND_WARD, PatrolOptions(units=99), graph=False)
    assert caught.value.details["problems"] == ["units must be an integer 1-50; got 99"]


def test_unknown_keyword_is_refused(hand_incidents, hand_boundaries) -> None:
    with pytest.raises(TypeError, match="vehicles"):
        plan_patrol(hand_incidents, hand_boundaries, HAND_WARD, graph=False, vehicles=2)
