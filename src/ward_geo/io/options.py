"""How to read a file: the options the incident and boundary readers share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

__all__ = ["ReaderOptions"]


@dataclass(frozen=True)
class ReaderOptions:
    """Options of :func:`~ward_geo.io.incidents.read_incidents` and :func:`~ward_geo.io.boundaries.read_boundaries`.

    One object the library, the command line and the API pass to the readers. Every
    field defaults to ``None`` (found by name or taken from the settings); a keyword
    given to a reader beside ``options=`` wins over the field of the same name.

    Attributes
    ----------
    lon, lat : str or None
        Coordinate columns of a table.
    crs : CRS-like or None
        CRS of coordinates whose file declares none (default: degrees, EPSG:4326).
    id_field, category_field, time_field : str or None
        Columns holding the id, the category and the time of an incident.
    name_field : str or None
        Column holding a ward's name (boundaries).
    category : str or None
        Category code given to every row of a single-category file.
    category_map : mapping or None
        Extra ``{raw value: category code}`` pairs, tried before the built-in vocabulary.
    timezone : str or None
        IANA zone of naive times (default: the ``timezone`` setting).
    source : str or None
        Value of the ``source`` column and the report's name (default: the file name).
    layer : str, int or None
        Layer of a multi-layer file.
    region : (min_lon, min_lat, max_lon, max_lat) or None
        Declared region of the data, used to detect swapped latitude and longitude.
    format : {"geojson", "csv", "vector"} or None
        Read with this parser only (for data from untrusted senders).
    """

    lon: str | None = None
    lat: str | None = None
    crs: Any = None
    id_field: str | None = None
    category_field: str | None = None
    time_field: str | None = None
    name_field: str | None = None
    category: str | None = None
    category_map: Mapping[str, str] | None = None
    timezone: str | None = None
    source: str | None = None
    layer: str | int | None = None
    region: Sequence[float] | None = None
    format: str | None = None

    def merged(self, **keywords: Any) -> ReaderOptions:
        """These options with every keyword that is not ``None`` replacing its field.

        Raises
        ------
        TypeError
            A keyword that is not a field.
        """
        names = {f.name for f in fields(self)}
        unknown = sorted(set(keywords) - names)
        if unknown:
            raise TypeError(f"unknown reader option(s): {', '.join(unknown)}")
        given = {k: v for k, v in keywords.items() if v is not None}
        return replace(self, **given) if given else self
