"""Ground truth for the camera model, computed independently of it.

The camera model builds its rotation by hand, converts ECEF in closed form, solves flat ground with
Newton and marches DEMs itself. The truth here uses other tools on purpose: scipy's Rotation for the
ST 0601 angle chain, pyproj (PROJ) for every geodetic/ECEF/grid conversion and the local NED axes,
scipy.ndimage for bilinear DEM samples, and plain bisection along each ray. Agreement between the
two is evidence that both are right, not that one copies the other.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..definitions import GEOREF_HORIZON, GEOREF_ST0601

FINE_STEP_M = 0.25  # march step before bisection; the generated relief is far smoother than this
BISECTIONS = 40  # 0.25 m / 2^40: far below a micrometre
MAX_RANGE_M = 20_000.0


@lru_cache(maxsize=1)
def _transformers():
    from pyproj import Transformer

    return (
        Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True),
        Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True),
    )


def _ecef(lon, lat, height) -> np.ndarray:
    x, y, z = _transformers()[0].transform(lon, lat, height)
    return np.column_stack([np.atleast_1d(x), np.atleast_1d(y), np.atleast_1d(z)])


def camera_rays_ecef(record, width_px: int, height_px: int, pixels_xy: np.ndarray,
                     gimbal: str = GEOREF_ST0601) -> tuple[np.ndarray, np.ndarray]:
    """(sensor ECEF (3,), (N, 3) unit ray directions) for pixels, from the telemetry record alone.

    `gimbal` GEOREF_HORIZON: the picture is kept level, so the sensor roll applied is the levelling
    roll (`_levelling_roll_deg`) plus tag 20, instead of tag 20 alone.
    """
    from scipy.spatial.transform import Rotation

    lon, lat, h = record.sensor_longitude_deg, record.sensor_latitude_deg, record.sensor_altitude_m
    origin = _ecef(lon, lat, h)[0]
    step = 1e-6
    east = _ecef(lon + step, lat, h)[0] - origin
    north = _ecef(lon, lat + step, h)[0] - origin
    east, north = east / np.linalg.norm(east), north / np.linalg.norm(north)
    up = np.cross(east, north)
    north = np.cross(up, east)  # exactly orthogonal
    ned_axes = np.column_stack([north, east, -up])  # NED basis vectors in ECEF, as columns
    platform = Rotation.from_euler("ZYX", [record.platform_heading_deg, record.platform_pitch_deg, record.platform_roll_deg], degrees=True)
    azimuth, elevation = record.sensor_relative_azimuth_deg, record.sensor_relative_elevation_deg
    sensor_roll = record.sensor_relative_roll_deg
    if gimbal == GEOREF_HORIZON:
        sensor_roll += _levelling_roll_deg(platform, azimuth, elevation)
    sensor = Rotation.from_euler("ZYX", [azimuth, elevation, sensor_roll], degrees=True)
    ned_from_camera = (platform * sensor).as_matrix()
    half_w = np.tan(np.radians(record.horizontal_fov_deg) / 2) / (width_px / 2)
    half_h = np.tan(np.radians(record.vertical_fov_deg) / 2) / (height_px / 2)
    pixels = np.asarray(pixels_xy, dtype=np.float64)
    camera = np.column_stack(
        [np.ones(len(pixels)), (pixels[:, 0] - (width_px - 1) / 2) * half_w, (pixels[:, 1] - (height_px - 1) / 2) * half_h]
    )
    rays = camera @ (ned_axes @ ned_from_camera).T
    return origin, rays / np.linalg.norm(rays, axis=1, keepdims=True)


def _levelling_roll_deg(platform, azimuth_deg: float, elevation_deg: float) -> float:
    """The roll about the boresight, nearest to none (within +-90 degrees), after which the image right
    axis of the ST 0601 camera (platform, then azimuth and elevation) has no vertical part.

    After a roll r the image right is cos(r) right + sin(r) bottom, whose down (NED z) part vanishes
    where tan(r) = -right_down / bottom_down.
    """
    from scipy.spatial.transform import Rotation

    sensor = Rotation.from_euler("ZYX", [azimuth_deg, elevation_deg, 0.0], degrees=True)
    unrolled = (platform * sensor).as_matrix()
    roll = float(np.degrees(np.arctan2(-unrolled[2, 1], unrolled[2, 2])))
    return roll - 180.0 if roll > 90.0 else roll + 180.0 if roll < -90.0 else roll


class GroundTruth:
    """Ray-casts pixels of a telemetry record onto one scene's ground, for a gimbal (SIMULATOR_GIMBALS)."""

    def __init__(self, scene, gimbal: str = GEOREF_ST0601):
        self.scene = scene
        self.gimbal = gimbal
        self._clearance = _height_function(scene)

    def __call__(self, record, width_px: int, height_px: int, pixels_xy: np.ndarray) -> dict:
        """Where each pixel's ray first meets the ground: lonlat_deg (N, 2), height_m (N,), valid (N,)."""
        origin, rays = camera_rays_ecef(record, width_px, height_px, pixels_xy, self.gimbal)
        lonlat = np.full((len(rays), 2), np.nan)
        height = np.full(len(rays), np.nan)
        valid = np.zeros(len(rays), bool)
        for index, ray in enumerate(rays):
            distance = _first_crossing(origin, ray, self._clearance, self.scene)
            if distance is None:
                continue
            lon, lat, h = _transformers()[1].transform(*(origin + distance * ray))
            lonlat[index], height[index], valid[index] = (lon, lat), h, True
        return {"lonlat_deg": lonlat, "height_m": height, "valid": valid}


