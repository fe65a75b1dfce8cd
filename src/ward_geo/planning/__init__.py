"""Patrol planning: from a shift's hotspots to routes on the streets.

:func:`plan_patrol` weighs the ward's incidents for a shift (:mod:`~ward_geo.planning.risk`),
chooses stops and dwell times after the Koper curve (:mod:`~ward_geo.planning.stops`), routes
the units on the street network with OR-Tools (:mod:`~ward_geo.planning.network`,
:mod:`~ward_geo.planning.routing`) and returns a :class:`PatrolPlan` with GeoJSON and a
printable schedule (:mod:`~ward_geo.planning.schedule`). :func:`evaluate_patrol` scores a plan
on held-out incidents against a busiest-streets baseline (:mod:`~ward_geo.planning.evaluate`).
"""

from ward_geo.planning.evaluate import PatrolEvaluation, evaluate_patrol, evaluate_stops
from ward_geo.planning.network import StraightLineNetwork, TravelNetwork, load_graph
from ward_geo.planning.plan import PatrolOptions, plan_patrol
from ward_geo.planning.risk import Shift, ShiftRisk, parse_shift, shift_risk
from ward_geo.planning.schedule import PatrolPlan, PlannedStop, UnitRoute

__all__ = [
    "plan_patrol",
    "PatrolOptions",
    "PatrolPlan",
    "PlannedStop",
    "UnitRoute",
    "Shift",
    "ShiftRisk",
    "parse_shift",
    "shift_risk",
    "TravelNetwork",
    "StraightLineNetwork",
    "load_graph",
    "evaluate_patrol",
    "evaluate_stops",
    "PatrolEvaluation",
]
