"""Sniff, open and parse incident and boundary files without validating them.

CSV (chunked, within the read bounds), GeoJSON (json + shapely), GDAL vector formats
(GeoPackage / SQLite in a sandboxed child process) and (Geo)Parquet, each read into a
:class:`Loaded` table of text columns, a geometry and a CRS.
"""
from __future__ import annotations

import csv
import io
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS

from ward_geo.errors import InputError, NotFoundError, ParameterError
from ward_geo.io.bounded import ReadLimits, open_text_source, parse_geojson, read_vector_sandboxed, scrub_paths

_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.zip", ".csv.bz2", ".csv.xz", ".tsv", ".txt", ".tsv.gz")
_PARQUET_SUFFIXES = (".parquet", ".geoparquet", ".pq")


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
    """Read a GDAL vector source.

    GeoPackage / SQLite files (whose views may never end) and any ``sandbox`` read run in
    a child process within the read budgets.
    """
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
        detail = scrub_paths(str(exc).strip(), path)[:300]
        raise InputError(f"{name}: cannot read as a vector file ({detail})") from None
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
            loaded.notes.append(
                f"{name} has {len(layers)} layers; read the first ({layers[0][0]}); pass layer= to choose"
            )
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
    shown_path = path if isinstance(path, Path) else None
    try:
        gdf = gpd.read_parquet(path)
    except ValueError:
        try:
            return _Loaded(pd.read_parquet(path).reset_index(drop=True), None, None, name)
        except Exception as exc:  # noqa: BLE001 - any pyarrow error means the file is unusable
            raise InputError(f"{name}: cannot read as Parquet ({scrub_paths(str(exc), shown_path)})") from None
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{name}: cannot read as GeoParquet ({scrub_paths(str(exc), shown_path)})") from None
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
        return _load_bytes(bytes(source), name or "upload", layer, format)
    if not isinstance(source, (str, Path)):
        raise ParameterError(f"cannot read incidents from a {type(source).__name__}; pass a path, bytes or a DataFrame")
    path = Path(source)
    return _load_path(path, name or path.name, layer, format)


def _load_bytes(raw: bytes, label: str, layer: str | int | None, format: str | None) -> _Loaded:
    """Parse file content held in memory (the parser named by ``format``, else by magic bytes)."""
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


def _load_path(path: Path, label: str, layer: str | int | None, format: str | None) -> _Loaded:
    """Parse a file on disk (the parser named by ``format``, else by the file suffix)."""
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
        return _load_zip(path, label, layer)
    if lower.endswith((".gz", ".bz2", ".xz")):
        with open_text_source(path, label, ReadLimits.from_settings(), line_bound=False)() as fh:
            return _load(fh.read(), layer=layer, name=label)
    return _read_vector(path, label, layer)


def _load_zip(path: Path, label: str, layer: str | int | None) -> _Loaded:
    """A zip archive: a shapefile, GeoPackage or GeoJSON inside (GDAL), or a single CSV."""
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
