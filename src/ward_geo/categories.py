"""The incident taxonomy: categories, labels, colours, weights and external vocabularies.

Every incident has one ``category`` code from :data:`CATEGORIES`. Each category carries a
Vietnamese label (the default on maps), an English label, a colour for maps and a default
weight used for severity-weighted hotspot scores and patrol risk.

External vocabularies (police.uk crime types, US offence names such as "personal robbery"
or "BURGLARY", Vietnamese terms) are mapped by :func:`map_category`, which compares
case- and accent-insensitively. Values that map to nothing return ``None`` so the caller
can report them; nothing is silently dropped or guessed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "Category",
    "CATEGORIES",
    "CATEGORY_CODES",
    "EXTERNAL_VOCABULARY",
    "normalize_term",
    "map_category",
    "map_categories",
    "category_label",
    "category_weight",
    "category_colour",
]


@dataclass(frozen=True)
class Category:
    """One incident category.

    Attributes
    ----------
    code : str
        Stable machine code (``snake_case`` ASCII).
    label_vi, label_en : str
        Human labels in Vietnamese and English.
    colour : str
        Hex colour used on maps.
    weight : float
        Default weight in severity-weighted scores (1.0 = an ordinary incident).
    """

    code: str
    label_vi: str
    label_en: str
    colour: str
    weight: float

    def label(self, lang: str = "vi") -> str:
        """Label in ``lang`` (``"vi"`` or ``"en"``)."""
        return self.label_en if lang == "en" else self.label_vi


_CATEGORY_LIST: tuple[Category, ...] = (
    Category("drugs", "Ma túy (điểm bán, sử dụng)", "Drugs (dealing / use points)", "#7b1fa2", 3.0),
    Category("traffic_accident", "Tai nạn giao thông", "Traffic accident", "#d32f2f", 2.5),
    Category("traffic_violation", "Vi phạm giao thông", "Traffic violation", "#f57c00", 1.0),
    Category("parking_violation", "Đỗ xe sai quy định", "Parking violation", "#fbc02d", 0.5),
    Category("sidewalk_encroachment", "Lấn chiếm vỉa hè", "Sidewalk encroachment", "#8d6e63", 0.5),
    Category("theft", "Trộm cắp tài sản", "Theft", "#1976d2", 1.5),
    Category("robbery", "Cướp, cướp giật tài sản", "Robbery", "#c2185b", 3.0),
    Category("burglary", "Trộm đột nhập nhà", "Burglary", "#303f9f", 2.0),
    Category("assault", "Cố ý gây thương tích, hành hung", "Assault", "#b71c1c", 3.0),
    Category("illegal_lending", "Tín dụng đen", "Illegal lending (loan sharking)", "#455a64", 2.0),
    Category("public_order", "Gây rối trật tự công cộng", "Public order", "#00897b", 1.0),
    Category("fire_hazard", "Nguy cơ cháy nổ", "Fire hazard", "#e65100", 2.0),
    Category("other", "Khác", "Other", "#757575", 1.0),
)

#: All categories by code, in display order.
CATEGORIES: dict[str, Category] = {c.code: c for c in _CATEGORY_LIST}
#: The category codes, in display order.
CATEGORY_CODES: tuple[str, ...] = tuple(CATEGORIES)


def normalize_term(value: object) -> str:
    """Fold a vocabulary term for comparison: accents removed, lower case, words only.

    ``đ`` becomes ``d``; punctuation and repeated spaces collapse to one space.

    >>> normalize_term("  Trộm cắp  Tài-sản ")
    'trom cap tai san'
    """
    text = unicodedata.normalize("NFKD", str(value)).replace("đ", "d").replace("Đ", "D")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", " ", text.lower()).strip()


_VOCABULARY_SOURCE: dict[str, tuple[str, ...]] = {
    "drugs": (
        "drugs", "drug", "narcotics", "drug offence", "drug offense", "drug abuse violations",
        "drug/narcotic", "drug narcotic violations", "opioid", "opioid call", "overdose",
        "narcan", "ma tuy", "diem ma tuy", "ban ma tuy", "su dung ma tuy", "tang tru ma tuy",
    ),
    "traffic_accident": (
        "traffic accident", "traffic collision", "collision", "road traffic collision",
        "crash", "vehicle accident", "accident", "dui collision", "tai nan giao thong", "tai nan",
        "va cham giao thong",
    ),
    "traffic_violation": (
        "traffic violation", "traffic offence", "traffic offense", "speeding", "dui",
        "driving under the influence", "vi pham giao thong", "vuot den do", "di nguoc chieu",
    ),
    "parking_violation": (
        "parking violation", "illegal parking", "parking", "parking offence",
        "do xe sai quy dinh", "do xe trai phep", "trong giu xe trai phep", "do xe",
    ),
    "sidewalk_encroachment": (
        "sidewalk encroachment", "pavement obstruction", "street vending", "obstruction",
        "lan chiem via he", "lan chiem long duong", "via he", "buon ban via he",
    ),
    "theft": (
        "theft", "larceny", "other theft", "bicycle theft", "shoplifting", "theft from the person",
        "vehicle crime", "motor vehicle theft", "theft from vehicle", "pickpocketing",
        "larceny theft", "stolen property", "trom cap", "trom cap tai san", "trom xe may",
        "moc tui",
    ),
    "robbery": (
        "robbery", "personal robbery", "commercial robbery", "armed robbery", "street robbery",
        "cuop", "cuop tai san", "cuop giat", "cuop giat tai san",
    ),
    "burglary": (
        "burglary", "aggravated burglary", "residential burglary", "commercial burglary",
        "breaking and entering", "burglary breaking entering", "trom dot nhap", "dot nhap",
    ),
    "assault": (
        "assault", "aggravated assault", "simple assault", "violence and sexual offences",
        "violent crime", "violence", "battery", "homicide", "sexual offences",
        "co y gay thuong tich", "hanh hung", "gay thuong tich", "danh nhau",
    ),
    "illegal_lending": (
        "illegal lending", "loan sharking", "usury", "tin dung den", "cho vay nang lai",
    ),
    "public_order": (
        "public order", "anti social behaviour", "anti social behavior", "antisocial behaviour",
        "disorderly conduct", "criminal damage and arson", "criminal damage", "vandalism",
        "possession of weapons", "weapons", "noise", "gambling", "gay roi trat tu cong cong",
        "gay roi", "danh bac", "tu tap gay roi",
    ),
    "fire_hazard": (
        "fire hazard", "fire", "arson", "fire risk", "nguy co chay no", "chay no", "chay",
    ),
    "other": ("other", "other crime", "other offences", "misc", "miscellaneous", "khac"),
}

#: Normalised external term -> category code. Category codes and both labels map too.
EXTERNAL_VOCABULARY: dict[str, str] = {}
for _code, _terms in _VOCABULARY_SOURCE.items():
    _cat = CATEGORIES[_code]
    for _term in (*_terms, _code, _code.replace("_", " "), _cat.label_en, _cat.label_vi):
        _key = normalize_term(_term)
        if _key in EXTERNAL_VOCABULARY and EXTERNAL_VOCABULARY[_key] != _code:
            raise RuntimeError(f"vocabulary term {_term!r} maps to two categories")
        EXTERNAL_VOCABULARY[_key] = _code


def map_category(value: object, extra: Mapping[str, str] | None = None) -> str | None:
    """Map an external category name to a category code, or ``None`` when unknown.

    Parameters
    ----------
    value : object
        The raw category value ("BURGLARY", "Anti-social behaviour", "ma túy", ...).
    extra : mapping, optional
        Additional ``{term: code}`` pairs that take precedence (terms normalised too).

    Returns
    -------
    str or None
        The category code, or ``None`` if the value is empty or unmapped.
    """
    if value is None:
        return None
    key = normalize_term(value)
    if not key:
        return None
    if extra:
        for term, code in extra.items():
            if normalize_term(term) == key:
                if code not in CATEGORIES:
                    from ward_geo.errors import ParameterError

                    raise ParameterError(f"category mapping {term!r} -> {code!r}: unknown category code")
                return code
    return EXTERNAL_VOCABULARY.get(key)


def map_categories(values: Iterable[object], extra: Mapping[str, str] | None = None) -> list[str | None]:
    """Vectorised :func:`map_category` (each distinct value is folded once)."""
    cache: dict[object, str | None] = {}
    out: list[str | None] = []
    for v in values:
        if v not in cache:
            cache[v] = map_category(v, extra)
        out.append(cache[v])
    return out


def category_label(code: str, lang: str = "vi") -> str:
    """Label of a category code in ``lang``; unknown codes are returned unchanged."""
    cat = CATEGORIES.get(code)
    return cat.label(lang) if cat else str(code)


def category_weight(code: str) -> float:
    """Default weight of a category code (1.0 for unknown codes)."""
    cat = CATEGORIES.get(code)
    return cat.weight if cat else 1.0


def category_colour(code: str) -> str:
    """Map colour of a category code (grey for unknown codes)."""
    cat = CATEGORIES.get(code)
    return cat.colour if cat else "#757575"
