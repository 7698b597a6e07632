"""Georeferencing choice: the horizon-level gimbal, the reported corners, and each mode right on its own
kind of simulated video (the simulator renders either gimbal; its truth is computed independently)."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from qgis_siammask.core import definitions as d
from qgis_siammask.core.cli import main
from qgis_siammask.core.errors import ProjectionError
from qgis_siammask.core.geo.camera import (
    NO_CORNERS_MESSAGE,
    CameraModel,
    frame_geometry,
    level_with_horizon,
    rotation_ned_from_camera,
)
from qgis_siammask.core.geo.corners import CornerHomography
from qgis_siammask.core.geo.geodesy import LocalFrame
from qgis_siammask.core.records import TelemetryRecord
from qgis_siammask.core.simulator import SimulationConfig, simulate

WIDTH, HEIGHT = 640, 360


def _record(**changes) -> TelemetryRecord:
    base = TelemetryRecord(
        sensor_latitude_deg=41.14, sensor_longitude_deg=-104.82, sensor_altitude_m=2850.0,
        altitude_reference=d.ALTITUDE_HAE, platform_heading_deg=20.0, platform_pitch_deg=4.0,
        platform_roll_deg=-12.0, sensor_relative_azimuth_deg=10.0, sensor_relative_elevation_deg=-35.0,
        sensor_relative_roll_deg=0.0, horizontal_fov_deg=20.0, vertical_fov_deg=11.3,
        frame_center_elevation_m=1850.0,
    )
    return dataclasses.replace(base, **changes)


def _unrolled(record: TelemetryRecord) -> np.ndarray:
    r = record
    return rotation_ned_from_camera(r.platform_heading_deg, r.platform_pitch_deg, r.platform_roll_deg,
                                     r.sensor_relative_azimuth_deg, r.sensor_relative_elevation_deg, 0.0)


@pytest.mark.parametrize("sensor_roll_deg", [0.0, 7.5, -30.0])
def test_with_the_platform_level_the_horizon_gimbal_is_the_st0601_model(sensor_roll_deg):
    level = _record(platform_pitch_deg=0.0, platform_roll_deg=0.0, sensor_relative_roll_deg=sensor_roll_deg)
    np.testing.assert_allclose(
        level_with_horizon(_unrolled(level), sensor_roll_deg),
        rotation_ned_from_camera(20.0, 0.0, 0.0, 10.0, -35.0, sensor_roll_deg), atol=1e-12)


def test_platform_roll_moves_the_line_of_sight_but_does_not_roll_the_picture():
    record = _record()
    st0601 = rotation_ned_from_camera(20.0, 4.0, -12.0, 10.0, -35.0, 0.0)
    horizon = level_with_horizon(_unrolled(record), 0.0)
    np.testing.assert_allclose(horizon[:, 0], st0601[:, 0], atol=1e-12)  # the same boresight
    np.testing.assert_allclose(horizon.T @ horizon, np.eye(3), atol=1e-12)
    assert np.linalg.det(horizon) == pytest.approx(1.0)
    assert abs(horizon[2, 1]) < 1e-12 and horizon[2, 2] > 0  # image rows level, image bottom down
    assert abs(st0601[2, 1]) > 0.1  # ST 0601: the airframe's roll tilts the rows
    # tag 20 alone rolls the level picture (clockwise seen from behind: image right turns down)
    rolled = level_with_horizon(_unrolled(record), 10.0)
    assert rolled[2, 1] == pytest.approx(np.sin(np.radians(10.0)) * horizon[2, 2], abs=1e-12) and rolled[2, 1] > 0.1
    # cameras: same frame centre, different corners (tens of metres at 1 km above the ground)
    cameras = [frame_geometry(record, WIDTH, HEIGHT, mode) for mode in (d.GEOREF_ST0601, d.GEOREF_HORIZON)]
    centres = [c.pixels_to_ground(c.centre_pixel()[None]).lonlat_deg for c in cameras]
    np.testing.assert_allclose(centres[0], centres[1], atol=1e-9)
    frame = LocalFrame(41.14, -104.82, 1850.0)
    corners = [frame.to_enu(c.footprint().lonlat_deg, 1850.0) for c in cameras]
    assert np.linalg.norm(corners[0] - corners[1], axis=1).min() > 20.0


def test_straight_down_there_is_no_horizon_and_the_st0601_axes_are_kept():
    nadir = rotation_ned_from_camera(30.0, 0.0, 0.0, 0.0, -90.0, 0.0)
    np.testing.assert_allclose(level_with_horizon(nadir, 0.0), nadir, atol=1e-12)


def test_corners_mode_places_the_frame_on_the_reported_corners():
    truth = frame_geometry(_record(platform_roll_deg=0.0), WIDTH, HEIGHT)
    corners = truth.footprint().lonlat_deg
    reported = _record(corners_latlon_deg=tuple((lat, lon) for lon, lat in corners))
    geometry = frame_geometry(reported, WIDTH, HEIGHT, d.GEOREF_CORNERS)
    assert isinstance(geometry, CornerHomography) and d.CAMERA_FLAG_CORNER_HOMOGRAPHY in geometry.flags
    np.testing.assert_allclose(geometry.footprint().lonlat_deg, corners, atol=1e-9)
    # a map point back to its pixel, as the dock marks it: heights from the geometry's own terrain
    lonlat = geometry.pixels_to_ground(np.array([[100.0, 50.0]])).lonlat_deg
    pixels, visible = geometry.ground_to_pixels(lonlat, geometry.terrain.heights_m(lonlat))
    assert visible[0] and np.abs(pixels - [[100.0, 50.0]]).max() < 1e-6
    # the attitude is there, but the other modes use it and not the corners
    assert isinstance(frame_geometry(reported, WIDTH, HEIGHT, d.GEOREF_HORIZON), CameraModel)


def test_corners_mode_says_when_a_frame_reports_none_and_unknown_modes_are_refused():
    with pytest.raises(ProjectionError) as error:
        frame_geometry(_record(), WIDTH, HEIGHT, d.GEOREF_CORNERS)
    assert error.value.user_message == NO_CORNERS_MESSAGE and "26-33" in NO_CORNERS_MESSAGE
    with pytest.raises(ProjectionError, match="unknown georeferencing 'tilted'"):
        frame_geometry(_record(), WIDTH, HEIGHT, "tilted")


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Oblique clips (3 frames, platform pitch and roll of several degrees) from each simulated gimbal."""
    root = tmp_path_factory.mktemp("gimbals")
    return {
        gimbal: simulate(SimulationConfig(out_dir=root / gimbal, seed=3, frames=3, oblique_deg=45.0,
                                          platform_wobble_deg=8.0, vehicle_count=1, gimbal=gimbal,
                                          write_video=False, write_masks=False))
        for gimbal in d.SIMULATOR_GIMBALS
    }


