"""Maps in a real headless Chromium with every network request blocked.

Debian's ``chromium`` (``apt-get install chromium``; ``make test-deps`` installs it) is driven
by Playwright. Each page is opened from a file:// URL; any request that is not file:, data:
or blob: is aborted and counted. The tests assert zero such requests, zero failed requests,
zero console errors, the expected layers, a non-blank screenshot and that XSS payloads in
descriptions only ever show as text.
"""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from ward_geo.maps import city_map, save_map, ward_map

from ._maps_data import XSS_PAYLOADS, points_in_wards

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


@dataclass
class Opened:
    page: object
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.blocked == [], self.blocked
        assert self.failed == [], self.failed
        assert self.errors == [], self.errors
        assert all(url.startswith(LOCAL_SCHEMES) for url in self.requests), self.requests


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium not found at /usr/bin/chromium: run `make test-deps` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 860}, service_workers="block",
        )
        try:
            yield ctx
        finally:
            ctx.close()


def open_map(context, path: Path, *, ready: str = "window.wg_state !== undefined") -> Opened:
    page = context.new_page()
    opened = Opened(page)

    def route(r) -> None:
        url = r.request.url
        if url.startswith(LOCAL_SCHEMES):
            r.continue_()
        else:
            opened.blocked.append(url)
            r.abort()

    page.route("**/*", route)
    page.on("request", lambda req: opened.requests.append(req.url))
    page.on("requestfailed", lambda req: opened.failed.append(req.url))
    page.on("console", lambda msg: opened.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: opened.errors.append(str(exc)))
    page.goto(path.as_uri())
    page.wait_for_function(ready, timeout=30_000)
    page.wait_for_timeout(300)
    return opened


def screenshot_variance(png: bytes) -> tuple[float, int]:
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    arr = np.asarray(img, dtype=np.float64)
    colours = len(np.unique(arr.reshape(-1, 3), axis=0))
    return float(arr.std()), colours


@pytest.fixture(scope="module")
def ward_file(incidents, boundaries, streets, hotspots, tmp_path_factory) -> Path:
    plan = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"kind": "route", "unit": 1},
             "geometry": {"type": "LineString", "coordinates": [[105.8505, 21.0285], [105.852, 21.030], [105.854, 21.029]]}},
            {"type": "Feature", "properties": {"kind": "stop", "unit": 1, "sequence": 1,
                                               "arrival": "2026-01-05T08:10:00+07:00", "dwell_minutes": 15.0,
                                               "reason": "<img src=x onerror=\"window.__xss=20\">"},
             "geometry": {"type": "Point", "coordinates": [105.852, 21.030]}},
        ],
    }
    path = tmp_path_factory.mktemp("maps") / "hoan-kiem.html"
    save_map(ward_map(incidents, boundaries, "phuong-hoan-kiem", hotspots=hotspots, streets=streets, patrol=plan), path)
    return path


@pytest.fixture(scope="module")
def ward_page(context, ward_file) -> Iterator[Opened]:
    opened = open_map(context, ward_file)
    yield opened
    opened.page.close()


def test_ward_map_loads_offline_without_errors(ward_page: Opened, incidents) -> None:
    ward_page.assert_clean()
    page = ward_page.page
    n_cats = incidents.loc[incidents["ward_id"] == "phuong-hoan-kiem", "category"].nunique()
    overlays = page.locator(".leaflet-control-layers-overlays label").count()
    # streets, ward boundaries, one per category, heatmap, hotspots, patrol plan
    assert overlays == 2 + n_cats + 3
    assert page.locator(".leaflet-control-layers-base label").count() == 0  # no tile layer offline
    assert page.locator(".leaflet-tile").count() == 0
    assert page.locator(".leaflet-control-scale").count() == 1
    assert page.locator(".leaflet-control-zoom-fullscreen").count() == 1
    assert page.locator(".wg-legend").count() == 1 and page.locator(".wg-time").count() == 1
    assert "© OpenStreetMap contributors" in page.locator(".leaflet-control-attribution").inner_text()
    assert page.locator(".wg-cluster, .wg-dot").count() > 0
    assert page.locator(".wg-ward-label").count() >= 1
    assert page.locator(".leaflet-overlay-pane path").count() > 0  # boundaries and hotspot polygons
    assert page.locator("canvas").count() >= 1  # the street network
    n_ward = int((incidents["ward_id"] == "phuong-hoan-kiem").sum())
    assert page.evaluate("wg_state.shown") == n_ward


