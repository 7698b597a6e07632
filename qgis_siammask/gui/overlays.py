"""Video overlays of tracked objects, drawn from the pixel outlines the engine keeps with each feature.

Each `core.geometry.TrackFeature` carries the tracker's rotated box and mask outline in frame pixels
(the very outlines that were projected onto the ground), so the overlays need no camera: a frame whose
telemetry gives no camera (no attitude, values out of range) still shows what is being tracked.
"""

from __future__ import annotations

import numpy as np

from ..core.definitions import STATUS_LOST
from .frame_view import Overlay


def _rings(geometry) -> list[tuple[tuple[float, float], ...]]:
    """Exterior rings of a shapely (Multi)Polygon as tuples of (x, y) vertices."""
    if geometry is None or geometry.is_empty:
        return []
    polygons = geometry.geoms if geometry.geom_type == "MultiPolygon" else [geometry]
    return [tuple(map(tuple, np.asarray(p.exterior.coords, dtype=np.float64)[:, :2].tolist())) for p in polygons]


def overlays_from_features(features, styles: dict | None = None) -> list[Overlay]:
    """Overlays (rotated box, mask outline) of one frame's FrameFeatures, in that frame's pixels;
    `styles` (track id -> tracks_panel.TrackStyle) hides, renames and recolours tracks."""
    if features is None:
        return []
    styles = styles or {}
    overlays = []
    for track in features.tracks:
        box_rings = _rings(track.box_px)
        style = styles.get(track.track_id)
        if not box_rings or (style is not None and not style.visible):
            continue
        overlays.append(
            Overlay(
                track_id=track.track_id,
                label=style.label if style is not None else track.label,
                score=track.score,
                rotated_box=box_rings[0],
                mask_rings=tuple(_rings(track.mask_px)),
                lost=track.status == STATUS_LOST,
                color=style.color if style is not None else "",
            )
        )
    return overlays
