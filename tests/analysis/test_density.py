"""Kernel density surface and KDE hotspots."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from _hotspot_fixtures import (  # noqa: F401  (fixtures)
    assert_members_inside,
    assert_valid_table,
    cincinnati_burglary,
    hanoi_wards,
    incidents_from_metres,
    ward_metric,
)

from ward_geo.analysis.density import default_bandwidth, kde_regions, kde_surface
from ward_geo.analysis.hotspots import find_hotspots
from ward_geo.errors import ParameterError


def test_surface_keeps_the_mass_and_peaks_at_the_cluster():
    rng = np.random.default_rng(0)
    cluster = rng.normal([1000.0, 1000.0], 20.0, size=(200, 2))
    background = rng.uniform(0, 3000, size=(100, 2))
    X = np.vstack([cluster, background])
    surface = kde_surface(X, bandwidth=60, cell_size=10)
    total = surface.density.sum() * (surface.cell_size**2) / 1e6
    assert total == pytest.approx(len(X), rel=1e-3)
    peak = np.unravel_index(surface.density.argmax(), surface.density.shape)
    px = surface.x0 + (peak[1] + 0.5) * surface.cell_size
    py = surface.y0 + (peak[0] + 0.5) * surface.cell_size
    assert np.hypot(px - 1000, py - 1000) < 30
    # a Gaussian of 200 points with sigma_total = sqrt(20^2 + 60^2): peak density per km²
    expected_peak = 200 / (2 * np.pi * (20**2 + 60**2)) * 1e6
    assert surface.value_at(np.array([[1000.0, 1000.0]]))[0] == pytest.approx(expected_peak, rel=0.15)
    weighted = kde_surface(X, weights=np.full(len(X), 2.0), bandwidth=60, cell_size=10)
    assert np.allclose(weighted.density, 2 * surface.density)


def test_default_bandwidth_rule_is_recorded():
    rng = np.random.default_rng(1)
    X = rng.normal(0, 400, size=(1000, 2))
    h, reason = default_bandwidth(X)
    # Scott: 400 * 1000^(-1/6) = 126 m, rounded to 5 m
    assert h == pytest.approx(125, abs=5)
    assert "Scott" in reason and "clipped to [50, 250] m" in reason
    assert default_bandwidth(rng.normal(0, 5, size=(50, 2)))[0] == 50  # clipped up
    assert default_bandwidth(rng.normal(0, 20_000, size=(50, 2)))[0] == 250  # clipped down


def test_kde_regions_find_planted_clusters():
    rng = np.random.default_rng(2)
    a = rng.normal([500.0, 500.0], 25.0, size=(150, 2))
    b = rng.normal([2500.0, 2000.0], 25.0, size=(80, 2))
    bg = rng.uniform(0, 3000, size=(200, 2))
    X = np.vstack([a, b, bg])
    regions = kde_regions(X, bandwidth=50, cell_size=10, quantile=0.97, min_incidents=5)
    assert len(regions.polygons) >= 2
    centres = [shapely.Point(500, 500), shapely.Point(2500, 2000)]
    for c in centres:
        assert any(p.contains(c) for p in regions.polygons)
    assert shapely.is_valid(regions.polygons).all()
    assert "95%" not in regions.params["reason"] and "97%" in regions.params["reason"]
    counts = np.bincount(regions.labels[regions.labels >= 0], minlength=len(regions.polygons))
    assert (counts >= 5).all()
    with pytest.raises(ParameterError, match="quantile"):
        kde_regions(X, quantile=1.0)
    with pytest.raises(ParameterError, match="bandwidth"):
        kde_surface(X, bandwidth=-1)


def test_kde_hotspots_on_real_cincinnati(cincinnati_burglary):
    spots = find_hotspots(cincinnati_burglary, method="kde", timezone="America/New_York")
    assert len(spots) > 0
    assert_valid_table(spots, cincinnati_burglary)
    assert_members_inside(spots, cincinnati_burglary, tol_m=1.0)
    assert (spots["n_incidents"] >= 3).all()
    assert (spots["peak_density_per_km2"] >= spots.attrs["params"]["density_level_per_km2"]).all()
    params = spots.attrs["params"]
    assert 50 <= params["bandwidth"] <= 250 and "Scott" in params["reason"]
    explicit = find_hotspots(cincinnati_burglary, method="kde", bandwidth=80, cell_size=20, quantile=0.98,
                             timezone="America/New_York")
    assert explicit.attrs["params"]["bandwidth"] == 80
    assert explicit.attrs["params"]["reason"].startswith("bandwidth given explicitly")


def test_kde_hotspots_stay_in_the_study_wards(hanoi_wards):
    ward = ward_metric(hanoi_wards, "phuong-hoan-kiem")
    c = ward.representative_point()
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal([c.x, c.y], 30, size=(60, 2)), rng.normal([c.x + 2000, c.y], 30, size=(60, 2))])
    inc = incidents_from_metres(X)
    spots = find_hotspots(inc, hanoi_wards, method="kde", bandwidth=50, ward_ids=None)
    assert len(spots) >= 1
    assert_valid_table(spots, inc)
    assert all(spots["ward_ids"].map(len) >= 1)
    ids = find_hotspots(inc, hanoi_wards, method="kde", bandwidth=50)["hotspot_id"].tolist()
    assert ids == spots["hotspot_id"].tolist()
