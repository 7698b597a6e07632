"""Ground features from tracks: pixel outlines, speed and heading, flagged frames, output CRS."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from qgis_siammask.core import definitions as d
from qgis_siammask.core.errors import ProjectionError
from qgis_siammask.core.output.geometry import (
    MotionEstimator,
    frame_features,
    ground_distance_heading,
    mask_outline_px,
)
from qgis_siammask.core.records import Track

TIME_UTC = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)


def blank_mask(height: int = 60, width: int = 80) -> np.ndarray:
    return np.zeros((height, width), dtype=bool)


def test_mask_outline_follows_pixel_edges():
    mask = blank_mask()
    mask[7:17, 5:25] = True  # 10 rows x 20 columns
    outline = mask_outline_px(mask)
    assert outline.geom_type == "Polygon" and outline.is_valid
    assert outline.area == pytest.approx(200.0)
    assert outline.bounds == pytest.approx((4.5, 6.5, 24.5, 16.5))


def test_mask_outline_keeps_holes_single_pixels_and_separate_parts():
    mask = blank_mask()
    mask[10:30, 10:30] = True
    mask[15:20, 15:25] = False  # a 5 x 10 hole
    mask[50, 70] = True  # a lone pixel
    mask[40:42, 5:45] = True  # a 2-pixel-high bar
    outline = mask_outline_px(mask)
    assert outline.geom_type == "MultiPolygon" and outline.is_valid
    # hole rings follow the 8-connected pixel centres around the hole, so its corners are chamfered
    assert outline.area == pytest.approx(400 - 50 + 1 + 80, abs=1.0)
    assert sum(len(p.interiors) for p in outline.geoms) == 1


def test_empty_mask_has_no_outline():
    assert mask_outline_px(blank_mask()) is None


def _east_of(lonlat, metres: float):
    from pyproj import Geod

    lon, lat, _ = Geod(ellps="WGS84").fwd(lonlat[0], lonlat[1], 90.0, metres)
    return lon, lat


def test_motion_speed_and_heading_in_metres_over_a_baseline():
    motion = MotionEstimator(baseline_s=0.5)
    start = (7.0, 46.0)
    assert motion.update(3, 0.0, start) == (None, None)
    jitter = np.random.default_rng(0).normal(0, 0.05, 50)  # 5 cm of centre jitter per frame
    for i in range(1, 50):
        speed_mps, heading_deg = motion.update(3, i / 25, _east_of(start, 12.0 * i / 25 + jitter[i]))
    assert speed_mps == pytest.approx(12.0, abs=0.2)
    assert heading_deg == pytest.approx(90.0, abs=0.5)


def test_motion_gives_no_heading_when_standing_still():
    motion = MotionEstimator()
    for i in range(30):
        speed_mps, heading_deg = motion.update(0, i / 30, _east_of((7.0, 46.0), 0.01 * (i % 2)))
    assert speed_mps < 0.1 and heading_deg is None


def test_distance_and_heading_are_geodesic_not_degrees():
    # 0.001 degree of longitude is 111 m at the equator but 55.8 m at 60 N; of latitude, 111.4 m there
    distance_m, heading_deg = ground_distance_heading((10.0, 60.0), (10.001, 60.0))
    assert distance_m == pytest.approx(55.8, abs=0.1)
    assert heading_deg == pytest.approx(90.0, abs=0.01)
    distance_m, heading_deg = ground_distance_heading((10.0, 60.0), (10.0, 59.999))
    assert (distance_m, heading_deg) == (pytest.approx(111.41, abs=0.01), pytest.approx(180.0))


def _track(track_id: int = 0) -> Track:
    mask = blank_mask()
    mask[10:20, 10:30] = True
    corners = np.array([[9.5, 9.5], [29.5, 9.5], [29.5, 19.5], [9.5, 19.5]])
    return Track(track_id, "car", (9.5, 9.5, 20.0, 10.0), corners, mask, 0.8)


def test_frame_without_camera_is_flagged_with_attributes_kept():
    features = frame_features([_track(0), _track(1)], None, 12, TIME_UTC, camera_error="NaN sensor latitude")
    assert features.geo_flag == d.GEO_FLAG_NO_CAMERA and features.message == "NaN sensor latitude"
    assert features.footprint is None and features.feature_count == 0
    assert [(t.track_id, t.frame, t.score, t.geo_flag) for t in features.tracks] == [
        (0, 12, 0.8, d.GEO_FLAG_NO_CAMERA),
        (1, 12, 0.8, d.GEO_FLAG_NO_CAMERA),
    ]
    assert all(t.mask is None and t.point is None for t in features.tracks)


def test_unknown_output_crs_is_a_projection_error():
    with pytest.raises(ProjectionError, match="EPSG:99999"):
        frame_features([_track()], object(), 0, TIME_UTC, crs="EPSG:99999")


def _camera(elevation_deg: float = -90.0, width: int = 640, height: int = 480):
    """A real camera model 500 m above flat ground at 46 N 7 E, heading north, 40 degree HFOV."""
    from qgis_siammask.core.geo.camera import CameraModel
    from qgis_siammask.core.records import TelemetryRecord

    record = TelemetryRecord(
        sensor_latitude_deg=46.0,
        sensor_longitude_deg=7.0,
        sensor_altitude_m=500.0,
        altitude_reference=d.ALTITUDE_HAE,
        platform_heading_deg=0.0,
        platform_pitch_deg=0.0,
        platform_roll_deg=0.0,
        sensor_relative_azimuth_deg=0.0,
        sensor_relative_elevation_deg=elevation_deg,
        sensor_relative_roll_deg=0.0,
        horizontal_fov_deg=40.0,
        vertical_fov_deg=30.0,
        frame_center_elevation_m=0.0,
    )
    return CameraModel.from_telemetry(record, width, height)


def _box_track(left: int, top: int, width: int, height: int, image_shape=(480, 640)) -> Track:
    mask = np.zeros(image_shape, dtype=bool)
    mask[top : top + height, left : left + width] = True
    x0, y0, x1, y1 = left - 0.5, top - 0.5, left + width - 0.5, top + height - 0.5
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    return Track(0, "car", (x0, y0, width, height), corners, mask, 0.9)


def test_nadir_features_land_where_the_camera_projects_them():
    camera = _camera()
    track = _box_track(300, 200, 40, 20)
    features = frame_features([track], camera, 5, TIME_UTC, simplify_tolerance_m=0.05, crs="EPSG:32632")
    feature = features.tracks[0]
    assert feature.geo_flag == "" and features.geo_flag == ""
    pixel_area_m2 = (2 * 500 * np.tan(np.radians(20)) / 640) * (2 * 500 * np.tan(np.radians(15)) / 480)
    assert feature.mask.area == pytest.approx(40 * 20 * pixel_area_m2, rel=1e-3)
    assert feature.box.area == pytest.approx(40 * 20 * pixel_area_m2, rel=1e-3)
    assert features.footprint.area == pytest.approx(640 * 480 * pixel_area_m2, rel=1e-3)
    assert len(features.footprint.exterior.coords) == 5  # densified edges simplify back to straight lines
    centre = camera.pixels_to_ground(np.array([[319.5, 209.5]]))
    assert feature.lonlat_deg == pytest.approx(tuple(centre.lonlat_deg[0]), abs=1e-10)
    from pyproj import Transformer

    easting, northing = Transformer.from_crs("EPSG:4326", "EPSG:32632", always_xy=True).transform(*feature.lonlat_deg)
    assert (feature.point.x, feature.point.y) == (pytest.approx(easting, abs=1e-6), pytest.approx(northing, abs=1e-6))
    # image up is north: the target above the image centre lies north of the camera
    assert feature.lonlat_deg[1] > 46.0


def test_outline_simplification_tolerance_is_in_metres():
    from pyproj import Transformer
    from shapely.ops import transform

    camera = _camera()
    rows, cols = np.mgrid[0:480, 0:640]
    disc = Track(0, "car", (220, 140, 200, 200), np.zeros((4, 2)), (rows - 240) ** 2 + (cols - 320) ** 2 < 100**2, 0.9)
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32632", always_xy=True).transform
    exact = frame_features([disc], camera, 0, TIME_UTC, simplify_tolerance_m=0.0).tracks[0].mask
    vertex_counts = [len(exact.exterior.coords)]
    for tolerance_m in (0.5, 2.0):  # pixels are 0.57 x 0.56 m here
        simplified = frame_features([disc], camera, 0, TIME_UTC, simplify_tolerance_m=tolerance_m).tracks[0].mask
        vertex_counts.append(len(simplified.exterior.coords))
        assert transform(to_utm, simplified).hausdorff_distance(transform(to_utm, exact)) <= tolerance_m * 1.001
    assert vertex_counts == sorted(vertex_counts, reverse=True) and vertex_counts[2] < vertex_counts[0] / 4


def test_vertices_beyond_the_horizon_are_dropped_and_flagged():
    camera = _camera(elevation_deg=-10.0)  # the horizon crosses the top third of the image
    ground = camera.pixels_to_ground(np.array([[320.0, 0.0], [320.0, 479.0]]))
    assert not ground.valid[0] and ground.valid[1]
    spanning = _box_track(300, 50, 40, 400)
    sky = _box_track(300, 0, 40, 20)
    features = frame_features([spanning, sky], camera, 0, TIME_UTC)
    assert features.geo_flag == d.GEO_FLAG_PARTIAL and features.footprint.is_valid
    partial, off_ground = features.tracks
    assert partial.geo_flag == d.GEO_FLAG_PARTIAL and partial.mask.is_valid
    assert off_ground.geo_flag == d.GEO_FLAG_OFF_GROUND and off_ground.mask is None and off_ground.point is None
    reach_m = max(ground_distance_heading((7.0, 46.0), xy)[0] for xy in partial.mask.exterior.coords)
    assert reach_m <= d.MAX_GROUND_RANGE_M
