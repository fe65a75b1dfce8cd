"""Reading untrusted files within bounds.

Everything here keeps a hostile or broken file from taking the process down:

* :class:`BoundedReader` streams a file (inflating ``.gz``/``.bz2``/``.xz``/zip members on the
  way) and stops with an :class:`~ward_geo.errors.InputError` as soon as more than
  ``read_max_bytes`` come out of it, or a line grows longer than ``read_max_line_bytes``,
  so a decompression bomb or a 2 GB sparse file never reaches memory whole.
* :func:`parse_geojson` reads a GeoJSON FeatureCollection (or one Feature) with the JSON
  parser and shapely: no GDAL driver ever sees the bytes, so content cannot choose a VRT,
  a ``/vsicurl/`` URL or a ``CSV:/etc/passwd`` source.
* :func:`read_vector_sandboxed` reads a GDAL format (GeoPackage, SQLite, shapefile...) in a
  child process with a wall-clock and a memory budget and with GDAL's network and
  virtual file systems off; an endlessly recursive view ends in an InputError.

Every message names the file by its base name only, never a server path.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import math
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from ward_geo.errors import InputError

__all__ = [
    "GDAL_SAFE_CONFIG",
    "BoundedReader",
    "ReadLimits",
    "open_text_source",
    "parse_geojson",
    "read_vector_sandboxed",
    "scrub_paths",
]

_GZIP_MAGIC = b"\x1f\x8b"
_BZ2_MAGIC = b"BZh"
_XZ_MAGIC = b"\xfd7zXZ\x00"
_ZIP_MAGIC = b"PK\x03\x04"

#: GDAL configuration for every read of data that the process does not trust: no network
#: (no allowed /vsicurl/ extension can match), no directory listing next to the file, no
#: remote resources pulled by drivers, no SQLite extensions.
GDAL_SAFE_CONFIG: dict[str, str] = {
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".__ward_geo_no_network__",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_SKIP": "VRT WMS WMTS WCS WFS OAPIF PLScenes Elasticsearch CARTO AmigoCloud NGW HTTP GPSBabel",
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "OGR_SQLITE_ALLOW_LOAD_EXTENSION": "NO",
    "GDAL_NUM_THREADS": "1",
}


@dataclass(frozen=True)
class ReadLimits:
    """Bounds of one read; :meth:`from_settings` takes the ``WARD_GEO_READ_*`` settings."""

    max_bytes: int
    max_line_bytes: int
    max_field_chars: int
    max_rows: int
    vector_timeout_s: float
    vector_memory_bytes: int

    @classmethod
    def from_settings(cls) -> ReadLimits:
        """The bounds configured by the ``WARD_GEO_READ_*`` settings."""
        from ward_geo.settings import get_settings

        s = get_settings()
        return cls(
            max_bytes=s.read_max_bytes,
            max_line_bytes=s.read_max_line_bytes,
            max_field_chars=s.read_max_field_chars,
            max_rows=s.read_max_rows,
            vector_timeout_s=s.read_vector_timeout_s,
            vector_memory_bytes=s.read_vector_memory_bytes,
        )


def scrub_paths(text: str, *paths: Path | str | None) -> str:
    """``text`` with every given path (and its folder) replaced by the base name."""
    for p in paths:
        if p is None:
            continue
        p = Path(p)
        for full in (str(p.resolve()), str(p), str(p.parent.resolve()) + os.sep, str(p.parent) + os.sep):
            if full not in (os.sep, "." + os.sep, ""):
                text = text.replace(full, p.name if full in (str(p), str(p.resolve())) else "")
    tmp = tempfile.gettempdir()
    return text.replace(tmp + os.sep, "")


class BoundedReader(io.RawIOBase):
    """A binary stream that refuses to yield more than a byte or line budget.

    Parameters
    ----------
    inner : binary file object
        The (possibly decompressing) stream.
    name : str
        The file's base name, for messages.
    limits : ReadLimits
    what : str
        ``"decompressed"`` or ``"read"``: which kind of size the message reports.
    """

    def __init__(self, inner: IO[bytes], name: str, limits: ReadLimits, what: str = "read") -> None:
        super().__init__()
        self._inner = inner
        self._name = name
        self._limits = limits
        self._what = what
        self.count = 0
        self._line = 0
        self._lines = 1

    def readable(self) -> bool:
        """Always True: the stream is read-only."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` within the bounds; return the number of bytes read."""
        view = memoryview(buffer).cast("B")
        try:
            data = self._inner.read(len(view))
        except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError, ValueError) as exc:
            raise InputError(f"{self._name}: damaged compressed data ({type(exc).__name__})") from None
        n = len(data)
        self.count += n
        if self.count > self._limits.max_bytes:
            raise InputError(
                f"{self._name}: the {self._what} content exceeds WARD_GEO_READ_MAX_BYTES="
                f"{self._limits.max_bytes} bytes; split the file or raise the limit",
                details={"limit_bytes": self._limits.max_bytes, "file": self._name},
            )
        last = data.rfind(b"\n")
        if last < 0:
            self._line += n
        else:
            self._lines += data.count(b"\n")
            self._line = n - last - 1
        if self._line > self._limits.max_line_bytes:
            raise InputError(
                f"{self._name}: line {self._lines} is longer than WARD_GEO_READ_MAX_LINE_BYTES="
                f"{self._limits.max_line_bytes} bytes (a CSV row, or a file that is not text)",
                details={"line": self._lines, "limit_bytes": self._limits.max_line_bytes, "file": self._name},
            )
        view[:n] = data
        return n

    def close(self) -> None:
        """Close the stream and the source under it."""
        try:
            self._inner.close()
        finally:
            super().close()


