"""The risk of one shift: which incidents count, how much, and where they cluster.

A shift is a span of local clock time (``08:00``-``16:00``, or ``22:00``-``06:00`` across
midnight) on a calendar date, optionally restricted to one weekday. Its risk comes from the
incidents that happened in the same hours of day (and on the same weekday, when asked):

* only incidents with an exact time count (``time_precision == "exact"``); the others are
  counted in :attr:`ShiftRisk.excluded_imprecise`, never silently dropped;
* an incident after midnight in a night shift belongs to the shift that started the evening
  before (so a Friday 22:00-06:00 shift includes Saturday 02:00);
* each incident weighs ``category_weight(category) x severity (1 when missing) x
  0.5 ** (age_days / half_life_days)``: exponential recency decay with a half-life of
  :data:`DEFAULT_HALF_LIFE_DAYS` days by default, the age measured from the shift's start.

Hotspots of those incidents come from :func:`ward_geo.analysis.hotspots.find_hotspots` (DBSCAN at
patrol scale by default: ``eps`` 100 m, ``min_samples`` three times the ward's average density);
each hotspot's risk is the summed weight of its member incidents, its centre is the
weight-averaged position of its members (the centre of mass), and its trend is the
emerging-hotspot class of :func:`ward_geo.analysis.trends.classify_trends` over monthly slices
of the shift-hour incidents (new, intensifying, persistent, …). Priority by rank of risk: the top
third ``high``, the next third ``medium``, the rest ``low`` (it sets the revisit spacing).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd

from ward_geo.categories import category_weight
from ward_geo.errors import InputError, NotFoundError, ParameterError
from ward_geo.schema import WGS84

__all__ = [
    "DEFAULT_HALF_LIFE_DAYS",
    "WEEKDAYS",
    "Shift",
    "ShiftRisk",
    "parse_shift",
    "parse_weekday",
    "shift_mask",
    "incident_weights",
    "shift_risk",
    "shift_incidents",
    "ward_geometry",
    "ward_area_m2",
    "patrol_min_samples",
    "DEFAULT_HOTSPOT_EPS_M",
]

#: Neighbourhood radius of the shift's hotspots (metres): about what a patrol at a stop oversees.
DEFAULT_HOTSPOT_EPS_M = 100.0
#: A hotspot's core is this many times denser than the ward's average for the shift.
DENSITY_FACTOR = 3.0
#: Half-life of the recency weight: an incident this many days old counts half as much.
DEFAULT_HALF_LIFE_DAYS = 90.0
#: Weekday names (Monday = 0), English and Vietnamese (``thu 2`` ... ``chu nhat``).
WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_ALIASES: dict[str, int] = {
    **{name: i for i, name in enumerate(WEEKDAYS)},
    **{name[:3]: i for i, name in enumerate(WEEKDAYS)},
    **{f"thu {i + 2}": i for i in range(6)},
    **{f"t{i + 2}": i for i in range(6)},
    "chu nhat": 6,
    "cn": 6,
}


def _parse_clock(value: str | dt.time, name: str) -> dt.time:
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(value))
    if not match or int(match.group(1)) > 24 or int(match.group(2)) > 59:
        raise ParameterError(f"{name} must be a clock time HH:MM (00:00-23:59); got {value!r}")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour == 24:
        if minute:
            raise ParameterError(f"{name} must be a clock time HH:MM (00:00-23:59); got {value!r}")
        hour = 0
    return dt.time(hour, minute)


def parse_weekday(value: int | str) -> int:
    """Weekday number (Monday = 0) from a number 0-6 or a name (``"fri"``, ``"Friday"``, ``"thứ 6"``)."""
    from ward_geo.categories import normalize_term

    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        if 0 <= int(value) <= 6:
            return int(value)
    elif isinstance(value, str):
        key = normalize_term(value)
        if key.isdigit() and 0 <= int(key) <= 6:
            return int(key)
        if key in _WEEKDAY_ALIASES:
            return _WEEKDAY_ALIASES[key]
    raise ParameterError(
        f"weekday must be 0-6 (Monday = 0) or a day name such as 'friday' or 'thu 6'; got {value!r}"
    )


@dataclass(frozen=True)
class Shift:
    """A patrol shift in local time.

    Attributes
    ----------
    start, end : datetime.time
        Local clock times; ``end <= start`` means the shift ends the next day.
    date : datetime.date
        The calendar date the shift starts on.
    weekday : int or None
        Restrict the risk to incidents on this weekday (Monday = 0), or ``None`` for every day.
    timezone : str
        IANA time zone of the clock times.
    """

    start: dt.time
    end: dt.time
    date: dt.date
    weekday: int | None
    timezone: str

    @property
    def start_minute(self) -> int:
        """Minute of the day the shift starts."""
        return self.start.hour * 60 + self.start.minute

    @property
    def end_minute(self) -> int:
        """Minute of the day the shift ends."""
        return self.end.hour * 60 + self.end.minute

    @property
    def crosses_midnight(self) -> bool:
        """Whether the shift ends on the next day."""
        return self.end_minute <= self.start_minute

    @property
    def minutes(self) -> int:
        """Length of the shift in minutes."""
        return (self.end_minute - self.start_minute) % 1440 or 1440

    @property
    def start_datetime(self) -> dt.datetime:
        """Local date-time of the start."""
        return dt.datetime.combine(self.date, self.start, tzinfo=ZoneInfo(self.timezone))

    @property
    def end_datetime(self) -> dt.datetime:
        """Local date-time of the end."""
        return self.start_datetime + dt.timedelta(minutes=self.minutes)

    def at(self, seconds: float) -> dt.datetime:
        """Local date-time ``seconds`` after the shift's start."""
        return self.start_datetime + dt.timedelta(seconds=float(seconds))

    def label(self) -> str:
        """Short human-readable description (``08:00-16:00 on 2026-01-09``)."""
        day = f", {WEEKDAYS[self.weekday]}s" if self.weekday is not None else ""
        return f"{self.start:%H:%M}-{self.end:%H:%M} on {self.date.isoformat()}{day}"

    def to_dict(self) -> dict[str, Any]:
        """The shift as JSON-ready values."""
        return {
            "shift_start": self.start_datetime.isoformat(),
            "shift_end": self.end_datetime.isoformat(),
            "shift_minutes": self.minutes,
            "crosses_midnight": self.crosses_midnight,
            "weekday": WEEKDAYS[self.weekday] if self.weekday is not None else None,
            "timezone": self.timezone,
        }


