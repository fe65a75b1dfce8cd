r"""Expected incidents in each hotspot over the next period, with an interval.

The risk model is a recency-weighted Poisson rate with a Gamma prior (a discounted
Poisson–Gamma model, as in dynamic count forecasting): an incident of age :math:`a` days at
the end of the analysis window weighs :math:`w = 2^{-a/h}` (half-life :math:`h`, default
90 days), the exposure of the window of length :math:`L` days is
:math:`E = \int_0^L 2^{-a/h}\,da = \frac{h}{\ln 2}(1 - 2^{-L/h})`, both measured in periods of
the forecast horizon (a day, a week or a month of 30.44 days). With the weak prior
:math:`\lambda \sim \mathrm{Gamma}(\alpha_0 = 0.5, \beta_0 = 0.5)` the posterior of the rate
per period is :math:`\mathrm{Gamma}(\alpha_0 + \sum w, \beta_0 + E)`, and the count in the next
period is negative binomial with that shape and :math:`p = (\beta_0 + E) / (\beta_0 + E + 1)`.
The forecast is its mean; the interval its 5 % and 95 % quantiles (90 %).

A place whose incidents are old gets a small weighted count and so a small forecast: it does
not outrank a place that is hot now, however large it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ward_geo.errors import ParameterError

__all__ = ["HORIZONS", "DEFAULT_HALF_LIFE_DAYS", "Forecast", "horizon_days", "recency_weights",
           "window_exposure", "forecast_counts"]

#: Forecast horizons and their length in days.
HORIZONS: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 30.436875}
DEFAULT_HALF_LIFE_DAYS = 90.0
PRIOR_SHAPE = 0.5
PRIOR_RATE = 0.5
INTERVAL = 0.90

_NS_PER_DAY = 86_400e9


def horizon_days(horizon: str) -> float:
    """Length in days of a named horizon (``"day"``, ``"week"``, ``"month"``)."""
    if horizon not in HORIZONS:
        raise ParameterError(f"horizon must be one of {', '.join(HORIZONS)}, got {horizon!r}")
    return HORIZONS[horizon]


def recency_weights(times: pd.Series | np.ndarray, until: pd.Timestamp,
                    half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> np.ndarray:
    """Weight ``2**(-age / half_life)`` of each time at ``until`` (missing times weigh 0)."""
    t = pd.to_datetime(pd.Series(times), utc=True)
    ns = t.astype("int64").to_numpy(dtype=np.float64)
    age = (until.value - ns) / _NS_PER_DAY
    w = np.exp2(-np.maximum(age, 0.0) / half_life_days)
    return np.where(t.notna().to_numpy(), w, 0.0)


def window_exposure(length_days: float, half_life_days: float, period_days: float) -> float:
    """Recency-weighted length of a window of ``length_days``, in periods."""
    length_days = max(float(length_days), 0.0)
    e = half_life_days / math.log(2.0) * (1.0 - math.exp2(-length_days / half_life_days))
    return e / period_days


@dataclass(frozen=True)
class Forecast:
    """Expected incidents per hotspot in the next period and a 90 % interval."""

    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    rate_shape: np.ndarray
    rate_exposure: float
    horizon: str
    half_life_days: float


def forecast_counts(weighted_counts: np.ndarray, length_days: float, *, horizon: str = "month",
                    half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> Forecast:
    """Forecast from recency-weighted counts over a window of ``length_days`` (see the module).

    Parameters
    ----------
    weighted_counts : ndarray
        Sum of :func:`recency_weights` of the incidents in each place.
    length_days : float
        Length of the analysis window (days).
    horizon : {"day", "week", "month"}, default "month"
        The period forecast.
    half_life_days : float, default 90
        Half-life of an incident's weight.

    Returns
    -------
    Forecast
    """
    from scipy.stats import nbinom

    if not (math.isfinite(half_life_days) and half_life_days > 0):
        raise ParameterError(f"half_life_days must be a positive number of days, got {half_life_days!r}")
    period = horizon_days(horizon)
    exposure = window_exposure(length_days, half_life_days, period)
    shape = PRIOR_SHAPE + np.asarray(weighted_counts, dtype=np.float64)
    rate = PRIOR_RATE + exposure
    mean = shape / rate
    p = rate / (rate + 1.0)
    tail = (1.0 - INTERVAL) / 2.0
    low = nbinom.ppf(tail, shape, p) if len(shape) else np.empty(0)
    high = nbinom.ppf(1.0 - tail, shape, p) if len(shape) else np.empty(0)
    return Forecast(np.asarray(mean), np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64),
                    shape, exposure, horizon, float(half_life_days))
