"""A track's line as the track store keeps it between writes (the plugin's live layers use it too)."""
from __future__ import annotations

from array import array
from datetime import datetime

from ..definitions import (
    FIELD_END_UTC,
    FIELD_FIRST_FRAME,
    FIELD_LABEL,
    FIELD_LAST_FRAME,
    FIELD_LENGTH_M,
    FIELD_POINT_COUNT,
    FIELD_START_UTC,
    FIELD_TRACK_ID,
)
from .geometry import ground_distance_heading

LINE_REFRESH_FRACTION = 0.01  # rewrite a track's line once it has this many new points per point


class TrackLine:
    """One track's line in frame order; `written_points` is what the file holds.

    Only the vertices grow with the track, kept as a flat array (16 bytes a vertex, not a Python tuple,
    float and list slot each: a long video's lines would otherwise hold a large share of the memory)."""

    def __init__(self, track_id: int, label: str):
        self.track_id, self.label = track_id, label
        self.xy = array("d")  # x0, y0, x1, y1, ... in the output CRS
        self.first_frame = self.last_frame = -1
        self.start_utc: datetime | None = None
        self.end_utc: datetime | None = None
        self.length_m = 0.0
        self._last_lonlat = None
        self.fid: int | None = None
        self.written_points = 0

    @property
    def points(self) -> int:
        return len(self.xy) // 2

    def add(self, frame: int, time_utc, xy, lonlat) -> None:
        if not self.xy:
            self.first_frame, self.start_utc = frame, time_utc
        self.last_frame, self.end_utc = frame, time_utc
        self.xy.extend(xy)
        if self._last_lonlat is not None and lonlat is not None:
            self.length_m += ground_distance_heading(self._last_lonlat, lonlat)[0]
        self._last_lonlat = lonlat

    def stale(self, force: bool) -> bool:
        pending = self.points - self.written_points
        return pending > 0 and (force or pending >= max(1, int(self.points * LINE_REFRESH_FRACTION)))

    def attributes(self) -> dict:
        return {
            FIELD_TRACK_ID: self.track_id,
            FIELD_LABEL: self.label,
            FIELD_FIRST_FRAME: self.first_frame,
            FIELD_LAST_FRAME: self.last_frame,
            FIELD_START_UTC: self.start_utc,
            FIELD_END_UTC: self.end_utc,
            FIELD_POINT_COUNT: self.points,
            FIELD_LENGTH_M: self.length_m,
        }
