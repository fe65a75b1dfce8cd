"""Where simulated incidents happen: street classes, anchors, snapping to streets.

:func:`build_context` turns the street graph, the bus stops and the ward polygons into a
:class:`StreetContext` in one metric CRS: each street segment once, its class (busy,
street, residential, alley, any), an R-tree per class, and per ward the anchors clusters
grow around (busy intersections, bus stops, activity centres, alleys, residential streets).
:func:`place_cluster` and :func:`place_background` draw points on those streets, snapped to
the nearest centreline, jittered a few metres and kept inside the wards.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from ward_geo.categories import normalize_term
from ward_geo.errors import InputError

__all__ = ["StreetContext", "build_context", "ward_of", "snap_to_street", "near_street", "place_cluster",
           "place_background"]

Points = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Placed points: x, y (metres), ward index and street segment index."""

_BUSY = frozenset({"trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link",
                   "tertiary", "tertiary_link"})
_ROADS = _BUSY | {"unclassified", "residential", "living_street", "service"}
_RESIDENTIAL = frozenset({"residential", "living_street", "service", "unclassified"})
_MINOR = frozenset({"service", "footway", "path", "residential", "living_street", "pedestrian", "steps",
                    "unclassified"})
_ALLEY_NAME = re.compile(r"^(ngo|ngach|hem|kiet)\b")
_ACTIVITY_NAME = re.compile(
    r"\b(cho|benh vien|ngan hang|toa nha|truong|dai hoc|hoc vien|sieu thi|plaza|tower|ga ha noi|ben xe|"
    r"vien|cong ty|tong cong ty|trung tam|nha hat|buu dien|vincom|khach san|ks|bo y te|bo giao thong|"
    r"bo tu phap|tap doan|rap chieu phim|thu vien|bao tang)\b"
)
_MAX_SNAP_M = 150.0
_JITTER_M = 2.5

@dataclass
class StreetContext:
    """Street network, anchors and ward polygons, all in one metric CRS."""

    crs: CRS
    wards: list[str]
    polygons: list[shapely.Geometry]
    edge_geom: np.ndarray
    edge_len: np.ndarray
    edge_name: np.ndarray
    edge_ward: np.ndarray
    edge_class: dict[str, np.ndarray]  # class -> boolean mask over edges
    trees: dict[str, tuple[shapely.STRtree, np.ndarray]]  # class -> (tree, edge indices)
    anchors: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]  # (kind, ward) -> (xy, weight)


@dataclass(frozen=True)
class _Streets:
    """Each street segment once, in metres: geometry, length, midpoint, ward, name, dead end."""

    edges: gpd.GeoDataFrame
    geom: np.ndarray
    length: np.ndarray
    mx: np.ndarray
    my: np.ndarray
    ward: np.ndarray
    names: np.ndarray
    folded: np.ndarray
    dead_end: np.ndarray


@dataclass(frozen=True)
class _Sites:
    """Points that anchors are chosen from (intersections or bus stops), in metres."""

    x: np.ndarray
    y: np.ndarray
    ward: np.ndarray
    mark: np.ndarray  # busy intersection / bus stop named after an activity centre
    weight: np.ndarray


def ward_of(polygons: list[shapely.Geometry], x: np.ndarray, y: np.ndarray) -> NDArray[np.int64]:
    """Index of the ward containing each point, -1 outside every ward."""
    out = np.full(len(x), -1, dtype=np.int64)
    for i, poly in enumerate(polygons):
        todo = out < 0
        if not todo.any():
            break
        hit = shapely.contains_xy(poly, x[todo], y[todo])
        out[np.flatnonzero(todo)[hit]] = i
    return out


