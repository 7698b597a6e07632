"""Per-frame camera model from telemetry: pixels -> rays -> ground, and ground -> pixels.

Conventions (MISB ST 0601):
- Platform heading (tag 5) is the yaw of the airframe from true north, clockwise; pitch (tag 6) is
  positive nose up; roll (tag 7) positive right wing down. They rotate the local north-east-down
  (NED) frame at the sensor into the airframe frame in that order (z, then y, then x axes).
- Sensor relative azimuth (18, clockwise from the nose seen from above), elevation (19, negative
  looking down) and roll (20, clockwise seen from behind the camera) then rotate the airframe into
  the sensor frame in the same z-y-x order. So R_ned<-camera = Rz(h) Ry(p) Rx(r) Rz(az) Ry(el) Rx(roll).
- Camera axes: x along the boresight, y to the image right, z to the image bottom. Pixel (column,
  row) indices name pixel centres; the image spans -0.5 .. W-0.5, so the principal point is
  ((W-1)/2, (H-1)/2) and the FOV spans the full image edges (f = W/2 / tan(HFOV/2)).

Heights are ellipsoidal (WGS 84) inside the model. MSL telemetry heights (ST 0601 tags 15 and 25)
are converted with the EGM96 geoid when PROJ has its grid; otherwise they are used as ellipsoidal and
the camera carries the `geoid_unknown` flag (the sensor and the ground are then shifted by the same
few tens of metres, so relative geometry and footprints barely change).

The "flat" ground is the surface of constant ellipsoidal height (the frame-centre elevation), not a
tangent plane: it follows the Earth's curvature, which matters at oblique ranges of kilometres.

How a frame is put on the ground is chosen per project (`frame_geometry`, definitions.GEOREF_MODES):
the ST 0601 composition above (the default), a horizon-level gimbal (`level_with_horizon`: the same
boresight, the image roll taken from tag 20 alone), or the corners the telemetry reports
(corners.CornerHomography).
"""
from __future__ import annotations

import numpy as np

from ..definitions import (
    ALTITUDE_HAE,
    CAMERA_FLAG_ATTITUDE_DEFAULTED,
    CAMERA_FLAG_GEOID_UNKNOWN,
    CAMERA_FLAG_GROUND_HEIGHT_ASSUMED,
    CAMERA_FLAG_VFOV_DERIVED,
    GEOREF_CORNERS,
    GEOREF_HORIZON,
    GEOREF_MODES,
    GEOREF_ST0601,
    MAX_GROUND_RANGE_M,
    WGS84_A_M,
)
from ..errors import ProjectionError
from ..records import TelemetryRecord
from .corners import CornerHomography
from .geodesy import (
    WGS84_B_M,
    LocalFrame,
    ecef_to_enu_rotation,
    ecef_to_geodetic,
    geodetic_to_ecef,
    geoid_separation_m,
    up_vectors,
)
from .gimbal import zyx_rotation
from .image_geometry import GroundPoints, ImageGeometry, finite
from .terrain import FlatTerrain

NEWTON_ITERATIONS = 4  # flat ground: each one squares the error of a metre-level start
DEM_REFINE_ITERATIONS = 60
DEM_TOLERANCE_M = 1e-6  # clearance above/below the DEM accepted as on it
DEM_MAX_MARCH_STEPS = 512
DEM_SHELL_MARGIN_M = 0.5
NO_CORNERS_MESSAGE = "no reported corners in this frame's telemetry (ST 0601 tags 26-33 or 82-89)"
NADIR_TOLERANCE = 1e-12  # |boresight x vertical| below this: looking straight down, no horizon


def rotation_ned_from_camera(
    heading_deg: float, pitch_deg: float, roll_deg: float, azimuth_deg: float, elevation_deg: float, sensor_roll_deg: float
) -> np.ndarray:
    """(3, 3) rotation taking camera-frame vectors to local NED, ST 0601 platform then sensor angles."""
    return zyx_rotation(heading_deg, pitch_deg, roll_deg) @ zyx_rotation(
        azimuth_deg, elevation_deg, sensor_roll_deg)


