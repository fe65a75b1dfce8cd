"""ward_geo's grid DBSCAN against scikit-learn's DBSCAN.

Equivalence is checked two ways on every input: the DBSCAN contract (same core points,
same noise, same partition of the core points up to relabelling, every border point
labelled like some core point within eps) and, because ward_geo numbers clusters and
assigns border points the way scikit-learn's expansion order does, label-for-label
equality. Random float inputs are compared with scikit-learn's KD tree (which tests
``dx*dx + dy*dy <= eps*eps`` exactly like ward_geo); integer lattices, where every
scikit-learn algorithm computes exact distances, are compared with all of them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.cluster import DBSCAN as SkDBSCAN

from ward_geo.cluster import _grid
from ward_geo.cluster import DBSCAN, warm_up
from ward_geo.errors import ParameterError

HYP = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def sk_fit(X, eps, min_samples, w=None, algorithm="kd_tree"):
    return SkDBSCAN(eps=eps, min_samples=min_samples, algorithm=algorithm).fit(X, sample_weight=w)


def reference_fit(X, eps, min_samples, w=None):
    """scikit-learn's DBSCAN on the neighbourhood graph ``dx*dx + dy*dy <= eps*eps``.

    scikit-learn's KD and ball trees test single points with that comparison, but accept
    a whole tree node when the rounded square root of its bound is ``<= eps``; for pairs
    whose squared distance exceeds ``eps**2`` by one rounding step yet whose root rounds
    to ``eps``, their answer depends on the tree layout. Such pairs are compared with
    this reference instead.
    """
    d = X[:, None, :] - X[None, :, :]
    near = d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1] <= eps * eps
    return SkDBSCAN(eps=0.5, min_samples=min_samples, metric="precomputed").fit(
        np.where(near, 0.0, 1.0), sample_weight=w
    )


def assert_equivalent(ours, ref, X, eps):
    """The DBSCAN contract, then exact label equality."""
    n = X.shape[0]
    core_a = np.zeros(n, bool)
    core_a[ours.core_sample_indices_] = True
    core_b = np.zeros(n, bool)
    core_b[ref.core_sample_indices_] = True
    np.testing.assert_array_equal(core_a, core_b, err_msg="core points differ")
    np.testing.assert_array_equal(ours.labels_ == -1, ref.labels_ == -1, err_msg="noise differs")
    # partition of the core points up to relabelling: a bijection between labels
    pairs = set(zip(ours.labels_[core_a].tolist(), ref.labels_[core_a].tolist()))
    assert len({a for a, _ in pairs}) == len(pairs) == len({b for _, b in pairs})
    # every border point carries the label of a core point within eps
    core_idx = np.flatnonzero(core_a)
    for i in np.flatnonzero(~core_a & (ours.labels_ >= 0)):
        d = X[core_idx] - X[i]
        near = core_idx[d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] <= eps * eps]
        assert ours.labels_[i] in set(ours.labels_[near].tolist())
    np.testing.assert_array_equal(ours.labels_, ref.labels_, err_msg="labels differ")
    np.testing.assert_array_equal(ours.components_, X[ref.core_sample_indices_])


# --------------------------------------------------------------------------- strategies


@st.composite
def point_sets(draw):
    """Random, clustered, duplicated, collinear, identical and lattice point sets."""
    kind = draw(st.sampled_from(["uniform", "blobs", "duplicates", "collinear", "identical", "lattice"]))
    n = draw(st.integers(1, 160))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from([1.0, 100.0, 5000.0]))
    offset = draw(st.sampled_from([0.0, -1234.5, 585000.0]))
    if kind == "uniform":
        X = rng.uniform(0, scale, (n, 2))
    elif kind == "blobs":
        k = int(rng.integers(1, 6))
        centres = rng.uniform(0, scale, (k, 2))
        X = centres[rng.integers(0, k, n)] + rng.normal(0, scale / 30, (n, 2))
    elif kind == "duplicates":
        m = int(rng.integers(1, 8))
        base = rng.uniform(0, scale, (m, 2))
        X = base[rng.integers(0, m, n)]
    elif kind == "collinear":
        direction = rng.normal(size=2)
        X = np.outer(rng.uniform(0, scale, n), direction)
    elif kind == "identical":
        X = np.tile(rng.uniform(0, scale, 2), (n, 1))
    else:
        X = rng.integers(0, 8, (n, 2)).astype(float) * (scale / 10)
    return X + offset, kind, scale


@st.composite
def weights(draw, n):
    kind = draw(st.sampled_from(["none", "ints", "dyadic"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if kind == "none":
        return None
    if kind == "ints":
        return rng.integers(0, 5, n).astype(float)
    return rng.integers(0, 13, n) / 4.0  # exact sums: order of summation cannot matter


# --------------------------------------------------------------------------- equivalence


@HYP
@given(data=st.data())
def test_equivalent_to_sklearn_on_random_and_adversarial_inputs(data):
    X, kind, scale = data.draw(point_sets())
    rel = data.draw(st.sampled_from([1e-7, 0.01, 0.05, 0.1, 0.3, 1.0, 10.0, 1000.0]))
    eps = rel * scale
    if kind == "lattice":
        eps = data.draw(st.sampled_from([1.0, 2.0, math.sqrt(2.0), 3.0])) * scale / 10
    min_samples = data.draw(st.integers(1, 15))
    w = data.draw(weights(X.shape[0]))
    ours = DBSCAN(eps, min_samples, max_eps=None).fit(X, sample_weight=w)
    if w is not None and not w.any():
        # scikit-learn refuses all-zero weights; no neighbourhood reaches min_samples >= 1
        assert (ours.labels_ == -1).all() and ours.core_sample_indices_.size == 0
        return
    assert_equivalent(ours, sk_fit(X, eps, min_samples, w), X, eps)


@HYP
@given(
    n=st.integers(1, 120),
    spacing=st.sampled_from([1.0, 0.5, 25.0, 50.0]),
    factor=st.sampled_from([1.0, 2.0, 3.0, 0.999999, 1.000001]),
    min_samples=st.integers(1, 9),
    seed=st.integers(0, 2**32 - 1),
    algorithm=st.sampled_from(["auto", "brute", "kd_tree", "ball_tree"]),
)
def test_points_exactly_eps_apart_are_neighbours(n, spacing, factor, min_samples, seed, algorithm):
    """On a lattice with eps equal to a multiple of the spacing, pairs exactly eps apart
    count as neighbours (``<= eps``), as in every scikit-learn algorithm."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 9, (n, 2)).astype(float) * spacing
    eps = factor * spacing
    ours = DBSCAN(eps, min_samples).fit(X)
    assert_equivalent(ours, sk_fit(X, eps, min_samples, algorithm=algorithm), X, eps)


