"""Seeded simulation of realistic ward incidents, and large point sets for benchmarks.

There is no open Vietnamese incident data, so the demo and many tests use incidents that
:func:`simulate` places on the real street network (OpenStreetMap, see
:mod:`ward_geo.streets`) inside real ward boundaries. Every simulated row has
``source == "synthetic"``; nothing simulated should ever be presented as real.

How incidents are placed (one street network, one ``numpy`` generator seeded by ``seed``):

* **traffic accidents** and **traffic violations** cluster at busy intersections (nodes
  where three or more streets meet on primary/secondary/tertiary roads), peaking at the
  rush hours 7–9 and 17–19 on weekdays;
* **parking violations** and **sidewalk encroachment** lie along streets near markets and
  offices (bus stops named after markets, hospitals, ministries, schools, banks,
  shopping centres, and the old-quarter "Phố Hàng …" streets), by day;
* **drug points** lie in alleys (streets named "Ngõ"/"Ngách"/"Hẻm", and short dead ends of
  residential, service and footway segments), at night;
* **thefts** and **robberies** lie near bus stops, by day and evening (robbery later);
* **burglary**, **illegal lending** and **fire hazards** lie in residential streets;
  **assault** and **public order** near activity centres in the evening, more at weekends;
* every category also has background noise along its kind of street.

Part of each category comes from clusters (a few per ward and category) with a life
cycle: ``persistent`` all period, ``emerging`` (starts part-way, ramps up over about a
month) or ``fading`` (ramps down to nothing part-way), so trend analysis has something to
find. The clusters are recorded in ``result.attrs["synthetic_clusters"]``. Points are
snapped to the nearest street centreline and jittered a few metres off it.

For clustering and distributed benchmarks, :func:`simulate_large` draws millions of
points with city-like structure (many dense clusters of varied size and shape over a
denser centre and sparse background) in projected metres, :func:`iter_large_chunks`
yields the same in chunks, and :func:`write_large_geoparquet` writes them as a
partitioned GeoParquet incident table.

Street and bus-stop data: © OpenStreetMap contributors (ODbL 1.0).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from ward_geo.categories import CATEGORY_CODES, normalize_term
from ward_geo.errors import InputError, NotFoundError, ParameterError
from ward_geo.schema import INCIDENT_COLUMNS, WGS84, conform_incidents

__all__ = [
    "CENTRAL_WARD_IDS",
    "SYNTHETIC_SOURCE",
    "LARGE_CRS",
    "DEFAULT_LARGE_BOUNDS",
    "simulate",
    "simulate_large",
    "iter_large_chunks",
    "write_large_geoparquet",
]

#: The demo wards: central Hanoi wards at least 75 % inside the street extract.
CENTRAL_WARD_IDS: tuple[str, ...] = (
    "phuong-hoan-kiem",
    "phuong-cua-nam",
    "phuong-van-mieu-quoc-tu-giam",
    "phuong-hai-ba-trung",
    "phuong-o-cho-dua",
    "phuong-dong-da",
    "phuong-ba-dinh",
)
#: The ``source`` of every simulated incident.
SYNTHETIC_SOURCE = "synthetic"
#: CRS of :func:`simulate_large` coordinates: VN-2000 / UTM zone 48N (metres).
LARGE_CRS = "EPSG:3405"
#: Default extent of :func:`simulate_large` (min_x, min_y, max_x, max_y) in EPSG:3405 metres:
#: about 20 km x 14 km over urban Hanoi (105.73-105.92 E, 20.96-21.09 N).
DEFAULT_LARGE_BOUNDS: tuple[float, float, float, float] = (576_000.0, 2_318_000.0, 596_000.0, 2_332_000.0)

_TIMEZONE = "Asia/Ho_Chi_Minh"

# ----------------------------------------------------------------------------- profiles

# hour-of-day shapes (0..23, local time); normalised when used
_HOURS: dict[str, tuple[float, ...]] = {
    "rush": (0.15, 0.1, 0.1, 0.1, 0.15, 0.4, 1.2, 3.5, 4.0, 2.0, 1.2, 1.2,
             1.3, 1.1, 1.1, 1.3, 2.0, 4.0, 4.5, 2.2, 1.2, 0.9, 0.6, 0.3),
    "daytime": (0.02, 0.01, 0.01, 0.01, 0.02, 0.1, 0.5, 1.5, 2.5, 3.0, 3.0, 2.8,
                2.2, 2.2, 2.8, 3.0, 2.8, 2.5, 1.8, 1.0, 0.6, 0.3, 0.1, 0.05),
    "market": (0.05, 0.02, 0.02, 0.05, 0.5, 1.5, 3.0, 3.5, 3.0, 2.5, 2.2, 2.0,
               1.5, 1.5, 1.8, 2.2, 2.8, 3.0, 3.0, 2.5, 1.8, 1.0, 0.4, 0.1),
    "night": (3.5, 3.2, 2.6, 1.8, 0.9, 0.3, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05,
              0.1, 0.1, 0.1, 0.1, 0.15, 0.2, 0.4, 0.8, 1.5, 2.5, 3.2, 3.6),
    "theft": (0.3, 0.2, 0.1, 0.1, 0.1, 0.3, 0.8, 1.5, 1.8, 1.6, 1.5, 1.6,
              1.6, 1.4, 1.4, 1.6, 1.9, 2.4, 2.6, 2.4, 2.0, 1.5, 1.0, 0.6),
    "evening": (1.8, 1.3, 0.8, 0.4, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.2,
                0.3, 0.3, 0.3, 0.4, 0.5, 0.8, 1.4, 2.0, 2.6, 2.8, 2.6, 2.2),
    "burglary": (2.2, 2.8, 3.0, 2.6, 1.6, 0.6, 0.3, 0.3, 0.6, 1.0, 1.1, 1.1,
                 0.9, 0.9, 1.0, 0.9, 0.6, 0.4, 0.3, 0.3, 0.4, 0.6, 0.9, 1.5),
    "office": (0.0, 0.0, 0.0, 0.0, 0.0, 0.05, 0.3, 1.2, 2.5, 3.0, 3.0, 2.6,
               1.5, 1.8, 2.6, 2.6, 2.2, 1.4, 0.8, 0.4, 0.2, 0.1, 0.0, 0.0),
    "flat": (0.3, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 1.0, 1.2, 1.2, 1.2, 1.2,
             1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.1, 1.0, 0.8, 0.6, 0.4),
}
# day-of-week shapes, Monday first
_WEEKDAYS: dict[str, tuple[float, ...]] = {
    "workweek": (1.1, 1.05, 1.05, 1.05, 1.1, 0.9, 0.75),
    "weekend": (0.8, 0.8, 0.85, 0.9, 1.1, 1.35, 1.3),
    "flat": (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
}


@dataclass(frozen=True)
class _Spec:
    """How one category is simulated (rates are per ward of average street length per year)."""

    code: str
    per_ward: float
    cluster_share: float
    clusters_per_ward: int
    anchor: str  # intersection | activity | alley | bus_stop | residential
    snap: str  # edge class cluster points snap to
    background: str  # edge class of background noise
    sigma: tuple[float, float]  # cluster spread (m), drawn uniformly in this range
    hours: str
    weekdays: str
    severity: tuple[float, float, float, float, float]  # P(severity = 1..5)
    descriptions: tuple[str, ...]


_SPECS: tuple[_Spec, ...] = (
    _Spec("traffic_accident", 210, 0.55, 3, "intersection", "busy", "busy", (8, 20), "rush", "workweek",
          (0.35, 0.3, 0.2, 0.1, 0.05),
          ("Va chạm giữa xe máy và ô tô tại nút giao", "Tai nạn xe máy tại ngã tư giờ cao điểm",
           "Xe máy va chạm người đi bộ khi sang đường", "Va chạm liên hoàn giữa nhiều xe máy",
           "Ô tô rẽ trái va chạm xe máy đi thẳng")),
    _Spec("traffic_violation", 420, 0.45, 2, "intersection", "busy", "busy", (10, 30), "rush", "workweek",
          (0.6, 0.3, 0.1, 0.0, 0.0),
          ("Vượt đèn đỏ tại nút giao", "Đi ngược chiều trên phố một chiều", "Không đội mũ bảo hiểm",
           "Chở hàng cồng kềnh", "Dừng xe sai quy định tại nút giao")),
    _Spec("parking_violation", 480, 0.55, 2, "activity", "street", "street", (40, 90), "daytime", "workweek",
          (0.7, 0.25, 0.05, 0.0, 0.0),
          ("Ô tô đỗ dưới lòng đường sai quy định", "Trông giữ xe trái phép trên vỉa hè",
           "Đỗ xe máy tràn ra lòng đường trước chợ", "Ô tô đỗ chắn lối ra vào ngõ")),
    _Spec("sidewalk_encroachment", 420, 0.55, 2, "activity", "street", "street", (30, 80), "market", "flat",
          (0.7, 0.25, 0.05, 0.0, 0.0),
          ("Buôn bán hàng rong lấn chiếm vỉa hè", "Quán ăn bày bàn ghế ra vỉa hè",
           "Cửa hàng bày hàng hóa lấn chiếm lòng đường", "Dựng mái che, biển quảng cáo trái phép trên vỉa hè")),
    _Spec("theft", 350, 0.5, 2, "bus_stop", "street", "street", (20, 45), "theft", "flat",
          (0.3, 0.4, 0.2, 0.1, 0.0),
          ("Móc túi tại điểm chờ xe buýt", "Trộm cắp điện thoại di động của hành khách",
           "Mất trộm xe máy dựng trước cửa hàng", "Trộm ví của khách đi chợ")),
    _Spec("robbery", 70, 0.45, 1, "bus_stop", "street", "busy", (25, 50), "evening", "flat",
          (0.0, 0.2, 0.4, 0.3, 0.1),
          ("Cướp giật túi xách của người đi bộ", "Cướp giật điện thoại gần điểm dừng xe buýt",
           "Đi xe máy áp sát cướp giật dây chuyền")),
    _Spec("burglary", 85, 0.35, 1, "residential", "residential", "residential", (25, 60), "burglary", "flat",
          (0.1, 0.4, 0.3, 0.2, 0.0),
          ("Trộm đột nhập nhà dân lấy tài sản", "Cạy cửa cuốn đột nhập cửa hàng",
           "Đột nhập phòng trọ lấy trộm xe máy")),
    _Spec("assault", 70, 0.4, 1, "activity", "street", "any", (20, 50), "evening", "weekend",
          (0.0, 0.3, 0.4, 0.2, 0.1),
          ("Xô xát, đánh nhau sau khi uống rượu bia", "Hành hung người do mâu thuẫn giao thông",
           "Cố ý gây thương tích trong lúc cãi vã")),
    _Spec("drugs", 170, 0.65, 2, "alley", "alley", "alley", (12, 30), "night", "flat",
          (0.0, 0.2, 0.4, 0.3, 0.1),
          ("Điểm tụ tập sử dụng ma túy trong ngõ", "Nghi vấn mua bán ma túy tại đầu ngách",
           "Phát hiện bơm kim tiêm vứt trong ngõ", "Đối tượng nghiện tụ tập ban đêm")),
    _Spec("illegal_lending", 30, 0.3, 1, "residential", "residential", "residential", (30, 70), "office", "workweek",
          (0.2, 0.4, 0.3, 0.1, 0.0),
          ("Dán tờ rơi quảng cáo cho vay tiền nhanh", "Đòi nợ, khủng bố tinh thần người vay tín dụng đen",
           "Ném chất bẩn vào nhà người vay nợ")),
    _Spec("public_order", 170, 0.45, 1, "activity", "street", "any", (30, 70), "evening", "weekend",
          (0.5, 0.35, 0.15, 0.0, 0.0),
          ("Tụ tập gây ồn ào đêm khuya", "Đánh bạc tại quán nước vỉa hè", "Nẹt pô, lạng lách trên phố",
           "Hát karaoke gây ồn ào quá giờ quy định")),
    _Spec("fire_hazard", 40, 0.0, 0, "residential", "residential", "residential", (30, 60), "office", "workweek",
          (0.2, 0.3, 0.3, 0.15, 0.05),
          ("Cơ sở kinh doanh không đảm bảo phòng cháy chữa cháy", "Chập điện tại cột điện trong ngõ",
           "Tàng trữ xăng dầu trong nhà ở", "Dây điện câu móc lộn xộn nguy cơ cháy")),
    _Spec("other", 70, 0.0, 0, "activity", "any", "any", (30, 60), "flat", "flat",
          (0.6, 0.3, 0.1, 0.0, 0.0),
          ("Tin báo khác của người dân", "Phản ánh vật nuôi thả rông", "Phản ánh rác thải đổ trộm ra đường")),
)
_SPEC_BY_CODE = {s.code: s for s in _SPECS}

_BUSY = frozenset({"trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link",
                   "tertiary", "tertiary_link"})
_ROADS = _BUSY | {"unclassified", "residential", "living_street", "service"}
_RESIDENTIAL = frozenset({"residential", "living_street", "service", "unclassified"})
_MINOR = frozenset({"service", "footway", "path", "residential", "living_street", "pedestrian", "steps", "unclassified"})
_ALLEY_NAME = re.compile(r"^(ngo|ngach|hem|kiet)\b")
_ACTIVITY_NAME = re.compile(
    r"\b(cho|benh vien|ngan hang|toa nha|truong|dai hoc|hoc vien|sieu thi|plaza|tower|ga ha noi|ben xe|"
    r"vien|cong ty|tong cong ty|trung tam|nha hat|buu dien|vincom|khach san|ks|bo y te|bo giao thong|"
    r"bo tu phap|tap doan|rap chieu phim|thu vien|bao tang)\b"
)
_MAX_SNAP_M = 150.0
#: street length (m) of a typical central Hanoi ward in the extract (their mean is about 55 km)
_REFERENCE_STREET_M = 55_000.0
_JITTER_M = 2.5


def _check_categories() -> None:
    missing = set(CATEGORY_CODES) - set(_SPEC_BY_CODE)
    unknown = set(_SPEC_BY_CODE) - set(CATEGORY_CODES)
    if missing or unknown:  # pragma: no cover - guards the taxonomy staying in step
        raise RuntimeError(f"synth specs out of step with categories: missing {missing}, unknown {unknown}")


_check_categories()

# ----------------------------------------------------------------------------- inputs


def _parse_day(value: object, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"{name} must be a date such as '2025-01-01'; got {value!r}") from exc
    if ts is pd.NaT:
        raise ParameterError(f"{name} must be a date such as '2025-01-01'; got {value!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_convert(_TIMEZONE).tz_localize(None)
    return ts.normalize()


def _select_wards(boundaries: gpd.GeoDataFrame, ward_ids: Sequence[str]) -> gpd.GeoDataFrame:
    if not isinstance(boundaries, gpd.GeoDataFrame):
        raise InputError("boundaries must be a GeoDataFrame with ward_id and polygon geometry (see read_boundaries)")
    if "ward_id" not in boundaries.columns:
        raise InputError("boundaries have no 'ward_id' column (read them with ward_geo.read_boundaries)")
    if boundaries.crs is None:
        raise InputError("boundaries have no CRS; expected EPSG:4326 (or any declared CRS)")
    if isinstance(ward_ids, str):
        ward_ids = (ward_ids,)
    wanted = list(dict.fromkeys(ward_ids))
    if not wanted:
        raise ParameterError("ward_ids is empty: name at least one ward")
    known = set(boundaries["ward_id"].astype(str))
    missing = [w for w in wanted if w not in known]
    if missing:
        examples = ", ".join(sorted(known)[:8])
        raise NotFoundError(f"unknown ward id(s): {', '.join(missing)} (known ids include {examples}, ...)")
    rows = boundaries.set_index(boundaries["ward_id"].astype(str)).loc[wanted]
    bad = [w for w, g in zip(rows.index, rows.geometry, strict=True)
           if g is None or g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon")]
    if bad:
        raise InputError(f"ward(s) {', '.join(bad)}: geometry must be a non-empty Polygon or MultiPolygon")
    out = gpd.GeoDataFrame({"ward_id": list(rows.index)}, geometry=list(rows.geometry), crs=boundaries.crs)
    return out.to_crs(WGS84)


# ----------------------------------------------------------------------------- street context


@dataclass
class _Context:
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


def _ward_of(polygons: list[shapely.Geometry], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Index of the ward containing each point, -1 outside every ward."""
    out = np.full(len(x), -1, dtype=np.int64)
    for i, poly in enumerate(polygons):
        todo = out < 0
        if not todo.any():
            break
        hit = shapely.contains_xy(poly, x[todo], y[todo])
        out[np.flatnonzero(todo)[hit]] = i
    return out


