"""Getis-Ord Gi* hot and cold spots (esda) on the study grid."""

from __future__ import annotations

import esda
import libpysal
import numpy as np
import pytest
import shapely
from _hotspot_fixtures import (  # noqa: F401  (fixtures)
    assert_members_inside,
    assert_valid_table,
    cincinnati_burglary,
    hanoi_wards,
    simulated_wards,
)

from ward_geo.analysis import gistar
from ward_geo.analysis.hotspots import find_hotspots
from ward_geo.errors import ParameterError


def _planted(seed: int = 0) -> tuple[np.ndarray, shapely.Geometry]:
    rng = np.random.default_rng(seed)
    area = shapely.box(0, 0, 2000, 2000)
    hot = rng.normal([600.0, 600.0], 40.0, size=(120, 2))
    background = rng.uniform(0, 2000, size=(150, 2))
    return np.vstack([hot, background]), area


def test_matches_esda_on_the_same_lattice():
    X, area = _planted()
    res = gistar.gistar_grid(X, area, cell_size=200, permutations=0)
    grid = res["grid"]
    assert grid.nx == grid.ny == 10 and grid.valid.all()
    y = res["counts"]
    w = libpysal.weights.lat2W(10, 10, rook=False)  # queen lattice, row-major like the grid
    ref = esda.G_Local(y, w, transform="B", star=True, permutations=0)
    assert np.allclose(res["z"], ref.Zs)
    assert np.allclose(res["p"], ref.p_norm)


def test_planted_cluster_is_a_hot_spot_with_fdr():
    X, area = _planted()
    regions = gistar.gistar_regions(X, study_area=area, cell_size=100, permutations=0, min_incidents=3)
    assert len(regions.polygons) >= 1
    hot = [p for p, kind in zip(regions.polygons, regions.extra["spot_type"], strict=True) if kind == "hot"]
    assert any(p.contains(shapely.Point(600, 600)) for p in hot)
    assert (regions.extra["gi_z"] > 0).all()
    assert (regions.extra["p_value"] <= regions.params["fdr_threshold"]).all()
    assert regions.params["fdr_threshold"] <= 0.05
    assert "Benjamini-Hochberg" in regions.params["reason"]
    with pytest.raises(ParameterError, match="alpha"):
        gistar.gistar_regions(X, study_area=area, alpha=0)


def test_islands_and_constant_grids_do_not_crash():
    X, _ = _planted()
    # a main square plus a detached one-cell square: that cell has no neighbour
    area = shapely.union_all([shapely.box(0, 0, 2000, 2000), shapely.box(3000, 3000, 3100, 3100)])
    X = np.vstack([X, [[3050.0, 3050.0]] * 40])
    regions = gistar.gistar_regions(X, study_area=area, cell_size=100, permutations=0)
    assert regions.params["n_islands"] == 1
    assert not any(p.contains(shapely.Point(3050, 3050)) for p in regions.polygons)
    # no incident at all, and one incident per cell: no spots, no error
    empty = gistar.gistar_regions(np.empty((0, 2)), study_area=shapely.box(0, 0, 1000, 1000), cell_size=100,
                                  permutations=0)
    assert len(empty.polygons) == 0
    centres = np.array([[x + 50.0, y + 50.0] for x in range(0, 1000, 100) for y in range(0, 1000, 100)])
    flat = gistar.gistar_regions(centres, study_area=shapely.box(0, 0, 1000, 1000), cell_size=100,
                                 permutations=0)
    assert len(flat.polygons) == 0


def test_cold_spots_on_request():
    rng = np.random.default_rng(3)
    area = shapely.box(0, 0, 2000, 2000)
    X = rng.uniform(0, 2000, size=(4000, 2))
    X = X[~((X[:, 0] < 600) & (X[:, 1] < 600))]  # an empty corner in busy surroundings
    regions = gistar.gistar_regions(X, study_area=area, cell_size=100, permutations=0, cold=True)
    kinds = regions.extra["spot_type"].tolist()
    assert "cold" in kinds
    cold = [p for p, k in zip(regions.polygons, kinds, strict=True) if k == "cold"]
    assert any(p.contains(shapely.Point(200, 200)) for p in cold)
    assert (regions.extra["gi_z"][np.array(kinds) == "cold"] < 0).all()


def test_gistar_hotspots_on_real_cincinnati(cincinnati_burglary):
    spots = find_hotspots(cincinnati_burglary, method="gistar", permutations=0, timezone="America/New_York")
    assert len(spots) > 0
    assert_valid_table(spots, cincinnati_burglary)
    assert_members_inside(spots, cincinnati_burglary, tol_m=1.0)
    assert {"gi_z", "p_value", "spot_type"} <= set(spots.columns)
    assert (spots["spot_type"] == "hot").all() and (spots["gi_z"] > 0).all()
    params = spots.attrs["params"]
    assert (spots["p_value"] <= params["fdr_threshold"]).all()
    assert params["cell_size"] >= 100


def test_cold_spots_rank_after_hot_spots(simulated_wards, hanoi_wards):
    spots = find_hotspots(simulated_wards, hanoi_wards, method="gistar", permutations=0, cold=True, cell_size=100)
    assert_valid_table(spots, simulated_wards)
    kinds = spots["spot_type"].tolist()
    assert "hot" in kinds
    if "cold" in kinds:
        assert kinds.index("cold") > max(i for i, k in enumerate(kinds) if k == "hot")
        assert (spots.loc[spots["spot_type"] == "cold", "priority"] == "low").all()
