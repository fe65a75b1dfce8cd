"""Multi-unit patrol routing with Google OR-Tools.

The visits become a vehicle routing problem with time windows: every unit starts and ends at
the station, the time dimension adds each leg's travel time and the dwell at the stop it
leaves, the horizon is the shift, and each visit may be dropped at a penalty proportional to
the risk it stands for (optional: without dropping, a plan that cannot fit is an error).

Search: ``PATH_CHEAPEST_ARC`` for the first solution (deterministic) improved by guided local
search, stopped by a solution limit or a branch limit (both deterministic) with a wall-clock
time limit as a guard.
The seed makes the order unpredictable between seeds and reproducible for one seed: it
perturbs the arc costs by up to :data:`ORDER_JITTER` and shuffles the order in which the
visits enter the model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ward_geo.errors import ParameterError

__all__ = ["ORDER_JITTER", "RouteResult", "solve_routes"]

#: Largest relative perturbation of arc costs drawn from the seed.
ORDER_JITTER = 0.15
#: Penalty (in cost units = seconds) for dropping a visit worth the whole shift's risk.
PENALTY_SCALE = 10_000_000
#: Least penalty of any visit: dropping one must cost more than a long detour.
PENALTY_FLOOR = 7_200


@dataclass
class RouteResult:
    """Solved routes.

    Attributes
    ----------
    routes : list of list of (int, int)
        Per unit, the visited nodes (matrix indices, station excluded) with their arrival
        (start of dwell) in seconds from the shift's start.
    end_s : list of int
        Per unit, when it is back at the station.
    dropped : list of int
        Matrix indices of visits left out.
    objective : int
    status : str
        OR-Tools search status (``success``, ``partial_success_local_optimum_not_reached``...).
    time_limited : bool
        The wall-clock limit stopped the search before the solution limit: the result may
        differ between runs on machines of different speed.
    """

    routes: list[list[tuple[int, int]]]
    end_s: list[int]
    dropped: list[int]
    objective: int
    status: str
    time_limited: bool = False


def solve_routes(  # noqa: PLR0913 - public function; its keywords are the documented contract
    travel_s: np.ndarray,
    dwell_s: np.ndarray,
    windows: list[tuple[int, int]],
    values: np.ndarray,
    *,
    units: int,
    horizon_s: int,
    seed: int = 0,
    allow_drop: bool = True,
    time_limit_s: float = 5.0,
    solution_limit: int = 200,
    branch_limit: int = 200_000,
) -> RouteResult:
    """Solve the patrol routing problem.

    Parameters
    ----------
    travel_s : ndarray (n, n)
        Travel seconds between nodes; node 0 is the station. Must be finite.
    dwell_s : ndarray (n,)
        Dwell seconds at each node (0 at the station).
    windows : list of (int, int)
        Arrival window of each node in seconds from the shift's start (node 0 ignored).
    values : ndarray (n,)
        Risk value of each visit (dropping penalty proportional to it).
    units : int
        Number of patrol units (vehicles).
    horizon_s : int
        Shift length in seconds: every unit is back at the station by then.
    seed : int
        Seed of the order perturbation.
    allow_drop : bool
        Allow leaving out visits (at a penalty). When False and the visits do not fit, a
        :class:`ParameterError` is raised.
    time_limit_s : float
        Wall-clock guard of the search.
    solution_limit : int
        Number of solutions the local search may find before stopping (keeps results
        deterministic when the time limit is not reached).
    branch_limit : int
        Search branches before stopping (deterministic; ends searches that find few solutions).

    Returns
    -------
    RouteResult
    """
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(travel_s)
    if units < 1:
        raise ParameterError(f"units must be >= 1; got {units}")
    if time_limit_s <= 0:
        raise ParameterError(f"time_limit_s must be > 0; got {time_limit_s}")
    if n <= 1:
        return RouteResult([[] for _ in range(units)], [0] * units, [], 0, "no stops")
    rng = np.random.default_rng(seed)
    # model order: visits shuffled by the seed; position p in the model is node order[p]
    order = np.concatenate([[0], 1 + rng.permutation(n - 1)])
    travel = np.ceil(np.asarray(travel_s, dtype=float)[np.ix_(order, order)]).astype(np.int64)
    dwell = np.asarray(dwell_s, dtype=np.int64)[order]
    jitter = 1.0 + ORDER_JITTER * rng.uniform(-1.0, 1.0, size=travel.shape)
    cost = np.ceil(travel * jitter).astype(np.int64)
    manager = pywrapcp.RoutingIndexManager(n, units, 0)
    routing = pywrapcp.RoutingModel(manager)
    # matrices evaluated inside the solver (no Python callback per arc)
    time_idx = routing.RegisterTransitMatrix((travel + dwell[:, None]).tolist())
    cost_idx = routing.RegisterTransitMatrix(cost.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(cost_idx)
    routing.AddDimension(time_idx, int(horizon_s), int(horizon_s), True, "time")
    dim = routing.GetDimensionOrDie("time")
    for pos in range(1, n):
        node = int(order[pos])
        lo, hi = windows[node]
        index = manager.NodeToIndex(pos)
        dim.CumulVar(index).SetRange(int(max(0, lo)), int(min(hi, horizon_s)))
        if allow_drop:
            penalty = int(PENALTY_FLOOR + PENALTY_SCALE * float(values[node]))
            routing.AddDisjunction([index], penalty)
    for v in range(units):
        dim.CumulVar(routing.End(v)).SetRange(0, int(horizon_s))
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.solution_limit = int(solution_limit)
    params.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    # a deterministic guard for tiny models, where local search finds too few solutions to
    # reach the solution limit and would otherwise run until the wall-clock limit
    never = 2**62
    routing.AddSearchMonitor(routing.solver().Limit(int(time_limit_s * 1000), int(branch_limit), never, never))
    started = time.perf_counter()
    solution = routing.SolveWithParameters(params)
    time_limited = time.perf_counter() - started >= 0.95 * time_limit_s
    if solution is None:
        if allow_drop:
            raise ParameterError("the routing solver found no plan within the shift (is the shift long enough?)")
        raise ParameterError(
            "not every visit fits in the shift; allow dropping low-value stops, add units or shorten dwell times"
        )
    routes: list[list[tuple[int, int]]] = []
    ends: list[int] = []
    visited: set[int] = set()
    for v in range(units):
        index = routing.Start(v)
        stops: list[tuple[int, int]] = []
        index = solution.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            node = int(order[manager.IndexToNode(index)])
            stops.append((node, int(solution.Min(dim.CumulVar(index)))))
            visited.add(node)
            index = solution.Value(routing.NextVar(index))
        routes.append(stops)
        ends.append(int(solution.Min(dim.CumulVar(index))))
    dropped = [i for i in range(1, n) if i not in visited]
    status = routing_enums_pb2.RoutingSearchStatus.Value.Name(int(routing.status()))
    status = status.removeprefix("ROUTING_").lower()
    return RouteResult(routes, ends, dropped, int(solution.ObjectiveValue()), status, time_limited)
