"""Accuracy of hotspot maps on real open police data: backtests and held-out tuning.

One command::

    python benchmarks/bench_accuracy.py [--plots docs/] [--json results.json]

For each real data set in the reference folder (``WARD_GEO_REFERENCE_DIR``):

1. a rolling-origin backtest of every method and both naive baselines at 5 % of the area
   (median and interquartile range over folds), with the accuracy curves as a PNG;
2. held-out tuning: ``evaluation.tune`` chooses a method on the history before a cut date;
   the chosen method and the naive grid-count baseline are then scored on the folds after
   the cut only, and the ratio of their median PAI is the figure the target names
   (tuned default >= 1.10 x grid counts).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd

from ward_geo.analysis.evaluation import BASELINES, METHODS, backtest, tune
from ward_geo.io.readers import read_incidents

DATASETS = {
    "san_francisco_robbery": {
        "files": ["san_francisco_robbery.csv"], "timezone": "America/Los_Angeles",
        "train": "6M", "test": "1M", "step": "1M", "cut": "2019-09-01",
    },
    "cincinnati_burglary": {
        "files": ["cincinnati_burglary.csv.gz"], "timezone": "America/New_York",
        "train": "12M", "test": "1M", "step": "1M", "cut": "2018-01-01",
    },
    "west_yorkshire": {
        "files": [f"police_uk_west_yorkshire/{y}-07-west-yorkshire-street.csv" for y in (2016, 2017, 2018)],
        "timezone": "Europe/London", "train": "12M", "test": "1M", "step": "12M", "cut": "2018-06-01",
    },
}


def _load(ref: Path, spec: dict) -> pd.DataFrame:
    frames = [read_incidents(ref / "incidents" / f, timezone=spec["timezone"]) for f in spec["files"]]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _fmt(v: float, pattern: str = "{:.2f}") -> str:
    return "n/a" if v != v else pattern.format(v)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plots", type=Path, default=None, help="folder for accuracy-curve PNGs")
    parser.add_argument("--json", type=Path, default=None, help="write all results as JSON here")
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated subset")
    args = parser.parse_args()
    ref = Path(os.environ.get("WARD_GEO_REFERENCE_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    results: dict[str, dict] = {}
    for name in args.datasets.split(","):
        spec = DATASETS[name]
        incidents = _load(ref, spec)
        t0 = time.perf_counter()
        full = backtest(incidents, train=spec["train"], test=spec["test"], step=spec["step"],
                        methods=list(METHODS + BASELINES))
        elapsed = time.perf_counter() - t0
        print(f"\n## {name}: {len(incidents):,} incidents, {full.folds['fold'].nunique()} folds "
              f"({spec['train']} train → {spec['test']} test, step {spec['step']}), "
              f"{full.cell_size:g} m cells, {elapsed:.1f} s\n")
        print("| method | folds | hit rate | PAI (median) | PAI IQR | PEI | RRI |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r in full.summary.sort_values("pai_median", ascending=False).itertuples(index=False):
            print(f"| {r.method} | {r.folds} | {_fmt(r.hit_rate_median, '{:.1%}')} | {_fmt(r.pai_median)} | "
                  f"{_fmt(r.pai_q25)}–{_fmt(r.pai_q75)} | {_fmt(r.pei_median)} | {_fmt(r.rri_median)} |")
        if args.plots is not None:
            args.plots.mkdir(parents=True, exist_ok=True)
            full.plot(args.plots / f"accuracy_{name}.png", title=f"{name}: median accuracy over folds")

        cut = pd.Timestamp(spec["cut"], tz="UTC")
        choice = tune(incidents, until=cut, train=spec["train"], test=spec["test"], step=spec["step"])
        held = backtest(incidents, train=spec["train"], test=spec["test"], step=spec["step"],
                        methods=[choice.method, "grid_counts"], params={choice.method: choice.params},
                        cell_size=full.cell_size)
        after = held.folds[held.folds["origin"] >= cut]
        med = after.groupby("method")["pai"].median()
        ratio = med[choice.method] / med["grid_counts"] if med["grid_counts"] > 0 else float("nan")
        print(f"\nTuned on folds before {cut.date()}: {choice.reason()}")
        print(f"Held out ({after['fold'].nunique()} folds from {cut.date()}): PAI {med[choice.method]:.2f} "
              f"({choice.method}) vs {med['grid_counts']:.2f} (grid counts) = {ratio:.2f}x "
              f"({'meets' if ratio >= 1.10 else 'misses'} the 1.10x target)")
        results[name] = {"backtest": full.to_dict(), "tuning": choice.to_dict(),
                         "held_out": {"folds": int(after["fold"].nunique()), "pai_tuned": float(med[choice.method]),
                                      "pai_grid_counts": float(med["grid_counts"]), "ratio": float(ratio)}}
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2, allow_nan=False, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
