"""Service benchmark: cached and cold ``GET /wards/{id}/hotspots`` against a real server.

Run::

    .venv/bin/python benchmarks/bench_api.py [--incidents 100000] [--duration 10] [--runs 3]

It builds a temporary data dir (three central Hanoi wards from the reference boundaries,
``--incidents`` synthetic incidents inside Phường Hoàn Kiếm from
:func:`ward_geo.synth.simulate_large`), starts ``ward-geo serve`` on a free loopback port
and measures

* cold: the first request after new data (the cache is invalidated by ingesting one extra
  incident before each run), median of ``--runs``, with automatic DBSCAN parameters and with
  the same parameters given as ``eps``/``min_samples``; reference: the same store query and
  :func:`~ward_geo.analysis.hotspots.find_hotspots` call in this process (ratio = service
  overhead), split into its two parts;
* cached, side by side in one run: throughput and latency at 32 concurrent connections for
  ``--duration`` seconds (median of ``--runs`` runs) of a bare FastAPI app on the same
  uvicorn returning the same bytes from memory, and of the cached ward_geo endpoint idle,
  under one 1-row ingest a second into another ward and into the same ward, and while two
  readers page 10,000 incidents each (1,000 a page, following the ``next`` links). Load from
  ``wrk`` when installed (``apt-get install wrk``), otherwise (or with ``--python-load``) a
  bounded Python (httpx, asyncio) load generator, which competes with the server for the same
  cores and so gives a lower bound. Targets: >= 0.5x bare, p99 <= 50 ms, >= 0.8x idle under
  one ingest a second; cold <= 2 s. The cold figures wait for the fresh answer (the service
  serves the previous one, marked ``X-Data-Freshness: stale``, while it computes).

The table is printed and written to ``--out`` (default ``benchmarks/results/bench_api.md``,
not tracked).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import geopandas as gpd
import httpx
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

WARD = "phuong-hoan-kiem"
OTHER = "phuong-cua-nam"
WARDS = ("phuong-hoan-kiem", "phuong-cua-nam", "phuong-ba-dinh")
CONNECTIONS = 32


def _reference_boundaries() -> Path:
    from ward_geo.settings import get_settings

    return get_settings().reference_file("boundaries", "hanoi_wards_2025.geojson")


def load_wards() -> gpd.GeoDataFrame:
    from ward_geo.schema import WGS84, slugify

    raw = gpd.read_file(_reference_boundaries())
    frame = gpd.GeoDataFrame(
        {
            "ward_id": [slugify(n) for n in raw["name"]],
            "name": raw["name"],
            "name_en": raw["name:en"],
            "population": pd.array(pd.to_numeric(raw["population"], errors="coerce").round(), dtype="Int64"),
        },
        geometry=raw.geometry,
        crs=WGS84,
    )
    return frame.loc[frame["ward_id"].isin(WARDS)].reset_index(drop=True)


def make_incidents(ward: gpd.GeoDataFrame, n: int, seed: int = 1) -> gpd.GeoDataFrame:
    """``n`` synthetic incidents inside the ward polygon (clusters + background)."""
    from ward_geo.categories import CATEGORY_CODES
    from ward_geo.schema import WGS84, conform_incidents
    from ward_geo.synth import simulate_large

    poly = ward.geometry.iloc[0]
    to_m = Transformer.from_crs("EPSG:4326", "EPSG:3405", always_xy=True)
    to_ll = Transformer.from_crs("EPSG:3405", "EPSG:4326", always_xy=True)
    minx, miny = to_m.transform(*poly.bounds[:2])
    maxx, maxy = to_m.transform(*poly.bounds[2:])
    lon = np.empty(0)
    lat = np.empty(0)
    t = np.empty(0)
    draw = int(n * 1.8)
    while len(lon) < n:
        X, secs = simulate_large(draw, seed=seed, bounds=(minx, miny, maxx, maxy), with_time=True)
        x, y = to_ll.transform(X[:, 0], X[:, 1])
        keep = shapely.contains_xy(poly, x, y)
        lon, lat, t = np.r_[lon, x[keep]], np.r_[lat, y[keep]], np.r_[t, secs[keep]]
        seed += 1
    lon, lat, t = lon[:n], lat[:n], t[:n]
    rng = np.random.default_rng(seed)
    cats = np.asarray(CATEGORY_CODES)[rng.integers(0, len(CATEGORY_CODES), n)]
    frame = gpd.GeoDataFrame(
        {
            "incident_id": [f"b-{i:07d}" for i in range(n)],
            "category": cats,
            "occurred_at": pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(t, unit="s"),
            "time_precision": "exact",
            "source": "benchmark",
            "ward_id": ward["ward_id"].iloc[0],
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=WGS84,
    )
    return conform_incidents(frame)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "WARD_GEO_DATA_DIR": str(data_dir), "WARD_GEO_LOG_LEVEL": "warning"}
    exe = Path(sys.executable).parent / "ward-geo"
    log = open(data_dir / "server.log", "ab")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    _wait_until_up(proc, f"{url}/readyz", 120, "server did not start; see " + str(data_dir / "server.log"))
    return proc, url


def _wait_until_up(proc: subprocess.Popen, probe: str, timeout: float, failure: str) -> None:
    """Poll ``probe`` until it answers 200; kill ``proc`` and raise ``failure`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(probe, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(failure)


def _fresh_get(url: str, key: str, params: dict | None = None) -> httpx.Response:
    """GET until the answer reflects the current data (the service serves stale while computing)."""
    deadline = time.monotonic() + 600
    while True:
        r = httpx.get(url, params=params, headers={"X-API-Key": key}, timeout=300)
        r.raise_for_status()
        if r.headers.get("x-data-freshness", "fresh") == "fresh" or time.monotonic() > deadline:
            return r
        time.sleep(0.02)


def bare_app(body: bytes) -> object:
    """A FastAPI app that answers the hotspot path with ``body`` from memory (the baseline)."""
    from fastapi import FastAPI
    from fastapi.responses import Response

    app = FastAPI()

    @app.get("/wards/{ward_id}/hotspots")
    async def hotspots(ward_id: str) -> Response:
        return Response(body, media_type="application/geo+json")

    return app


def start_bare_server(body_file: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--bare", str(port), str(body_file)])
    url = f"http://127.0.0.1:{port}"
    _wait_until_up(proc, f"{url}/wards/{WARD}/hotspots", 60, "bare server did not start")
    return proc, url


def _ingest_loop(base: str, admin: str, ward_id: str, stop: threading.Event) -> list[threading.Thread]:
    """Post one incident a second into ``ward_id`` until ``stop``."""
    from ward_geo.io.writers import geojson_dumps

    wards = load_wards()
    point = wards.loc[wards["ward_id"] == ward_id].geometry.iloc[0].representative_point()

    def run() -> None:
        n = 0
        with httpx.Client(timeout=120) as client:
            while not stop.is_set():
                n += 1
                t0 = time.monotonic()
                body = {"type": "FeatureCollection", "features": [{
                    "type": "Feature", "geometry": {"type": "Point", "coordinates": [point.x, point.y]},
                    "properties": {"incident_id": f"tick-{ward_id}-{time.time_ns()}", "category": "theft",
                                   "occurred_at": "2025-11-01T08:00:00Z"},
                }]}
                client.post(f"{base}/incidents", content=geojson_dumps(body),
                            headers={"X-API-Key": admin, "content-type": "application/geo+json"})
                stop.wait(max(0.0, 1.0 - (time.monotonic() - t0)))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return [thread]


def _pagers(base: str, analyst: str, stop: threading.Event, n: int = 2) -> list[threading.Thread]:
    """``n`` readers paging 10,000 incidents (1,000 a page, following ``next``) until ``stop``."""

    def run() -> None:
        with httpx.Client(timeout=120, headers={"X-API-Key": analyst}) as client:
            while not stop.is_set():
                url: str | None = f"{base}/collections/incidents/items?limit=1000&ward_id={WARD}"
                seen = 0
                while url and seen < 10_000 and not stop.is_set():
                    page = client.get(url).json()
                    seen += page.get("numberReturned", 0)
                    url = next((link["href"] for link in page.get("links", []) if link["rel"] == "next"), None)

    threads = [threading.Thread(target=run, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    return threads


async def _python_load(url: str, headers: dict[str, str], duration: float) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=10) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                r = await client.get(url)
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors += 1

        t_start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        elapsed = time.perf_counter() - t_start
    return len(latencies) / elapsed, latencies, errors


def python_load(url: str, key: str, duration: float) -> dict[str, float]:
    rps, lat, errors = asyncio.run(_python_load(url, {"X-API-Key": key}, duration))
    arr = np.asarray(lat) * 1000
    return {"rps": rps, "p50": float(np.percentile(arr, 50)), "p99": float(np.percentile(arr, 99)), "errors": errors}


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s|m)$", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk_load(url: str, key: str, duration: float) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{int(duration)}s", "--latency", "-H", f"X-API-Key: {key}", url],
        capture_output=True, text=True, timeout=duration + 60, check=True,
    ).stdout
    if "Requests/sec" not in out:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = sum(int(g) for g in socket.groups()) if socket else 0  # wrk leaves these out of the latencies
    return {"rps": rps, "p50": p50, "p99": p99, "errors": (int(bad.group(1)) if bad else 0) + failed}


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--bare":
        import uvicorn

        app = bare_app(Path(sys.argv[3]).read_bytes())
        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_config=None, access_log=False,
                    server_header=False)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator even if wrk exists")
    default_out = Path(__file__).resolve().parent / "results" / "bench_api.md"
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()

    from ward_geo.analysis.hotspots import find_hotspots
    from ward_geo.api.keys import KeyStore
    from ward_geo.io.writers import geojson_dumps, to_geojson
    from ward_geo.store.sqlite import SQLiteStore

    tmp = Path(tempfile.mkdtemp(prefix="ward-geo-bench-"))
    proc = None
    try:
        wards = load_wards()
        ward = wards.loc[wards["ward_id"] == WARD]
        incidents = make_incidents(ward, args.incidents)
        with SQLiteStore(tmp / "ward_geo.sqlite") as store:
            store.put_boundaries(wards)
            store.ingest(incidents, source="benchmark")
        key = KeyStore(tmp / "api_keys.json").create("viewer", label="benchmark")[0]
        admin = KeyStore(tmp / "api_keys.json").create("admin", label="benchmark")[0]
        proc, base = start_server(tmp)
        url = f"{base}/wards/{WARD}/hotspots"

        # reference: the library in this process, same data
        ref_times, query_times, find_times = [], [], []
        with SQLiteStore(tmp / "ward_geo.sqlite") as store:
            from ward_geo.cluster import warm_up

            warm_up()  # as the server does at start-up: compile times are not measured
            for _ in range(args.runs):
                t0 = time.perf_counter()
                rows = store.query(ward_ids=[WARD])
                t1 = time.perf_counter()
                find_hotspots(rows, store.boundaries([WARD]))
                t2 = time.perf_counter()
                ref_times.append(t2 - t0)
                query_times.append(t1 - t0)
                find_times.append(t2 - t1)

        cold_times = []
        extra = incidents.iloc[:1].copy()
        for run in range(args.runs):
            extra["incident_id"] = f"bench-extra-{run}"
            body = geojson_dumps(to_geojson(extra))
            r = httpx.post(f"{base}/incidents", content=body, timeout=120,
                           headers={"X-API-Key": admin, "content-type": "application/geo+json"})
            r.raise_for_status()
            t0 = time.perf_counter()
            r = _fresh_get(url, key)
            cold_times.append(time.perf_counter() - t0)
        n_hotspots = len(r.json()["features"])
        chosen = r.json()["parameters"]["chosen"]
        if "eps" in chosen:  # the automatic choice was DBSCAN: give its parameters explicitly
            fixed = {"eps": round(chosen["eps"], 3), "min_samples": chosen["min_samples"]}
        else:  # another method was chosen: DBSCAN with fixed parameters
            fixed = {"method": "dbscan", "eps": 40.0, "min_samples": 10}
        fixed_times = []
        for run in range(args.runs):  # the same, with the automatic parameters given explicitly
            extra["incident_id"] = f"bench-fixed-{run}"
            r = httpx.post(f"{base}/incidents", content=geojson_dumps(to_geojson(extra)), timeout=120,
                           headers={"X-API-Key": admin, "content-type": "application/geo+json"})
            r.raise_for_status()
            t0 = time.perf_counter()
            r = _fresh_get(url, key, fixed)
            fixed_times.append(time.perf_counter() - t0)

        # the explicit-parameter runs added data: compute the measured answer once more, so the
        # load runs below all hit the cache
        served = _fresh_get(url, key)
        analyst = KeyStore(tmp / "api_keys.json").create("analyst", label="benchmark pager")[0]
        (tmp / "bare_body.json").write_bytes(served.content)
        bare_proc, bare_base = start_bare_server(tmp / "bare_body.json")
        rows = []
        if shutil.which("wrk") and not args.python_load:
            name, fn = "wrk", wrk_load
        else:  # a Python client competes with the server for the same cores: a lower bound
            name, fn = "python httpx async", python_load
        scenarios = [
            ("bare FastAPI app, same bytes", f"{bare_base}/wards/{WARD}/hotspots", None),
            ("ward_geo cached, idle", url, None),
            ("ward_geo cached, 1 ingest/s into another ward", url, lambda stop: _ingest_loop(base, admin, OTHER, stop)),
            ("ward_geo cached, 1 ingest/s into the same ward", url, lambda stop: _ingest_loop(base, admin, WARD, stop)),
            ("ward_geo cached, two pagers of 10,000 incidents", url, lambda stop: _pagers(base, analyst, stop)),
        ]
        results: dict[str, dict[str, float]] = {}
        try:
            for label, target, background in scenarios:
                fn(target, key, 2)  # warm the connections and the cache
                runs = []
                for _ in range(args.runs):
                    if label.endswith("same ward"):
                        _fresh_get(url, key)  # each run starts from a current answer
                    stop = threading.Event()
                    workers = background(stop) if background else []
                    try:
                        runs.append(fn(target, key, args.duration))
                    finally:
                        stop.set()
                        for worker in workers:
                            worker.join(120)
                med = {m: statistics.median(r[m] for r in runs) for m in ("rps", "p50", "p99")}
                med["errors"] = sum(r["errors"] for r in runs)
                med["spread"] = f"{min(r['rps'] for r in runs):,.0f}–{max(r['rps'] for r in runs):,.0f}"
                results[label] = med
        finally:
            bare_proc.send_signal(signal.SIGTERM)
            bare_proc.wait(15)
        bare = results["bare FastAPI app, same bytes"]["rps"]
        idle = results["ward_geo cached, idle"]["rps"]
        for label, med in results.items():
            rows.append((f"{name}: {label}", med["rps"], med["p50"], med["p99"], med["errors"], med["spread"],
                         med["rps"] / bare, med["rps"] / idle))
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)

    cold = statistics.median(cold_times)
    ref = statistics.median(ref_times)
    lines = [
        "# ward_geo service benchmark",
        "",
        f"Loopback, {os.cpu_count()} cores shared, one `ward-geo serve` process (uvicorn), "
        f"{args.incidents:,} incidents in {WARD} ({n_hotspots} hotspots), {CONNECTIONS} connections, "
        f"median of {args.runs} runs of {args.duration:g} s; load average {os.getloadavg()[0]:.1f} at the end "
        "(the cores are shared with other jobs, so latency tails are noisy).",
        "",
        "## Cached GET /wards/{id}/hotspots side by side (targets: >= 0.5x bare, p99 <= 50 ms, "
        ">= 0.8x idle under one ingest a second)",
        "",
        "Viewer key (aggregate view). The bare app is FastAPI on the same uvicorn returning the same bytes "
        "from memory; the ingests post one incident a second; each pager reads 10,000 incidents in pages of "
        "1,000 over and over (analyst key, keyset cursor).",
        "",
        "| scenario | req/s (median) | req/s min–max | p50 ms | p99 ms | ratio vs bare | ratio vs idle "
        "| failed (non-200, socket errors, timeouts) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, rps, p50, p99, errors, spread, vs_bare, vs_idle in rows:
        lines.append(f"| {name} | {rps:,.0f} | {spread} | {p50:.1f} | {p99:.1f} | {vs_bare:.2f} | {vs_idle:.2f} "
                     f"| {errors} |")
    lines += [
        "",
        "## Cold hotspot computation (target: <= 2 s)",
        "",
        "| measurement | seconds (median) | ratio vs 2 s target | ratio vs in-process library call |",
        "|---|---:|---:|---:|",
        f"| service, first request after new data | {cold:.2f} | {cold / 2:.2f} | {cold / ref:.2f} |",
        f"| service, {fixed.get('method', 'same method')}, eps={fixed['eps']:g} m, "
        f"min_samples={fixed['min_samples']} given (no automatic parameter search) | {statistics.median(fixed_times):.2f} | "
        f"{statistics.median(fixed_times) / 2:.2f} | {statistics.median(fixed_times) / ref:.2f} |",
        f"| reference: store.query + find_hotspots in process | {ref:.2f} | {ref / 2:.2f} | 1.00 |",
        f"| of which store.query ({args.incidents:,} rows) | {statistics.median(query_times):.2f} | "
        f"{statistics.median(query_times) / 2:.2f} | {statistics.median(query_times) / ref:.2f} |",
        f"| of which find_hotspots (dbscan, automatic parameters) | {statistics.median(find_times):.2f} | "
        f"{statistics.median(find_times) / 2:.2f} | {statistics.median(find_times) / ref:.2f} |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
