"""Telemetry on the video timeline, whatever its source: `TelemetrySeries.at(time_s)` answers with one
TelemetryRecord for a frame time. KLV is report-on-change (a packet carries only what changed), so each
stored record already holds the last valid value of every field; SRT/CSV samples are interpolated
between. Every reader (klv_telemetry, srt, csv_telemetry) builds one; `telemetry.py` picks the reader.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ..records import TelemetryRecord
from .klv import KlvStats

SYNC_TOLERANCE_S = 1e-6  # a packet this close after a frame time still counts as at that frame
# Fields interpolated as angles (shortest way round 360 degrees) rather than linearly.
CIRCULAR_FIELDS = frozenset({"platform_heading_deg", "sensor_relative_azimuth_deg", "sensor_relative_roll_deg"})
_SCALAR_FIELDS = tuple(
    f.name for f in dataclasses.fields(TelemetryRecord)
    if f.name not in ("source", "altitude_reference", "corners_latlon_deg", "extra", "timestamp_us")
)


class TelemetrySeries:
    """Time-ordered telemetry records; `times_s` (N,) float64 seconds on the video timeline."""

    def __init__(self, records: list[TelemetryRecord], times_s, stats: KlvStats, source: str,
                 path: str | Path, interpolate: bool = False, carry_forward: bool = True):
        order = np.argsort(np.asarray(times_s, dtype=np.float64), kind="stable")
        self.times_s = np.asarray(times_s, dtype=np.float64)[order]
        ordered = [records[i] for i in order]
        if carry_forward:
            ordered = _carried_forward(ordered)
        self.records = ordered
        self.stats = stats
        self.source = source
        self.path = Path(path)
        self.interpolate = interpolate

    def __len__(self) -> int:
        return len(self.records)

    def at(self, time_s: float) -> TelemetryRecord:
        """The record valid at `time_s`: None-filled before the first sample, the last one after it.

        The time stamp is advanced from the sample to `time_s`, so each frame gets its own UTC time.
        """
        index = int(np.searchsorted(self.times_s, time_s + SYNC_TOLERANCE_S, side="right")) - 1
        if index < 0:
            return TelemetryRecord(source=self.source)
        record = self.records[index]
        sample_time = self.times_s[index]
        if self.interpolate and index + 1 < len(self.records) and self.times_s[index + 1] > sample_time:
            weight = (time_s - sample_time) / (self.times_s[index + 1] - sample_time)
            return _interpolated(record, self.records[index + 1], weight)
        if record.timestamp_us is None:
            return record
        return dataclasses.replace(record, timestamp_us=record.timestamp_us + round((time_s - sample_time) * 1e6))


def _carried_forward(records: list[TelemetryRecord]) -> list[TelemetryRecord]:
    merged, previous = [], None
    for record in records:
        previous = record.merged_over(previous)
        merged.append(previous)
    return merged


def _blend(a, b, weight: float, circular: bool = False):
    if a is None or b is None:
        return a
    if circular:
        return (a + ((b - a + 180.0) % 360.0 - 180.0) * weight) % 360.0
    return a + (b - a) * weight


def _interpolated(a: TelemetryRecord, b: TelemetryRecord, weight: float) -> TelemetryRecord:
    """Numeric fields of `a` moved `weight` (0..1) of the way to `b`; others taken from `a`."""
    updates = {name: _blend(getattr(a, name), getattr(b, name), weight, name in CIRCULAR_FIELDS)
               for name in _SCALAR_FIELDS}
    if a.altitude_reference != b.altitude_reference:
        updates["sensor_altitude_m"] = a.sensor_altitude_m  # never blend heights of different references
    if a.timestamp_us is not None and b.timestamp_us is not None:
        updates["timestamp_us"] = round(_blend(a.timestamp_us, b.timestamp_us, weight))
    if a.corners_latlon_deg and b.corners_latlon_deg and len(a.corners_latlon_deg) == len(b.corners_latlon_deg):
        updates["corners_latlon_deg"] = tuple(
            (_blend(p[0], q[0], weight), _blend(p[1], q[1], weight))
            for p, q in zip(a.corners_latlon_deg, b.corners_latlon_deg)
        )
    return dataclasses.replace(a, **updates)
