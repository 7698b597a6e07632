"""encode_st0601 writes packets that the decoder (and the standard's checksum) accept, value for value."""
from __future__ import annotations

import pytest

from qgis_siammask.core import definitions as d
from qgis_siammask.core.errors import TelemetryError
from qgis_siammask.core.ingest.misb0601 import checksum, decode_local_set, encode_st0601, record_from_values
from qgis_siammask.core.records import TelemetryRecord

RECORD = TelemetryRecord(
    source="simulator", timestamp_us=1_700_000_000_123_456,
    sensor_latitude_deg=46.5, sensor_longitude_deg=-7.25, sensor_altitude_m=1234.5,
    altitude_reference=d.ALTITUDE_HAE, platform_heading_deg=350.2, platform_pitch_deg=-35.0,
    platform_roll_deg=3.0, sensor_relative_azimuth_deg=-90.0, sensor_relative_elevation_deg=-60.0,
    sensor_relative_roll_deg=0.0, horizontal_fov_deg=20.0, vertical_fov_deg=11.25, slant_range_m=2000.0,
    target_width_m=350.0, frame_center_latitude_deg=46.51, frame_center_longitude_deg=-7.24,
    frame_center_elevation_m=400.0,
    corners_latlon_deg=((46.52, -7.25), (46.52, -7.23), (46.50, -7.23), (46.50, -7.25)),
)


def _decode(packet: bytes) -> dict:
    assert packet[:16] == d.UAS_LOCAL_SET_KEY
    length_bytes = packet[16] & 0x7F if packet[16] & 0x80 else 0
    value_start = 17 + length_bytes
    length = int.from_bytes(packet[17:value_start], "big") if length_bytes else packet[16]
    assert value_start + length == len(packet)
    assert packet[-4:-2] == b"\x01\x02"  # the checksum is the last item
    assert checksum(packet[:-2]) == int.from_bytes(packet[-2:], "big")
    return decode_local_set(packet, value_start)


def test_round_trip_within_the_standards_resolution():
    values = _decode(encode_st0601(RECORD))
    assert values[d.KLV_TAG_VERSION] == d.ST0601_VERSION_WRITTEN
    record = record_from_values(values)
    assert record.timestamp_us == RECORD.timestamp_us
    assert record.altitude_reference == d.ALTITUDE_HAE
    assert record.sensor_latitude_deg == pytest.approx(46.5, abs=1e-7)
    assert record.sensor_longitude_deg == pytest.approx(-7.25, abs=1e-7)
    assert record.sensor_altitude_m == pytest.approx(1234.5, abs=0.01)  # tag 104 (IMAPB), not 75's 0.3 m
    assert record.platform_heading_deg == pytest.approx(350.2, abs=0.006)
    assert record.platform_pitch_deg == pytest.approx(-35.0, abs=1e-6)  # beyond tag 6's +-20: tag 90
    assert d.KLV_TAG_PLATFORM_PITCH not in values
    assert values[d.KLV_TAG_PLATFORM_ROLL] == pytest.approx(3.0, abs=0.002)
    assert record.platform_roll_deg == pytest.approx(3.0, abs=1e-6)
    assert record.sensor_relative_azimuth_deg == pytest.approx(270.0, abs=1e-6)
    assert record.sensor_relative_elevation_deg == pytest.approx(-60.0, abs=1e-6)
    assert record.horizontal_fov_deg == pytest.approx(20.0, abs=0.003)
    assert record.vertical_fov_deg == pytest.approx(11.25, abs=0.003)
    assert record.slant_range_m == pytest.approx(2000.0, abs=0.01)
    assert record.target_width_m == pytest.approx(350.0, abs=0.2)
    assert record.frame_center_latitude_deg == pytest.approx(46.51, abs=1e-7)
    assert record.frame_center_elevation_m == pytest.approx(400.0, abs=0.31)
    for got, expected in zip(record.corners_latlon_deg, RECORD.corners_latlon_deg):
        assert got == pytest.approx(expected, abs=1e-7)


def test_msl_record_uses_msl_tags_and_small_attitude_uses_short_tags_too():
    record = TelemetryRecord(timestamp_us=5, sensor_altitude_m=500.0, altitude_reference=d.ALTITUDE_MSL,
                             platform_pitch_deg=-5.0, frame_center_elevation_m=20.0)
    values = _decode(encode_st0601(record))
    assert values[d.KLV_TAG_SENSOR_TRUE_ALTITUDE] == pytest.approx(500.0, abs=0.31)
    assert values[d.KLV_TAG_FRAME_CENTER_ELEVATION] == pytest.approx(20.0, abs=0.31)
    assert values[d.KLV_TAG_PLATFORM_PITCH] == pytest.approx(-5.0, abs=0.001)
    assert values[d.KLV_TAG_PLATFORM_PITCH_FULL] == pytest.approx(-5.0, abs=1e-7)
    assert d.KLV_TAG_SENSOR_LATITUDE not in values  # None fields are left out, never written as 0
    decoded = record_from_values(values)
    assert decoded.altitude_reference == d.ALTITUDE_MSL and decoded.sensor_latitude_deg is None


def test_time_stamp_is_required():
    with pytest.raises(TelemetryError, match="time stamp"):
        encode_st0601(TelemetryRecord(sensor_latitude_deg=1.0))


@pytest.mark.parametrize("length", [2, 3, 4])
def test_imapb_zero_is_exact_and_values_round_trip(length):
    from qgis_siammask.core.ingest.misb0601 import imapb_decode, imapb_encode

    low, high = -900.0, 40_000.0  # ST 1201's zero offset makes 0.0 an exact integer when low < 0
    assert imapb_decode(imapb_encode(0.0, low, high, length), low, high) == 0.0
    resolution = 2.0 ** (16 - (8 * length - 1))  # 2**ceil(log2(40900)) / 2**(8L-1)
    for value in (-900.0, -12.3, 1234.5, 39_999.0):
        assert imapb_decode(imapb_encode(value, low, high, length), low, high) == pytest.approx(value, abs=resolution)
    assert imapb_decode(b"\xc8" + bytes(length - 1), low, high) is None  # special value (top bit set)
