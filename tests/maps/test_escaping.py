"""Escaping helpers: HTML text and JSON inside <script>."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ward_geo.maps.escaping import escape_html, json_safe, script_json

from ._maps_data import XSS_PAYLOADS


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_escape_html_leaves_no_markup(payload: str) -> None:
    out = escape_html(payload)
    assert "<" not in out and ">" not in out and "`" not in out and '"' not in out and "'" not in out


def test_escape_html_values() -> None:
    assert escape_html(None) == ""
    assert escape_html(float("nan")) == ""
    assert escape_html("Phường Hoàn Kiếm") == "Phường Hoàn Kiếm"
    assert escape_html("a & b") == "a &amp; b"
    assert escape_html(3) == "3"


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_script_json_cannot_close_script(payload: str) -> None:
    text = script_json({"d": payload, "list": [payload]})
    for forbidden in ("<", ">", "&", "\u2028", "\u2029"):
        assert forbidden not in text
    assert json.loads(text) == {"d": payload, "list": [payload]}


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=5), c, max_size=4),
                    max_leaves=20))
def test_script_json_round_trips(value: object) -> None:
    text = script_json(value)
    assert "</" not in text.lower() and "\u2028" not in text
    assert json.loads(text) == value


def test_json_safe_numpy_and_nan() -> None:
    value = {"a": np.int64(3), "b": np.array([1.5, math.nan]), "c": (1, 2), "d": float("inf")}
    assert json_safe(value) == {"a": 3, "b": [1.5, None], "c": [1, 2], "d": None}
    assert script_json(value) == '{"a":3,"b":[1.5,null],"c":[1,2],"d":null}'
