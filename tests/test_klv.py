"""KLV framing and MISB ST 0601 decoding on the real samples in ../shared/data/fmv."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from qgis_siammask.core import definitions as d
from qgis_siammask.core.errors import SiamMaskError, TelemetryError
from qgis_siammask.core.ingest.klv import KlvStats, read_klv_file, split_st0601
from qgis_siammask.core.ingest.klv_telemetry import demux_klv
from qgis_siammask.core.ingest.misb0601 import decode_local_set, record_from_values
from qgis_siammask.core.ingest.telemetry import open_telemetry

KLV = "data/fmv/klv"
TS = "data/fmv/ts/cheyenne_klv_synthetic_video.ts"


@pytest.fixture(scope="module")
def cheyenne_bytes(shared_dir) -> bytes:
    return (shared_dir / KLV / "klvdata_Cheyenne.bin").read_bytes()


def test_all_cheyenne_packets_valid_and_first_packet_decoded_by_the_standard(shared_dir):
    packets, stats = read_klv_file(shared_dir / KLV / "klvdata_Cheyenne.bin")
    assert (stats.packets, stats.valid, stats.bad_checksum, stats.skipped_bytes) == (407, 407, 0, 0)
    assert stats.tags_seen[d.KLV_TAG_SENSOR_LATITUDE] == 407
    first = packets[0][1]
    # Expected values from the raw bytes of packet 1 (read with xxd) and the ST 0601 formulas.
    assert first[2] == 0x0004CA14054FA654 == 1_348_087_244_105_300  # microseconds since 1970
    record = record_from_values(first)
    assert record.time_utc == datetime(2012, 9, 19, 20, 40, 44, 105_300, tzinfo=timezone.utc)
    assert record.sensor_latitude_deg == pytest.approx(0x3A84045D * 180 / (2**32 - 2), abs=1e-12)
    assert record.sensor_latitude_deg == pytest.approx(41.143846, abs=1e-6)
    assert record.sensor_longitude_deg == pytest.approx((0xB578B92F - 2**32) * 360 / (2**32 - 2), abs=1e-12)
    assert record.sensor_longitude_deg == pytest.approx(-104.805597, abs=1e-6)
    assert record.sensor_altitude_m == pytest.approx(0x315A * 19900 / 65535 - 900, abs=1e-9)
    assert record.sensor_altitude_m == pytest.approx(2936.37, abs=0.01)
    assert record.altitude_reference == d.ALTITUDE_MSL
    assert record.platform_heading_deg == pytest.approx(0x8F20 * 360 / 65535, abs=1e-9)
    assert record.platform_heading_deg == pytest.approx(201.2726, abs=1e-4)
    assert record.platform_pitch_deg == pytest.approx(0x1AC0 * 40 / 65534, abs=1e-9)
    assert record.platform_roll_deg == pytest.approx((0xF516 - 2**16) * 100 / 65534, abs=1e-9)
    assert record.horizontal_fov_deg == pytest.approx(0x1A87 * 180 / 65535, abs=1e-9)
    assert record.horizontal_fov_deg == pytest.approx(18.6523, abs=1e-4)
    assert record.vertical_fov_deg == pytest.approx(0x0EEC * 180 / 65535, abs=1e-9)
    assert record.vertical_fov_deg == pytest.approx(10.4921, abs=1e-4)
    assert record.frame_center_latitude_deg == pytest.approx(0x3A820040 * 180 / (2**32 - 2), abs=1e-12)
    assert record.frame_center_latitude_deg == pytest.approx(41.138308, abs=1e-6)
    assert record.frame_center_longitude_deg == pytest.approx((0xB57C6194 - 2**32) * 360 / (2**32 - 2))
    assert record.frame_center_longitude_deg == pytest.approx(-104.785504, abs=1e-6)
    assert record.frame_center_elevation_m == pytest.approx(0x2372 * 19900 / 65535 - 900, abs=1e-9)
    assert record.slant_range_m == pytest.approx(0x001B7A51 * 5e6 / (2**32 - 1), abs=1e-9)
    # offset corners (26-33) are added to the frame centre: corner 1 = centre + (0x0397, 0x0B1C) steps
    step = 0.15 / 65534
    assert record.corners_latlon_deg[0] == pytest.approx(
        (record.frame_center_latitude_deg + 0x0397 * step, record.frame_center_longitude_deg + 0x0B1C * step))
    assert first[d.KLV_TAG_MISSION_ID] == "ESRI_Metadata_Collect"
    assert isinstance(first[d.KLV_TAG_SECURITY_LOCAL_SET], bytes)  # nested set kept raw
    assert first[d.KLV_TAG_SECURITY_LOCAL_SET][:3] == b"\x01\x01\x01"


def test_realflight_out_of_range_corners_are_none(shared_dir):
    packets, stats = read_klv_file(shared_dir / KLV / "qgisfmv_realflight.bin")
    assert (stats.packets, stats.valid) == (19, 19)
    values = packets[0][1]
    raw = (shared_dir / KLV / "qgisfmv_realflight.bin").read_bytes()
    assert b"\x52\x04\x80\x00\x00\x00" in raw[:400]  # tag 82, 4 bytes, the error pattern
    assert values[82] is None and values[83] is None
    assert values[86] == pytest.approx(39.3437685, abs=1e-6)  # a valid corner beside them
    assert values[d.KLV_TAG_SENSOR_RELATIVE_ELEVATION] is None
    record = record_from_values(values)
    assert record.corners_latlon_deg is None  # never a corner made of error markers
    assert record.altitude_reference == d.ALTITUDE_HAE  # no tag 15 here: tag 75 and 78 (HAE)
    assert record.sensor_altitude_m == pytest.approx(values[75])
    assert record.platform_pitch_deg == pytest.approx(values[90])  # full-range tag 90
    assert isinstance(values[94], bytes) and values[65] == 11


def test_ts_klv_stream_found_and_every_packet_on_the_video_timeline(shared_dir):
    from qgis_siammask.core.ingest.video import VideoReader

    streams = demux_klv(shared_dir / TS)
    assert len(streams) == 1 and streams[0].stats.valid == streams[0].stats.packets == 96
    series = open_telemetry(shared_dir / TS)
    assert len(series) == 96 and series.source == d.SOURCE_KLV
    with VideoReader(shared_dir / TS) as video:
        duration = video.duration_s
    times = series.times_s
    assert times[0] == 0.0 and times[-1] < duration
    assert all(b > a for a, b in zip(times, times[1:]))
    # the sample's PTS were taken from tag 2: both clocks must agree to a 90 kHz tick
    stamps = [r.timestamp_us for r in series.records]
    for time_s, stamp in zip(times, stamps):
        assert time_s == pytest.approx((stamp - stamps[0]) / 1e6, abs=2 / 90000)
    # a frame between packets carries the last packet's values, its own time
    record = series.at(times[10] + 0.1)
    assert record.sensor_latitude_deg == series.records[10].sensor_latitude_deg
    assert record.timestamp_us == stamps[10] + 100_000
    assert series.at(-0.5).sensor_latitude_deg is None


def test_standard_example_with_wrong_checksum_is_reported(shared_dir):
    with pytest.raises(TelemetryError, match="DynamicConstantMISMMSPacketData.bin: .*1 with a bad checksum"):
        open_telemetry(shared_dir / KLV / "DynamicConstantMISMMSPacketData.bin")
    stats = KlvStats()
    data = (shared_dir / KLV / "DynamicConstantMISMMSPacketData.bin").read_bytes()
    packets, _ = split_st0601(data, stats)
    assert packets == [] and (stats.packets, stats.bad_checksum, stats.valid) == (1, 1, 0)
    packets, stats = read_klv_file(shared_dir / KLV / "DynamicOnlyMISMMSPacketData.bin")
    assert stats.valid == 1
    # the values printed in the standard's example table (ST 0601, dynamic-only packet)
    values = packets[0][1]
    expected = {5: 159.9744, 6: -0.4315251, 7: 3.405814, 13: 60.17682296, 14: 128.42675904, 15: 14190.72,
                16: 144.5713, 17: 152.6436, 18: 160.71921147, 19: -168.79232483, 21: 68590.983298,
                22: 722.8199, 23: -10.54238863, 24: 29.15789012, 25: 3216.037}
    for tag, value in expected.items():
        assert values[tag] == pytest.approx(value, abs=6e-4), tag  # the table rounds
    assert record_from_values(values).time_utc == datetime(2009, 1, 12, 22, 8, 22, tzinfo=timezone.utc)


def test_raw_files_with_cut_keys(shared_dir):
    for name, count in (("sitrec_day.klv", 6), ("sitrec_night.klv", 18)):
        packets, stats = read_klv_file(shared_dir / KLV / name)
        assert (stats.packets, stats.valid, stats.cut_key_bytes, stats.skipped_bytes) == (count, count, 5, 0)
        record = record_from_values(packets[0][1])
        assert record.corners_latlon_deg is None and record.sensor_latitude_deg is not None


def test_st0903_file_is_not_st0601(shared_dir):
    with pytest.raises(TelemetryError, match="jmisb_0903.bin: no MISB ST 0601"):
        read_klv_file(shared_dir / KLV / "jmisb_0903.bin")


# --- damaged input --------------------------------------------------------------------------------
def _packet_bounds(data: bytes) -> list[int]:
    starts, pos = [], 0
    while pos < len(data):
        starts.append(pos)
        pos += 16 + 2 + data[pos + 17]  # Cheyenne packets use the 0x81 long form
    return starts


def test_garbage_between_packets_is_skipped_and_counted(cheyenne_bytes):
    starts = _packet_bounds(cheyenne_bytes)
    garbage = b"\x00\xffNOT KLV\x06\x0e+4"  # even a partial key prefix
    damaged = cheyenne_bytes[: starts[3]] + garbage + cheyenne_bytes[starts[3]:]
    stats = KlvStats()
    packets, _ = split_st0601(damaged, stats)
    assert len(packets) == 407 and stats.skipped_bytes == len(garbage)


def test_corrupt_byte_costs_one_packet(cheyenne_bytes):
    starts = _packet_bounds(cheyenne_bytes)
    damaged = bytearray(cheyenne_bytes)
    damaged[starts[5] + 40] ^= 0xFF
    stats = KlvStats()
    packets, _ = split_st0601(bytes(damaged), stats)
    assert len(packets) == 406 and stats.bad_checksum == 1


def test_corrupt_length_resyncs_on_the_next_key(cheyenne_bytes):
    starts = _packet_bounds(cheyenne_bytes)
    damaged = bytearray(cheyenne_bytes)
    damaged[starts[5] + 16: starts[5] + 18] = b"\x84\xff"  # a 4-byte length field: past the end
    stats = KlvStats()
    packets, _ = split_st0601(bytes(damaged), stats)
    assert len(packets) == 406 and stats.truncated == 1


def test_truncated_file(tmp_path, cheyenne_bytes):
    path = tmp_path / "cut.bin"
    path.write_bytes(cheyenne_bytes[:-100])
    packets, stats = read_klv_file(path)
    assert len(packets) == 406 and stats.truncated == 1
    empty = tmp_path / "empty.klv"
    empty.write_bytes(b"")
    with pytest.raises(TelemetryError, match="empty.klv"):
        read_klv_file(empty)
    with pytest.raises(SiamMaskError, match="missing.klv"):
        read_klv_file(tmp_path / "missing.klv")


def test_key_bytes_inside_a_value_do_not_split_the_packet(cheyenne_bytes):
    from qgis_siammask.core.ingest.misb0601 import ber_length, checksum

    items = bytes([d.KLV_TAG_MISSION_ID, 16]) + d.UAS_LOCAL_SET_KEY + b"\x01\x02"  # ends with tag 1
    body = d.UAS_LOCAL_SET_KEY + ber_length(len(items) + 2) + items
    packet = body + checksum(body).to_bytes(2, "big")
    stats = KlvStats()
    packets, _ = split_st0601(packet + cheyenne_bytes[:500], stats)
    assert stats.skipped_bytes == 0 and stats.bad_checksum == 0 and stats.valid == 2
    assert packets[0][1][d.KLV_TAG_MISSION_ID].encode("latin-1") == d.UAS_LOCAL_SET_KEY


def test_item_running_past_the_packet_is_an_error_not_a_crash():
    with pytest.raises(TelemetryError, match="past the end"):
        decode_local_set(bytes([d.KLV_TAG_SENSOR_LATITUDE, 4, 0x10]))
