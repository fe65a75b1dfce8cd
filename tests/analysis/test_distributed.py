"""Distributed DBSCAN on Dask equals single-machine DBSCAN on the union of the partitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import geopandas as gpd
import pytest
import shapely
from sklearn.cluster import DBSCAN as SkDBSCAN

from ward_geo.cluster import DBSCAN
from ward_geo.analysis.distributed import (
    ROW_BITS,
    dask_client,
    dask_dbscan,
    find_hotspots_dask,
    read_incident_partitions,
)
from ward_geo.analysis.hotspots import find_hotspots
from ward_geo.analysis.hotspots.request import metric_xy as _metric_xy
from ward_geo.errors import InputError, ParameterError
from ward_geo.io.readers import assign_wards, read_boundaries
from ward_geo.synth import write_large_geoparquet

X0, Y0 = 585_000.0, 2_320_000.0  # VN-2000 / UTM 48N, central Hanoi
EPS = 50.0
SIDE = 400.0  # tile side used by the border tests: borders at X0 + k * SIDE


@pytest.fixture(scope="module")
def client():
    with dask_client(n_workers=2, processes=False, memory_limit="2GB") as c:
        yield c


def border_points(seed: int) -> np.ndarray:
    """Points in metres that stress tile borders and halos (tiles of SIDE from X0, Y0)."""
    rng = np.random.default_rng(seed)
    parts = [np.array([[X0, Y0], [X0 + 2000.0, Y0 + 2000.0]])]  # fixes the tile origin and extent
    bx = X0 + SIDE * np.arange(1, 5)
    by = Y0 + SIDE * np.arange(1, 5)
    # blobs centred on borders, on corners and exactly one and two eps away from them
    for cx in bx[:3]:
        for cy in (by[0], by[2], by[1] + EPS, by[3] - 2 * EPS):
            parts.append(np.array([cx, cy]) + rng.normal(0, 18.0, (int(rng.integers(6, 60)), 2)))
    # chains of points exactly eps apart crossing several tiles (x and y integers)
    parts.append(np.column_stack([X0 + 100.0 + EPS * np.arange(30), np.full(30, Y0 + 777.0)]))
    parts.append(np.column_stack([np.full(25, X0 + 1234.0), Y0 + 50.0 + EPS * np.arange(25)]))
    # a chain of points just over eps apart: never joined
    parts.append(np.column_stack([X0 + 60.0 + np.arange(12) * np.nextafter(EPS, np.inf),
                                  np.full(12, Y0 + 1500.0)]))
    # duplicates exactly on borders and corners (dense enough to be core)
    for px, py in ((bx[0], by[0]), (bx[1], Y0 + 1000.0), (X0 + 1000.0, by[2])):
        parts.append(np.repeat([[px, py]], int(rng.integers(3, 12)), axis=0))
    # points exactly 2 eps (the halo) and eps from a border, on both sides
    for off in (-2 * EPS, -EPS, 0.0, EPS, 2 * EPS):
        parts.append(np.array([[bx[2] + off, Y0 + 300.0], [bx[2] + off, Y0 + 300.0 + EPS]]))
    # background
    parts.append(rng.uniform(0, 2000.0, (1500, 2)) + [X0, Y0])
    X = np.vstack(parts)
    return X[rng.permutation(len(X))]


def incidents_from_xy(X: np.ndarray, crs: str = "EPSG:3405", seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    n = len(X)
    cats = np.array(["theft", "traffic_accident", "drugs", "robbery"], dtype=object)
    return gpd.GeoDataFrame(
        {
            "incident_id": [f"t-{i:06d}" for i in range(n)],
            "category": cats[rng.integers(0, len(cats), n)],
            "occurred_at": pd.Timestamp("2025-03-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 90 * 86400, n), unit="s"),
            "time_precision": "exact",
            "severity": rng.integers(1, 4, n).astype(float),
            "ward_id": None,
        },
        geometry=gpd.points_from_xy(X[:, 0], X[:, 1]),
        crs=crs,
    )


def assert_same_partition(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> None:
    """``a`` and ``b`` group the points of ``mask`` identically (up to relabelling)."""
    pairs = pd.DataFrame({"a": a[mask], "b": b[mask]}).drop_duplicates()
    assert pairs["a"].is_unique and pairs["b"].is_unique


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("min_samples", "weighted"), [(5, False), (12, False), (1, False), (8, True)])
def test_equals_single_machine_across_tile_borders(client, seed, min_samples, weighted):
    X = border_points(seed)
    gdf = incidents_from_xy(X, seed=seed)
    res = dask_dbscan(gdf, EPS, min_samples, client=client, weighted=weighted, npartitions=3, n_groups=3,
                      tile_side=SIDE)
    labels, core = res.labels_and_core()
    Xm, _ = _metric_xy(gdf)
    np.testing.assert_array_equal(Xm, X)  # identity projection: the exact test coordinates
    weights = None
    if weighted:
        from ward_geo.analysis.hotspots.request import incident_weights as _weights

        weights = _weights(gdf)
    ref = DBSCAN(EPS, min_samples).fit(X, sample_weight=weights)
    np.testing.assert_array_equal(core, ref.core_sample_indices_)
    np.testing.assert_array_equal(labels, ref.labels_)
    assert res.n_clusters == ref.n_clusters_ and res.n_core == len(core)
    sk = SkDBSCAN(eps=EPS, min_samples=min_samples).fit(X, sample_weight=weights)
    np.testing.assert_array_equal(core, sk.core_sample_indices_)
    np.testing.assert_array_equal(labels < 0, sk.labels_ < 0)
    is_core = np.zeros(len(X), dtype=bool)
    is_core[core] = True
    assert_same_partition(labels, sk.labels_, is_core)
    # the data really crosses tiles: some cluster owns points of several tiles
    tile = np.floor((X - X.min(axis=0)) / SIDE).astype(int)
    tile_id = tile[:, 0] * 100 + tile[:, 1]
    spans = pd.Series(tile_id[labels >= 0]).groupby(labels[labels >= 0]).nunique()
    assert spans.max() >= 3
    assert res.n_tiles >= 16 and res.halo_fraction > 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lattice_with_exact_distances_and_duplicates(client, seed):
    """Integer lattice of step eps / 2: many pairs exactly eps apart, on every tile border."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 96, (2500, 2)).astype(float) * (EPS / 2)
    cells = np.vstack([cells, np.repeat(cells[:40], 3, axis=0)])  # duplicates
    X = cells + [X0, Y0]
    gdf = incidents_from_xy(X)
    for ms in (3, 6):
        res = dask_dbscan(gdf, EPS, ms, client=client, npartitions=3, n_groups=3, tile_side=SIDE)
        labels, core = res.labels_and_core()
        ref = DBSCAN(EPS, ms).fit(X)
        np.testing.assert_array_equal(labels, ref.labels_)
        np.testing.assert_array_equal(core, ref.core_sample_indices_)
        sk = SkDBSCAN(eps=EPS, min_samples=ms).fit(X)
        np.testing.assert_array_equal(core, sk.core_sample_indices_)
        np.testing.assert_array_equal(labels < 0, sk.labels_ < 0)
        is_core = np.zeros(len(X), dtype=bool)
        is_core[core] = True
        assert_same_partition(labels, sk.labels_, is_core)
    on_border = ((X[:, 0] - X0) % SIDE == 0) | ((X[:, 1] - Y0) % SIDE == 0)
    assert on_border.sum() > 100


