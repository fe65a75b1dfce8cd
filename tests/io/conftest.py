"""Fixtures for the io tests: the real Hanoi wards and small files written on the spot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest

from ward_geo.io.readers import read_boundaries



@pytest.fixture(scope="session")
def hanoi_wards(hanoi_boundaries_path: Path) -> gpd.GeoDataFrame:
    """The 126 Hanoi wards, read once per session (tests must not modify it)."""
    return read_boundaries(hanoi_boundaries_path)


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write ``text`` (a CSV body, header first) to a file in tmp_path and return its path."""

    def _write(text: str, name: str = "incidents.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return _write
