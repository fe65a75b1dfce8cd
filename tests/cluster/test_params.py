"""Data-driven DBSCAN parameters: knee, background rate, bounds, explicit values win."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ward_geo.cluster import DBSCAN
from ward_geo.cluster import DBSCANParams, k_distance_knee, suggest_dbscan_params
from ward_geo.errors import ParameterError


@pytest.fixture(scope="module")
def ward():
    """Five hotspots of ~60 incidents (sd 15 m) over a 2 km x 2 km ward with background."""
    rng = np.random.default_rng(3)
    centres = rng.uniform(200, 1800, (5, 2))
    hot = np.vstack([c + rng.normal(0, 15, (60, 2)) for c in centres])
    background = rng.uniform(0, 2000, (300, 2))
    return np.vstack([hot, background]) + [585000.0, 2320000.0]


def test_suggestion_finds_the_hotspots(ward):
    params = suggest_dbscan_params(ward, area_m2=4e6)
    assert isinstance(params, DBSCANParams)
    assert 15.0 <= params.eps <= 300.0
    assert params.min_samples >= 5
    mu = 600 / 4e6 * math.pi * params.eps**2
    assert params.background_per_disc == pytest.approx(mu)
    k = max(5, round(math.log(600)))  # k-distance order: ln n, at least the floor
    assert params.min_samples == max(k, math.ceil(3 * mu))
    assert f"sorted {k}-distance" in params.reason
    assert f"{params.eps:.1f} m" in params.reason and f"min_samples={params.min_samples}" in params.reason
    labels = DBSCAN(params.eps, params.min_samples).fit(ward).labels_
    hot = labels[:300].reshape(5, 60)
    for row in hot:  # each hotspot is (mostly) found as one cluster
        assert (row >= 0).mean() > 0.7
    assert (labels[300:] == -1).mean() > 0.8


def test_explicit_values_win(ward):
    both = suggest_dbscan_params(ward, eps=42.0, min_samples=7)
    assert (both.eps, both.min_samples) == (42.0, 7)
    assert "given explicitly" in both.reason
    only_eps = suggest_dbscan_params(ward, eps=42.0, area_m2=4e6)
    assert only_eps.eps == 42.0
    assert only_eps.min_samples == max(5, math.ceil(3 * 600 / 4e6 * math.pi * 42.0**2))
    only_ms = suggest_dbscan_params(ward, min_samples=12)
    assert only_ms.min_samples == 12 and "min_samples=12 given" in only_ms.reason


def test_background_rate_drives_min_samples(ward):
    small = suggest_dbscan_params(ward, eps=60.0, area_m2=1e6)
    large = suggest_dbscan_params(ward, eps=60.0, area_m2=1e8)
    assert small.min_samples > large.min_samples == 5


def test_eps_is_clipped_to_the_ward_range():
    rng = np.random.default_rng(0)
    sparse = rng.uniform(0, 50000, (200, 2))
    params = suggest_dbscan_params(sparse)
    assert params.eps == 300.0 and "clipped" in params.reason
    dense = rng.normal(0, 0.5, (500, 2))
    assert suggest_dbscan_params(dense).eps == 15.0
    assert suggest_dbscan_params(dense, eps_bounds=(1, 10)).eps <= 10


def test_knee_of_a_two_level_curve():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(0, 5, (900, 2)), rng.uniform(-5000, 5000, (100, 2))])
    knee, sampled = k_distance_knee(X, 5)
    assert sampled == 1000
    assert 2 < knee < 100


def test_deterministic_with_sampling():
    rng = np.random.default_rng(2)
    X = rng.uniform(0, 10000, (60000, 2))
    assert suggest_dbscan_params(X) == suggest_dbscan_params(X)


def test_degenerate_inputs():
    one = suggest_dbscan_params(np.array([[1.0, 2.0]]))
    assert one.min_samples == 5 and "too few points" in one.reason
    line = np.column_stack([np.arange(50.0), np.zeros(50)])  # collinear: zero area
    assert suggest_dbscan_params(line).min_samples == 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"area_m2": -5}, "area_m2 must be a positive"),
        ({"eps_bounds": (50, 10)}, "eps_bounds"),
        ({"eps": -1}, "eps must be"),
        ({"min_samples": 0}, "min_samples must be"),
        ({"factor": 0}, "factor must be"),
    ],
)
def test_invalid_options(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        suggest_dbscan_params(np.zeros((5, 2)), **kwargs)


def test_strongly_clustered_ward_keeps_its_hotspots():
    """Most incidents in clusters of varied size: the suggestion must not inflate eps and
    min_samples into each other until only the largest cluster or nothing is left."""
    rng = np.random.default_rng(11)
    sizes = [400, 250, 150, 120, 100, 80, 60, 50, 40, 30]
    centres = rng.uniform(150, 1350, (len(sizes), 2))
    hot = np.vstack([c + rng.normal(0, 20, (k, 2)) for c, k in zip(centres, sizes)])
    background = rng.uniform(0, 1500, (400, 2))
    X = np.vstack([hot, background]) + [585000.0, 2320000.0]
    params = suggest_dbscan_params(X, area_m2=1500.0 * 1500.0)
    labels = DBSCAN(params.eps, params.min_samples).fit(X).labels_
    assert labels.max() + 1 >= 5, params.reason
    assert params.eps <= 100.0
