"""Shapes clicked on a frame, on the ground: vertices, GSD, lengths, areas and their uncertainty."""

from __future__ import annotations

import numpy as np
import pytest

from qgis_siammask.core.errors import ProjectionError
from qgis_siammask.core.geo.camera import CameraModel, rotation_ned_from_camera
from qgis_siammask.core.geo.frame_readout import readout_lines, slant_range_m
from qgis_siammask.core.geo.measure import (
    SHAPE_LINE,
    SHAPE_POINT,
    SHAPE_POLYGON,
    cast_shape,
    ground_sample_distance_m,
    measure,
    polygon_area,
    polyline_length,
)
from qgis_siammask.core.geo.terrain import FlatTerrain
from qgis_siammask.core.records import TelemetryRecord

WIDTH, HEIGHT, FOV_DEG, ALTITUDE_M = 1000, 800, 60.0, 100.0
# straight down from 100 m: one pixel spans 2 * 100 * tan(30°) / 1000 m
GSD_M = 2 * ALTITUDE_M * np.tan(np.radians(FOV_DEG / 2)) / WIDTH


def nadir_camera(elevation_deg: float = -90.0) -> CameraModel:
    rotation = rotation_ned_from_camera(0.0, 0.0, 0.0, 0.0, elevation_deg, 0.0)
    vfov = float(np.degrees(2 * np.arctan(np.tan(np.radians(FOV_DEG / 2)) * HEIGHT / WIDTH)))
    return CameraModel(45.0, 7.0, ALTITUDE_M, rotation, FOV_DEG, vfov, WIDTH, HEIGHT, FlatTerrain(0.0))


def test_gsd_looking_straight_down_is_the_pixel_footprint():
    gsd = ground_sample_distance_m(nadir_camera(), [[499.5, 399.5], [100.0, 100.0]])
    assert gsd[0] == pytest.approx(GSD_M, rel=1e-6)
    assert gsd[1] > gsd[0]  # off centre, a pixel sees more ground


def test_a_square_of_pixels_is_a_square_on_the_ground():
    camera = nadir_camera()
    side_px = 200.0
    square = np.array([[399.5, 299.5], [599.5, 299.5], [599.5, 499.5], [399.5, 499.5]])
    ground = cast_shape(camera, SHAPE_POLYGON, square)
    area = measure(ground)
    side_m = side_px * GSD_M  # exact at the centre; the pinhole keeps a square square on flat ground
    assert area.value == pytest.approx(side_m**2, rel=1e-6)
    assert area.unit == "m²"
    # each vertex off by one GSD: sigma_A = sqrt(4 * GSD^2 * diagonal^2 / 4) = GSD * diagonal * 1
    diagonal = np.sqrt(2) * side_m
    assert area.sigma == pytest.approx(np.sqrt(4 * (ground.gsd_m.mean() ** 2) * diagonal**2 / 4), rel=1e-3)
    line = cast_shape(camera, SHAPE_LINE, square[:2])
    distance = measure(line)
    assert distance.value == pytest.approx(side_m, rel=1e-6)
    assert distance.sigma == pytest.approx(np.sqrt(2) * line.gsd_m.mean(), rel=1e-3)  # sqrt(n) GSD
    assert distance.slope_length_m == pytest.approx(side_m, rel=1e-6)


def test_length_uncertainty_follows_the_vertices():
    enu = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [20.0, 0.0, 0.0]])
    straight = polyline_length(enu, [1.0, 1.0, 1.0])
    assert straight.value == pytest.approx(20.0)
    assert straight.sigma == pytest.approx(np.sqrt(2.0))  # a vertex on a straight line moves nothing
    zigzag = polyline_length([[0, 0, 0], [10, 0, 0], [0, 0.001, 0]], [1.0, 2.0, 1.0], pixel_sigma=0.5)
    assert zigzag.sigma == pytest.approx(0.5 * np.sqrt(1 + 16 + 1), rel=1e-3)  # a hairpin: 2 units
    closed = polyline_length([[0, 0, 0], [3, 0, 0], [3, 4, 0]], [0, 0, 0], closed=True)
    assert closed.value == pytest.approx(12.0) and closed.sigma == 0.0
    square = polygon_area([[0, 0, 0], [0, 2, 0], [2, 2, 0], [2, 0, 0]], [0.0, 0.0, 0.0, 0.0])
    assert square.value == pytest.approx(4.0) and square.sigma == 0.0  # clockwise too


def test_a_point_has_no_measure_and_bad_shapes_are_refused():
    camera = nadir_camera()
    assert measure(cast_shape(camera, SHAPE_POINT, [[10.0, 10.0]])) is None
    with pytest.raises(ProjectionError, match="3 vertices"):
        cast_shape(camera, SHAPE_POLYGON, [[1.0, 1.0], [2.0, 2.0]])
    looking_up = nadir_camera(elevation_deg=-5.0)  # the top of the image sees the sky
    with pytest.raises(ProjectionError, match="does not see the ground"):
        cast_shape(looking_up, SHAPE_LINE, [[500.0, 0.0], [500.0, 799.0]])


def test_measurement_text():
    from qgis_siammask.core.geo.measure import Measurement

    assert Measurement(123.456, 0.61, "m").text() == "123.5 m ± 0.6 m"
    assert Measurement(1.234, 0.012, "m²").text() == "1.23 m² ± 0.01 m²"


def test_readout_has_time_position_range_and_angles():
    camera = nadir_camera()
    assert slant_range_m(None, camera) == pytest.approx(ALTITUDE_M, rel=1e-6)
    record = TelemetryRecord(
        timestamp_us=1_700_000_000_000_000,
        sensor_latitude_deg=45.0,
        sensor_longitude_deg=7.0,
        sensor_altitude_m=100.0,
        sensor_relative_azimuth_deg=12.5,
        sensor_relative_elevation_deg=-90.0,
        sensor_relative_roll_deg=0.0,
    )
    lines = readout_lines(record, camera, 61.5)
    text = "\n".join(lines)
    assert "2023-11-14 22:13:20.000Z" in lines[0] and "T+01:01.50" in lines[0]
    assert "45.000000 7.000000" in text and "ALT 100.0 m" in text
    assert "SLANT 100 m" in text and "AZ 12.5°" in text and "EL -90.0°" in text and "ROLL 0.0°" in text
    assert readout_lines(None, None, 0.0) == ["T+00:00.00", "no telemetry"]
