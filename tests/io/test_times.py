"""Timestamp parsing: forms, precision, zones, bad values."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ward_geo.io.times import parse_times

NOW = pd.Timestamp("2025-06-15T12:00:00Z")
HCM = "Asia/Ho_Chi_Minh"


@pytest.mark.parametrize(
    ("text", "expected", "precision"),
    [
        ("2016-07", "2016-07-01T00:00:00+07:00", "month"),
        ("2016/07", "2016-07-01T00:00:00+07:00", "month"),
        ("2017-01-03", "2017-01-03T00:00:00+07:00", "day"),
        ("2019-01-01T19:50:00Z", "2019-01-01T19:50:00Z", "exact"),
        ("2025-03-01 14:30", "2025-03-01T14:30:00+07:00", "exact"),
        ("2025-03-01T14:30:00+02:00", "2025-03-01T12:30:00Z", "exact"),
        ("01/03/2025", "2025-03-01T00:00:00+07:00", "day"),
        ("01/03/2025 14:30", "2025-03-01T14:30:00+07:00", "exact"),
        ("2024", "2024-01-01T00:00:00+07:00", "year"),
    ],
)
def test_forms_and_precision(text, expected, precision):
    parsed = parse_times(pd.Series([text], dtype="str"), HCM, now=NOW)
    assert parsed.reason.tolist() == [None]
    assert parsed.values.iloc[0] == pd.Timestamp(expected)
    assert parsed.precision.tolist() == [precision]


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "missing"), (None, "missing"), ("2025-13-01", "unparseable"), ("soon", "unparseable"),
     ("2025-06-16", "in the future"), ("1800-01-01", "before 1900"), ("9999-12-31T00:00:00", "in the future")],
)
def test_bad_values(text, reason):
    parsed = parse_times(pd.Series([text], dtype=object), HCM, now=NOW)
    assert parsed.reason.tolist() == [reason]
    assert parsed.values.isna().all() and parsed.precision.tolist() == [None]


def test_nonexistent_local_time_is_reported():
    parsed = parse_times(pd.Series(["2025-03-30 02:30"], dtype="str"), "Europe/Berlin", now=NOW)
    assert parsed.reason.tolist() == ["nonexistent or ambiguous local time in Europe/Berlin"]


def test_datetime_columns():
    aware = pd.Series(pd.to_datetime(["2020-01-01 00:20", None]).tz_localize("UTC"))
    parsed = parse_times(aware, HCM, now=NOW)
    assert parsed.values.iloc[0] == pd.Timestamp("2020-01-01T00:20Z") and parsed.reason.tolist() == [None, "missing"]
    naive = pd.Series(pd.to_datetime(["2020-01-01 07:20"]))
    assert parse_times(naive, HCM, now=NOW).values.iloc[0] == pd.Timestamp("2020-01-01T00:20Z")


@settings(deadline=None)
@given(st.datetimes(min_value=pd.Timestamp("1900-01-02").to_pydatetime(),
                    max_value=pd.Timestamp("2025-06-01").to_pydatetime()))
def test_iso_naive_round_trip(moment):
    moment = moment.replace(microsecond=0)
    parsed = parse_times(pd.Series([moment.isoformat()], dtype="str"), "UTC", now=NOW)
    assert parsed.values.iloc[0] == pd.Timestamp(moment, tz="UTC")
