"""Geo guidance: hints from real camera models (zoom, motion, coasting bound); then on real parts
(simulated MPEG-TS + KLV, the default TorchScript model): a gimbal slew keeps the track only with
guidance, and a target hidden under a tree comes back with its id."""
from __future__ import annotations

import json

import numpy as np
import pytest

from qgis_siammask.core import definitions as d
from qgis_siammask.core.geo.camera import CameraModel
from qgis_siammask.core.ingest.telemetry import open_telemetry
from qgis_siammask.core.ingest.video import VideoReader
from qgis_siammask.core.records import TelemetryRecord, Track
from qgis_siammask.core.simulator import SimulationConfig, simulate

SLEW_DEG = 4.0  # between frames 3 and 4: about 64 px at a 40 degree field of view over 640 px


def _nadir_camera(hfov_deg: float) -> CameraModel:
    """A camera 100 m above flat ground, looking straight down."""
    record = TelemetryRecord(sensor_latitude_deg=41.0, sensor_longitude_deg=-104.0, sensor_altitude_m=1950.0,
                             altitude_reference=d.ALTITUDE_HAE, platform_heading_deg=0.0,
                             platform_pitch_deg=0.0, platform_roll_deg=0.0, sensor_relative_azimuth_deg=0.0,
                             sensor_relative_elevation_deg=-90.0, sensor_relative_roll_deg=0.0,
                             horizontal_fov_deg=hfov_deg)
    return CameraModel.from_telemetry(record, 640, 360, ground_height_m=1850.0)


def test_hints_follow_a_parked_target_through_a_zoom_and_a_moving_one_on_its_track():
    from qgis_siammask.core.tracking.guidance import GeoGuidance

    guidance = GeoGuidance()
    parked = Track(1, "car", (390.0, 190.0, 20.0, 20.0), np.zeros((4, 2)), None, 0.99)
    guidance.observe([parked], _nadir_camera(40.0), 0.0)
    zoomed = _nadir_camera(2 * np.degrees(np.arctan(np.tan(np.radians(20.0)) / 2)))  # focal length x2
    hint = guidance.hints(zoomed, 0.04)[1]
    centre = np.array([319.5, 179.5])
    np.testing.assert_allclose(hint.center_xy, centre + 2 * (np.array([400.0, 200.0]) - centre), atol=0.01)
    assert hint.scale == pytest.approx(2.0, rel=1e-3)

    guidance = GeoGuidance()
    camera = _nadir_camera(40.0)
    for step in range(6):  # 2 px per frame to the right at 25 fps
        moving = Track(1, "car", (390.0 + 2 * step, 190.0, 20.0, 20.0), np.zeros((4, 2)), None, 0.99)
        guidance.observe([moving], camera, step / 25.0)
    np.testing.assert_allclose(guidance.hints(camera, 0.4)[1].center_xy, (400.0 + 2 * 10, 200.0), atol=0.05)
    capped = guidance.hints(camera, 0.2 + 10.0)[1].center_xy  # coasting stops after GUIDANCE_MAX_COAST_S
    np.testing.assert_allclose(capped, (400.0 + 2 * 5 + 2 * 25 * d.GUIDANCE_MAX_COAST_S, 200.0), atol=0.5)


def _iou(a, b) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy / (a[2] * a[3] + b[2] * b[3] - ix * iy)


@pytest.fixture(scope="module")
def slew_clip(tmp_path_factory):
    """A parked car (speed 0, camera still) and one gimbal slew of SLEW_DEG at frame 4: frames, cameras
    from the KLV read back, true boxes."""
    simulation = simulate(SimulationConfig(
        out_dir=tmp_path_factory.mktemp("slew"), seed=11, frames=8, vehicle_count=1, platform_wobble_deg=0.0,
        vehicle_speed_range_mps=(0.0, 0.0), slew_deg_per_frame=SLEW_DEG, slew_frames=1, slew_every_frames=4))
    telemetry = open_telemetry(simulation.video_path)
    frames, cameras = [], []
    with VideoReader(simulation.video_path) as video:
        for frame in video:
            frames.append(frame.image)
            cameras.append(CameraModel.from_telemetry(telemetry.at(frame.time_s), video.width, video.height))
    boxes = [f["vehicles"][0]["box_xywh"] for f in simulation.frames]
    return frames, cameras, boxes


