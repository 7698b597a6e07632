"""Output speed: tracks projected to ground features per second, frames written to GeoPackage per second.

A 1280x720 camera 300 m above flat ground, 30 degrees off nadir, tracking vehicle-sized masks
(an ellipse 80 x 40 px) and one large mask (400 x 300 px) to show how cost grows with outline length.
"""
from __future__ import annotations

import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from qgis_siammask.core.definitions import ALTITUDE_HAE
from qgis_siammask.core.geo.camera import CameraModel
from qgis_siammask.core.output.geometry import MotionEstimator, frame_features
from qgis_siammask.core.output.track_store import TrackStore
from qgis_siammask.core.records import TelemetryRecord, Track

WIDTH, HEIGHT = 1280, 720
START_UTC = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)


def _camera() -> CameraModel:
    record = TelemetryRecord(
        sensor_latitude_deg=41.14,
        sensor_longitude_deg=-104.82,
        sensor_altitude_m=2150.0,
        altitude_reference=ALTITUDE_HAE,
        platform_heading_deg=30.0,
        platform_pitch_deg=1.0,
        platform_roll_deg=-2.0,
        sensor_relative_azimuth_deg=0.0,
        sensor_relative_elevation_deg=-60.0,
        sensor_relative_roll_deg=0.0,
        horizontal_fov_deg=40.0,
        frame_center_elevation_m=1850.0,
    )
    return CameraModel.from_telemetry(record, WIDTH, HEIGHT)


def _tracks(count: int, frame: int, half_axes_px=(40, 20)) -> list[Track]:
    rows, cols = np.ogrid[0:HEIGHT, 0:WIDTH]
    tracks = []
    for k in range(count):
        cx, cy = 200 + 180 * k + 2 * frame % 400, 200 + 60 * k
        a, b = half_axes_px
        mask = ((cols - cx) / a) ** 2 + ((rows - cy) / b) ** 2 <= 1.0
        corners = np.array([[cx - a, cy - b], [cx + a, cy - b], [cx + a, cy + b], [cx - a, cy + b]], dtype=np.float64)
        tracks.append(Track(k, f"vehicle {k}", (cx - a, cy - b, 2 * a, 2 * b), corners, mask, 0.9))
    return tracks


def _project(camera, frames: int, count: int, half_axes_px) -> tuple[list, float]:
    inputs = [_tracks(count, f, half_axes_px) for f in range(frames)]
    motion = MotionEstimator()
    started = time.perf_counter()
    out = [
        frame_features(inputs[f], camera, f, START_UTC + timedelta(seconds=f / 25), motion=motion, time_s=f / 25)
        for f in range(frames)
    ]
    return out, time.perf_counter() - started


def main() -> None:
    camera = _camera()
    _project(camera, 2, 1, (40, 20))  # imports and caches out of the timings
    for label, count, half_axes in (("1 vehicle", 1, (40, 20)), ("5 vehicles", 5, (40, 20)), ("1 large mask", 1, (200, 150))):
        features, elapsed_s = _project(camera, 100, count, half_axes)
        total = sum(f.feature_count for f in features)
        print(
            f"project {label:>12}: {1000 * elapsed_s / len(features):6.2f} ms/frame, "
            f"{total / elapsed_s:8.0f} features/s ({total / len(features):.0f} features/frame)"
        )
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bench.gpkg"
            started = time.perf_counter()
            with TrackStore(path) as store:
                for _ in range(3):  # 300 frames: long enough for the line refreshes to matter
                    for frame in features:
                        store.write_frame(frame)
            elapsed_s = time.perf_counter() - started
            size_mb = path.stat().st_size / 1e6
        frames = 3 * len(features)
        print(
            f"write   {label:>12}: {frames / elapsed_s:6.0f} frames/s, {store.features_written / elapsed_s:8.0f} features/s "
            f"to GeoPackage (one transaction per frame, {size_mb:.1f} MB for {frames} frames)"
        )


if __name__ == "__main__":
    main()