def test_screenshot_is_not_blank(ward_page: Opened) -> None:
    std, colours = screenshot_variance(ward_page.page.screenshot())
    assert std > 10 and colours > 100, (std, colours)


def test_xss_payloads_show_as_text_and_never_run(ward_page: Opened) -> None:
    page = ward_page.page
    # Bring each incident that carries a payload into view and click it (through the cluster
    # group's click handler, as a user's click does), then read the popup's text.
    texts = page.evaluate(
        """async (n) => {
            const out = [];
            const markers = wg_state.cluster.getLayers();
            for (let i = 0; i < n; i++) {
                const m = markers.find((x) => x.options.wgIndex === i);
                await new Promise((resolve) => wg_state.cluster.zoomToShowLayer(m, resolve));
                m.fire('click', {latlng: m.getLatLng()}, true);
                const content = m.getPopup().getElement().querySelector('.wg-desc');
                out.push(content ? content.textContent : null);
                wg_state.map.closePopup();
            }
            return out;
        }""",
        len(XSS_PAYLOADS),
    )
    # One real mouse click on a payload marker as well.
    box = page.evaluate(
        """async () => {
            const m = wg_state.cluster.getLayers().find((x) => x.options.wgIndex === 0);
            await new Promise((resolve) => wg_state.cluster.zoomToShowLayer(m, resolve));
            const r = m._icon.getBoundingClientRect();
            return {x: r.x + r.width / 2, y: r.y + r.height / 2};
        }"""
    )
    page.mouse.click(box["x"], box["y"])
    page.wait_for_timeout(500)
    assert texts == list(XSS_PAYLOADS)
    assert page.locator(".leaflet-popup-content .wg-desc").count() == 1
    assert page.locator(".leaflet-popup-content .wg-desc").inner_text() == XSS_PAYLOADS[0]
    assert page.locator(".leaflet-popup-content img, .leaflet-popup-content script, .leaflet-popup-content svg").count() == 0
    # The patrol stop's reason is a payload too.
    reason = page.evaluate(
        """() => {
            let text = null;
            VAR.eachLayer((l) => { if (l instanceof L.Marker) { l.openPopup(); text = l.getPopup().getElement().innerText; } });
            return text;
        }""".replace("VAR", _layer_var(page, "Kế hoạch tuần tra"))
    )
    assert '<img src=x onerror="window.__xss=20">' in reason
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None
    ward_page.assert_clean()


def test_hotspot_popup_has_chart_and_details(ward_page: Opened) -> None:
    page = ward_page.page
    html = page.evaluate(
        """() => {
            let found = null;
            map_layers_hotspots.eachLayer((l) => { if (!found) found = l; });
            found.openPopup();
            return found.getPopup().getElement().innerText;
        }""".replace("map_layers_hotspots", _layer_var(page, "Điểm nóng"))
    )
    for text in ("Điểm nóng #", "Giờ cao điểm", "Lần đầu", "Lần cuối", "Xu hướng", "Độ chính xác", "Theo loại"):
        assert text in html
    assert page.locator(".leaflet-popup-content .wg-bars div").count() == 24
    ward_page.assert_clean()


def _layer_var(page, label: str) -> str:
    """The JS variable of the overlay named ``label`` in the layer control."""
    name = page.evaluate(
        """(label) => {
            for (const [key, value] of Object.entries(window)) {
                if (key.startsWith('layer_control_') && key.endsWith('_layers') && value.overlays[label]) {
                    for (const [k2, v2] of Object.entries(window)) { if (v2 === value.overlays[label]) return k2; }
                }
            }
            return null;
        }""",
        label,
    )
    assert name, label
    return name


def test_time_slider_and_category_toggle_filter_incidents(ward_page: Opened, incidents) -> None:
    page = ward_page.page
    ward = incidents[incidents["ward_id"] == "phuong-hoan-kiem"]
    local = ward["occurred_at"].dt.tz_convert("Asia/Ho_Chi_Minh")
    march = int(((local.dt.month == 3) & (local.dt.year == 2025)).sum())
    months = page.evaluate("wg_state.data.months")
    k = months.index("Tháng 03/2025")
    page.evaluate(f"wg_time.select('month', {k})")
    assert page.evaluate("wg_state.shown") == march
    assert page.locator(".wg-time-label").inner_text() == "Tháng 03/2025"
    page.evaluate("wg_time.select('week', 0)")
    assert 0 < page.evaluate("wg_state.shown") < march * 2
    page.evaluate("wg_time.select('month', -1)")
    assert page.evaluate("wg_state.shown") == len(ward)
    # Untick the first category in the layer control: its incidents leave the clusters.
    first = page.evaluate("wg_state.data.cats[0]")
    page.locator(".leaflet-control-layers").hover()
    page.locator(".leaflet-control-layers-overlays label", has_text=first["label"]).locator("input").click()
    page.wait_for_timeout(300)
    assert page.evaluate("wg_state.shown") == len(ward) - first["n"]
    heat = _layer_var(page, "Bản đồ nhiệt")
    assert page.evaluate(f"{heat}._latlngs.length") == len(ward) - first["n"]  # the heatmap follows
    page.locator(".leaflet-control-layers-overlays label", has_text=first["label"]).locator("input").click()
    page.wait_for_timeout(300)
    assert page.evaluate("wg_state.shown") == len(ward)
    ward_page.assert_clean()


