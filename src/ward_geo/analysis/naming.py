"""Human-readable place names for hotspot polygons, from the street network.

A ward officer recognises "Phố Hàng Bạc – Mã Mây" faster than a cluster id or a pair of
coordinates. :func:`place_names` gives every polygon one short name, built from the named
streets (for example :func:`ward_geo.streets.street_edges`) and, where no street is close,
from named landmarks (for example bus stops from :func:`ward_geo.streets.read_bus_stops`).

Rules
-----
All distances are measured in metres, in the metric CRS that
:func:`ward_geo.projection.metric_crs_for` chooses for the polygons.

1. **Primary street.** With member points, every point votes for the named street
   nearest to it, if one is within :data:`STREET_RADIUS_M` (40 m); the street with most
   votes wins. Without points, the named street with the longest length inside the
   polygon buffered by :data:`POLYGON_BUFFER_M` (20 m) wins; when no named street
   reaches that buffer, the nearest named street within 40 m of the polygon is taken.
2. **Second street.** The label names two streets when the runner-up street got at
   least :data:`SECOND_SHARE` (25 %) of *all* member points (points only), or when the
   polygon sits on an intersection: the primary street meets another named street at a
   point inside the polygon no farther from the polygon's centroid than
   ``max(INTERSECTION_MIN_M, INTERSECTION_SHARE * sqrt(area / pi))`` (half the radius
   of a circle of the polygon's area, but at least 10 m); the meeting point nearest the
   centroid decides. The label is ``"<primary> – <second>"`` (an en dash with spaces),
   for example ``"Phố Hàng Bạc – Mã Mây"``.
3. **Generic prefixes.** The second street's generic prefix (:data:`GENERIC_PREFIXES`:
   "Phố", "Đường", "Ngõ", …) is dropped only when the primary name also starts with one,
   and only when what is left does not start with a digit ("Ngõ 5" stays "Ngõ 5", as
   "5" alone names nothing). The primary name is always kept whole.
4. **Fallbacks.** With no named street within 40 m (of any member point, or of the
   polygon without points): ``"gần <landmark>"`` (``lang="en"``: ``"near <landmark>"``)
   for the named landmark nearest to the polygon within :data:`LANDMARK_RADIUS_M`
   (200 m); otherwise the polygon's centroid as ``"21.03456, 105.85123"`` (latitude,
   longitude, 5 decimals, WGS 84).
5. **Unique names.** Names are unique within one call. In input order, the first
   polygon keeps a name; a later polygon with the same name gets the nearest cross
   street of its primary street: ``"Phố Hàng Bạc (gần Tạ Hiện)"`` (``lang="en"``:
   ``"Phố Hàng Bạc (near Tạ Hiện)"``), the named street other than those already in the
   label that meets the primary street nearest to the polygon's centroid, within
   :data:`CROSS_RADIUS_M` (300 m), its prefix dropped as in rule 3. If there is no
   cross street, or the name is still taken (and for landmark and coordinate names),
   ``" (2)"``, ``" (3)"``, … is appended.

Every tie (equal votes, lengths or distances) is broken by name, and the streets are put
in a canonical order first (duplicate lines, such as the two directions of a two-way
street in an osmnx graph, count once), so the result does not depend on the order of the
street rows. All text is NFC-normalised.

Street and landmark names from OpenStreetMap are © OpenStreetMap contributors (ODbL 1.0);
show :data:`ward_geo.streets.OSM_ATTRIBUTION` with them.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from ward_geo.errors import InputError, ParameterError
from ward_geo.projection import metric_crs_for, to_metric

__all__ = [
    "CROSS_RADIUS_M",
    "GENERIC_PREFIXES",
    "INTERSECTION_MIN_M",
    "INTERSECTION_SHARE",
    "LANDMARK_RADIUS_M",
    "LANGUAGES",
    "POLYGON_BUFFER_M",
    "SECOND_SHARE",
    "STREET_RADIUS_M",
    "place_names",
]

#: A member point votes for the nearest named street within this distance (m).
STREET_RADIUS_M = 40.0
#: Without member points, street length is measured inside the polygon buffered by this (m).
POLYGON_BUFFER_M = 20.0
#: The runner-up street is named too when it gets at least this share of the member points.
SECOND_SHARE = 0.25
#: An intersection "under" a polygon lies within this share of the polygon's equivalent
#: radius ``sqrt(area / pi)`` from its centroid …
INTERSECTION_SHARE = 0.5
#: … or within this distance (m), whichever is larger.
INTERSECTION_MIN_M = 10.0
#: Landmarks farther than this from the polygon (m) are not used.
LANDMARK_RADIUS_M = 200.0
#: Cross streets used to tell equal names apart are searched this far from the centroid (m).
CROSS_RADIUS_M = 300.0
#: Generic street-type words that start Vietnamese street names (each matched with a following space).
GENERIC_PREFIXES: tuple[str, ...] = ("Đại lộ", "Đường", "Ngách", "Phố", "Ngõ", "Hẻm", "Kiệt")
#: Accepted ``lang`` values and their word for "near".
LANGUAGES: dict[str, str] = {"vi": "gần", "en": "near"}

_DASH = " – "  # en dash with spaces
_MARGIN_M = max(LANDMARK_RADIUS_M, CROSS_RADIUS_M) + STREET_RADIUS_M + 10.0


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def _clean_name(value: object) -> str | None:
    """A usable name or None; a list (a merged osmnx edge) gives its alphabetically first name."""
    if isinstance(value, list | tuple | set | np.ndarray):
        names = sorted(n for n in (_clean_name(v) for v in value) if n)
        return names[0] if names else None
    if isinstance(value, str):
        text = _nfc(value)
        return text or None
    return None


def _split_prefix(name: str) -> tuple[str | None, str]:
    """``"Phố Mã Mây"`` -> ``("Phố", "Mã Mây")``; a name without a generic prefix -> ``(None, name)``."""
    folded = name.casefold()
    for prefix in GENERIC_PREFIXES:
        head = prefix.casefold() + " "
        if folded.startswith(head) and len(name) > len(head):
            return prefix, name[len(head):].lstrip()
    return None, name


def _short_second(primary: str, second: str) -> str:
    """The second street as written after the primary one (rule 3 of the module docstring)."""
    primary_prefix, _ = _split_prefix(primary)
    second_prefix, rest = _split_prefix(second)
    if primary_prefix is not None and second_prefix is not None and rest and not rest[0].isdigit():
        return rest
    return second


@lru_cache(maxsize=32)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(CRS.from_wkt(src), CRS.from_wkt(dst), always_xy=True)


def _as_frame(layer: object, what: str) -> gpd.GeoDataFrame:
    if isinstance(layer, gpd.GeoSeries):
        layer = gpd.GeoDataFrame(geometry=layer.reset_index(drop=True))
    if not isinstance(layer, gpd.GeoDataFrame):
        raise InputError(f"{what} must be a GeoDataFrame or GeoSeries; got {type(layer).__name__}")
    if layer.crs is None:
        raise InputError(f"{what} have no CRS; declare one (for example crs='EPSG:4326')")
    return layer


def _named_layer(layer: object, what: str) -> gpd.GeoDataFrame:
    frame = _as_frame(layer, what)
    if "name" not in frame.columns:
        raise InputError(
            f"{what} have no 'name' column (columns: {', '.join(map(str, frame.columns))})",
            details={"columns": [str(c) for c in frame.columns]},
        )
    return frame


def _subset(
    frame: gpd.GeoDataFrame, bounds: tuple[float, float, float, float], metric: CRS
) -> tuple[list[str], np.ndarray]:
    """Named rows of ``frame`` near the metric ``bounds``, deduplicated, sorted, projected.

    A row is kept when it has a name and a geometry whose bounding box meets ``bounds``.
    Rows with the same name and the same geometry (up to orientation: the two directions
    of a two-way street) are kept once, and the rows are sorted by (name, geometry) so the
    input's row order never matters. Returns the names (NFC) and metric geometries.
    """
    raw = frame["name"].to_numpy()
    geoms = frame.geometry.to_numpy()
    ok = ~(pd.isna(raw) | shapely.is_missing(geoms) | shapely.is_empty(geoms))
    src = CRS.from_user_input(frame.crs)
    box = bounds
    if not src.equals(metric):
        box = _transformer(metric.to_wkt(), src.to_wkt()).transform_bounds(*bounds, densify_pts=21)
    rows = np.flatnonzero(ok)
    gb = shapely.bounds(geoms[rows])
    inside = (gb[:, 2] >= box[0]) & (gb[:, 0] <= box[2]) & (gb[:, 3] >= box[1]) & (gb[:, 1] <= box[3])
    rows = rows[inside]
    memo: dict[str, str | None] = {}
    names: list[str | None] = []
    for value in raw[rows]:
        if isinstance(value, str):
            if value not in memo:
                memo[value] = _clean_name(value)
            names.append(memo[value])
        else:
            names.append(_clean_name(value))
    normalized = shapely.normalize(geoms[rows])
    first: dict[tuple[str, bytes], int] = {}
    for k, key in enumerate(zip(names, shapely.to_wkb(normalized), strict=True)):
        if key[0] is not None:
            first.setdefault(key, k)  # type: ignore[arg-type]
    if not first:
        return [], np.empty(0, dtype=object)
    keys = sorted(first)
    part = gpd.GeoDataFrame(geometry=normalized[[first[key] for key in keys]], crs=src)
    projected, _ = to_metric(part, metric)
    return [name for name, _ in keys], projected.geometry.to_numpy()


@dataclass(frozen=True)
class _Streets:
    """Named street lines in canonical order with an STRtree; ``codes`` index ``names``."""

    names: list[str]
    codes: np.ndarray
    geoms: np.ndarray
    tree: shapely.STRtree

    @classmethod
    def build(cls, frame: gpd.GeoDataFrame, bounds: tuple[float, float, float, float], metric: CRS) -> _Streets:
        names, lines = _subset(frame, bounds, metric)
        unique_names = sorted(set(names))
        code_of = {n: i for i, n in enumerate(unique_names)}
        codes = np.array([code_of[n] for n in names], dtype=np.int64)
        return cls(unique_names, codes, lines, shapely.STRtree(lines))


@dataclass(frozen=True)
class _Landmarks:
    names: list[str]
    geoms: np.ndarray
    tree: shapely.STRtree | None

    @classmethod
    def build(
        cls, frame: gpd.GeoDataFrame | None, bounds: tuple[float, float, float, float], metric: CRS
    ) -> _Landmarks:
        if frame is None:
            return cls([], np.empty(0, dtype=object), None)
        names, spots = _subset(frame, bounds, metric)
        if len(names) == 0:
            return cls([], np.empty(0, dtype=object), None)
        return cls(names, spots, shapely.STRtree(spots))

    def nearest(self, polygon: shapely.Geometry, centre: shapely.Point) -> str | None:
        if self.tree is None:
            return None
        hits = self.tree.query(polygon, predicate="dwithin", distance=LANDMARK_RADIUS_M)
        if len(hits) == 0:
            return None
        d_poly = shapely.distance(self.geoms[hits], polygon)
        d_centre = shapely.distance(self.geoms[hits], centre)
        best = min(zip(d_poly, d_centre, (self.names[i] for i in hits), strict=True))
        return str(best[2])


@dataclass
class _Place:
    label: str
    primary: int | None  # street code, None for landmark and coordinate names
    used: tuple[int, ...]  # street codes already in the label
    polygon: shapely.Geometry
    centre: shapely.Point


def _points_list(points: object, n: int) -> list[object]:
    """``points`` as a list of ``n`` entries (all None when not given), or an InputError."""
    if points is None:
        return [None] * n
    if isinstance(points, gpd.GeoSeries | gpd.GeoDataFrame) or not isinstance(points, Sequence | pd.Series):
        raise InputError(
            "points must be a list with one entry (array or GeoSeries of points) per polygon; "
            f"got {type(points).__name__}"
        )
    if len(points) != n:
        raise InputError(
            f"points has {len(points)} entries but there are {n} polygons (one entry per polygon)",
            details={"points": len(points), "polygons": n},
        )
    return points.tolist() if isinstance(points, pd.Series) else list(points)


def _member_xy(entries: list[object], src: CRS, metric: CRS) -> list[np.ndarray | None]:
    """Metric (k, 2) coordinates of each polygon's member points (None: no points)."""
    to_metric_xy = _transformer(src.to_wkt(), metric.to_wkt())
    out: list[np.ndarray | None] = []
    for i, entry in enumerate(entries):
        if entry is None:
            out.append(None)
            continue
        if isinstance(entry, gpd.GeoDataFrame | gpd.GeoSeries):
            if entry.crs is None:
                raise InputError(f"points[{i}] has no CRS; declare one (for example crs='EPSG:4326')")
            geoms = entry.geometry.to_numpy()
            geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
            if len(geoms) == 0:
                out.append(None)
                continue
            if not (shapely.get_type_id(geoms) == 0).all():
                raise InputError(f"points[{i}] holds non-point geometries (expected Points)")
            xy = shapely.get_coordinates(geoms)
            tr = _transformer(CRS.from_user_input(entry.crs).to_wkt(), metric.to_wkt())
        else:
            arr = np.asarray(entry)
            if arr.dtype == object:
                try:
                    arr = shapely.get_coordinates(arr.ravel())
                except (TypeError, shapely.errors.GEOSException) as exc:
                    raise InputError(f"points[{i}] is neither (x, y) coordinates nor shapely Points") from exc
            if arr.size == 0:
                out.append(None)
                continue
            if arr.ndim != 2 or arr.shape[1] != 2 or not np.issubdtype(arr.dtype, np.number):
                raise InputError(f"points[{i}] must be an (n, 2) array of x, y in the polygons' CRS; got {arr.shape}")
            xy = arr.astype(np.float64)
            tr = to_metric_xy
        if not np.isfinite(xy).all():
            raise InputError(f"points[{i}] has missing or infinite coordinates")
        mx, my = tr.transform(xy[:, 0], xy[:, 1])
        out.append(np.column_stack([mx, my]))
    return out


