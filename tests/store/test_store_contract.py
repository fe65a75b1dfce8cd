"""The shared store suite: every IncidentStore implementation must pass all of it."""

from __future__ import annotations

import unicodedata

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from _store_data import BASE_TIME, make_boundaries, make_incidents
from shapely.geometry import LineString, Point

from ward_geo.errors import InputError, ParameterError
from ward_geo.schema import INCIDENT_COLUMNS, conform_incidents

IDS = lambda frame: sorted(frame["incident_id"])  # noqa: E731


def assert_same_incidents(got: gpd.GeoDataFrame, want: gpd.GeoDataFrame) -> None:
    """Row-by-row equality after sorting by id: every column, exact floats, exact text."""
    got = got.sort_values("incident_id").reset_index(drop=True)
    want = conform_incidents(want).sort_values("incident_id").reset_index(drop=True)
    assert list(got.columns) == list(INCIDENT_COLUMNS)
    assert got.crs.to_epsg() == 4326
    assert len(got) == len(want)
    for col in ("incident_id", "category", "category_raw", "time_precision", "description", "source", "ward_id"):
        assert got[col].tolist() == want[col].tolist(), col
    assert got["occurred_at"].dtype == "datetime64[ns, UTC]"
    assert (got["occurred_at"] == want["occurred_at"].dt.tz_convert("UTC")).all()
    np.testing.assert_array_equal(got["severity"].to_numpy(), want["severity"].to_numpy())
    np.testing.assert_array_equal(shapely.get_coordinates(got.geometry), shapely.get_coordinates(want.geometry))


# ---------------------------------------------------------------------- round trip


def test_empty_store_returns_canonical_empty_frame(store):
    out = store.query()
    assert list(out.columns) == list(INCIDENT_COLUMNS)
    assert len(out) == 0 and out.crs.to_epsg() == 4326
    assert out["occurred_at"].dtype == "datetime64[ns, UTC]"
    assert store.count() == 0
    assert store.get("nope") is None
    assert store.ward_counts().empty
    assert store.boundaries().empty


def test_ingest_round_trips_every_column(store):
    data = make_incidents(range(40))
    result = store.ingest(data)
    assert (result.added, result.duplicates) == (40, 0)
    assert_same_incidents(store.query(), data)
    assert store.count() == 40


def test_get_returns_one_canonical_row(store):
    data = make_incidents(range(5))
    store.ingest(data)
    row = store.get("inc-0000003")
    assert row is not None
    assert row["category"] == data.loc[3, "category"]
    assert row["occurred_at"] == data.loc[3, "occurred_at"]
    assert row["geometry"].equals(data.geometry[3])
    assert store.get("inc-9999999") is None


def test_vietnamese_and_html_text_round_trip_byte_exact(store):
    texts = [
        unicodedata.normalize("NFC", "Phường Hoàn Kiếm: tụ điểm ma túy ở ngõ 14"),
        unicodedata.normalize("NFD", "Phường Hoàn Kiếm: tụ điểm ma túy ở ngõ 14"),
        '<img src=x onerror="alert(1)"> &lt;b&gt; \'quote\' "double" \\ backslash',
        "tabs\tand\nnewlines\r\nand emoji 🚓 and zero-width\u200bspace",
        "x" * 100_000,
        "",
    ]
    data = make_incidents(range(len(texts)))
    data["description"] = texts
    data["category_raw"] = ["Trộm cắp tài sản", "TÍN DỤNG ĐEN", "<i>x</i>", "a'b", "é", "ﬁ"]
    store.ingest(data)
    out = store.query(order="incident_id")
    assert [t.encode("utf-8") for t in out["description"]] == [t.encode("utf-8") for t in texts]
    assert out["category_raw"].tolist() == data["category_raw"].tolist()
    # NFC and NFD forms are different rows' content, kept apart
    assert out["description"][0] != out["description"][1]


def test_nan_severity_is_stored_as_null_and_comes_back_nan(store, spec):
    data = make_incidents(range(14))
    assert data["severity"].isna().sum() == 2
    store.ingest(data)
    out = store.query(order="incident_id")
    assert out["severity"].isna().tolist() == data["severity"].isna().tolist()
    assert spec.raw("SELECT count(*) FROM {t} WHERE severity IS NULL")[0][0] == 2
    # NaN is not a value: no stored severity is a float NaN
    assert spec.raw("SELECT count(*) FROM {t} WHERE severity IS NOT NULL")[0][0] == 12


