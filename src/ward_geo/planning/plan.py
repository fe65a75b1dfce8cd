"""Plan a patrol shift: risk -> stops -> routes on the streets -> :class:`PatrolPlan`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict, Unpack

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from ward_geo.errors import ConfigurationError, InputError, ParameterError
from ward_geo.planning.network import (
    DETOUR_FACTOR,
    MODES,
    StraightLineNetwork,
    TravelNetwork,
    haversine_m,
    load_graph,
)
from ward_geo.planning.risk import DEFAULT_HALF_LIFE_DAYS, Shift, ShiftRisk, parse_shift, shift_risk, ward_geometry
from ward_geo.planning.routing import RouteResult, solve_routes
from ward_geo.planning.schedule import PatrolPlan, PlannedStop, UnitRoute
from ward_geo.planning.stops import DEFAULT_DWELL_MINUTES, Visit, plan_visits

__all__ = ["plan_patrol", "PatrolOptions", "PatrolKeywords", "DEFAULT_MAX_SNAP_M", "DEFAULT_MAX_HOTSPOTS"]

#: A stop may be this far from its hotspot's centre of mass (metres) along the straight line.
DEFAULT_MAX_SNAP_M = 250.0
#: At most this many of the riskiest hotspots are offered to the router.
DEFAULT_MAX_HOTSPOTS = 40


def _resolve_network(
    graph: nx.MultiDiGraph | str | Path | bool | None, mode: str, ward_polygon: Any
) -> TravelNetwork | StraightLineNetwork:
    if graph is False:
        return StraightLineNetwork(mode, "street network switched off")
    if graph is None or graph is True:
        try:
            g = load_graph(None)
        except ConfigurationError as exc:
            return StraightLineNetwork(mode, f"no street network available ({exc.message})")
    elif isinstance(graph, str | Path):
        g = load_graph(graph)
    elif isinstance(graph, nx.MultiDiGraph):
        g = graph
    else:
        raise ParameterError(
            "graph must be a networkx MultiDiGraph, the path of an .osm file, None or False; "
            f"got {type(graph).__name__}"
        )
    network = TravelNetwork(g, mode)
    # a ward outside the extract: the network cannot serve it
    minx, miny, maxx, maxy = ward_polygon.bounds
    lon, lat = network.lonlat[network.usable_nodes, 0], network.lonlat[network.usable_nodes, 1]
    inside = (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)
    if not inside.any():
        return StraightLineNetwork(mode, "the street network does not cover the ward")
    return network


def _largest_strong_component(network: TravelNetwork) -> np.ndarray:
    from scipy.sparse import csgraph

    _, labels = csgraph.connected_components(network.matrix, directed=True, connection="strong")
    usable_labels = labels[network.usable_nodes]
    biggest = np.bincount(usable_labels).argmax()
    main: np.ndarray = network.usable_nodes[usable_labels == biggest]
    return main


def _reason(row: pd.Series) -> dict[str, Any]:
    return {
        "categories": dict(row["category_counts"]),
        "dominant_category": row["dominant_category"],
        "n_incidents": int(row["n_incidents"]),
        "trend": row["trend"],
        "priority": row["priority"],
        "risk_share": round(float(row["risk_share"]), 4),
    }


@dataclass(frozen=True)
class PatrolOptions:
    """The choices of one patrol plan (everything but the data it is planned from).

    Attributes
    ----------
    shift_start, shift_end : str or datetime.time
        ``HH:MM`` local times; a shift ending at or before its start ends the next day.
    date, weekday : optional
        The date of the shift (its weekday restricts the risk) or only a weekday; see
        :func:`ward_geo.planning.risk.parse_shift`.
    units : int
        Patrol units (vehicles) available, 1-50.
    mode : {"foot", "motorbike", "car"}
        Travel mode.
    start_point : (lon, lat), optional
        The station where units start and end. Default: the ward polygon's representative
        point. On a network it is snapped to the nearest street node of the main connected part.
    seed : int
        Seed of the stop order (same seed, same plan).
    time_limit_s, solution_limit
        Search limits of the router (see :func:`ward_geo.planning.routing.solve_routes`).
    half_life_days : float
        Recency half-life of incident weights.
    category_weights : dict, optional
        Per-category weight overrides.
    dwell_minutes : (float, float)
        Shortest and longest dwell (Koper 1995: 10-15 minutes).
    revisit_gap_minutes : dict or float, optional
        Least time between visits of one hotspot (default 60 min high, 90 min others).
    allow_drop : bool
        Let the router leave out low-value visits that do not fit.
    max_hotspots : int
        Offer at most this many of the riskiest hotspots to the router (the rest are reported).
    max_snap_m : float
        Largest distance between a hotspot's centre and its stop on the network.
    eps, min_samples : optional
        Hotspot clustering parameters (default: patrol scale, see
        :func:`ward_geo.planning.risk.shift_risk`).
    timezone : str, optional
        Zone of the shift times (default: the ``WARD_GEO_TIMEZONE`` setting).
    """

    shift_start: str | dt.time = "08:00"
    shift_end: str | dt.time = "16:00"
    date: str | dt.date | None = None
    weekday: int | str | None = None
    units: int = 1
    mode: str = "foot"
    start_point: tuple[float, float] | None = None
    seed: int = 0
    time_limit_s: float = 5.0
    solution_limit: int = 200
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS
    category_weights: dict[str, float] | None = field(default=None, hash=False)
    dwell_minutes: tuple[float, float] = DEFAULT_DWELL_MINUTES
    revisit_gap_minutes: dict[str, float] | float | None = field(default=None, hash=False)
    allow_drop: bool = True
    max_hotspots: int = DEFAULT_MAX_HOTSPOTS
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    eps: float | None = None
    min_samples: int | None = None
    timezone: str | None = None

    def problems(self) -> list[str]:
        """Every invalid option, described with its name, its expectation and its value.

        Returns
        -------
        list of str
            Empty when every option is valid.
        """
        problems = [*self._count_problems(), *self._limit_problems()]
        if self.start_point is not None and not _is_lonlat(self.start_point):
            problems.append(f"start_point must be (lon, lat) in degrees; got {self.start_point!r}")
        return problems

    def _count_problems(self) -> list[str]:
        problems = []
        units = self.units
        if not isinstance(units, int | np.integer) or isinstance(units, bool) or units < 1 or units > 50:
            problems.append(f"units must be an integer 1-50; got {units!r}")
        if self.mode not in MODES:
            problems.append(f"mode must be one of {', '.join(MODES)}; got {self.mode!r}")
        if not isinstance(self.seed, int | np.integer) or isinstance(self.seed, bool) or self.seed < 0:
            problems.append(f"seed must be a non-negative integer; got {self.seed!r}")
        return problems

    def _limit_problems(self) -> list[str]:
        problems = []
        if not (isinstance(self.max_hotspots, int | np.integer) and self.max_hotspots >= 1):
            problems.append(f"max_hotspots must be an integer >= 1; got {self.max_hotspots!r}")
        if not (isinstance(self.max_snap_m, int | float) and self.max_snap_m > 0):
            problems.append(f"max_snap_m must be > 0 metres; got {self.max_snap_m!r}")
        if not (isinstance(self.time_limit_s, int | float) and self.time_limit_s > 0):
            problems.append(f"time_limit_s must be > 0 seconds; got {self.time_limit_s!r}")
        if not (isinstance(self.solution_limit, int | np.integer) and self.solution_limit >= 1):
            problems.append(f"solution_limit must be an integer >= 1; got {self.solution_limit!r}")
        return problems


class PatrolKeywords(TypedDict, total=False):
    """The fields of :class:`PatrolOptions` as keywords of :func:`plan_patrol` (see there)."""

    shift_start: str | dt.time
    shift_end: str | dt.time
    date: str | dt.date | None
    weekday: int | str | None
    units: int
    mode: str
    start_point: tuple[float, float] | None
    seed: int
    time_limit_s: float
    solution_limit: int
    half_life_days: float
    category_weights: dict[str, float] | None
    dwell_minutes: tuple[float, float]
    revisit_gap_minutes: dict[str, float] | float | None
    allow_drop: bool
    max_hotspots: int
    max_snap_m: float
    eps: float | None
    min_samples: int | None
    timezone: str | None


def _is_lonlat(point: tuple[float, float]) -> bool:
    try:
        lon0, lat0 = (float(v) for v in point)
    except (TypeError, ValueError):
        return False
    return -180 <= lon0 <= 180 and -90 <= lat0 <= 90


@dataclass
class _Stops:
    """Where the offered hotspots are visited and the travel times between station and stops."""

    station: dict[str, Any]
    rows: list[int] = field(default_factory=list)  # rows of the offered hotspots that got a stop
    nodes: list[int] = field(default_factory=list)  # network node index per stop (network case)
    points: list[tuple[float, float]] = field(default_factory=list)
    snap_m: list[float] = field(default_factory=list)
    unreachable: list[dict[str, Any]] = field(default_factory=list)
    travel: np.ndarray = field(default_factory=lambda: np.zeros((1, 1)))
    pred: np.ndarray | None = None
    graph_nodes: list[int] = field(default_factory=list)


def _why_unreachable(mode: str, max_snap_m: float, d_any: float) -> str:
    if d_any > max_snap_m:
        return f"no {mode} street within {max_snap_m:g} m of the hotspot centre (nearest {d_any:.0f} m)"
    return (
        f"the nearest street ({d_any:.0f} m) is not connected to the station on the {mode} "
        f"network, and no connected street is within {max_snap_m:g} m"
    )


def _snap(network: TravelNetwork, reach: np.ndarray, lon: float, lat: float, max_snap_m: float) -> tuple[int, float]:
    """The street node of a stop: the nearest one if connected and close enough, else a connected one near."""
    near_any, d_any = network.nearest(lon, lat)
    if reach[near_any] and d_any <= max_snap_m:
        return near_any, d_any
    close = network.nodes_within(lon, lat, max_snap_m)
    close = close[reach[close]] if len(close) else close
    if len(close):
        return network.nearest(lon, lat, candidates=close)
    return -1, math.inf


def _network_stops(
    network: TravelNetwork, offered: pd.DataFrame, station_lonlat: tuple[float, float], options: PatrolOptions
) -> _Stops:
    main = _largest_strong_component(network)
    s_node, s_dist = network.nearest(station_lonlat[0], station_lonlat[1], candidates=main)
    reach = network.reachable_both_ways(s_node)
    stops = _Stops(station={"requested": list(station_lonlat)})
    stops.station.update(
        lon=float(network.lonlat[s_node, 0]), lat=float(network.lonlat[s_node, 1]),
        node=network.node_id(s_node), snap_m=round(s_dist, 1),
    )
    centres = offered[["centre_lon", "centre_lat"]].to_numpy(dtype=float).reshape(-1, 2)
    for i, (lon, lat) in enumerate(centres):
        node, dist = _snap(network, reach, lon, lat, options.max_snap_m)
        if node < 0:
            _, d_any = network.nearest(lon, lat)
            stops.unreachable.append(
                {
                    "hotspot_id": offered["hotspot_id"].iloc[i],
                    "lon": float(lon), "lat": float(lat),
                    "reason": _why_unreachable(options.mode, options.max_snap_m, d_any),
                    "risk_share": float(offered["risk_share"].iloc[i]),
                }
            )
            continue
        stops.rows.append(i)
        stops.nodes.append(int(node))
        stops.points.append((float(network.lonlat[node, 0]), float(network.lonlat[node, 1])))
        stops.snap_m.append(float(dist))
    stops.graph_nodes = [s_node, *stops.nodes]
    stops.travel, stops.pred = network.travel(stops.graph_nodes, stops.graph_nodes)
    if not np.isfinite(stops.travel).all():  # pragma: no cover - excluded by reachable_both_ways
        raise InputError("street network: a stop is not reachable from the station in both directions")
    return stops


def _straight_line_stops(
    network: StraightLineNetwork, offered: pd.DataFrame, station_lonlat: tuple[float, float]
) -> _Stops:
    stops = _Stops(station={"requested": list(station_lonlat)})
    stops.station.update(lon=station_lonlat[0], lat=station_lonlat[1], node=None, snap_m=0.0)
    centres = offered[["centre_lon", "centre_lat"]].to_numpy(dtype=float).reshape(-1, 2)
    for i, (lon, lat) in enumerate(centres):
        stops.rows.append(i)
        stops.points.append((float(lon), float(lat)))
        stops.snap_m.append(0.0)
    points = np.array([station_lonlat, *stops.points], dtype=float).reshape(-1, 2)
    stops.travel, _ = network.travel_lonlat(points)
    return stops


def _plan_visits(stops: _Stops, offered_stops: pd.DataFrame, shift: Shift, options: PatrolOptions) -> list[Visit]:
    travel_nodes = stops.travel
    n = len(stops.rows)
    between = travel_nodes[1:, 1:][~np.eye(n, dtype=bool)] if n > 1 else travel_nodes[0, 1:]
    typical_travel_min = float(np.median(between)) / 60.0 if len(between) else 0.0
    return plan_visits(
        offered_stops, shift.minutes, int(options.units), travel_minutes=typical_travel_min,
        access_minutes=np.ceil(travel_nodes[0, 1:]) / 60.0, return_minutes=np.ceil(travel_nodes[1:, 0]) / 60.0,
        dwell_minutes=options.dwell_minutes, revisit_gap_minutes=options.revisit_gap_minutes,
    )


def _solve(visits: list[Visit], stops: _Stops, horizon: int, options: PatrolOptions) -> tuple[np.ndarray, RouteResult]:
    # matrix over model nodes: 0 = station, 1.. = visits (each at its hotspot's stop)
    loc = np.array([0] + [v.hotspot + 1 for v in visits], dtype=int)
    travel = stops.travel[np.ix_(loc, loc)]
    dwell = np.array([0] + [v.dwell_s for v in visits], dtype=float)
    windows = [(0, horizon)] + [(v.earliest_s, v.latest_s) for v in visits]
    values = np.array([0.0] + [v.value for v in visits])
    result = solve_routes(
        travel, dwell, windows, values, units=int(options.units), horizon_s=horizon, seed=int(options.seed),
        allow_drop=options.allow_drop, time_limit_s=options.time_limit_s, solution_limit=options.solution_limit,
    )
    return loc, result


def _leg(
    network: TravelNetwork | StraightLineNetwork, stops: _Stops, station_lonlat: tuple[float, float], a: int, b: int
) -> tuple[list[tuple[float, float]], float]:
    """The coordinates and length (metres) of the leg between model locations ``a`` and ``b``."""
    if isinstance(network, TravelNetwork) and stops.pred is not None:
        path = network.path(stops.pred[a], stops.graph_nodes[a], stops.graph_nodes[b])
        return network.path_coords(path), network.path_length(path)
    pa = station_lonlat if a == 0 else stops.points[a - 1]
    pb = station_lonlat if b == 0 else stops.points[b - 1]
    return [pa, pb], float(haversine_m(pa[0], pa[1], pb[0], pb[1])) * DETOUR_FACTOR


def _unit_route(
    u: int, route: list[tuple[int, int]], end_s: int, context: _RouteContext
) -> UnitRoute:
    stops, visits = context.stops, context.visits
    seq_loc = [0] + [int(context.loc[m]) for m, _ in route] + [0]
    coords: list[tuple[float, float]] = []
    distance = 0.0
    travel_s = 0.0
    for a, b in zip(seq_loc[:-1], seq_loc[1:], strict=True):
        travel_s += float(np.ceil(stops.travel[a, b]))
        leg, length = _leg(context.network, stops, context.station_lonlat, a, b)
        distance += length
        coords.extend(leg if not coords else leg[1:])
    if len(coords) == 1:
        coords.append(coords[0])
    planned = []
    network = context.network
    for seq, (m, arrival_s) in enumerate(route, start=1):
        v = visits[m - 1]
        row = context.offered_stops.iloc[v.hotspot]
        lon, lat = stops.points[v.hotspot]
        planned.append(
            PlannedStop(
                unit=u + 1, sequence=seq, hotspot_id=v.hotspot_id, visit=v.visit + 1, n_visits=v.n_visits,
                arrival=context.shift.at(arrival_s), arrival_s=arrival_s, dwell_s=v.dwell_s, lon=lon, lat=lat,
                node=network.node_id(stops.nodes[v.hotspot]) if isinstance(network, TravelNetwork) else None,
                snap_m=round(stops.snap_m[v.hotspot], 1), risk=float(row["risk"]), reason=_reason(row),
            )
        )
    return UnitRoute(
        unit=u + 1, stops=planned, coords=coords, distance_m=distance, travel_s=travel_s,
        dwell_s=float(sum(s.dwell_s for s in planned)), end_s=int(end_s), back_at=context.shift.at(end_s),
    )


@dataclass(frozen=True)
class _RouteContext:
    """What the units' routes are assembled from."""

    network: TravelNetwork | StraightLineNetwork
    stops: _Stops
    visits: list[Visit]
    loc: np.ndarray
    offered_stops: pd.DataFrame
    shift: Shift
    station_lonlat: tuple[float, float]


