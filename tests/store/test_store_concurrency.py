"""Concurrent writers: real processes and threads ingesting overlapping batches."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from _store_data import make_incidents
from _store_specs import StoreSpec


def _results(proc) -> list[dict]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.mark.slow
def test_concurrent_processes_with_overlapping_batches(spec: StoreSpec, tmp_path: Path):
    with spec.open() as store:
        store.ingest(make_incidents(range(0, 50)))  # some rows already stored
    go = tmp_path / "go"
    # worker w ingests ids [300w, 300w + 600) in three batches of 200: neighbours overlap by 300
    plans = [[(300 * w + 200 * k, 300 * w + 200 * (k + 1)) for k in range(3)] for w in range(4)]
    procs = [spec.worker(plan, go_file=go) for plan in plans]
    go.touch()
    results = [r for p in procs for r in _results(p)]
    union = set(range(0, 1500))
    assert sum(r["added"] for r in results) == len(union) - 50
    assert sum(r["duplicates"] for r in results) == 4 * 600 - (len(union) - 50)
    with spec.open() as store:
        assert store.count() == 1500
        ids = store.query(order="incident_id")["incident_id"].tolist()
        assert ids == [f"inc-{i:07d}" for i in sorted(union)]
        log = store.batches()
        assert len(log) == 13 and log["added"].sum() == 1500


def test_concurrent_threads_sharing_and_not_sharing_a_store(spec: StoreSpec):
    shared = spec.open()
    own = [spec.open() for _ in range(2)]
    handles = [shared, shared, shared, *own]
    errors: list[BaseException] = []
    added: list[int] = []
    lock = threading.Lock()

    def run(k: int) -> None:
        try:
            for j in range(3):
                start = 40 * k + 60 * j
                result = handles[k].ingest(make_incidents(range(start, start + 80)))
                with lock:
                    added.append(result.added)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(handles))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    expected = set()
    for k in range(len(handles)):
        for j in range(3):
            expected |= set(range(40 * k + 60 * j, 40 * k + 60 * j + 80))
    assert sum(added) == len(expected) == shared.count()
    assert sorted(shared.query()["incident_id"]) == [f"inc-{i:07d}" for i in sorted(expected)]
    for h in (shared, *own):
        h.close()