def test_times_are_tz_aware_utc_to_the_microsecond(store):
    data = make_incidents(range(3))
    local = pd.to_datetime(
        ["2025-03-01 07:30:00.123456", "2025-12-31 23:59:59.999999", "1999-01-01 00:00:00.000000"]
    ).tz_localize("Asia/Ho_Chi_Minh")
    data["occurred_at"] = local
    store.ingest(data)
    out = store.query(order="incident_id")
    assert str(out["occurred_at"].dt.tz) == "UTC"
    assert out["occurred_at"].tolist() == [t.tz_convert("UTC") for t in local]
    assert out["occurred_at"][0] == pd.Timestamp("2025-03-01T00:30:00.123456Z")


def test_sub_microsecond_digits_are_floored(store):
    data = make_incidents(range(1))
    data["occurred_at"] = pd.to_datetime(["2025-01-01T00:00:00.000001999Z"])
    store.ingest(data)
    assert store.query()["occurred_at"][0] == pd.Timestamp("2025-01-01T00:00:00.000001Z")
    # and re-ingesting the same nanosecond value is a duplicate, not a conflict
    assert store.ingest(data).duplicates == 1


def test_projected_input_is_reprojected_to_wgs84(store):
    data = make_incidents(range(3))
    metric = data.to_crs("EPSG:3405")
    store.ingest(metric)
    out = store.query(order="incident_id")
    np.testing.assert_allclose(
        shapely.get_coordinates(out.geometry), shapely.get_coordinates(data.geometry), atol=1e-9
    )


# ---------------------------------------------------------------------- idempotence and atomicity


def test_reingesting_the_same_rows_adds_nothing(store):
    data = make_incidents(range(30))
    first = store.ingest(data, source="file-a.csv")
    version = store.data_version()
    again = store.ingest(data, source="file-a.csv")
    assert (again.added, again.duplicates) == (0, 30)
    assert store.count() == 30
    assert store.data_version() == version
    log = store.batches()
    assert log["batch_id"].tolist() == [first.batch_id, again.batch_id]
    assert log["added"].tolist() == [30, 0] and log["duplicates"].tolist() == [0, 30]
    assert log["source"].tolist() == ["file-a.csv", "file-a.csv"]


def test_overlapping_batch_adds_only_the_new_rows(store):
    store.ingest(make_incidents(range(0, 20)))
    version = store.data_version()
    result = store.ingest(make_incidents(range(10, 35)))
    assert (result.added, result.duplicates) == (15, 10)
    assert IDS(store.query()) == [f"inc-{i:07d}" for i in range(35)]
    assert store.data_version() != version


def test_identical_rows_repeated_in_one_batch_are_kept_once(store):
    data = make_incidents(range(5))
    doubled = pd.concat([data, data.iloc[[1, 3]]], ignore_index=True)
    result = store.ingest(gpd.GeoDataFrame(doubled, crs=data.crs))
    assert (result.added, result.duplicates) == (5, 2)
    assert store.count() == 5


def test_a_conflicting_row_rejects_the_whole_batch(store):
    store.ingest(make_incidents(range(10)))
    version = store.data_version()
    batch = make_incidents(range(5, 20))  # 5..9 stored identically, 10..19 new
    batch.loc[batch["incident_id"] == "inc-0000007", "description"] = "sửa đổi"
    batch.loc[batch["incident_id"] == "inc-0000008", "geometry"] = Point(105.9, 21.1)
    with pytest.raises(InputError) as info:
        store.ingest(batch)
    assert info.value.details["conflicting_ids"] == ["inc-0000007", "inc-0000008"]
    assert "inc-0000007" in info.value.message and "nothing was written" in info.value.message
    assert [(i.row, i.field, i.value) for i in info.value.report.issues] == [
        (3, "incident_id", "inc-0000007"),
        (4, "incident_id", "inc-0000008"),
    ]
    assert store.count() == 10
    assert IDS(store.query()) == [f"inc-{i:07d}" for i in range(10)]
    assert store.data_version() == version
    assert len(store.batches()) == 1


