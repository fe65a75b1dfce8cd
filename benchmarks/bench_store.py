"""Store throughput: ingest and query, SQLiteStore vs PostGISStore, median of several runs.

    .venv/bin/python benchmarks/bench_store.py [--rows 100000] [--runs 3] [--pg-url URL]

The PostGIS column needs a server: ``--pg-url``, or ``WARD_GEO_TEST_DATABASE_URL`` /
``WARD_GEO_DATABASE_URL`` (``bash scripts/postgis.sh start`` prints one); without one only
SQLite is measured. Each run ingests into a fresh store (a new SQLite file in a temporary
folder; a new PostGIS schema, dropped afterwards). Ratios are PostGIS time / SQLite time
(the reference): below 1 means PostGIS is faster. Points come from
:func:`ward_geo.synth.simulate_large` (clustered, urban Hanoi), spread over 8 wards and
5 categories across one year.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer

from ward_geo.store.base import IncidentStore
from ward_geo.store.sqlite import SQLiteStore
from ward_geo.synth import simulate_large

WARDS = [f"ward-{k}" for k in range(8)]
CATEGORIES = ["theft", "drugs", "traffic_accident", "parking_violation", "robbery"]


def make_rows(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    """``n`` canonical incidents on clustered Hanoi points."""
    xy = simulate_large(n, seed=seed)
    lon, lat = Transformer.from_crs("EPSG:3405", "EPSG:4326", always_xy=True).transform(xy[:, 0], xy[:, 1])
    rng = np.random.default_rng(seed)
    seconds = rng.integers(0, 365 * 86400, n)
    return gpd.GeoDataFrame(
        {
            "incident_id": [f"bench-{i:09d}" for i in range(n)],
            "category": np.array(CATEGORIES, dtype=object)[rng.integers(0, len(CATEGORIES), n)],
            "occurred_at": pd.Timestamp("2025-01-01T00:00Z") + pd.to_timedelta(seconds, unit="s"),
            "time_precision": "exact",
            "severity": np.where(rng.random(n) < 0.1, np.nan, rng.integers(1, 4, n)).astype(float),
            "description": "Trộm cắp tài sản <b>gần chợ</b>",
            "source": "benchmark",
            "ward_id": np.array(WARDS, dtype=object)[rng.integers(0, len(WARDS), n)],
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )


def measure(open_store: Callable[[], IncidentStore], cleanup: Callable[[IncidentStore], None], data: gpd.GeoDataFrame,
            runs: int) -> dict[str, float]:
    """Median seconds of each operation over ``runs`` fresh stores."""
    lon0, lat0, lon1, lat1 = data.total_bounds
    cx, cy = (lon0 + lon1) / 2, (lat0 + lat1) / 2
    box = (cx - 0.005, cy - 0.005, cx + 0.005, cy + 0.005)  # about 1 km x 1.1 km in the centre
    ops: dict[str, Callable[[IncidentStore], object]] = {
        "query one ward (1/8 of rows)": lambda s: s.query(ward_ids=[WARDS[0]]),
        "query bbox 1 km2 (centre)": lambda s: s.query(bbox=box),
        "query ward+category+month": lambda s: s.query(
            ward_ids=[WARDS[1]], categories=["theft"], since="2025-06-01", until="2025-07-01"
        ),
        "count time window (1 month)": lambda s: s.count(since="2025-03-01", until="2025-04-01"),
        "query page of 100 (offset 5000)": lambda s: s.query(limit=100, offset=5000),
        "get one incident": lambda s: s.get("bench-000000042"),
    }
    times: dict[str, list[float]] = {"ingest (new rows)": [], "re-ingest (all duplicates)": []}
    times.update({name: [] for name in ops})
    for _ in range(runs):
        store = open_store()
        try:
            t = time.perf_counter()
            result = store.ingest(data)
            times["ingest (new rows)"].append(time.perf_counter() - t)
            assert result.added == len(data), result
            t = time.perf_counter()
            result = store.ingest(data)
            times["re-ingest (all duplicates)"].append(time.perf_counter() - t)
            assert result.added == 0
            for name, op in ops.items():
                op(store)  # warm caches once, then time
                t = time.perf_counter()
                op(store)
                times[name].append(time.perf_counter() - t)
        finally:
            cleanup(store)
    return {name: statistics.median(v) for name, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--pg-url", default=os.environ.get("WARD_GEO_TEST_DATABASE_URL") or os.environ.get("WARD_GEO_DATABASE_URL")
    )
    args = parser.parse_args(argv)
    pg_url = args.pg_url if args.pg_url and args.pg_url.startswith(("postgresql://", "postgres://")) else None

    data = make_rows(args.rows)
    tmp = Path(tempfile.mkdtemp(prefix="ward_geo_bench_"))

    def open_sqlite() -> IncidentStore:
        return SQLiteStore(tmp / f"{uuid.uuid4().hex}.sqlite")

    def close_sqlite(store: IncidentStore) -> None:
        store.close()
        for f in tmp.glob("*"):
            f.unlink()

    results = {"SQLite": measure(open_sqlite, close_sqlite, data, args.runs)}
    if pg_url:
        from ward_geo.store.postgis import PostGISStore

        def open_pg() -> IncidentStore:
            return PostGISStore(pg_url, schema=f"bench_{uuid.uuid4().hex[:10]}")

        def drop_pg(store: IncidentStore) -> None:
            store.drop()  # type: ignore[attr-defined]
            store.close()

        results["PostGIS"] = measure(open_pg, drop_pg, data, args.runs)
    tmp.rmdir()

    print(f"ward_geo store benchmark: {args.rows:,} incidents, median of {args.runs} runs, "
          f"{os.cpu_count()} CPUs; reference = SQLite")
    header = f"{'operation':34} {'SQLite':>12}"
    if "PostGIS" in results:
        header += f" {'PostGIS':>12} {'PG/SQLite':>10}"
    print(header)
    print("-" * len(header))
    for name, ref in results["SQLite"].items():
        line = f"{name:34} {_fmt(ref, name, args.rows):>12}"
        if "PostGIS" in results:
            pg = results["PostGIS"][name]
            line += f" {_fmt(pg, name, args.rows):>12} {pg / ref:>9.2f}x"
        print(line)
    if "PostGIS" not in results:
        print("(PostGIS not measured: pass --pg-url or set WARD_GEO_TEST_DATABASE_URL)")
    return 0


def _fmt(seconds: float, name: str, rows: int) -> str:
    if name.startswith(("ingest", "re-ingest")):
        return f"{rows / seconds / 1000:,.0f}k rows/s"
    return f"{seconds * 1000:,.1f} ms"


if __name__ == "__main__":
    sys.exit(main())
