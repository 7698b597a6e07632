"""Video overlays come from the ground features put back through the frame's camera: a track's
rotated box and mask must land where the tracker drew them, whatever the output CRS."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import Point, Polygon

from qgis_siammask.core.camera import CameraModel
from qgis_siammask.core.geometry import frame_features
from qgis_siammask.core.records import Track
from test_plugin_support import simulated_clip


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:32613"])
def test_overlay_round_trip_through_the_ground(qgis_app, tmp_path_factory, crs):
    from qgis_siammask.gui.overlays import overlays_from_features

    result, _ = simulated_clip(tmp_path_factory.getbasetemp(), 10)
    width, height = result.config.width_px, result.config.height_px
    camera = CameraModel.from_telemetry(result.telemetry[3], width, height)
    rotated_box = np.array([[200.0, 100.0], [230.0, 110.0], [222.0, 160.0], [192.0, 150.0]])
    mask = np.zeros((height, width), dtype=bool)
    mask[110:150, 200:222] = True
    track = Track(7, "car", (192.0, 100.0, 38.0, 60.0), rotated_box, mask, 0.8)
    features = frame_features(
        [track], camera, 3, result.telemetry[3].time_utc, simplify_tolerance_m=0.0, crs=crs
    )
    (overlay,) = overlays_from_features(features, camera)
    assert (overlay.track_id, overlay.label, overlay.lost) == (7, "car", False)
    box_px = np.array(overlay.rotated_box)
    outline = Polygon(rotated_box).exterior
    assert max(outline.distance(Point(p)) for p in box_px) < 0.3  # every vertex on the tracker's box
    nearest = np.linalg.norm(rotated_box[:, None, :] - box_px[None, :, :], axis=2).min(axis=1)
    assert nearest.max() < 0.3, nearest  # and every corner of it drawn
    (ring,) = overlay.mask_rings
    ring = np.array(ring)
    assert ring[:, 0].min() == pytest.approx(199.5, abs=0.3) and ring[:, 0].max() == pytest.approx(
        221.5, abs=0.3
    )
    assert ring[:, 1].min() == pytest.approx(109.5, abs=0.3) and ring[:, 1].max() == pytest.approx(
        149.5, abs=0.3
    )
