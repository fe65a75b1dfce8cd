"""Helpers of the planning tests: the hand-made street grid and incident generator."""

from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from ward_geo.schema import WGS84, conform_incidents

#: Origin of the hand-made grid (south-west corner) and its spacing in degrees (~100 m).
LON0, LAT0, STEP = 105.80, 21.00, 0.001
HAND_WARD = "test-ward"


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (b[0] - a[0]) * 111_320.0 * math.cos(math.radians(LAT0))
    dy = (b[1] - a[1]) * 110_540.0
    return math.hypot(dx, dy)


def _add_street(g: nx.MultiDiGraph, u: int, v: int, *, oneway: bool = False, highway: str = "residential") -> None:
    a = (g.nodes[u]["x"], g.nodes[u]["y"])
    b = (g.nodes[v]["x"], g.nodes[v]["y"])
    data = {"length": _metres(a, b), "highway": highway, "oneway": oneway, "osmid": 1000 + u * 100 + v}
    g.add_edge(u, v, **data)
    if not oneway:
        g.add_edge(v, u, **data)


def grid_node(i: int, j: int) -> int:
    """Node id of grid column i, row j (0-4)."""
    return 1 + i * 5 + j


def make_incidents(
    spots: list[tuple[float, float, int]], hours: list[int], *, seed: int = 0, start: str = "2025-03-03"
) -> gpd.GeoDataFrame:
    """Canonical incidents: ``n`` points within ~8 m of each ``(lon, lat, n)``, at the given local hours.

    Days cycle over 10 weeks from ``start``; hours cycle over ``hours``.
    """
    rng = np.random.default_rng(seed)
    rows = []
    k = 0
    for lon, lat, n in spots:
        for m in range(n):
            local = pd.Timestamp(start, tz="Asia/Ho_Chi_Minh") + pd.Timedelta(days=int(m * 7) % 70, hours=hours[m % len(hours)], minutes=int(rng.integers(0, 50)))
            rows.append({
                "incident_id": f"t{k}", "category": ["theft", "robbery", "drugs"][m % 3],
                "occurred_at": local.tz_convert("UTC"), "time_precision": "exact", "source": "test",
                "ward_id": HAND_WARD,
                "geometry": gpd.points_from_xy([lon + rng.normal(0, 0.00005)], [lat + rng.normal(0, 0.00005)])[0],
            })
            k += 1
    return conform_incidents(gpd.GeoDataFrame(rows, geometry="geometry", crs=WGS84))
