"""ReaderOptions: one object of reading options beside the readers' keywords."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import geopandas as gpd
import pytest

import ward_geo
from ward_geo.io import ReaderOptions
from ward_geo.io.readers import read_boundaries, read_incidents, validate_incidents

CSV = (
    "ma,loai,kd,vd,luc\n"
    "a1,theft,105.8412,21.0285,2024-03-01 08:00\n"
    "a2,mystery,105.8420,21.0290,2024-03-02 09:30\n"
)


def test_options_object_reads_like_the_keywords(write_csv) -> None:
    path = write_csv(CSV)
    opts = ReaderOptions(lon="kd", lat="vd", id_field="ma", category_field="loai", time_field="luc",
                         category_map={"mystery": "burglary"}, timezone="UTC", source="station-7")
    by_options = read_incidents(path, options=opts)
    by_keywords = read_incidents(path, lon="kd", lat="vd", id_field="ma", category_field="loai", time_field="luc",
                                 category_map={"mystery": "burglary"}, timezone="UTC", source="station-7")
    assert list(by_options["incident_id"]) == ["a1", "a2"]
    assert list(by_options["category"]) == list(by_keywords["category"]) == ["theft", "burglary"]
    assert list(by_options["source"]) == ["station-7", "station-7"]
    assert by_options["occurred_at"].equals(by_keywords["occurred_at"])
    assert str(by_options["occurred_at"].iloc[0]) == "2024-03-01 08:00:00+00:00"


def test_keyword_wins_over_the_option(write_csv) -> None:
    path = write_csv(CSV)
    opts = ReaderOptions(lon="kd", lat="vd", id_field="ma", category_field="loai", time_field="luc",
                         timezone="UTC", source="from-options")
    gdf, report = read_incidents(path, options=opts, source="from-keyword", timezone="Asia/Ho_Chi_Minh",
                                 return_report=True)
    assert report.source == "from-keyword"
    assert set(gdf["source"]) == {"from-keyword"}
    assert str(gdf["occurred_at"].iloc[0]) == "2024-03-01 01:00:00+00:00"


def test_validate_incidents_takes_options() -> None:
    opts = ReaderOptions(lon="kd", lat="vd", id_field="ma", category_field="loai", time_field="luc",
                         category="assault")
    gdf = validate_incidents(CSV.encode(), options=opts)
    assert list(gdf["category"]) == ["assault", "assault"]


def test_read_boundaries_takes_options(hanoi_boundaries_path: Path) -> None:
    plain = read_boundaries(hanoi_boundaries_path)
    first = plain["name"].iloc[0]
    named = read_boundaries(hanoi_boundaries_path, options=ReaderOptions(name_field="name"))
    assert isinstance(named, gpd.GeoDataFrame)
    assert list(named["ward_id"]) == list(plain["ward_id"])
    assert named["name"].iloc[0] == first


def test_options_are_frozen_and_exported() -> None:
    opts = ReaderOptions(timezone="UTC")
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.timezone = "Asia/Ho_Chi_Minh"  # type: ignore[misc]
    assert ward_geo.ReaderOptions is ReaderOptions
    assert opts.merged(timezone=None, source="x") == ReaderOptions(timezone="UTC", source="x")
    with pytest.raises(TypeError, match="unknown reader option"):
        opts.merged(colour="red")
