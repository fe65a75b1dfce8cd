"""From cluster labels to patrol-sized hotspot polygons.

:func:`hotspot_polygons` is the one place where any method's output (a label per incident)
becomes the polygons users act on. Three rules, in this order:

1. **Split at density peaks.** Hot-spots policing works at the scale of a street segment or a
   corner (Sherman & Weisburd 1995; Braga et al. 2019), so a cluster wider than
   ``max_across_m`` (default 250 m) is split. Members are binned on cells of
   ``max_across_m / 10`` and each cell climbs to the densest cell within two cells (quick
   shift, Vedaldi & Soatto 2008, on the binned counts smoothed over a 3 × 3 window); every
   peak keeps the cells that climb to it. Basins with fewer than ``min_members`` members join
   the basin of their nearest member elsewhere.
2. **Bisect what is still too large.** A group still wider than ``max_across_m``, or whose
   polygon covers more than ``max_area_m2`` (5 % of the study area by default), is cut in two
   at the median along its principal axis (a bin edge within 1/256 of its length, so members at
   one position stay together), recursively, all groups at once.
3. **Hug the members.** A polygon is the concave hull (``concave_ratio``) of the group's
   distinct positions buffered by ``buffer_m`` (default 15 m): one address gives a disc, one
   street a capsule along it. Large groups are snapped to a fine grid first so hulls stay fast;
   the buffer grows by what snapping could move a member, so every member stays inside.

Every member of a cluster ends in at most one output group. When a cluster is split, parts with
fewer than ``min_members`` incidents (default 3) are not hotspots of their own: their incidents
are left unclustered (counted in ``n_noise`` of the table's parameters), never moved elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from ward_geo.parallel import cost_slices, map_in_threads, start_in_thread, thread_count

__all__ = [
    "hotspot_polygons",
    "member_polygons",
    "single_polygons",
    "points_within",
    "MIN_BUFFER_M",
    "DEFAULT_MAX_ACROSS_M",
    "DEFAULT_MAX_AREA_SHARE",
]

#: Buffer around the members of a hotspot (metres): one address becomes a disc of this radius.
MIN_BUFFER_M = 15.0
#: Widest default hotspot (metres): a street segment or a corner, walkable in a few minutes.
DEFAULT_MAX_ACROSS_M = 250.0
#: Largest share of the study area one hotspot may cover.
DEFAULT_MAX_AREA_SHARE = 0.05
#: Groups with more members than this are snapped to a grid of ``buffer / 2`` before the hull
#: (at most 5.3 m moved inside a 15 m buffer, so every member stays inside; far faster hulls).
SNAP_ABOVE = 64
MAX_HULL_POINTS = 2_000
#: Fewest distinct member positions for which hulls are drawn on several threads.
_THREADED_POSITIONS = 20_000
#: Depth limit of the bisection: halving reaches single members first for up to 2**24 members, so
#: every piece ends at most ``max_across_m`` wide (a limit of 12 left sparse tails of big clusters
#: as wide pairs).
_MAX_DEPTH = 24

_OFFSETS = np.array([(dx, dy) for dx in range(-2, 3) for dy in range(-2, 3)
                     if (dx, dy) != (0, 0) and dx * dx + dy * dy <= 5], dtype=np.int64)


def _across(points: np.ndarray) -> tuple[float, np.ndarray]:
    """Longest side of the principal-axis box of ``points`` and the major axis."""
    if len(points) < 2:
        return 0.0, np.array([1.0, 0.0])
    centred = points - points.mean(axis=0)
    cov = centred.T @ centred
    if not np.isfinite(cov).all() or float(np.abs(cov).max()) < 1e-12:
        return 0.0, np.array([1.0, 0.0])
    _vals, vecs = np.linalg.eigh(cov)
    axes = vecs[:, ::-1]
    proj = centred @ axes
    extent = proj.max(axis=0) - proj.min(axis=0)
    return float(extent.max()), axes[:, int(np.argmax(extent))]


def _cell_keys(ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
    return (ix.astype(np.int64) << 32) + iy.astype(np.int64)


def _peak_basins(points: np.ndarray, cell: float, min_members: int) -> np.ndarray:
    """Basin index of each point: binned quick shift to the densest cell within two cells."""
    q = np.floor((points - points.min(axis=0)) / cell).astype(np.int64)
    keys = _cell_keys(q[:, 0], q[:, 1])
    ukeys, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    cx = (ukeys >> 32).astype(np.int64)
    cy = (ukeys - (cx << 32)).astype(np.int64)
    n = len(ukeys)

    def lookup(dx: int, dy: int) -> np.ndarray:
        probe = _cell_keys(cx + dx, cy + dy)
        pos = np.searchsorted(ukeys, probe)
        pos = np.minimum(pos, n - 1)
        return np.where(ukeys[pos] == probe, pos, -1)

    smooth = counts.astype(np.float64).copy()
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            if dx or dy:
                nb = lookup(dx, dy)
                smooth += np.where(nb >= 0, counts[np.maximum(nb, 0)], 0)
    # parent: the densest neighbour within two cells that is denser (ties: lower cell key)
    parent = np.arange(n)
    best = smooth.copy()
    for dx, dy in _OFFSETS:
        nb = lookup(int(dx), int(dy))
        ok = nb >= 0
        cand = np.where(ok, smooth[np.maximum(nb, 0)], -np.inf)
        better = ok & ((cand > best) | ((cand == best) & (cand > smooth) & (nb < parent)))
        parent = np.where(better, nb, parent)
        best = np.where(better, cand, best)
    for _ in range(64):  # pointer jumping to the roots
        nxt = parent[parent]
        if np.array_equal(nxt, parent):
            break
        parent = nxt
    _, basin_of_cell = np.unique(parent, return_inverse=True)
    basin = basin_of_cell.ravel()[inverse]
    sizes = np.bincount(basin)
    small = sizes < min_members
    if small.any() and (~small).any():
        big_pts = np.flatnonzero(~small[basin])
        from scipy.spatial import cKDTree

        tree = cKDTree(points[big_pts])
        lonely = np.flatnonzero(small[basin])
        _d, nearest = tree.query(points[lonely], k=1)
        basin[lonely] = basin[big_pts[np.asarray(nearest, dtype=np.int64)]]
        _, basin = np.unique(basin, return_inverse=True)
    return basin.ravel()


def _group_shapes(P: np.ndarray, node: np.ndarray, starts: np.ndarray, counts: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Box diagonal, principal-axis width and position along the major axis, for every group at once.

    ``P`` holds the points sorted by group (``node``), group ``j`` being rows
    ``starts[j] : starts[j] + counts[j]`` (no group is empty). The width is the longest side of
    the box along the eigenvectors of the group's scatter matrix, as :func:`_across` computes
    for one group; degenerate groups (one position) have width 0. The third array is each
    point's coordinate along its group's major axis (from the group's mean).
    """
    m = len(counts)
    lo = np.minimum.reduceat(P, starts, axis=0)
    hi = np.maximum.reduceat(P, starts, axis=0)
    diag = np.hypot(hi[:, 0] - lo[:, 0], hi[:, 1] - lo[:, 1])
    mean = np.column_stack([np.bincount(node, P[:, 0], m), np.bincount(node, P[:, 1], m)]) / counts[:, None]
    C = P - mean[node]
    cov = np.empty((m, 2, 2))
    cov[:, 0, 0] = np.bincount(node, C[:, 0] * C[:, 0], m)
    cov[:, 1, 1] = np.bincount(node, C[:, 1] * C[:, 1], m)
    cov[:, 0, 1] = cov[:, 1, 0] = np.bincount(node, C[:, 0] * C[:, 1], m)
    degenerate = (counts < 2) | ~np.isfinite(cov).all(axis=(1, 2)) | (np.abs(cov).max(axis=(1, 2)) < 1e-12)
    cov[degenerate] = np.eye(2)
    _vals, vecs = np.linalg.eigh(cov)
    axes = vecs[:, :, ::-1]
    # coordinates along both axes (axes[:, :, a] is axis a): per-group factors, no (n, 2, 2) gather
    proj = np.column_stack([C[:, 0] * axes[node, 0, 0] + C[:, 1] * axes[node, 1, 0],
                            C[:, 0] * axes[node, 0, 1] + C[:, 1] * axes[node, 1, 1]])
    extent = np.maximum.reduceat(proj, starts, axis=0) - np.minimum.reduceat(proj, starts, axis=0)
    major = np.argmax(extent, axis=1)
    width = np.where(degenerate, 0.0, extent.max(axis=1))
    along = np.where(major[node] == 0, proj[:, 0], proj[:, 1])
    return diag, width, along


