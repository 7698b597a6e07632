"""CSV telemetry: columns matched to TelemetryRecord fields by name, or by an explicit mapping.

Names are compared after lower-casing and dropping everything but letters and digits, with any
parenthesised unit taken off first: "Sensor Latitude", "sensor_latitude", "latitude" and "lat" all
match the sensor latitude; "altitude(feet)" matches the altitude and is converted from feet. Both MISB
ST 0601 names (as exported by MISB tools) and common drone-log names (Litchi, AirData, DJI flight
logs) are known. A mapping `{field name: column name}` overrides the guesses, field names being
TelemetryRecord's plus "time_s" (seconds on the video timeline) and "timestamp" (absolute time).

Times: a relative time column (seconds, or milliseconds when its unit says so) places rows on the
video timeline; otherwise an absolute time stamp (Unix seconds / ms / us, or ISO text), the first row
at 0 s; otherwise one row per second.
"""
from __future__ import annotations

import csv
import re
from datetime import datetime, timezone
from pathlib import Path

from .. import definitions as d
from ..errors import InputFileError, TelemetryError
from ..geo.gimbal import relative_sensor_angles
from ..records import TelemetryRecord, plausible_timestamp_us
from .klv import KlvStats
from .series import TelemetrySeries

FEET_TO_M = 0.3048
# field -> known column names, normalised (see `normalise_column`), most specific first
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "time_s": ("times", "time", "seconds", "videotime", "elapsedtime", "offset", "dpts", "pts"),
    "timestamp": ("precisiontimestamp", "unixtimestamp", "unictimestamp", "timestamp", "datetimeutc",
                  "datetime", "gpstime", "utctime"),
    "sensor_latitude_deg": ("sensorlatitude", "latitude", "lat", "gpslatitude", "platformlatitude"),
    "sensor_longitude_deg": ("sensorlongitude", "longitude", "lon", "lng", "long", "gpslongitude",
                             "platformlongitude"),
    "sensor_altitude_msl_m": ("sensortruealtitude", "altitudemsl", "altitudeabovesealevel", "altitude",
                              "alt", "gpsaltitude", "absalt"),
    "sensor_altitude_hae_m": ("sensorellipsoidheight", "sensorellipsoidheightextended", "ellipsoidheight",
                              "altitudehae", "heightaboveellipsoid"),
    "sensor_altitude_takeoff_m": ("heightabovetakeoff", "relativealtitude", "relalt", "height"),
    "platform_heading_deg": ("platformheadingangle", "platformheading", "heading", "compassheading", "yaw"),
    "platform_pitch_deg": ("platformpitchangle", "platformpitchanglefull", "platformpitch", "pitch"),
    "platform_roll_deg": ("platformrollangle", "platformrollanglefull", "platformroll", "roll"),
    "sensor_relative_azimuth_deg": ("sensorrelativeazimuthangle", "sensorrelativeazimuth"),
    "sensor_relative_elevation_deg": ("sensorrelativeelevationangle", "sensorrelativeelevation"),
    "sensor_relative_roll_deg": ("sensorrelativerollangle", "sensorrelativeroll"),
    "gimbal_heading_deg": ("gimbalheading", "gimbalyaw"),
    "gimbal_pitch_deg": ("gimbalpitch",),
    "gimbal_roll_deg": ("gimbalroll",),
    "horizontal_fov_deg": ("sensorhorizontalfieldofview", "sensorhorizontalfov", "horizontalfov", "hfov"),
    "vertical_fov_deg": ("sensorverticalfieldofview", "sensorverticalfov", "verticalfov", "vfov"),
    "slant_range_m": ("slantrange",),
    "target_width_m": ("targetwidth",),
    "frame_center_latitude_deg": ("framecenterlatitude", "framecentrelatitude"),
    "frame_center_longitude_deg": ("framecenterlongitude", "framecentrelongitude"),
    "frame_center_elevation_m": ("framecenterelevation", "framecentreelevation"),
    "focal_length_mm": ("focallength", "focallen"),
}
_FIELDS_IN_RECORD = {f for f in COLUMN_NAMES if f in TelemetryRecord.__dataclass_fields__}
_LENGTH_FIELDS = {"sensor_altitude_msl_m", "sensor_altitude_hae_m", "sensor_altitude_takeoff_m",
                  "slant_range_m", "target_width_m", "frame_center_elevation_m"}
_ALTITUDE_COLUMNS = ((d.ALTITUDE_MSL, "sensor_altitude_msl_m"), (d.ALTITUDE_HAE, "sensor_altitude_hae_m"),
                     (d.ALTITUDE_TAKEOFF, "sensor_altitude_takeoff_m"))
_UNIT = re.compile(r"\(([^)]*)\)|\[([^\]]*)\]")


def normalise_column(name: str) -> tuple[str, str]:
    """(normalised name, unit) for a header: 'Altitude (feet)' -> ('altitude', 'feet')."""
    units = " ".join(a or b for a, b in _UNIT.findall(name)).lower()
    bare = _UNIT.sub("", name).lower()
    return re.sub(r"[^a-z0-9]", "", bare), units


