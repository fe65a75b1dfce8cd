"""Map HTML built from the real Hanoi wards and streets: layers, labels, escaping, offline."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import geopandas as gpd
import pytest

from ward_geo.categories import CATEGORIES
from ward_geo.errors import InputError, NotFoundError, ParameterError
from ward_geo.maps import city_map, render_map_html, save_map, ward_map
from ward_geo.maps.builder import PRIORITY_COLOURS
from ward_geo.maps.escaping import escape_html, script_json

from ._maps_data import XSS_PAYLOADS, points_in_wards

STAMP = datetime(2026, 1, 5, 9, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))

# Any way a page could make the browser fetch something over the network.
NETWORK_PATTERNS = (
    r"<script[^>]*\ssrc\s*=",
    r"<link[^>]*\shref\s*=\s*['\"]?\s*(?:https?:)?//",
    r"<img[^>]*\ssrc\s*=\s*['\"]?\s*(?:https?:)?//",
    r"<iframe",
    r"url\(\s*['\"]?\s*(?:https?:)?//",
    r"@import",
    r"tileLayer\(",
    r"\{z\}/\{x\}/\{y\}",
)


def _network_refs(html: str) -> list[str]:
    return [m.group(0) for p in NETWORK_PATTERNS for m in re.finditer(p, html, re.I)]


def _state(html: str) -> dict:
    """The incident data embedded in the page."""
    data = re.search(r"var wg_state = WardGeo\.incidents\((\{.*?\})\);", html, re.S)
    assert data is not None
    return json.loads(data.group(1))


def _plan_geojson() -> dict:
    """A patrol plan in the planner's GeoJSON form (routes, stops, station)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"kind": "route", "unit": 1},
             "geometry": {"type": "LineString", "coordinates": [[105.850, 21.028], [105.852, 21.030], [105.854, 21.029]]}},
            {"type": "Feature", "properties": {"kind": "stop", "unit": 1, "sequence": 1, "arrival": "2026-01-05T08:10:00+07:00",
                                               "departure": "2026-01-05T08:25:00+07:00", "dwell_minutes": 15.0,
                                               "hotspot_id": "hs-1", "reason": "<b>drugs</b> night peak"},
             "geometry": {"type": "Point", "coordinates": [105.852, 21.030]}},
            {"type": "Feature", "properties": {"kind": "station", "unit": 1},
             "geometry": {"type": "Point", "coordinates": [105.850, 21.028]}},
        ],
    }


