import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from ward_geo import settings as settings_module
from ward_geo.errors import ConfigurationError, InputError, WardGeoError
from ward_geo.schema import INCIDENT_COLUMNS, conform_incidents, empty_incidents, nfc, slugify


def test_empty_incidents_has_canonical_columns_and_dtypes():
    e = empty_incidents()
    assert tuple(e.columns) == INCIDENT_COLUMNS
    assert str(e["occurred_at"].dtype) == "datetime64[ns, UTC]"
    assert e.crs.to_epsg() == 4326


def test_conform_incidents_adds_missing_and_orders():
    gdf = gpd.GeoDataFrame(
        {"extra": [1], "incident_id": ["a"], "category": ["theft"], "occurred_at": ["2025-01-01T07:00:00+07:00"]},
        geometry=[Point(105.85, 21.03)],
        crs=4326,
    )
    out = conform_incidents(gdf)
    assert tuple(out.columns) == INCIDENT_COLUMNS
    assert out["occurred_at"].iloc[0] == pd.Timestamp("2025-01-01T00:00:00Z")
    assert out["ward_id"].iloc[0] is None


def test_slugify_and_nfc():
    assert slugify("Phường Ô Chợ Dừa") == "phuong-o-cho-dua"
    assert slugify("Phường Văn Miếu - Quốc Tử Giám") == "phuong-van-mieu-quoc-tu-giam"
    decomposed = "Ba \u0110i\u0300nh"
    assert nfc(decomposed) == "Ba Đình"


def test_settings_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WARD_GEO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WARD_GEO_TIMEZONE", "Asia/Ho_Chi_Minh")
    settings_module.reset_settings()
    s = settings_module.get_settings()
    assert s.store_path == tmp_path / "ward_geo.sqlite"
    assert s.resolved_cache_dir.parent == tmp_path or s.cache_dir is not None


def test_settings_refuse_unknown_timezone(monkeypatch):
    monkeypatch.setenv("WARD_GEO_TIMEZONE", "Mars/Olympus")
    settings_module.reset_settings()
    with pytest.raises(ValueError, match="unknown time zone"):
        settings_module.get_settings()


def test_reference_file_errors_clearly(monkeypatch, tmp_path):
    monkeypatch.setenv("WARD_GEO_REFERENCE_DIR", str(tmp_path))
    settings_module.reset_settings()
    with pytest.raises(ConfigurationError, match="does not exist"):
        settings_module.get_settings().reference_file("streets", "missing.osm")


def test_error_family():
    assert issubclass(InputError, WardGeoError) and issubclass(WardGeoError, ValueError)
    err = InputError("bad")
    assert err.to_dict() == {"code": "invalid_input", "message": "bad"}
    assert err.status_code == 422