#: Bins along the major axis in which :func:`bisect_groups` places its cuts.
_CUT_BINS = 256
#: Most slices one group is cut into at one level. 2 = halving at the median. More slices per level
#: take fewer levels (faster) but scored worse on held-out data: 16 gave Cincinnati burglary 1.30x
#: prior counts at 5 % of the city against 1.59x for halving (benchmarks/bench_accuracy.py).
_MAX_SLICES = 2
_SLICE_BITS = max(1, (_MAX_SLICES - 1).bit_length())


def bisect_groups(
    points: np.ndarray, parts: list[np.ndarray], limit: float | Sequence[float] | np.ndarray
) -> list[list[np.ndarray]]:
    """Cut each part across its principal axis until every piece is at most ``limit`` across.

    All parts are cut together, one level at a time (vectorised over groups, no sort). A piece
    stops when its box diagonal or its principal-axis width is at most its limit, when it has
    one member, or after ``_MAX_DEPTH`` levels. Otherwise it is cut across its major axis into
    ``min(ceil(width / limit), _MAX_SLICES)`` slices (at least 2) holding about equal numbers of
    members: with the default ``_MAX_SLICES = 2``, the two halves at the median. Cuts fall on the
    edges of ``_CUT_BINS`` equal bins along the axis (within 1/256 of the length from the exact
    quantile), so members at one position stay together, and every slice is cut again at the next
    level along its own major axis.

    Parameters
    ----------
    points : ndarray, shape (n, 2)
        Positions in metres.
    parts : list of ndarray of int
        Member indices (into ``points``) of each part to cut.
    limit : float or ndarray
        Widest piece (metres), one for all parts or one per part.

    Returns
    -------
    list of list of ndarray
        For every part, its pieces (member indices in ascending order) in a deterministic order:
        slices along the major axis from its lower end, each slice's own pieces together.
    """
    n_parts = len(parts)
    limits = np.broadcast_to(np.asarray(limit, dtype=np.float64), (n_parts,))
    pieces: list[list[tuple[int, np.ndarray]]] = [[] for _ in range(n_parts)]
    sizes = np.array([len(p) for p in parts], dtype=np.int64)
    live = np.flatnonzero(sizes > 0)
    for empty in np.flatnonzero(sizes == 0).tolist():
        pieces[empty].append((0, np.asarray(parts[empty], dtype=np.int64)))
    if len(live):
        idx = np.concatenate([np.sort(np.asarray(parts[int(j)], dtype=np.int64)) for j in live])
        node = np.repeat(np.arange(len(live)), sizes[live])
        P = points[idx]
        root = live.copy()
        path = np.zeros(len(live), dtype=np.int64)  # _SLICE_BITS per level: the slice taken at each level
        for depth in range(_MAX_DEPTH + 1):
            m = len(root)
            counts = np.bincount(node, minlength=m)
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            diag, width, along = _group_shapes(P, node, starts, counts)
            lim = limits[root]
            stop = (counts < 2) | (diag <= lim) | (width <= lim) | (depth >= _MAX_DEPTH)
            shift = _SLICE_BITS * (_MAX_DEPTH - depth)
            for j in np.flatnonzero(stop).tolist():
                pieces[int(root[j])].append((int(path[j]) << shift, idx[starts[j]:starts[j] + counts[j]]))
            go = ~stop
            if not go.any():
                break
            keep = go[node]
            split = np.flatnonzero(go)
            renumber = np.full(m, -1, dtype=np.int64)
            renumber[split] = np.arange(len(split))
            n_slices = np.clip(np.ceil(width[split] / np.maximum(lim[split], 1e-9)), 2, _MAX_SLICES).astype(np.int64)
            idx, P, node, root, path = _slice(idx[keep], P[keep], along[keep], renumber[node[keep]],
                                              root[split], path[split], n_slices)
    return [[p for _k, p in sorted(group, key=lambda t: t[0])] for group in pieces]


