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

import csv
import hashlib
import io
import re
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer

from ward_geo.categories import CATEGORIES, normalize_term
from ward_geo.errors import InputError, NotFoundError, ParameterError
from ward_geo.io import coords as C
from ward_geo.io.bounded import ReadLimits, open_text_source, parse_geojson, read_vector_sandboxed, scrub_paths
from ward_geo.io.times import EXPECTED_TIME_FORMS, parse_times
from ward_geo.io.validation import ValidationReport
from ward_geo.schema import BOUNDARY_COLUMNS, WGS84, conform_incidents, slugify

__all__ = [
    "read_boundaries",
    "read_incidents",
    "validate_incidents",
    "assign_wards",
    "find_column",
    "LON_NAMES",
    "LAT_NAMES",
    "ID_NAMES",
    "CATEGORY_NAMES",
    "TIME_NAMES",
]

LON_NAMES: tuple[str, ...] = ("longitude", "lon", "lng", "long", "kinh do", "x")
LAT_NAMES: tuple[str, ...] = ("latitude", "lat", "vi do", "y")
ID_NAMES: tuple[str, ...] = (
    "incident id", "crime id", "uid", "incident no", "incident number", "id", "ma vu viec",
)
CATEGORY_NAMES: tuple[str, ...] = (
    "category", "crime type", "offense type", "offense", "offence", "offence type", "loai",
    "loai vu viec", "type",
)
TIME_NAMES: tuple[str, ...] = (
    "occurred at", "date time", "datetime", "offense date", "incident date", "month", "date",
    "time", "timestamp", "thoi gian", "ngay",
)
SEVERITY_NAMES: tuple[str, ...] = ("severity", "muc do")
DESCRIPTION_NAMES: tuple[str, ...] = ("description", "mo ta", "noi dung", "details", "narrative", "location")
WARD_ID_NAMES: tuple[str, ...] = ("ward id",)
WARD_NAME_NAMES: tuple[str, ...] = ("name", "ten", "ten phuong", "ten xa", "ward name", "ward", "name vi")
WARD_NAME_EN_NAMES: tuple[str, ...] = ("name en", "name english", "english name")
POPULATION_NAMES: tuple[str, ...] = ("population", "dan so", "pop")

_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.zip", ".csv.bz2", ".csv.xz", ".tsv", ".txt", ".tsv.gz")
_PARQUET_SUFFIXES = (".parquet", ".geoparquet", ".pq")
_SWAP_MARGIN_DEG = 0.5

PathLike = str | Path
Source = PathLike | bytes | bytearray | memoryview | IO[bytes] | IO[str]


# ---------------------------------------------------------------------------- loading
@dataclass
class _Loaded:
    """A file as read: attribute table, geometry (vector formats) and its CRS."""

    table: pd.DataFrame
    geometry: gpd.GeoSeries | None
    crs: CRS | None
    name: str
    notes: list[str] = field(default_factory=list)


