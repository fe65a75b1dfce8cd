"""Clustering estimators on projected coordinates: numpy arrays in, labels out.

scikit-learn-style estimators (parameters in ``__init__``, ``fit`` sets attributes ending in
``_``, no I/O, deterministic) for 2-D metric coordinates in metres:

- :class:`DBSCAN`: exact grid DBSCAN, label for label equal to :class:`sklearn.cluster.DBSCAN`;
- :class:`STDBSCAN`: space–time DBSCAN (a spatial radius and a time window);
- :class:`HDBSCAN`: variable-density clustering over a choice of backends;
- :func:`suggest_dbscan_params`: ``eps`` and ``min_samples`` read from the data, with the reason;
- :class:`DistributedDBSCAN` and the tile steps (:func:`plan_tiles`, :func:`tile_copies`,
  :func:`cluster_tiles`, :func:`merge_tiles`, :func:`label_tiles`): the one Dask engine, exact
  against :class:`DBSCAN` (dask is imported only when a cluster is used).

The numba kernels live in private modules (``_dbscan_inner``, ``_grid``) under public names,
so the estimators and the Dask engine share them. This package imports no geopandas, no
settings and no store: the analysis layer above it turns incident tables into arrays.
"""

from ward_geo.cluster._dask import (
    DistributedDBSCAN,
    NodeLabels,
    TileClusters,
    TileLayout,
    TileRows,
    cluster_tiles,
    label_tiles,
    merge_tiles,
    open_client,
    plan_tiles,
    tile_copies,
    tile_counts,
)
from ward_geo.cluster._dbscan import DBSCAN, warm_up
from ward_geo.cluster._hdbscan import BACKENDS as HDBSCAN_BACKENDS
from ward_geo.cluster._hdbscan import HDBSCAN
from ward_geo.cluster._params import (
    DBSCANParams,
    k_distance_knee,
    suggest_dbscan_params,
)
from ward_geo.cluster._stdbscan import STDBSCAN, to_seconds
from ward_geo.cluster._validation import (
    DEFAULT_MAX_EPS_M,
    check_eps,
    check_min_samples,
    validate_points,
    validate_weights,
)

__all__ = [
    "DBSCAN",
    "DEFAULT_MAX_EPS_M",
    "HDBSCAN",
    "HDBSCAN_BACKENDS",
    "STDBSCAN",
    "DBSCANParams",
    "DistributedDBSCAN",
    "NodeLabels",
    "TileClusters",
    "TileLayout",
    "TileRows",
    "check_eps",
    "check_min_samples",
    "cluster_tiles",
    "k_distance_knee",
    "label_tiles",
    "merge_tiles",
    "open_client",
    "plan_tiles",
    "suggest_dbscan_params",
    "tile_copies",
    "tile_counts",
    "to_seconds",
    "validate_points",
    "validate_weights",
    "warm_up",
]
