"""Street networks for patrol routing: travel times per mode and shortest paths.

A :class:`TravelNetwork` wraps an OSM street graph (``networkx.MultiDiGraph`` with osmnx
attributes, EPSG:4326) for one travel mode:

* ``foot`` walks at 4.5 km/h on every way, in both directions (one-way tags bind vehicles only);
* ``motorbike`` and ``car`` use the ways open to motor traffic (cars not the ``service`` alleys),
  respect ``oneway`` (the graph's direction), and drive at the ``maxspeed`` tag or a default speed
  per highway class, capped by an urban patrol speed (:data:`URBAN_SPEED_CAP_KMH`).

Shortest paths run Dijkstra (``scipy.sparse.csgraph``) from the needed sources only. When there
is no street network, :class:`StraightLineNetwork` gives haversine distance times a detour factor.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree
from shapely.geometry import LineString

from ward_geo.errors import InputError, ParameterError

__all__ = [
    "MODES",
    "FOOT_SPEED_KMH",
    "URBAN_SPEED_CAP_KMH",
    "HIGHWAY_SPEED_KMH",
    "DETOUR_FACTOR",
    "CAR_EXCLUDED_HIGHWAYS",
    "edge_speed_kmh",
    "STRAIGHT_LINE_SPEED_KMH",
    "TravelNetwork",
    "StraightLineNetwork",
    "load_graph",
    "haversine_m",
]

#: Travel modes understood by the planner.
MODES: tuple[str, ...] = ("foot", "motorbike", "car")
#: Walking patrol speed.
FOOT_SPEED_KMH = 4.5
#: Upper bound of the patrol speed of vehicles in the inner city (km/h), whatever the tags say.
URBAN_SPEED_CAP_KMH: dict[str, float] = {"motorbike": 35.0, "car": 30.0}
#: Default vehicle speed per OSM highway class when the way has no ``maxspeed`` tag (km/h).
HIGHWAY_SPEED_KMH: dict[str, float] = {
    "motorway": 60.0,
    "trunk": 50.0,
    "primary": 40.0,
    "secondary": 35.0,
    "tertiary": 30.0,
    "unclassified": 25.0,
    "residential": 25.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 20.0,
}
#: Highway classes closed to motor vehicles.
NON_MOTOR_HIGHWAYS = frozenset(
    {"footway", "steps", "path", "pedestrian", "cycleway", "bridleway", "corridor", "elevator", "track", "platform"}
)
#: Highway classes a patrol car does not use: narrow alleys (ngõ, ngách) are mostly mapped as
#: ``service`` in Hanoi, where motorbikes pass and cars do not.
CAR_EXCLUDED_HIGHWAYS = frozenset({"service"})
#: Extra distance of real streets over the straight line in the no-network fallback.
DETOUR_FACTOR = 1.3
#: Average speeds used with straight-line travel (km/h).
STRAIGHT_LINE_SPEED_KMH: dict[str, float] = {"foot": FOOT_SPEED_KMH, "motorbike": 20.0, "car": 15.0}

_EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> np.ndarray:
    """Great-circle distance in metres (broadcasting over arrays)."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2.0) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2.0) ** 2
    metres: np.ndarray = 2.0 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return metres


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ParameterError(f"mode {mode!r} is not a travel mode; expected one of {', '.join(MODES)}")
    return mode


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _highway(data: dict[str, Any]) -> str:
    value = data.get("highway")
    if isinstance(value, list):
        # a simplified edge spanning several classes: the slowest one governs
        return str(min(value, key=lambda h: HIGHWAY_SPEED_KMH.get(str(h).removesuffix("_link"), 20.0)))
    return str(value) if value is not None else "road"


def _maxspeed_kmh(value: Any) -> float | None:
    values = value if isinstance(value, list) else [value]
    speeds = []
    for item in values:
        if item is None:
            continue
        match = re.match(r"\s*(\d+(?:\.\d+)?)\s*(mph)?", str(item))
        if match:
            speed = float(match.group(1)) * (1.609344 if match.group(2) else 1.0)
            if speed > 0:
                speeds.append(speed)
    return min(speeds) if speeds else None


def edge_speed_kmh(data: dict[str, Any], mode: str) -> float | None:
    """Patrol speed on an edge for ``mode`` in km/h, or ``None`` when the mode may not use it."""
    if mode == "foot":
        return FOOT_SPEED_KMH
    highway = _highway(data)
    if highway in NON_MOTOR_HIGHWAYS:
        return None
    access = _first(data.get("access"))
    if access in {"no", "private"} or _first(data.get("motor_vehicle")) == "no":
        return None
    if mode == "car" and (_first(data.get("motorcar")) == "no" or highway in CAR_EXCLUDED_HIGHWAYS):
        return None
    speed = _maxspeed_kmh(data.get("maxspeed")) or HIGHWAY_SPEED_KMH.get(highway.removesuffix("_link"), 20.0)
    return min(speed, URBAN_SPEED_CAP_KMH[mode])


