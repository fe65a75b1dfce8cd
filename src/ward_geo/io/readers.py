"""The readers' public names, kept at their historical import path.

The readers live in one module per concern: :mod:`ward_geo.io.formats` (sniffing and
parsing files), :mod:`ward_geo.io.columns` (column discovery and category mapping),
:mod:`ward_geo.io.incidents` (:func:`read_incidents`, :func:`validate_incidents`),
:mod:`ward_geo.io.boundaries` (:func:`read_boundaries`), :mod:`ward_geo.io.ward_join`
(:func:`assign_wards`) and :mod:`ward_geo.io.options` (:class:`ReaderOptions`).
``from ward_geo.io.readers import read_incidents`` keeps working.
"""

from __future__ import annotations

from ward_geo.io.boundaries import read_boundaries
from ward_geo.io.columns import CATEGORY_NAMES, ID_NAMES, LAT_NAMES, LON_NAMES, TIME_NAMES, find_column
from ward_geo.io.formats import FORMATS, PathLike, Source
from ward_geo.io.incidents import read_incidents, validate_incidents
from ward_geo.io.options import ReaderOptions
from ward_geo.io.ward_join import assign_wards

__all__ = [
    "read_boundaries",
    "read_incidents",
    "validate_incidents",
    "assign_wards",
    "find_column",
    "ReaderOptions",
    "FORMATS",
    "PathLike",
    "Source",
    "LON_NAMES",
    "LAT_NAMES",
    "ID_NAMES",
    "CATEGORY_NAMES",
    "TIME_NAMES",
]