def test_border_and_noise_rules(client):
    X = border_points(5)
    gdf = incidents_from_xy(X)
    res = dask_dbscan(gdf, EPS, 6, client=client, npartitions=4, n_groups=2, tile_side=SIDE)
    labels, core = res.labels_and_core()
    is_core = np.zeros(len(X), dtype=bool)
    is_core[core] = True
    d2 = ((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2)
    near = d2 <= EPS * EPS
    # core points: at least min_samples neighbours (themselves included)
    np.testing.assert_array_equal(is_core, near.sum(axis=1) >= 6)
    # border points: in the cluster of some core neighbour; noise: no core neighbour
    for i in np.flatnonzero(~is_core):
        neighbour_labels = set(labels[near[i] & is_core].tolist())
        if neighbour_labels:
            assert labels[i] == min(neighbour_labels)
        else:
            assert labels[i] == -1
    # with min_samples=3 every point of the chain exactly eps apart is core: one cluster
    chain = np.flatnonzero((X[:, 1] == Y0 + 777.0) & ((X[:, 0] - X0 - 100.0) % EPS == 0))
    assert len(chain) == 30
    labels3 = dask_dbscan(gdf, EPS, 3, client=client, npartitions=4, n_groups=2, tile_side=SIDE).labels()
    assert len(set(labels3[chain].tolist())) == 1 and labels3[chain[0]] >= 0


def test_geoparquet_folder_glob_and_files(client, tmp_path):
    folder = tmp_path / "parts"
    files = write_large_geoparquet(folder, 30_000, seed=3, partitions=5)
    union = pd.concat([gpd.read_parquet(f) for f in files], ignore_index=True)
    union = gpd.GeoDataFrame(union, geometry="geometry", crs=union.crs)
    X, crs = _metric_xy(union)
    ref = DBSCAN(40.0, 15).fit(X)
    assert ref.n_clusters_ > 5
    for source in (folder, str(folder / "part.*.parquet"), files):
        res = dask_dbscan(source, 40.0, 15, client=client, n_groups=4)
        assert res.crs.equals(crs) and res.n == len(union)
        assert list(res.partition_sizes) == [len(gpd.read_parquet(f)) for f in files]
        labels, core = res.labels_and_core()
        np.testing.assert_array_equal(labels, ref.labels_)
        np.testing.assert_array_equal(core, ref.core_sample_indices_)
    ddf = read_incident_partitions(folder)
    assert ddf.npartitions == 5
    gids = res.labelled["gid"].compute().to_numpy()
    assert set(np.unique(gids >> ROW_BITS).tolist()) == set(range(5))


def test_find_hotspots_engine_dask_equals_local(client, tmp_path, hanoi_boundaries_path):
    boundaries = read_boundaries(hanoi_boundaries_path)
    files = write_large_geoparquet(tmp_path / "p", 12_000, seed=7, partitions=3)
    gdf = pd.concat([gpd.read_parquet(f) for f in files], ignore_index=True)
    gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs=gdf.crs)
    local = find_hotspots(gdf, boundaries, eps=45.0, min_samples=12)
    dask_mem = find_hotspots(gdf, boundaries, eps=45.0, min_samples=12, engine="dask", client=client,
                             npartitions=4)
    dask_path = find_hotspots(tmp_path / "p", boundaries, eps=45.0, min_samples=12, engine="dask",
                              client=client)
    assert len(local) > 3
    for got in (dask_mem, dask_path):
        pd.testing.assert_frame_equal(pd.DataFrame(got.drop(columns="geometry")),
                                      pd.DataFrame(local.drop(columns="geometry")))
        assert shapely.equals_exact(got.geometry.values, local.geometry.values, tolerance=1e-9).all()
        assert got.attrs["params"]["engine"] == "dask"
        assert got.attrs["params"]["eps"] == local.attrs["params"]["eps"]
    # filters are applied in every partition exactly as on one machine
    kw = dict(categories=["theft", "robbery"], since="2025-03-01", until="2025-09-01", eps=45.0, min_samples=6)
    local_f = find_hotspots(gdf, boundaries, **kw)
    dask_f = find_hotspots(tmp_path / "p", boundaries, engine="dask", client=client, **kw)
    pd.testing.assert_frame_equal(pd.DataFrame(dask_f.drop(columns="geometry")),
                                  pd.DataFrame(local_f.drop(columns="geometry")))


