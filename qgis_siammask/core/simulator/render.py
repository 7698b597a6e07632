"""Frame rendering: every image pixel looks up the ground texture through the camera model.

Rays are cast (pixel -> ground, flat or DEM) on a coarse grid every GRID_STEP_PX pixels and the
texture coordinates are interpolated bilinearly in between, then `cv2.remap` samples the texture and
the label raster; the ground->image mapping is smooth, so the coarse grid costs well under a
hundredth of a pixel and keeps a 640x360 frame in milliseconds.
"""
from __future__ import annotations

import numpy as np

from .scene import Scene
from .vehicles import Vehicle, draw_vehicle, footprint_window

GRID_STEP_PX = 8
DEM_GRID_STEP_PX = 16  # DEM rays cost ~20x flat ones; the generated relief is smooth at this spacing
SKY_BGR = (235, 206, 170)
SHADOW_MAX_M_PER_M = 3.0  # shadow length per metre of vehicle height, at low sun
NOISE_OFFSET = 128.0  # noise stored as uint8 around this value
NOISE_MARGIN_PX = 64  # the noise field is this much larger than a frame, for random windows


class Renderer:
    """Renders frames of one scene; `occluder_mask` (texture grid) marks crowns drawn over vehicles."""

    def __init__(self, scene: Scene, vehicles: list[Vehicle], config, rng: np.random.Generator, occluder_mask=None):
        from pyproj import Transformer

        self.scene, self.vehicles, self.config = scene, vehicles, config
        self.occluder_mask = occluder_mask
        self.labels = np.zeros(scene.texture_bgr.shape[:2], np.uint8)
        self._to_grid = Transformer.from_crs("EPSG:4326", scene.crs, always_xy=True)
        self._noise_rng = rng
        self._noise = None
        sun_azimuth = np.radians(config.sun_azimuth_deg if config.sun_azimuth_deg is not None else rng.uniform(0, 360))
        sun_elevation = np.radians(config.sun_elevation_deg if config.sun_elevation_deg is not None else rng.uniform(25, 70))
        length = min(1.0 / np.tan(sun_elevation), SHADOW_MAX_M_PER_M)
        self.shadow_vector_m = -length * np.array([np.sin(sun_azimuth), np.cos(sun_azimuth)])
        self.gain = config.brightness if config.brightness is not None else float(rng.uniform(0.8, 1.15))
        self.blur_kernel = _motion_kernel(config.motion_blur_px, float(rng.uniform(0, np.pi)))
        width, height = config.width_px, config.height_px
        step = GRID_STEP_PX if scene.dem_m is None else DEM_GRID_STEP_PX
        self._grid_x = np.linspace(0.0, width - 1.0, int(np.ceil((width - 1) / step)) + 1)
        self._grid_y = np.linspace(0.0, height - 1.0, int(np.ceil((height - 1) / step)) + 1)
        self._interp_x = _interpolation_matrix(width, len(self._grid_x)).astype(np.float32)
        self._interp_y = _interpolation_matrix(height, len(self._grid_y)).astype(np.float32)

    def texture_maps(self, camera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(H, W) float32 texture column and row of every pixel, and (H, W) bool `on_ground`."""
        gx, gy = np.meshgrid(self._grid_x, self._grid_y)
        ground = camera.pixels_to_ground(np.column_stack([gx.ravel(), gy.ravel()]))
        east, north = self._to_grid.transform(ground.lonlat_deg[:, 0], ground.lonlat_deg[:, 1])
        col, row = self.scene.to_texture_px(np.asarray(east), np.asarray(north))
        coarse = np.stack([col, row, ground.valid.astype(np.float64)]).reshape(3, *gx.shape)
        coarse = np.where(np.isfinite(coarse), coarse, 0.0).astype(np.float32)
        full = self._interp_y @ coarse @ self._interp_x.T  # (3, H, W), separable bilinear upsampling
        return full[0], full[1], full[2] > 0.999

    def render(self, camera, time_s: float) -> tuple[np.ndarray, np.ndarray]:
        """((H, W, 3) uint8 BGR frame, (H, W) uint8 vehicle ids, 0 for background)."""
        import cv2

        texture, saved = self.scene.texture_bgr, []
        for vehicle in self.vehicles:
            centre, bearing = vehicle.pose(time_s, self.scene)
            window = footprint_window(vehicle, centre, self.scene, margin_m=vehicle.height_m * SHADOW_MAX_M_PER_M + 1)
            if window is None:
                continue
            rows, cols = slice(*window[0]), slice(*window[1])
            saved.append((rows, cols, texture[rows, cols].copy()))
            draw_vehicle(texture, self.labels, vehicle, centre, bearing, self.scene, self.shadow_vector_m)
        if self.occluder_mask is not None:
            for rows, cols, original in saved:
                crown = self.occluder_mask[rows, cols].astype(bool)
                texture[rows, cols][crown] = original[crown]
                self.labels[rows, cols][crown] = 0
        map_x, map_y, on_ground = self.texture_maps(camera)
        image = cv2.remap(texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        labels = cv2.remap(self.labels, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        for rows, cols, original in saved[::-1]:
            texture[rows, cols] = original
            self.labels[rows, cols] = 0
        image[~on_ground] = SKY_BGR
        labels[~on_ground] = 0
        return self._camera_effects(image), labels

    def _camera_effects(self, image: np.ndarray) -> np.ndarray:
        """Motion blur, gain and sensor noise; the noise is a window of a pre-drawn field at a random
        offset (drawing fresh Gaussian noise for every frame would cost more than the rendering)."""
        import cv2

        if self.blur_kernel is not None:
            image = cv2.filter2D(image, -1, self.blur_kernel)
        if self.config.noise_sigma <= 0:
            return cv2.convertScaleAbs(image, alpha=self.gain)
        if self._noise is None:
            height, width = image.shape[:2]
            field = self._noise_rng.normal(NOISE_OFFSET, self.config.noise_sigma, (height + NOISE_MARGIN_PX, width + NOISE_MARGIN_PX, 3))
            self._noise = np.clip(np.round(field), 0, 255).astype(np.uint8)
        row, col = self._noise_rng.integers(0, NOISE_MARGIN_PX, 2)
        window = self._noise[row : row + image.shape[0], col : col + image.shape[1]]
        return cv2.addWeighted(image, self.gain, window, 1.0, -NOISE_OFFSET)


def _interpolation_matrix(size: int, grid_count: int) -> np.ndarray:
    """(size, grid_count) linear interpolation weights from a grid spanning pixel 0 .. size-1."""
    position = np.arange(size) * (grid_count - 1) / max(size - 1, 1)
    lower = np.minimum(np.floor(position).astype(int), grid_count - 2)
    fraction = position - lower
    matrix = np.zeros((size, grid_count))
    matrix[np.arange(size), lower] = 1 - fraction
    matrix[np.arange(size), lower + 1] += fraction
    return matrix


def _motion_kernel(length_px: float, angle_rad: float) -> np.ndarray | None:
    """A normalised line kernel of `length_px` along `angle_rad`, or None for no blur."""
    import cv2

    if length_px < 1.0:
        return None
    size = int(np.ceil(length_px)) | 1
    kernel = np.zeros((size, size), np.float32)
    half = (length_px - 1) / 2
    centre = size // 2
    start = (centre - half * np.cos(angle_rad), centre - half * np.sin(angle_rad))
    end = (centre + half * np.cos(angle_rad), centre + half * np.sin(angle_rad))
    cv2.line(kernel, tuple(np.round(np.array(start) * 16).astype(int)), tuple(np.round(np.array(end) * 16).astype(int)), 1.0, 1, cv2.LINE_AA, shift=4)
    return kernel / kernel.sum()
