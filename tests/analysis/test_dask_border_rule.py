"""The Dask engine gives contested border points to the same cluster as the single machine.

DBSCAN gives a border point within ``eps`` of core points of several clusters to the
cluster whose first core point comes first in the row order. ``find_hotspots`` clusters
the rows in ``incident_id`` order, so ``engine="dask"`` must follow that order too, for
rows in any order and in any partitioning.
"""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from ward_geo.analysis.distributed import dask_client, dask_dbscan
from ward_geo.analysis.hotspots import find_hotspots
from ward_geo.cluster import DBSCAN, DistributedDBSCAN
from ward_geo.io.readers import read_incidents

X0, Y0 = 585_000.0, 2_320_000.0  # VN-2000 / UTM 48N: a metric CRS, so coordinates stay exact
EPS = 50.0
MS = 8
SIDE = 400.0


@pytest.fixture(scope="module")
def client():
    with dask_client(n_workers=2, processes=False, memory_limit="2GB") as c:
        yield c


def contested_gadgets(seed: int, nx: int = 12, ny: int = 12) -> np.ndarray:
    """Gadgets of three clusters sharing border points exactly ``eps`` from a core of each.

    Along a unit vector ``u`` (x or y) and its normal ``v`` from an origin ``o`` (all
    coordinates integer multiples of ``eps``, so every distance is exact):
    ``MS - 1`` duplicates at ``o - eps u`` and one point at ``o`` (cluster A), two
    duplicates at ``o + eps u`` (the contested border points: 5 neighbours, not core),
    one point at ``o + 2 eps u`` and ``MS - 1`` duplicates at ``o + 3 eps u`` (cluster
    B), one point at ``o + eps u + eps v`` and ``MS - 1`` duplicates at
    ``o + eps u + 2 eps v`` (cluster C). The three single cores are pairwise more than
    ``eps`` apart and each is exactly ``eps`` from the border points. Gadgets are 450 m
    apart with random shifts, so the 400 m tiles cut through them.
    """
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(nx):
        for j in range(ny):
            o = np.array([X0 + 450.0 * i, Y0 + 450.0 * j]) + EPS * rng.integers(0, 4, 2)
            u, v = (np.array([1.0, 0.0]), np.array([0.0, 1.0]))
            if rng.random() < 0.5:
                u, v = v, u
            parts += [
                np.repeat([o - EPS * u], MS - 1, axis=0), [o],
                np.repeat([o + EPS * u], 2, axis=0),
                [o + 2 * EPS * u], np.repeat([o + 3 * EPS * u], MS - 1, axis=0),
                [o + EPS * u + EPS * v], np.repeat([o + EPS * u + 2 * EPS * v], MS - 1, axis=0),
            ]
    X = np.vstack(parts)
    return X[rng.permutation(len(X))]


def incidents(X: np.ndarray, seed: int) -> gpd.GeoDataFrame:
    """Incidents at ``X`` (rows as given) whose ids are a random permutation: the id
    order has nothing to do with the row order."""
    rng = np.random.default_rng(seed + 100)
    n = len(X)
    return gpd.GeoDataFrame(
        {
            "incident_id": [f"c-{k:06d}" for k in rng.permutation(n)],
            "category": np.array(["theft", "robbery", "drugs"], dtype=object)[rng.integers(0, 3, n)],
            "occurred_at": pd.Timestamp("2025-03-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 86400 * 60, n),
                                                                                    unit="s"),
            "time_precision": "exact",
            "severity": 1.0,
            "ward_id": None,
        },
        geometry=gpd.points_from_xy(X[:, 0], X[:, 1]),
        crs="EPSG:3405",
    )


