"""A finished run corrected in its own GeoPackage: a track re-seated on a later frame keeps its id and
replaces its features from there, a target added mid-clip gets a new id, the `corrections` table records
both; a continuation that fails leaves the run's file byte-identical."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from qgis_siammask.core import definitions as d
from qgis_siammask.core.output.gpkg_format import MODE_CONTINUE
from qgis_siammask.core.pipeline import TrackingJob, run_tracking_job
from qgis_siammask.core.records import Correction

FRAMES = 10
RESEAT_FRAME = 5


@pytest.fixture(scope="module")
def model_path(request) -> Path:
    from qgis_siammask.core.commands.demo import DEFAULT_MODEL_DIR

    committed = sorted(DEFAULT_MODEL_DIR.glob("*.pt"))
    return committed[0] if committed else request.getfixturevalue("seeded_model_path")


@pytest.fixture(scope="module")
def run(tmp_path_factory, model_path):
    """A simulated clip with three vehicles, the two largest tracked over all frames: (simulation, boxes
    by vehicle id per frame, the run's GeoPackage)."""
    from qgis_siammask.core.simulator import SimulationConfig, simulate

    folder = tmp_path_factory.mktemp("continuation")
    simulation = simulate(SimulationConfig(out_dir=folder / "clip", seed=0, frames=FRAMES, width_px=480,
                                           height_px=270, vehicle_count=3, altitude_agl_m=80.0))
    boxes = [{v["vehicle_id"]: tuple(map(float, v["box_xywh"])) for v in f["vehicles"] if v["box_xywh"]}
             for f in simulation.frames]
    first = sorted(boxes[0], key=lambda vehicle: -boxes[0][vehicle][2] * boxes[0][vehicle][3])[:2]
    gpkg = folder / "run.gpkg"
    job = _job(simulation, model_path, gpkg, [boxes[0][v] for v in first], ("car", "van"))
    result = run_tracking_job(job)
    assert result.status == d.JOB_SUCCESS, result.message
    return simulation, boxes, first, gpkg


def _job(simulation, model_path, gpkg, boxes, labels, **overrides) -> TrackingJob:
    values = dict(video_path=str(simulation.video_path), model_path=str(model_path), output_gpkg=str(gpkg),
                  boxes_xywh=tuple(boxes), labels=labels, device="cpu")
    return TrackingJob(**{**values, **overrides})


def _rows(gpkg: Path, layer: str) -> list[dict]:
    from osgeo import ogr

    dataset = ogr.Open(str(gpkg))
    table = dataset.GetLayerByName(layer)
    rows = []
    for feature in table:
        row = feature.items()
        geometry = feature.GetGeometryRef()
        row["wkt"] = geometry.ExportToWkt() if geometry is not None else None
        rows.append(row)
    return rows


def _metres_from_truth(simulation, vehicle_id: int, point: dict) -> float:
    """Ground distance of a track point (EPSG:4326 WKT) from the vehicle's true centre in that frame."""
    from qgis_siammask.core.commands.demo import truth_lonlat
    from qgis_siammask.core.output.geometry import ground_distance_heading

    lon, lat = (float(v) for v in point["wkt"].strip("POINT ()").split())
    truth = truth_lonlat(simulation.truth_path, vehicle_id)[point[d.FIELD_FRAME]]
    return ground_distance_heading((lon, lat), truth)[0]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_reseat_then_add_continue_the_run_in_its_file(run, model_path, tmp_path):
    simulation, boxes, vehicles, original = run
    gpkg = tmp_path / "run.gpkg"
    shutil.copyfile(original, gpkg)
    before = _rows(gpkg, d.LAYER_POINTS)
    third = next(v for v in boxes[RESEAT_FRAME] if v not in vehicles)
    new_box = boxes[RESEAT_FRAME][third]  # track 1 had the first vehicle: the analyst moves it to another
    previous = (1.0, 2.0, 30.0, 40.0)
    reseat = _job(simulation, model_path, gpkg, [new_box, boxes[RESEAT_FRAME][vehicles[1]]], ("car", "van"),
                  start_frame=RESEAT_FRAME, output_mode=MODE_CONTINUE, track_ids=(1, 2),
                  corrections=(Correction(1, RESEAT_FRAME, d.CORRECTION_RESEAT, new_box, previous),))
    result = run_tracking_job(reseat)
    assert result.status == d.JOB_SUCCESS and result.gpkg_path == str(gpkg), result.message
    assert result.frames_tracked == FRAMES - RESEAT_FRAME

    points = _rows(gpkg, d.LAYER_POINTS)
    for track_id in (1, 2):
        frames = sorted(p[d.FIELD_FRAME] for p in points if p[d.FIELD_TRACK_ID] == track_id)
        assert frames == list(range(FRAMES)), (track_id, frames)  # once each: the later ones replaced
    assert {p[d.FIELD_TRACK_ID] for p in points} == {1, 2}
    key = lambda p: (p[d.FIELD_TRACK_ID], p[d.FIELD_FRAME])  # noqa: E731
    earlier = sorted((p for p in points if p[d.FIELD_FRAME] < RESEAT_FRAME), key=key)
    kept = sorted((p for p in before if p[d.FIELD_FRAME] < RESEAT_FRAME), key=key)
    assert [(key(p), p["wkt"], p[d.FIELD_SCORE]) for p in earlier] == [(key(p), p["wkt"], p[d.FIELD_SCORE])
                                                                       for p in kept]
    assert sorted(f[d.FIELD_FRAME] for f in _rows(gpkg, d.LAYER_FOOTPRINTS)) == list(range(FRAMES))
    outlines = sorted((o[d.FIELD_TRACK_ID], o[d.FIELD_FRAME]) for o in _rows(gpkg, d.LAYER_OUTLINES_PX))
    assert outlines == sorted(key(p) for p in points)  # the video overlays read back: once per frame too
    lines = {line[d.FIELD_TRACK_ID]: line for line in _rows(gpkg, d.LAYER_LINES)}
    assert set(lines) == {1, 2} and lines[1][d.FIELD_FIRST_FRAME] == 0 and lines[1][d.FIELD_LAST_FRAME] == 9
    assert lines[1][d.FIELD_POINT_COUNT] == sum(
        1 for p in points if p[d.FIELD_TRACK_ID] == 1 and p["wkt"] and p[d.FIELD_STATUS] != d.STATUS_LOST
    )
    track_1 = {p[d.FIELD_FRAME]: p for p in points if p[d.FIELD_TRACK_ID] == 1}
    assert _metres_from_truth(simulation, vehicles[0], track_1[RESEAT_FRAME - 1]) < 2.0
    assert _metres_from_truth(simulation, third, track_1[RESEAT_FRAME]) < 2.0  # on the new box from there
    assert _metres_from_truth(simulation, third, track_1[FRAMES - 1]) < 2.0
    (correction,) = _rows(gpkg, d.LAYER_CORRECTIONS)
    assert correction[d.FIELD_TRACK_ID] == 1 and correction[d.FIELD_FRAME] == RESEAT_FRAME
    assert correction[d.FIELD_CORRECTION_KIND] == d.CORRECTION_RESEAT and correction[d.FIELD_TIME_UTC]
    assert tuple(correction[name] for name in d.FIELDS_BOX_PX) == pytest.approx(new_box)
    assert tuple(correction[name] for name in d.FIELDS_PREVIOUS_BOX_PX) == previous

    # the first vehicle, untracked since the re-seat, added back on frame 7 as a new target
    add = _job(simulation, model_path, gpkg, [boxes[7][vehicles[0]], boxes[7][third]], ("truck", "car"),
               start_frame=7, output_mode=MODE_CONTINUE, track_ids=(3, 1),
               corrections=(Correction(3, 7, d.CORRECTION_ADD, boxes[7][vehicles[0]]),))
    assert run_tracking_job(add).status == d.JOB_SUCCESS
    points = _rows(gpkg, d.LAYER_POINTS)
    track_3 = sorted((p for p in points if p[d.FIELD_TRACK_ID] == 3), key=lambda p: p[d.FIELD_FRAME])
    assert [p[d.FIELD_FRAME] for p in track_3] == [7, 8, 9]
    assert _metres_from_truth(simulation, vehicles[0], track_3[0]) < 2.0
    assert sorted(p[d.FIELD_FRAME] for p in points if p[d.FIELD_TRACK_ID] == 1) == list(range(FRAMES))
    assert sorted(p[d.FIELD_FRAME] for p in points if p[d.FIELD_TRACK_ID] == 2) == list(range(FRAMES))
    corrections = _rows(gpkg, d.LAYER_CORRECTIONS)
    assert [(c[d.FIELD_TRACK_ID], c[d.FIELD_CORRECTION_KIND]) for c in corrections] == [
        (1, d.CORRECTION_RESEAT),
        (3, d.CORRECTION_ADD),
    ]
    assert all(corrections[1][name] is None for name in d.FIELDS_PREVIOUS_BOX_PX)
    assert len(_rows(gpkg, d.LAYER_FOOTPRINTS)) == FRAMES


def _fail_at_second_frame(features):
    if features.frame == RESEAT_FRAME + 1:
        raise RuntimeError("disk gone")


@pytest.mark.parametrize("failure", ["mid-run", "bad box", "id in use"])
def test_a_failed_continuation_leaves_the_run_file_byte_identical(run, model_path, tmp_path, failure):
    simulation, boxes, vehicles, original = run
    gpkg = tmp_path / "run.gpkg"
    shutil.copyfile(original, gpkg)
    digest = _sha256(gpkg)
    box = {"bad box": (900.0, 900.0, 10.0, 10.0)}.get(failure, boxes[RESEAT_FRAME][vehicles[0]])
    ids = (1, 1) if failure == "id in use" else (1, 2)
    job = _job(simulation, model_path, gpkg, [box, boxes[RESEAT_FRAME][vehicles[1]]], ("car", "van"),
               start_frame=RESEAT_FRAME, output_mode=MODE_CONTINUE, track_ids=ids,
               corrections=(Correction(1, RESEAT_FRAME, d.CORRECTION_RESEAT, box),))
    result = run_tracking_job(job, on_frame=_fail_at_second_frame)
    assert result.status == d.JOB_FAILED
    assert _sha256(gpkg) == digest  # the run's file as it was, byte for byte
    partial = tmp_path / "run.partial.gpkg"
    if failure == "mid-run":  # the frames committed (the callback runs after each commit) are kept
        assert result.frames_tracked == 2 and result.gpkg_path == str(partial)
        assert str(partial) in result.message
        assert len(_rows(partial, d.LAYER_CORRECTIONS)) == 1
    else:
        assert result.frames_tracked == 0 and not partial.exists(), result.message


def test_a_continuation_needs_the_run_file_and_ids(run, model_path, tmp_path):
    simulation, boxes, vehicles, _ = run
    box = boxes[RESEAT_FRAME][vehicles[0]]
    missing = _job(simulation, model_path, tmp_path / "none.gpkg", [box], ("car",), start_frame=RESEAT_FRAME,
                   output_mode=MODE_CONTINUE, track_ids=(1,))
    result = run_tracking_job(missing)
    assert result.status == d.JOB_FAILED
    assert "none.gpkg" in result.message and "continuation" in result.message
    assert not (tmp_path / "none.gpkg").exists()
