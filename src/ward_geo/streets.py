"""The street network and bus stops of the wards, from OpenStreetMap.

The street graph is built with :func:`osmnx.graph_from_xml` from an OSM XML extract (by
default the central-Hanoi extract in the reference data, ``streets/hanoi_center_2023-12-13.osm``),
simplified, and kept unprojected in EPSG:4326 with the usual osmnx attributes: nodes have
``x``/``y`` (lon/lat) and ``street_count``; edges have ``osmid``, ``highway``, ``name``,
``oneway``, ``length`` (metres) and, where curved, ``geometry``.

Parsing the XML takes a few seconds, so the graph is cached as a pickle under
``settings.resolved_cache_dir`` keyed by the SHA-256 of the file's content (and the
network type); a cached load takes a fraction of a second.

Data licence
------------
Street and bus-stop data are © OpenStreetMap contributors, available under the Open
Database Licence (ODbL 1.0). Anything that shows them (maps, exports, reports) must carry
:data:`OSM_ATTRIBUTION`.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from ward_geo.errors import ConfigurationError, InputError, NotFoundError, ParameterError
from ward_geo.schema import WGS84, nfc

if TYPE_CHECKING:
    from ward_geo.settings import Settings

__all__ = [
    "OSM_ATTRIBUTION",
    "OSM_LICENCE",
    "DEFAULT_STREETS_FILE",
    "DEFAULT_BUS_STOPS_FILE",
    "NETWORK_TYPES",
    "HIGHWAY_RANK",
    "load_street_graph",
    "street_edges",
    "street_nodes",
    "read_bus_stops",
    "file_sha256",
]

#: Attribution that must accompany anything showing OpenStreetMap data.
OSM_ATTRIBUTION = "© OpenStreetMap contributors"
#: Licence of OpenStreetMap data.
OSM_LICENCE = "ODbL 1.0"

#: Default street extract, relative to the reference data folder.
DEFAULT_STREETS_FILE: tuple[str, ...] = ("streets", "hanoi_center_2023-12-13.osm")
#: Default bus stops, relative to the reference data folder.
DEFAULT_BUS_STOPS_FILE: tuple[str, ...] = ("pois", "hanoi_bus_stops.geojson")

#: Accepted ``network_type`` values of :func:`load_street_graph`.
NETWORK_TYPES: tuple[str, ...] = ("all", "drive", "walk")

#: Importance of OSM ``highway`` classes (higher = busier); used to pick one class for
#: simplified edges that merge several ways.
HIGHWAY_RANK: dict[str, int] = {
    "motorway": 12, "trunk": 11, "primary": 10, "secondary": 9, "tertiary": 8,
    "motorway_link": 7, "trunk_link": 7, "primary_link": 7, "secondary_link": 6,
    "tertiary_link": 6, "unclassified": 5, "residential": 4, "living_street": 3,
    "service": 2, "pedestrian": 1, "footway": 0, "path": 0, "cycleway": 0, "steps": 0,
    "track": 0, "corridor": 0,
}

_NOT_DRIVABLE = frozenset({"footway", "path", "pedestrian", "steps", "cycleway", "bridleway", "corridor", "track"})
_CACHE_VERSION = 3


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's content (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _settings() -> Settings:  # imported lazily so settings are read at call time
    from ward_geo.settings import get_settings

    return get_settings()


def _resolve(path: str | os.PathLike[str] | None, default: tuple[str, ...], what: str) -> Path:
    if path is None:
        return _settings().reference_file(*default)
    resolved = Path(path)
    if not resolved.exists():
        raise NotFoundError(f"{what} file {resolved} does not exist")
    if not resolved.is_file():
        raise InputError(f"{what} path {resolved} is not a file")
    return resolved


def _highway_classes(value: object) -> list[str]:
    if isinstance(value, list | tuple | set):
        return [str(v) for v in value]
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [str(value)]


def _main_highway(value: object) -> str | None:
    """The most important highway class of an edge (lists come from simplification)."""
    classes = _highway_classes(value)
    if not classes:
        return None
    return max(sorted(classes), key=lambda c: HIGHWAY_RANK.get(c, -1))


def _first_name(value: object) -> str | None:
    """One name of an edge.

    Simplified edges list their ways' names in no fixed order, so the alphabetically first is
    taken (the same in every process).
    """
    if isinstance(value, list | tuple | set):
        names = sorted(str(nfc(str(v))) for v in value if v is not None)
        return names[0] if names else None
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(nfc(str(value)))


def _parse_graph(path: Path) -> nx.MultiDiGraph:
    """Parse and simplify every highway way of an OSM XML file (the ``"all"`` network)."""
    import osmnx as ox

    try:
        graph = ox.graph_from_xml(path, bidirectional=False, simplify=True, retain_all=False)
    except ET.ParseError as exc:
        raise InputError(f"street file {path} is not valid OSM XML: {exc}") from exc
    except (ValueError, KeyError) as exc:
        raise InputError(f"street file {path} could not be read as an OSM street network: {exc}") from exc
    if graph.number_of_edges() == 0:
        raise InputError(f"street file {path} holds no highway ways (expected OSM XML with highway=* ways)")
    for _, _, data in graph.edges(data=True):
        data["length"] = float(data["length"])
    nx.set_node_attributes(graph, ox.stats.count_streets_per_node(graph), name="street_count")
    graph.graph["source_file"] = path.name
    graph.graph["network_type"] = "all"
    graph.graph["attribution"] = OSM_ATTRIBUTION
    return graph


def _count_streets(graph: nx.MultiDiGraph) -> None:
    """Set ``street_count``: street segments meeting at each node (a two-way street counts once)."""
    segments: dict[int, set[tuple[int, int, int]]] = {n: set() for n in graph.nodes}
    for u, v, k in graph.edges(keys=True):
        seg = (min(u, v), max(u, v), k)
        segments[u].add(seg)
        segments[v].add(seg)
    counts = {n: len(s) + sum(1 for a, b, _ in s if a == b) for n, s in segments.items()}
    nx.set_node_attributes(graph, counts, name="street_count")


def _derive(full: nx.MultiDiGraph, network_type: str, path: Path) -> nx.MultiDiGraph:
    """The ``drive`` or ``walk`` network from the ``all`` network (no second XML parse)."""
    graph = full.copy()
    if network_type == "drive":
        drop = [
            (u, v, k)
            for u, v, k, data in graph.edges(keys=True, data=True)
            if all(c in _NOT_DRIVABLE for c in _highway_classes(data.get("highway")))
        ]
        graph.remove_edges_from(drop)
        graph.remove_nodes_from([n for n, deg in list(graph.degree()) if deg == 0])
        if graph.number_of_edges() == 0:
            raise InputError(f"street file {path} holds no drivable streets")
        largest = max(nx.weakly_connected_components(graph), key=len)
        graph = graph.subgraph(largest).copy()
    elif network_type == "walk":
        missing = [
            (u, v, data) for u, v, _, data in graph.edges(keys=True, data=True) if not graph.has_edge(v, u)
        ]
        for u, v, data in missing:
            back = dict(data)
            if "geometry" in back:
                back["geometry"] = shapely.reverse(back["geometry"])
            back["reversed"] = not bool(data.get("reversed", False))
            graph.add_edge(v, u, **back)
        for _, _, data in graph.edges(data=True):
            data["oneway"] = False
    _count_streets(graph)
    graph.graph["network_type"] = network_type
    return graph


def _read_cache(cache_file: Path) -> nx.MultiDiGraph | None:
    if not cache_file.exists():
        return None
    try:
        with open(cache_file, "rb") as fh:
            graph = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError):
        return None  # a damaged cache entry is rebuilt
    return graph if isinstance(graph, nx.MultiDiGraph) else None


def load_street_graph(
    path: str | os.PathLike[str] | None = None,
    *,
    network_type: str = "all",
    cache: bool = True,
) -> nx.MultiDiGraph:
    """Load the street network as an osmnx graph (EPSG:4326, unprojected).

    Parameters
    ----------
    path : str or Path, optional
        An OSM XML file with highway ways. Default: the central-Hanoi extract of the
        reference data (``settings.reference_file("streets", "hanoi_center_2023-12-13.osm")``).
    network_type : {"all", "drive", "walk"}
        ``"all"`` keeps every highway way as mapped (one-way streets stay one-way);
        ``"drive"`` drops footways, paths, steps, pedestrian, cycle ways and tracks and keeps
        the largest connected part; ``"walk"`` keeps everything and makes every edge
        two-way (``oneway`` False). ``drive`` and ``walk`` are derived from ``all``, and
        their node ``street_count`` counts only their own streets.
    cache : bool
        Read and write pickles under ``settings.resolved_cache_dir / "streets"`` keyed by
        the file's SHA-256 and ``network_type`` (a damaged entry is rebuilt).

    Returns
    -------
    networkx.MultiDiGraph
        osmnx graph; ``graph.graph["crs"] == "epsg:4326"``; nodes have ``x``, ``y`` and
        ``street_count``; edges carry ``length`` (m), ``highway``, ``name`` (when mapped),
        ``oneway`` and, when curved, ``geometry``.

    Raises
    ------
    NotFoundError
        ``path`` does not exist.
    ConfigurationError
        No path given and the reference data folder is not configured, or the cache
        folder is not writable.
    InputError
        The file is not OSM XML or holds no streets.
    ParameterError
        Unknown ``network_type``.
    """
    if network_type not in NETWORK_TYPES:
        raise ParameterError(f"network_type must be one of {', '.join(NETWORK_TYPES)}; got {network_type!r}")
    source = _resolve(path, DEFAULT_STREETS_FILE, "street")
    if not cache:
        full = _parse_graph(source)
        return full if network_type == "all" else _derive(full, network_type, source)
    folder = _settings().resolved_cache_dir / "streets"
    digest = file_sha256(source)[:32]

    def cache_file(kind: str) -> Path:
        return folder / f"graph-{digest}-{kind}-v{_CACHE_VERSION}.pickle"

    graph = _read_cache(cache_file(network_type))
    if graph is not None:
        return graph
    full = _read_cache(cache_file("all")) if network_type != "all" else None
    if full is None:
        full = _parse_graph(source)
        _write_cache(full, cache_file("all"))
    if network_type == "all":
        return full
    graph = _derive(full, network_type, source)
    _write_cache(graph, cache_file(network_type))
    return graph


def _write_cache(graph: nx.MultiDiGraph, cache_file: Path) -> None:
    """Write atomically (temp file + rename) so concurrent readers never see half a file."""
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_file.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(graph, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.chmod(tmp, 0o644)
        os.replace(tmp, cache_file)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write the street cache under {cache_file.parent} ({exc}); "
            "set WARD_GEO_CACHE_DIR to a writable folder or pass cache=False"
        ) from exc


def street_edges(graph: nx.MultiDiGraph) -> gpd.GeoDataFrame:
    """The graph's edges as a GeoDataFrame of LineStrings (EPSG:4326).

    Columns: ``u``, ``v``, ``key``, ``osmid``, ``name`` (str or null; the first name when a
    simplified edge merges several ways), ``highway`` (str; the busiest class of the edge),
    ``highway_raw`` (as in the graph, possibly a list), ``oneway`` (bool), ``length``
    (metres, float) and ``geometry``. One row per directed edge.
    """
    if graph.number_of_edges() == 0:
        raise InputError("the street graph has no edges")
    # built directly from the graph (no osmnx import: a cached graph loads and converts fast)
    us, vs, keys, osmids, names, highways, raw, oneways, lengths = ([] for _ in range(9))
    # an edge's shapely geometry, or its two end points when the graph stores none
    geoms: list[Any] = []
    node_xy = {n: (d["x"], d["y"]) for n, d in graph.nodes(data=True)}
    straight = []
    for u, v, k, data in graph.edges(keys=True, data=True):
        us.append(u)
        vs.append(v)
        keys.append(k)
        osmids.append(data.get("osmid"))
        names.append(_first_name(data.get("name")))
        highways.append(_main_highway(data.get("highway")))
        raw.append(data.get("highway"))
        oneway = data.get("oneway", False)
        oneways.append(all(bool(o) for o in oneway) if isinstance(oneway, list | tuple) else bool(oneway))
        lengths.append(float(data.get("length", np.nan)))
        geom = data.get("geometry")
        if geom is None:
            straight.append(len(geoms))
            geom = (node_xy[u], node_xy[v])
        geoms.append(geom)
    lines = np.empty(len(geoms), dtype=object)
    lines[:] = [g if not isinstance(g, tuple) else None for g in geoms]
    if straight:
        coords = np.array([geoms[i] for i in straight], dtype=np.float64)  # (m, 2, 2)
        lines[straight] = shapely.linestrings(coords)
    out = pd.DataFrame(
        {
            "u": np.asarray(us, dtype=np.int64),
            "v": np.asarray(vs, dtype=np.int64),
            "key": np.asarray(keys, dtype=np.int64),
            "osmid": pd.Series(osmids, dtype=object),
            "name": pd.Series(names, dtype=object),
            "highway": pd.Series(highways, dtype=object),
            "highway_raw": pd.Series(raw, dtype=object),
            "oneway": np.asarray(oneways, dtype=bool),
            "length": np.asarray(lengths, dtype=np.float64),
        }
    )
    return gpd.GeoDataFrame(out, geometry=lines, crs=WGS84)


def street_nodes(graph: nx.MultiDiGraph) -> gpd.GeoDataFrame:
    """The graph's nodes as a GeoDataFrame of Points (EPSG:4326).

    Columns: ``osmid`` (int), ``x``, ``y`` (lon/lat), ``street_count`` (streets meeting at
    the node), ``degree`` (edges in the directed graph), ``highway_rank`` (the busiest
    :data:`HIGHWAY_RANK` among the node's edges) and ``geometry``.
    """
    if graph.number_of_nodes() == 0:
        raise InputError("the street graph has no nodes")
    ids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
    xs = np.array([graph.nodes[n]["x"] for n in ids], dtype=np.float64)
    ys = np.array([graph.nodes[n]["y"] for n in ids], dtype=np.float64)
    street_count = np.array([graph.nodes[n].get("street_count", 0) for n in ids], dtype=np.int64)
    degree = np.array([graph.degree(n) for n in ids], dtype=np.int64)
    best: dict[int, int] = {}
    for u, v, data in graph.edges(data=True):
        rank = HIGHWAY_RANK.get(_main_highway(data.get("highway")) or "", -1)
        for node in (u, v):
            if rank > best.get(node, -1):
                best[node] = rank
    rank_arr = np.array([best.get(int(n), -1) for n in ids], dtype=np.int64)
    frame = pd.DataFrame(
        {"osmid": ids, "x": xs, "y": ys, "street_count": street_count, "degree": degree, "highway_rank": rank_arr}
    )
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(xs, ys), crs=WGS84)


def read_bus_stops(
    path: str | os.PathLike[str] | None = None, *, bbox: tuple[float, float, float, float] | None = None
) -> gpd.GeoDataFrame:
    """Read bus stops (OSM points) as a GeoDataFrame in EPSG:4326.

    Parameters
    ----------
    path : str or Path, optional
        GeoJSON (or any vector file) of Points with optional ``id`` and ``name``
        properties. Default: ``pois/hanoi_bus_stops.geojson`` in the reference data.
    bbox : tuple of float, optional
        ``(min_lon, min_lat, max_lon, max_lat)``: keep only stops inside.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``stop_id`` (str), ``name`` (str or null, NFC) and Point ``geometry``.

    Raises
    ------
    InputError
        The file cannot be read, has no CRS, or has non-point / empty geometries (every
        offending feature index is listed).
    """
    source = _resolve(path, DEFAULT_BUS_STOPS_FILE, "bus stop")
    try:
        frame = gpd.read_file(source)
    except Exception as exc:  # pyogrio raises its own types for unreadable files
        raise InputError(f"bus stop file {source} could not be read: {exc}") from exc
    if frame.crs is None:
        raise InputError(f"bus stop file {source} has no CRS (expected EPSG:4326 points)")
    problems = []
    geoms = frame.geometry
    for idx in np.flatnonzero(geoms.isna().to_numpy() | geoms.is_empty.to_numpy()):
        problems.append(f"feature {idx}: geometry is empty (expected a Point)")
    bad_type = geoms.notna().to_numpy() & ~geoms.is_empty.to_numpy() & (geoms.geom_type != "Point").to_numpy()
    for idx in np.flatnonzero(bad_type):
        problems.append(f"feature {idx}: geometry is {geoms.iloc[idx].geom_type} (expected a Point)")
    if problems:
        raise InputError(f"bus stop file {source}: " + "; ".join(problems[:50]), details={"problems": problems})
    frame = frame.to_crs(WGS84)
    if "id" in frame.columns:
        ids = [str(v) if pd.notna(v) else f"stop-{i}" for i, v in enumerate(frame["id"])]
    else:
        ids = [f"stop-{i}" for i in range(len(frame))]
    names = [nfc(v) if isinstance(v, str) else None for v in frame["name"]] if "name" in frame else [None] * len(frame)
    out = gpd.GeoDataFrame({"stop_id": ids, "name": names}, geometry=frame.geometry.to_numpy(), crs=WGS84)
    if bbox is not None:
        min_x, min_y, max_x, max_y = (float(b) for b in bbox)
        out = out.cx[min_x:max_x, min_y:max_y]
    return out.reset_index(drop=True)
