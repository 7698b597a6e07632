"""What every frame model shares (the camera model and the corner homography): image size and corners,
the local frame, flags, ground points and the footprint."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geodesy import LocalFrame, ecef_to_geodetic


@dataclass(frozen=True)
class GroundPoints:
    """Ground positions of N pixels. Arrays hold NaN where `valid` is False (ray missed the ground).

    lonlat_deg (N, 2) float64, height_m (N,) ellipsoidal, enu_m (N, 3) in the camera's local frame.
    """

    lonlat_deg: np.ndarray
    height_m: np.ndarray
    enu_m: np.ndarray
    valid: np.ndarray


class ImageGeometry:
    """What every frame model shares: image size, local frame, flags, the footprint."""

    image_width_px: int
    image_height_px: int
    local_frame: LocalFrame
    flags: tuple[str, ...]

    def corner_pixels(self) -> np.ndarray:
        """(4, 2) outer image corners UL, UR, LR, LL (pixel edges, not pixel centres)."""
        right, bottom = self.image_width_px - 0.5, self.image_height_px - 0.5
        return np.array([[-0.5, -0.5], [right, -0.5], [right, bottom], [-0.5, bottom]], dtype=np.float64)

    def centre_pixel(self) -> np.ndarray:
        return np.array([(self.image_width_px - 1) / 2.0, (self.image_height_px - 1) / 2.0])

    def inside_image(self, pixels_xy: np.ndarray) -> np.ndarray:
        """(N,) bool: (N, 2) pixel positions within the image's outer edges (NaN is outside)."""
        x, y = pixels_xy[:, 0], pixels_xy[:, 1]
        return (x >= -0.5) & (x <= self.image_width_px - 0.5) & (y >= -0.5) & (y <= self.image_height_px - 0.5)

    def footprint(self) -> GroundPoints:
        """Ground points of the 4 image corners (UL, UR, LR, LL); corners above the horizon invalid."""
        return self.pixels_to_ground(self.corner_pixels())

    def _ground_points(self, ecef_m: np.ndarray, valid: np.ndarray) -> GroundPoints:
        ecef = np.where(valid[:, None], ecef_m, np.nan)
        lat, lon, height = ecef_to_geodetic(ecef)
        return GroundPoints(np.column_stack([lon, lat]), height, self.local_frame.ecef_to_enu(ecef), valid)


def finite(*values) -> bool:
    return all(v is not None and np.isfinite(v) for v in values)