def level_with_horizon(rotation: np.ndarray, sensor_roll_deg: float) -> np.ndarray:
    """(3, 3) NED <- camera rotation of a horizon-level gimbal with the boresight of `rotation`.

    `rotation` is the ST 0601 rotation without the sensor roll (tag 20 taken as 0); only its boresight
    (first column) and, to pick a side, its image right (second column) are used. Many gimbals keep
    the picture level whatever the airframe does: the platform's pitch and roll move the line of sight,
    but do not roll the picture about it. So the camera frame is rebuilt from the boresight b and the
    local vertical d = (0, 0, 1) (NED down):

    - image right y = d x b / |d x b|: horizontal and square to the boresight, so image rows are level
      (of its two signs, the one nearer the ST 0601 image right: the smallest turn about the boresight);
    - image down z = b x y: in the vertical plane through the boresight, pointing down;
    - then the picture is rolled by tag 20 alone about the boresight: R = [b y z] Rx(sensor roll).

    With the platform level (pitch = roll = 0) this is exactly the ST 0601 rotation Rz(h + az) Ry(el)
    Rx(roll). Straight down (b = d) there is no horizon: the ST 0601 image axes are kept; near nadir the
    level frame turns quickly with the boresight's lean, so that mode suits oblique views.
    """
    boresight, right_st0601 = rotation[:, 0], rotation[:, 1]
    right = np.cross(_DOWN_NED, boresight)
    length = float(np.linalg.norm(right))
    if length < NADIR_TOLERANCE:
        right = right_st0601
    else:
        right = right / length * (1.0 if float(right @ right_st0601) >= 0.0 else -1.0)
    level = np.column_stack([boresight, right, np.cross(boresight, right)])
    return level @ zyx_rotation(0.0, 0.0, sensor_roll_deg)


_NED_TO_ENU = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
_DOWN_NED = np.array([0.0, 0.0, 1.0])


