"""Procedural, georeferenced ground: a texture in a UTM grid, a road, and optionally a DEM with relief.

Everything is drawn from the seed with numpy and OpenCV; nothing is copied from imagery.
The scene's grid is north-up in the UTM zone of its origin; raster index (row, col) names the pixel
centre at (west + (col + 0.5) * res, north - (row + 0.5) * res).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geo.terrain import bilinear

DEM_RESOLUTION_M = 1.0
MAX_TEXTURE_PX = 3072
REFERENCE_AREA_M2 = 400.0 * 400.0  # the area the base object counts are drawn for
MAX_VIEW_ANGLE_DEG = 75.0
SCENE_MARGIN_M = 40.0
ROAD_WIDTH_M = 14.0
LANE_OFFSETS_M = (1.75, 5.25)  # lane centres either side of the axis; 3.5 m lanes


@dataclass
class Scene:
    """The ground of a simulation. `texture_bgr` (H, W, 3) uint8; `dem_m` (Hd, Wd) float64 or None."""

    crs: str
    west_m: float
    north_m: float
    resolution_m: float
    texture_bgr: np.ndarray
    base_height_m: float
    dem_m: np.ndarray | None
    road_origin_m: np.ndarray  # (2,) easting, northing of the road's station 0
    road_heading_rad: float  # grid bearing of the road axis (clockwise from grid north)
    road_wave_m: float
    road_wavelength_m: float

    def to_texture_px(self, east_m, north_m):
        """Fractional texture (col, row) pixel-centre indices of grid coordinates."""
        return (np.asarray(east_m) - self.west_m) / self.resolution_m - 0.5, (self.north_m - np.asarray(north_m)) / self.resolution_m - 0.5

    def heights_m(self, east_m, north_m) -> np.ndarray:
        """Ellipsoidal ground heights at grid coordinates (the DEM, bilinear; base height when flat)."""
        east, north = np.asarray(east_m, dtype=np.float64), np.asarray(north_m, dtype=np.float64)
        if self.dem_m is None:
            return np.full(np.broadcast(east, north).shape, self.base_height_m)
        col = (east - self.west_m) / DEM_RESOLUTION_M - 0.5
        row = (self.north_m - north) / DEM_RESOLUTION_M - 0.5
        return bilinear(self.dem_m, col.ravel(), row.ravel()).reshape(col.shape)

    def road_point(self, station_m, lateral_m=0.0) -> tuple[np.ndarray, np.ndarray]:
        """Grid (east, north) of a road station (m along the axis) at a lateral offset, and the tangent bearing."""
        station = np.asarray(station_m, dtype=np.float64)
        k = 2 * np.pi / self.road_wavelength_m
        along = np.array([np.sin(self.road_heading_rad), np.cos(self.road_heading_rad)])
        across = np.array([along[1], -along[0]])  # to the right of the direction of travel
        offset = self.road_wave_m * np.sin(k * station)
        slope = self.road_wave_m * k * np.cos(k * station)
        tangent = along[:, None] + slope * across[:, None]
        tangent = tangent / np.linalg.norm(tangent, axis=0)
        normal = np.array([tangent[1], -tangent[0]])
        centre = self.road_origin_m[:, None] + along[:, None] * station + across[:, None] * offset
        position = centre + normal * lateral_m
        return position, np.arctan2(tangent[0], tangent[1])


def scene_size_m(config) -> float:
    """Side of the square scene: the view's reach around the aim point's path, plus the traffic's travel.

    Corner rays are bounded by the obliquity plus the half-diagonal FOV (and MAX_VIEW_ANGLE_DEG:
    beyond it the texture repeats mirrored and DEM rays are flagged as sky).
    """
    if config.ground_size_m is not None:
        return float(config.ground_size_m)
    half_w = np.tan(np.radians(config.horizontal_fov_deg) / 2)
    half_diagonal_deg = np.degrees(np.arctan(np.hypot(half_w, half_w * config.height_px / config.width_px)))
    agl = config.altitude_agl_m
    standoff = agl * np.tan(np.radians(config.oblique_deg))
    # how far slews and jitter turn the boresight off the aim point
    turn_deg = abs(config.slew_deg_per_frame) * config.slew_frames + abs(config.jitter_deg)
    forward_deg = min(config.oblique_deg + turn_deg + half_diagonal_deg, MAX_VIEW_ANGLE_DEG)
    forward = agl * np.tan(np.radians(forward_deg)) - standoff
    backward = standoff + agl * np.tan(np.radians(max(half_diagonal_deg + turn_deg - config.oblique_deg, 0.0)))
    travel = max(config.vehicle_speed_range_mps) * config.frames / config.fps
    return 2.0 * (max(forward, backward) + travel + SCENE_MARGIN_M)


def utm_crs_for(lon_deg: float, lat_deg: float) -> str:
    zone = int((lon_deg + 180.0) // 6.0) % 60 + 1
    return f"EPSG:{(32600 if lat_deg >= 0 else 32700) + zone}"


def fractal_noise(rng: np.random.Generator, shape: tuple[int, int], octaves: int = 6, base_cells: int = 4) -> np.ndarray:
    """(H, W) float32 noise in [0, 1]: random grids upsampled cubically, each octave half as strong."""
    import cv2

    height, width = shape
    total = np.zeros(shape, dtype=np.float32)
    weight_sum = 0.0
    for octave in range(octaves):
        cells = base_cells * 2**octave
        grid = rng.random((cells + 1, int(cells * width / height) + 1)).astype(np.float32)
        total += cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC) * 0.5**octave
        weight_sum += 0.5**octave
    total /= weight_sum
    low, high = np.percentile(total, [1, 99])
    return np.clip((total - low) / max(high - low, 1e-6), 0, 1)


def build_scene(config, rng: np.random.Generator) -> Scene:
    """Texture (fields, soil, trees, buildings, a winding road with markings) and the optional DEM."""
    from pyproj import Transformer

    crs = utm_crs_for(config.origin_lon_deg, config.origin_lat_deg)
    east0, north0 = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(config.origin_lon_deg, config.origin_lat_deg)
    size_m = scene_size_m(config)
    resolution_m = max(config.ground_resolution_m, size_m / MAX_TEXTURE_PX)
    size_px = int(round(size_m / resolution_m))
    half_m = size_px * resolution_m / 2
    scene = Scene(
        crs=crs,
        west_m=float(east0) - half_m,
        north_m=float(north0) + half_m,
        resolution_m=resolution_m,
        texture_bgr=np.zeros((size_px, size_px, 3), np.uint8),
        base_height_m=config.ground_height_m,
        dem_m=None,
        road_origin_m=np.array([east0, north0], dtype=np.float64),
        road_heading_rad=float(rng.uniform(0, 2 * np.pi)),
        road_wave_m=float(rng.uniform(3.0, 15.0)),
        road_wavelength_m=float(rng.uniform(150.0, 400.0)),
    )
    scene.texture_bgr = _texture(scene, config, rng, size_px)
    if config.dem:
        scene.dem_m = _dem(config, rng, int(round(2 * half_m / DEM_RESOLUTION_M)))
    return scene


def _texture(scene: Scene, config, rng: np.random.Generator, size_px: int) -> np.ndarray:
    import cv2

    shape = (size_px, size_px)
    grass = np.array([rng.uniform(40, 80), rng.uniform(100, 150), rng.uniform(70, 120)], dtype=np.float32)
    soil = np.array([rng.uniform(60, 110), rng.uniform(100, 140), rng.uniform(130, 180)], dtype=np.float32)
    mix = fractal_noise(rng, shape, base_cells=3)[..., None]
    detail = fractal_noise(rng, shape, octaves=4, base_cells=64)[..., None]
    texture = grass * (1 - mix) + soil * mix
    texture = texture * (0.8 + 0.4 * detail)
    area_ratio = (size_px * scene.resolution_m) ** 2 / REFERENCE_AREA_M2  # object counts scale with area
    fields = np.zeros(shape, np.uint8)  # field id per texel; later fields overlap earlier ones
    field_count = max(1, min(254, int(rng.integers(6, 14) * area_ratio)))
    for field_id in range(1, field_count + 1):
        centre = rng.uniform(0, size_px, 2)
        radius = rng.uniform(0.05, 0.2) * size_px / np.sqrt(area_ratio)
        angles = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(4, 7))))
        polygon = (centre + radius * np.column_stack([np.cos(angles), np.sin(angles)])).astype(np.int32)
        cv2.fillPoly(fields, [polygon], field_id)
    tints = np.vstack([np.ones(3), rng.uniform(0.75, 1.25, (field_count, 3))]).astype(np.float32)
    texture = texture * tints[fields]
    texture = np.clip(texture, 0, 255).astype(np.uint8)
    _draw_road(scene, texture, rng)
    for _ in range(int(rng.integers(4, 10) * area_ratio)):  # buildings away from the road
        _draw_building(scene, texture, rng)
    for _ in range(int(rng.integers(40, 90) * area_ratio)):
        _draw_tree(scene, texture, rng, on_road=False)
    return texture


def grid_to_px(scene: Scene, points_en: np.ndarray) -> np.ndarray:
    """(N, 2) grid metres -> (N, 2) texture pixel coordinates for OpenCV drawing (pixel-centre based)."""
    col, row = scene.to_texture_px(points_en[:, 0], points_en[:, 1])
    return np.column_stack([col, row])


def draw_polygon(image: np.ndarray, polygon_px: np.ndarray, colour) -> None:
    """Anti-aliased filled polygon with 1/16-pixel vertex precision."""
    import cv2

    cv2.fillPoly(image, [np.round(polygon_px * 16).astype(np.int32)], colour, cv2.LINE_AA, shift=4)


def _draw_road(scene: Scene, texture: np.ndarray, rng: np.random.Generator) -> None:
    import cv2

    stations = np.arange(-scene.texture_bgr.shape[0] * scene.resolution_m, scene.texture_bgr.shape[0] * scene.resolution_m, 2.0)
    asphalt = tuple(float(v) for v in np.full(3, rng.uniform(55, 95)))
    for lateral, colour, width_m in ((0.0, (150, 150, 150), ROAD_WIDTH_M + 1.2), (0.0, asphalt, ROAD_WIDTH_M)):
        centre, _ = scene.road_point(stations, lateral)
        line = grid_to_px(scene, centre.T)
        thickness = max(1, int(round(width_m / scene.resolution_m)))
        cv2.polylines(texture, [np.round(line * 16).astype(np.int32)], False, colour, thickness, cv2.LINE_AA, shift=4)
    dash = np.arange(stations[0], stations[-1], 6.0)
    for lateral in (-3.5, 0.0, 3.5):
        for start in dash[::2] if lateral else dash:
            segment, _ = scene.road_point(np.array([start, start + (3.0 if lateral else 6.0)]), lateral)
            line = grid_to_px(scene, segment.T)
            cv2.polylines(texture, [np.round(line * 16).astype(np.int32)], False, (235, 235, 235),
                          max(1, int(round(0.15 / scene.resolution_m))), cv2.LINE_AA, shift=4)


def _off_road_point(scene: Scene, rng: np.random.Generator, min_distance_m: float) -> np.ndarray:
    """A random grid point at least `min_distance_m` from the road axis (up to a few tries)."""
    size_m = scene.texture_bgr.shape[0] * scene.resolution_m
    for _ in range(20):
        point = np.array([scene.west_m, scene.north_m - size_m]) + rng.uniform(0, size_m, 2)
        stations = np.arange(-size_m, size_m, 2.0)
        axis, _ = scene.road_point(stations)
        if np.min(np.hypot(axis[0] - point[0], axis[1] - point[1])) > min_distance_m:
            return point
    return point


def _draw_building(scene: Scene, texture: np.ndarray, rng: np.random.Generator) -> None:
    centre = _off_road_point(scene, rng, 18.0)
    length, width, angle = rng.uniform(8, 20), rng.uniform(6, 12), rng.uniform(0, np.pi)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [length / 2, width / 2]
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    footprint = centre + corners @ rotation.T
    roof = tuple(float(v) for v in rng.uniform(60, 200, 3))
    draw_polygon(texture, grid_to_px(scene, footprint + [1.5, -1.5]), (40, 45, 40))  # shadow
    draw_polygon(texture, grid_to_px(scene, footprint), roof)
    ridge = centre + (corners * [1, 0.05]) @ rotation.T
    draw_polygon(texture, grid_to_px(scene, ridge), tuple(0.7 * v for v in roof))


def _draw_tree(scene: Scene, texture: np.ndarray, rng: np.random.Generator, on_road: bool, centre=None) -> None:
    import cv2

    if centre is None:
        centre = _off_road_point(scene, rng, 8.0)
    radius_px = rng.uniform(1.5, 4.0) / scene.resolution_m
    px = grid_to_px(scene, centre[None, :])[0]
    shadow = (px + [radius_px * 0.6, radius_px * 0.4]) * 16
    cv2.circle(texture, tuple(np.round(shadow).astype(int)), int(radius_px * 16), (25, 40, 25), -1, cv2.LINE_AA, shift=4)
    green = (float(rng.uniform(20, 50)), float(rng.uniform(70, 110)), float(rng.uniform(30, 60)))
    cv2.circle(texture, tuple(np.round(px * 16).astype(int)), int(radius_px * 16), green, -1, cv2.LINE_AA, shift=4)


def _dem(config, rng: np.random.Generator, size_px: int) -> np.ndarray:
    """(size, size) ellipsoidal heights: smooth hills of `relief_m` peak to peak over the base height."""
    relief = fractal_noise(rng, (size_px, size_px), octaves=3, base_cells=2).astype(np.float64)
    return config.ground_height_m + config.relief_m * (relief - 0.5)


def add_occluders(scene: Scene, count: int, rng: np.random.Generator, radius_range_m=(2.0, 3.5),
                  centres_en: tuple = ()) -> np.ndarray | None:
    """Draw `count` tree crowns over the road near the scene centre, then one at each grid (east, north)
    of `centres_en`; (H, W) uint8 mask of them, or None when there are none."""
    if count <= 0 and not centres_en:
        return None
    mask = np.zeros(scene.texture_bgr.shape[:2], np.uint8)
    for station in rng.uniform(-30, 30, count) if count > 0 else ():
        centre, _ = scene.road_point(np.array([station]), float(rng.uniform(-3, 3)))
        _draw_crown(scene, mask, centre[:, 0], rng.uniform(*radius_range_m), rng)
    for centre in centres_en:
        _draw_crown(scene, mask, np.asarray(centre, np.float64), rng.uniform(*radius_range_m), rng)
    return mask


def _draw_crown(scene: Scene, mask: np.ndarray, centre_en: np.ndarray, radius_m: float, rng) -> None:
    import cv2

    radius_px = radius_m / scene.resolution_m
    px = grid_to_px(scene, centre_en[None, :])[0]
    green = (float(rng.uniform(20, 50)), float(rng.uniform(70, 110)), float(rng.uniform(30, 60)))
    cv2.circle(scene.texture_bgr, tuple(np.round(px * 16).astype(int)), int(radius_px * 16), green, -1, cv2.LINE_AA, shift=4)
    cv2.circle(mask, tuple(np.round(px * 16).astype(int)), int(radius_px * 16), 1, -1, cv2.LINE_8, shift=4)
