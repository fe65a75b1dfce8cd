"""Accuracy metrics against hand-computed cases; the backtest of delivered hotspots; auto."""

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from ward_geo.analysis import evaluation as ev
from ward_geo.analysis.study_grid import default_cell_size, make_grid
from ward_geo.errors import InputError, ParameterError

# A 1 km x 1 km study area with 100 m cells: 100 cells of 10,000 m².
AREA = box(0, 0, 1000, 1000)


@pytest.fixture()
def grid():
    return make_grid(AREA, 100.0)


def test_metric_formulas_hand_computed():
    # 30 of 60 test incidents in 5% of the area: hit rate 0.5, PAI 10
    assert ev.hit_rate(30, 60) == 0.5
    assert ev.pai(30, 60, 5, 100) == pytest.approx(10.0)
    assert ev.pei(30, 40) == 0.75
    # RRI: 50% of test vs 25% of training incidents in the flagged area
    assert ev.rri(30, 60, 50, 200) == pytest.approx(2.0)


def test_metrics_undefined_are_nan_not_zero():
    assert math.isnan(ev.hit_rate(0, 0))
    assert math.isnan(ev.pai(0, 0, 1, 100))
    assert math.isnan(ev.pai(1, 1, 0, 100))
    assert math.isnan(ev.pei(0, 0))
    assert math.isnan(ev.rri(1, 1, 0, 10))


def test_grid_geometry(grid):
    assert grid.n_cells == 100 and grid.area == pytest.approx(1e6)
    idx = grid.cell_index(np.array([[50, 50], [150, 50], [50, 150], [999.9, 999.9], [-1, 5], [1000, 5]]))
    assert idx.tolist() == [0, 1, 10, 99, -1, -1]


def test_all_incidents_in_one_cell(grid):
    test_xy = np.array([[55.0, 55.0]] * 20)
    counts = grid.counts(test_xy)
    scores = counts.copy()
    acc = ev.accuracy_at_share(scores, grid, counts, 20, share=0.01)
    assert acc["n_hit"] == 20 and acc["hit_rate"] == 1.0
    assert acc["pai"] == pytest.approx(100.0)  # everything in 1% of the area
    assert acc["pei"] == 1.0  # nothing could do better


def test_flagging_the_whole_area_gives_pai_one(grid):
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 1000, size=(500, 2))
    counts = grid.counts(xy)
    acc = ev.accuracy_at_share(np.zeros_like(counts), grid, counts, 500, share=1.0)
    assert acc["hit_rate"] == 1.0 and acc["pai"] == pytest.approx(1.0) and acc["pei"] == 1.0


def test_empty_test_window_is_undefined(grid):
    counts = np.zeros(grid.nx * grid.ny)
    acc = ev.accuracy_at_share(counts, grid, counts, 0, share=0.05)
    assert math.isnan(acc["hit_rate"]) and math.isnan(acc["pai"]) and math.isnan(acc["pei"])


def test_incidents_outside_study_area_count_as_misses(grid):
    xy = np.array([[55.0, 55.0]] * 5 + [[5000.0, 5000.0]] * 5)
    counts = grid.counts(xy)
    acc = ev.accuracy_at_share(counts, grid, counts, len(xy), share=0.01)
    assert acc["hit_rate"] == 0.5


def test_pei_against_best_possible(grid):
    # test: 10 in cell 0, 6 in cell 1; flag only cell 1 (score) with k=1 -> n=6, n*=10
    xy = np.array([[50, 50]] * 10 + [[150, 50]] * 6, dtype=float)
    counts = grid.counts(xy)
    scores = np.zeros_like(counts)
    scores[1] = 1.0
    acc = ev.accuracy_at_share(scores, grid, counts, 16, share=0.01)
    assert acc["n_hit"] == 6 and acc["pei"] == pytest.approx(0.6)


def test_flag_ties_are_deterministic(grid):
    mask = ev.flag_top_cells(np.zeros(grid.nx * grid.ny), grid, 0.05)
    assert np.flatnonzero(mask).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ParameterError):
        ev.flag_top_cells(np.zeros(100), grid, 0.0)