def match_columns(header: list[str], mapping: dict | None = None) -> dict[str, tuple[int, str]]:
    """field -> (column index, unit) for every field found in `header`; `mapping` wins over names."""
    normalised = [normalise_column(h) for h in header]
    matched: dict[str, tuple[int, str]] = {}
    for field_name, column in (mapping or {}).items():
        if field_name not in COLUMN_NAMES:
            raise TelemetryError(f"unknown telemetry field {field_name!r} in the column mapping",
                                 details=f"known fields: {', '.join(COLUMN_NAMES)}")
        if column not in header:
            raise TelemetryError(f"column {column!r} (mapped to {field_name}) is not in the CSV header")
        index = header.index(column)
        matched[field_name] = (index, normalised[index][1])
    taken = {index for index, _ in matched.values()}
    for field_name, names in COLUMN_NAMES.items():
        if field_name in matched:
            continue
        for name in names:
            index = next((i for i, (n, _) in enumerate(normalised) if n == name and i not in taken), None)
            if index is not None:
                matched[field_name] = (index, normalised[index][1])
                taken.add(index)
                break
    return matched


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value == value and abs(value) != float("inf") else None


def _timestamp_us(text: str) -> int | None:
    """Unix time in s, ms or us (told apart by magnitude), or ISO 8601 text (UTC when no zone)."""
    value = _number(text)
    if value is not None:
        if value > 1e14:
            return int(value)
        return int(value * 1000) if value > 1e11 else int(value * 1e6)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1e6)


def read_csv_telemetry(path: str | Path, mapping: dict | None = None) -> TelemetrySeries:
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
            rows = list(csv.reader(handle))
    except (OSError, csv.Error) as error:
        raise InputFileError("cannot read the CSV file", details=str(error), path=path) from error
    if not rows:
        raise TelemetryError("the CSV file is empty", path=path)
    try:
        columns = match_columns(rows[0], mapping)
    except TelemetryError as error:
        raise TelemetryError(error.user_message, details=error.details, path=path) from None
    if "sensor_latitude_deg" not in columns or "sensor_longitude_deg" not in columns:
        raise TelemetryError("no latitude/longitude columns recognised (give a column mapping)",
                             details=f"header: {rows[0]}", path=path)
    stats = KlvStats()
    records, times, stamps = [], [], []
    for row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        stats.packets += 1
        record, time_s = _row_record(row, columns)
        if record is None:
            continue
        stats.valid += 1
        stats.tags_seen.update(f for f, v in vars(record).items() if v is not None and f not in ("extra", "source"))
        records.append(record)
        times.append(time_s)
        stamps.append(record.timestamp_us)
    if not records:
        raise TelemetryError("no row with a valid latitude and longitude", path=path)
    if any(t is None for t in times):
        if all(s is not None for s in stamps):
            times = [(s - stamps[0]) / 1e6 for s in stamps]
        else:
            times = [float(i) for i in range(len(records))]
    return TelemetrySeries(records, times, stats, d.SOURCE_CSV, path, interpolate=True, carry_forward=False)


def _row_record(row: list[str], columns: dict) -> tuple[TelemetryRecord | None, float | None]:
    values = {}
    for field_name, (index, unit) in columns.items():
        text = row[index] if index < len(row) else ""
        if field_name == "timestamp":
            values[field_name] = plausible_timestamp_us(_timestamp_us(text)) if text.strip() else None
            continue
        value = _number(text)
        if value is not None and field_name in _LENGTH_FIELDS and ("feet" in unit or unit == "ft"):
            value *= FEET_TO_M
        if value is not None and field_name == "time_s" and ("millisecond" in unit or unit == "ms"):
            value /= 1000.0
        values[field_name] = value
    latitude, longitude = values.get("sensor_latitude_deg"), values.get("sensor_longitude_deg")
    if latitude is None or longitude is None or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None, None
    fields = {f: values[f] for f in _FIELDS_IN_RECORD if values.get(f) is not None}
    altitude_key = None
    for reference, key in _ALTITUDE_COLUMNS:
        if values.get(key) is not None:
            fields["sensor_altitude_m"], fields["altitude_reference"] = values[key], reference
            altitude_key = key
            break
    gimbal = (values.get("gimbal_heading_deg"), values.get("gimbal_pitch_deg"), values.get("gimbal_roll_deg") or 0.0)
    if gimbal[0] is not None and gimbal[1] is not None and "sensor_relative_azimuth_deg" not in fields:
        platform = tuple(fields.get(f, 0.0) for f in ("platform_heading_deg", "platform_pitch_deg",
                                                      "platform_roll_deg"))
        azimuth, elevation, roll = relative_sensor_angles(platform, gimbal)
        fields.update(sensor_relative_azimuth_deg=azimuth, sensor_relative_elevation_deg=elevation,
                      sensor_relative_roll_deg=roll)
    extra = {k: v for k, v in values.items()
             if k not in fields and k not in ("timestamp", "time_s", altitude_key) and v is not None}
    record = TelemetryRecord(source=d.SOURCE_CSV, timestamp_us=values.get("timestamp"), extra=extra, **fields)
    return record, values.get("time_s")
