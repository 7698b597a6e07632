"""CSV telemetry: MISB-named columns (real sample), drone-log names with units, mapping override."""
from __future__ import annotations

import pytest

from qgis_siammask.core import definitions as d
from qgis_siammask.core.errors import TelemetryError
from qgis_siammask.core.ingest.csv_telemetry import match_columns, normalise_column, read_csv_telemetry
from qgis_siammask.core.ingest.telemetry import open_telemetry


def test_misb_named_columns(shared_dir):
    series = read_csv_telemetry(shared_dir / "data/fmv/klv/sitrec_misb2.csv")
    assert len(series) == 1 and series.source == d.SOURCE_CSV
    record = series.records[0]
    assert record.timestamp_us == 1_700_000_000_000_000  # the "UNIC Time Stamp" column (sic)
    assert record.sensor_latitude_deg == 12.12345678 and record.sensor_longitude_deg == 12.12345678
    assert (record.sensor_altitude_m, record.altitude_reference) == (9999.123456, d.ALTITUDE_MSL)
    assert record.platform_heading_deg == 123.4567891
    assert record.horizontal_fov_deg == 1.123456789
    assert record.sensor_relative_elevation_deg == -1.123456789
    assert record.frame_center_elevation_m == 123.1234567
    assert record.sensor_relative_roll_deg is None  # empty cell: missing, never 0


DRONE_LOG = """time(millisecond),datetime(utc),latitude,longitude,altitude(feet),compass_heading(degrees),pitch(degrees),roll(degrees),gimbal_heading(degrees),gimbal_pitch(degrees)
0,2019-07-13 10:20:31,47.1,8.5,328.084,90,0,0,90,-90
500,2019-07-13 10:20:31.5,47.2,8.6,656.168,100,0,0,100,-45
1000,2019-07-13 10:20:32,not a number,8.7,0,0,0,0,0,0
"""


def test_drone_log_names_units_and_gimbal(tmp_path):
    path = tmp_path / "flight.csv"
    path.write_text(DRONE_LOG)
    series = read_csv_telemetry(path)
    assert len(series) == 2 and series.stats.packets == 3  # the bad row is counted, not fatal
    assert list(series.times_s) == [0.0, 0.5]  # milliseconds
    first = series.records[0]
    assert first.sensor_altitude_m == pytest.approx(100.0, abs=1e-3)  # feet converted
    assert first.platform_heading_deg == 90
    assert first.sensor_relative_elevation_deg == pytest.approx(-90.0)
    assert series.records[1].sensor_relative_azimuth_deg == pytest.approx(0.0, abs=1e-9)
    assert series.records[1].sensor_relative_elevation_deg == pytest.approx(-45.0)
    assert first.time_utc.isoformat() == "2019-07-13T10:20:31+00:00"
    middle = series.at(0.25)
    assert middle.sensor_latitude_deg == pytest.approx(47.15)


def test_mapping_override(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("t,where_n,where_e,lat\n0,10.5,20.5,999\n1,10.6,20.6,999\n")
    with pytest.raises(TelemetryError, match="odd.csv"):
        read_csv_telemetry(path)  # 'lat' is matched but holds no valid latitude
    mapping = {"time_s": "t", "sensor_latitude_deg": "where_n", "sensor_longitude_deg": "where_e"}
    series = open_telemetry(tmp_path / "video.mp4", path, csv_mapping=mapping)
    assert [r.sensor_latitude_deg for r in series.records] == [10.5, 10.6]
    with pytest.raises(TelemetryError, match="not in the CSV header"):
        read_csv_telemetry(path, mapping={"sensor_latitude_deg": "nope"})
    with pytest.raises(TelemetryError, match="unknown telemetry field"):
        read_csv_telemetry(path, mapping={"latitude": "where_n"})


def test_column_names_normalised():
    assert normalise_column("Altitude (feet)") == ("altitude", "feet")
    assert normalise_column("Sensor Latitude") == ("sensorlatitude", "")
    columns = match_columns(["Lat", "LON", "height_above_takeoff(feet)"])
    assert columns["sensor_latitude_deg"][0] == 0 and columns["sensor_longitude_deg"][0] == 1
    assert columns["sensor_altitude_takeoff_m"] == (2, "feet")