def _extent(polys: np.ndarray, members: list[np.ndarray | None]) -> tuple[float, float, float, float]:
    bounds = shapely.bounds(polys)
    lo = bounds[:, :2].min(axis=0)
    hi = bounds[:, 2:].max(axis=0)
    for xy in members:
        if xy is not None:
            lo = np.minimum(lo, xy.min(axis=0))
            hi = np.maximum(hi, xy.max(axis=0))
    return (lo[0] - _MARGIN_M, lo[1] - _MARGIN_M, hi[0] + _MARGIN_M, hi[1] + _MARGIN_M)


def _rank(codes: np.ndarray, scores: np.ndarray) -> list[tuple[float, int]]:
    """(score, code) per street, best first: highest score, then the alphabetically first name."""
    uniq, inverse = np.unique(codes, return_inverse=True)
    totals = np.zeros(len(uniq))
    np.add.at(totals, inverse, scores)
    order = np.lexsort((uniq, -totals))
    return [(float(totals[k]), int(uniq[k])) for k in order]


def _vote(streets: _Streets, xy: np.ndarray) -> list[tuple[float, int]]:
    """Votes per street: each point for its nearest named street within STREET_RADIUS_M."""
    pts = shapely.points(xy)
    pi, li = streets.tree.query(pts, predicate="dwithin", distance=STREET_RADIUS_M)
    if len(pi) == 0:
        return []
    dist = shapely.distance(pts[pi], streets.geoms[li])
    codes = streets.codes[li]
    order = np.lexsort((codes, dist, pi))  # per point: nearest first, then by name
    _, first = np.unique(pi[order], return_index=True)
    winners = codes[order][first]
    return _rank(winners, np.ones(len(winners)))


