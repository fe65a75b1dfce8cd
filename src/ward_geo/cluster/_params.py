"""Data-driven DBSCAN parameters a planner does not have to guess.

``eps`` comes from the knee of the sorted k-distance curve (the distance from each point
to its k-th nearest neighbour, itself counted), found with the Kneedle rule (the point of
the normalised curve farthest below the diagonal), and is bounded to a ward-scale range;
k is ``min_samples`` when that is given, else ``ln n`` (at least ``floor_min_samples``).
``min_samples`` comes from the background rate: under complete spatial randomness over the
study area a disc of radius ``eps`` holds on average ``mu = n / area * pi * eps**2``
incidents; a hotspot core must hold ``factor`` times that, and never fewer than k.
Explicit values always win.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.spatial import ConvexHull, QhullError, cKDTree

from ward_geo.errors import ParameterError

__all__ = ["DBSCANParams", "suggest_dbscan_params", "k_distance_knee"]

#: Ward-scale bounds for a suggested eps, in metres.
EPS_BOUNDS_M = (15.0, 300.0)


@dataclass(frozen=True)
class DBSCANParams:
    """Chosen DBSCAN parameters and the reason, in words, for each value.

    Attributes
    ----------
    eps : float
        Radius in metres.
    min_samples : int
        Neighbourhood weight needed for a core point.
    reason : str
        How both numbers were obtained.
    background_per_disc : float or None
        Expected count in an ``eps`` disc under spatial randomness (``None`` when the
        area is unknown or empty).
    """

    eps: float
    min_samples: int
    reason: str
    background_per_disc: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of the parameters."""
        return asdict(self)


def k_distance_knee(
    X: np.ndarray,
    k: int,
    *,
    max_queries: int = 50_000,
    seed: int = 0,
    tree: cKDTree | None = None,
) -> tuple[float, int]:
    """Knee of the sorted k-distance curve.

    Parameters
    ----------
    X : ndarray of shape (n, 2)
        Projected coordinates.
    k : int
        Neighbour rank, the point itself counted as the first (``k = min_samples``).
    max_queries : int, default 50000
        Above this many points, k-distances are computed for a random sample (against all
        points), which estimates the same curve.
    seed : int, default 0
        Seed of that sample.
    tree : scipy.spatial.cKDTree, optional
        A tree already built on ``X``.

    Returns
    -------
    (float, int)
        The k-distance at the knee and the number of points sampled.
    """
    n = X.shape[0]
    k = max(1, min(int(k), n))
    tree = cKDTree(X) if tree is None else tree
    if n > max_queries:
        rng = np.random.default_rng(seed)
        queries = X[rng.choice(n, size=max_queries, replace=False)]
    else:
        queries = X
    dist, _ = tree.query(queries, k=k, workers=2)
    kd = np.sort(np.asarray(dist, dtype=np.float64).reshape(queries.shape[0], -1)[:, -1])
    # the far tail (isolated points) would flatten the normalised curve: cut at the 99th percentile
    kd = kd[: max(2, int(math.ceil(0.99 * kd.size)))]
    lo, hi = kd[0], kd[-1]
    if kd.size < 3 or hi <= lo:
        return float(hi), int(queries.shape[0])
    xn = np.linspace(0.0, 1.0, kd.size)
    yn = (kd - lo) / (hi - lo)
    knee = int(np.argmax(xn - yn))
    return float(kd[knee]), int(queries.shape[0])


def _study_area(X: np.ndarray) -> float:
    if X.shape[0] >= 3:
        try:
            return float(ConvexHull(X).volume)
        except (QhullError, ValueError):
            pass
    span = X.max(axis=0) - X.min(axis=0) if X.shape[0] else np.zeros(2)
    return float(span[0] * span[1])


