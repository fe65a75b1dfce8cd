"""How good is a patrol plan? Hits of held-out incidents near its stops, against a baseline.

:func:`evaluate_patrol` holds out the last ``holdout_weeks`` weeks of incidents, plans the shift
on the earlier ones, and counts the share of the held-out incidents of the shift (same hours
and weekday, same ward) that happened within ``radius_m`` of a stop. The baseline puts the same
number of stops at the busiest street segments: the segments (undirected street edges usable by
the mode) with most earlier incidents of the shift's hours snapped to them, by raw count (no
weights, no clustering), each stop at the segment's midpoint. Without a street network the
baseline uses the busiest 100 m grid cells instead.

Both are also reported per patrol-hour (the share divided by ``units x shift hours``), so plans
with different unit counts or shift lengths compare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ward_geo.errors import InputError, ParameterError
from ward_geo.planning.network import TravelNetwork, edge_speed_kmh
from ward_geo.planning.risk import shift_incidents
from ward_geo.planning.schedule import PatrolPlan
from ward_geo.projection import metric_crs_for_bounds
from ward_geo.schema import WGS84

__all__ = ["PatrolEvaluation", "evaluate_stops", "busiest_segment_stops", "evaluate_patrol"]

#: Grid cell of the no-network baseline (metres).
BASELINE_CELL_M = 100.0


@dataclass
class PatrolEvaluation:
    """Result of :func:`evaluate_patrol`.

    Attributes
    ----------
    plan : PatrolPlan
        The plan made on the training period.
    cutoff : pandas.Timestamp
        Start of the held-out period (UTC).
    radius_m : float
    n_train, n_test : int
        Training incidents (all of the ward) and held-out incidents of the shift.
    patrol_hours : float
        ``units x shift hours``.
    plan_share, baseline_share : float
        Share of held-out shift incidents within ``radius_m`` of a stop.
    stops : int
        Distinct stop locations (the baseline gets as many).
    baseline : str
        How the baseline stops were chosen.
    """

    plan: PatrolPlan
    cutoff: pd.Timestamp
    radius_m: float
    n_train: int
    n_test: int
    patrol_hours: float
    plan_share: float
    baseline_share: float
    stops: int
    baseline: str
    baseline_points: list[tuple[float, float]] = field(default_factory=list)

    @property
    def plan_per_patrol_hour(self) -> float:
        """Share of test incidents near the plan's stops per patrol hour."""
        return self.plan_share / self.patrol_hours if self.patrol_hours else 0.0

    @property
    def baseline_per_patrol_hour(self) -> float:
        """Share of test incidents near the baseline's stops per patrol hour."""
        return self.baseline_share / self.patrol_hours if self.patrol_hours else 0.0

    @property
    def ratio(self) -> float | None:
        """Plan share / baseline share (``None`` when the baseline hits nothing)."""
        return self.plan_share / self.baseline_share if self.baseline_share > 0 else None

    def to_dict(self) -> dict[str, Any]:
        """The evaluation as JSON-ready values (shares rounded)."""
        return {
            "ward_id": self.plan.ward_id,
            "cutoff": self.cutoff.isoformat(),
            "radius_m": self.radius_m,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "stops": self.stops,
            "patrol_hours": round(self.patrol_hours, 2),
            "plan_share": round(self.plan_share, 4),
            "baseline_share": round(self.baseline_share, 4),
            "plan_share_per_patrol_hour": round(self.plan_per_patrol_hour, 5),
            "baseline_share_per_patrol_hour": round(self.baseline_per_patrol_hour, 5),
            "ratio": None if self.ratio is None else round(self.ratio, 3),
            "baseline": self.baseline,
        }


def evaluate_stops(
    points: list[tuple[float, float]] | np.ndarray, incidents: gpd.GeoDataFrame, radius_m: float
) -> float:
    """Share of ``incidents`` within ``radius_m`` of any of ``points`` (lon, lat).

    Returns 0.0 when there are no incidents or no points.
    """
    if not radius_m > 0:
        raise ParameterError(f"radius_m must be > 0; got {radius_m!r}")
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    if len(incidents) == 0 or len(pts) == 0:
        return 0.0
    from scipy.spatial import cKDTree

    crs = metric_crs_for_bounds(tuple(incidents.to_crs(WGS84).total_bounds))
    inc = incidents.to_crs(crs)
    stops = gpd.GeoSeries(gpd.points_from_xy(pts[:, 0], pts[:, 1]), crs=WGS84).to_crs(crs)
    tree = cKDTree(np.column_stack([stops.x, stops.y]))
    dist, _ = tree.query(np.column_stack([inc.geometry.x, inc.geometry.y]))
    return float(np.mean(dist <= radius_m))