def _lengths(streets: _Streets, polygon: shapely.Geometry) -> list[tuple[float, int]]:
    """Street length (m) inside the buffered polygon, or nearest street within STREET_RADIUS_M."""
    zone = shapely.buffer(polygon, POLYGON_BUFFER_M)
    hits = np.sort(streets.tree.query(zone, predicate="intersects"))
    if len(hits):
        inside = shapely.length(shapely.intersection(streets.geoms[hits], zone))
        ranked = [r for r in _rank(streets.codes[hits], inside) if r[0] > 0]
        if ranked:
            return ranked
    hits = np.sort(streets.tree.query(polygon, predicate="dwithin", distance=STREET_RADIUS_M))
    if len(hits) == 0:
        return []
    dist = shapely.distance(streets.geoms[hits], polygon)
    best = min(zip(dist, streets.codes[hits], strict=True))
    return [(0.0, int(best[1]))]


def _meeting(
    streets: _Streets,
    primary: int,
    region: shapely.Geometry,
    centre: shapely.Point,
    exclude: tuple[int, ...],
) -> tuple[float, int] | None:
    """Find the named street (other than ``exclude``) meeting ``primary`` nearest ``centre``.

    The meeting point lies inside ``region``; returns ``(distance of the meeting point to
    centre, street code)``.
    """
    hits = streets.tree.query(region, predicate="intersects")
    if len(hits) == 0:
        return None
    codes = streets.codes[hits]
    prim = hits[codes == primary]
    others = hits[~np.isin(codes, (primary, *exclude))]
    if len(prim) == 0 or len(others) == 0:
        return None
    primary_lines = shapely.union_all(streets.geoms[np.sort(prim)])
    others = np.sort(others)
    touching = others[shapely.intersects(streets.geoms[others], primary_lines)]
    if len(touching) == 0:
        return None
    meets = shapely.intersection(streets.geoms[touching], primary_lines)
    parts, owner = shapely.get_parts(meets, return_index=True)
    is_point = shapely.get_type_id(parts) == 0  # overlaps (shared line pieces) are no crossing
    parts, owner = parts[is_point], owner[is_point]
    inside = shapely.covers(region, parts)
    parts, owner = parts[inside], owner[inside]
    if len(parts) == 0:
        return None
    dist = shapely.distance(parts, centre)
    best = min(zip(dist, streets.codes[touching][owner], strict=True))
    return float(best[0]), int(best[1])