def test_exact_eps_boundary_pair():
    X = np.array([[0.0, 0.0], [3.0, 4.0]])  # distance exactly 5
    assert DBSCAN(5.0, 2).fit(X).labels_.tolist() == [0, 0]
    assert DBSCAN(np.nextafter(5.0, 0.0), 2).fit(X).labels_.tolist() == [-1, -1]
    for algorithm in ("brute", "kd_tree", "ball_tree"):
        assert sk_fit(X, 5.0, 2, algorithm=algorithm).labels_.tolist() == [0, 0]


def test_cell_that_is_not_all_within_eps_is_handled_exactly():
    """A grid cell's diagonal equals eps only up to rounding: find points in one cell
    whose computed distance exceeds eps and check the exact (non-shortcut) path."""
    found = None
    for k in range(1, 20000):
        eps = 1.0 + k * 1e-5
        side = eps / math.sqrt(2.0)
        a = side
        for _ in range(4):
            if a * (1.0 / side) < 1.0 and a * a + a * a > eps * eps:
                found = (eps, a)
                break
            a = float(np.nextafter(a, 0.0))
        if found:
            break
    assert found is not None
    eps, a = found
    X = np.array([[0.0, 0.0], [a, a], [0.0, a], [a, 0.0], [a / 2, a / 2]])
    x = np.ascontiguousarray(X[:, 0])
    y = np.ascontiguousarray(X[:, 1])
    grid = _grid.build_grid(x, y, eps)
    assert grid.n_cells == 1
    *_, full = _grid.cell_boxes(grid.xs, grid.ys, np.ones(5), grid.start, eps * eps)
    assert not full[0]
    for ms in range(1, 7):
        assert_equivalent(DBSCAN(eps, ms).fit(X), reference_fit(X, eps, ms), X, eps)


@pytest.mark.parametrize("min_samples", [1, 4, 10, 40, 120])
def test_equivalent_on_a_larger_clustered_city(min_samples):
    rng = np.random.default_rng(7)
    centres = rng.uniform(0, 3000, (30, 2))
    X = np.vstack(
        [
            centres[rng.integers(0, 30, 15000)] + rng.normal(0, 40, (15000, 2)),
            rng.uniform(0, 3000, (5000, 2)),
            np.repeat(rng.uniform(0, 3000, (50, 2)), 20, axis=0),  # addresses with many reports
        ]
    ) + [585000.0, 2320000.0]
    w = rng.integers(1, 4, X.shape[0]).astype(float)
    for weight in (None, w):
        ours = DBSCAN(30.0, min_samples).fit(X, sample_weight=weight)
        assert_equivalent(ours, sk_fit(X, 30.0, min_samples, weight), X, 30.0)


