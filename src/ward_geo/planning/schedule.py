"""The patrol plan: units, stops, GeoJSON and the printable Markdown schedule."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
from shapely.geometry import LineString, Point

from ward_geo.analysis.trends import trend_label
from ward_geo.categories import category_label
from ward_geo.schema import WGS84
from ward_geo.streets import OSM_ATTRIBUTION as _OSM_ATTRIBUTION

if TYPE_CHECKING:  # pragma: no cover
    from ward_geo.planning.network import StraightLineNetwork, TravelNetwork
    from ward_geo.planning.risk import Shift, ShiftRisk

__all__ = ["PlannedStop", "UnitRoute", "PatrolPlan"]


@dataclass
class PlannedStop:
    """One stop of a unit.

    Attributes
    ----------
    unit, sequence : int
        Unit number (1-based) and position in its route (1-based).
    hotspot_id : str
    visit, n_visits : int
        This is visit ``visit`` (1-based) of ``n_visits`` planned for the hotspot.
    arrival : datetime
        Local (time-zone aware) start of the dwell.
    arrival_s : int
        Seconds from the shift's start.
    dwell_s : int
    lon, lat : float
        Where to stand (a street node on the network; the hotspot centre in the fallback).
    node : int or None
        OSM node id of the stop.
    snap_m : float
        Distance from the hotspot's centre of mass to the stop.
    risk : float
    reason : dict
        ``categories`` (counts), ``dominant_category``, ``n_incidents``, ``trend``, ``priority``,
        ``risk_share``.
    """

    unit: int
    sequence: int
    hotspot_id: str
    visit: int
    n_visits: int
    arrival: dt.datetime
    arrival_s: int
    dwell_s: int
    lon: float
    lat: float
    node: int | None
    snap_m: float
    risk: float
    reason: dict[str, Any]

    @property
    def departure(self) -> dt.datetime:
        """Local date-time the unit leaves the stop."""
        return self.arrival + dt.timedelta(seconds=self.dwell_s)


@dataclass
class UnitRoute:
    """The route of one unit: its stops and the street path (station -> stops -> station)."""

    unit: int
    stops: list[PlannedStop]
    coords: list[tuple[float, float]]
    distance_m: float
    travel_s: float
    dwell_s: float
    end_s: int
    back_at: dt.datetime

    @property
    def idle_s(self) -> float:
        """Time neither travelling nor dwelling (waiting for a stop's window)."""
        return max(0.0, self.end_s - self.travel_s - self.dwell_s)


def _md(text: object) -> str:
    """Escape text for a Markdown table cell."""
    out = str(text)
    for ch in ("\\", "|", "*", "_", "`", "[", "]", "<", ">"):
        out = out.replace(ch, "\\" + ch)
    return out.replace("\n", " ")


_LABELS = {
    "en": {
        "title": "Patrol plan", "ward": "Ward", "shift": "Shift", "mode": "Mode", "network": "Travel",
        "units": "Units", "covered": "Share of the shift's risk covered", "unit": "Unit", "seq": "#",
        "arrive": "Arrive", "leave": "Leave", "dwell": "Dwell (min)", "hotspot": "Hotspot",
        "where": "Where (lat, lon)", "why": "Why", "visit": "visit", "of": "of",
        "station": "Start and end at the station", "back": "Back at the station",
        "distance": "Distance", "nostops": "No stops for this unit.", "unreachable": "Unreachable hotspots",
        "dropped": "Visits left out", "incidents": "incidents", "notes": "Notes", "trend": "trend",
        "streets": "Streets",
    },
    "vi": {
        "title": "Kế hoạch tuần tra", "ward": "Phường", "shift": "Ca", "mode": "Phương tiện",
        "network": "Di chuyển", "units": "Số tổ", "covered": "Tỷ lệ rủi ro của ca được bao phủ",
        "unit": "Tổ", "seq": "#", "arrive": "Đến", "leave": "Rời", "dwell": "Dừng (phút)",
        "hotspot": "Điểm nóng", "where": "Vị trí (vĩ độ, kinh độ)", "why": "Lý do", "visit": "lượt",
        "of": "/", "station": "Xuất phát và trở về trụ sở", "back": "Về trụ sở",
        "distance": "Quãng đường", "nostops": "Tổ này không có điểm dừng.",
        "unreachable": "Điểm nóng không tới được", "dropped": "Lượt bị bỏ", "incidents": "vụ",
        "notes": "Ghi chú", "trend": "xu hướng", "streets": "Dữ liệu đường phố",
    },
}


@dataclass
class PatrolPlan:
    """A planned patrol shift for one ward.

    Attributes
    ----------
    ward_id : str
    shift : Shift
    mode : str
    units : list of UnitRoute
    hotspots : GeoDataFrame
        The shift's hotspots with their risk.
    risk : ShiftRisk
    summary : dict
        Plan-wide figures: distance, travel and dwell minutes, ``risk_covered_share``, the
        network used or the fallback, ``unreachable`` and ``dropped`` lists, notes.
    network : TravelNetwork or StraightLineNetwork
    """

    ward_id: str
    shift: Shift
    mode: str
    units: list[UnitRoute]
    hotspots: gpd.GeoDataFrame
    risk: ShiftRisk
    summary: dict[str, Any]
    network: TravelNetwork | StraightLineNetwork = field(repr=False)

    @property
    def stops(self) -> list[PlannedStop]:
        """Every stop of every unit, by unit then sequence."""
        return [s for u in self.units for s in u.stops]

    # ------------------------------------------------------------------ GeoDataFrames
    def routes_frame(self) -> gpd.GeoDataFrame:
        """One LineString per unit (EPSG:4326)."""
        rows = [
            {
                "kind": "route",
                "unit": u.unit,
                "stops": len(u.stops),
                "distance_m": round(u.distance_m, 1),
                "travel_minutes": round(u.travel_s / 60.0, 1),
                "dwell_minutes": round(u.dwell_s / 60.0, 1),
                "idle_minutes": round(u.idle_s / 60.0, 1),
                "start": self.shift.start_datetime.isoformat(),
                "back_at": u.back_at.isoformat(),
                "follows_streets": bool(self.summary["uses_street_network"]),
                "geometry": LineString(u.coords),
            }
            for u in self.units
        ]
        return gpd.GeoDataFrame(rows, geometry="geometry", crs=WGS84)

    def stops_frame(self) -> gpd.GeoDataFrame:
        """One Point per stop (EPSG:4326)."""
        rows = [
            {
                "kind": "stop",
                "unit": s.unit,
                "sequence": s.sequence,
                "hotspot_id": s.hotspot_id,
                "visit": s.visit,
                "n_visits": s.n_visits,
                "arrival": s.arrival.isoformat(),
                "departure": s.departure.isoformat(),
                "dwell_minutes": round(s.dwell_s / 60.0, 1),
                "node": s.node,
                "snap_m": s.snap_m,
                "reason": s.reason,
                "geometry": Point(s.lon, s.lat),
            }
            for s in self.stops
        ]
        if not rows:
            return gpd.GeoDataFrame({"kind": []}, geometry=[], crs=WGS84)
        return gpd.GeoDataFrame(rows, geometry="geometry", crs=WGS84)

    def to_geojson(self) -> dict[str, Any]:
        """The plan as an RFC 7946 FeatureCollection.

        Features: one ``LineString`` per unit (``kind="route"``), one ``Point`` per stop
        (``kind="stop"``: unit, sequence, arrival ISO 8601 with offset, dwell minutes,
        hotspot id, reason), the station (``kind="station"``) and every unreachable hotspot
        centre (``kind="unreachable"``). The plan summary is the collection's ``properties``
        member (and the station's properties).
        """
        from ward_geo.io.writers import json_safe, to_geojson

        station = self.summary["station"]
        extra = gpd.GeoDataFrame(
            [
                {"kind": "station", **{k: v for k, v in self.summary.items() if k != "station"},
                 "node": station.get("node"), "geometry": Point(station["lon"], station["lat"])},
                *[
                    {"kind": "unreachable", "hotspot_id": u["hotspot_id"], "reason": u["reason"],
                     "risk_share": u["risk_share"], "geometry": Point(u["lon"], u["lat"])}
                    for u in self.summary["unreachable"]
                ],
            ],
            geometry="geometry",
            crs=WGS84,
        )
        features: list[dict[str, Any]] = []
        for frame in (self.routes_frame(), self.stops_frame(), extra):
            if len(frame):
                features.extend(_drop_nulls(f) for f in to_geojson(frame)["features"])
        return {
            "type": "FeatureCollection",
            "features": features,
            "properties": json_safe({**self.summary, "attribution": _OSM_ATTRIBUTION}),
        }

    def to_json(self, *, indent: int | None = None) -> str:
        """Strict JSON text of :meth:`to_geojson`."""
        from ward_geo.io.writers import geojson_dumps

        return geojson_dumps(self.to_geojson(), indent=indent)

    # ------------------------------------------------------------------ Markdown
    def schedule_markdown(self, *, lang: str = "vi") -> str:
        """A printable schedule: a table of stops per unit, then unreachable and dropped visits.

        Parameters
        ----------
        lang : {"vi", "en"}
            Language of headings and category labels.
        """
        t = _LABELS["en" if lang == "en" else "vi"]
        s = self.summary
        lines = [
            f"# {t['title']} — {_md(self.ward_id)}",
            "",
            f"- **{t['shift']}**: {self.shift.start_datetime:%Y-%m-%d %H:%M} → "
            f"{self.shift.end_datetime:%Y-%m-%d %H:%M} ({self.shift.timezone})",
            f"- **{t['mode']}**: {_md(self.mode)}; **{t['units']}**: {len(self.units)}",
            f"- **{t['network']}**: {_md(s['network'])}",
            f"- **{t['covered']}**: {100 * s['risk_covered_share']:.0f} %",
            f"- {t['station']}: {s['station']['lat']:.6f}, {s['station']['lon']:.6f}",
            "",
        ]
        # each stop shows its hotspot as the map and the report do: rank, name, id
        labels: dict[str, str] = {}
        hot = self.hotspots
        if hot is not None and len(hot) and "name" in hot.columns:
            for row in hot.itertuples(index=False):
                rank = getattr(row, "rank", None)
                prefix = f"#{int(rank)} " if rank is not None and rank == rank else ""
                hotspot_id = str(row.hotspot_id)
                labels[hotspot_id] = f"{prefix}{row.name} · {hotspot_id}" if row.name else hotspot_id
        for unit in self.units:
            lines += [f"## {t['unit']} {unit.unit}", ""]
            if not unit.stops:
                lines += [t["nostops"], ""]
            else:
                lines.append(
                    f"| {t['seq']} | {t['arrive']} | {t['leave']} | {t['dwell']} | {t['hotspot']} "
                    f"| {t['where']} | {t['why']} |"
                )
                lines.append("|---:|---|---|---:|---|---|---|")
                for stop in unit.stops:
                    cats = ", ".join(
                        f"{category_label(c, lang)} {n}" for c, n in stop.reason["categories"].items()
                    )
                    trend = trend_label(stop.reason["trend"], lang)
                    why = f"{stop.reason['n_incidents']} {t['incidents']}: {cats}; {t['trend']} {trend}"
                    lines.append(
                        f"| {stop.sequence} | {stop.arrival:%H:%M} | {stop.departure:%H:%M} "
                        f"| {stop.dwell_s / 60:.0f} | {_md(labels.get(stop.hotspot_id, stop.hotspot_id))} "
                        f"({t['visit']} {stop.visit} "
                        f"{t['of']} {stop.n_visits}) | {stop.lat:.6f}, {stop.lon:.6f} | {_md(why)} |"
                    )
                lines.append("")
            lines += [
                f"{t['back']}: {unit.back_at:%H:%M}; {t['distance']}: {unit.distance_m / 1000:.2f} km",
                "",
            ]
        if s["unreachable"]:
            lines += [f"## {t['unreachable']}", ""]
            lines += [f"- {_md(u['hotspot_id'])}: {_md(u['reason'])}" for u in s["unreachable"]]
            lines.append("")
        if s["dropped"]:
            lines += [f"## {t['dropped']}", ""]
            lines += [
                f"- {_md(d['hotspot_id'])}"
                + (f" ({t['visit']} {d['visit']})" if "visit" in d else "")
                + f": {_md(d['reason'])}"
                for d in s["dropped"]
            ]
            lines.append("")
        if s["notes"]:
            lines += [f"## {t['notes']}", ""] + [f"- {_md(n)}" for n in s["notes"]] + [""]
        if s["uses_street_network"]:
            lines.append(f"{t['streets']}: {_OSM_ATTRIBUTION}")
        return "\n".join(lines).rstrip() + "\n"

    # ------------------------------------------------------------------ files
    def write(self, path: str | os.PathLike[str], *, lang: str = "vi") -> tuple[Path, Path]:
        """Write the GeoJSON to ``path`` and the Markdown schedule beside it (``.md``).

        Returns
        -------
        (Path, Path)
            The GeoJSON and Markdown paths.
        """
        geo = Path(path)
        md = geo.with_suffix(".md")
        geo.parent.mkdir(parents=True, exist_ok=True)
        geo.write_text(self.to_json(indent=2), encoding="utf-8")
        md.write_text(self.schedule_markdown(lang=lang), encoding="utf-8")
        return geo, md


def _drop_nulls(feature: dict[str, Any]) -> dict[str, Any]:
    """Remove the null properties that come from mixing feature kinds in one frame."""
    props = feature.get("properties") or {}
    feature["properties"] = {k: v for k, v in props.items() if v is not None or k in {"node", "trend"}}
    return feature
