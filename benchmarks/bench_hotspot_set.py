"""Cold hotspot set of one ward: what a face waits for after new data.

    .venv/bin/python benchmarks/bench_hotspot_set.py [--runs 5] [--ward phuong-hoan-kiem]

A throwaway SQLite store gets the Hanoi wards and two simulated years of one ward; each run
computes the ward's default set again (``ward_hotspot_set(refresh=True)``: method ``auto`` with
its backtest, trends, street names, kept in the store). The reference beside it, in the same
run, is the naive map a face could serve instead: ``store.query`` + ``find_hotspots(method=
"counts")``. Target: a cold set in 2 s or less. Medians of ``--runs`` runs, with min and max.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ward", default="phuong-hoan-kiem")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    os.environ["WARD_GEO_DATA_DIR"] = tempfile.mkdtemp(prefix="ward_geo_bench_")
    from ward_geo.analysis.hotspots import find_hotspots
    from ward_geo.io.readers import read_boundaries
    from ward_geo.settings import get_settings
    from ward_geo.store import open_store
    from ward_geo.synth import simulate
    from ward_geo.workflows import reference_streets, ward_hotspot_set

    boundaries = read_boundaries(get_settings().reference_file("boundaries", "hanoi_wards_2025.geojson"))
    ward = boundaries[boundaries["ward_id"] == args.ward]
    incidents = simulate(boundaries, ward_ids=[args.ward], start="2024-01-01", end="2025-12-31", seed=1)
    reference_streets()  # the street file is loaded once per process, not per set
    cold, naive = [], []
    with open_store() as store:
        store.put_boundaries(boundaries)
        store.ingest(incidents, source="bench")
        find_hotspots(incidents.head(500), ward, method="dbscan")  # numba kernels compiled outside the timing
        for _ in range(args.runs):
            t = time.perf_counter()
            hset = ward_hotspot_set(store, args.ward, refresh=True)
            cold.append(time.perf_counter() - t)
            t = time.perf_counter()
            find_hotspots(store.query(ward_ids=[args.ward]), ward, method="counts")
            naive.append(time.perf_counter() - t)
    med, ref = statistics.median(cold), statistics.median(naive)
    print("| what | incidents | median s | min–max s | vs 2 s target | vs counts-only |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| cold ward set ({hset.hotspots.attrs['params']['method']} chosen by auto, trends, names, stored) | "
          f"{len(incidents):,} | **{med:.2f}** | {min(cold):.2f}–{max(cold):.2f} | {med / 2.0:.2f} | {med / ref:.1f}× |")
    print(f"| reference: query + counts hotspots | {len(incidents):,} | {ref:.2f} | {min(naive):.2f}–{max(naive):.2f} | "
          f"{ref / 2.0:.2f} | 1.0× |")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (2 CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