def build_context(wards: gpd.GeoDataFrame, graph: nx.MultiDiGraph,
                  bus_stops: gpd.GeoDataFrame | None) -> StreetContext:
    """The street context of ``wards`` (EPSG:4326) on ``graph``; bus stops read around them when None.

    Raises
    ------
    InputError
        No street of the graph lies inside a ward, or ``bus_stops`` has no CRS.
    """
    from ward_geo.projection import metric_crs_for
    from ward_geo.streets import street_nodes

    crs = metric_crs_for(wards)
    wards_m = wards.to_crs(crs)
    polygons = list(wards_m.geometry)
    for poly in polygons:
        shapely.prepare(poly)
    ward_ids = list(wards_m["ward_id"])
    nodes = street_nodes(graph).set_index("osmid")
    streets = _unique_streets(graph, nodes, crs, polygons, ward_ids)
    classes, trees = _edge_classes(streets)
    junctions = _junctions(nodes, crs, polygons)
    stops = _bus_stops(wards, bus_stops, crs, polygons)
    commercial = np.array([f.startswith("pho hang ") or bool(re.search(r"\bcho\b", f)) for f in streets.folded])
    anchors: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
    for w in range(len(ward_ids)):
        anchors.update(_ward_anchors(w, polygons[w], streets, classes, junctions, stops, commercial))
    return StreetContext(crs, ward_ids, polygons, streets.geom, streets.length, streets.names, streets.ward,
                         classes, trees, anchors)


def _unique_streets(graph: nx.MultiDiGraph, nodes: gpd.GeoDataFrame, crs: CRS, polygons: list[shapely.Geometry],
                    ward_ids: list[str]) -> _Streets:
    """Each street segment once (a two-way street is (u, v) and (v, u) in the graph), in ``crs``."""
    from ward_geo.streets import street_edges

    edges = street_edges(graph)
    lo = np.minimum(edges["u"].to_numpy(), edges["v"].to_numpy())
    hi = np.maximum(edges["u"].to_numpy(), edges["v"].to_numpy())
    keep = ~pd.DataFrame({"a": lo, "b": hi, "k": edges["key"].to_numpy()}).duplicated().to_numpy()
    edges = edges.loc[keep].reset_index(drop=True)
    geom = edges.to_crs(crs).geometry.to_numpy()
    mid = shapely.line_interpolate_point(geom, 0.5, normalized=True)
    mx, my = shapely.get_x(mid), shapely.get_y(mid)
    edge_ward = ward_of(polygons, mx, my)
    if not (edge_ward >= 0).any():
        raise InputError(
            f"the street network has no streets inside ward(s) {', '.join(ward_ids)}; "
            "choose wards covered by the street extract (see CENTRAL_WARD_IDS)"
        )
    empty = [w for i, w in enumerate(ward_ids) if not (edge_ward == i).any()]
    if empty:
        raise InputError(f"no streets of the street network lie inside ward(s) {', '.join(empty)}")
    names = np.array([n if isinstance(n, str) else None for n in edges["name"].astype(object)], dtype=object)
    street_count = nodes["street_count"]
    dead_end = (edges["u"].map(street_count).to_numpy() <= 1) | (edges["v"].map(street_count).to_numpy() <= 1)
    return _Streets(
        edges=edges, geom=geom, length=shapely.length(geom), mx=mx, my=my, ward=edge_ward, names=names,
        folded=np.array([normalize_term(n) if n else "" for n in names], dtype=object), dead_end=dead_end,
    )


def _edge_classes(
    streets: _Streets,
) -> tuple[dict[str, np.ndarray], dict[str, tuple[shapely.STRtree, np.ndarray]]]:
    """Boolean masks of the street classes, and an R-tree per class (a class absent in the wards falls back)."""
    highway = streets.edges["highway"].astype(object).to_numpy()
    is_alley_name = np.array([bool(_ALLEY_NAME.match(f)) for f in streets.folded])
    is_minor = np.isin(highway, list(_MINOR))
    classes = {
        "busy": np.isin(highway, list(_BUSY)),
        "street": np.isin(highway, list(_ROADS)),
        "residential": np.isin(highway, list(_RESIDENTIAL)) | (is_minor & is_alley_name),
        "alley": is_minor & (is_alley_name | (streets.dead_end & (streets.length < 150.0))),
        "any": np.ones(len(streets.edges), dtype=bool),
    }
    inside = streets.ward >= 0
    trees: dict[str, tuple[shapely.STRtree, np.ndarray]] = {}
    for name, mask in classes.items():
        if not (mask & inside).any():
            classes[name] = classes["any"] if name != "busy" else classes["street"]
        idx = np.flatnonzero(classes[name])
        trees[name] = (shapely.STRtree(streets.geom[idx]), idx)
    return classes, trees


