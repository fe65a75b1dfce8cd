"""Distributed hotspot benchmark: exact DBSCAN on Dask against single-machine DBSCAN.

One command::

    python benchmarks/bench_distributed.py [--sizes 10M,30M] [--single-max 10M]
        [--equality 2M] [--repeats 3] [--large-repeats 1] [--memory-limit 6GB]
        [--out /work/bench_distributed.md]

Data: ``ward_geo.synth.write_large_geoparquet(n, seed=0)`` — city-like simulated incidents
over urban Hanoi (lon/lat GeoParquet, one file per million rows) in a temporary folder,
with wards assigned from the real 2025 Hanoi boundaries during the run.

Dask path: :func:`ward_geo.analysis.distributed.dask_dbscan` on the folder (read, project,
assign wards, tile, shuffle, cluster, merge, label) followed by the per-ward statistics
(:meth:`DaskDBSCANResult.ward_stats`), on a fresh ``LocalCluster`` of 2 single-threaded
worker processes per run. Peak memory per worker is the largest resident set size of
each worker process, sampled with psutil every 0.1 s (the memory limit is set above the
4 GB target so the measurement is not cut by the limit itself).

Reference ("single"): one process reads the geometry column of every file with
geopandas, assigns wards (``assign_wards``), projects with the same pyproj call, fits
:class:`ward_geo.cluster.DBSCAN` and counts incidents per ward and per (ward,
cluster) with pandas — the same work (peak = its ``ru_maxrss``). Ratios are Dask /
single. At ``--equality`` size both paths run and their labels and core points are
compared label for label. Times are medians of ``--repeats`` runs (``--large-repeats``
for sizes above 10M). DBSCAN: ``eps = 50 m``, ``min_samples = 10 * n / 100k`` (the
density-scaled setting of ``bench_clustering.py``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

EPS = 50.0
TARGET_WORKER_MB = 4096.0


def parse_size(text: str) -> int:
    text = text.strip().lower()
    mult = 1
    if text.endswith("k"):
        mult, text = 1_000, text[:-1]
    elif text.endswith("m"):
        mult, text = 1_000_000, text[:-1]
    return int(float(text) * mult)


def fmt_size(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n // 1000}k"


def min_samples_for(n: int) -> int:
    return max(10, round(10 * n / 100_000))


# ------------------------------------------------------------------ single machine (subprocess)


def single_main(folder: str, min_samples: int, labels_out: str | None) -> None:
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from ward_geo.cluster import DBSCAN, warm_up
    from ward_geo.analysis.hotspots.request import metric_xy as _metric_xy
    from ward_geo.io.readers import assign_wards, read_boundaries
    from ward_geo.settings import get_settings

    warm_up(hdbscan=False)
    boundaries = read_boundaries(get_settings().reference_file("boundaries", "hanoi_wards_2025.geojson"))
    t0 = time.perf_counter()
    files = sorted(Path(folder).glob("part.*.parquet"), key=lambda p: int(p.name.split(".")[1]))
    frames = [gpd.read_parquet(f, columns=["geometry"]) for f in files]
    union = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs)
    del frames
    wards = assign_wards(union, boundaries)["ward_id"].to_numpy(dtype=object)
    X, _crs = _metric_xy(union)
    del union
    t1 = time.perf_counter()
    model = DBSCAN(EPS, min_samples).fit(X)
    t2 = time.perf_counter()
    # the same per-ward statistics as the Dask path: incidents and hotspot members per ward
    frame = pd.DataFrame({"ward": wards, "label": model.labels_})
    frame.groupby("ward", dropna=False).size()
    frame[frame["label"] >= 0].groupby(["ward", "label"]).size()
    t3 = time.perf_counter()
    if labels_out:
        np.savez(labels_out, labels=model.labels_, core=model.core_sample_indices_)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"read_s": t1 - t0, "fit_s": t2 - t1, "wall_s": t3 - t0, "peak_mb": peak,
                      "n_clusters": int(model.n_clusters_)}))


def run_single(folder: Path, min_samples: int, labels_out: Path | None) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--single", str(folder), "--min-samples", str(min_samples)]
    if labels_out is not None:
        cmd += ["--labels-out", str(labels_out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ dask path


class WorkerSampler:
    """Peak resident memory of each worker process (psutil, every ``interval`` s)."""

    def __init__(self, pids: list[int], interval: float = 0.1) -> None:
        import psutil

        self.procs = {pid: psutil.Process(pid) for pid in pids}
        self.peak = dict.fromkeys(pids, 0.0)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            for pid, proc in self.procs.items():
                try:
                    rss = proc.memory_info().rss / 2**20
                except psutil.Error:
                    continue
                self.peak[pid] = max(self.peak[pid], rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> WorkerSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_dask(folder: Path, min_samples: int, boundaries: Any, memory_limit: str,
             want_labels: bool) -> dict[str, Any]:
    from distributed import Client, LocalCluster

    from ward_geo.analysis.distributed import dask_dbscan

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=memory_limit,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        # load the numba kernels in each worker before timing (as the service's warm-up does)
        from ward_geo.cluster import warm_up

        client.run(warm_up, hdbscan=False)
        pids = list(client.run(os.getpid).values())
        out: dict[str, Any] = {}
        with WorkerSampler(pids) as sampler:
            t0 = time.perf_counter()
            res = dask_dbscan(folder, EPS, min_samples, client=client, boundaries=boundaries)
            t1 = time.perf_counter()
            wards = res.ward_stats()
            t2 = time.perf_counter()
        out.update({
            "cluster_s": t1 - t0, "wards_s": t2 - t1, "wall_s": t2 - t0,
            "worker_peak_mb": sorted(sampler.peak.values(), reverse=True),
            "n_clusters": res.n_clusters, "n_core": res.n_core, "steps": res.timings_s,
            "n_tiles": res.n_tiles, "n_groups": res.n_groups, "halo_fraction": res.halo_fraction,
            "wards_with_hotspots": int((wards["n_hotspots"] > 0).sum()),
        })
        if want_labels:
            out["labels"], out["core"] = res.labels_and_core()
        res.release()
        return out


# ------------------------------------------------------------------ driver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10M,30M")
    parser.add_argument("--single-max", default="10M", help="largest size for the single-machine run")
    parser.add_argument("--equality", default="2M", help="size of the label-for-label check (0: skip)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--large-repeats", type=int, default=1, help="repeats for sizes above 10M")
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--workdir", default=None, help="where the GeoParquet folders go (default: a temp dir)")
    parser.add_argument("--out", default="/work/bench_distributed.md")
    parser.add_argument("--single", help=argparse.SUPPRESS)
    parser.add_argument("--min-samples", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--labels-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.single:
        single_main(args.single, args.min_samples, args.labels_out)
        return

    import numpy as np

    from ward_geo.io.readers import read_boundaries
    from ward_geo.settings import get_settings
    from ward_geo.synth import write_large_geoparquet

    boundaries = read_boundaries(get_settings().reference_file("boundaries", "hanoi_wards_2025.geojson"))
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    single_max = parse_size(args.single_max)
    eq_n = parse_size(args.equality) if args.equality not in ("", "0") else 0
    lines: list[str] = []

    def emit(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    emit("# Distributed DBSCAN benchmark (Dask) vs single-machine DBSCAN")
    emit()
    emit(f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}. "
         f"Dask: LocalCluster, 2 worker processes x 1 thread, memory_limit {args.memory_limit}. "
         f"eps = {EPS:g} m, min_samples = 10 * n / 100k. Data: write_large_geoparquet(n, seed=0), "
         "1M rows per file; wards from hanoi_wards_2025.geojson.")
    emit()

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        rows: list[dict[str, Any]] = []
        if eq_n:
            folder = Path(tmp) / f"eq_{eq_n}"
            write_large_geoparquet(folder, eq_n, seed=0, partitions=max(1, math.ceil(eq_n / 1_000_000)))
            ms = min_samples_for(eq_n)
            single = run_single(folder, ms, Path(tmp) / "eq_labels.npz")
            dask_run = run_dask(folder, ms, boundaries, args.memory_limit, want_labels=True)
            ref = np.load(Path(tmp) / "eq_labels.npz")
            same_labels = bool(np.array_equal(dask_run["labels"], ref["labels"]))
            same_core = bool(np.array_equal(dask_run["core"], ref["core"]))
            emit(f"## Equality at {fmt_size(eq_n)} (min_samples = {ms})")
            emit()
            emit(f"- clusters: Dask {dask_run['n_clusters']}, single {single.get('n_clusters')}; "
                 f"core points: {len(ref['core'])}; noise: {int((ref['labels'] < 0).sum())}")
            emit(f"- labels identical: **{same_labels}**; core points identical: **{same_core}**")
            emit()
        emit("## Time and memory")
        emit()
        emit("| n | files | path | runs | wall s (median) | steps (s) | peak MB per worker | "
             "single peak MB | time ratio Dask/single | clusters | target <= 4096 MB/worker |")
        emit("|---|---|---|---|---|---|---|---|---|---|---|")
        for n in sizes:
            parts = max(1, math.ceil(n / 1_000_000))
            folder = Path(tmp) / f"n_{n}"
            t0 = time.perf_counter()
            write_large_geoparquet(folder, n, seed=0, partitions=parts)
            gen_s = time.perf_counter() - t0
            ms = min_samples_for(n)
            repeats = args.repeats if n <= 10_000_000 else args.large_repeats
            single = None
            if n <= single_max:
                singles = [run_single(folder, ms, None) for _ in range(repeats)]
                ok = [s for s in singles if "error" not in s]
                if ok:
                    single = {
                        "wall_s": statistics.median(s["wall_s"] for s in ok),
                        "read_s": statistics.median(s["read_s"] for s in ok),
                        "fit_s": statistics.median(s["fit_s"] for s in ok),
                        "peak_mb": max(s["peak_mb"] for s in ok),
                        "n_clusters": ok[0]["n_clusters"], "runs": len(ok),
                    }
                else:
                    single = {"error": singles[0]["error"]}
            runs = [run_dask(folder, ms, boundaries, args.memory_limit, want_labels=False) for _ in range(repeats)]
            wall = statistics.median(r["wall_s"] for r in runs)
            peaks = [max(r["worker_peak_mb"][i] for r in runs) for i in range(2)]
            steps = {k: round(statistics.median(r["steps"][k] for r in runs), 1) for k in runs[0]["steps"]}
            steps["ward_stats"] = round(statistics.median(r["wards_s"] for r in runs), 1)
            step_text = ", ".join(f"{k} {v:g}" for k, v in steps.items())
            ratio = "—"
            single_peak = "—"
            if single is not None and "error" not in single:
                ratio = f"{wall / single['wall_s']:.2f}"
                single_peak = f"{single['peak_mb']:.0f}"
                emit(f"| {fmt_size(n)} | {parts} | single (read+wards+project {single['read_s']:.1f} s, "
                     f"fit {single['fit_s']:.1f} s) | "
                     f"{single['runs']} | {single['wall_s']:.1f} | — | — | {single_peak} | 1.00 | {single['n_clusters']} | — |")
            elif single is not None:
                single_peak = f"failed: {single['error'][:60]}"
            else:
                single_peak = f"not run (> {fmt_size(single_max)})"
            ok = all(p <= TARGET_WORKER_MB for p in peaks)
            emit(f"| {fmt_size(n)} | {parts} | dask (clustering {statistics.median(r['cluster_s'] for r in runs):.1f} s) "
                 f"| {repeats} | {wall:.1f} | {step_text} | {' / '.join(f'{p:.0f}' for p in peaks)} | {single_peak} | "
                 f"{ratio} | {runs[0]['n_clusters']} | {'yes' if ok else 'NO'} |")
            rows.append({"n": n, "gen_s": gen_s, "runs": runs, "single": single})
            import shutil

            shutil.rmtree(folder)
        emit()
        emit("Notes: both paths do the same work (read, assign wards, project, DBSCAN, per-ward counts); "
             "the ratio is Dask wall / single wall. Dask steps: read (+ ward assignment), project, "
             "shuffle (tiles + halos), cluster (core flags + local components), merge, label, ward_stats. "
             "Tiles/groups/halo per size: " + "; ".join(
                 f"{fmt_size(r['n'])}: {r['runs'][0]['n_tiles']} tiles in {r['runs'][0]['n_groups']} groups, "
                 f"halo {r['runs'][0]['halo_fraction']:.1%}, data written in {r['gen_s']:.0f} s"
                 for r in rows))
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
