"""The map builders' options, inputs and ward names, on the real Hanoi wards."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ward_geo.errors import InputError, ParameterError
from ward_geo.maps import MapOptions, city_map, render_map_html, ward_map

STAMP = datetime(2026, 1, 5, 9, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


def test_options_object_draws_the_same_page_as_the_keywords(incidents, boundaries) -> None:
    sample = incidents.head(200)
    by_keywords = render_map_html(ward_map(sample, boundaries, "phuong-ba-dinh", lang="en", generated_at=STAMP))
    options = MapOptions(lang="en", generated_at=STAMP)
    by_options = render_map_html(ward_map(sample, boundaries, "phuong-ba-dinh", options=options))
    # Folium numbers its elements; the pages differ only in those ids.
    assert _without_ids(by_options) == _without_ids(by_keywords)
    assert "Legend" in by_options and "Chú giải" not in by_options
    # A keyword given alongside the object wins.
    vi = render_map_html(ward_map(sample, boundaries, "phuong-ba-dinh", options=options, lang="vi"))
    assert "Chú giải" in vi and "Legend" not in vi


def test_unknown_time_zone_is_a_parameter_error(incidents, boundaries) -> None:
    with pytest.raises(ParameterError, match="IANA") as caught:
        ward_map(incidents.head(10), boundaries, "phuong-ba-dinh", timezone="Mars/Olympus")
    assert caught.value.details.get("field") == "timezone"


def test_city_map_accepts_ward_names_like_ward_map(incidents, boundaries) -> None:
    html = render_map_html(city_map(incidents.head(200), boundaries, ward_ids=["Phường Ba Đình", "phuong-hoan-kiem"],
                                    generated_at=STAMP))
    assert html.count('"label":') >= 2
    assert "Phường Ba Đình" in html and "Phường Hoàn Kiếm" in html


def test_repeated_ward_ids_in_boundaries_are_named(incidents, boundaries) -> None:
    doubled = boundaries.iloc[[0, 0, 1]].reset_index(drop=True)
    ward = str(doubled["ward_id"].iloc[0])
    with pytest.raises(InputError, match=r"boundaries: .*field ward_id: ward ids repeat \(rows 0, 1\)"):
        ward_map(incidents.head(10), doubled, ward)


def _without_ids(html: str) -> str:
    import re

    return re.sub(r"_[0-9a-f]{32}", "_ID", html)