def _build_context(wards: gpd.GeoDataFrame, graph: nx.MultiDiGraph, bus_stops: gpd.GeoDataFrame | None) -> _Context:
    from ward_geo.projection import metric_crs_for
    from ward_geo.streets import read_bus_stops, street_edges, street_nodes

    crs = metric_crs_for(wards)
    wards_m = wards.to_crs(crs)
    polygons = list(wards_m.geometry)
    for poly in polygons:
        shapely.prepare(poly)
    ward_ids = list(wards_m["ward_id"])

    edges = street_edges(graph)
    # one edge per street segment: a two-way street appears as (u, v) and (v, u)
    lo = np.minimum(edges["u"].to_numpy(), edges["v"].to_numpy())
    hi = np.maximum(edges["u"].to_numpy(), edges["v"].to_numpy())
    keep = ~pd.DataFrame({"a": lo, "b": hi, "k": edges["key"].to_numpy()}).duplicated().to_numpy()
    edges = edges.loc[keep].reset_index(drop=True)
    edges_m = edges.to_crs(crs)
    geom = edges_m.geometry.to_numpy()
    length = shapely.length(geom)
    mid = shapely.line_interpolate_point(geom, 0.5, normalized=True)
    mx, my = shapely.get_x(mid), shapely.get_y(mid)
    edge_ward = _ward_of(polygons, mx, my)
    inside = edge_ward >= 0
    if not inside.any():
        raise InputError(
            f"the street network has no streets inside ward(s) {', '.join(ward_ids)}; "
            "choose wards covered by the street extract (see CENTRAL_WARD_IDS)"
        )
    empty = [w for i, w in enumerate(ward_ids) if not (edge_ward == i).any()]
    if empty:
        raise InputError(f"no streets of the street network lie inside ward(s) {', '.join(empty)}")

    highway = edges["highway"].astype(object).to_numpy()
    names = np.array([n if isinstance(n, str) else None for n in edges["name"].astype(object)], dtype=object)
    folded = np.array([normalize_term(n) if n else "" for n in names], dtype=object)

    nodes = street_nodes(graph).set_index("osmid")
    street_count = nodes["street_count"]
    dead_end = (edges["u"].map(street_count).to_numpy() <= 1) | (edges["v"].map(street_count).to_numpy() <= 1)
    is_alley_name = np.array([bool(_ALLEY_NAME.match(f)) for f in folded])
    is_minor = np.isin(highway, list(_MINOR))
    classes = {
        "busy": np.isin(highway, list(_BUSY)),
        "street": np.isin(highway, list(_ROADS)),
        "residential": np.isin(highway, list(_RESIDENTIAL)) | (is_minor & is_alley_name),
        "alley": is_minor & (is_alley_name | (dead_end & (length < 150.0))),
        "any": np.ones(len(edges), dtype=bool),
    }
    trees: dict[str, tuple[shapely.STRtree, np.ndarray]] = {}
    for name, mask in classes.items():
        if not (mask & inside).any():
            classes[name] = classes["any"] if name != "busy" else classes["street"]
        idx = np.flatnonzero(classes[name])
        trees[name] = (shapely.STRtree(geom[idx]), idx)

    # anchors -----------------------------------------------------------------
    nodes_m = nodes.to_crs(crs)
    nx_, ny_ = nodes_m.geometry.x.to_numpy(), nodes_m.geometry.y.to_numpy()
    node_ward = _ward_of(polygons, nx_, ny_)
    busy_node = (nodes_m["highway_rank"].to_numpy() >= 8) & (nodes_m["street_count"].to_numpy() >= 3)
    node_w = nodes_m["street_count"].to_numpy().astype(float) ** 2 * np.maximum(
        nodes_m["highway_rank"].to_numpy() - 6, 1
    )

    if bus_stops is None:
        minx, miny, maxx, maxy = wards.total_bounds
        bus_stops = read_bus_stops(bbox=(minx - 0.005, miny - 0.005, maxx + 0.005, maxy + 0.005))
    elif bus_stops.crs is None:
        raise InputError("bus_stops have no CRS; expected EPSG:4326 points")
    stops_m = bus_stops.to_crs(crs)
    stops_m = stops_m[stops_m.geometry.notna() & (stops_m.geom_type == "Point")]
    sx, sy = stops_m.geometry.x.to_numpy(), stops_m.geometry.y.to_numpy()
    stop_ward = _ward_of(polygons, sx, sy)
    stop_names = stops_m["name"] if "name" in stops_m.columns else pd.Series([None] * len(stops_m))
    stop_activity = np.array([bool(_ACTIVITY_NAME.search(normalize_term(n))) if isinstance(n, str) else False
                              for n in stop_names])
    commercial = np.array([f.startswith("pho hang ") or bool(re.search(r"\bcho\b", f)) for f in folded])

    anchors: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
    for w in range(len(ward_ids)):
        inner = polygons[w].buffer(-25.0)
        shapely.prepare(inner)

        def pick(x: np.ndarray, y: np.ndarray, weight: np.ndarray, inner=inner) -> tuple[np.ndarray, np.ndarray]:
            ok = shapely.contains_xy(inner, x, y) if len(x) else np.zeros(0, bool)
            return np.column_stack([x[ok], y[ok]]), weight[ok].astype(float)

        sel = (node_ward == w) & busy_node
        anchors[("intersection", w)] = pick(nx_[sel], ny_[sel], node_w[sel])
        sel = stop_ward == w
        anchors[("bus_stop", w)] = pick(sx[sel], sy[sel], np.where(stop_activity[sel], 2.0, 1.0))
        act_stop = sel & stop_activity
        act_edge = (edge_ward == w) & commercial & classes["street"]
        ax = np.concatenate([sx[act_stop], mx[act_edge]])
        ay = np.concatenate([sy[act_stop], my[act_edge]])
        xy, wt = pick(ax, ay, np.ones(len(ax)))
        if len(xy) < 3:  # a ward without named markets or offices: its busiest junctions
            ixy, iwt = anchors[("intersection", w)]
            xy, wt = np.vstack([xy, ixy]), np.concatenate([wt, iwt / max(iwt.max(initial=1.0), 1.0)])
        anchors[("activity", w)] = (xy, wt)
        sel = (edge_ward == w) & classes["alley"]
        anchors[("alley", w)] = pick(mx[sel], my[sel], np.where(dead_end[sel], 2.0, 1.0))
        sel = (edge_ward == w) & classes["residential"]
        anchors[("residential", w)] = pick(mx[sel], my[sel], np.ones(int(sel.sum())))

    return _Context(crs, ward_ids, polygons, geom, length, names, edge_ward, classes, trees, anchors)


