"""Worker process for the store tests: opens a store and ingests fixture batches.

Usage: ``python ingest_worker.py '<json>'`` with keys ``backend`` ("sqlite"|"postgis"),
``target`` (file path or URL), ``schema`` (PostGIS), ``batches`` (list of [start, stop]
id ranges, ingested in order), optional ``go_file`` (wait until it exists before starting).
Prints one JSON line per batch with ``added`` and ``duplicates``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _store_data import make_incidents  # noqa: E402


def main() -> None:
    spec = json.loads(sys.argv[1])
    if spec["backend"] == "sqlite":
        from ward_geo.store.sqlite import SQLiteStore

        store = SQLiteStore(spec["target"])
    else:
        from ward_geo.store.postgis import PostGISStore

        store = PostGISStore(spec["target"], schema=spec["schema"])
    frames = [make_incidents(range(a, b)) for a, b in spec["batches"]]
    go = spec.get("go_file")
    if go:
        deadline = time.monotonic() + 60
        while not Path(go).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    print("ingesting", file=sys.stderr, flush=True)
    with store:
        for frame in frames:
            result = store.ingest(frame)
            print(json.dumps({"added": result.added, "duplicates": result.duplicates}), flush=True)


if __name__ == "__main__":
    main()
