"""The telemetry read-out painted over the video frame: time, platform position and altitude, slant
range, the sensor's angles. Text only; the frame view paints it."""

from __future__ import annotations

import numpy as np

from .image_geometry import finite


def _number(value, spec: str, unit: str = "") -> str:
    return f"{value:{spec}}{unit}" if finite(value) else "–"


def slant_range_m(record, geometry) -> float | None:
    """The reported slant range, else the camera's distance to the ground at the image centre (None for
    a model without a sensor position, or a centre above the horizon)."""
    if record is not None and finite(record.slant_range_m):
        return float(record.slant_range_m)
    sensor = getattr(geometry, "sensor_ecef_m", None)
    if sensor is None:
        return None
    ground = geometry.pixels_to_ground(geometry.centre_pixel()[None])
    if not bool(ground.valid[0]):
        return None
    return float(np.linalg.norm(geometry.local_frame.enu_to_ecef(ground.enu_m[0]) - sensor))


def readout_lines(record, geometry, time_s: float) -> list[str]:
    """Lines of the read-out for the frame at `time_s` seconds into the clip (record and geometry may be
    None: a frame without telemetry or not placeable)."""
    clip_time = f"{int(time_s // 60):02d}:{time_s % 60:05.2f}"
    if record is None:
        return [f"T+{clip_time}", "no telemetry"]
    utc = record.time_utc.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z" if record.time_utc else "–"
    r = record
    return [
        f"{utc}  T+{clip_time}",
        f"PLT {_number(r.sensor_latitude_deg, '.6f')} {_number(r.sensor_longitude_deg, '.6f')}"
        f"  ALT {_number(r.sensor_altitude_m, '.1f', ' m')} {r.altitude_reference or ''}".rstrip(),
        f"SLANT {_number(slant_range_m(record, geometry), '.0f', ' m')}",
        f"AZ {_number(r.sensor_relative_azimuth_deg, '.1f', '°')}"
        f"  EL {_number(r.sensor_relative_elevation_deg, '.1f', '°')}"
        f"  ROLL {_number(r.sensor_relative_roll_deg, '.1f', '°')}",
    ]