def _coordinates(centre: shapely.Point, metric: CRS) -> str:
    lon, lat = _transformer(metric.to_wkt(), CRS.from_epsg(4326).to_wkt()).transform(centre.x, centre.y)
    return f"{lat:.5f}, {lon:.5f}"


def _name_one(
    polygon: shapely.Geometry,
    xy: np.ndarray | None,
    streets: _Streets,
    landmarks: _Landmarks,
    near: str,
    metric: CRS,
) -> _Place:
    centre = shapely.centroid(polygon)
    ranked = _vote(streets, xy) if xy is not None else _lengths(streets, polygon)
    if not ranked:
        landmark = landmarks.nearest(polygon, centre)
        label = f"{near} {landmark}" if landmark else _coordinates(centre, metric)
        return _Place(label, None, (), polygon, centre)
    primary = ranked[0][1]
    second: int | None = None
    if xy is not None and len(ranked) > 1 and ranked[1][0] >= SECOND_SHARE * len(xy):
        second = ranked[1][1]
    else:
        area = shapely.area(polygon)
        reach = max(INTERSECTION_MIN_M, INTERSECTION_SHARE * math.sqrt(area / math.pi))
        meeting = _meeting(streets, primary, polygon, centre, ()) if area > 0 else None
        if meeting is not None and meeting[0] <= reach:
            second = meeting[1]
    name = streets.names[primary]
    if second is None:
        return _Place(name, primary, (primary,), polygon, centre)
    label = name + _DASH + _short_second(name, streets.names[second])
    return _Place(label, primary, (primary, second), polygon, centre)


