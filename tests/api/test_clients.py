"""Real OGC clients against a real ``ward-geo serve``: OWSLib and GDAL's OAPIF driver."""

from __future__ import annotations

import shutil
import subprocess

import httpx
import pyogrio
import pytest

from waiting import complete_json_lines, wait_until

pytestmark = pytest.mark.slow

COLLECTIONS = ("wards", "incidents", "hotspots")


def _log_entries(path, request_id: str) -> list[dict]:
    """Access-log entries of one request (the server writes them after the response)."""
    return [e for e in complete_json_lines(path) if e.get("request_id") == request_id and "status" in e]


def test_server_logs_json_with_request_ids(real_server):
    server, keys = real_server
    r = httpx.get(f"{server.url}/collections", headers={"X-API-Key": keys["viewer"], "X-Request-ID": "trace-42"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "trace-42"
    entry = wait_until(lambda: _log_entries(server.log_path, "trace-42"), timeout=30)
    assert entry and entry[0]["status"] == 200 and entry[0]["path"] == "/collections"
    assert entry[0]["key_id"] == keys["viewer"].split("_")[1]
    assert keys["viewer"] not in server.log_path.read_text()


def test_owslib_lists_and_reads_every_collection(real_server, api_incidents, api_wards):
    from owslib.ogcapi.features import Features

    server, keys = real_server
    api = Features(server.url, headers={"X-API-Key": keys["analyst"]})
    conformance = api.conformance()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conformance
    assert sorted(c["id"] for c in api.collections()["collections"]) == sorted(COLLECTIONS)
    expected = {"wards": len(api_wards), "incidents": len(api_incidents)}
    for cid in COLLECTIONS:
        assert api.collection(cid)["id"] == cid
        page = api.collection_items(cid, limit=10000)
        assert page["numberReturned"] == len(page["features"]) == page["numberMatched"]
        if cid in expected:
            assert page["numberMatched"] == expected[cid]
        else:
            assert page["numberMatched"] >= 6
    one = api.collection_item("wards", "phuong-cua-nam")
    assert one["id"] == "phuong-cua-nam"
    boxed = api.collection_items("incidents", bbox=[105.84, 21.02, 105.86, 21.04], limit=5)
    assert boxed["numberReturned"] <= 5 and boxed["numberMatched"] > 0
    viewer = Features(server.url, headers={"X-API-Key": keys["viewer"]})
    with pytest.raises(RuntimeError, match="forbidden"):
        viewer.collection_items("incidents")


@pytest.fixture
def gdal_bearer():
    """GDAL's OAPIF driver sends its own Accept header, which replaces GDAL_HTTP_HEADERS;
    the key therefore goes in the bearer-token options."""

    def configure(key: str) -> None:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": key})

    yield configure
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None})


def test_gdal_oapif_driver_reads_every_collection(real_server, gdal_bearer, api_incidents, api_wards):
    assert "OAPIF" in pyogrio.list_drivers()
    server, keys = real_server
    gdal_bearer(keys["analyst"])
    source = f"OAPIF:{server.url}/"
    layers = {name: kind for name, kind in pyogrio.list_layers(source)}
    assert layers == {"wards": "Polygon", "incidents": "Point", "hotspots": "Polygon"}
    wards = pyogrio.read_dataframe(source, layer="wards")
    assert sorted(wards["ward_id"]) == sorted(api_wards["ward_id"])
    assert wards.crs.to_authority() == ("OGC", "CRS84")
    incidents = pyogrio.read_dataframe(source, layer="incidents")  # pages through 'next' links
    assert sorted(incidents["incident_id"]) == sorted(api_incidents["incident_id"])
    hotspots = pyogrio.read_dataframe(source, layer="hotspots")
    assert len(hotspots) >= 6 and hotspots.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    near = pyogrio.read_dataframe(source, layer="incidents", bbox=(105.84, 21.02, 105.86, 21.04))
    x, y = api_incidents.geometry.x, api_incidents.geometry.y
    inside = api_incidents.loc[(x >= 105.84) & (x <= 105.86) & (y >= 21.02) & (y <= 21.04)]
    assert sorted(near["incident_id"]) == sorted(inside["incident_id"])


def test_gdal_without_key_is_refused(real_server, gdal_bearer):
    server, keys = real_server
    gdal_bearer(keys["viewer"])
    with pytest.raises((pyogrio.errors.DataSourceError, pyogrio.errors.FeatureError), match="403"):
        pyogrio.read_dataframe(f"OAPIF:{server.url}/", layer="incidents")
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None})
    with pytest.raises(pyogrio.errors.DataSourceError, match="401"):
        pyogrio.list_layers(f"OAPIF:{server.url}/")


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="ogrinfo (gdal-bin) is not installed")
def test_ogrinfo_lists_and_reads_collections(real_server, tmp_path, api_wards):
    """Debian's ogrinfo (older GDAL, no bearer option): the key comes from a header file."""
    server, keys = real_server
    header_file = tmp_path / "headers.txt"
    header_file.write_text(f"X-API-Key: {keys['analyst']}\n")
    header_file.chmod(0o600)
    base = ["ogrinfo", "--config", "GDAL_HTTP_HEADER_FILE", str(header_file), "-ro"]
    listing = subprocess.run([*base, "-so", f"OAPIF:{server.url}/"], capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0, listing.stderr
    for name in COLLECTIONS:
        assert name in listing.stdout
    wards = subprocess.run([*base, "-al", "-q", f"OAPIF:{server.url}/", "wards"], capture_output=True, text=True, timeout=120)
    assert wards.returncode == 0, wards.stderr
    for ward_id in api_wards["ward_id"]:
        assert ward_id in wards.stdout
