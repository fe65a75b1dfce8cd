"""Writers: RFC 7946 GeoJSON and GeoParquet.

GeoJSON written here follows RFC 7946 strictly:

* coordinates are WGS 84 longitude/latitude (the layer is reprojected to EPSG:4326 and no
  ``crs`` member is written);
* polygon exterior rings are counter-clockwise and holes clockwise;
* coordinates are rounded to ``precision`` decimals (7 by default, about 1 cm);
* missing values (``None``, ``NaN``, ``NaT``, ``pd.NA``, infinities) become ``null`` and the
  text is strict JSON (``NaN`` is never written);
* timestamps are ISO 8601 with their UTC offset (naive timestamps are read in the configured
  time zone, ``WARD_GEO_TIMEZONE``), numpy scalars and arrays become JSON numbers and
  arrays, lists and dicts are kept as JSON arrays and objects.

GeoParquet is written with :meth:`geopandas.GeoDataFrame.to_parquet`. Columns of lists of
scalars are stored as native Parquet lists; columns of dicts (and lists that Arrow cannot
type, such as mixed types) are stored as JSON text. The names of those columns are kept in
the file's metadata so that :func:`read_geoparquet` restores Python lists and dicts exactly.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ward_geo.errors import InputError, ParameterError
from ward_geo.jsonsafe import json_safe  # the one JSON sanitiser (default, lossy mode)

#: First characters that make a spreadsheet evaluate a cell (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: Any) -> Any:
    """A text cell that a spreadsheet would evaluate, prefixed with ``'``; other values unchanged.

    OWASP's rule for CSV injection: text starting with ``=``, ``+``, ``-``, ``@``, tab or
    carriage return gets a leading single quote, so ``=HYPERLINK(...)``, ``=1+1`` and
    ``-2+3`` are shown as text. Numbers (int / float values, not text) are left as they
    are: a spreadsheet reads ``-12.5`` as a number, never as a formula.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are neutralised (:func:`neutralise_formula`)."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            values = out[col].astype(object)
            out[col] = values.map(neutralise_formula, na_action="ignore")
    out.columns = [neutralise_formula(str(c)) for c in out.columns]
    return out

__all__ = [
    "to_geojson", "geojson_text", "geojson_dumps", "write_geojson", "write_geoparquet", "read_geoparquet", "json_safe",
]

_JSON_COLUMNS_KEY = "ward_geo:json_columns"
_LIST_COLUMNS_KEY = "ward_geo:list_columns"


# ------------------------------------------------------------------ JSON-safe values


def _local_zone() -> Any:
    from zoneinfo import ZoneInfo

    from ward_geo.settings import get_settings

    return ZoneInfo(get_settings().timezone)


def _column_values(series: pd.Series) -> list[Any]:
    """JSON-safe values of one property column (vectorised for common dtypes)."""
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        s = series
        if not isinstance(dtype, pd.DatetimeTZDtype):
            s = s.dt.tz_localize(_local_zone(), ambiguous="NaT", nonexistent="NaT")
        mask = s.isna().to_numpy()
        out = [None if m else ts.isoformat() for ts, m in zip(s.tolist(), mask, strict=True)]
        return out
    if pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.BooleanDtype):
        return [bool(v) for v in series.to_numpy()]
    if pd.api.types.is_integer_dtype(dtype) and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return [int(v) for v in series.to_numpy()]
    if pd.api.types.is_float_dtype(dtype) and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
        arr = series.to_numpy(dtype=np.float64)
        finite = np.isfinite(arr)
        values: list[Any] = arr.tolist()
        if finite.all():
            return values
        return [v if ok else None for v, ok in zip(values, finite, strict=True)]
    return [json_safe(v) for v in series.astype(object).tolist()]


# ------------------------------------------------------------------ GeoJSON