class CameraModel(ImageGeometry):
    """A pinhole camera at a WGS 84 position with a MISB attitude, looking at a terrain."""

    def __init__(
        self,
        sensor_lat_deg: float,
        sensor_lon_deg: float,
        sensor_height_m: float,
        rotation_ned_from_camera: np.ndarray,
        horizontal_fov_deg: float,
        vertical_fov_deg: float,
        image_width_px: int,
        image_height_px: int,
        terrain=None,
        flags: tuple[str, ...] = (),
    ):
        values = (sensor_lat_deg, sensor_lon_deg, sensor_height_m, horizontal_fov_deg, vertical_fov_deg)
        if not all(v is not None and np.isfinite(v) for v in values):
            raise ProjectionError(f"camera position or field of view missing or not a number: {values}")
        if abs(sensor_lat_deg) > 90 or abs(sensor_lon_deg) > 180:
            raise ProjectionError(f"sensor position out of range: lat {sensor_lat_deg}, lon {sensor_lon_deg}")
        for name, fov in (("horizontal", horizontal_fov_deg), ("vertical", vertical_fov_deg)):
            if not 0.0 < fov < 180.0:
                raise ProjectionError(f"{name} field of view must be between 0 and 180 degrees, got {fov}")
        if image_width_px < 1 or image_height_px < 1:
            raise ProjectionError(f"bad image size {image_width_px}x{image_height_px}")
        rotation = np.asarray(rotation_ned_from_camera, dtype=np.float64)
        if rotation.shape != (3, 3) or not np.all(np.isfinite(rotation)):
            raise ProjectionError("camera attitude is not a finite 3x3 rotation")
        self.terrain = terrain if terrain is not None else FlatTerrain(0.0)
        self.image_width_px, self.image_height_px = int(image_width_px), int(image_height_px)
        self.sensor_lat_deg, self.sensor_lon_deg = float(sensor_lat_deg), float(sensor_lon_deg)
        self.sensor_height_m = float(sensor_height_m)
        self.horizontal_fov_deg, self.vertical_fov_deg = float(horizontal_fov_deg), float(vertical_fov_deg)
        self.flags = tuple(flags)
        self.focal_x_px = self.image_width_px / 2.0 / np.tan(np.radians(horizontal_fov_deg) / 2.0)
        self.focal_y_px = self.image_height_px / 2.0 / np.tan(np.radians(vertical_fov_deg) / 2.0)
        self.principal_point_px = self.centre_pixel()
        self.sensor_ecef_m = geodetic_to_ecef(sensor_lat_deg, sensor_lon_deg, sensor_height_m)
        ecef_from_ned = ecef_to_enu_rotation(sensor_lat_deg, sensor_lon_deg).T @ _NED_TO_ENU
        self.rotation_ecef_from_camera = ecef_from_ned @ rotation
        low_m, _ = self.terrain.height_range_m
        self.local_frame = LocalFrame(self.sensor_lat_deg, self.sensor_lon_deg, low_m)
        below = self.terrain.heights_m(np.array([[sensor_lon_deg, sensor_lat_deg]]))[0]
        if np.isfinite(below) and self.sensor_height_m <= below:
            raise ProjectionError(
                f"camera at {self.sensor_height_m:.1f} m is at or below the terrain ({below:.1f} m, ellipsoidal heights)"
            )

    @classmethod
    def from_telemetry(cls, record: TelemetryRecord, image_width_px: int, image_height_px: int, terrain=None,
                       ground_height_m=None, horizon_level: bool = False):
        """The frame's camera; a corner homography when the attitude is unusable; ProjectionError otherwise.

        `terrain` None: flat at `ground_height_m` (ellipsoidal) if given, else at the frame-centre
        elevation, else at 0 m with the `ground_height_assumed` flag. `horizon_level`: a gimbal that
        keeps the picture level (`level_with_horizon`) instead of the ST 0601 composition.
        """
        flags: list[str] = []
        lat, lon = record.sensor_latitude_deg, record.sensor_longitude_deg
        attitude = (record.platform_heading_deg, record.sensor_relative_azimuth_deg, record.sensor_relative_elevation_deg)
        hfov = record.horizontal_fov_deg
        position_usable = finite(lat, lon, record.sensor_altitude_m)
        if terrain is None and (position_usable or record.corners_latlon_deg):
            terrain = FlatTerrain(_flat_ground_height(record, ground_height_m, flags))
        if not position_usable or not finite(*attitude, hfov) or hfov <= 0:
            if record.corners_latlon_deg:
                return CornerHomography.from_telemetry(record, image_width_px, image_height_px, terrain, flags)
            if not position_usable:
                raise ProjectionError("telemetry has no usable sensor position (latitude, longitude, altitude)")
            if finite(hfov) and hfov <= 0:
                raise ProjectionError(f"horizontal field of view is {hfov} degrees")
            raise ProjectionError("telemetry has no usable attitude or field of view, and no corner points")
        height_m = _ellipsoidal(record.sensor_altitude_m, record.altitude_reference, lat, lon, flags)
        optional = (record.platform_pitch_deg, record.platform_roll_deg, record.sensor_relative_roll_deg)
        if not all(finite(v) for v in optional):
            flags.append(CAMERA_FLAG_ATTITUDE_DEFAULTED)
        pitch, roll, sensor_roll = (float(v) if finite(v) else 0.0 for v in optional)
        vfov = record.vertical_fov_deg
        if not finite(vfov):
            flags.append(CAMERA_FLAG_VFOV_DERIVED)
            vfov = float(np.degrees(2 * np.arctan(np.tan(np.radians(hfov) / 2) * image_height_px / image_width_px)))
        if horizon_level:
            unrolled = rotation_ned_from_camera(attitude[0], pitch, roll, attitude[1], attitude[2], 0.0)
            rotation = level_with_horizon(unrolled, sensor_roll)
        else:
            rotation = rotation_ned_from_camera(
                attitude[0], pitch, roll, attitude[1], attitude[2], sensor_roll
            )
        return cls(lat, lon, height_m, rotation, hfov, vfov, image_width_px, image_height_px, terrain, tuple(flags))

    # --- rays ---------------------------------------------------------------------------------
    def pixels_to_rays(self, pixels_xy: np.ndarray) -> np.ndarray:
        """(N, 3) unit ECEF ray directions through (N, 2) pixel positions."""
        pixels = np.asarray(pixels_xy, dtype=np.float64).reshape(-1, 2)
        camera = np.column_stack(
            [
                np.ones(len(pixels)),
                (pixels[:, 0] - self.principal_point_px[0]) / self.focal_x_px,
                (pixels[:, 1] - self.principal_point_px[1]) / self.focal_y_px,
            ]
        )
        rays = camera @ self.rotation_ecef_from_camera.T
        return rays / np.linalg.norm(rays, axis=1, keepdims=True)

    def pixels_to_ground(self, pixels_xy: np.ndarray) -> GroundPoints:
        """Cast (N, 2) pixels onto the terrain; rays at/above the horizon or off the DEM are invalid."""
        rays = self.pixels_to_rays(pixels_xy)
        if isinstance(self.terrain, FlatTerrain):
            distance, valid = intersect_height_surface(self.sensor_ecef_m, rays, self.terrain.height_m)
        else:
            distance, valid = self._march_dem(rays)
        valid &= distance <= MAX_GROUND_RANGE_M
        return self._ground_points(self.sensor_ecef_m + distance[:, None] * rays, valid)

    def ground_to_pixels(self, lonlat_deg: np.ndarray, height_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 2) pixels of ground points and (N,) `visible`: in front of the camera and inside the image.

        Occlusion by terrain is not tested.
        """
        lonlat = np.asarray(lonlat_deg, dtype=np.float64).reshape(-1, 2)
        ecef = geodetic_to_ecef(lonlat[:, 1], lonlat[:, 0], np.broadcast_to(np.asarray(height_m, dtype=np.float64), len(lonlat)))
        camera = (ecef - self.sensor_ecef_m) @ self.rotation_ecef_from_camera
        with np.errstate(divide="ignore", invalid="ignore"):
            pixels = np.column_stack(
                [
                    self.principal_point_px[0] + self.focal_x_px * camera[:, 1] / camera[:, 0],
                    self.principal_point_px[1] + self.focal_y_px * camera[:, 2] / camera[:, 0],
                ]
            )
        in_front = camera[:, 0] > 0
        pixels[~in_front] = np.nan
        return pixels, in_front & self.inside_image(pixels)

    def _march_dem(self, rays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance along each ray to the first DEM crossing: march, then refine by regula falsi.

        The march runs between the surfaces of the DEM's highest and lowest heights (plus a margin,
        for plateaus at the extremes), with steps that advance each ray about one DEM pixel
        horizontally (a near-vertical ray needs few samples: heights along a vertical do not change).
        The Illinois variant of regula falsi then converges on the bilinear surface in a few steps.
        """
        low_m, high_m = self.terrain.height_range_m
        top_m = high_m + DEM_SHELL_MARGIN_M
        start, _ = intersect_height_surface(self.sensor_ecef_m, rays, min(top_m, self.sensor_height_m - 1e-3))
        end, valid = intersect_height_surface(self.sensor_ecef_m, rays, low_m - DEM_SHELL_MARGIN_M)
        start = np.where(self.sensor_height_m <= top_m, 0.0, np.where(np.isfinite(start), start, 0.0))
        span = np.where(valid, end - start, 0.0)
        pixel_m = float(self.terrain.pixel_size_m)
        horizontal = np.sqrt(np.clip(1.0 - (rays @ up_vectors(self.sensor_ecef_m[None])[0]) ** 2, 0.0, 1.0))
        step = np.maximum(pixel_m / np.maximum(horizontal, 1e-9), span / DEM_MAX_MARCH_STEPS)
        step = np.clip(step, 1e-3, np.maximum(span, 1e-3))
        above_t, above_c = start.copy(), self._clearance(rays, start)
        below_t, below_c = np.full(len(rays), np.nan), np.full(len(rays), np.nan)
        active = valid.copy()
        k = 0
        while active.any():
            k += 1
            index = np.flatnonzero(active)
            t = np.minimum(start[index] + k * step[index], end[index])
            clearance = self._clearance(rays[index], t)
            hit = clearance <= 0
            below_t[index[hit]], below_c[index[hit]] = t[hit], clearance[hit]
            clear = clearance > 0  # NaN (off the DEM) is neither: the ray may still enter the DEM
            above_t[index[clear]], above_c[index[clear]] = t[clear], clearance[clear]
            active[index[hit | (t >= end[index])]] = False
        valid &= np.isfinite(below_t)
        distance = np.full(len(rays), np.nan)
        index = np.flatnonzero(valid)
        distance[index] = self._refine(rays[index], above_t[index], above_c[index], below_t[index], below_c[index])
        valid[index] &= np.isfinite(distance[index])
        return distance, valid

    def _refine(self, rays, a_t, a_c, b_t, b_c) -> np.ndarray:
        """Illinois regula falsi on brackets (a above the DEM, b on or below it); bisection where a
        bracket end is off the DEM. Returns distances with |clearance| < DEM_TOLERANCE_M, NaN if none."""
        result = np.full(len(rays), np.nan)
        active = np.arange(len(rays))
        last_side = np.zeros(len(rays), np.int8)
        for _ in range(DEM_REFINE_ITERATIONS):
            if active.size == 0:
                break
            a, fa, b, fb = a_t[active], a_c[active], b_t[active], b_c[active]
            with np.errstate(divide="ignore", invalid="ignore"):
                t = b - fb * (b - a) / (fb - fa)
            t = np.where(np.isfinite(t) & (t > np.minimum(a, b)) & (t < np.maximum(a, b)), t, 0.5 * (a + b))
            c = self._clearance(rays[active], t)
            done = np.isfinite(c) & ((np.abs(c) < DEM_TOLERANCE_M) | (np.abs(b - a) < DEM_TOLERANCE_M * 1e-3))
            result[active[done]] = t[done]
            hit = ~(c > 0)
            side = np.where(hit, 1, -1).astype(np.int8)
            repeated = side == last_side[active]
            a_c[active] = np.where(~hit, c, np.where(repeated, fa * 0.5, fa))
            a_t[active] = np.where(~hit, t, a)
            b_c[active] = np.where(hit, c, np.where(repeated, fb * 0.5, fb))
            b_t[active] = np.where(hit, t, b)
            last_side[active] = side
            active = active[~done]
        return result

    def _clearance(self, rays: np.ndarray, distance_m: np.ndarray) -> np.ndarray:
        """Height of ray points above the DEM (m); NaN off the DEM."""
        lat, lon, height = ecef_to_geodetic(self.sensor_ecef_m + distance_m[:, None] * rays)
        return height - self.terrain.heights_m(np.column_stack([lon, lat]))