def _sniff_compression(head: bytes) -> str | None:
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    if head.startswith(_XZ_MAGIC):
        return "xz"
    if head.startswith(_BZ2_MAGIC):
        return "bz2"
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    return None


def open_text_source(source: Path | bytes, name: str, limits: ReadLimits, *, compression: str | None = "sniff",
                     line_bound: bool = True) -> Callable[[], io.BufferedReader]:
    """A function opening ``source`` as a bounded, decompressed binary stream (call it again to re-read).

    ``compression`` is ``"gzip"``, ``"bz2"``, ``"xz"``, ``"zip"`` (one member), ``None`` or
    ``"sniff"`` (from the first bytes). ``line_bound`` False leaves out the line-length
    bound (JSON may sit on one line; the byte bound still applies).
    """
    def raw() -> IO[bytes]:
        return io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else open(source, "rb")

    kind = compression
    if kind == "sniff":
        with raw() as fh:
            kind = _sniff_compression(fh.read(8))
    effective = limits if line_bound else ReadLimits(limits.max_bytes, limits.max_bytes + 1, limits.max_field_chars,
                                                     limits.max_rows, limits.vector_timeout_s,
                                                     limits.vector_memory_bytes)

    def opener() -> io.BufferedReader:
        handle = raw()
        inner: IO[bytes]
        if kind == "gzip":
            inner = cast(IO[bytes], gzip.GzipFile(fileobj=handle, mode="rb"))
        elif kind == "bz2":
            inner = bz2.BZ2File(handle, mode="rb")
        elif kind == "xz":
            inner = lzma.LZMAFile(handle, mode="rb")  # noqa: SIM115 - closed with the reader
        elif kind == "zip":
            try:
                zf = zipfile.ZipFile(handle)
            except zipfile.BadZipFile:
                raise InputError(f"{name}: not a readable zip archive") from None
            members = [m for m in zf.infolist() if not m.is_dir()]
            if len(members) != 1:
                raise InputError(f"{name}: a zipped CSV must hold exactly one file, found {len(members)}")
            if members[0].file_size > limits.max_bytes:
                raise InputError(
                    f"{name}: the archive member inflates to {members[0].file_size} bytes, more than "
                    f"WARD_GEO_READ_MAX_BYTES={limits.max_bytes}",
                    details={"limit_bytes": limits.max_bytes, "file": name},
                )
            inner = zf.open(members[0])
        else:
            inner = handle
        what = "decompressed" if kind else "read"
        return io.BufferedReader(BoundedReader(inner, name, effective, what), buffer_size=1 << 16)

    return opener


