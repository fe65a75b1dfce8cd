"""POST /incidents: same validation as the CLI, all-or-nothing, idempotent, bounded bodies."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from ward_geo.io.readers import read_incidents
from ward_geo.io.writers import geojson_dumps, to_geojson
from ward_geo.store.sqlite import SQLiteStore

from .conftest import make_client, make_incidents

GJ = {"content-type": "application/geo+json"}
CSV = {"content-type": "text/csv"}


def _count(service) -> int:
    with SQLiteStore(service.data_dir / "ward_geo.sqlite") as store:
        return store.count()


def _csv(points, bad_rows: int = 0) -> str:
    lines = ["id,lon,lat,time,category"]
    lines += [f"c{i},{p.x:.7f},{p.y:.7f},2025-05-0{1 + i % 9} 10:00,theft" for i, p in enumerate(points)]
    lines += [f"bad{i},abc,21.03,2025-05-01 10:00,theft" for i in range(bad_rows)]
    return "\n".join(lines) + "\n"


def test_geojson_ingest_then_idempotent_repeat(client, service, api_wards):
    new = make_incidents(api_wards, n_per_ward=75, seed=21, prefix="g")
    body = geojson_dumps(to_geojson(new))
    before = _count(service)
    r = client.post("/incidents", content=body, headers={**service.headers("admin"), **GJ})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["added"] == len(new) and out["duplicates"] == 0
    assert out["report"]["rows_read"] == out["report"]["rows_accepted"] == len(new)
    assert _count(service) == before + len(new)
    again = client.post("/incidents", content=body, headers={**service.headers("admin"), **GJ})
    assert again.status_code == 201
    assert again.json()["added"] == 0 and again.json()["duplicates"] == len(new)
    assert _count(service) == before + len(new)


def test_csv_report_is_the_cli_report(client, service, api_wards, tmp_path):
    pts = make_incidents(api_wards, n_per_ward=75, seed=4, prefix="x").geometry
    text = _csv(pts, bad_rows=2)
    before = _count(service)
    # on_error=reject: one rejected row refuses the whole request
    r = client.post("/incidents?on_error=reject", content=text, headers={**service.headers("admin"), **CSV})
    assert r.status_code == 422
    err = r.json()
    assert err["code"] == "invalid_input"
    assert _count(service) == before  # all-or-nothing
    # the same file through the reader the CLI uses gives the same report
    path = tmp_path / "upload.csv"
    path.write_text(text)
    with SQLiteStore(service.data_dir / "ward_geo.sqlite") as store:
        _, report = read_incidents(path, boundaries=store.boundaries(), source="api", return_report=True)
    assert err["report"] == report.to_dict()
    assert err["report"]["rows_rejected"] == 2
    rejected = [i for i in err["report"]["issues"] if i["action"] == "rejected"]
    assert {i["row"] for i in rejected} == {len(pts) + 1, len(pts) + 2}
    assert all(i["field"] and i["reason"] for i in rejected)
    # the default, as `ward-geo ingest`: store the accepted rows, report the rejected ones
    r = client.post("/incidents", content=text, headers={**service.headers("admin"), **CSV})
    assert r.status_code == 201
    out = r.json()
    assert out["added"] == len(pts) and out["rejected"] == out["report"]["rows_rejected"] == 2
    assert out["rows_read"] == len(pts) + 2 and out["store_total"] == before + len(pts)
    assert out["report"] == report.to_dict()
    assert _count(service) == before + len(pts)


def test_cli_ingest_and_api_ingest_agree(service, api_wards, tmp_path):
    """`ward-geo ingest --json` and POST /incidents give the same figures and report."""
    import json
    import shutil

    from typer.testing import CliRunner

    from ward_geo.cli import app as cli_app

    text = _csv(make_incidents(api_wards, n_per_ward=75, seed=31, prefix="y").geometry, bad_rows=3)
    path = tmp_path / "same.csv"
    path.write_text(text)
    twin = tmp_path / "twin"
    shutil.copytree(service.data_dir, twin)
    cli = CliRunner().invoke(cli_app, ["ingest", str(path), "--source", "api", "--json"], env={"WARD_GEO_DATA_DIR": str(twin)})
    assert cli.exit_code == 0, cli.output
    by_cli = json.loads(cli.stdout)
    with make_client(service.data_dir) as c:
        by_api = c.post("/incidents", content=text, headers={**service.headers("admin"), **CSV}).json()
    for key in ("rows_read", "added", "duplicates", "rejected", "repaired", "outside_wards", "store_total", "report"):
        assert by_api[key] == by_cli[key], key


def test_conflicting_id_refuses_whole_batch(client, service, api_incidents):
    changed = api_incidents.iloc[:5].copy()
    changed["incident_id"] = ["conflict-a", "conflict-b", "conflict-c", "conflict-d", api_incidents["incident_id"].iloc[0]]
    before = _count(service)
    r = client.post("/incidents", content=geojson_dumps(to_geojson(changed.assign(category="theft"))),
                    headers={**service.headers("admin"), **GJ})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_input"
    assert _count(service) == before


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"", GJ, 422, "invalid_input"),
        (b"{not json", GJ, 422, "invalid_input"),
        (b'{"type": "Point", "coordinates": [1, 2]}', GJ, 422, "invalid_input"),
        (b"\x00\x01\x02binary", CSV, 422, "invalid_input"),
        (b"id,lon\n1,2\n", {"content-type": "application/xml"}, 415, "unsupported_media_type"),
        (b"id,lon\n1,2\n", {}, 415, "unsupported_media_type"),
    ],
)
def test_bad_bodies_are_4xx(client, service, body, headers, status, code):
    before = _count(service)
    r = client.post("/incidents", content=body, headers={**service.headers("admin"), **headers})
    assert r.status_code == status, r.text
    assert r.json()["code"] == code
    assert "Traceback" not in r.text
    assert _count(service) == before


def test_body_size_bound_declared_and_streamed(service, api_wards):
    body = geojson_dumps(to_geojson(make_incidents(api_wards, n_per_ward=75, seed=8, prefix="big"))).encode()
    limit = len(body) // 2
    leftovers_before = set(Path(tempfile.gettempdir()).glob("ward-geo-upload-*"))
    with make_client(service.data_dir, max_upload_bytes=limit) as c:
        h = {**service.headers("admin"), **GJ}
        declared = c.post("/incidents", content=body, headers=h)
        assert declared.status_code == 413 and declared.json()["code"] == "payload_too_large"

        def chunks():  # no Content-Length: the bound is enforced while streaming
            for i in range(0, len(body), 4096):
                yield body[i : i + 4096]

        streamed = c.post("/incidents", content=chunks(), headers=h)
        assert streamed.status_code == 413 and streamed.json()["code"] == "payload_too_large"
        small = c.post("/patrol-plans", content=b"x" * (70 * 1024), headers={**h, "content-type": "application/json"})
        assert small.status_code == 413

        def json_chunks():  # the JSON endpoints are bounded too (64 KiB), also without Content-Length
            for _ in range(70):
                yield b" " * 1024

        streamed_json = c.post("/patrol-plans", content=json_chunks(), headers={**h, "content-type": "application/json"})
        assert streamed_json.status_code == 413 and streamed_json.json()["code"] == "payload_too_large"
    assert _count(service) == 300
    assert set(Path(tempfile.gettempdir()).glob("ward-geo-upload-*")) <= leftovers_before
