"""The fast path of cached hotspot answers keeps the route's authentication and headers
(issue 12, case 9: speed without a weaker door), against a real ``ward-geo serve``."""

from __future__ import annotations

import re

import httpx

from ward_geo.api.keys import KeyStore

WARD = "phuong-ba-dinh"
PATH = f"/wards/{WARD}/hotspots"
_SAME = ("content-type", "content-length", "etag", "cache-control", "x-data-freshness", "x-content-type-options")


def _served(server, keys) -> int:
    text = httpx.get(f"{server.url}/metrics", headers={"X-API-Key": keys["admin"]}, timeout=30).text
    match = re.search(r"^ward_geo_hotpath_served_total (\d+)$", text, re.M)
    return int(match.group(1)) if match else -1


def test_fast_path_answers_like_the_route(real_server):
    server, keys = real_server
    h = {"X-API-Key": keys["analyst"]}
    slow = httpx.get(f"{server.url}{PATH}", params={"category": "drugs"}, headers=h, timeout=120)
    assert slow.status_code == 200
    before = _served(server, keys)
    fast = httpx.get(f"{server.url}{PATH}", params={"category": "drugs"}, headers=h, timeout=120)
    assert _served(server, keys) == before + 1
    assert fast.content == slow.content
    assert {k: fast.headers.get(k) for k in _SAME} == {k: slow.headers.get(k) for k in _SAME}
    assert fast.headers["x-request-id"] != slow.headers["x-request-id"]
    bearer = httpx.get(f"{server.url}{PATH}", params={"category": "drugs"},
                       headers={"Authorization": f"Bearer {keys['analyst']}"}, timeout=120)
    assert bearer.content == slow.content
    not_modified = httpx.get(f"{server.url}{PATH}", params={"category": "drugs"},
                             headers={**h, "If-None-Match": slow.headers["etag"]}, timeout=120)
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == slow.headers["etag"]


def test_fast_path_enforces_authentication_and_roles(real_server):
    server, keys = real_server
    url = f"{server.url}{PATH}"
    full = httpx.get(url, headers={"X-API-Key": keys["analyst"]}, timeout=120)
    full = httpx.get(url, headers={"X-API-Key": keys["analyst"]}, timeout=120)  # now cached, fast
    assert full.status_code == 200
    for headers in ({}, {"X-API-Key": "wgk_nope_nope"}, {"X-API-Key": keys["analyst"] + "x"},
                    {"Authorization": "Basic " + keys["analyst"]}):
        r = httpx.get(url, headers=headers, timeout=120)
        assert r.status_code == 401 and r.json()["code"] == "unauthenticated", headers
        assert "www-authenticate" in r.headers
    # a viewer asking the same URL gets the aggregate view, never the analyst's cached bytes
    store = KeyStore(server.data_dir / "api_keys.json")
    viewer_key, record = store.create("viewer", label="revoked during the test")
    view = httpx.get(url, headers={"X-API-Key": viewer_key}, timeout=120)
    again = httpx.get(url, headers={"X-API-Key": viewer_key}, timeout=120)
    assert view.status_code == again.status_code == 200
    assert again.content == view.content != full.content and "aggregate" in view.json()
    served = _served(server, keys)
    # a key revoked while the server runs is refused at once, also for a cached answer
    store.revoke(record.key_id)
    r = httpx.get(url, headers={"X-API-Key": viewer_key}, timeout=120)
    assert r.status_code == 401
    assert _served(server, keys) == served