def test_accuracy_curve_monotone_hit_rate(grid):
    rng = np.random.default_rng(2)
    xy = np.vstack([rng.normal(300, 40, size=(300, 2)), rng.uniform(0, 1000, size=(200, 2))])
    counts = grid.counts(xy)
    curve = ev.accuracy_curve(counts, grid, counts, len(xy))
    assert list(curve["share"]) == list(ev.DEFAULT_SHARES)
    assert (np.diff(curve["hit_rate"]) >= 0).all()
    assert curve["pai"].iloc[0] > curve["pai"].iloc[-1] > 1


def test_default_cell_size_scales():
    assert default_cell_size(3e6) == 100.0
    assert 200 <= default_cell_size(2e9) <= 240


def test_evaluate_hotspots_polygon_metrics():
    # hotspot covers 1% of a 1 km² ward and catches 3 of 4 test incidents
    crs = "EPSG:32648"
    ward = gpd.GeoDataFrame({"ward_id": ["w"]}, geometry=[box(500000, 2300000, 501000, 2301000)], crs=crs).to_crs(4326)
    hot = gpd.GeoDataFrame({"hotspot_id": ["h"]}, geometry=[box(500000, 2300000, 500100, 2300100)], crs=crs).to_crs(4326)
    pts = [Point(500050, 2300050), Point(500060, 2300040), Point(500020, 2300090), Point(500900, 2300900)]
    test = gpd.GeoDataFrame(geometry=pts, crs=crs).to_crs(4326)
    acc = ev.evaluate_hotspots(hot, test, boundaries=ward, train_incidents=test)
    assert acc["hit_rate"] == pytest.approx(0.75)
    assert acc["share"] == pytest.approx(0.01, rel=0.02)
    assert acc["pai"] == pytest.approx(75.0, rel=0.02)
    assert acc["rri"] == pytest.approx(1.0)


def _incidents(times, xy, crs="EPSG:32648"):
    return gpd.GeoDataFrame(
        {"incident_id": [f"i{i}" for i in range(len(times))], "category": "theft",
         "occurred_at": pd.to_datetime(times, utc=True), "severity": np.nan},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs,
    ).to_crs(4326)


def test_rolling_folds_have_no_leakage():
    times = pd.Series(pd.date_range("2024-01-01", "2025-12-31", freq="D", tz="UTC"))
    folds = ev.rolling_folds(times, train="12M", test="1M", step="1M")
    assert len(folds) == 12  # origins 2025-01-01 … 2025-12-01
    for f in folds:
        assert f.train_start < f.origin < f.test_end
        assert f.origin == f.train_start + pd.DateOffset(months=12)
    assert folds[1].origin == folds[0].origin + pd.DateOffset(months=1)
    assert ev.rolling_folds(times, max_folds=3)[0].origin == folds[-3].origin


