"""Fixtures for the planning tests: a small hand-made street graph and the real Hanoi network."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest
from _planning_data import HAND_WARD, LAT0, LON0, STEP, _add_street, grid_node, make_incidents
from shapely.geometry import box

from ward_geo.schema import WGS84, conform_incidents


@pytest.fixture
def hand_graph() -> nx.MultiDiGraph:
    """A 5 x 5 street grid (~100 m blocks) plus a two-node street 600 m east that touches nothing.

    Street (0,0)->(1,0) is one-way (east-bound); everything else is two-way.
    """
    g = nx.MultiDiGraph(crs="epsg:4326")
    for i in range(5):
        for j in range(5):
            g.add_node(grid_node(i, j), x=LON0 + i * STEP, y=LAT0 + j * STEP, street_count=4)
    for i in range(5):
        for j in range(5):
            if i < 4:
                _add_street(g, grid_node(i, j), grid_node(i + 1, j), oneway=(i == 0 and j == 0))
            if j < 4:
                _add_street(g, grid_node(i, j), grid_node(i, j + 1))
    g.add_node(900, x=LON0 + 10 * STEP, y=LAT0 + 2 * STEP, street_count=1)
    g.add_node(901, x=LON0 + 10 * STEP, y=LAT0 + 3 * STEP, street_count=1)
    _add_street(g, 900, 901)
    return g


@pytest.fixture
def hand_boundaries() -> gpd.GeoDataFrame:
    """One ward covering the grid and the detached street."""
    poly = box(LON0 - 0.002, LAT0 - 0.002, LON0 + 11 * STEP, LAT0 + 6 * STEP)
    return gpd.GeoDataFrame(
        {"ward_id": [HAND_WARD], "name": ["Test ward"], "name_en": ["Test ward"],
         "population": pd.array([1000], dtype="Int64")},
        geometry=[poly], crs=WGS84,
    )


@pytest.fixture
def hand_incidents() -> gpd.GeoDataFrame:
    """Day-time hotspots at three grid nodes and one at the detached street; night-time ones elsewhere."""
    day = [9, 10, 11, 14]
    spots = [
        (LON0 + 1 * STEP, LAT0 + 1 * STEP, 40),
        (LON0 + 3 * STEP, LAT0 + 3 * STEP, 25),
        (LON0 + 4 * STEP, LAT0 + 0 * STEP, 15),
        (LON0 + 10 * STEP, LAT0 + 2.5 * STEP, 30),  # on the detached street
    ]
    night = make_incidents([(LON0 + 0 * STEP, LAT0 + 4 * STEP, 30)], [23, 0, 1], seed=1)
    night["incident_id"] = "n" + night["incident_id"].astype(str)
    return conform_incidents(pd.concat([make_incidents(spots, day), night], ignore_index=True))


# ---------------------------------------------------------------- real data


@pytest.fixture(scope="session")
def hanoi_boundaries(hanoi_boundaries_path: Path) -> gpd.GeoDataFrame:
    from ward_geo.io.readers import read_boundaries

    return read_boundaries(hanoi_boundaries_path)


@pytest.fixture(scope="session")
def hanoi_graph(streets_osm_path: Path) -> nx.MultiDiGraph:
    from ward_geo.streets import load_street_graph

    return load_street_graph(streets_osm_path, cache=False)


@pytest.fixture(scope="session")
def hoan_kiem_incidents(hanoi_boundaries: gpd.GeoDataFrame, hanoi_graph: nx.MultiDiGraph) -> gpd.GeoDataFrame:
    from ward_geo.synth import simulate

    return simulate(hanoi_boundaries, ward_ids=("phuong-hoan-kiem",), seed=3, graph=hanoi_graph)
