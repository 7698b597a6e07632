"""A run's video overlays read back from its GeoPackage (core/output/frame_reader.py), also while the
track store is appending to the file in another thread."""
from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from shapely.geometry import Polygon, box

from qgis_siammask.core import definitions as d
from qgis_siammask.core.errors import OutputError
from qgis_siammask.core.output.frame_reader import RunFrames, read_outlines
from qgis_siammask.core.output.track_store import TrackStore
from tests.test_track_store import synthetic_frame


def frame_with_outlines(frame: int):
    """synthetic_frame with pixel outlines: track k's box at x = frame + 100 k, its mask a triangle in it."""
    features = synthetic_frame(frame)
    tracks = tuple(
        replace(
            track,
            box_px=box(frame + 100 * track.track_id, 10, frame + 100 * track.track_id + 20, 40),
            mask_px=Polygon([(frame + 100 * track.track_id, 10), (frame + 20, 10), (frame, 40)])
            if track.track_id == 0
            else None,
        )
        for track in features.tracks
    )
    return replace(features, tracks=tracks)


def test_outlines_read_back_by_frame_range(tmp_path):
    path = tmp_path / "run.gpkg"
    with TrackStore(path) as store:
        for frame in range(10):
            store.write_frame(frame_with_outlines(frame))
    read = read_outlines(path, 3, 5)
    assert sorted(read) == [3, 4, 5]
    tracks = read[4].tracks
    assert [t.track_id for t in tracks] == [0, 1]
    assert tracks[1].box_px.bounds == (104.0, 10.0, 124.0, 40.0)
    assert tracks[0].mask_px.equals(frame_with_outlines(4).tracks[0].mask_px) and tracks[1].mask_px is None
    assert (tracks[0].label, tracks[0].status, tracks[0].score) == ("car0", d.STATUS_TRACKING, 0.9)
    assert read_outlines(path, 20, 30) == {}
    with pytest.raises(OutputError, match="missing"):
        read_outlines(tmp_path / "gone.gpkg", 0, 1)


def test_reader_while_the_store_appends_in_another_thread(tmp_path):
    """Every read succeeds and sees whole frames (both tracks), and no commit of the writer fails."""
    path = tmp_path / "run.partial.gpkg"
    store = TrackStore(path)
    store.write_frame(frame_with_outlines(0))
    errors, written = [], []

    def write():
        try:
            for frame in range(1, 300):
                store.write_frame(frame_with_outlines(frame))
                written.append(frame)
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)
        finally:
            store.close()

    writer = threading.Thread(target=write)
    writer.start()
    reads = 0
    while writer.is_alive() or reads < 3:
        newest = written[-1] if written else 0
        read = read_outlines(path, max(newest - 30, 0), newest)
        assert read and all(len(features.tracks) == 2 for features in read.values())
        assert newest in read
        reads += 1
    writer.join()
    assert not errors and len(written) == 299
    assert reads > 10 and len(read_outlines(path, 0, 299)) == 300


def test_run_frames_keep_a_bounded_window_and_read_the_rest(tmp_path):
    path = tmp_path / "run.gpkg"
    frames = RunFrames(capacity_frames=20, chunk_frames=10)
    frames.start_run(tmp_path / "run.partial.gpkg", path)
    with TrackStore(tmp_path / "run.partial.gpkg") as store:
        for frame in range(5, 100):
            features = frame_with_outlines(frame)
            store.write_frame(features)
            frames.add([features])
    (tmp_path / "run.partial.gpkg").rename(path)
    assert frames.frames_in_memory == 20  # the newest: 80-99
    old = frames.get(7)  # read back with its chunk 5-9 (the run starts at 5)
    assert old.tracks[0].box_px.bounds == (7.0, 10.0, 27.0, 40.0)
    assert frames.frames_in_memory == 20 and frames.get(4) is None and frames.get(100) is None
    frames.delete_track(0)
    assert [t.track_id for t in frames.get(50).tracks] == [1]
    frames.start_run(tmp_path / "later.gpkg")  # a later run: drawn over the first run's frames it tracked
    with TrackStore(tmp_path / "later.gpkg") as store:
        store.write_frame(frame_with_outlines(50))
    frames.add([frame_with_outlines(50)])
    assert [t.track_id for t in frames.get(50).tracks] == [0, 1] and frames.get(51).tracks[0].track_id == 1


def _pixel_tracks(frame: int) -> list:
    """Two tracks as the tracker gives them: track 1's mask a 12 x 8 px block moving right."""
    import numpy as np

    from qgis_siammask.core.records import Track

    mask = np.zeros((60, 200), bool)
    mask[20:28, frame : frame + 12] = True
    corners = np.array([[frame, 20], [frame + 12, 20], [frame + 12, 28], [frame, 28]], dtype=np.float64)
    return [
        Track(0, "car", (frame, 20, 12, 8), corners, None, 0.8),
        Track(1, "van", (frame, 20, 12, 8), corners + (0, 30), mask, 0.7, d.STATUS_LOST),
    ]


def test_a_pixel_run_is_read_back_from_its_json_lines_while_written(tmp_path):
    """Records as the pixel job writes them (the track command's JSON lines), the newest line half written."""
    import json

    from qgis_siammask.core.output.geometry import frame_features
    from qgis_siammask.core.output.jsonl_format import track_record

    partial, final = tmp_path / "run.partial.jsonl", tmp_path / "run.jsonl"
    frames = RunFrames(capacity_frames=5, chunk_frames=10)
    frames.start_run(partial, final, pixel_records=True)
    live = {}
    with open(partial, "w") as out:
        for frame in range(3, 40):
            tracks = _pixel_tracks(frame)
            out.writelines(json.dumps(track_record(frame, t)) + "\n" for t in tracks)
            live[frame] = frame_features(tracks, None, frame, None)
            frames.add([live[frame]])
        out.write(json.dumps(track_record(40, _pixel_tracks(40)[0]))[:30])  # being written
    read = frames.get(12)  # chunk 10-19, read from the partial file
    labelled = [(t.track_id, t.label, t.status) for t in read.tracks]
    assert labelled == [(0, "car", "tracking"), (1, "van", "lost")]
    assert read.tracks[1].mask_px.equals(live[12].tracks[1].mask_px) and read.tracks[0].mask_px is None
    assert read.tracks[0].box_px.equals(live[12].tracks[0].box_px) and read.tracks[1].score == 0.7
    assert frames.get(3).tracks[0].box_px.bounds == (3.0, 20.0, 15.0, 28.0)  # the run's first frame
    partial.rename(final)  # the run ended
    frames.set_run_file(final)
    assert frames.get(25).tracks[1].mask_px.equals(live[25].tracks[1].mask_px)
    assert frames.frames_in_memory == 5


def test_a_missing_run_file_is_said_once_per_chunk(tmp_path):
    frames = RunFrames(capacity_frames=4, chunk_frames=4)
    frames.start_run(tmp_path / "gone.gpkg")
    frames.add([frame_with_outlines(frame) for frame in range(12)])
    with pytest.raises(OutputError, match="gone.gpkg: the run's GeoPackage is missing"):
        frames.get(1)
    assert frames.get(2) is None  # the rest of its chunk: no overlay, no second error
