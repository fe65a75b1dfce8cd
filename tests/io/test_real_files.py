"""Readers against the real shared files: every row accounted for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from ward_geo.categories import CATEGORY_CODES
from ward_geo.io.readers import read_boundaries, read_incidents
from ward_geo.schema import BOUNDARY_COLUMNS, INCIDENT_COLUMNS, slugify

WEST_YORKSHIRE = (
    "2016-07-west-yorkshire-street.csv",
    "2017-07-west-yorkshire-street.csv",
    "2018-07-west-yorkshire-street.csv",
)


def _consistent(report) -> None:
    assert report.rows_read == report.rows_accepted + report.rows_rejected
    assert set(report.rejected_rows()) <= set(range(1, report.rows_read + 1))
    assert len(report.rejected_rows()) == report.rows_rejected


# ------------------------------------------------------------------ boundaries
def test_hanoi_boundaries(hanoi_boundaries_path: Path):
    wards, report = read_boundaries(hanoi_boundaries_path, return_report=True)
    assert len(wards) == 126
    assert tuple(wards.columns) == BOUNDARY_COLUMNS
    assert wards.crs.to_epsg() == 4326
    assert wards["ward_id"].is_unique
    assert {"phuong-ba-dinh", "phuong-hoan-kiem", "phuong-cua-nam", "phuong-van-mieu-quoc-tu-giam"} <= set(
        wards["ward_id"]
    )
    raw = pd.Series(__import__("geopandas").read_file(hanoi_boundaries_path, engine="pyogrio")["name"])
    assert wards["ward_id"].tolist() == [slugify(n) for n in raw]
    assert all(n == __import__("unicodedata").normalize("NFC", n) for n in wards["name"])
    assert wards.loc[wards.ward_id == "phuong-ba-dinh", "name"].item() == "Phường Ba Đình"
    assert wards.loc[wards.ward_id == "phuong-ba-dinh", "name_en"].item() == "Ba Dinh Ward"
    assert str(wards["population"].dtype) == "Int64"
    assert wards["population"].notna().sum() > 0
    assert set(wards.geom_type) <= {"Polygon", "MultiPolygon"}
    assert wards.is_valid.all()
    polys = shapely.get_parts(wards.geometry.values)
    assert shapely.is_ccw(shapely.get_exterior_ring(polys)).all()
    assert report.rows_read == report.rows_accepted == 126 and report.rows_rejected == 0


# ------------------------------------------------------------------ West Yorkshire
@pytest.mark.parametrize("name", WEST_YORKSHIRE)
def test_west_yorkshire_every_row_accounted_for(incidents_dir: Path, name: str):
    path = incidents_dir / "police_uk_west_yorkshire" / name
    raw = pd.read_csv(path)
    gdf, report = read_incidents(path, return_report=True)
    _consistent(report)
    assert report.rows_read == len(raw)
    # rows without coordinates are exactly the rejected rows, each with its row number and field
    no_coords = np.flatnonzero(raw["Longitude"].isna().to_numpy() | raw["Latitude"].isna().to_numpy()) + 1
    assert len(no_coords) > 0
    assert report.rejected_rows() == no_coords.tolist()
    assert {(i.field, i.reason) for i in report.issues_for(action="rejected")} == {
        ("Longitude", "missing longitude"),
        ("Latitude", "missing latitude"),
    }
    first = int(no_coords[0])
    assert [(i.row, i.field) for i in report.issues_for(row=first)] == [(first, "Longitude"), (first, "Latitude")]
    # month-only times, category mapping for every police.uk crime type
    assert (gdf["time_precision"] == "month").all()
    month = name[:7]
    assert (gdf["occurred_at"] == pd.Timestamp(f"{month}-01T00:00:00", tz="Asia/Ho_Chi_Minh")).all()
    assert report.unmapped_categories == {}
    assert set(gdf["category"]) <= set(CATEGORY_CODES)
    kept_raw = raw.drop(index=no_coords - 1)
    assert gdf["category_raw"].value_counts().to_dict() == kept_raw["Crime type"].value_counts().to_dict()
    assert gdf["incident_id"].is_unique
    assert tuple(gdf.columns) == INCIDENT_COLUMNS
    # rows without a Crime ID got generated ids; those with one kept it
    with_id = kept_raw["Crime ID"].notna().to_numpy()
    assert (gdf["incident_id"].to_numpy()[with_id] == kept_raw["Crime ID"].to_numpy()[with_id]).all()
    assert all(i.startswith("g-") for i in gdf["incident_id"].to_numpy()[~with_id])


def test_west_yorkshire_ids_stable_across_reads(incidents_dir: Path):
    path = incidents_dir / "police_uk_west_yorkshire" / WEST_YORKSHIRE[0]
    assert read_incidents(path)["incident_id"].tolist() == read_incidents(path)["incident_id"].tolist()


def test_west_yorkshire_outside_hanoi(incidents_dir: Path, hanoi_wards):
    path = incidents_dir / "police_uk_west_yorkshire" / WEST_YORKSHIRE[2]
    gdf, report = read_incidents(path, boundaries=hanoi_wards, return_report=True)
    assert report.outside_wards == report.rows_accepted == len(gdf)
    assert gdf["ward_id"].isna().all()
    assert report.rows_repaired == 0  # nothing is "swapped" into Hanoi


# ------------------------------------------------------------------ other cities
def test_san_francisco_robbery(incidents_dir: Path):
    gdf, report = read_incidents(incidents_dir / "san_francisco_robbery.csv", return_report=True)
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (951, 951, 0)
    assert report.issues == []
    assert (gdf["category"] == "robbery").all()
    assert (gdf["category_raw"] == "personal robbery").all()
    assert (gdf["time_precision"] == "exact").all()
    first = gdf.iloc[0]
    assert first["incident_id"] == "24103841"
    assert first["occurred_at"] == pd.Timestamp("2019-01-01T19:50:00Z")
    assert (first.geometry.x, first.geometry.y) == (-122.402066, 37.788721)


def test_cincinnati_burglary_gzip_with_duplicated_ids(incidents_dir: Path):
    path = incidents_dir / "cincinnati_burglary.csv.gz"
    raw = pd.read_csv(path, dtype=str)
    gdf, report = read_incidents(path, return_report=True)
    _consistent(report)
    assert report.rows_read == len(raw) == 8723
    assert (gdf["category"] == "burglary").all()
    assert gdf["incident_id"].is_unique
    # recompute the expected outcome independently with pandas
    has_xy = raw["longitude"].notna() & raw["latitude"].notna()
    usable = raw[has_xy].copy()
    usable["row"] = usable.index + 1
    groups = usable.groupby("incident_no")
    sizes = groups["row"].transform("size")
    usable["longitude"] = usable["longitude"].astype(float).round(7)
    usable["latitude"] = usable["latitude"].astype(float).round(7)
    groups = usable.groupby("incident_no")
    distinct = groups[["offense_date", "offense", "longitude", "latitude"]].transform("nunique").max(axis=1)
    identical_dups = usable[(sizes > 1) & (distinct == 1)]
    conflicting = usable[(sizes > 1) & (distinct > 1)]
    dropped = len(identical_dups) - identical_dups["incident_no"].nunique()
    assert report.duplicates_dropped == dropped  # every repeated id here also has conflicting rows
    assert len(conflicting) > 0
    expected_accepted = int(has_xy.sum()) - dropped - len(conflicting)
    assert report.rows_accepted == expected_accepted
    conflict_rows = set(conflicting["row"])
    reported = {i.row for i in report.issues if i.reason.startswith("conflicting duplicate incident_id")}
    assert reported == conflict_rows
    assert {i.field for i in report.issues} == {"incident_no", "longitude", "latitude"}
    assert not set(conflicting["incident_no"]) & set(gdf["incident_id"])


def test_tempe_opioid_calls_forced_category_and_local_zone(incidents_dir: Path):
    gdf, report = read_incidents(
        incidents_dir / "tempe_opioid_calls.csv", category="drugs", timezone="America/Phoenix", return_report=True
    )
    assert report.rows_read == report.rows_accepted == 3379
    assert (gdf["category"] == "drugs").all()
    assert (gdf["time_precision"] == "day").all()
    assert gdf["occurred_at"].iloc[0] == pd.Timestamp("2017-01-03T00:00:00", tz="America/Phoenix")
    assert gdf["incident_id"].is_unique  # identical rows without ids stay separate incidents


def test_tempe_without_category_is_other_with_one_warning(incidents_dir: Path):
    gdf, report = read_incidents(incidents_dir / "tempe_opioid_calls.csv", return_report=True)
    assert (gdf["category"] == "other").all()
    assert [(i.row, i.field, i.action) for i in report.issues] == [(None, "category", "warning")]


def test_czechia_collisions_geopackage(incidents_dir: Path):
    path = incidents_dir / "czechia_collisions.gpkg"
    gdf, report = read_incidents(path, category="traffic_accident", return_report=True)
    _consistent(report)
    assert report.rows_read == 5020
    raw = __import__("geopandas").read_file(path, engine="pyogrio")
    missing_date = (np.flatnonzero(raw["date"].isna().to_numpy()) + 1).tolist()
    assert report.rejected_rows() == missing_date
    assert [(i.field, i.reason) for i in report.issues] == [("date", "missing time")] * len(missing_date)
    assert report.crs_in == "EPSG:4326"
    assert (gdf["category"] == "traffic_accident").all()
    assert (gdf["time_precision"] == "exact").all()
    assert gdf["incident_id"].iloc[0] == "13115324"
    assert gdf["occurred_at"].iloc[0] == pd.Timestamp("2020-01-01T00:20:00Z")
