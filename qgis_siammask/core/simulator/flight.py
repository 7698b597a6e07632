"""The simulated flight: a camera that follows the road and points its gimbal at a moving aim point.

Per frame it yields the exact telemetry (float64, ellipsoidal heights) in MISB ST 0601 terms: the
platform attitude wobbles, and the sensor's relative azimuth/elevation are solved so the boresight
passes through the aim point (nadir clips hold the gimbal straight down instead). On demand the
boresight is then turned off that line by gimbal slews and jitter, and the lens zooms: the hard cases
for a tracker that the telemetry can explain.
"""
from __future__ import annotations

import numpy as np

from ..definitions import ALTITUDE_HAE
from ..geo.camera import rotation_ned_from_camera
from ..geo.geodesy import LocalFrame
from ..records import TelemetryRecord
from .scene import Scene

NADIR_LIMIT_DEG = 1.0  # below this obliquity the gimbal is held at -90 degrees elevation


def telemetry_for_frames(config, scene: Scene, rng: np.random.Generator, vehicles) -> list[TelemetryRecord]:
    """One exact TelemetryRecord per frame (frame centre fields are filled later from the truth)."""
    from pyproj import Transformer

    to_lonlat = Transformer.from_crs(scene.crs, "EPSG:4326", always_xy=True)
    # The aim point drives at the vehicles' mean signed speed, keeping the group in view.
    mean_speed = float(np.mean([v.direction * v.speed_mps for v in vehicles])) if vehicles else 0.0
    crab_deg = float(rng.uniform(-4, 4))
    sensor_roll = config.sensor_roll_deg if config.sensor_roll_deg is not None else float(rng.uniform(-3, 3))
    phases = rng.uniform(0, 2 * np.pi, 2)
    pointing_offsets = boresight_offsets_deg(config)
    camera_height = config.ground_height_m + config.altitude_agl_m
    records = []
    for index in range(config.frames):
        time_s = index / config.fps
        aim_en, road_bearing = scene.road_point(np.array([mean_speed * time_s]))
        aim_en, road_bearing = aim_en[:, 0], float(road_bearing[0])
        aim_height = float(scene.heights_m(aim_en[0], aim_en[1]))
        # The aircraft flies along the road, behind the aim point by the obliquity's ground offset.
        standoff = (camera_height - aim_height) * np.tan(np.radians(config.oblique_deg))
        camera_en = aim_en - standoff * np.array([np.sin(road_bearing), np.cos(road_bearing)])
        (lon, lat), (aim_lon, aim_lat) = [to_lonlat.transform(*p) for p in (camera_en, aim_en)]
        heading = (np.degrees(road_bearing) + crab_deg) % 360.0  # grid bearing: true heading within a degree
        pitch = config.platform_wobble_deg * np.sin(2 * np.pi * 0.3 * time_s + phases[0])
        roll = config.platform_wobble_deg * np.sin(2 * np.pi * 0.2 * time_s + phases[1])
        if config.oblique_deg < NADIR_LIMIT_DEG:
            azimuth, elevation = 0.0, -90.0
        else:
            azimuth, elevation = _point_gimbal(lat, lon, camera_height, aim_lat, aim_lon, aim_height, heading, pitch, roll)
        azimuth, elevation, roll_out = _turned(azimuth, elevation, sensor_roll, *pointing_offsets[index])
        hfov = zoomed_fov_deg(config.horizontal_fov_deg, config, time_s)
        half_height = np.tan(np.radians(hfov) / 2) * config.height_px / config.width_px
        vfov = float(np.degrees(2 * np.arctan(half_height)))
        records.append(
            TelemetryRecord(
                source="simulator",
                timestamp_us=config.start_time_us + int(round(time_s * 1e6)),
                sensor_latitude_deg=float(lat),
                sensor_longitude_deg=float(lon),
                sensor_altitude_m=float(camera_height),
                altitude_reference=ALTITUDE_HAE,
                platform_heading_deg=float(heading),
                platform_pitch_deg=float(pitch),
                platform_roll_deg=float(roll),
                sensor_relative_azimuth_deg=float(azimuth),
                sensor_relative_elevation_deg=float(elevation),
                sensor_relative_roll_deg=float(roll_out),
                horizontal_fov_deg=float(hfov),
                vertical_fov_deg=vfov,
            )
        )
    return records


