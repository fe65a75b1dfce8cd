"""Settings that refuse unsafe configurations, key commands, operations endpoints, error shape."""

from __future__ import annotations

import json
import logging
import os
import subprocess

import pytest
from typer.testing import CliRunner

from ward_geo.api.config import ApiSettings, check_deployment, load_api_settings
from ward_geo.cli import app as cli_app
from ward_geo.errors import ConfigurationError

from .conftest import VENV_BIN, make_client


def test_defaults_are_safe(tmp_path):
    s = ApiSettings(data_dir=tmp_path)
    assert s.host == "127.0.0.1" and s.cors_origins == [] and not s.cors_allow_credentials
    assert s.resolved_api_keys_file == tmp_path / "api_keys.json"
    check_deployment(s, active_keys=0)  # loopback without keys is fine (every data call is 401)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"WARD_GEO_CORS_ORIGINS": "*", "WARD_GEO_CORS_ALLOW_CREDENTIALS": "true"}, "CORS_ORIGINS='*'"),
        ({"WARD_GEO_CORS_ORIGINS": "https://ok.example,ftp://x/y"}, "is not an origin"),
        ({"WARD_GEO_MAX_UPLOAD_BYTES": str(5 * 1024**3)}, "MAX_UPLOAD_BYTES"),
        ({"WARD_GEO_MAX_UPLOAD_BYTES": "0"}, "MAX_UPLOAD_BYTES"),
        ({"WARD_GEO_PORT": "70000"}, "PORT"),
        ({"WARD_GEO_LOG_LEVEL": "chatty"}, "LOG_LEVEL"),
    ],
)
def test_unsafe_or_invalid_settings_are_refused_with_reason(monkeypatch, env, needle):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigurationError) as info:
        load_api_settings()
    assert needle in str(info.value)


def test_cors_list_from_env_and_credentials_with_explicit_origins(monkeypatch):
    monkeypatch.setenv("WARD_GEO_CORS_ORIGINS", "https://a.example, http://localhost:3000")
    monkeypatch.setenv("WARD_GEO_CORS_ALLOW_CREDENTIALS", "true")
    s = load_api_settings()
    assert s.cors_origins == ["https://a.example", "http://localhost:3000"]


def test_public_bind_without_keys_is_refused(tmp_path):
    s = ApiSettings(data_dir=tmp_path, host="0.0.0.0")
    with pytest.raises(ConfigurationError, match="no API key exists"):
        check_deployment(s, active_keys=0)
    check_deployment(s, active_keys=1)


def test_world_writable_key_file_is_refused(tmp_path):
    from ward_geo.api.keys import KeyStore

    KeyStore(tmp_path / "api_keys.json").create("viewer")
    os.chmod(tmp_path / "api_keys.json", 0o666)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        check_deployment(ApiSettings(data_dir=tmp_path), active_keys=1)


