"""The Dask engine (tiles with halos, global merge) equals single-machine DBSCAN exactly."""

from __future__ import annotations

import numpy as np
import pytest

from ward_geo.cluster import (
    DBSCAN,
    DistributedDBSCAN,
    open_client,
    plan_tiles,
    tile_copies,
    tile_counts,
)
from ward_geo.errors import ParameterError


@pytest.fixture(scope="module")
def client():
    c = open_client(n_workers=2, processes=False)
    yield c
    cluster = c.cluster
    c.close()
    cluster.close()


def straddling_city(seed: int, n: int = 6000) -> np.ndarray:
    """Clusters centred on the median lines (where tiles are cut), chains of points
    exactly eps apart crossing them, duplicates and background."""
    rng = np.random.default_rng(seed)
    bg = rng.uniform(0, 4000, (n // 3, 2))
    mx, my = np.median(bg[:, 0]), np.median(bg[:, 1])
    centres = np.column_stack([np.full(8, mx), rng.uniform(0, 4000, 8)])
    centres = np.vstack([centres, np.column_stack([rng.uniform(0, 4000, 8), np.full(8, my)])])
    blobs = centres[rng.integers(0, 16, n // 2)] + rng.normal(0, 25, (n // 2, 2))
    chain = np.column_stack([mx - 100 + 20.0 * np.arange(11), np.full(11, 3000.0)])
    dups = np.repeat(rng.uniform(0, 4000, (10, 2)), 12, axis=0)
    return np.vstack([bg, blobs, chain, dups]) + [585000.0, 2320000.0]


@pytest.mark.parametrize("n_groups", [1, 2, 4, 9, 16])
@pytest.mark.parametrize("seed", [0, 1])
def test_equals_single_machine(client, n_groups, seed):
    X = straddling_city(seed)
    w = np.random.default_rng(seed).integers(1, 3, X.shape[0]).astype(float)
    for eps, ms, weight in ((20.0, 5, None), (40.0, 12, w), (20.0, 1, None)):
        ref = DBSCAN(eps, ms).fit(X, sample_weight=weight)
        got = DistributedDBSCAN(eps, ms, n_groups=n_groups, tile_side=8 * eps, client=client).fit(
            X, sample_weight=weight)
        np.testing.assert_array_equal(got.labels_, ref.labels_)
        np.testing.assert_array_equal(got.core_sample_indices_, ref.core_sample_indices_)
        assert got.n_tiles_ > 1 and 1 <= got.n_groups_ <= n_groups


def test_clusters_cross_tile_borders(client):
    X = straddling_city(3)
    model = DistributedDBSCAN(20.0, 5, n_groups=4, client=client).fit(X)
    hx, hy = model.layout_.home(X[:, 0], X[:, 1])
    owner = hx * model.layout_.ny + hy
    # at least one cluster has members owned by different tiles
    spans = [len(set(owner[model.labels_ == lab])) for lab in range(model.n_clusters_)]
    assert max(spans) > 1
    assert model.halo_fraction_ > 0


def test_tiles_own_every_point_once():
    X = straddling_city(4)
    x, y = X[:, 0], X[:, 1]
    layout = plan_tiles((x.min(), y.min(), x.max(), y.max()), 30.0, 9)
    counts = tile_counts(x, y, layout)
    layout = layout.with_groups(counts, 9)
    rows, tile, own, _shared = tile_copies(x, y, layout)
    assert np.array_equal(np.bincount(tile, minlength=counts.size), counts)
    assert np.array_equal(np.sort(rows[own]), np.arange(X.shape[0]))
    assert (layout.group_of_tile[tile] >= 0).all()
    for t in np.unique(tile):  # every point within 2 eps of an owned point is in the tile
        mine = X[rows[(tile == t) & own]]
        outside = np.setdiff1d(np.arange(X.shape[0]), rows[tile == t])
        if outside.size and mine.size:
            d = mine[:, None, :] - X[outside][None, :, :]
            assert (d[..., 0] ** 2 + d[..., 1] ** 2 > 60.0**2).all()


@pytest.mark.slow
def test_default_local_cluster_with_processes():
    X = straddling_city(5, n=3000)
    ref = DBSCAN(25.0, 6).fit(X)
    got = DistributedDBSCAN(25.0, 6, n_groups=4).fit(X)
    np.testing.assert_array_equal(got.labels_, ref.labels_)


def test_invalid_parameters(client):
    with pytest.raises(ParameterError, match="eps must be"):
        DistributedDBSCAN(-1, 5, client=client).fit(np.zeros((3, 2)))
    with pytest.raises(ParameterError, match="n_groups must be"):
        DistributedDBSCAN(10, 5, n_groups=0, client=client).fit(np.zeros((3, 2)))
    with pytest.raises(ParameterError, match="tile_side must be"):
        DistributedDBSCAN(10, 5, tile_side=-1.0, client=client).fit(np.zeros((3, 2)))


def test_empty_input(client):
    model = DistributedDBSCAN(10, 5, client=client).fit(np.empty((0, 2)))
    assert model.labels_.size == 0
