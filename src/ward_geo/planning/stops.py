"""Which hotspots to visit, how often and for how long (the Koper curve).

Koper (1995) found that police presence at a hot spot deters crime for longest after a stop
of about 10-15 minutes; shorter stops deter less and longer ones add little. Sherman and
Weisburd (1995) showed that short, repeated, unpredictable visits to hot spots reduce crime
there. The planner therefore:

* gives each visit a dwell time between ``dwell_minutes[0]`` and ``dwell_minutes[1]``
  (default 10-15 min), longer for riskier hotspots (linear in the hotspot's risk relative to
  the riskiest one);
* shares the shift's visiting capacity among hotspots in proportion to their risk, at least one
  visit each, and spaces the revisits of a hotspot through the shift: visit ``k`` of ``n`` has
  an arrival window in the ``k``-th ``n``-th of the time the hotspot can be reached (after the
  walk or ride from the station, before the dwell and the way back), and the windows are cut so
  that two visits of the same hotspot start at least ``revisit_gap_minutes`` apart (60 min for
  high-priority hotspots, 90 min for the others, by default);
* values each visit in proportion to risk (revisits count less), which is what the router
  loses when it drops the visit because the shift is too short.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ward_geo.errors import ParameterError

__all__ = ["DEFAULT_DWELL_MINUTES", "DEFAULT_REVISIT_GAP_MINUTES", "Visit", "koper_dwell", "plan_visits"]

#: Shortest and longest dwell at a stop (Koper 1995).
DEFAULT_DWELL_MINUTES: tuple[float, float] = (10.0, 15.0)
#: Least time between two visits of one hotspot, by hotspot priority (minutes).
DEFAULT_REVISIT_GAP_MINUTES: dict[str, float] = {"high": 60.0, "medium": 90.0, "low": 90.0}
#: Shortest arrival window of a visit (minutes), so the router keeps some freedom.
MIN_WINDOW_MINUTES = 20.0
#: Revisit k of a hotspot is worth this factor ** k of its first visit.
REVISIT_VALUE_DECAY = 0.6


@dataclass(frozen=True)
class Visit:
    """One planned visit of a hotspot.

    Attributes
    ----------
    hotspot : int
        Row of the hotspot in the risk table.
    hotspot_id : str
    visit : int
        0 for the first visit, 1 for the first revisit, ...
    n_visits : int
        Visits planned for this hotspot.
    dwell_s : int
        Dwell time in seconds.
    earliest_s, latest_s : int
        Arrival window, in seconds from the shift's start.
    value : float
        Share of the shift's risk this visit stands for (revisits discounted).
    """

    hotspot: int
    hotspot_id: str
    visit: int
    n_visits: int
    dwell_s: int
    earliest_s: int
    latest_s: int
    value: float


def koper_dwell(risk: np.ndarray, dwell_minutes: tuple[float, float] = DEFAULT_DWELL_MINUTES) -> np.ndarray:
    """Dwell minutes per hotspot: linear in risk / max risk between the two bounds."""
    low, high = (float(v) for v in dwell_minutes)
    if not 0 < low <= high:
        raise ParameterError(f"dwell_minutes must be (min, max) with 0 < min <= max; got {dwell_minutes!r}")
    risk = np.asarray(risk, dtype=float)
    if risk.size == 0:
        return risk
    top = risk.max()
    rel = risk / top if top > 0 else np.zeros_like(risk)
    return np.round(low + (high - low) * rel, 1)


def plan_visits(  # noqa: PLR0913 - public function; its keywords are the documented contract
    hotspots: pd.DataFrame,
    shift_minutes: float,
    units: int,
    *,
    travel_minutes: float,
    access_minutes: np.ndarray | None = None,
    return_minutes: np.ndarray | None = None,
    dwell_minutes: tuple[float, float] = DEFAULT_DWELL_MINUTES,
    revisit_gap_minutes: dict[str, float] | float | None = None,
    max_visits_per_hotspot: int | None = None,
) -> list[Visit]:
    """Allocate visits to hotspots for a shift.

    Visit ``k`` of ``n`` of a hotspot may start in the window
    ``[a + k (W + gap), a + k (W + gap) + W]`` where ``a`` is the earliest arrival (travel from
    the station), ``b`` the latest start that still leaves the dwell and the way back before the
    shift ends, and ``W = (b - a - (n - 1) gap) / n``: the windows tile ``[a, b]`` and any two
    visits start at least ``gap`` apart. ``n`` is at most what keeps ``W`` >= 20 minutes.

    Parameters
    ----------
    hotspots : DataFrame
        The shift's hotspots with ``hotspot_id``, ``risk``, ``risk_share`` and ``priority``,
        sorted by risk (descending).
    shift_minutes : float
        Length of the shift.
    units : int
        Patrol units.
    travel_minutes : float
        Typical travel time between two stops (sets how many visits fit in the shift).
    access_minutes, return_minutes : array, optional
        Travel time from the station to each hotspot and back (default 0).
    dwell_minutes : (float, float)
        Shortest and longest dwell.
    revisit_gap_minutes : dict or float, optional
        Least time between visits of one hotspot, per priority or for all
        (default :data:`DEFAULT_REVISIT_GAP_MINUTES`).
    max_visits_per_hotspot : int, optional
        Upper bound of visits per hotspot.

    Returns
    -------
    list of Visit
        Ordered by hotspot then visit number.
    """
    if units < 1:
        raise ParameterError(f"units must be >= 1; got {units}")
    if len(hotspots) == 0:
        return []
    gaps = dict(DEFAULT_REVISIT_GAP_MINUTES)
    if isinstance(revisit_gap_minutes, dict):
        gaps.update(revisit_gap_minutes)
    elif revisit_gap_minutes is not None:
        gaps = {k: float(revisit_gap_minutes) for k in gaps}
    if any(g <= 0 for g in gaps.values()):
        raise ParameterError(f"revisit gaps must be > 0 minutes; got {gaps}")
    risk = hotspots["risk"].to_numpy(dtype=float)
    share = hotspots["risk_share"].to_numpy(dtype=float)
    dwell = koper_dwell(risk, dwell_minutes)
    access = np.zeros(len(risk)) if access_minutes is None else np.asarray(access_minutes, dtype=float)
    back = np.zeros(len(risk)) if return_minutes is None else np.asarray(return_minutes, dtype=float)
    # visits that fit: every unit cycles dwell + travel for the whole shift
    capacity = units * shift_minutes / (float(np.mean(dwell)) + max(travel_minutes, 1.0))
    total_risk = risk.sum()
    wanted = np.ones(len(risk), dtype=int)
    if total_risk > 0 and capacity > len(risk):
        wanted = np.maximum(1, np.floor(capacity * risk / total_risk + 0.5).astype(int))
    visits: list[Visit] = []
    for i, row in enumerate(hotspots.itertuples(index=False)):
        gap = float(gaps.get(str(row.priority), gaps["low"]))
        d = float(dwell[i])
        first = max(0.0, float(access[i]))
        last = max(first, shift_minutes - d - max(0.0, float(back[i])))
        fit = max(1, int((last - first + gap) // (gap + MIN_WINDOW_MINUTES)))
        n = min(int(wanted[i]), fit)
        if max_visits_per_hotspot is not None:
            n = max(1, min(n, int(max_visits_per_hotspot)))
        width = (last - first - (n - 1) * gap) / n
        for k in range(n):
            earliest = first + k * (width + gap)
            latest = earliest + width
            visits.append(
                Visit(
                    hotspot=i,
                    hotspot_id=str(row.hotspot_id),
                    visit=k,
                    n_visits=n,
                    dwell_s=int(round(d * 60)),
                    earliest_s=int(math.ceil(earliest * 60)),
                    latest_s=max(int(math.ceil(earliest * 60)), int(math.floor(latest * 60))),
                    value=float(share[i]) * REVISIT_VALUE_DECAY**k,
                )
            )
    return visits
