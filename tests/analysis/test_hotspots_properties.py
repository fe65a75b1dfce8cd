"""Property tests: every hotspot polygon is valid and covers its members, ids ignore row order."""

from __future__ import annotations

import numpy as np
from _hotspot_fixtures import (  # noqa: F401  (fixtures)
    assert_members_inside,
    assert_valid_table,
    hanoi_wards,
    incidents_from_metres,
    ward_metric,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ward_geo.analysis.hotspots import find_hotspots


@st.composite
def layouts(draw):
    """Adversarial layouts in metres: blobs, lines, exact duplicates, far outliers."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["blob", "line", "same", "ring"]))
        n = draw(st.integers(1, 60))
        cx, cy = rng.uniform(0, 3000, 2)
        if kind == "blob":
            parts.append(rng.normal([cx, cy], draw(st.floats(0.5, 80)), size=(n, 2)))
        elif kind == "line":
            t = rng.uniform(0, draw(st.floats(1, 600)), n)
            a = rng.uniform(0, np.pi)
            parts.append(np.column_stack([cx + t * np.cos(a), cy + t * np.sin(a)]))
        elif kind == "same":
            parts.append(np.tile([cx, cy], (n, 1)))
        else:
            a = rng.uniform(0, 2 * np.pi, n)
            parts.append(np.column_stack([cx + 100 * np.cos(a), cy + 100 * np.sin(a)]))
    return np.round(np.vstack(parts), 2)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(xy=layouts(), eps=st.sampled_from([5.0, 20.0, 60.0]), min_samples=st.integers(1, 8),
       seed=st.integers(0, 1000))
def test_polygons_valid_and_ids_stable_for_any_layout(hanoi_wards, xy, eps, min_samples, seed):
    c = ward_metric(hanoi_wards, "phuong-hoan-kiem").representative_point()
    x0, y0 = c.x, c.y
    inc = incidents_from_metres(xy + [x0 - 1500, y0 - 1500])
    spots = find_hotspots(inc, eps=eps, min_samples=min_samples)
    assert_valid_table(spots, inc)
    assert_members_inside(spots, inc, tol_m=0.5)
    shuffled = find_hotspots(inc.sample(frac=1.0, random_state=seed), eps=eps, min_samples=min_samples)
    assert sorted(shuffled["hotspot_id"]) == sorted(spots["hotspot_id"])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(xy=layouts(), method=st.sampled_from(["kde", "gistar", "hdbscan"]))
def test_grid_and_hdbscan_polygons_valid_for_any_layout(hanoi_wards, xy, method):
    c = ward_metric(hanoi_wards, "phuong-hoan-kiem").representative_point()
    inc = incidents_from_metres(xy + [c.x - 1500, c.y - 1500])
    extra = {"permutations": 0} if method == "gistar" else {}
    if method == "hdbscan":
        extra = {"min_cluster_size": 5}
    spots = find_hotspots(inc, method=method, **extra)
    assert_valid_table(spots, inc)
    assert_members_inside(spots, inc, tol_m=1.0)