def _unique(places: list[_Place], streets: _Streets, near: str) -> list[str]:
    taken: set[str] = set()
    labels: list[str] = []
    for place in places:
        label = _nfc(place.label)
        if label in taken:
            base = label
            if place.primary is not None:
                region = shapely.buffer(place.centre, CROSS_RADIUS_M)
                cross = _meeting(streets, place.primary, region, place.centre, place.used)
                if cross is not None:
                    primary_name = streets.names[place.primary]
                    base = _nfc(f"{label} ({near} {_short_second(primary_name, streets.names[cross[1]])})")
            label = base
            k = 2
            while label in taken:
                label = f"{base} ({k})"
                k += 1
        taken.add(label)
        labels.append(label)
    return labels


def place_names(
    polygons: gpd.GeoSeries | gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    *,
    points: Sequence[np.ndarray | gpd.GeoSeries | None] | None = None,
    landmarks: gpd.GeoDataFrame | None = None,
    lang: str = "vi",
) -> list[str]:
    """Name each polygon after the street (or landmark) it lies on.

    The rules (primary and second street, prefixes, fallbacks, uniqueness, ties) are
    listed in the module docstring of :mod:`ward_geo.analysis.naming`.

    Parameters
    ----------
    polygons : GeoSeries or GeoDataFrame
        Hotspot polygons (any geometry type works), in any CRS, which must be set.
    streets : GeoDataFrame
        Street lines with a ``name`` column (str or null; a list gives its alphabetically
        first name), in any CRS, which must be set; for example
        :func:`ward_geo.streets.street_edges`. Unnamed rows are ignored.
    points : list, optional
        One entry per polygon, in the same order: the polygon's member incident points as
        a GeoSeries/GeoDataFrame of Points (with a CRS), an ``(n, 2)`` array of x, y in the
        polygons' CRS (lon, lat for EPSG:4326), or an array of shapely Points in the
        polygons' CRS. An entry that is None or empty names that polygon from its shape.
    landmarks : GeoDataFrame, optional
        Named points (for example bus stops from :func:`ward_geo.streets.read_bus_stops`)
        with a ``name`` column and a CRS, used when no named street is within 40 m.
    lang : {"vi", "en"}
        Language of the words ward_geo adds: "gần" / "near". Street and landmark names
        are never translated.

    Returns
    -------
    list of str
        One NFC-normalised name per polygon, in input order, all different.

    Raises
    ------
    InputError
        A layer is not a GeoSeries/GeoDataFrame or has no CRS; ``streets`` or
        ``landmarks`` has no ``name`` column; a polygon geometry is missing or empty;
        ``points`` does not have one entry per polygon, or an entry is not points.
    ParameterError
        ``lang`` is not "vi" or "en".

    Examples
    --------
    >>> from ward_geo.streets import load_street_graph, read_bus_stops, street_edges
    >>> edges = street_edges(load_street_graph())  # doctest: +SKIP
    >>> place_names(hotspots.geometry, edges, landmarks=read_bus_stops())  # doctest: +SKIP
    ['Phố Hàng Bạc – Mã Mây', 'Phố Hàng Bạc', 'gần Ngã ba Lê Thái Tổ']
    """
    if lang not in LANGUAGES:
        raise ParameterError(f"lang must be one of {', '.join(LANGUAGES)}; got {lang!r}")
    near = LANGUAGES[lang]
    frame = _as_frame(polygons, "polygons")
    street_frame = _named_layer(streets, "streets")
    landmark_frame = _named_layer(landmarks, "landmarks") if landmarks is not None else None
    n = len(frame)
    geoms = frame.geometry.to_numpy()
    bad = np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms)) if n else np.empty(0, dtype=np.int64)
    if len(bad):
        raise InputError(
            f"polygons {', '.join(map(str, bad[:20].tolist()))} have no geometry (missing or empty)",
            details={"positions": [int(b) for b in bad]},
        )
    entries = _points_list(points, n)
    if n == 0:
        return []
    metric = metric_crs_for(frame)
    polys = to_metric(frame, metric)[0].geometry.to_numpy()
    members = _member_xy(entries, CRS.from_user_input(frame.crs), metric)
    bounds = _extent(polys, members)
    street_index = _Streets.build(street_frame, bounds, metric)
    landmark_index = _Landmarks.build(landmark_frame, bounds, metric)
    places = [
        _name_one(polygon, xy, street_index, landmark_index, near, metric)
        for polygon, xy in zip(polys, members, strict=True)
    ]
    return _unique(places, street_index, near)
