"""HDBSCAN (variable-density clustering) with the same interface as :class:`DBSCAN`.

The work is done by a maintained implementation, chosen with ``backend``:
``"fast_hdbscan"`` (default when installed; the parallel numba implementation of the
``fast_hdbscan`` package, the fastest measured in ``benchmarks/bench_clustering.py``),
``"hdbscan"`` (the scikit-learn-contrib package) or ``"sklearn"``
(:class:`sklearn.cluster.HDBSCAN`).

Weights: ``sample_weight`` must hold whole numbers. A point of weight ``w`` is repeated
``w`` times before clustering (so it counts as ``w`` points for ``min_samples`` and
``min_cluster_size``, exactly as ``w`` incidents at one address would), and the copies'
label is folded back onto the point; a weight of 0 leaves the point out (it is labelled
noise). Fractional weights are refused with a clear error: ``sklearn`` and ``hdbscan``
have no weights at all, and ``fast_hdbscan``'s own weighted mode gives a different
result from the unweighted one for all-ones weights (checked with fast_hdbscan 0.3.4),
so it is not used.

Results of the backends agree on well-separated clusters but are not identical in
general (tie handling and approximations differ); pick one and keep it.
"""

from __future__ import annotations

import importlib.util
import numbers
from typing import Any

import numpy as np

from ward_geo.cluster._validation import is_real_number, validate_points, validate_weights
from ward_geo.errors import ParameterError

__all__ = ["HDBSCAN", "BACKENDS", "warm_up"]

BACKENDS = ("fast_hdbscan", "sklearn", "hdbscan")

#: Largest total of repeated points accepted when expanding weights.
MAX_EXPANDED_POINTS = 20_000_000


def _default_backend() -> str:
    return "fast_hdbscan" if importlib.util.find_spec("fast_hdbscan") is not None else "sklearn"


