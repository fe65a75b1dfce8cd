"""HDBSCAN wrapper: each backend finds variable-density clusters; weights = repeats."""

from __future__ import annotations

import numpy as np
import pytest

from ward_geo.cluster import HDBSCAN
from ward_geo.cluster import HDBSCAN_BACKENDS as BACKENDS
from ward_geo.errors import ParameterError


@pytest.fixture(scope="module")
def blobs():
    """A tight market cluster, a loose residential one, and background."""
    rng = np.random.default_rng(11)
    tight = rng.normal([0.0, 0.0], 8.0, (150, 2))
    loose = rng.normal([1500.0, 800.0], 120.0, (150, 2))
    background = rng.uniform(-3000, 4000, (60, 2))
    return np.vstack([tight, loose, background]) + [585000.0, 2320000.0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_backend_finds_both_densities(blobs, backend):
    model = HDBSCAN(min_cluster_size=30, backend=backend).fit(blobs)
    assert model.backend_ == backend
    assert model.n_clusters_ == 2
    tight, loose = model.labels_[:150], model.labels_[150:300]
    assert (tight == np.bincount(tight[tight >= 0]).argmax()).mean() > 0.9
    assert (loose == np.bincount(loose[loose >= 0]).argmax()).mean() > 0.8
    assert set(tight[tight >= 0]).isdisjoint(loose[loose >= 0])
    assert (model.labels_[300:] == -1).mean() > 0.8
    assert model.probabilities_.shape == (360,)
    assert np.all(np.diff(model.core_sample_indices_) > 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_integer_weights_equal_repeated_points(blobs, backend):
    rng = np.random.default_rng(2)
    w = rng.integers(0, 4, blobs.shape[0])
    weighted = HDBSCAN(min_cluster_size=30, backend=backend).fit(blobs, sample_weight=w)
    repeated = HDBSCAN(min_cluster_size=30, backend=backend).fit(np.repeat(blobs, w, axis=0))
    expected = np.full(blobs.shape[0], -1)
    expected[np.repeat(np.arange(blobs.shape[0]), w)] = repeated.labels_
    np.testing.assert_array_equal(weighted.labels_, expected)
    assert (weighted.labels_[w == 0] == -1).all()


def test_all_ones_weights_change_nothing(blobs):
    plain = HDBSCAN(min_cluster_size=30).fit(blobs)
    ones = HDBSCAN(min_cluster_size=30).fit(blobs, sample_weight=np.ones(blobs.shape[0]))
    np.testing.assert_array_equal(plain.labels_, ones.labels_)


def test_fractional_weights_refused_with_rows(blobs):
    w = np.ones(blobs.shape[0])
    w[[4, 9]] = 1.5
    with pytest.raises(ParameterError, match="rows 4, 9 are fractional"):
        HDBSCAN(min_cluster_size=30).fit(blobs, sample_weight=w)


def test_deterministic(blobs):
    a = HDBSCAN(min_cluster_size=30).fit(blobs).labels_
    b = HDBSCAN(min_cluster_size=30).fit(blobs).labels_
    np.testing.assert_array_equal(a, b)


def test_too_few_points_is_all_noise_and_empty_is_empty():
    assert HDBSCAN(min_cluster_size=5).fit(np.zeros((3, 2))).labels_.tolist() == [-1] * 3
    model = HDBSCAN(min_cluster_size=5).fit(np.empty((0, 2)))
    assert model.labels_.size == 0 and model.n_clusters_ == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_cluster_size": 1}, "min_cluster_size must be an integer >= 2"),
        ({"min_cluster_size": 10, "min_samples": 0}, "min_samples must be an integer >= 1"),
        ({"min_cluster_size": 10, "cluster_selection_epsilon": -1}, "cluster_selection_epsilon"),
        ({"min_cluster_size": 10, "cluster_selection_method": "best"}, "cluster_selection_method"),
        ({"min_cluster_size": 10, "backend": "gpu"}, "backend must be one of"),
    ],
)
def test_invalid_parameters(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        HDBSCAN(**kwargs).fit(np.zeros((20, 2)))


def test_invalid_points_refused():
    with pytest.raises(ParameterError, match="rows 0"):
        HDBSCAN().fit(np.array([[np.nan, 0.0], [1.0, 1.0]]))
