"""``ward-geo backtest`` and ``ward-geo report`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ward_geo.cli import app

runner = CliRunner()


def test_backtest_on_real_file_writes_json_and_chart(tmp_path: Path, incidents_dir: Path):
    out_json, out_png = tmp_path / "bt.json", tmp_path / "bt.png"
    result = runner.invoke(
        app,
        ["backtest", str(incidents_dir / "san_francisco_robbery.csv"), "--train", "6M", "--test", "1M",
         "--step", "2M", "--method", "kde", "--method", "counts", "--timezone", "America/Los_Angeles",
         "--json", str(out_json), "--plot", str(out_png)],
        env={"COLUMNS": "240"},
    )
    assert result.exit_code == 0, result.output
    assert "kde" in result.stdout and "counts" in result.stdout and "PAI" in result.stdout
    assert "prior counts" in result.stdout
    body = json.loads(out_json.read_text(encoding="utf-8"))
    assert {row["method"] for row in body["summary"]} == {"kde", "counts"}
    assert {row["share"] for row in body["summary"]} == {0.01, 0.05}
    assert all(row["n_test"] > 0 for row in body["folds"])
    assert out_png.read_bytes()[:4] == b"\x89PNG"


def test_backtest_bad_window_is_exit_1(tmp_path: Path, incidents_dir: Path):
    result = runner.invoke(app, ["backtest", str(incidents_dir / "san_francisco_robbery.csv"), "--train", "12 parsecs"])
    assert result.exit_code == 1
    assert "positive length" in result.output


def test_backtest_same_file_twice_is_refused(incidents_dir: Path):
    path = str(incidents_dir / "san_francisco_robbery.csv")
    result = runner.invoke(app, ["backtest", path, path])
    assert result.exit_code == 1 and "more than one file" in result.output


def test_report_from_store(tmp_path: Path, hanoi_boundaries_path: Path):
    from ward_geo.io.readers import read_boundaries
    from ward_geo.store import open_store
    from ward_geo.synth import simulate

    wards = read_boundaries(hanoi_boundaries_path)
    incidents = simulate(wards, ward_ids=["phuong-cua-nam"], start="2024-01-01", end="2026-01-01", seed=2, scale=0.5)
    with open_store() as store:
        store.put_boundaries(wards)
        store.ingest(incidents)
    out = tmp_path / "reports"
    result = runner.invoke(app, ["report", "phuong-cua-nam", "-o", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    md = (out / "phuong-cua-nam.md").read_text(encoding="utf-8")
    assert md.startswith("# Phường Cửa Nam") and "Drugs" in md
    assert (out / "phuong-cua-nam.html").exists()
    missing = runner.invoke(app, ["report", "phuong-khong-co"])
    assert missing.exit_code == 1 and "phuong-khong-co" in missing.output