def _hot_ward(seed, n=2400, days=730):
    rng = np.random.default_rng(seed)
    times = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, days, n), unit="D")
    hot = rng.normal([500300, 2300300], 30, size=(n // 2, 2))
    bg = rng.uniform([500000, 2300000], [501000, 2301000], size=(n - n // 2, 2))
    inc = _incidents(times, np.vstack([hot, bg]))
    ward = gpd.GeoDataFrame({"ward_id": ["w"], "name": ["W"]}, geometry=[box(500000, 2300000, 501000, 2301000)],
                            crs="EPSG:32648").to_crs(4326)
    inc["ward_id"] = "w"
    return inc, ward


def test_cell_inclusion_shares_ties_by_expected_value():
    valid = np.ones(4, dtype=bool)
    p = ev.cell_inclusion(np.array([5.0, 1.0, 1.0, 0.0]), valid, 2.0)
    assert p.tolist() == [1.0, 0.5, 0.5, 0.0]  # one whole cell, then half of each tied cell
    p = ev.cell_inclusion(np.array([5.0, 1.0, 1.0, 0.0]), valid, 0.25)
    assert p.tolist() == [0.25, 0.0, 0.0, 0.0]
    assert ev.cell_inclusion(np.zeros(4), valid, 2.0).sum() == pytest.approx(2.0)


def test_backtest_scores_delivered_hotspots_without_leakage(monkeypatch):
    from ward_geo.analysis import hotspots as hs

    inc, ward = _hot_ward(3)
    seen = []
    real = hs.delivered_hotspots

    def spy(gdf, *args, **kwargs):
        seen.append((pd.to_datetime(gdf["occurred_at"], utc=True).max(), kwargs["until"]))
        return real(gdf, *args, **kwargs)

    monkeypatch.setattr(hs, "delivered_hotspots", spy)
    res = ev.backtest(inc, ward, methods=["recency", "counts"], train="12M", test="1M", step="3M")
    assert seen and all(latest < until for latest, until in seen)  # training never sees the test window
    assert not res.folds.empty
    t = pd.to_datetime(inc["occurred_at"], utc=True)
    for row in res.folds.itertuples():
        assert row.n_train == int(((t >= row.train_start) & (t < row.origin)).sum())
        assert row.n_test == int(((t >= row.origin) & (t < row.test_end)).sum())
        assert row.flagged_area_m2 <= row.share * res.study_area_m2 * (1 + 1e-6)
    assert set(res.summary["share"]) == {0.01, 0.05}
    five = res.at(0.05).set_index("method")
    assert five.loc["recency", "pai_median"] > 5  # the real hotspot is found
    for b in ev.BASELINES:
        assert np.isfinite(five.loc["recency", f"{b}_pai_median"])
    assert five.loc["recency", "ratio_low"] <= five.loc["recency", "ratio_to_counts"] <= five.loc["recency", "ratio_high"]
    assert res.study_area_m2 == pytest.approx(1e6, rel=0.01)  # the ward, not the file's extent
    payload = res.to_dict()
    assert payload["summary"] and all(v is None or isinstance(v, (float, int, str)) for v in payload["summary"][0].values())


def test_backtest_refuses_short_history_and_unknown_method():
    inc = _incidents(pd.date_range("2025-01-01", periods=10, freq="D"), np.full((10, 2), [500000.0, 2300000.0]))
    with pytest.raises(InputError, match="shorter than one training window"):
        ev.backtest(inc, train="12M", test="1M")
    with pytest.raises(ParameterError, match="unknown method"):
        ev.backtest(inc, methods=["magic"])
    with pytest.raises(ParameterError, match="positive length"):
        ev.parse_window("12 parsecs")


def test_backtest_plot_and_json(tmp_path):
    inc, ward = _hot_ward(4, n=800, days=540)
    res = ev.backtest(inc, ward, train="12M", test="1M", step="2M", methods=["kde", "counts"])
    png = res.plot(tmp_path / "pai.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    out = res.to_json(tmp_path / "bt.json")
    assert "NaN" not in out.read_text()


def test_auto_picks_by_evidence_and_says_why():
    from ward_geo.analysis.hotspots import find_hotspots

    inc, ward = _hot_ward(5, n=1600, days=365)
    spots = find_hotspots(inc, ward)
    params = spots.attrs["params"]
    selection = params["selection"]
    assert params["requested_method"] == "auto"
    assert params["method"] == selection["method"] in ev.AUTO_CANDIDATES
    assert selection["folds"] >= 2
    assert str(selection["method"]) in selection["reason"] and "prior counts" in selection["reason"]
    methods = {row["method"] for row in selection["evidence"]}
    assert methods == set(ev.AUTO_CANDIDATES)
    assert len(spots) >= 1
    # too little history: counts, and the reason says so
    short = inc[pd.to_datetime(inc["occurred_at"], utc=True) < pd.Timestamp("2024-03-01", tz="UTC")]
    few = find_hotspots(short, ward)
    assert few.attrs["params"]["method"] == "counts"
    assert "too little" in few.attrs["params"]["selection"]["reason"]


def test_registry_is_the_only_dispatch(monkeypatch):
    from ward_geo.analysis.hotspots import find_hotspots, registry

    calls = []
    real = registry.run_method

    def spy(name, *args, **kwargs):
        calls.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(registry, "run_method", spy)
    import ward_geo.analysis.hotspots as hs

    monkeypatch.setattr(hs, "run_method", spy)
    inc, ward = _hot_ward(6, n=1200, days=365)
    find_hotspots(inc, ward)
    assert calls and set(calls) <= set(registry.REGISTRY)
    assert set(calls) >= set(ev.AUTO_CANDIDATES)  # the backtest ran every candidate through it
