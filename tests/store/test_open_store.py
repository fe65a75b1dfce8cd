"""open_store picks the implementation from the settings."""

from __future__ import annotations

import pytest
from _store_data import make_incidents
from _store_specs import PG_SKIP, PG_URL

from ward_geo.errors import ConfigurationError
from ward_geo.settings import Settings, get_settings
from ward_geo.store import open_store
from ward_geo.store.sqlite import SQLiteStore


def test_default_is_sqlite_in_the_data_dir():
    settings = get_settings()
    with open_store() as store:
        assert isinstance(store, SQLiteStore) and store.backend == "sqlite"
        assert store.path == settings.store_path
        assert store.path.parent == settings.data_dir
        store.ingest(make_incidents(range(3)))
    assert settings.store_path.exists()
    with open_store() as again:
        assert again.count() == 3


def test_sqlite_url_selects_that_file(tmp_path):
    target = tmp_path / "elsewhere" / "x.sqlite"
    with open_store(Settings(database_url=f"sqlite:///{target}")) as store:
        assert isinstance(store, SQLiteStore) and store.path == target
    assert target.exists()


def test_unknown_scheme_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="unsupported scheme 'mysql'"):
        open_store(Settings(database_url="mysql://u@h/db"))


@pytest.mark.postgis
@PG_SKIP
def test_postgresql_url_selects_postgis(monkeypatch):
    from ward_geo.settings import reset_settings
    from ward_geo.store.postgis import PostGISStore

    monkeypatch.setenv("WARD_GEO_DATABASE_URL", PG_URL)
    reset_settings()
    with open_store() as store:
        assert isinstance(store, PostGISStore) and store.backend == "postgis"
        assert store.schema == "ward_geo"
        assert store.count() >= 0


def test_filter_times_out_of_range_are_parameter_errors(tmp_path):
    import datetime as dt

    import pytest

    from ward_geo.errors import ParameterError
    from ward_geo.store.sqlite import SQLiteStore

    with SQLiteStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(ParameterError, match="since"):
            store.query(since=dt.datetime(1, 1, 1))
        with pytest.raises(ParameterError, match="until"):
            store.count(until="9999-12-31")