def _prepare_geometries(gdf: gpd.GeoDataFrame, precision: int) -> np.ndarray:
    if gdf.crs is None:
        raise InputError("layer has no CRS; declare one (for example crs='EPSG:4326') before writing GeoJSON")
    geo = gdf.geometry
    if not geo.crs.equals(gpd.GeoSeries([], crs=4326).crs):
        geo = geo.to_crs(4326)
    geoms = np.asarray(geo.values, dtype=object)
    present = ~shapely.is_missing(geoms)
    if present.any():
        rounded = shapely.transform(geoms[present], lambda c: np.round(c, precision))
        geoms = geoms.copy()
        geoms[present] = shapely.orient_polygons(rounded, exterior_cw=False)
    return geoms


def _geometry_texts(geoms: np.ndarray) -> list[str | None]:
    """GeoJSON text of every geometry, written by GEOS in one vectorised call; None where missing or empty."""
    out: list[str | None] = [None] * len(geoms)
    present = (np.flatnonzero(~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)) if len(geoms)
               else np.zeros(0, dtype=np.intp))
    if len(present):
        for i, text in zip(present.tolist(), shapely.to_geojson(geoms[present]).tolist(), strict=True):
            out[i] = text
    return out


def _geometry_dicts(geoms: np.ndarray) -> list[dict[str, Any] | None]:
    """GeoJSON geometry objects (lists, not tuples) of ``geoms``; None where missing or empty.

    The JSON parser turns GEOS's text into lists, far faster than walking ``__geo_interface__``
    tuples in Python.
    """
    return [None if text is None else json.loads(text) for text in _geometry_texts(geoms)]


def to_geojson(
    gdf: gpd.GeoDataFrame,
    *,
    precision: int = 7,
    id_column: str | None = None,
) -> dict[str, Any]:
    """Convert a GeoDataFrame to an RFC 7946 FeatureCollection (a ``dict``).

    Parameters
    ----------
    gdf : GeoDataFrame
        Any layer with a CRS; it is reprojected to EPSG:4326.
    precision : int, default 7
        Decimals kept in coordinates (0..15). Seven decimals is about 1 cm.
    id_column : str, optional
        Column whose value becomes each feature's ``id`` (it stays in the properties too).
        By default ``hotspot_id`` or ``incident_id`` when present.

    Returns
    -------
    dict
        ``{"type": "FeatureCollection", "features": [...]}``, JSON-safe (see the module notes);
        serialise it with :func:`geojson_dumps`. A hotspot table adds ``hotspotSet`` (its set id and
        data version) and ``selection`` (the method ``auto`` chose, why, and the backtest evidence).

    Raises
    ------
    InputError
        The layer has no CRS.
    ParameterError
        ``precision`` out of range or ``id_column`` unknown.
    """
    _check_geojson_options("to_geojson", gdf, precision, id_column)
    geoms, ids, properties, members = _feature_parts(gdf, int(precision), id_column)
    features: list[dict[str, Any]] = []
    for fid, geometry, props in zip(ids, _geometry_dicts(geoms), properties, strict=True):
        feature: dict[str, Any] = {"type": "Feature"}
        if fid is not None:
            feature["id"] = fid
        feature["geometry"] = geometry
        feature["properties"] = props
        features.append(feature)
    return {"type": "FeatureCollection", "features": features, **members}


def geojson_text(gdf: gpd.GeoDataFrame, *, precision: int = 7, id_column: str | None = None) -> str:
    """The text of :func:`to_geojson` (compact, as :func:`geojson_dumps` writes it), written faster.

    Geometries are written by GEOS in one vectorised call and spliced into the text; the
    properties, the ids and the collection's members are serialised as :func:`geojson_dumps`
    does, so ``json.loads(geojson_text(gdf)) == to_geojson(gdf)``.
    """
    _check_geojson_options("geojson_text", gdf, precision, id_column)
    geoms, ids, properties, members = _feature_parts(gdf, int(precision), id_column)
    dumps = geojson_dumps
    parts = []
    for fid, geometry, props in zip(ids, _geometry_texts(geoms), properties, strict=True):
        head = '{"type":"Feature",' if fid is None else f'{{"type":"Feature","id":{dumps(fid)},'
        parts.append(f'{head}"geometry":{geometry or "null"},"properties":{dumps(props)}}}')
    extra = "".join(f",{dumps(k)}:{dumps(v)}" for k, v in members.items())
    return '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]" + extra + "}"


