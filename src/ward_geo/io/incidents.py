"""Read ward boundaries and incidents from any common format into the canonical tables.

Formats: GeoJSON, GeoPackage, Shapefile (also zipped), GeoParquet (read with pyogrio /
geopandas) and CSV (also ``.csv.gz`` / ``.csv.zip``; comma, semicolon or tab separated).
Incidents may also come as an in-memory DataFrame / GeoDataFrame, or as the bytes or a
file object of a CSV or GeoJSON body (:func:`validate_incidents`).

Every reader validates in one pass and records every problem in a
:class:`~ward_geo.io.validation.ValidationReport` (also in ``gdf.attrs["validation_report"]``):
a partly bad file loads its good rows and lists the rest with row, field and reason; the
counts always add up (``rows_read == rows_accepted + rows_rejected``). When no row is
usable an :class:`~ward_geo.errors.InputError` carrying the report is raised.

Column discovery (CSV and attribute tables)
-------------------------------------------
Column names are compared case-, accent- and punctuation-insensitively, so ``Crime ID``,
``crime_id`` and ``CRIME-ID`` are the same, as are ``kinh độ`` and ``kinh_do``. The
first name found in each list is used (name a column explicitly to override):

* longitude: ``longitude, lon, lng, long, kinh do, x``; latitude: ``latitude, lat, vi do, y``
* id: ``incident_id, crime id, uid, incident_no, incident number, id, ma vu viec``
* category: ``category, crime type, offense_type, offense, offence, offence type, loai,
  loai vu viec, type``
* time: ``occurred_at, date_time, datetime, offense_date, incident_date, month, date,
  time, timestamp, thoi gian, ngay``
* severity: ``severity, muc do``; description: ``description, mo ta, noi dung,
  details, narrative, location``

Decisions
---------
* Unknown category values are kept: the row gets category ``other``, ``category_raw``
  keeps the value, ``report.unmapped_categories`` counts it and one ``warning`` issue
  per distinct value names its first row. Pass ``category_map={"value": "code"}`` to map
  it. A file without a category column gets ``other`` for every row (one warning), unless
  ``category=`` names the category of the whole file.
* Rows without an id get a stable generated id: a hash of the source name, the row's
  content as read and its occurrence index among identical rows, so re-reading the same
  file gives the same ids and identical rows without ids stay separate incidents.
* Rows sharing an ``incident_id``: when their content (category, time, point, severity,
  description) is identical the first is kept and the others are rejected as duplicates;
  when it differs all of them are rejected, since none can be trusted over the others.
* A layer without a CRS whose coordinates all lie within degree ranges is read as
  EPSG:4326 with a warning; otherwise it is unusable until ``crs=`` is given. A CSV
  without ``crs=`` is in degrees; metre values in it are rejected row by row.
* A CSV row with more fields than the header is rejected alone (field ``row``); the
  rest of the file is read.
* :func:`validate_incidents` treats a ``str`` as the body of a CSV/GeoJSON upload, never
  as a path, so client text cannot name files on the server.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, Literal, overload

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from ward_geo.categories import CATEGORIES
from ward_geo.errors import InputError, ParameterError
from ward_geo.io import coords as C
from ward_geo.io.boundaries import read_boundaries
from ward_geo.io.columns import (
    LAT_NAMES,
    LON_NAMES,
    _as_text,
    _Columns,
    _map_categories,
    _pick_columns,
    _report_unmapped,
    find_column,
)
from ward_geo.io.crs import _check_earth_crs, _crs_label, _is_wgs84, _resolve_crs
from ward_geo.io.formats import PathLike, Source, _crs_error, _load, _Loaded
from ward_geo.io.options import ReaderOptions
from ward_geo.io.row_checks import (
    _check_degrees,
    _check_duplicate_ids,
    _check_times,
    _checked_ids,
    _Ledger,
    _pairs,
    _points_from_columns,
    _points_from_geometry,
    _reject_nul_bytes,
)
from ward_geo.io.validation import ValidationReport
from ward_geo.io.ward_join import assign_wards
from ward_geo.schema import WGS84, conform_incidents


def _reference_boundaries(
    boundaries: Any, report: ValidationReport
) -> tuple[gpd.GeoDataFrame | None, CRS | None]:
    """The boundaries in EPSG:4326 and the CRS they came in."""
    if boundaries is None:
        return None, None
    if not isinstance(boundaries, gpd.GeoDataFrame):
        boundaries = read_boundaries(boundaries)
    if boundaries.crs is None:
        raise InputError("the boundaries have no CRS; read them with read_boundaries() or set one")
    if "ward_id" not in boundaries.columns:
        raise InputError("the boundaries have no ward_id column; read them with read_boundaries()")
    original = boundaries.crs
    if not _is_wgs84(original):
        report.note(f"boundaries reprojected from {_crs_label(original)} to EPSG:4326 for the ward join")
        boundaries = boundaries.to_crs(WGS84)
    return boundaries, original


def _row_sources(table: pd.DataFrame, idx: np.ndarray, default: str, forced: bool) -> np.ndarray:
    """Per-row ``source`` of the accepted rows.

    A ``source`` column of the file (a canonical export) wins over the file name, unless
    the caller named the source explicitly; empty values take the default.
    """
    out = np.full(len(idx), default, dtype=object)
    if forced or "source" not in table.columns:
        return out
    values = table["source"].iloc[idx].astype(object).to_numpy()
    present = np.array([isinstance(v, str) and v.strip() != "" for v in values], dtype=bool)
    out[present] = [v.strip() for v in values[present]]
    return out


def _generated_ids(table: pd.DataFrame, x: np.ndarray, y: np.ndarray, source: str, mask: np.ndarray) -> np.ndarray:
    """Stable ids for rows in ``mask``: hash(source, row content as read, occurrence index)."""
    idx = np.flatnonzero(mask)
    out = np.full(len(table), None, dtype=object)
    if len(idx) == 0:
        return out
    sub = table.iloc[idx]
    parts = [_as_text(sub.iloc[:, j]).fillna("").astype(str) for j in range(sub.shape[1])]
    parts.append(pd.Series(np.char.mod("%.9g", np.nan_to_num(x[idx], nan=np.inf)), dtype=object))
    parts.append(pd.Series(np.char.mod("%.9g", np.nan_to_num(y[idx], nan=np.inf)), dtype=object))
    key = parts[0].reset_index(drop=True).str.cat([p.reset_index(drop=True) for p in parts[1:]], sep="\x1f")
    occurrence = key.groupby(key, sort=False).cumcount().to_numpy()
    prefix = source.encode("utf-8") + b"\x1e"
    digests = [
        "g-" + hashlib.blake2b(prefix + k.encode("utf-8") + b"\x1e%d" % o, digest_size=8).hexdigest()
        for k, o in zip(key.tolist(), occurrence.tolist(), strict=True)
    ]
    out[idx] = digests
    return out


def _validate(
    loaded: _Loaded,
    options: ReaderOptions,
    *,
    boundaries: Any = None,
    now: pd.Timestamp | None = None,
) -> tuple[gpd.GeoDataFrame, ValidationReport]:
    """Turn a loaded table into canonical incidents, every problem in the report."""
    from ward_geo.settings import Settings, get_settings

    lon, lat, crs, region = options.lon, options.lat, options.crs, options.region
    category, category_map, timezone, source = options.category, options.category_map, options.timezone, options.source
    explicit_source = source
    source = source or loaded.name
    table = loaded.table
    n = len(table)
    report = ValidationReport(source=source, rows_read=n)
    for note in loaded.notes:
        report.note(note)
    tz = Settings(timezone=timezone).timezone if timezone is not None else get_settings().timezone
    if category is not None and category not in CATEGORIES:
        raise ParameterError(f"category={category!r} is not a category code (expected one of {', '.join(CATEGORIES)})")
    declared = _resolve_crs(crs)
    ref, ref_crs = _reference_boundaries(boundaries, report)
    ledger = _Ledger(report, n)
    malformed: dict[int, str] = dict(table.attrs.get("malformed_rows", {}))
    for row, reason in malformed.items():
        report.add(row, "row", reason)
        ledger.rejected[row - 1] = True
    cols = _pick_columns(table, ledger, lon=lon, lat=lat, id_field=options.id_field,
                         category_field=options.category_field, time_field=options.time_field)
    _reject_nul_bytes(table, ledger)

    # --- coordinates, in the CRS they were given in; none declared means degrees
    pts = _coordinates(loaded, cols, declared, ledger, use_columns=lon is not None or lat is not None)
    x, y, src_crs = pts.x, pts.y, pts.crs
    coord_field, lon_field, lat_field = pts.fields
    crs_in = _input_crs(pts, ledger)
    report.crs_in = _crs_label(crs_in)
    _check_earth_crs(crs_in, source)
    if not _is_wgs84(crs_in):
        _reproject_to_wgs84(x, y, crs_in, coord_field, source, ledger)
    if ref is not None and ref_crs is not None and not ref_crs.equals(crs_in):
        report.note(f"incidents in {_crs_label(crs_in)} and boundaries in {_crs_label(ref_crs)}: "
                    "both compared in EPSG:4326")
    if crs_in.is_geographic:
        declared_as = (f"declared as degrees ({_crs_label(crs_in)})" if src_crs is not None
                       else "read as degrees (no crs= given)")
        extent, against = _expected_extent(region, ref)
        _check_degrees(x, y, ledger, fields=(coord_field, lon_field, lat_field),
                       declared_as=declared_as, extent=extent, against=against)

    # --- time, category, severity, description
    times = _check_times(table[cols.time], str(cols.time), tz, now, ledger)
    raw_cat = _text_column(table, cols.category)
    codes, unmapped = _map_categories(raw_cat, category, category_map, cols.category is not None, ledger)
    severity = _severity(table, cols.severity, ledger)
    description = _text_column(table, cols.description)

    # --- ids: the source's, else stable generated ones; duplicated source ids
    ids = _text_column(table, cols.id)
    if cols.id is not None:
        ids = _checked_ids(ids, str(cols.id), ledger)
    no_id = ids == None  # noqa: E711
    if no_id.any():
        ids[no_id] = _generated_ids(table, pts.raw_x, pts.raw_y, source, no_id)[no_id]
        report.note(f"{int(no_id.sum())} rows without an id got a stable generated id (prefix 'g-')")
    content = {
        "category_raw": raw_cat, "occurred_at": np.asarray(times.values.array.asi8), "lon": np.round(x, 7),
        "lat": np.round(y, 7), "severity": severity, "description": description,
    }
    _check_duplicate_ids(ids, ~ledger.rejected & ~no_id, content, str(cols.id or "incident_id"), ledger)
    keep = ~ledger.rejected
    _report_unmapped(raw_cat, unmapped & keep, str(cols.category or "category"), ledger)

    # --- output
    idx = np.flatnonzero(keep)
    out = gpd.GeoDataFrame(
        {
            "incident_id": ids[idx],
            "category": codes[idx],
            "category_raw": raw_cat[idx],
            "occurred_at": times.values.iloc[idx].reset_index(drop=True),
            "time_precision": times.precision[idx],
            "severity": severity[idx],
            "description": description[idx],
            "source": _row_sources(table, idx, source, explicit_source is not None),
            "ward_id": np.full(len(idx), None, dtype=object),
        },
        geometry=shapely.points(x[idx], y[idx]) if len(idx) else gpd.GeoSeries([], crs=WGS84).values,
        crs=WGS84,
    )
    if ref is not None and len(out):
        out = assign_wards(out, ref)
        report.outside_wards = int(out["ward_id"].isna().sum())
        if report.outside_wards:
            report.note(f"{report.outside_wards} accepted rows lie outside every ward (ward_id empty)")
    out = conform_incidents(out)
    if malformed:  # the fields of a malformed row mean nothing: only the row problem is reported
        report.issues = [i for i in report.issues if i.row not in malformed or i.field == "row"]
    report.rows_accepted = len(out)
    report.rows_rejected = int(ledger.rejected.sum())
    report.rows_repaired = int((ledger.repaired & keep).sum())
    report.sort_issues()
    out.attrs["validation_report"] = report
    if report.rows_accepted == 0:
        top = "; ".join(f"{k} ({v})" for k, v in list(report.reason_counts().items())[:3])
        raise InputError(f"{source}: no usable rows among {n} ({top or 'the file has no data rows'})", report=report)
    return out, report


@dataclass
class _Points:
    """Coordinates as given (before any reprojection) and where they came from."""

    x: np.ndarray
    y: np.ndarray
    raw_x: np.ndarray
    raw_y: np.ndarray
    crs: CRS | None
    fields: tuple[str, str, str]
    from_geometry: bool


def _coordinates(loaded: _Loaded, cols: _Columns, declared: CRS | None, ledger: _Ledger, *,
                 use_columns: bool) -> _Points:
    """The points of the table: its geometry, else its longitude/latitude columns."""
    table = loaded.table
    geometry = loaded.geometry
    use_geometry = geometry is not None and not use_columns
    all_null = geometry is not None and len(geometry) > 0 and bool(geometry.isna().all())
    if use_geometry and all_null and find_column(list(table.columns), LON_NAMES):
        use_geometry = False
        ledger.report.note("every geometry is null; coordinates read from the longitude/latitude columns")
    if use_geometry:
        assert geometry is not None
        coord_field = lon_field = lat_field = "geometry"
        src_crs = loaded.crs
        if src_crs is not None and declared is not None and not src_crs.equals(declared):
            ledger.report.note(f"the file declares {_crs_label(src_crs)}; crs={_crs_label(declared)} ignored")
        src_crs = src_crs or declared
        x, y = _points_from_geometry(geometry, ledger)
        raw_x, raw_y = x.copy(), y.copy()
    else:
        lon_col = cols.lon or find_column(list(table.columns), LON_NAMES)
        lat_col = cols.lat or find_column(list(table.columns), LAT_NAMES)
        for word, col, names, kw in (("longitude", lon_col, LON_NAMES, "lon"), ("latitude", lat_col, LAT_NAMES, "lat")):
            if col is None:
                ledger.report.add(None, word,
                                  f"no {word} column found (looked for {', '.join(names)}); name it with {kw}=")
        if lon_col is None or lat_col is None:
            missing = " or ".join(w for w, c in (("longitude", lon_col), ("latitude", lat_col)) if c is None)
            ledger.report.rows_rejected = ledger.n
            found = ", ".join(map(str, table.columns))
            raise InputError(f"{ledger.report.source}: no {missing} column found among {found}; "
                             "pass lon= and lat= to name them", report=ledger.report)
        coord_field, lon_field, lat_field = f"{lon_col}/{lat_col}", str(lon_col), str(lat_col)
        src_crs = declared
        x, y = _points_from_columns(table, lon_col, lat_col, ledger)
        raw_x = raw_y = np.full(ledger.n, np.nan)  # the raw text is part of the table already
    return _Points(x, y, raw_x, raw_y, src_crs, (coord_field, lon_field, lat_field), use_geometry)


def _input_crs(pts: _Points, ledger: _Ledger) -> CRS:
    """The CRS of the points: the declared one, else degrees (a vector layer with a warning)."""
    x, y = pts.x, pts.y
    if pts.crs is None:
        ok = np.isfinite(x) & np.isfinite(y) & ~ledger.rejected
        if pts.from_geometry:
            if ok.any() and C.looks_projected(x[ok], y[ok]).mean() > 0.5:
                raise ledger.file_error("crs", "the layer has no CRS and its coordinates are not degrees; pass crs=",
                                        "the layer has no CRS and its coordinates look projected; pass crs= "
                                        "(for example crs='EPSG:3405' for VN-2000 / UTM 48N)")
            ledger.report.add(None, "crs",
                              "the layer declares no CRS; read as EPSG:4326 (longitude/latitude degrees)", "warning")
        crs_in = CRS.from_epsg(4326)
    else:
        crs_in = pts.crs
    return crs_in


def _reproject_to_wgs84(x: np.ndarray, y: np.ndarray, crs_in: CRS, coord_field: str, source: str,
                        ledger: _Ledger) -> None:
    """Transform the usable points from ``crs_in`` to EPSG:4326 in place; failures rejected."""
    ok = ~ledger.rejected & np.isfinite(x) & np.isfinite(y)
    if crs_in.is_projected:
        tiny = ok & (np.abs(x) <= 180.0) & (np.abs(y) <= 90.0)
        ledger.reject(tiny, coord_field, f"coordinates look like degrees but {_crs_label(crs_in)} (metres) was "
                      "declared; drop crs= for longitude/latitude", _pairs(x, y))
        ok &= ~tiny
    try:
        transformer = Transformer.from_crs(crs_in, CRS.from_epsg(4326), always_xy=True)
    except Exception as exc:  # noqa: BLE001 - pyproj: no operation to EPSG:4326
        raise _crs_error(source, exc) from None
    tx, ty = transformer.transform(x[ok], y[ok], errcheck=False)
    x[ok], y[ok] = tx, ty
    ledger.reject(ok & ~(np.isfinite(x) & np.isfinite(y)), coord_field,
                  f"coordinates cannot be transformed from {_crs_label(crs_in)} to EPSG:4326")
    ledger.report.note(f"coordinates reprojected from {_crs_label(crs_in)} to EPSG:4326")


def _expected_extent(region: Sequence[float] | None,
                     ref: gpd.GeoDataFrame | None) -> tuple[tuple[float, ...] | None, str]:
    """The extent the points should fit (for swap detection) and what it is, for messages."""
    if region is not None:
        return tuple(region), "the declared region"
    if ref is not None and len(ref):
        return tuple(ref.total_bounds), "the boundaries' extent"
    return None, "the valid degree ranges"


def _text_column(table: pd.DataFrame, column: str | None) -> np.ndarray:
    """A column as stripped text with None for empty values (all None when there is no column)."""
    if column is None:
        return np.full(len(table), None, dtype=object)
    text: np.ndarray = _as_text(table[column]).to_numpy(dtype=object, copy=True)
    return text


def _severity(table: pd.DataFrame, column: str | None, ledger: _Ledger) -> np.ndarray:
    """Severity per row (NaN when absent); values that are not numbers >= 0 are left empty with a warning."""
    if column is None:
        return np.full(len(table), np.nan)
    sev = C.parse_coordinates(table[column])
    bad_sev = (sev.status == C.NON_NUMERIC) | (sev.status == C.NON_FINITE) | (sev.usable & (sev.values < 0))
    ledger.warn(bad_sev & ~ledger.rejected, str(column), "severity is not a number >= 0; left empty",
                table[column].astype(object).to_numpy())
    out: np.ndarray = np.where(sev.usable & ~bad_sev, sev.values, np.nan)
    return out


@overload
def read_incidents(  # noqa: PLR0913 - the documented keywords of the public reader
    path: Source,
    *,
    options: ReaderOptions | None = None,
    boundaries: gpd.GeoDataFrame | PathLike | None = None,
    lon: str | None = None,
    lat: str | None = None,
    crs: Any = None,
    id_field: str | None = None,
    category_field: str | None = None,
    time_field: str | None = None,
    category: str | None = None,
    category_map: Mapping[str, str] | None = None,
    timezone: str | None = None,
    source: str | None = None,
    layer: str | int | None = None,
    region: Sequence[float] | None = None,
    return_report: Literal[False] = ...,
    format: str | None = None,
) -> gpd.GeoDataFrame: ...


@overload
def read_incidents(  # noqa: PLR0913 - the documented keywords of the public reader
    path: Source,
    *,
    options: ReaderOptions | None = None,
    boundaries: gpd.GeoDataFrame | PathLike | None = None,
    lon: str | None = None,
    lat: str | None = None,
    crs: Any = None,
    id_field: str | None = None,
    category_field: str | None = None,
    time_field: str | None = None,
    category: str | None = None,
    category_map: Mapping[str, str] | None = None,
    timezone: str | None = None,
    source: str | None = None,
    layer: str | int | None = None,
    region: Sequence[float] | None = None,
    return_report: Literal[True],
    format: str | None = None,
) -> tuple[gpd.GeoDataFrame, ValidationReport]: ...


@overload
def read_incidents(  # noqa: PLR0913 - the documented keywords of the public reader
    path: Source,
    *,
    options: ReaderOptions | None = None,
    boundaries: gpd.GeoDataFrame | PathLike | None = None,
    lon: str | None = None,
    lat: str | None = None,
    crs: Any = None,
    id_field: str | None = None,
    category_field: str | None = None,
    time_field: str | None = None,
    category: str | None = None,
    category_map: Mapping[str, str] | None = None,
    timezone: str | None = None,
    source: str | None = None,
    layer: str | int | None = None,
    region: Sequence[float] | None = None,
    return_report: bool = ...,
    format: str | None = None,
) -> gpd.GeoDataFrame | tuple[gpd.GeoDataFrame, ValidationReport]: ...


def read_incidents(  # noqa: PLR0913 - the documented keywords of the public reader
    path: Source,
    *,
    options: ReaderOptions | None = None,
    boundaries: gpd.GeoDataFrame | PathLike | None = None,
    lon: str | None = None,
    lat: str | None = None,
    crs: Any = None,
    id_field: str | None = None,
    category_field: str | None = None,
    time_field: str | None = None,
    category: str | None = None,
    category_map: Mapping[str, str] | None = None,
    timezone: str | None = None,
    source: str | None = None,
    layer: str | int | None = None,
    region: Sequence[float] | None = None,
    return_report: bool = False,
    format: str | None = None,
) -> gpd.GeoDataFrame | tuple[gpd.GeoDataFrame, ValidationReport]:
    """Read incidents from a file into the canonical incident table, validating every row.

    Parameters
    ----------
    path : str, Path, bytes or file object
        GeoJSON, GeoPackage, Shapefile (or zip), GeoParquet or CSV (``.csv.gz`` too); bytes
        or a binary file object of a CSV or GeoJSON body.
    options : ReaderOptions, optional
        The reading options as one object; a keyword below that is not ``None`` wins
        over the option of the same name.
    boundaries : GeoDataFrame or path, optional
        Wards (as from :func:`read_boundaries`): fills ``ward_id`` and gives the extent
        used to detect swapped latitude/longitude.
    lon, lat : str, optional
        Coordinate columns of a table (found by name when omitted).
    crs : CRS-like, optional
        CRS of the coordinates when the file does not declare one, for example
        ``"EPSG:3405"`` (VN-2000 / UTM 48N) or ``"EPSG:32648"``. Default: degrees (EPSG:4326).
    id_field, category_field, time_field : str, optional
        Columns holding the id, the category and the time (found by name when omitted).
    category : str, optional
        Give every row this category code (for single-category files).
    category_map : mapping, optional
        Extra ``{raw value: category code}`` pairs, tried before the built-in vocabulary.
    timezone : str, optional
        IANA zone of naive times (default: the ``timezone`` setting, Asia/Ho_Chi_Minh).
    source : str, optional
        Value of the ``source`` column and the report's name (default: the file name).
    layer : str or int, optional
        Layer of a multi-layer file.
    region : (min_lon, min_lat, max_lon, max_lat), optional
        Declared region of the data; used like the boundaries' extent to detect swaps.
    return_report : bool
        Also return the :class:`ValidationReport`.
    format : {"geojson", "csv", "vector"}, optional
        Read with this parser only, whatever the content looks like (for data from
        untrusted senders): ``geojson`` (JSON + shapely, never GDAL), ``csv`` (pandas,
        chunked), ``vector`` (GDAL in a child process with network and virtual file
        systems off, within the read budgets). Default: chosen by the file suffix.

    Returns
    -------
    GeoDataFrame or (GeoDataFrame, ValidationReport)
        Canonical incidents in EPSG:4326; the report is also in ``attrs["validation_report"]``.

    Raises
    ------
    InputError
        When no row is usable or a required column is absent (``.report`` lists every problem).
    NotFoundError
        When the file does not exist.
    """
    opts = (options or ReaderOptions()).merged(
        lon=lon, lat=lat, crs=crs, id_field=id_field, category_field=category_field, time_field=time_field,
        category=category, category_map=category_map, timezone=timezone, source=source, layer=layer,
        region=region, format=format,
    )
    loaded = _load(path, layer=opts.layer, format=opts.format)
    gdf, report = _validate(loaded, opts, boundaries=boundaries)
    return (gdf, report) if return_report else gdf


@overload
def validate_incidents(  # noqa: PLR0913 - the documented keywords of the public validator
    data: pd.DataFrame | gpd.GeoDataFrame | bytes | IO[bytes] | IO[str] | PathLike,
    *,
    options: ReaderOptions | None = None,
    boundaries: gpd.GeoDataFrame | PathLike | None = None,
    lon: str | None = None,
    lat: str | None = None,
    crs: Any = None,
    id_field: str | None = None,
    category_field: str | None = None,
    time_field: str | None = None,
    category: str | None = None,
    category_map: Mapping[str, str] | None = None,
    timezone: str | None = None,
    source: str | None = None,
    region: Sequence[float] | None = None,
    return_report: Literal[False] = ...,
    now: pd.Timestamp | None = None,
) -> gpd.GeoDataFrame: ...


@overload
def validate_incidents(  # noqa: PLR0913 - the documented keywords of the public validator
    data: pd.DataFrame | gpd.GeoDataFrame | bytes | IO[bytes] | IO[str] | PathLike,
    *,
    options: ReaderOptions | None = None,
    boundaries: gpd.GeoDataFrame | PathLike | None = None,
    lon: str | None = None,
    lat: str | None = None,
    crs: Any = None,
    id_field: str | None = None,
    category_field: str | None = None,
    time_field: str | None = None,
    category: str | None = None,
    category_map: Mapping[str, str] | None = None,
    timezone: str | None = None,
    source: str | None = None,
    region: Sequence[float] | None = None,
    return_report: Literal[True],
    now: pd.Timestamp | None = None,
) -> tuple[gpd.GeoDataFrame, ValidationReport]: ...


@overload
def validate_incidents(  # noqa: PLR0913 - the documented keywords of the public validator
    data: pd.DataFrame | gpd.GeoDataFrame | bytes | IO[bytes] | IO[str] | PathLike,
    *,
    options: ReaderOptions | None = None,
    boundaries: gpd.GeoDataFrame | PathLike | None = None,
    lon: str | None = None,
    lat: str | None = None,
    crs: Any = None,
    id_field: str | None = None,
    category_field: str | None = None,
    time_field: str | None = None,
    category: str | None = None,
    category_map: Mapping[str, str] | None = None,
    timezone: str | None = None,
    source: str | None = None,
    region: Sequence[float] | None = None,
    return_report: bool = ...,
    now: pd.Timestamp | None = None,
) -> gpd.GeoDataFrame | tuple[gpd.GeoDataFrame, ValidationReport]: ...


def validate_incidents(  # noqa: PLR0913 - the documented keywords of the public validator
    data: pd.DataFrame | gpd.GeoDataFrame | bytes | IO[bytes] | IO[str] | PathLike,
    *,
    options: ReaderOptions | None = None,
    boundaries: gpd.GeoDataFrame | PathLike | None = None,
    lon: str | None = None,
    lat: str | None = None,
    crs: Any = None,
    id_field: str | None = None,
    category_field: str | None = None,
    time_field: str | None = None,
    category: str | None = None,
    category_map: Mapping[str, str] | None = None,
    timezone: str | None = None,
    source: str | None = None,
    region: Sequence[float] | None = None,
    return_report: bool = False,
    now: pd.Timestamp | None = None,
) -> gpd.GeoDataFrame | tuple[gpd.GeoDataFrame, ValidationReport]:
    """Validate in-memory incidents (a DataFrame, GeoDataFrame, or CSV / GeoJSON bytes or text).

    The same checks and report as :func:`read_incidents`. A ``str`` is the content of a
    CSV or GeoJSON body, never a file path (pass a :class:`~pathlib.Path` for a file). A DataFrame gives its
    coordinates in columns (found by name, or ``lon``/``lat``); a GeoDataFrame in its
    geometry (its CRS is used, or ``crs=`` when it has none). Row numbers in the report
    are 1-based positions in ``data``. ``source`` defaults to ``"dataframe"`` for frames
    and ``"upload"`` for bytes. ``now`` fixes the present for the future-time check
    (default: the current time). ``options`` (a :class:`ReaderOptions`) may carry the
    reading options; a keyword that is not ``None`` wins over it (``layer`` and
    ``format`` do not apply to in-memory data).

    Returns
    -------
    GeoDataFrame or (GeoDataFrame, ValidationReport)
    """
    opts = (options or ReaderOptions()).merged(
        lon=lon, lat=lat, crs=crs, id_field=id_field, category_field=category_field, time_field=time_field,
        category=category, category_map=category_map, timezone=timezone, source=source, region=region,
    )
    loaded = _load(data, text_is_data=True)
    gdf, report = _validate(loaded, opts, boundaries=boundaries, now=now)
    return (gdf, report) if return_report else gdf