def test_all_identical_points_and_weights():
    X = np.full((50, 2), 123.25)
    assert DBSCAN(1.0, 50).fit(X).labels_.tolist() == [0] * 50
    assert DBSCAN(1.0, 51).fit(X).labels_.tolist() == [-1] * 50
    w = np.zeros(50)
    w[3] = 7.5
    model = DBSCAN(1.0, 7).fit(X, sample_weight=w)
    assert model.labels_.tolist() == [0] * 50
    assert model.core_sample_indices_.tolist() == list(range(50))
    assert DBSCAN(1.0, 8).fit(X, sample_weight=w).labels_.tolist() == [-1] * 50


def test_min_samples_one_makes_every_point_core():
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1000, (300, 2))
    model = DBSCAN(20.0, 1).fit(X)
    assert model.core_sample_indices_.tolist() == list(range(300))
    assert (model.labels_ >= 0).all()
    assert_equivalent(model, sk_fit(X, 20.0, 1), X, 20.0)


def test_huge_eps_with_limit_lifted_joins_everything():
    rng = np.random.default_rng(4)
    X = rng.uniform(0, 20000, (500, 2))
    model = DBSCAN(1e6, 5, max_eps=None).fit(X)
    assert set(model.labels_.tolist()) == {0}


def test_labels_are_numbered_by_first_member_and_deterministic():
    X = np.array([[100.0, 0], [100, 1], [100, 2], [0, 0], [0, 1], [0, 2], [50, 50]])
    model = DBSCAN(1.5, 3).fit(X)
    assert model.labels_.tolist() == [0, 0, 0, 1, 1, 1, -1]
    again = DBSCAN(1.5, 3).fit(X)
    np.testing.assert_array_equal(model.labels_, again.labels_)
    perm = np.random.default_rng(0).permutation(len(X))
    permuted = DBSCAN(1.5, 3).fit(X[perm])
    # the same partition after a permutation of the rows
    assert {frozenset(perm[permuted.labels_ == k]) for k in range(2)} == {
        frozenset(np.flatnonzero(model.labels_ == k)) for k in range(2)
    }


def test_fit_predict_and_attributes():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [50.0, 50.0]])
    model = DBSCAN(eps=1.5, min_samples=3)
    labels = model.fit_predict(X)
    assert labels.tolist() == [0, 0, 0, -1]
    assert model.core_sample_indices_.tolist() == [0, 1, 2]
    assert model.components_.shape == (3, 2)
    assert model.n_clusters_ == 1
    assert model.eps_ == 1.5 and model.min_samples_ == 3 and model.params_ is None
    assert labels.dtype == np.int64
    assert model.get_params() == {"eps": 1.5, "min_samples": 3, "max_eps": 5000.0}


def test_empty_input_gives_empty_labels():
    model = DBSCAN(10.0, 3).fit(np.empty((0, 2)))
    assert model.labels_.shape == (0,) and model.core_sample_indices_.shape == (0,)
    assert model.n_clusters_ == 0


def test_parameters_chosen_from_data_when_missing():
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(0, 20, (400, 2)), rng.uniform(-3000, 3000, (400, 2))])
    model = DBSCAN().fit(X)
    assert 15.0 <= model.eps_ <= 300.0
    assert model.min_samples_ >= 5
    assert "knee" in model.params_.reason
    assert model.n_clusters_ >= 1
    # explicit values win
    fixed = DBSCAN(eps=40.0).fit(X)
    assert fixed.eps_ == 40.0 and "eps=40 m given" in fixed.params_.reason


# A fresh interpreter: which numba kernels of the grid DBSCAN / ST-DBSCAN have compiled (or loaded
# from the cache) signatures before warm-up, after it, and after a first real fit of each.
_WARM_UP_PROBE = """
import json
import numpy as np
from numba.core.registry import CPUDispatcher
from ward_geo.cluster import _dbscan_inner, _grid, _stdbscan, DBSCAN, warm_up
from ward_geo.cluster._stdbscan import STDBSCAN

def signatures():
    found = {}
    for module in (_grid, _dbscan_inner, _stdbscan):
        for name, value in vars(module).items():
            if isinstance(value, CPUDispatcher):
                found[module.__name__ + "." + name] = sorted(map(str, value.signatures))
    return found

before = signatures()
warm_up(hdbscan=False)
warmed = signatures()
rng = np.random.default_rng(7)
X = np.vstack([rng.normal(0, 15, (300, 2)), rng.uniform(-2000, 2000, (300, 2))])
DBSCAN(eps=30.0, min_samples=5).fit(X)
DBSCAN(eps=30.0, min_samples=5).fit(X, sample_weight=rng.uniform(0.5, 2.0, len(X)))
STDBSCAN(eps_m=30.0, eps_t=0.5, min_samples=5).fit(np.column_stack([X, rng.uniform(0, 30, len(X))]))
print(json.dumps({"before": before, "warmed": warmed, "after_fit": signatures()}))
"""