def _check_geojson_options(caller: str, gdf: Any, precision: Any, id_column: str | None) -> None:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"{caller} expects a GeoDataFrame, got {type(gdf).__name__}")
    if isinstance(precision, bool) or not isinstance(precision, int | np.integer) or not 0 <= precision <= 15:
        raise ParameterError(f"precision must be an integer between 0 and 15 decimals, got {precision!r}")
    if id_column is not None and id_column not in gdf.columns:
        raise ParameterError(f"id_column {id_column!r} is not a column (columns: {', '.join(map(str, gdf.columns))})")


def _feature_parts(gdf: gpd.GeoDataFrame, precision: int, id_column: str | None
                   ) -> tuple[np.ndarray, list[Any], list[dict[str, Any]], dict[str, Any]]:
    """Geometries (EPSG:4326, rounded), feature ids, JSON-safe properties and foreign members."""
    if id_column is None:
        id_column = next((c for c in ("hotspot_id", "incident_id") if c in gdf.columns), None)
    geometry_name = gdf.geometry.name
    geoms = _prepare_geometries(gdf, precision)
    columns = [c for c in gdf.columns if c != geometry_name]
    values: dict[str, list[Any]] = {}
    for col in columns:
        series = gdf[col]
        if isinstance(series, gpd.GeoSeries) and series.crs is not None:
            series = series.to_crs(4326)
        values[str(col)] = _column_values(series)
    names = [str(c) for c in columns]
    properties = [{name: values[name][i] for name in names} for i in range(len(geoms))]
    ids: list[Any] = [None] * len(geoms)
    if id_column is not None:
        for i, fid in enumerate(values[str(id_column)]):
            if isinstance(fid, str | int) and not isinstance(fid, bool):
                ids[i] = fid
    members: dict[str, Any] = {}
    # a hotspot table says which set it is and why its method was chosen (RFC 7946 foreign members)
    if isinstance(gdf.attrs.get("hotspot_set"), dict):
        info = gdf.attrs["hotspot_set"]
        members["hotspotSet"] = json_safe({k: info.get(k) for k in ("hotspot_set_id", "data_version")})
    selection = (gdf.attrs.get("params") or {}).get("selection") if isinstance(gdf.attrs.get("params"), dict) else None
    if isinstance(selection, dict):
        members["selection"] = json_safe({k: selection.get(k) for k in ("method", "reason", "folds", "share",
                                                                       "evidence", "notes")})
    return geoms, ids, properties, members


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.floating) and not np.isfinite(obj):
        raise ValueError(f"Out of range float values are not JSON compliant: {obj!r}")
    return json_safe(obj)


def geojson_dumps(obj: Any, *, indent: int | None = None) -> str:
    """Serialise ``obj`` as strict JSON text (UTF-8 characters kept, ``NaN`` refused).

    numpy scalars, timestamps and other values :func:`json_safe` understands are converted;
    a float ``NaN`` or infinity anywhere raises :class:`~ward_geo.errors.InputError` (run
    the value through :func:`to_geojson` or :func:`json_safe` first, which turn them into null).
    """
    try:
        return json.dumps(
            obj,
            ensure_ascii=False,
            allow_nan=False,
            indent=indent,
            separators=(",", ":") if indent is None else None,
            default=_json_default,
        )
    except ValueError as exc:
        raise InputError(f"value is not strict JSON: {exc} (NaN and infinity are not allowed; use null)") from exc


