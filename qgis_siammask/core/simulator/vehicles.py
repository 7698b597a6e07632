"""Simulated vehicles: varied shapes and colours, driving along the road's lanes at constant speeds.

A vehicle is drawn top-down into the ground texture (body with rounded corners, windscreen, roof or
cargo box, cast shadow), so the camera model's own ground->image mapping renders it, and the same
drawing into a label raster gives its exact per-frame mask.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .scene import LANE_OFFSETS_M, Scene, draw_polygon, grid_to_px

KINDS = ("car", "car", "van", "pickup", "truck", "bus")
PALETTE_BGR = (
    (235, 235, 235), (30, 30, 30), (40, 40, 190), (170, 90, 30), (150, 150, 150), (40, 190, 230),
    (60, 120, 40), (200, 200, 80), (120, 40, 120), (20, 90, 200), (90, 60, 40),
)
CORNER_SEGMENTS = 4


@dataclass(frozen=True)
class Vehicle:
    vehicle_id: int
    kind: str
    length_m: float
    width_m: float
    height_m: float
    colour_bgr: tuple[int, int, int]
    lateral_m: float  # lane offset from the road axis, + to the right of increasing stations
    direction: int  # +1 drives towards increasing stations, -1 the other way
    start_station_m: float
    speed_mps: float

    def pose(self, time_s: float, scene: Scene) -> tuple[np.ndarray, float]:
        """Grid (east, north) of the vehicle centre and its heading (grid bearing, radians)."""
        station = self.start_station_m + self.direction * self.speed_mps * time_s
        position, bearing = scene.road_point(np.array([station]), self.lateral_m)
        return position[:, 0], float(bearing[0] + (np.pi if self.direction < 0 else 0.0))

    def outline_m(self) -> np.ndarray:
        """(M, 2) body outline in vehicle coordinates (x forward, y left), metres, rounded corners."""
        return _rounded_rectangle(self.length_m, self.width_m, min(0.5, 0.2 * self.width_m))


def make_vehicles(config, rng: np.random.Generator) -> list[Vehicle]:
    """`config.vehicle_count` vehicles around the scene centre, one per lane (4 lanes, both directions);
    from the fifth on, each follows the vehicle of its lane at the same speed, a gap behind."""
    low, high = config.vehicle_length_range_m
    lanes = [(sign * offset, sign) for offset in LANE_OFFSETS_M for sign in (1, -1)]
    vehicles: list[Vehicle] = []
    for index in range(config.vehicle_count):
        kind = KINDS[int(rng.integers(len(KINDS)))]
        length = float(rng.uniform(low, high))
        length = {"truck": max(length, high), "bus": max(length * 1.3, high)}.get(kind, length)
        width = float(np.clip(length * rng.uniform(0.36, 0.45), 1.6, 2.6))
        palette = config.vehicle_colours_bgr or PALETTE_BGR
        colour = tuple(int(c) for c in palette[int(rng.integers(len(palette)))])
        lateral, direction = lanes[index % len(lanes)]
        station, speed = float(rng.uniform(-15, 15)), float(rng.uniform(*config.vehicle_speed_range_mps))
        if index >= len(lanes):
            leader = vehicles[index - len(lanes)]
            gap = (leader.length_m + length) / 2 + float(rng.uniform(3, 12))
            station, speed = leader.start_station_m - direction * gap, leader.speed_mps
        vehicles.append(
            Vehicle(
                vehicle_id=index + 1,
                kind=kind,
                length_m=length,
                width_m=width,
                height_m={"truck": 3.5, "bus": 3.2, "van": 2.2}.get(kind, 1.5),
                colour_bgr=colour,
                lateral_m=lateral,
                direction=direction,
                start_station_m=station,
                speed_mps=speed,
            )
        )
    return vehicles


def _rounded_rectangle(length: float, width: float, radius: float) -> np.ndarray:
    corners = ((1, 1), (-1, 1), (-1, -1), (1, -1))
    points = []
    for quadrant, (sx, sy) in enumerate(corners):
        centre = np.array([sx * (length / 2 - radius), sy * (width / 2 - radius)])
        start = quadrant * np.pi / 2
        for angle in np.linspace(start, start + np.pi / 2, CORNER_SEGMENTS):
            points.append(centre + radius * np.array([np.cos(angle), np.sin(angle)]))
    return np.asarray(points)


def _details(vehicle: Vehicle) -> list[tuple[np.ndarray, tuple[float, float, float]]]:
    """Roof, windscreen and cargo parts as (polygon in vehicle metres, colour)."""
    length, width = vehicle.length_m, vehicle.width_m
    colour = np.asarray(vehicle.colour_bgr, dtype=np.float64)
    glass = (45.0, 40.0, 35.0)
    parts = []
    if vehicle.kind in ("truck", "pickup"):
        cab_length = min(2.2, 0.35 * length)
        cargo_colour = tuple(np.clip(colour * 0.8 + 40, 0, 255)) if vehicle.kind == "truck" else (70.0, 70.0, 70.0)
        parts.append((_box(-length / 2 + 0.2, length / 2 - cab_length - 0.2, width - 0.3), cargo_colour))
        parts.append((_box(length / 2 - cab_length, length / 2 - cab_length + 0.6, width - 0.4), glass))
    else:
        roof_start = -length / 2 + (0.6 if vehicle.kind == "car" else 0.3)
        roof_end = length / 2 - (1.5 if vehicle.kind == "car" else 0.9)
        parts.append((_box(roof_end, roof_end + 0.55, width - 0.35), glass))
        if vehicle.kind == "car":
            parts.append((_box(roof_start, roof_start + 0.4, width - 0.4), glass))
        parts.append((_box(roof_start + 0.45, roof_end - 0.05, width - 0.5), tuple(np.clip(colour * 1.12 + 10, 0, 255))))
    return parts


def _box(x_from: float, x_to: float, width: float) -> np.ndarray:
    return np.array([[x_from, -width / 2], [x_to, -width / 2], [x_to, width / 2], [x_from, width / 2]])


def _to_grid(polygon_m: np.ndarray, centre: np.ndarray, bearing_rad: float) -> np.ndarray:
    """Vehicle metres (x forward, y left) -> grid (east, north) for a vehicle heading `bearing_rad`."""
    forward = np.array([np.sin(bearing_rad), np.cos(bearing_rad)])
    left = np.array([-forward[1], forward[0]])
    return centre + polygon_m[:, :1] * forward + polygon_m[:, 1:2] * left


def draw_vehicle(
    texture: np.ndarray,
    labels: np.ndarray,
    vehicle: Vehicle,
    centre: np.ndarray,
    bearing_rad: float,
    scene: Scene,
    shadow_vector_m: np.ndarray,
) -> None:
    """Draw the shadow, body and details into `texture` and the body's id into `labels` (texture grid)."""
    import cv2

    outline = _to_grid(vehicle.outline_m(), centre, bearing_rad)
    px = grid_to_px(scene, outline)
    shadow_px = grid_to_px(scene, outline + shadow_vector_m * vehicle.height_m)
    window = _window(np.vstack([px, shadow_px]), texture.shape)
    if window is None:
        return
    (r0, r1), (c0, c1) = window
    offset = np.array([c0, r0])
    patch_mask = np.zeros((r1 - r0, c1 - c0), np.uint8)
    hull = cv2.convexHull(np.vstack([shadow_px, px]).astype(np.float32))[:, 0, :].astype(np.float64)
    draw_polygon(patch_mask, hull - offset, 255)
    patch = texture[r0:r1, c0:c1].astype(np.float32)
    patch *= 1.0 - 0.5 * (patch_mask[..., None] / 255.0)
    texture[r0:r1, c0:c1] = patch.astype(np.uint8)
    draw_polygon(texture, px, tuple(float(c) for c in vehicle.colour_bgr))
    for polygon, colour in _details(vehicle):
        draw_polygon(texture, grid_to_px(scene, _to_grid(polygon, centre, bearing_rad)), colour)
    cv2.fillPoly(labels, [np.round(px * 16).astype(np.int32)], int(vehicle.vehicle_id), cv2.LINE_8, shift=4)


def footprint_window(vehicle: Vehicle, centre: np.ndarray, scene: Scene, margin_m: float) -> tuple | None:
    """Texture (rows, cols) slices around a vehicle at `centre`, large enough for it and its shadow."""
    reach = vehicle.length_m / 2 + margin_m
    corners = centre + np.array([[-reach, -reach], [reach, reach]])
    return _window(grid_to_px(scene, corners), scene.texture_bgr.shape)


def _window(points_px: np.ndarray, shape) -> tuple | None:
    r0 = int(max(np.floor(points_px[:, 1].min()) - 2, 0))
    r1 = int(min(np.ceil(points_px[:, 1].max()) + 3, shape[0]))
    c0 = int(max(np.floor(points_px[:, 0].min()) - 2, 0))
    c1 = int(min(np.ceil(points_px[:, 0].max()) + 3, shape[1]))
    if r1 <= r0 or c1 <= c0:
        return None
    return (r0, r1), (c0, c1)
