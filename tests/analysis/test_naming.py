"""Place names of hotspot polygons, on the real central-Hanoi streets and bus stops.

Test polygons are built around real street positions in Phường Hoàn Kiếm, found through
the street lines' names (never hard-coded coordinates of streets), and around two points
in Hoàn Kiếm lake whose distance to the nearest named street and bus stop the tests check.
"""

from __future__ import annotations

import re
import time
import unicodedata
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.ops
from pyproj import Transformer

from ward_geo import settings, streets
from ward_geo.analysis.naming import STREET_RADIUS_M, _short_second, place_names
from ward_geo.errors import InputError, ParameterError

#: VN-2000 / UTM zone 48N, the metric CRS ward_geo uses in Hanoi.
METRIC = "EPSG:3405"
HANG_BAC = "Phố Hàng Bạc"
MA_MAY = "Phố Mã Mây"
#: The middle of Hoàn Kiếm lake (lon, lat): no named street within 40 m, a bus stop within 200 m.
LAKE_CENTRE = (105.8524, 21.0287)
#: A point in the east of the lake with no bus stop within 200 m.
LAKE_EAST = (105.85322, 21.02996)

_TO_METRIC = Transformer.from_crs("EPSG:4326", METRIC, always_xy=True)


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory, streets_osm_path: Path) -> nx.MultiDiGraph:
    """The street graph, parsed once for this module (in its own cache folder)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WARD_GEO_CACHE_DIR", str(tmp_path_factory.mktemp("naming_cache")))
        settings.reset_settings()
        try:
            return streets.load_street_graph(streets_osm_path)
        finally:
            settings.reset_settings()


@pytest.fixture(scope="module")
def edges(graph: nx.MultiDiGraph) -> gpd.GeoDataFrame:
    """Named and unnamed street lines in EPSG:4326 (tests must not modify it)."""
    return streets.street_edges(graph)


@pytest.fixture(scope="module")
def named_m(edges: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The named street lines in metres."""
    return edges[edges["name"].notna()].to_crs(METRIC)


@pytest.fixture(scope="module")
def bus_stops(bus_stops_path: Path) -> gpd.GeoDataFrame:
    return streets.read_bus_stops(bus_stops_path)


def _line(named_m: gpd.GeoDataFrame, name: str) -> shapely.Geometry:
    lines = named_m.loc[named_m["name"] == name, "geometry"].to_numpy()
    assert len(lines), f"{name} is not in the street file"
    return shapely.line_merge(shapely.union_all(lines))


def _mid_block(named_m: gpd.GeoDataFrame, name: str) -> shapely.Point:
    """The point of street ``name`` farthest from every other named street."""
    line = _line(named_m, name)
    others = shapely.union_all(named_m.loc[named_m["name"] != name, "geometry"].to_numpy())
    others = shapely.intersection(others, shapely.buffer(line, 300))
    samples = shapely.line_interpolate_point(line, np.linspace(0.0, 1.0, 201), normalized=True)
    return samples[int(np.argmax(shapely.distance(samples, others)))]


def _crossing(named_m: gpd.GeoDataFrame, a: str, b: str) -> shapely.Point:
    meet = shapely.intersection(_line(named_m, a), _line(named_m, b))
    assert not meet.is_empty, f"{a} and {b} do not meet"
    return shapely.get_parts(meet)[0]


def _circle(point: shapely.Point, radius: float = 25.0) -> shapely.Geometry:
    return shapely.buffer(point, radius)


def _series(*geoms: shapely.Geometry, crs: str = "EPSG:4326") -> gpd.GeoSeries:
    """Metric geometries as a GeoSeries in ``crs``."""
    return gpd.GeoSeries(list(geoms), crs=METRIC).to_crs(crs)


def _lake(lonlat: tuple[float, float]) -> shapely.Point:
    return shapely.Point(*_TO_METRIC.transform(*lonlat))


