"""Stored hotspot sets: the record, and its serialisation written once for every backend.

A store keeps computed hotspot tables (:class:`HotspotSetRecord`) so that a result can be
served again without recomputing it. The features are serialised here, once
(:func:`encode_hotspot_features` / :func:`decode_hotspot_features`): each row's properties
as one JSON object, the geometry as WKB, and a column map (name and dtype of every column)
saved with the set so that decoding restores the dtypes.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ward_geo.errors import InputError, ParameterError, StoreError
from ward_geo.jsonsafe import json_safe as _shared_json_safe
from ward_geo.schema import WGS84
from ward_geo.store.filters import string_tuple, utc_timestamp

__all__ = [
    "HOTSPOT_SETS_KEPT",
    "HOTSPOT_SET_COLUMNS",
    "HOTSPOT_SET_FIELDS",
    "HotspotSetRecord",
    "PreparedHotspotSet",
    "decode_hotspot_features",
    "encode_hotspot_features",
    "hotspot_listing_from_rows",
    "hotspot_set_conflict",
    "hotspot_set_from_rows",
    "json_safe",
    "prepare_hotspot_set",
]

#: Columns of :meth:`IncidentStore.hotspot_sets`.
HOTSPOT_SET_COLUMNS: tuple[str, ...] = ("set_id", "key", "data_version", "created_at", "ward_ids", "n_hotspots")
#: Default number of hotspot sets :meth:`IncidentStore.put_hotspot_set` keeps per key.
HOTSPOT_SETS_KEPT = 5
_MAX_LISTED = 20

# Column order of a stored hotspot set row, as the stores exchange it with the database.
HOTSPOT_SET_FIELDS: tuple[str, ...] = (
    "set_id",
    "key",
    "data_version",
    "created_us",
    "ward_ids",
    "definition",
    "attrs",
    "columns",
    "n_hotspots",
)


@dataclass(frozen=True, eq=False)
class HotspotSetRecord:
    """One stored hotspot table and the definition it was computed from.

    Attributes
    ----------
    set_id : str
        Identifier of the set (primary key in the store).
    key : str
        Hash of the definition without the data version (ward, window rule, method,
        parameters...): sets with one key are versions of the same result.
    data_version : str
        Version of the data the set was computed on (for example
        :meth:`IncidentStore.scope_version` or :meth:`IncidentStore.data_version`).
    definition : dict
        The definition itself (JSON-safe values; see :func:`json_safe`).
    created_at : Timestamp
        When the set was computed; must be time-zone aware, kept in UTC to the microsecond
        (finer digits are floored).
    ward_ids : tuple of str
        Wards the set covers (a list is turned into a tuple, repeats dropped).
    hotspots : GeoDataFrame
        The hotspot features (see :func:`encode_hotspot_features` for what can be stored).
    attrs : dict, default {}
        The table's ``attrs`` (params, evidence...), JSON-safe. A set read back from a store
        has a copy of them in ``hotspots.attrs`` too.

    Raises
    ------
    ParameterError
        A field has the wrong type (every problem listed in ``details["problems"]``).

    Notes
    -----
    Records compare by identity (``eq=False``): a GeoDataFrame has no single truth value.
    """

    set_id: str
    key: str
    data_version: str
    definition: dict[str, Any]
    created_at: pd.Timestamp
    ward_ids: tuple[str, ...]
    hotspots: gpd.GeoDataFrame
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems: list[str] = []
        for name in ("set_id", "key", "data_version"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{name} must be a non-empty string, got {value!r}")
        for name in ("definition", "attrs"):
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                problems.append(f"{name} must be a dict, got {type(value).__name__}")
        created = utc_timestamp("created_at", self.created_at, problems)
        wards = _ward_tuple(self.ward_ids, problems)
        if not isinstance(self.hotspots, gpd.GeoDataFrame):
            problems.append(f"hotspots must be a GeoDataFrame, got {type(self.hotspots).__name__}")
        if problems:
            raise ParameterError("invalid hotspot set record: " + "; ".join(problems), details={"problems": problems})
        object.__setattr__(self, "created_at", created)
        object.__setattr__(self, "ward_ids", wards)
        object.__setattr__(self, "definition", dict(self.definition))
        object.__setattr__(self, "attrs", dict(self.attrs))

    @property
    def n_hotspots(self) -> int:
        """Number of hotspot features in the set."""
        return len(self.hotspots)


def _ward_tuple(value: object, problems: list[str]) -> tuple[str, ...] | None:
    """The record's ward ids as a tuple (a problem when they are not ids)."""
    if value is None or not isinstance(value, str | Iterable):
        problems.append(f"ward_ids must be a ward id or a sequence of ward ids, got {value!r}")
        return None
    return string_tuple("ward_ids", value, problems)


