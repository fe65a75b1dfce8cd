"""Simulated incidents in real wards on the real street network: :func:`simulate`.

For each ward and category (see :mod:`ward_geo.synth.profiles`) a few clusters are planted
around anchors of the category's kind (:mod:`ward_geo.synth.places`), each with a life cycle
(persistent, emerging or fading), over background noise along the category's streets; days
follow the category's weekday shape and the cluster's life cycle, hours its hour shape.
Every row has ``source == "synthetic"``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from pyproj import Transformer

from ward_geo.categories import CATEGORY_CODES
from ward_geo.errors import InputError, ParameterError
from ward_geo.problems import Problems
from ward_geo.schema import WGS84, conform_incidents
from ward_geo.synth.places import Points, StreetContext, build_context, near_street, place_background, place_cluster
from ward_geo.synth.profiles import (
    CENTRAL_WARD_IDS,
    HOURS,
    REFERENCE_STREET_M,
    SPEC_BY_CODE,
    SPECS,
    SYNTHETIC_SOURCE,
    TIMEZONE,
    CategorySpec,
    cluster_kinds,
    day_weights,
    lifecycle,
)
from ward_geo.wards import resolve_ward_ids

__all__ = ["simulate"]

_COLUMNS = ("x", "y", "ward", "edge", "cat", "day", "sev")


def _parse_day(value: object, name: str) -> pd.Timestamp:
    """``value`` as a local date (midnight, naive); a time-zone aware value is first put in local time."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"{name} must be a date such as '2025-01-01'; got {value!r}") from exc
    if ts is pd.NaT:
        raise ParameterError(f"{name} must be a date such as '2025-01-01'; got {value!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_convert(TIMEZONE).tz_localize(None)
    return ts.normalize()


def _select_wards(boundaries: gpd.GeoDataFrame, ward_ids: Sequence[str]) -> gpd.GeoDataFrame:
    """The wards ``ward_ids`` of ``boundaries`` in that order, in EPSG:4326, checked."""
    if not isinstance(boundaries, gpd.GeoDataFrame):
        raise InputError("boundaries must be a GeoDataFrame with ward_id and polygon geometry (see read_boundaries)")
    if "ward_id" not in boundaries.columns:
        raise InputError("boundaries have no 'ward_id' column (read them with ward_geo.read_boundaries)")
    if boundaries.crs is None:
        raise InputError("boundaries have no CRS; expected EPSG:4326 (or any declared CRS)")
    if isinstance(ward_ids, str):
        ward_ids = (ward_ids,)
    if not list(ward_ids):
        raise ParameterError("ward_ids is empty: name at least one ward")
    wanted = resolve_ward_ids(boundaries, ward_ids)  # ids or Vietnamese names, as everywhere
    rows = boundaries.set_index(boundaries["ward_id"].astype(str)).loc[wanted]
    problems = Problems("boundaries")
    for w, g in zip(rows.index, rows.geometry, strict=True):
        if g is None or g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon"):
            problems.add(f"ward {w}: geometry must be a non-empty Polygon or MultiPolygon", field="geometry")
    problems.raise_if_any(InputError)
    out = gpd.GeoDataFrame({"ward_id": list(rows.index)}, geometry=list(rows.geometry), crs=boundaries.crs)
    return out.to_crs(WGS84)


def simulate(
    boundaries: gpd.GeoDataFrame,
    *,
    ward_ids: Sequence[str] = CENTRAL_WARD_IDS,
    start: str | pd.Timestamp = "2025-01-01",
    end: str | pd.Timestamp = "2026-01-01",
    seed: int = 0,
    graph: nx.MultiDiGraph | None = None,
    bus_stops: gpd.GeoDataFrame | None = None,
    scale: float = 1.0,
) -> gpd.GeoDataFrame:
    """Simulate a period of incidents in real wards, on the real street network.

    Parameters
    ----------
    boundaries : geopandas.GeoDataFrame
        Ward boundaries with a ``ward_id`` column (as from ``read_boundaries``), any CRS.
    ward_ids : sequence of str
        Wards to fill (default :data:`CENTRAL_WARD_IDS`); each must lie on the street network.
    start, end : str or Timestamp
        Local dates (Asia/Ho_Chi_Minh); ``end`` is exclusive. Default: the year 2025.
    seed : int
        Seed of the random generator: the same inputs and seed give the same table.
    graph : networkx.MultiDiGraph, optional
        Street graph from :func:`ward_geo.streets.load_street_graph` (default: that
        function's default, the central-Hanoi extract).
    bus_stops : geopandas.GeoDataFrame, optional
        Bus stop points with an optional ``name`` (default:
        :func:`ward_geo.streets.read_bus_stops` around the wards).
    scale : float
        Multiplies every rate (``scale=0.1`` gives a tenth of the incidents). About
        2,600 incidents per ward-year at ``scale=1`` for a ward with 55 km of streets
        (rates scale with the ward's street length in the graph), so about 18 thousand a
        year for the seven central wards.

    Returns
    -------
    geopandas.GeoDataFrame
        Canonical incidents (see :mod:`ward_geo.schema`), EPSG:4326, sorted by
        ``occurred_at``; ``incident_id`` ``"syn-<seed>-<n>"``, ``source`` ``"synthetic"``,
        ``time_precision`` ``"exact"``, ``severity`` 1-5, Vietnamese ``description`` naming
        the street. ``attrs["synthetic_clusters"]`` lists the planted clusters (id, category,
        kind ``persistent``/``emerging``/``fading``, ward, lon/lat, spread, active dates,
        incident count) and ``attrs["synthetic"]`` the parameters.

    Raises
    ------
    NotFoundError
        An unknown ward id.
    ParameterError
        ``end`` not after ``start``, or ``scale`` not in (0, 100].
    InputError
        Boundaries without ``ward_id``/CRS, or wards with no streets in the graph.
    """
    start_ts, end_ts = _parse_day(start, "start"), _parse_day(end, "end")
    if end_ts <= start_ts:
        raise ParameterError(f"end ({end_ts.date()}) must be after start ({start_ts.date()})")
    if not (isinstance(scale, int | float) and math.isfinite(scale) and 0 < scale <= 100):
        raise ParameterError(f"scale must be a number in (0, 100]; got {scale!r}")
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ParameterError(f"seed must be a non-negative integer; got {seed!r}")
    wards = _select_wards(boundaries, ward_ids)
    if graph is None:
        from ward_geo.streets import load_street_graph

        graph = load_street_graph()
    ctx = build_context(wards, graph, bus_stops)
    run = _Simulation(ctx, np.random.default_rng(int(seed)), Transformer.from_crs(ctx.crs, WGS84, always_xy=True),
                      start_ts, int((end_ts - start_ts).days))
    ward_len = np.array([ctx.edge_len[ctx.edge_ward == w].sum() for w in range(len(ctx.wards))])
    # rates scale with a ward's street length, relative to a typical central ward, so a
    # ward gets the same incidents whichever other wards are simulated with it
    ward_factor = np.clip(ward_len / REFERENCE_STREET_M, 0.2, 3.0)
    for w in range(len(ctx.wards)):
        run.fill_ward(w, float(scale), float(ward_factor[w]))
    out = run.incidents(int(seed))
    out.attrs["synthetic"] = {
        "seed": int(seed), "start": str(start_ts.date()), "end": str(end_ts.date()), "scale": float(scale),
        "ward_ids": list(ctx.wards), "attribution": "© OpenStreetMap contributors",
    }
    return out


@dataclass
class _Simulation:
    """One run of :func:`simulate`: the context, the one generator, the period and the points drawn so far.

    The generator is drawn from in a fixed order (ward by ward, category by category,
    clusters before background, then times and descriptions), so a seed gives one table.
    """

    ctx: StreetContext
    rng: np.random.Generator
    to_lonlat: Transformer
    start: pd.Timestamp
    n_days: int
    parts: dict[str, list[np.ndarray]] = field(default_factory=lambda: {k: [] for k in _COLUMNS})
    clusters: list[dict[str, object]] = field(default_factory=list)

    def add(self, placed: Points, spec: CategorySpec, day: np.ndarray) -> None:
        """Keep placed points of ``spec``'s category on the days ``day``, with drawn severities."""
        x, y, w, e = placed
        m = len(x)
        for key, values in (("x", x), ("y", y), ("ward", w), ("edge", e)):
            self.parts[key].append(values)
        self.parts["cat"].append(np.full(m, CATEGORY_CODES.index(spec.code)))
        self.parts["day"].append(day[:m])
        self.parts["sev"].append(self.rng.choice(5, size=m, p=np.asarray(spec.severity) / sum(spec.severity)) + 1.0)

    def fill_ward(self, w: int, scale: float, factor: float) -> None:
        """Clusters and background of every category in ward ``w``; ``scale`` and ``factor`` scale the rates."""
        years = self.n_days / 365.0
        first_dow = self.start.day_of_week
        # how many clusters each category gets here, then their life cycles across the ward
        plan = []
        for spec in SPECS:
            xy, weight = self.ctx.anchors[(spec.anchor, w)]
            ok = near_street(self.ctx, spec.snap, xy)  # the extract may not cover a whole ward
            xy, weight = xy[ok], weight[ok]
            plan.append((spec, xy, weight, min(spec.clusters_per_ward, len(xy)) if spec.cluster_share > 0 else 0))
        kinds = iter(cluster_kinds(sum(p[-1] for p in plan), self.rng))
        for spec, xy, weight, k in plan:
            base = day_weights(self.n_days, first_dow, spec.weekdays)
            total = spec.per_ward * years * scale * factor
            if k:
                chosen = self.rng.choice(len(xy), size=k, replace=False, p=weight / weight.sum())
                shares = self.rng.dirichlet(np.full(k, 2.0))
                for centre, share in zip(xy[chosen], shares, strict=True):
                    self.plant_cluster(spec, w, centre, next(kinds), base, total, share)
            # background
            bg_share = 1.0 - (spec.cluster_share if k else 0.0)
            count = int(self.rng.poisson(total * bg_share))
            placed = place_background(self.ctx, self.rng, count, w, spec.background)
            self.add(placed, spec, self.rng.choice(self.n_days, size=len(placed[0]), p=base / base.sum()))

    def plant_cluster(self, spec: CategorySpec, w: int, centre: np.ndarray, kind: str, base: np.ndarray,
                      total: float, share: float) -> None:
        """One cluster of ``spec`` around ``centre`` with life cycle ``kind``, ``share`` of the ward's clusters."""
        act, first, until = lifecycle(kind, self.n_days, self.rng)
        daily = base * act
        # a cluster active part of the period burns brighter while it lasts
        boost = 1.0 if kind == "persistent" else 2.0
        rate = boost * total * spec.cluster_share * share / base.sum()
        count = int(self.rng.poisson(rate * daily.sum()))
        sigma = float(self.rng.uniform(*spec.sigma))
        placed = place_cluster(self.ctx, self.rng, count, centre, sigma, spec.snap)
        n = len(placed[0])
        day = (self.rng.choice(self.n_days, size=n, p=daily / daily.sum())
               if daily.sum() > 0 else np.zeros(0, np.int64))
        self.add(placed, spec, day)
        lon, lat = self.to_lonlat.transform(*centre)
        self.clusters.append({
            "cluster_id": f"c{len(self.clusters) + 1}",
            "category": spec.code,
            "kind": kind,
            "ward_id": self.ctx.wards[w],
            "lon": round(float(lon), 7),
            "lat": round(float(lat), 7),
            "sigma_m": round(sigma, 1),
            "active_from": str((self.start + pd.Timedelta(days=first)).date()),
            "active_until": str((self.start + pd.Timedelta(days=until)).date()),
            "n_incidents": n,
        })

    def incidents(self, seed: int) -> gpd.GeoDataFrame:
        """The canonical incident table of the points drawn: times, descriptions, ids, sorted by time."""
        rng, ctx, parts = self.rng, self.ctx, self.parts
        x = np.concatenate(parts["x"])
        n = len(x)
        y = np.concatenate(parts["y"])
        ward = np.concatenate(parts["ward"]).astype(np.int64)
        edge = np.concatenate(parts["edge"]).astype(np.int64)
        cat = np.concatenate(parts["cat"]).astype(np.int64)
        day = np.concatenate(parts["day"]).astype(np.int64)
        sev = np.concatenate(parts["sev"])

        # time of day from each category's hour profile
        hour = np.zeros(n, dtype=np.int64)
        descriptions = np.empty(n, dtype=object)
        for ci, code in enumerate(CATEGORY_CODES):
            sel = np.flatnonzero(cat == ci)
            if not len(sel):
                continue
            spec = SPEC_BY_CODE[code]
            prof = np.asarray(HOURS[spec.hours])
            hour[sel] = rng.choice(24, size=len(sel), p=prof / prof.sum())
            templates = np.asarray(spec.descriptions, dtype=object)
            descriptions[sel] = templates[rng.integers(0, len(templates), size=len(sel))]
        seconds = rng.integers(0, 3600, size=n)
        local = (np.datetime64(self.start.to_datetime64(), "s") + day.astype("timedelta64[D]")
                 + (hour * 3600 + seconds).astype("timedelta64[s]"))
        occurred = pd.DatetimeIndex(local).tz_localize(TIMEZONE).tz_convert("UTC")
        street = ctx.edge_name[edge]
        descriptions = np.array([f"{d} ({s})" if s else d for d, s in zip(descriptions, street, strict=True)],
                                dtype=object)

        lon, lat = self.to_lonlat.transform(x, y)
        order = np.lexsort((np.arange(n), occurred.asi8))
        ids = np.array([f"syn-{int(seed)}-{i:06d}" for i in range(n)], dtype=object)
        codes = np.asarray(CATEGORY_CODES, dtype=object)
        frame = gpd.GeoDataFrame(
            {
                "incident_id": ids,
                "category": codes[cat[order]],
                "category_raw": codes[cat[order]],
                "occurred_at": occurred[order],
                "time_precision": np.full(n, "exact", dtype=object),
                "severity": sev[order],
                "description": descriptions[order],
                "source": np.full(n, SYNTHETIC_SOURCE, dtype=object),
                "ward_id": np.asarray(ctx.wards, dtype=object)[ward[order]],
            },
            geometry=gpd.points_from_xy(np.asarray(lon)[order], np.asarray(lat)[order]),
            crs=WGS84,
        )
        out = conform_incidents(frame)
        out.attrs["synthetic_clusters"] = self.clusters
        return out
