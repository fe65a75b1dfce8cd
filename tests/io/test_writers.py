"""RFC 7946 GeoJSON and GeoParquet writers."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, Polygon

from ward_geo.errors import InputError, NotFoundError, ParameterError
from ward_geo.io.writers import geojson_dumps, json_safe, read_geoparquet, to_geojson, write_geojson, write_geoparquet


def _strict_loads(text: str) -> object:
    def refuse(name: str) -> object:
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def _rings(geometry: dict) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return geometry["coordinates"]
    return [ring for poly in geometry["coordinates"] for ring in poly]


def _signed_area(ring: list[list[float]]) -> float:
    xy = np.asarray(ring)
    return 0.5 * float(np.sum(xy[:-1, 0] * xy[1:, 1] - xy[1:, 0] * xy[:-1, 1]))


@pytest.fixture
def wrong_way_layer() -> gpd.GeoDataFrame:
    """Polygons with clockwise shells and counter-clockwise holes, in VN-2000 metres."""
    x0, y0 = 586_000.0, 2_326_000.0
    shell = [(x0, y0), (x0, y0 + 300), (x0 + 300, y0 + 300), (x0 + 300, y0), (x0, y0)]  # clockwise
    hole = [(x0 + 100, y0 + 100), (x0 + 200, y0 + 100), (x0 + 200, y0 + 200), (x0 + 100, y0 + 200), (x0 + 100, y0 + 100)]
    poly = Polygon(shell, [hole])
    multi = shapely.MultiPolygon([poly, shapely.box(x0 + 500, y0, x0 + 600, y0 + 100, ccw=False)])
    return gpd.GeoDataFrame(
        {
            "name": ["Hoàn Kiếm", None],
            "value": [np.float64(1.5), np.nan],
            "count": np.array([3, 4], dtype=np.int64),
            "flag": [np.bool_(True), False],
            "when": pd.to_datetime(["2025-03-01T08:00:00Z", None], utc=True),
            "naive": pd.to_datetime(["2025-03-01 08:00", "2025-03-02 09:30"]),
            "hours": [np.arange(24), [0] * 24],
            "shares": [{"phuong-hoan-kiem": np.float64(0.75), "phuong-cua-nam": 0.25}, {}],
            "inf": [np.inf, -np.inf],
            "nullable": pd.array([1, None], dtype="Int64"),
            "text": pd.array(["a", pd.NA], dtype="string"),
            "date": [dt.date(2025, 1, 2), pd.NaT],
            "money": [Decimal("1.25"), Decimal("NaN")],
            "gap": pd.to_timedelta(["1h", None]),
        },
        geometry=[poly, multi],
        crs="EPSG:3405",
    )


def test_rfc7946_structure_orientation_precision(wrong_way_layer):
    fc = to_geojson(wrong_way_layer)
    text = geojson_dumps(fc)
    data = _strict_loads(text)
    assert data["type"] == "FeatureCollection"
    assert "crs" not in data
    assert len(data["features"]) == 2
    for feature in data["features"]:
        assert feature["type"] == "Feature"
        rings = _rings(feature["geometry"])
        if feature["geometry"]["type"] == "Polygon":
            assert _signed_area(rings[0]) > 0  # exterior counter-clockwise
            assert _signed_area(rings[1]) < 0  # hole clockwise
        for poly in (feature["geometry"]["coordinates"] if feature["geometry"]["type"] == "MultiPolygon"
                     else [feature["geometry"]["coordinates"]]):
            assert _signed_area(poly[0]) > 0
            for hole in poly[1:]:
                assert _signed_area(hole) < 0
        for ring in rings:
            for lon, lat in ring:
                # WGS 84 lon/lat around Hanoi
                assert 105.0 < lon < 106.5 and 20.0 < lat < 22.0
    numbers = re.findall(r"-?\d+\.(\d+)", json.dumps([f["geometry"] for f in data["features"]]))
    assert numbers and max(len(d) for d in numbers) <= 7
    coarse = to_geojson(wrong_way_layer, precision=3)
    ring = coarse["features"][0]["geometry"]["coordinates"][0]
    assert all(round(v, 3) == v for pt in ring for v in pt)


def test_properties_are_json_safe(wrong_way_layer):
    data = _strict_loads(geojson_dumps(to_geojson(wrong_way_layer)))
    a, b = (f["properties"] for f in data["features"])
    assert a["name"] == "Hoàn Kiếm" and b["name"] is None
    assert a["value"] == 1.5 and b["value"] is None
    assert a["count"] == 3 and isinstance(a["count"], int)
    assert a["flag"] is True and b["flag"] is False
    assert a["when"] == "2025-03-01T08:00:00+00:00" and b["when"] is None
    # naive timestamps are read in the configured zone (Asia/Ho_Chi_Minh) and keep the offset
    assert a["naive"] == "2025-03-01T08:00:00+07:00"
    assert a["hours"] == list(range(24)) and b["hours"] == [0] * 24
    assert a["shares"] == {"phuong-hoan-kiem": 0.75, "phuong-cua-nam": 0.25} and b["shares"] == {}
    assert a["inf"] is None and b["inf"] is None
    assert a["nullable"] == 1 and b["nullable"] is None
    assert a["text"] == "a" and b["text"] is None
    assert a["date"] == "2025-01-02" and b["date"] is None
    assert a["money"] == 1.25 and b["money"] is None
    assert a["gap"] == "P0DT1H0M0S" and b["gap"] is None
    assert "NaN" not in geojson_dumps(to_geojson(wrong_way_layer))


def test_feature_ids_and_empty_geometries():
    gdf = gpd.GeoDataFrame(
        {"hotspot_id": ["dbscan-a", "dbscan-b"], "n": [1, 2]},
        geometry=[Point(105.85, 21.03), None],
        crs=4326,
    )
    fc = to_geojson(gdf)
    assert [f["id"] for f in fc["features"]] == ["dbscan-a", "dbscan-b"]
    assert fc["features"][1]["geometry"] is None
    assert fc["features"][0]["geometry"] == {"type": "Point", "coordinates": [105.85, 21.03]}
    with pytest.raises(ParameterError, match="id_column"):
        to_geojson(gdf, id_column="nope")
    with pytest.raises(ParameterError, match="precision"):
        to_geojson(gdf, precision=20)
    with pytest.raises(InputError, match="no CRS"):
        to_geojson(gdf.set_crs(None, allow_override=True))


def test_geojson_dumps_is_strict():
    with pytest.raises(InputError, match="NaN"):
        geojson_dumps({"a": float("nan")})
    with pytest.raises(InputError):
        geojson_dumps({"a": np.float64("inf")})
    assert geojson_dumps({"a": np.int64(2), "b": np.array([1.5, 2.0]), "t": pd.Timestamp("2025-01-01", tz="UTC")}) == (
        '{"a":2,"b":[1.5,2.0],"t":"2025-01-01T00:00:00+00:00"}'
    )
    assert json_safe({1: {np.str_("x"), "y"}}) == {"1": ["x", "y"]}


def test_write_geojson_reads_back(tmp_path: Path, wrong_way_layer):
    path = write_geojson(wrong_way_layer, tmp_path / "out" / "layer.geojson")
    assert path.is_file()
    back = gpd.read_file(path)
    assert back.crs.to_epsg() == 4326
    assert len(back) == 2
    original = wrong_way_layer.to_crs(4326)
    for got, want in zip(back.geometry, original.geometry, strict=True):
        # the same shape up to the 7-decimal rounding (about 1 cm)
        assert shapely.hausdorff_distance(got, want) < 1e-7
        assert got.symmetric_difference(want).area < 1e-4 * want.area
    assert not list(tmp_path.joinpath("out").glob(".*.tmp"))


def test_geoparquet_round_trip(tmp_path: Path):
    gdf = gpd.GeoDataFrame(
        {
            "hotspot_id": ["kde-1", "kde-2"],
            "ward_ids": [["phuong-hoan-kiem", "phuong-cua-nam"], []],
            "ward_shares": [{"phuong-hoan-kiem": 0.6, "phuong-cua-nam": 0.4}, {}],
            "category_counts": [{"theft": 3}, {"drugs": 1, "theft": 2}],
            "peak_hours": [list(range(24)), [0] * 24],
            "mixed": [[1, "a"], None],
            "first_seen": pd.to_datetime(["2025-01-01T00:00Z", None], utc=True),
            "trend": [None, None],
            "n": np.array([3, 3], dtype=np.int64),
        },
        geometry=[shapely.box(105.84, 21.02, 105.85, 21.03), shapely.box(105.86, 21.02, 105.87, 21.03)],
        crs=4326,
    )
    gdf.attrs["params"] = {"eps": np.float64(40.0), "since": pd.Timestamp("2025-01-01", tz="UTC")}
    path = write_geoparquet(gdf, tmp_path / "spots.parquet")
    back = read_geoparquet(path)
    assert back.crs.to_epsg() == 4326
    for col in ("hotspot_id", "ward_ids", "ward_shares", "category_counts", "peak_hours", "mixed", "trend"):
        assert back[col].tolist() == gdf[col].tolist(), col
    assert back["first_seen"].iloc[0] == gdf["first_seen"].iloc[0] and pd.isna(back["first_seen"].iloc[1])
    assert back.geometry.equals(gdf.geometry)
    assert back.attrs["params"] == {"eps": 40.0, "since": "2025-01-01T00:00:00+00:00"}
    # plain geopandas reads the file too (lists are native Parquet lists)
    plain = gpd.read_parquet(path)
    assert list(plain["peak_hours"].iloc[0]) == list(range(24))
    with pytest.raises(NotFoundError):
        read_geoparquet(tmp_path / "missing.parquet")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(InputError, match="not a readable GeoParquet"):
        read_geoparquet(tmp_path / "bad.parquet")


def test_hotspot_table_writes_valid_rfc7946(tmp_path: Path, incidents_dir: Path):
    from ward_geo.analysis.hotspots import find_hotspots
    from ward_geo.io.readers import read_incidents

    incidents = read_incidents(incidents_dir / "san_francisco_robbery.csv")
    spots = find_hotspots(incidents, eps=150, min_samples=8, timezone="America/Los_Angeles")
    path = write_geojson(spots, tmp_path / "spots.geojson")
    data = _strict_loads(path.read_text(encoding="utf-8"))
    assert len(data["features"]) == len(spots)
    for feature, row in zip(data["features"], spots.itertuples(), strict=True):
        assert feature["id"] == row.hotspot_id
        props = feature["properties"]
        assert props["peak_hours"] == row.peak_hours
        assert props["category_counts"] == row.category_counts
        assert props["trend"] is None
        assert props["first_seen"].endswith("+00:00")
        ring = feature["geometry"]["coordinates"][0]
        assert _signed_area(ring) > 0
        assert shapely.is_valid(shapely.geometry.shape(feature["geometry"]))
    back = read_geoparquet(write_geoparquet(spots, tmp_path / "spots.parquet"))
    assert back["member_ids"].tolist() == spots["member_ids"].tolist()
    assert back["ward_shares"].tolist() == spots["ward_shares"].tolist()