# ----------------------------------------------------------------------------- placement


def _snap(ctx: _Context, cls: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def _near_street(ctx: _Context, cls: str, xy: np.ndarray, within: float = 30.0) -> np.ndarray:
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


def _place_cluster(ctx: _Context, rng: np.random.Generator, n: int, centre: np.ndarray, sigma: float,
                   cls: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n`` points around ``centre`` on streets of ``cls`` inside the wards."""
    return _place(ctx, rng, n, cls, lambda m: centre + rng.normal(0.0, sigma, size=(m, 2)))


def _place_background(ctx: _Context, rng: np.random.Generator, n: int, ward: int,
                      cls: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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
    ctx: _Context,
    rng: np.random.Generator,
    n: int,
    cls: str,
    draw: Callable[[int], np.ndarray],
    *,
    snap: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Draw candidates with ``draw(m) -> (m, 2)``, snap/jitter them, keep those inside the wards.

    Retries until ``n`` points are placed (at most 30 rounds; a cluster that cannot be placed
    inside the wards gets fewer points, never points outside them).
    """
    xs, ys, wards, edges = [], [], [], []
    need = n
    for _ in range(30):
        if need <= 0:
            break
        m = max(8, int(need * 1.3))
        raw = draw(m)
        if snap:
            x, y, e = _snap(ctx, cls, raw[:, 0], raw[:, 1])
        else:
            x, y = raw[:, 0], raw[:, 1]
            _, _, e = _snap(ctx, cls, x, y)
        ok = e >= 0
        jit = _jitter(rng, m)
        x, y = x + jit[:, 0], y + jit[:, 1]
        w = _ward_of(ctx.polygons, x, y)
        ok &= w >= 0
        sel = np.flatnonzero(ok)[:need]
        for bucket, values in ((xs, x), (ys, y), (wards, w), (edges, e)):
            bucket.append(values[sel])
        need -= len(sel)
    if not xs:
        empty = np.zeros(0)
        return empty, empty, empty.astype(np.int64), empty.astype(np.int64)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(wards), np.concatenate(edges)


def _day_weights(n_days: int, first_dow: int, weekdays: str) -> np.ndarray:
    dow = (first_dow + np.arange(n_days)) % 7
    return np.asarray(_WEEKDAYS[weekdays])[dow]


def _lifecycle(kind: str, n_days: int, rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    """Activity (0..1) per day for a cluster and its active day range [from, until)."""
    days = np.arange(n_days, dtype=float)
    ramp = max(7.0, min(30.0, n_days / 10))
    if kind == "emerging":
        begin = int(n_days * rng.uniform(0.35, 0.6))
        act = np.clip((days - begin) / ramp, 0.0, 1.0)
        return act, begin, n_days
    if kind == "fading":
        stop = int(n_days * rng.uniform(0.4, 0.65))
        act = np.clip((stop - days) / ramp, 0.0, 1.0)
        return act, 0, stop
    return np.ones(n_days), 0, n_days


def _cluster_kinds(k: int, rng: np.random.Generator) -> list[str]:
    if k <= 0:
        return []
    n_emerging = max(1, round(0.2 * k)) if k >= 3 else 0
    n_fading = max(1, round(0.2 * k)) if k >= 3 else 0
    kinds = ["emerging"] * n_emerging + ["fading"] * n_fading
    kinds += ["persistent"] * (k - len(kinds))
    rng.shuffle(kinds)
    return kinds


# ----------------------------------------------------------------------------- simulate


def simulate(
    boundaries: gpd.GeoDataFrame,
    *,
    ward_ids: Sequence[str] = CENTRAL_WARD_IDS,
    start: str | pd.Timestamp = "2025-01-01",
    end: str | pd.Timestamp = "2026-01-01",
    seed: int = 0,
    graph: nx.MultiDiGraph | None = None,
    bus_stops: gpd.GeoDataFrame | None = None,
    scale: float = 1.0,
) -> gpd.GeoDataFrame:
    """Simulate a period of incidents in real wards, on the real street network.

    Parameters
    ----------
    boundaries : geopandas.GeoDataFrame
        Ward boundaries with a ``ward_id`` column (as from ``read_boundaries``), any CRS.
    ward_ids : sequence of str
        Wards to fill (default :data:`CENTRAL_WARD_IDS`); each must lie on the street network.
    start, end : str or Timestamp
        Local dates (Asia/Ho_Chi_Minh); ``end`` is exclusive. Default: the year 2025.
    seed : int
        Seed of the random generator: the same inputs and seed give the same table.
    graph : networkx.MultiDiGraph, optional
        Street graph from :func:`ward_geo.streets.load_street_graph` (default: that
        function's default, the central-Hanoi extract).
    bus_stops : geopandas.GeoDataFrame, optional
        Bus stop points with an optional ``name`` (default:
        :func:`ward_geo.streets.read_bus_stops` around the wards).
    scale : float
        Multiplies every rate (``scale=0.1`` gives a tenth of the incidents). About
        2,600 incidents per ward-year at ``scale=1`` for a ward with 55 km of streets
        (rates scale with the ward's street length in the graph), so about 18 thousand a
        year for the seven central wards.

    Returns
    -------
    geopandas.GeoDataFrame
        Canonical incidents (see :mod:`ward_geo.schema`), EPSG:4326, sorted by
        ``occurred_at``; ``incident_id`` ``"syn-<seed>-<n>"``, ``source`` ``"synthetic"``,
        ``time_precision`` ``"exact"``, ``severity`` 1-5, Vietnamese ``description`` naming
        the street. ``attrs["synthetic_clusters"]`` lists the planted clusters (id, category,
        kind ``persistent``/``emerging``/``fading``, ward, lon/lat, spread, active dates,
        incident count) and ``attrs["synthetic"]`` the parameters.

    Raises
    ------
    NotFoundError
        An unknown ward id.
    ParameterError
        ``end`` not after ``start``, or ``scale`` not in (0, 100].
    InputError
        Boundaries without ``ward_id``/CRS, or wards with no streets in the graph.
    """
    start_ts, end_ts = _parse_day(start, "start"), _parse_day(end, "end")
    if end_ts <= start_ts:
        raise ParameterError(f"end ({end_ts.date()}) must be after start ({start_ts.date()})")
    if not (isinstance(scale, int | float) and math.isfinite(scale) and 0 < scale <= 100):
        raise ParameterError(f"scale must be a number in (0, 100]; got {scale!r}")
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ParameterError(f"seed must be a non-negative integer; got {seed!r}")
    wards = _select_wards(boundaries, ward_ids)
    if graph is None:
        from ward_geo.streets import load_street_graph

        graph = load_street_graph()
    ctx = _build_context(wards, graph, bus_stops)
    rng = np.random.default_rng(int(seed))
    to_lonlat = Transformer.from_crs(ctx.crs, WGS84, always_xy=True)

    n_days = int((end_ts - start_ts).days)
    years = n_days / 365.0
    first_dow = start_ts.day_of_week
    ward_len = np.array([ctx.edge_len[ctx.edge_ward == w].sum() for w in range(len(ctx.wards))])
    # rates scale with a ward's street length, relative to a typical central ward, so a
    # ward gets the same incidents whichever other wards are simulated with it
    ward_factor = np.clip(ward_len / _REFERENCE_STREET_M, 0.2, 3.0)

    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("x", "y", "ward", "edge", "cat", "day", "sev")}
    clusters: list[dict[str, object]] = []

    def add(x, y, w, e, code: str, day: np.ndarray) -> None:
        spec = _SPEC_BY_CODE[code]
        m = len(x)
        for key, values in (("x", x), ("y", y), ("ward", w), ("edge", e)):
            parts[key].append(values)
        parts["cat"].append(np.full(m, CATEGORY_CODES.index(code)))
        parts["day"].append(day[:m])
        parts["sev"].append(rng.choice(5, size=m, p=np.asarray(spec.severity) / sum(spec.severity)) + 1.0)

    for w, ward_id in enumerate(ctx.wards):
        # how many clusters each category gets here, then their life cycles across the ward
        plan = []
        for spec in _SPECS:
            xy, weight = ctx.anchors[(spec.anchor, w)]
            ok = _near_street(ctx, spec.snap, xy)  # the extract may not cover a whole ward
            xy, weight = xy[ok], weight[ok]
            plan.append((spec, xy, weight, min(spec.clusters_per_ward, len(xy)) if spec.cluster_share > 0 else 0))
        kinds = iter(_cluster_kinds(sum(p[-1] for p in plan), rng))
        for spec, xy, weight, k in plan:
            base = _day_weights(n_days, first_dow, spec.weekdays)
            total = spec.per_ward * years * scale * ward_factor[w]
            if k:
                chosen = rng.choice(len(xy), size=k, replace=False, p=weight / weight.sum())
                shares = rng.dirichlet(np.full(k, 2.0))
                for centre, share in zip(xy[chosen], shares, strict=True):
                    kind = next(kinds)
                    act, first, until = _lifecycle(kind, n_days, rng)
                    daily = base * act
                    # a cluster active part of the period burns brighter while it lasts
                    boost = 1.0 if kind == "persistent" else 2.0
                    rate = boost * total * spec.cluster_share * share / base.sum()
                    count = int(rng.poisson(rate * daily.sum()))
                    sigma = float(rng.uniform(*spec.sigma))
                    x, y, wi, e = _place_cluster(ctx, rng, count, centre, sigma, spec.snap)
                    day = (rng.choice(n_days, size=len(x), p=daily / daily.sum())
                           if daily.sum() > 0 else np.zeros(0, np.int64))
                    add(x, y, wi, e, spec.code, day)
                    lon, lat = to_lonlat.transform(*centre)
                    clusters.append({
                        "cluster_id": f"c{len(clusters) + 1}",
                        "category": spec.code,
                        "kind": kind,
                        "ward_id": ward_id,
                        "lon": round(float(lon), 7),
                        "lat": round(float(lat), 7),
                        "sigma_m": round(sigma, 1),
                        "active_from": str((start_ts + pd.Timedelta(days=first)).date()),
                        "active_until": str((start_ts + pd.Timedelta(days=until)).date()),
                        "n_incidents": len(x),
                    })
            # background
            bg_share = 1.0 - (spec.cluster_share if k else 0.0)
            count = int(rng.poisson(total * bg_share))
            x, y, wi, e = _place_background(ctx, rng, count, w, spec.background)
            day = rng.choice(n_days, size=len(x), p=base / base.sum())
            add(x, y, wi, e, spec.code, day)

    x = np.concatenate(parts["x"])
    n = len(x)
    y = np.concatenate(parts["y"])
    ward = np.concatenate(parts["ward"]).astype(np.int64)
    edge = np.concatenate(parts["edge"]).astype(np.int64)
    cat = np.concatenate(parts["cat"]).astype(np.int64)
    day = np.concatenate(parts["day"]).astype(np.int64)
    sev = np.concatenate(parts["sev"])

    # time of day from each category's hour profile
    hour = np.zeros(n, dtype=np.int64)
    descriptions = np.empty(n, dtype=object)
    for ci, code in enumerate(CATEGORY_CODES):
        sel = np.flatnonzero(cat == ci)
        if not len(sel):
            continue
        spec = _SPEC_BY_CODE[code]
        prof = np.asarray(_HOURS[spec.hours])
        hour[sel] = rng.choice(24, size=len(sel), p=prof / prof.sum())
        templates = np.asarray(spec.descriptions, dtype=object)
        descriptions[sel] = templates[rng.integers(0, len(templates), size=len(sel))]
    seconds = rng.integers(0, 3600, size=n)
    local = (np.datetime64(start_ts.to_datetime64(), "s") + day.astype("timedelta64[D]")
             + (hour * 3600 + seconds).astype("timedelta64[s]"))
    occurred = pd.DatetimeIndex(local).tz_localize(_TIMEZONE).tz_convert("UTC")
    street = ctx.edge_name[edge]
    descriptions = np.array([f"{d} ({s})" if s else d for d, s in zip(descriptions, street, strict=True)],
                            dtype=object)

    lon, lat = to_lonlat.transform(x, y)
    order = np.lexsort((np.arange(n), occurred.asi8))
    ids = np.array([f"syn-{int(seed)}-{i:06d}" for i in range(n)], dtype=object)
    codes = np.asarray(CATEGORY_CODES, dtype=object)
    frame = gpd.GeoDataFrame(
        {
            "incident_id": ids,
            "category": codes[cat[order]],
            "category_raw": codes[cat[order]],
            "occurred_at": occurred[order],
            "time_precision": np.full(n, "exact", dtype=object),
            "severity": sev[order],
            "description": descriptions[order],
            "source": np.full(n, SYNTHETIC_SOURCE, dtype=object),
            "ward_id": np.asarray(ctx.wards, dtype=object)[ward[order]],
        },
        geometry=gpd.points_from_xy(np.asarray(lon)[order], np.asarray(lat)[order]),
        crs=WGS84,
    )
    out = conform_incidents(frame)
    out.attrs["synthetic_clusters"] = clusters
    out.attrs["synthetic"] = {
        "seed": int(seed), "start": str(start_ts.date()), "end": str(end_ts.date()), "scale": float(scale),
        "ward_ids": list(ctx.wards), "attribution": "© OpenStreetMap contributors",
    }
    return out


# ----------------------------------------------------------------------------- large point sets


@dataclass(frozen=True)
class _Layout:
    centres: np.ndarray  # (k, 2)
    cum_weight: np.ndarray  # (k,) cumulative, last == 1
    sx: np.ndarray
    sy: np.ndarray
    cos: np.ndarray
    sin: np.ndarray
    cluster_fraction: float


def _large_layout(n: int, seed: int, bounds: tuple[float, float, float, float], n_clusters: int | None) -> _Layout:
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1]))
    minx, miny, maxx, maxy = bounds
    w, h = maxx - minx, maxy - miny
    k = int(n_clusters) if n_clusters is not None else int(np.clip(math.sqrt(max(n, 1)) / 4, 20, 5000))
    # centres: denser towards a city centre, the rest anywhere
    core = rng.random(k) < 0.6
    cx = np.where(core, rng.normal(minx + 0.5 * w, 0.18 * w, k), rng.uniform(minx, maxx, k))
    cy = np.where(core, rng.normal(miny + 0.5 * h, 0.18 * h, k), rng.uniform(miny, maxy, k))
    centres = np.column_stack([np.clip(cx, minx, maxx), np.clip(cy, miny, maxy)])
    weight = rng.lognormal(0.0, 1.2, k)
    # spread: tens to a few hundred metres; some elongated along a street
    sigma = np.clip(rng.lognormal(math.log(60.0), 0.6, k), 10.0, 400.0)
    aspect = np.where(rng.random(k) < 0.4, rng.uniform(2.0, 5.0, k), rng.uniform(1.0, 1.5, k))
    angle = rng.uniform(0.0, math.pi, k)
    return _Layout(
        centres=centres,
        cum_weight=np.cumsum(weight) / weight.sum(),
        sx=sigma * np.sqrt(aspect),
        sy=sigma / np.sqrt(aspect),
        cos=np.cos(angle),
        sin=np.sin(angle),
        cluster_fraction=0.7,
    )


