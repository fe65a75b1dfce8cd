"""Spatial join of incidents to wards."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from ward_geo.errors import InputError


# ---------------------------------------------------------------------------- wards
def assign_wards(incidents: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Fill ``ward_id`` with the ward containing each point (a spatial join).

    A point on a border shared by several wards (or in overlapping wards) goes to the
    ward whose ``ward_id`` sorts first, so the result does not depend on row order.
    Points in no ward get ``None``. Boundaries in another CRS are reprojected to the
    incidents' CRS.

    Parameters
    ----------
    incidents : GeoDataFrame
        Point layer with a CRS.
    boundaries : GeoDataFrame
        Wards with ``ward_id`` and a CRS.

    Returns
    -------
    GeoDataFrame
        A copy of ``incidents`` with ``ward_id`` set.
    """
    if incidents.crs is None or boundaries.crs is None:
        raise InputError("assign_wards needs both layers to have a CRS")
    if "ward_id" not in boundaries.columns:
        raise InputError("the boundaries have no ward_id column; read them with read_boundaries()")
    wards = boundaries if boundaries.crs.equals(incidents.crs) else boundaries.to_crs(incidents.crs)
    out = incidents.copy()
    result = np.full(len(out), None, dtype=object)
    if len(out) and len(wards):
        ward_ids = wards["ward_id"].astype(object).to_numpy()
        rank = np.empty(len(ward_ids), dtype=np.int64)
        rank[np.argsort(ward_ids.astype(str), kind="stable")] = np.arange(len(ward_ids))
        geoms = out.geometry.values
        valid = ~(out.geometry.isna().to_numpy() | out.geometry.is_empty.to_numpy())
        point_idx, ward_idx = wards.sindex.query(geoms[valid], predicate="intersects")
        point_idx = np.flatnonzero(valid)[point_idx]
        order = np.lexsort((rank[ward_idx], point_idx))
        point_idx, ward_idx = point_idx[order], ward_idx[order]
        _, first = np.unique(point_idx, return_index=True)
        result[point_idx[first]] = ward_ids[ward_idx[first]]
    out["ward_id"] = pd.Series(result, index=out.index, dtype=object)
    return out
