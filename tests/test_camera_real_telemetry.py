"""Every record of every real telemetry sample gives a camera or a clear ProjectionError, never a crash."""
from __future__ import annotations

import numpy as np

from qgis_siammask.core.definitions import CAMERA_FLAG_GEOID_UNKNOWN
from qgis_siammask.core.errors import ProjectionError, SiamMaskError
from qgis_siammask.core.geo import camera as camera_module
from qgis_siammask.core.geo.camera import CameraModel


def test_all_shared_telemetry_records_project_or_fail_cleanly(shared_dir):
    from qgis_siammask.core.ingest.telemetry import open_telemetry_file

    paths = sorted(p for folder in ("klv", "srt") for p in (shared_dir / "data" / "fmv" / folder).iterdir()
                   if p.suffix.lower() in (".bin", ".klv", ".srt", ".csv"))
    cameras = refused = 0
    for path in paths:
        try:
            records = open_telemetry_file(path).records
        except SiamMaskError:
            continue  # not ST 0601 / unparseable: the ingest tests cover these
        for record in records:
            try:
                camera = CameraModel.from_telemetry(record, 1280, 720)
            except ProjectionError as error:
                assert error.user_message
                refused += 1
                continue
            corners = camera.footprint()
            assert np.all(np.isfinite(corners.lonlat_deg[corners.valid]))
            assert np.all(np.isnan(corners.lonlat_deg[~corners.valid]))
            cameras += 1
    assert cameras >= 430 and refused > 0  # Cheyenne and sitrec project; DJI files without FOV or angles refuse


def test_msl_without_a_geoid_grid_is_flagged(monkeypatch):
    from qgis_siammask.core.records import TelemetryRecord

    record = TelemetryRecord(
        sensor_latitude_deg=41.1, sensor_longitude_deg=-104.8, sensor_altitude_m=2900.0, altitude_reference="MSL",
        platform_heading_deg=10.0, sensor_relative_azimuth_deg=0.0, sensor_relative_elevation_deg=-60.0,
        horizontal_fov_deg=10.0, vertical_fov_deg=6.0, frame_center_elevation_m=1850.0,
    )
    with_geoid = CameraModel.from_telemetry(record, 640, 360)
    monkeypatch.setattr(camera_module, "geoid_separation_m", lambda lat, lon: None)
    without = CameraModel.from_telemetry(record, 640, 360)
    assert CAMERA_FLAG_GEOID_UNKNOWN in without.flags and CAMERA_FLAG_GEOID_UNKNOWN not in with_geoid.flags
    assert without.sensor_height_m == 2900.0
    # Sensor and ground shift together, so the footprint barely moves (the Earth's radius changes by N).
    shift = np.abs(with_geoid.footprint().lonlat_deg - without.footprint().lonlat_deg).max() * 111_000
    assert shift < 0.05
