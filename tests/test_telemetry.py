"""Telemetry on the video timeline: KLV muxed with PyAV and read back in sync, PES splitting, sources."""
from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qgis_siammask.core import definitions as d
from qgis_siammask.core.errors import SiamMaskError, TelemetryError
from qgis_siammask.core.ingest.klv import read_klv_file
from qgis_siammask.core.ingest.klv_telemetry import _StreamKlv
from qgis_siammask.core.ingest.misb0601 import encode_st0601
from qgis_siammask.core.ingest.telemetry import open_telemetry
from qgis_siammask.core.ingest.video import VideoReader
from qgis_siammask.core.records import TelemetryRecord

T0_US = 1_700_000_000_000_000
TAG2_STEP_US = 50_000  # tag 2 runs at half speed: sync must follow the PTS (0.1 s per frame), not tag 2


def _write_ts_with_klv(path, frames=20, fps=10, klv_every=2, with_latitude=lambda i: 10.0 + i):
    """The recipe documented in video.py: libx264 video + a `klv` data stream, PTS at frame times."""
    import av

    with av.open(str(path), "w", format="mpegts") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        data = out.add_data_stream("klv")
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), index, np.uint8), format="bgr24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            out.mux(video.encode(frame))
            if index % klv_every == 0:
                record = TelemetryRecord(timestamp_us=T0_US + index * TAG2_STEP_US,
                                         sensor_latitude_deg=with_latitude(index),
                                         platform_heading_deg=5.0 if index == 0 else None)
                packet = av.Packet(encode_st0601(record))
                packet.stream, packet.time_base = data, Fraction(1, 90000)
                packet.pts = packet.dts = round(index / fps * 90000)
                out.mux(packet)
        out.mux(video.encode(None))


def test_muxed_klv_is_in_sync_with_frames(tmp_path):
    path = tmp_path / "sim.ts"
    _write_ts_with_klv(path)
    series = open_telemetry(path)
    assert series.source == d.SOURCE_KLV and series.stats.valid == 10
    np.testing.assert_allclose(series.times_s, np.arange(0, 2.0, 0.2))  # PTS, not tag 2
    with VideoReader(path) as video:
        for frame in video:
            record = series.at(frame.time_s)
            last_packet_frame = frame.index - frame.index % 2
            assert record.sensor_latitude_deg == pytest.approx(10.0 + last_packet_frame, abs=1e-6)
            # each frame its own time: the packet's stamp advanced by the frame's distance from it
            assert record.timestamp_us == T0_US + last_packet_frame * TAG2_STEP_US + (frame.index % 2) * 100_000
            assert record.platform_heading_deg == pytest.approx(5.0, abs=0.01)  # report-on-change carry


def test_packets_split_across_pes_keep_the_time_of_their_start(shared_dir):
    data = (shared_dir / "data/fmv/klv/klvdata_Cheyenne.bin").read_bytes()
    expected, _ = read_klv_file(shared_dir / "data/fmv/klv/klvdata_Cheyenne.bin")
    rng = random.Random(7)
    cuts = sorted(rng.sample(range(1, len(data)), 900))
    stream = _StreamKlv(0)
    for number, (start, stop) in enumerate(zip([0] + cuts, cuts + [len(data)])):
        stream.feed(data[start:stop], float(number))
    stream.finish()
    assert [values for _, values in stream.packets] == [values for _, values in expected]
    assert stream.stats.skipped_bytes == 0 and stream.stats.truncated == 0
    chunk_starts = [0] + cuts
    for (time_s, _), (offset, _) in zip(stream.packets, expected):
        assert chunk_starts[int(time_s)] <= offset < (cuts + [len(data)])[int(time_s)]


def test_raw_klv_is_placed_by_tag_2(shared_dir):
    series = open_telemetry(shared_dir / "data/fmv/klv/klvdata_Cheyenne.bin")
    stamps = np.array([r.timestamp_us for r in series.records])
    np.testing.assert_allclose(series.times_s, (stamps - stamps[0]) / 1e6)
    assert 84 < series.times_s[-1] < 86


