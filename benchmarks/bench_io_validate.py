"""Time validating the three West Yorkshire police.uk files (about 87k rows).

One command::

    .venv/bin/python benchmarks/bench_io_validate.py [--runs 5]

Prints a table of median wall times over ``--runs`` runs, side by side in one process:

* ``pandas.read_csv`` (all columns as text): the reference, parsing only;
* ``read_incidents``: parsing + every validation rule + canonical table;
* ``read_incidents + wards``: the same with the Hanoi boundaries (ward join, swap extent);
* ``validate + ingest``: ``read_incidents`` then ``SQLiteStore.ingest`` of every accepted row into
  a new store (one per run, in a temporary folder), as ``ward-geo ingest`` does.

The ratio column is each median divided by the reference median.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from collections.abc import Callable

import pandas as pd
from rich.console import Console
from rich.table import Table

from ward_geo.io.readers import read_boundaries, read_incidents
from ward_geo.settings import get_settings

FILES = (
    "2016-07-west-yorkshire-street.csv",
    "2017-07-west-yorkshire-street.csv",
    "2018-07-west-yorkshire-street.csv",
)


def _median_time(func: Callable[[], object], runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    settings = get_settings()
    paths = [settings.reference_file("incidents", "police_uk_west_yorkshire", name) for name in FILES]
    wards = read_boundaries(settings.reference_file("boundaries", "hanoi_wards_2025.geojson"))
    rows = sum(len(pd.read_csv(p, usecols=[0])) for p in paths)

    def reference() -> None:
        for p in paths:
            pd.read_csv(p, dtype=str)

    def validate() -> None:
        for p in paths:
            read_incidents(p)

    def validate_wards() -> None:
        for p in paths:
            read_incidents(p, boundaries=wards)

    def validate_ingest() -> None:
        from ward_geo.store.sqlite import SQLiteStore

        with tempfile.TemporaryDirectory() as tmp, SQLiteStore(Path(tmp) / "bench.sqlite") as store:
            for p in paths:
                store.ingest(read_incidents(p))

    validate()  # warm caches and imports once
    results = [
        ("pandas.read_csv (reference)", *_median_time(reference, args.runs)),
        ("read_incidents", *_median_time(validate, args.runs)),
        ("read_incidents + wards", *_median_time(validate_wards, args.runs)),
        ("validate + ingest (SQLite)", *_median_time(validate_ingest, args.runs)),
    ]
    base = results[0][1]
    table = Table(title=f"Validate 3 West Yorkshire files ({rows:,} rows), median of {args.runs} runs")
    for col in ("what", "median s", "rows/s", "ratio vs reference", "runs s"):
        table.add_column(col, justify="left" if col == "what" else "right")
    for name, median, times in results:
        table.add_row(name, f"{median:.3f}", f"{rows / median:,.0f}", f"{median / base:.1f}x",
                      " ".join(f"{t:.2f}" for t in times))
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