def _near(point: shapely.Point, street: shapely.Geometry, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` points within 5 m of the street point nearest to ``point`` (metric x, y)."""
    on = shapely.get_coordinates(shapely.ops.nearest_points(street, point)[0])[0]
    return on + rng.uniform(-3.0, 3.0, size=(k, 2))


# --- street names -------------------------------------------------------------------


def test_point_on_hang_bac_is_named_after_it(edges, named_m):
    spot = _mid_block(named_m, HANG_BAC)
    assert place_names(_series(_circle(spot)), edges) == [HANG_BAC]


def test_intersection_names_both_streets(edges, named_m):
    corner = _crossing(named_m, HANG_BAC, MA_MAY)
    # Hàng Bạc runs on both sides of the T-junction, Mã Mây leaves it to the north only
    assert place_names(_series(_circle(corner)), edges) == ["Phố Hàng Bạc – Mã Mây"]
    assert "\u2013" in place_names(_series(_circle(corner, 15.0)), edges)[0]


def test_names_do_not_depend_on_the_crs(edges, named_m):
    polys = [_circle(_mid_block(named_m, HANG_BAC)), _circle(_crossing(named_m, HANG_BAC, MA_MAY))]
    expected = place_names(_series(*polys), edges)
    assert place_names(_series(*polys, crs=METRIC), edges) == expected
    assert place_names(gpd.GeoDataFrame(geometry=_series(*polys, crs="EPSG:32648")), edges.to_crs(METRIC)) == expected


def test_member_points_vote_for_the_street(edges, named_m):
    rng = np.random.default_rng(3)
    spot = _mid_block(named_m, HANG_BAC)
    hang_bac, ma_may = _line(named_m, HANG_BAC), _line(named_m, MA_MAY)
    on_ma_may = _mid_block(named_m, MA_MAY)
    poly = _series(_circle(spot, 120.0), crs=METRIC)  # polygon and members in EPSG:3405
    few = np.vstack([_near(spot, hang_bac, 8, rng), _near(on_ma_may, ma_may, 2, rng)])  # 20 %
    share = np.vstack([_near(spot, hang_bac, 7, rng), _near(on_ma_may, ma_may, 3, rng)])  # 30 %
    most = np.vstack([_near(spot, hang_bac, 3, rng), _near(on_ma_may, ma_may, 7, rng)])
    assert place_names(poly, edges, points=[few]) == [HANG_BAC]
    assert place_names(poly, edges, points=[share]) == ["Phố Hàng Bạc – Mã Mây"]
    assert place_names(poly, edges, points=[most]) == ["Phố Mã Mây – Hàng Bạc"]


def test_points_accept_geoseries_arrays_and_shapely_points(edges, named_m):
    rng = np.random.default_rng(5)
    spot = _mid_block(named_m, MA_MAY)
    xy = _near(spot, _line(named_m, MA_MAY), 12, rng)
    poly = _series(_circle(spot))  # EPSG:4326
    as_series = gpd.GeoSeries(shapely.points(xy), crs=METRIC)
    lonlat = shapely.get_coordinates(as_series.to_crs(4326).to_numpy())
    answers = [
        place_names(poly, edges, points=[as_series]),
        place_names(poly, edges, points=[lonlat]),  # arrays are in the polygons' CRS
        place_names(poly, edges, points=[shapely.points(lonlat)]),
        place_names(poly, edges, points=pd.Series([as_series.to_crs(4326)])),
    ]
    assert answers == [[MA_MAY]] * 4
    # an empty or missing entry names the polygon from its shape
    assert place_names(poly, edges, points=[np.empty((0, 2))]) == [MA_MAY]
    assert place_names(poly, edges, points=[None]) == [MA_MAY]


def test_generic_prefix_rule():
    assert _short_second("Phố Hàng Bạc", "Phố Mã Mây") == "Mã Mây"
    assert _short_second("Đường Độc Lập", "Phố Bắc Sơn") == "Bắc Sơn"
    assert _short_second("Phố Hàng Bạc", "Ngõ Hồ Bãi Cát") == "Hồ Bãi Cát"
    assert _short_second("Hàng Bạc", "Phố Mã Mây") == "Phố Mã Mây"  # the first has no prefix
    assert _short_second("Phố Hàng Bạc", "Cầu Thê Húc") == "Cầu Thê Húc"
    assert _short_second("Phố Khâm Thiên", "Ngõ 176") == "Ngõ 176"  # "176" alone names nothing
    assert _short_second("Phố Hàng Bạc", "Phố") == "Phố"


# --- uniqueness ---------------------------------------------------------------------


def _cross_streets_at_nodes(edges: gpd.GeoDataFrame, name: str) -> dict[int, list[str]]:
    """Graph nodes where another named street meets ``name`` -> those streets' names."""
    named = edges[edges["name"].notna()]
    on_street = set(named.loc[named["name"] == name, ["u", "v"]].to_numpy().ravel())
    out: dict[int, set[str]] = {}
    for u, v, other in named.loc[named["name"] != name, ["u", "v", "name"]].itertuples(index=False):
        for node in (u, v):
            if node in on_street:
                out.setdefault(int(node), set()).add(other)
    return {node: sorted(names) for node, names in out.items()}


def test_equal_names_get_the_nearest_cross_street_then_a_number(graph, edges, named_m):
    spot = _mid_block(named_m, HANG_BAC)
    hang_bac = _line(named_m, HANG_BAC)
    along = [shapely.line_interpolate_point(hang_bac, hang_bac.project(spot) + d) for d in (0.0, 6.0, -6.0)]
    names = place_names(_series(*[_circle(p, 20.0) for p in along]), edges)

    # the expected cross street, found from the graph's nodes rather than line geometry
    crossings = _cross_streets_at_nodes(edges, HANG_BAC)
    nodes = streets.street_nodes(graph).set_index("osmid").to_crs(METRIC)
    dist = {n: nodes.geometry.loc[n].distance(along[1]) for n in crossings}
    nearest = min(dist, key=lambda n: (dist[n], crossings[n][0]))
    cross = crossings[nearest][0].removeprefix("Phố ")

    assert names == [HANG_BAC, f"{HANG_BAC} (gần {cross})", f"{HANG_BAC} (gần {cross}) (2)"]
    assert len(set(names)) == 3
    en = place_names(_series(*[_circle(p, 20.0) for p in along]), edges, lang="en")
    assert en == [HANG_BAC, f"{HANG_BAC} (near {cross})", f"{HANG_BAC} (near {cross}) (2)"]


def test_first_in_input_order_keeps_the_plain_name(edges, named_m):
    spot = _mid_block(named_m, HANG_BAC)
    corner = _crossing(named_m, HANG_BAC, MA_MAY)
    polys = [_circle(corner), _circle(spot), _circle(spot, 22.0)]
    names = place_names(_series(*polys), edges)
    assert names[:2] == ["Phố Hàng Bạc – Mã Mây", HANG_BAC]
    assert names[2].startswith(f"{HANG_BAC} (gần ")
    names = place_names(_series(*polys[::-1]), edges)
    assert names[0] == HANG_BAC and names[1].startswith(f"{HANG_BAC} (gần ")


def test_identical_coordinate_names_are_numbered(edges):
    lake = _circle(_lake(LAKE_CENTRE), 15.0)
    assert place_names(_series(lake, lake, lake), edges) == [
        "21.02870, 105.85240",
        "21.02870, 105.85240 (2)",
        "21.02870, 105.85240 (3)",
    ]


# --- fallbacks ----------------------------------------------------------------------


def test_lake_centre_falls_back_to_the_nearest_bus_stop(edges, named_m, bus_stops):
    centre = _lake(LAKE_CENTRE)
    lake = _circle(centre, 15.0)
    assert named_m.distance(lake).min() > STREET_RADIUS_M  # the precondition of the test
    stops = bus_stops[bus_stops["name"].notna()].to_crs(METRIC)
    d = stops.distance(lake)
    assert d.min() < 200.0
    stop = stops.loc[d.idxmin(), "name"]
    assert place_names(_series(lake), edges, landmarks=bus_stops) == [f"gần {stop}"]
    assert place_names(_series(lake), edges, landmarks=bus_stops, lang="en") == [f"near {stop}"]
    # member points in the lake fall back the same way
    points = [shapely.get_coordinates(centre) + np.array([[0.0, 0.0], [5.0, 5.0], [-5.0, 3.0]])]
    assert place_names(_series(lake, crs=METRIC), edges, points=points, landmarks=bus_stops) == [f"gần {stop}"]


def test_no_street_and_no_landmark_gives_coordinates(edges, named_m, bus_stops):
    east = _circle(_lake(LAKE_EAST), 10.0)
    assert named_m.distance(east).min() > STREET_RADIUS_M
    assert bus_stops.to_crs(METRIC).distance(east).min() > 200.0
    names = place_names(_series(east, _circle(_lake(LAKE_CENTRE), 15.0)), edges, landmarks=bus_stops)
    assert names[0] == "21.02996, 105.85322"
    assert re.fullmatch(r"\d{2}\.\d{5}, \d{3}\.\d{5}", names[0])
    assert names[1].startswith("gần ")
    assert place_names(_series(_circle(_lake(LAKE_CENTRE), 15.0)), edges) == ["21.02870, 105.85240"]


# --- text and determinism -------------------------------------------------------------


def test_vietnamese_text_is_nfc_even_from_nfd_input(edges, named_m, bus_stops):
    polys = _series(
        _circle(_mid_block(named_m, HANG_BAC)),
        _circle(_crossing(named_m, HANG_BAC, MA_MAY)),
        _circle(_lake(LAKE_CENTRE), 15.0),
    )
    expected = place_names(polys, edges, landmarks=bus_stops)
    def nfd(names: pd.Series) -> list[object]:
        return [unicodedata.normalize("NFD", n) if isinstance(n, str) else n for n in names]

    nfd_edges = edges.assign(name=nfd(edges["name"]))
    nfd_stops = bus_stops.assign(name=nfd(bus_stops["name"]))
    assert unicodedata.normalize("NFD", HANG_BAC) != HANG_BAC
    assert HANG_BAC not in set(nfd_edges["name"].dropna())
    got = place_names(polys, nfd_edges, landmarks=nfd_stops)
    assert got == expected
    assert all(unicodedata.is_normalized("NFC", n) for n in got)
    assert got[0] == "Ph\u1ed1 H\u00e0ng B\u1ea1c"  # "Phố Hàng Bạc", precomposed letters
    assert got[2].startswith("g\u1ea7n ")  # "gần"


def test_street_row_order_does_not_matter(edges, named_m, bus_stops):
    spot = _mid_block(named_m, HANG_BAC)
    hang_bac = _line(named_m, HANG_BAC)
    polys = _series(
        _circle(spot),
        _circle(shapely.line_interpolate_point(hang_bac, hang_bac.project(spot) + 5.0)),
        _circle(_crossing(named_m, HANG_BAC, MA_MAY)),
        _circle(_mid_block(named_m, MA_MAY), 40.0),
        _circle(_lake(LAKE_CENTRE), 15.0),
    )
    expected = place_names(polys, edges, landmarks=bus_stops)
    for seed in (1, 2):
        shuffled = edges.sample(frac=1.0, random_state=seed)
        assert place_names(polys, shuffled, landmarks=bus_stops.sample(frac=1.0, random_state=seed)) == expected
    assert place_names(polys, edges.iloc[::-1], landmarks=bus_stops) == expected
    # one direction of each two-way street is enough: duplicates count once
    assert place_names(polys, edges.drop_duplicates(["name", "length"]), landmarks=bus_stops)[:3] == expected[:3]


def test_thirty_polygons_are_fast(edges, named_m, bus_stops):
    rng = np.random.default_rng(11)
    picks = rng.choice(len(named_m), size=30, replace=False)
    centres = [
        shapely.line_interpolate_point(named_m.geometry.iloc[i], 0.5, normalized=True) for i in picks
    ]
    polys = _series(*[_circle(c, 35.0) for c in centres])
    members = [
        gpd.GeoSeries(shapely.points(shapely.get_coordinates(c) + rng.normal(0, 12, (40, 2))), crs=METRIC)
        if k % 2
        else None
        for k, c in enumerate(centres)
    ]
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        names = place_names(polys, edges, points=members, landmarks=bus_stops)
        timings.append(time.perf_counter() - start)
    assert len(names) == 30 and len(set(names)) == 30
    assert min(timings) <= 0.2, timings


def test_no_polygons_give_no_names(edges):
    assert place_names(gpd.GeoSeries([], crs="EPSG:4326"), edges) == []


# --- errors ----------------------------------------------------------------------------


def test_clear_errors(edges, named_m, bus_stops):
    poly = _series(_circle(_mid_block(named_m, HANG_BAC)))
    with pytest.raises(InputError, match="polygons have no CRS"):
        place_names(gpd.GeoSeries(poly.to_numpy()), edges)
    with pytest.raises(InputError, match="streets have no CRS"):
        place_names(poly, gpd.GeoDataFrame(edges[["name"]], geometry=edges.geometry.to_numpy()))
    with pytest.raises(InputError, match="streets have no 'name' column"):
        place_names(poly, edges.drop(columns="name"))
    with pytest.raises(InputError, match="landmarks have no 'name' column"):
        place_names(poly, edges, landmarks=bus_stops.drop(columns="name"))
    with pytest.raises(InputError, match="points has 2 entries but there are 1 polygons"):
        place_names(poly, edges, points=[None, None])
    with pytest.raises(InputError, match="one entry"):
        place_names(poly, edges, points=gpd.GeoSeries([shapely.Point(0, 0)], crs=4326))
    with pytest.raises(InputError, match=r"points\[0\] has no CRS"):
        place_names(poly, edges, points=[gpd.GeoSeries([shapely.Point(105.85, 21.03)])])
    with pytest.raises(InputError, match=r"points\[0\] must be an \(n, 2\) array"):
        place_names(poly, edges, points=[np.zeros((3, 3))])
    with pytest.raises(InputError, match="no geometry"):
        place_names(gpd.GeoSeries([poly.iloc[0], None], crs=4326), edges)
    with pytest.raises(InputError, match="GeoDataFrame or GeoSeries"):
        place_names([poly.iloc[0]], edges)
    with pytest.raises(ParameterError, match="lang"):
        place_names(poly, edges, lang="fr")
