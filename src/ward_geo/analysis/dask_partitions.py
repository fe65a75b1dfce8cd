"""Dask partitions of an incident table: the cluster, reading GeoParquet folders, partition order."""

from __future__ import annotations

import contextlib
import glob as _glob
import math
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd

from ward_geo.cluster import (
    open_client,
)
from ward_geo.errors import InputError, ParameterError

__all__ = ["DEFAULT_PARTITION_ROWS", "ROW_BITS", "dask_client", "read_incident_partitions"]

#: Bits of the global id that hold the row inside its partition (``gid = part << 40 | row``).
ROW_BITS = 40
_ROW_MASK = (1 << ROW_BITS) - 1
#: Rows per partition when a table in memory is split for the workers.
DEFAULT_PARTITION_ROWS = 500_000
#: Target rows (own + halo) per tile group (one Dask task each).
DEFAULT_GROUP_ROWS = 1_500_000
#: Columns read from GeoParquet when present.
_READ_COLUMNS = ("incident_id", "category", "occurred_at", "time_precision", "severity", "ward_id", "geometry")
_MAX_PROBLEMS = 100


# ------------------------------------------------------------------ cluster


def _require_dask() -> None:
    """Raise a clear error when the optional Dask dependencies are missing."""
    from importlib.util import find_spec

    from ward_geo.errors import ConfigurationError

    missing = [m for m in ("dask", "distributed", "dask_geopandas") if find_spec(m) is None]
    if missing:
        raise ConfigurationError(
            f"engine='dask' needs {', '.join(missing)}: install the extra with "
            "pip install 'ward_geo[distributed]'"
        )


@contextlib.contextmanager
def dask_client(
    client: Any = None,
    *,
    scheduler: str | None = None,
    n_workers: int = 2,
    memory_limit: str = "4GB",
    processes: bool = True,
) -> Iterator[Any]:
    """Yield a Dask client: ``client`` itself, else a new one (closed afterwards).

    A new client connects to ``scheduler``, else to ``settings.dask_scheduler``
    (``WARD_GEO_DASK_SCHEDULER``), else starts a :class:`distributed.LocalCluster` of
    ``n_workers`` single-threaded workers with ``memory_limit`` each (see
    :func:`ward_geo.cluster.open_client`).

    Raises
    ------
    ConfigurationError
        When a scheduler address is set but cannot be reached.
    """
    if client is not None:
        yield client
        return
    from ward_geo.errors import ConfigurationError
    from ward_geo.settings import get_settings

    address = scheduler or get_settings().dask_scheduler
    try:
        opened = open_client(address, n_workers=n_workers, memory_limit=memory_limit, processes=processes)
    except ConfigurationError as exc:
        hint = "" if scheduler else " (WARD_GEO_DASK_SCHEDULER)"
        raise ConfigurationError(f"{exc.message}{hint}") from None
    try:
        yield opened
    finally:
        cluster = getattr(opened, "cluster", None)
        opened.close()
        if cluster is not None:
            cluster.close()


# ------------------------------------------------------------------ input


def read_incident_partitions(source: Any, *, npartitions: int | None = None) -> Any:
    """Incidents as a ``dask_geopandas.GeoDataFrame`` (row order = the union's order).

    Parameters
    ----------
    source : str, Path, list of paths, GeoDataFrame or dask_geopandas.GeoDataFrame
        A GeoParquet file, a folder of GeoParquet files (``part.*.parquet``, as written by
        :func:`ward_geo.synth.write_large_geoparquet`), a glob such as
        ``"incidents/*.parquet"``, a list of files, a table in memory (split into
        ``npartitions`` pieces, rows kept in order) or a Dask frame (used as is).
    npartitions : int, optional
        Pieces for a table in memory (default: one per 500,000 rows).

    Raises
    ------
    InputError
        When no file matches, or the files are not GeoParquet incident tables.
    """
    import dask_geopandas

    if isinstance(source, dask_geopandas.GeoDataFrame):
        return source
    if isinstance(source, gpd.GeoDataFrame):
        if npartitions is None:
            npartitions = max(1, math.ceil(len(source) / DEFAULT_PARTITION_ROWS))
        if isinstance(npartitions, bool) or not isinstance(npartitions, int) or npartitions < 1:
            raise ParameterError(f"npartitions must be an integer >= 1, got {npartitions!r}")
        frame = source.reset_index(drop=True)
        return dask_geopandas.from_geopandas(frame, npartitions=min(npartitions, max(1, len(frame))), sort=False)
    files = _parquet_files(source)
    try:
        import pyarrow.parquet as pq

        names = pq.read_schema(files[0]).names
    except Exception as exc:  # noqa: BLE001 - any reader failure means "not a parquet file"
        raise InputError(f"{files[0]} is not a readable GeoParquet file: {exc}") from None
    if "geometry" not in names:
        raise InputError(f"{files[0]} has no 'geometry' column; expected a GeoParquet incident table")
    columns = [c for c in _READ_COLUMNS if c in names]
    try:
        return dask_geopandas.read_parquet(files, columns=columns)
    except (ValueError, TypeError, OSError) as exc:
        raise InputError(f"cannot read the GeoParquet files ({files[0]} ...): {exc}") from None


def _parquet_files(source: Any) -> list[str]:
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        path = Path(text)
        if path.is_dir():
            files = sorted(str(p) for p in path.iterdir() if p.suffix == ".parquet" and p.is_file())
            files.sort(key=_natural_key)
            where = f"folder {text}"
        elif any(ch in text for ch in "*?["):
            files = sorted(_glob.glob(text), key=_natural_key)
            where = f"pattern {text!r}"
        else:
            files = [text] if path.is_file() else []
            where = f"path {text}"
    elif isinstance(source, Sequence) and not isinstance(source, (str, bytes)):
        files = [os.fspath(p) for p in source]
        missing = [p for p in files if not Path(p).is_file()]
        if missing:
            raise InputError(f"{len(missing)} GeoParquet file(s) do not exist: {', '.join(missing[:5])}")
        where = "list"
    else:
        raise InputError(
            "incidents for engine='dask' must be a GeoDataFrame, a dask_geopandas frame, or a "
            f"GeoParquet file, folder, glob or list of files; got {type(source).__name__}"
        )
    if not files:
        raise InputError(f"no GeoParquet files found for {where}")
    return files


def _natural_key(name: str) -> tuple[int | str, ...]:
    """Sort ``part.10`` after ``part.9`` (the order dask and the writer use)."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", Path(name).name))


# ------------------------------------------------------------------ worker-side steps
