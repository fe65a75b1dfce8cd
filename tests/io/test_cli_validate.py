"""`ward-geo validate`: the report as a table or JSON, exit 0 when rows were accepted, 1 when unusable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from ward_geo.cli import app

runner = CliRunner()


def test_validate_json_real_file(incidents_dir: Path):
    path = incidents_dir / "police_uk_west_yorkshire" / "2017-07-west-yorkshire-street.csv"
    result = runner.invoke(app, ["validate", str(path), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["rows_read"] == 28537
    assert body["rows_read"] == body["rows_accepted"] + body["rows_rejected"]
    assert body["rows_rejected"] == 1541 and body["rows_repaired"] == 0
    first = body["issues"][0]
    assert {"row", "field", "reason"} <= set(first)
    assert first["field"] in ("Longitude", "Latitude") and first["reason"].startswith("missing")


def test_validate_table_with_boundaries_and_crs(tmp_path: Path, hanoi_boundaries_path: Path):
    path = tmp_path / "vn2000.csv"
    path.write_text("id,category,occurred_at,x,y\nv1,theft,2025-03-01,588337.04,2325590.78\n"
                    "v2,theft,2025-03-01,,2325590.78\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path), "--boundaries", str(hanoi_boundaries_path),
                                 "--crs", "EPSG:3405"])
    assert result.exit_code == 0, result.output
    assert "vn2000.csv: 2 read, 1 accepted, 1 rejected, 0 repaired" in result.stdout
    assert "missing longitude" in result.stdout


def test_unusable_file_exits_1_with_json_report(tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text("id,category,occurred_at,lon,lat\nb1,theft,never,abc,21\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path), "--json"])
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert (body["rows_read"], body["rows_accepted"], body["rows_rejected"]) == (1, 0, 1)
    assert [(i["row"], i["field"]) for i in body["issues"]] == [(1, "lon"), (1, "occurred_at")]
    assert body["error"]["code"] == "invalid_input"


def test_console_script_exit_codes(tmp_path: Path):
    script = Path(sys.executable).with_name("ward-geo")
    good = tmp_path / "good.csv"
    good.write_text("id,category,occurred_at,lon,lat\ng1,theft,2025-03-01,105.85,21.03\n", encoding="utf-8")
    ok = subprocess.run([str(script), "validate", str(good)], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    missing = subprocess.run([str(script), "validate", str(tmp_path / "none.csv")], capture_output=True,
                             text=True, timeout=120)
    assert missing.returncode == 1
    assert "does not exist" in " ".join(missing.stderr.split())
    usage = subprocess.run([str(script), "validate"], capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2
