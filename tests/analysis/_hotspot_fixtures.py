"""Shared data for the hotspot, density and Gi* tests (imported by those test modules).

Real incident files are read with ward_geo's reader; small synthetic layouts are built in
VN-2000 / UTM 48N metres around real Hanoi ward borders and converted to lon/lat.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ward_geo.analysis.hotspots import HOTSPOT_COLUMNS, MIN_BUFFER_M, priority_for_ranks
from ward_geo.io.readers import read_boundaries, read_incidents
from ward_geo.projection import to_metric
from ward_geo.schema import conform_incidents

#: VN-2000 / UTM zone 48N, the metric CRS ward_geo uses in Hanoi.
HANOI_METRIC = "EPSG:3405"


@pytest.fixture(scope="session")
def hanoi_wards(hanoi_boundaries_path: Path) -> gpd.GeoDataFrame:
    """The 126 Hanoi wards (read once; tests must not modify it)."""
    return read_boundaries(hanoi_boundaries_path)


@pytest.fixture(scope="session")
def sf_robbery(incidents_dir: Path) -> gpd.GeoDataFrame:
    """San Francisco personal robbery 2019 (951 real incidents, exact times in UTC)."""
    return read_incidents(incidents_dir / "san_francisco_robbery.csv")


@pytest.fixture(scope="session")
def cincinnati_burglary(incidents_dir: Path) -> gpd.GeoDataFrame:
    """Cincinnati burglary 2016-2018 (real; duplicate ids dropped by the reader)."""
    return read_incidents(incidents_dir / "cincinnati_burglary.csv.gz")


@pytest.fixture(scope="session")
def simulated_wards(hanoi_wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Three months of simulated incidents in two central Hanoi wards (seeded)."""
    from ward_geo.synth import simulate

    return simulate(
        hanoi_wards,
        ward_ids=("phuong-hoan-kiem", "phuong-cua-nam"),
        start="2025-01-01",
        end="2025-04-01",
        seed=3,
    )


def incidents_from_metres(
    xy: np.ndarray,
    *,
    crs: str = HANOI_METRIC,
    categories: Sequence[str] | str = "theft",
    times: Sequence[object] | None = None,
    ids: Sequence[str] | None = None,
    severity: Sequence[float] | None = None,
    ward_ids: Sequence[str | None] | None = None,
    precision: str = "exact",
) -> gpd.GeoDataFrame:
    """A canonical incident table from metric coordinates (converted to EPSG:4326)."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    n = len(xy)
    cats = [categories] * n if isinstance(categories, str) else list(categories)
    if times is None:
        times = pd.date_range("2025-03-03 08:00", periods=n, freq="37min", tz="Asia/Ho_Chi_Minh")
    frame = gpd.GeoDataFrame(
        {
            "incident_id": list(ids) if ids is not None else [f"t-{i:05d}" for i in range(n)],
            "category": cats,
            "occurred_at": pd.to_datetime(list(times), utc=True),
            "time_precision": precision,
            "severity": list(severity) if severity is not None else np.nan,
            "source": "test",
            "ward_id": list(ward_ids) if ward_ids is not None else None,
        },
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=crs,
    ).to_crs(4326)
    return conform_incidents(frame)


def ward_metric(wards: gpd.GeoDataFrame, ward_id: str) -> shapely.Geometry:
    """One ward's polygon in VN-2000 metres."""
    return wards.loc[wards["ward_id"] == ward_id].to_crs(HANOI_METRIC).geometry.iloc[0]


def shared_border_point(wards: gpd.GeoDataFrame, a: str, b: str) -> tuple[float, float]:
    """A point (metres) in the middle of the border shared by wards ``a`` and ``b``."""
    border = shapely.intersection(ward_metric(wards, a).boundary, ward_metric(wards, b).boundary)
    lines = [g for g in shapely.get_parts(shapely.line_merge(border)) if g.length > 0]
    longest = max(lines, key=lambda g: g.length)
    p = longest.interpolate(0.5, normalized=True)
    return p.x, p.y


def assert_valid_table(spots: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame) -> None:
    """Invariants every hotspot table keeps, whatever the method."""
    assert spots.crs.to_epsg() == 4326
    assert list(spots.columns[: len(HOTSPOT_COLUMNS) - 1]) == list(HOTSPOT_COLUMNS[:-1])
    assert spots.geometry.name == "geometry"
    geoms = spots.geometry.values
    assert shapely.is_valid(geoms).all()
    assert (shapely.get_type_id(geoms) == 3).all()  # Polygon
    assert not shapely.is_empty(geoms).any()
    if len(spots) == 0:
        return
    # not slivers: every polygon is at least a 15 m-radius disc's worth of area, in metres
    metric, _ = to_metric(spots)
    assert (metric.geometry.area > 0.9 * math.pi * MIN_BUFFER_M**2 * 0.5).all()
    assert np.allclose(metric.geometry.area, spots["area_m2"], rtol=0.02)
    assert spots["hotspot_id"].is_unique
    assert spots["rank"].tolist() == list(range(1, len(spots) + 1))
    # ranked by the forecast of the next period (Gi* cold spots last)
    assert spots["forecast_incidents"].is_monotonic_decreasing or "spot_type" in spots.columns
    assert (spots["forecast_low"] <= spots["forecast_incidents"]).all()
    assert (spots["forecast_incidents"] <= spots["forecast_high"] + 1).all()
    # patrol-sized: no polygon wider than about 250 m (plus the buffer) unless asked otherwise
    across = spots.attrs.get("params", {}).get("max_across_m")
    if across is not None and "spot_type" not in spots.columns:
        widths = [max(np.hypot(*np.diff(np.asarray(g.minimum_rotated_rectangle.exterior.coords), axis=0).T))
                  for g in metric.geometry.values]
        assert max(widths) <= across * 1.25, (max(widths), across)
    cap = spots.attrs.get("params", {}).get("max_area_m2")
    if cap is not None and "spot_type" not in spots.columns:
        assert (spots["area_m2"] <= cap * 1.001).all()
    assert (spots["n_incidents"] == spots["member_ids"].map(len)).all()
    assert (spots["n_incidents"] == spots["category_counts"].map(lambda d: sum(d.values()))).all()
    assert all(len(h) == 24 for h in spots["peak_hours"]) and all(len(w) == 7 for w in spots["peak_weekdays"])
    members = [m for ms in spots["member_ids"] for m in ms]
    assert len(members) == len(set(members)), "an incident belongs to at most one hotspot"
    assert set(members) <= set(incidents["incident_id"])
    occupied = spots["n_incidents"] > 0
    assert (spots.loc[occupied, "first_seen"] <= spots.loc[occupied, "last_seen"]).all()
    expected = priority_for_ranks(spots["rank"].to_numpy())
    if "spot_type" not in spots.columns:
        assert spots["priority"].tolist() == list(expected)
    assert spots["trend"].isna().all()


def assert_members_inside(spots: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame, tol_m: float = 0.5) -> None:
    if len(spots) == 0:
        return
    metric_spots, crs = to_metric(spots)
    pts = incidents.set_index("incident_id").to_crs(crs).geometry
    for poly, ids in zip(metric_spots.geometry, spots["member_ids"], strict=True):
        d = shapely.distance(poly, pts.loc[ids].values)
        assert (d <= tol_m).all()
