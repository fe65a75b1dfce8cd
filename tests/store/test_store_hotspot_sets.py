"""Hotspot sets in the store: the shared contract every IncidentStore implementation passes."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from _store_data import make_boundaries, make_incidents, square
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import MultiPolygon, Point, Polygon

from ward_geo.errors import InputError, ParameterError, StoreError
from ward_geo.store.base import (
    HOTSPOT_SET_COLUMNS,
    HotspotSetRecord,
    IncidentStore,
    decode_hotspot_features,
    encode_hotspot_features,
)

T0 = pd.Timestamp("2025-06-01T08:00:00Z")
HK, BD, DD = "phuong-hoan-kiem", "phuong-ba-dinh", "phuong-dong-da"


def make_hotspots(n: int = 4, *, offset: int = 0) -> gpd.GeoDataFrame:
    """A hotspot table with every kind of column the engine and the forecasts produce."""
    i = np.arange(n)
    first = pd.Series(
        pd.to_datetime(T0.value - (i + 1) * 86_400_000_000_123, utc=True), dtype="datetime64[ns, UTC]"
    )
    last = first + pd.to_timedelta(i * 3600, unit="s")
    if n > 1:
        first[1] = pd.NaT
    geoms = [square(105.80 + 0.001 * (k + offset), 21.00 + 0.0005 * k, 0.0007) for k in range(n)]
    if n > 2:
        geoms[2] = MultiPolygon([square(105.81, 21.01, 0.0003), square(105.812, 21.012, 0.0002)])
    return gpd.GeoDataFrame(
        {
            "hotspot_id": [f"dbscan-{k + offset:012x}" for k in range(n)],
            "rank": (i + 1).astype(np.int64),
            "name": [f"Ngõ {k + offset} phố Hàng Bạc – \"chợ\" <b>đêm</b>" for k in range(n)],
            "n_incidents": (i * 7 + 3).astype(np.int64),
            "weighted_score": i * 1.25 + 0.1,
            "forecast_mean": np.where(i % 2 == 0, i / 3, np.nan),
            "forecast_upper": np.where(i == n - 1, np.inf, i * 0.5),
            "forecast_n": pd.array([None if k == 0 else k for k in range(n)], dtype="Int64"),
            "is_new": (i % 2 == 0),
            "ward_ids": [[HK] if k % 2 else [HK, BD] for k in range(n)],
            "ward_shares": [{HK: 0.75, BD: 0.25} if k % 2 == 0 else {HK: 1.0} for k in range(n)],
            "member_ids": [[f"inc-{m:07d}" for m in range(k * 3, k * 3 + 3)] for k in range(n)],
            "category_counts": [{"theft": 5 + k, "drugs": 2, "robbery": 1} for k in range(n)],
            "peak_hours": [[int((k + h) % 3) for h in range(24)] for k in range(n)],
            "dominant_category": ["theft" if k % 3 else None for k in range(n)],
            "trend": [None] * n,
            "first_seen": first,
            "last_seen": last,
            "geometry": geoms,
        },
        geometry="geometry",
        crs="EPSG:4326",
    )


def make_record(
    set_id: str = "set-a",
    *,
    key: str = "key-hk",
    data_version: str = "v1",
    created_at: pd.Timestamp = T0,
    ward_ids: tuple[str, ...] = (HK,),
    hotspots: gpd.GeoDataFrame | None = None,
) -> HotspotSetRecord:
    frame = make_hotspots() if hotspots is None else hotspots
    return HotspotSetRecord(
        set_id=set_id,
        key=key,
        data_version=data_version,
        definition={"ward_id": ward_ids[0] if ward_ids else None, "window": {"rule": "last_days", "days": 28},
                    "method": "dbscan", "params": {"eps": 120.0, "min_samples": 5}},
        created_at=created_at,
        ward_ids=ward_ids,
        hotspots=frame,
        attrs={"params": {"method": "dbscan", "eps": np.float64(120.0), "n": np.int64(4), "box": (1, 2)},
               "evidence": {"note": "Phường Hoàn Kiếm"}},
    )


def n_features(spec) -> int:
    return spec.raw("SELECT count(*) FROM {s}hotspot_features")[0][0]


# ---------------------------------------------------------------------- round trip


def test_hotspot_set_round_trips_every_column(store):
    record = make_record()
    store.put_hotspot_set(record)
    got = store.get_hotspot_set("set-a")
    assert isinstance(got, HotspotSetRecord)
    assert_geodataframe_equal(got.hotspots, record.hotspots)
    assert got.hotspots.crs.to_epsg() == 4326
    assert got.hotspots.geometry.geom_equals_exact(record.hotspots.geometry, 0).all()
    assert got.hotspots["first_seen"].dtype == "datetime64[ns, UTC]"
    assert got.hotspots["first_seen"][0] == record.hotspots["first_seen"][0]  # nanoseconds kept
    assert np.isposinf(got.hotspots["forecast_upper"].iloc[-1])
    # nested dicts keep their key order (largest category first)
    assert list(got.hotspots["category_counts"][0]) == ["theft", "drugs", "robbery"]
    assert (got.set_id, got.key, got.data_version) == ("set-a", "key-hk", "v1")
    assert got.created_at == T0 and str(got.created_at.tz) == "UTC"
    assert got.ward_ids == (HK,)
    assert got.definition == {"ward_id": HK, "window": {"rule": "last_days", "days": 28},
                              "method": "dbscan", "params": {"eps": 120.0, "min_samples": 5}}
    want_attrs = {"params": {"method": "dbscan", "eps": 120.0, "n": 4, "box": [1, 2]},
                  "evidence": {"note": "Phường Hoàn Kiếm"}}
    assert got.attrs == want_attrs and got.hotspots.attrs == want_attrs
    assert got.n_hotspots == 4


def test_real_hotspot_table_round_trips(store):
    from ward_geo.analysis.hotspots import find_hotspots

    # regions kept whole (no 250 m split): the sparse test layout would leave no patrol-sized part
    table = find_hotspots(make_incidents(range(600)), boundaries=make_boundaries(), method="kde",
                          max_across_m=1e5, max_area_share=0.99)
    assert len(table) > 0
    record = HotspotSetRecord(
        set_id="kde-1", key="kde", data_version=store.data_version(), definition={"method": "kde"},
        created_at=pd.Timestamp.now("UTC"), ward_ids=(DD,), hotspots=table, attrs=table.attrs,
    )
    store.put_hotspot_set(record)
    got = store.get_hotspot_set("kde-1")
    assert_geodataframe_equal(got.hotspots, table)
    assert got.attrs["params"]["method"] == "kde"
    assert got.created_at == record.created_at


def test_empty_hotspot_set_keeps_its_columns_and_dtypes(store):
    empty = make_hotspots(0)
    store.put_hotspot_set(make_record("empty", hotspots=empty))
    got = store.get_hotspot_set("empty")
    assert len(got.hotspots) == 0
    assert_geodataframe_equal(got.hotspots, empty)
    assert store.hotspot_sets()["n_hotspots"].tolist() == [0]


def test_projected_hotspots_are_stored_in_wgs84(store):
    frame = make_hotspots(2)
    store.put_hotspot_set(make_record(hotspots=frame.to_crs("EPSG:3405")))
    got = store.get_hotspot_set("set-a").hotspots
    assert got.crs.to_epsg() == 4326
    np.testing.assert_allclose(
        shapely.get_coordinates(got.geometry), shapely.get_coordinates(frame.geometry), atol=1e-9
    )


def test_missing_values_round_trip(store):
    frame = make_hotspots(3)
    frame.loc[1, "geometry"] = None
    frame["name"] = pd.Series(["a", None, "c"], dtype="str")
    frame["note"] = pd.Series([None, np.nan, "x"], dtype=object)
    store.put_hotspot_set(make_record(hotspots=frame))
    got = store.get_hotspot_set("set-a").hotspots
    assert got.geometry[1] is None
    assert got["name"].isna().tolist() == [False, True, False]
    assert got["note"].dtype == object
    assert got["note"].tolist() == [None, None, "x"]  # in object columns NaN is stored as null
    assert got["forecast_n"].isna().tolist() == [True, False, False]


# ---------------------------------------------------------------------- idempotence and pruning


def test_put_is_idempotent_and_never_touches_incidents(store, spec):
    store.ingest(make_incidents(range(10)))
    version = store.data_version()
    record = make_record()
    store.put_hotspot_set(record)
    store.put_hotspot_set(record)
    store.put_hotspot_set(make_record(hotspots=make_hotspots(2)))  # same id: the first content stays
    assert store.hotspot_sets()["set_id"].tolist() == ["set-a"]
    assert n_features(spec) == 4
    assert len(store.get_hotspot_set("set-a").hotspots) == 4
    assert store.count() == 10 and store.data_version() == version
    assert len(store.batches()) == 1


def test_same_set_id_for_another_key_or_version_is_refused(store):
    store.put_hotspot_set(make_record())
    for kwargs in ({"key": "other"}, {"data_version": "v2"}):
        with pytest.raises(InputError, match="already stored") as info:
            store.put_hotspot_set(make_record(**kwargs))
        assert info.value.details["stored"] == {"key": "key-hk", "data_version": "v1"}
    assert store.get_hotspot_set("set-a").key == "key-hk"


def test_keeps_the_newest_five_sets_per_key(store, spec):
    order = [3, 0, 6, 1, 5, 2, 4]  # put out of time order: pruning goes by created_at
    for k in order:
        store.put_hotspot_set(
            make_record(f"hk-{k}", data_version=f"v{k}", created_at=T0 + pd.Timedelta(hours=k),
                        hotspots=make_hotspots(2, offset=k))
        )
    store.put_hotspot_set(make_record("bd-0", key="key-bd", ward_ids=(BD,), created_at=T0 - pd.Timedelta(days=9)))
    listing = store.hotspot_sets(key="key-hk")
    assert listing["set_id"].tolist() == ["hk-6", "hk-5", "hk-4", "hk-3", "hk-2"]
    assert store.get_hotspot_set("hk-0") is None and store.get_hotspot_set("hk-1") is None
    assert store.get_hotspot_set("bd-0") is not None  # other keys are not pruned
    assert n_features(spec) == 5 * 2 + 4  # the pruned sets' features are gone too
    # an explicit keep; ties in created_at: the later put counts as newer
    store.put_hotspot_set(make_record("hk-7", data_version="v7", created_at=T0 + pd.Timedelta(hours=6)), keep=2)
    assert store.hotspot_sets(key="key-hk")["set_id"].tolist() == ["hk-7", "hk-6"]


@pytest.mark.parametrize("keep", [0, -1, 2.5, True, None])
def test_bad_keep_is_a_parameter_error(store, keep):
    with pytest.raises(ParameterError, match="keep"):
        store.put_hotspot_set(make_record(), keep=keep)
    assert store.hotspot_sets().empty


# ---------------------------------------------------------------------- finding and listing


def test_find_by_key_and_version_and_latest(store):
    store.put_hotspot_set(make_record("a1", data_version="v1", created_at=T0))
    store.put_hotspot_set(make_record("a2", data_version="v2", created_at=T0 + pd.Timedelta(minutes=5)))
    store.put_hotspot_set(make_record("b1", key="key-b", data_version="v2", created_at=T0 + pd.Timedelta(hours=1)))
    assert store.find_hotspot_set("key-hk", "v1").set_id == "a1"
    assert store.find_hotspot_set("key-hk", "v2").set_id == "a2"
    assert store.find_hotspot_set("key-hk", "v3") is None
    assert store.find_hotspot_set("nope", "v1") is None
    assert store.latest_hotspot_set("key-hk").set_id == "a2"
    assert store.latest_hotspot_set("key-b").set_id == "b1"
    assert store.latest_hotspot_set("nope") is None
    assert store.get_hotspot_set("nope") is None
    assert_geodataframe_equal(store.latest_hotspot_set("key-hk").hotspots, make_hotspots())


def test_listing_by_key_and_ward(store):
    assert list(store.hotspot_sets().columns) == list(HOTSPOT_SET_COLUMNS)
    assert store.hotspot_sets().empty
    store.put_hotspot_set(make_record("hk", ward_ids=(HK,), created_at=T0))
    store.put_hotspot_set(make_record("both", key="k2", ward_ids=[HK, BD], created_at=T0 + pd.Timedelta(1, "h"),
                                      hotspots=make_hotspots(2)))
    store.put_hotspot_set(make_record("dd", key="k3", ward_ids=(DD,), created_at=T0 + pd.Timedelta(2, "h")))
    listing = store.hotspot_sets()
    assert list(listing.columns) == list(HOTSPOT_SET_COLUMNS)
    assert listing["set_id"].tolist() == ["dd", "both", "hk"]  # newest first
    assert listing["ward_ids"].tolist() == [(DD,), (HK, BD), (HK,)]
    assert listing["n_hotspots"].tolist() == [4, 2, 4] and listing["n_hotspots"].dtype == np.int64
    assert listing["created_at"].dtype == "datetime64[ns, UTC]"
    assert listing["created_at"].tolist()[-1] == T0
    assert listing["data_version"].tolist() == ["v1"] * 3
    assert store.hotspot_sets(ward_id=HK)["set_id"].tolist() == ["both", "hk"]
    assert store.hotspot_sets(ward_id=BD)["set_id"].tolist() == ["both"]
    assert store.hotspot_sets(ward_id="phuong-x").empty
    assert store.hotspot_sets(key="k2", ward_id=HK)["set_id"].tolist() == ["both"]
    assert store.hotspot_sets(key="k2", ward_id=DD).empty
    assert "member_ids" not in listing.columns


# ---------------------------------------------------------------------- scope version


def test_scope_version_follows_the_wards_incidents_and_boundaries(store):
    store.put_boundaries(make_boundaries())
    store.ingest(make_incidents(range(40)))  # ward of row i: HK, BD, DD, none for i % 4 = 0..3
    hk = store.scope_version([HK])
    hk_theft = store.scope_version(HK, categories=["theft"])
    hk_window = store.scope_version([HK], since="2025-01-01", until="2025-01-02")
    bd = store.scope_version([BD])
    everything = store.scope_version(None)
    assert len(hk) == 16 and int(hk, 16) >= 0
    assert len({hk, hk_theft, hk_window, bd, everything}) == 5
    assert store.scope_version([HK]) == hk  # stable
    assert store.scope_version([HK, BD]) == store.scope_version([BD, HK])

    store.ingest(make_incidents(range(41, 80, 4)))  # Ba Dinh only
    assert store.scope_version([HK]) == hk
    assert store.scope_version(HK, categories=["theft"]) == hk_theft
    assert store.scope_version([BD]) != bd
    assert store.scope_version(None) != everything

    store.ingest(make_incidents([44]))  # Hoan Kiem, parking_violation, 2 days after the start
    assert store.scope_version([HK]) != hk
    assert store.scope_version(HK, categories=["theft"]) == hk_theft
    assert store.scope_version([HK], since="2025-01-01", until="2025-01-02") == hk_window
    hk = store.scope_version([HK])

    store.ingest(make_incidents(range(40)))  # duplicates only
    assert store.scope_version([HK]) == hk

    bd = store.scope_version([BD])
    changed = make_boundaries().iloc[[0]].copy()  # Hoan Kiem
    changed["geometry"] = [square(105.80, 21.00, 0.011)]
    assert store.put_boundaries(changed) == 1
    assert store.scope_version([HK]) != hk
    assert store.scope_version([BD]) == bd


def test_scope_version_arguments(store):
    assert store.scope_version([]) == store.scope_version(())
    assert store.scope_version([HK], categories=[]) != store.scope_version([HK])
    with pytest.raises(ParameterError, match="since"):
        store.scope_version([HK], since="not a date")
    with pytest.raises(ParameterError, match="ward_ids"):
        store.scope_version([1, 2])


def test_putting_a_set_leaves_the_scope_version(store):
    store.ingest(make_incidents(range(8)))
    before = store.scope_version([HK])
    store.put_hotspot_set(make_record(data_version=before))
    assert store.scope_version([HK]) == before
    assert store.find_hotspot_set("key-hk", before).set_id == "set-a"


# ---------------------------------------------------------------------- atomicity and errors


def test_unencodable_feature_writes_nothing(store, spec):
    store.put_hotspot_set(make_record("old", created_at=T0 - pd.Timedelta(days=1)))
    frame = make_hotspots()
    frame["evidence"] = [{"ok": 1}, {"ok": 2}, {"bad": {1, 2}}, None]
    with pytest.raises(InputError, match=r"hotspots\['evidence'\] at position 2\['bad'\].*set"):
        store.put_hotspot_set(make_record("new", hotspots=frame), keep=1)
    assert store.get_hotspot_set("new") is None
    assert store.hotspot_sets()["set_id"].tolist() == ["old"]
    assert n_features(spec) == 4


def test_put_failing_midway_leaves_nothing(store, spec, monkeypatch):
    store.put_hotspot_set(make_record("old", created_at=T0 - pd.Timedelta(days=1)))
    real = IncidentStore.prepare_hotspot_set

    def broken(record, keep=5):
        prepared = real(record, keep)
        # the third feature repeats the second's position: the insert fails after the set row
        # and two features are written, and before the older set would be pruned
        prepared.features[2] = (1, *prepared.features[2][1:])
        return prepared

    monkeypatch.setattr(store, "prepare_hotspot_set", broken)
    with pytest.raises(StoreError, match="nothing was written"):
        store.put_hotspot_set(make_record("new"), keep=1)
    monkeypatch.undo()
    assert store.get_hotspot_set("new") is None
    assert store.hotspot_sets()["set_id"].tolist() == ["old"]
    assert n_features(spec) == 4
    assert spec.raw("SELECT count(*) FROM {s}hotspot_features WHERE set_id = 'new'")[0][0] == 0
    store.put_hotspot_set(make_record("new"), keep=1)  # the store is still usable
    assert store.hotspot_sets()["set_id"].tolist() == ["new"]


@pytest.mark.parametrize(
    "change, word",
    [
        (lambda f: f.assign(cat=pd.Categorical(["a", "b", "a", "b"])), "dtype category"),
        (lambda f: f.assign(other=gpd.GeoSeries([Point(0, 0)] * 4)), "second geometry"),
        (lambda f: f.set_geometry(shapely.force_3d(f.geometry.values)), "2-D"),
        (lambda f: f.rename(columns={"rank": 7}), "string names"),
        (lambda f: f.assign(blob=[b"x"] * 4), "bytes"),
    ],
)
def test_unsupported_tables_are_input_errors(store, change, word):
    with pytest.raises(InputError, match=word):
        store.put_hotspot_set(make_record(hotspots=change(make_hotspots())))
    assert store.hotspot_sets().empty


def test_record_fields_are_checked():
    with pytest.raises(ParameterError) as info:
        HotspotSetRecord(
            set_id="", key=None, data_version="v", definition=[], created_at="2025-01-01",
            ward_ids=None, hotspots=pd.DataFrame(), attrs={},
        )
    text = info.value.message
    for word in ("set_id", "key", "definition", "time-zone aware", "ward_ids", "hotspots"):
        assert word in text
    record = make_record(created_at=pd.Timestamp("2025-06-01 15:00:00.1234567", tz="Asia/Ho_Chi_Minh"),
                         ward_ids=[HK, HK, BD])
    assert record.created_at == pd.Timestamp("2025-06-01T08:00:00.123456Z")
    assert record.ward_ids == (HK, BD)


def test_lookup_arguments_are_checked(store):
    with pytest.raises(ParameterError, match="set_id"):
        store.get_hotspot_set(None)
    with pytest.raises(ParameterError, match="data_version"):
        store.find_hotspot_set("k", "")
    with pytest.raises(ParameterError, match="record"):
        store.put_hotspot_set({"set_id": "x"})


def test_store_made_before_hotspot_sets_opens_and_gains_the_tables(spec):
    with spec.open() as store:
        store.ingest(make_incidents(range(5)))
    spec.raw("DROP TABLE {s}hotspot_features")
    spec.raw("DROP TABLE {s}hotspot_sets")
    with spec.open() as store:
        assert store.count() == 5
        assert store.hotspot_sets().empty
        store.put_hotspot_set(make_record())
    with spec.open() as store:
        assert_geodataframe_equal(store.get_hotspot_set("set-a").hotspots, make_hotspots())


def test_encoding_is_shared_and_deterministic():
    frame = make_hotspots()
    columns, features = encode_hotspot_features(frame)
    assert (columns, features) == encode_hotspot_features(frame.copy())
    assert [p for p, _, _ in features] == [0, 1, 2, 3]
    back = decode_hotspot_features(columns, [(props, wkb) for _, props, wkb in features])
    assert_geodataframe_equal(back, frame)
    shuffled = frame.iloc[[2, 0, 3, 1]]  # the index is not stored: rows come back in table order
    again = decode_hotspot_features(*_pairs(encode_hotspot_features(shuffled)))
    assert_geodataframe_equal(again, shuffled.reset_index(drop=True))


def _pairs(encoded: tuple[str, list]) -> tuple[str, list]:
    columns, features = encoded
    return columns, [(props, wkb) for _, props, wkb in features]


def test_polygon_with_hole_round_trips(store):
    outer = [(105.80, 21.00), (105.81, 21.00), (105.81, 21.01), (105.80, 21.01)]
    hole = [(105.803, 21.003), (105.803, 21.006), (105.806, 21.006), (105.806, 21.003)]
    frame = make_hotspots(1)
    frame["geometry"] = [Polygon(outer, [hole])]
    store.put_hotspot_set(make_record(hotspots=frame))
    got = store.get_hotspot_set("set-a").hotspots
    assert got.geometry[0].equals_exact(frame.geometry[0], 0)
    assert len(got.geometry[0].interiors) == 1