def id_order_labels(X: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Single-machine DBSCAN on the rows sorted by id, labels put back in row order."""
    perm = np.argsort(ids.astype(str), kind="stable")
    labels = np.empty(len(X), dtype=np.int64)
    labels[perm] = DBSCAN(EPS, MS).fit(X[perm]).labels_
    return labels


def cluster_of(labels: np.ndarray, core: np.ndarray) -> np.ndarray:
    """Each point's cluster named by its first core point (row index), -1 for noise:
    comparable across label numberings."""
    first = np.full(labels.max() + 1, len(labels), dtype=np.int64)
    np.minimum.at(first, labels[core], core)
    return np.where(labels >= 0, first[np.maximum(labels, 0)], -1)


def members(table: gpd.GeoDataFrame) -> dict[str, tuple[str, ...]]:
    return {h: tuple(sorted(m)) for h, m in zip(table["hotspot_id"], table["member_ids"], strict=True)}


@pytest.mark.parametrize("seed", [0, 1])
def test_order_key_decides_contested_border_points(client, seed):
    X = contested_gadgets(seed)
    gdf = incidents(X, seed)
    ids = gdf["incident_id"].to_numpy()
    by_row = DBSCAN(EPS, MS).fit(X).labels_
    by_id = id_order_labels(X, ids)
    # the data is adversarial: the two orders give some border points to different clusters
    core = DBSCAN(EPS, MS).fit(X).core_sample_indices_
    moved = cluster_of(by_row, core) != cluster_of(by_id, core)
    assert moved.sum() > 20
    assert not np.isin(np.flatnonzero(moved), core).any()
    for npartitions, n_groups in ((1, 1), (3, 3), (5, 4)):
        kw = {"client": client, "npartitions": npartitions, "n_groups": n_groups, "tile_side": SIDE}
        got_id = dask_dbscan(gdf, EPS, MS, order_by="incident_id", **kw)
        np.testing.assert_array_equal(got_id.labels(), by_id)
        assert got_id.n_tiles > 4
        np.testing.assert_array_equal(dask_dbscan(gdf, EPS, MS, **kw).labels(), by_row)
    # the array estimator (order = row index) likewise
    model = DistributedDBSCAN(EPS, MS, n_groups=4, tile_side=SIDE, client=client).fit(X)
    np.testing.assert_array_equal(model.labels_, by_row)


def test_find_hotspots_engines_agree_on_contested_borders(client, tmp_path):
    X = contested_gadgets(2)
    gdf = incidents(X, 2)
    folder = tmp_path / "parts"
    folder.mkdir()
    for p, rows in enumerate(np.array_split(np.arange(len(gdf)), 4)):  # rows not in id order
        gdf.iloc[rows].to_parquet(folder / f"part.{p}.parquet")
    local = find_hotspots(gdf, eps=EPS, min_samples=MS)
    assert len(local) == 3 * 12 * 12
    shuffled = gdf.iloc[np.random.default_rng(5).permutation(len(gdf))]
    for source, kw in ((gdf, {"npartitions": 3}), (shuffled, {"npartitions": 2}), (folder, {})):
        got = find_hotspots(source, eps=EPS, min_samples=MS, engine="dask", client=client, n_groups=3, **kw)
        assert members(got) == members(local)
        pd.testing.assert_frame_equal(pd.DataFrame(got.drop(columns="geometry")),
                                      pd.DataFrame(local.drop(columns="geometry")))
        assert got.geometry.geom_equals_exact(local.geometry, tolerance=1e-9).all()


WEST_YORKSHIRE = ("2017-07-west-yorkshire-street.csv", "2018-07-west-yorkshire-street.csv")


@pytest.fixture(scope="module")
def west_yorkshire(incidents_dir) -> gpd.GeoDataFrame:
    frames = [read_incidents(incidents_dir / "police_uk_west_yorkshire" / name) for name in WEST_YORKSHIRE]
    gdf = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(gdf, geometry="geometry", crs=frames[0].crs)


def test_west_yorkshire_engines_agree(client, west_yorkshire, tmp_path):
    """~58k real incidents snapped to street points (many at one address), eps 120 m,
    min_samples 25: the engines find the same hotspots with the same members."""
    gdf = west_yorkshire
    assert len(gdf) > 55_000
    xy = np.column_stack([gdf.geometry.x, gdf.geometry.y])
    assert len(np.unique(xy, axis=0)) < len(gdf) / 3  # many incidents per snapped address
    clock = time.perf_counter()
    local = find_hotspots(gdf, eps=120.0, min_samples=25)
    t_local = time.perf_counter() - clock
    for p, rows in enumerate(np.array_split(np.arange(len(gdf)), 3)):  # the files' row order
        gdf.iloc[rows].to_parquet(tmp_path / f"part.{p}.parquet")
    clock = time.perf_counter()
    in_memory = find_hotspots(gdf, eps=120.0, min_samples=25, engine="dask", client=client, npartitions=3)
    t_dask = time.perf_counter() - clock
    partitioned = find_hotspots(tmp_path, eps=120.0, min_samples=25, engine="dask", client=client)
    assert len(local) > 200
    for got in (in_memory, partitioned):
        assert got["hotspot_id"].tolist() == local["hotspot_id"].tolist()
        assert members(got) == members(local)
        np.testing.assert_array_equal(got["n_incidents"].to_numpy(), local["n_incidents"].to_numpy())
    print(f"west yorkshire: {len(gdf)} incidents, {len(local)} hotspots, local {t_local:.1f} s, "
          f"dask {t_dask:.1f} s")
