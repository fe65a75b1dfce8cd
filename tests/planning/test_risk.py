"""Shift windows, recency and category weights, and the shift's hotspots."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ward_geo.errors import NotFoundError, ParameterError
from ward_geo.planning.risk import (
    incident_weights,
    parse_shift,
    parse_weekday,
    shift_mask,
    shift_risk,
)

from _planning_data import HAND_WARD, LAT0, LON0, STEP, make_incidents


def _times(*local: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(local)).tz_localize("Asia/Ho_Chi_Minh").tz_convert("UTC"))


def test_day_shift_window() -> None:
    shift = parse_shift("08:00", "16:00", date="2026-01-09")
    assert shift.minutes == 480 and not shift.crosses_midnight
    assert shift.start_datetime.isoformat() == "2026-01-09T08:00:00+07:00"
    assert shift.end_datetime.isoformat() == "2026-01-09T16:00:00+07:00"
    assert shift.weekday == 4  # a Friday


def test_midnight_shift_window_and_mask() -> None:
    shift = parse_shift("22:00", "06:00")
    assert shift.crosses_midnight and shift.minutes == 480
    assert shift.end_datetime - shift.start_datetime == dt.timedelta(hours=8)
    mask = shift_mask(_times("2025-05-01 21:59", "2025-05-01 22:00", "2025-05-02 03:30", "2025-05-02 05:59",
                             "2025-05-02 06:00", "2025-05-02 12:00"), shift)
    assert mask.tolist() == [False, True, True, True, False, False]


def test_weekday_of_night_shift_counts_the_evening_it_started() -> None:
    # Friday 22:00-06:00: Friday 23:00 and Saturday 02:00 belong to it, Friday 02:00 does not
    shift = parse_shift("22:00", "06:00", weekday="friday")
    mask = shift_mask(_times("2026-01-09 23:00", "2026-01-10 02:00", "2026-01-09 02:00", "2026-01-10 23:00"), shift)
    assert mask.tolist() == [True, True, False, False]
    assert shift.date.weekday() == 4


@pytest.mark.parametrize(("value", "expected"), [(0, 0), ("6", 6), ("Fri", 4), ("thứ 2", 0), ("Chủ nhật", 6)])
def test_weekday_names(value: object, expected: int) -> None:
    assert parse_weekday(value) == expected


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"shift_start": "8am"}, "shift_start must be a clock time"),
        ({"shift_start": "25:00"}, "shift_start"),
        ({"shift_start": "10:00", "shift_end": "10:00"}, "equals"),
        ({"date": "2026-01-09", "weekday": 4}, "not both"),
        ({"date": "09/01/2026"}, "YYYY-MM-DD"),
        ({"weekday": "someday"}, "weekday"),
    ],
)
def test_bad_shift_parameters(kwargs: dict, fragment: str) -> None:
    with pytest.raises(ParameterError, match=fragment):
        parse_shift(**{"shift_start": "08:00", "shift_end": "16:00", **kwargs})


def test_recency_half_life_and_category_weights() -> None:
    inc = make_incidents([(LON0, LAT0, 3)], [10])
    inc["category"] = ["theft", "theft", "robbery"]
    ref = pd.Timestamp("2025-06-01", tz="UTC")
    inc["occurred_at"] = pd.to_datetime(["2025-06-01", "2025-03-03", "2025-06-01"], utc=True)
    w = incident_weights(inc, ref, half_life_days=90)
    assert w[0] == pytest.approx(1.5)  # theft weight, age 0
    assert w[1] / w[0] == pytest.approx(0.5, rel=1e-6)  # 90 days old: half
    assert w[2] == pytest.approx(3.0)  # robbery weight
    w2 = incident_weights(inc, ref, half_life_days=90, category_weights={"theft": 1.0})
    assert w2[0] == pytest.approx(1.0)
    with pytest.raises(ParameterError):
        incident_weights(inc, ref, half_life_days=0)


def test_shift_risk_uses_only_the_shift_hours(hand_incidents, hand_boundaries) -> None:
    day = shift_risk(hand_incidents, hand_boundaries, HAND_WARD, parse_shift("08:00", "16:00"), eps=40, min_samples=5)
    night = shift_risk(hand_incidents, hand_boundaries, HAND_WARD, parse_shift("22:00", "02:00"), eps=40, min_samples=5)
    assert set(day.incidents["incident_id"].str[0]) == {"t"}
    assert set(night.incidents["incident_id"].str[0]) == {"n"}
    assert len(day.hotspots) == 4 and len(night.hotspots) == 1
    hot = day.hotspots
    assert (np.diff(hot["risk"].to_numpy()) <= 0).all()  # sorted by risk
    assert hot["risk_share"].sum() == pytest.approx(1.0)  # every day incident is in a hotspot
    # centre of mass lies at the planted spot
    assert abs(hot["centre_lon"].iloc[0] - (LON0 + STEP)) < 0.0002
    assert abs(hot["centre_lat"].iloc[0] - (LAT0 + STEP)) < 0.0002
    assert hot["category_counts"].iloc[0] == {"theft": 14, "robbery": 13, "drugs": 13}


def test_imprecise_times_are_counted_not_used(hand_incidents, hand_boundaries) -> None:
    inc = hand_incidents.copy()
    inc.loc[:9, "time_precision"] = "day"
    risk = shift_risk(inc, hand_boundaries, HAND_WARD, parse_shift("08:00", "16:00"), eps=40, min_samples=5)
    assert risk.excluded_imprecise == 10
    assert any("no exact time" in n for n in risk.notes)


def test_unknown_ward(hand_incidents, hand_boundaries) -> None:
    with pytest.raises(NotFoundError, match="nowhere"):
        shift_risk(hand_incidents, hand_boundaries, "nowhere", parse_shift())


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(0, 1439), length=st.integers(1, 1440), weekday=st.one_of(st.none(), st.integers(0, 6)),
    minutes=st.lists(st.integers(0, 14 * 1440 - 1), min_size=1, max_size=40),
)
def test_shift_mask_matches_a_minute_by_minute_count(start, length, weekday, minutes) -> None:
    """Brute force: an incident is in the shift iff it lies in [start, start + length) of some shift day."""
    end = (start + length) % 1440
    shift = parse_shift(f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}", weekday=weekday) \
        if length < 1440 else None
    if shift is None:  # a 24-hour shift has equal start and end, which is refused
        return
    base = pd.Timestamp("2026-01-05", tz="Asia/Ho_Chi_Minh")  # a Monday
    times = pd.Series([base + pd.Timedelta(minutes=m) for m in minutes]).dt.tz_convert("UTC")
    expected = []
    for m in minutes:
        hit = False
        for day in range(-1, 15):
            if weekday is not None and day % 7 != weekday:
                continue
            s0 = day * 1440 + start
            hit |= s0 <= m < s0 + length
        expected.append(hit)
    assert shift_mask(times, shift).tolist() == expected


def test_repeated_incident_ids_are_refused(hand_incidents, hand_boundaries) -> None:
    from ward_geo.errors import InputError

    inc = hand_incidents.copy()
    inc.loc[1, "incident_id"] = inc.loc[0, "incident_id"]
    with pytest.raises(InputError, match="t0"):
        shift_risk(inc, hand_boundaries, HAND_WARD, parse_shift("08:00", "16:00"), eps=40, min_samples=5)
