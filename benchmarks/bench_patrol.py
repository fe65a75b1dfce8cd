"""A 3-unit, 8-hour patrol plan for a central Hanoi ward, end to end: target <= 10 s.

One command::

    .venv/bin/python benchmarks/bench_patrol.py [--runs 5] [--ward phuong-hoan-kiem] [--out FILE.md]

Each run is the real command in a fresh process, timed from start to exit::

    ward-geo patrol --ward W -b <Hanoi wards> --units 3 --shift-start 08:00 --shift-end 16:00 \\
        --date 2026-01-09 --mode M <incidents.geojson> -o plan.geojson

so it includes Python start-up, reading the wards and incidents, loading the street graph of
the shared central-Hanoi extract, the shift's hotspots, the OR-Tools routing and writing the
GeoJSON and Markdown. Rows:

* ``cold graph``: an empty cache folder, so the OSM XML is parsed with osmnx;
* ``cached graph``: the parsed graph is read from the cache (the usual case).

The incidents are one simulated year of the ward (:func:`ward_geo.synth.simulate`), written
once before timing. Below the end-to-end rows, an in-process breakdown of one cached run shows
where the time goes. The ratio column is each median divided by the 10 s target (the named
reference): below 1 meets it. The table is printed and written as Markdown (``--out``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

TARGET_S = 10.0


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("ward-geo")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "ward_geo.cli"]


def _run(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(args, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"ward-geo patrol failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def _breakdown(ward: str, mode: str, incidents: Path, boundaries: Path) -> list[tuple[str, float]]:
    from ward_geo.io.readers import read_boundaries, read_incidents
    from ward_geo.planning import plan_patrol
    from ward_geo.planning.network import TravelNetwork
    from ward_geo.streets import load_street_graph

    steps: list[tuple[str, float]] = []
    t = time.perf_counter()
    load_street_graph(cache=False)
    steps.append(("(cold only) parse the OSM XML with osmnx", time.perf_counter() - t))
    t = time.perf_counter()
    wards = read_boundaries(boundaries)
    frame = read_incidents(incidents, boundaries=wards)
    steps.append(("read wards + incidents", time.perf_counter() - t))
    t = time.perf_counter()
    graph = load_street_graph()
    steps.append(("load cached street graph", time.perf_counter() - t))
    t = time.perf_counter()
    TravelNetwork(graph, mode)
    steps.append((f"travel network ({mode})", time.perf_counter() - t))
    t = time.perf_counter()
    plan = plan_patrol(frame, wards, ward, units=3, shift_start="08:00", shift_end="16:00", date="2026-01-09",
                       mode=mode, graph=graph)
    steps.append(("plan_patrol (risk, hotspots, network, routing)", time.perf_counter() - t))
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        plan.write(Path(tmp) / "plan.geojson")
        steps.append(("write GeoJSON + Markdown", time.perf_counter() - t))
    s = plan.summary
    steps.append((f"(plan: {s['hotspots']} hotspots, {s['stops']} stops, "
                  f"{100 * s['risk_covered_share']:.0f} % of risk, solver {s['solver_status']})", float("nan")))
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ward", default="phuong-hoan-kiem")
    parser.add_argument("--modes", default="foot,motorbike")
    parser.add_argument("--out", type=Path, default=None, help="Also write the table as Markdown here.")
    args = parser.parse_args()

    from ward_geo.io.readers import read_boundaries
    from ward_geo.io.writers import write_geojson
    from ward_geo.settings import get_settings
    from ward_geo.streets import load_street_graph
    from ward_geo.synth import simulate

    settings = get_settings()
    boundaries = settings.reference_file("boundaries", "hanoi_wards_2025.geojson")
    console = Console()
    with tempfile.TemporaryDirectory(prefix="bench_patrol_") as tmp_name:
        tmp = Path(tmp_name)
        warm_cache = tmp / "warm-cache"
        env = {**os.environ, "WARD_GEO_DATA_DIR": str(tmp / "data"), "WARD_GEO_CACHE_DIR": str(warm_cache)}
        if settings.resolved_reference_dir is not None:
            env["WARD_GEO_REFERENCE_DIR"] = str(settings.resolved_reference_dir)
        os.environ.update({k: env[k] for k in ("WARD_GEO_DATA_DIR", "WARD_GEO_CACHE_DIR")})
        from ward_geo.settings import reset_settings

        reset_settings()
        wards = read_boundaries(boundaries)
        graph = load_street_graph()  # primes the warm cache
        simulated = simulate(wards, ward_ids=(args.ward,), seed=0, graph=graph)
        n_incidents = len(simulated)
        incidents = write_geojson(simulated, tmp / "incidents.geojson")

        load_start = os.getloadavg()
        rows: list[tuple[str, str, float, list[float]]] = []
        for mode in args.modes.split(","):
            command = [*_cli(), "patrol", "--ward", args.ward, "-b", str(boundaries), "--units", "3",
                       "--shift-start", "08:00", "--shift-end", "16:00", "--date", "2026-01-09", "--mode", mode,
                       str(incidents), "-o", str(tmp / "out" / "plan.geojson")]
            for label in ("cold graph", "cached graph"):
                times = []
                for i in range(args.runs):
                    run_env = dict(env)
                    if label == "cold graph":
                        run_env["WARD_GEO_CACHE_DIR"] = str(tmp / f"cold-{mode}-{i}")
                    times.append(_run(command, run_env))
                rows.append((mode, label, statistics.median(times), times))
        steps = _breakdown(args.ward, "foot", incidents, boundaries)

    title = (f"ward-geo patrol, 3 units x 8 h, {args.ward} ({n_incidents} simulated incidents), "
             f"median of {args.runs} runs; reference: the {TARGET_S:g} s target")
    table = Table(title=title)
    for col in ("mode", "street graph", "median s", "ratio to 10 s", "runs s"):
        table.add_column(col, justify="right" if col in ("median s", "ratio to 10 s") else "left")
    for mode, label, med, times in rows:
        table.add_row(mode, label, f"{med:.2f}", f"{med / TARGET_S:.2f}", " ".join(f"{t:.2f}" for t in times))
    console.print(table)
    load = os.getloadavg()
    detail = Table(title="In-process breakdown of one cached foot run")
    detail.add_column("step")
    detail.add_column("s", justify="right")
    for name, secs in steps:
        detail.add_row(name, "" if secs != secs else f"{secs:.2f}")
    console.print(detail)
    console.print(f"load average {load_start[0]:.1f} at the start, {load[0]:.1f} at the end ({os.cpu_count()} cores)")

    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    md = [
        "# Patrol planning benchmark",
        "",
        f"Command: `python benchmarks/bench_patrol.py --runs {args.runs}` ({machine}; machine shared, timings noisy:",
        f"load average {load_start[0]:.1f} at the start, {load[0]:.1f} at the end).",
        "",
        title + ".",
        "",
        "| mode | street graph | median s | ratio to 10 s | runs s |",
        "|---|---|---:|---:|---|",
        *[f"| {m} | {lab} | {med:.2f} | {med / TARGET_S:.2f} | {' '.join(f'{t:.2f}' for t in ts)} |"
          for m, lab, med, ts in rows],
        "",
        "In-process breakdown of one cached foot run (process start-up and imports are not in it):",
        "",
        "| step | s |",
        "|---|---:|",
        *[f"| {name} | {'' if secs != secs else f'{secs:.2f}'} |" for name, secs in steps],
        "",
    ]
    if args.out is not None:
        args.out.write_text("\n".join(md), encoding="utf-8")
        console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
