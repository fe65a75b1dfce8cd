"""Read ward boundaries into the canonical boundary table."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ward_geo.errors import InputError
from ward_geo.io import coords as C
from ward_geo.io.columns import (
    POPULATION_NAMES,
    WARD_ID_NAMES,
    WARD_NAME_EN_NAMES,
    WARD_NAME_NAMES,
    _as_text,
    _explicit_column,
    find_column,
)
from ward_geo.io.crs import _check_earth_crs, _crs_label, _is_wgs84, _resolve_crs
from ward_geo.io.formats import Source, _from_vector, _load
from ward_geo.io.options import ReaderOptions
from ward_geo.io.validation import ValidationReport
from ward_geo.schema import BOUNDARY_COLUMNS, WGS84, slugify


# ---------------------------------------------------------------------------- boundaries
def read_boundaries(
    path: Source | gpd.GeoDataFrame,
    *,
    options: ReaderOptions | None = None,
    layer: str | int | None = None,
    id_field: str | None = None,
    name_field: str | None = None,
    crs: Any = None,
    return_report: bool = False,
) -> gpd.GeoDataFrame | tuple[gpd.GeoDataFrame, ValidationReport]:
    """Read ward boundaries into the canonical boundary table.

    Parameters
    ----------
    path : str, Path, bytes, file object or GeoDataFrame
        GeoJSON, GeoPackage, Shapefile (or zip) or GeoParquet.
    options : ReaderOptions, optional
        ``layer``, ``id_field``, ``name_field`` and ``crs`` as one object (the other fields
        do not apply); a keyword below that is not ``None`` wins over it.
    layer : str or int, optional
        Layer of a multi-layer file.
    id_field : str, optional
        Property holding the ward id. Default: a ``ward_id`` property when present, else
        ``slugify(name)`` (``"Phường Ba Đình"`` -> ``"phuong-ba-dinh"``). Colliding ids
        get ``-2``, ``-3``... suffixes (reported).
    name_field : str, optional
        Property holding the ward name (found by name when omitted: ``name``, ``ten``...).
    crs : CRS-like, optional
        CRS of a layer that declares none.
    return_report : bool
        Also return the :class:`ValidationReport`.

    Returns
    -------
    GeoDataFrame or (GeoDataFrame, ValidationReport)
        ``ward_id``, ``name`` (NFC), ``name_en``, ``population`` (Int64), geometry
        (Polygon/MultiPolygon, valid, exterior rings counter-clockwise), EPSG:4326.
    """
    opts = (options or ReaderOptions()).merged(layer=layer, id_field=id_field, name_field=name_field, crs=crs)
    loaded = (_load(path, layer=opts.layer) if not isinstance(path, gpd.GeoDataFrame)
              else _from_vector(path, "dataframe"))
    if loaded.geometry is None:
        raise InputError(f"{loaded.name}: boundaries need polygon geometries (a GeoJSON, GeoPackage, Shapefile "
                         "or GeoParquet file), not a plain table")
    table = loaded.table
    n = len(table)
    rows = _Rows(loaded.name, np.arange(1, n + 1), np.zeros(n, dtype=bool),
                 ValidationReport(source=loaded.name, rows_read=n))
    for note in loaded.notes:
        rows.report.note(note)
    src_crs = _source_crs(loaded.crs, _resolve_crs(opts.crs), loaded.geometry, rows)
    rows.report.crs_in = _crs_label(src_crs)
    _check_earth_crs(src_crs, rows.source)
    geoms = gpd.GeoSeries(loaded.geometry.values, crs=src_crs)
    if not _is_wgs84(src_crs):
        geoms = geoms.to_crs(WGS84)
        rows.report.note(f"boundaries reprojected from {_crs_label(src_crs)} to EPSG:4326")
    values = geoms.values.to_numpy() if hasattr(geoms.values, "to_numpy") else np.asarray(geoms.values)
    values = np.asarray(values, dtype=object)
    _reject_non_polygons(values, rows)
    repaired = _repair_invalid(values, rows)
    ids, names, name_en, population = _ward_attributes(table, opts.id_field, opts.name_field, rows)
    return _boundary_table(values, ids, names, name_en, population, repaired, rows, return_report)


@dataclass
class _Rows:
    """The rows of a boundary layer being read: 1-based numbers, rejected so far and the report."""

    source: str
    numbers: np.ndarray
    reject: np.ndarray
    report: ValidationReport


def _source_crs(file_crs: CRS | None, declared: CRS | None, geometry: gpd.GeoSeries, rows: _Rows) -> CRS:
    """The CRS of the layer: the file's, else ``crs=``, else degrees when the coordinates fit."""
    report = rows.report
    if file_crs is not None:
        if declared is not None and not file_crs.equals(declared):
            report.note(f"the file declares {_crs_label(file_crs)}; crs={_crs_label(declared)} ignored")
        return file_crs
    if declared is not None:
        return declared
    b = geometry.dropna().total_bounds if geometry.notna().any() else np.array([0, 0, 0, 0.0])
    if np.all(np.isfinite(b)) and b[0] >= -180 and b[2] <= 180 and b[1] >= -90 and b[3] <= 90:
        report.add(None, "crs", "the layer declares no CRS; read as EPSG:4326 (longitude/latitude degrees)",
                   "warning")
        return CRS.from_epsg(4326)
    report.add(None, "crs", "the layer has no CRS and its coordinates are not degrees; pass crs=")
    report.rows_rejected = len(rows.numbers)
    raise InputError(f"{rows.source}: the layer has no CRS; pass crs= (for example 'EPSG:3405')", report=report)


