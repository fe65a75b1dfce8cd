"""The shared helpers every layer uses: Problems, the table checks, json_safe, wards, time zones."""

from __future__ import annotations

import datetime as dt
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from ward_geo.errors import InputError, NotFoundError, ParameterError
from ward_geo.jsonsafe import json_safe
from ward_geo.problems import Problems
from ward_geo.schema import check_boundaries, check_incidents
from ward_geo.settings import resolve_timezone
from ward_geo.wards import resolve_ward_ids


def _incidents(ids: list[str], geoms: list[object], crs: str | None = "EPSG:4326") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"incident_id": ids, "category": ["drug"] * len(ids),
         "occurred_at": pd.to_datetime(["2025-01-01"] * len(ids), utc=True)},
        geometry=geoms, crs=crs,
    )


def test_problems_collects_every_problem_and_raises_once() -> None:
    problems = Problems("incidents")
    problems.add("must be a Point", field="geometry", row=3)
    problems.add_rows(range(300), "is missing", field="incident_id", limit=5)
    assert len(problems) == 301
    with pytest.raises(InputError) as caught:
        problems.raise_if_any()
    err = caught.value
    assert err.message.startswith("incidents: row 3, field geometry: must be a Point; row 0, field incident_id")
    assert "and 295 more" in err.message
    assert err.details["problem_count"] == 301
    assert len(err.details["problems"]) == 6


def test_problems_without_problems_does_not_raise() -> None:
    Problems("x").raise_if_any()


def test_check_incidents_lists_missing_geometry_other_types_and_repeated_ids_together() -> None:
    frame = _incidents(["a", "b", "b", "c"], [Point(105.8, 21.0), None, Point(105.8, 21.0),
                                             LineString([(105.8, 21.0), (105.9, 21.1)])])
    with pytest.raises(InputError) as caught:
        check_incidents(frame)
    message = caught.value.message
    assert "rows 1); expected a Point" in message
    assert "LineString" in message and "rows 3" in message
    assert "rows share ids (rows 1, 2" in message and "'b'" in message
    fields = {p["field"] for p in caught.value.details["problems"]}
    assert fields == {"geometry", "incident_id"}


def test_check_incidents_names_missing_columns_and_crs() -> None:
    frame = gpd.GeoDataFrame({"incident_id": ["a"]}, geometry=[Point(1, 1)])
    with pytest.raises(InputError) as caught:
        check_incidents(frame)
    assert "'category'" in caught.value.message and "'occurred_at'" in caught.value.message
    assert "no CRS" in caught.value.message


def test_check_incidents_reprojects_and_accepts_sorted_unique_ids() -> None:
    frame = _incidents(["a", "b"], [Point(105.8, 21.0), Point(105.81, 21.01)]).to_crs(3405)
    out = check_incidents(frame)
    assert out.crs.to_epsg() == 4326
    assert out.geometry.x.round(6).tolist() == [105.8, 105.81]


def test_check_incidents_refuses_non_finite_coordinates() -> None:
    frame = _incidents(["a", "b"], [Point(105.8, 21.0), Point(math.nan, 21.0)])
    with pytest.raises(InputError, match="NaN or infinite coordinates"):
        check_incidents(frame)


def test_check_boundaries_lists_repeated_ids_and_non_polygons() -> None:
    frame = gpd.GeoDataFrame({"ward_id": ["w1", "w1", None], "name": ["A", "B", "C"]},
                             geometry=[box(0, 0, 1, 1), Point(0, 0), box(1, 1, 2, 2)], crs="EPSG:4326")
    with pytest.raises(InputError) as caught:
        check_boundaries(frame)
    message = caught.value.message
    assert "no ward_id" in message and "ward ids repeat (rows 0, 1)" in message
    assert "not polygons (rows 1)" in message


def test_json_safe_output_and_lossless_modes() -> None:
    value = {1: np.int64(3), "x": [np.float32(0.5), math.inf, math.nan], "t": pd.Timestamp("2025-01-01T00:00Z"),
             "d": dt.date(2025, 1, 2), "s": {"b", "a"}}
    assert json_safe(value) == {"1": 3, "x": [0.5, None, None], "t": "2025-01-01T00:00:00+00:00",
                                "d": "2025-01-02", "s": ["a", "b"]}
    stored = json_safe({"x": [math.inf, -math.inf]}, lossless=True)
    assert stored == {"x": ["Infinity", "-Infinity"]}
    with pytest.raises(InputError, match=r"attrs\['s'\]: cannot store a value of type set"):
        json_safe({"s": {"a"}}, lossless=True, where="attrs")


def test_json_safe_writes_numpy_durations_as_iso_durations() -> None:
    assert json_safe(np.timedelta64(90, "m")) == "P0DT1H30M0S"
    assert json_safe(np.timedelta64("NaT")) is None
    assert json_safe({True: 1}) == {"true": 1}


def test_json_safe_reads_naive_times_in_the_configured_zone_unless_lossless() -> None:
    naive = pd.Timestamp("2025-01-01 08:00")
    assert json_safe(naive) == "2025-01-01T08:00:00+07:00"
    assert json_safe(naive, lossless=True) == "2025-01-01T08:00:00"


@pytest.fixture()
def wards() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"ward_id": ["phuong-hoan-kiem", "phuong-ba-dinh"],
                             "name": ["Phường Hoàn Kiếm", "Phường Ba Đình"]},
                            geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs="EPSG:4326")


def test_resolve_ward_ids_accepts_ids_names_nfd_and_plain_letters(wards: gpd.GeoDataFrame) -> None:
    import unicodedata

    nfd = unicodedata.normalize("NFD", "Phường Ba Đình")
    assert resolve_ward_ids(wards, ["Phường Hoàn Kiếm", "phuong-hoan-kiem", nfd, "PHUONG BA DINH"]) == [
        "phuong-hoan-kiem", "phuong-ba-dinh"]
    assert resolve_ward_ids(wards, "phuong-ba-dinh") == ["phuong-ba-dinh"]


def test_resolve_ward_ids_names_every_unknown_ward_with_a_suggestion(wards: gpd.GeoDataFrame) -> None:
    with pytest.raises(NotFoundError) as caught:
        resolve_ward_ids(wards, ["Phường Hoàn Kiêm x", "Atlantis"])
    message = caught.value.message
    assert "'Atlantis'" in message and "did you mean Phường Hoàn Kiếm (phuong-hoan-kiem)" in message, message
    with pytest.raises(ParameterError):
        resolve_ward_ids(wards, [])


def test_resolve_timezone_defaults_and_refuses_unknown_names() -> None:
    assert resolve_timezone(None).key == "Asia/Ho_Chi_Minh"
    assert resolve_timezone("Europe/Paris").key == "Europe/Paris"
    with pytest.raises(ParameterError, match="not an IANA time zone"):
        resolve_timezone("Mars/Olympus")
