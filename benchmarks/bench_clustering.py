"""Clustering benchmark: ward_geo DBSCAN / HDBSCAN against scikit-learn and PyPI peers.

One command::

    python benchmarks/bench_clustering.py [--sizes 100k,1M,3M] [--repeats 3]
        [--hdbscan-sizes 100k,1M] [--sklearn-max 100k] [--out bench_clustering.md]

Every case runs in a fresh subprocess, so its peak resident memory (``ru_maxrss``) is
its own; the table shows the peak and the part added by the fit (peak minus the
resident size after imports and data generation). Times are the median of
``--repeats`` fits after one small warm-up fit (numba kernels load from the cache),
wall-clock and CPU (all threads). Data: ``ward_geo.synth.simulate_large(n, seed=0)``,
city-like clustered points over urban Hanoi in metres.

Two DBSCAN settings: the issue's ``eps=50 m, min_samples=10`` at every size, and a
density-scaled ``min_samples = 10 * n / 100k`` that still separates hotspots when the
whole city is that dense. Ratios are against scikit-learn's time and memory at the same
size when it ran; sizes where scikit-learn is skipped say why. At the smallest size
every implementation's result is compared with scikit-learn's: core points, noise, and
the partition of core points up to relabelling (ward_geo: also label-for-label).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

DBSCAN_EPS = 50.0
ST_EPS_T_HOURS = 24.0
TARGETS = {1_000_000: (1.0, 1024.0), 3_000_000: (3.0, None)}  # n -> (seconds, MB)
# scikit-learn DBSCAN keeps every neighbourhood list: issue 3 measured ~12 GB at 1M points
SKLEARN_BYTES_PER_POINT_ESTIMATE = 12e9 / 1e6


def parse_size(text: str) -> int:
    text = text.strip().lower()
    mult = 1
    if text.endswith("k"):
        mult, text = 1_000, text[:-1]
    elif text.endswith("m"):
        mult, text = 1_000_000, text[:-1]
    return int(float(text) * mult)


def fmt_size(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def mem_available_mb() -> float:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    return 0.0


# --------------------------------------------------------------------------- worker


def _fit(impl: str, X: Any, ms: int) -> Any:
    if impl == "ward_geo":
        from ward_geo.cluster import DBSCAN

        model = DBSCAN(DBSCAN_EPS, ms).fit(X)
        return model.labels_, model.core_sample_indices_
    if impl == "sklearn":
        from sklearn.cluster import DBSCAN

        model = DBSCAN(eps=DBSCAN_EPS, min_samples=ms, n_jobs=2).fit(X)
        return model.labels_, model.core_sample_indices_
    if impl == "dbscan (Wang et al.)":
        import dbscan
        import numpy as np

        labels, core = dbscan.DBSCAN(X, eps=DBSCAN_EPS, min_samples=ms)
        return labels, np.flatnonzero(core)
    if impl.startswith("stdbscan"):
        from ward_geo.cluster import STDBSCAN

        X, t = X
        eps_t = 1e9 if impl == "stdbscan:unbounded" else ST_EPS_T_HOURS
        model = STDBSCAN(DBSCAN_EPS, eps_t, ms).fit(X, t=t)
        return model.labels_, model.core_sample_indices_
    if impl.startswith("hdbscan:"):
        backend = impl.split(":", 1)[1]
        if backend == "ward_geo":
            from ward_geo.cluster import HDBSCAN

            return HDBSCAN(min_cluster_size=ms * 5, min_samples=ms).fit(X).labels_, None
        if backend == "fast_hdbscan":
            import fast_hdbscan

            return fast_hdbscan.HDBSCAN(min_cluster_size=ms * 5, min_samples=ms).fit(X).labels_, None
        if backend == "hdbscan":
            import hdbscan

            model = hdbscan.HDBSCAN(min_cluster_size=ms * 5, min_samples=ms, core_dist_n_jobs=2)
            return model.fit(X).labels_, None
        from sklearn.cluster import HDBSCAN

        model = HDBSCAN(min_cluster_size=ms * 5, min_samples=ms, n_jobs=2, copy=True)
        return model.fit(X).labels_, None
    raise ValueError(impl)


def compare(labels_a, core_a, labels_b, core_b, n) -> str:
    """DBSCAN equivalence of result a against reference b, as a short verdict."""
    import numpy as np

    ca = np.zeros(n, bool)
    ca[core_a] = True
    cb = np.zeros(n, bool)
    cb[core_b] = True
    if not (ca == cb).all():
        return f"DIFFERENT core points ({int((ca != cb).sum())})"
    if not ((labels_a == -1) == (labels_b == -1)).all():
        return f"DIFFERENT noise ({int(((labels_a == -1) != (labels_b == -1)).sum())})"
    pairs = set(zip(labels_a[ca].tolist(), labels_b[ca].tolist()))
    if not (len(pairs) == len({p for p, _ in pairs}) == len({q for _, q in pairs})):
        return "DIFFERENT core partition"
    if (labels_a == labels_b).all():
        return "identical labels"
    return "same cores, noise, core partition"


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    from ward_geo.synth import simulate_large

    impl, n, ms, repeats = spec["impl"], spec["n"], spec["min_samples"], spec["repeats"]
    if impl.startswith("stdbscan"):
        xy, t = simulate_large(n, seed=0, with_time=True)
        X: Any = (np.ascontiguousarray(xy, dtype=np.float64), np.asarray(t, dtype=np.float64))
        _fit(impl, (X[0][:2000], X[1][:2000]), ms)
    else:
        X = np.ascontiguousarray(simulate_large(n, seed=0), dtype=np.float64)
        _fit(impl, X[:2000], ms)  # warm-up: imports, numba cache, thread pool
    base = rss_mb()
    walls, cpus = [], []
    result = None
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        result = _fit(impl, X, ms)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    out: dict[str, Any] = {
        "wall": statistics.median(walls),
        "cpu": statistics.median(cpus),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "base_mb": base,
    }
    labels, core = result
    out["n_clusters"] = int(labels.max()) + 1 if labels.size else 0
    out["clustered"] = float((labels >= 0).mean())
    if spec.get("check") and impl == "stdbscan:unbounded":
        from ward_geo.cluster import DBSCAN as WgDBSCAN

        ref = WgDBSCAN(DBSCAN_EPS, ms).fit(X[0])
        out["check"] = "vs DBSCAN: " + compare(labels, core, ref.labels_, ref.core_sample_indices_, n)
    elif spec.get("check") and core is not None:
        from sklearn.cluster import DBSCAN as SkDBSCAN

        ref = SkDBSCAN(eps=DBSCAN_EPS, min_samples=ms, n_jobs=2).fit(X)
        out["check"] = compare(labels, core, ref.labels_, ref.core_sample_indices_, n)
    return out


def run_case(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", json.dumps(spec)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"failed: {tail[:120]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- driver


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,1M,3M")
    parser.add_argument("--hdbscan-sizes", default="100k,1M")
    parser.add_argument("--no-stdbscan", action="store_true", help="skip the ST-DBSCAN rows")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--sklearn-max",
        default="1M",
        help="largest size for scikit-learn DBSCAN (also needs free memory; see the table notes)",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per case")
    parser.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0

    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    hsizes = [parse_size(s) for s in args.hdbscan_sizes.split(",") if s.strip()]
    sk_max = parse_size(args.sklearn_max)
    smallest = min(sizes)
    lines: list[str] = []
    notes: list[str] = []

    def emit(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    emit("# Clustering benchmark")
    emit("")
    emit(
        f"Machine: {os.cpu_count()} cores, {platform.python_version()}, load average at start "
        f"{', '.join(f'{v:.1f}' for v in os.getloadavg())} (shared machine: wall times are "
        f"noisy, CPU seconds are summed over threads). Data: `simulate_large(n, seed=0)`. "
        f"Median of {args.repeats} runs per case."
    )
    emit("")
    emit("## DBSCAN (eps = 50 m)")
    emit("")
    emit(
        "| n | min_samples | implementation | wall s | CPU s | peak MB | fit MB | clusters | "
        "clustered | speed-up vs sklearn | memory vs sklearn | target | check vs sklearn |"
    )
    emit("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        for ms in sorted({10, max(10, round(10 * n / 100_000))}):
            sk: dict[str, Any] | None = None
            for impl in ("sklearn", "ward_geo", "dbscan (Wang et al.)"):
                spec = {"impl": impl, "n": n, "min_samples": ms, "repeats": args.repeats,
                        "check": impl != "sklearn" and n == smallest}
                label = impl if impl != "ward_geo" else "**ward_geo**"
                if impl == "sklearn":
                    need_mb = SKLEARN_BYTES_PER_POINT_ESTIMATE * n / 2**20
                    if ms != 10:
                        reason = "not run: same neighbour search as the min_samples=10 row"
                    elif n > sk_max:
                        reason = f"skipped: above --sklearn-max {fmt_size(sk_max)}"
                    elif need_mb > 0.75 * mem_available_mb():
                        reason = (f"skipped: needs ~{need_mb / 1024:.0f} GB (neighbour lists), "
                                  f"{mem_available_mb() / 1024:.0f} GB available")
                    else:
                        reason = ""
                    if reason:
                        emit(f"| {fmt_size(n)} | {ms} | sklearn | – | – | – | – | – | – | – | – | – | {reason} |")
                        continue
                    if n > smallest:
                        spec["repeats"] = 1
                res = run_case(spec, args.timeout)
                if "error" in res:
                    emit(f"| {fmt_size(n)} | {ms} | {label} | – | – | – | – | – | – | – | – | – | {res['error']} |")
                    continue
                if impl == "sklearn":
                    sk = res
                t_ratio = f"{sk['wall'] / res['wall']:.1f}×" if sk and impl != "sklearn" else "–"
                m_ratio = f"{res['peak_mb'] / sk['peak_mb']:.2f}×" if sk and impl != "sklearn" else "–"
                target = "–"
                if impl == "ward_geo" and n in TARGETS and ms == 10:
                    t_goal, m_goal = TARGETS[n]
                    mem_ok = m_goal is None or res["peak_mb"] <= m_goal
                    if res["wall"] <= t_goal and mem_ok:
                        verdict = "met"
                    elif res["cpu"] <= t_goal and mem_ok:
                        # the work fits: CPU seconds summed over threads are within the goal
                        verdict = "CPU met, wall missed under load"
                    else:
                        verdict = "MISSED"
                    target = (f"≤{t_goal:g} s" + (f", ≤{m_goal / 1024:g} GB" if m_goal else "")
                              + f": {verdict}")
                emit(
                    f"| {fmt_size(n)} | {ms} | {label} | {res['wall']:.3f} | {res['cpu']:.3f} | "
                    f"{res['peak_mb']:.0f} | {res['peak_mb'] - res['base_mb']:.0f} | {res['n_clusters']} | "
                    f"{res['clustered']:.1%} | {t_ratio} | {m_ratio} | {target} | {res.get('check', '–')} |"
                )
    emit("")
    emit(f"## ST-DBSCAN (eps = 50 m, eps_t = {ST_EPS_T_HOURS:g} h; times from `simulate_large(..., with_time=True)`)")
    emit("")
    emit("| n | min_samples | eps_t | wall s | CPU s | peak MB | clusters | clustered | check |")
    emit("|---|---|---|---|---|---|---|---|---|")
    for n in [] if args.no_stdbscan else sizes:
        ms = 10
        cases = [("stdbscan", f"{ST_EPS_T_HOURS:g} h")]
        if n == smallest:
            cases.append(("stdbscan:unbounded", "10⁹ h"))
        for impl, eps_t_text in cases:
            res = run_case({"impl": impl, "n": n, "min_samples": ms, "repeats": args.repeats,
                            "check": impl == "stdbscan:unbounded"}, args.timeout)
            if "error" in res:
                emit(f"| {fmt_size(n)} | {ms} | {eps_t_text} | – | – | – | – | – | {res['error']} |")
                continue
            emit(f"| {fmt_size(n)} | {ms} | {eps_t_text} | {res['wall']:.3f} | {res['cpu']:.3f} | "
                 f"{res['peak_mb']:.0f} | {res['n_clusters']} | {res['clustered']:.1%} | "
                 f"{res.get('check', '–')} |")
    emit("")
    emit("## HDBSCAN (min_samples = 10, min_cluster_size = 50)")
    emit("")
    emit("| n | implementation | runs | wall s | CPU s | peak MB | clusters | clustered | speed-up vs sklearn |")
    emit("|---|---|---|---|---|---|---|---|---|")
    measured: dict[str, tuple[int, float]] = {}
    for n in hsizes:
        sk = None
        for backend in ("sklearn", "hdbscan", "fast_hdbscan", "ward_geo"):
            label = "**ward_geo.HDBSCAN** (fast_hdbscan backend)" if backend == "ward_geo" else backend
            if backend in ("sklearn", "hdbscan") and n > 100_000:
                seen = measured.get(backend)
                why = (f"{seen[1]:.0f} s at {fmt_size(seen[0])} in this run" if seen
                       else "too slow above 100k")
                emit(f"| {fmt_size(n)} | {label} | – | – | – | – | – | – | skipped: {why}, "
                     "and it grows faster than n |")
                continue
            # minutes per fit: one run for the slow ones and at 1M and above
            reps = 1 if backend in ("sklearn", "hdbscan") or n >= 1_000_000 else args.repeats
            res = run_case({"impl": f"hdbscan:{backend}", "n": n, "min_samples": 10, "repeats": reps},
                           args.timeout)
            if "error" in res:
                emit(f"| {fmt_size(n)} | {label} | {reps} | – | – | – | – | – | {res['error']} |")
                continue
            measured[backend] = (n, res["wall"])
            if backend == "sklearn":
                sk = res
            ratio = f"{sk['wall'] / res['wall']:.1f}×" if sk and backend != "sklearn" else "–"
            emit(f"| {fmt_size(n)} | {label} | {reps} | {res['wall']:.2f} | {res['cpu']:.2f} | {res['peak_mb']:.0f} | "
                 f"{res['n_clusters']} | {res['clustered']:.1%} | {ratio} |")
    notes.append(
        "peak MB is the subprocess's maximum resident size (Python, numpy, numba, scikit-learn "
        "and the data included); fit MB is the part added by the fits."
    )
    notes.append(
        "min_samples = 10 is the issue's setting; at 3M the simulated city is so dense that "
        "it chains everything into one cluster, so the density-scaled rows (min_samples = "
        "10 * n / 100k) are the ones that still separate hotspots."
    )
    notes.append(
        "scikit-learn DBSCAN above the smallest size runs once (minutes and ~14 GB per fit)."
    )
    notes.append(
        "CPU s counts the benchmark process's threads, not separate worker processes "
        "(the `hdbscan` package computes core distances in joblib worker processes)."
    )
    notes.append(
        "speed-up = scikit-learn wall time / this wall time; memory = this peak / scikit-learn's "
        "peak (same n and parameters)."
    )
    notes.append(
        "check: at the smallest size each result is compared with scikit-learn DBSCAN's on the "
        "same data (core points, noise, partition of core points up to relabelling)."
    )
    emit("")
    for note in notes:
        emit(f"- {note}")
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
