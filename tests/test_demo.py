"""The README's main job end to end, on one ward, twice (the second run adds nothing)."""

import json

from ward_geo.demo import run_demo
from ward_geo.maps import external_references


def test_demo_chain_writes_every_product_and_is_idempotent(tmp_path):
    maps_dir = tmp_path / "maps"
    out_dir = tmp_path / "out"
    first = run_demo(maps_dir=maps_dir, out_dir=out_dir, ward_ids=["phuong-cua-nam"], patrol_ward="phuong-cua-nam")
    assert first.ingested > 1000 and first.duplicates == 0
    names = {p.name for p in first.files}
    assert {"phuong-cua-nam.geojson", "phuong-cua-nam.md", "phuong-cua-nam.html", "hanoi_overview.html"} <= names

    hotspots = json.loads((out_dir / "hotspots" / "phuong-cua-nam.geojson").read_text(encoding="utf-8"))
    assert hotspots["type"] == "FeatureCollection" and hotspots["features"]
    assert all(f["properties"]["trend"] for f in hotspots["features"])
    plan = json.loads((out_dir / "patrol" / "phuong-cua-nam.geojson").read_text(encoding="utf-8"))
    assert any(f["geometry"]["type"] == "LineString" for f in plan["features"])
    page = (maps_dir / "phuong-cua-nam.html").read_text(encoding="utf-8")
    assert "© OpenStreetMap contributors" in page
    assert external_references(page) == []  # offline: nothing fetched from the network
    report = (out_dir / "reports" / "phuong-cua-nam.md").read_text(encoding="utf-8")
    assert "on last year" in report or "none in the same period" in report

    second = run_demo(maps_dir=maps_dir, out_dir=out_dir, ward_ids=["phuong-cua-nam"], patrol_ward="phuong-cua-nam")
    assert second.ingested == 0 and second.duplicates == first.ingested
