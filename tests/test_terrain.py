"""DEM reading in any CRS, bilinear heights, no-data, missing CRS, MSL -> ellipsoidal."""
from __future__ import annotations

import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from rasterio.transform import from_origin

from qgis_siammask.core.errors import ProjectionError
from qgis_siammask.core.geo.geodesy import geoid_separation_m
from qgis_siammask.core.geo.terrain import DemTerrain, FlatTerrain

PLANE = (1000.0, 0.02, -0.01)  # height = a + b * easting offset + c * northing offset (m)


def _write(path, array, crs, transform, nodata=None, tags=None):
    with rasterio.open(path, "w", driver="GTiff", width=array.shape[1], height=array.shape[0], count=1,
                       dtype="float32", crs=crs, transform=transform, nodata=nodata) as dataset:
        dataset.write(array.astype(np.float32), 1)
        if tags:
            dataset.update_tags(**tags)
    return path


@pytest.fixture(scope="module")
def utm_plane_dem(tmp_path_factory):
    """A 200 x 200 m DEM (2 m pixels) in UTM 13N holding an inclined plane, heights ellipsoidal."""
    west, north = 500_000.0, 4_554_000.0
    rows, cols = np.mgrid[0:100, 0:100]
    east_off, north_off = (cols + 0.5) * 2.0, -(rows + 0.5) * 2.0
    heights = PLANE[0] + PLANE[1] * east_off + PLANE[2] * north_off
    path = _write(tmp_path_factory.mktemp("dem") / "plane.tif", heights, "EPSG:32613", from_origin(west, north, 2.0, 2.0),
                  tags={"VERTICAL_DATUM": "HAE"})
    return path, west, north


def test_bilinear_heights_of_a_plane_are_exact_in_utm(utm_plane_dem):
    path, west, north = utm_plane_dem
    dem = DemTerrain(path)
    rng = np.random.default_rng(0)
    east = west + rng.uniform(2, 198, 200)
    northing = north - rng.uniform(2, 198, 200)
    lon, lat = Transformer.from_crs("EPSG:32613", "EPSG:4326", always_xy=True).transform(east, northing)
    expected = PLANE[0] + PLANE[1] * (east - west) + PLANE[2] * (northing - north)
    assert np.abs(dem.heights_m(np.column_stack([lon, lat])) - expected).max() < 1e-3  # float32 storage
    assert dem.pixel_size_m == pytest.approx(2.0)


def test_outside_the_dem_is_nan(utm_plane_dem):
    path, west, north = utm_plane_dem
    lon, lat = Transformer.from_crs("EPSG:32613", "EPSG:4326", always_xy=True).transform(west - 50, north + 50)
    assert np.isnan(DemTerrain(path).heights_m(np.array([[lon, lat]]))[0])


def test_geographic_dem_with_nodata(tmp_path):
    heights = np.full((50, 50), 1500.0)
    heights[20:30, 20:30] = -9999.0
    path = _write(tmp_path / "geo.tif", heights, "EPSG:4326", from_origin(-105.0, 41.0, 0.0001, 0.0001), nodata=-9999.0,
                  tags={"VERTICAL_DATUM": "HAE"})
    dem = DemTerrain(path)
    inside, in_hole = [-105.0 + 0.0001 * 5.2, 41.0 - 0.0001 * 5.7], [-105.0 + 0.0025, 41.0 - 0.0025]
    values = dem.heights_m(np.array([inside, in_hole]))
    assert values[0] == pytest.approx(1500.0) and np.isnan(values[1])


def test_msl_dem_is_raised_by_the_geoid(utm_plane_dem, tmp_path):
    path, west, north = utm_plane_dem
    separation = geoid_separation_m(41.12, -105.0)
    if separation is None:
        pytest.skip("PROJ has no EGM96 grid")
    hae, msl = DemTerrain(path), DemTerrain(path, vertical_datum="MSL")
    assert msl.height_range_m[0] - hae.height_range_m[0] == pytest.approx(separation, abs=0.5)


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_dem_without_crs_or_data_is_a_projection_error(tmp_path):
    with rasterio.open(tmp_path / "nocrs.tif", "w", driver="GTiff", width=4, height=4, count=1, dtype="float32") as dataset:
        dataset.write(np.zeros((1, 4, 4), np.float32))
    with pytest.raises(ProjectionError, match="no coordinate reference system"):
        DemTerrain(tmp_path / "nocrs.tif")
    empty = _write(tmp_path / "empty.tif", np.full((4, 4), -1.0), "EPSG:32613", from_origin(0, 0, 1, 1), nodata=-1.0)
    with pytest.raises(ProjectionError, match="no valid height"):
        DemTerrain(empty)


def test_flat_terrain_rejects_nan():
    assert FlatTerrain(12.5).heights_m(np.zeros((3, 2))).tolist() == [12.5] * 3
    with pytest.raises(ProjectionError):
        FlatTerrain(float("nan"))