def _check_large_args(n: object, bounds, n_clusters) -> tuple[int, tuple[float, float, float, float]]:
    if not isinstance(n, int | np.integer) or n < 0:
        raise ParameterError(f"n must be a non-negative integer; got {n!r}")
    b = DEFAULT_LARGE_BOUNDS if bounds is None else tuple(float(v) for v in bounds)
    if len(b) != 4 or not all(math.isfinite(v) for v in b) or b[2] <= b[0] or b[3] <= b[1]:
        raise ParameterError(f"bounds must be (min_x, min_y, max_x, max_y) with max > min; got {bounds!r}")
    if n_clusters is not None and (not isinstance(n_clusters, int | np.integer) or n_clusters < 1):
        raise ParameterError(f"n_clusters must be a positive integer; got {n_clusters!r}")
    return int(n), b  # type: ignore[return-value]


def _fill_chunk(out: np.ndarray, rng: np.random.Generator, lay: _Layout, bounds) -> None:
    """Fill ``out`` (m, 2) in place with clustered + background points."""
    m = len(out)
    minx, miny, maxx, maxy = bounds
    n_cl = int(rng.binomial(m, lay.cluster_fraction))
    label = np.searchsorted(lay.cum_weight, rng.random(n_cl), side="right")
    np.minimum(label, len(lay.cum_weight) - 1, out=label)
    z = rng.standard_normal((n_cl, 2))
    a = z[:, 0] * lay.sx[label]
    b = z[:, 1] * lay.sy[label]
    c, s = lay.cos[label], lay.sin[label]
    out[:n_cl, 0] = lay.centres[label, 0] + a * c - b * s
    out[:n_cl, 1] = lay.centres[label, 1] + a * s + b * c
    del z, a, b, c, s, label
    n_bg = m - n_cl
    half = n_bg // 2
    w, h = maxx - minx, maxy - miny
    out[n_cl:n_cl + half, 0] = rng.normal(minx + 0.5 * w, 0.25 * w, half)
    out[n_cl:n_cl + half, 1] = rng.normal(miny + 0.5 * h, 0.25 * h, half)
    out[n_cl + half:, 0] = rng.uniform(minx, maxx, n_bg - half)
    out[n_cl + half:, 1] = rng.uniform(miny, maxy, n_bg - half)
    # fold points that fell outside back in (clipping would pile them on the edges)
    for col, lo, hi in ((0, minx, maxx), (1, miny, maxy)):
        v = out[:, col]
        np.subtract(2 * lo, v, out=v, where=v < lo)
        np.subtract(2 * hi, v, out=v, where=v > hi)
        np.clip(v, lo, hi, out=v)


