"""Shared fixtures: where the real reference data lives.

The reference data folder is taken from ``WARD_GEO_REFERENCE_DIR`` or, failing that,
``../shared/data`` beside the repository. Tests that need it fail loudly when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _reference_dir() -> Path:
    env = os.environ.get("WARD_GEO_REFERENCE_DIR")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    path = _reference_dir()
    if not (path / "boundaries").is_dir():
        pytest.fail(f"reference data not found at {path}: set WARD_GEO_REFERENCE_DIR")
    return path


@pytest.fixture(scope="session")
def hanoi_boundaries_path(reference_dir: Path) -> Path:
    return reference_dir / "boundaries" / "hanoi_wards_2025.geojson"


@pytest.fixture(scope="session")
def streets_osm_path(reference_dir: Path) -> Path:
    return reference_dir / "streets" / "hanoi_center_2023-12-13.osm"


@pytest.fixture(scope="session")
def bus_stops_path(reference_dir: Path) -> Path:
    return reference_dir / "pois" / "hanoi_bus_stops.geojson"


@pytest.fixture(scope="session")
def incidents_dir(reference_dir: Path) -> Path:
    return reference_dir / "incidents"


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own data dir (never the repository's data/) and fresh settings."""
    from ward_geo import settings

    data_dir = tmp_path_factory.mktemp("ward_geo_data")
    monkeypatch.setenv("WARD_GEO_DATA_DIR", str(data_dir))
    monkeypatch.setenv("WARD_GEO_REFERENCE_DIR", str(_reference_dir()))
    monkeypatch.setenv("WARD_GEO_CACHE_DIR", str(_shared_cache_dir(tmp_path_factory)))
    monkeypatch.delenv("WARD_GEO_DATABASE_URL", raising=False)
    settings.reset_settings()
    yield
    settings.reset_settings()


_CACHE: dict[str, Path] = {}


def _shared_cache_dir(factory: pytest.TempPathFactory) -> Path:
    """One cache dir per test run, so parsed street graphs are reused between tests."""
    if "dir" not in _CACHE:
        _CACHE["dir"] = factory.mktemp("ward_geo_cache")
    return _CACHE["dir"]
