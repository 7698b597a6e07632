"""The whole tracking job on real parts: simulated MPEG-TS + telemetry, a real TorchScript SiamMask,
the real camera model, a GeoPackage read back; cancel, callback failures and bad inputs."""
from __future__ import annotations

from pathlib import Path

import pytest

from qgis_siammask.core import definitions as d
from qgis_siammask.core.pipeline import TrackingJob, run_tracking_job


def test_unwritable_output_fails_before_any_input_is_opened(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    job = TrackingJob(
        video_path=str(tmp_path / "missing.ts"),
        model_path=str(tmp_path / "missing.pt"),
        output_gpkg=str(blocker / "tracks.gpkg"),
        boxes_xywh=((10.0, 10.0, 20.0, 20.0),),
    )
    result = run_tracking_job(job, on_frame=pytest.fail)
    assert result.status == d.JOB_FAILED and result.frames_tracked == 0
    # the output is checked first: the missing video and model are not even looked at
    assert str(blocker / "tracks.gpkg") in result.message and "missing" not in result.message
    assert not Path(job.output_gpkg).exists()


@pytest.fixture(scope="module")
def model_path(request) -> Path:
    """The committed default model (light, fast on CPU), else the seeded parity export."""
    from qgis_siammask.core.commands.demo import DEFAULT_MODEL_DIR

    committed = sorted(DEFAULT_MODEL_DIR.glob("*.pt"))
    return committed[0] if committed else request.getfixturevalue("seeded_model_path")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 5-frame simulated nadir clip (MPEG-TS + KLV) and the vehicle to track from frame 0."""
    from qgis_siammask.core.commands.demo import pick_vehicle
    from qgis_siammask.core.simulator import SimulationConfig, simulate

    simulation = simulate(SimulationConfig(out_dir=tmp_path_factory.mktemp("clip"), seed=7, frames=5))
    vehicle_id, box = pick_vehicle(simulation.frames[0]["vehicles"], simulation.config.width_px, simulation.config.height_px)
    return simulation, vehicle_id, box


def _job(clip, model_path, out: Path, **overrides) -> TrackingJob:
    simulation, vehicle_id, box = clip
    values = dict(
        video_path=str(simulation.video_path),
        model_path=str(model_path),
        output_gpkg=str(out),
        boxes_xywh=(box,),
        labels=("car",),
        device="cpu",
    )
    return TrackingJob(**{**values, **overrides})


def _frames_in(gpkg: Path, with_geometry: bool = False) -> list[int]:
    import geopandas as gpd

    points = gpd.read_file(gpkg, layer=d.LAYER_POINTS)
    if with_geometry:
        points = points[~points.geometry.isna()]
    return sorted(points[d.FIELD_FRAME])


def test_end_to_end_on_a_simulated_clip(clip, model_path, tmp_path):
    from qgis_siammask.core.commands.demo import ground_error

    simulation, vehicle_id, _ = clip
    seen, progress = [], []
    result = run_tracking_job(_job(clip, model_path, tmp_path / "out.gpkg"), on_frame=seen.append, progress=progress.append)
    assert result.status == d.JOB_SUCCESS, result.message
    assert result.frames_tracked == 5 and [f.frame for f in seen] == [0, 1, 2, 3, 4]
    assert progress == sorted(progress) and progress[-1] == pytest.approx(100.0)
    masks = sum(t.mask is not None for f in seen for t in f.tracks)  # the first frame may have none
    assert masks >= 4
    assert result.layer_feature_counts == {"masks": masks, "boxes": 5, "points": 5, "lines": 1, "footprints": 5}
    assert _frames_in(tmp_path / "out.gpkg", with_geometry=True) == [0, 1, 2, 3, 4]
    assert seen[2].time_utc.isoformat() == simulation.frames[2]["time_utc"]
    # frame 0 starts from the simulator's own box: the whole chain (tracker crop, mask, camera model,
    # projection, GeoPackage) must put the vehicle within a couple of metres of its true position
    error, _ = ground_error(tmp_path / "out.gpkg", simulation.truth_path, vehicle_id)
    assert error.frames == 5 and error.median_m < 2.0


def test_cancel_keeps_the_frames_tracked_so_far(clip, model_path, tmp_path):
    import geopandas as gpd

    seen = []
    result = run_tracking_job(
        _job(clip, model_path, tmp_path / "out.gpkg"), on_frame=seen.append, is_cancelled=lambda: len(seen) >= 2
    )
    assert result.status == d.JOB_CANCELLED and result.frames_tracked == 2
    assert result.gpkg_path == str(tmp_path / "out.gpkg") and not (tmp_path / "out.partial.gpkg").exists()
    assert _frames_in(tmp_path / "out.gpkg") == [0, 1]
    lines = gpd.read_file(tmp_path / "out.gpkg", layer=d.LAYER_LINES)
    assert list(lines[d.FIELD_POINT_COUNT]) == [2]


def _fail_at_frame_1(features):
    if features.frame == 1:
        raise RuntimeError("map canvas went away")


@pytest.mark.parametrize("mode", ["replace", "append"])
def test_failed_run_keeps_its_frames_in_the_partial_file_and_the_earlier_file_untouched(
        clip, model_path, tmp_path, mode):
    out = tmp_path / "out.gpkg"
    assert run_tracking_job(_job(clip, model_path, out, end_frame=2)).ok
    earlier = out.read_bytes()
    result = run_tracking_job(_job(clip, model_path, out, output_mode=mode), on_frame=_fail_at_frame_1)
    assert result.status == d.JOB_FAILED and "map canvas went away" in result.message
    partial = tmp_path / "out.partial.gpkg"
    assert f"kept in {partial}" in result.message and result.gpkg_path == str(partial)
    assert out.read_bytes() == earlier
    # frame 1 was committed before its callback; append mode started from a copy of the earlier file
    assert _frames_in(partial) == ([0, 0, 1, 1, 2] if mode == "append" else [0, 1])
    assert result.layer_feature_counts[d.LAYER_POINTS] == len(_frames_in(partial))


def test_successful_append_replaces_the_file_with_both_runs(clip, model_path, tmp_path):
    out = tmp_path / "out.gpkg"
    assert run_tracking_job(_job(clip, model_path, out, end_frame=1)).ok
    result = run_tracking_job(_job(clip, model_path, out, start_frame=0, end_frame=2, output_mode="append"))
    assert result.ok and result.gpkg_path == str(out) and not (tmp_path / "out.partial.gpkg").exists()
    assert _frames_in(out) == [0, 0, 1, 1, 2]


def test_failure_before_the_first_frame_leaves_no_partial_file(clip, model_path, tmp_path):
    out = tmp_path / "out.gpkg"
    out.write_bytes(b"an earlier result")
    result = run_tracking_job(_job(clip, model_path, out, start_frame=99))
    assert result.status == d.JOB_FAILED and "no frame 99" in result.message
    assert out.read_bytes() == b"an earlier result" and result.gpkg_path == str(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.gpkg"]


def test_missing_and_nan_telemetry_flag_frames_without_crashing(clip, model_path, tmp_path):
    import dataclasses

    from qgis_siammask.core.ingest.misb0601 import encode_st0601

    simulation, _, _ = clip
    records = list(simulation.telemetry)
    # no position, and no corner points the camera model could fall back on
    records[0] = dataclasses.replace(records[0], sensor_latitude_deg=None, corners_latlon_deg=None)
    records[1] = dataclasses.replace(records[1], sensor_latitude_deg=float("nan"), corners_latlon_deg=None)
    klv = tmp_path / "telemetry.klv"
    klv.write_bytes(b"".join(encode_st0601(r) for r in records))
    result = run_tracking_job(_job(clip, model_path, tmp_path / "out.gpkg", telemetry_path=str(klv), end_frame=3))
    assert result.status == d.JOB_SUCCESS, result.message
    assert result.frames_tracked == 4 and result.frames_without_camera == 2
    assert _frames_in(tmp_path / "out.gpkg") == [0, 1, 2, 3]
    assert _frames_in(tmp_path / "out.gpkg", with_geometry=True) == [2, 3]


def test_reported_corners_mode_counts_frames_without_corners_and_keeps_the_mode(clip, model_path, tmp_path):
    import dataclasses

    import geopandas as gpd

    from qgis_siammask.core.ingest.misb0601 import encode_st0601

    simulation, _, _ = clip
    records = list(simulation.telemetry)
    for index in (0, 1):  # position and attitude usable, no corners
        records[index] = dataclasses.replace(records[index], corners_latlon_deg=None)
    klv = tmp_path / "telemetry.klv"
    klv.write_bytes(b"".join(encode_st0601(r) for r in records))
    out = tmp_path / "out.gpkg"
    seen = []
    job = _job(clip, model_path, out, telemetry_path=str(klv), end_frame=3, georef=d.GEOREF_CORNERS)
    result = run_tracking_job(job, on_frame=seen.append)
    assert result.status == d.JOB_SUCCESS, result.message
    assert result.frames_tracked == 4 and result.frames_without_camera == 2
    assert "no reported corners" in seen[0].message and seen[2].message == ""
    footprints = gpd.read_file(out, layer=d.LAYER_FOOTPRINTS)
    assert set(footprints[d.FIELD_GEOREF]) == {d.GEOREF_CORNERS}
    assert sorted(footprints[~footprints.geometry.isna()][d.FIELD_FRAME]) == [2, 3]
    failed = run_tracking_job(_job(clip, model_path, tmp_path / "bad.gpkg", georef="tilted"))
    assert failed.status == d.JOB_FAILED and "unknown georeferencing 'tilted'" in failed.message


def test_video_without_telemetry_is_a_clear_error(clip, model_path, tmp_path):
    import shutil

    simulation, _, _ = clip
    frames = tmp_path / "frames"
    frames.mkdir()
    shutil.copy(simulation.texture_path, frames / "000.tif")
    result = run_tracking_job(_job(clip, model_path, tmp_path / "out.gpkg", video_path=str(frames)))
    assert result.status == d.JOB_FAILED and result.frames_tracked == 0
    assert "telemetry" in result.message and str(frames) in result.message


def test_oblique_clip_over_a_dem_written_in_utm(model_path, tmp_path):
    import geopandas as gpd

    from qgis_siammask.core.commands.demo import pick_vehicle, truth_lonlat
    from qgis_siammask.core.simulator import SimulationConfig, simulate

    simulation = simulate(SimulationConfig(out_dir=tmp_path / "clip", seed=9, frames=3, dem=True, oblique_deg=30))
    vehicle_id, box = pick_vehicle(simulation.frames[0]["vehicles"], simulation.config.width_px, simulation.config.height_px)
    job = TrackingJob(
        video_path=str(simulation.video_path),
        model_path=str(model_path),
        output_gpkg=str(tmp_path / "out.gpkg"),
        boxes_xywh=(box,),
        dem_path=str(simulation.dem_path),
        crs=simulation.crs,
        device="cpu",
    )
    result = run_tracking_job(job)
    assert result.status == d.JOB_SUCCESS, result.message
    points = gpd.read_file(job.output_gpkg, layer=d.LAYER_POINTS)
    assert points.crs.to_string() == simulation.crs
    first = points[points[d.FIELD_FRAME] == 0].geometry.iloc[0]
    truth = gpd.GeoSeries.from_xy(*zip(truth_lonlat(simulation.truth_path, vehicle_id)[0]), crs="EPSG:4326")
    assert first.distance(truth.to_crs(simulation.crs).iloc[0]) < 0.5  # metres, on relief, 30 degrees off nadir


def test_tracking_starts_at_the_start_frame(clip, model_path, tmp_path):
    simulation, _, _ = clip
    box = next(v["box_xywh"] for v in simulation.frames[3]["vehicles"] if v["box_xywh"] is not None)
    result = run_tracking_job(_job(clip, model_path, tmp_path / "out.gpkg", start_frame=3, boxes_xywh=(tuple(box),)))
    assert result.status == d.JOB_SUCCESS and result.frames_tracked == 2
    assert _frames_in(tmp_path / "out.gpkg") == [3, 4]


def test_killed_run_leaves_the_earlier_file_and_a_valid_partial_file_with_every_committed_frame(clip, model_path, tmp_path):
    import signal
    import subprocess
    import sys

    out = tmp_path / "out.gpkg"
    out.write_bytes(b"an earlier result")
    job = _job(clip, model_path, out)
    script = (
        "import sys\n"
        "from qgis_siammask.core.pipeline import TrackingJob, run_tracking_job\n"
        f"job = TrackingJob(**{job.__dict__!r})\n"
        "run_tracking_job(job, on_frame=lambda f: print(f.frame, flush=True))\n"
    )
    run = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    for line in run.stdout:
        if int(line) == 2:
            run.send_signal(signal.SIGKILL)
            break
    run.wait(timeout=60)
    assert run.returncode == -signal.SIGKILL
    assert out.read_bytes() == b"an earlier result"  # the output path only ever holds finished runs
    frames = _frames_in(tmp_path / "out.partial.gpkg")
    assert frames[:3] == [0, 1, 2] and frames == list(range(len(frames)))