@dataclass
class PreparedHotspotSet:
    """A hotspot set encoded for storage (see :meth:`IncidentStore.prepare_hotspot_set`).

    ``created_us`` is microseconds since 1970-01-01 UTC; ``ward_ids``, ``definition``,
    ``attrs`` and ``columns`` are JSON text; ``features`` holds one
    ``(position, properties JSON, WKB or None)`` tuple per hotspot, in table order.
    """

    set_id: str
    key: str
    data_version: str
    created_us: int
    ward_ids: str
    definition: str
    attrs: str
    columns: str
    n_hotspots: int
    features: list[tuple[int, str, bytes | None]]
    keep: int = HOTSPOT_SETS_KEPT

    def set_row(self) -> tuple[Any, ...]:
        """The ``hotspot_sets`` row in :data:`HOTSPOT_SET_FIELDS` order."""
        return tuple(getattr(self, name) for name in HOTSPOT_SET_FIELDS)


def prepare_hotspot_set(record: HotspotSetRecord, keep: int = HOTSPOT_SETS_KEPT) -> PreparedHotspotSet:
    """Check and encode a hotspot set for storage (nothing is written).

    Raises
    ------
    ParameterError
        ``record`` is not a HotspotSetRecord or ``keep`` is not an integer >= 1.
    InputError
        A value cannot be stored (the message names the column and position, or the key
        inside ``definition`` / ``attrs``).
    """
    if not isinstance(record, HotspotSetRecord):
        raise ParameterError(f"record must be a HotspotSetRecord, got {type(record).__name__}")
    if isinstance(keep, bool) or not isinstance(keep, (int, np.integer)) or keep < 1:
        raise ParameterError(f"keep must be an integer >= 1 (sets kept per key), got {keep!r}")
    columns, features = encode_hotspot_features(record.hotspots)
    return PreparedHotspotSet(
        set_id=record.set_id,
        key=record.key,
        data_version=record.data_version,
        created_us=int(record.created_at.value) // 1000,
        ward_ids=_dumps(list(record.ward_ids)),
        definition=_dumps(json_safe(record.definition, "definition")),
        attrs=_dumps(json_safe(record.attrs, "attrs")),
        columns=columns,
        n_hotspots=len(features),
        features=features,
        keep=int(keep),
    )

def hotspot_set_from_rows(
    set_row: Sequence[Any], feature_rows: Sequence[Sequence[Any]]
) -> HotspotSetRecord:
    """Build a record from its stored row (:data:`HOTSPOT_SET_FIELDS` order) and features.

    ``feature_rows`` holds ``(properties JSON, WKB or None)`` pairs ordered by position.

    Raises
    ------
    StoreError
        The stored set is incomplete (fewer or more features than recorded).
    """
    row = dict(zip(HOTSPOT_SET_FIELDS, set_row, strict=True))
    if len(feature_rows) != int(row["n_hotspots"]):
        raise StoreError(
            f"hotspot set {row['set_id']!r} is damaged: {len(feature_rows)} stored feature(s), "
            f"{row['n_hotspots']} expected; put it again",
            details={"set_id": row["set_id"]},
        )
    attrs = json.loads(row["attrs"])
    hotspots = decode_hotspot_features(row["columns"], feature_rows)
    hotspots.attrs = copy.deepcopy(attrs)
    return HotspotSetRecord(
        set_id=row["set_id"],
        key=row["key"],
        data_version=row["data_version"],
        definition=json.loads(row["definition"]),
        created_at=pd.Timestamp(int(row["created_us"]), unit="us", tz="UTC"),
        ward_ids=tuple(json.loads(row["ward_ids"])),
        hotspots=hotspots,
        attrs=attrs,
    )

