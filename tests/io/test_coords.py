"""Property-based tests of coordinate parsing and the latitude/longitude swap detector."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ward_geo.io import coords as C

HANOI_EXTENT = (105.2889615, 20.5645154, 106.0200725, 21.3854176)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
lons = st.floats(min_value=-180, max_value=180, allow_nan=False)
lats = st.floats(min_value=-90, max_value=90, allow_nan=False)


@settings(deadline=None)
@given(finite)
def test_repr_of_a_float_parses_back_exactly(value):
    got, status = C.parse_coordinate(repr(value))
    assert status == "ok"
    assert got == value


@settings(deadline=None)
@given(finite, st.sampled_from(["", " ", "  \t"]))
def test_surrounding_spaces_are_ignored(value, pad):
    assert C.parse_coordinate(f"{pad}{value!r}{pad}") == (value, "ok")


@settings(deadline=None)
@given(st.integers(-180, 180), st.text(alphabet="0123456789", min_size=1, max_size=9))
def test_decimal_comma_reads_as_point(whole, decimals):
    text = f"{whole},{decimals}"
    got, status = C.parse_coordinate(text)
    assert status == "comma_decimal"
    assert got == float(f"{whole}.{decimals}")


@settings(deadline=None)
@given(st.text(max_size=20))
def test_any_text_gives_a_status_and_never_raises(text):
    got, status = C.parse_coordinate(text)
    assert status in C.STATUS_NAMES.values()
    if status in ("ok", "comma_decimal"):
        assert math.isfinite(got)
    elif status == "non_finite":
        assert math.isinf(got)
    else:
        assert math.isnan(got)


@settings(deadline=None, max_examples=40)
@given(st.lists(st.one_of(finite.map(repr), st.just(""), st.just("nan"), st.just("inf"), st.text(max_size=5),
                          finite, st.none()), max_size=30))
def test_vector_parse_matches_scalar_parse(values):
    parsed = C.parse_coordinates(pd.Series(values, dtype=object))
    for i, v in enumerate(values):
        got, status = C.parse_coordinate(v)
        assert C.STATUS_NAMES[int(parsed.status[i])] == status
        assert (math.isnan(got) and math.isnan(parsed.values[i])) or got == parsed.values[i]


def test_numeric_columns_fast_path():
    parsed = C.parse_coordinates(pd.Series([1.5, np.nan, np.inf, -2.0]))
    assert parsed.status.tolist() == [C.OK, C.MISSING, C.NON_FINITE, C.OK]


# ------------------------------------------------------------------ swap detector
inside_hanoi = st.tuples(
    st.floats(HANOI_EXTENT[0], HANOI_EXTENT[2]), st.floats(HANOI_EXTENT[1], HANOI_EXTENT[3])
)


@settings(deadline=None)
@given(st.lists(inside_hanoi, min_size=1, max_size=20), st.data())
def test_swapped_points_inside_the_extent_are_found_and_restored(points, data):
    lon = np.array([p[0] for p in points])
    lat = np.array([p[1] for p in points])
    flip = np.array(data.draw(st.lists(st.booleans(), min_size=len(points), max_size=len(points))))
    given_lon = np.where(flip, lat, lon)
    given_lat = np.where(flip, lon, lat)
    swap, ambiguous = C.detect_swaps(given_lon, given_lat, HANOI_EXTENT)
    assert swap.tolist() == flip.tolist()
    assert not ambiguous.any()
    fixed_lon = np.where(swap, given_lat, given_lon)
    fixed_lat = np.where(swap, given_lon, given_lat)
    assert fixed_lon.tolist() == lon.tolist() and fixed_lat.tolist() == lat.tolist()


@settings(deadline=None)
@given(lons, lats)
def test_points_that_fit_the_extent_or_nothing_are_never_swapped(lon, lat):
    box = C.expand_extent(HANOI_EXTENT, 0.5)
    swapped_fits = box[0] <= lat <= box[2] and box[1] <= lon <= box[3]
    assume(not swapped_fits)
    swap, _ = C.detect_swaps(np.array([lon]), np.array([lat]), HANOI_EXTENT)
    assert not swap[0]


@settings(deadline=None)
@given(lons, lats)
def test_without_extent_valid_points_are_left_alone(lon, lat):
    swap, ambiguous = C.detect_swaps(np.array([lon]), np.array([lat]))
    assert not swap[0] and not ambiguous[0]


@settings(deadline=None)
@given(st.floats(-90, 90), st.floats(90, 180, exclude_min=True).flatmap(lambda v: st.sampled_from([v, -v])))
def test_without_extent_an_impossible_latitude_is_swapped_into_range(lon, lat):
    swap, _ = C.detect_swaps(np.array([lon]), np.array([lat]))
    assert swap[0]
    lon_bad, lat_bad = C.out_of_range(np.array([lat]), np.array([lon]))
    assert not lon_bad[0] and not lat_bad[0]


@settings(deadline=None)
@given(st.floats(1000, 1e7), st.floats(1000, 1e7))
def test_metres_look_projected_and_are_never_swapped(x, y):
    assert C.looks_projected(np.array([x]), np.array([y]))[0]
    assert not C.detect_swaps(np.array([x]), np.array([y]), HANOI_EXTENT)[0][0]


@settings(max_examples=50, deadline=None)
@given(lons, lats)
def test_degrees_never_look_projected(lon, lat):
    assert not C.looks_projected(np.array([lon]), np.array([lat]))[0]