def _slice(idx: np.ndarray, P: np.ndarray, along: np.ndarray, node: np.ndarray, root: np.ndarray,
           path: np.ndarray, n_slices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One level of :func:`bisect_groups`: group ``j`` (contiguous in ``node``) into ``n_slices[j]``."""
    m = len(root)
    counts = np.bincount(node, minlength=m)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    lo = np.minimum.reduceat(along, starts)
    hi = np.maximum.reduceat(along, starts)
    span = np.where(hi > lo, hi - lo, 1.0)
    b = np.minimum(((along - lo[node]) / span[node] * _CUT_BINS).astype(np.int64), _CUT_BINS - 1)
    per_bin = np.bincount(node * _CUT_BINS + b, minlength=m * _CUT_BINS).reshape(m, _CUT_BINS)
    before = np.cumsum(per_bin, axis=1) - per_bin  # members in the bins below each bin
    # slice of a bin: by the rank of its first member, so slices hold about equal counts
    slice_of_bin = np.minimum(before * n_slices[:, None] // counts[:, None], n_slices[:, None] - 1)
    one = slice_of_bin.max(axis=1) == 0  # (almost) every member in the top bin: split that bin off
    if one.any():
        slice_of_bin[one] = (np.arange(_CUT_BINS)[None, :] == _CUT_BINS - 1).astype(np.int64)
    piece = slice_of_bin[node, b]
    key = node * _MAX_SLICES + piece
    occupied = np.bincount(key, minlength=m * _MAX_SLICES) > 0
    child = np.cumsum(occupied) - 1  # children numbered in (group, slice) order
    new_node = child[key]
    order = np.argsort(new_node.astype(np.uint16) if len(occupied) <= 65_536 else new_node, kind="stable")
    keys = np.flatnonzero(occupied)
    new_root = root[keys // _MAX_SLICES]
    new_path = (path[keys // _MAX_SLICES] << _SLICE_BITS) | (keys % _MAX_SLICES)
    return idx[order], P[order], new_node[order], new_root, new_path


def _distinct_positions(
    X: np.ndarray, labels: np.ndarray, k: int, buffer_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct member positions per group, their group, and each group's buffer."""
    m = labels >= 0
    lab = labels[m]
    pts = X[m]
    sizes = np.bincount(lab, minlength=k)
    lo = np.full((k, 2), np.inf)
    hi = np.full((k, 2), -np.inf)
    if len(lab):
        if np.any(lab[1:] < lab[:-1]):
            by_label = np.argsort(lab, kind="stable")
            lab, pts = lab[by_label], pts[by_label]
        firsts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
        lo[lab[firsts]] = np.minimum.reduceat(pts, firsts, axis=0)
        hi[lab[firsts]] = np.maximum.reduceat(pts, firsts, axis=0)
    extent = np.prod(np.maximum(hi - lo, 1.0), axis=1)
    cell_k = np.where(
        sizes > SNAP_ABOVE,
        np.maximum(max(buffer_m / 2.0, 0.5), np.sqrt(extent / MAX_HULL_POINTS)),
        0.5,
    )
    buffers = buffer_m + np.maximum(0.0, cell_k * math.sqrt(0.5) - buffer_m / 2.0)
    cell = cell_k[lab]
    q = np.floor((pts - lo[lab]) / cell[:, None]).astype(np.int64)
    if len(q) and int(q.max()) < 2**21 and k < 2**21:
        key = (lab.astype(np.int64) << 42) | (q[:, 0] << 21) | q[:, 1]
        _, first = np.unique(key, return_index=True)
    else:
        _, first = np.unique(np.column_stack([lab, q]), axis=0, return_index=True)
    first = first[np.argsort(lab[first], kind="stable")]
    coords = lo[lab[first]] + (q[first] + 0.5) * cell[first, None]
    small = sizes[lab[first]] <= SNAP_ABOVE
    coords[small] = pts[first[small]]
    return coords, lab[first], buffers


def points_within(polygons: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (point, polygon) where point ``xy[i]`` lies within polygon ``polygons[j]``.

    The same pairs as ``shapely.STRtree(polygons).query(shapely.points(xy), predicate="within")``
    (a point on a polygon's boundary is not within it), ordered by point and then polygon, but no
    point geometry is built: the points are sorted by x once, each polygon tests only the points
    inside its bounding box, with :func:`shapely.contains_xy` on the prepared polygon.

    Parameters
    ----------
    polygons : ndarray of shapely geometries
        Polygons (missing or empty entries contain nothing).
    xy : ndarray, shape (n, 2)
        Point coordinates in the polygons' CRS.

    Returns
    -------
    tuple of ndarray of int64
        Point indices and polygon indices of every pair.
    """
    none = np.empty(0, dtype=np.int64)
    if len(polygons) == 0 or len(xy) == 0:
        return none, none
    by_x = np.argsort(xy[:, 0], kind="stable")
    xs = xy[by_x, 0]
    bounds = shapely.bounds(polygons)
    lo = np.searchsorted(xs, bounds[:, 0], side="left")
    hi = np.searchsorted(xs, bounds[:, 2], side="right")
    pts: list[np.ndarray] = []
    polys: list[np.ndarray] = []
    for j in np.flatnonzero(hi > lo).tolist():
        cand = by_x[lo[j]:hi[j]]
        y = xy[cand, 1]
        cand = cand[(y >= bounds[j, 1]) & (y <= bounds[j, 3])]
        if not len(cand):
            continue
        poly = polygons[j]
        shapely.prepare(poly)
        inside = cand[shapely.contains_xy(poly, xy[cand, 0], xy[cand, 1])]
        if len(inside):
            pts.append(inside)
            polys.append(np.full(len(inside), j, dtype=np.int64))
    if not pts:
        return none, none
    pt = np.concatenate(pts).astype(np.int64)
    poly_of = np.concatenate(polys)
    order = np.lexsort((poly_of, pt))
    return pt[order], poly_of[order]


def single_polygons(polys: np.ndarray) -> np.ndarray:
    """One Polygon per entry: parts are merged; disjoint parts become their convex hull."""
    types = shapely.get_type_id(polys)
    out = np.asarray(polys, dtype=object).copy()
    for i in np.flatnonzero(types != 3):
        parts = [p for p in shapely.get_parts(polys[i]) if shapely.get_type_id(p) == 3]
        if not parts:
            out[i] = shapely.buffer(polys[i], MIN_BUFFER_M)
            continue
        merged = shapely.union_all(parts)
        out[i] = merged if shapely.get_type_id(merged) == 3 else shapely.convex_hull(merged)
    return out


def member_polygons(X: np.ndarray, labels: np.ndarray, k: int, buffer_m: float = MIN_BUFFER_M,
                    concave_ratio: float = 0.3) -> np.ndarray:
    """Buffered concave hull of each group's members (metric), one Polygon per label 0..k-1."""
    if k == 0:
        return np.empty(0, dtype=object)
    coords, owner, buffers = _distinct_positions(X, labels, k, buffer_m)
    sizes = np.bincount(owner, minlength=k)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    # the hull is the costly part (a Delaunay triangulation per group): groups are drawn in a
    # few contiguous chunks of similar size on the GEOS threads, each independent of the rest
    chunks = cost_slices(sizes, thread_count()) if len(coords) >= _THREADED_POSITIONS else [slice(0, k)]

    def draw(groups: slice) -> np.ndarray:
        lo, hi = offsets[groups.start], offsets[groups.stop]
        multipoints = shapely.multipoints(coords[lo:hi], indices=owner[lo:hi] - groups.start)
        if concave_ratio < 1.0:
            hulls = shapely.concave_hull(multipoints, ratio=concave_ratio)
        else:
            hulls = shapely.convex_hull(multipoints)
        polys = shapely.buffer(hulls, buffers[groups], quad_segs=8)
        bad = ~shapely.is_valid(polys)
        if bad.any():
            polys[bad] = shapely.make_valid(polys[bad])
        return np.asarray(polys, dtype=object)

    polys = np.concatenate(map_in_threads(draw, chunks))
    return single_polygons(polys)


def hotspot_polygons(
    X: np.ndarray,
    labels: np.ndarray,
    *,
    buffer_m: float = MIN_BUFFER_M,
    max_across_m: float | None = DEFAULT_MAX_ACROSS_M,
    max_area_m2: float | None = None,
    concave_ratio: float = 0.3,
    min_members: int = 3,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split clusters into patrol-sized groups and draw a polygon hugging each.

    Parameters
    ----------
    X : ndarray, shape (n, 2)
        Incident positions in metres.
    labels : ndarray of int, shape (n,)
        Cluster of each incident (0..k-1), -1 for none.
    buffer_m : float, default 15
        Buffer around the members' hull (metres).
    max_across_m : float or None, default 250
        Widest hotspot (principal-axis box side plus the buffer on both sides); ``None`` keeps
        clusters whole.
    max_area_m2 : float, optional
        Largest polygon area (m²); groups above it are bisected further.
    concave_ratio : float, default 0.3
        Concave-hull ratio (1 = convex hull).
    min_members : int, default 3
        Fewest members of a density basin kept on its own when splitting, and of a part of a
        split cluster (smaller parts are left unclustered).

    Returns
    -------
    labels : ndarray of int, shape (n,)
        Group of each incident (0..m-1), -1 for none; groups are numbered by original cluster,
        then along each cluster's split order (deterministic).
    polygons : ndarray of shapely Polygon, shape (m,)
        One polygon per group, in the metric CRS of ``X``.
    parent : ndarray of int, shape (m,)
        The input cluster each group came from.
    """
    X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
    labels = np.asarray(labels, dtype=np.int64)
    k = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
    if k == 0:
        return np.full(len(labels), -1, dtype=np.int64), np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
    limit = None if max_across_m is None else max(float(max_across_m) - 2.0 * buffer_m, 0.0)
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.searchsorted(sorted_labels, np.arange(k))
    ends = np.searchsorted(sorted_labels, np.arange(k), side="right")
    present = np.flatnonzero(ends > starts)
    wide = np.zeros(k, dtype=bool)
    if limit is not None and len(present):
        wide[present] = _wider_than(X[order[sorted_labels >= 0]], (ends - starts)[present], limit)
    # clusters kept whole are drawn on a pool thread (GEOS releases the GIL) while the wide ones
    # are split; every polygon depends on its own members only, so the order of work is free
    whole = [c for c in present.tolist() if not wide[c]]
    whole_drawn = start_in_thread(_draw_groups, X, [order[starts[c]:ends[c]] for c in whole], buffer_m,
                                  concave_ratio)
    # wide clusters: split at their density peaks, then halve what is still too wide
    basins_of: dict[int, list[np.ndarray]] = {}
    if limit is not None:
        cell = max(float(max_across_m) / 10.0, 1.0)  # type: ignore[arg-type]
        for c in np.flatnonzero(wide).tolist():
            idx = order[starts[c]:ends[c]]
            basins = _peak_basins(X[idx], cell, min_members)
            basins_of[c] = [idx[basins == b] for b in range(int(basins.max()) + 1)]
    flat = [part for c in basins_of for part in basins_of[c]]
    cut = iter(bisect_groups(X, flat, limit) if flat and limit is not None else [])
    groups: list[np.ndarray] = []
    parents: list[int] = []
    is_whole: list[bool] = []
    for c in present.tolist():
        if c in basins_of:
            parts = [piece for _basin in basins_of[c] for piece in next(cut)]
        else:
            parts = [order[starts[c]:ends[c]]]
        if len(parts) > 1:
            # fragments of a split cluster with too few members are not hotspots of their own
            # (a cluster too sparse to leave any patrol-sized part gives no hotspot)
            parts = [p for p in parts if len(p) >= min_members]
        groups.extend(parts)
        parents.extend([c] * len(parts))
        is_whole.extend([c not in basins_of] * len(parts))
    whole_at = np.asarray(is_whole, dtype=bool)
    polygons = np.empty(len(groups), dtype=object)
    polygons[~whole_at] = _draw_groups(X, [g for g, w in zip(groups, is_whole, strict=True) if not w],
                                       buffer_m, concave_ratio)
    polygons[whole_at] = whole_drawn.result()
    if max_area_m2 is not None:
        groups, parents, polygons = _cap_area(X, groups, parents, polygons, max_area_m2,
                                              _Drawing(buffer_m, concave_ratio, min_members))
    out_labels = np.full(len(labels), -1, dtype=np.int64)
    for g, idx in enumerate(groups):
        out_labels[idx] = g
    return out_labels, polygons, np.asarray(parents, dtype=np.int64)


def _wider_than(P: np.ndarray, counts: np.ndarray, limit: float) -> np.ndarray:
    """Whether each run of ``counts`` consecutive points of ``P`` is wider than ``limit``."""
    # the box diagonal bounds the width: only clusters with a long diagonal need the axes
    wide = np.zeros(len(counts), dtype=bool)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    span = np.maximum.reduceat(P, first, axis=0) - np.minimum.reduceat(P, first, axis=0)
    long = np.flatnonzero(np.hypot(span[:, 0], span[:, 1]) > limit)
    if len(long):
        rows = np.concatenate([np.arange(first[j], first[j] + counts[j]) for j in long])
        node = np.repeat(np.arange(len(long)), counts[long])
        _diag, width, _along = _group_shapes(P[rows], node, np.concatenate([[0], np.cumsum(counts[long])[:-1]]),
                                             counts[long])
        wide[long] = width > limit
    return wide


@dataclass(frozen=True)
class _Drawing:
    """How hotspot polygons are drawn and the fewest members of a part kept."""

    buffer_m: float
    concave_ratio: float
    min_members: int


def _cap_area(X: np.ndarray, groups: list[np.ndarray], parents: list[int], polygons: np.ndarray,
              max_area_m2: float, drawing: _Drawing) -> tuple[list[np.ndarray], list[int], np.ndarray]:
    """Halve groups whose polygon exceeds ``max_area_m2`` until none does (or no split helps)."""
    for _round in range(_MAX_DEPTH):
        big = set(np.flatnonzero(shapely.area(polygons) > max_area_m2).tolist())
        if not big:
            break
        new_groups: list[np.ndarray] = []
        new_parents: list[int] = []
        new_polys: list[np.ndarray] = []
        changed = False
        big_order = sorted(big)
        halves = dict(zip(big_order, bisect_groups(
            X, [groups[g] for g in big_order], [_across(X[groups[g]])[0] / 2.0 for g in big_order]),
            strict=True))
        for g, (idx, par) in enumerate(zip(groups, parents, strict=True)):
            parts, redrawn = [idx], False
            if g in big:
                pieces = [p for p in halves[g] if len(p) >= drawing.min_members]
                if len(pieces) != 1 or len(pieces[0]) != len(idx):
                    parts, changed, redrawn = pieces, True, True
            new_groups.extend(parts)
            new_parents.extend([par] * len(parts))
            # only the parts that changed are drawn again
            new_polys.append(_draw_groups(X, parts, drawing.buffer_m, drawing.concave_ratio) if redrawn
                             else polygons[g:g + 1])
        groups, parents = new_groups, new_parents
        polygons = np.concatenate(new_polys) if new_polys else np.empty(0, dtype=object)
        if not changed:
            break
    return groups, parents, polygons


def _draw_groups(X: np.ndarray, groups: list[np.ndarray], buffer_m: float, concave_ratio: float) -> np.ndarray:
    """One polygon per group of member indices."""
    if not groups:
        return np.empty(0, dtype=object)
    idx = np.concatenate(groups)
    local = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    return member_polygons(X[idx], local, len(groups), buffer_m, concave_ratio)
