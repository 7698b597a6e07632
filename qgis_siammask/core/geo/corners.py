"""Frame model from the corner points the telemetry reports (ST 0601 tags 26-33 or 82-89)."""
from __future__ import annotations

import numpy as np

from ..definitions import CAMERA_FLAG_CORNER_HOMOGRAPHY, MAX_GROUND_RANGE_M
from ..errors import ProjectionError
from ..records import TelemetryRecord
from .geodesy import LocalFrame
from .image_geometry import GroundPoints, ImageGeometry, finite
from .terrain import FlatTerrain


class CornerHomography(ImageGeometry):
    """Frame model from the reported corner points when the attitude is unusable.

    A float64 homography from pixels to (east, north) metres in a local tangent plane at the frame
    centre's height, fitted by normalised DLT on the 4 corners (plus the frame centre when reported).
    """

    def __init__(self, corners_lonlat_deg: np.ndarray, ground_height_m: float, image_width_px: int, image_height_px: int,
                 centre_lonlat_deg=None, flags: tuple[str, ...] = ()):
        corners = np.asarray(corners_lonlat_deg, dtype=np.float64).reshape(-1, 2)
        if corners.shape != (4, 2) or not np.all(np.isfinite(corners)):
            raise ProjectionError("corner points missing or not numbers: cannot fit a corner homography")
        self.image_width_px, self.image_height_px = int(image_width_px), int(image_height_px)
        self.flags = tuple(flags) + (CAMERA_FLAG_CORNER_HOMOGRAPHY,)
        self.ground_height_m = float(ground_height_m)
        self.terrain = FlatTerrain(self.ground_height_m)  # the surface it projects onto, as a camera's
        ground = corners if centre_lonlat_deg is None else np.vstack([corners, centre_lonlat_deg])
        origin = ground.mean(axis=0) if centre_lonlat_deg is None else np.asarray(centre_lonlat_deg, dtype=np.float64)
        self.local_frame = LocalFrame(float(origin[1]), float(origin[0]), self.ground_height_m)
        pixels = self.corner_pixels() if centre_lonlat_deg is None else np.vstack([self.corner_pixels(), self.centre_pixel()])
        east_north = self.local_frame.to_enu(ground, self.ground_height_m)[:, :2]
        self.homography = fit_homography(pixels, east_north)
        self._centre_sign = np.sign((self.homography @ np.append(self.centre_pixel(), 1.0))[2])

    @classmethod
    def from_telemetry(cls, record: TelemetryRecord, width: int, height: int, terrain, flags: list[str]):
        latlon = np.asarray(record.corners_latlon_deg, dtype=np.float64)
        centre = None
        if finite(record.frame_center_latitude_deg, record.frame_center_longitude_deg):
            centre = np.array([record.frame_center_longitude_deg, record.frame_center_latitude_deg])
        if isinstance(terrain, FlatTerrain):
            ground_height = terrain.height_m
        else:  # the plane through the DEM heights under the corners (and centre)
            points = latlon[:, ::-1] if centre is None else np.vstack([latlon[:, ::-1], centre])
            heights = terrain.heights_m(points)
            ground_height = float(np.nanmean(heights)) if np.isfinite(heights).any() else float(np.mean(terrain.height_range_m))
        return cls(latlon[:, ::-1], ground_height, width, height, centre, tuple(flags))

    def pixels_to_ground(self, pixels_xy: np.ndarray) -> GroundPoints:
        pixels = np.asarray(pixels_xy, dtype=np.float64).reshape(-1, 2)
        mapped = np.column_stack([pixels, np.ones(len(pixels))]) @ self.homography.T
        valid = np.sign(mapped[:, 2]) == self._centre_sign
        with np.errstate(divide="ignore", invalid="ignore"):
            east_north = mapped[:, :2] / mapped[:, 2:3]
        valid &= np.all(np.isfinite(east_north), axis=1) & (np.hypot(*east_north.T) <= MAX_GROUND_RANGE_M)
        enu = np.column_stack([east_north, np.zeros(len(pixels))])
        return self._ground_points(self.local_frame.enu_to_ecef(enu), valid)

    def ground_to_pixels(self, lonlat_deg: np.ndarray, height_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        east_north = self.local_frame.to_enu(lonlat_deg, height_m)[:, :2]
        mapped = np.column_stack([east_north, np.ones(len(east_north))]) @ np.linalg.inv(self.homography).T
        with np.errstate(divide="ignore", invalid="ignore"):
            pixels = mapped[:, :2] / mapped[:, 2:3]
        return pixels, self.inside_image(pixels)


def fit_homography(source_xy: np.ndarray, target_xy: np.ndarray) -> np.ndarray:
    """(3, 3) float64 homography mapping (N>=4, 2) source to target points: normalised DLT (Hartley)."""
    def normaliser(points):
        centre = points.mean(axis=0)
        scale = np.sqrt(2.0) / max(float(np.mean(np.linalg.norm(points - centre, axis=1))), 1e-12)
        return np.array([[scale, 0, -scale * centre[0]], [0, scale, -scale * centre[1]], [0, 0, 1.0]])

    source_norm, target_norm = normaliser(source_xy), normaliser(target_xy)
    src = np.column_stack([source_xy, np.ones(len(source_xy))]) @ source_norm.T
    dst = np.column_stack([target_xy, np.ones(len(target_xy))]) @ target_norm.T
    rows = []
    for (x, y, _), (u, v, _) in zip(src, dst):
        rows.append([-x, -y, -1, 0, 0, 0, u * x, u * y, u])
        rows.append([0, 0, 0, -x, -y, -1, v * x, v * y, v])
    _, singular, vt = np.linalg.svd(np.asarray(rows))
    if singular[-2] < 1e-12:
        raise ProjectionError("corner points are degenerate (collinear or repeated): no homography")
    homography = np.linalg.inv(target_norm) @ vt[-1].reshape(3, 3) @ source_norm
    return homography / homography[2, 2]