# ---------------------------------------------------------------- GeoJSON
def _reject_constant(value: str) -> Any:
    raise ValueError(f"{value} is not a JSON number")


def parse_geojson(opener: Callable[[], IO[bytes]], name: str, limits: ReadLimits) -> tuple[Any, Any, str | None]:
    """Parse a GeoJSON FeatureCollection or Feature with ``json`` and shapely.

    Returns
    -------
    (DataFrame, GeoSeries, crs or None)
        The properties (one row per feature), the geometries and the legacy ``crs``
        member's name when the document has one.

    Raises
    ------
    InputError
        Not JSON, not a FeatureCollection/Feature, or a feature whose structure is wrong
        (the message names the feature index and the member).
    """
    import geopandas as gpd
    import pandas as pd

    with opener() as fh:
        raw = fh.read()
    doc = _json_document(raw, name)
    features = _feature_list(doc, name, limits)
    props: list[dict[str, Any]] = []
    geoms: list[Any] = []
    for i, feat in enumerate(features):
        where = f"{name}: feature {i}"
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            raise InputError(f"{where}: expected an object with \"type\": \"Feature\"",
                             details={"feature": i, "field": "type"})
        row = _feature_properties(feat, i, where, limits)
        geoms.append(_feature_geometry(feat, i, where))
        props.append(row)
    table = pd.DataFrame.from_records(props) if props else pd.DataFrame(index=range(0))
    if len(table) != len(features):
        table = table.reindex(range(len(features)))
    return table, gpd.GeoSeries(geoms), _legacy_crs_name(doc)


def _json_document(raw: bytes, name: str) -> Any:
    """The JSON value of ``raw`` (UTF-8, optional BOM; ``NaN``/``Infinity`` refused)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text (byte {exc.start}); GeoJSON must be UTF-8") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise InputError(f"{name}: the JSON document is nested too deeply") from None
    except ValueError as exc:
        raise InputError(f"{name}: not a JSON document ({str(exc)[:160]}); expected a GeoJSON FeatureCollection",
                         details={"expected": "GeoJSON FeatureCollection"}) from None


def _feature_list(doc: Any, name: str, limits: ReadLimits) -> list[Any]:
    """The features of a FeatureCollection (or the one Feature), at most ``limits.max_rows``."""
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        got = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        raise InputError(f"{name}: expected a GeoJSON FeatureCollection or Feature, got {str(got)[:60]!r}",
                         details={"field": "type"})
    features = [doc] if doc["type"] == "Feature" else doc.get("features")
    if not isinstance(features, list):
        raise InputError(f"{name}: the FeatureCollection has no 'features' list", details={"field": "features"})
    if len(features) > limits.max_rows:
        raise InputError(f"{name}: {len(features)} features, more than WARD_GEO_READ_MAX_ROWS={limits.max_rows}")
    return features


def _feature_properties(feat: dict[str, Any], i: int, where: str, limits: ReadLimits) -> dict[str, Any]:
    """One table row from a feature's properties (nested values as JSON text, non-finite as null)."""
    p = feat.get("properties")
    if p is None:
        p = {}
    if not isinstance(p, dict):
        raise InputError(f"{where}: 'properties' must be an object or null", details={"feature": i,
                                                                                     "field": "properties"})
    row: dict[str, Any] = {}
    for key, value in p.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, float) and not math.isfinite(value):
            value = None
        if isinstance(value, str) and len(value) > limits.max_field_chars:
            raise InputError(
                f"{where}, property {str(key)[:60]!r}: {len(value)} characters, more than "
                f"WARD_GEO_READ_MAX_FIELD_CHARS={limits.max_field_chars}",
                details={"feature": i, "field": str(key)[:60]},
            )
        row[str(key)] = value
    if "id" in feat and "id" not in row and isinstance(feat["id"], (str, int)):
        row["id"] = feat["id"]
    return row


