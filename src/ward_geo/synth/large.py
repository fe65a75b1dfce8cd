"""Large city-like point sets for clustering and distributed benchmarks.

:func:`simulate_large` draws millions of points with city-like structure (many dense
clusters of varied size and shape over a denser centre and sparse background) in projected
metres, :func:`iter_large_chunks` yields the same in chunks, and
:func:`write_large_geoparquet` writes them as a partitioned GeoParquet incident table.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, overload

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pyproj import Transformer

from ward_geo.categories import CATEGORY_CODES
from ward_geo.errors import ParameterError
from ward_geo.schema import INCIDENT_COLUMNS, WGS84, conform_incidents
from ward_geo.synth.profiles import HOURS, SPEC_BY_CODE, SYNTHETIC_SOURCE, TIMEZONE

__all__ = ["LARGE_CRS", "DEFAULT_LARGE_BOUNDS", "simulate_large", "iter_large_chunks", "write_large_geoparquet"]

#: CRS of :func:`simulate_large` coordinates: VN-2000 / UTM zone 48N (metres).
LARGE_CRS = "EPSG:3405"
#: Default extent of :func:`simulate_large` (min_x, min_y, max_x, max_y) in EPSG:3405 metres:
#: about 20 km x 14 km over urban Hanoi (105.73-105.92 E, 20.96-21.09 N).
DEFAULT_LARGE_BOUNDS: tuple[float, float, float, float] = (576_000.0, 2_318_000.0, 596_000.0, 2_332_000.0)

Bounds = tuple[float, float, float, float]
XY = NDArray[np.float64]
"""``(n, 2)`` float64 x/y metres."""
Times = NDArray[np.float64]
"""``(n,)`` float64 seconds since the start of the year."""


@dataclass(frozen=True)
class _Layout:
    centres: np.ndarray  # (k, 2)
    cum_weight: np.ndarray  # (k,) cumulative, last == 1
    sx: np.ndarray
    sy: np.ndarray
    cos: np.ndarray
    sin: np.ndarray
    cluster_fraction: float


def _large_layout(n: int, seed: int, bounds: tuple[float, float, float, float], n_clusters: int | None) -> _Layout:
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1]))
    minx, miny, maxx, maxy = bounds
    w, h = maxx - minx, maxy - miny
    k = int(n_clusters) if n_clusters is not None else int(np.clip(math.sqrt(max(n, 1)) / 4, 20, 5000))
    # centres: denser towards a city centre, the rest anywhere
    core = rng.random(k) < 0.6
    cx = np.where(core, rng.normal(minx + 0.5 * w, 0.18 * w, k), rng.uniform(minx, maxx, k))
    cy = np.where(core, rng.normal(miny + 0.5 * h, 0.18 * h, k), rng.uniform(miny, maxy, k))
    centres = np.column_stack([np.clip(cx, minx, maxx), np.clip(cy, miny, maxy)])
    weight = rng.lognormal(0.0, 1.2, k)
    # spread: tens to a few hundred metres; some elongated along a street
    sigma = np.clip(rng.lognormal(math.log(60.0), 0.6, k), 10.0, 400.0)
    aspect = np.where(rng.random(k) < 0.4, rng.uniform(2.0, 5.0, k), rng.uniform(1.0, 1.5, k))
    angle = rng.uniform(0.0, math.pi, k)
    return _Layout(
        centres=centres,
        cum_weight=np.cumsum(weight) / weight.sum(),
        sx=sigma * np.sqrt(aspect),
        sy=sigma / np.sqrt(aspect),
        cos=np.cos(angle),
        sin=np.sin(angle),
        cluster_fraction=0.7,
    )


def _check_large_args(n: object, bounds: Sequence[float] | None, n_clusters: object) -> tuple[int, Bounds]:
    """``n`` and ``bounds`` checked (default bounds when None); ``n_clusters`` checked."""
    if not isinstance(n, int | np.integer) or n < 0:
        raise ParameterError(f"n must be a non-negative integer; got {n!r}")
    b = DEFAULT_LARGE_BOUNDS if bounds is None else tuple(float(v) for v in bounds)
    if len(b) != 4 or not all(math.isfinite(v) for v in b) or b[2] <= b[0] or b[3] <= b[1]:
        raise ParameterError(f"bounds must be (min_x, min_y, max_x, max_y) with max > min; got {bounds!r}")
    if n_clusters is not None and (not isinstance(n_clusters, int | np.integer) or n_clusters < 1):
        raise ParameterError(f"n_clusters must be a positive integer; got {n_clusters!r}")
    return int(n), (b[0], b[1], b[2], b[3])


def _fill_chunk(out: XY, rng: np.random.Generator, lay: _Layout, bounds: Bounds) -> None:
    """Fill ``out`` (m, 2) in place with clustered + background points."""
    m = len(out)
    minx, miny, maxx, maxy = bounds
    n_cl = int(rng.binomial(m, lay.cluster_fraction))
    label = np.searchsorted(lay.cum_weight, rng.random(n_cl), side="right")
    np.minimum(label, len(lay.cum_weight) - 1, out=label)
    z = rng.standard_normal((n_cl, 2))
    a = z[:, 0] * lay.sx[label]
    b = z[:, 1] * lay.sy[label]
    c, s = lay.cos[label], lay.sin[label]
    out[:n_cl, 0] = lay.centres[label, 0] + a * c - b * s
    out[:n_cl, 1] = lay.centres[label, 1] + a * s + b * c
    del z, a, b, c, s, label
    n_bg = m - n_cl
    half = n_bg // 2
    w, h = maxx - minx, maxy - miny
    out[n_cl:n_cl + half, 0] = rng.normal(minx + 0.5 * w, 0.25 * w, half)
    out[n_cl:n_cl + half, 1] = rng.normal(miny + 0.5 * h, 0.25 * h, half)
    out[n_cl + half:, 0] = rng.uniform(minx, maxx, n_bg - half)
    out[n_cl + half:, 1] = rng.uniform(miny, maxy, n_bg - half)
    # fold points that fell outside back in (clipping would pile them on the edges)
    for col, lo, hi in ((0, minx, maxx), (1, miny, maxy)):
        v = out[:, col]
        np.subtract(2 * lo, v, out=v, where=v < lo)
        np.subtract(2 * hi, v, out=v, where=v > hi)
        np.clip(v, lo, hi, out=v)


def _large_times(rng: np.random.Generator, m: int) -> Times:
    """``m`` times of day with the rhythm of street theft, on days of a 365-day year."""
    prof = np.asarray(HOURS["theft"])
    cum = np.cumsum(prof) / prof.sum()
    hour = np.minimum(np.searchsorted(cum, rng.random(m), side="right"), 23)
    return rng.integers(0, 365, m) * 86400.0 + hour * 3600.0 + rng.random(m) * 3600.0


def _chunks(n: int, seed: int, bounds: Bounds, n_clusters: int | None, chunk_size: int,
            with_time: bool) -> Iterator[tuple[XY, Times | None]]:
    """The chunks of :func:`iter_large_chunks` (arguments checked), times None unless ``with_time``."""
    if not isinstance(chunk_size, int | np.integer) or chunk_size < 1:
        raise ParameterError(f"chunk_size must be a positive integer; got {chunk_size!r}")
    lay = _large_layout(n, seed, bounds, n_clusters)
    n_chunks = max(1, math.ceil(n / chunk_size))
    children = np.random.SeedSequence([int(seed), 2]).spawn(n_chunks)
    for i in range(n_chunks):
        m = min(chunk_size, n - i * chunk_size)
        if m <= 0:
            return
        rng = np.random.default_rng(children[i])
        out = np.empty((m, 2), dtype=np.float64)
        _fill_chunk(out, rng, lay, bounds)
        yield out, (_large_times(rng, m) if with_time else None)


@overload
def iter_large_chunks(
    n: int, *, seed: int = ..., bounds: Sequence[float] | None = ..., n_clusters: int | None = ...,
    chunk_size: int = ..., with_time: Literal[False] = ...,
) -> Iterator[XY]: ...


@overload
def iter_large_chunks(
    n: int, *, seed: int = ..., bounds: Sequence[float] | None = ..., n_clusters: int | None = ...,
    chunk_size: int = ..., with_time: Literal[True],
) -> Iterator[tuple[XY, Times]]: ...


@overload
def iter_large_chunks(
    n: int, *, seed: int = ..., bounds: Sequence[float] | None = ..., n_clusters: int | None = ...,
    chunk_size: int = ..., with_time: bool,
) -> Iterator[XY | tuple[XY, Times]]: ...


def iter_large_chunks(
    n: int,
    *,
    seed: int = 0,
    bounds: Sequence[float] | None = None,
    n_clusters: int | None = None,
    chunk_size: int = 1_000_000,
    with_time: bool = False,
) -> Iterator[XY | tuple[XY, Times]]:
    """Yield the points of :func:`simulate_large` in chunks of at most ``chunk_size``.

    Same layout (cluster centres, sizes, shapes) for every chunk, so the concatenation
    is one city; each chunk draws from its own child seed, so the output depends on
    ``(n, seed, bounds, n_clusters, chunk_size)`` only. Memory is O(chunk_size).
    Yields ``(m, 2)`` float64 arrays, or ``(xy, t)`` pairs when ``with_time`` is true.
    """
    n, b = _check_large_args(n, bounds, n_clusters)
    for xy, t in _chunks(n, seed, b, n_clusters, chunk_size, with_time):
        yield xy if t is None else (xy, t)


@overload
def simulate_large(
    n: int, *, seed: int = ..., bounds: Sequence[float] | None = ..., n_clusters: int | None = ...,
    with_time: Literal[False] = ..., chunk_size: int = ...,
) -> XY: ...


@overload
def simulate_large(
    n: int, *, seed: int = ..., bounds: Sequence[float] | None = ..., n_clusters: int | None = ...,
    with_time: Literal[True], chunk_size: int = ...,
) -> tuple[XY, Times]: ...


@overload
def simulate_large(
    n: int, *, seed: int = ..., bounds: Sequence[float] | None = ..., n_clusters: int | None = ...,
    with_time: bool, chunk_size: int = ...,
) -> XY | tuple[XY, Times]: ...


def simulate_large(
    n: int,
    *,
    seed: int = 0,
    bounds: Sequence[float] | None = None,
    n_clusters: int | None = None,
    with_time: bool = False,
    chunk_size: int = 2_000_000,
) -> XY | tuple[XY, Times]:
    """Draw ``n`` city-like incident points in metres, fast, for clustering benchmarks.

    About 70 % of the points fall in ``n_clusters`` Gaussian clusters (default
    ``clip(sqrt(n) / 4, 20, 5000)``) with log-normal sizes, spreads of 10-400 m and some
    elongated along a direction (like a street); cluster centres are denser towards the
    middle of ``bounds``. The rest is background: half a broad Gaussian over the centre,
    half uniform. Every point lies inside ``bounds``.

    Parameters
    ----------
    n : int
        Number of points (10 million take a few seconds and 160 MB).
    seed : int
        Seed: equal arguments give equal arrays.
    bounds : tuple of float, optional
        ``(min_x, min_y, max_x, max_y)`` in metres; default :data:`DEFAULT_LARGE_BOUNDS`,
        urban Hanoi in EPSG:3405 (VN-2000 / UTM 48N), so the points can be turned into
        lon/lat with ``pyproj`` (see :func:`write_large_geoparquet`).
    n_clusters : int, optional
        Number of clusters.
    with_time : bool
        Also return ``t`` (float64 seconds since the start of a 365-day year, daily rhythm
        of street crime) for spatio-temporal clustering.
    chunk_size : int
        Points generated per step (bounds the temporary memory). For more points than
        fit in memory use :func:`iter_large_chunks`.

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, numpy.ndarray)
        ``(n, 2)`` float64 x/y metres, and ``(n,)`` float64 seconds when ``with_time``.
    """
    n, b = _check_large_args(n, bounds, n_clusters)
    xy = np.empty((n, 2), dtype=np.float64)
    t = np.empty(n, dtype=np.float64) if with_time else None
    pos = 0
    for part, times in _chunks(n, seed, b, n_clusters, chunk_size, with_time):
        xy[pos:pos + len(part)] = part
        if t is not None and times is not None:
            t[pos:pos + len(part)] = times
        pos += len(part)
    return (xy, t) if t is not None else xy


def write_large_geoparquet(
    path: str | os.PathLike[str],
    n: int,
    *,
    seed: int = 0,
    partitions: int = 8,
    bounds: tuple[float, float, float, float] | None = None,
    n_clusters: int | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``n`` simulated incidents as a partitioned GeoParquet dataset (a folder).

    The points of :func:`simulate_large` (same arguments) become canonical incident rows:
    lon/lat Points (EPSG:4326), ``incident_id`` ``"syn-<seed>-<n>"``, a category drawn
    from the simulator's mix, ``occurred_at`` in 2025, ``source`` ``"synthetic"``,
    ``time_precision`` ``"exact"``, ``ward_id`` null. One file per partition,
    ``part.<i>.parquet``, written one at a time, so memory stays at one partition. Points use
    GeoParquet 1.1's native (GeoArrow) encoding, which reads without parsing WKB, with a bbox
    covering column. ``dask_geopandas.read_parquet(path)`` reads the folder.

    Parameters
    ----------
    path : str or Path
        Output folder (created). Must be empty or absent unless ``overwrite``.
    n : int
        Number of incidents.
    seed, bounds, n_clusters
        As for :func:`simulate_large`.
    partitions : int
        Number of files (fewer when ``n`` is smaller; one empty file when ``n == 0``).
    overwrite : bool
        Remove ``part.*.parquet`` files already in ``path`` first.

    Returns
    -------
    list of Path
        The files written, in order.
    """
    n, b = _check_large_args(n, bounds, n_clusters)
    if not isinstance(partitions, int | np.integer) or partitions < 1:
        raise ParameterError(f"partitions must be a positive integer; got {partitions!r}")
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ParameterError(f"{folder} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(folder.iterdir())
    if existing:
        if not overwrite:
            raise ParameterError(f"{folder} is not empty; pass overwrite=True to replace its part.*.parquet files")
        others = [p.name for p in existing if not re.fullmatch(r"part\.\d+\.parquet", p.name)]
        if others:
            raise ParameterError(f"{folder} holds files other than part.*.parquet ({', '.join(others[:5])}); "
                                 "refusing to overwrite")
        for p in existing:
            p.unlink()
    to_lonlat = Transformer.from_crs(LARGE_CRS, WGS84, always_xy=True)
    codes = np.asarray(CATEGORY_CODES, dtype=object)
    mix = np.array([SPEC_BY_CODE[c].per_ward for c in CATEGORY_CODES], dtype=float)
    mix_cum = np.cumsum(mix) / mix.sum()
    year_start = pd.Timestamp("2025-01-01", tz=TIMEZONE).tz_convert("UTC").value  # ns
    chunk = max(1, math.ceil(n / partitions))
    written: list[Path] = []
    offset = 0
    cat_rng = np.random.default_rng(np.random.SeedSequence([int(seed), 3]))
    for i, (xy, t) in enumerate(iter_large_chunks(n, seed=seed, bounds=b, n_clusters=n_clusters,
                                                  chunk_size=chunk, with_time=True)):
        m = len(xy)
        lon, lat = to_lonlat.transform(xy[:, 0], xy[:, 1])
        cat = codes[np.minimum(np.searchsorted(mix_cum, cat_rng.random(m), side="right"), len(codes) - 1)]
        ids = pd.Series(np.arange(offset, offset + m)).astype(str).str.zfill(6)
        frame = gpd.GeoDataFrame(
            {
                "incident_id": ("syn-" + str(int(seed)) + "-" + ids).astype(object).to_numpy(),
                "category": cat,
                "category_raw": cat,
                "occurred_at": pd.to_datetime(year_start + (t * 1e9).astype(np.int64), utc=True),
                "time_precision": np.full(m, "exact", dtype=object),
                "severity": np.full(m, np.nan),
                "description": np.full(m, None, dtype=object),
                "source": np.full(m, SYNTHETIC_SOURCE, dtype=object),
                "ward_id": np.full(m, None, dtype=object),
            },
            geometry=gpd.points_from_xy(lon, lat),
            crs=WGS84,
        )[list(INCIDENT_COLUMNS)]
        target = folder / f"part.{i}.parquet"
        frame.to_parquet(target, index=False, write_covering_bbox=True, geometry_encoding="geoarrow")
        written.append(target)
        offset += m
    if n == 0:
        target = folder / "part.0.parquet"
        conform_incidents(gpd.GeoDataFrame({c: [] for c in INCIDENT_COLUMNS if c != "geometry"},
                                           geometry=[], crs=WGS84)).to_parquet(target, index=False)
        written.append(target)
    return written
