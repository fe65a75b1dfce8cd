"""``ward-geo patrol``: from an incident file or the store to plan.geojson + plan.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ward_geo.cli import app
from ward_geo.io.writers import write_geojson

WARD = "phuong-hoan-kiem"
runner = CliRunner()


@pytest.fixture(scope="module")
def incidents_file(tmp_path_factory: pytest.TempPathFactory, hoan_kiem_incidents) -> Path:
    path = tmp_path_factory.mktemp("patrol_cli") / "hoan_kiem.geojson"
    return write_geojson(hoan_kiem_incidents, path)


@pytest.mark.slow
def test_patrol_from_a_file_with_evaluation(tmp_path, incidents_file, hanoi_boundaries_path) -> None:
    out = tmp_path / "out" / "plan.geojson"
    result = runner.invoke(app, [
        "patrol", "--ward", WARD, "-b", str(hanoi_boundaries_path), "--shift-start", "18:00", "--shift-end", "02:00",
        "--units", "2", "--mode", "motorbike", "--seed", "3", "--evaluate", "--json", str(incidents_file),
        "-o", str(out),
    ])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["summary"]["crosses_midnight"] and payload["summary"]["units"] == 2
    assert payload["summary"]["uses_street_network"]
    assert 0 <= payload["evaluation"]["plan_share"] <= 1 and payload["evaluation"]["n_test"] > 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    assert sum(f["properties"]["kind"] == "route" for f in doc["features"]) == 2
    md = (tmp_path / "out" / "plan.md").read_text(encoding="utf-8")
    assert md.startswith("# Kế hoạch tuần tra") and "## Tổ 2" in md


def test_patrol_from_the_store_prints_a_table(tmp_path, hoan_kiem_incidents, hanoi_boundaries) -> None:
    from ward_geo.store import open_store

    with open_store() as store:
        store.put_boundaries(hanoi_boundaries)
        store.ingest(hoan_kiem_incidents)
    out = tmp_path / "plan.geojson"
    result = runner.invoke(app, ["patrol", "--ward", WARD, "--units", "1", "--weekday", "saturday",
                                 "--lang", "en", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "share of the shift's risk covered" in result.output
    assert "Patrol plan" in (tmp_path / "plan.md").read_text(encoding="utf-8")


def test_patrol_straight_line_fallback(tmp_path, incidents_file, hanoi_boundaries_path) -> None:
    out = tmp_path / "plan.geojson"
    result = runner.invoke(app, ["patrol", "--ward", WARD, "-b", str(hanoi_boundaries_path), "--no-streets",
                                 str(incidents_file), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "straight-line" in result.output
    assert json.loads(out.read_text(encoding="utf-8"))["properties"]["uses_street_network"] is False


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--ward", "phuong-khong-co"], "phuong-khong-co"),
        (["--ward", WARD, "--shift-start", "8h"], "shift_start"),
        (["--ward", WARD, "--mode", "boat"], "mode"),
        (["--ward", WARD, "--station", "abc"], "--station"),
        (["--ward", WARD, "--streets", "missing.osm"], "missing.osm"),
    ],
)
def test_patrol_bad_input_exits_1(tmp_path, incidents_file, hanoi_boundaries_path, args, fragment) -> None:
    result = runner.invoke(app, ["patrol", *args, "-b", str(hanoi_boundaries_path), str(incidents_file),
                                 "-o", str(tmp_path / "p.geojson")])
    assert result.exit_code == 1
    assert fragment in " ".join(result.output.split())
