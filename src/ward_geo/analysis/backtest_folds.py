"""Rolling-origin folds of a backtest: window lengths and the train/test split in time."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from ward_geo.errors import InputError, ParameterError

__all__ = ["Fold", "parse_window", "rolling_folds"]

_WINDOW = re.compile(r"^\s*(\d+)\s*([DWMY])\s*$", re.IGNORECASE)


def parse_window(text: str | pd.DateOffset) -> pd.DateOffset:
    """Parse a window length such as ``"12M"``, ``"1M"``, ``"4W"``, ``"30D"``, ``"1Y"``."""
    if isinstance(text, pd.DateOffset):
        return text
    m = _WINDOW.match(str(text))
    if not m or int(m.group(1)) <= 0:
        raise ParameterError(f"window {text!r} is not a positive length such as 12M, 4W, 30D or 1Y")
    n, unit = int(m.group(1)), m.group(2).upper()
    return {
        "D": pd.DateOffset(days=n),
        "W": pd.DateOffset(weeks=n),
        "M": pd.DateOffset(months=n),
        "Y": pd.DateOffset(years=n),
    }[unit]


@dataclass(frozen=True)
class Fold:
    """One rolling-origin fold: train on ``[train_start, origin)``, test on ``[origin, test_end)``."""

    index: int
    train_start: pd.Timestamp
    origin: pd.Timestamp
    test_end: pd.Timestamp


def rolling_folds(
    times: pd.Series,
    *,
    train: str | pd.DateOffset = "12M",
    test: str | pd.DateOffset = "1M",
    step: str | pd.DateOffset = "1M",
    max_folds: int | None = None,
) -> list[Fold]:
    """Rolling-origin folds over the span of ``times`` (no test incident is ever in training).

    The first origin is the earliest time (floored to the day) plus ``train``; origins move
    by ``step`` while the test window starts at or before the latest incident (so data known
    only to the month, stamped on the month's first day, still get their last test window).
    With ``max_folds``, the most recent folds are kept.
    """
    t = pd.to_datetime(times, utc=True).dropna()
    if t.empty:
        raise InputError("no incident has a time; a backtest needs dated incidents")
    train_off, test_off, step_off = parse_window(train), parse_window(test), parse_window(step)
    start = t.min().floor("D")
    end = t.max()
    folds: list[Fold] = []
    origin = start + train_off
    while origin <= end:
        folds.append(Fold(len(folds), origin - train_off, origin, origin + test_off))
        origin = origin + step_off
        if len(folds) > 10_000:
            raise ParameterError("more than 10,000 folds: use a larger step")
    if not folds:
        raise InputError(
            f"the data span {start.date()} – {end.date()} is shorter than one training window ({train}) "
            f"plus one test window ({test})"
        )
    if max_folds is not None and max_folds > 0:
        folds = [Fold(i, f.train_start, f.origin, f.test_end) for i, f in enumerate(folds[-max_folds:])]
    return folds