def test_heatmap_and_replay_run(ward_page: Opened) -> None:
    page = ward_page.page
    page.locator(".leaflet-control-layers").hover()
    page.locator(".leaflet-control-layers-overlays label", has_text="Bản đồ nhiệt").locator("input").click()
    page.wait_for_timeout(300)
    page.mouse.move(5, 400)
    assert page.locator("canvas.leaflet-heatmap-layer").count() == 1
    page.locator(".wg-play").click()
    page.wait_for_timeout(1800)
    assert page.locator(".wg-time-label").inner_text() != "Tất cả"
    page.locator(".wg-play").click()
    ward_page.assert_clean()


def test_ward_and_category_names_from_files_stay_text(context, incidents, boundaries, tmp_path: Path) -> None:
    evil_name = "<img src=x onerror=\"window.__xss=30\">Hoàn Kiếm {{ 7*7 }}"
    evil_cat = "<script>window.__xss=31</script>"
    wards = boundaries.copy()
    wards.loc[wards["ward_id"] == "phuong-hoan-kiem", "name"] = evil_name
    odd = incidents[incidents["ward_id"] == "phuong-hoan-kiem"].head(40).copy()
    odd.loc[odd.index[:10], "category"] = evil_cat
    path = save_map(ward_map(odd, wards, "phuong-hoan-kiem"), tmp_path / "evil.html")
    opened = open_map(context, path)
    try:
        page = opened.page
        page.wait_for_timeout(300)
        opened.assert_clean()
        labels = page.locator(".wg-ward-label").all_inner_texts()
        assert evil_name in labels
        assert page.locator(".leaflet-control-layers-overlays label", has_text=evil_cat).count() == 1
        assert page.title() == evil_name
        assert page.evaluate("window.__xss") is None
    finally:
        opened.page.close()


def test_city_map_in_english(context, incidents, boundaries, streets, tmp_path: Path) -> None:
    path = save_map(city_map(incidents, boundaries, streets=streets, lang="en"), tmp_path / "city.html")
    opened = open_map(context, path)
    try:
        opened.assert_clean()
        page = opened.page
        assert page.locator(".leaflet-control-layers-overlays label", has_text="Incident density by ward").count() == 1
        assert page.evaluate("wg_state.shown") == len(incidents)
        std, colours = screenshot_variance(page.screenshot())
        assert std > 10 and colours > 100
    finally:
        opened.page.close()


@pytest.mark.slow
def test_50k_incidents_interactive_within_seconds(context, boundaries, tmp_path: Path) -> None:
    big = points_in_wards(boundaries, ("phuong-hoan-kiem", "phuong-cua-nam", "phuong-ba-dinh", "phuong-hai-ba-trung"),
                          50_000, seed=11)
    path = save_map(city_map(big, boundaries), tmp_path / "big.html")
    assert path.stat().st_size < 15_000_000
    t0 = time.perf_counter()
    opened = open_map(context, path, ready="window.wg_state !== undefined && wg_state.shown === 50000")
    elapsed = time.perf_counter() - t0
    try:
        opened.assert_clean()
        # "A few seconds" on an idle desktop; generous here because CI shares two cores.
        assert elapsed < 20, elapsed
        page = opened.page
        t1 = time.perf_counter()
        page.evaluate("wg_time.select('month', 5)")
        assert page.evaluate("wg_state.shown") < 50_000
        page.evaluate("wg_time.select('month', -1)")
        assert time.perf_counter() - t1 < 10
        page.mouse.wheel(0, -400)
        page.wait_for_timeout(500)
        opened.assert_clean()
    finally:
        opened.page.close()


def test_chromium_is_the_system_build() -> None:
    assert shutil.which("chromium") == str(CHROMIUM)