def parse_shift(
    shift_start: str | dt.time = "08:00",
    shift_end: str | dt.time = "16:00",
    *,
    date: str | dt.date | None = None,
    weekday: int | str | None = None,
    timezone: str | None = None,
) -> Shift:
    """Build a :class:`Shift` from user input.

    Parameters
    ----------
    shift_start, shift_end : str or datetime.time
        ``HH:MM`` local clock times; an end at or before the start crosses midnight.
    date : str or datetime.date, optional
        ``YYYY-MM-DD`` date the shift starts on. Its weekday restricts the risk to incidents on
        the same weekday.
    weekday : int or str, optional
        Restrict the risk to one weekday without fixing a date (the plan is dated the next such
        day from today). Give ``date`` or ``weekday``, not both; with neither, every day counts
        and the plan is dated today.
    timezone : str, optional
        IANA zone; default the ``WARD_GEO_TIMEZONE`` setting (Asia/Ho_Chi_Minh).

    Returns
    -------
    Shift
    """
    from ward_geo.settings import resolve_timezone

    zone = resolve_timezone(timezone or None)
    tz = zone.key
    start = _parse_clock(shift_start, "shift_start")
    end = _parse_clock(shift_end, "shift_end")
    if start == end:
        raise ParameterError(f"shift_end equals shift_start ({start:%H:%M}); a shift must last 1 minute to 24 hours")
    if date is not None and weekday is not None:
        raise ParameterError("give either date or weekday, not both (a date fixes its weekday)")
    today = dt.datetime.now(zone).date()
    if date is not None:
        if isinstance(date, dt.datetime):
            day = date.date()
        elif isinstance(date, dt.date):
            day = date
        else:
            try:
                day = dt.date.fromisoformat(str(date).strip())
            except ValueError as exc:
                raise ParameterError(f"date must be YYYY-MM-DD; got {date!r}") from exc
        return Shift(start, end, day, day.weekday(), tz)
    if weekday is not None:
        wd = parse_weekday(weekday)
        return Shift(start, end, today + dt.timedelta(days=(wd - today.weekday()) % 7), wd, tz)
    return Shift(start, end, today, None, tz)