def test_warm_up_compiles_every_kernel_a_first_fit_needs():
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _WARM_UP_PROBE], capture_output=True, text=True,
                         timeout=600, check=True)
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe["before"], "the probe sees the numba kernels"
    assert not any(probe["before"].values()), "nothing is compiled before warm-up in a fresh interpreter"
    used = {name for name, sigs in probe["after_fit"].items() if sigs}
    assert len(used) >= 10, used
    # every kernel the first DBSCAN and ST-DBSCAN fits run was already compiled by warm-up, for the
    # same argument types: the first request pays no compile cost
    assert {name: probe["warmed"][name] for name in used} == {name: probe["after_fit"][name] for name in used}
    # and warm-up is safe to call again
    warm_up(hdbscan=False)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"eps": 0.0, "min_samples": 5}, "eps must be a finite number of metres > 0"),
        ({"eps": -3.0, "min_samples": 5}, "eps must be a finite number of metres > 0"),
        ({"eps": float("nan"), "min_samples": 5}, "eps must be a finite"),
        ({"eps": float("inf"), "min_samples": 5}, "eps must be a finite"),
        ({"eps": "50", "min_samples": 5}, "eps must be a number of metres"),
        ({"eps": True, "min_samples": 5}, "eps must be a number of metres"),
        ({"eps": 50.0, "min_samples": 0}, "min_samples must be an integer >= 1"),
        ({"eps": 50.0, "min_samples": 2.5}, "min_samples must be an integer >= 1"),
        ({"eps": 50.0, "min_samples": True}, "min_samples must be an integer >= 1"),
        ({"eps": 6000.0, "min_samples": 5}, "larger than the limit of 5000 m"),
        ({"eps": 60.0, "min_samples": 5, "max_eps": 50.0}, "larger than the limit of 50 m"),
        ({"eps": 60.0, "min_samples": 5, "max_eps": -1}, "max_eps must be"),
    ],
)
def test_invalid_parameters_are_refused(kwargs, message):
    with pytest.raises(ParameterError, match=message) as info:
        DBSCAN(**kwargs).fit(np.zeros((3, 2)))
    assert info.value.status_code == 422


def test_all_parameter_problems_reported_at_once():
    with pytest.raises(ParameterError) as info:
        DBSCAN(eps=-1, min_samples=0).fit(np.zeros((3, 2)))
    assert "eps" in info.value.message and "min_samples" in info.value.message


def test_whole_city_eps_refused_before_any_work():
    X = np.random.default_rng(0).uniform(0, 30000, (1000, 2))
    with pytest.raises(ParameterError, match="chains whole districts"):
        DBSCAN(eps=20000.0, min_samples=5).fit(X)


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.zeros((4, 3)), r"shape \(n, 2\)"),
        (np.zeros(4), r"shape \(n, 2\)"),
        ([["a", "b"]], "numeric"),
        (np.array([[0.0, 0.0], [np.nan, 1.0], [2.0, np.inf]]), "rows 1, 2"),
    ],
)
def test_invalid_points_are_refused_with_rows(X, message):
    with pytest.raises(ParameterError, match=message):
        DBSCAN(10.0, 2).fit(X)


@pytest.mark.parametrize(
    ("w", "message"),
    [
        (np.array([1.0, -1.0, 1.0]), "row.*1.*>= 0"),
        (np.array([1.0, np.nan, 1.0]), "NaN"),
        (np.ones(2), r"shape \(3,\)"),
    ],
)
def test_invalid_weights_are_refused(w, message):
    with pytest.raises(ParameterError, match=message):
        DBSCAN(10.0, 2).fit(np.zeros((3, 2)), sample_weight=w)


def test_eps_too_small_for_the_extent_is_refused():
    X = np.array([[0.0, 0.0], [1e7, 1e7]])
    with pytest.raises(ParameterError, match="too small"):
        DBSCAN(1e-6, 2).fit(X)


def test_tiny_eps_on_a_small_extent_is_exact():
    rng = np.random.default_rng(9)
    X = np.repeat(rng.uniform(0, 1, (40, 2)), 3, axis=0) + rng.integers(0, 2, (120, 1)) * 1e-9
    tiny_eps = 1e-8
    assert_equivalent(DBSCAN(tiny_eps, 3).fit(X), sk_fit(X, tiny_eps, 3), X, tiny_eps)

