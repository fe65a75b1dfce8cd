"""Small explicit incident fixtures for the store tests (also imported by the worker script)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point

CATEGORY_CYCLE = ("theft", "drugs", "traffic_accident", "robbery", "parking_violation")
WARD_CYCLE = ("phuong-hoan-kiem", "phuong-ba-dinh", "phuong-dong-da", None)
DESCRIPTIONS = (
    "Trộm cắp xe máy trước chợ Đồng Xuân",
    '<b>Giật túi</b> &amp; bỏ chạy <script>alert("x")</script>',
    None,
    "Va chạm giao thông\nngã tư Hàng Bài – Tràng Tiền\t(2 xe)",
)
BASE_TIME = pd.Timestamp("2025-01-01T00:00:00Z")


def make_incidents(ids: range | list[int], *, prefix: str = "inc-", source: str = "test") -> gpd.GeoDataFrame:
    """Deterministic canonical incidents: the content depends only on each integer id.

    Row ``i``: category ``CATEGORY_CYCLE[i % 5]``, ward ``WARD_CYCLE[i % 4]`` (every 4th
    outside any ward), time ``2025-01-01 + i hours + i microseconds`` UTC, severity
    ``i % 3`` (NaN for every 7th row), description ``DESCRIPTIONS[i % 4]``, point on a
    50 x 50 grid with 0.002 degree spacing from (105.80, 21.00).
    """
    ids = list(ids)
    n = len(ids)
    arr = np.asarray(ids, dtype=np.int64)
    severity = (arr % 3).astype(np.float64)
    severity[arr % 7 == 0] = np.nan
    lon = 105.80 + (arr % 50) * 0.002
    lat = 21.00 + ((arr // 50) % 50) * 0.002
    return gpd.GeoDataFrame(
        {
            "incident_id": [f"{prefix}{i:07d}" for i in ids],
            "category": [CATEGORY_CYCLE[i % 5] for i in ids],
            "category_raw": [f"raw {CATEGORY_CYCLE[i % 5]}" if i % 2 else None for i in ids],
            "occurred_at": BASE_TIME + pd.to_timedelta(arr, unit="h") + pd.to_timedelta(arr, unit="us"),
            "time_precision": ["exact" if i % 3 else "day" for i in ids],
            "severity": severity,
            "description": [DESCRIPTIONS[i % 4] for i in ids],
            "source": [source] * n,
            "ward_id": [WARD_CYCLE[i % 4] for i in ids],
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )


def square(lon: float, lat: float, size: float = 0.01):
    """A counter-clockwise square polygon with its south-west corner at (lon, lat)."""
    from shapely.geometry import Polygon

    return Polygon([(lon, lat), (lon + size, lat), (lon + size, lat + size), (lon, lat + size)])


def make_boundaries() -> gpd.GeoDataFrame:
    """Three small wards, with Vietnamese names and one without population."""
    return gpd.GeoDataFrame(
        {
            "ward_id": ["phuong-hoan-kiem", "phuong-ba-dinh", "phuong-dong-da"],
            "name": ["Phường Hoàn Kiếm", "Phường Ba Đình", "Phường Đống Đa"],
            "name_en": ["Hoan Kiem Ward", "Ba Dinh Ward", None],
            "population": pd.array([126000, 65000, None], dtype="Int64"),
        },
        geometry=[square(105.80, 21.00), square(105.82, 21.00), square(105.84, 21.00, 0.02)],
        crs="EPSG:4326",
    )


def point(lon: float, lat: float) -> Point:
    return Point(lon, lat)
