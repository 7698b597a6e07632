"""Video overlays of tracked objects, drawn from the engine's ground features.

The pipeline hands the plugin ground features only (core.geometry.FrameFeatures); the overlay puts
their outlines back into the frame through the same frame's camera model (camera.ground_to_pixels at
the terrain's height), so what the analyst sees on the video is exactly what went onto the map.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..core.definitions import DEFAULT_CRS, STATUS_LOST
from .frame_view import Overlay


@lru_cache(maxsize=8)
def _to_lonlat(crs: str):
    """A function mapping an (N, 2) array in `crs` to lon/lat degrees (identity for EPSG:4326)."""
    from pyproj import CRS, Transformer

    if CRS.from_user_input(crs) == CRS.from_epsg(4326):
        return lambda xy: xy
    transformer = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))


def _rings(geometry):
    """Exterior rings of a shapely (Multi)Polygon as (N, 2) arrays."""
    if geometry is None or geometry.is_empty:
        return []
    polygons = geometry.geoms if geometry.geom_type == "MultiPolygon" else [geometry]
    return [np.asarray(p.exterior.coords, dtype=np.float64)[:, :2] for p in polygons]


def _to_pixels(camera, ring_xy, to_lonlat):
    """A ground ring as pixel vertices (tuple of (x, y)), or None when part of it is not in view."""
    lonlat = to_lonlat(ring_xy)
    pixels, _ = camera.ground_to_pixels(lonlat, camera.terrain.heights_m(lonlat))
    if not np.all(np.isfinite(pixels)):
        return None
    return tuple(map(tuple, pixels.tolist()))


def overlays_from_features(features, camera) -> list[Overlay]:
    """Overlays (rotated box, mask outline) of one frame's FrameFeatures seen through `camera`."""
    if features is None or camera is None:
        return []
    to_lonlat = _to_lonlat(features.crs or DEFAULT_CRS)
    overlays = []
    for track in features.tracks:
        box_rings = [r for r in (_to_pixels(camera, ring, to_lonlat) for ring in _rings(track.box)) if r]
        if not box_rings:
            continue
        mask_rings = tuple(
            r for r in (_to_pixels(camera, ring, to_lonlat) for ring in _rings(track.mask)) if r
        )
        overlays.append(
            Overlay(
                track_id=track.track_id,
                label=track.label,
                score=track.score,
                rotated_box=box_rings[0],
                mask_rings=mask_rings,
                lost=track.status == STATUS_LOST,
            )
        )
    return overlays
