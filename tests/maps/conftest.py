"""Fixtures for map tests: real Hanoi boundaries and streets, incidents inside real wards."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

from ._maps_data import DEMO_WARDS, read_hanoi_boundaries, with_payloads


@pytest.fixture(scope="session")
def boundaries(hanoi_boundaries_path: Path) -> gpd.GeoDataFrame:
    return read_hanoi_boundaries(hanoi_boundaries_path)


@pytest.fixture(scope="session")
def street_graph(streets_osm_path: Path):
    from ward_geo.streets import load_street_graph

    return load_street_graph(streets_osm_path, cache=False)


@pytest.fixture(scope="session")
def streets(street_graph) -> gpd.GeoDataFrame:
    from ward_geo.streets import street_edges

    return street_edges(street_graph)


@pytest.fixture(scope="session")
def incidents(boundaries: gpd.GeoDataFrame, street_graph) -> gpd.GeoDataFrame:
    """A simulated year in three central wards, with XSS payloads as the first descriptions in Hoàn Kiếm."""
    from ward_geo.synth import simulate

    sim = simulate(boundaries, ward_ids=DEMO_WARDS, graph=street_graph, seed=3)
    return with_payloads(sim, "phuong-hoan-kiem")


@pytest.fixture(scope="session")
def hotspots(incidents: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    from ward_geo.analysis.hotspots import find_hotspots

    return find_hotspots(incidents, boundaries)
