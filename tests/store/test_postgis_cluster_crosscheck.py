"""Cross-check: ward_geo's DBSCAN and PostGIS ST_ClusterDBSCAN find the same clusters.

The points go through the PostGIS store; PostGIS clusters them in SQL (in EPSG:3405,
VN-2000 / UTM 48N), ward_geo clusters the same stored points after ``to_crs(3405)``.
DBSCAN is unique up to border points reachable from two clusters (either assignment is
valid), so the test compares: the noise points exactly, the partition of core points
exactly, and that every border point sits in a cluster that has a core point within eps.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from _store_specs import StoreSpec

from ward_geo.cluster import DBSCAN

psycopg = pytest.importorskip("psycopg")

EPS_M = 60.0
MIN_SAMPLES = 5


def clustered_points(seed: int = 7) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    centres = np.array([[105.8520, 21.0285], [105.8420, 21.0250], [105.8330, 21.0360], [105.8450, 21.0180]])
    parts = [c + rng.normal(0, 0.0006, size=(250, 2)) for c in centres]  # ~60 m spread
    parts.append(np.column_stack([rng.uniform(105.82, 105.87, 600), rng.uniform(21.01, 21.04, 600)]))
    xy = np.vstack(parts)
    n = len(xy)
    return gpd.GeoDataFrame(
        {
            "incident_id": [f"p{i:05d}" for i in range(n)],
            "category": "theft",
            "occurred_at": pd.Timestamp("2025-05-01T00:00Z") + pd.to_timedelta(np.arange(n), unit="min"),
            "source": "crosscheck",
        },
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs="EPSG:4326",
    )


@pytest.mark.postgis
def test_dbscan_matches_st_clusterdbscan(pg_spec: StoreSpec):
    store = pg_spec.open()
    store.ingest(clustered_points())
    stored = store.query(order="incident_id")
    store.close()

    with psycopg.connect(pg_spec.target, autocommit=True) as conn:
        rows = conn.execute(
            f'SELECT incident_id, ST_ClusterDBSCAN(ST_Transform(geom, 3405), %s, %s) OVER () '
            f'FROM "{pg_spec.schema}".incidents ORDER BY incident_id COLLATE "C"',
            (EPS_M, MIN_SAMPLES),
        ).fetchall()
    assert [r[0] for r in rows] == stored["incident_id"].tolist()
    pg = np.array([-1 if r[1] is None else r[1] for r in rows])

    metric = stored.to_crs("EPSG:3405")
    X = np.column_stack([metric.geometry.x, metric.geometry.y])
    model = DBSCAN(eps=EPS_M, min_samples=MIN_SAMPLES).fit(X)
    ours = model.labels_
    core = np.zeros(len(X), dtype=bool)
    core[model.core_sample_indices_] = True

    assert model.n_clusters_ >= 4 and (~core & (ours >= 0)).sum() > 10  # clusters with border points
    assert len(set(pg[pg >= 0])) == model.n_clusters_
    np.testing.assert_array_equal(pg == -1, ours == -1)  # the same noise
    pairs = set(zip(ours[core].tolist(), pg[core].tolist(), strict=True))
    assert len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs})  # same core partition
    to_ours = dict((b, a) for a, b in pairs)
    for i in np.flatnonzero(~core & (ours >= 0)):
        label = to_ours[pg[i]]
        near = np.hypot(*(X[core & (ours == label)] - X[i]).T) <= EPS_M
        assert near.any(), f"border point {i} put in a cluster with no core point within eps"