def _junctions(nodes: gpd.GeoDataFrame, crs: CRS, polygons: list[shapely.Geometry]) -> _Sites:
    """Street nodes; busy intersections marked, weighted by how many and how big streets meet."""
    nodes_m = nodes.to_crs(crs)
    x, y = nodes_m.geometry.x.to_numpy(), nodes_m.geometry.y.to_numpy()
    rank = nodes_m["highway_rank"].to_numpy()
    count = nodes_m["street_count"].to_numpy()
    return _Sites(x=x, y=y, ward=ward_of(polygons, x, y), mark=(rank >= 8) & (count >= 3),
                  weight=count.astype(float) ** 2 * np.maximum(rank - 6, 1))


def _bus_stops(wards: gpd.GeoDataFrame, bus_stops: gpd.GeoDataFrame | None, crs: CRS,
               polygons: list[shapely.Geometry]) -> _Sites:
    """Bus stops (read around the wards when None); those named after activity centres marked."""
    from ward_geo.streets import read_bus_stops

    if bus_stops is None:
        minx, miny, maxx, maxy = wards.total_bounds
        bus_stops = read_bus_stops(bbox=(minx - 0.005, miny - 0.005, maxx + 0.005, maxy + 0.005))
    elif bus_stops.crs is None:
        raise InputError("bus_stops have no CRS; expected EPSG:4326 points")
    stops_m = bus_stops.to_crs(crs)
    stops_m = stops_m[stops_m.geometry.notna() & (stops_m.geom_type == "Point")]
    x, y = stops_m.geometry.x.to_numpy(), stops_m.geometry.y.to_numpy()
    names = stops_m["name"] if "name" in stops_m.columns else pd.Series([None] * len(stops_m))
    activity = np.array([bool(_ACTIVITY_NAME.search(normalize_term(n))) if isinstance(n, str) else False
                         for n in names])
    return _Sites(x=x, y=y, ward=ward_of(polygons, x, y), mark=activity, weight=np.where(activity, 2.0, 1.0))