def _track_ious(model_path, clip, guided: bool) -> list[float]:
    from qgis_siammask.core.tracking.guidance import GeoGuidance
    from qgis_siammask.core.tracking.tracker import SiamMaskTracker

    frames, cameras, boxes = clip
    tracker = SiamMaskTracker(model_path, device="cpu")
    guidance = GeoGuidance()
    guidance.observe(tracker.init(frames[0], [boxes[0]]), cameras[0], 0.0)
    ious = []
    for index in range(1, len(frames)):
        hints = guidance.hints(cameras[index], index / 25.0) if guided else None
        track = tracker.update(frames[index], search_hints=hints)[0]
        guidance.observe([track], cameras[index], index / 25.0)
        ious.append(_iou(track.bbox_xywh, boxes[index]))
    return ious


def test_a_gimbal_slew_keeps_the_track_only_with_geo_guidance(default_model_path, slew_clip):
    _, _, boxes = slew_clip
    jump_px = np.hypot(boxes[4][0] - boxes[3][0], boxes[4][1] - boxes[3][1])
    assert jump_px > 50  # the parked car jumps in the image
    guided = _track_ious(default_model_path, slew_clip, guided=True)
    unguided = _track_ious(default_model_path, slew_clip, guided=False)
    assert min(guided) > 0.6, guided
    assert min(unguided[:3]) > 0.6 and max(unguided[3:]) < 0.2, unguided  # the measured failure case


def test_a_car_hidden_for_a_second_under_a_tree_is_picked_up_with_the_same_id(default_model_path, tmp_path):
    import geopandas as gpd

    from qgis_siammask.core.pipeline import TrackingJob, run_tracking_job

    simulation = simulate(SimulationConfig(
        out_dir=tmp_path / "clip", seed=5, frames=62, vehicle_count=1, platform_wobble_deg=1.0,
        occlude_vehicle_at_s=(1.5,), occluder_radius_range_m=(6.0, 6.0), vehicle_speed_range_mps=(8.0, 8.0)))
    visible = (np.load(simulation.masks_path)["labels"] == 1).sum(axis=(1, 2))
    hidden = np.flatnonzero(visible == 0)
    assert len(hidden) >= 20 and visible[-1] > 0.8 * visible[0]  # gone about a second, then back in full
    box = simulation.frames[0]["vehicles"][0]["box_xywh"]
    job = TrackingJob(video_path=str(simulation.video_path), model_path=str(default_model_path),
                      output_gpkg=str(tmp_path / "tracks.gpkg"), boxes_xywh=(tuple(box),), device="cpu")
    assert run_tracking_job(job).ok
    points = gpd.read_file(job.output_gpkg, layer=d.LAYER_POINTS).sort_values(d.FIELD_FRAME)
    assert set(points[d.FIELD_TRACK_ID]) == {1}
    status = dict(zip(points[d.FIELD_FRAME], points[d.FIELD_STATUS]))
    flags = dict(zip(points[d.FIELD_FRAME], points[d.FIELD_GEO_FLAG]))
    assert all(status[f] == d.STATUS_LOST and flags[f] == d.GEO_FLAG_COASTED for f in hidden)
    last = points.iloc[-4:]
    assert (last[d.FIELD_STATUS] == d.STATUS_TRACKING).all()
    truth = json.loads(simulation.truth_path.read_text())["features"][0]["geometry"]["coordinates"]
    for _, row in last.iterrows():
        lon, lat, _ = truth[int(row[d.FIELD_FRAME])]
        east_m = (row.geometry.x - lon) * 111320 * np.cos(np.radians(lat))
        metres = np.hypot(east_m, (row.geometry.y - lat) * 110540)
        assert metres < 1.5