def load_graph(path: str | Path | None = None, *, cache: bool = True) -> nx.MultiDiGraph:
    """Load a street graph from an OSM XML file (default: the shared central-Hanoi extract).

    Thin wrapper over :func:`ward_geo.streets.load_street_graph` with ``network_type="all"``
    (every way as mapped, one-way streets one-way); :class:`TravelNetwork` then keeps the
    ways and directions that the travel mode may use.

    Parameters
    ----------
    path : str or Path, optional
        An ``.osm`` file. Default: ``streets/hanoi_center_2023-12-13.osm`` in the reference data.
    cache : bool
        Reuse the parsed graph cached under the settings' cache folder.

    Returns
    -------
    networkx.MultiDiGraph
        Unprojected (EPSG:4326) street graph.
    """
    from ward_geo.streets import load_street_graph

    return load_street_graph(path, network_type="all", cache=cache)


@dataclass
class TravelNetwork:
    """A street graph prepared for one travel mode.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        Unprojected street graph (node attributes ``x`` lon, ``y`` lat; edge ``length`` in
        metres, optional ``geometry``, ``highway``, ``maxspeed``).
    mode : {"foot", "motorbike", "car"}
        Travel mode.
    """

    graph: nx.MultiDiGraph
    mode: str = "foot"
    nodes: np.ndarray = field(init=False, repr=False)
    lonlat: np.ndarray = field(init=False, repr=False)
    matrix: sparse.csr_matrix = field(init=False, repr=False)
    _edge_of: dict[tuple[int, int], tuple[Any, Any, Any, bool]] = field(init=False, repr=False)
    _len_of: dict[tuple[int, int], float] = field(init=False, repr=False)
    _tree: cKDTree = field(init=False, repr=False)
    _xy: np.ndarray = field(init=False, repr=False)
    _usable: np.ndarray = field(init=False, repr=False)
    _scale: np.ndarray = field(init=False, repr=False)

    uses_network = True

    def __post_init__(self) -> None:
        _check_mode(self.mode)
        if self.graph.number_of_nodes() == 0:
            raise InputError("the street network has no nodes")
        crs = str(self.graph.graph.get("crs", "epsg:4326")).lower()
        if crs not in {"epsg:4326", "wgs84", "+proj=longlat +datum=wgs84 +no_defs"}:
            raise InputError(f"the street graph must be unprojected (EPSG:4326); its CRS is {crs}")
        self.nodes = np.array(list(self.graph.nodes), dtype=object)
        index = {n: i for i, n in enumerate(self.nodes)}
        self.lonlat = np.array(
            [(float(d["x"]), float(d["y"])) for _, d in self.graph.nodes(data=True)], dtype=float
        )
        best: dict[tuple[int, int], tuple[float, float, tuple[Any, Any, Any, bool]]] = {}
        both_ways = self.mode == "foot"
        for u, v, k, data in self.graph.edges(keys=True, data=True):
            if u == v:
                continue
            speed = edge_speed_kmh(data, self.mode)
            if speed is None:
                continue
            length = float(data.get("length", 0.0) or 0.0)
            if not math.isfinite(length) or length <= 0:
                a, b = self.lonlat[index[u]], self.lonlat[index[v]]
                length = float(haversine_m(a[0], a[1], b[0], b[1]))
            seconds = length / (speed / 3.6)
            pairs = [((index[u], index[v]), False)]
            if both_ways:
                pairs.append(((index[v], index[u]), True))
            for key, reverse in pairs:
                if key not in best or seconds < best[key][0]:
                    best[key] = (seconds, length, (u, v, k, reverse))
        if not best:
            raise InputError(f"the street network has no ways usable on {self.mode}")
        rows = np.fromiter((p[0] for p in best), dtype=np.int64, count=len(best))
        cols = np.fromiter((p[1] for p in best), dtype=np.int64, count=len(best))
        secs = np.fromiter((b[0] for b in best.values()), dtype=float, count=len(best))
        n = len(self.nodes)
        # zero-cost edges would vanish from a sparse matrix: keep a tiny positive cost
        self.matrix = sparse.csr_matrix((np.maximum(secs, 1e-6), (rows, cols)), shape=(n, n))
        self._edge_of = {key: b[2] for key, b in best.items()}
        self._len_of = {key: b[1] for key, b in best.items()}
        usable = np.zeros(n, dtype=bool)
        usable[rows] = True
        usable[cols] = True
        self._usable = np.flatnonzero(usable)
        lat0 = float(np.mean(self.lonlat[:, 1]))
        self._scale = np.array([math.cos(math.radians(lat0)) * 111_320.0, 110_540.0])
        self._xy = self.lonlat * self._scale
        self._tree = cKDTree(self._xy[self._usable])

    # ------------------------------------------------------------------ queries
    @property
    def usable_nodes(self) -> np.ndarray:
        """Indices of the nodes that touch at least one edge usable by the mode."""
        return self._usable

    @property
    def description(self) -> str:
        """What the travel times are computed on (for the plan's summary)."""
        return f"street network ({self.graph.number_of_nodes()} nodes, {self.mode})"

    def nearest(self, lon: float, lat: float, candidates: np.ndarray | None = None) -> tuple[int, float]:
        """Index of the nearest usable node (optionally among ``candidates``) and its distance (m)."""
        point = np.array([lon, lat]) * self._scale
        if candidates is None:
            dist, pos = self._tree.query(point)
            return int(self._usable[pos]), float(dist)
        if len(candidates) == 0:
            return -1, math.inf
        d = np.hypot(*(self._xy[candidates] - point).T)
        pos = int(np.argmin(d))
        return int(candidates[pos]), float(d[pos])

    def nodes_within(self, lon: float, lat: float, radius_m: float) -> np.ndarray:
        """Usable node indices within ``radius_m`` of a point."""
        point = np.array([lon, lat]) * self._scale
        within: np.ndarray = self._usable[self._tree.query_ball_point(point, radius_m)]
        return within

    def reachable_both_ways(self, source: int) -> np.ndarray:
        """Boolean mask of nodes reachable from ``source`` and able to return to it."""
        forward = csgraph.breadth_first_order(self.matrix, source, directed=True, return_predecessors=False)
        backward = csgraph.breadth_first_order(
            self.matrix.T.tocsr(), source, directed=True, return_predecessors=False
        )
        mask = np.zeros(len(self.nodes), dtype=bool)
        mask[np.intersect1d(forward, backward)] = True
        return mask

    def travel(self, sources: list[int], targets: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Shortest travel times (s) from each source to each target, plus predecessors.

        Returns
        -------
        seconds : ndarray (len(sources), len(targets))
            ``inf`` where a target cannot be reached.
        predecessors : ndarray (len(sources), n_nodes)
            Dijkstra predecessor rows for :meth:`path`.
        """
        uniq = sorted(set(sources))
        dist, pred = csgraph.dijkstra(self.matrix, directed=True, indices=uniq, return_predecessors=True)
        row = {s: i for i, s in enumerate(uniq)}
        idx = [row[s] for s in sources]
        return dist[idx][:, targets], pred[idx]

    @staticmethod
    def path(pred_row: np.ndarray, source: int, target: int) -> list[int]:
        """Node indices of the shortest path from ``source`` to ``target``."""
        if source == target:
            return [source]
        out = [target]
        node = target
        while node != source:
            node = int(pred_row[node])
            if node < 0:
                raise ValueError("target not reachable")
            out.append(node)
        return out[::-1]

    def path_length(self, path: list[int]) -> float:
        """Length in metres of a path of node indices."""
        return float(sum(self._len_of[(a, b)] for a, b in zip(path[:-1], path[1:], strict=False)))

    def path_coords(self, path: list[int]) -> list[tuple[float, float]]:
        """Lon/lat vertices of a node path, following each edge's geometry."""
        coords: list[tuple[float, float]] = [tuple(self.lonlat[path[0]])]
        for a, b in zip(path[:-1], path[1:], strict=False):
            u, v, k, reverse = self._edge_of[(a, b)]
            geom = self.graph.edges[u, v, k].get("geometry")
            if isinstance(geom, LineString):
                pts = list(geom.coords)
                if reverse:
                    pts = pts[::-1]
                # orient the geometry from a to b whatever way it was digitised
                start = np.array(pts[0])
                if np.hypot(*(start - self.lonlat[a])) > np.hypot(*(np.array(pts[-1]) - self.lonlat[a])):
                    pts = pts[::-1]
                pts = [(float(x), float(y)) for x, y in pts]
            else:
                pts = [tuple(self.lonlat[a]), tuple(self.lonlat[b])]
            pts[0] = tuple(self.lonlat[a])
            pts[-1] = tuple(self.lonlat[b])
            coords.extend(pts[1:])
        return coords

    def node_id(self, index: int) -> Any:
        """The graph's node id (OSM id) of a node index."""
        return self.nodes[index].item() if hasattr(self.nodes[index], "item") else self.nodes[index]


@dataclass
class StraightLineNetwork:
    """No-network fallback: straight-line distance times :data:`DETOUR_FACTOR` at a mode speed.

    Parameters
    ----------
    mode : {"foot", "motorbike", "car"}
        Travel mode (sets the average speed, :data:`STRAIGHT_LINE_SPEED_KMH`).
    reason : str
        Why no street network is used (reported in the plan).
    """

    mode: str = "foot"
    reason: str = "no street network given"
    uses_network = False

    def __post_init__(self) -> None:
        _check_mode(self.mode)

    @property
    def description(self) -> str:
        """What the travel times are estimated from (for the plan's summary)."""
        return (
            f"straight-line fallback (haversine x {DETOUR_FACTOR} at "
            f"{STRAIGHT_LINE_SPEED_KMH[self.mode]:g} km/h): {self.reason}"
        )

    def travel_lonlat(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Travel seconds and metres between every pair of lon/lat ``points``."""
        lon, lat = points[:, 0], points[:, 1]
        metres = haversine_m(lon[:, None], lat[:, None], lon[None, :], lat[None, :]) * DETOUR_FACTOR
        seconds = metres / (STRAIGHT_LINE_SPEED_KMH[self.mode] / 3.6)
        return seconds, metres

