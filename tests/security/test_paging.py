"""Keyset paging of the incidents collection (issue 12, case 9: heavy readers): every row
exactly once, also while new rows arrive, against a real ``ward-geo serve``."""

from __future__ import annotations

import httpx

WARD = "phuong-hoan-kiem"


def _post(server, keys, features) -> None:
    r = httpx.post(f"{server.url}/incidents", json={"type": "FeatureCollection", "features": features},
                   headers={"X-API-Key": keys["admin"], "content-type": "application/geo+json"}, timeout=120)
    assert r.status_code == 201, r.text


def _incident(i: str, when: str, lon: float = 105.852, lat: float = 21.028) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"incident_id": i, "category": "theft", "occurred_at": when}}


def test_paging_returns_every_row_once_while_rows_arrive(real_server):
    server, keys = real_server
    h = {"X-API-Key": keys["analyst"]}
    # 20 rows at one instant: a page boundary falls inside them
    _post(server, keys, [_incident(f"tie-{i:02d}", "2025-03-03T03:03:03Z") for i in range(20)])
    first = httpx.get(f"{server.url}/collections/incidents/items", params={"limit": 7}, headers=h, timeout=60).json()
    total = first["numberMatched"]
    ids: list[str] = []
    page = first
    pages = 0
    while True:
        ids += [f["id"] for f in page["features"]]
        pages += 1
        if pages == 3:  # rows that sort before everything already served arrive mid-way
            _post(server, keys, [_incident(f"early-{i}", f"2024-01-0{i + 1}T00:00:00Z") for i in range(3)])
        nxt = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
        if nxt is None:
            break
        r = httpx.get(nxt, headers=h, timeout=60)
        assert r.status_code == 200, r.text
        page = r.json()
    assert len(ids) == len(set(ids)), "a row was served twice"
    assert len(ids) == total and {f"tie-{i:02d}" for i in range(20)} <= set(ids)


def test_bad_cursors_are_refused(real_server):
    server, keys = real_server
    h = {"X-API-Key": keys["analyst"]}
    for params in ({"cursor": "nope"}, {"cursor": "W10"}, {"cursor": "WzEsIngiLDBd"}, {"cursor": "A" * 300},
                   {"cursor": "WzEsIngiLDFd", "offset": 5}):
        r = httpx.get(f"{server.url}/collections/incidents/items", params=params, headers=h, timeout=60)
        assert r.status_code == 400 and r.json()["code"] == "invalid_parameter", (params, r.text)
    r = httpx.get(f"{server.url}/collections/wards/items", params={"cursor": "WzEsIngiLDFd"},
                  headers={"X-API-Key": keys["viewer"]}, timeout=60)
    assert r.status_code == 400