def _hotspot_set_id(hotspots: gpd.GeoDataFrame | None) -> str | None:
    if hotspots is not None and "hotspot_set_id" in hotspots.columns and len(hotspots):
        return str(hotspots["hotspot_set_id"].iloc[0])
    return None


def _coverage(hot: pd.DataFrame, unit_routes: list[UnitRoute], risk: ShiftRisk) -> dict[str, Any]:
    visited = sorted({s.hotspot_id for unit in unit_routes for s in unit.stops})
    visited_risk = float(hot.loc[hot["hotspot_id"].isin(visited), "risk"].sum()) if len(hot) else 0.0
    hot_risk = float(hot["risk"].sum()) if len(hot) else 0.0
    return {
        "hotspots": int(len(hot)),
        "hotspots_visited": len(visited),
        "stops": int(sum(len(u.stops) for u in unit_routes)),
        "distance_m": round(sum(u.distance_m for u in unit_routes), 1),
        "travel_minutes": round(sum(u.travel_s for u in unit_routes) / 60.0, 1),
        "dwell_minutes": round(sum(u.dwell_s for u in unit_routes) / 60.0, 1),
        "risk_covered_share": round(visited_risk / risk.total_risk, 4) if risk.total_risk > 0 else 0.0,
        "hotspot_risk_covered_share": round(visited_risk / hot_risk, 4) if hot_risk > 0 else 0.0,
    }


