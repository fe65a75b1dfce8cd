"""Test data for map tests: real Hanoi wards, incidents drawn inside the real ward polygons."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ward_geo.categories import CATEGORY_CODES
from ward_geo.schema import WGS84

XSS_PAYLOADS = (
    "<img src=x onerror=\"window.__xss=1\">",
    "<script>window.__xss=2</script>",
    "`${window.__xss=3}`",
    "{{ 7*7 }} {% if 1 %}x{% endif %}",
    "</script><script>window.__xss=4</script>",
    "<svg onload=window.__xss=5>",
    "' onmouseover='window.__xss=6",
    "line\u2028separator\u2029end &amp; <!-- comment",
)

DEMO_WARDS = ("phuong-hoan-kiem", "phuong-cua-nam", "phuong-ba-dinh")


def read_hanoi_boundaries(path: Path) -> gpd.GeoDataFrame:
    """The shared Hanoi wards in the canonical boundary columns."""
    from ward_geo.io.readers import read_boundaries

    return read_boundaries(path)


def points_in_wards(
    boundaries: gpd.GeoDataFrame,
    ward_ids: tuple[str, ...],
    n: int,
    *,
    seed: int = 0,
    start: str = "2025-01-01",
    days: int = 365,
    descriptions: tuple[str, ...] = (),
) -> gpd.GeoDataFrame:
    """``n`` canonical incidents uniformly inside the given wards, clustered around a few centres.

    Half the points are uniform inside each ward (rejection sampling against the real polygon),
    half are drawn near three centres per ward so that hotspots exist.
    """
    rng = np.random.default_rng(seed)
    rows_ids, xs, ys, wards = [], [], [], []
    per_ward = np.full(len(ward_ids), n // len(ward_ids))
    per_ward[: n % len(ward_ids)] += 1
    for ward_id, count in zip(ward_ids, per_ward, strict=True):
        poly = boundaries.loc[boundaries["ward_id"] == ward_id].geometry.iloc[0]
        shapely.prepare(poly)
        minx, miny, maxx, maxy = poly.bounds
        got_x: list[float] = []
        got_y: list[float] = []
        centres = []
        while len(centres) < 3:
            cx, cy = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if shapely.contains_xy(poly, cx, cy):
                centres.append((cx, cy))
        while len(got_x) < count:
            m = max(64, 2 * (count - len(got_x)))
            ux, uy = rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m)
            k = rng.integers(0, 3, m)
            near = rng.random(m) < 0.5
            cx = np.array([c[0] for c in centres])[k]
            cy = np.array([c[1] for c in centres])[k]
            px = np.where(near, cx + rng.normal(0, 0.0006, m), ux)
            py = np.where(near, cy + rng.normal(0, 0.0006, m), uy)
            inside = shapely.contains_xy(poly, px, py)
            got_x.extend(px[inside].tolist())
            got_y.extend(py[inside].tolist())
        xs.extend(got_x[:count])
        ys.extend(got_y[:count])
        wards.extend([ward_id] * int(count))
    total = len(xs)
    rows_ids = [f"t-{i:06d}" for i in range(total)]
    cats = rng.choice(np.array(CATEGORY_CODES), total)
    offsets = rng.integers(0, days * 24 * 60, total)
    times = pd.Timestamp(start, tz="Asia/Ho_Chi_Minh").tz_convert("UTC") + pd.to_timedelta(offsets, unit="min")
    desc = [None] * total
    for k, text in enumerate(descriptions):
        if k < total:
            desc[k] = text
    for k in range(len(descriptions), total, 7):
        desc[k] = f"Phản ánh số {k}: tụ tập đông người"
    frame = pd.DataFrame(
        {
            "incident_id": rows_ids,
            "category": cats,
            "category_raw": cats,
            "occurred_at": pd.DatetimeIndex(times).as_unit("ns"),
            "time_precision": "exact",
            "severity": np.nan,
            "description": desc,
            "source": "test",
            "ward_id": wards,
        }
    )
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(xs, ys), crs=WGS84)




def with_payloads(incidents: gpd.GeoDataFrame, ward_id: str) -> gpd.GeoDataFrame:
    """A copy whose first incidents of ``ward_id`` carry the XSS payloads as descriptions."""
    out = incidents.copy()
    rows = out.index[out["ward_id"] == ward_id][: len(XSS_PAYLOADS)]
    out.loc[rows, "description"] = list(XSS_PAYLOADS[: len(rows)])
    return out
