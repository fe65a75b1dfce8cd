"""Time the street graph, the ward simulator and the large point generator.

One command::

    .venv/bin/python benchmarks/bench_synth.py [--runs 3] [--large 10000000]

Prints median wall times over ``--runs`` runs, side by side in one process, in two groups,
each with its own named reference (ratio = median / reference median):

* street graph and simulator, reference ``osmnx.graph_from_xml`` (parsing the central-Hanoi
  OSM extract, i.e. :func:`load_street_graph` with ``cache=False``): the cached load, and one
  simulated year of the seven central wards (graph already loaded);
* large point sets, reference ``numpy`` uniform points (the same ``n``, the floor for any
  generator): :func:`simulate_large` with ``n = --large``, and
  :func:`write_large_geoparquet` of 1 million points in 8 partitions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from ward_geo.io.readers import read_boundaries
from ward_geo.settings import get_settings, reset_settings
from ward_geo.streets import load_street_graph, read_bus_stops
from ward_geo.synth import simulate, simulate_large, write_large_geoparquet


def _median_time(func: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--large", type=int, default=10_000_000, help="points for simulate_large")
    args = parser.parse_args()
    settings = get_settings()
    wards = read_boundaries(settings.reference_file("boundaries", "hanoi_wards_2025.geojson"))
    stops = read_bus_stops()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["WARD_GEO_CACHE_DIR"] = str(Path(tmp) / "cache")  # a cold cache of our own
        reset_settings()
        graph = load_street_graph()  # fills the cache
        rows: list[tuple[str, str, float, float]] = []

        parse = _median_time(lambda: load_street_graph(cache=False), args.runs)
        cached = _median_time(load_street_graph, args.runs)
        year = simulate(wards, graph=graph, bus_stops=stops)
        sim = _median_time(lambda: simulate(wards, graph=graph, bus_stops=stops), args.runs)
        rows += [
            ("osmnx.graph_from_xml (reference)", f"{graph.number_of_edges():,} edges", parse, 1.0),
            ("load_street_graph, cached", f"{graph.number_of_edges():,} edges", cached, cached / parse),
            ("simulate: 7 central wards, 1 year", f"{len(year):,} incidents", sim, sim / parse),
        ]

        n = args.large
        rng = np.random.default_rng(0)
        uniform = _median_time(lambda: rng.uniform(0.0, 1.0, size=(n, 2)), args.runs)
        large = _median_time(lambda: simulate_large(n, seed=0), args.runs)
        out = Path(tmp) / "large"
        gpq = _median_time(lambda: write_large_geoparquet(out, 1_000_000, partitions=8, overwrite=True), args.runs)
        rows += [
            ("numpy uniform (reference)", f"{n:,} points", uniform, 1.0),
            ("simulate_large", f"{n:,} points", large, large / uniform),
            ("write_large_geoparquet, 8 parts", "1,000,000 incidents", gpq, gpq / uniform),
        ]

    table = Table(title=f"synthetic data: median of {args.runs} runs")
    for col in ("task", "size", "median s", "ratio"):
        table.add_column(col, justify="left" if col in ("task", "size") else "right")
    for task, size, secs, ratio in rows:
        table.add_row(task, size, f"{secs:.3f}", f"{ratio:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
