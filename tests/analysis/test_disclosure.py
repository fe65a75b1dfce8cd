"""The aggregate view of a hotspot table (pure functions)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ward_geo.analysis.hotspots.disclosure import (
    AggregatePolicy,
    aggregate_hotspots,
    clamp_parameters,
    coarsen_times,
    grid_cover,
)
from ward_geo.errors import ConfigurationError


def test_grid_cover_puts_every_vertex_on_the_grid_and_covers_the_shape():
    shape = shapely.Point(1234.5, 6789.1).buffer(37.0)
    cover = grid_cover(shape, 50.0)
    xy = shapely.get_coordinates(cover)
    assert np.allclose(xy / 50.0, np.round(xy / 50.0))
    assert cover.covers(shape)
    huge = shapely.box(0, 0, 1e6, 1e6)
    coarse = grid_cover(huge, 50.0, max_cells=100)
    assert shapely.get_coordinates(coarse).shape[0] <= 10 and coarse.covers(huge)


def _table() -> gpd.GeoDataFrame:
    frame = pd.DataFrame({
        "hotspot_id": ["a", "b", "c"], "rank": [1, 2, 3], "name": ["21.03456, 105.85123", "Phố Huế", "x"],
        "n_incidents": [12, 1, 7], "area_m2": [1.0, 1.0, 1.0], "density_per_km2": [1.0, 1.0, 1.0],
        "category_counts": [{"theft": 9, "drugs": 3}, {"theft": 1}, {"drugs": 7}],
        "first_seen": pd.to_datetime(["2025-03-01T13:37:00Z"] * 3), "last_seen": pd.to_datetime(["2025-04-02T08:01Z"] * 3),
        "peak_hours": [[1] * 24] * 3, "peak_weekdays": [[6, 1, 5, 0, 0, 0, 0]] * 3,
        "ward_shares": [[0.123456]] * 3, "member_ids": [["i1"], ["i2"], ["i3"]],
    })
    geoms = [shapely.Point(105.85 + i * 0.001, 21.03).buffer(0.0002) for i in range(3)]
    out = gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4326")
    out.attrs = {"params": {"until": "2025-04-02T08:01:00+00:00", "eps": 1.0}}
    return out


def test_aggregate_view_suppresses_and_coarsens():
    out = aggregate_hotspots(_table(), AggregatePolicy(k=5, grid_m=50.0))
    assert out["hotspot_id"].tolist() == ["a", "c"] and out["rank"].tolist() == [1, 2]
    assert out["category_counts"].tolist() == [{"theft": 9, "drugs": None}, {"drugs": 7}]
    assert out["peak_weekdays"].iloc[0] == [6, None, 5, 0, 0, 0, 0]
    assert out["peak_hours"].isna().all() and "member_ids" not in out.columns
    assert (out["first_seen"] == pd.Timestamp("2025-03-01", tz="UTC")).all()
    assert out["name"].iloc[0] != "21.03456, 105.85123" and out["name"].iloc[1] == "x"
    assert out.attrs["params"]["until"] == "2025-04-02"
    xy = shapely.get_coordinates(out.to_crs("EPSG:3405").geometry.array)
    assert np.abs(xy / 50.0 - np.round(xy / 50.0)).max() * 50.0 < 1e-3


def test_parameters_are_clamped_and_small_groups_refused():
    assert clamp_parameters(1.0, 1, AggregatePolicy(k=6))[1:] == (6, {"min_samples": {"requested": 1, "used": 6}})
    assert clamp_parameters(None, None, AggregatePolicy())[1:] == (None, {})
    assert coarsen_times({"a": ["2025-01-02T03:04:05Z", "plain"]}) == {"a": ["2025-01-02", "plain"]}
    with pytest.raises(ConfigurationError):
        AggregatePolicy(k=4)
