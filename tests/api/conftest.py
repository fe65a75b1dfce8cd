"""Fixtures of the service tests: a small store, API keys per role, clients, a real server.

The store holds three real central-Hanoi wards (from the shared 2025 boundaries) and 300
incidents drawn deterministically inside them: two tight clusters per ward (hotspots to
find) plus scattered background points.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import httpx
import numpy as np
import pandas as pd
import pytest
import shapely

from ward_geo.schema import WGS84, conform_incidents, slugify

WARDS = ("phuong-hoan-kiem", "phuong-cua-nam", "phuong-ba-dinh")
ROLES = ("viewer", "analyst", "admin")
VENV_BIN = Path(sys.executable).parent


def load_wards(path: Path, ward_ids: tuple[str, ...] = WARDS) -> gpd.GeoDataFrame:
    raw = gpd.read_file(path)
    frame = gpd.GeoDataFrame(
        {
            "ward_id": [slugify(n) for n in raw["name"]],
            "name": raw["name"],
            "name_en": raw["name:en"],
            "population": pd.array(pd.to_numeric(raw["population"], errors="coerce").round(), dtype="Int64"),
        },
        geometry=raw.geometry,
        crs=WGS84,
    )
    return frame.loc[frame["ward_id"].isin(ward_ids)].reset_index(drop=True)


def make_incidents(wards: gpd.GeoDataFrame, n_per_ward: int = 100, seed: int = 7, prefix: str = "t") -> gpd.GeoDataFrame:
    """Incidents inside each ward: 2 clusters of 35 points (~40 m spread) + background."""
    rng = np.random.default_rng(seed)
    rows = []
    cats = ["drugs", "theft", "traffic_accident", "public_order"]
    start = pd.Timestamp("2025-01-01", tz="UTC")
    for _, ward in wards.iterrows():
        poly = ward.geometry
        inner = poly.buffer(-0.002) if not poly.buffer(-0.002).is_empty else poly
        minx, miny, maxx, maxy = inner.bounds
        centres = []
        while len(centres) < 2:
            p = shapely.Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
            if inner.contains(p):
                centres.append(p)
        pts = []
        for c in centres:
            while sum(1 for q in pts if q[1] is c) < 35:
                q = shapely.Point(c.x + rng.normal(0, 0.0003), c.y + rng.normal(0, 0.0003))
                if poly.contains(q):
                    pts.append((q, c))
        while len(pts) < n_per_ward:
            q = shapely.Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
            if poly.contains(q):
                pts.append((q, None))
        for q, c in pts:
            i = len(rows)
            rows.append(
                {
                    "incident_id": f"{prefix}-{i:05d}",
                    "category": cats[0] if c is centres[0] else cats[i % len(cats)],
                    "category_raw": None,
                    "occurred_at": start + pd.Timedelta(minutes=int(rng.integers(0, 365 * 24 * 60))),
                    "time_precision": "exact",
                    "severity": None,
                    "description": "người dân báo <b>tụ tập</b>" if i % 10 == 0 else None,
                    "source": "fixture",
                    "ward_id": ward["ward_id"],
                    "geometry": q,
                }
            )
    return conform_incidents(gpd.GeoDataFrame(rows, geometry="geometry", crs=WGS84))


@dataclass
class Service:
    """A populated data dir with one key per role."""

    data_dir: Path
    keys: dict[str, str]

    def headers(self, role: str | None) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]} if role else {}


@pytest.fixture(scope="session")
def api_wards(hanoi_boundaries_path: Path) -> gpd.GeoDataFrame:
    return load_wards(hanoi_boundaries_path)


@pytest.fixture(scope="session")
def api_incidents(api_wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return make_incidents(api_wards)


def _populate(data_dir: Path, wards: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame | None) -> dict[str, str]:
    from ward_geo.api.keys import KeyStore
    from ward_geo.store.sqlite import SQLiteStore

    data_dir.mkdir(parents=True, exist_ok=True)
    with SQLiteStore(data_dir / "ward_geo.sqlite") as store:
        store.put_boundaries(wards)
        if incidents is not None:
            store.ingest(incidents, source="fixture")
    ks = KeyStore(data_dir / "api_keys.json")
    return {role: ks.create(role, label=f"test {role}")[0] for role in ROLES}


@pytest.fixture(scope="session")
def populated_template(
    tmp_path_factory: pytest.TempPathFactory, api_wards: gpd.GeoDataFrame, api_incidents: gpd.GeoDataFrame
) -> Service:
    data_dir = tmp_path_factory.mktemp("api_template")
    keys = _populate(data_dir, api_wards, api_incidents)
    return Service(data_dir, keys)


@pytest.fixture
def service(populated_template: Service, tmp_path: Path) -> Service:
    """A private copy of the populated data dir (tests may write to it)."""
    data_dir = tmp_path / "data"
    shutil.copytree(populated_template.data_dir, data_dir)
    return Service(data_dir, dict(populated_template.keys))


@pytest.fixture
def empty_service(tmp_path: Path, api_wards: gpd.GeoDataFrame) -> Service:
    """Wards but no incidents."""
    data_dir = tmp_path / "empty"
    keys = _populate(data_dir, api_wards, None)
    return Service(data_dir, keys)


def make_client(data_dir: Path, **overrides: object):
    from fastapi.testclient import TestClient

    from ward_geo.api.app import create_app
    from ward_geo.api.config import ApiSettings

    settings = ApiSettings(data_dir=data_dir, **overrides)
    return TestClient(create_app(settings), raise_server_exceptions=False)


@pytest.fixture
def client(service: Service) -> Iterator[object]:
    with make_client(service.data_dir) as c:
        yield c


@pytest.fixture(scope="module")
def shared_client(populated_template: Service) -> Iterator[object]:
    """A read-only client over the session template (do not ingest through it)."""
    with make_client(populated_template.data_dir) as c:
        yield c


# ---------------------------------------------------------------- real server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RealServer:
    data_dir: Path
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(data_dir: Path, log_path: Path, extra_env: dict[str, str] | None = None, timeout: float = 120) -> RealServer:
    port = free_port()
    # refreshes of a stale answer at most every 10 s (default 60 s): tests wait for fresh answers
    env = {**os.environ, "WARD_GEO_DATA_DIR": str(data_dir), "WARD_GEO_REFRESH_INTERVAL_S": "10", **(extra_env or {})}
    env.pop("WARD_GEO_API_KEYS_FILE", None)
    log = open(log_path, "ab")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [str(VENV_BIN / "ward-geo"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = RealServer(data_dir, port, proc, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"server did not become ready: {log_path.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def real_server(tmp_path_factory: pytest.TempPathFactory, api_wards, api_incidents) -> Iterator[tuple[RealServer, dict[str, str]]]:
    data_dir = tmp_path_factory.mktemp("real_server")
    keys = _populate(data_dir, api_wards, api_incidents)
    server = start_server(data_dir, data_dir / "server.log")
    try:
        yield server, keys
    finally:
        server.stop()