def frame_geometry(record: TelemetryRecord, image_width_px: int, image_height_px: int,
                   georef: str = GEOREF_ST0601, terrain=None, ground_height_m=None):
    """How frame `record` is put on the ground in georeferencing mode `georef` (definitions.GEOREF_*):
    a CameraModel (ST 0601 or horizon-level) or a CornerHomography of the reported corners.

    Every projection of the plugin goes through here (tracking runs, the dock's footprint and marks).
    ProjectionError when the frame cannot be placed; in the corners mode, a frame whose telemetry
    reports no corners says so. `terrain` and `ground_height_m` as in `CameraModel.from_telemetry`.
    """
    if georef == GEOREF_CORNERS:
        if not record.corners_latlon_deg:
            raise ProjectionError(NO_CORNERS_MESSAGE)
        flags: list[str] = []
        if terrain is None:
            terrain = FlatTerrain(_flat_ground_height(record, ground_height_m, flags))
        return CornerHomography.from_telemetry(record, image_width_px, image_height_px, terrain, flags)
    if georef not in GEOREF_MODES:
        raise ProjectionError(f"unknown georeferencing {georef!r}: expected one of {', '.join(GEOREF_MODES)}")
    return CameraModel.from_telemetry(record, image_width_px, image_height_px, terrain, ground_height_m,
                                      horizon_level=georef == GEOREF_HORIZON)


