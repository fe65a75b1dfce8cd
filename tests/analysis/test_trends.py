"""Trend classes on constructed series, and emerging hotspots on constructed incidents."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from ward_geo.analysis.trends import TREND_CLASSES, classify_series, classify_trends, emerging_hotspots
from ward_geo.errors import ParameterError

T, F = True, False


@pytest.mark.parametrize(
    ("hot", "cold", "mk", "expected"),
    [
        ([F] * 11 + [T], [F] * 12, "no trend", "new"),
        ([F] * 8 + [T] * 4, [F] * 12, "increasing", "consecutive"),
        ([T] * 12, [F] * 12, "increasing", "intensifying"),
        ([T] * 12, [F] * 12, "no trend", "persistent"),
        ([T] * 11 + [T], [F] * 12, "decreasing", "diminishing"),
        ([T, F, T, F, F, T, F, F, T, F, F, T], [F] * 12, "no trend", "sporadic"),
        ([T, F, F, T, F, F, F, F, F, F, F, T], [F, T] + [F] * 10, "no trend", "oscillating"),
        ([T] * 11 + [F], [F] * 12, "no trend", "historical"),
        ([T] * 5 + [F] * 7, [F] * 12, "no trend", "historical"),
        ([T, F, T, T, F, F, T, T, F, F, F, F], [F] * 12, "decreasing", "diminishing"),
        ([F] * 12, [F] * 12, "no trend", "no_pattern"),
        ([T, F, T] + [F] * 9, [F] * 12, "no trend", "no_pattern"),
    ],
)
def test_classify_series(hot, cold, mk, expected):
    assert classify_series(np.array(hot), np.array(cold), mk) == expected
    assert expected in TREND_CLASSES


def _month_points(rng, centre, per_month, start="2024-01-01"):
    rows = []
    for m, k in enumerate(per_month):
        t0 = pd.Timestamp(start, tz="UTC") + pd.DateOffset(months=m)
        xy = rng.normal(centre, 25, size=(k, 2))
        ts = t0 + pd.to_timedelta(rng.uniform(0, 27, k), unit="D")
        rows.append((xy, ts))
    xy = np.vstack([r[0] for r in rows]) if rows else np.zeros((0, 2))
    ts = np.concatenate([np.asarray(r[1]) for r in rows])
    return xy, ts


@pytest.fixture(scope="module")
def constructed():
    rng = np.random.default_rng(7)
    x0, y0 = 500000.0, 2300000.0
    parts = [
        _month_points(rng, [x0 + 300, y0 + 300], [30] * 12),                     # persistent
        _month_points(rng, [x0 + 1500, y0 + 1500], [0] * 11 + [40]),             # new
        _month_points(rng, [x0 + 300, y0 + 1600], [40] * 8 + [0] * 4),           # fading, gone at the end
    ]
    bg_n = 600
    bg = rng.uniform([x0, y0], [x0 + 2000, y0 + 2000], size=(bg_n, 2))
    bg_t = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, 365, bg_n), unit="D")
    xy = np.vstack([p[0] for p in parts] + [bg])
    ts = np.concatenate([p[1] for p in parts] + [np.asarray(bg_t)])
    inc = gpd.GeoDataFrame(
        {"incident_id": [f"i{i}" for i in range(len(xy))], "category": "theft", "occurred_at": pd.to_datetime(ts, utc=True)},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:32648",
    ).to_crs(4326)
    ward = gpd.GeoDataFrame({"ward_id": ["w"]}, geometry=[box(x0, y0, x0 + 2000, y0 + 2000)], crs="EPSG:32648").to_crs(4326)
    return inc, ward, (x0, y0)


def test_emerging_cells_find_persistent_new_and_fading(constructed):
    inc, ward, (x0, y0) = constructed
    res = emerging_hotspots(inc, ward, freq="M", cell_size=100)
    assert len(res.slices) == 12
    cells = res.cells.to_crs("EPSG:32648")
    def classes_near(x, y):
        near = cells[cells.geometry.centroid.distance(gpd.points_from_xy([x], [y], crs="EPSG:32648")[0]) < 80]
        return set(near["trend"])
    assert {"persistent", "intensifying", "diminishing"} & classes_near(x0 + 300, y0 + 300)
    assert "new" in classes_near(x0 + 1500, y0 + 1500)
    assert classes_near(x0 + 300, y0 + 1600) & {"historical", "diminishing"}
    assert set(res.cells["trend"]) <= set(TREND_CLASSES)


def test_classify_trends_on_hotspot_polygons(constructed):
    inc, ward, (x0, y0) = constructed
    hot = gpd.GeoDataFrame(
        {"hotspot_id": ["persist", "new", "fading", "empty"]},
        geometry=[box(x0 + 250, y0 + 250, x0 + 350, y0 + 350), box(x0 + 1450, y0 + 1450, x0 + 1550, y0 + 1550),
                  box(x0 + 250, y0 + 1550, x0 + 350, y0 + 1650), box(x0 + 900, y0 + 20, x0 + 910, y0 + 30)],
        crs="EPSG:32648",
    ).to_crs(4326)
    out = classify_trends(hot, inc, ward, cell_size=100).set_index("hotspot_id")
    assert out.loc["persist", "trend"] in {"persistent", "intensifying", "diminishing"}
    assert out.loc["new", "trend"] == "new"
    assert out.loc["fading", "trend"] in {"historical", "diminishing"}
    assert out.loc["new", "trend_detail"]["counts"][-1] >= 40


def test_bad_slice_frequency(constructed):
    inc, ward, _ = constructed
    with pytest.raises(ParameterError, match="time slices"):
        emerging_hotspots(inc, ward, freq="Q")


def test_vectorised_mann_kendall_equals_pymannkendall():
    import pymannkendall as mk

    from ward_geo.analysis.trends import mann_kendall

    rng = np.random.default_rng(4)
    n = 24
    columns = [rng.poisson(2.0, n), np.arange(n) // 3, (np.arange(n) // 4)[::-1], rng.poisson(0.3, n),
               np.r_[np.zeros(20), [3, 4, 5, 6]], rng.normal(size=n)]
    series = np.column_stack(columns).astype(float)
    trend, p, tau = mann_kendall(series, alpha=0.05)
    for j in range(series.shape[1]):
        ref = mk.original_test(series[:, j], alpha=0.05)
        assert trend[j] == ref.trend
        assert p[j] == pytest.approx(ref.p, abs=1e-12)
        assert tau[j] == pytest.approx(ref.Tau, abs=1e-12)
    flat, short = mann_kendall(np.zeros((12, 1))), mann_kendall(np.arange(3.0))
    assert flat[0][0] == short[0][0] == "no trend" and flat[1][0] == short[1][0] == 1.0