def _point_gimbal(lat, lon, height, aim_lat, aim_lon, aim_height, heading, pitch, roll) -> tuple[float, float]:
    """Sensor relative azimuth and elevation (degrees) that put the boresight through the aim point."""
    frame = LocalFrame(float(lat), float(lon), float(height))
    east, north, up = frame.to_enu(np.array([[aim_lon, aim_lat]]), np.array([aim_height]))[0]
    platform = rotation_ned_from_camera(heading, pitch, roll, 0.0, 0.0, 0.0)
    x, y, z = platform.T @ np.array([north, east, -up])
    return float(np.degrees(np.arctan2(y, x)) % 360.0), float(np.degrees(np.arctan2(-z, np.hypot(x, y))))


def boresight_offsets_deg(config) -> np.ndarray:
    """(F, 2) pan and tilt (degrees) turning the boresight off the aim point: slews plus jitter.

    Slews start every `slew_every_frames` frames and turn `slew_deg_per_frame` per frame for
    `slew_frames` frames, in one direction drawn per clip, alternately out and back.
    """
    rng = np.random.default_rng([config.seed, 7])  # its own stream: other draws keep their values
    direction = rng.uniform(0, 2 * np.pi)
    phases = rng.uniform(0, 2 * np.pi, 2)
    offsets = np.zeros((config.frames, 2))
    if config.slew_deg_per_frame:
        step = np.zeros(config.frames)
        every = max(1, config.slew_every_frames)
        for start in range(every, config.frames, every):
            sign = 1.0 if (start // every) % 2 else -1.0
            step[start:start + config.slew_frames] = sign * config.slew_deg_per_frame
        offsets += np.cumsum(step)[:, None] * np.array([np.cos(direction), np.sin(direction)])
    if config.jitter_deg:
        time_s = np.arange(config.frames) / config.fps
        offsets[:, 0] += config.jitter_deg * np.sin(2 * np.pi * config.jitter_hz * time_s + phases[0])
        offsets[:, 1] += config.jitter_deg * np.sin(2 * np.pi * 0.77 * config.jitter_hz * time_s + phases[1])
    return offsets


def zoomed_fov_deg(fov_deg: float, config, time_s: float) -> float:
    """The field of view at `time_s`: the focal length swings from 1x to `zoom_ratio` and back each period."""
    if config.zoom_ratio == 1.0:
        return float(fov_deg)
    zoom = config.zoom_ratio ** ((1 - np.cos(2 * np.pi * time_s / config.zoom_period_s)) / 2)
    return float(np.degrees(2 * np.arctan(np.tan(np.radians(fov_deg) / 2) / zoom)))


def _turned(azimuth_deg: float, elevation_deg: float, roll_deg: float, pan_deg: float, tilt_deg: float):
    """Sensor azimuth, elevation and roll (degrees) after panning and tilting the camera in its own frame."""
    if not pan_deg and not tilt_deg:
        return azimuth_deg, elevation_deg, roll_deg
    turned = rotation_ned_from_camera(0.0, 0.0, 0.0, azimuth_deg, elevation_deg, roll_deg) @ \
        rotation_ned_from_camera(0.0, 0.0, 0.0, pan_deg, tilt_deg, 0.0)
    elevation = -np.arcsin(np.clip(turned[2, 0], -1.0, 1.0))
    if np.cos(elevation) < 1e-9:  # straight down: azimuth and roll turn the same axis, roll taken as 0
        azimuth = np.arctan2(-turned[0, 1], turned[1, 1])
        return float(np.degrees(azimuth) % 360.0), float(np.degrees(elevation)), 0.0
    azimuth = np.arctan2(turned[1, 0], turned[0, 0])
    roll = np.arctan2(turned[2, 1], turned[2, 2])
    return float(np.degrees(azimuth) % 360.0), float(np.degrees(elevation)), float(np.degrees(roll))
