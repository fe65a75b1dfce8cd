"""The street graph and bus stops, loaded from the real central-Hanoi OSM extract."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from ward_geo import settings, streets
from ward_geo.errors import ConfigurationError, InputError, NotFoundError, ParameterError


@pytest.fixture(scope="module")
def graph_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder of this module, filled once by the ``graph`` fixture."""
    return tmp_path_factory.mktemp("street_cache")


@pytest.fixture(scope="module")
def graph(graph_cache: Path, streets_osm_path: Path) -> nx.MultiDiGraph:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WARD_GEO_CACHE_DIR", str(graph_cache))
        settings.reset_settings()
        try:
            return streets.load_street_graph(streets_osm_path)
        finally:
            settings.reset_settings()


@pytest.fixture
def warm_cache(graph: nx.MultiDiGraph, graph_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the settings at the module's cache, which already holds the parsed graph."""
    monkeypatch.setenv("WARD_GEO_CACHE_DIR", str(graph_cache))
    settings.reset_settings()
    return graph_cache


def test_graph_is_unprojected_osmnx_graph(graph: nx.MultiDiGraph) -> None:
    assert graph.graph["crs"].lower() == "epsg:4326"
    assert graph.graph["simplified"] is True
    assert graph.graph["attribution"] == streets.OSM_ATTRIBUTION == "© OpenStreetMap contributors"
    # the extract's 19,619 raw nodes simplify to a few thousand intersections / dead ends
    assert 5_000 < graph.number_of_nodes() < 12_000
    assert graph.number_of_edges() > 15_000
    xs = np.array([d["x"] for _, d in graph.nodes(data=True)])
    ys = np.array([d["y"] for _, d in graph.nodes(data=True)])
    # the README's bbox of the extract: 21.008-21.042 N, 105.812-105.866 E (ways may reach a little beyond)
    assert 105.80 < np.median(xs) < 105.87 and 21.00 < np.median(ys) < 21.05
    for _, _, data in list(graph.edges(data=True))[:500]:
        assert {"length", "highway", "oneway"} <= set(data)
        assert isinstance(data["length"], float) and data["length"] > 0


def test_real_street_names_present(graph: nx.MultiDiGraph) -> None:
    names = {streets._first_name(d.get("name")) for _, _, d in graph.edges(data=True)}
    assert "Phố Tràng Tiền" in names
    assert "Phố Hàng Gai" in names
    assert any(n and n.startswith("Ngõ") for n in names)


def test_cached_load_returns_the_stored_graph(
    warm_cache: Path, graph: nx.MultiDiGraph, streets_osm_path: Path
) -> None:
    cache_dir = settings.get_settings().resolved_cache_dir / "streets"
    assert cache_dir.parent == warm_cache
    [cached] = list(cache_dir.glob(f"graph-{streets.file_sha256(streets_osm_path)[:32]}-all-v*.pickle"))
    stamp = cached.stat().st_mtime_ns
    again = streets.load_street_graph(streets_osm_path)
    assert cached.stat().st_mtime_ns == stamp  # read, not rebuilt and rewritten
    assert again is not graph
    assert again.graph["created_date"] == graph.graph["created_date"]
    assert again.number_of_nodes() == graph.number_of_nodes()
    assert again.number_of_edges() == graph.number_of_edges()
    # the default path is the same reference file, hence the same cache entry
    assert streets.load_street_graph().graph["created_date"] == graph.graph["created_date"]


def test_cache_is_keyed_by_content(tmp_path: Path, streets_osm_path: Path) -> None:
    small = tmp_path / "tiny.osm"
    small.write_text(
        """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
 <node id="1" lat="21.0300" lon="105.8500"/>
 <node id="2" lat="21.0305" lon="105.8500"/>
 <node id="3" lat="21.0310" lon="105.8500"/>
 <node id="4" lat="21.0305" lon="105.8507"/>
 <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/><tag k="name" v="Ngõ Thử"/></way>
 <way id="11"><nd ref="2"/><nd ref="4"/><tag k="highway" v="footway"/></way>
</osm>""",
        encoding="utf-8",
    )
    tiny = streets.load_street_graph(small)
    assert tiny.number_of_nodes() == 4
    edges = streets.street_edges(tiny)
    assert set(edges["highway"]) == {"residential", "footway"}
    assert "Ngõ Thử" in set(edges["name"].dropna())
    # rewriting the file with another street invalidates the cached graph
    small.write_text(small.read_text(encoding="utf-8").replace('v="footway"', 'v="service"'), encoding="utf-8")
    again = streets.load_street_graph(small)
    assert set(streets.street_edges(again)["highway"]) == {"residential", "service"}
    drive = streets.load_street_graph(small, network_type="drive")
    assert drive.number_of_edges() == again.number_of_edges()
    walk = streets.load_street_graph(small, network_type="walk")
    assert all(walk.has_edge(v, u) for u, v in walk.edges())  # every way walkable both ways
    # a damaged cache entry is rebuilt, not trusted
    key = streets.file_sha256(small)[:32]
    [cached] = list((settings.get_settings().resolved_cache_dir / "streets").glob(f"graph-{key}-all-v*.pickle"))
    cached.write_bytes(b"not a pickle")
    assert streets.load_street_graph(small).number_of_edges() == again.number_of_edges()
    assert cached.read_bytes() != b"not a pickle"


def test_drive_network(warm_cache: Path, streets_osm_path: Path, graph: nx.MultiDiGraph) -> None:
    drive = streets.load_street_graph(streets_osm_path, network_type="drive")
    highways = set(streets.street_edges(drive)["highway"])
    assert "footway" not in highways and "steps" not in highways
    assert {"primary", "secondary", "tertiary", "residential"} <= highways
    assert nx.is_weakly_connected(drive)
    assert drive.number_of_edges() < graph.number_of_edges()


def test_street_edges_frame(graph: nx.MultiDiGraph) -> None:
    edges = streets.street_edges(graph)
    assert edges.crs.to_epsg() == 4326
    assert len(edges) == graph.number_of_edges()
    assert set(edges.geom_type) == {"LineString"}
    assert {"u", "v", "key", "name", "highway", "oneway", "length"} <= set(edges.columns)
    assert edges["length"].gt(0).all()
    assert edges["oneway"].dtype == bool
    assert edges["highway"].map(type).eq(str).all()  # lists of merged ways are reduced to one class
    # the osmnx length (great-circle metres) agrees with the projected geometry length
    metric = edges.to_crs(3405)
    ratio = (metric.length / edges["length"]).median()
    assert 0.99 < ratio < 1.01


def test_street_nodes_frame(graph: nx.MultiDiGraph) -> None:
    nodes = streets.street_nodes(graph)
    assert nodes.crs.to_epsg() == 4326
    assert len(nodes) == graph.number_of_nodes()
    assert nodes["osmid"].is_unique
    assert nodes["street_count"].max() >= 4
    busy = nodes[nodes["highway_rank"] >= streets.HIGHWAY_RANK["tertiary"]]
    assert len(busy) > 300
    np.testing.assert_allclose(nodes.geometry.x, nodes["x"])


def test_bus_stops(bus_stops_path: Path) -> None:
    stops = streets.read_bus_stops(bus_stops_path)
    assert len(stops) == 3326
    assert stops.crs.to_epsg() == 4326
    assert list(stops.columns) == ["stop_id", "name", "geometry"]
    assert stops["stop_id"].is_unique
    central = streets.read_bus_stops(bus_stops_path, bbox=(105.812, 21.008, 105.866, 21.042))
    assert 100 < len(central) < 600
    default = streets.read_bus_stops()
    assert len(default) == 3326


def test_bus_stops_bad_geometry_listed(tmp_path: Path) -> None:
    bad = tmp_path / "stops.geojson"
    bad.write_text(
        '{"type":"FeatureCollection","features":['
        '{"type":"Feature","properties":{"id":1,"name":"A"},"geometry":{"type":"Point","coordinates":[105.85,21.03]}},'
        '{"type":"Feature","properties":{"id":2,"name":"B"},"geometry":{"type":"LineString","coordinates":[[105.85,21.03],[105.86,21.03]]}},'
        '{"type":"Feature","properties":{"id":3,"name":"C"},"geometry":null}]}',
        encoding="utf-8",
    )
    with pytest.raises(InputError) as info:
        streets.read_bus_stops(bad)
    message = str(info.value)
    assert "feature 1: geometry is LineString (expected a Point)" in message
    assert "feature 2: geometry is empty" in message


def test_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        streets.load_street_graph(tmp_path / "missing.osm")
    garbage = tmp_path / "garbage.osm"
    garbage.write_text("this is not xml <", encoding="utf-8")
    with pytest.raises(InputError, match="not valid OSM XML"):
        streets.load_street_graph(garbage, cache=False)
    empty = tmp_path / "empty.osm"
    empty.write_text('<?xml version="1.0"?><osm version="0.6"><node id="1" lat="21" lon="105"/></osm>', encoding="utf-8")
    with pytest.raises(InputError):
        streets.load_street_graph(empty, cache=False)
    with pytest.raises(ParameterError, match="network_type"):
        streets.load_street_graph(empty, network_type="bike")
    with pytest.raises(NotFoundError):
        streets.read_bus_stops(tmp_path / "none.geojson")
    monkeypatch.setenv("WARD_GEO_REFERENCE_DIR", str(tmp_path / "nowhere"))
    settings.reset_settings()
    with pytest.raises(ConfigurationError, match="does not exist"):
        streets.load_street_graph()


def test_edge_attributes_independent_of_merge_order(graph: nx.MultiDiGraph) -> None:
    """Simplified edges list merged ways' names/classes in no fixed order (it varies between
    processes); the frame must not depend on that order, or simulations would not repeat."""
    before = streets.street_edges(graph)
    shuffled = graph.copy()
    changed = 0
    for _, _, data in shuffled.edges(data=True):
        for attr in ("name", "highway", "oneway"):
            if isinstance(data.get(attr), list):
                data[attr] = list(reversed(data[attr]))
                changed += 1
    assert changed > 50
    after = streets.street_edges(shuffled)
    for col in ("name", "highway", "oneway", "length"):
        assert before[col].equals(after[col]), col
