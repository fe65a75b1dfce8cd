"""Render the README screenshot ``docs/ward_map.png``: the offline map of Phường Hoàn Kiếm.

    .venv/bin/python docs/make_ward_map_png.py [--out docs/ward_map.png] [--ward phuong-hoan-kiem]

A simulated year of incidents in the central wards (:func:`ward_geo.synth.simulate` on the
real street network), city-wide DBSCAN hotspots with their trend class, a two-unit patrol
plan, all drawn by :func:`ward_geo.maps.ward_map` and photographed in headless Chromium
(/usr/bin/chromium) with every network request blocked.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from ward_geo.analysis.hotspots import find_hotspots
from ward_geo.analysis.trends import classify_trends
from ward_geo.io.readers import read_boundaries
from ward_geo.maps import save_map, ward_map
from ward_geo.planning import plan_patrol
from ward_geo.settings import get_settings
from ward_geo.streets import load_street_graph, street_edges
from ward_geo.synth import simulate

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "ward_map.png")
    parser.add_argument("--ward", default="phuong-hoan-kiem")
    parser.add_argument("--lang", default="vi")
    args = parser.parse_args(argv)

    boundaries = read_boundaries(get_settings().reference_file("boundaries", "hanoi_wards_2025.geojson"))
    graph = load_street_graph(cache=False)
    incidents = simulate(boundaries, graph=graph, seed=0)
    hotspots = classify_trends(find_hotspots(incidents, boundaries), incidents, boundaries)
    plan = plan_patrol(incidents, boundaries, args.ward, units=2, graph=graph, time_limit_s=3, seed=0)
    m = ward_map(incidents, boundaries, args.ward, hotspots=hotspots, streets=street_edges(graph),
                 patrol=plan.to_geojson(), lang=args.lang)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        html = save_map(m, Path(tmp) / "map.html")
        ctx = pw.chromium.launch_persistent_context(
            str(Path(tmp) / "profile"), executable_path="/usr/bin/chromium", headless=True, args=ARGS,
            viewport={"width": 1280, "height": 860},
        )
        page = ctx.new_page()
        blocked: list[str] = []
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:"))
                   else (blocked.append(r.request.url), r.abort()))
        page.goto(html.as_uri())
        page.wait_for_function("window.wg_state !== undefined && wg_state.shown > 0")
        page.wait_for_timeout(1000)
        if blocked:
            raise SystemExit(f"the offline map made network requests: {blocked[:3]}")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out))
        ctx.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
