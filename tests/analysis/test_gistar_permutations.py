"""Gi* with conditional-permutation inference: esda's numba kernels, compiled once by warm_up().

Kept apart from test_gistar.py because the first compile takes 15-60 s on a busy 2-core machine.
"""

from __future__ import annotations

import pytest
from _hotspot_fixtures import (  # noqa: F401  (fixtures)
    assert_valid_table,
    hanoi_wards,
    simulated_wards,
)

from ward_geo.analysis import gistar
from ward_geo.analysis.hotspots import find_hotspots


@pytest.mark.slow
def test_permutation_inference_after_warm_up(simulated_wards, hanoi_wards):
    gistar.warm_up()  # compiles esda's numba kernels once; later calls are fast
    assert gistar.is_warm()
    a = find_hotspots(simulated_wards, hanoi_wards, method="gistar", permutations=199, seed=1)
    b = find_hotspots(simulated_wards, hanoi_wards, method="gistar", permutations=199, seed=1)
    assert len(a) > 0
    assert_valid_table(a, simulated_wards)
    assert a["hotspot_id"].tolist() == b["hotspot_id"].tolist()  # seeded: reproducible
    assert (a["p_value"] >= 1 / 200 - 1e-6).all()  # esda keeps p_sim in float32
    # a lone incident among empty cells is never a hot spot (folded pseudo p-values)
    assert (a["n_incidents"] >= 3).all()
