"""Checks of the arrays and parameters the clustering estimators accept (raise ParameterError)."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ward_geo.errors import ParameterError

__all__ = [
    "DEFAULT_MAX_EPS_M",
    "validate_points",
    "validate_weights",
    "check_eps",
    "check_min_samples",
    "collect_eps_min_samples_problems",
    "is_real_number",
]

#: Largest eps accepted by default (metres). A larger radius chains a whole city into one
#: cluster and makes the neighbour search quadratic; pass ``max_eps=None`` to lift it.
DEFAULT_MAX_EPS_M = 5000.0


# --------------------------------------------------------------------------- validation


def validate_points(X: Any, *, name: str = "X", ncols: int = 2) -> np.ndarray:
    """Return ``X`` as a C-contiguous float64 array of shape (n, ncols) or raise.

    Raises
    ------
    ParameterError
        When ``X`` is not numeric, has the wrong shape, or holds NaN / infinite values
        (the message names the first offending rows).
    """
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a numeric array of shape (n, {ncols}): {exc}") from None
    if arr.ndim != 2 or arr.shape[1] != ncols:
        raise ParameterError(
            f"{name} must have shape (n, {ncols}) (projected x, y in metres), got {arr.shape}"
        )
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = ", ".join(str(r) for r in rows[:10])
        more = f" and {rows.size - 10} more" if rows.size > 10 else ""
        raise ParameterError(
            f"{name} has {rows.size} row(s) with NaN or infinite coordinates: rows {shown}{more}; "
            "every coordinate must be a finite number",
            details={"rows": rows[:100].tolist()},
        )
    return np.ascontiguousarray(arr)


def validate_weights(sample_weight: Any, n: int) -> np.ndarray:
    """Return weights as float64 of length ``n`` (ones when ``None``) or raise.

    Weights must be finite and non-negative (scikit-learn also accepts negative weights;
    ward_geo's weights are severities, and a negative one is refused).
    """
    if sample_weight is None:
        return np.ones(n, dtype=np.float64)
    try:
        w = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"sample_weight must be numeric: {exc}") from None
    if w.ndim != 1 or w.shape[0] != n:
        raise ParameterError(f"sample_weight must have shape ({n},), got {w.shape}")
    bad = ~(np.isfinite(w) & (w >= 0))
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = ", ".join(str(r) for r in rows[:10])
        raise ParameterError(
            f"sample_weight has {rows.size} value(s) that are negative, NaN or infinite: "
            f"rows {shown}; weights must be finite and >= 0",
            details={"rows": rows[:100].tolist()},
        )
    return np.ascontiguousarray(w)


def check_eps(eps: Any, max_eps: float | None) -> float:
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise ParameterError(f"eps must be a number of metres, got {eps!r}")
    value = float(eps)
    if not (math.isfinite(value) and value > 0):
        raise ParameterError(f"eps must be a finite number of metres > 0, got {value!r}")
    if max_eps is not None and value > max_eps:
        raise ParameterError(
            f"eps={value:g} m is larger than the limit of {max_eps:g} m: a radius that large "
            "chains whole districts into one cluster; use a ward-scale eps (tens to a few "
            "hundred metres) or raise max_eps explicitly",
            details={"eps": value, "max_eps": max_eps},
        )
    return value


def check_min_samples(min_samples: Any) -> int:
    if isinstance(min_samples, bool) or not isinstance(min_samples, numbers.Integral):
        if isinstance(min_samples, float) and min_samples.is_integer():
            min_samples = int(min_samples)
        else:
            raise ParameterError(f"min_samples must be an integer >= 1, got {min_samples!r}")
    if min_samples < 1:
        raise ParameterError(f"min_samples must be an integer >= 1, got {min_samples!r}")
    return int(min_samples)




def is_real_number(value: object) -> bool:
    """Whether ``value`` is a real number (numpy scalars included) and not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def collect_eps_min_samples_problems(
    problems: list[str], eps: Any, min_samples: Any, max_eps: float | None
) -> None:
    """Append the messages of ``check_eps`` and ``check_min_samples`` to ``problems``.

    A parameter given as ``None`` (to be suggested from the data) is not checked.
    """
    if eps is not None:
        try:
            check_eps(eps, max_eps)
        except ParameterError as exc:
            problems.append(exc.message)
    if min_samples is not None:
        try:
            check_min_samples(min_samples)
        except ParameterError as exc:
            problems.append(exc.message)
