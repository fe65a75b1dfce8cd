"""Space-time DBSCAN against a brute-force reference.

The reference builds the full space-time neighbourhood matrix with numpy
(``dx*dx + dy*dy <= eps_m**2`` and ``|t_i - t_j| <= eps_t``) and runs scikit-learn's
DBSCAN on it as a precomputed graph, which fixes core points, clusters, label numbers
and border assignment; ward_geo's grid + time-window search must give identical labels.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.cluster import DBSCAN as SkDBSCAN

from ward_geo.cluster import STDBSCAN, to_seconds
from ward_geo.errors import ParameterError


def brute_force(X, t, eps_m, eps_t_s, min_samples, w=None):
    d = X[:, None, :] - X[None, :, :]
    near = (d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1] <= eps_m * eps_m) & (
        np.abs(t[:, None] - t[None, :]) <= eps_t_s
    )
    return SkDBSCAN(eps=0.5, min_samples=min_samples, metric="precomputed").fit(
        np.where(near, 0.0, 1.0), sample_weight=w
    )


@st.composite
def incidents(draw):
    n = draw(st.integers(1, 150))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["uniform", "bursts", "duplicates", "lattice"]))
    if kind == "uniform":
        X = rng.uniform(0, 500, (n, 2))
        t = rng.uniform(0, 30 * 86400, n)
    elif kind == "bursts":
        k = int(rng.integers(1, 5))
        cx = rng.uniform(0, 500, (k, 2))
        ct = rng.uniform(0, 30 * 86400, k)
        lab = rng.integers(0, k, n)
        X = cx[lab] + rng.normal(0, 15, (n, 2))
        t = ct[lab] + rng.normal(0, 3 * 3600, n)
    elif kind == "duplicates":
        m = int(rng.integers(1, 6))
        base = rng.uniform(0, 500, (m, 2))
        base_t = rng.uniform(0, 5 * 86400, m)
        pick = rng.integers(0, m, n)
        X, t = base[pick], base_t[pick]
    else:  # exact boundaries in space and in time
        X = rng.integers(0, 6, (n, 2)).astype(float) * 10.0
        t = rng.integers(0, 6, n).astype(float) * 3600.0
    return X + 585000.0, t + 1.7e9


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=incidents(),
    eps_m=st.sampled_from([5.0, 10.0, 20.0, 50.0, 400.0]),
    eps_h=st.sampled_from([0.0, 1.0, 2.0, 6.0, 48.0]),
    min_samples=st.integers(1, 10),
    weighted=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_equals_brute_force(data, eps_m, eps_h, min_samples, weighted, seed):
    X, t = data
    w = np.random.default_rng(seed).integers(0, 4, X.shape[0]) / 2.0 if weighted else None
    ours = STDBSCAN(eps_m=eps_m, eps_t=eps_h, min_samples=min_samples).fit(X, t=t, sample_weight=w)
    if w is not None and not w.any():
        assert (ours.labels_ == -1).all()
        return
    ref = brute_force(X, t, eps_m, eps_h * 3600.0, min_samples, w)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_array_equal(ours.core_sample_indices_, ref.core_sample_indices_)


def test_time_separates_clusters_that_space_joins():
    X = np.zeros((10, 2))
    t = np.array([0, 1, 2, 3, 4, 100, 101, 102, 103, 104], dtype=float) * 3600
    model = STDBSCAN(eps_m=10, eps_t=2, min_samples=3).fit(X, t=t)
    assert model.labels_.tolist() == [0] * 5 + [1] * 5
    # without the time constraint they are one cluster
    assert set(STDBSCAN(eps_m=10, eps_t=1000, min_samples=3).fit(X, t=t).labels_) == {0}


def test_datetime_inputs_and_duration_forms_agree():
    rng = np.random.default_rng(1)
    X = rng.normal(0, 20, (200, 2))
    base = pd.Timestamp("2025-03-01 08:00", tz="Asia/Ho_Chi_Minh")
    times = pd.Series(base + pd.to_timedelta(rng.uniform(0, 72, 200), unit="h"))
    seconds = (times - times.min()).dt.total_seconds().to_numpy()
    expected = STDBSCAN(30, 3, 5).fit(X, t=seconds).labels_
    for eps_t in (3, 3.0, "3h", pd.Timedelta(hours=3), dt.timedelta(hours=3), np.timedelta64(3, "h")):
        for t in (times, times.dt.tz_convert("UTC"), times.to_numpy(), list(times)):
            np.testing.assert_array_equal(STDBSCAN(30, eps_t, 5).fit(X, t=t).labels_, expected)
    # time as a third column of X
    np.testing.assert_array_equal(
        STDBSCAN(30, 3, 5).fit(np.column_stack([X, seconds])).labels_, expected
    )


def test_to_seconds_reads_naive_and_string_times():
    out = to_seconds(["2025-01-01 00:00", "2025-01-01 01:30"])
    assert out.tolist() == [0.0, 5400.0]
    assert to_seconds(np.array([5.0, 7.0])).tolist() == [5.0, 7.0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"eps_m": 0, "eps_t": 1, "min_samples": 3}, "eps must be"),
        ({"eps_m": 10, "eps_t": -1, "min_samples": 3}, "eps_t must be a finite duration"),
        ({"eps_m": 10, "eps_t": "soon", "min_samples": 3}, "eps_t 'soon' is not a duration"),
        ({"eps_m": 10, "eps_t": [1], "min_samples": 3}, "eps_t must be a duration"),
        ({"eps_m": 10, "eps_t": 1, "min_samples": 0}, "min_samples must be"),
        ({"eps_m": 9000, "eps_t": 1, "min_samples": 3}, "larger than the limit"),
    ],
)
def test_invalid_parameters(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        STDBSCAN(**kwargs).fit(np.zeros((3, 2)), t=[0.0, 1.0, 2.0])


def test_invalid_times_name_rows():
    with pytest.raises(ParameterError, match="rows 1"):
        STDBSCAN(10, 1, 2).fit(np.zeros((3, 2)), t=[0.0, np.nan, 2.0])
    with pytest.raises(ParameterError, match="rows 2"):
        STDBSCAN(10, 1, 2).fit(np.zeros((3, 2)), t=pd.Series(["2025-01-01", "2025-01-02", None]))
    with pytest.raises(ParameterError, match="t has 2 values"):
        STDBSCAN(10, 1, 2).fit(np.zeros((3, 2)), t=[0.0, 1.0])
    with pytest.raises(ParameterError, match=r"shape \(n, 3\)"):
        STDBSCAN(10, 1, 2).fit(np.zeros((3, 2)))


def test_empty_input():
    model = STDBSCAN(10, 1, 2).fit(np.empty((0, 2)), t=np.empty(0))
    assert model.labels_.size == 0 and model.n_clusters_ == 0