def plan_patrol(
    incidents: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame,
    ward_id: str,
    options: PatrolOptions | None = None,
    *,
    graph: nx.MultiDiGraph | str | Path | bool | None = None,
    hotspots: gpd.GeoDataFrame | None = None,
    **keywords: Unpack[PatrolKeywords],
) -> PatrolPlan:
    """Plan patrol routes for one ward and shift.

    Parameters
    ----------
    incidents : GeoDataFrame
        Canonical incidents (EPSG:4326); the ward's incidents in the shift's hours are used.
    boundaries : GeoDataFrame
        Canonical ward boundaries.
    ward_id : str
        The ward to patrol.
    options : PatrolOptions, optional
        The shift, units, travel mode, router limits and risk parameters (default:
        ``PatrolOptions()``).
    graph : networkx.MultiDiGraph, str, Path, None or False
        The street network: a graph, the path of an ``.osm`` file, ``None`` for the shared
        central-Hanoi extract, or ``False`` for straight-line travel. When no network is
        available, or it does not cover the ward, travel falls back to straight lines and the
        plan says so.
    hotspots : GeoDataFrame, optional
        The ward's hotspot set (:func:`ward_geo.workflows.ward_hotspot_set`): the plan visits
        those hotspots (same ids, ranks and names as the map and the report) and records the
        set id in its summary (``hotspot_set_id``).
    **keywords
        Any field of :class:`PatrolOptions` (``shift_start="18:00", units=2, ...``); it
        overrides the same field of ``options``.

    Returns
    -------
    PatrolPlan

    Raises
    ------
    ParameterError
        Listing every invalid option.
    """
    opts = dataclasses.replace(options or PatrolOptions(), **keywords)
    problems = opts.problems()
    if problems:
        raise ParameterError("invalid patrol parameters: " + "; ".join(problems), details={"problems": problems})
    if not isinstance(incidents, gpd.GeoDataFrame) or not isinstance(boundaries, gpd.GeoDataFrame):
        raise InputError("incidents and boundaries must be GeoDataFrames (read them with ward_geo.read_incidents)")
    shift = parse_shift(opts.shift_start, opts.shift_end, date=opts.date, weekday=opts.weekday, timezone=opts.timezone)
    polygon = ward_geometry(boundaries, ward_id)
    risk = shift_risk(
        incidents, boundaries, ward_id, shift,
        half_life_days=opts.half_life_days, category_weights=opts.category_weights, eps=opts.eps,
        min_samples=opts.min_samples, hotspots=hotspots,
    )
    network = _resolve_network(graph, opts.mode, polygon)
    horizon = shift.minutes * 60
    notes = list(risk.notes)
    hot = risk.hotspots
    offered = hot.iloc[: int(opts.max_hotspots)].reset_index(drop=True)
    not_offered = [
        {"hotspot_id": h, "reason": f"beyond the {opts.max_hotspots} riskiest hotspots offered to the router"}
        for h in hot["hotspot_id"].iloc[int(opts.max_hotspots):]
    ]
    station_lonlat = (
        (float(opts.start_point[0]), float(opts.start_point[1]))
        if opts.start_point is not None
        else (polygon.representative_point().x, polygon.representative_point().y)
    )
    if isinstance(network, TravelNetwork):
        stops = _network_stops(network, offered, station_lonlat, opts)
    else:
        notes.append(f"travel times are straight-line estimates: {network.reason}")
        stops = _straight_line_stops(network, offered, station_lonlat)

    offered_stops = offered.iloc[stops.rows].reset_index(drop=True)
    visits = _plan_visits(stops, offered_stops, shift, opts)
    loc, result = _solve(visits, stops, horizon, opts)
    if result.time_limited:
        notes.append(
            f"the router's time limit ({opts.time_limit_s:g} s) stopped the search before its solution limit; "
            "another run may give a different plan (raise time_limit_s for reproducible plans)"
        )
    context = _RouteContext(network, stops, visits, loc, offered_stops, shift, station_lonlat)
    unit_routes = [
        _unit_route(u, route, end_s, context)
        for u, (route, end_s) in enumerate(zip(result.routes, result.end_s, strict=True))
    ]
    dropped = [
        {
            "hotspot_id": visits[m - 1].hotspot_id,
            "visit": visits[m - 1].visit + 1,
            "reason": "did not fit in the shift (lowest value left out)",
        }
        for m in result.dropped
    ] + not_offered
    summary = {
        "ward_id": ward_id,
        **shift.to_dict(),
        "mode": opts.mode,
        "units": int(opts.units),
        "network": network.description,
        "uses_street_network": bool(network.uses_network),
        "fallback": None if isinstance(network, TravelNetwork) else network.reason,
        "station": stops.station,
        "seed": int(opts.seed),
        "incidents_in_shift_hours": int(len(risk.incidents)),
        "incidents_without_exact_time": int(risk.excluded_imprecise),
        "half_life_days": float(opts.half_life_days),
        "hotspot_method": risk.method,
        "hotspot_set_id": _hotspot_set_id(hotspots),
        **_coverage(hot, unit_routes, risk),
        "unreachable": stops.unreachable,
        "dropped": dropped,
        "solver_status": result.status,
        "solver_time_limited": bool(result.time_limited),
        "notes": notes,
    }
    return PatrolPlan(
        ward_id=ward_id, shift=shift, mode=opts.mode, units=unit_routes, hotspots=hot, risk=risk,
        summary=summary, network=network,
    )