def suggest_dbscan_params(
    X: Any,
    *,
    area_m2: float | None = None,
    eps: float | None = None,
    min_samples: int | None = None,
    eps_bounds: tuple[float, float] = EPS_BOUNDS_M,
    factor: float = 3.0,
    floor_min_samples: int = 5,
    seed: int = 0,
) -> DBSCANParams:
    """Choose DBSCAN ``eps`` and ``min_samples`` for ward-scale incident data.

    Parameters
    ----------
    X : array-like of shape (n, 2)
        Projected coordinates in metres.
    area_m2 : float, optional
        Study area (the wards' area) for the background rate; default the convex hull
        of the points.
    eps, min_samples : optional
        Explicit values; they are kept as given and the other is derived.
    eps_bounds : (float, float), default (15, 300)
        Range a suggested eps is clipped to, in metres.
    factor : float, default 3
        How many times the background count a core neighbourhood must hold.
    floor_min_samples : int, default 5
        Smallest suggested ``min_samples``.
    seed : int, default 0
        Seed for the k-distance sample on large inputs.

    Returns
    -------
    DBSCANParams

    Raises
    ------
    ParameterError
        On invalid coordinates or options.
    """
    from ward_geo.cluster._validation import validate_points

    X = validate_points(X)
    lo_b, hi_b = _check_suggest_options(eps_bounds, area_m2, factor, eps, min_samples)

    n = X.shape[0]
    area = float(area_m2) if area_m2 is not None else _study_area(X)
    area_note = "given" if area_m2 is not None else "convex hull of the points"
    parts: list[str] = []
    tree: cKDTree | None = None

    def background(e: float) -> float | None:
        return n / area * math.pi * e * e if area > 0 else None

    def ms_from(e: float) -> tuple[int, float | None]:
        mu = background(e)
        if mu is None:
            return floor_min_samples, None
        return max(floor_min_samples, math.ceil(factor * mu)), mu

    def eps_from(k: int) -> tuple[float, str]:
        if n <= 1:
            e = lo_b if n == 0 else hi_b
            return e, f"eps={e:g} m: too few points for a k-distance curve"
        nonlocal tree
        if tree is None:
            tree = cKDTree(X)
        raw, sampled = k_distance_knee(X, k, seed=seed, tree=tree)
        e = min(max(raw, lo_b), hi_b)
        text = (
            f"eps={e:.1f} m from the knee of the sorted {k}-distance curve "
            f"({raw:.1f} m over {sampled} points"
        )
        if e != raw:
            text += f", clipped to the ward-scale range {lo_b:g}-{hi_b:g} m"
        return e, text + ")"

    if eps is not None and min_samples is not None:
        mu = background(float(eps))
        return DBSCANParams(float(eps), int(min_samples), "eps and min_samples given explicitly", mu)

    if eps is not None:
        e = float(eps)
        parts.append(f"eps={e:g} m given")
        ms, mu = ms_from(e)
    elif min_samples is not None:
        ms = int(min_samples)
        e, text = eps_from(ms)
        parts.append(f"min_samples={ms} given; " + text)
        mu = background(e)
    else:
        # k grows slowly with the data (k = ln n, at least the floor): 8 for a ward-year of a
        # few thousand incidents, 14 at a million. eps is read once from the k-distance knee
        # and min_samples follows from it; feeding min_samples back into k would let eps and
        # min_samples inflate each other until no hotspot is left.
        k = max(floor_min_samples, round(math.log(n))) if n > 1 else floor_min_samples
        e, text = eps_from(k)
        ms = min(max(k, ms_from(e)[0]), max(floor_min_samples, n))
        parts.append(text)
        mu = background(e)
    # here eps or min_samples was missing (both given returned above)
    if min_samples is None:
        parts.append(_min_samples_note(ms, mu, n, area, area_note, factor))
    return DBSCANParams(float(e), int(ms), "; ".join(parts), mu)


def _check_suggest_options(
    eps_bounds: tuple[float, float],
    area_m2: float | None,
    factor: float,
    eps: float | None,
    min_samples: int | None,
) -> tuple[float, float]:
    """Check the options of :func:`suggest_dbscan_params`; return the eps bounds as floats.

    Raises
    ------
    ParameterError
        Naming every invalid option at once.
    """
    from ward_geo.cluster._validation import collect_eps_min_samples_problems

    problems: list[str] = []
    lo_b, hi_b = (float(v) for v in eps_bounds)
    if not (0 < lo_b <= hi_b and math.isfinite(hi_b)):
        problems.append(f"eps_bounds must be 0 < low <= high, got {eps_bounds!r}")
    if area_m2 is not None and not (isinstance(area_m2, (int, float)) and math.isfinite(area_m2) and area_m2 > 0):
        problems.append(f"area_m2 must be a positive number of square metres, got {area_m2!r}")
    if not (math.isfinite(factor) and factor > 0):
        problems.append(f"factor must be > 0, got {factor!r}")
    collect_eps_min_samples_problems(problems, eps, min_samples, None)
    if problems:
        raise ParameterError("; ".join(problems))
    return lo_b, hi_b


def _min_samples_note(
    ms: int, mu: float | None, n: int, area: float, area_note: str, factor: float
) -> str:
    """The rationale of a suggested ``min_samples`` (``mu``: background count in an eps disc)."""
    if mu is None:
        return f"min_samples={ms} (floor; the study area is empty)"
    return (
        f"min_samples={ms}: {n} points over {area / 1e6:.3g} km² ({area_note}) give "
        f"{mu:.2f} expected in an eps disc under spatial randomness; a core needs "
        f"{factor:g}x that, and at least k"
    )
