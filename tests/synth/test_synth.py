"""The incident simulator against the real Hanoi wards, street network and bus stops."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from ward_geo import settings, streets, synth
from ward_geo.categories import CATEGORY_CODES
from ward_geo.errors import InputError, NotFoundError, ParameterError
from ward_geo.io.readers import read_boundaries
from ward_geo.schema import INCIDENT_COLUMNS, conform_incidents

METRIC = 3405  # VN-2000 / UTM 48N
LOCAL = "Asia/Ho_Chi_Minh"


@pytest.fixture(scope="module")
def boundaries(hanoi_boundaries_path: Path) -> gpd.GeoDataFrame:
    return read_boundaries(hanoi_boundaries_path)


@pytest.fixture(scope="module")
def graph_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A street-graph cache folder of this module, filled once by the ``graph`` fixture."""
    return tmp_path_factory.mktemp("street_cache")


@pytest.fixture(scope="module")
def graph(graph_cache: Path, streets_osm_path: Path) -> nx.MultiDiGraph:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WARD_GEO_CACHE_DIR", str(graph_cache))
        settings.reset_settings()
        try:
            return streets.load_street_graph(streets_osm_path)
        finally:
            settings.reset_settings()


@pytest.fixture
def warm_cache(graph: nx.MultiDiGraph, graph_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the settings at the module's cache (the default graph loads from it)."""
    monkeypatch.setenv("WARD_GEO_CACHE_DIR", str(graph_cache))
    settings.reset_settings()
    return graph_cache


@pytest.fixture(scope="module")
def stops(bus_stops_path: Path) -> gpd.GeoDataFrame:
    return streets.read_bus_stops(bus_stops_path)


@pytest.fixture(scope="module")
def year(boundaries, graph, stops) -> gpd.GeoDataFrame:
    """One simulated year (2025) of the seven central wards, seed 0."""
    return synth.simulate(boundaries, graph=graph, bus_stops=stops, seed=0)


@pytest.fixture(scope="module")
def year_m(year: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return year.to_crs(METRIC)


def _local_hours(frame: gpd.GeoDataFrame) -> pd.Series:
    return frame["occurred_at"].dt.tz_convert(LOCAL).dt.hour


def test_canonical_schema(year: gpd.GeoDataFrame) -> None:
    assert tuple(year.columns) == INCIDENT_COLUMNS
    assert year.crs.to_epsg() == 4326
    pd.testing.assert_frame_equal(conform_incidents(year), year)
    assert str(year["occurred_at"].dtype) == "datetime64[ns, UTC]"
    assert set(year.geom_type) == {"Point"}
    assert year["incident_id"].is_unique
    assert year["incident_id"].map(lambda s: bool(re.fullmatch(r"syn-0-\d{6}", s))).all()
    assert (year["source"] == "synthetic").all()
    assert (year["time_precision"] == "exact").all()
    assert set(year["severity"].unique()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert year["occurred_at"].is_monotonic_increasing
    assert year["ward_id"].notna().all()
    assert year["description"].notna().all()


def test_year_volume_categories_and_period(year: gpd.GeoDataFrame) -> None:
    assert 10_000 <= len(year) <= 30_000
    assert set(year["category"]) == set(CATEGORY_CODES)
    assert set(year["ward_id"]) == set(synth.CENTRAL_WARD_IDS)
    assert year["ward_id"].value_counts().min() > 800
    local = year["occurred_at"].dt.tz_convert(LOCAL)
    assert local.min() >= pd.Timestamp("2025-01-01", tz=LOCAL)
    assert local.max() < pd.Timestamp("2026-01-01", tz=LOCAL)
    # every month has incidents
    assert local.dt.month.nunique() == 12
    counts = year["category"].value_counts()
    assert counts["parking_violation"] > counts["traffic_accident"] > counts["illegal_lending"]


def test_every_point_inside_its_ward(year: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame) -> None:
    wards = boundaries.set_index("ward_id")
    for ward_id, group in year.groupby("ward_id"):
        poly = wards.loc[ward_id, "geometry"].buffer(1e-6)  # ~0.1 m: projection round trip
        inside = shapely.contains_xy(poly, group.geometry.x.to_numpy(), group.geometry.y.to_numpy())
        assert inside.all(), f"{(~inside).sum()} points of {ward_id} outside it"


def test_points_lie_a_few_metres_off_streets(year_m: gpd.GeoDataFrame, graph: nx.MultiDiGraph) -> None:
    edges = streets.street_edges(graph).to_crs(METRIC)
    tree = shapely.STRtree(edges.geometry.to_numpy())
    _, dist = tree.query_nearest(year_m.geometry.to_numpy(), return_distance=True, all_matches=False)
    assert dist.max() < 11.0  # jitter is clipped to 7.5 m per axis
    assert 0.5 < np.median(dist) < 4.0  # off the centreline, not on it


def test_hours_are_realistic(year: gpd.GeoDataFrame) -> None:
    hours = _local_hours(year)
    drugs = hours[year["category"] == "drugs"]
    assert drugs.isin([20, 21, 22, 23, 0, 1, 2, 3, 4]).mean() > 0.75
    accidents = hours[year["category"] == "traffic_accident"]
    rush = accidents.isin([7, 8, 17, 18]).mean()
    assert rush > 0.4  # 4 of 24 hours hold over 40 % of accidents
    per_hour = accidents.value_counts()
    assert per_hour.idxmax() in (7, 8, 17, 18)
    assert per_hour.get(8, 0) > 3 * per_hour.get(3, 0)
    parking = hours[year["category"] == "parking_violation"]
    assert parking.between(7, 18).mean() > 0.85
    burglary = hours[year["category"] == "burglary"]
    assert burglary.isin([0, 1, 2, 3, 4]).mean() > 0.3


def test_weekly_rhythm(year: gpd.GeoDataFrame) -> None:
    dow = year["occurred_at"].dt.tz_convert(LOCAL).dt.day_of_week
    acc = dow[year["category"] == "traffic_accident"]
    weekday_rate = acc.lt(5).sum() / 5
    weekend_rate = acc.ge(5).sum() / 2
    assert weekday_rate > 1.1 * weekend_rate
    order = dow[year["category"] == "public_order"]
    assert order.ge(5).sum() / 2 > 1.1 * order.lt(5).sum() / 5


def test_accidents_at_busy_intersections(year_m: gpd.GeoDataFrame, graph: nx.MultiDiGraph) -> None:
    nodes = streets.street_nodes(graph).to_crs(METRIC)
    busy = nodes[(nodes["highway_rank"] >= streets.HIGHWAY_RANK["tertiary"]) & (nodes["street_count"] >= 3)]
    tree = shapely.STRtree(busy.geometry.to_numpy())

    def share_near(code: str) -> float:
        pts = year_m.loc[year_m["category"] == code].geometry.to_numpy()
        _, dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
        return float(np.mean(dist < 30))

    assert share_near("traffic_accident") > 0.7
    assert share_near("traffic_accident") > 2 * share_near("drugs")
    assert share_near("traffic_accident") > 1.5 * share_near("burglary")


def test_drugs_in_alleys(year_m: gpd.GeoDataFrame, graph: nx.MultiDiGraph) -> None:
    edges = streets.street_edges(graph).to_crs(METRIC)
    tree = shapely.STRtree(edges.geometry.to_numpy())
    minor = ["service", "footway", "path", "residential", "living_street", "pedestrian", "steps", "unclassified"]
    highway = edges["highway"].to_numpy()

    def on_minor(code: str) -> float:
        pts = year_m.loc[year_m["category"] == code].geometry.to_numpy()
        idx = tree.query_nearest(pts, all_matches=False)[1]
        return float(np.isin(highway[idx], minor).mean())

    assert on_minor("drugs") > 0.85
    assert on_minor("traffic_accident") < 0.5
    drug_text = year_m.loc[year_m["category"] == "drugs", "description"]
    assert drug_text.str.contains("ma túy|kim tiêm|nghiện", regex=True).all()
    assert drug_text.str.contains(r"\((?:Ngõ|Ngách|Hẻm)", regex=True).mean() > 0.2


def test_thefts_near_bus_stops(year_m: gpd.GeoDataFrame, stops: gpd.GeoDataFrame) -> None:
    tree = shapely.STRtree(stops.to_crs(METRIC).geometry.to_numpy())

    def share_near(*codes: str) -> float:
        pts = year_m.loc[year_m["category"].isin(codes)].geometry.to_numpy()
        _, dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
        return float(np.mean(dist < 80))

    assert share_near("theft") > 0.45
    assert share_near("robbery") > 0.45
    # residential-street categories are placed without regard to bus stops
    assert share_near("theft") > 2 * share_near("drugs", "burglary", "fire_hazard", "illegal_lending")


def test_emerging_and_fading_clusters_are_in_the_data(year_m: gpd.GeoDataFrame) -> None:
    clusters = pd.DataFrame(year_m.attrs["synthetic_clusters"])
    assert set(clusters["kind"]) == {"persistent", "emerging", "fading"}
    assert set(clusters["ward_id"]) == set(synth.CENTRAL_WARD_IDS)
    assert clusters["n_incidents"].sum() > 0.3 * len(year_m)
    local = year_m["occurred_at"].dt.tz_convert(LOCAL)
    first_third = local < pd.Timestamp("2025-05-01", tz=LOCAL)
    last_third = local >= pd.Timestamp("2025-09-01", tz=LOCAL)
    checked = {"emerging": 0, "fading": 0, "persistent": 0}
    centres = gpd.GeoSeries(gpd.points_from_xy(clusters["lon"], clusters["lat"]), crs=4326).to_crs(METRIC)
    for row, centre in zip(clusters.itertuples(), centres, strict=True):
        if row.n_incidents < (80 if row.kind == "persistent" else 40):
            continue  # too few incidents for a stable comparison
        others = (clusters["category"] == row.category).to_numpy() & (clusters["cluster_id"] != row.cluster_id).to_numpy()
        reach = 2 * row.sigma_m + 2 * clusters["sigma_m"].to_numpy()
        if (others & (centres.distance(centre).to_numpy() < reach)).any():
            continue  # overlaps another cluster of its category: its trend is mixed
        near = (year_m["category"] == row.category).to_numpy() & (
            year_m.geometry.distance(centre).to_numpy() < 2 * row.sigma_m
        )
        early, late = int((near & first_third).sum()), int((near & last_third).sum())
        if row.kind == "emerging":
            assert late > 2 * early + 5, (row.cluster_id, early, late)
        elif row.kind == "fading":
            assert early > 2 * late + 5, (row.cluster_id, early, late)
        else:
            assert 0.3 < (late + 1) / (early + 1) < 3.0, (row.cluster_id, early, late)
        checked[row.kind] += 1
    assert min(checked.values()) >= 2, checked


def test_deterministic_for_a_seed(boundaries, graph, stops) -> None:
    kwargs = dict(ward_ids=("phuong-hoan-kiem", "phuong-cua-nam"), graph=graph, bus_stops=stops, scale=0.2)
    a = synth.simulate(boundaries, seed=7, **kwargs)
    b = synth.simulate(boundaries, seed=7, **kwargs)
    c = synth.simulate(boundaries, seed=8, **kwargs)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs["synthetic_clusters"] == b.attrs["synthetic_clusters"]
    assert a["incident_id"].str.startswith("syn-7-").all()
    assert c["incident_id"].str.startswith("syn-8-").all()
    assert not a.geometry.equals(c.geometry)


def test_scale_period_and_single_ward(boundaries, graph, stops, year) -> None:
    quarter = synth.simulate(boundaries, graph=graph, bus_stops=stops, scale=0.25)
    assert 0.18 < len(quarter) / len(year) < 0.32
    month = synth.simulate(
        boundaries, ward_ids=["phuong-hoan-kiem"], start="2025-03-01", end="2025-04-01", graph=graph, bus_stops=stops
    )
    assert set(month["ward_id"]) == {"phuong-hoan-kiem"}
    local = month["occurred_at"].dt.tz_convert(LOCAL)
    assert local.min() >= pd.Timestamp("2025-03-01", tz=LOCAL)
    assert local.max() < pd.Timestamp("2025-04-01", tz=LOCAL)
    assert 100 < len(month) < 600


def test_default_graph_and_bus_stops_from_settings(warm_cache: Path, boundaries) -> None:
    out = synth.simulate(boundaries, ward_ids=["phuong-cua-nam"], scale=0.05)
    assert len(out) > 50 and set(out["ward_id"]) == {"phuong-cua-nam"}


def test_wards_named_in_vietnamese_are_the_same_wards(boundaries, graph, stops) -> None:
    kw = dict(graph=graph, bus_stops=stops, scale=0.05, seed=3)
    by_name = synth.simulate(boundaries, ward_ids=["Phường Cửa Nam"], **kw)
    by_id = synth.simulate(boundaries, ward_ids=["phuong-cua-nam"], **kw)
    assert set(by_name["ward_id"]) == {"phuong-cua-nam"}
    assert by_name.drop(columns="geometry").equals(by_id.drop(columns="geometry"))


def test_bad_ward_geometry_names_the_ward_and_field(boundaries, graph, stops) -> None:
    broken = boundaries.copy()
    broken.loc[broken["ward_id"] == "phuong-cua-nam", "geometry"] = None
    with pytest.raises(InputError, match="field geometry: ward phuong-cua-nam: geometry must be a non-empty Polygon"):
        synth.simulate(broken, ward_ids=["phuong-cua-nam"], graph=graph, bus_stops=stops)


def test_errors(boundaries, graph, stops) -> None:
    kw = dict(graph=graph, bus_stops=stops)
    with pytest.raises(NotFoundError, match="unknown ward.*phuong-atlantis"):
        synth.simulate(boundaries, ward_ids=["phuong-atlantis"], **kw)
    with pytest.raises(ParameterError, match="end .* must be after start"):
        synth.simulate(boundaries, start="2025-06-01", end="2025-06-01", **kw)
    with pytest.raises(ParameterError, match="start must be a date"):
        synth.simulate(boundaries, start="yesterday-ish", **kw)
    with pytest.raises(ParameterError, match="scale"):
        synth.simulate(boundaries, scale=0, **kw)
    with pytest.raises(ParameterError, match="ward_ids is empty"):
        synth.simulate(boundaries, ward_ids=[], **kw)
    # a rural commune far outside the central street extract
    with pytest.raises(InputError, match="no streets"):
        synth.simulate(boundaries, ward_ids=["phuong-chuong-my"], **kw)
    with pytest.raises(InputError, match="ward_id"):
        synth.simulate(boundaries.drop(columns="ward_id"), **kw)


# ----------------------------------------------------------------------------- large point sets


def test_simulate_large_shape_bounds_determinism() -> None:
    x = synth.simulate_large(200_000, seed=3)
    assert x.shape == (200_000, 2) and x.dtype == np.float64
    minx, miny, maxx, maxy = synth.DEFAULT_LARGE_BOUNDS
    assert (x[:, 0] >= minx).all() and (x[:, 0] <= maxx).all()
    assert (x[:, 1] >= miny).all() and (x[:, 1] <= maxy).all()
    np.testing.assert_array_equal(x, synth.simulate_large(200_000, seed=3))
    assert not np.array_equal(x, synth.simulate_large(200_000, seed=4))
    # no pile-up on the border
    assert (x[:, 0] == minx).sum() + (x[:, 0] == maxx).sum() == 0


def test_simulate_large_is_clustered() -> None:
    n = 300_000
    x = synth.simulate_large(n, seed=1, n_clusters=150)
    minx, miny, maxx, maxy = synth.DEFAULT_LARGE_BOUNDS
    cells, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=[int((maxx - minx) / 200), int((maxy - miny) / 200)])
    flat = np.sort(cells.ravel())[::-1]
    top = flat[: len(flat) // 50].sum() / n  # the densest 2 % of 200 m cells
    assert top > 0.4
    u = np.random.default_rng(0).uniform((minx, miny), (maxx, maxy), size=(n, 2))
    ucells, _, _ = np.histogram2d(u[:, 0], u[:, 1], bins=cells.shape)
    assert np.sort(ucells.ravel())[::-1][: len(flat) // 50].sum() / n < 0.05


def test_large_chunks_and_times() -> None:
    chunks = list(synth.iter_large_chunks(25_000, seed=2, chunk_size=10_000))
    assert [len(c) for c in chunks] == [10_000, 10_000, 5_000]
    whole = synth.simulate_large(25_000, seed=2, chunk_size=10_000)
    np.testing.assert_array_equal(np.vstack(chunks), whole)
    xy, t = synth.simulate_large(50_000, seed=2, with_time=True, bounds=(0, 0, 5_000, 5_000), n_clusters=10)
    assert xy.shape == (50_000, 2) and t.shape == (50_000,)
    assert xy.max() <= 5_000 and xy.min() >= 0
    assert t.min() >= 0 and t.max() < 365 * 86400
    hours = (t % 86400) // 3600
    assert np.mean((hours >= 2) & (hours < 5)) < np.mean((hours >= 17) & (hours < 20))
    with pytest.raises(ParameterError, match="n must be"):
        synth.simulate_large(-1)
    with pytest.raises(ParameterError, match="bounds"):
        synth.simulate_large(10, bounds=(5, 5, 1, 1))
    with pytest.raises(ParameterError, match="n_clusters"):
        synth.simulate_large(10, n_clusters=0)


def test_write_large_geoparquet(tmp_path: Path) -> None:
    out = tmp_path / "large"
    files = synth.write_large_geoparquet(out, 30_001, seed=5, partitions=3)
    assert [f.name for f in files] == ["part.0.parquet", "part.1.parquet", "part.2.parquet"]
    parts = [gpd.read_parquet(f) for f in files]
    table = pd.concat(parts, ignore_index=True)
    assert len(table) == 30_001
    assert tuple(table.columns) == INCIDENT_COLUMNS
    assert parts[0].crs.to_epsg() == 4326
    assert table["incident_id"].is_unique and table["incident_id"].iloc[0] == "syn-5-000000"
    assert (table["source"] == "synthetic").all() and set(table["category"]) <= set(CATEGORY_CODES)
    assert table.geometry.x.between(105.7, 106.0).all() and table.geometry.y.between(20.9, 21.15).all()
    conformed = conform_incidents(gpd.GeoDataFrame(table, geometry="geometry", crs=4326))
    assert conformed["occurred_at"].dt.year.eq(2025).mean() > 0.99
    import dask_geopandas

    ddf = dask_geopandas.read_parquet(out)
    assert ddf.npartitions == 3 and len(ddf) == 30_001
    with pytest.raises(ParameterError, match="not empty"):
        synth.write_large_geoparquet(out, 10, seed=5)
    assert len(synth.write_large_geoparquet(out, 10, seed=5, partitions=1, overwrite=True)) == 1
    assert sorted(p.name for p in out.iterdir()) == ["part.0.parquet"]
    (out / "keep.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ParameterError, match="refusing"):
        synth.write_large_geoparquet(out, 10, overwrite=True)


# ----------------------------------------------------------------------------- CLI


def test_cli_simulate_writes_files_and_ingests(warm_cache: Path, tmp_path: Path) -> None:
    from ward_geo.cli import app
    from ward_geo.io.readers import read_incidents
    from ward_geo.store import open_store

    runner = CliRunner()
    out = tmp_path / "sim.parquet"
    args = ["simulate", "-w", "phuong-hoan-kiem,phuong-cua-nam", "--scale", "0.1", "--seed", "3", "--json"]
    result = runner.invoke(app, [*args, "-o", str(out), "--ingest"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["wards"] == ["phuong-hoan-kiem", "phuong-cua-nam"]
    assert summary["ingest"]["added"] == summary["rows"] > 100
    assert summary["attribution"] == "© OpenStreetMap contributors"
    written = gpd.read_parquet(out)
    assert len(written) == summary["rows"] and (written["source"] == "synthetic").all()
    with open_store() as store:
        assert store.count(ward_ids=["phuong-hoan-kiem", "phuong-cua-nam"]) == summary["rows"]
    again = runner.invoke(app, [*args, "--ingest"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["ingest"] == {**json.loads(again.stdout)["ingest"], "added": 0,
                                                  "duplicates": summary["rows"]}
    csv = tmp_path / "sim.csv"
    assert runner.invoke(app, [*args, "-o", str(csv)]).exit_code == 0
    back = read_incidents(csv)
    assert len(back) == summary["rows"]
    assert set(back["category"]) == set(written["category"])
    geojson = tmp_path / "sim.geojson"
    assert runner.invoke(app, [*args, "-o", str(geojson)]).exit_code == 0
    assert len(json.loads(geojson.read_text(encoding="utf-8"))["features"]) == summary["rows"]


def test_cli_simulate_errors(warm_cache: Path, tmp_path: Path) -> None:
    from ward_geo.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["simulate"]).exit_code == 2
    assert runner.invoke(app, ["simulate", "-o", str(tmp_path / "x.txt")]).exit_code == 2
    bad = runner.invoke(app, ["simulate", "-w", "phuong-atlantis", "-o", str(tmp_path / "x.csv")])
    assert bad.exit_code == 1
    assert "phuong-atlantis" in bad.output
    assert not (tmp_path / "x.csv").exists()
