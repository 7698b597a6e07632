"""Camera model: MISB ST 0601 angle conventions, flat and DEM ground, horizon, corner homography, bad input."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from qgis_siammask.core.definitions import (
    ALTITUDE_HAE,
    CAMERA_FLAG_ATTITUDE_DEFAULTED,
    CAMERA_FLAG_CORNER_HOMOGRAPHY,
    CAMERA_FLAG_GROUND_HEIGHT_ASSUMED,
    CAMERA_FLAG_VFOV_DERIVED,
)
from qgis_siammask.core.errors import ProjectionError
from qgis_siammask.core.geo.camera import CameraModel
from qgis_siammask.core.geo.corners import CornerHomography, fit_homography
from qgis_siammask.core.geo.geodesy import LocalFrame
from qgis_siammask.core.geo.terrain import DemTerrain, FlatTerrain
from qgis_siammask.core.records import TelemetryRecord

LAT, LON, GROUND = 41.14, -104.82, 1850.0
WIDTH, HEIGHT = 640, 360


def record(**changes) -> TelemetryRecord:
    base = TelemetryRecord(
        sensor_latitude_deg=LAT, sensor_longitude_deg=LON, sensor_altitude_m=GROUND + 1000.0, altitude_reference=ALTITUDE_HAE,
        platform_heading_deg=0.0, platform_pitch_deg=0.0, platform_roll_deg=0.0, sensor_relative_azimuth_deg=0.0,
        sensor_relative_elevation_deg=-90.0, sensor_relative_roll_deg=0.0, horizontal_fov_deg=30.0, vertical_fov_deg=17.0,
        frame_center_elevation_m=GROUND,
    )
    return dataclasses.replace(base, **changes)


def enu(camera, ground):
    return LocalFrame(LAT, LON, GROUND).to_enu(ground.lonlat_deg, ground.height_m)


def test_nadir_footprint_size_and_centre():
    camera = CameraModel.from_telemetry(record(), WIDTH, HEIGHT)
    centre = enu(camera, camera.pixels_to_ground(camera.centre_pixel()[None]))[0]
    assert np.hypot(centre[0], centre[1]) < 1e-6 and abs(centre[2]) < 1e-6
    corners = enu(camera, camera.footprint())
    # The ground is curved (constant ellipsoidal height) so it drops ~0.1 mm over 270 m.
    half_width, half_height = 1000 * np.tan(np.radians(15)), 1000 * np.tan(np.radians(8.5))
    assert np.abs(np.abs(corners[:, 0]) - half_width).max() < 0.01
    assert np.abs(np.abs(corners[:, 1]) - half_height).max() < 0.01


def test_heading_and_sensor_roll_rotate_the_image():
    """Heading 0 at nadir: image top is north. Heading 90: image top is east. ST 0601 roll is clockwise."""
    top_centre = np.array([[(WIDTH - 1) / 2, -0.5]])
    north_up = enu(None, CameraModel.from_telemetry(record(), WIDTH, HEIGHT).pixels_to_ground(top_centre))[0]
    assert north_up[1] > 80 and abs(north_up[0]) < 1e-6
    east_up = enu(None, CameraModel.from_telemetry(record(platform_heading_deg=90.0), WIDTH, HEIGHT).pixels_to_ground(top_centre))[0]
    assert east_up[0] > 80 and abs(east_up[1]) < 1e-6
    rolled = enu(None, CameraModel.from_telemetry(record(sensor_relative_roll_deg=90.0), WIDTH, HEIGHT).pixels_to_ground(top_centre))[0]
    # Looking down with the top of the image to the north, rotating the camera clockwise (seen from
    # behind it, i.e. from above) turns the image top towards the east.
    assert rolled[0] > 80


def test_platform_pitch_and_roll_signs():
    """Nose up turns the belly, and a nadir camera's view, forwards (north at heading 0); right wing down
    turns it to the left (west)."""
    centre = np.array([[(WIDTH - 1) / 2, (HEIGHT - 1) / 2]])
    pitched = enu(None, CameraModel.from_telemetry(record(platform_pitch_deg=10.0), WIDTH, HEIGHT).pixels_to_ground(centre))[0]
    assert pitched[1] == pytest.approx(1000 * np.tan(np.radians(10)), abs=0.05)
    rolled = enu(None, CameraModel.from_telemetry(record(platform_roll_deg=10.0), WIDTH, HEIGHT).pixels_to_ground(centre))[0]
    assert rolled[0] == pytest.approx(-1000 * np.tan(np.radians(10)), abs=0.05)


def test_oblique_azimuth_and_elevation():
    """Heading 30 + relative azimuth 60 looks due east; elevation -30 from 1000 m meets the ground ~1732 m away."""
    camera = CameraModel.from_telemetry(record(platform_heading_deg=30.0, sensor_relative_azimuth_deg=60.0,
                                               sensor_relative_elevation_deg=-30.0), WIDTH, HEIGHT)
    centre = enu(camera, camera.pixels_to_ground(camera.centre_pixel()[None]))[0]
    assert abs(centre[1]) < 0.01
    # On a curved surface of constant height the hit is a little farther than on a tangent plane.
    assert 1732.0 < centre[0] < 1732.0 + 2.0


def test_round_trip_ground_pixel_ground():
    camera = CameraModel.from_telemetry(record(platform_pitch_deg=3.0, platform_roll_deg=-5.0, sensor_relative_azimuth_deg=20,
                                               sensor_relative_elevation_deg=-50.0, sensor_relative_roll_deg=4.0), WIDTH, HEIGHT)
    pixels = np.random.default_rng(2).uniform([-0.5, -0.5], [WIDTH - 0.5, HEIGHT - 0.5], (500, 2))
    ground = camera.pixels_to_ground(pixels)
    back, visible = camera.ground_to_pixels(ground.lonlat_deg, ground.height_m)
    assert visible.all() and np.abs(back - pixels).max() < 1e-6
    again = camera.pixels_to_ground(back)
    assert np.abs(enu(None, again) - enu(None, ground)).max() < 1e-3


def test_rays_above_the_horizon_are_flagged_not_projected():
    camera = CameraModel.from_telemetry(record(sensor_relative_elevation_deg=-3.0), WIDTH, HEIGHT)
    corners = camera.footprint()
    assert corners.valid.tolist() == [False, False, True, True]
    assert np.isnan(corners.lonlat_deg[:2]).all()
    behind = camera.ground_to_pixels(np.array([[LON, LAT - 0.01]]), np.array([GROUND]))[1]
    assert not behind[0]


def test_missing_optional_fields_are_flagged():
    camera = CameraModel.from_telemetry(
        record(platform_pitch_deg=None, vertical_fov_deg=None, frame_center_elevation_m=None, sensor_altitude_m=800.0), WIDTH, HEIGHT
    )
    assert {CAMERA_FLAG_ATTITUDE_DEFAULTED, CAMERA_FLAG_VFOV_DERIVED, CAMERA_FLAG_GROUND_HEIGHT_ASSUMED} <= set(camera.flags)
    assert camera.vertical_fov_deg == pytest.approx(np.degrees(2 * np.arctan(np.tan(np.radians(15)) * HEIGHT / WIDTH)))
    assert camera.footprint().height_m == pytest.approx([0.0] * 4)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(sensor_latitude_deg=float("nan")), "sensor position"),
        (dict(sensor_longitude_deg=None), "sensor position"),
        (dict(horizontal_fov_deg=0.0), "field of view"),
        (dict(vertical_fov_deg=0.0), "field of view"),
        (dict(sensor_altitude_m=GROUND - 5.0), "below the terrain"),
        (dict(platform_heading_deg=None), "no usable attitude"),
    ],
)
def test_bad_telemetry_is_a_projection_error(changes, message):
    with pytest.raises(ProjectionError, match=message):
        CameraModel.from_telemetry(record(**changes), WIDTH, HEIGHT)


@pytest.fixture(scope="module")
def hill_dem(tmp_path_factory):
    """A DEM around the test site (UTM 13N, 2 m pixels): a 60 m high Gaussian hill, heights ellipsoidal."""
    from pyproj import Transformer

    east0, north0 = Transformer.from_crs("EPSG:4326", "EPSG:32613", always_xy=True).transform(LON, LAT)
    rows, cols = np.mgrid[0:600, 0:600]
    x, y = (cols + 0.5) * 2 - 600, 600 - (rows + 0.5) * 2
    heights = GROUND + 60 * np.exp(-((x - 150) ** 2 + y**2) / (2 * 120.0**2))
    path = tmp_path_factory.mktemp("hill") / "hill.tif"
    with rasterio.open(path, "w", driver="GTiff", width=600, height=600, count=1, dtype="float64", crs="EPSG:32613",
                       transform=from_origin(east0 - 600, north0 + 600, 2.0, 2.0)) as dataset:
        dataset.write(heights[None])
        dataset.update_tags(VERTICAL_DATUM="HAE")
    return DemTerrain(path)


def test_dem_hits_lie_on_the_dem_and_differ_from_flat(hill_dem):
    camera = CameraModel.from_telemetry(record(sensor_relative_azimuth_deg=90.0, sensor_relative_elevation_deg=-75.0), WIDTH, HEIGHT, hill_dem)
    pixels = np.random.default_rng(3).uniform([0, 0], [WIDTH - 1, HEIGHT - 1], (300, 2))
    ground = camera.pixels_to_ground(pixels)
    assert ground.valid.all()
    assert np.abs(ground.height_m - hill_dem.heights_m(ground.lonlat_deg)).max() < 1e-3
    assert ground.height_m.max() > GROUND + 30  # the rays meet the hill, not the base level
    back, visible = camera.ground_to_pixels(ground.lonlat_deg, ground.height_m)
    assert visible.all() and np.abs(back - pixels).max() < 1e-4


def test_rays_leaving_the_dem_are_flagged(hill_dem):
    camera = CameraModel.from_telemetry(record(sensor_relative_elevation_deg=-20.0), WIDTH, HEIGHT, hill_dem)
    corners = camera.footprint()  # ~2.7 km away to the north, the DEM covers 600 m around the site
    assert not corners.valid.any() and np.isnan(corners.lonlat_deg).all()


def test_camera_below_the_dem_is_a_projection_error(hill_dem):
    with pytest.raises(ProjectionError, match="below the terrain"):
        CameraModel.from_telemetry(record(sensor_altitude_m=GROUND + 1.0), WIDTH, HEIGHT, hill_dem)
    with pytest.raises(ProjectionError, match="below the terrain"):
        CameraModel.from_telemetry(record(sensor_altitude_m=GROUND + 10.0), WIDTH, HEIGHT, FlatTerrain(GROUND + 20.0))


def test_corner_homography_when_attitude_is_unusable():
    """Reported corners of an oblique view and no attitude: the fallback reproduces the full model on flat ground."""
    truth = CameraModel.from_telemetry(record(platform_heading_deg=40.0, sensor_relative_elevation_deg=-45.0), WIDTH, HEIGHT)
    corners = truth.footprint().lonlat_deg
    centre = truth.pixels_to_ground(truth.centre_pixel()[None]).lonlat_deg[0]
    reported = record(platform_heading_deg=None, corners_latlon_deg=tuple((lat, lon) for lon, lat in corners),
                      frame_center_latitude_deg=centre[1], frame_center_longitude_deg=centre[0])
    fallback = CameraModel.from_telemetry(reported, WIDTH, HEIGHT)
    assert isinstance(fallback, CornerHomography) and CAMERA_FLAG_CORNER_HOMOGRAPHY in fallback.flags
    pixels = np.random.default_rng(4).uniform([0, 0], [WIDTH - 1, HEIGHT - 1], (200, 2))
    frame = LocalFrame(LAT, LON, GROUND)
    error = frame.to_enu(fallback.pixels_to_ground(pixels).lonlat_deg, GROUND)[:, :2] - frame.to_enu(truth.pixels_to_ground(pixels).lonlat_deg, GROUND)[:, :2]
    # A plane homography vs the curved constant-height ground over ~1.5 km: centimetres.
    assert np.abs(error).max() < 0.1
    back, visible = fallback.ground_to_pixels(fallback.pixels_to_ground(pixels).lonlat_deg, GROUND)
    assert visible.all() and np.abs(back - pixels).max() < 1e-6
    # Corners need no sensor position either.
    no_position = CameraModel.from_telemetry(dataclasses.replace(reported, sensor_latitude_deg=None), WIDTH, HEIGHT)
    assert isinstance(no_position, CornerHomography)
    assert np.allclose(no_position.footprint().lonlat_deg, fallback.footprint().lonlat_deg, atol=1e-9)


def test_homography_fit_is_exact_in_float64_and_rejects_degenerate_points():
    source = np.array([[0, 0], [1000, 0], [1000, 600], [0, 600], [500, 300]], dtype=np.float64)
    matrix = np.array([[1.2, 0.1, 5000.0], [0.05, 0.9, -3000.0], [1e-5, 2e-5, 1.0]])
    mapped = np.column_stack([source, np.ones(5)]) @ matrix.T
    target = mapped[:, :2] / mapped[:, 2:]
    assert np.abs(fit_homography(source, target) - matrix).max() < 1e-9
    with pytest.raises(ProjectionError, match="degenerate"):
        fit_homography(source[:4] * [1, 0], target[:4])
