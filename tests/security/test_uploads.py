"""Hostile uploads against a real ``ward-geo serve``: the body never chooses its parser.

A GDAL VRT sent as GeoJSON neither reads server files nor makes requests; GeoPackages are
refused unless enabled, and then read within budgets; errors show no server path; the
spool folder is private, cleaned at start, and a full disk answers 507.
"""

from __future__ import annotations

import gzip
import json
import os
import select
import socket
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api.conftest import _populate, start_server
from waiting import wait_until

from .test_input_bounds import RECURSIVE_VIEW, make_view_gpkg

GJ = {"content-type": "application/geo+json"}


def _count(data_dir: Path) -> int:
    with sqlite3.connect(f"file:{data_dir / 'ward_geo.sqlite'}?mode=ro", uri=True) as con:
        return int(con.execute("SELECT count(*) FROM incidents").fetchone()[0])


def _point(wards) -> tuple[float, float]:
    p = wards.geometry.iloc[0].representative_point()
    return p.x, p.y


def _feature_collection(x: float, y: float, n: int = 3, prefix: str = "u") -> bytes:
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
         "properties": {"incident_id": f"{prefix}{i}", "category": "theft", "occurred_at": "2025-05-01T10:00:00+07:00"}}
        for i in range(n)
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


@pytest.fixture(scope="module")
def upload_server(tmp_path_factory, api_wards) -> Iterator[tuple[object, dict[str, str]]]:
    """A real server with GeoPackage uploads enabled, small read budgets and stale spool files."""
    data_dir = tmp_path_factory.mktemp("upload_server")
    keys = _populate(data_dir, api_wards, None)
    spool = data_dir / "tmp"
    spool.mkdir()
    for name in ("upload-stale1.geojson", "upload-stale2.csv"):
        (spool / name).write_text("left by a crash")
    env = {
        "WARD_GEO_UPLOAD_GDAL_FORMATS": "gpkg",
        "WARD_GEO_READ_VECTOR_TIMEOUT_S": "3",
        "WARD_GEO_READ_MAX_BYTES": str(4 * 1024**2),
        "WARD_GEO_READ_MAX_LINE_BYTES": str(64 * 1024**2),
    }
    server = start_server(data_dir, data_dir / "server.log", extra_env=env)
    try:
        yield server, keys
    finally:
        server.stop()


def _post(server, keys, body: bytes, headers: dict[str, str], query: str = "", timeout: float = 60) -> httpx.Response:
    return httpx.post(f"{server.url}/incidents{query}", content=body,
                      headers={"X-API-Key": keys["admin"], **headers}, timeout=timeout)


# ---------------------------------------------------------------- GDAL never sniffs a body
def _vrt(source: str) -> bytes:
    return (
        "<OGRVRTDataSource><OGRVRTLayer name=\"l\">"
        f"<SrcDataSource>{source}</SrcDataSource>"
        "<GeometryType>wkbPoint</GeometryType><LayerSRS>EPSG:4326</LayerSRS>"
        "<GeometryField encoding=\"PointFromColumns\" x=\"lon\" y=\"lat\"/>"
        "</OGRVRTLayer></OGRVRTDataSource>"
    ).encode()


@pytest.mark.parametrize("target", ["secret", "passwd"])
def test_vrt_body_reading_a_server_file_is_refused_and_stores_nothing(upload_server, api_wards, tmp_path, target):
    server, keys = upload_server
    if target == "secret":  # a server file that would make valid incidents
        x, y = _point(api_wards)
        secret = tmp_path / "secret.csv"
        secret.write_text(f"id,lon,lat,time,description\ns1,{x},{y},2025-05-01 10:00,TOPSECRET\n")
        source = f"CSV:{secret}"
    else:
        source = "CSV:/etc/passwd"
    before = _count(server.data_dir)
    r = _post(server, keys, _vrt(source), GJ)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_input"
    assert "not a JSON document" in r.json()["message"]
    assert "TOPSECRET" not in r.text and "root:" not in r.text
    assert _count(server.data_dir) == before