@pytest.fixture(scope="module")
def trended_hotspots(hotspots: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The hotspots as evaluation leaves them: a trend class on each."""
    out = hotspots.copy()
    classes = ["new", None, "intensifying", "persistent", "diminishing", "historical"]
    in_ward = out["ward_ids"].map(lambda ids: "phuong-hoan-kiem" in list(ids)).to_numpy()
    assert in_ward.sum() >= 2, "the test incidents should give Hoàn Kiếm at least two hotspots"
    trends, k = [], 0
    for inside in in_ward:
        trends.append(classes[k % len(classes)] if inside else "persistent")
        k += int(inside)
    out["trend"] = trends
    return out


@pytest.fixture(scope="module")
def ward_html(incidents, boundaries, streets, trended_hotspots) -> str:
    m = ward_map(incidents, boundaries, "phuong-hoan-kiem", hotspots=trended_hotspots, streets=streets,
                 patrol=_plan_geojson(), generated_at=STAMP)
    return render_map_html(m)


def test_offline_ward_map_makes_no_network_reference(ward_html: str) -> None:
    assert _network_refs(ward_html) == []
    assert "cdn." not in ward_html.lower()
    # The whole runtime is inline: Leaflet, the plugins and ward_geo's own code.
    for marker in ('data-asset="leaflet@1.9.4/dist/leaflet.js"', 'data-asset="leaflet.markercluster@1.5.3',
                   'data-asset="leaflet.heat@0.2.0', 'data-asset="leaflet.fullscreen@3.0.2', 'data-asset="ward_geo"'):
        assert marker in ward_html
    # Folium's CDN defaults (jQuery, Bootstrap, Font Awesome, awesome-markers) are not used at all.
    for unused in ("jquery", "bootstrap", "font-awesome", "fontawesome", "awesome-markers"):
        assert unused not in ward_html.lower()


def test_every_data_string_is_escaped(ward_html: str) -> None:
    for payload in XSS_PAYLOADS:
        if any(ch in payload for ch in "<>`'\"&"):
            assert payload not in ward_html, payload
        # The text is still on the page, escaped for HTML and then for the script's JSON.
        assert script_json(escape_html(payload))[1:-1] in ward_html
    assert ward_html.count("<script") == ward_html.count("</script>")
    # Template syntax in data stays literal text (folium re-templates element text; ours is not).
    assert "49 x" not in ward_html and "7*7" in ward_html


def test_ward_map_layers_and_labels(ward_html: str, incidents) -> None:
    assert "WardGeo.streets(" in ward_html and "WardGeo.boundaries(" in ward_html
    assert "WardGeo.heatLayer(" in ward_html and "WardGeo.hotspots(" in ward_html and "WardGeo.patrol(" in ward_html
    assert "WardGeo.timeSlider(" in ward_html and "L.control.scale()" in ward_html
    assert "L.control.fullscreen(" in ward_html and "L.control.layers(" in ward_html
    in_ward = incidents[incidents["ward_id"] == "phuong-hoan-kiem"]
    for code in in_ward["category"].unique():
        assert CATEGORIES[code].label_vi in ward_html  # Vietnamese by default
    assert ward_html.count("WardGeo.categoryLayer(") == in_ward["category"].nunique()
    assert "© OpenStreetMap contributors" in ward_html
    assert "Phường Hoàn Kiếm" in ward_html
    # Date range, generated-at stamp and monthly periods of 2025.
    assert "2025-01-01" in ward_html and "2025-12-31" in ward_html and "2026-01-05 09:30" in ward_html
    assert all(f"Tháng {m:02d}/2025" in ward_html for m in range(1, 13))


def test_hotspot_popups_and_trend_styles(ward_html: str, trended_hotspots) -> None:
    for text in ("Giờ cao điểm", "wg-bars", "Lần đầu", "Lần cuối", "Xu hướng", "Độ chính xác", "Hạng"):
        assert text in ward_html
    assert '"dashArray":"8 6"' in ward_html  # new hotspots are dashed
    in_ward = trended_hotspots[trended_hotspots["ward_ids"].map(lambda ids: "phuong-hoan-kiem" in list(ids))]
    for priority in in_ward["priority"].unique():
        assert f'"color":"{PRIORITY_COLOURS[priority]}"' in ward_html  # coloured by priority
    assert "chưa đánh giá" in ward_html  # a hotspot without trend says so


def test_patrol_layer_escapes_and_shows_times(ward_html: str) -> None:
    assert "08:10 – 08:25" in ward_html and "15.0 phút" in ward_html
    assert "<b>drugs</b>" not in ward_html
    assert script_json(escape_html("<b>drugs</b> night peak"))[1:-1] in ward_html


def test_english_labels(incidents, boundaries) -> None:
    html = render_map_html(ward_map(incidents, boundaries, "phuong-cua-nam", lang="en", generated_at=STAMP))
    assert "Cua Nam Ward" in html or "Cửa Nam" in html
    codes = incidents.loc[incidents["ward_id"] == "phuong-cua-nam", "category"].unique()
    labels = {c["code"]: c["label"] for c in _state(html)["cats"]}
    assert labels == {code: escape_html(CATEGORIES[code].label_en) for code in codes}
    assert json.dumps("Heatmap") in html and "2025-03" in html


def test_ward_and_category_names_from_files_are_escaped(incidents, boundaries) -> None:
    evil = boundaries.copy()
    mask = evil["ward_id"] == "phuong-hoan-kiem"
    evil.loc[mask, "name"] = "<img src=x onerror=\"window.__xss=9\">Hoàn Kiếm"
    odd = incidents.head(50).copy()
    odd["category"] = "<script>window.__xss=10</script>"
    html = render_map_html(ward_map(odd, evil, "phuong-hoan-kiem"))
    assert "<img src=x" not in html and "<script>window.__xss=10" not in html
    assert script_json(escape_html("<script>window.__xss=10</script>"))[1:-1] in html


def test_city_map_draws_every_ward(incidents, boundaries, streets) -> None:
    html = render_map_html(city_map(incidents, boundaries, streets=streets, generated_at=STAMP))
    assert _network_refs(html) == []
    for name in boundaries["name"]:
        assert script_json(escape_html(name))[1:-1] in html
    # Layer-control names are JSON strings (non-ASCII as \\u escapes) in folium's control.
    assert json.dumps("Mật độ sự việc theo phường") in html and "Toàn thành phố" in html


def test_online_and_tile_server_modes(incidents, boundaries, monkeypatch: pytest.MonkeyPatch) -> None:
    online = render_map_html(ward_map(incidents, boundaries, "phuong-ba-dinh", offline=False))
    assert "tile.openstreetmap.org/{z}/{x}/{y}.png" in online
    local = "http://tiles.intranet.local/{z}/{x}/{y}.png"
    monkeypatch.setenv("WARD_GEO_TILE_URL", local)
    from ward_geo import settings

    settings.reset_settings()
    m = ward_map(incidents, boundaries, "phuong-ba-dinh")
    html = render_map_html(m)
    assert local in html and "openstreetmap.org/{z}" not in html
    assert m.ward_geo_offline is False


def test_bad_input_errors(incidents, boundaries, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="phuong-khong-co"):
        ward_map(incidents, boundaries, "phuong-khong-co")
    with pytest.raises(ParameterError, match="lang"):
        ward_map(incidents, boundaries, "phuong-ba-dinh", lang="fr")
    no_crs = incidents.head(5).set_crs(None, allow_override=True)
    with pytest.raises(InputError, match="CRS"):
        ward_map(no_crs, boundaries, "phuong-ba-dinh")
    with pytest.raises(InputError, match="patrol"):
        ward_map(incidents, boundaries, "phuong-ba-dinh", patrol={"type": "Feature"})
    m = ward_map(incidents.head(10), boundaries, "phuong-ba-dinh")
    with pytest.raises(ParameterError, match=".html"):
        save_map(m, tmp_path / "map.txt")


def test_ward_name_resolves_like_the_id(incidents, boundaries) -> None:
    html = render_map_html(ward_map(incidents, boundaries, "Phường Ba Đình"))
    assert "Phường Ba Đình" in html


def test_empty_incidents_still_render(boundaries) -> None:
    html = render_map_html(ward_map(None, boundaries, "phuong-hoan-kiem"))
    assert "WardGeo.boundaries(" in html and "WardGeo.heatLayer(" not in html


def test_save_map_writes_one_file(incidents, boundaries, tmp_path: Path) -> None:
    path = save_map(ward_map(incidents, boundaries, "phuong-hoan-kiem"), tmp_path / "maps" / "hk.html")
    assert path.is_file() and sorted(p.name for p in path.parent.iterdir()) == ["hk.html"]
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.slow
def test_50k_incident_map_stays_small(boundaries) -> None:
    big = points_in_wards(boundaries, ("phuong-hoan-kiem", "phuong-cua-nam", "phuong-ba-dinh", "phuong-hai-ba-trung"),
                          50_000, seed=7)
    html = render_map_html(city_map(big, boundaries))
    size = len(html.encode("utf-8"))
    assert size < 15_000_000, size
    # Incidents are data for one cluster layer, not 50k folium markers.
    assert html.count("L.marker(") < 10
    assert len(_state(html)["lat"]) == 50_000


def test_coarse_and_missing_times_only_under_all(boundaries) -> None:
    import pandas as pd

    inc = points_in_wards(boundaries, ("phuong-hoan-kiem",), 200, seed=2)
    inc.loc[inc.index[:3], "occurred_at"] = pd.NaT
    inc.loc[inc.index[3:6], "time_precision"] = "month"
    inc.loc[inc.index[6:8], "time_precision"] = "year"
    data = _state(render_map_html(ward_map(inc, boundaries, "phuong-hoan-kiem")))
    assert data["pm"][:3] == [-2, -2, -2] and data["pw"][:8] == [-2] * 8
    assert min(data["pm"][3:6]) >= 0 and data["pm"][6:8] == [-2, -2]
    assert data["t"][:3] == ["", "", ""] and len(data["t"][3]) == 7 and len(data["t"][6]) == 4
    assert data["coarse_week"] == 8


def test_write_maps_one_file_per_ward_and_city(incidents, boundaries, hotspots, tmp_path: Path) -> None:
    from ward_geo.maps import write_maps

    written = write_maps(incidents, boundaries, tmp_path / "maps", ward_ids=["phuong-hoan-kiem", "phuong-cua-nam"],
                         hotspots=hotspots)
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == ["city.html", "phuong-cua-nam.html",
                                                                     "phuong-hoan-kiem.html"]
    assert written["city"].read_text(encoding="utf-8").count("WardGeo.boundaries(") == 1
    with pytest.raises(ParameterError, match="slugs"):
        write_maps(incidents, boundaries, tmp_path / "x", ward_ids=["../../etc/passwd"])
    assert not (tmp_path / "x").exists()
