"""Where a test's store lives (``StoreSpec``) and whether a PostGIS server is available."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ward_geo.store.base import IncidentStore

WORKER = Path(__file__).resolve().parent / "ingest_worker.py"
PG_URL = os.environ.get("WARD_GEO_TEST_DATABASE_URL")
PG_SKIP = pytest.mark.skipif(
    not PG_URL, reason="WARD_GEO_TEST_DATABASE_URL is not set (start a server with scripts/postgis.sh start)"
)


@dataclass
class StoreSpec:
    """Where one test's store lives; ``open()`` gives a new handle on the same store."""

    backend: str
    target: str
    schema: str | None = None

    def open(self, **kwargs) -> IncidentStore:
        if self.backend == "sqlite":
            from ward_geo.store.sqlite import SQLiteStore

            return SQLiteStore(self.target, **kwargs)
        from ward_geo.store.postgis import PostGISStore

        return PostGISStore(self.target, schema=self.schema, **kwargs)

    def worker(self, batches: list[tuple[int, int]], go_file: Path | None = None) -> subprocess.Popen:
        """Start a worker process that ingests the fixture id ranges ``batches`` in order."""
        spec = {"backend": self.backend, "target": self.target, "schema": self.schema, "batches": batches}
        if go_file is not None:
            spec["go_file"] = str(go_file)
        return subprocess.Popen(
            [sys.executable, str(WORKER), json.dumps(spec)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def raw(self, query: str) -> list[tuple]:
        """Run ``query`` directly on the database.

        ``{t}`` is the incidents table, ``{s}`` the prefix of the store's tables (empty for
        SQLite, ``"schema".`` for PostGIS), as in ``SELECT count(*) FROM {s}hotspot_sets``.
        """
        if self.backend == "sqlite":
            import sqlite3

            with sqlite3.connect(self.target) as conn:
                return conn.execute(query.format(t="incidents", s="")).fetchall()
        import psycopg

        prefix = f'"{self.schema}".'
        with psycopg.connect(self.target, autocommit=True) as conn:
            cur = conn.execute(query.format(t=f"{prefix}incidents", s=prefix))
            return cur.fetchall() if cur.description else []