def test_conflict_inside_one_batch_rejects_it(store):
    data = make_incidents(range(4))
    clash = data.iloc[[2]].copy()
    clash["severity"] = 9.0
    batch = gpd.GeoDataFrame(pd.concat([data, clash], ignore_index=True), crs=data.crs)
    with pytest.raises(InputError) as info:
        store.ingest(batch)
    assert info.value.details["conflicting_ids"] == ["inc-0000002"]
    assert [i.row for i in info.value.report.issues] == [3, 5]
    assert store.count() == 0


def test_invalid_rows_are_all_reported_and_nothing_is_written(store):
    data = make_incidents(range(8))
    data.loc[1, "incident_id"] = None
    data.loc[2, "category"] = "jaywalking"
    data.loc[3, "geometry"] = LineString([(105.8, 21.0), (105.9, 21.1)])
    data.loc[4, "geometry"] = Point(205.0, 21.0)
    data.loc[5, "severity"] = -1.0
    data.loc[6, "occurred_at"] = pd.NaT
    data.loc[7, "description"] = "nul\x00byte"
    with pytest.raises(InputError) as info:
        store.ingest(data)
    expected = {
        (2, "incident_id"),
        (3, "category"),
        (4, "geometry"),
        (5, "geometry"),
        (6, "severity"),
        (7, "occurred_at"),
        (8, "description"),
    }  # 1-based rows, as in a ValidationReport
    assert {(p["row"], p["field"]) for p in info.value.details["problems"]} == expected
    assert "7 of 8 incident row(s) cannot be stored" in info.value.message
    report = info.value.report
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (8, 0, 8)
    assert {(i.row, i.field) for i in report.issues} == expected
    assert store.count() == 0
    assert store.batches().empty


def test_data_version_changes_only_when_rows_are_added(store):
    v0 = store.data_version()
    store.ingest(make_incidents(range(3)))
    v1 = store.data_version()
    store.ingest(make_incidents(range(3)))
    assert store.data_version() == v1 != v0
    store.ingest(make_incidents(range(3, 4)))
    assert store.data_version() not in (v0, v1)


def test_source_argument_fills_missing_row_sources(store):
    data = make_incidents(range(3))
    data["source"] = [None, "own", None]
    store.ingest(data, source="upload.csv")
    assert store.query(order="incident_id")["source"].tolist() == ["upload.csv", "own", "upload.csv"]
    assert store.batches()["source"].tolist() == ["upload.csv"]


# ---------------------------------------------------------------------- filters


@pytest.fixture
def loaded(store):
    data = make_incidents(range(200))
    store.ingest(data)
    return store, data


def _ids(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["incident_id"].tolist())


def test_filter_by_ward(loaded):
    store, data = loaded
    got = store.query(ward_ids=["phuong-hoan-kiem", "phuong-dong-da"])
    want = data[data["ward_id"].isin(["phuong-hoan-kiem", "phuong-dong-da"])]
    assert _ids(got) == _ids(want) and len(got) == 100
    assert store.count(ward_ids="phuong-ba-dinh") == 50
    assert store.count(ward_ids=[]) == 0 and store.query(ward_ids=[]).empty


def test_filter_by_category(loaded):
    store, data = loaded
    got = store.query(categories=["drugs"])
    assert _ids(got) == _ids(data[data["category"] == "drugs"])
    assert store.count(categories=["theft", "robbery"]) == 80


def test_filter_by_half_open_time_window(loaded):
    store, data = loaded
    since = BASE_TIME + pd.Timedelta(hours=10, microseconds=10)  # exactly row 10
    until = BASE_TIME + pd.Timedelta(hours=20, microseconds=20)  # exactly row 20, excluded
    got = store.query(since=since, until=until)
    assert _ids(got) == [f"inc-{i:07d}" for i in range(10, 20)]
    assert store.count(since=since) == 190
    assert store.count(until=until) == 20


def test_naive_filter_times_are_read_in_the_configured_zone(loaded):
    store, _ = loaded
    # 2025-01-01 12:00 in Hanoi is 05:00 UTC: rows 5.. (row 5 is at 05:00:00.000005 UTC)
    assert store.count(since="2025-01-01 12:00") == 195
    assert store.count(since=pd.Timestamp("2025-01-01 12:00", tz="UTC")) == 188


