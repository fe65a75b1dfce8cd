import geopandas as gpd
import pytest
from shapely.geometry import Point

from ward_geo.errors import InputError
from ward_geo.projection import metric_crs_for, metric_crs_for_bounds, to_metric


def test_hanoi_gets_vn2000_utm_48n(hanoi_boundaries_path):
    wards = gpd.read_file(hanoi_boundaries_path)
    projected, crs = to_metric(wards)
    assert crs.to_epsg() == 3405
    assert projected.attrs["metric_crs"] == crs.to_string()
    ba_dinh = projected[wards["name"] == "Phường Ba Đình"].area.iloc[0]
    assert 2.5e6 < ba_dinh < 3.5e6  # about 2.9 km²


def test_east_of_108_is_zone_49n():
    assert metric_crs_for_bounds((108.2, 16.0, 108.3, 16.1)).to_epsg() == 3406  # Đà Nẵng


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [(-122.41, 37.78, 32610), (-84.5, 39.1, 32616), (-1.55, 53.8, 32630), (151.2, -33.9, 32756)],
)
def test_elsewhere_gets_wgs84_utm(lon, lat, epsg):
    gdf = gpd.GeoDataFrame(geometry=[Point(lon, lat)], crs=4326)
    assert metric_crs_for(gdf).to_epsg() == epsg


def test_distances_are_metres():
    gdf = gpd.GeoDataFrame(geometry=[Point(105.85, 21.03), Point(105.851, 21.03)], crs=4326)
    projected, _ = to_metric(gdf)
    d = projected.geometry.iloc[0].distance(projected.geometry.iloc[1])
    assert 100 < d < 110  # 0.001° of longitude at 21° N ≈ 103.9 m


def test_projected_input_is_handled():
    gdf = gpd.GeoDataFrame(geometry=[Point(105.85, 21.03)], crs=4326).to_crs(32648)
    assert metric_crs_for(gdf).to_epsg() == 3405


def test_refuses_missing_crs_and_empty():
    with pytest.raises(InputError, match="no CRS"):
        metric_crs_for(gpd.GeoDataFrame(geometry=[Point(0, 0)]))
    with pytest.raises(InputError, match="no geometries"):
        metric_crs_for(gpd.GeoDataFrame(geometry=[], crs=4326))
    with pytest.raises(InputError, match="not a projected"):
        to_metric(gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=4326), crs=4326)
