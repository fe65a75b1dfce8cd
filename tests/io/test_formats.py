"""The same incidents through every supported format and input kind give the same table."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from ward_geo.errors import NotFoundError
from ward_geo.io.readers import read_incidents, validate_incidents

ROWS = [
    ("k1", "Theft", "2025-03-01T10:00:00+07:00", 105.8497, 21.0325),
    ("k2", "BURGLARY", "2025-03-02T11:00:00+07:00", 105.8490, 21.0330),
    ("k3", "ma túy", "2025-03-03T23:00:00+07:00", 105.8500, 21.0320),
]
CSV = "id,category,occurred_at,lon,lat\n" + "".join(f"{a},{b},{c},{d},{e}\n" for a, b, c, d, e in ROWS)


def _layer() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [r[0] for r in ROWS], "category": [r[1] for r in ROWS], "occurred_at": [r[2] for r in ROWS]},
        geometry=[Point(r[3], r[4]) for r in ROWS],
        crs=4326,
    )


def _expected(gdf: gpd.GeoDataFrame) -> None:
    assert gdf["incident_id"].tolist() == ["k1", "k2", "k3"]
    assert gdf["category"].tolist() == ["theft", "burglary", "drugs"]
    assert gdf["occurred_at"].iloc[0] == pd.Timestamp("2025-03-01T03:00:00Z")
    assert [(p.x, p.y) for p in gdf.geometry] == [(r[3], r[4]) for r in ROWS]
    assert gdf.crs.to_epsg() == 4326
    assert gdf.attrs["validation_report"].rows_accepted == 3


@pytest.mark.parametrize("kind", ["csv", "csv.gz", "csv.zip", "semicolon.csv", "geojson", "gpkg", "shp.zip",
                                  "parquet", "plain.parquet"])
def test_every_file_format(tmp_path: Path, kind: str):
    path = tmp_path / f"incidents.{kind}"
    if kind == "csv":
        path.write_text(CSV, encoding="utf-8")
    elif kind == "csv.gz":
        path.write_bytes(gzip.compress(CSV.encode()))
    elif kind == "csv.zip":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("incidents.csv", CSV)
    elif kind == "semicolon.csv":
        path.write_text("\ufeff" + CSV.replace(",", ";"), encoding="utf-8")
    elif kind == "geojson":
        _layer().to_file(path, driver="GeoJSON", engine="pyogrio")
    elif kind == "gpkg":
        _layer().to_file(path, engine="pyogrio")
    elif kind == "shp.zip":
        folder = tmp_path / "shp"
        folder.mkdir()
        _layer().rename(columns={"occurred_at": "date"}).to_file(folder / "incidents.shp", engine="pyogrio")
        path = tmp_path / "incidents.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for part in folder.iterdir():
                zf.write(part, part.name)
    elif kind == "parquet":
        _layer().to_parquet(path)
    elif kind == "plain.parquet":
        pd.read_csv(io.StringIO(CSV)).to_parquet(path)
    gdf, report = read_incidents(path, return_report=True)
    assert report.issues == []
    _expected(gdf)
    assert (gdf["source"] == path.name).all()


@pytest.mark.parametrize("kind", ["bytes", "gzip-bytes", "binary-file", "text-file", "geojson-bytes",
                                  "gpkg-bytes", "parquet-bytes", "dataframe", "geodataframe"])
def test_in_memory_inputs(kind: str, tmp_path: Path):
    if kind == "bytes":
        data = CSV.encode()
    elif kind == "gzip-bytes":
        data = gzip.compress(CSV.encode())
    elif kind == "binary-file":
        data = io.BytesIO(CSV.encode())
    elif kind == "text-file":
        data = io.StringIO(CSV)
    elif kind == "geojson-bytes":
        data = _layer().to_json().encode()
    elif kind == "gpkg-bytes":
        _layer().to_file(tmp_path / "x.gpkg", engine="pyogrio")
        data = (tmp_path / "x.gpkg").read_bytes()
    elif kind == "parquet-bytes":
        _layer().to_parquet(tmp_path / "x.parquet")
        data = (tmp_path / "x.parquet").read_bytes()
    elif kind == "dataframe":
        data = pd.read_csv(io.StringIO(CSV))
    else:
        data = _layer()
    gdf, report = validate_incidents(data, return_report=True)
    assert report.issues == []
    _expected(gdf)
    expected_source = "dataframe" if kind in ("dataframe", "geodataframe") else "upload"
    assert report.source == expected_source


def test_text_given_to_validate_incidents_is_never_a_path(tmp_path: Path):
    from ward_geo.errors import InputError

    target = tmp_path / "secret.csv"
    target.write_text(CSV, encoding="utf-8")
    with pytest.raises(InputError):
        validate_incidents(str(target))  # read as (bad) CSV content, not opened
    assert validate_incidents(CSV)["incident_id"].tolist() == ["k1", "k2", "k3"]
    assert len(validate_incidents(target)) == 3  # a Path is a file


def test_read_incidents_accepts_uploaded_bytes_with_source():
    gdf = read_incidents(CSV.encode(), source="upload-42.csv")
    assert (gdf["source"] == "upload-42.csv").all()
    assert read_incidents(io.StringIO(CSV))["incident_id"].tolist() == ["k1", "k2", "k3"]


def test_missing_file_is_not_found(tmp_path: Path):
    with pytest.raises(NotFoundError, match="does not exist"):
        read_incidents(tmp_path / "nope.csv")


def test_source_column_of_a_canonical_export_is_kept(tmp_path):
    from ward_geo.io.readers import read_incidents

    path = tmp_path / "export.csv"
    path.write_text(
        "incident_id,category,occurred_at,lon,lat,source\n"
        "a,theft,2025-01-02 10:00,105.85,21.03,synthetic\n"
        "b,theft,2025-01-02 11:00,105.85,21.03,\n",
        encoding="utf-8",
    )
    frame = read_incidents(path)
    assert frame.set_index("incident_id")["source"].to_dict() == {"a": "synthetic", "b": "export.csv"}
    forced = read_incidents(path, source="upload-7")
    assert set(forced["source"]) == {"upload-7"}
