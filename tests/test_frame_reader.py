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
    frames.start_run()  # a run without a file (pixel run): all its frames kept, drawn over the first run's
    frames.add([frame_with_outlines(50)])
    assert [t.track_id for t in frames.get(50).tracks] == [0, 1] and frames.get(51).tracks[0].track_id == 1


def test_a_missing_run_file_is_said_once_per_chunk(tmp_path):
    frames = RunFrames(capacity_frames=4, chunk_frames=4)
    frames.start_run(tmp_path / "gone.gpkg")
    frames.add([frame_with_outlines(frame) for frame in range(12)])
    with pytest.raises(OutputError, match="gone.gpkg: the run's GeoPackage is missing"):
        frames.get(1)
    assert frames.get(2) is None  # the rest of its chunk: no overlay, no second error
