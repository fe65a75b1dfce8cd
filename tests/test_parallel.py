"""Threads for array geometry steps: the same results as one call in one thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import shapely

from ward_geo import settings
from ward_geo.analysis.hotspots.polygons import hotspot_polygons
from ward_geo.analysis.hotspots.request import metric_xy
from ward_geo.parallel import cost_slices, map_in_threads, start_in_thread, thread_count


@pytest.fixture
def threads(monkeypatch):
    def use(n: int) -> None:
        monkeypatch.setenv("WARD_GEO_THREADS", str(n))
        settings.reset_settings()

    yield use
    monkeypatch.delenv("WARD_GEO_THREADS", raising=False)
    settings.reset_settings()


def test_cost_slices_cover_every_item_once_in_order():
    rng = np.random.default_rng(0)
    costs = rng.integers(0, 50, 1000)
    for parts in (1, 2, 3, 7, 5000):
        slices = cost_slices(costs, parts)
        assert 1 <= len(slices) <= min(parts, len(costs))
        covered = np.concatenate([np.arange(len(costs))[s] for s in slices])
        assert np.array_equal(covered, np.arange(len(costs)))
    halves = cost_slices(np.r_[np.full(10, 1.0), np.full(10, 3.0)], 2)
    assert [s.stop - s.start for s in halves] == [13, 7]  # 10 + 3*3 = 19 vs 21: balanced by cost
    assert cost_slices(np.array([]), 4) == []


def test_map_and_start_run_everything_and_pass_errors(threads):
    threads(2)
    assert thread_count() == 2
    seen: set[str] = set()

    def square(v: int) -> int:
        seen.add(threading.current_thread().name)
        return v * v

    assert map_in_threads(square, list(range(6))) == [v * v for v in range(6)]
    assert len(seen) == 2  # the calling thread and a pool worker
    assert start_in_thread(square, 7).result() == 49

    def fail(_v: int) -> int:
        raise ValueError("bad item")

    with pytest.raises(ValueError, match="bad item"):
        map_in_threads(fail, [1, 2])
    with pytest.raises(ValueError, match="bad item"):
        start_in_thread(fail, 1).result()
    threads(1)
    seen.clear()
    assert map_in_threads(square, [1, 2, 3]) == [1, 4, 9]
    assert seen == {threading.current_thread().name}


def test_polygons_and_projection_do_not_depend_on_the_thread_count(threads):
    rng = np.random.default_rng(11)
    # big wide clusters (split on the calling thread) and many small ones (drawn on the pool),
    # over 20,000 distinct positions so the hulls are drawn in chunks
    blobs = [rng.normal((i * 3000.0, 0.0), (400.0, 150.0), size=(6000, 2)) for i in range(4)]
    blobs += [rng.normal((j * 400.0, 9000.0), 20.0, size=(60, 2)) for j in range(300)]
    X = np.vstack(blobs)
    labels = np.concatenate([np.full(len(b), i) for i, b in enumerate(blobs)])
    results = {}
    for n in (1, 2, 3):
        threads(n)
        out_labels, polys, parents = hotspot_polygons(X, labels)
        results[n] = (out_labels, shapely.to_wkb(polys), parents)
    out_labels, wkb, _parents = results[1]
    polys = shapely.from_wkb(wkb)
    assert len(polys) > 300
    for g in range(len(polys)):  # every polygon drawn around its own members
        assert shapely.contains_xy(polys[g], X[out_labels == g][:, 0], X[out_labels == g][:, 1]).all()
    for n in (2, 3):
        assert np.array_equal(results[n][0], results[1][0])
        assert list(results[n][1]) == list(results[1][1])
        assert np.array_equal(results[n][2], results[1][2])

    import geopandas as gpd

    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(rng.uniform(105.80, 105.86, 250_000),
                                                       rng.uniform(21.00, 21.05, 250_000)), crs=4326)
    threads(1)
    one, crs_one = metric_xy(pts)
    threads(2)
    two, crs_two = metric_xy(pts)
    assert crs_one == crs_two
    assert np.array_equal(one, two)

    from ward_geo.analysis.hotspots.request import transform_geometries

    threads(1)
    expected = shapely.to_wkb(gpd.GeoSeries(polys, crs=crs_one).to_crs(4326).values)
    for n in (1, 2):
        threads(n)
        assert list(shapely.to_wkb(transform_geometries(polys, crs_one, 4326))) == list(expected)
