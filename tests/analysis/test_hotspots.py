"""find_hotspots: the hotspot table on real incident files, simulated wards and built layouts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import shapely
from _hotspot_fixtures import (  # noqa: F401  (fixtures)
    HANOI_METRIC,
    assert_members_inside,
    assert_valid_table,
    cincinnati_burglary,
    hanoi_wards,
    incidents_from_metres,
    sf_robbery,
    shared_border_point,
    simulated_wards,
    ward_metric,
)
from sklearn.cluster import DBSCAN as SklearnDBSCAN

from ward_geo.analysis.hotspots import (
    HOTSPOT_COLUMNS,
    MIN_BUFFER_M,
    find_hotspots,
    hotspot_members,
    priority_for_ranks,
)
from ward_geo.categories import CATEGORIES
from ward_geo.errors import InputError, NotFoundError, ParameterError
from ward_geo.projection import to_metric

LA = "America/Los_Angeles"


# ---------------------------------------------------------------- DBSCAN on real data


def test_dbscan_on_san_francisco_matches_sklearn_partition(sf_robbery):
    # max_across_m very large: clusters are delivered whole, so they are scikit-learn's
    spots = find_hotspots(sf_robbery, eps=150, min_samples=8, timezone=LA, max_across_m=1e6, max_area_share=0.99)
    assert_valid_table(spots, sf_robbery)
    assert_members_inside(spots, sf_robbery)
    # the same clusters as scikit-learn's DBSCAN on the same projected coordinates
    metric, crs = to_metric(sf_robbery)
    X = np.column_stack([metric.geometry.x, metric.geometry.y])
    sk = SklearnDBSCAN(eps=150, min_samples=8).fit(X).labels_
    assert len(spots) == sk.max() + 1
    assert sorted(spots["n_incidents"]) == sorted(np.bincount(sk[sk >= 0]).tolist())
    params = spots.attrs["params"]
    assert params["eps"] == 150 and params["min_samples"] == 8
    assert params["reason"] == "eps and min_samples given explicitly"
    assert params["metric_crs"] == crs.to_string() == "EPSG:32610"
    assert params["n_noise"] + spots["n_incidents"].sum() == len(sf_robbery)
    # all SF robberies have exact times: the hour histogram holds every member
    assert (spots["peak_hours"].map(sum) == spots["n_incidents"]).all()
    assert (spots["peak_weekdays"].map(sum) == spots["n_incidents"]).all()
    assert spots["dominant_category"].eq("robbery").all()
    assert np.allclose(spots["weighted_score"], spots["n_incidents"] * CATEGORIES["robbery"].weight)
    # by default large clusters are split into patrol-sized parts: a refinement of the same
    # partition (every part inside one scikit-learn cluster, no member lost)
    parts = find_hotspots(sf_robbery, eps=150, min_samples=8, timezone=LA)
    assert_valid_table(parts, sf_robbery)
    assert len(parts) > len(spots)
    cluster_of = dict(zip(sf_robbery["incident_id"], sk, strict=True))
    for members in parts["member_ids"]:
        assert len({cluster_of[m] for m in members}) == 1
    assert parts["n_incidents"].sum() + parts.attrs["params"]["n_split_off"] == spots["n_incidents"].sum()


def test_default_parameters_are_chosen_and_explained(cincinnati_burglary):
    spots = find_hotspots(cincinnati_burglary, method="dbscan", timezone="America/New_York")
    params = spots.attrs["params"]
    assert params["eps"] > 0 and params["min_samples"] >= 1
    assert "knee of the sorted" in params["reason"]
    assert len(spots) > 0
    assert_valid_table(spots, cincinnati_burglary)
    # explicit values win over the suggestion
    explicit = find_hotspots(cincinnati_burglary, eps=100, timezone="America/New_York")
    assert explicit.attrs["params"]["eps"] == 100
    assert "eps=100 m given" in explicit.attrs["params"]["reason"]


def test_ids_stable_across_runs_and_row_order(sf_robbery):
    a = find_hotspots(sf_robbery, eps=150, min_samples=8, timezone=LA)
    b = find_hotspots(sf_robbery, eps=150, min_samples=8, timezone=LA)
    shuffled = sf_robbery.sample(frac=1.0, random_state=7).reset_index(drop=True)
    c = find_hotspots(shuffled, eps=150, min_samples=8, timezone=LA)
    assert a["hotspot_id"].tolist() == b["hotspot_id"].tolist()
    assert sorted(a["hotspot_id"]) == sorted(c["hotspot_id"])
    by_id = c.set_index("hotspot_id")
    for row in a.itertuples():
        other = by_id.loc[row.hotspot_id]
        assert other["member_ids"] == row.member_ids
        assert other["n_incidents"] == row.n_incidents
        assert shapely.equals_exact(other.geometry, row.geometry, tolerance=1e-6) or other.geometry.equals(row.geometry)
    # another method gives other ids for the same members
    st = find_hotspots(sf_robbery, method="stdbscan", eps=150, min_samples=8, eps_time=24 * 365, timezone=LA)
    assert not set(st["hotspot_id"]) & set(a["hotspot_id"])
    assert all(h.startswith("stdbscan-") for h in st["hotspot_id"])


# ---------------------------------------------------------------- polygons for awkward layouts


def _centre(hanoi_wards, ward="phuong-hoan-kiem"):
    c = ward_metric(hanoi_wards, ward).representative_point()
    return c.x, c.y


def test_single_address_cluster_gets_a_disc(hanoi_wards):
    x, y = _centre(hanoi_wards)
    rng = np.random.default_rng(1)
    same = np.tile([x, y], (12, 1))
    background = np.column_stack([x + rng.uniform(400, 900, 30), y + rng.uniform(400, 900, 30)])
    inc = incidents_from_metres(np.vstack([same, background]))
    spots = find_hotspots(inc, eps=20, min_samples=5)
    assert len(spots) == 1
    assert_valid_table(spots, inc)
    spot = spots.iloc[0]
    assert spot["n_incidents"] == 12
    radius = max(20 / 2, MIN_BUFFER_M)
    assert spot["area_m2"] == pytest.approx(math.pi * radius**2, rel=0.03)
    metric, _ = to_metric(spots, HANOI_METRIC)
    assert metric.geometry.iloc[0].contains(shapely.Point(x, y))


def test_single_street_cluster_gets_a_strip_not_a_sliver(hanoi_wards):
    x, y = _centre(hanoi_wards)
    t = np.linspace(0, 300, 25)
    street = np.column_stack([x + t * 0.8, y + t * 0.6])  # a straight street 300 m long
    inc = incidents_from_metres(street)
    spots = find_hotspots(inc, eps=40, min_samples=3, max_across_m=400)
    assert len(spots) == 1
    assert_valid_table(spots, inc)
    assert_members_inside(spots, inc)
    metric, _ = to_metric(spots, HANOI_METRIC)
    poly = metric.geometry.iloc[0]
    coords = np.asarray(poly.minimum_rotated_rectangle.exterior.coords)
    edges = np.hypot(*np.diff(coords, axis=0).T)
    width, length = edges.min(), edges.max()
    buffer_m = spots.attrs["params"]["buffer_m"]
    assert buffer_m == MIN_BUFFER_M
    assert width == pytest.approx(2 * buffer_m, rel=0.05)
    assert length == pytest.approx(300 + 2 * buffer_m, rel=0.05)
    # the default 250 m limit cuts the 330 m strip in two, each a strip along the street
    split = find_hotspots(inc, eps=40, min_samples=3)
    assert len(split) >= 2
    assert_valid_table(split, inc)
    assert_members_inside(split, inc)
    assert split["n_incidents"].sum() + split.attrs["params"]["n_split_off"] == 25


def test_cross_border_hotspot_belongs_to_both_wards(hanoi_wards):
    a, b = "phuong-hoan-kiem", "phuong-cua-nam"
    bx, by = shared_border_point(hanoi_wards, a, b)
    rng = np.random.default_rng(5)
    ang = rng.uniform(0, 2 * np.pi, 60)
    r = 40 * np.sqrt(rng.uniform(0, 1, 60))
    xy = np.column_stack([bx + r * np.cos(ang), by + r * np.sin(ang)])
    inc = incidents_from_metres(xy)
    from ward_geo.io.readers import assign_wards

    inc = assign_wards(inc, hanoi_wards)
    assert set(inc["ward_id"]) == {a, b}
    spots = find_hotspots(inc, hanoi_wards, eps=25, min_samples=5)
    assert len(spots) == 1
    assert_valid_table(spots, inc)
    spot = spots.iloc[0]
    assert set(spot["ward_ids"]) == {a, b}
    shares = spot["ward_shares"]
    assert set(shares) == {a, b}
    assert 0.15 < shares[a] < 0.85 and 0.15 < shares[b] < 0.85
    assert sum(shares.values()) == pytest.approx(1.0, abs=0.01)
    assert spots.attrs["params"]["metric_crs"] == "EPSG:3405"
    assert sorted(spots.attrs["params"]["study_wards"]) == sorted([a, b])
    # ward filter: keeping the incidents of ward a still reports the hotspot in both wards
    only_a = find_hotspots(inc, hanoi_wards, eps=25, min_samples=3, ward_ids=[a])
    assert len(only_a) >= 1
    assert set(only_a.iloc[0]["member_ids"]) <= set(inc.loc[inc["ward_id"] == a, "incident_id"])
    # without boundaries the members' wards give the shares
    no_bounds = find_hotspots(inc, eps=25, min_samples=5)
    counts = inc["ward_id"].value_counts(normalize=True)
    assert no_bounds.iloc[0]["ward_shares"] == pytest.approx({k: round(v, 4) for k, v in counts.items()})


# ---------------------------------------------------------------- categories, time, weights


def test_per_category_and_across_categories(hanoi_wards):
    x, y = _centre(hanoi_wards)
    rng = np.random.default_rng(2)
    pts = np.column_stack([x + rng.normal(0, 10, 40), y + rng.normal(0, 10, 40)])
    cats = ["drugs"] * 20 + ["theft"] * 20
    severity = [2.0] * 10 + [np.nan] * 30
    inc = incidents_from_metres(pts, categories=cats, severity=severity)
    together = find_hotspots(inc, eps=30, min_samples=5)
    assert len(together) == 1
    row = together.iloc[0]
    assert row["category"] is None
    assert row["category_counts"] == {"drugs": 20, "theft": 20}
    assert row["dominant_category"] == "drugs"  # tie broken by taxonomy order
    w = CATEGORIES["drugs"].weight
    assert row["weighted_score"] == pytest.approx(10 * w * 2.0 + 10 * w + 20 * CATEGORIES["theft"].weight)
    split = find_hotspots(inc, eps=30, min_samples=5, per_category=True)
    assert sorted(split["category"]) == ["drugs", "theft"]
    assert_valid_table(split, inc)
    assert set(split.attrs["params"]["per_category_params"]) == {"drugs", "theft"}
    # ranked by the forecast of incidents, not by weight: 20 members each give close forecasts
    # (their recency differs), and the rank follows the forecast
    assert split["forecast_incidents"].iloc[0] == pytest.approx(split["forecast_incidents"].iloc[1], rel=0.05)
    assert split["forecast_incidents"].is_monotonic_decreasing
    assert split["rank"].tolist() == [1, 2]
    only = find_hotspots(inc, categories="theft", eps=30, min_samples=5)
    assert only.iloc[0]["category_counts"] == {"theft": 20}
    assert only.attrs["params"]["categories"] == ["theft"]


def test_time_window_and_peak_hours_in_local_time(hanoi_wards):
    x, y = _centre(hanoi_wards)
    pts = np.tile([x, y], (30, 1)) + np.random.default_rng(3).normal(0, 5, (30, 2))
    # 20 incidents at 22:00 local on Mondays in March, 10 in April at 09:00 local on Saturday
    times = [pd.Timestamp("2025-03-03 22:00", tz="Asia/Ho_Chi_Minh") + pd.Timedelta(weeks=i % 4) for i in range(20)]
    times += [pd.Timestamp("2025-04-05 09:00", tz="Asia/Ho_Chi_Minh")] * 10
    inc = incidents_from_metres(pts, times=times)
    spots = find_hotspots(inc, eps=30, min_samples=5)
    row = spots.iloc[0]
    assert row["peak_hours"][22] == 20 and row["peak_hours"][9] == 10
    assert row["peak_weekdays"][0] == 20 and row["peak_weekdays"][5] == 10
    assert row["first_seen"] == pd.Timestamp("2025-03-03 15:00", tz="UTC")
    march = find_hotspots(inc, eps=30, min_samples=5, since="2025-03-01", until="2025-04-01")
    assert march.iloc[0]["n_incidents"] == 20
    assert march.attrs["params"]["since"] == "2025-02-28T17:00:00+00:00"
    # day-precision times count for weekdays but not for hours
    day = incidents_from_metres(pts, times=times, precision="day")
    row = find_hotspots(day, eps=30, min_samples=5).iloc[0]
    assert sum(row["peak_hours"]) == 0 and sum(row["peak_weekdays"]) == 30


def test_polygon_and_weight_options(sf_robbery):
    convex = find_hotspots(sf_robbery, eps=150, min_samples=8, concave_ratio=1.0, timezone=LA)
    concave = find_hotspots(sf_robbery, eps=150, min_samples=8, timezone=LA)
    assert_valid_table(convex, sf_robbery)
    assert convex["hotspot_id"].tolist() == concave["hotspot_id"].tolist()  # same members, same ids
    # the buffered convex hull contains the buffered concave hull of the same members
    assert (convex["area_m2"].to_numpy() >= concave["area_m2"].to_numpy() - 1).all()
    wide = find_hotspots(sf_robbery, eps=150, min_samples=8, buffer_m=40, timezone=LA)
    assert wide.attrs["params"]["buffer_m"] == 40
    common = sorted(set(wide["hotspot_id"]) & set(concave["hotspot_id"]))
    assert common
    wide_area = wide.set_index("hotspot_id").loc[common, "area_m2"]
    assert (wide_area > concave.set_index("hotspot_id").loc[common, "area_m2"]).all()  # 40 m instead of 15 m
    # severity weights as DBSCAN sample weights: robbery weight 3 makes every point count 3 times
    weighted = find_hotspots(sf_robbery, eps=150, min_samples=24, weighted=True, timezone=LA)
    assert weighted["hotspot_id"].tolist() == concave["hotspot_id"].tolist()
    assert weighted.attrs["params"]["weighted"] is True


def test_members_retrievable(sf_robbery):
    spots = find_hotspots(sf_robbery, eps=150, min_samples=8, timezone=LA)
    first = spots.iloc[0]
    assert hotspot_members(spots, first["hotspot_id"]) == first["member_ids"]
    assert first["member_ids"] == sorted(first["member_ids"])
    with pytest.raises(NotFoundError):
        hotspot_members(spots, "dbscan-000000000000")


def test_no_match_gives_an_empty_table(sf_robbery):
    spots = find_hotspots(sf_robbery, categories=["drugs"], eps=100, min_samples=5)
    assert len(spots) == 0
    assert list(spots.columns) == list(HOTSPOT_COLUMNS)
    assert spots.crs.to_epsg() == 4326
    assert spots.attrs["params"]["n_selected"] == 0


def test_no_cluster_gives_an_empty_table_and_empty_geojson(sf_robbery):
    from ward_geo.io.writers import to_geojson

    spots = find_hotspots(sf_robbery, eps=10, min_samples=50)
    assert len(spots) == 0 and list(spots.columns) == list(HOTSPOT_COLUMNS)
    assert spots["member_ids"].dtype == object
    assert to_geojson(spots) == {"type": "FeatureCollection", "features": []}
    assert "no hotspot in 951 incidents" in spots.attrs["params"]["note"]


def test_ward_filter_assigns_wards_from_boundaries(hanoi_wards, sf_robbery):
    x, y = ward_metric(hanoi_wards, "phuong-ba-dinh").representative_point().coords[0]
    inc = incidents_from_metres(np.tile([x, y], (8, 1)) + np.arange(16).reshape(8, 2))  # ward_id not set
    spots = find_hotspots(inc, hanoi_wards, eps=30, min_samples=3, ward_ids="phuong-ba-dinh")
    assert spots.iloc[0]["n_incidents"] == 8
    assert spots.iloc[0]["ward_ids"] == ["phuong-ba-dinh"]
    with pytest.raises(InputError, match="no ward_id values"):
        find_hotspots(sf_robbery, eps=100, min_samples=5, ward_ids=["phuong-ba-dinh"])


# ---------------------------------------------------------------- other clustering methods


def test_stdbscan_on_real_data(sf_robbery):
    spots = find_hotspots(sf_robbery, method="stdbscan", eps=300, min_samples=4, eps_time=72, timezone=LA)
    assert len(spots) > 0
    assert_valid_table(spots, sf_robbery)
    assert_members_inside(spots, sf_robbery)
    params = spots.attrs["params"]
    assert params["eps_time_h"] == 72
    # each space-time cluster spans a time range consistent with chained 72 h links
    span_h = (spots["last_seen"] - spots["first_seen"]).dt.total_seconds() / 3600
    assert (span_h <= 72 * (spots["n_incidents"] - 1) + 1e-6).all()


def test_hdbscan_on_real_data(cincinnati_burglary):
    spots = find_hotspots(cincinnati_burglary, method="hdbscan", min_cluster_size=15, timezone="America/New_York")
    assert len(spots) > 0
    assert_valid_table(spots, cincinnati_burglary)
    assert_members_inside(spots, cincinnati_burglary)
    # clusters have at least 15 members; parts of split clusters at least 3
    assert (spots["n_incidents"] >= 3).all()
    assert spots.attrs["params"]["min_cluster_size"] == 15


def test_month_precision_police_uk_data(incidents_dir):
    from ward_geo.io.readers import read_incidents

    path = incidents_dir / "police_uk_west_yorkshire" / "2018-07-west-yorkshire-street.csv"
    leeds = read_incidents(path, timezone="Europe/London")
    assert set(leeds["time_precision"]) == {"month"}
    spots = find_hotspots(leeds, eps=60, min_samples=40, per_category=True, timezone="Europe/London")
    assert len(spots) > 0
    assert_valid_table(spots, leeds)
    # a month is no hour and no weekday: the histograms stay empty instead of inventing them
    assert (spots["peak_hours"].map(sum) == 0).all() and (spots["peak_weekdays"].map(sum) == 0).all()
    assert spots["first_seen"].min() == spots["last_seen"].max() == pd.Timestamp("2018-06-30 23:00", tz="UTC")
    st_spots = find_hotspots(leeds, method="stdbscan", eps=60, min_samples=40, timezone="Europe/London")
    assert "only have a month or year" in st_spots.attrs["params"]["reason"]


@pytest.mark.parametrize("method", ["dbscan", "hdbscan", "stdbscan", "kde", "gistar"])
def test_each_method_on_simulated_wards(method, simulated_wards, hanoi_wards):
    extra = {"permutations": 0} if method == "gistar" else {}
    per_category = method in {"dbscan", "stdbscan"}
    spots = find_hotspots(simulated_wards, hanoi_wards, method=method, per_category=per_category, **extra)
    assert len(spots) > 0
    assert_valid_table(spots, simulated_wards)
    assert_members_inside(spots, simulated_wards, tol_m=1.0)
    central = {"phuong-hoan-kiem", "phuong-cua-nam"}
    assert all(set(w) & central for w in spots["ward_ids"])
    assert all(0 < sum(s.values()) <= 1.0001 for s in spots["ward_shares"])
    assert spots["method"].eq(method).all()


# ---------------------------------------------------------------- the store as the source


def test_store_source_gives_the_same_hotspots(tmp_path, simulated_wards, hanoi_wards):
    from ward_geo.store.sqlite import SQLiteStore

    with SQLiteStore(tmp_path / "store.sqlite") as store:
        store.put_boundaries(hanoi_wards[hanoi_wards["ward_id"].isin(["phuong-hoan-kiem", "phuong-cua-nam"])])
        store.ingest(simulated_wards)
        from_store = find_hotspots(store=store, categories=["theft", "drugs"], eps=40, min_samples=6,
                                   since="2025-01-15", until="2025-03-15")
    boundaries = hanoi_wards[hanoi_wards["ward_id"].isin(["phuong-hoan-kiem", "phuong-cua-nam"])]
    from_frame = find_hotspots(simulated_wards, boundaries, categories=["theft", "drugs"], eps=40, min_samples=6,
                               since="2025-01-15", until="2025-03-15")
    assert len(from_frame) > 0
    assert from_store["hotspot_id"].tolist() == from_frame["hotspot_id"].tolist()
    assert from_store["ward_shares"].tolist() == from_frame["ward_shares"].tolist()


# ---------------------------------------------------------------- errors


def test_parameter_errors_are_collected(sf_robbery):
    with pytest.raises(ParameterError) as info:
        find_hotspots(sf_robbery, eps=-5, min_samples=0, categories=["robbery", "nope"], since="yesterday-ish",
                      buffer_m=0, unknown_option=1)
    msg = info.value.message
    for part in ("eps must be a positive distance in metres", "min_samples must be an integer >= 1",
                 "unknown category code(s) 'nope'", "since='yesterday-ish'", "unknown_option",
                 "buffer_m must be a positive number of metres"):
        assert part in msg
    assert len(info.value.details["problems"]) >= 6
    with pytest.raises(ParameterError, match="method 'kmeans' is unknown"):
        find_hotspots(sf_robbery, method="kmeans")
    with pytest.raises(ParameterError, match="eps does not apply to method 'kde'"):
        find_hotspots(sf_robbery, method="kde", eps=50)
    with pytest.raises(ParameterError, match="must be before until"):
        find_hotspots(sf_robbery, since="2019-06-01", until="2019-01-01")
    with pytest.raises(ParameterError, match="timezone 'Mars/Olympus'"):
        find_hotspots(sf_robbery, timezone="Mars/Olympus")
    with pytest.raises(ParameterError, match="quantile must be strictly between 0 and 1"):
        find_hotspots(sf_robbery, method="kde", quantile=1.5)
    with pytest.raises(ParameterError) as info:
        find_hotspots(sf_robbery, method="gistar", seed="x", cold="yes", permutations=-1, alpha=2)
    for part in ("seed must be an integer >= 0", "cold must be true or false", "permutations must be an integer >= 0",
                 "alpha must be strictly between 0 and 1"):
        assert part in info.value.message
    with pytest.raises(ParameterError, match="too large|5000|max_eps|exceeds"):
        find_hotspots(sf_robbery, eps=50_000, min_samples=5)


def test_input_errors_name_rows_and_fields(sf_robbery):
    dup = pd.concat([sf_robbery.iloc[:5], sf_robbery.iloc[:1]], ignore_index=True)
    with pytest.raises(InputError, match=r"field incident_id: 2 rows share ids \(rows 0, 5;.*expected unique ids") as info:
        find_hotspots(dup, eps=100, min_samples=2)
    first = info.value.details["problems"][0]
    assert (first["field"], first["row"]) == ("incident_id", 0)
    missing = sf_robbery.iloc[:5].copy()
    missing.loc[3, "geometry"] = None
    with pytest.raises(InputError, match=r"rows 3\b"):
        find_hotspots(missing, eps=100, min_samples=2)
    no_crs = sf_robbery.iloc[:5].set_crs(None, allow_override=True)
    with pytest.raises(InputError, match="no CRS"):
        find_hotspots(no_crs, eps=100, min_samples=2)
    with pytest.raises(InputError, match="GeoDataFrame"):
        find_hotspots(pd.DataFrame({"a": [1]}))


def test_find_hotspots_without_incidents_or_store_points_to_the_workflow():
    with pytest.raises(InputError, match="give incidents or store=.*workflows.store_hotspots"):
        find_hotspots(eps=100, min_samples=2)


def test_priority_rule():
    assert priority_for_ranks(np.arange(1, 11)).tolist() == ["high"] * 2 + ["medium"] * 3 + ["low"] * 5
    assert priority_for_ranks(np.array([1])).tolist() == ["high"]
    assert priority_for_ranks(np.array([1, 2, 3])).tolist() == ["high", "medium", "low"]


def test_outlines_only_give_the_full_tables_ids_ranks_and_polygons(sf_robbery):
    from ward_geo.analysis.hotspots import delivered_hotspots
    from ward_geo.analysis.hotspots.request import canonical_order

    gdf = canonical_order(sf_robbery[sf_robbery["occurred_at"].notna()].reset_index(drop=True))
    for method in ("dbscan", "recency"):
        full = delivered_hotspots(gdf, None, method, timezone=LA)
        light = delivered_hotspots(gdf, None, method, timezone=LA, outlines_only=True)
        assert len(full) == len(light) > 3
        assert light["hotspot_id"].tolist() == full["hotspot_id"].tolist()
        assert light["rank"].tolist() == full["rank"].tolist() == list(range(1, len(full) + 1))
        back = light.to_crs(full.crs).geometry.values
        assert all(a.equals_exact(b, 1e-7) for a, b in zip(back, full.geometry.values, strict=True))
