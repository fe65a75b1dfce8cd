"""``ward-geo ingest`` and ``ward-geo wards`` against a real store and the real Hanoi wards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ward_geo.cli import app

runner = CliRunner()

CSV = """incident_id,category,occurred_at,lon,lat,description
hk-1,theft,2025-03-01 08:15,105.8522,21.0287,"Trộm xe máy, phố Hàng Bài"
hk-2,drugs,2025-03-02 23:40,105.8531,21.0301,<b>ma túy</b>
hk-3,robbery,2025-03-03 12:00,105.8525,21.0290,
bd-1,traffic_accident,2025-03-04 07:30,105.8340,21.0360,
bad-1,theft,2025-03-05 10:00,not-a-number,21.03,
"""


def _run(*args: str):
    result = runner.invoke(app, list(args))
    return result


@pytest.fixture
def incidents_csv(tmp_path: Path) -> Path:
    path = tmp_path / "hanoi_sample.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def test_ingest_twice_is_idempotent_and_reports_rejections(incidents_csv, hanoi_boundaries_path):
    first = _run("ingest", str(incidents_csv), "--boundaries", str(hanoi_boundaries_path), "--json")
    assert first.exit_code == 0, first.output
    body = json.loads(first.stdout)
    assert (body["rows_read"], body["added"], body["duplicates"], body["rejected"]) == (5, 4, 0, 1)
    assert body["report"]["issues"][0]["field"] in ("lon", "longitude", "geometry")
    second = _run("ingest", str(incidents_csv), "--json")  # wards now come from the store
    assert second.exit_code == 0, second.output
    again = json.loads(second.stdout)
    assert (again["added"], again["duplicates"], again["store_total"]) == (0, 4, 4)

    human = _run("ingest", str(incidents_csv))
    assert human.exit_code == 0
    assert "0 added" in human.stdout and "4 already stored" in human.stdout and "1 rejected" in human.stdout


def test_ingest_conflicting_file_exits_1_and_writes_nothing(incidents_csv, tmp_path):
    assert _run("ingest", str(incidents_csv)).exit_code == 0
    changed = tmp_path / "changed.csv"
    text = CSV.replace("Trộm xe máy", "Cướp giật").replace("hk-3,robbery", "hk-9,robbery")
    changed.write_text(text, encoding="utf-8")
    result = _run("ingest", str(changed), "--json")
    assert result.exit_code == 1
    error = json.loads(result.stdout)
    assert error["code"] == "invalid_input" and error["details"]["conflicting_ids"] == ["hk-1"]
    from ward_geo.store import open_store

    with open_store() as store:
        assert store.count() == 4 and store.get("hk-9") is None


def test_wards_load_then_list_with_counts(incidents_csv, hanoi_boundaries_path):
    loaded = _run("wards", "--load", str(hanoi_boundaries_path), "--json")
    assert loaded.exit_code == 0, loaded.output
    body = json.loads(loaded.stdout)
    assert body["loaded"] == 126 and len(body["wards"]) == 126
    assert _run("ingest", str(incidents_csv)).exit_code == 0
    listed = json.loads(_run("wards", "--json", "--sort", "incidents").stdout)["wards"]
    top = listed[0]
    assert top["ward_id"] == "phuong-hoan-kiem" and top["n_incidents"] == 3
    assert top["name"] == "Phường Hoàn Kiếm" and 1.0 < top["area_km2"] < 3.0 and top["population"] > 0
    assert sum(w["n_incidents"] for w in listed) == 4
    table = _run("wards")
    assert table.exit_code == 0 and "126 wards, 4 incidents" in table.stdout


def test_wards_from_a_file_without_saving(hanoi_boundaries_path):
    result = _run("wards", "--boundaries", str(hanoi_boundaries_path), "--json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["wards"]) == 126
    assert json.loads(_run("wards", "--json").stdout)["wards"] == []
    bad = _run("wards", "--sort", "size")
    assert bad.exit_code == 2


def test_conflict_names_the_row_of_the_file(tmp_path):
    first = tmp_path / "first.csv"
    first.write_text(CSV, encoding="utf-8")
    assert _run("ingest", str(first)).exit_code == 0
    # bad-1 (row 1) is rejected by the reader; hk-2 (row 3 of the file) changed its time
    second = tmp_path / "second.csv"
    lines = CSV.splitlines()
    second.write_text(
        "\n".join([lines[0], lines[5], lines[1], lines[2].replace("23:40", "23:45")]) + "\n", encoding="utf-8"
    )
    result = _run("ingest", str(second), "--json")
    assert result.exit_code == 1
    issues = [i for i in json.loads(result.stdout)["report"]["issues"] if i["field"] == "incident_id"]
    assert [(i["row"], i["value"]) for i in issues] == [(3, "hk-2")]
