"""DJI SRT families in ../shared/data/fmv/srt: positions with the right order and sign, times, attitude."""
from __future__ import annotations

import numpy as np
import pytest

from qgis_siammask.core import definitions as d
from qgis_siammask.core.geo.gimbal import relative_sensor_angles, zyx_rotation
from qgis_siammask.core.ingest.srt import read_srt
from qgis_siammask.core.ingest.telemetry import open_telemetry

SRT = "data/fmv/srt"

# (file, cues with a position, first latitude, first longitude): hemispheres checked by place:
# Queensland (S, E), Barcelona (N, E), Cadiz (N, W), Buenos Aires (S, W), Washington/California (N, W).
FAMILIES = [
    ("juanirache_old_format.SRT", 468, -20.2533, 149.0251),  # (a) GPS(lon,lat,n) Hb:
    ("juanirache_mavic_pro.SRT", 468, -20.2533, 149.0251),  # (a) HOME(lon,lat) GPS(lon,lat,n) BAROMETER:
    ("juanirache_mavic_2_style.SRT", 468, -20.2533, 149.0251),  # (c) longtitude spelling, no timecodes
    ("juanirache_p4p_sample.SRT", 5, 47.4692, 8.2090),  # (b) GPS (lon, lat, n)
    ("juanirache_mavic_mini.SRT", 117, 48.0771, -121.7458),
    ("sitrec_folsomlake_DJI_0031.srt", 39, 38.7225, -121.1689),
    ("juanirache_p4_rtk.SRT", 55, -34.237922, -58.851745),  # (d) F.PRY / G.PRY
    ("juanirache_MAVIC3_head60k.srt", 207, 3.41531, -3.37440),  # (c) [latitude] [longitude] per frame
    ("juanirache_air2s.srt", 17, 41.424724, 2.234156),
    ("juanirache_mavic_air2.srt", 25, 41.420684, 2.162162),
    ("juanirache_matrice_300.srt", 381, 36.6146, -6.1120),  # GPS(lat,lon,altM): latitude first
    ("juanirache_mix_p4rtk_mavic2pro.srt", 12, -34.650200, -59.409424),
]


@pytest.mark.parametrize("name, count, latitude, longitude", FAMILIES)
def test_each_family_parses_to_positions(shared_dir, name, count, latitude, longitude):
    series = read_srt(shared_dir / SRT / name)
    assert len(series) == count and series.source == d.SOURCE_SRT
    first = series.records[0]
    assert first.sensor_latitude_deg == pytest.approx(latitude, abs=1e-9)
    assert first.sensor_longitude_deg == pytest.approx(longitude, abs=1e-9)
    assert np.all(np.diff(series.times_s) >= 0)  # mavic_2_style repeats some dates


def test_old_format_details(shared_dir):
    series = read_srt(shared_dir / SRT / "juanirache_old_format.SRT")
    first = series.records[0]
    assert series.times_s[0] == 1.0  # the cue starts at 00:00:01,000
    assert (first.sensor_altitude_m, first.altitude_reference) == (1.9, d.ALTITUDE_TAKEOFF)  # Hb
    assert first.extra["home_latitude_deg"] == -20.2532 and first.extra["home_longitude_deg"] == 149.0251
    assert first.extra["gps_third_value"] == 16
    assert first.time_utc.isoformat() == "2017-08-05T14:11:51+00:00"


def test_no_timecodes_placed_by_date(shared_dir):
    series = read_srt(shared_dir / SRT / "juanirache_mavic_2_style.SRT")
    assert list(series.times_s[:3]) == [0.0, 1.0, 2.0]


def test_per_frame_family_altitudes_focal_length_and_time(shared_dir):
    mavic3 = read_srt(shared_dir / SRT / "juanirache_MAVIC3_head60k.srt").records[0]
    assert (mavic3.sensor_altitude_m, mavic3.altitude_reference) == (0.401, d.ALTITUDE_MSL)  # abs_alt
    assert mavic3.extra["relative_altitude_m"] == -2.4  # rel_alt
    assert mavic3.frame_center_elevation_m == pytest.approx(2.801)  # take-off level: abs_alt - rel_alt
    assert mavic3.focal_length_mm == 24.0  # "24.00": millimetres
    assert mavic3.horizontal_fov_deg == pytest.approx(73.74, abs=0.01)  # 35 mm-equivalent 24 mm
    air2s = read_srt(shared_dir / SRT / "juanirache_air2s.srt")
    assert air2s.records[0].focal_length_mm == 24.0  # "240": tenths of a millimetre
    assert air2s.records[0].timestamp_us % 1_000_000 == 774_808  # 13:40:40,774,808
    assert air2s.times_s[1] == pytest.approx(0.033)
    matrice = read_srt(shared_dir / SRT / "juanirache_matrice_300.srt").records[0]
    assert matrice.altitude_reference == d.ALTITUDE_TAKEOFF  # GPS altitude 0.0M means none
    assert matrice.frame_center_elevation_m is None  # heights are above take-off: the ground is at 0
    assert "gps_altitude_m" not in matrice.extra