def test_serve_refuses_unsafe_host_and_says_why(tmp_path):
    env = {**os.environ, "WARD_GEO_DATA_DIR": str(tmp_path)}
    proc = subprocess.run(
        [str(VENV_BIN / "ward-geo"), "serve", "--host", "0.0.0.0", "--port", "1"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1
    assert "no API key exists" in proc.stderr
    proc = subprocess.run(
        [str(VENV_BIN / "ward-geo"), "serve"],
        env={**env, "WARD_GEO_CORS_ORIGINS": "*", "WARD_GEO_CORS_ALLOW_CREDENTIALS": "1"},
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1 and "unsafe configuration" in proc.stderr


def test_keys_commands(tmp_path, monkeypatch):
    monkeypatch.setenv("WARD_GEO_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    created = runner.invoke(cli_app, ["keys", "create", "--role", "analyst", "--label", "planner", "--json"])
    assert created.exit_code == 0, created.output
    info = json.loads(created.stdout)
    assert info["key"].startswith("wgk_") and info["role"] == "analyst"
    plain = runner.invoke(cli_app, ["keys", "create", "--role", "viewer"])
    assert plain.exit_code == 0
    listed = json.loads(runner.invoke(cli_app, ["keys", "list", "--json"]).stdout)
    assert sorted(k["role"] for k in listed) == ["analyst", "viewer"]
    assert info["key"] not in runner.invoke(cli_app, ["keys", "list", "--json"]).stdout
    assert info["key"] not in (tmp_path / "api_keys.json").read_text()
    bad = runner.invoke(cli_app, ["keys", "create", "--role", "root"])
    assert bad.exit_code == 1
    revoked = runner.invoke(cli_app, ["keys", "revoke", info["key_id"], "--json"])
    assert revoked.exit_code == 0 and json.loads(revoked.stdout)["active"] is False
    assert runner.invoke(cli_app, ["keys", "revoke", "ffffffff"]).exit_code == 1
    with make_client(tmp_path) as c:
        assert c.get("/collections", headers={"X-API-Key": info["key"]}).status_code == 401


def test_cors_off_by_default_and_on_when_configured(populated_template):
    with make_client(populated_template.data_dir) as c:
        r = c.options("/collections", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        assert "access-control-allow-origin" not in r.headers
    with make_client(populated_template.data_dir, cors_origins=["https://planner.example"]) as c:
        ok = c.get("/", headers={"Origin": "https://planner.example"})
        assert ok.headers["access-control-allow-origin"] == "https://planner.example"
        other = c.get("/", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_health_readiness_and_request_ids(shared_client, caplog):
    assert shared_client.get("/healthz").json()["status"] == "ok"
    ready = shared_client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    with caplog.at_level(logging.INFO, logger="ward_geo.api.access"):
        r = shared_client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert any(getattr(rec, "fields", {}).get("request_id") == "abc-123" for rec in caplog.records)
    fresh = shared_client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert fresh.headers["x-request-id"] != "bad id with spaces" and len(fresh.headers["x-request-id"]) == 32


def test_readyz_reports_unreachable_store(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the store's folder should be")
    with make_client(tmp_path, database_url=f"sqlite:///{blocker}/ward_geo.sqlite") as c:
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["status"] == "unavailable"
        assert r.json()["detail"]["code"] == "store_unavailable"
        assert c.get("/healthz").status_code == 200


def test_errors_are_json_with_stable_codes(shared_client, populated_template):
    r = shared_client.get("/no/such/route")
    assert r.status_code == 404 and r.json()["code"] == "not_found" and r.json()["request_id"]
    r = shared_client.delete("/collections")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
    r = shared_client.get("/wards/phuong-hoan-kiem/hotspots?since=%00", headers=populated_template.headers("viewer"))
    assert r.status_code == 422 and set(r.json()) >= {"code", "message"}


def test_json_log_lines(tmp_path):
    from ward_geo.api.middleware import JsonLogFormatter

    record = logging.LogRecord("ward_geo.api.access", logging.INFO, __file__, 1, "request", None, None)
    record.fields = {"request_id": "r1", "status": 200}
    line = json.loads(JsonLogFormatter().format(record))
    assert line["request_id"] == "r1" and line["status"] == 200 and line["level"] == "info"


def test_strict_json_never_writes_nan(shared_client, populated_template):
    from ward_geo.api.app import StrictJSONResponse

    with pytest.raises(ValueError):
        StrictJSONResponse({"x": float("nan")})
    r = shared_client.get("/collections/incidents/items", params={"limit": 3}, headers=populated_template.headers("analyst"))
    assert all(f["properties"]["severity"] is None for f in r.json()["features"])  # NaN severities -> null
    assert r.headers["cache-control"] == "no-store" and r.headers["x-content-type-options"] == "nosniff"


def test_a_broken_store_is_503_json_not_a_trace(tmp_path, populated_template):
    import shutil

    data_dir = tmp_path / "data"
    shutil.copytree(populated_template.data_dir, data_dir)
    for name in ("ward_geo.sqlite", "ward_geo.sqlite-wal", "ward_geo.sqlite-shm"):
        (data_dir / name).unlink(missing_ok=True)
    (data_dir / "ward_geo.sqlite").write_bytes(b"this is not a database" * 100)
    with make_client(data_dir) as c:
        for path in ("/collections/wards/items", "/wards/phuong-hoan-kiem/hotspots", "/readyz"):
            r = c.get(path, headers=populated_template.headers("viewer"))
            assert r.status_code == 503, (path, r.text)
            assert "Traceback" not in r.text
        body = c.get("/collections/wards/items", headers=populated_template.headers("viewer")).json()
        assert body["code"] == "store_unavailable" and body["message"]
