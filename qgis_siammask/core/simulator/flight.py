"""The simulated flight: a camera that follows the road and points its gimbal at a moving aim point.

Per frame it yields the exact telemetry (float64, ellipsoidal heights) in MISB ST 0601 terms: the
platform attitude wobbles, and the sensor's relative azimuth/elevation are solved so the boresight
passes through the aim point (nadir clips hold the gimbal straight down instead).
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
    vfov = float(np.degrees(2 * np.arctan(np.tan(np.radians(config.horizontal_fov_deg) / 2) * config.height_px / config.width_px)))
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
                sensor_relative_roll_deg=float(sensor_roll),
                horizontal_fov_deg=float(config.horizontal_fov_deg),
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