def test_filter_by_bbox_edges_included(loaded):
    store, data = loaded
    # grid: lon 105.80 + (i % 50) * 0.002, lat 21.00 + (i // 50) * 0.002
    box = (105.80 + 10 * 0.002, 21.00, 105.80 + 12 * 0.002, 21.00 + 1 * 0.002)
    got = store.query(bbox=box)
    x, y = data.geometry.x, data.geometry.y
    want = data[(x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])]
    assert len(want) == 6
    assert _ids(got) == _ids(want)
    assert store.count(bbox=box) == 6
    assert store.count(bbox=(0.0, 0.0, 1.0, 1.0)) == 0


def test_filters_combine(loaded):
    store, data = loaded
    box = (105.80, 21.00, 105.85, 21.01)
    got = store.query(ward_ids=["phuong-hoan-kiem"], categories=["theft", "drugs"], since="2025-01-02", bbox=box)
    x, y = data.geometry.x, data.geometry.y
    want = data[
        (data["ward_id"] == "phuong-hoan-kiem")
        & data["category"].isin(["theft", "drugs"])
        & (data["occurred_at"] >= pd.Timestamp("2025-01-02", tz="Asia/Ho_Chi_Minh"))
        & (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])
    ]
    assert len(want) > 0
    assert _ids(got) == _ids(want)
    n = store.count(ward_ids=["phuong-hoan-kiem"], categories=["theft", "drugs"], since="2025-01-02", bbox=box)
    assert n == len(want)


def test_paging_is_ordered_and_complete(loaded):
    store, data = loaded
    pages = [store.query(limit=30, offset=k) for k in range(0, 200, 30)]
    assert [len(p) for p in pages] == [30] * 6 + [20]
    ids = [i for p in pages for i in p["incident_id"]]
    assert ids == [f"inc-{i:07d}" for i in range(200)]  # ordered by occurred_at
    newest = store.query(order="-occurred_at", limit=3)
    assert newest["incident_id"].tolist() == ["inc-0000199", "inc-0000198", "inc-0000197"]
    by_id = store.query(order="incident_id", limit=2, offset=198)
    assert by_id["incident_id"].tolist() == ["inc-0000198", "inc-0000199"]
    assert store.query(limit=0).empty
    assert len(store.query(offset=195)) == 5


def test_insertion_order(store):
    store.ingest(make_incidents([5, 3, 9]))
    store.ingest(make_incidents([1, 3]))
    ids = store.query(order=None)["incident_id"].tolist()
    assert ids == ["inc-0000005", "inc-0000003", "inc-0000009", "inc-0000001"]


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"bbox": (1, 2, 3)}, "bbox"),
        ({"bbox": (3, 0, 1, 1)}, "bbox"),
        ({"since": "not a date"}, "since"),
        ({"limit": -1}, "limit"),
        ({"offset": 1.5}, "offset"),
        ({"order": "severity"}, "order"),
        ({"ward_ids": [1, 2]}, "ward_ids"),
    ],
)
def test_bad_filter_arguments_raise_parameter_error(store, kwargs, word):
    with pytest.raises(ParameterError, match=word):
        store.query(**kwargs)


# ---------------------------------------------------------------------- boundaries and ward counts


def test_boundaries_round_trip_and_ward_counts(store):
    wards = make_boundaries()
    assert store.put_boundaries(wards) == 3
    out = store.boundaries()
    assert out["ward_id"].tolist() == ["phuong-ba-dinh", "phuong-dong-da", "phuong-hoan-kiem"]
    assert out.crs.to_epsg() == 4326
    by_id = out.set_index("ward_id")
    for _, w in wards.iterrows():
        got = by_id.loc[w["ward_id"]]
        assert got["name"].encode() == w["name"].encode()
        assert got["geometry"].equals_exact(w["geometry"], 0)
    assert pd.isna(by_id.loc["phuong-dong-da", "population"])
    assert by_id.loc["phuong-hoan-kiem", "population"] == 126000
    assert store.boundaries(ward_ids=["phuong-ba-dinh"])["name"].tolist() == ["Phường Ba Đình"]

    store.ingest(make_incidents(range(40)))
    counts = store.ward_counts().set_index("ward_id")
    assert counts.index.tolist() == ["phuong-ba-dinh", "phuong-dong-da", "phuong-hoan-kiem"]
    assert counts["n_incidents"].tolist() == [10, 10, 10]
    # areas agree with the planar area in UTM zone 48N (scale error there < 0.1 %)
    utm = wards.to_crs("EPSG:32648").set_index("ward_id").area / 1e6
    for ward_id, area in utm.items():
        assert counts.loc[ward_id, "area_km2"] == pytest.approx(area, rel=1e-3)
    assert 1.1 < counts.loc["phuong-hoan-kiem", "area_km2"] < 1.2  # 0.01 degree square at 21 N
    assert counts.loc["phuong-ba-dinh", "name"] == "Phường Ba Đình"