def _large_times(rng: np.random.Generator, m: int) -> np.ndarray:
    prof = np.asarray(_HOURS["theft"])
    cum = np.cumsum(prof) / prof.sum()
    hour = np.minimum(np.searchsorted(cum, rng.random(m), side="right"), 23)
    return rng.integers(0, 365, m) * 86400.0 + hour * 3600.0 + rng.random(m) * 3600.0


def iter_large_chunks(
    n: int,
    *,
    seed: int = 0,
    bounds: tuple[float, float, float, float] | None = None,
    n_clusters: int | None = None,
    chunk_size: int = 1_000_000,
    with_time: bool = False,
) -> Iterator[np.ndarray | tuple[np.ndarray, np.ndarray]]:
    """Yield the points of :func:`simulate_large` in chunks of at most ``chunk_size``.

    Same layout (cluster centres, sizes, shapes) for every chunk, so the concatenation
    is one city; each chunk draws from its own child seed, so the output depends on
    ``(n, seed, bounds, n_clusters, chunk_size)`` only. Memory is O(chunk_size).
    Yields ``(m, 2)`` float64 arrays, or ``(xy, t)`` pairs when ``with_time`` is true.
    """
    n, b = _check_large_args(n, bounds, n_clusters)
    if not isinstance(chunk_size, int | np.integer) or chunk_size < 1:
        raise ParameterError(f"chunk_size must be a positive integer; got {chunk_size!r}")
    lay = _large_layout(n, seed, b, n_clusters)
    n_chunks = max(1, math.ceil(n / chunk_size))
    children = np.random.SeedSequence([int(seed), 2]).spawn(n_chunks)
    for i in range(n_chunks):
        m = min(chunk_size, n - i * chunk_size)
        if m <= 0:
            return
        rng = np.random.default_rng(children[i])
        out = np.empty((m, 2), dtype=np.float64)
        _fill_chunk(out, rng, lay, b)
        yield (out, _large_times(rng, m)) if with_time else out