def busiest_segment_stops(
    incidents: gpd.GeoDataFrame, k: int, network: Any
) -> tuple[list[tuple[float, float]], str]:
    """``k`` baseline stops at the street segments (or grid cells) with most incidents.

    Parameters
    ----------
    incidents : GeoDataFrame
        Training incidents (raw counts).
    k : int
        Number of stops.
    network : TravelNetwork or StraightLineNetwork
        The plan's network (segments usable by its mode).

    Returns
    -------
    (list of (lon, lat), str)
        The stops and a description of the baseline.
    """
    if k <= 0 or len(incidents) == 0:
        return [], "no baseline stops"
    crs = metric_crs_for_bounds(tuple(incidents.to_crs(WGS84).total_bounds))
    inc = incidents.to_crs(crs)
    if isinstance(network, TravelNetwork):
        from ward_geo.streets import street_edges

        edges = street_edges(network.graph)
        usable = [edge_speed_kmh(network.graph.edges[u, v, key], network.mode) is not None
                  for u, v, key in zip(edges["u"], edges["v"], edges["key"], strict=True)]
        edges = edges[np.array(usable, dtype=bool)]
        pair = [tuple(sorted((int(u), int(v)))) for u, v in zip(edges["u"], edges["v"], strict=True)]
        edges = edges.assign(segment=[f"{a}-{b}" for a, b in pair]).drop_duplicates("segment")
        bounds = inc.total_bounds
        edges_m = edges.to_crs(crs).cx[bounds[0] - 200 : bounds[2] + 200, bounds[1] - 200 : bounds[3] + 200]
        joined = gpd.sjoin_nearest(inc[["geometry"]], edges_m[["segment", "geometry"]], how="left")
        joined = joined[~joined.index.duplicated(keep="first")]
        counts = joined["segment"].value_counts()
        counts = counts.sort_index(kind="mergesort").sort_values(ascending=False, kind="mergesort")
        top = edges_m.set_index("segment").loc[counts.index[:k]]
        mids = top.geometry.interpolate(0.5, normalized=True).to_crs(WGS84)
        return [(float(p.x), float(p.y)) for p in mids], (
            f"{k} busiest street segments by raw incident count (midpoints)"
        )
    cells = np.floor(np.column_stack([inc.geometry.x, inc.geometry.y]) / BASELINE_CELL_M).astype(np.int64)
    frame = pd.DataFrame(cells, columns=["cx", "cy"]).value_counts().reset_index(name="n")
    frame = frame.sort_values(["n", "cx", "cy"], ascending=[False, True, True], kind="mergesort").head(k)
    centres = gpd.GeoSeries(
        gpd.points_from_xy((frame["cx"] + 0.5) * BASELINE_CELL_M, (frame["cy"] + 0.5) * BASELINE_CELL_M), crs=crs
    ).to_crs(WGS84)
    return [(float(p.x), float(p.y)) for p in centres], (
        f"{k} busiest {BASELINE_CELL_M:g} m grid cells by raw incident count (no street network)"
    )


def evaluate_patrol(
    incidents: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame,
    ward_id: str,
    *,
    holdout_weeks: int = 8,
    radius_m: float = 100.0,
    **plan_kwargs: Any,
) -> PatrolEvaluation:
    """Plan on all but the last ``holdout_weeks`` weeks and score the plan on those weeks.

    Parameters
    ----------
    incidents, boundaries, ward_id
        As for :func:`ward_geo.planning.plan_patrol`.
    holdout_weeks : int
        Weeks at the end of the data held out for scoring.
    radius_m : float
        An incident counts as covered within this distance of a stop.
    **plan_kwargs
        Passed to :func:`ward_geo.planning.plan_patrol` (shift, units, mode, graph, seed...).

    Returns
    -------
    PatrolEvaluation
    """
    from ward_geo.planning.plan import plan_patrol

    if not (isinstance(holdout_weeks, int) and holdout_weeks >= 1):
        raise ParameterError(f"holdout_weeks must be an integer >= 1; got {holdout_weeks!r}")
    if not radius_m > 0:
        raise ParameterError(f"radius_m must be > 0; got {radius_m!r}")
    times = pd.to_datetime(incidents["occurred_at"], utc=True)
    if times.notna().sum() == 0:
        raise InputError("incidents have no occurred_at times to hold out")
    cutoff = times.max() - pd.Timedelta(weeks=holdout_weeks)
    train = incidents[(times < cutoff).to_numpy()]
    test = incidents[(times >= cutoff).to_numpy()]
    if len(train) == 0:
        raise InputError(f"no incidents before the held-out {holdout_weeks} weeks (from {cutoff:%Y-%m-%d})")
    plan = plan_patrol(train, boundaries, ward_id, **plan_kwargs)
    test_shift, _ = shift_incidents(test, boundaries, ward_id, plan.shift)
    train_shift, _ = shift_incidents(train, boundaries, ward_id, plan.shift)
    points = sorted({(s.lon, s.lat) for s in plan.stops})
    base_points, base_desc = busiest_segment_stops(train_shift, len(points), plan.network)
    patrol_hours = len(plan.units) * plan.shift.minutes / 60.0
    return PatrolEvaluation(
        plan=plan,
        cutoff=cutoff,
        radius_m=float(radius_m),
        n_train=int(len(train)),
        n_test=int(len(test_shift)),
        patrol_hours=patrol_hours,
        plan_share=evaluate_stops(points, test_shift, radius_m),
        baseline_share=evaluate_stops(base_points, test_shift, radius_m),
        stops=len(points),
        baseline=base_desc,
        baseline_points=base_points,
    )