def shift_mask(occurred_at: pd.Series, shift: Shift) -> np.ndarray:
    """Boolean mask of timestamps in the shift's hours (and weekday, when the shift has one).

    Parameters
    ----------
    occurred_at : Series of datetime64 with time zone
        Incident times.
    shift : Shift

    Returns
    -------
    ndarray of bool
    """
    times = pd.to_datetime(occurred_at, utc=True)
    local = times.dt.tz_convert(shift.timezone)
    minute = (local.dt.hour * 60 + local.dt.minute).to_numpy()
    start, end = shift.start_minute, shift.end_minute
    if shift.crosses_midnight:
        in_hours = (minute >= start) | (minute < end)
    else:
        in_hours = (minute >= start) & (minute < end)
    in_hours &= times.notna().to_numpy()
    if shift.weekday is None:
        all_days: np.ndarray = in_hours
        return all_days
    weekday = local.dt.day_of_week.to_numpy()
    # after midnight, an incident belongs to the shift that began the day before
    shift_day = np.where(shift.crosses_midnight & (minute < end), (weekday - 1) % 7, weekday)
    on_day: np.ndarray = in_hours & (shift_day == shift.weekday)
    return on_day


def incident_weights(
    incidents: gpd.GeoDataFrame,
    reference: dt.datetime | pd.Timestamp,
    *,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    category_weights: dict[str, float] | None = None,
) -> np.ndarray:
    """Risk weight of each incident: category weight x severity x recency decay.

    Parameters
    ----------
    incidents : GeoDataFrame
        Canonical incidents (``category``, ``severity``, ``occurred_at``).
    reference : datetime
        The moment ages are measured from (the shift's start); later incidents have age 0.
    half_life_days : float
        Days after which an incident counts half.
    category_weights : dict, optional
        Overrides of :func:`ward_geo.categories.category_weight` per category code.

    Returns
    -------
    ndarray of float
    """
    if not half_life_days > 0:
        raise ParameterError(f"half_life_days must be > 0; got {half_life_days!r}")
    overrides = category_weights or {}
    cats = incidents["category"].astype(object).to_numpy()
    cat_w = np.array([overrides.get(c, category_weight(c)) for c in cats], dtype=float)
    raw_severity = (
        incidents["severity"] if "severity" in incidents.columns else pd.Series(np.nan, index=incidents.index)
    )
    severity = pd.to_numeric(raw_severity, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    severity = np.where(np.isfinite(severity), severity, 1.0)
    ref = pd.Timestamp(reference)
    ref = ref.tz_localize("UTC") if ref.tzinfo is None else ref.tz_convert("UTC")
    times = pd.to_datetime(incidents["occurred_at"], utc=True)
    age_days = ((ref - times).dt.total_seconds() / 86400.0).to_numpy(dtype=float, na_value=np.nan)
    age_days = np.clip(np.nan_to_num(age_days, nan=0.0), 0.0, None)
    weights: np.ndarray = cat_w * severity * np.power(0.5, age_days / float(half_life_days))
    return weights


def ward_geometry(boundaries: gpd.GeoDataFrame, ward_id: str) -> Any:
    """The (EPSG:4326) polygon of ``ward_id`` in ``boundaries``."""
    if "ward_id" not in boundaries.columns:
        raise InputError("boundaries have no ward_id column (expected the canonical boundary table)")
    rows = boundaries[boundaries["ward_id"].astype(object) == ward_id]
    if rows.empty:
        known = ", ".join(sorted(map(str, boundaries["ward_id"]))[:10])
        raise NotFoundError(f"ward {ward_id!r} is not in the boundaries (known wards include: {known})")
    frame = rows if rows.crs is None or rows.crs.equals(WGS84) else rows.to_crs(WGS84)
    return frame.geometry.iloc[0]


@dataclass
class ShiftRisk:
    """Incidents and hotspots that make up one shift's risk.

    Attributes
    ----------
    shift : Shift
    incidents : GeoDataFrame
        The ward's incidents in the shift's hours, with a ``risk_weight`` column.
    hotspots : GeoDataFrame
        One row per hotspot: ``hotspot_id``, ``risk``, ``risk_share``, ``n_incidents``,
        ``category_counts`` (dict), ``dominant_category``, ``trend``, ``priority``,
        ``centre_lon``, ``centre_lat`` (centre of mass), ``member_ids`` and the hotspot polygon.
    total_risk : float
        Summed weight of all the shift's incidents (in hotspots or not).
    excluded_imprecise : int
        Ward incidents without an exact time (not usable for hours of day).
    method : str
        How hotspots were found.
    notes : list of str
    """

    shift: Shift
    incidents: gpd.GeoDataFrame
    hotspots: gpd.GeoDataFrame
    total_risk: float
    excluded_imprecise: int
    method: str
    half_life_days: float
    notes: list[str] = field(default_factory=list)


def ward_area_m2(boundaries: gpd.GeoDataFrame, ward_id: str) -> float:
    """Area of the ward in square metres (in its metric CRS)."""
    from ward_geo.projection import metric_crs_for_bounds

    polygon = ward_geometry(boundaries, ward_id)
    crs_m = metric_crs_for_bounds(tuple(polygon.bounds))
    return float(gpd.GeoSeries([polygon], crs=WGS84).to_crs(crs_m).area.iloc[0])


def patrol_min_samples(n_incidents: int, area_m2: float, eps_m: float) -> int:
    """DBSCAN ``min_samples`` for patrol-scale hotspots.

    A core point needs :data:`DENSITY_FACTOR` times the incidents that an ``eps_m`` disc holds
    at the ward's average density for the shift, and at least 4.
    """
    expected = n_incidents * np.pi * eps_m**2 / max(area_m2, 1.0)
    return int(max(4, np.ceil(DENSITY_FACTOR * expected)))


def _cluster(
    shift_incidents: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame, eps: float | None, min_samples: int | None
) -> tuple[gpd.GeoDataFrame, str]:
    from ward_geo.analysis.hotspots import find_hotspots
    from ward_geo.schema import INCIDENT_COLUMNS

    columns = [c for c in INCIDENT_COLUMNS if c in shift_incidents.columns]
    hotspots = find_hotspots(shift_incidents[columns], boundaries, method="dbscan", eps=eps, min_samples=min_samples)
    params = hotspots.attrs.get("params") or {}
    eps_used, k_used = params.get("eps"), params.get("min_samples")
    detail = (
        f"eps={eps_used:.0f} m, min_samples={k_used}" if isinstance(eps_used, int | float) else "default parameters"
    )
    return hotspots, f"find_hotspots dbscan ({detail})"


def shift_incidents(
    incidents: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame,
    ward_id: str,
    shift: Shift,
    *,
    margin_m: float = 100.0,
) -> tuple[gpd.GeoDataFrame, int]:
    """The ward's incidents (within ``margin_m`` of it) in the shift's hours and weekday.

    Returns
    -------
    (GeoDataFrame, int)
        The incidents (a copy), and how many of the ward's incidents were left out because
        their time is not exact.
    """
    from ward_geo.projection import metric_crs_for_bounds

    missing = [c for c in ("incident_id", "category", "occurred_at", "geometry") if c not in incidents.columns]
    if missing:
        raise InputError(f"incidents lack column(s) {', '.join(missing)} (expected the canonical incident table)")
    if incidents.crs is None:
        raise InputError("incidents have no CRS (expected EPSG:4326)")
    polygon = ward_geometry(boundaries, ward_id)
    crs_m = metric_crs_for_bounds(tuple(polygon.bounds))
    area = gpd.GeoSeries([polygon], crs=WGS84).to_crs(crs_m).buffer(margin_m).to_crs(WGS84).iloc[0]
    inc = incidents if incidents.crs.equals(WGS84) else incidents.to_crs(WGS84)
    inc = inc[inc.geometry.notna() & ~inc.geometry.is_empty]
    inc = inc[inc.geometry.within(area)]
    precision = inc["time_precision"].astype(object) if "time_precision" in inc.columns else None
    exact = np.ones(len(inc), dtype=bool) if precision is None else (precision.fillna("exact") == "exact").to_numpy()
    excluded = int((~exact).sum())
    inc = inc[exact]
    return inc[shift_mask(inc["occurred_at"], shift)].copy(), excluded


def shift_risk(  # noqa: PLR0913 - public function; its keywords are the documented contract
    incidents: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame,
    ward_id: str,
    shift: Shift,
    *,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    category_weights: dict[str, float] | None = None,
    eps: float | None = None,
    min_samples: int | None = None,
    margin_m: float = 100.0,
    hotspots: gpd.GeoDataFrame | None = None,
) -> ShiftRisk:
    """Weight the ward's incidents for a shift and find its hotspots.

    Parameters
    ----------
    incidents : GeoDataFrame
        Canonical incidents (EPSG:4326).
    boundaries : GeoDataFrame
        Canonical ward boundaries.
    ward_id : str
        The ward to plan for. Incidents inside its polygon (plus ``margin_m``) count.
    shift : Shift
    half_life_days : float
        Recency half-life (see :func:`incident_weights`).
    category_weights : dict, optional
        Per-category weight overrides.
    eps, min_samples : optional
        DBSCAN parameters of the hotspot finder. Default: patrol scale, ``eps`` =
        :data:`DEFAULT_HOTSPOT_EPS_M` and ``min_samples`` from :func:`patrol_min_samples`
        (three times the ward's average density for the shift).
    margin_m : float
        Incidents this close outside the ward still count (patrols do not stop at the line).
    hotspots : GeoDataFrame, optional
        The ward's hotspot set (:func:`ward_geo.workflows.ward_hotspot_set`): its polygons,
        ids, ranks and names are used, and each gets the shift's risk of the incidents inside it
        (the same hotspots as the map and the report). Without it, the shift's incidents are
        clustered at patrol scale (``eps``, ``min_samples``).

    Returns
    -------
    ShiftRisk
    """
    chosen, excluded = shift_incidents(incidents, boundaries, ward_id, shift, margin_m=margin_m)
    ids = chosen["incident_id"].astype(str)
    if ids.duplicated().any():
        dup = sorted(set(ids[ids.duplicated()]))
        raise InputError(
            f"incident_id must be unique; {len(dup)} id(s) repeat: {', '.join(dup[:10])}",
            details={"duplicate_ids": dup},
        )
    reference = pd.Timestamp(shift.start_datetime).tz_convert("UTC")
    chosen["risk_weight"] = incident_weights(
        chosen, reference, half_life_days=half_life_days, category_weights=category_weights
    )
    chosen = chosen.reset_index(drop=True)
    total = float(chosen["risk_weight"].sum())
    notes: list[str] = []
    if excluded:
        notes.append(f"{excluded} incident(s) in the ward have no exact time and were not used for hours of day")
    empty = gpd.GeoDataFrame(
        {
            "hotspot_id": pd.Series([], dtype=object),
            "risk": pd.Series([], dtype=float),
            "risk_share": pd.Series([], dtype=float),
            "n_incidents": pd.Series([], dtype=int),
            "category_counts": pd.Series([], dtype=object),
            "dominant_category": pd.Series([], dtype=object),
            "trend": pd.Series([], dtype=object),
            "priority": pd.Series([], dtype=object),
            "centre_lon": pd.Series([], dtype=float),
            "centre_lat": pd.Series([], dtype=float),
            "member_ids": pd.Series([], dtype=object),
            "rank": pd.Series([], dtype="Int64"),
            "name": pd.Series([], dtype=object),
        },
        geometry=gpd.GeoSeries([], crs=WGS84),
        crs=WGS84,
    )
    if len(chosen) < 3:
        notes.append(f"only {len(chosen)} incident(s) in the shift's hours: no hotspots")
        return ShiftRisk(shift, chosen, empty, total, excluded, "none", half_life_days, notes)
    xy = np.column_stack([chosen.geometry.x.to_numpy(), chosen.geometry.y.to_numpy()])
    if hotspots is not None:
        found = hotspots.to_crs(WGS84) if hotspots.crs is not None and not hotspots.crs.equals(WGS84) else hotspots
        set_id = found["hotspot_set_id"].iloc[0] if "hotspot_set_id" in found.columns and len(found) else None
        method = f"hotspot set {set_id}" if set_id else "given hotspots"
        import shapely

        tree = shapely.STRtree(np.asarray(found.geometry.values, dtype=object))
        pts, polys = tree.query(shapely.points(xy), predicate="within")
        inside = [pts[polys == i] for i in range(len(found))]
        if len(found) == 0:
            notes.append("the hotspot set is empty")
            return ShiftRisk(shift, chosen, empty, total, excluded, method, half_life_days, notes)
    else:
        if eps is None:
            eps = DEFAULT_HOTSPOT_EPS_M
        if min_samples is None:
            min_samples = patrol_min_samples(len(chosen), ward_area_m2(boundaries, ward_id), eps)
        found, method = _cluster(chosen, boundaries, eps, min_samples)
        if found is None or len(found) == 0:
            notes.append("the shift's incidents form no hotspot")
            return ShiftRisk(shift, chosen, empty, total, excluded, method, half_life_days, notes)
        # trend classes (emerging-hotspot analysis over monthly slices of the shift's incidents)
        from ward_geo.analysis.trends import classify_trends

        found = classify_trends(found, chosen, boundaries[boundaries["ward_id"] == ward_id])
        by_id = pd.Series(np.arange(len(chosen)), index=chosen["incident_id"].astype(str).to_numpy())
        inside = [by_id.reindex([str(m) for m in ms]).dropna().astype(int).to_numpy() for ms in found["member_ids"]]
    weights = chosen["risk_weight"].to_numpy()
    rows = []
    for position, (_, hot) in enumerate(found.iterrows()):
        members = np.asarray(inside[position], dtype=np.int64)
        if len(members) == 0:
            continue
        w = weights[members]
        centre = (xy[members] * w[:, None]).sum(axis=0) / w.sum() if w.sum() > 0 else xy[members].mean(axis=0)
        member_rows = chosen.iloc[members]
        counts = member_rows["category"].astype(object).value_counts()
        trend = str(hot["trend"]) if "trend" in hot.index else "none"
        rows.append(
            {
                "hotspot_id": str(hot["hotspot_id"]),
                "risk": float(w.sum()),
                "n_incidents": int(len(members)),
                "category_counts": {str(k): int(v) for k, v in counts.items()},
                "dominant_category": str(counts.index[0]),
                "trend": trend,
                "centre_lon": float(centre[0]),
                "centre_lat": float(centre[1]),
                "member_ids": [str(m) for m in member_rows["incident_id"]],
                "rank": int(hot["rank"]) if "rank" in hot.index and pd.notna(hot["rank"]) else None,
                "name": hot["name"] if "name" in hot.index else None,
                "geometry": hot.geometry,
            }
        )
    if not rows:
        notes.append("the shift's incidents form no hotspot")
        return ShiftRisk(shift, chosen, empty, total, excluded, method, half_life_days, notes)
    hot = gpd.GeoDataFrame(rows, geometry="geometry", crs=found.crs or WGS84).to_crs(WGS84)
    hot = hot.sort_values(["risk", "hotspot_id"], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    hot["risk_share"] = hot["risk"] / total if total > 0 else 0.0
    tercile = np.arange(len(hot)) / max(len(hot), 1)
    hot["priority"] = np.where(tercile < 1 / 3, "high", np.where(tercile < 2 / 3, "medium", "low"))
    return ShiftRisk(shift, chosen, hot[list(empty.columns)], total, excluded, method, half_life_days, notes)
