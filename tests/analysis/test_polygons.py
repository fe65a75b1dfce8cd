"""Splitting clusters into patrol-sized pieces: :func:`bisect_groups` and :func:`hotspot_polygons`."""

from __future__ import annotations

import numpy as np
import shapely
from _hotspot_fixtures import cincinnati_burglary  # noqa: F401  (fixture)

from ward_geo.analysis.hotspots.polygons import _across, bisect_groups, hotspot_polygons, points_within


def _blob(rng: np.random.Generator, n: int, centre: tuple[float, float], sx: float, sy: float) -> np.ndarray:
    return rng.normal(centre, (sx, sy), size=(n, 2))


def test_pieces_partition_each_part_and_fit_the_limit():
    rng = np.random.default_rng(3)
    X = np.vstack([_blob(rng, 4000, (0, 0), 400, 120), _blob(rng, 300, (5000, 0), 30, 30),
                   _blob(rng, 2500, (0, 4000), 250, 250)])
    parts = [np.arange(0, 4000), np.arange(4000, 4300), np.arange(4300, 6800)]
    out = bisect_groups(X, parts, 200.0)
    assert len(out) == 3
    assert len(out[1]) == 1 and np.array_equal(out[1][0], parts[1])  # already small: untouched
    for part, pieces in zip(parts, out, strict=True):
        joined = np.concatenate(pieces)
        assert np.array_equal(np.sort(joined), part)  # every member in exactly one piece
        for piece in pieces:
            assert np.all(np.diff(piece) > 0)  # ascending member indices
            assert _across(X[piece])[0] <= 200.0 + 1e-9
    assert len(out[0]) >= 8 and len(out[2]) >= 6


def test_slices_hold_about_equal_counts_and_come_in_axis_order():
    rng = np.random.default_rng(5)
    X = np.column_stack([rng.uniform(0, 1000, 6000), rng.uniform(0, 10, 6000)])  # a 1 km street
    pieces = bisect_groups(X, [np.arange(6000)], 260.0)[0]
    assert len(pieces) == 4  # ceil(1000 / 260) slices, each short enough
    sizes = np.array([len(p) for p in pieces])
    assert sizes.min() > 0.9 * sizes.mean()
    centres = [X[p, 0].mean() for p in pieces]
    assert centres == sorted(centres) or centres == sorted(centres, reverse=True)


def test_members_at_one_position_stay_together_and_result_is_deterministic():
    rng = np.random.default_rng(8)
    stack = np.tile([[300.0, 0.0]], (500, 1))  # 500 incidents at one address
    X = np.vstack([_blob(rng, 1500, (0, 0), 300, 300), stack])
    part = [np.arange(len(X))]
    first = bisect_groups(X, part, 150.0)[0]
    again = bisect_groups(X[::1].copy(), part, 150.0)[0]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    holders = [i for i, p in enumerate(first) if np.isin(np.arange(1500, 2000), p).any()]
    assert len(holders) == 1


def test_hotspot_polygons_keep_members_inside_and_respect_the_caps():
    rng = np.random.default_rng(11)
    X = np.vstack([_blob(rng, 3000, (0, 0), 350, 350), _blob(rng, 60, (3000, 3000), 8, 8)])
    labels = np.r_[np.zeros(3000, dtype=np.int64), np.ones(60, dtype=np.int64)]
    out, polys, parent = hotspot_polygons(X, labels, max_across_m=250.0, max_area_m2=40_000.0)
    assert len(polys) == len(parent) > 2
    assert set(parent.tolist()) == {0, 1}
    assert (shapely.area(polys) <= 40_000.0 + 1e-6).all()
    for g, poly in enumerate(polys):
        members = shapely.points(X[out == g])
        assert shapely.covers(poly, members).all()


def _strtree_pairs(polygons: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pts, polys = shapely.STRtree(polygons).query(shapely.points(xy), predicate="within")
    order = np.lexsort((polys, pts))
    return pts[order], polys[order]


def test_points_within_equals_the_strtree_query_on_real_hotspots(cincinnati_burglary):
    from ward_geo.analysis.hotspots import find_hotspots

    spots = find_hotspots(cincinnati_burglary, method="dbscan", eps=100, min_samples=4)
    crs = spots.estimate_utm_crs()
    polygons = np.asarray(spots.to_crs(crs).geometry.values, dtype=object)
    xy = np.asarray(cincinnati_burglary.to_crs(crs).geometry.get_coordinates().to_numpy())
    assert len(polygons) > 10
    got = points_within(polygons, xy)
    want = _strtree_pairs(polygons, xy)
    assert len(got[0]) > 300
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_points_within_excludes_boundary_points_and_handles_overlaps_and_empties():
    square = shapely.box(0, 0, 10, 10)
    shifted = shapely.box(5, 5, 15, 15)
    polygons = np.array([square, shapely.Polygon(), shifted], dtype=object)
    xy = np.array([[1, 1], [10, 5], [7, 7], [0, 0], [14, 14], [20, 20], [5, 5.5]], dtype=float)
    got = points_within(polygons, xy)
    want = _strtree_pairs(polygons, xy)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    assert list(zip(got[0].tolist(), got[1].tolist(), strict=True)) == [(0, 0), (2, 0), (2, 2), (4, 2), (6, 0)]
    empty = points_within(polygons[:0], xy)
    assert len(empty[0]) == 0 and len(points_within(polygons, xy[:0])[0]) == 0
