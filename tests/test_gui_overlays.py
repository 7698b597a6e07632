"""Video overlays come from the pixel outlines kept with the ground features: a track's rotated box and
mask must be drawn where the tracker put them, with a camera (any output CRS) or without one."""

from __future__ import annotations

import numpy as np
import pytest
from test_plugin_support import simulated_clip

from qgis_siammask.core.definitions import GEO_FLAG_NO_CAMERA
from qgis_siammask.core.geo.camera import CameraModel
from qgis_siammask.core.output.geometry import frame_features
from qgis_siammask.core.records import Track


@pytest.mark.parametrize("crs, with_camera", [("EPSG:4326", True), ("EPSG:32613", True), ("EPSG:4326", False)])
def test_overlay_shows_the_trackers_box_and_mask(qgis_app, tmp_path_factory, crs, with_camera):
    from qgis_siammask.gui.overlays import overlays_from_features

    result, _ = simulated_clip(tmp_path_factory.getbasetemp(), 10)
    width, height = result.config.width_px, result.config.height_px
    camera = CameraModel.from_telemetry(result.telemetry[3], width, height) if with_camera else None
    rotated_box = np.array([[200.0, 100.0], [230.0, 110.0], [222.0, 160.0], [192.0, 150.0]])
    mask = np.zeros((height, width), dtype=bool)
    mask[110:150, 200:222] = True
    mask[20:30, 40:52] = True  # a second part: drawn as a second ring
    track = Track(7, "car", (192.0, 100.0, 38.0, 60.0), rotated_box, mask, 0.8, status="lost")
    features = frame_features([track], camera, 3, result.telemetry[3].time_utc, simplify_tolerance_m=0.0, crs=crs)
    assert (features.geo_flag == GEO_FLAG_NO_CAMERA) is not with_camera
    (overlay,) = overlays_from_features(features)
    assert (overlay.track_id, overlay.label, overlay.lost) == (7, "car", True)
    box_px = np.array(overlay.rotated_box)
    assert box_px.shape == (5, 2)  # closed ring
    nearest = np.linalg.norm(rotated_box[:, None, :] - box_px[None, :, :], axis=2).min(axis=1)
    assert nearest.max() < 1e-9, nearest
    bounds = sorted((np.array(r)[:, 0].min(), np.array(r)[:, 1].min(), np.array(r)[:, 0].max(), np.array(r)[:, 1].max())
                    for r in overlay.mask_rings)
    assert bounds == [pytest.approx((39.5, 19.5, 51.5, 29.5)), pytest.approx((199.5, 109.5, 221.5, 149.5))]


def test_no_features_no_overlays():
    from qgis_siammask.gui.overlays import overlays_from_features

    assert overlays_from_features(None) == []
