"""The shared SQL builder: one statement per query, values only ever bound as parameters.

``query`` and ``count`` are written once in :class:`IncidentStore` over
:mod:`ward_geo.store.sql`; each backend gives only its :class:`Dialect`. These tests check
the statements both dialects build (text holds placeholders, never a value) and that
hostile filter values reach the database as data on every backend.
"""

from __future__ import annotations

import pytest
from _store_data import make_incidents

from ward_geo.store.base import IncidentStore
from ward_geo.store.filters import normalize_filters
from ward_geo.store.postgis import PostGISDialect
from ward_geo.store.sql import count_incidents, scope_counts, select_incidents
from ward_geo.store.sqlite import SQLiteDialect

HOSTILE = "x'); DROP TABLE incidents; --"
DIALECTS = [SQLiteDialect("rtree"), SQLiteDialect("lonlat"), PostGISDialect()]


@pytest.mark.parametrize("dialect", DIALECTS, ids=["sqlite-rtree", "sqlite-lonlat", "postgis"])
def test_statements_hold_placeholders_and_never_a_value(dialect):
    f = normalize_filters(
        ward_ids=[HOSTILE, "w2"], categories=[HOSTILE], since="2025-01-01T00:00:00Z",
        until="2025-02-01T00:00:00Z", bbox=(105.1, 21.2, 105.3, 21.4), limit=7, offset=3,
    )
    for build in (select_incidents, count_incidents, scope_counts):
        statement = build(dialect, f)
        assert "DROP" not in statement.text and "105.1" not in statement.text and "2025" not in statement.text
        assert statement.text.count(dialect.param) == len(statement.params)
        flat = [v for p in statement.params for v in (p if isinstance(p, list) else [p])]
        assert HOSTILE in flat
    paged = select_incidents(dialect, f)
    assert paged.params[-2:] == [7, 3]


@pytest.mark.parametrize("dialect", DIALECTS, ids=["sqlite-rtree", "sqlite-lonlat", "postgis"])
def test_offset_without_limit_binds_the_dialects_no_limit(dialect):
    statement = select_incidents(dialect, normalize_filters(offset=5))
    assert statement.params == [dialect.no_limit, 5]
    assert select_incidents(dialect, normalize_filters()).params == []


def test_both_backends_share_one_query_and_count():
    from ward_geo.store.postgis import PostGISStore
    from ward_geo.store.sqlite import SQLiteStore

    for cls in (SQLiteStore, PostGISStore):
        for name in ("query", "count", "get", "boundaries", "ward_counts"):
            assert getattr(cls, name) is getattr(IncidentStore, name), (cls.__name__, name)


def test_hostile_filter_values_are_data_on_every_backend(store):
    store.ingest(make_incidents(range(20)))
    assert len(store.query(ward_ids=[HOSTILE])) == 0
    assert store.count(categories=[HOSTILE, "theft"]) == store.count(categories=["theft"]) > 0
    assert store.count() == 20
    assert len(store.query(order="incident_id", limit=5, offset=2)) == 5