def test_parameters_chosen_from_data_in_memory(client):
    gdf = incidents_from_xy(border_points(9))
    local = find_hotspots(gdf, method="dbscan")
    got = find_hotspots_dask(gdf, client=client, npartitions=2)
    assert got.attrs["params"]["eps"] == local.attrs["params"]["eps"]
    assert got.attrs["params"]["min_samples"] == local.attrs["params"]["min_samples"]
    pd.testing.assert_frame_equal(pd.DataFrame(got.drop(columns="geometry")),
                                  pd.DataFrame(local.drop(columns="geometry")))


def test_ward_and_cluster_statistics(client, tmp_path, hanoi_boundaries_path):
    boundaries = read_boundaries(hanoi_boundaries_path)
    files = write_large_geoparquet(tmp_path / "w", 20_000, seed=11, partitions=4)
    res = dask_dbscan(tmp_path / "w", 40.0, 12, client=client, boundaries=boundaries)
    union = pd.concat([gpd.read_parquet(f) for f in files], ignore_index=True)
    union = assign_wards(gpd.GeoDataFrame(union, geometry="geometry", crs=union.crs), boundaries)
    X, _ = _metric_xy(union)
    ref = DBSCAN(40.0, 12).fit(X)
    frame = pd.DataFrame({"ward_id": union["ward_id"].astype(object), "label": ref.labels_})
    # per ward: incidents, incidents in hotspots, hotspots touching the ward
    stats = res.ward_stats()
    assert stats["n_incidents"].sum() == len(union)
    got_n = dict(zip(stats["ward_id"].fillna("<none>"), stats["n_incidents"], strict=True))
    assert got_n == frame["ward_id"].fillna("<none>").value_counts().to_dict()
    stats = stats.dropna(subset=["ward_id"]).set_index("ward_id")
    hot = frame[frame["label"] >= 0]
    per_ward = hot.groupby("ward_id").agg(n=("label", "size"), k=("label", "nunique"))
    for ward, row in per_ward.iterrows():
        assert stats.loc[ward, "n_hotspot_incidents"] == row["n"]
        assert stats.loc[ward, "n_hotspots"] == row["k"]
        assert sum(stats.loc[ward, "category_counts"].values()) == row["n"]
    assert len(per_ward) >= 5
    counts = res.ward_cluster_counts()
    expect = hot.groupby(["ward_id", "label"]).size()
    got = counts.dropna(subset=["ward_id"]).set_index(["ward_id", "label"])["n"]
    pd.testing.assert_series_equal(got.sort_index(), expect.sort_index(), check_names=False)
    # per cluster
    clusters = res.cluster_stats()
    assert clusters["label"].tolist() == list(range(ref.n_clusters_))
    np.testing.assert_array_equal(clusters["n_incidents"], np.bincount(ref.labels_[ref.labels_ >= 0]))
    core = np.zeros(len(X), dtype=bool)
    core[ref.core_sample_indices_] = True
    np.testing.assert_array_equal(clusters["n_core"], np.bincount(ref.labels_[core]))
    lab0 = ref.labels_ == 0
    assert clusters.loc[0, "x_min"] == X[lab0, 0].min() and clusters.loc[0, "y_max"] == X[lab0, 1].max()
    assert clusters.loc[0, "first_seen"] == pd.to_datetime(union.loc[lab0, "occurred_at"]).min()


