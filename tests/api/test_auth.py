"""The full auth matrix: every endpoint x (no key, viewer, analyst, admin), plus key handling."""

from __future__ import annotations

import json

import pytest

from ward_geo.io.writers import geojson_dumps, to_geojson

from .conftest import make_client, make_incidents

ROLE_ORDER = (None, "viewer", "analyst", "admin")


def _ingest_body(api_wards) -> str:
    return geojson_dumps(to_geojson(make_incidents(api_wards, n_per_ward=3, seed=11, prefix="auth")))


# (method, path, minimum role or None for public, body kind)
ENDPOINTS = [
    ("GET", "/", None, None),
    ("GET", "/conformance", None, None),
    ("GET", "/openapi.json", None, None),
    ("GET", "/healthz", None, None),
    ("GET", "/readyz", None, None),
    ("GET", "/collections", "viewer", None),
    ("GET", "/collections/wards", "viewer", None),
    ("GET", "/collections/incidents", "viewer", None),
    ("GET", "/collections/hotspots", "viewer", None),
    ("GET", "/collections/wards/items", "viewer", None),
    ("GET", "/collections/wards/items/phuong-hoan-kiem", "viewer", None),
    ("GET", "/collections/hotspots/items", "viewer", None),
    ("GET", "/collections/hotspots/items/{hotspot}", "viewer", None),
    ("GET", "/collections/incidents/items", "analyst", None),
    ("GET", "/collections/incidents/items/t-00003", "analyst", None),
    ("GET", "/wards/phuong-hoan-kiem/hotspots", "viewer", None),
    ("GET", "/maps/phuong-cua-nam.html", "viewer", None),
    ("POST", "/patrol-plans", "viewer", "plan"),
    ("POST", "/incidents", "admin", "ingest"),
]


@pytest.fixture(scope="module")
def matrix_client(tmp_path_factory, populated_template):
    import shutil

    data_dir = tmp_path_factory.mktemp("auth") / "data"
    shutil.copytree(populated_template.data_dir, data_dir)
    with make_client(data_dir) as c:
        yield c


def _request(client, method, path, role, keys, kind, api_wards):
    headers = {"X-API-Key": keys[role]} if role else {}
    if kind == "plan":
        return client.post(
            path, headers=headers, json={"ward_id": "phuong-hoan-kiem", "units": 1, "time_limit_s": 1, "seed": 1}
        )
    if kind == "ingest":
        return client.post(path, headers={**headers, "content-type": "application/geo+json"}, content=_ingest_body(api_wards))
    return client.request(method, path, headers=headers)


@pytest.mark.slow
def test_auth_matrix(matrix_client, populated_template, api_wards):
    keys = populated_template.keys
    hot = matrix_client.get("/collections/hotspots/items", headers={"X-API-Key": keys["viewer"]}).json()
    hotspot = hot["features"][0]["id"]
    observed = {}
    for method, path, needed, kind in ENDPOINTS:
        path = path.replace("{hotspot}", hotspot)
        for role in ROLE_ORDER:
            r = _request(matrix_client, method, path, role, keys, kind, api_wards)
            observed[(path, role)] = r.status_code
            if needed is None or (role is not None and ROLE_ORDER.index(role) >= ROLE_ORDER.index(needed)):
                assert r.status_code in (200, 201), (method, path, role, r.text[:300])
            elif role is None:
                assert r.status_code == 401, (method, path, role)
                assert r.json()["code"] == "unauthenticated"
                assert "www-authenticate" in r.headers
            else:
                assert r.status_code == 403, (method, path, role)
                assert r.json()["code"] == "forbidden"
                assert "features" not in r.text
    # every cell was asserted
    assert len(observed) == len(ENDPOINTS) * len(ROLE_ORDER)


def test_bearer_header_and_bad_keys(shared_client, populated_template):
    keys = populated_template.keys
    ok = shared_client.get("/collections/wards/items", headers={"Authorization": f"Bearer {keys['viewer']}"})
    assert ok.status_code == 200
    for bad in ("nonsense", keys["viewer"][:-2] + "xx", "wgk_00000000_" + "a" * 43, ""):
        r = shared_client.get("/collections/wards/items", headers={"X-API-Key": bad})
        assert r.status_code == 401, bad
        assert r.json()["code"] == "unauthenticated"
    r = shared_client.get("/collections/wards/items", headers={"Authorization": f"Basic {keys['viewer']}"})
    assert r.status_code == 401


def test_revoked_key_is_refused_at_once(service):
    from ward_geo.api.keys import KeyStore

    with make_client(service.data_dir) as c:
        h = service.headers("analyst")
        assert c.get("/collections/incidents/items", headers=h).status_code == 200
        store = KeyStore(service.data_dir / "api_keys.json")
        key_id = service.keys["analyst"].split("_")[1]
        store.revoke(key_id)
        assert c.get("/collections/incidents/items", headers=h).status_code == 401
        new_key, _ = store.create("analyst")
        assert c.get("/collections/incidents/items", headers={"X-API-Key": new_key}).status_code == 200


def test_key_file_holds_only_hashes(populated_template):
    text = (populated_template.data_dir / "api_keys.json").read_text()
    for key in populated_template.keys.values():
        assert key not in text
        assert key.split("_", 2)[2] not in text
    data = json.loads(text)
    assert {k["role"] for k in data["keys"]} == {"viewer", "analyst", "admin"}
    assert all(len(k["sha256"]) == 64 for k in data["keys"])
    mode = (populated_template.data_dir / "api_keys.json").stat().st_mode & 0o777
    assert mode == 0o600
