"""Store fixtures: one parametrized ``spec`` / ``store`` over every store implementation.

The PostGIS cases need a server: set ``WARD_GEO_TEST_DATABASE_URL`` (``scripts/postgis.sh
start`` prints one). Each PostGIS test works in its own schema, dropped afterwards.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _store_specs import PG_SKIP, PG_URL, StoreSpec  # noqa: E402


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=[pytest.mark.postgis, PG_SKIP])])
def spec(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        yield StoreSpec("sqlite", str(tmp_path / "store.sqlite"))
        return
    schema = f"test_{uuid.uuid4().hex[:12]}"
    spec = StoreSpec("postgis", PG_URL, schema)
    yield spec
    from ward_geo.store.postgis import PostGISStore

    cleanup = PostGISStore(PG_URL, schema=schema)
    cleanup.drop()
    cleanup.close()


@pytest.fixture
def store(spec: StoreSpec):
    s = spec.open()
    yield s
    s.close()


@pytest.fixture
def pg_spec():
    """A PostGIS-only spec (own schema, dropped afterwards); skipped without a server."""
    if not PG_URL:
        pytest.skip("WARD_GEO_TEST_DATABASE_URL is not set (start a server with scripts/postgis.sh start)")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    yield StoreSpec("postgis", PG_URL, schema)
    from ward_geo.store.postgis import PostGISStore

    cleanup = PostGISStore(PG_URL, schema=schema)
    cleanup.drop()
    cleanup.close()
