import pytest

from ward_geo.categories import (
    CATEGORIES,
    CATEGORY_CODES,
    category_colour,
    category_label,
    category_weight,
    map_categories,
    map_category,
    normalize_term,
)
from ward_geo.errors import ParameterError

REQUIRED = {
    "drugs", "traffic_accident", "traffic_violation", "parking_violation", "sidewalk_encroachment",
    "theft", "robbery", "burglary", "assault", "illegal_lending", "public_order", "fire_hazard", "other",
}

POLICE_UK_TYPES = {
    "Anti-social behaviour": "public_order",
    "Bicycle theft": "theft",
    "Burglary": "burglary",
    "Criminal damage and arson": "public_order",
    "Drugs": "drugs",
    "Other crime": "other",
    "Other theft": "theft",
    "Possession of weapons": "public_order",
    "Public order": "public_order",
    "Robbery": "robbery",
    "Shoplifting": "theft",
    "Theft from the person": "theft",
    "Vehicle crime": "theft",
    "Violence and sexual offences": "assault",
}


def test_required_categories_have_labels_colours_weights():
    assert REQUIRED <= set(CATEGORY_CODES)
    for cat in CATEGORIES.values():
        assert cat.label_vi and cat.label_en
        assert cat.colour.startswith("#") and len(cat.colour) == 7
        assert cat.weight > 0


def test_vietnamese_labels_are_vietnamese():
    assert category_label("drugs").startswith("Ma túy")
    assert category_label("illegal_lending") == "Tín dụng đen"
    assert category_label("drugs", "en").startswith("Drugs")


@pytest.mark.parametrize(("raw", "code"), sorted(POLICE_UK_TYPES.items()))
def test_every_police_uk_crime_type_maps(raw, code):
    assert map_category(raw) == code


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("personal robbery", "robbery"),
        ("BURGLARY", "burglary"),
        ("AGGRAVATED BURGLARY", "burglary"),
        ("ma túy", "drugs"),
        ("MA TUY", "drugs"),
        ("Ma Tu\u0300y", "drugs"),  # accents are folded: a decomposed or different accent still maps
        ("tín dụng đen", "illegal_lending"),
        ("TIN DUNG DEN", "illegal_lending"),
        ("  Tai nạn   giao-thông ", "traffic_accident"),
        ("lấn chiếm vỉa hè", "sidewalk_encroachment"),
        ("traffic_accident", "traffic_accident"),
        ("Unicorn sighting", None),
        ("", None),
        (None, None),
    ],
)
def test_map_category_is_case_and_accent_insensitive(raw, code):
    assert map_category(raw) == code


def test_extra_mapping_takes_precedence_and_is_checked():
    assert map_category("Xe dù", {"xe du": "traffic_violation"}) == "traffic_violation"
    with pytest.raises(ParameterError, match="unknown category code"):
        map_category("x", {"x": "not_a_code"})


def test_map_categories_vectorised_and_reports_none_for_unknown():
    assert map_categories(["Drugs", "zzz", "Drugs"]) == ["drugs", None, "drugs"]


def test_normalize_term_folds_vietnamese():
    assert normalize_term("Đỗ xe SAI quy-định!") == "do xe sai quy dinh"


def test_unknown_code_defaults():
    assert category_weight("nope") == 1.0
    assert category_colour("nope") == "#757575"
    assert category_label("nope") == "nope"
