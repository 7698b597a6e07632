"""DJI SRT subtitle telemetry, every family seen in the wild, as a TelemetrySeries.

Families (all handled by the same field patterns, so mixed files work too):
  (a) old 1 Hz: `GPS(lon,lat,n) BAROMETER:h` or `Hb:h`, with `HOME(lon,lat)`: LONGITUDE FIRST;
  (b) `F/2.8, SS .., GPS (lon, lat, n), D 118.43m, H -1.50m, ...`, P4 RTK adding `F.PRY (p°, r°, y°)`
      (aircraft) and `G.PRY (p°, r°, y°)` (gimbal): longitude first too;
  (c) per frame `[latitude: ..] [longitude: ..]` (sometimes spelled `longtitude`), `[rel_alt: .. abs_alt: ..]`
      or `[altitude: ..]`, `[focal_len: ..]` in mm, or in tenths of a mm when written without decimals;
  (d) Matrice enterprise `GPS(lat,lon,altM) BAROMETER:hM`: a unit on the third value marks this
      LATITUDE-FIRST variant (0.0M means "no GPS altitude");
  (e) newer per-frame files adding `[gb_yaw: .. gb_pitch: .. gb_roll: ..]` (gimbal) and
      `[drone_yaw: .. drone_pitch: .. drone_roll: ..]` (aircraft), the same angles as G.PRY / F.PRY.
The third GPS value without a unit is not an altitude (it stays 15-21 while the height above take-off
changes by hundreds of metres): it is kept as `extra["gps_third_value"]`.

Altitude: an absolute one (abs_alt, altitude) is taken as MSL; otherwise the height above take-off
(rel_alt, H, BAROMETER, Hb) with `altitude_reference = definitions.ALTITUDE_TAKEOFF`. With both, the
take-off point's elevation (absolute - relative) becomes the frame-centre elevation: without a DEM the
ground is taken as flat at take-off level rather than at 0 m, which would put it hundreds of metres off
for a drone flown over high ground.
Attitude: F.PRY gives platform pitch/roll/heading; G.PRY (absolute gimbal angles) is turned into
sensor angles relative to the platform by composing rotations (`geo.gimbal`), so platform + relative
reproduce the gimbal's pointing exactly. Horizontal FOV from the focal length, read as 35 mm-equivalent
(36 mm wide).
Times: the cue start on the video timeline; cues without one are placed by their date, else 1 s apart.
DJI writes local time without a zone: `timestamp_us` treats it as UTC and `extra` says so.
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from pathlib import Path

from .. import definitions as d
from ..errors import InputFileError, TelemetryError
from ..geo.gimbal import relative_sensor_angles
from ..records import TelemetryRecord, plausible_timestamp_us
from .klv import KlvStats
from .series import TelemetrySeries

_CUE_SPLIT = re.compile(r"\n\s*\n")
_TIMECODE = re.compile(r"(\d+):(\d{2}):(\d{2})[,.](\d{1,3})\s*-->")
_DATE = re.compile(r"(\d{4})[-.](\d{1,2})[-.](\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d{1,3}))?(?:,(\d{3}))?")
_KEY_VALUE = re.compile(r"\b([A-Za-z_]+)\s*:\s*([-+]?\d+(?:\.\d+)?)")
_TUPLE = re.compile(r"\b(GPS|HOME|[FG]\.PRY)\s*\(([^)]*)\)")
_HEIGHT = re.compile(r"(?:^|[\s,])H\s+([-+]?\d+(?:\.\d+)?)\s*m\b")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
FULL_FRAME_WIDTH_MM = 36.0


def read_srt(path: str | Path) -> TelemetrySeries:
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as error:
        raise InputFileError("cannot read the SRT file", details=str(error), path=path) from error
    records, times_s, stats = parse_srt(text)
    if not records:
        raise TelemetryError("no DJI telemetry cue with a position in this SRT file", path=path)
    return TelemetrySeries(records, times_s, stats, d.SOURCE_SRT, path, interpolate=True, carry_forward=False)


def parse_srt(text: str) -> tuple[list[TelemetryRecord], list[float], KlvStats]:
    """Records and times (seconds) of every cue holding a position; `stats` counts cues and fields."""
    stats = KlvStats()
    records, cue_times, stamps = [], [], []
    for cue in _CUE_SPLIT.split(text.replace("\r\n", "\n").replace("\r", "\n").strip()):
        if not cue.strip():
            continue
        stats.packets += 1
        record = _parse_cue(cue)
        if record is None:
            continue
        stats.valid += 1
        stats.tags_seen.update(k for k, v in vars(record).items() if v is not None and k not in ("extra", "source"))
        timecode = _TIMECODE.search(cue)
        cue_times.append(_seconds(timecode) if timecode else None)
        stamps.append(record.timestamp_us)
        records.append(record)
    return records, _cue_times(cue_times, stamps), stats


def _seconds(match: re.Match) -> float:
    hours, minutes, seconds, millis = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds) + int(millis.ljust(3, "0")) / 1000


def _cue_times(cue_times: list, stamps: list) -> list[float]:
    if cue_times and all(t is not None for t in cue_times):
        return cue_times
    if stamps and all(s is not None for s in stamps):
        return [(s - stamps[0]) / 1e6 for s in stamps]
    return [float(i) for i in range(len(cue_times))]


def _parse_cue(cue: str) -> TelemetryRecord | None:
    values = {key.lower(): float(number) for key, number in _KEY_VALUE.findall(cue)}
    raw_values = {key.lower(): number for key, number in _KEY_VALUE.findall(cue)}
    tuples = {name: [float(n) for n in _NUMBER.findall(body)] for name, body in _TUPLE.findall(cue)}
    tuple_text = {name: body for name, body in _TUPLE.findall(cue)}
    extra: dict = {}
    latitude = values.get("latitude")
    longitude = values.get("longitude", values.get("longtitude"))
    altitude = _first(values, "abs_alt", "altitude")
    reference = d.ALTITUDE_MSL if altitude is not None else None
    gps = tuples.get("GPS")
    if gps is not None and len(gps) >= 2 and latitude is None:
        latitude, longitude = _gps_order(gps, tuple_text["GPS"], extra)
        if altitude is None and extra.get("gps_altitude_m"):
            altitude, reference = extra["gps_altitude_m"], d.ALTITUDE_MSL
    if latitude is None or longitude is None or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    home = tuples.get("HOME")
    if home is not None and len(home) >= 2:
        extra["home_longitude_deg"], extra["home_latitude_deg"] = home[0], home[1]
    height = _HEIGHT.search(cue)
    relative = _first(values, "rel_alt", "barometer", "hb")
    if relative is None and height is not None:
        relative = float(height.group(1))
    ground_elevation = None
    if relative is not None:
        extra["relative_altitude_m"] = relative
        if altitude is None:
            altitude, reference = relative, d.ALTITUDE_TAKEOFF
        else:
            ground_elevation = altitude - relative
    focal_length = _focal_length_mm(raw_values.get("focal_len"))
    heading = pitch = roll = None
    sensor = (None, None, None)
    aircraft = tuples.get("F.PRY") or _pitch_roll_yaw(values, "drone")
    gimbal = tuples.get("G.PRY") or _pitch_roll_yaw(values, "gb")
    if aircraft is not None and len(aircraft) >= 3:
        pitch, roll, heading = aircraft[0], aircraft[1], aircraft[2] % 360.0
    if gimbal is not None and len(gimbal) >= 3:
        extra["gimbal_pitch_deg"], extra["gimbal_roll_deg"], extra["gimbal_yaw_deg"] = gimbal[:3]
        if heading is None:  # no aircraft attitude: a level platform facing the gimbal's way
            heading, pitch, roll = gimbal[2] % 360.0, 0.0, 0.0
        sensor = relative_sensor_angles((heading, pitch, roll), (gimbal[2], gimbal[0], gimbal[1]))
    for key in ("iso", "shutter", "fnum", "ev", "ct", "dzoom", "framecnt", "srtcnt", "difftime"):
        if key in values:
            extra[key] = values[key]
    stamp = _DATE.search(cue)
    timestamp_us = _timestamp_us(stamp) if stamp else None
    if timestamp_us is not None:
        extra["time_zone"] = "as written by the drone (local time, read as UTC)"
    return TelemetryRecord(
        source=d.SOURCE_SRT, timestamp_us=timestamp_us,
        sensor_latitude_deg=latitude, sensor_longitude_deg=longitude,
        sensor_altitude_m=altitude, altitude_reference=reference, frame_center_elevation_m=ground_elevation,
        platform_heading_deg=heading, platform_pitch_deg=pitch, platform_roll_deg=roll,
        sensor_relative_azimuth_deg=sensor[0], sensor_relative_elevation_deg=sensor[1],
        sensor_relative_roll_deg=sensor[2],
        horizontal_fov_deg=(2 * math.degrees(math.atan(FULL_FRAME_WIDTH_MM / 2 / focal_length))
                            if focal_length else None),
        focal_length_mm=focal_length, extra=extra,
    )


def _pitch_roll_yaw(values: dict, prefix: str) -> list[float] | None:
    """[pitch, roll, yaw] from `<prefix>_pitch/_roll/_yaw` fields (the F.PRY / G.PRY order), if all present."""
    angles = [values.get(f"{prefix}_{name}") for name in ("pitch", "roll", "yaw")]
    return angles if all(a is not None for a in angles) else None


def _first(values: dict, *keys: str) -> float | None:
    for key in keys:
        if key in values:
            return values[key]
    return None


def _gps_order(gps: list[float], text: str, extra: dict) -> tuple[float, float]:
    """(latitude, longitude) of a GPS(...) tuple; see the module docstring for the two orders."""
    parts = text.split(",")
    latitude_first = len(parts) >= 3 and parts[2].strip().upper().endswith("M")
    if latitude_first:
        latitude, longitude = gps[0], gps[1]
        if len(gps) >= 3 and gps[2] != 0.0:
            extra["gps_altitude_m"] = gps[2]
    else:
        longitude, latitude = gps[0], gps[1]
        if len(gps) >= 3:
            extra["gps_third_value"] = gps[2]
    if abs(latitude) > 90 >= abs(longitude):  # impossible in the expected order: the other one
        latitude, longitude = longitude, latitude
    return latitude, longitude


def _focal_length_mm(text: str | None) -> float | None:
    """`24.00` is millimetres; `240` (no decimals, >= 100) is tenths of a millimetre."""
    if text is None:
        return None
    value = float(text)
    if value <= 0:
        return None
    return value / 10.0 if "." not in text and value >= 100 else value


def _timestamp_us(match: re.Match) -> int | None:
    year, month, day, hour, minute, second, millis, micros = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                          tzinfo=timezone.utc)
    except ValueError:
        return None
    fraction_us = int((millis or "0").ljust(3, "0")) * 1000 + int(micros or 0)
    return plausible_timestamp_us(int(moment.timestamp()) * 1_000_000 + fraction_us)