def _ward_anchors(w: int, polygon: shapely.Geometry, streets: _Streets, classes: dict[str, np.ndarray],
                  junctions: _Sites, stops: _Sites,
                  commercial: np.ndarray) -> dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]:
    """The anchors of ward ``w``, by kind; only those at least 25 m inside the ward."""
    inner = polygon.buffer(-25.0)
    shapely.prepare(inner)

    def pick(x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ok = shapely.contains_xy(inner, x, y) if len(x) else np.zeros(0, bool)
        return np.column_stack([x[ok], y[ok]]), weight[ok].astype(float)

    anchors: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
    sel = (junctions.ward == w) & junctions.mark
    anchors[("intersection", w)] = pick(junctions.x[sel], junctions.y[sel], junctions.weight[sel])
    sel = stops.ward == w
    anchors[("bus_stop", w)] = pick(stops.x[sel], stops.y[sel], stops.weight[sel])
    act_stop = sel & stops.mark
    act_edge = (streets.ward == w) & commercial & classes["street"]
    ax = np.concatenate([stops.x[act_stop], streets.mx[act_edge]])
    ay = np.concatenate([stops.y[act_stop], streets.my[act_edge]])
    xy, wt = pick(ax, ay, np.ones(len(ax)))
    if len(xy) < 3:  # a ward without named markets or offices: its busiest junctions
        ixy, iwt = anchors[("intersection", w)]
        xy, wt = np.vstack([xy, ixy]), np.concatenate([wt, iwt / max(iwt.max(initial=1.0), 1.0)])
    anchors[("activity", w)] = (xy, wt)
    sel = (streets.ward == w) & classes["alley"]
    anchors[("alley", w)] = pick(streets.mx[sel], streets.my[sel], np.where(streets.dead_end[sel], 2.0, 1.0))
    sel = (streets.ward == w) & classes["residential"]
    anchors[("residential", w)] = pick(streets.mx[sel], streets.my[sel], np.ones(int(sel.sum())))
    return anchors


# ----------------------------------------------------------------------------- placement


def snap_to_street(ctx: StreetContext, cls: str, x: np.ndarray,
                   y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Snap points to the nearest edge of ``cls``; returns (x, y, edge index or -1 when too far)."""
    tree, idx = ctx.trees[cls]
    pts = shapely.points(x, y)
    pairs = tree.query_nearest(pts, max_distance=_MAX_SNAP_M, all_matches=False)
    edge = np.full(len(x), -1, dtype=np.int64)
    edge[pairs[0]] = idx[pairs[1]]
    ok = edge >= 0
    out_x, out_y = x.copy(), y.copy()
    if ok.any():
        lines = ctx.edge_geom[edge[ok]]
        snapped = shapely.line_interpolate_point(lines, shapely.line_locate_point(lines, pts[ok]))
        out_x[ok], out_y[ok] = shapely.get_x(snapped), shapely.get_y(snapped)
    return out_x, out_y, edge


def near_street(ctx: StreetContext, cls: str, xy: np.ndarray, within: float = 30.0) -> np.ndarray:
    """Whether each anchor has a street of ``cls`` within ``within`` metres."""
    if len(xy) == 0:
        return np.zeros(0, dtype=bool)
    tree, _ = ctx.trees[cls]
    pairs = tree.query_nearest(shapely.points(xy[:, 0], xy[:, 1]), max_distance=within, all_matches=False)
    ok = np.zeros(len(xy), dtype=bool)
    ok[pairs[0]] = True
    return ok


def _jitter(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.clip(rng.normal(0.0, _JITTER_M, size=(n, 2)), -3 * _JITTER_M, 3 * _JITTER_M)


def place_cluster(ctx: StreetContext, rng: np.random.Generator, n: int, centre: np.ndarray, sigma: float,
                   cls: str) -> Points:
    """``n`` points around ``centre`` on streets of ``cls`` inside the wards."""
    return _place(ctx, rng, n, cls, lambda m: centre + rng.normal(0.0, sigma, size=(m, 2)))


def place_background(ctx: StreetContext, rng: np.random.Generator, n: int, ward: int,
                      cls: str) -> Points:
    """``n`` points spread along the ``cls`` streets of one ward (by length)."""
    pool = np.flatnonzero(ctx.edge_class[cls] & (ctx.edge_ward == ward))
    if len(pool) == 0:
        pool = np.flatnonzero(ctx.edge_ward == ward)
    p = ctx.edge_len[pool] / ctx.edge_len[pool].sum()

    def draw(m: int) -> np.ndarray:
        picked = pool[rng.choice(len(pool), size=m, p=p)]
        pts = shapely.line_interpolate_point(ctx.edge_geom[picked], rng.random(m), normalized=True)
        return np.column_stack([shapely.get_x(pts), shapely.get_y(pts)])

    return _place(ctx, rng, n, cls, draw, snap=False)


def _place(
    ctx: StreetContext,
    rng: np.random.Generator,
    n: int,
    cls: str,
    draw: Callable[[int], np.ndarray],
    *,
    snap: bool = True,
) -> Points:
    """Draw candidates with ``draw(m) -> (m, 2)``, snap/jitter them, keep those inside the wards.

    Retries until ``n`` points are placed (at most 30 rounds; a cluster that cannot be placed
    inside the wards gets fewer points, never points outside them).
    """
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    wards: list[np.ndarray] = []
    edges: list[np.ndarray] = []
    need = n
    for _ in range(30):
        if need <= 0:
            break
        m = max(8, int(need * 1.3))
        raw = draw(m)
        if snap:
            x, y, e = snap_to_street(ctx, cls, raw[:, 0], raw[:, 1])
        else:
            x, y = raw[:, 0], raw[:, 1]
            _, _, e = snap_to_street(ctx, cls, x, y)
        ok = e >= 0
        jit = _jitter(rng, m)
        x, y = x + jit[:, 0], y + jit[:, 1]
        w = ward_of(ctx.polygons, x, y)
        ok &= w >= 0
        sel = np.flatnonzero(ok)[:need]
        for bucket, values in ((xs, x), (ys, y), (wards, w), (edges, e)):
            bucket.append(values[sel])
        need -= len(sel)
    if not xs:
        empty = np.zeros(0)
        return empty, empty, empty.astype(np.int64), empty.astype(np.int64)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(wards), np.concatenate(edges)
