"""Colours, line styles and words of the map pages.

Priority colours of hotspots, outline styles by trend, street widths by road class, unit
colours of patrol plans, category swatches, and the interface words in Vietnamese and
English. Nothing here touches data: the payloads and elements look their styles up here.
"""

from __future__ import annotations

from typing import Any

from ward_geo.analysis.trends import TREND_LABELS, trend_label
from ward_geo.categories import CATEGORIES
from ward_geo.errors import ParameterError
from ward_geo.maps.escaping import escape_html

__all__ = [
    "OSM_TILES",
    "PRIORITY_COLOURS",
    "TREND_STYLES",
    "DEFAULT_TREND_STYLE",
    "MAJOR_HIGHWAYS",
    "UNIT_COLOURS",
    "UNKNOWN_COLOUR",
    "UI",
    "ui_words",
    "trend_text",
    "category_entry",
    "trend_style",
]

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"

PRIORITY_COLOURS: dict[str, str] = {"high": "#d50000", "medium": "#ff6d00", "low": "#fdd835"}

#: Outline style of hotspot polygons by trend (Leaflet path options).
TREND_STYLES: dict[str, dict[str, Any]] = {
    "new": {"dashArray": "8 6", "weight": 3, "fillOpacity": 0.35},
    "emerging": {"dashArray": "8 6", "weight": 3, "fillOpacity": 0.35},
    "increasing": {"dashArray": None, "weight": 4.5, "fillOpacity": 0.4},
    "intensifying": {"dashArray": None, "weight": 4.5, "fillOpacity": 0.4},
    "persistent": {"dashArray": None, "weight": 2.5, "fillOpacity": 0.3},
    "stable": {"dashArray": None, "weight": 2.5, "fillOpacity": 0.3},
    "decreasing": {"dashArray": "2 6", "weight": 2.5, "fillOpacity": 0.15},
    "diminishing": {"dashArray": "2 6", "weight": 2.5, "fillOpacity": 0.15},
    "consecutive": {"dashArray": "12 4", "weight": 3.5, "fillOpacity": 0.35},
    "sporadic": {"dashArray": "1 5", "weight": 2, "fillOpacity": 0.2},
    "oscillating": {"dashArray": "6 3 1 3", "weight": 2, "fillOpacity": 0.2},
    "historical": {"dashArray": "1 8", "weight": 1.5, "fillOpacity": 0.05},
    "no_pattern": {"dashArray": None, "weight": 1.5, "fillOpacity": 0.2},
}
DEFAULT_TREND_STYLE: dict[str, Any] = {"dashArray": None, "weight": 2.5, "fillOpacity": 0.3}

MAJOR_HIGHWAYS = {
    "motorway": 3.5, "trunk": 3.5, "primary": 3.0, "secondary": 2.5, "tertiary": 2.0,
    "motorway_link": 2.0, "trunk_link": 2.0, "primary_link": 2.0, "secondary_link": 1.8, "tertiary_link": 1.6,
}
UNIT_COLOURS = ("#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#ad1457", "#4e342e", "#283593")

