"""The incident statements every SQL backend runs, built once from :class:`QueryFilters`.

:func:`select_incidents`, :func:`count_incidents` and :func:`scope_counts` build the
``SELECT`` of :meth:`~ward_geo.store.base.IncidentStore.query`, ``count`` and
``scope_version``; a small :class:`Dialect` per backend supplies only what differs: the
placeholder, the table, the stored-row columns, how a list, a time and a bounding box are
tested and how ties are ordered. Every value of a filter is bound as a parameter; the
statement text holds only column names and placeholders, so request data never chooses
what the server evaluates.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from ward_geo.store.filters import BBox, QueryFilters

__all__ = [
    "Dialect",
    "Statement",
    "count_incidents",
    "scope_counts",
    "select_boundaries",
    "select_incident",
    "select_incidents",
    "select_ward_counts",
    "where_clause",
]


@dataclass(frozen=True)
class Statement:
    """SQL text and the values bound to its placeholders, in order."""

    text: str
    params: list[Any] = field(default_factory=list)


class Dialect(ABC):
    """What one SQL backend spells its own way."""

    #: Placeholder of the driver (``?`` for sqlite3, ``%s`` for psycopg).
    param: str = "?"
    #: The incidents table as it is named in statements.
    incidents: str = "incidents"
    #: The stored-row columns of a ``SELECT``, in ``ROW_FIELDS`` order.
    row_columns: str = ""
    #: The column numbering rows in insertion order.
    row_number: str = "id"
    #: Collation suffix that makes text order bytewise (empty where that is the default).
    bytewise: str = ""
    #: The LIMIT value meaning "no limit" (when only an offset is given).
    no_limit: Any = None
    #: The boundaries table as it is named in statements.
    boundaries: str = "boundaries"
    #: The ward geometry as WKB in a ``SELECT``.
    boundary_wkb: str = "geometry"

    @abstractmethod
    def in_list(self, column: str, values: tuple[str, ...]) -> Statement:
        """``column`` is one of ``values``."""

    @abstractmethod
    def time_value(self, us: int) -> Any:
        """The bound value of a time given in microseconds since 1970 UTC."""

    @abstractmethod
    def in_bbox(self, box: BBox) -> Statement:
        """The point lies inside ``box`` (edges included)."""

    def order_by(self, order: str | None) -> str:
        """The ``ORDER BY`` of a query order (ties broken by ``incident_id``)."""
        iid = f"incident_id{self.bytewise}"
        return {
            "occurred_at": f" ORDER BY occurred_at, {iid}",
            "-occurred_at": f" ORDER BY occurred_at DESC, {iid}",
            "incident_id": f" ORDER BY {iid}",
            None: f" ORDER BY {self.row_number}",
        }[order]


def where_clause(dialect: Dialect, f: QueryFilters) -> Statement:
    """`` WHERE ...`` of the row filters (empty text when there are none)."""
    parts: list[Statement] = []
    p = dialect.param
    if f.ward_ids is not None:
        parts.append(dialect.in_list("ward_id", f.ward_ids))
    if f.categories is not None:
        parts.append(dialect.in_list("category", f.categories))
    if f.since_us is not None:
        parts.append(Statement(f"occurred_at >= {p}", [dialect.time_value(f.since_us)]))
    if f.until_us is not None:
        parts.append(Statement(f"occurred_at < {p}", [dialect.time_value(f.until_us)]))
    if f.bbox is not None:
        parts.append(dialect.in_bbox(f.bbox))
    if not parts:
        return Statement("")
    return Statement(" WHERE " + " AND ".join(s.text for s in parts), [v for s in parts for v in s.params])


def select_incidents(dialect: Dialect, f: QueryFilters) -> Statement:
    """The statement of :meth:`IncidentStore.query`: stored rows, ordered and paged."""
    where = where_clause(dialect, f)
    text = f"SELECT {dialect.row_columns} FROM {dialect.incidents}{where.text}{dialect.order_by(f.order)}"
    params = list(where.params)
    if f.limit is not None or f.offset:
        text += f" LIMIT {dialect.param} OFFSET {dialect.param}"
        params += [dialect.no_limit if f.limit is None else f.limit, f.offset]
    return Statement(text, params)


def count_incidents(dialect: Dialect, f: QueryFilters) -> Statement:
    """The statement of :meth:`IncidentStore.count`."""
    where = where_clause(dialect, f)
    return Statement(f"SELECT count(*) FROM {dialect.incidents}{where.text}", where.params)


def scope_counts(dialect: Dialect, f: QueryFilters) -> Statement:
    """Number of matching rows and their largest row number (for :meth:`IncidentStore.scope_version`)."""
    where = where_clause(dialect, f)
    return Statement(f"SELECT count(*), max({dialect.row_number}) FROM {dialect.incidents}{where.text}", where.params)


def select_incident(dialect: Dialect, incident_id: str) -> Statement:
    """The stored row of one incident (for :meth:`IncidentStore.get`)."""
    text = f"SELECT {dialect.row_columns} FROM {dialect.incidents} WHERE incident_id = {dialect.param}"
    return Statement(text, [incident_id])


def select_boundaries(dialect: Dialect, ward_ids: tuple[str, ...] | None) -> Statement:
    """``(ward_id, name, name_en, population, wkb)`` of the stored wards (all when None), by ``ward_id``."""
    text = f"SELECT ward_id, name, name_en, population, {dialect.boundary_wkb} FROM {dialect.boundaries}"
    params: list[Any] = []
    if ward_ids is not None:
        wards = dialect.in_list("ward_id", ward_ids)
        text += f" WHERE {wards.text}"
        params = wards.params
    return Statement(f"{text} ORDER BY ward_id{dialect.bytewise}", params)


def select_ward_counts(dialect: Dialect) -> Statement:
    """The rows of :meth:`IncidentStore.ward_counts` (stored wards and wards incidents name)."""
    b, i = dialect.boundaries, dialect.incidents
    return Statement(
        "SELECT w.ward_id, b.name, b.area_km2, b.population, COALESCE(c.n, 0) FROM "
        f"(SELECT ward_id FROM {b} UNION SELECT ward_id FROM {i} WHERE ward_id IS NOT NULL) w "
        f"LEFT JOIN {b} b ON b.ward_id = w.ward_id "
        f"LEFT JOIN (SELECT ward_id, count(*) AS n FROM {i} GROUP BY ward_id) c ON c.ward_id = w.ward_id "
        f"ORDER BY w.ward_id{dialect.bytewise}"
    )