class _Listener:
    """A local TCP listener that counts the connections it is offered (and closes them)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop:
            ready, _, _ = select.select([self.sock], [], [], 0.05)
            if ready and not self._stop:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()

    def pending(self) -> bool:
        ready, _, _ = select.select([self.sock], [], [], 0)
        return bool(ready)

    def close(self) -> None:
        self._stop = True
        self._thread.join(5)
        self.sock.close()


def test_vsicurl_body_makes_no_request(upload_server):
    server, keys = upload_server
    listener = _Listener()
    try:
        for media in ("application/geo+json", "text/csv"):
            body = _vrt(f"/vsicurl/http://127.0.0.1:{listener.port}/data.csv")
            r = _post(server, keys, body, {"content-type": media})
            assert r.status_code == 422, r.text
        assert listener.connections == 0 and not listener.pending()
    finally:
        listener.close()


def test_geopackage_sent_as_geojson_is_refused_at_once(upload_server, tmp_path):
    server, keys = upload_server
    body = make_view_gpkg(tmp_path / "recursive.gpkg", RECURSIVE_VIEW).read_bytes()
    r = _post(server, keys, body, GJ, timeout=20)
    assert r.status_code == 422, r.text
    assert "GeoJSON" in r.json()["message"] or "UTF-8" in r.json()["message"]


def test_recursive_view_geopackage_upload_ends_within_the_budget(upload_server, tmp_path):
    server, keys = upload_server
    body = make_view_gpkg(tmp_path / "recursive.gpkg", RECURSIVE_VIEW).read_bytes()
    r = _post(server, keys, body, {"content-type": "application/geopackage+sqlite3"}, timeout=60)
    assert r.status_code == 422, r.text
    assert "WARD_GEO_READ_VECTOR_TIMEOUT_S=3" in r.json()["message"]
    assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200


def test_geopackage_is_415_unless_enabled(real_server, tmp_path):
    server, keys = real_server
    body = make_view_gpkg(tmp_path / "recursive.gpkg", RECURSIVE_VIEW).read_bytes()
    r = _post(server, keys, body, {"content-type": "application/geopackage+sqlite3"}, timeout=20)
    assert r.status_code == 415, r.text
    assert r.json()["details"]["accepted"] == ["application/csv", "application/geo+json", "application/json",
                                               "text/csv"]


@pytest.mark.parametrize("media", ["application/xml", "application/octet-stream", "text/plain"])
def test_other_media_types_are_415(upload_server, media):
    server, keys = upload_server
    r = _post(server, keys, b"<x/>", {"content-type": media})
    assert r.status_code == 415


def test_unknown_content_encoding_is_415(upload_server, api_wards):
    server, keys = upload_server
    r = _post(server, keys, _feature_collection(*_point(api_wards)), {**GJ, "content-encoding": "br"})
    assert r.status_code == 415


# ---------------------------------------------------------------- own parsers
def test_geojson_upload_is_parsed_by_the_project_and_stored(upload_server, api_wards):
    server, keys = upload_server
    before = _count(server.data_dir)
    r = _post(server, keys, _feature_collection(*_point(api_wards), prefix="ok"), GJ)
    assert r.status_code == 201, r.text
    assert r.json()["added"] == 3
    assert _count(server.data_dir) == before + 3


def test_gzip_encoded_geojson_is_inflated(upload_server, api_wards):
    server, keys = upload_server
    body = gzip.compress(_feature_collection(*_point(api_wards), prefix="gz"))
    r = _post(server, keys, body, {**GJ, "content-encoding": "gzip"})
    assert r.status_code == 201, r.text
    assert r.json()["added"] == 3


def test_gzip_bomb_upload_is_refused(upload_server, api_wards):
    server, keys = upload_server
    x, y = _point(api_wards)
    text = f"id,lon,lat,time,description\nb1,{x},{y},2025-05-01 10:00,\"" + "A" * (32 * 1024**2) + "\"\n"
    body = gzip.compress(text.encode(), compresslevel=9)
    assert len(body) < 100_000
    before = _count(server.data_dir)
    r = _post(server, keys, body, {"content-type": "text/csv", "content-encoding": "gzip"})
    assert r.status_code == 422, r.text
    assert "WARD_GEO_READ_MAX_BYTES" in r.json()["message"]
    assert _count(server.data_dir) == before


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point",
                                                                                    "coordinates": "x"}}]},
         "feature 0: invalid geometry"),
        ({"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None, "properties": {}},
                                                    {"type": "Feature", "properties": []}]},
         "feature 1: 'properties' must be an object or null"),
        ({"type": "FeatureCollection", "features": [["not", "a", "feature"]]}, "feature 0: expected an object"),
        ({"type": "Topology"}, "expected a GeoJSON FeatureCollection or Feature"),
        ({"type": "FeatureCollection"}, "no 'features' list"),
    ],
)
def test_malformed_geojson_names_feature_and_member(upload_server, doc, expected):
    server, keys = upload_server
    r = _post(server, keys, json.dumps(doc).encode(), GJ)
    assert r.status_code == 422, r.text
    assert expected in r.json()["message"]


def test_deeply_nested_json_is_refused(upload_server):
    server, keys = upload_server
    r = _post(server, keys, b"[" * 200_000 + b"]" * 200_000, GJ)
    assert r.status_code == 422, r.text


# ---------------------------------------------------------------- no server paths, private spool
@pytest.mark.parametrize(
    ("body", "media"),
    [(b"{not json", "application/geo+json"), (b"\x00\x01garbage", "text/csv"),
     (_vrt("CSV:/etc/passwd"), "application/geo+json"), (b"SQLite format 3\x00" + b"\x00" * 200,
                                                           "application/geopackage+sqlite3")],
)
def test_errors_show_no_server_path(upload_server, body, media):
    server, keys = upload_server
    r = _post(server, keys, body, {"content-type": media})
    assert r.status_code == 422, r.text
    text = r.text
    for leak in (str(server.data_dir), str(server.data_dir / "tmp"), "/tmp", os.sep + "work" + os.sep):
        assert leak not in text, (leak, text)


def test_stale_spool_files_are_removed_at_start_and_uploads_leave_none(upload_server, api_wards):
    server, keys = upload_server
    spool = server.data_dir / "tmp"
    assert spool.is_dir()
    assert (spool.stat().st_mode & 0o777) == 0o700
    assert not (spool / "upload-stale1.geojson").exists() and not (spool / "upload-stale2.csv").exists()
    r = _post(server, keys, _feature_collection(*_point(api_wards), prefix="sp"), GJ)
    assert r.status_code == 201
    wait_until(lambda: not any(spool.iterdir()))


def test_full_spool_folder_answers_507(tmp_path_factory, api_wards):
    """The spool folder is a 64 KiB tmpfs: a real ENOSPC from the kernel, not a simulation."""
    data_dir = tmp_path_factory.mktemp("full_spool")
    keys = _populate(data_dir, api_wards, None)
    mount = data_dir / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mount)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    server = None
    try:
        server = start_server(data_dir, data_dir / "server.log", extra_env={"WARD_GEO_SPOOL_DIR": str(mount)})
        x, y = _point(api_wards)
        body = _feature_collection(x, y, n=2000, prefix="full")
        assert len(body) > 128 * 1024
        r = _post(server, keys, body, GJ)
        assert r.status_code == 507, r.text
        assert r.json()["code"] == "insufficient_storage"
        assert "no space left" in r.json()["message"]
        assert str(mount) not in r.text
        assert not any(mount.iterdir())  # the partial spool file was removed
        small = _post(server, keys, _feature_collection(x, y, n=2, prefix="fits"), GJ)
        assert small.status_code == 201, small.text
    finally:
        if server is not None:
            server.stop()
        subprocess.run(["umount", str(mount)], check=False)