def _height_function(scene):
    """Clearance of ECEF points above the ground, through PROJ and scipy (NaN off the DEM)."""
    from pyproj import Transformer
    from scipy.ndimage import map_coordinates

    from .scene import DEM_RESOLUTION_M

    to_grid = Transformer.from_crs("EPSG:4978", scene.crs, always_xy=True)

    def clearance(points: np.ndarray) -> np.ndarray:
        _, _, h = _transformers()[1].transform(points[:, 0], points[:, 1], points[:, 2])
        if scene.dem_m is None:
            return np.asarray(h) - scene.base_height_m
        east, north, _ = to_grid.transform(points[:, 0], points[:, 1], points[:, 2])
        col = (np.asarray(east) - scene.west_m) / DEM_RESOLUTION_M - 0.5
        row = (scene.north_m - np.asarray(north)) / DEM_RESOLUTION_M - 0.5
        ground = map_coordinates(scene.dem_m, [row, col], order=1, mode="constant", cval=np.nan)
        return np.asarray(h) - ground

    return clearance


def _first_crossing(origin: np.ndarray, ray: np.ndarray, clearance, scene) -> float | None:
    """Distance to the first point where the ray's clearance turns non-positive: coarse scan, fine scan, bisection."""
    relief_m = 0.0 if scene.dem_m is None else float(np.nanmax(scene.dem_m) - np.nanmin(scene.dem_m))
    coarse = np.arange(0.0, MAX_RANGE_M, 10.0)
    values = clearance(origin + coarse[:, None] * ray)
    below = np.flatnonzero(values <= 0)
    if below.size == 0:
        return None
    # Fine scan from where the ray first came within reach of the highest ground.
    reach = np.flatnonzero(values <= relief_m + 10.0)
    start = coarse[max(int(reach[0]) - 1, 0)]
    fine = np.arange(start, coarse[below[0]] + FINE_STEP_M, FINE_STEP_M)
    fine_values = clearance(origin + fine[:, None] * ray)
    first = int(np.flatnonzero(fine_values <= 0)[0])
    low, high = fine[max(first - 1, 0)], fine[first]
    for _ in range(BISECTIONS):
        middle = 0.5 * (low + high)
        if clearance((origin + middle * ray)[None, :])[0] <= 0:
            high = middle
        else:
            low = middle
    return float(high)
