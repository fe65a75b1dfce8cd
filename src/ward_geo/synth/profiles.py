"""How each category is simulated: rates, where it happens, its hours, weekdays and life cycles.

Every category of :data:`ward_geo.categories.CATEGORY_CODES` has one :class:`CategorySpec`
(checked at import, so the taxonomy and the simulator stay in step). Hour-of-day and
day-of-week shapes are relative weights, normalised when used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ward_geo.categories import CATEGORY_CODES

__all__ = [
    "CENTRAL_WARD_IDS",
    "SYNTHETIC_SOURCE",
    "TIMEZONE",
    "REFERENCE_STREET_M",
    "HOURS",
    "WEEKDAYS",
    "CategorySpec",
    "SPECS",
    "SPEC_BY_CODE",
    "day_weights",
    "lifecycle",
    "cluster_kinds",
]

#: The demo wards: central Hanoi wards at least 75 % inside the street extract.
CENTRAL_WARD_IDS: tuple[str, ...] = (
    "phuong-hoan-kiem",
    "phuong-cua-nam",
    "phuong-van-mieu-quoc-tu-giam",
    "phuong-hai-ba-trung",
    "phuong-o-cho-dua",
    "phuong-dong-da",
    "phuong-ba-dinh",
)
#: The ``source`` of every simulated incident.
SYNTHETIC_SOURCE = "synthetic"
#: Zone of the simulated local times.
TIMEZONE = "Asia/Ho_Chi_Minh"
#: street length (m) of a typical central Hanoi ward in the extract (their mean is about 55 km)
REFERENCE_STREET_M = 55_000.0

#: hour-of-day shapes (0..23, local time); normalised when used
HOURS: dict[str, tuple[float, ...]] = {
    "rush": (0.15, 0.1, 0.1, 0.1, 0.15, 0.4, 1.2, 3.5, 4.0, 2.0, 1.2, 1.2,
             1.3, 1.1, 1.1, 1.3, 2.0, 4.0, 4.5, 2.2, 1.2, 0.9, 0.6, 0.3),
    "daytime": (0.02, 0.01, 0.01, 0.01, 0.02, 0.1, 0.5, 1.5, 2.5, 3.0, 3.0, 2.8,
                2.2, 2.2, 2.8, 3.0, 2.8, 2.5, 1.8, 1.0, 0.6, 0.3, 0.1, 0.05),
    "market": (0.05, 0.02, 0.02, 0.05, 0.5, 1.5, 3.0, 3.5, 3.0, 2.5, 2.2, 2.0,
               1.5, 1.5, 1.8, 2.2, 2.8, 3.0, 3.0, 2.5, 1.8, 1.0, 0.4, 0.1),
    "night": (3.5, 3.2, 2.6, 1.8, 0.9, 0.3, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05,
              0.1, 0.1, 0.1, 0.1, 0.15, 0.2, 0.4, 0.8, 1.5, 2.5, 3.2, 3.6),
    "theft": (0.3, 0.2, 0.1, 0.1, 0.1, 0.3, 0.8, 1.5, 1.8, 1.6, 1.5, 1.6,
              1.6, 1.4, 1.4, 1.6, 1.9, 2.4, 2.6, 2.4, 2.0, 1.5, 1.0, 0.6),
    "evening": (1.8, 1.3, 0.8, 0.4, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.2,
                0.3, 0.3, 0.3, 0.4, 0.5, 0.8, 1.4, 2.0, 2.6, 2.8, 2.6, 2.2),
    "burglary": (2.2, 2.8, 3.0, 2.6, 1.6, 0.6, 0.3, 0.3, 0.6, 1.0, 1.1, 1.1,
                 0.9, 0.9, 1.0, 0.9, 0.6, 0.4, 0.3, 0.3, 0.4, 0.6, 0.9, 1.5),
    "office": (0.0, 0.0, 0.0, 0.0, 0.0, 0.05, 0.3, 1.2, 2.5, 3.0, 3.0, 2.6,
               1.5, 1.8, 2.6, 2.6, 2.2, 1.4, 0.8, 0.4, 0.2, 0.1, 0.0, 0.0),
    "flat": (0.3, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 1.0, 1.2, 1.2, 1.2, 1.2,
             1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.1, 1.0, 0.8, 0.6, 0.4),
}
#: day-of-week shapes, Monday first
WEEKDAYS: dict[str, tuple[float, ...]] = {
    "workweek": (1.1, 1.05, 1.05, 1.05, 1.1, 0.9, 0.75),
    "weekend": (0.8, 0.8, 0.85, 0.9, 1.1, 1.35, 1.3),
    "flat": (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
}


@dataclass(frozen=True)
class CategorySpec:
    """How one category is simulated (rates are per ward of average street length per year)."""

    code: str
    per_ward: float
    cluster_share: float
    clusters_per_ward: int
    anchor: str  # intersection | activity | alley | bus_stop | residential
    snap: str  # edge class cluster points snap to
    background: str  # edge class of background noise
    sigma: tuple[float, float]  # cluster spread (m), drawn uniformly in this range
    hours: str
    weekdays: str
    severity: tuple[float, float, float, float, float]  # P(severity = 1..5)
    descriptions: tuple[str, ...]


SPECS: tuple[CategorySpec, ...] = (
    CategorySpec("traffic_accident", 210, 0.55, 3, "intersection", "busy", "busy", (8, 20), "rush", "workweek",
                 (0.35, 0.3, 0.2, 0.1, 0.05),
                 ("Va chạm giữa xe máy và ô tô tại nút giao", "Tai nạn xe máy tại ngã tư giờ cao điểm",
                  "Xe máy va chạm người đi bộ khi sang đường", "Va chạm liên hoàn giữa nhiều xe máy",
                  "Ô tô rẽ trái va chạm xe máy đi thẳng")),
    CategorySpec("traffic_violation", 420, 0.45, 2, "intersection", "busy", "busy", (10, 30), "rush", "workweek",
                 (0.6, 0.3, 0.1, 0.0, 0.0),
                 ("Vượt đèn đỏ tại nút giao", "Đi ngược chiều trên phố một chiều", "Không đội mũ bảo hiểm",
                  "Chở hàng cồng kềnh", "Dừng xe sai quy định tại nút giao")),
    CategorySpec("parking_violation", 480, 0.55, 2, "activity", "street", "street", (40, 90), "daytime", "workweek",
                 (0.7, 0.25, 0.05, 0.0, 0.0),
                 ("Ô tô đỗ dưới lòng đường sai quy định", "Trông giữ xe trái phép trên vỉa hè",
                  "Đỗ xe máy tràn ra lòng đường trước chợ", "Ô tô đỗ chắn lối ra vào ngõ")),
    CategorySpec("sidewalk_encroachment", 420, 0.55, 2, "activity", "street", "street", (30, 80), "market", "flat",
                 (0.7, 0.25, 0.05, 0.0, 0.0),
                 ("Buôn bán hàng rong lấn chiếm vỉa hè", "Quán ăn bày bàn ghế ra vỉa hè",
                  "Cửa hàng bày hàng hóa lấn chiếm lòng đường", "Dựng mái che, biển quảng cáo trái phép trên vỉa hè")),
    CategorySpec("theft", 350, 0.5, 2, "bus_stop", "street", "street", (20, 45), "theft", "flat",
                 (0.3, 0.4, 0.2, 0.1, 0.0),
                 ("Móc túi tại điểm chờ xe buýt", "Trộm cắp điện thoại di động của hành khách",
                  "Mất trộm xe máy dựng trước cửa hàng", "Trộm ví của khách đi chợ")),
    CategorySpec("robbery", 70, 0.45, 1, "bus_stop", "street", "busy", (25, 50), "evening", "flat",
                 (0.0, 0.2, 0.4, 0.3, 0.1),
                 ("Cướp giật túi xách của người đi bộ", "Cướp giật điện thoại gần điểm dừng xe buýt",
                  "Đi xe máy áp sát cướp giật dây chuyền")),
    CategorySpec("burglary", 85, 0.35, 1, "residential", "residential", "residential", (25, 60), "burglary", "flat",
                 (0.1, 0.4, 0.3, 0.2, 0.0),
                 ("Trộm đột nhập nhà dân lấy tài sản", "Cạy cửa cuốn đột nhập cửa hàng",
                  "Đột nhập phòng trọ lấy trộm xe máy")),
    CategorySpec("assault", 70, 0.4, 1, "activity", "street", "any", (20, 50), "evening", "weekend",
                 (0.0, 0.3, 0.4, 0.2, 0.1),
                 ("Xô xát, đánh nhau sau khi uống rượu bia", "Hành hung người do mâu thuẫn giao thông",
                  "Cố ý gây thương tích trong lúc cãi vã")),
    CategorySpec("drugs", 170, 0.65, 2, "alley", "alley", "alley", (12, 30), "night", "flat",
                 (0.0, 0.2, 0.4, 0.3, 0.1),
                 ("Điểm tụ tập sử dụng ma túy trong ngõ", "Nghi vấn mua bán ma túy tại đầu ngách",
                  "Phát hiện bơm kim tiêm vứt trong ngõ", "Đối tượng nghiện tụ tập ban đêm")),
    CategorySpec("illegal_lending", 30, 0.3, 1, "residential", "residential", "residential", (30, 70), "office",
                 "workweek",
                 (0.2, 0.4, 0.3, 0.1, 0.0),
                 ("Dán tờ rơi quảng cáo cho vay tiền nhanh", "Đòi nợ, khủng bố tinh thần người vay tín dụng đen",
                  "Ném chất bẩn vào nhà người vay nợ")),
    CategorySpec("public_order", 170, 0.45, 1, "activity", "street", "any", (30, 70), "evening", "weekend",
                 (0.5, 0.35, 0.15, 0.0, 0.0),
                 ("Tụ tập gây ồn ào đêm khuya", "Đánh bạc tại quán nước vỉa hè", "Nẹt pô, lạng lách trên phố",
                  "Hát karaoke gây ồn ào quá giờ quy định")),
    CategorySpec("fire_hazard", 40, 0.0, 0, "residential", "residential", "residential", (30, 60), "office", "workweek",
                 (0.2, 0.3, 0.3, 0.15, 0.05),
                 ("Cơ sở kinh doanh không đảm bảo phòng cháy chữa cháy", "Chập điện tại cột điện trong ngõ",
                  "Tàng trữ xăng dầu trong nhà ở", "Dây điện câu móc lộn xộn nguy cơ cháy")),
    CategorySpec("other", 70, 0.0, 0, "activity", "any", "any", (30, 60), "flat", "flat",
                 (0.6, 0.3, 0.1, 0.0, 0.0),
                 ("Tin báo khác của người dân", "Phản ánh vật nuôi thả rông", "Phản ánh rác thải đổ trộm ra đường")),
)
SPEC_BY_CODE = {s.code: s for s in SPECS}



def _check_categories() -> None:
    missing = set(CATEGORY_CODES) - set(SPEC_BY_CODE)
    unknown = set(SPEC_BY_CODE) - set(CATEGORY_CODES)
    if missing or unknown:  # pragma: no cover - guards the taxonomy staying in step
        raise RuntimeError(f"synth specs out of step with categories: missing {missing}, unknown {unknown}")


_check_categories()


def day_weights(n_days: int, first_dow: int, weekdays: str) -> NDArray[np.float64]:
    """Weight of each of ``n_days`` days from a day of week ``first_dow`` (0 Monday) by a ``weekdays`` shape."""
    dow = (first_dow + np.arange(n_days)) % 7
    return np.asarray(WEEKDAYS[weekdays])[dow]


def lifecycle(kind: str, n_days: int, rng: np.random.Generator) -> tuple[NDArray[np.float64], int, int]:
    """Activity (0..1) per day for a cluster and its active day range [from, until)."""
    days = np.arange(n_days, dtype=float)
    ramp = max(7.0, min(30.0, n_days / 10))
    if kind == "emerging":
        begin = int(n_days * rng.uniform(0.35, 0.6))
        act = np.clip((days - begin) / ramp, 0.0, 1.0)
        return act, begin, n_days
    if kind == "fading":
        stop = int(n_days * rng.uniform(0.4, 0.65))
        act = np.clip((stop - days) / ramp, 0.0, 1.0)
        return act, 0, stop
    return np.ones(n_days), 0, n_days


def cluster_kinds(k: int, rng: np.random.Generator) -> list[str]:
    """Life cycles of ``k`` clusters in random order: about a fifth emerging, a fifth fading (from 3 on)."""
    if k <= 0:
        return []
    n_emerging = max(1, round(0.2 * k)) if k >= 3 else 0
    n_fading = max(1, round(0.2 * k)) if k >= 3 else 0
    kinds = ["emerging"] * n_emerging + ["fading"] * n_fading
    kinds += ["persistent"] * (k - len(kinds))
    rng.shuffle(kinds)
    return kinds