class HDBSCAN:
    """Hierarchical density-based clustering of projected 2-D points.

    Parameters
    ----------
    min_cluster_size : int, default 10
        Smallest cluster (in summed weight).
    min_samples : int, optional
        Neighbourhood size for core distances; default ``min_cluster_size``.
    cluster_selection_epsilon : float, default 0
        Metres below which clusters are not split further.
    cluster_selection_method : {"eom", "leaf"}, default "eom"
    allow_single_cluster : bool, default False
    backend : {"fast_hdbscan", "sklearn", "hdbscan"}, optional
        Implementation; default ``fast_hdbscan`` when installed, else ``sklearn``.

    Attributes
    ----------
    labels_ : ndarray of int64
        Cluster per point, ``-1`` for noise.
    probabilities_ : ndarray of float64
        Membership strength per point.
    core_sample_indices_ : ndarray of int64
        Points with membership probability 1 (the cluster cores), sorted.
    n_clusters_ : int
    backend_ : str
        The implementation used.
    """

    def __init__(
        self,
        min_cluster_size: int = 10,
        min_samples: int | None = None,
        *,
        cluster_selection_epsilon: float = 0.0,
        cluster_selection_method: str = "eom",
        allow_single_cluster: bool = False,
        backend: str | None = None,
    ) -> None:
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.cluster_selection_epsilon = cluster_selection_epsilon
        self.cluster_selection_method = cluster_selection_method
        self.allow_single_cluster = allow_single_cluster
        self.backend = backend

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters (scikit-learn convention)."""
        return {
            "min_cluster_size": self.min_cluster_size,
            "min_samples": self.min_samples,
            "cluster_selection_epsilon": self.cluster_selection_epsilon,
            "cluster_selection_method": self.cluster_selection_method,
            "allow_single_cluster": self.allow_single_cluster,
            "backend": self.backend,
        }

    def _validate(self) -> tuple[int, int, float, str]:
        problems: list[str] = []

        def as_int(name: str, value: Any, low: int) -> int:
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                problems.append(f"{name} must be an integer >= {low}, got {value!r}")
                return low
            return int(value)

        mcs = as_int("min_cluster_size", self.min_cluster_size, 2)
        ms = mcs if self.min_samples is None else as_int("min_samples", self.min_samples, 1)
        cse = self.cluster_selection_epsilon
        if not is_real_number(cse) or not (0 <= float(cse) < float("inf")):
            problems.append(f"cluster_selection_epsilon must be a finite number of metres >= 0, got {cse!r}")
            cse = 0.0
        if self.cluster_selection_method not in ("eom", "leaf"):
            problems.append(
                f"cluster_selection_method must be 'eom' or 'leaf', got {self.cluster_selection_method!r}"
            )
        backend = self.backend or _default_backend()
        if backend not in BACKENDS:
            problems.append(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        elif importlib.util.find_spec(backend) is None:
            problems.append(f"backend {backend!r} is not installed")
        if problems:
            raise ParameterError("; ".join(problems))
        return mcs, ms, float(cse), backend

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> HDBSCAN:
        """Cluster ``X`` (projected metres), optionally weighted.

        Parameters
        ----------
        X : array-like of shape (n, 2)
        y : ignored
        sample_weight : array-like of shape (n,), optional
            Non-negative weights (see the module notes for each backend).

        Returns
        -------
        HDBSCAN
        """
        mcs, ms, cse, backend = self._validate()
        X = validate_points(X)
        n = X.shape[0]
        w = None if sample_weight is None else validate_weights(sample_weight, n)
        self.backend_ = backend
        if n == 0:
            self.labels_ = np.empty(0, dtype=np.int64)
            self.probabilities_ = np.empty(0)
        else:
            index = np.arange(n)
            Xf = X
            if w is not None:
                if not np.all(w == np.round(w)):
                    rows = np.flatnonzero(w != np.round(w))
                    raise ParameterError(
                        "HDBSCAN needs whole-number sample_weight (each point is repeated w "
                        f"times); rows {', '.join(map(str, rows[:10]))} are fractional: round "
                        "the weights first",
                        details={"rows": rows[:100].tolist()},
                    )
                total = float(w.sum())
                if total > MAX_EXPANDED_POINTS:
                    raise ParameterError(
                        f"sample_weight sums to {total:.0f}; HDBSCAN repeats weighted points "
                        f"and accepts at most {MAX_EXPANDED_POINTS} in total"
                    )
                index = np.repeat(index, w.astype(np.int64))
                Xf = X[index]
            if Xf.shape[0] <= ms:
                # too few points for a single core distance: everything is noise
                labels = np.full(Xf.shape[0], -1, dtype=np.int64)
                probs = np.zeros(Xf.shape[0])
            else:
                labels, probs = _run_backend(backend, Xf, mcs, ms, cse,
                                             self.cluster_selection_method,
                                             self.allow_single_cluster)
            # fold repeated points back: copies of a point are interchangeable (same core
            # distance and reachabilities); zero-weight points were left out and stay noise
            self.labels_ = np.full(n, -1, dtype=np.int64)
            self.probabilities_ = np.zeros(n)
            self.labels_[index] = labels
            self.probabilities_[index] = probs
        self.core_sample_indices_ = np.flatnonzero(self.probabilities_ >= 1.0)
        self.n_clusters_ = int(self.labels_.max()) + 1 if n else 0
        return self

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit and return ``labels_``."""
        return self.fit(X, sample_weight=sample_weight).labels_


def _run_backend(
    backend: str, X: np.ndarray, mcs: int, ms: int, cse: float, method: str, single: bool
) -> tuple[np.ndarray, np.ndarray]:
    common = {
        "min_cluster_size": mcs,
        "min_samples": ms,
        "cluster_selection_epsilon": cse,
        "cluster_selection_method": method,
        "allow_single_cluster": single,
    }
    if backend == "fast_hdbscan":
        import fast_hdbscan

        model = fast_hdbscan.HDBSCAN(**common).fit(X)
    elif backend == "sklearn":
        from sklearn.cluster import HDBSCAN as _SkHDBSCAN

        model = _SkHDBSCAN(**common, copy=True).fit(X)
    else:
        import hdbscan  # type: ignore[import-untyped]  # the package ships no type information

        model = hdbscan.HDBSCAN(**common).fit(X)
    return (
        np.asarray(model.labels_, dtype=np.int64),
        np.asarray(model.probabilities_, dtype=np.float64),
    )


def warm_up() -> None:
    """Compile the default backend's kernels (numba) on a tiny input."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 5, (40, 2)), rng.normal(200, 5, (40, 2))])
    HDBSCAN(min_cluster_size=10).fit(X)