def test_p4_rtk_attitude(shared_dir):
    record = read_srt(shared_dir / SRT / "juanirache_p4_rtk.SRT").records[0]
    # F.PRY (2.7, -7.0, 110.1): aircraft pitch, roll, yaw; G.PRY (-24.4, 0.0, 110.4): gimbal
    assert (record.platform_pitch_deg, record.platform_roll_deg, record.platform_heading_deg) == (2.7, -7.0, 110.1)
    assert record.extra["gimbal_pitch_deg"] == -24.4
    platform = zyx_rotation(110.1, 2.7, -7.0)
    relative = zyx_rotation(record.sensor_relative_azimuth_deg, record.sensor_relative_elevation_deg,
                         record.sensor_relative_roll_deg)
    np.testing.assert_allclose(platform @ relative, zyx_rotation(110.4, -24.4, 0.0), atol=1e-12)
    assert record.sensor_relative_elevation_deg == pytest.approx(-24.4 - 2.7, abs=1.5)


def test_level_platform_relative_angles_are_the_gimbals():
    azimuth, elevation, roll = relative_sensor_angles((30.0, 0.0, 0.0), (100.0, -60.0, 0.0))
    assert (azimuth, elevation) == pytest.approx((70.0, -60.0))
    assert roll == pytest.approx(0.0, abs=1e-9)


def test_interpolated_to_frame_times(shared_dir):
    series = read_srt(shared_dir / SRT / "juanirache_p4_rtk.SRT")
    a, b = series.records[1], series.records[2]
    middle = series.at(1.5)
    assert middle.sensor_latitude_deg == pytest.approx((a.sensor_latitude_deg + b.sensor_latitude_deg) / 2)
    assert middle.platform_heading_deg == pytest.approx((a.platform_heading_deg + b.platform_heading_deg) / 2)
    assert series.at(-1.0).sensor_latitude_deg is None
    assert series.at(1e6).sensor_latitude_deg == series.records[-1].sensor_latitude_deg


def test_heading_interpolates_the_short_way_round():
    from qgis_siammask.core.ingest.klv import KlvStats
    from qgis_siammask.core.ingest.series import TelemetrySeries
    from qgis_siammask.core.records import TelemetryRecord

    records = [TelemetryRecord(platform_heading_deg=350.0), TelemetryRecord(platform_heading_deg=10.0)]
    series = TelemetrySeries(records, [0.0, 1.0], KlvStats(), d.SOURCE_SRT, "x.srt", interpolate=True)
    assert series.at(0.75).platform_heading_deg == pytest.approx(5.0)


def test_sidecar_found_beside_a_video(shared_dir, tmp_path):
    import shutil

    video = tmp_path / "clip.mp4"
    video.write_bytes(b"")  # no video: the sidecar must still be found
    shutil.copy(shared_dir / SRT / "juanirache_p4p_sample.SRT", tmp_path / "clip.SRT")
    assert open_telemetry(video).source == d.SOURCE_SRT


def test_gimbal_fields_and_take_off_level_make_a_usable_camera(tmp_path):
    """Newer per-frame files name the gimbal and aircraft angles; flown 100 m above a take-off point at
    1500 m, a nadir frame must see the ground 100 m below, not 1600 m below (flat at 0 m)."""
    from qgis_siammask.core.geo.camera import CameraModel

    cue = ("1\n00:00:00,000 --> 00:00:00,033\n<font size=\"28\">FrameCnt: 1, DiffTime: 33ms\n"
           "2024-05-01 10:00:00.000\n[focal_len: 24.00] [latitude: 46.500000] [longitude: 7.900000] "
           "[rel_alt: 100.000 abs_alt: 1600.000] [gb_yaw: 30.0 gb_pitch: -90.0 gb_roll: 0.0] "
           "[drone_yaw: 30.0 drone_pitch: 0.0 drone_roll: 0.0] </font>\n")
    path = tmp_path / "DJI_0001.SRT"
    path.write_text(cue)
    record = read_srt(path).records[0]
    assert record.extra["gimbal_pitch_deg"] == -90.0 and record.platform_heading_deg == 30.0
    assert record.frame_center_elevation_m == 1500.0
    camera = CameraModel.from_telemetry(record, 1920, 1080)
    ground = camera.pixels_to_ground(np.array([[960.0, 540.0], [0.0, 540.0]]))
    assert ground.valid.all()
    half_width_m = np.hypot(*(ground.enu_m[1, :2] - ground.enu_m[0, :2]))
    assert half_width_m == pytest.approx(100.0 * np.tan(np.radians(record.horizontal_fov_deg / 2)), rel=0.01)
