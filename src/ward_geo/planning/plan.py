"""Plan a patrol shift: risk -> stops -> routes on the streets -> :class:`PatrolPlan`."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from ward_geo.errors import ConfigurationError, InputError, ParameterError
from ward_geo.planning.network import DETOUR_FACTOR, MODES, StraightLineNetwork, TravelNetwork, haversine_m, load_graph
from ward_geo.planning.risk import DEFAULT_HALF_LIFE_DAYS, parse_shift, shift_risk, ward_geometry
from ward_geo.planning.routing import solve_routes
from ward_geo.planning.schedule import PatrolPlan, PlannedStop, UnitRoute
from ward_geo.planning.stops import DEFAULT_DWELL_MINUTES, Visit, plan_visits

__all__ = ["plan_patrol", "DEFAULT_MAX_SNAP_M", "DEFAULT_MAX_HOTSPOTS"]

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
            f"graph must be a networkx MultiDiGraph, the path of an .osm file, None or False; got {type(graph).__name__}"
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
    return network.usable_nodes[usable_labels == biggest]


def _reason(row: pd.Series) -> dict[str, Any]:
    return {
        "categories": dict(row["category_counts"]),
        "dominant_category": row["dominant_category"],
        "n_incidents": int(row["n_incidents"]),
        "trend": row["trend"],
        "priority": row["priority"],
        "risk_share": round(float(row["risk_share"]), 4),
    }


def plan_patrol(
    incidents: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame,
    ward_id: str,
    *,
    shift_start: str | dt.time = "08:00",
    shift_end: str | dt.time = "16:00",
    date: str | dt.date | None = None,
    weekday: int | str | None = None,
    units: int = 1,
    mode: str = "foot",
    graph: nx.MultiDiGraph | str | Path | bool | None = None,
    start_point: tuple[float, float] | None = None,
    seed: int = 0,
    time_limit_s: float = 5.0,
    solution_limit: int = 200,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    category_weights: dict[str, float] | None = None,
    dwell_minutes: tuple[float, float] = DEFAULT_DWELL_MINUTES,
    revisit_gap_minutes: dict[str, float] | float | None = None,
    allow_drop: bool = True,
    max_hotspots: int = DEFAULT_MAX_HOTSPOTS,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    eps: float | None = None,
    min_samples: int | None = None,
    timezone: str | None = None,
    hotspots: gpd.GeoDataFrame | None = None,
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
    shift_start, shift_end : str
        ``HH:MM`` local times; a shift ending at or before its start ends the next day.
    date, weekday : optional
        The date of the shift (its weekday restricts the risk) or only a weekday; see
        :func:`ward_geo.planning.risk.parse_shift`.
    units : int
        Patrol units (vehicles) available.
    mode : {"foot", "motorbike", "car"}
        Travel mode.
    graph : networkx.MultiDiGraph, str, Path, None or False
        The street network: a graph, the path of an ``.osm`` file, ``None`` for the shared
        central-Hanoi extract, or ``False`` for straight-line travel. When no network is
        available, or it does not cover the ward, travel falls back to straight lines and the
        plan says so.
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
    hotspots : GeoDataFrame, optional
        The ward's hotspot set (:func:`ward_geo.workflows.ward_hotspot_set`): the plan visits
        those hotspots (same ids, ranks and names as the map and the report) and records the
        set id in its summary (``hotspot_set_id``).

    Returns
    -------
    PatrolPlan
    """
    problems = []
    if not isinstance(units, int | np.integer) or isinstance(units, bool) or units < 1 or units > 50:
        problems.append(f"units must be an integer 1-50; got {units!r}")
    if mode not in MODES:
        problems.append(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        problems.append(f"seed must be a non-negative integer; got {seed!r}")
    if not (isinstance(max_hotspots, int | np.integer) and max_hotspots >= 1):
        problems.append(f"max_hotspots must be an integer >= 1; got {max_hotspots!r}")
    if not (isinstance(max_snap_m, int | float) and max_snap_m > 0):
        problems.append(f"max_snap_m must be > 0 metres; got {max_snap_m!r}")
    if not (isinstance(time_limit_s, int | float) and time_limit_s > 0):
        problems.append(f"time_limit_s must be > 0 seconds; got {time_limit_s!r}")
    if not (isinstance(solution_limit, int | np.integer) and solution_limit >= 1):
        problems.append(f"solution_limit must be an integer >= 1; got {solution_limit!r}")
    if start_point is not None:
        try:
            lon0, lat0 = (float(v) for v in start_point)
            if not (-180 <= lon0 <= 180 and -90 <= lat0 <= 90):
                raise ValueError
        except (TypeError, ValueError):
            problems.append(f"start_point must be (lon, lat) in degrees; got {start_point!r}")
    if problems:
        raise ParameterError("invalid patrol parameters: " + "; ".join(problems), details={"problems": problems})
    if not isinstance(incidents, gpd.GeoDataFrame) or not isinstance(boundaries, gpd.GeoDataFrame):
        raise InputError("incidents and boundaries must be GeoDataFrames (read them with ward_geo.read_incidents)")
    shift = parse_shift(shift_start, shift_end, date=date, weekday=weekday, timezone=timezone)
    polygon = ward_geometry(boundaries, ward_id)
    risk = shift_risk(
        incidents, boundaries, ward_id, shift,
        half_life_days=half_life_days, category_weights=category_weights, eps=eps, min_samples=min_samples,
        hotspots=hotspots,
    )
    network = _resolve_network(graph, mode, polygon)
    horizon = shift.minutes * 60
    notes = list(risk.notes)
    hot = risk.hotspots
    offered = hot.iloc[: int(max_hotspots)].reset_index(drop=True)
    not_offered = [
        {"hotspot_id": h, "reason": f"beyond the {max_hotspots} riskiest hotspots offered to the router"}
        for h in hot["hotspot_id"].iloc[int(max_hotspots):]
    ]
    centres = offered[["centre_lon", "centre_lat"]].to_numpy(dtype=float).reshape(-1, 2)
    station_lonlat = (
        (float(start_point[0]), float(start_point[1]))
        if start_point is not None
        else (polygon.representative_point().x, polygon.representative_point().y)
    )

    unreachable: list[dict[str, Any]] = []
    stop_rows: list[int] = []  # rows of `offered` that got a stop
    stop_nodes: list[int] = []  # network node index per stop (network case)
    stop_points: list[tuple[float, float]] = []
    snap_m: list[float] = []
    station: dict[str, Any] = {"requested": list(station_lonlat)}
    pred = None
    if isinstance(network, TravelNetwork):
        main = _largest_strong_component(network)
        s_node, s_dist = network.nearest(*station_lonlat, candidates=main)
        reach = network.reachable_both_ways(s_node)
        station.update(
            lon=float(network.lonlat[s_node, 0]), lat=float(network.lonlat[s_node, 1]),
            node=network.node_id(s_node), snap_m=round(s_dist, 1),
        )
        for i, (lon, lat) in enumerate(centres):
            near_any, d_any = network.nearest(lon, lat)
            if reach[near_any] and d_any <= max_snap_m:
                node, dist = near_any, d_any
            else:
                close = network.nodes_within(lon, lat, max_snap_m)
                close = close[reach[close]] if len(close) else close
                if len(close):
                    node, dist = network.nearest(lon, lat, candidates=close)
                else:
                    node, dist = -1, math.inf
            if node < 0:
                if d_any > max_snap_m:
                    why = f"no {mode} street within {max_snap_m:g} m of the hotspot centre (nearest {d_any:.0f} m)"
                else:
                    why = (
                        f"the nearest street ({d_any:.0f} m) is not connected to the station on the {mode} "
                        f"network, and no connected street is within {max_snap_m:g} m"
                    )
                unreachable.append(
                    {
                        "hotspot_id": offered["hotspot_id"].iloc[i],
                        "lon": float(lon), "lat": float(lat), "reason": why,
                        "risk_share": float(offered["risk_share"].iloc[i]),
                    }
                )
                continue
            stop_rows.append(i)
            stop_nodes.append(int(node))
            stop_points.append((float(network.lonlat[node, 0]), float(network.lonlat[node, 1])))
            snap_m.append(float(dist))
        graph_nodes = [s_node, *stop_nodes]
        travel_nodes, pred = network.travel(graph_nodes, graph_nodes)
        if not np.isfinite(travel_nodes).all():  # pragma: no cover - excluded by reachable_both_ways
            raise InputError("street network: a stop is not reachable from the station in both directions")
    else:
        notes.append(f"travel times are straight-line estimates: {network.reason}")
        station.update(lon=station_lonlat[0], lat=station_lonlat[1], node=None, snap_m=0.0)
        for i, (lon, lat) in enumerate(centres):
            stop_rows.append(i)
            stop_points.append((float(lon), float(lat)))
            snap_m.append(0.0)
        travel_nodes, _ = network.travel_lonlat(np.array([station_lonlat, *stop_points], dtype=float).reshape(-1, 2))

    # ---- visits
    offered_stops = offered.iloc[stop_rows].reset_index(drop=True)
    between = travel_nodes[1:, 1:][~np.eye(len(stop_rows), dtype=bool)] if len(stop_rows) > 1 else travel_nodes[0, 1:]
    typical_travel_min = float(np.median(between)) / 60.0 if len(between) else 0.0
    visits: list[Visit] = plan_visits(
        offered_stops, shift.minutes, int(units), travel_minutes=typical_travel_min,
        access_minutes=np.ceil(travel_nodes[0, 1:]) / 60.0, return_minutes=np.ceil(travel_nodes[1:, 0]) / 60.0,
        dwell_minutes=dwell_minutes, revisit_gap_minutes=revisit_gap_minutes,
    )
    # matrix over model nodes: 0 = station, 1.. = visits (each at its hotspot's stop)
    loc = np.array([0] + [v.hotspot + 1 for v in visits], dtype=int)
    travel = travel_nodes[np.ix_(loc, loc)]
    dwell = np.array([0] + [v.dwell_s for v in visits], dtype=float)
    windows = [(0, horizon)] + [(v.earliest_s, v.latest_s) for v in visits]
    values = np.array([0.0] + [v.value for v in visits])
    result = solve_routes(
        travel, dwell, windows, values, units=int(units), horizon_s=horizon, seed=int(seed),
        allow_drop=allow_drop, time_limit_s=time_limit_s, solution_limit=solution_limit,
    )

    if result.time_limited:
        notes.append(
            f"the router's time limit ({time_limit_s:g} s) stopped the search before its solution limit; "
            "another run may give a different plan (raise time_limit_s for reproducible plans)"
        )

    # ---- assemble units
    unit_routes: list[UnitRoute] = []
    for u, (route, end_s) in enumerate(zip(result.routes, result.end_s, strict=True)):
        seq_loc = [0] + [int(loc[m]) for m, _ in route] + [0]
        coords: list[tuple[float, float]] = []
        distance = 0.0
        travel_s = 0.0
        for a, b in zip(seq_loc[:-1], seq_loc[1:], strict=True):
            travel_s += float(np.ceil(travel_nodes[a, b]))
            if isinstance(network, TravelNetwork):
                path = network.path(pred[a], graph_nodes[a], graph_nodes[b])
                leg = network.path_coords(path)
                distance += network.path_length(path)
            else:
                pa = station_lonlat if a == 0 else stop_points[a - 1]
                pb = station_lonlat if b == 0 else stop_points[b - 1]
                leg = [pa, pb]
                distance += float(haversine_m(pa[0], pa[1], pb[0], pb[1])) * DETOUR_FACTOR
            coords.extend(leg if not coords else leg[1:])
        if len(coords) == 1:
            coords.append(coords[0])
        stops = []
        for seq, (m, arrival_s) in enumerate(route, start=1):
            v = visits[m - 1]
            row = offered_stops.iloc[v.hotspot]
            lon, lat = stop_points[v.hotspot]
            stops.append(
                PlannedStop(
                    unit=u + 1,
                    sequence=seq,
                    hotspot_id=v.hotspot_id,
                    visit=v.visit + 1,
                    n_visits=v.n_visits,
                    arrival=shift.at(arrival_s),
                    arrival_s=arrival_s,
                    dwell_s=v.dwell_s,
                    lon=lon,
                    lat=lat,
                    node=network.node_id(stop_nodes[v.hotspot]) if isinstance(network, TravelNetwork) else None,
                    snap_m=round(snap_m[v.hotspot], 1),
                    risk=float(row["risk"]),
                    reason=_reason(row),
                )
            )
        dwell_total = float(sum(s.dwell_s for s in stops))
        unit_routes.append(
            UnitRoute(
                unit=u + 1, stops=stops, coords=coords, distance_m=distance, travel_s=travel_s,
                dwell_s=dwell_total, end_s=int(end_s), back_at=shift.at(end_s),
            )
        )
    dropped = [
        {
            "hotspot_id": visits[m - 1].hotspot_id,
            "visit": visits[m - 1].visit + 1,
            "reason": "did not fit in the shift (lowest value left out)",
        }
        for m in result.dropped
    ] + not_offered

    visited = sorted({s.hotspot_id for unit in unit_routes for s in unit.stops})
    visited_risk = float(hot.loc[hot["hotspot_id"].isin(visited), "risk"].sum()) if len(hot) else 0.0
    hot_risk = float(hot["risk"].sum()) if len(hot) else 0.0
    summary = {
        "ward_id": ward_id,
        **shift.to_dict(),
        "mode": mode,
        "units": int(units),
        "network": network.description,
        "uses_street_network": bool(network.uses_network),
        "fallback": None if network.uses_network else network.reason,
        "station": station,
        "seed": int(seed),
        "incidents_in_shift_hours": int(len(risk.incidents)),
        "incidents_without_exact_time": int(risk.excluded_imprecise),
        "half_life_days": float(half_life_days),
        "hotspot_method": risk.method,
        "hotspot_set_id": (str(hotspots["hotspot_set_id"].iloc[0])
                           if hotspots is not None and "hotspot_set_id" in hotspots.columns and len(hotspots)
                           else None),
        "hotspots": int(len(hot)),
        "hotspots_visited": len(visited),
        "stops": int(sum(len(u.stops) for u in unit_routes)),
        "distance_m": round(sum(u.distance_m for u in unit_routes), 1),
        "travel_minutes": round(sum(u.travel_s for u in unit_routes) / 60.0, 1),
        "dwell_minutes": round(sum(u.dwell_s for u in unit_routes) / 60.0, 1),
        "risk_covered_share": round(visited_risk / risk.total_risk, 4) if risk.total_risk > 0 else 0.0,
        "hotspot_risk_covered_share": round(visited_risk / hot_risk, 4) if hot_risk > 0 else 0.0,
        "unreachable": unreachable,
        "dropped": dropped,
        "solver_status": result.status,
        "solver_time_limited": bool(result.time_limited),
        "notes": notes,
    }
    return PatrolPlan(
        ward_id=ward_id, shift=shift, mode=mode, units=unit_routes, hotspots=hot, risk=risk,
        summary=summary, network=network,
    )