def _atomic_write_bytes(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_geojson(gdf: gpd.GeoDataFrame, path: str | os.PathLike[str], *, precision: int = 7) -> Path:
    """Write ``gdf`` as an RFC 7946 GeoJSON file (atomically: a temporary file, then renamed).

    Returns
    -------
    Path
        The path written.
    """
    target = Path(path)
    text = geojson_text(gdf, precision=precision)

    def _write(tmp: str) -> None:
        Path(tmp).write_text(text, encoding="utf-8")

    _atomic_write_bytes(target, _write)
    return target


# ------------------------------------------------------------------ GeoParquet


def _is_container(v: Any) -> bool:
    return isinstance(v, list | tuple | dict | np.ndarray | set | frozenset)


def _encode_columns(gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[str], list[str]]:
    import pyarrow as pa

    out = gdf.copy()
    json_cols: list[str] = []
    list_cols: list[str] = []
    geometry_name = gdf.geometry.name
    for col in gdf.columns:
        if col == geometry_name or isinstance(gdf[col], gpd.GeoSeries):
            continue
        series = gdf[col]
        if series.dtype != object:
            continue
        present = [v for v in series.tolist() if v is not None and not (isinstance(v, float) and math.isnan(v))]
        if not present or not any(_is_container(v) for v in present):
            continue
        if all(isinstance(v, list | tuple | np.ndarray) for v in present):
            as_lists = [None if v is None or (isinstance(v, float) and math.isnan(v)) else json_safe(v)
                        for v in series.tolist()]
            try:
                arr = pa.array(as_lists)
                nested = pa.types.is_list(arr.type) and not pa.types.is_nested(arr.type.value_type)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                nested = False
            if nested:
                out[col] = pd.Series(as_lists, index=series.index, dtype=object)
                list_cols.append(str(col))
                continue
        out[col] = pd.Series(
            [None if v is None or (isinstance(v, float) and math.isnan(v)) else geojson_dumps(json_safe(v))
             for v in series.tolist()],
            index=series.index,
            dtype=object,
        )
        json_cols.append(str(col))
    return out, json_cols, list_cols


def write_geoparquet(gdf: gpd.GeoDataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``gdf`` as GeoParquet (atomically), so that :func:`read_geoparquet` round-trips it.

    Lists of scalars become Parquet list columns; dicts and irregular lists become JSON text
    columns, recorded in the file metadata. ``gdf.attrs`` is stored as JSON-safe metadata.

    Returns
    -------
    Path
        The path written.
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"write_geoparquet expects a GeoDataFrame, got {type(gdf).__name__}")
    if gdf.crs is None:
        raise InputError("layer has no CRS; declare one before writing GeoParquet")
    target = Path(path)
    encoded, json_cols, list_cols = _encode_columns(gdf)
    attrs = {str(k): json_safe(v) for k, v in gdf.attrs.items()}
    attrs[_JSON_COLUMNS_KEY] = json_cols
    attrs[_LIST_COLUMNS_KEY] = list_cols
    encoded.attrs = attrs

    def _write(tmp: str) -> None:
        encoded.to_parquet(tmp, index=False)

    _atomic_write_bytes(target, _write)
    return target


def read_geoparquet(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    """Read a GeoParquet file written by :func:`write_geoparquet`, restoring lists and dicts.

    Files written by other tools are read as they are (``list`` columns become Python lists).
    """
    source = Path(path)
    if not source.is_file():
        from ward_geo.errors import NotFoundError

        raise NotFoundError(f"GeoParquet file {source.name} does not exist")
    try:
        gdf = gpd.read_parquet(source)
    except Exception as exc:  # pyarrow raises several unrelated types for bad files
        from ward_geo.io.bounded import scrub_paths

        raise InputError(f"{source.name} is not a readable GeoParquet file: {scrub_paths(str(exc), source)}") from None
    attrs = dict(gdf.attrs)
    json_cols = attrs.pop(_JSON_COLUMNS_KEY, []) or []
    list_cols = attrs.pop(_LIST_COLUMNS_KEY, []) or []
    for col in json_cols:
        if col in gdf.columns:
            gdf[col] = pd.Series(
                [json.loads(v) if isinstance(v, str) else None for v in gdf[col].tolist()],
                index=gdf.index,
                dtype=object,
            )
    for col in list_cols:
        if col in gdf.columns:
            gdf[col] = pd.Series(
                [v.tolist() if isinstance(v, np.ndarray) else v for v in gdf[col].tolist()],
                index=gdf.index,
                dtype=object,
            )
    gdf.attrs = attrs
    return gdf
