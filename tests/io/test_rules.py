"""One small hand-made bad file per validation rule.

Each test asserts the exact row, field, reason and action reported, and that every
other row came through untouched (nothing else lost, the counts add up).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPoint, Point, Polygon

from ward_geo.errors import InputError
from ward_geo.io.readers import assign_wards, read_incidents, validate_incidents
from ward_geo.io.times import EXPECTED_TIME_FORMS

HOAN_KIEM = (105.8497143, 21.0325344)  # a point well inside Phường Hoàn Kiếm (lon, lat)

HEADER = "id,category,occurred_at,lon,lat"
GOOD = [
    "a1,theft,2025-03-01 10:00,105.8497,21.0325",
    "a2,robbery,2025-03-02 11:00,105.8490,21.0330",
    "a3,drugs,2025-03-03 23:00,105.8500,21.0320",
]


def csv_with(bad: str | list[str], at: int = 2, header: str = HEADER, sep: str = ",") -> str:
    """GOOD rows with ``bad`` inserted so that it is data row ``at`` (1-based)."""
    bad_lines = [bad] if isinstance(bad, str) else bad
    good = [g.replace(",", sep) for g in GOOD]
    lines = good[: at - 1] + bad_lines + good[at - 1 :]
    return "\n".join([header.replace(",", sep), *lines]) + "\n"


def issues_of(report):
    return [(i.row, i.field, i.reason, i.action) for i in report.issues]


def assert_counts(report, gdf, accepted: int, rejected: int, repaired: int = 0) -> None:
    assert report.rows_read == accepted + rejected
    assert (report.rows_accepted, report.rows_rejected, report.rows_repaired) == (accepted, rejected, repaired)
    assert len(gdf) == accepted
    assert gdf.attrs["validation_report"] is report


def good_ids_kept(gdf, *extra: str) -> None:
    assert set(gdf["incident_id"]) == {"a1", "a2", "a3", *extra}


# ------------------------------------------------------------------ coordinates
@pytest.mark.parametrize(
    ("lon", "field", "reason"),
    [
        ("", "lon", "missing longitude"),
        ("NaN", "lon", "missing longitude"),
        ("inf", "lon", "longitude is not finite"),
        ("abc", "lon", "longitude is not a number (expected decimal degrees such as 105.8412)"),
        ("105.8.4", "lon", "longitude is not a number (expected decimal degrees such as 105.8412)"),
    ],
)
def test_bad_longitude_is_rejected_with_row_field_reason(write_csv, lon, field, reason):
    path = write_csv(csv_with(f"b1,theft,2025-03-04 10:00,{lon},21.03"))
    gdf, report = read_incidents(path, return_report=True)
    assert issues_of(report) == [(2, field, reason, "rejected")]
    assert_counts(report, gdf, accepted=3, rejected=1)
    good_ids_kept(gdf)


def test_missing_latitude_and_unparseable_time_both_reported_once_rejected(write_csv):
    path = write_csv(csv_with("b1,theft,yesterday,105.85,"))
    gdf, report = read_incidents(path, return_report=True)
    assert issues_of(report) == [
        (2, "lat", "missing latitude", "rejected"),
        (2, "occurred_at", f"unparseable time (expected {EXPECTED_TIME_FORMS})", "rejected"),
    ]
    assert_counts(report, gdf, accepted=3, rejected=1)


def test_comma_decimals_in_semicolon_file_are_repaired(write_csv):
    path = write_csv(csv_with("b1;theft;2025-03-04 10:00;105,8497;21,0325", sep=";"))
    gdf, report = read_incidents(path, return_report=True)
    assert issues_of(report) == [
        (2, "lon", "decimal comma in longitude read as a decimal point", "repaired"),
        (2, "lat", "decimal comma in latitude read as a decimal point", "repaired"),
    ]
    assert report.issues[0].value == "105,8497"
    assert_counts(report, gdf, accepted=4, rejected=0, repaired=1)
    point = gdf.set_index("incident_id").geometry["b1"]
    assert (point.x, point.y) == (105.8497, 21.0325)


def test_quoted_comma_decimal_in_comma_file(write_csv):
    path = write_csv(csv_with('b1,theft,2025-03-04 10:00,"105,8497",21.0325'))
    gdf, report = read_incidents(path, return_report=True)
    assert issues_of(report) == [(2, "lon", "decimal comma in longitude read as a decimal point", "repaired")]
    assert_counts(report, gdf, accepted=4, rejected=0, repaired=1)


@pytest.mark.parametrize(
    ("lon", "lat", "field", "reason", "value"),
    [
        ("200", "21.03", "lon", "longitude outside [-180, 180]", "200"),
        ("100", "-95", "lat", "latitude outside [-90, 90]", "-95"),
    ],
)
def test_out_of_range_coordinates(write_csv, lon, lat, field, reason, value):
    path = write_csv(csv_with(f"b1,theft,2025-03-04 10:00,{lon},{lat}"))
    gdf, report = read_incidents(path, return_report=True)
    assert issues_of(report) == [(2, field, reason, "rejected")]
    assert report.issues[0].value == value
    assert_counts(report, gdf, accepted=3, rejected=1)


def test_null_island_is_rejected(write_csv):
    path = write_csv(csv_with("b1,theft,2025-03-04 10:00,0,0"))
    gdf, report = read_incidents(path, return_report=True)
    assert issues_of(report) == [(2, "lon/lat", "point (0, 0) is a placeholder, not a location", "rejected")]
    assert_counts(report, gdf, accepted=3, rejected=1)


def test_swapped_lat_lon_fixed_against_boundaries(write_csv, hanoi_wards):
    path = write_csv(csv_with("b1,theft,2025-03-04 10:00,21.0325344,105.8497143"))
    gdf, report = read_incidents(path, boundaries=hanoi_wards, return_report=True)
    assert issues_of(report) == [
        (2, "lon/lat",
         "latitude and longitude swapped (only the swapped point fits the boundaries' extent); swapped back",
         "repaired"),
    ]
    assert report.issues[0].value == "21.0325344, 105.8497143"
    assert_counts(report, gdf, accepted=4, rejected=0, repaired=1)
    row = gdf.set_index("incident_id").loc["b1"]
    assert (row.geometry.x, row.geometry.y) == HOAN_KIEM
    assert row["ward_id"] == "phuong-hoan-kiem"
    assert set(gdf["ward_id"]) == {"phuong-hoan-kiem"}


def test_swap_not_guessed_without_extent_when_both_readings_are_valid(write_csv):
    # 21.03, 80 is a valid lon/lat pair and so is its swap: nothing to fix without an extent
    path = write_csv(csv_with("b1,theft,2025-03-04 10:00,21.03,80.5"))
    gdf, report = read_incidents(path, return_report=True)
    assert report.issues == []
    point = gdf.set_index("incident_id").geometry["b1"]
    assert (point.x, point.y) == (21.03, 80.5)


def test_swap_fixed_against_declared_region(write_csv):
    path = write_csv(csv_with("b1,theft,2025-03-04 10:00,21.03,80.5"))
    gdf, report = read_incidents(path, region=(79.0, 20.0, 82.0, 22.0), return_report=True)
    assert issues_of(report) == [
        (2, "lon/lat",
         "latitude and longitude swapped (only the swapped point fits the declared region); swapped back",
         "repaired"),
    ]
    point = gdf.set_index("incident_id").geometry["b1"]
    assert (point.x, point.y) == (80.5, 21.03)


def test_swap_fixed_when_latitude_is_impossible(write_csv):
    path = write_csv(csv_with("b1,theft,2025-03-04 10:00,21.0325,105.8497"))
    gdf, report = read_incidents(path, return_report=True)
    assert issues_of(report) == [
        (2, "lon/lat",
         "latitude and longitude swapped (only the swapped point fits the valid degree ranges); swapped back",
         "repaired"),
    ]
    assert_counts(report, gdf, accepted=4, rejected=0, repaired=1)


def test_projected_metres_in_degree_file_are_rejected(write_csv):
    path = write_csv(csv_with("b1,theft,2025-03-04 10:00,588337.04,2325590.78"))
    gdf, report = read_incidents(path, return_report=True)
    assert issues_of(report) == [
        (2, "lon/lat",
         "coordinates look like projected metres but the file is read as degrees (no crs= given); "
         "pass crs= with the projected CRS (for example EPSG:3405 VN-2000 / UTM 48N)",
         "rejected"),
    ]
    assert report.issues[0].value == "588337.04, 2325590.78"
    assert_counts(report, gdf, accepted=3, rejected=1)


def test_projected_file_with_declared_crs_is_reprojected(write_csv, hanoi_wards):
    to_vn2000 = Transformer.from_crs(4326, 3405, always_xy=True)
    x, y = to_vn2000.transform(*HOAN_KIEM)
    text = f"id,category,occurred_at,x,y\nv1,theft,2025-03-04 10:00,{x:.3f},{y:.3f}\n"
    gdf, report = read_incidents(write_csv(text), crs="EPSG:3405", boundaries=hanoi_wards, return_report=True)
    assert report.issues == []
    assert report.crs_in == "EPSG:3405"
    assert "coordinates reprojected from EPSG:3405 to EPSG:4326" in report.notes
    assert gdf.crs.to_epsg() == 4326
    assert gdf.geometry.iloc[0].distance(Point(HOAN_KIEM)) < 1e-6
    assert gdf["ward_id"].iloc[0] == "phuong-hoan-kiem"


def test_degrees_in_a_file_declared_projected_are_rejected(write_csv):
    to_vn2000 = Transformer.from_crs(4326, 3405, always_xy=True)
    x, y = to_vn2000.transform(*HOAN_KIEM)
    text = f"id,category,occurred_at,x,y\nv1,theft,2025-03-04 10:00,{x:.3f},{y:.3f}\nv2,theft,2025-03-04,105.85,21.03\n"
    gdf, report = read_incidents(write_csv(text), crs="EPSG:3405", return_report=True)
    assert issues_of(report) == [
        (2, "x/y", "coordinates look like degrees but EPSG:3405 (metres) was declared; drop crs= for "
         "longitude/latitude", "rejected"),
    ]
    assert_counts(report, gdf, accepted=1, rejected=1)


def test_point_fitting_the_region_both_ways_is_kept_with_a_warning(write_csv):
    path = write_csv(csv_with("b1,theft,2025-03-04 10:00,21.5,25.5"))
    gdf, report = read_incidents(path, region=(20.0, 20.0, 30.0, 30.0), return_report=True)
    assert issues_of(report) == [
        (2, "lon/lat", "the point fits the expected extent both as given and swapped; kept as given", "warning"),
    ]
    point = gdf.set_index("incident_id").geometry["b1"]
    assert (point.x, point.y) == (21.5, 25.5)


def test_whole_file_in_metres_without_crs_is_unusable(write_csv):
    text = ("id,category,occurred_at,x,y\n"
            "v1,theft,2025-03-04 10:00,588337,2325590\nv2,theft,2025-03-04 10:00,588300,2325500\n")
    with pytest.raises(InputError) as info:
        read_incidents(write_csv(text))
    report = info.value.report
    assert report.rows_read == 2 and report.rows_accepted == 0 and report.rows_rejected == 2
    assert [(i.row, i.field) for i in report.issues] == [(1, "x/y"), (2, "x/y")]
    assert "most coordinates look like projected metres: pass crs= with the projected CRS" in report.notes


# ------------------------------------------------------------------ geometry and CRS
def _layer(geoms, crs="EPSG:4326") -> gpd.GeoDataFrame:
    n = len(geoms)
    return gpd.GeoDataFrame(
        {"id": [f"f{i}" for i in range(1, n + 1)], "category": ["theft"] * n, "date": ["2025-03-01 10:00"] * n},
        geometry=geoms,
        crs=crs,
    )


def test_null_empty_and_non_point_geometries(tmp_path):
    p = Point(HOAN_KIEM)
    layer = _layer([p, None, Point(), LineString([(105.84, 21.03), (105.85, 21.03)]), MultiPoint([p]), p])
    path = tmp_path / "incidents.gpkg"
    layer.to_file(path, engine="pyogrio")
    gdf, report = read_incidents(path, return_report=True)
    assert issues_of(report) == [
        (2, "geometry", "missing geometry (null); incidents need a point", "rejected"),
        (3, "geometry", "empty geometry; incidents need a point", "rejected"),
        (4, "geometry", "geometry is a LineString; incidents must be points", "rejected"),
        (5, "geometry", "MultiPoint with one point read as a Point", "repaired"),
    ]
    assert_counts(report, gdf, accepted=3, rejected=3, repaired=1)
    assert list(gdf["incident_id"]) == ["f1", "f5", "f6"]
    assert set(gdf.geom_type) == {"Point"}


def test_geojson_null_geometry(tmp_path):
    path = tmp_path / "incidents.geojson"
    path.write_text(
        '{"type":"FeatureCollection","features":['
        '{"type":"Feature","properties":{"id":"g1","category":"theft","occurred_at":"2025-03-01T10:00:00+07:00"},'
        '"geometry":{"type":"Point","coordinates":[105.8497,21.0325]}},'
        '{"type":"Feature","properties":{"id":"g2","category":"theft","occurred_at":"2025-03-01T10:00:00+07:00"},'
        '"geometry":null}]}',
        encoding="utf-8",
    )
    gdf, report = read_incidents(path, return_report=True)
    assert issues_of(report) == [(2, "geometry", "missing geometry (null); incidents need a point", "rejected")]
    assert_counts(report, gdf, accepted=1, rejected=1)
    assert gdf["occurred_at"].iloc[0] == pd.Timestamp("2025-03-01T03:00:00Z")


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_layer_without_crs_is_read_as_degrees_with_a_warning(tmp_path):
    path = tmp_path / "nocrs.shp"
    _layer([Point(HOAN_KIEM), Point(105.85, 21.03)], crs=None).to_file(path, engine="pyogrio")
    assert not path.with_suffix(".prj").exists()
    gdf, report = read_incidents(path, return_report=True)
    assert issues_of(report) == [
        (None, "crs", "the layer declares no CRS; read as EPSG:4326 (longitude/latitude degrees)", "warning")
    ]
    assert_counts(report, gdf, accepted=2, rejected=0)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_layer_without_crs_in_metres_is_unusable(tmp_path):
    path = tmp_path / "nocrs_m.shp"
    x, y = Transformer.from_crs(4326, 3405, always_xy=True).transform(*HOAN_KIEM)
    _layer([Point(x, y), Point(x + 50, y - 80)], crs=None).to_file(path, engine="pyogrio")
    with pytest.raises(InputError, match="no CRS") as info:
        read_incidents(path)
    assert info.value.report.rows_rejected == 2
    gdf = read_incidents(path, crs="EPSG:3405")
    assert gdf.geometry.iloc[0].distance(Point(HOAN_KIEM)) < 1e-5


def test_crs_mismatch_with_boundaries_is_reprojected_and_noted(tmp_path, hanoi_wards):
    layer = _layer([Point(HOAN_KIEM)]).to_crs("EPSG:3405")
    path = tmp_path / "vn2000.gpkg"
    layer.to_file(path, engine="pyogrio")
    gdf, report = read_incidents(path, boundaries=hanoi_wards, return_report=True)
    assert report.issues == []
    assert report.crs_in == "EPSG:3405"
    assert "coordinates reprojected from EPSG:3405 to EPSG:4326" in report.notes
    assert "incidents in EPSG:3405 and boundaries in EPSG:4326: both compared in EPSG:4326" in report.notes
    assert gdf["ward_id"].tolist() == ["phuong-hoan-kiem"]
    # boundaries in a projected CRS are reprojected too, and said so
    gdf2, report2 = read_incidents(path, boundaries=hanoi_wards.to_crs(32648), return_report=True)
    assert "boundaries reprojected from EPSG:32648 to EPSG:4326 for the ward join" in report2.notes
    assert gdf2["ward_id"].tolist() == ["phuong-hoan-kiem"]


# ------------------------------------------------------------------ ids and duplicates
def test_identical_duplicates_keep_one(write_csv):
    path = write_csv(csv_with(["a1,theft,2025-03-01 10:00,105.8497,21.0325"] * 2, at=2))
    gdf, report = read_incidents(path, return_report=True)
    assert issues_of(report) == [
        (2, "id", "duplicate incident_id (identical to row 1); dropped", "rejected"),
        (3, "id", "duplicate incident_id (identical to row 1); dropped", "rejected"),
    ]
    assert report.duplicates_dropped == 2
    assert_counts(report, gdf, accepted=3, rejected=2)
    good_ids_kept(gdf)


def test_conflicting_duplicates_are_all_rejected(write_csv):
    path = write_csv(csv_with("a1,theft,2025-03-01 10:00,105.8500,21.0325", at=3))
    gdf, report = read_incidents(path, return_report=True)
    reason = "conflicting duplicate incident_id (rows 1, 3 differ in lon); all rejected"
    assert issues_of(report) == [(1, "id", reason, "rejected"), (3, "id", reason, "rejected")]
    assert report.duplicates_dropped == 0
    assert_counts(report, gdf, accepted=2, rejected=2)
    assert set(gdf["incident_id"]) == {"a2", "a3"}


def test_generated_ids_are_stable_and_keep_identical_rows(write_csv):
    text = (
        "category,occurred_at,lon,lat\n"
        "theft,2025-03-01 10:00,105.8497,21.0325\n"
        "theft,2025-03-01 10:00,105.8497,21.0325\n"
        "drugs,2025-03-01 10:00,105.8497,21.0325\n"
    )
    path = write_csv(text)
    first, report = read_incidents(path, return_report=True)
    second = read_incidents(path)
    assert report.issues == [] and report.rows_accepted == 3
    assert first["incident_id"].tolist() == second["incident_id"].tolist()
    assert first["incident_id"].is_unique
    assert all(i.startswith("g-") for i in first["incident_id"])
    # another source name gives other ids; the same bytes in memory give the same ids
    other = read_incidents(path, source="other.csv")
    assert set(other["incident_id"]).isdisjoint(first["incident_id"])
    in_memory = validate_incidents(path.read_bytes(), source="incidents.csv")
    assert in_memory["incident_id"].tolist() == first["incident_id"].tolist()


# ------------------------------------------------------------------ time
NOW = pd.Timestamp("2025-06-15T12:00:00Z")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "missing time"),
        ("31/02/2025", f"unparseable time (expected {EXPECTED_TIME_FORMS})"),
        ("not a date", f"unparseable time (expected {EXPECTED_TIME_FORMS})"),
        ("2025-07-01 10:00", "time is in the future"),
        ("1850-01-01", "time is before 1900"),
    ],
)
def test_bad_times_are_rejected(value, reason):
    frame = pd.DataFrame(
        {
            "id": ["a1", "b1", "a2"],
            "category": ["theft"] * 3,
            "occurred_at": ["2025-03-01 10:00", value, "2025-03-02"],
            "lon": [105.8497, 105.8497, 105.85],
            "lat": [21.0325, 21.0325, 21.03],
        }
    )
    gdf, report = validate_incidents(frame, now=NOW, return_report=True)
    assert issues_of(report) == [(2, "occurred_at", reason, "rejected")]
    assert_counts(report, gdf, accepted=2, rejected=1)
    assert gdf["time_precision"].tolist() == ["exact", "day"]


def test_naive_times_use_the_configured_zone_and_precision(write_csv):
    text = (
        "id,category,month,lon,lat\n"
        "m1,theft,2025-03,105.8497,21.0325\n"
        "m2,theft,2025-03-05,105.8497,21.0325\n"
        "m3,theft,2025-03-05T08:30:00,105.8497,21.0325\n"
        "m4,theft,2025-03-05T08:30:00Z,105.8497,21.0325\n"
    )
    gdf = read_incidents(write_csv(text)).set_index("incident_id")
    assert gdf.loc["m1", "occurred_at"] == pd.Timestamp("2025-03-01T00:00:00+07:00")
    assert gdf.loc["m2", "occurred_at"] == pd.Timestamp("2025-03-05T00:00:00+07:00")
    assert gdf.loc["m3", "occurred_at"] == pd.Timestamp("2025-03-05T08:30:00+07:00")
    assert gdf.loc["m4", "occurred_at"] == pd.Timestamp("2025-03-05T08:30:00Z")
    assert gdf["time_precision"].tolist() == ["month", "day", "exact", "exact"]
    assert str(gdf["occurred_at"].dtype) == "datetime64[ns, UTC]"
    utc = read_incidents(write_csv(text), timezone="UTC").set_index("incident_id")
    assert utc.loc["m3", "occurred_at"] == pd.Timestamp("2025-03-05T08:30:00Z")


# ------------------------------------------------------------------ categories
def test_unknown_categories_kept_as_other_and_counted(write_csv):
    path = write_csv(csv_with(["b1,UFO sighting,2025-03-04 10:00,105.85,21.03",
                               "b2,UFO sighting,2025-03-04 11:00,105.85,21.03",
                               "b3,,2025-03-04 12:00,105.85,21.03"], at=2))
    gdf, report = read_incidents(path, return_report=True)
    assert issues_of(report) == [
        (2, "category", "unknown category 'UFO sighting' (2 rows) kept as 'other'; map it with category_map=",
         "warning"),
        (4, "category", "unknown category '(empty)' (1 rows) kept as 'other'; map it with category_map=",
         "warning"),
    ]
    assert report.unmapped_categories == {"UFO sighting": 2, "(empty)": 1}
    assert_counts(report, gdf, accepted=6, rejected=0)
    rows = gdf.set_index("incident_id")
    assert rows.loc["b1", "category"] == "other" and rows.loc["b1", "category_raw"] == "UFO sighting"
    assert rows.loc["b3", "category"] == "other" and rows.loc["b3", "category_raw"] is None
    mapped = read_incidents(path, category_map={"ufo sighting": "public_order"}, return_report=True)[1]
    assert mapped.unmapped_categories == {"(empty)": 1}


def test_vietnamese_columns_and_categories(write_csv):
    text = "mã vụ việc,loại,thời gian,kinh độ,vĩ độ\nv1,Trộm cắp tài sản,01/03/2025 14:30,\"105,8497\",\"21,0325\"\n"
    gdf, report = read_incidents(write_csv(text), return_report=True)
    assert gdf.loc[0, "incident_id"] == "v1"
    assert gdf.loc[0, "category"] == "theft"
    assert gdf.loc[0, "occurred_at"] == pd.Timestamp("2025-03-01T14:30:00+07:00")
    assert report.rows_repaired == 1


# ------------------------------------------------------------------ wards
def test_points_outside_every_ward_are_kept_and_counted(write_csv, hanoi_wards):
    path = write_csv(csv_with("far,theft,2025-03-04 10:00,-1.55,53.6"))
    gdf, report = read_incidents(path, boundaries=hanoi_wards, return_report=True)
    assert report.issues == []
    assert report.outside_wards == 1
    assert_counts(report, gdf, accepted=4, rejected=0)
    rows = gdf.set_index("incident_id")
    assert rows.loc["far", "ward_id"] is None
    assert rows.loc["a1", "ward_id"] == "phuong-hoan-kiem"


def test_point_on_shared_border_goes_to_one_ward_deterministically():
    wards = gpd.GeoDataFrame(
        {"ward_id": ["west", "east"]},
        geometry=[Polygon([(0, 0), (1, 0), (1, 1), (0, 1)]), Polygon([(1, 0), (2, 0), (2, 1), (1, 1)])],
        crs=4326,
    )
    points = gpd.GeoDataFrame({"incident_id": ["edge", "w", "e", "out"]},
                              geometry=[Point(1, 0.5), Point(0.5, 0.5), Point(1.5, 0.5), Point(5, 5)], crs=4326)
    out = assign_wards(points, wards)
    assert out["ward_id"].tolist() == ["east", "west", "east", None]
    reversed_wards = wards.iloc[::-1].reset_index(drop=True)
    assert assign_wards(points, reversed_wards)["ward_id"].tolist() == ["east", "west", "east", None]


# ------------------------------------------------------------------ whole-file problems
def test_zero_valid_rows_raise_input_error_with_report(write_csv):
    text = "id,category,occurred_at,lon,lat\nz1,theft,2025-03-04,,\nz2,theft,never,105.8,21.0\n"
    with pytest.raises(InputError) as info:
        read_incidents(write_csv(text))
    report = info.value.report
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (2, 0, 2)
    assert [(i.row, i.field) for i in report.issues] == [(1, "lon"), (1, "lat"), (2, "occurred_at")]
    assert info.value.to_dict()["report"]["rows_rejected"] == 2


def test_row_with_too_many_fields_is_rejected_alone(write_csv):
    path = write_csv(csv_with("b1,theft,2025-03-04 10:00,105.85,21.03,extra,fields"))
    gdf, report = read_incidents(path, return_report=True)
    assert issues_of(report) == [(2, "row", "the row has 7 fields but the header has 5; row unusable", "rejected")]
    assert_counts(report, gdf, accepted=3, rejected=1)
    good_ids_kept(gdf)


def test_missing_time_column_names_the_columns(write_csv):
    with pytest.raises(InputError, match="no time column found among id, category, lon, lat"):
        read_incidents(write_csv("id,category,lon,lat\nx,theft,105.8,21.0\n"))


def test_missing_coordinate_columns(write_csv):
    with pytest.raises(InputError, match="no longitude or latitude column found") as info:
        read_incidents(write_csv("id,category,occurred_at,where\nx,theft,2025-01-01,here\n"))
    assert [(i.row, i.field) for i in info.value.report.issues] == [(None, "longitude"), (None, "latitude")]


def test_explicit_columns(write_csv):
    text = "ref,kind,when,east,north\nq1,theft,2025-03-01,105.8497,21.0325\n"
    gdf = read_incidents(write_csv(text), id_field="ref", category_field="kind", time_field="when",
                         lon="east", lat="north")
    assert gdf.loc[0, "incident_id"] == "q1" and gdf.loc[0, "category"] == "theft"
    with pytest.raises(InputError, match="longitude column 'nope' not found"):
        read_incidents(write_csv(text), lon="nope", lat="north", time_field="when")


def test_not_utf8_is_a_clear_error(write_csv):
    path = write_csv("id,category,occurred_at,lon,lat\nx,Café brawl,2025-03-01,105.8,21.0\n", encoding="latin-1")
    with pytest.raises(InputError, match="not UTF-8"):
        read_incidents(path)


def test_severity_and_description_kept(write_csv):
    text = (
        "id,category,occurred_at,lon,lat,severity,description\n"
        "s1,theft,2025-03-01,105.8497,21.0325,2.5,<b>Phố Hàng Bạc</b>\n"
        "s2,theft,2025-03-01,105.8497,21.0325,high,\n"
    )
    gdf, report = read_incidents(write_csv(text), return_report=True)
    assert issues_of(report) == [(2, "severity", "severity is not a number >= 0; left empty", "warning")]
    assert gdf["severity"].tolist()[0] == 2.5 and np.isnan(gdf["severity"].tolist()[1])
    assert gdf["description"].tolist() == ["<b>Phố Hàng Bạc</b>", None]


def test_in_memory_geodataframe_with_own_crs():
    layer = _layer([Point(HOAN_KIEM), Point(105.85, 21.03)]).to_crs(32648)
    gdf, report = validate_incidents(layer, return_report=True)
    assert report.crs_in == "EPSG:32648" and report.rows_accepted == 2
    assert shapely.equals_exact(gdf.geometry.iloc[0], Point(HOAN_KIEM), tolerance=1e-6)