def find_column(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    """The first column whose normalised name is one of ``candidates`` (in their order)."""
    normalised: dict[str, str] = {}
    for col in columns:
        normalised.setdefault(normalize_term(col), col)
    for cand in candidates:
        hit = normalised.get(normalize_term(cand))
        if hit is not None:
            return hit
    return None


def _sniff_separator(head: str) -> str:
    first = head.splitlines()[0] if head else ""
    counts = {sep: first.count(sep) for sep in (",", ";", "\t")}
    return max(counts, key=lambda s: (counts[s], s == ","))


def _check_field_lengths(chunk: pd.DataFrame, first_row: int, name: str, limits: ReadLimits) -> None:
    """Raise InputError naming the row and field of the first value longer than the field bound."""
    for col in chunk.columns:
        values = chunk[col]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
            continue
        lengths = values.str.len()
        too_long = lengths.to_numpy(dtype=np.float64, na_value=0.0) > limits.max_field_chars
        if too_long.any():
            pos = int(np.flatnonzero(too_long)[0])
            raise InputError(
                f"{name}: row {first_row + pos + 1}, field {str(col)[:60]!r}: {int(lengths.iloc[pos])} characters, "
                f"more than WARD_GEO_READ_MAX_FIELD_CHARS={limits.max_field_chars}",
                details={"row": first_row + pos + 1, "field": str(col)[:60], "limit_chars": limits.max_field_chars},
            )


def _read_csv(data: bytes | Path, name: str, compression: str | None = None) -> pd.DataFrame:
    """Read a CSV (bytes or a path, optionally compressed) as text columns, in bounded chunks.

    Nothing is converted, so every value can be checked and reported as found. The file is
    streamed (inflated on the way) within the ``WARD_GEO_READ_*`` bounds: total bytes,
    line length, field length and row count; a breach is an InputError naming the file
    (and the row and field for a long value).
    """
    limits = ReadLimits.from_settings()
    source = data if isinstance(data, Path) else bytes(data)
    opener = open_text_source(source, name, limits, compression=compression if isinstance(data, Path) else "sniff")
    try:
        with opener() as fh:
            head = fh.read(65536)
    except (OSError, EOFError) as exc:
        raise InputError(f"{name}: damaged {compression or ''} file ({type(exc).__name__})") from None
    if not head.strip():
        raise InputError(f"{name}: the file is empty (expected a header line and data rows)")
    sep = _sniff_separator(head.decode("utf-8-sig", errors="ignore"))
    options: dict[str, Any] = dict(sep=sep, dtype=str, encoding="utf-8-sig", keep_default_na=False, na_values=[""])
    try:
        frames: list[pd.DataFrame] = []
        rows = 0
        with opener() as fh, pd.read_csv(fh, chunksize=_CSV_CHUNK_ROWS, **options) as chunks:
            for chunk in chunks:
                _check_field_lengths(chunk, rows, name, limits)
                rows += len(chunk)
                if rows > limits.max_rows:
                    raise InputError(f"{name}: more than WARD_GEO_READ_MAX_ROWS={limits.max_rows} rows; split the file",
                                     details={"limit_rows": limits.max_rows})
                frames.append(chunk)
        if frames:
            frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        else:
            with opener() as fh:
                frame = pd.read_csv(fh, nrows=0, **options)
    except InputError:
        raise
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    except pd.errors.ParserError:
        frame = _read_ragged_csv(opener, sep, name, limits)
    except (pd.errors.EmptyDataError, ValueError) as exc:
        raise InputError(f"{name}: not a readable CSV file ({str(exc).strip()[:200]})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _read_ragged_csv(opener: Any, sep: str, name: str, limits: ReadLimits) -> pd.DataFrame:
    """Read a CSV whose rows do not all have the header's number of fields.

    Rows with more fields than the header are kept as empty rows and listed in
    ``frame.attrs["malformed_rows"]`` (``{row: reason}``) so the validator rejects them
    with their row number; shorter rows are padded with empty values, as pandas does.
    """
    previous = csv.field_size_limit()
    csv.field_size_limit(limits.max_field_chars)
    records: list[list[str]] = []
    try:
        with opener() as fh, io.TextIOWrapper(fh, encoding="utf-8-sig", newline="") as text:
            reader = csv.reader(text, delimiter=sep)
            try:
                for record in reader:
                    if record:  # blank lines are not rows (as for pandas)
                        records.append(record)
                        if len(records) > limits.max_rows + 1:
                            raise InputError(f"{name}: more than WARD_GEO_READ_MAX_ROWS={limits.max_rows} rows")
            except csv.Error as exc:
                if "field larger than field limit" in str(exc):
                    raise InputError(
                        f"{name}: row {len(records)} (line {reader.line_num}): a field is longer than "
                        f"WARD_GEO_READ_MAX_FIELD_CHARS={limits.max_field_chars}",
                        details={"row": len(records), "limit_chars": limits.max_field_chars},
                    ) from None
                raise InputError(f"{name}: not a readable CSV file ({exc})") from None
            except UnicodeDecodeError as exc:
                raise InputError(f"{name}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    finally:
        csv.field_size_limit(previous)
    header, body = records[0], records[1:]
    width = len(header)
    rows: list[list[str | None]] = []
    malformed: dict[int, str] = {}
    for number, record in enumerate(body, start=1):
        if len(record) > width:
            malformed[number] = f"the row has {len(record)} fields but the header has {width}; row unusable"
            rows.append([None] * width)
        else:
            rows.append([v if v != "" else None for v in record] + [None] * (width - len(record)))
    frame = pd.DataFrame(rows, columns=header, dtype="str")
    frame.attrs["malformed_rows"] = malformed
    return frame


_CSV_CHUNK_ROWS = 250_000


def _from_vector(gdf: gpd.GeoDataFrame, name: str) -> _Loaded:
    geometry = gdf.geometry
    table = pd.DataFrame(gdf.drop(columns=[gdf.geometry.name]))
    return _Loaded(table.reset_index(drop=True), geometry.reset_index(drop=True), gdf.crs, name)


_SQLITE_MAGIC = b"SQLite format 3\x00"
_SQLITE_SUFFIXES = (".gpkg", ".sqlite", ".db", ".sqlite3", ".gpkg.zip")


def _crs_error(name: str, exc: Exception) -> InputError:
    text = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
    return InputError(f"{name}: unknown CRS in the file's projection (.prj / metadata): {text}; "
                      "pass crs= or re-save the file with an EPSG CRS", details={"field": "crs"})


def _is_sqlite_file(path: Path) -> bool:
    if path.name.lower().endswith(_SQLITE_SUFFIXES):
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == _SQLITE_MAGIC
    except OSError:
        return False


def _read_vector(source: Any, name: str, layer: str | int | None, *, sandbox: bool = False) -> _Loaded:
    """Read a GDAL vector source. GeoPackage / SQLite files (whose views may never end) and
    any ``sandbox`` read run in a child process within the read budgets."""
    from pyproj.exceptions import CRSError

    path = Path(source) if isinstance(source, (str, Path)) else None
    try:
        if path is not None and (sandbox or _is_sqlite_file(path)):
            gdf = read_vector_sandboxed(path, name, layer, ReadLimits.from_settings())
        else:
            with warnings.catch_warnings():  # GDAL: in-memory GeoPackages have no .gpkg extension
                warnings.filterwarnings("ignore", message=".*non conformant file extension", category=RuntimeWarning)
                gdf = gpd.read_file(source, engine="pyogrio", layer=layer)
    except CRSError as exc:
        raise _crs_error(name, exc) from None
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(f"{name}: cannot read as a vector file ({scrub_paths(str(exc).strip(), path)[:300]})") from None
    except (ValueError, TypeError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{name}: cannot read as a vector file ({scrub_paths(str(exc), path)[:300]})") from None
    if not isinstance(gdf, gpd.GeoDataFrame):
        gdf = gpd.GeoDataFrame(gdf, geometry=gpd.GeoSeries([None] * len(gdf)))
    loaded = _from_vector(gdf, name)
    if layer is None and path is not None and not (sandbox or _is_sqlite_file(path)):
        try:
            layers = pyogrio.list_layers(source)
        except Exception:  # noqa: BLE001 - listing layers is advisory only
            layers = []
        if len(layers) > 1:
            loaded.notes.append(f"{name} has {len(layers)} layers; read the first ({layers[0][0]}); pass layer= to choose")
    return loaded


def _read_geojson(source: Path | bytes, name: str) -> _Loaded:
    """GeoJSON by the project's own parser (json + shapely): GDAL never sees the bytes."""
    from pyproj.exceptions import CRSError

    limits = ReadLimits.from_settings()
    table, geometry, crs_name = parse_geojson(open_text_source(source, name, limits, line_bound=False), name, limits)
    crs = None
    if crs_name is not None:
        try:
            crs = CRS.from_user_input(crs_name)
        except CRSError as exc:
            raise _crs_error(name, exc) from None
    elif len(table) or len(geometry):
        crs = CRS.from_epsg(4326)  # RFC 7946: longitude/latitude on WGS 84
    geometry = gpd.GeoSeries(geometry.values, crs=crs)
    return _Loaded(table.reset_index(drop=True), geometry.reset_index(drop=True), crs, name)


def _spooled_vector(raw: bytes, label: str, layer: str | int | None) -> _Loaded:
    """An in-memory GeoPackage / SQLite file: written to a private temporary file and read sandboxed."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ward-geo-mem-") as tmp:
        path = Path(tmp) / "data.gpkg"
        path.write_bytes(raw)
        return _read_vector(path, label, layer, sandbox=True)


def _read_parquet(path: Path | IO[bytes], name: str) -> _Loaded:
    try:
        gdf = gpd.read_parquet(path)
    except ValueError:
        try:
            return _Loaded(pd.read_parquet(path).reset_index(drop=True), None, None, name)
        except Exception as exc:  # noqa: BLE001 - any pyarrow error means the file is unusable
            raise InputError(f"{name}: cannot read as Parquet ({scrub_paths(str(exc), path if isinstance(path, Path) else None)})") from None
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{name}: cannot read as GeoParquet ({scrub_paths(str(exc), path if isinstance(path, Path) else None)})") from None
    return _from_vector(gdf, name)


#: ``format=`` values of :func:`read_incidents`.
FORMATS = ("geojson", "csv", "vector")


def _load(source: Any, *, layer: str | int | None = None, name: str | None = None,
          text_is_data: bool = False, format: str | None = None) -> _Loaded:
    """Read ``source`` (path, bytes, file object, DataFrame) without validating anything.

    A ``str`` is a file path, unless ``text_is_data`` (then it is the file's content and is
    never used as a path: uploaded text must not name files on the server). ``format``
    names the parser and nothing is guessed from the content: ``"geojson"`` (JSON +
    shapely), ``"csv"`` (pandas) or ``"vector"`` (GDAL, in a sandboxed child process).
    """
    if format is not None and format not in FORMATS:
        raise ParameterError(f"format={format!r} is not one of {', '.join(FORMATS)}")
    if isinstance(source, gpd.GeoDataFrame):
        return _from_vector(source, name or "dataframe")
    if isinstance(source, pd.DataFrame):
        return _Loaded(source.reset_index(drop=True), None, None, name or "dataframe")
    if hasattr(source, "read"):  # a file object: its content is data, whatever its type
        source = source.read()
        source = source.encode("utf-8") if isinstance(source, str) else source
    if isinstance(source, str) and text_is_data:
        source = source.encode("utf-8")
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        label = name or "upload"
        if format == "geojson":
            return _read_geojson(raw, label)
        if format == "csv":
            return _Loaded(_read_csv(raw, label), None, None, label)
        if raw[:2] == b"\x1f\x8b":
            with open_text_source(raw, label, ReadLimits.from_settings(), compression="gzip",
                                  line_bound=False)() as fh:
                raw = fh.read()
        stripped = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
        if stripped[:1] == b"{":
            return _read_geojson(raw, label)
        if raw[:16] == _SQLITE_MAGIC or format == "vector":
            return _spooled_vector(raw, label, layer)
        if raw[:4] == b"PK\x03\x04":
            return _read_vector(raw, label, layer)  # zipped shapefile
        if raw[:4] == b"PAR1":
            return _read_parquet(io.BytesIO(raw), label)
        return _Loaded(_read_csv(raw, label), None, None, label)
    if not isinstance(source, (str, Path)):
        raise ParameterError(f"cannot read incidents from a {type(source).__name__}; pass a path, bytes or a DataFrame")
    path = Path(source)
    label = name or path.name
    if not path.exists():
        raise NotFoundError(f"file {path.name} does not exist")
    if path.is_dir() and path.suffix.lower() not in (".gdb",):
        raise InputError(f"{path.name} is a folder; pass a file")
    if format == "geojson":
        return _read_geojson(path, label)
    if format == "csv":
        return _Loaded(_read_csv(path, label, "sniff"), None, None, label)
    if format == "vector":
        return _read_vector(path, label, layer, sandbox=True)
    lower = path.name.lower()
    if lower.endswith(_CSV_SUFFIXES):
        compression = next((c for s, c in ((".gz", "gzip"), (".zip", "zip"), (".bz2", "bz2"), (".xz", "xz"))
                            if lower.endswith(s)), None)
        return _Loaded(_read_csv(path, label, compression), None, None, label)
    if lower.endswith(_PARQUET_SUFFIXES):
        return _read_parquet(path, label)
    if lower.endswith(".zip"):
        try:
            with zipfile.ZipFile(path) as zf:
                members = [m for m in zf.namelist() if not m.endswith("/")]
        except zipfile.BadZipFile:
            raise InputError(f"{label}: not a readable zip archive") from None
        if any(m.lower().endswith((".shp", ".gpkg", ".geojson", ".json")) for m in members):
            return _read_vector(path, label, layer, sandbox=any(m.lower().endswith(".gpkg") for m in members))
        if len(members) == 1 and members[0].lower().endswith((".csv", ".tsv", ".txt")):
            return _Loaded(_read_csv(path, label, "zip"), None, None, label)
        raise InputError(f"{label}: the zip archive holds no shapefile, GeoPackage, GeoJSON or single CSV "
                         f"({len(members)} members)")
    if lower.endswith((".gz", ".bz2", ".xz")):
        with open_text_source(path, label, ReadLimits.from_settings(), line_bound=False)() as fh:
            return _load(fh.read(), layer=layer, name=label)
    return _read_vector(path, label, layer)


# ---------------------------------------------------------------------------- helpers
def _resolve_crs(value: Any, what: str = "crs") -> CRS | None:
    if value is None:
        return None
    try:
        return CRS.from_user_input(value)
    except Exception:  # noqa: BLE001 - pyproj raises CRSError and others
        raise ParameterError(f"{what}={value!r} is not a known CRS (expected for example 'EPSG:3405' or 4326)") from None


def _crs_label(crs: CRS | None) -> str | None:
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_string()


def _is_wgs84(crs: CRS) -> bool:
    return crs.is_geographic and crs.to_epsg() == 4326 or crs.equals(CRS.from_epsg(4326), ignore_axis_order=True)


def _explicit_column(table: pd.DataFrame, name: str | None, what: str) -> str | None:
    if name is None:
        return None
    if name in table.columns:
        return name
    hit = find_column(list(table.columns), [name])
    if hit is None:
        raise InputError(
            f"{what} column {name!r} not found; the columns are: {', '.join(map(str, table.columns))}"
        )
    return hit


def _as_text(series: pd.Series) -> pd.Series:
    """Strings (stripped) with None for missing/empty; integral floats lose their '.0'."""
    s = series.reset_index(drop=True)
    if pd.api.types.is_float_dtype(s.dtype):
        arr = s.to_numpy(dtype=np.float64, na_value=np.nan)
        integral = np.isfinite(arr) & (np.floor(arr) == arr)
        out = pd.Series([None] * len(arr), dtype=object)
        out[integral] = arr[integral].astype(np.int64).astype(str)
        out[~integral & ~np.isnan(arr)] = arr[~integral & ~np.isnan(arr)].astype(str)
        return out
    if isinstance(s.dtype, pd.StringDtype):
        text = s.str.strip()
    else:
        text = s.astype(object).where(s.notna(), None).astype("string").str.strip()
    out = text.to_numpy(dtype=object, na_value=None)
    out[out == ""] = None
    return pd.Series(out, dtype=object)


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
    """Per-row ``source``: a ``source`` column of the file (a canonical export) wins over the
    file name, unless the caller named the source explicitly; empty values take the default."""
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


def _fmt(v: float) -> str:
    return f"{v:.7f}".rstrip("0").rstrip(".")


def _pairs(x: np.ndarray, y: np.ndarray) -> list[str]:
    return [f"{_fmt(a)}, {_fmt(b)}" for a, b in zip(x, y, strict=True)]


class _Ledger:
    """Per-row outcome while validating: which rows are rejected or repaired, and the report."""

    def __init__(self, report: ValidationReport, n: int) -> None:
        self.report = report
        self.n = n
        self.rows = np.arange(1, n + 1)
        self.rejected = np.zeros(n, dtype=bool)
        self.repaired = np.zeros(n, dtype=bool)

    def _add(self, mask: np.ndarray, field: str, reasons: Any, action: Any, values: Any) -> np.ndarray:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            reasons = reasons if isinstance(reasons, str) else list(np.asarray(reasons, dtype=object)[mask])
            vals = None if values is None else list(np.asarray(values, dtype=object)[mask])
            self.report.add_many(self.rows[mask], field, reasons, action, vals)
        return mask

    def reject(self, mask: np.ndarray, field: str, reasons: Any, values: Any = None) -> None:
        """Reject the rows in ``mask`` (``reasons``: one string or one per row)."""
        self.rejected |= self._add(mask, field, reasons, "rejected", values)

    def repair(self, mask: np.ndarray, field: str, reason: str, values: Any = None) -> None:
        """Record a repair of the rows in ``mask``."""
        self.repaired |= self._add(mask, field, reason, "repaired", values)

    def warn(self, mask: np.ndarray, field: str, reason: str, values: Any = None) -> None:
        """Record a warning on the rows in ``mask`` (they are kept unchanged)."""
        self._add(mask, field, reason, "warning", values)

    def file_error(self, field: str, reason: str, message: str) -> InputError:
        """A file-level problem that makes every row unusable: the error to raise."""
        self.report.add(None, field, reason, "rejected")
        self.report.rows_rejected = self.n
        return InputError(f"{self.report.source}: {message}", report=self.report)


_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _reject_nul_bytes(table: pd.DataFrame, ledger: _Ledger) -> None:
    """Reject rows with a NUL character (U+0000) in any text field; the field is named."""
    for col in table.columns:
        values = table[col]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
            continue
        arr = values.to_numpy(dtype=object)
        texts = [v for v in arr if isinstance(v, str)]
        if not texts or "\x00" not in "".join(texts):
            continue
        mask = np.fromiter((isinstance(v, str) and "\x00" in v for v in arr), dtype=bool, count=len(arr))
        ledger.reject(mask, str(col), "the text contains a NUL character (U+0000); remove control characters",
                      [v.replace("\x00", "\\0") if isinstance(v, str) else v for v in arr])


def _checked_ids(ids: np.ndarray, field: str, ledger: _Ledger) -> np.ndarray:
    """Ids NFC-normalised; ids with zero-width or bidirectional control characters rejected."""
    import unicodedata

    texts = [v for v in ids if isinstance(v, str)]
    joined = "\x1f".join(texts)
    if joined.isascii():
        return ids
    out = np.asarray([unicodedata.normalize("NFC", v) if isinstance(v, str) else v for v in ids], dtype=object)
    if _INVISIBLE.search(joined):
        found = [_INVISIBLE.search(v) if isinstance(v, str) else None for v in out]
        mask = np.asarray([m is not None for m in found], dtype=bool)
        reasons = [f"the id contains the invisible control character U+{ord(m.group()):04X}; ids must be visible "
                   "text without zero-width or bidirectional controls" if m else "" for m in found]
        shown = [v.encode("unicode_escape").decode("ascii") if isinstance(v, str) else v for v in out]
        ledger.reject(mask, field, reasons, shown)
    return out


def _check_earth_crs(crs: CRS, name: str) -> None:
    """Refuse a CRS that is not of the Earth (a Mars GEOGCS, for example)."""
    try:
        axis = crs.ellipsoid.semi_major_metre if crs.ellipsoid is not None else None
    except Exception:  # noqa: BLE001 - pyproj may not know the datum
        axis = None
    if axis is None or not 6_350_000 <= axis <= 6_400_000:
        label = (crs.name or "unnamed")[:80]
        raise InputError(f"{name}: unknown CRS {label!r}: not a CRS of the Earth (semi-major axis "
                         f"{axis if axis is not None else 'unknown'} m); pass crs= with an EPSG code",
                         details={"field": "crs"})



@dataclass
class _Columns:
    lon: str | None
    lat: str | None
    id: str | None
    category: str | None
    time: str
    severity: str | None
    description: str | None


def _pick_columns(table: pd.DataFrame, ledger: _Ledger, *, lon: str | None, lat: str | None,
                  id_field: str | None, category_field: str | None, time_field: str | None) -> _Columns:
    """Explicit column names (which must exist), else the first known name found."""
    columns = list(table.columns)

    def pick(explicit: str | None, what: str, names: Sequence[str]) -> str | None:
        found = _explicit_column(table, explicit, what)
        return found if explicit is not None else find_column(columns, names)

    time_col = pick(time_field, "time", TIME_NAMES)
    if time_col is None:
        raise ledger.file_error(
            "occurred_at", f"no time column found (looked for {', '.join(TIME_NAMES)}); name it with time_field=",
            f"no time column found among {', '.join(map(str, columns)) or 'no columns'}; pass time_field= to name it",
        )
    return _Columns(
        lon=_explicit_column(table, lon, "longitude"),
        lat=_explicit_column(table, lat, "latitude"),
        id=pick(id_field, "id", ID_NAMES),
        category=pick(category_field, "category", CATEGORY_NAMES),
        time=time_col,
        severity=find_column(columns, SEVERITY_NAMES),
        description=find_column(columns, DESCRIPTION_NAMES),
    )


def _points_from_geometry(geometry: gpd.GeoSeries, ledger: _Ledger) -> tuple[np.ndarray, np.ndarray]:
    """x, y of point geometries; null, empty and non-point geometries rejected."""
    n = ledger.n
    null = geometry.isna().to_numpy()
    geoms = np.where(null, None, np.asarray(geometry.values, dtype=object))
    empty = ~null & shapely.is_empty(geoms)
    types = np.asarray(shapely.get_type_id(geoms))
    ledger.reject(null, "geometry", "missing geometry (null); incidents need a point")
    ledger.reject(empty, "geometry", "empty geometry; incidents need a point")
    single_multi = (types == 4) & ~empty & (shapely.get_num_geometries(geoms) == 1)
    other = ~null & ~empty & (types != 0) & ~single_multi
    if other.any():
        names = geometry.geom_type.astype(object).to_numpy()
        ledger.reject(other, "geometry", [f"geometry is a {t}; incidents must be points" for t in names])
    points = np.where(single_multi, shapely.get_geometry(geoms, 0), geoms)
    point_ok = ~null & ~empty & ((types == 0) | single_multi)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    if point_ok.any():
        x[point_ok] = shapely.get_x(points[point_ok])
        y[point_ok] = shapely.get_y(points[point_ok])
    ledger.repair(single_multi, "geometry", "MultiPoint with one point read as a Point")
    ledger.reject(point_ok & ~(np.isfinite(x) & np.isfinite(y)), "geometry", "point coordinates are not finite numbers")
    return x, y


def _points_from_columns(table: pd.DataFrame, lon_col: str, lat_col: str,
                         ledger: _Ledger) -> tuple[np.ndarray, np.ndarray]:
    """x, y parsed from two columns; missing, non-numeric and infinite values rejected."""
    out = []
    for col, word, example in ((lon_col, "longitude", "105.8412"), (lat_col, "latitude", "21.0285")):
        parsed = C.parse_coordinates(table[col])
        raw = table[col].astype(object).to_numpy()
        st = parsed.status
        ledger.reject(st == C.MISSING, str(col), f"missing {word}")
        ledger.reject(st == C.NON_NUMERIC, str(col),
                      f"{word} is not a number (expected decimal degrees such as {example})", raw)
        ledger.reject(st == C.NON_FINITE, str(col), f"{word} is not finite", raw)
        ledger.repair(st == C.COMMA_DECIMAL, str(col), f"decimal comma in {word} read as a decimal point", raw)
        out.append(np.where(parsed.usable, parsed.values, np.nan))
    return out[0], out[1]


def _check_degrees(x: np.ndarray, y: np.ndarray, ledger: _Ledger, *, coord_field: str, lon_field: str,
                   lat_field: str, declared_as: str, extent: Sequence[float] | None, against: str) -> None:
    """Degree plausibility: projected metres, swapped lat/lon (fixed in place), range, (0, 0)."""
    live = ~ledger.rejected & np.isfinite(x) & np.isfinite(y)
    proj = live & C.looks_projected(x, y)
    if proj.any():
        ledger.reject(proj, coord_field,
                      f"coordinates look like projected metres but the file is {declared_as}; "
                      "pass crs= with the projected CRS (for example EPSG:3405 VN-2000 / UTM 48N)", _pairs(x, y))
        if proj.sum() > 0.5 * live.sum():
            ledger.report.note("most coordinates look like projected metres: pass crs= with the projected CRS")
    live &= ~proj
    swap, ambiguous = C.detect_swaps(np.where(live, x, np.nan), np.where(live, y, np.nan), extent,
                                     margin=_SWAP_MARGIN_DEG)
    if swap.any():
        ledger.repair(swap, coord_field,
                      f"latitude and longitude swapped (only the swapped point fits {against}); swapped back",
                      _pairs(x, y))
        x[swap], y[swap] = y[swap].copy(), x[swap].copy()
    ledger.warn(ambiguous, coord_field, "the point fits the expected extent both as given and swapped; kept as given")
    lon_bad, lat_bad = C.out_of_range(x, y)
    if (live & lon_bad).any():
        ledger.reject(live & lon_bad, lon_field, "longitude outside [-180, 180]", [_fmt(v) for v in x])
    if (live & lat_bad).any():
        ledger.reject(live & lat_bad, lat_field, "latitude outside [-90, 90]", [_fmt(v) for v in y])
    live &= ~lon_bad & ~lat_bad
    ledger.reject(live & (x == 0.0) & (y == 0.0), coord_field, "point (0, 0) is a placeholder, not a location")


def _check_times(series: pd.Series, field: str, timezone: str, now: pd.Timestamp | None, ledger: _Ledger) -> Any:
    """Parse the time column; rows with a missing, unparseable, future or too old time rejected."""
    times = parse_times(series, timezone, now=now)
    reasons = times.reason
    has_reason = reasons != None  # noqa: E711
    if has_reason.any():
        texts = reasons.copy()
        for kind, text in (
            ("missing", "missing time"),
            ("unparseable", f"unparseable time (expected {EXPECTED_TIME_FORMS})"),
            ("in the future", "time is in the future"),
            ("before 1900", "time is before 1900"),
        ):
            texts[reasons == kind] = text
        raw = series.astype(object).to_numpy()
        ledger.reject(has_reason, field, texts, np.where(reasons == "missing", None, raw))
    return times


def _map_categories(raw: np.ndarray, category: str | None, category_map: Mapping[str, str] | None,
                    has_column: bool, ledger: _Ledger) -> tuple[np.ndarray, np.ndarray]:
    """Category codes per row and the mask of rows whose value is unknown (kept as ``other``)."""
    from ward_geo.categories import map_category

    n = len(raw)
    if category is not None:
        ledger.report.note(f"every row given category '{category}'")
        return np.full(n, category, dtype=object), np.zeros(n, dtype=bool)
    if not has_column:
        ledger.report.add(None, "category", "no category column found; every row is 'other' "
                          "(pass category= or category_field=)", "warning")
        return np.full(n, "other", dtype=object), np.zeros(n, dtype=bool)
    lookup = {u: map_category(u, category_map) for u in pd.unique(pd.Series(raw, dtype=object).dropna())}
    codes = np.asarray([lookup.get(v) if v is not None else None for v in raw], dtype=object)
    unmapped = codes == None  # noqa: E711
    codes[unmapped] = "other"
    return codes, unmapped


def _report_unmapped(raw: np.ndarray, mask: np.ndarray, field: str, ledger: _Ledger) -> None:
    """One warning per distinct unknown category value (at its first row) and the counts."""
    if not mask.any():
        return
    values = pd.Series(raw[mask], dtype=object).fillna("")
    first_rows = pd.Series(ledger.rows[mask]).groupby(values.to_numpy()).min()
    for raw_value, count in values.value_counts(sort=True).items():
        label = raw_value if raw_value != "" else "(empty)"
        ledger.report.unmapped_categories[label] = int(count)
        ledger.report.add(int(first_rows[raw_value]), field,
                          f"unknown category '{label}' ({int(count)} rows) kept as 'other'; map it with category_map=",
                          "warning", raw_value or None)


def _check_duplicate_ids(ids: np.ndarray, candidates: np.ndarray, content: dict[str, np.ndarray], field: str,
                         ledger: _Ledger) -> None:
    """Rows sharing an id: identical content keeps the first, differing content rejects all."""
    cand_idx = np.flatnonzero(candidates)
    dup = pd.Series(ids[cand_idx], dtype=object).duplicated(keep=False).to_numpy()
    if not dup.any():
        return
    didx = cand_idx[dup]
    fields = list(content)
    frame = pd.DataFrame({f: content[f][didx] for f in fields}).astype(object)
    frame = frame.where(frame.notna(), "\x00")  # missing values compare equal to each other
    frame["_id"] = ids[didx]
    differs_by_id = dict(zip(*_distinct_counts(frame, fields), strict=True))
    for key, members in pd.Series(didx).groupby(ids[didx], sort=False):
        group_idx = np.sort(members.to_numpy())
        group_rows = group_idx + 1
        differing = [f for f, d in zip(fields, differs_by_id[key], strict=True) if d]
        mask = np.zeros(ledger.n, dtype=bool)
        if not differing:
            mask[group_idx[1:]] = True
            ledger.reject(mask, field, f"duplicate incident_id (identical to row {int(group_rows[0])}); dropped", ids)
            ledger.report.duplicates_dropped += len(group_idx) - 1
        else:
            mask[group_idx] = True
            listing = ", ".join(str(int(r)) for r in group_rows[:10]) + (" …" if len(group_rows) > 10 else "")
            ledger.reject(mask, field, f"conflicting duplicate incident_id (rows {listing} differ in "
                          f"{', '.join(differing)}); all rejected", ids)


def _distinct_counts(frame: pd.DataFrame, fields: list[str]) -> tuple[list[Any], np.ndarray]:
    distinct = frame.groupby("_id", sort=False)[fields].nunique()
    return list(distinct.index), distinct.to_numpy() > 1


def _validate(
    loaded: _Loaded,
    *,
    boundaries: Any = None,
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
    now: pd.Timestamp | None = None,
) -> tuple[gpd.GeoDataFrame, ValidationReport]:
    """Turn a loaded table into canonical incidents, every problem in the report."""
    from ward_geo.settings import Settings, get_settings

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
    cols = _pick_columns(table, ledger, lon=lon, lat=lat, id_field=id_field, category_field=category_field,
                         time_field=time_field)
    _reject_nul_bytes(table, ledger)

    # --- coordinates, in the CRS they were given in
    geometry = loaded.geometry
    use_geometry = geometry is not None and lon is None and lat is None
    if use_geometry and len(geometry) and geometry.isna().all() and find_column(list(table.columns), LON_NAMES):
        use_geometry = False
        report.note("every geometry is null; coordinates read from the longitude/latitude columns")
    if use_geometry:
        assert geometry is not None
        coord_field = lon_field = lat_field = "geometry"
        src_crs = loaded.crs
        if src_crs is not None and declared is not None and not src_crs.equals(declared):
            report.note(f"the file declares {_crs_label(src_crs)}; crs={_crs_label(declared)} ignored")
        src_crs = src_crs or declared
        x, y = _points_from_geometry(geometry, ledger)
        raw_x, raw_y = x.copy(), y.copy()
    else:
        lon_col = cols.lon or find_column(list(table.columns), LON_NAMES)
        lat_col = cols.lat or find_column(list(table.columns), LAT_NAMES)
        for word, col, names, kw in (("longitude", lon_col, LON_NAMES, "lon"), ("latitude", lat_col, LAT_NAMES, "lat")):
            if col is None:
                report.add(None, word, f"no {word} column found (looked for {', '.join(names)}); name it with {kw}=")
        if lon_col is None or lat_col is None:
            missing = " or ".join(w for w, c in (("longitude", lon_col), ("latitude", lat_col)) if c is None)
            report.rows_rejected = n
            raise InputError(f"{source}: no {missing} column found among {', '.join(map(str, table.columns))}; "
                             "pass lon= and lat= to name them", report=report)
        coord_field, lon_field, lat_field = f"{lon_col}/{lat_col}", str(lon_col), str(lat_col)
        src_crs = declared
        x, y = _points_from_columns(table, lon_col, lat_col, ledger)
        raw_x = raw_y = np.full(n, np.nan)  # the raw text is part of the table already

    # --- CRS: none declared means degrees (a vector layer gets a warning unless it is clearly metres)
    if src_crs is None:
        ok = np.isfinite(x) & np.isfinite(y) & ~ledger.rejected
        if use_geometry:
            if ok.any() and C.looks_projected(x[ok], y[ok]).mean() > 0.5:
                raise ledger.file_error("crs", "the layer has no CRS and its coordinates are not degrees; pass crs=",
                                        "the layer has no CRS and its coordinates look projected; pass crs= "
                                        "(for example crs='EPSG:3405' for VN-2000 / UTM 48N)")
            report.add(None, "crs", "the layer declares no CRS; read as EPSG:4326 (longitude/latitude degrees)",
                       "warning")
        crs_in = CRS.from_epsg(4326)
    else:
        crs_in = src_crs
    report.crs_in = _crs_label(crs_in)
    _check_earth_crs(crs_in, source)
    if not _is_wgs84(crs_in):
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
        report.note(f"coordinates reprojected from {_crs_label(crs_in)} to EPSG:4326")
    if ref is not None and ref_crs is not None and not ref_crs.equals(crs_in):
        report.note(f"incidents in {_crs_label(crs_in)} and boundaries in {_crs_label(ref_crs)}: "
                    "both compared in EPSG:4326")
    if crs_in.is_geographic:
        declared_as = (f"declared as degrees ({_crs_label(crs_in)})" if src_crs is not None
                       else "read as degrees (no crs= given)")
        if region is not None:
            extent, against = tuple(region), "the declared region"
        elif ref is not None and len(ref):
            extent, against = tuple(ref.total_bounds), "the boundaries' extent"
        else:
            extent, against = None, "the valid degree ranges"
        _check_degrees(x, y, ledger, coord_field=coord_field, lon_field=lon_field, lat_field=lat_field,
                       declared_as=declared_as, extent=extent, against=against)

    # --- time, category, severity, description
    times = _check_times(table[cols.time], str(cols.time), tz, now, ledger)
    raw_cat = (_as_text(table[cols.category]).to_numpy(dtype=object, copy=True) if cols.category is not None
               else np.full(n, None, dtype=object))
    codes, unmapped = _map_categories(raw_cat, category, category_map, cols.category is not None, ledger)
    severity = np.full(n, np.nan)
    if cols.severity is not None:
        sev = C.parse_coordinates(table[cols.severity])
        bad_sev = (sev.status == C.NON_NUMERIC) | (sev.status == C.NON_FINITE) | (sev.usable & (sev.values < 0))
        severity = np.where(sev.usable & ~bad_sev, sev.values, np.nan)
        ledger.warn(bad_sev & ~ledger.rejected, str(cols.severity), "severity is not a number >= 0; left empty",
                    table[cols.severity].astype(object).to_numpy())
    description = (_as_text(table[cols.description]).to_numpy(dtype=object, copy=True)
                   if cols.description is not None else np.full(n, None, dtype=object))

    # --- ids: the source's, else stable generated ones; duplicated source ids
    ids = (_as_text(table[cols.id]).to_numpy(dtype=object, copy=True) if cols.id is not None
           else np.full(n, None, dtype=object))
    if cols.id is not None:
        ids = _checked_ids(ids, str(cols.id), ledger)
    no_id = ids == None  # noqa: E711
    if no_id.any():
        ids[no_id] = _generated_ids(table, raw_x, raw_y, source, no_id)[no_id]
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


def read_incidents(
    path: Source,
    *,
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
    loaded = _load(path, layer=layer, format=format)
    gdf, report = _validate(
        loaded, boundaries=boundaries, lon=lon, lat=lat, crs=crs, id_field=id_field,
        category_field=category_field, time_field=time_field, category=category, category_map=category_map,
        timezone=timezone, source=source, region=region,
    )
    return (gdf, report) if return_report else gdf


def validate_incidents(
    data: pd.DataFrame | gpd.GeoDataFrame | bytes | IO[bytes] | IO[str] | PathLike,
    *,
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
    (default: the current time).

    Returns
    -------
    GeoDataFrame or (GeoDataFrame, ValidationReport)
    """
    loaded = _load(data, text_is_data=True)
    gdf, report = _validate(
        loaded, boundaries=boundaries, lon=lon, lat=lat, crs=crs, id_field=id_field,
        category_field=category_field, time_field=time_field, category=category, category_map=category_map,
        timezone=timezone, source=source, region=region, now=now,
    )
    return (gdf, report) if return_report else gdf


# ---------------------------------------------------------------------------- wards
def assign_wards(incidents: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Fill ``ward_id`` with the ward containing each point (a spatial join).

    A point on a border shared by several wards (or in overlapping wards) goes to the
    ward whose ``ward_id`` sorts first, so the result does not depend on row order.
    Points in no ward get ``None``. Boundaries in another CRS are reprojected to the
    incidents' CRS.

    Parameters
    ----------
    incidents : GeoDataFrame
        Point layer with a CRS.
    boundaries : GeoDataFrame
        Wards with ``ward_id`` and a CRS.

    Returns
    -------
    GeoDataFrame
        A copy of ``incidents`` with ``ward_id`` set.
    """
    if incidents.crs is None or boundaries.crs is None:
        raise InputError("assign_wards needs both layers to have a CRS")
    if "ward_id" not in boundaries.columns:
        raise InputError("the boundaries have no ward_id column; read them with read_boundaries()")
    wards = boundaries if boundaries.crs.equals(incidents.crs) else boundaries.to_crs(incidents.crs)
    out = incidents.copy()
    result = np.full(len(out), None, dtype=object)
    if len(out) and len(wards):
        ward_ids = wards["ward_id"].astype(object).to_numpy()
        rank = np.empty(len(ward_ids), dtype=np.int64)
        rank[np.argsort(ward_ids.astype(str), kind="stable")] = np.arange(len(ward_ids))
        geoms = out.geometry.values
        valid = ~(out.geometry.isna().to_numpy() | out.geometry.is_empty.to_numpy())
        point_idx, ward_idx = wards.sindex.query(geoms[valid], predicate="intersects")
        point_idx = np.flatnonzero(valid)[point_idx]
        order = np.lexsort((rank[ward_idx], point_idx))
        point_idx, ward_idx = point_idx[order], ward_idx[order]
        _, first = np.unique(point_idx, return_index=True)
        result[point_idx[first]] = ward_ids[ward_idx[first]]
    out["ward_id"] = pd.Series(result, index=out.index, dtype=object)
    return out


# ---------------------------------------------------------------------------- boundaries
def read_boundaries(
    path: Source | gpd.GeoDataFrame,
    *,
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
    from ward_geo.schema import nfc

    loaded = _load(path, layer=layer) if not isinstance(path, gpd.GeoDataFrame) else _from_vector(path, "dataframe")
    name_label = loaded.name
    if loaded.geometry is None:
        raise InputError(f"{name_label}: boundaries need polygon geometries (a GeoJSON, GeoPackage, Shapefile "
                         "or GeoParquet file), not a plain table")
    table = loaded.table
    n = len(table)
    report = ValidationReport(source=name_label, rows_read=n)
    for note in loaded.notes:
        report.note(note)
    rows = np.arange(1, n + 1)
    reject = np.zeros(n, dtype=bool)
    repaired = np.zeros(n, dtype=bool)
    geometry = loaded.geometry
    declared = _resolve_crs(crs)
    src_crs = loaded.crs
    if src_crs is None:
        if declared is not None:
            src_crs = declared
        else:
            b = geometry.dropna().total_bounds if geometry.notna().any() else np.array([0, 0, 0, 0.0])
            if np.all(np.isfinite(b)) and b[0] >= -180 and b[2] <= 180 and b[1] >= -90 and b[3] <= 90:
                src_crs = CRS.from_epsg(4326)
                report.add(None, "crs", "the layer declares no CRS; read as EPSG:4326 (longitude/latitude degrees)",
                           "warning")
            else:
                report.add(None, "crs", "the layer has no CRS and its coordinates are not degrees; pass crs=")
                report.rows_rejected = n
                raise InputError(f"{name_label}: the layer has no CRS; pass crs= (for example 'EPSG:3405')",
                                 report=report)
    elif declared is not None and not src_crs.equals(declared):
        report.note(f"the file declares {_crs_label(src_crs)}; crs={_crs_label(declared)} ignored")
    report.crs_in = _crs_label(src_crs)
    _check_earth_crs(src_crs, name_label)
    geoms = gpd.GeoSeries(geometry.values, crs=src_crs)
    if not _is_wgs84(src_crs):
        geoms = geoms.to_crs(WGS84)
        report.note(f"boundaries reprojected from {_crs_label(src_crs)} to EPSG:4326")
    values = geoms.values.to_numpy() if hasattr(geoms.values, "to_numpy") else np.asarray(geoms.values)
    values = np.asarray(values, dtype=object)
    null = np.asarray([g is None for g in values], dtype=bool)
    safe = np.where(null, None, values)
    empty = ~null & shapely.is_empty(safe)
    for mask, reason in ((null, "missing geometry (null); wards need a polygon"),
                         (empty, "empty geometry; wards need a polygon")):
        if mask.any():
            report.add_many(rows[mask], "geometry", reason)
            reject |= mask
    types = shapely.get_type_id(safe)
    polygonal = (types == 3) | (types == 6)
    other = ~null & ~empty & ~polygonal
    if other.any():
        names = shapely.get_type_id(safe[other])
        tnames = {0: "Point", 1: "LineString", 2: "LinearRing", 4: "MultiPoint", 5: "MultiLineString",
                  7: "GeometryCollection"}
        report.add_many(rows[other], "geometry",
                        [f"geometry is a {tnames.get(int(t), 'non-polygon')}; wards must be Polygon or MultiPolygon"
                         for t in names])
        reject |= other
    check = ~reject
    invalid = check & ~shapely.is_valid(safe)
    for i in np.flatnonzero(invalid):
        why = shapely.is_valid_reason(values[i])
        fixed = shapely.make_valid(values[i])
        if fixed.geom_type == "GeometryCollection":
            parts = [g for g in fixed.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
            fixed = shapely.union_all(parts) if parts else None
        if fixed is None or fixed.is_empty or fixed.geom_type not in ("Polygon", "MultiPolygon"):
            report.add(int(rows[i]), "geometry", f"invalid polygon ({why}) that make_valid cannot turn into a polygon")
            reject[i] = True
            continue
        values[i] = fixed
        report.add(int(rows[i]), "geometry", f"invalid polygon ({why}) repaired with make_valid", "repaired")
        repaired[i] = True

    columns = list(table.columns)
    name_col = _explicit_column(table, name_field, "name") or find_column(columns, WARD_NAME_NAMES)
    id_col = _explicit_column(table, id_field, "id") or (find_column(columns, WARD_ID_NAMES) if id_field is None else None)
    en_col = find_column(columns, WARD_NAME_EN_NAMES)
    pop_col = find_column(columns, POPULATION_NAMES)
    names = (_as_text(table[name_col]).map(nfc).to_numpy(dtype=object, copy=True) if name_col is not None
             else np.full(n, None, dtype=object))
    ids = _as_text(table[id_col]).to_numpy(dtype=object, copy=True) if id_col is not None else np.full(n, None, dtype=object)
    if name_col is None and id_col is None:
        report.add(None, "name", f"no name column found (looked for {', '.join(WARD_NAME_NAMES)}); pass name_field=")
        report.rows_rejected = n
        raise InputError(f"{name_label}: no ward name column among {', '.join(map(str, columns))}; pass name_field=",
                         report=report)
    no_name = (names == None) & (ids == None)  # noqa: E711
    if (no_name & ~reject).any():
        m = no_name & ~reject
        report.add_many(rows[m], str(name_col or "name"), "missing ward name (and no id)")
        reject |= m
    names = np.where(names == None, ids, names)  # noqa: E711
    if id_col is None:
        ids = np.asarray([slugify(v) if isinstance(v, str) else None for v in names], dtype=object)
        blank = (ids == "") & ~reject
        if blank.any():
            for i in np.flatnonzero(blank):
                ids[i] = f"ward-{rows[i]}"
            report.add_many(rows[blank], str(name_col), "the name gives an empty slug; ward_id set to ward-<row>",
                            "warning", names[blank])
    else:
        missing_id = (ids == None) & ~reject  # noqa: E711
        if missing_id.any():
            for i in np.flatnonzero(missing_id):
                ids[i] = slugify(names[i]) or f"ward-{rows[i]}"
            report.add_many(rows[missing_id], str(id_col), "missing ward id; slug of the name used", "warning")
    seen: dict[str, int] = {}
    used = set(ids[~reject].tolist())
    for i in np.flatnonzero(~reject):
        wid = ids[i]
        if wid not in seen:
            seen[wid] = int(rows[i])
            continue
        k = 2
        while f"{wid}-{k}" in used:
            k += 1
        new = f"{wid}-{k}"
        used.add(new)
        report.add(int(rows[i]), str(id_col or name_col), f"ward_id '{wid}' already used by row {seen[wid]}; "
                   f"renamed to '{new}'", "warning", wid)
        ids[i] = new
    name_en = _as_text(table[en_col]).map(nfc).to_numpy(dtype=object, copy=True) if en_col is not None else np.full(n, None, object)
    population = pd.array([pd.NA] * n, dtype="Int64")
    if pop_col is not None:
        parsed = C.parse_coordinates(table[pop_col])
        bad = ((parsed.status == C.NON_NUMERIC) | (parsed.status == C.NON_FINITE) |
               (parsed.usable & (parsed.values < 0))) & ~reject
        if bad.any():
            report.add_many(rows[bad], str(pop_col), "population is not a number >= 0; left empty", "warning",
                            table[pop_col].astype(object).to_numpy()[bad])
        good = parsed.usable & ~bad
        population = pd.array(np.where(good, np.round(np.where(good, parsed.values, 0)), 0).astype(np.int64),
                              dtype="Int64")
        population[~good] = pd.NA
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
        raise InputError(f"{name_label}: no usable ward polygons among {n} features", report=report)
    return (out, report) if return_report else out