def test_out_of_range_values_do_not_erase_the_last_valid_one(shared_dir):
    series = open_telemetry(shared_dir / "data/fmv/klv/qgisfmv_realflight.bin")
    raw_first = series.records[0]
    assert raw_first.frame_center_latitude_deg is None  # error marker in the first packet, nothing before
    assert "corner_latitude_1" not in raw_first.extra  # error markers never enter extra
    assert raw_first.extra["corner_latitude_3"] == pytest.approx(39.3437685, abs=1e-6)
    for record in series.records:
        assert record.sensor_latitude_deg is not None


def test_explicit_telemetry_file_wins(shared_dir):
    ts = shared_dir / "data/fmv/ts/cheyenne_klv_synthetic_video.ts"
    srt = shared_dir / "data/fmv/srt/juanirache_p4p_sample.SRT"
    assert open_telemetry(ts, srt).source == d.SOURCE_SRT
    with pytest.raises(SiamMaskError, match="nothing.srt"):
        open_telemetry(ts, shared_dir / "nothing.srt")


def test_video_without_klv_and_without_sidecar(tmp_path):
    path = tmp_path / "plain.mp4"
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=5)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for _ in range(3):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="bgr24")))
        out.mux(stream.encode(None))
    with pytest.raises(TelemetryError, match="plain.mp4: no telemetry"):
        open_telemetry(path)



def test_one_reader_table_picks_the_reader_by_suffix(tmp_path, monkeypatch, shared_dir):
    """READERS is the only place a suffix is tied to a reader: the explicit file and a video path that is
    itself a telemetry file both follow a row added to it."""
    from qgis_siammask.core.ingest import telemetry
    from qgis_siammask.core.ingest.klv_telemetry import klv_series_from_file

    assert telemetry.TELEMETRY_SUFFIXES == (".srt", ".csv", ".klv", ".bin")
    raw = shared_dir / "data/fmv/klv/klvdata_Cheyenne.bin"
    copy = tmp_path / "flight.klv2"
    copy.write_bytes(raw.read_bytes())
    monkeypatch.setitem(telemetry.READERS, ".klv2", lambda path, _csv_mapping: klv_series_from_file(path))
    for series in (telemetry.open_telemetry_file(copy), telemetry.open_telemetry(copy),
                   telemetry.open_telemetry(tmp_path / "video.ts", copy)):
        assert series.source == d.SOURCE_KLV and len(series) > 0 and series.path == copy


@pytest.mark.parametrize("suffix", [".srt", ".csv", ".klv", ".bin"])
@pytest.mark.parametrize("content", [b"", bytes(range(256)) * 20, b"1\n00:00:00,000 --> 00:00:01,000\nno data\n"])
def test_bad_telemetry_files_name_the_file(tmp_path, suffix, content):
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(content)
    with pytest.raises(TelemetryError, match=f"bad{suffix}"):
        open_telemetry(tmp_path / "video.ts", path)


def test_nothing_found(tmp_path):
    with pytest.raises(TelemetryError, match="video.ts: no telemetry"):
        open_telemetry(tmp_path / "video.ts")


@settings(max_examples=400, deadline=500, derandomize=True)
@given(text=st.text(alphabet=st.sampled_from(list("0123456789-.,:()[]° \nGPSHOMElatitudeFPRYMm")), max_size=300))
def test_random_text_never_escapes_as_a_foreign_exception(tmp_path_factory, text):
    from qgis_siammask.core.ingest.srt import parse_srt

    parse_srt(text)
    path = tmp_path_factory.mktemp("csv") / "random.csv"
    path.write_text("latitude,longitude,time\n" + text)
    try:
        open_telemetry(path)
    except TelemetryError:
        pass