def test_ward_counts_list_wards_known_only_from_incidents(store):
    store.ingest(make_incidents(range(8)))
    counts = store.ward_counts()
    assert counts["ward_id"].tolist() == ["phuong-ba-dinh", "phuong-dong-da", "phuong-hoan-kiem"]
    assert counts["n_incidents"].tolist() == [2, 2, 2]
    assert counts["name"].isna().all() and counts["area_km2"].isna().all()


def test_put_boundaries_is_idempotent_and_versions_changes(store):
    wards = make_boundaries()
    store.put_boundaries(wards)
    version = store.data_version()
    assert store.put_boundaries(wards) == 0
    assert store.data_version() == version
    changed = wards.iloc[[0]].copy()
    changed["population"] = pd.array([130000], dtype="Int64")
    assert store.put_boundaries(changed) == 1
    assert store.data_version() != version
    assert store.boundaries(ward_ids="phuong-hoan-kiem")["population"].tolist() == [130000]
    assert len(store.boundaries()) == 3


def test_bad_boundaries_are_reported_and_not_written(store):
    wards = make_boundaries()
    wards.loc[1, "ward_id"] = "phuong-hoan-kiem"
    wards.loc[2, "geometry"] = Point(105.8, 21.0)
    with pytest.raises(InputError) as info:
        store.put_boundaries(wards)
    assert {(p["row"], p["field"]) for p in info.value.details["problems"]} == {(2, "ward_id"), (3, "geometry")}
    assert store.boundaries().empty


def test_real_hanoi_boundaries(store, hanoi_boundaries_path):
    raw = gpd.read_file(hanoi_boundaries_path)
    from ward_geo.schema import slugify

    wards = gpd.GeoDataFrame(
        {
            "ward_id": [slugify(n) for n in raw["name"]],
            "name": raw["name"],
            "name_en": raw.get("name:en"),
            "population": pd.to_numeric(raw.get("population"), errors="coerce").astype("Int64"),
        },
        geometry=raw.geometry,
        crs=raw.crs,
    )
    assert store.put_boundaries(wards) == len(wards) == 126
    counts = store.ward_counts().set_index("ward_id")
    # Hoan Kiem ward (2025) is about 1.8 km2; every ward has a positive area
    assert 1.0 < counts.loc["phuong-hoan-kiem", "area_km2"] < 3.0
    assert (counts["area_km2"] > 0).all()
    back = store.boundaries().set_index("ward_id").loc[wards["ward_id"]]
    assert back.geometry.geom_equals_exact(wards.set_index("ward_id").geometry, 0).all()


def test_same_incident_from_another_source_is_a_duplicate(store):
    store.ingest(make_incidents(range(4), source="export-2025-03.csv"))
    result = store.ingest(make_incidents(range(6), source="export-2025-03 (copy).csv"))
    assert (result.added, result.duplicates) == (2, 4)
    sources = store.query(order="incident_id")["source"].tolist()
    assert sources == ["export-2025-03.csv"] * 4 + ["export-2025-03 (copy).csv"] * 2


def test_empty_batch_is_logged_and_changes_nothing(store):
    version = store.data_version()
    result = store.ingest(make_incidents([]), source="empty.csv")
    assert (result.added, result.duplicates) == (0, 0)
    assert result.to_dict() == {"batch_id": result.batch_id, "added": 0, "duplicates": 0, "rejected": 0}
    assert store.count() == 0 and store.data_version() == version
    assert store.batches()["source"].tolist() == ["empty.csv"]
