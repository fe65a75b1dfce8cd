"""Map benchmark: render time and file size of a 50k-incident offline map.

    .venv/bin/python benchmarks/bench_maps.py [--n 50000] [--runs 5] [--browser-runs 3]
        [--markdown PATH]

Incidents come from :func:`ward_geo.synth.simulate` over the seven central Hanoi wards on the
real street network (scaled up to ``--n`` rows, not timed); hotspots from
:func:`ward_geo.analysis.hotspots.find_hotspots` (not timed). Timed, median of ``--runs``:

* ``ward_geo city_map`` (offline: assets inlined, street basemap, clusters, heatmap,
  hotspots, time slider) built and written with :func:`ward_geo.maps.save_map`;
* ``ward_geo ward_map`` of Phường Ba Đình (its share of the incidents), same options;
* the reference: plain folium with ``plugins.FastMarkerCluster`` + ``plugins.HeatMap`` on the
  same points (folium's defaults: CDN scripts, online tiles, no popups, no slider).

The ratio column is time / the reference's time. With Chromium at /usr/bin/chromium the
offline city map is also opened ``--browser-runs`` times with all network blocked and the
time until every incident is in the cluster layer is reported. The issue's size target is
15 MB. The machine is shared: compare rows from the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import folium
from folium import plugins

from ward_geo.analysis.hotspots import find_hotspots
from ward_geo.io.readers import read_boundaries
from ward_geo.maps import city_map, save_map, ward_map
from ward_geo.maps.assets import fetch_assets
from ward_geo.settings import get_settings
from ward_geo.streets import load_street_graph, street_edges
from ward_geo.synth import simulate

SIZE_TARGET_MB = 15.0


def _timed(fn, runs: int) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        size = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), size


def _reference(incidents, path: Path) -> int:
    lat = incidents.geometry.y.to_numpy()
    lon = incidents.geometry.x.to_numpy()
    m = folium.Map(location=[float(lat.mean()), float(lon.mean())], zoom_start=14)
    points = [[float(a), float(b)] for a, b in zip(lat, lon, strict=True)]
    plugins.FastMarkerCluster(points, name="incidents").add_to(m)
    plugins.HeatMap(points, name="heatmap", show=False).add_to(m)
    folium.LayerControl().add_to(m)
    m.save(str(path))
    return path.stat().st_size


def _browser_seconds(path: Path, n: int, runs: int) -> list[float]:
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists() or runs <= 0:
        return []
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=str(chromium), headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            viewport={"width": 1280, "height": 860},
        )
        for _ in range(runs):
            page = ctx.new_page()
            blocked: list[str] = []
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:"))
                       else (blocked.append(r.request.url), r.abort()))
            t0 = time.perf_counter()
            page.goto(path.as_uri())
            page.wait_for_function(f"window.wg_state !== undefined && wg_state.shown === {n}", timeout=120_000)
            out.append(time.perf_counter() - t0)
            if blocked:
                raise RuntimeError(f"offline map made network requests: {blocked[:3]}")
            page.close()
        ctx.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--browser-runs", type=int, default=3)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)

    settings = get_settings()
    boundaries = read_boundaries(settings.reference_file("boundaries", "hanoi_wards_2025.geojson"))
    graph = load_street_graph(cache=False)
    streets = street_edges(graph)
    base = simulate(boundaries, graph=graph, seed=0)
    scale = args.n / max(len(base), 1) * 1.05
    incidents = simulate(boundaries, graph=graph, seed=0, scale=scale) if scale > 1 else base
    incidents = incidents.sample(n=min(args.n, len(incidents)), random_state=0).sort_values("occurred_at")
    hotspots = find_hotspots(incidents, boundaries)
    fetch_assets()
    n_ward = int((incidents["ward_id"] == "phuong-ba-dinh").sum())

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        city_path = out / "city.html"

        def run_city() -> int:
            save_map(city_map(incidents, boundaries, hotspots=hotspots, streets=streets), city_path)
            return city_path.stat().st_size

        def run_ward() -> int:
            path = out / "ward.html"
            save_map(ward_map(incidents, boundaries, "phuong-ba-dinh", hotspots=hotspots, streets=streets), path)
            return path.stat().st_size

        ref_t, ref_size = _timed(lambda: _reference(incidents, out / "reference.html"), args.runs)
        city_t, city_size = _timed(run_city, args.runs)
        ward_t, ward_size = _timed(run_ward, args.runs)
        browser = _browser_seconds(city_path, len(incidents), args.browser_runs)

    rows.append(("ward_geo city_map, offline", len(incidents), city_t, city_size, city_t / ref_t))
    rows.append(("ward_geo ward_map (Ba Đình), offline", n_ward, ward_t, ward_size, ward_t / ref_t))
    rows.append(("reference: folium FastMarkerCluster + HeatMap (CDN)", len(incidents), ref_t, ref_size, 1.0))

    lines = [
        f"# Map benchmark ({len(incidents):,} simulated incidents, {len(hotspots)} hotspots, median of {args.runs} runs)",
        "",
        "| map | incidents | render + write (s) | file size (MB) | time ratio vs reference |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, n, t, size, ratio in rows:
        lines.append(f"| {name} | {n:,} | {t:.2f} | {size / 1e6:.2f} | {ratio:.2f} |")
    lines.append("")
    lines.append(f"Size target: < {SIZE_TARGET_MB:.0f} MB for the 50k offline map: "
                 f"{'met' if city_size / 1e6 < SIZE_TARGET_MB else 'NOT met'} ({city_size / 1e6:.2f} MB, "
                 "Leaflet and plugins inlined; the reference loads them from CDNs and is not self-contained).")
    if browser:
        lines.append(f"Chromium (headless, network blocked), open until all {len(incidents):,} incidents are clustered: "
                     f"median {statistics.median(browser):.2f} s over {len(browser)} loads "
                     f"({', '.join(f'{b:.2f}' for b in browser)}).")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
