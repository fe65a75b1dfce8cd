"""read_boundaries on small hand-made layers: one rule per test."""

from __future__ import annotations

import unicodedata

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import LineString, Polygon

from ward_geo.errors import InputError
from ward_geo.io.readers import read_boundaries

SQUARE = Polygon([(105.80, 21.00), (105.81, 21.00), (105.81, 21.01), (105.80, 21.01)])
SQUARE_CW = Polygon(list(SQUARE.exterior.coords)[::-1])
NEXT = Polygon([(105.81, 21.00), (105.82, 21.00), (105.82, 21.01), (105.81, 21.01)])
BOWTIE = Polygon([(105.83, 21.00), (105.84, 21.01), (105.84, 21.00), (105.83, 21.01)])


def _write(tmp_path, frame: gpd.GeoDataFrame, name: str = "wards.gpkg"):
    path = tmp_path / name
    frame.to_file(path, engine="pyogrio")
    return path


def issues_of(report):
    return [(i.row, i.field, i.reason, i.action) for i in report.issues]


def test_clockwise_rings_come_out_counter_clockwise_and_names_nfc(tmp_path):
    nfd = unicodedata.normalize("NFD", "Phường Hoàn Kiếm")
    frame = gpd.GeoDataFrame({"name": [nfd, "Phường Cửa Nam"], "population": ["12000", "9500.0"]},
                             geometry=[SQUARE_CW, NEXT], crs=4326)
    wards, report = read_boundaries(_write(tmp_path, frame), return_report=True)
    assert report.issues == []
    assert wards["name"].tolist() == ["Phường Hoàn Kiếm", "Phường Cửa Nam"]
    assert wards["ward_id"].tolist() == ["phuong-hoan-kiem", "phuong-cua-nam"]
    assert wards["population"].tolist() == [12000, 9500]
    assert str(wards["population"].dtype) == "Int64"
    assert shapely.is_ccw(shapely.get_exterior_ring(wards.geometry.values)).all()


def test_invalid_polygon_repaired_and_reported(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["A", "Bow tie"]}, geometry=[SQUARE, BOWTIE], crs=4326)
    wards, report = read_boundaries(_write(tmp_path, frame), return_report=True)
    assert len(report.issues) == 1
    issue = report.issues[0]
    assert (issue.row, issue.field, issue.action) == (2, "geometry", "repaired")
    assert issue.reason.startswith("invalid polygon (Self-intersection") and issue.reason.endswith(
        "repaired with make_valid")
    assert (report.rows_accepted, report.rows_rejected, report.rows_repaired) == (2, 0, 1)
    assert wards.is_valid.all()
    assert wards.geom_type.tolist() == ["Polygon", "MultiPolygon"]
    assert wards.geometry.iloc[1].area == pytest.approx(0.5 * 0.01 * 0.01)  # the two triangles of the bow tie


def test_non_polygon_and_null_geometries_rejected(tmp_path):
    frame = gpd.GeoDataFrame(
        {"name": ["A", "Line", "Nothing", "B"]},
        geometry=[SQUARE, LineString([(105.8, 21.0), (105.9, 21.1)]), None, NEXT],
        crs=4326,
    )
    wards, report = read_boundaries(frame, return_report=True)
    assert issues_of(report) == [
        (2, "geometry", "geometry is a LineString; wards must be Polygon or MultiPolygon", "rejected"),
        (3, "geometry", "missing geometry (null); wards need a polygon", "rejected"),
    ]
    assert wards["ward_id"].tolist() == ["a", "b"]
    assert report.rows_read == 4 and report.rows_accepted + report.rows_rejected == 4


def test_colliding_ward_ids_are_disambiguated(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["Phường Láng", "Phuong Lang", "Phường Láng"]},
                             geometry=[SQUARE, NEXT, SQUARE], crs=4326)
    wards, report = read_boundaries(frame, return_report=True)
    assert wards["ward_id"].tolist() == ["phuong-lang", "phuong-lang-2", "phuong-lang-3"]
    assert issues_of(report) == [
        (2, "name", "ward_id 'phuong-lang' already used by row 1; renamed to 'phuong-lang-2'", "warning"),
        (3, "name", "ward_id 'phuong-lang' already used by row 1; renamed to 'phuong-lang-3'", "warning"),
    ]


def test_id_field_and_reprojection(tmp_path):
    frame = gpd.GeoDataFrame({"ma": ["00001", "00002"], "ten": ["Phường A", "Phường B"]},
                             geometry=[SQUARE, NEXT], crs=4326).to_crs(3405)
    wards, report = read_boundaries(_write(tmp_path, frame), id_field="ma", return_report=True)
    assert wards["ward_id"].tolist() == ["00001", "00002"]
    assert wards["name"].tolist() == ["Phường A", "Phường B"]
    assert wards.crs.to_epsg() == 4326
    assert report.crs_in == "EPSG:3405"
    assert "boundaries reprojected from EPSG:3405 to EPSG:4326" in report.notes
    assert shapely.hausdorff_distance(wards.geometry.iloc[0], SQUARE) < 1e-7


def test_bad_population_is_a_warning(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["A", "B"], "population": ["many", "-5"]}, geometry=[SQUARE, NEXT], crs=4326)
    wards, report = read_boundaries(frame, return_report=True)
    assert issues_of(report) == [
        (1, "population", "population is not a number >= 0; left empty", "warning"),
        (2, "population", "population is not a number >= 0; left empty", "warning"),
    ]
    assert wards["population"].isna().all()


def test_no_usable_polygon_and_plain_table_are_errors(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["Line"]}, geometry=[LineString([(0, 0), (1, 1)])], crs=4326)
    with pytest.raises(InputError, match="no usable ward polygons") as info:
        read_boundaries(frame)
    assert info.value.report.rows_rejected == 1
    csv = tmp_path / "wards.csv"
    csv.write_text("name\nA\n", encoding="utf-8")
    with pytest.raises(InputError, match="boundaries need polygon geometries"):
        read_boundaries(csv)


def test_shapefile_zip_and_geoparquet(tmp_path):
    import zipfile

    frame = gpd.GeoDataFrame({"name": ["Phường A", "Phường B"]}, geometry=[SQUARE, NEXT], crs=4326)
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    frame.to_file(shp_dir / "wards.shp", engine="pyogrio")
    archive = tmp_path / "wards.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in shp_dir.iterdir():
            zf.write(part, part.name)
    from_zip = read_boundaries(archive)
    assert from_zip["ward_id"].tolist() == ["phuong-a", "phuong-b"]
    frame.to_parquet(tmp_path / "wards.parquet")
    from_parquet = read_boundaries(tmp_path / "wards.parquet")
    assert from_parquet["name"].tolist() == ["Phường A", "Phường B"]
    assert from_parquet.geometry.iloc[0].equals(SQUARE)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_boundaries_without_crs(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["A"]}, geometry=[SQUARE], crs=None)
    degrees = _write(tmp_path, frame, "deg.shp")
    wards, report = read_boundaries(degrees, return_report=True)
    assert issues_of(report) == [
        (None, "crs", "the layer declares no CRS; read as EPSG:4326 (longitude/latitude degrees)", "warning")
    ]
    metres = _write(tmp_path, gpd.GeoDataFrame({"name": ["A"]}, geometry=[SQUARE], crs=4326).to_crs(3405)
                    .set_crs(None, allow_override=True), "m.shp")
    with pytest.raises(InputError, match="no CRS"):
        read_boundaries(metres)
    assert read_boundaries(metres, crs="EPSG:3405")["ward_id"].tolist() == ["a"]
