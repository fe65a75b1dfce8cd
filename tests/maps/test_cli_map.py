"""`ward-geo map` and `ward-geo assets` end to end on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ward_geo.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def incidents_file(incidents, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ward_geo.io.writers import write_geojson

    path = tmp_path_factory.mktemp("cli") / "incidents.geojson"
    write_geojson(incidents, path)
    return path


def test_ward_map_from_files(incidents_file: Path, hanoi_boundaries_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "maps" / "phuong-hoan-kiem.html"
    result = runner.invoke(app, ["map", str(incidents_file), "-b", str(hanoi_boundaries_path), "--ward",
                                 "phuong-hoan-kiem", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["offline"] is True and info["hotspots"] > 0 and info["incidents"] > 0
    html = out.read_text(encoding="utf-8")
    assert "WardGeo.streets(" in html and "WardGeo.hotspots(" in html
    assert "<img src=x" not in html
    assert info["bytes"] == out.stat().st_size


def test_city_map_with_hotspot_and_patrol_files(incidents, boundaries, hotspots, incidents_file: Path,
                                                hanoi_boundaries_path: Path, tmp_path: Path) -> None:
    from ward_geo.io.writers import write_geojson

    hs = tmp_path / "hotspots.geojson"
    write_geojson(hotspots, hs)
    plan = tmp_path / "plan.geojson"
    plan.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kind": "route", "unit": 2},
         "geometry": {"type": "LineString", "coordinates": [[105.85, 21.028], [105.852, 21.03]]}}]}), encoding="utf-8")
    out = tmp_path / "city.html"
    result = runner.invoke(app, ["map", str(incidents_file), "-b", str(hanoi_boundaries_path), "--hotspots", str(hs),
                                 "--patrol", str(plan), "--no-streets", "--lang", "en", "-o", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "WardGeo.patrol(" in html and "Peak hours" in html and "WardGeo.streets(" not in html
    # Every hotspot of the file is drawn (lists and dicts survive the GeoJSON round trip).
    assert html.count('wg-popup\\"\\u003e\\u003cb\\u003eHotspots #') == len(hotspots)


def test_online_map_uses_tiles(incidents_file: Path, hanoi_boundaries_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "online.html"
    result = runner.invoke(app, ["map", str(incidents_file), "-b", str(hanoi_boundaries_path), "--ward", "phuong-cua-nam",
                                 "--online", "--no-streets", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "tile.openstreetmap.org" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ward", "phuong-khong-ton-tai"], "phuong-khong-ton-tai"),
        (["--lang", "fr"], "--lang"),
        (["--hotspots", "/nonexistent/hs.geojson"], "hotspots"),
    ],
)
def test_map_errors_exit_1(args: list[str], message: str, incidents_file: Path, hanoi_boundaries_path: Path,
                           tmp_path: Path) -> None:
    result = runner.invoke(app, ["map", str(incidents_file), "-b", str(hanoi_boundaries_path), "--no-streets",
                                 "-o", str(tmp_path / "x.html"), *args])
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert not (tmp_path / "x.html").exists()


def test_output_must_be_html(incidents_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["map", str(incidents_file), "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and ".html" in result.output


def test_assets_commands() -> None:
    listed = runner.invoke(app, ["assets", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert {r["package"] for r in rows} >= {"leaflet", "leaflet.markercluster"}
    fetched = runner.invoke(app, ["assets", "fetch", "--json"])
    assert fetched.exit_code == 0, fetched.output
    folders = json.loads(fetched.stdout)
    assert all(Path(p).is_dir() for p in folders.values())