def _feature_geometry(feat: dict[str, Any], i: int, where: str) -> Any:
    """The shapely geometry of a feature, ``None`` for a null geometry."""
    from shapely.geometry import shape

    g = feat.get("geometry")
    if g is None:
        return None
    if not isinstance(g, dict) or not isinstance(g.get("type"), str):
        raise InputError(f"{where}: 'geometry' must be a GeoJSON geometry object or null",
                         details={"feature": i, "field": "geometry"})
    try:
        return shape(g)
    except Exception as exc:  # noqa: BLE001 - shapely raises several types for bad geometry
        raise InputError(f"{where}: invalid geometry ({type(exc).__name__}: {str(exc)[:120]})",
                         details={"feature": i, "field": "geometry"}) from None


def _legacy_crs_name(doc: dict[str, Any]) -> str | None:
    """The name in a legacy ``crs`` member, when the document has a sensible one."""
    crs = doc.get("crs")
    if isinstance(crs, dict) and isinstance(crs.get("properties"), dict):
        value = crs["properties"].get("name")
        return value if isinstance(value, str) and len(value) < 200 else None
    return None


# ---------------------------------------------------------------- sandboxed GDAL reads
def _child_env(limits: ReadLimits) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GDAL_", "CPL_", "OGR_"))}
    env.update(GDAL_SAFE_CONFIG)
    env["WARD_GEO_CHILD_MEMORY_BYTES"] = str(limits.vector_memory_bytes)
    return env


def read_vector_sandboxed(path: Path, name: str, layer: str | int | None, limits: ReadLimits) -> Any:
    """Read a GDAL vector file in a child process with time and memory budgets.

    Returns a GeoDataFrame. A breach of ``WARD_GEO_READ_VECTOR_TIMEOUT_S`` or
    ``WARD_GEO_READ_VECTOR_MEMORY_BYTES`` (for example an endlessly recursive GeoPackage
    view, or a view of huge strings) kills the child and raises :class:`InputError`.
    """
    import geopandas as gpd
    import pandas as pd
    import shapely

    with tempfile.TemporaryDirectory(prefix="ward-geo-read-") as tmp:
        out = Path(tmp) / "result.pickle"
        cmd = [sys.executable, str(Path(__file__).with_name("_vector_child.py")), str(path), str(out),
               "" if layer is None else str(layer), "int" if isinstance(layer, int) else "str"]
        try:
            proc = subprocess.run(cmd, env=_child_env(limits), stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=limits.vector_timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise InputError(
                f"{name}: reading took longer than WARD_GEO_READ_VECTOR_TIMEOUT_S={limits.vector_timeout_s:g} s "
                "(a layer that never ends, such as a recursive view?); reading stopped",
                details={"file": name, "budget_s": limits.vector_timeout_s},
            ) from None
        if proc.returncode != 0 or not out.exists():
            err = proc.stderr.decode("utf-8", "replace")
            if ("MemoryError" in err or "bad_alloc" in err or "out of memory" in err.lower()
                    or proc.returncode in (-9, 137)):
                raise InputError(
                    f"{name}: reading needed more than WARD_GEO_READ_VECTOR_MEMORY_BYTES="
                    f"{limits.vector_memory_bytes} bytes of memory; reading stopped",
                    details={"file": name, "budget_bytes": limits.vector_memory_bytes},
                )
            last = scrub_paths(err.strip().splitlines()[-1] if err.strip() else f"exit {proc.returncode}", path)
            raise InputError(f"{name}: cannot read as a vector file ({last[:200]})", details={"file": name})
        with open(out, "rb") as fh:
            meta, geometry, columns = pickle.load(fh)  # written by our own child just now
    table = pd.DataFrame(columns)
    geoms = shapely.from_wkb(geometry) if geometry is not None else [None] * len(table)
    return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geoms, crs=meta.get("crs")), crs=meta.get("crs"))