def test_bad_input_is_reported_with_partition_and_row(client, tmp_path):
    gdf = incidents_from_xy(border_points(1)[:300])
    gdf.loc[[10, 250], "geometry"] = None
    gdf.loc[20, "geometry"] = shapely.LineString([(X0, Y0), (X0 + 1, Y0 + 1)])
    with pytest.raises(InputError) as err:
        dask_dbscan(gdf, EPS, 5, client=client, npartitions=2)
    message = str(err.value)
    assert "3 incident(s)" in message and "partition 0 row 10" in message and "partition 1 row 100" in message
    assert "LineString" in message
    with pytest.raises(InputError, match="no GeoParquet files"):
        dask_dbscan(tmp_path / "nothing-*.parquet", EPS, 5, client=client)
    with pytest.raises(InputError, match="must be a GeoDataFrame"):
        dask_dbscan(12345, EPS, 5, client=client)
    with pytest.raises(ParameterError) as perr:
        dask_dbscan(gdf, -1.0, 0, client=client, n_groups=0)
    assert "eps" in str(perr.value) and "min_samples" in str(perr.value) and "n_groups" in str(perr.value)


def test_engine_parameter_errors(client, tmp_path):
    gdf = incidents_from_xy(border_points(2)[:200])
    with pytest.raises(ParameterError, match="engine must be"):
        find_hotspots(gdf, engine="spark")
    with pytest.raises(ParameterError, match="dbscan' only"):
        find_hotspots(gdf, method="kde", engine="dask", client=client)
    write_large_geoparquet(tmp_path / "q", 1000, seed=1, partitions=2)
    with pytest.raises(ParameterError, match="explicit eps and min_samples"):
        find_hotspots(tmp_path / "q", engine="dask", client=client)


def test_empty_selection(client):
    gdf = incidents_from_xy(border_points(3)[:100])
    res = dask_dbscan(gdf, EPS, 5, client=client, categories=["fire_hazard"])
    assert res.n == 0 and res.labels().size == 0
    out = find_hotspots(gdf, categories=["fire_hazard"], engine="dask", client=client, eps=EPS, min_samples=5)
    assert len(out) == 0


@pytest.mark.slow
def test_default_cluster_and_scheduler_setting(monkeypatch):
    """No client: a LocalCluster of worker processes; WARD_GEO_DASK_SCHEDULER: that scheduler."""
    from distributed import LocalCluster

    from ward_geo import settings

    X = border_points(4)
    gdf = incidents_from_xy(X)
    ref = DBSCAN(EPS, 7).fit(X)
    res = dask_dbscan(gdf, EPS, 7, npartitions=2)  # starts and closes its own cluster
    np.testing.assert_array_equal(res.labels(), ref.labels_)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        monkeypatch.setenv("WARD_GEO_DASK_SCHEDULER", cluster.scheduler_address)
        settings.reset_settings()
        with dask_client() as c:
            assert c.scheduler.address == cluster.scheduler_address
            got = dask_dbscan(gdf, EPS, 7, client=c, npartitions=2)
            np.testing.assert_array_equal(got.labels(), ref.labels_)
    monkeypatch.setenv("WARD_GEO_DASK_SCHEDULER", "tcp://127.0.0.1:9")
    settings.reset_settings()
    from ward_geo.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="cannot reach the Dask scheduler"):
        with dask_client():
            pass