def intersect_height_surface(origin_ecef_m: np.ndarray, rays: np.ndarray, height_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Distance along (N, 3) unit rays from an ECEF origin to the surface of constant ellipsoidal height.

    Starts from the exact hit on the ellipsoid grown by `height_m` on both axes (metres off the true
    surface at most), then Newton on the geodetic height, whose gradient is the unit normal.
    Returns (distance (N,), valid (N,)): invalid where the ray misses the surface or points away.
    """
    scale = 1.0 / np.array([WGS84_A_M + height_m, WGS84_A_M + height_m, WGS84_B_M + height_m])
    origin, direction = origin_ecef_m * scale, rays * scale
    a = np.einsum("ij,ij->i", direction, direction)
    b = 2.0 * direction @ origin
    c = float(origin @ origin) - 1.0
    discriminant = b * b - 4.0 * a * c
    valid = discriminant >= 0.0
    distance = np.where(valid, (-b - np.sqrt(np.where(valid, discriminant, 0.0))) / (2.0 * a), np.nan)
    valid &= distance > 0.0
    for _ in range(NEWTON_ITERATIONS):
        points = origin_ecef_m + distance[:, None] * rays
        _, _, height = ecef_to_geodetic(points)
        slope = np.einsum("ij,ij->i", rays, up_vectors(points))
        with np.errstate(divide="ignore", invalid="ignore"):
            distance = distance - (height - height_m) / slope
    valid &= np.isfinite(distance) & (distance > 0.0)
    return np.where(valid, distance, np.nan), valid


def _ellipsoidal(height_m: float, reference: str | None, lat: float, lon: float, flags: list[str]) -> float:
    """Ellipsoidal height of a telemetry height; ST 0601 altitudes are MSL unless marked HAE."""
    if reference == ALTITUDE_HAE:
        return float(height_m)
    separation = geoid_separation_m(lat, lon)
    if separation is None:
        if CAMERA_FLAG_GEOID_UNKNOWN not in flags:
            flags.append(CAMERA_FLAG_GEOID_UNKNOWN)
        return float(height_m)
    return float(height_m) + separation


def _flat_ground_height(record: TelemetryRecord, ground_height_m, flags: list[str]) -> float:
    if ground_height_m is not None:
        return float(ground_height_m)
    elevation = record.frame_center_elevation_m
    if finite(elevation):
        for lat, lon in (
            (record.frame_center_latitude_deg, record.frame_center_longitude_deg),
            (record.sensor_latitude_deg, record.sensor_longitude_deg),
            *(record.corners_latlon_deg or ()),
        ):
            if finite(lat, lon):
                return _ellipsoidal(elevation, record.altitude_reference, lat, lon, flags)
    flags.append(CAMERA_FLAG_GROUND_HEIGHT_ASSUMED)
    return 0.0