def hotspot_listing_from_rows(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Build the :meth:`hotspot_sets` frame from its stored rows.

    The rows are ``(set_id, key, data_version, created_us, ward_ids JSON, n_hotspots)``.
    """
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(HOTSPOT_SET_COLUMNS)
    ward_ids = np.empty(len(rows), dtype=object)
    for i, text in enumerate(cols[4]):
        ward_ids[i] = tuple(json.loads(text))
    return pd.DataFrame(
        {
            "set_id": pd.Series(list(cols[0]), dtype=object),
            "key": pd.Series(list(cols[1]), dtype=object),
            "data_version": pd.Series(list(cols[2]), dtype=object),
            "created_at": pd.to_datetime(np.asarray(cols[3], dtype=np.int64), unit="us", utc=True).as_unit("ns"),
            "ward_ids": ward_ids,
            "n_hotspots": np.asarray(cols[5], dtype=np.int64),
        }
    )

def hotspot_set_conflict(prepared: PreparedHotspotSet, key: str, data_version: str) -> InputError:
    """The error raised when a set id is already stored for another key or data version."""
    return InputError(
        f"hotspot set {prepared.set_id!r} is already stored for key {key!r} and data version "
        f"{data_version!r}, not {prepared.key!r} / {prepared.data_version!r}; nothing was written "
        "(a set id stands for one key and data version)",
        details={
            "set_id": prepared.set_id,
            "stored": {"key": key, "data_version": data_version},
            "given": {"key": prepared.key, "data_version": prepared.data_version},
        },
    )

# ---------------------------------------------------------------------- hotspot serialisation


def _dumps(value: Any) -> str:
    """Compact, strict JSON text (ASCII only, so any string survives every database)."""
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def _float_json(value: float) -> float | str | None:
    """A float as JSON: itself when finite, null for NaN, ``"Infinity"`` / ``"-Infinity"``."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return None
    return "Infinity" if value > 0 else "-Infinity"


def json_safe(value: Any, where: str = "value") -> Any:
    """Convert ``value`` into plain JSON data for storage (dict, list, str, int, float, bool, None).

    The shared :func:`ward_geo.jsonsafe.json_safe` in its lossless mode: numpy scalars become
    Python numbers; NaN, ``None``, ``pd.NA`` and ``NaT`` become ``None``; infinities the
    strings ``"Infinity"`` / ``"-Infinity"``; timestamps, dates and timedeltas ISO 8601
    strings; tuples and arrays lists; number keys of dicts strings (as JSON does). Dict key
    order is kept.

    Parameters
    ----------
    value : object
        The value to convert.
    where : str, default "value"
        Name of the value in error messages.

    Returns
    -------
    object
        Plain JSON data.

    Raises
    ------
    InputError
        A value of another type (sets, bytes, geometries, objects...); the message says
        where it was.
    """
    return _shared_json_safe(value, lossless=True, where=where)


def _codec(dtype: Any) -> str | None:
    """How a column of this dtype is encoded; None when it cannot be stored faithfully."""
    if isinstance(dtype, gpd.array.GeometryDtype):
        return "geometry"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "datetime"
    if isinstance(dtype, np.dtype):
        if dtype.kind == "O":
            return "object"
        return {"b": "bool", "i": "int", "u": "int", "f": "float", "M": "datetime", "m": "timedelta"}.get(dtype.kind)
    if isinstance(dtype, (pd.CategoricalDtype, pd.PeriodDtype, pd.IntervalDtype, pd.SparseDtype)):
        return None  # their categories / frequency / subtype would not survive the round trip
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        try:
            same = pd.api.types.pandas_dtype(str(dtype)) == dtype
        except TypeError:
            same = False
        return "extension" if same else None
    return None


def _encode_column(name: str, codec: str, series: pd.Series) -> list[Any]:
    if codec == "bool" or codec == "int":
        return list(series.to_numpy().tolist())
    if codec == "float":
        return [_float_json(v) for v in series.to_numpy(dtype=np.float64).tolist()]
    if codec == "datetime":
        return [None if t is pd.NaT else t.isoformat() for t in series]
    if codec == "timedelta":
        return [None if t is pd.NaT else int(t.as_unit("ns").value) for t in series]
    values = series.tolist() if codec == "extension" else list(series.to_numpy(dtype=object))
    return [json_safe(v, f"hotspots[{name!r}] at position {i}") for i, v in enumerate(values)]


def _decode_column(codec: str, dtype: Any, values: list[Any]) -> Any:
    if codec == "bool" or codec == "int":
        return np.asarray(values, dtype=dtype)
    if codec == "float":
        return np.asarray([np.nan if v is None else float(v) for v in values], dtype=dtype)
    if codec == "datetime":
        stamps = pd.Series([pd.NaT if v is None else pd.Timestamp(v) for v in values], dtype=object)
        if isinstance(dtype, pd.DatetimeTZDtype):
            return pd.to_datetime(stamps, utc=True).dt.tz_convert(dtype.tz).astype(dtype)
        return pd.to_datetime(stamps).astype(dtype)
    if codec == "timedelta":
        spans = [pd.NaT if v is None else pd.Timedelta(int(v), unit="ns") for v in values]
        return pd.Series(spans, dtype="timedelta64[ns]").astype(dtype)
    if codec == "extension":
        return pd.array(values, dtype=dtype)
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return pd.Series(out, dtype=object)  # a Series: a bare object array of strings would be inferred as str


def encode_hotspot_features(hotspots: gpd.GeoDataFrame) -> tuple[str, list[tuple[int, str, bytes | None]]]:
    """Serialise a hotspot table: a column map and one ``(position, properties, wkb)`` per row.

    Every column except the geometry goes into a JSON object per row (see
    :func:`json_safe` for the values of object columns); the geometry becomes 2-D WKB
    (``None`` for a missing one). The column map (JSON) lists every column with its dtype,
    so :func:`decode_hotspot_features` restores numbers, booleans, nullable and string
    dtypes, datetimes (any unit and time zone, to the nanosecond) and timedeltas exactly.
    Object columns come back as JSON data: lists and dicts (key order kept) as they were,
    numpy scalars as Python numbers, tuples and arrays as lists, nested timestamps as ISO
    strings. The index is not stored (the table comes back with a RangeIndex, in row order).

    Parameters
    ----------
    hotspots : GeoDataFrame
        The table; reprojected to EPSG:4326 when it has another CRS (a missing CRS is taken
        as EPSG:4326).

    Returns
    -------
    columns : str
        The column map, JSON.
    features : list of (int, str, bytes or None)
        Position, properties JSON and WKB of each row.

    Raises
    ------
    InputError
        The table has no active geometry column, another geometry column, non-string or
        repeated column names, a categorical / period / interval / sparse column, geometries
        with Z coordinates, or a value that is not JSON data; the message names the column
        and position.
    """
    if not isinstance(hotspots, gpd.GeoDataFrame):
        raise InputError(f"hotspots must be a GeoDataFrame, got {type(hotspots).__name__}")
    try:
        geom_name = hotspots.geometry.name
    except AttributeError:
        raise InputError("the hotspot table has no active geometry column; call set_geometry first") from None
    frame = hotspots
    if frame.crs is not None and not frame.crs.equals(WGS84):
        frame = frame.to_crs(WGS84)
    names = list(frame.columns)
    bad_names = [n for n in names if not isinstance(n, str)]
    if bad_names:
        raise InputError(
            f"hotspot columns must have string names, got {bad_names[:5]!r}", details={"columns": repr(bad_names)}
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"hotspot column names must be unique; repeated: {repeated!r}", details={"columns": repeated})

    column_map: list[list[str]] = []
    encoded: dict[str, list[Any]] = {}
    for name in names:
        series = frame[name]
        codec = _codec(series.dtype)
        if codec is None:
            raise InputError(
                f"hotspot column {name!r} has the dtype {series.dtype}, which cannot be stored faithfully "
                "(convert it, e.g. .astype(object) or .astype(str))",
                details={"column": name, "dtype": str(series.dtype)},
            )
        if codec == "geometry":
            if name != geom_name:
                raise InputError(
                    f"hotspot column {name!r} is a second geometry column; only the active geometry "
                    f"({geom_name!r}) is stored: drop it or convert it to WKT",
                    details={"column": name},
                )
            column_map.append([name, "geometry"])
            continue
        column_map.append([name, str(series.dtype)])
        encoded[name] = _encode_column(name, codec, series)

    geoms = np.asarray(frame.geometry.array, dtype=object)
    with_z = np.flatnonzero(shapely.has_z(geoms))
    if len(with_z):
        raise InputError(
            f"hotspot geometries must be 2-D; {len(with_z)} have Z coordinates (first at position "
            f"{int(with_z[0])}): drop them with shapely.force_2d",
            details={"positions": [int(i) for i in with_z[:_MAX_LISTED]]},
        )
    wkb = shapely.to_wkb(geoms, output_dimension=2)
    value_names = list(encoded)
    features: list[tuple[int, str, bytes | None]] = []
    for i in range(len(frame)):
        properties = {name: encoded[name][i] for name in value_names}
        features.append((i, _dumps(properties), None if wkb[i] is None else bytes(wkb[i])))
    return _dumps({"geometry": geom_name, "columns": column_map}), features


def decode_hotspot_features(columns: str, feature_rows: Sequence[Sequence[Any]]) -> gpd.GeoDataFrame:
    """Rebuild the table :func:`encode_hotspot_features` serialised.

    Parameters
    ----------
    columns : str
        The column map (JSON).
    feature_rows : sequence of (str, bytes or None)
        Properties JSON and WKB of each row, in position order.

    Returns
    -------
    GeoDataFrame
        EPSG:4326, RangeIndex, the columns in their stored order and dtypes.
    """
    layout = json.loads(columns)
    geom_name = layout["geometry"]
    properties = [json.loads(text) for text, _ in feature_rows]
    data: dict[str, Any] = {}
    for name, dtype_name in layout["columns"]:
        if dtype_name == "geometry":
            blobs = [None if blob is None else bytes(blob) for _, blob in feature_rows]
            data[name] = gpd.GeoSeries(shapely.from_wkb(np.asarray(blobs, dtype=object)), crs=WGS84)
            continue
        dtype = pd.api.types.pandas_dtype(dtype_name)
        codec = _codec(dtype)
        if codec is None:  # pragma: no cover - only dtypes that passed _codec are stored
            raise StoreError(f"stored hotspot column {name!r} has the unsupported dtype {dtype_name!r}")
        data[name] = _decode_column(codec, dtype, [row.get(name) for row in properties])
    index = pd.RangeIndex(len(feature_rows))
    frame = pd.DataFrame(
        {
            name: values.set_axis(index) if isinstance(values, pd.Series) else pd.Series(values, index=index)
            for name, values in data.items()
        },
        index=index,
    )
    return gpd.GeoDataFrame(frame, geometry=geom_name, crs=WGS84)
