"""Receiving an upload: choose its parser by content type, spool it privately, ingest it.

``POST /incidents`` bodies are written chunk by chunk to a private (0600) file in the spool
folder (``<data_dir>/tmp``), never held whole in memory, refused past
``WARD_GEO_MAX_UPLOAD_BYTES``, and read by the parser their content type names (never
GDAL's content sniffing). A full disk answers 507; the spool folder is emptied at start.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

from fastapi import Request

from ward_geo.api.deps import ServiceState
from ward_geo.api.params import UploadParams
from ward_geo.api.services import ingest_file
from ward_geo.errors import (
    InputError,
    InsufficientStorageError,
    PayloadTooLargeError,
    StoreError,
    UnsupportedMediaTypeError,
    WardGeoError,
    is_disk_full,
)
from ward_geo.io.writers import geojson_dumps

__all__ = ["MEDIA_TYPES", "GDAL_MEDIA_TYPES", "upload_kind", "spool_file", "clean_spool", "ingest_upload"]

#: Content types always accepted by POST /incidents and the parser that reads them
#: (never GDAL's content sniffing).
MEDIA_TYPES = {
    "application/geo+json": "geojson",
    "application/json": "geojson",
    "text/csv": "csv",
    "application/csv": "csv",
}
#: Content types of the GDAL formats that WARD_GEO_UPLOAD_GDAL_FORMATS may enable.
GDAL_MEDIA_TYPES = {
    "application/geopackage+sqlite3": "gpkg",
    "application/zip": "zip",
}
_SUFFIXES = {"geojson": ".geojson", "csv": ".csv", "gpkg": ".gpkg", "zip": ".zip"}


def upload_kind(request: Request, gdal_formats: list[str]) -> str:
    """The parser of the body: ``geojson``, ``csv`` or an enabled GDAL format; else 415."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    kind = MEDIA_TYPES.get(media)
    if kind is None and GDAL_MEDIA_TYPES.get(media) in gdal_formats:
        kind = GDAL_MEDIA_TYPES[media]
    accepted = sorted(MEDIA_TYPES) + sorted(m for m, k in GDAL_MEDIA_TYPES.items() if k in gdal_formats)
    if kind is None:
        raise UnsupportedMediaTypeError(
            f"content type {media[:100] or '(none)'!r} is not accepted; send application/geo+json "
            "(a FeatureCollection) or text/csv",
            details={"accepted": accepted},
        )
    if encoding not in ("identity", "gzip") or (encoding == "gzip" and kind not in ("geojson", "csv")):
        raise UnsupportedMediaTypeError(
            f"content encoding {encoding[:40]!r} is not accepted for {media}; send it uncompressed"
            + (" or gzip-compressed" if kind in ("geojson", "csv") else ""),
            details={"accepted_encodings": ["identity", "gzip"] if kind in ("geojson", "csv") else ["identity"]},
        )
    return kind


def spool_file(folder: Path, kind: str) -> Path:
    """A new private (0600) file for an upload body in the spool folder."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="upload-", suffix=_SUFFIXES[kind], dir=folder)
    except OSError as exc:
        raise _storage_error(exc) from None
    os.close(fd)
    return Path(name)


def clean_spool(folder: Path) -> int:
    """Empty the spool folder (left-overs of a crash) and make it private; return files removed."""
    removed = 0
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    for entry in folder.iterdir():
        if entry.is_file() or entry.is_symlink():
            entry.unlink(missing_ok=True)
            removed += 1
    return removed


def _storage_error(exc: OSError) -> WardGeoError:
    if is_disk_full(exc):
        return InsufficientStorageError(
            "no space left to receive the upload; nothing was stored (free disk space on the server, "
            "or try again later)"
        )
    return StoreError(f"the upload could not be spooled ({exc.strerror or type(exc).__name__}); nothing was stored")


async def _spool_body(request: Request, path: Path, limit: int) -> int:
    """Write the request body to ``path`` chunk by chunk; 413 past ``limit`` bytes."""
    size = 0
    try:
        with open(path, "wb") as fh:  # noqa: ASYNC230 - chunk writes to a local file
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLargeError(
                        f"the upload exceeds WARD_GEO_MAX_UPLOAD_BYTES={limit} bytes; split it into smaller requests",
                        details={"limit_bytes": limit},
                    )
                fh.write(chunk)
    except OSError as exc:
        raise _storage_error(exc) from None
    return size


async def ingest_upload(state: ServiceState, request: Request, params: UploadParams) -> bytes:
    """Receive, validate and store an upload like ``ward-geo ingest``; the ingest report as JSON.

    Parameters
    ----------
    state : ServiceState
        The running service.
    request : Request
        The request whose body is the upload.
    params : UploadParams
        How to read it and what to do with rejected rows.

    Returns
    -------
    bytes
        The ingest outcome (counts, the validation report) as JSON.
    """
    kind = upload_kind(request, state.settings.upload_gdal_formats)
    path = spool_file(state.settings.resolved_spool_dir, kind)
    try:
        if await _spool_body(request, path, state.settings.max_upload_bytes) == 0:
            raise InputError("the request body is empty; send a GeoJSON FeatureCollection or a CSV")
        options = params.reader_options("vector" if kind in GDAL_MEDIA_TYPES.values() else kind)
        outcome = await state.run(
            lambda: ingest_file(state, path, source=params.source or "api", options=options,
                                allow_rejected=params.on_error == "skip")
        )
        return geojson_dumps(dataclasses.asdict(outcome)).encode("utf-8")
    finally:
        path.unlink(missing_ok=True)
