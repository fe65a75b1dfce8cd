"""Run every benchmark in this folder, one after the other, with its default arguments.

Each benchmark prints its own table with ratios against the reference it names; this runner
only sequences them (they must not run side by side on a small machine) and reports which
failed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = (
    "bench_io_validate.py",
    "bench_store.py",
    "bench_synth.py",
    "bench_clustering.py",
    "bench_hotspots.py",
    "bench_hotspot_set.py",
    "bench_accuracy.py",
    "bench_maps.py",
    "bench_patrol.py",
    "bench_api.py",
    "bench_distributed.py",
)


def main() -> int:
    failed = []
    for name in ORDER:
        print(f"\n=== {name}", flush=True)
        if subprocess.call([sys.executable, str(HERE / name)]) != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
