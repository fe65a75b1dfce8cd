"""``ward-geo hotspots`` on a real incident file and on the store."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
from typer.testing import CliRunner

from ward_geo.cli import app
from ward_geo.io.writers import read_geoparquet

runner = CliRunner()


def test_file_to_geojson_with_ranked_table(tmp_path: Path, incidents_dir: Path):
    out = tmp_path / "sf.geojson"
    result = runner.invoke(
        app,
        ["hotspots", str(incidents_dir / "san_francisco_robbery.csv"), "--eps", "150", "--min-samples", "8",
         "--category", "robbery", "--timezone", "America/Los_Angeles", "-o", str(out), "--top", "3"],
    )
    assert result.exit_code == 0, result.output
    assert "hotspot(s), ranked" in result.stdout
    assert "eps and min_samples given explicitly" in result.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection" and "crs" not in data
    ranks = [f["properties"]["rank"] for f in data["features"]]
    assert ranks == sorted(ranks) and ranks[0] == 1
    assert all(f["id"].startswith("dbscan-") for f in data["features"])
    from ward_geo.analysis.trends import TREND_CLASSES

    assert all(f["properties"]["trend"] in TREND_CLASSES for f in data["features"])  # --trend is the default


def test_json_output_and_parquet(tmp_path: Path, incidents_dir: Path):
    out = tmp_path / "cin.parquet"
    result = runner.invoke(
        app,
        ["hotspots", str(incidents_dir / "cincinnati_burglary.csv.gz"), "--method", "kde",
         "--since", "2017-01-01", "--until", "2018-01-01", "--timezone", "America/New_York",
         "-o", str(out), "--json"],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["params"]["method"] == "kde"
    assert body["params"]["since"] == "2017-01-01T05:00:00+00:00"
    assert body["hotspots"] == len(read_geoparquet(out)) > 0
    assert isinstance(body["top"][0]["peak_hours"], list)


def test_store_source(tmp_path: Path, hanoi_boundaries_path: Path):
    csv = tmp_path / "hk.csv"
    rows = ["incident_id,category,occurred_at,lon,lat"]
    for i in range(12):
        rows.append(f"a-{i},theft,2025-03-{1 + i:02d} 20:00,{105.8522 + i * 1e-5:.6f},21.0287")
    rows.append("far-1,theft,2025-03-05 10:00,105.8600,21.0350")
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ingest = runner.invoke(app, ["ingest", str(csv), "--boundaries", str(hanoi_boundaries_path), "--json"])
    assert ingest.exit_code == 0, ingest.output
    out = tmp_path / "store.geojson"
    result = runner.invoke(app, ["hotspots", "--eps", "30", "--min-samples", "5", "--ward", "phuong-hoan-kiem",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    spots = gpd.read_file(out)
    assert len(spots) == 1
    assert spots.iloc[0]["n_incidents"] == 12
    assert "phuong-hoan-kiem" in spots.iloc[0]["ward_ids"]


def test_bad_parameters_exit_1(tmp_path: Path, incidents_dir: Path):
    result = runner.invoke(
        app, ["hotspots", str(incidents_dir / "san_francisco_robbery.csv"), "--eps", "-3", "--method", "kmeans"]
    )
    assert result.exit_code == 1
    output = " ".join(result.output.split())  # the console wraps long lines
    assert "method 'kmeans' is unknown" in output and "eps must be a positive" in output
    bad_out = runner.invoke(app, ["hotspots", str(incidents_dir / "san_francisco_robbery.csv"), "-o",
                                  str(tmp_path / "x.txt")])
    assert bad_out.exit_code == 2