def _corner_errors_m(result, georef: str) -> np.ndarray:
    """Horizontal distances (m) of the mode's image centre and corners from the simulator's truth."""
    errors = []
    for frame, record in zip(result.frames, result.telemetry):
        if georef != d.GEOREF_CORNERS:  # attitude only: no fallback on the corners
            record = dataclasses.replace(record, corners_latlon_deg=None)
        geometry = frame_geometry(record, WIDTH, HEIGHT, georef)
        truth_lonlat, truth_height = np.array(frame["truth"]["lonlat_deg"]), np.array(frame["truth"]["height_m"])
        ground = geometry.pixels_to_ground(np.array(frame["truth"]["pixels_xy"]))
        local = LocalFrame(truth_lonlat[0, 1], truth_lonlat[0, 0], truth_height[0])
        offsets = local.to_enu(ground.lonlat_deg, ground.height_m) - local.to_enu(truth_lonlat, truth_height)
        errors.append(np.hypot(offsets[:, 0], offsets[:, 1]))
    return np.array(errors)


@pytest.mark.parametrize("gimbal", d.SIMULATOR_GIMBALS)
def test_each_mode_is_right_on_its_own_gimbal_and_wrong_on_the_other(clips, gimbal):
    result = clips[gimbal]
    assert max(abs(r.platform_roll_deg) for r in result.telemetry) > 3.0
    other = next(g for g in d.SIMULATOR_GIMBALS if g != gimbal)
    own, wrong = _corner_errors_m(result, gimbal), _corner_errors_m(result, other)
    print(f"{gimbal} gimbal: own mode max {own.max() * 1000:.2f} mm, {other} mode corners median "
          f"{np.median(wrong[:, 1:]):.1f} m")
    assert own.max() < 0.01  # the camera model and the independent truth agree
    assert np.median(wrong[:, 1:]) > 5.0  # the other rule rolls the picture: metres off at the corners
    np.testing.assert_allclose(wrong[:, 0], own[:, 0], atol=0.01)  # with the same frame centre
    # the corners the simulator reports are the gimbal's own: the corners mode follows either
    assert _corner_errors_m(result, d.GEOREF_CORNERS).max() < 0.01


def test_simulate_command_takes_the_gimbal(tmp_path, capsys):
    out = tmp_path / "clip"
    assert main(["simulate", "--out", str(out), "--frames", "1", "--size", "160x90", "--vehicles", "1",
                 "--oblique", "40", "--wobble", "6", "--gimbal", d.GEOREF_HORIZON]) == 0
    config = json.loads((out / d.SIMULATION_JSON).read_text(encoding="utf-8"))["config"]
    assert config["gimbal"] == d.GEOREF_HORIZON and config["platform_wobble_deg"] == 6.0
    with pytest.raises(SystemExit):
        main(["simulate", "--out", str(out), "--gimbal", d.GEOREF_CORNERS])  # corners are not a gimbal
    assert "invalid choice" in capsys.readouterr().err
