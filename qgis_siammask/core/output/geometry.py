"""Tracks in pixels -> ground features: mask outlines, rotated boxes, centre points, frame footprint.

Every pixel vertex is cast through the frame's camera model (engineer C's `CameraModel`); outlines are
simplified in the camera's local metric ENU frame with a tolerance in metres, then written in lon/lat
(EPSG:4326) or any CRS pyproj knows. Speed and heading come from geodesic distances and azimuths on the
WGS 84 ellipsoid between successive ground positions: metres and true north, never degree arithmetic.
Vertices whose rays miss the ground are dropped and the feature flagged, never turned into wild polygons.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import numpy as np

from ..definitions import (
    DEFAULT_CRS,
    GEO_FLAG_COASTED,
    GEO_FLAG_NO_CAMERA,
    GEO_FLAG_OFF_GROUND,
    GEO_FLAG_PARTIAL,
    STATUS_LOST,
)
from ..errors import ProjectionError
from ..records import Track

DEFAULT_SIMPLIFY_TOLERANCE_M = 0.2
# Pixel (column, row) indices name pixel centres; the camera model uses the same convention, so a
# pixel's outline runs half a pixel around its index.
PIXEL_HALF_SIZE = 0.5
DENSIFY_STEP_PX = 8.0  # longest pixel edge projected as a straight ground edge


@dataclass(frozen=True)
class TrackFeature:
    """One track's ground features in one frame, geometries in the frame's output CRS.

    A geometry is None when it could not be put on the ground (`geo_flag` says why);
    `lonlat_deg` is the centre on WGS 84 whatever the output CRS, for motion and ground-error checks.
    `mask_px` / `box_px` are the same outlines in frame pixels (x, y), as the tracker gave them, with
    or without a camera: the video overlays draw these.
    """

    track_id: int
    label: str
    frame: int
    time_utc: datetime | None
    score: float
    status: str
    mask: object | None = None  # shapely Polygon or MultiPolygon
    box: object | None = None  # shapely Polygon
    point: object | None = None  # shapely Point
    lonlat_deg: tuple[float, float] | None = None
    speed_mps: float | None = None
    heading_deg: float | None = None
    geo_flag: str = ""
    mask_px: object | None = None  # shapely Polygon or MultiPolygon in pixels
    box_px: object | None = None  # shapely Polygon in pixels


@dataclass(frozen=True)
class FrameFeatures:
    """All ground features of one video frame: what the track store writes and the plugin draws."""

    frame: int
    time_utc: datetime | None
    crs: str
    footprint: object | None  # shapely Polygon of the ground seen by the frame
    tracks: tuple[TrackFeature, ...] = ()
    geo_flag: str = ""
    message: str = ""  # why the frame could not be projected, for logs
    georef: str = ""  # the georeferencing mode that placed it (definitions.GEOREF_MODES)

    @property
    def feature_count(self) -> int:
        geometries = [self.footprint] + [g for t in self.tracks for g in (t.mask, t.box, t.point)]
        return sum(g is not None for g in geometries)


@dataclass
class MotionEstimator:
    """Speed and heading per track from its ground positions over a short time baseline.

    Frame-to-frame differences of a tracked centre are dominated by mask jitter at 25-30 fps, so the
    estimate spans at least `baseline_s`; heading is left unset below `min_speed_for_heading_mps`,
    where it would only be noise.
    """

    baseline_s: float = 0.5
    min_speed_for_heading_mps: float = 0.5
    _history: dict = field(default_factory=dict, repr=False)

    def update(self, track_id: int, time_s: float, lonlat_deg: tuple[float, float]) -> tuple[float | None, float | None]:
        history = self._history.setdefault(track_id, deque())
        history.append((time_s, lonlat_deg))
        while len(history) > 2 and time_s - history[1][0] >= self.baseline_s:
            history.popleft()
        then_s, then_lonlat = history[0]
        elapsed_s = time_s - then_s
        if elapsed_s <= 0:
            return None, None
        distance_m, heading_deg = ground_distance_heading(then_lonlat, lonlat_deg)
        speed_mps = distance_m / elapsed_s
        return speed_mps, (heading_deg if speed_mps >= self.min_speed_for_heading_mps else None)


def ground_distance_heading(from_lonlat_deg, to_lonlat_deg) -> tuple[float, float]:
    """Geodesic distance (m) and heading (degrees clockwise from true north, [0, 360)) on WGS 84."""
    heading_deg, _, distance_m = _geod().inv(from_lonlat_deg[0], from_lonlat_deg[1], to_lonlat_deg[0], to_lonlat_deg[1])
    return float(distance_m), float(heading_deg % 360.0)


def frame_features(
    tracks: list[Track],
    camera,
    frame_index: int,
    time_utc: datetime | None,
    simplify_tolerance_m: float = DEFAULT_SIMPLIFY_TOLERANCE_M,
    crs: str = DEFAULT_CRS,
    motion: MotionEstimator | None = None,
    time_s: float | None = None,
    camera_error: str = "",
    georef: str = "",
) -> FrameFeatures:
    """Project one frame's tracks onto the ground.

    `camera` is a `camera.CameraModel` (or None when the frame's telemetry could not make one: the frame
    is then flagged `no_camera` and every track keeps its attributes without geometry). `time_s` is the
    frame's video time, used for speed when given (else `time_utc`). `georef`: the mode that made the
    camera, kept with the frame.
    """
    outlines_px = [(mask_outline_px(t.mask) if t.mask is not None else None, _rotated_box_px(t)) for t in tracks]
    if camera is None:
        features = tuple(TrackFeature(t.track_id, t.label, frame_index, time_utc, float(t.score), t.status,
                                      geo_flag=GEO_FLAG_NO_CAMERA, mask_px=mask_px, box_px=box_px)
                         for t, (mask_px, box_px) in zip(tracks, outlines_px))
        return FrameFeatures(
            frame_index, time_utc, crs, None, features, GEO_FLAG_NO_CAMERA, camera_error, georef
        )
    to_crs = _lonlat_to_crs(crs)
    footprint, footprint_flag = ground_polygon(_image_outline_px(camera), camera, simplify_tolerance_m, to_crs)
    seconds = time_s if time_s is not None else (time_utc.timestamp() if time_utc is not None else None)
    features = []
    for track, (mask_px, box_px) in zip(tracks, outlines_px):
        mask, mask_flag = ground_polygon(mask_px, camera, simplify_tolerance_m, to_crs)
        box, box_flag = ground_polygon(box_px, camera, simplify_tolerance_m, to_crs)
        centre = camera.pixels_to_ground(_track_centre_px(track)[None, :])
        lonlat = tuple(float(v) for v in centre.lonlat_deg[0]) if bool(centre.valid[0]) else None
        speed_mps = heading_deg = None
        if lonlat is not None and motion is not None and seconds is not None and track.status != STATUS_LOST:
            speed_mps, heading_deg = motion.update(track.track_id, seconds, lonlat)
        features.append(
            TrackFeature(
                track_id=track.track_id,
                label=track.label,
                frame=frame_index,
                time_utc=time_utc,
                score=float(track.score),
                status=track.status,
                mask=mask,
                box=box,
                point=to_crs(_point(lonlat)) if lonlat is not None else None,
                lonlat_deg=lonlat,
                speed_mps=speed_mps,
                heading_deg=heading_deg,
                geo_flag=_worst_flag(mask_flag, box_flag, "" if lonlat is not None else GEO_FLAG_OFF_GROUND,
                                     GEO_FLAG_COASTED if track.coasted else ""),
                mask_px=mask_px,
                box_px=box_px,
            )
        )
    return FrameFeatures(
        frame_index, time_utc, crs, footprint, tuple(features), footprint_flag, georef=georef
    )


def mask_outline_px(mask: np.ndarray):
    """Pixel-edge outline of a full-frame (H, W) bool mask as a valid shapely (Multi)Polygon, or None.

    Contours run through boundary pixel centres; growing outer rings and shrinking holes by half a pixel
    (mitred) gives the outline of the pixels themselves, so one-pixel parts keep their area (hole corners
    come out chamfered, within a pixel of area).
    """
    import cv2
    from shapely.geometry import LineString, Point, Polygon
    from shapely.ops import unary_union

    cropped = _crop(mask)
    if cropped is None:
        return None
    crop, left, top = cropped
    contours, hierarchy = cv2.findContours(crop.view(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    outer, holes = [], []
    for contour, (_, _, _, parent) in zip(contours, hierarchy[0]):
        xy = contour[:, 0, :].astype(np.float64) + (left, top)
        if parent >= 0:
            if len(xy) >= 3:
                holes.append(Polygon(xy).buffer(-PIXEL_HALF_SIZE, join_style=2))
            continue
        shape = Polygon(xy) if len(xy) >= 3 else (LineString(xy) if len(xy) == 2 else Point(xy[0]))
        outer.append(shape.buffer(PIXEL_HALF_SIZE, cap_style=3, join_style=2))
    outline = unary_union(outer)
    if holes:
        outline = outline.difference(unary_union(holes))
    return outline if not outline.is_empty else None


def _crop(mask: np.ndarray):
    """(the mask's bounding crop as a contiguous bool array, its left column, its top row), or None if empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(mask[top:bottom].any(axis=0))
    left, right = int(cols[0]), int(cols[-1]) + 1
    return np.ascontiguousarray(mask[top:bottom, left:right], dtype=bool), left, top


def ground_polygon(pixel_polygon, camera, tolerance_m: float, to_crs):
    """A pixel (Multi)Polygon put on the ground; (geometry in the output CRS or None, geo flag).

    Rings are densified to DENSIFY_STEP_PX first, so that edges follow relief and, where the horizon
    cuts a ring, dropping the vertices that miss the ground leaves the part that lies on it. The
    ground polygon is simplified in metres in the camera's local ENU frame; while that happens each
    vertex carries its index into the projected points as z, so the result takes its lon/lat straight
    from the camera's projection instead of converting ENU back.
    """
    if pixel_polygon is None:
        return None, ""
    from shapely.geometry import MultiPolygon, Polygon

    polygons = list(pixel_polygon.geoms) if pixel_polygon.geom_type == "MultiPolygon" else [pixel_polygon]
    rings = [[_densified(r.coords) for r in (p.exterior, *p.interiors)] for p in polygons]
    ground = camera.pixels_to_ground(np.concatenate([r for p in rings for r in p]))
    east_north_index = np.column_stack([ground.enu_m[:, :2], np.arange(len(ground.valid), dtype=np.float64)])
    start, flag, kept = 0, "", []
    for polygon_rings in rings:
        on_ground_rings = []
        for ring in polygon_rings:
            on_ground = ground.valid[start : start + len(ring)]
            on_ground_rings.append(east_north_index[start : start + len(ring)][on_ground])
            start += len(ring)
            if not on_ground.all():
                flag = GEO_FLAG_PARTIAL
        if len(on_ground_rings[0]) < 3:
            continue
        polygon = Polygon(on_ground_rings[0], [r for r in on_ground_rings[1:] if len(r) >= 3])
        if not polygon.is_valid:  # a ring cut by the horizon can fold over itself
            flag = GEO_FLAG_PARTIAL
            continue
        kept.append(polygon)
    if not kept:
        return None, GEO_FLAG_OFF_GROUND
    simplified = (kept[0] if len(kept) == 1 else MultiPolygon(kept)).simplify(tolerance_m, preserve_topology=True)

    def vertex_lonlat(east, north, index):
        index = np.asarray(index, dtype=np.int64)
        return ground.lonlat_deg[index, 0], ground.lonlat_deg[index, 1]

    return to_crs(map_coordinates(vertex_lonlat, simplified)), flag


def _densified(ring_coords) -> np.ndarray:
    """(N, 2) vertices of a closed ring (without the closing repeat), no edge longer than DENSIFY_STEP_PX."""
    closed = np.asarray(ring_coords, dtype=np.float64)[:, :2]
    starts, edges = closed[:-1], np.diff(closed, axis=0)
    pieces = np.maximum(1, np.ceil(np.hypot(edges[:, 0], edges[:, 1]) / DENSIFY_STEP_PX).astype(np.int64))
    edge_of_vertex = np.repeat(np.arange(len(starts)), pieces)
    fraction = (np.arange(len(edge_of_vertex)) - np.repeat(np.cumsum(pieces) - pieces, pieces)) / pieces[edge_of_vertex]
    return starts[edge_of_vertex] + fraction[:, None] * edges[edge_of_vertex]


def _image_outline_px(camera):
    from shapely.geometry import box

    return box(-PIXEL_HALF_SIZE, -PIXEL_HALF_SIZE, camera.image_width_px - PIXEL_HALF_SIZE, camera.image_height_px - PIXEL_HALF_SIZE)


def _rotated_box_px(track: Track):
    from shapely.geometry import Polygon

    polygon = Polygon(np.asarray(track.rotated_box, dtype=np.float64))
    return polygon if polygon.is_valid and polygon.area > 0 else None


def _track_centre_px(track: Track) -> np.ndarray:
    """(2,) pixel centre: the mask's centroid when there is a mask, else the rotated box's centre."""
    cropped = _crop(track.mask) if track.mask is not None else None
    if cropped is not None:
        crop, left, top = cropped
        rows, cols = np.nonzero(crop)
        return np.array([left + cols.mean(), top + rows.mean()], dtype=np.float64)
    return np.asarray(track.rotated_box, dtype=np.float64).mean(axis=0)


def _worst_flag(*flags: str) -> str:
    for flag in (GEO_FLAG_NO_CAMERA, GEO_FLAG_OFF_GROUND, GEO_FLAG_COASTED, GEO_FLAG_PARTIAL):
        if flag in flags:
            return flag
    return ""


def _point(lonlat_deg):
    from shapely.geometry import Point

    return Point(lonlat_deg)


@lru_cache(maxsize=None)
def _geod():
    from pyproj import Geod

    return Geod(ellps="WGS84")


@lru_cache(maxsize=16)
def _lonlat_to_crs(crs: str):
    """A function mapping a lon/lat shapely geometry to `crs` (identity for EPSG:4326)."""
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        target = CRS.from_user_input(crs)
    except CRSError as error:
        raise ProjectionError(f"unknown output CRS {crs!r}", details=str(error)) from error
    if target == CRS.from_epsg(4326):
        return lambda geometry: geometry
    transformer = Transformer.from_crs("EPSG:4326", target, always_xy=True)
    return lambda geometry: map_coordinates(transformer.transform, geometry)


def map_coordinates(function, geometry):
    """`shapely.ops.transform(function, geometry)`: `function(x, y[, z])` gives the new (x, y) arrays; a
    2D geometry comes back. Shapely 2.1 and newer: `shapely.transform(interleaved=False)` (2.2 deprecates
    `ops.transform`, a warning in QGIS's log on 3.40); older shapely (Debian 12's 1.8): `ops.transform`."""
    import inspect

    import shapely

    if "interleaved" not in inspect.signature(getattr(shapely, "transform", lambda: None)).parameters:
        from shapely.ops import transform

        return transform(function, geometry)
    if shapely.has_z(geometry):  # the z column stays while mapping (same shape), then goes
        mapped = shapely.transform(geometry, lambda x, y, z: (*function(x, y, z), z), include_z=True,
                                   interleaved=False)
        return shapely.force_2d(mapped)
    return shapely.transform(geometry, lambda x, y: function(x, y), interleaved=False)