def simulate_large(
    n: int,
    *,
    seed: int = 0,
    bounds: tuple[float, float, float, float] | None = None,
    n_clusters: int | None = None,
    with_time: bool = False,
    chunk_size: int = 2_000_000,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` city-like incident points in metres, fast, for clustering benchmarks.

    About 70 % of the points fall in ``n_clusters`` Gaussian clusters (default
    ``clip(sqrt(n) / 4, 20, 5000)``) with log-normal sizes, spreads of 10-400 m and some
    elongated along a direction (like a street); cluster centres are denser towards the
    middle of ``bounds``. The rest is background: half a broad Gaussian over the centre,
    half uniform. Every point lies inside ``bounds``.

    Parameters
    ----------
    n : int
        Number of points (10 million take a few seconds and 160 MB).
    seed : int
        Seed: equal arguments give equal arrays.
    bounds : tuple of float, optional
        ``(min_x, min_y, max_x, max_y)`` in metres; default :data:`DEFAULT_LARGE_BOUNDS`,
        urban Hanoi in EPSG:3405 (VN-2000 / UTM 48N), so the points can be turned into
        lon/lat with ``pyproj`` (see :func:`write_large_geoparquet`).
    n_clusters : int, optional
        Number of clusters.
    with_time : bool
        Also return ``t`` (float64 seconds since the start of a 365-day year, daily rhythm
        of street crime) for spatio-temporal clustering.
    chunk_size : int
        Points generated per step (bounds the temporary memory). For more points than
        fit in memory use :func:`iter_large_chunks`.

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, numpy.ndarray)
        ``(n, 2)`` float64 x/y metres, and ``(n,)`` float64 seconds when ``with_time``.
    """
    n, b = _check_large_args(n, bounds, n_clusters)
    xy = np.empty((n, 2), dtype=np.float64)
    t = np.empty(n, dtype=np.float64) if with_time else None
    pos = 0
    for chunk in iter_large_chunks(n, seed=seed, bounds=b, n_clusters=n_clusters, chunk_size=chunk_size,
                                   with_time=with_time):
        part, times = chunk if with_time else (chunk, None)
        xy[pos:pos + len(part)] = part
        if t is not None:
            t[pos:pos + len(part)] = times
        pos += len(part)
    return (xy, t) if with_time else xy


def write_large_geoparquet(
    path: str | os.PathLike[str],
    n: int,
    *,
    seed: int = 0,
    partitions: int = 8,
    bounds: tuple[float, float, float, float] | None = None,
    n_clusters: int | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``n`` simulated incidents as a partitioned GeoParquet dataset (a folder).

    The points of :func:`simulate_large` (same arguments) become canonical incident rows:
    lon/lat Points (EPSG:4326), ``incident_id`` ``"syn-<seed>-<n>"``, a category drawn
    from the simulator's mix, ``occurred_at`` in 2025, ``source`` ``"synthetic"``,
    ``time_precision`` ``"exact"``, ``ward_id`` null. One file per partition,
    ``part.<i>.parquet``, written one at a time, so memory stays at one partition. Points use
    GeoParquet 1.1's native (GeoArrow) encoding, which reads without parsing WKB, with a bbox
    covering column. ``dask_geopandas.read_parquet(path)`` reads the folder.

    Parameters
    ----------
    path : str or Path
        Output folder (created). Must be empty or absent unless ``overwrite``.
    n : int
        Number of incidents.
    seed, bounds, n_clusters
        As for :func:`simulate_large`.
    partitions : int
        Number of files (fewer when ``n`` is smaller; one empty file when ``n == 0``).
    overwrite : bool
        Remove ``part.*.parquet`` files already in ``path`` first.

    Returns
    -------
    list of Path
        The files written, in order.
    """
    n, b = _check_large_args(n, bounds, n_clusters)
    if not isinstance(partitions, int | np.integer) or partitions < 1:
        raise ParameterError(f"partitions must be a positive integer; got {partitions!r}")
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ParameterError(f"{folder} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(folder.iterdir())
    if existing:
        if not overwrite:
            raise ParameterError(f"{folder} is not empty; pass overwrite=True to replace its part.*.parquet files")
        others = [p.name for p in existing if not re.fullmatch(r"part\.\d+\.parquet", p.name)]
        if others:
            raise ParameterError(f"{folder} holds files other than part.*.parquet ({', '.join(others[:5])}); "
                                 "refusing to overwrite")
        for p in existing:
            p.unlink()
    to_lonlat = Transformer.from_crs(LARGE_CRS, WGS84, always_xy=True)
    codes = np.asarray(CATEGORY_CODES, dtype=object)
    mix = np.array([_SPEC_BY_CODE[c].per_ward for c in CATEGORY_CODES], dtype=float)
    mix_cum = np.cumsum(mix) / mix.sum()
    year_start = pd.Timestamp("2025-01-01", tz=_TIMEZONE).tz_convert("UTC").value  # ns
    chunk = max(1, math.ceil(n / partitions))
    written: list[Path] = []
    offset = 0
    cat_rng = np.random.default_rng(np.random.SeedSequence([int(seed), 3]))
    for i, (xy, t) in enumerate(iter_large_chunks(n, seed=seed, bounds=b, n_clusters=n_clusters,
                                                  chunk_size=chunk, with_time=True)):
        m = len(xy)
        lon, lat = to_lonlat.transform(xy[:, 0], xy[:, 1])
        cat = codes[np.minimum(np.searchsorted(mix_cum, cat_rng.random(m), side="right"), len(codes) - 1)]
        ids = pd.Series(np.arange(offset, offset + m)).astype(str).str.zfill(6)
        frame = gpd.GeoDataFrame(
            {
                "incident_id": ("syn-" + str(int(seed)) + "-" + ids).astype(object).to_numpy(),
                "category": cat,
                "category_raw": cat,
                "occurred_at": pd.to_datetime(year_start + (t * 1e9).astype(np.int64), utc=True),
                "time_precision": np.full(m, "exact", dtype=object),
                "severity": np.full(m, np.nan),
                "description": np.full(m, None, dtype=object),
                "source": np.full(m, SYNTHETIC_SOURCE, dtype=object),
                "ward_id": np.full(m, None, dtype=object),
            },
            geometry=gpd.points_from_xy(lon, lat),
            crs=WGS84,
        )[list(INCIDENT_COLUMNS)]
        target = folder / f"part.{i}.parquet"
        frame.to_parquet(target, index=False, write_covering_bbox=True, geometry_encoding="geoarrow")
        written.append(target)
        offset += m
    if n == 0:
        target = folder / "part.0.parquet"
        conform_incidents(gpd.GeoDataFrame({c: [] for c in INCIDENT_COLUMNS if c != "geometry"},
                                           geometry=[], crs=WGS84)).to_parquet(target, index=False)
        written.append(target)
    return written