def _reject_non_polygons(values: np.ndarray, rows: _Rows) -> None:
    """Reject rows whose geometry is missing, empty or not a (multi)polygon."""
    null = np.asarray([g is None for g in values], dtype=bool)
    safe = values.copy()
    safe[null] = None
    empty = ~null & shapely.is_empty(safe)
    for mask, reason in ((null, "missing geometry (null); wards need a polygon"),
                         (empty, "empty geometry; wards need a polygon")):
        if mask.any():
            rows.report.add_many(rows.numbers[mask], "geometry", reason)
            rows.reject |= mask
    types = shapely.get_type_id(safe)
    polygonal = (types == 3) | (types == 6)
    other = ~null & ~empty & ~polygonal
    if other.any():
        tnames = {0: "Point", 1: "LineString", 2: "LinearRing", 4: "MultiPoint", 5: "MultiLineString",
                  7: "GeometryCollection"}
        rows.report.add_many(rows.numbers[other], "geometry",
                             [f"geometry is a {tnames.get(int(t), 'non-polygon')}; wards must be Polygon or "
                              "MultiPolygon" for t in shapely.get_type_id(safe[other])])
        rows.reject |= other


def _repair_invalid(values: np.ndarray, rows: _Rows) -> np.ndarray:
    """Repair invalid polygons in place with ``make_valid``; reject those it cannot repair."""
    repaired = np.zeros(len(values), dtype=bool)
    check = ~rows.reject
    safe = values.copy()
    safe[~check] = None
    invalid = check & ~shapely.is_valid(safe)
    for i in np.flatnonzero(invalid):
        why = shapely.is_valid_reason(values[i])
        fixed = shapely.make_valid(values[i])
        if fixed.geom_type == "GeometryCollection":
            parts = [g for g in fixed.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
            fixed = shapely.union_all(parts) if parts else None
        row = int(rows.numbers[i])
        if fixed is None or fixed.is_empty or fixed.geom_type not in ("Polygon", "MultiPolygon"):
            rows.report.add(row, "geometry", f"invalid polygon ({why}) that make_valid cannot turn into a polygon")
            rows.reject[i] = True
            continue
        values[i] = fixed
        rows.report.add(row, "geometry", f"invalid polygon ({why}) repaired with make_valid", "repaired")
        repaired[i] = True
    return repaired


def _ward_attributes(table: pd.DataFrame, id_field: str | None, name_field: str | None,
                     rows: _Rows) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    """Ward ids (filled and made unique), names, English names and population of every row."""
    from ward_geo.schema import nfc

    n = len(table)
    columns = list(table.columns)
    name_col = _explicit_column(table, name_field, "name") or find_column(columns, WARD_NAME_NAMES)
    id_col = _explicit_column(table, id_field, "id") or (
        find_column(columns, WARD_ID_NAMES) if id_field is None else None
    )
    en_col = find_column(columns, WARD_NAME_EN_NAMES)
    pop_col = find_column(columns, POPULATION_NAMES)
    names = (_as_text(table[name_col]).map(nfc).to_numpy(dtype=object, copy=True) if name_col is not None
             else np.full(n, None, dtype=object))
    ids = (_as_text(table[id_col]).to_numpy(dtype=object, copy=True) if id_col is not None
           else np.full(n, None, dtype=object))
    if name_col is None and id_col is None:
        rows.report.add(None, "name",
                        f"no name column found (looked for {', '.join(WARD_NAME_NAMES)}); pass name_field=")
        rows.report.rows_rejected = n
        raise InputError(f"{rows.source}: no ward name column among {', '.join(map(str, columns))}; "
                         "pass name_field=", report=rows.report)
    no_name = (names == None) & (ids == None)  # noqa: E711
    if (no_name & ~rows.reject).any():
        m = no_name & ~rows.reject
        rows.report.add_many(rows.numbers[m], str(name_col or "name"), "missing ward name (and no id)")
        rows.reject |= m
    names = np.where(names == None, ids, names)  # noqa: E711
    ids = _fill_ward_ids(ids, names, id_col, name_col, rows)
    _make_ids_unique(ids, str(id_col or name_col), rows)
    name_en = (_as_text(table[en_col]).map(nfc).to_numpy(dtype=object, copy=True) if en_col is not None
               else np.full(n, None, object))
    population = _population(table, pop_col, rows)
    return ids, names, name_en, population


def _fill_ward_ids(ids: np.ndarray, names: np.ndarray, id_col: str | None, name_col: str | None,
                   rows: _Rows) -> np.ndarray:
    """Ids from the id column, else the slug of the name, else ``ward-<row>`` (reported)."""
    if id_col is None:
        ids = np.asarray([slugify(v) if isinstance(v, str) else None for v in names], dtype=object)
        blank = (ids == "") & ~rows.reject
        if blank.any():
            for i in np.flatnonzero(blank):
                ids[i] = f"ward-{rows.numbers[i]}"
            rows.report.add_many(rows.numbers[blank], str(name_col),
                                 "the name gives an empty slug; ward_id set to ward-<row>", "warning", names[blank])
        return ids
    missing_id = (ids == None) & ~rows.reject  # noqa: E711
    if missing_id.any():
        for i in np.flatnonzero(missing_id):
            ids[i] = slugify(names[i]) or f"ward-{rows.numbers[i]}"
        rows.report.add_many(rows.numbers[missing_id], str(id_col), "missing ward id; slug of the name used",
                             "warning")
    return ids


def _make_ids_unique(ids: np.ndarray, field: str, rows: _Rows) -> None:
    """Rename repeated ward ids in place with ``-2``, ``-3``... suffixes (reported)."""
    seen: dict[str, int] = {}
    used = set(ids[~rows.reject].tolist())
    for i in np.flatnonzero(~rows.reject):
        wid = ids[i]
        if wid not in seen:
            seen[wid] = int(rows.numbers[i])
            continue
        k = 2
        while f"{wid}-{k}" in used:
            k += 1
        new = f"{wid}-{k}"
        used.add(new)
        rows.report.add(int(rows.numbers[i]), field, f"ward_id '{wid}' already used by row {seen[wid]}; "
                        f"renamed to '{new}'", "warning", wid)
        ids[i] = new


def _population(table: pd.DataFrame, pop_col: str | None, rows: _Rows) -> Any:
    """The population column as Int64; values that are not numbers >= 0 are left empty (reported)."""
    n = len(table)
    population = pd.array([pd.NA] * n, dtype="Int64")
    if pop_col is None:
        return population
    parsed = C.parse_coordinates(table[pop_col])
    bad = ((parsed.status == C.NON_NUMERIC) | (parsed.status == C.NON_FINITE) |
           (parsed.usable & (parsed.values < 0))) & ~rows.reject
    if bad.any():
        rows.report.add_many(rows.numbers[bad], str(pop_col), "population is not a number >= 0; left empty",
                             "warning", table[pop_col].astype(object).to_numpy()[bad])
    good = parsed.usable & ~bad
    population = pd.array(np.where(good, np.round(np.where(good, parsed.values, 0)), 0).astype(np.int64),
                          dtype="Int64")
    population[~good] = pd.NA
    return population


def _boundary_table(values: np.ndarray, ids: np.ndarray, names: np.ndarray, name_en: np.ndarray,
                    population: Any, repaired: np.ndarray, rows: _Rows,
                    return_report: bool) -> gpd.GeoDataFrame | tuple[gpd.GeoDataFrame, ValidationReport]:
    """The canonical table of the rows kept, with the report's counts."""
    reject, report = rows.reject, rows.report
    keep = np.flatnonzero(~reject)
    oriented = shapely.orient_polygons(np.asarray(values[keep], dtype=object), exterior_cw=False) if len(keep) else []
    out = gpd.GeoDataFrame(
        {
            "ward_id": pd.Series(ids[keep], dtype=object),
            "name": pd.Series(names[keep], dtype=object),
            "name_en": pd.Series(name_en[keep], dtype=object),
            "population": population[keep],
        },
        geometry=gpd.GeoSeries(oriented, crs=WGS84).values if len(keep) else gpd.GeoSeries([], crs=WGS84).values,
        crs=WGS84,
    )[list(BOUNDARY_COLUMNS)]
    report.rows_accepted = len(out)
    report.rows_rejected = int(reject.sum())
    report.rows_repaired = int((repaired & ~reject).sum())
    report.sort_issues()
    out.attrs["validation_report"] = report
    if len(out) == 0:
        raise InputError(f"{rows.source}: no usable ward polygons among {len(rows.numbers)} features", report=report)
    return (out, report) if return_report else out
