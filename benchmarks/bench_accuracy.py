"""Accuracy of the delivered hotspots on real open police data, beside naive maps at equal area.

One command::

    python benchmarks/bench_accuracy.py [--json results.json] [--plots docs/] [--datasets a,b]

What is scored is what users get: ``find_hotspots``' default (``method="auto"``), chosen on each
fold's training window only, and its polygons taken by rank while they fit in 1 % / 5 % of the
study area (``ward_geo.analysis.evaluation.backtest``). Beside it, at the same area: prior
counts (50 m cells, the reference of the ratios), last period, a KDE map, and the best possible
(PEI). Ratios are test incidents captured over those of prior counts, pooled over folds, with a
bootstrap 90 % interval over test incidents.

Two scales per data set:

ward
    Ward-sized squares (``--tile-km``, default 2 km; there are no ward boundaries for these
    cities) holding at least ``--min-incidents`` incidents in the last year, the busiest
    ``--tiles`` of them; each square is its own study area. Rows: the median over squares of the
    ratio at 5 %, the squares where ward_geo wins, and the share of squares whose top hotspot
    fits inside 5 % of the square (target: ≥ 90 %).
city
    The whole file (convex hull of the incidents + 200 m) as the study area.

Data without exact days (West Yorkshire: month only, locations snapped to street points) are
scored too; a recency model has little to work with there.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ward_geo.analysis.evaluation import backtest
from ward_geo.io.readers import read_incidents
from ward_geo.projection import metric_crs_for

DATASETS = {
    "san_francisco_robbery": {"files": ["san_francisco_robbery.csv"], "timezone": "America/Los_Angeles",
                              "train": "6M"},
    "cincinnati_burglary": {"files": ["cincinnati_burglary.csv.gz"], "timezone": "America/New_York",
                            "train": "12M"},
    "tempe_opioid_calls": {"files": ["tempe_opioid_calls.csv"], "timezone": "America/Phoenix", "train": "12M"},
    "west_yorkshire": {
        "files": [f"police_uk_west_yorkshire/{y}-07-west-yorkshire-street.csv" for y in (2016, 2017, 2018)],
        "timezone": "Europe/London", "train": "12M", "step": "12M", "city_only": True,
    },
}


def _load(ref: Path, spec: dict) -> gpd.GeoDataFrame:
    frames = [read_incidents(ref / "incidents" / f, timezone=spec["timezone"]) for f in spec["files"]]
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    out = out.drop_duplicates("incident_id")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=frames[0].crs)


def _f(v: float, pattern: str = "{:.2f}") -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else pattern.format(v)


def _tiles(incidents: gpd.GeoDataFrame, side_km: float, min_incidents: int, limit: int) -> gpd.GeoDataFrame:
    """Ward-sized squares with at least ``min_incidents`` incidents in the last year, busiest first."""
    crs = metric_crs_for(incidents)
    pts = incidents.to_crs(crs)
    xy = shapely.get_coordinates(pts.geometry.values)
    side = side_km * 1000.0
    t = pd.to_datetime(incidents["occurred_at"], utc=True)
    recent = (t >= t.max() - pd.DateOffset(years=1)).to_numpy()
    key = np.floor(xy / side).astype(np.int64)
    frame = pd.DataFrame({"ix": key[:, 0], "iy": key[:, 1], "recent": recent})
    counts = frame[frame["recent"]].groupby(["ix", "iy"]).size().sort_values(ascending=False)
    counts = counts[counts >= min_incidents].head(limit)
    boxes = [shapely.box(ix * side, iy * side, (ix + 1) * side, (iy + 1) * side) for ix, iy in counts.index]
    ids = [f"tile-{ix}-{iy}" for ix, iy in counts.index]
    return gpd.GeoDataFrame({"ward_id": ids, "name": ids}, geometry=boxes, crs=crs).to_crs(4326)


def _assign(incidents: gpd.GeoDataFrame, tiles: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    joined = gpd.sjoin(incidents.drop(columns=["ward_id"], errors="ignore"), tiles[["ward_id", "geometry"]],
                       how="left", predicate="within")
    joined = joined[~joined.index.duplicated()]
    return gpd.GeoDataFrame(joined.drop(columns=["index_right"]), geometry="geometry", crs=incidents.crs)


def _row(summary: pd.DataFrame, share: float, method: str = "auto") -> dict:
    rows = summary[(summary["method"] == method) & np.isclose(summary["share"], share)]
    return rows.iloc[0].to_dict() if len(rows) else {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=None, help="write all results as JSON here")
    parser.add_argument("--plots", type=Path, default=None, help="folder for PAI charts")
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated subset")
    parser.add_argument("--tile-km", type=float, default=2.0)
    parser.add_argument("--min-incidents", type=int, default=150)
    parser.add_argument("--tiles", type=int, default=8, help="busiest squares scored per data set")
    parser.add_argument("--folds", type=int, default=3, help="most recent monthly folds")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    ref = Path(os.environ.get("WARD_GEO_REFERENCE_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    results: dict[str, dict] = {}
    print("| data set | scale | study areas | folds | delivered PAI 5 % | prior counts | last period | KDE map | "
          "× prior counts at 5 % (90 %) | × at 1 % | wins | top hotspot ≤ 5 % | seconds |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.datasets.split(","):
        spec = DATASETS[name]
        incidents = _load(ref, spec)
        step = spec.get("step")
        out: dict[str, dict] = {}
        t0 = time.perf_counter()
        city = backtest(incidents, None, methods=["auto"], train=spec["train"], test="1M", step=step,
                        max_folds=args.folds, timezone=spec["timezone"])
        c5, c1 = _row(city.summary, 0.05), _row(city.summary, 0.01)
        top_ok = city.folds[np.isclose(city.folds["share"], 0.05)]["top_share"].le(0.05).mean()
        print(f"| {name} | city | 1 | {c5.get('folds')} | {_f(c5.get('pai_median'))} | "
              f"{_f(c5.get('prior_counts_pai_median'))} | {_f(c5.get('last_period_pai_median'))} | "
              f"{_f(c5.get('kde_map_pai_median'))} | {_f(c5.get('ratio_to_counts'))} "
              f"({_f(c5.get('ratio_low'))}–{_f(c5.get('ratio_high'))}) | {_f(c1.get('ratio_to_counts'))} | – | "
              f"{_f(top_ok, '{:.0%}')} | {time.perf_counter() - t0:.0f} |", flush=True)
        out["city"] = city.to_dict()
        if args.plots is not None:
            args.plots.mkdir(parents=True, exist_ok=True)
            city.plot(args.plots / f"accuracy_{name}.png", title=f"{name}: delivered hotspots vs baselines")
        if not spec.get("city_only"):
            t0 = time.perf_counter()
            tiles = _tiles(incidents, args.tile_km, args.min_incidents, args.tiles)
            assigned = _assign(incidents, tiles)
            ratios, ratios1, wins, fits, per_tile = [], [], 0, [], []
            for ward_id in tiles["ward_id"]:
                try:
                    res = backtest(assigned, tiles, ward_ids=[ward_id], methods=["auto"], train=spec["train"],
                                   test="1M", max_folds=args.folds, timezone=spec["timezone"], bootstrap=200)
                except Exception as exc:  # noqa: BLE001 - a square without folds is reported, not fatal
                    per_tile.append({"ward_id": ward_id, "error": str(exc)})
                    continue
                r5, r1 = _row(res.summary, 0.05), _row(res.summary, 0.01)
                ratio = r5.get("ratio_to_counts", math.nan)
                if ratio == ratio:
                    ratios.append(ratio)
                    wins += int(ratio > 1.0)
                if r1.get("ratio_to_counts", math.nan) == r1.get("ratio_to_counts", math.nan):
                    ratios1.append(r1["ratio_to_counts"])
                f5 = res.folds[np.isclose(res.folds["share"], 0.05)]
                fits.extend(f5["top_share"].dropna().le(0.05).tolist())
                per_tile.append({"ward_id": ward_id, "ratio_5": ratio, "ratio_1": r1.get("ratio_to_counts"),
                                 "chosen": f5["chosen"].value_counts().to_dict(), "summary": res.summary.to_dict("records")})
            med = float(np.median(ratios)) if ratios else math.nan
            q = (np.quantile(ratios, [0.25, 0.75]) if ratios else [math.nan, math.nan])
            print(f"| {name} | ward ({args.tile_km:g} km squares) | {len(ratios)} | {args.folds} | – | – | – | – | "
                  f"median {_f(med)} (IQR {_f(q[0])}–{_f(q[1])}) | median {_f(float(np.median(ratios1)) if ratios1 else math.nan)} | "
                  f"{wins} of {len(ratios)} | {_f(float(np.mean(fits)) if fits else math.nan, '{:.0%}')} | "
                  f"{time.perf_counter() - t0:.0f} |", flush=True)
            out["ward"] = {"median_ratio_5": med, "wins": wins, "n": len(ratios),
                           "top_fits_5": float(np.mean(fits)) if fits else None, "tiles": per_tile}
        results[name] = out
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
