"""VideoReader on the real TS sample, on MP4/AVI files written here with PyAV, and on image folders."""
from __future__ import annotations

import numpy as np
import pytest

from qgis_siammask.core.errors import InputFileError, SiamMaskError, VideoError
from qgis_siammask.core.ingest.video import VideoReader

TS_NAME = "data/fmv/ts/cheyenne_klv_synthetic_video.ts"


def _write_video(path, codec, frame_count=40, fps=10, size=(96, 64)):
    """Frames whose pixel (0, 0) encodes the frame number, so a test can tell which frame it got."""
    import av

    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"g": "8"}  # a key frame every 8 frames, so seeking really seeks
        stream.bit_rate = 4_000_000  # near-lossless, so the frame number survives in the pixels
        for index in range(frame_count):
            image = np.full((height, width, 3), 0, np.uint8)
            image[:, :, 1] = (index * 5) % 256
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def _green(frame) -> int:
    return int(np.median(frame.image[:, :, 1]))


def test_ts_frames_have_index_pts_time_and_bgr_pixels(shared_dir):
    with VideoReader(shared_dir / TS_NAME) as video:
        assert (video.width, video.height, video.fps) == (640, 360, 30.0)
        assert video.frame_count == 600
        assert video.duration_s == pytest.approx(20.0)
        frames = list(video)
        assert len(frames) == 600
        assert [f.index for f in frames] == list(range(600))
        assert frames[0].time_s == 0.0 and frames[0].pts == 6000  # timeline starts at the first PTS
        assert frames[-1].time_s == pytest.approx(599 / 30)
        assert frames[0].image.shape == (360, 640, 3) and frames[0].image.dtype == np.uint8
        # random access (MPEG-TS seeks land after the target; the reader must correct that)
        for index in (599, 37, 300, 301, 0, 451):
            frame = video.read(index)
            assert frame.index == index and frame.pts == frames[index].pts
            assert np.array_equal(frame.image, frames[index].image)
        assert video.read_at_time(10.01).index == 300
        assert video.read(600) is None


@pytest.mark.parametrize("suffix, codec", [(".mp4", "libx264"), (".avi", "mpeg4")])
def test_written_files_seek_by_frame_and_time(tmp_path, suffix, codec):
    path = tmp_path / f"clip{suffix}"
    _write_video(path, codec)
    with VideoReader(path) as video:
        assert (video.width, video.height) == (96, 64)
        assert video.fps == pytest.approx(10.0)
        greens = [_green(f) for f in video]
        assert len(greens) == 40
        assert greens == pytest.approx([i * 5 for i in range(40)], abs=3)
        for index in (33, 3, 17, 39):
            assert _green(video.read(index)) == pytest.approx(index * 5, abs=3)
        assert video.read_at_time(2.05).index == 20


def test_image_folder(tmp_path):
    import cv2

    for index in range(5):  # unpadded numbers: frame_2 must come before frame_10
        cv2.imwrite(str(tmp_path / f"frame_{index * 4 - 2 * (index > 2)}.png"), np.full((20, 30, 3), index * 10, np.uint8))
    (tmp_path / "notes.txt").write_text("not a frame")
    with VideoReader(tmp_path, folder_fps=5) as video:
        assert (video.width, video.height, video.frame_count, video.duration_s) == (30, 20, 5, 1.0)
        frames = list(video)
        assert [int(f.image[0, 0, 0]) for f in frames] == [0, 10, 20, 30, 40]
        assert frames[3].time_s == pytest.approx(0.6)
        assert video.read_at_time(0.45).index == 2


def test_bad_inputs_raise_project_errors(tmp_path):
    with pytest.raises(InputFileError, match="missing.ts"):
        VideoReader(tmp_path / "missing.ts")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x01garbage" * 100)
    with pytest.raises(SiamMaskError, match="garbage.mp4"):
        VideoReader(garbage)
    empty = tmp_path / "empty_folder"
    empty.mkdir()
    with pytest.raises(InputFileError, match="no images"):
        VideoReader(empty)
    import cv2

    cv2.imwrite(str(empty / "a.png"), np.zeros((4, 4, 3), np.uint8))
    with VideoReader(empty) as video, pytest.raises(VideoError, match="negative"):
        video.read(-1)


def test_truncated_video_reads_what_is_there(shared_dir, tmp_path):
    data = (shared_dir / TS_NAME).read_bytes()
    cut = tmp_path / "cut.ts"
    cut.write_bytes(data[: len(data) // 2])
    with VideoReader(cut) as video:
        frames = list(video)
    assert 100 < len(frames) < 600


def test_corrupt_ts_is_read_through(shared_dir, tmp_path):
    """2,000 random bytes overwritten: frames keep coming in order, KLV damage is counted, no crash."""
    import random

    from qgis_siammask.core.ingest.telemetry import open_telemetry

    data = bytearray((shared_dir / TS_NAME).read_bytes())
    rng = random.Random(3)
    for _ in range(2000):
        data[rng.randrange(len(data))] = rng.randrange(256)
    path = tmp_path / "corrupt.ts"
    path.write_bytes(bytes(data))
    with VideoReader(path) as video:
        indices = [frame.index for frame in video]
        assert video.corrupt_packets > 0
    assert len(indices) > 400 and indices[-1] <= 599
    assert all(b > a for a, b in zip(indices, indices[1:]))
    series = open_telemetry(path)
    assert series.stats.valid > 10 and series.stats.bad_checksum > 0
    assert series.stats.valid + series.stats.bad_checksum + series.stats.malformed == series.stats.packets