UI: dict[str, dict[str, str]] = {
    "vi": {
        "incidents": "Sự việc", "heatmap": "Bản đồ nhiệt", "hotspots": "Điểm nóng", "streets": "Đường phố",
        "wards": "Ranh giới phường", "patrol": "Kế hoạch tuần tra", "tiles": "Bản đồ nền",
        "legend": "Chú giải", "categories": "Loại sự việc", "priority": "Mức ưu tiên", "trend": "Xu hướng",
        "high": "Cao", "medium": "Trung bình", "low": "Thấp", "when": "Thời gian", "id": "Mã",
        "date_range": "Dữ liệu", "generated": "Tạo lúc", "n_incidents": "Số sự việc", "rank": "Hạng",
        "score": "Điểm có trọng số", "area": "Diện tích", "density": "Mật độ", "first_seen": "Lần đầu",
        "last_seen": "Lần cuối", "peak_hours": "Giờ cao điểm", "by_category": "Theo loại",
        "wards_in": "Phường", "accuracy": "Độ chính xác", "all": "Tất cả", "month": "Theo tháng",
        "week": "Theo tuần", "play": "Phát lại", "to": "đến", "unit": "Tổ", "arrival": "Đến lúc",
        "dwell": "Dừng", "minutes": "phút", "station": "Trụ sở", "station_text": "điểm xuất phát và kết thúc",
        "unreachable": "Không tới được", "stop": "Điểm dừng", "per_km2": "/km²", "none": "không có",
        "city": "Toàn thành phố", "ward_density": "Mật độ sự việc theo phường",
        "no_week": "sự việc chỉ biết tháng/năm: chỉ hiện ở “Tất cả”",
        "accuracy_text": "Vùng là bao lồi của các sự việc trong cụm; vị trí gốc có sai số của nguồn.",
        "exact_share": "có giờ chính xác", "params": "Tham số",
        "emerging": "Mới nổi", "increasing": "Tăng", "stable": "Ổn định", "decreasing": "Giảm",
        "unknown_trend": "chưa đánh giá",
    },
    "en": {
        "incidents": "Incidents", "heatmap": "Heatmap", "hotspots": "Hotspots", "streets": "Streets",
        "wards": "Ward boundaries", "patrol": "Patrol plan", "tiles": "Base map",
        "legend": "Legend", "categories": "Categories", "priority": "Priority", "trend": "Trend",
        "high": "High", "medium": "Medium", "low": "Low", "when": "When", "id": "ID",
        "date_range": "Data", "generated": "Generated", "n_incidents": "Incidents", "rank": "Rank",
        "score": "Weighted score", "area": "Area", "density": "Density", "first_seen": "First seen",
        "last_seen": "Last seen", "peak_hours": "Peak hours", "by_category": "By category",
        "wards_in": "Wards", "accuracy": "Accuracy", "all": "All", "month": "By month",
        "week": "By week", "play": "Replay", "to": "to", "unit": "Unit", "arrival": "Arrival",
        "dwell": "Dwell", "minutes": "min", "station": "Station", "station_text": "start and end of the shift",
        "unreachable": "Unreachable", "stop": "Stop", "per_km2": "/km²", "none": "none",
        "city": "City overview", "ward_density": "Incident density by ward",
        "no_week": "incidents known only to the month/year: shown under “All” only",
        "accuracy_text": (
            "The area is the convex hull of the cluster's incidents; source locations carry their own error."
        ),
        "exact_share": "with exact time", "params": "Parameters",
        "emerging": "Emerging", "increasing": "Increasing", "stable": "Stable", "decreasing": "Decreasing",
        "unknown_trend": "not evaluated",
    },
}


#: Colour of categories and priorities the map does not know.
UNKNOWN_COLOUR = "#757575"


def ui_words(lang: str) -> dict[str, str]:
    """The interface words of ``lang``.

    Parameters
    ----------
    lang : {"vi", "en"}
        Label language.

    Returns
    -------
    dict of str to str

    Raises
    ------
    ParameterError
        ``lang`` is neither ``"vi"`` nor ``"en"``.
    """
    if lang not in UI:
        raise ParameterError(f"lang must be 'vi' or 'en', got {lang!r}")
    return UI[lang]


def trend_text(trend: str, ui: dict[str, str]) -> str:
    """Label of a trend: the classes of :mod:`ward_geo.analysis.trends`, else the UI's words."""
    if trend in TREND_LABELS:
        return trend_label(trend, "en" if ui is UI["en"] else "vi")
    return ui.get(trend, trend)


def trend_style(trend: str | None, priority: str) -> dict[str, Any]:
    """Leaflet path options of a hotspot: outline by trend, colour by priority."""
    style = dict(TREND_STYLES.get(trend or "", DEFAULT_TREND_STYLE))
    colour = PRIORITY_COLOURS.get(priority, "#9e9e9e")
    style.update({"color": colour, "fillColor": colour, "opacity": 0.95})
    return style


def category_entry(code: str, lang: str, count: int) -> dict[str, Any]:
    """Legend and layer entry of one incident category (label escaped, colour, weight, count)."""
    cat = CATEGORIES.get(code)
    if cat is None:
        return {"code": escape_html(code), "label": escape_html(code), "colour": UNKNOWN_COLOUR, "weight": 1.0,
                "n": count}
    return {"code": cat.code, "label": escape_html(cat.label(lang)), "colour": cat.colour, "weight": cat.weight,
            "n": count}
