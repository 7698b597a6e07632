"""Plain data records passed between engine modules: frames, telemetry, tracks.

They live here, not in the modules that produce them, so that consumers (camera model, track store,
plugin) depend on a small stable contract rather than on the producers' internals.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from .definitions import PLAUSIBLE_TIMESTAMP_MAX_US, PLAUSIBLE_TIMESTAMP_MIN_US, STATUS_TRACKING


def plausible_timestamp_us(value: int | None) -> int | None:
    """`value` (microseconds since the Unix epoch) when it lies in 1990-2100, else None: a corrupt time
    stamp is dropped like any out-of-range value instead of breaking `time_utc` or shifting a timeline."""
    if value is None or not PLAUSIBLE_TIMESTAMP_MIN_US <= value <= PLAUSIBLE_TIMESTAMP_MAX_US:
        return None
    return int(value)


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame. `image` is (H, W, 3) uint8 BGR."""

    index: int
    pts: int | None
    time_s: float
    image: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class TelemetryRecord:
    """Telemetry valid at one instant, whatever the source (KLV, SRT, CSV).

    Every field is optional: None means "not reported or out of range", never zero. Angles in degrees,
    distances in metres. Orientation follows MISB ST 0601: platform heading/pitch/roll, then sensor
    azimuth/elevation/roll relative to the platform.
    """

    source: str = ""
    timestamp_us: int | None = None  # microseconds since the Unix epoch (MISB tag 2)
    sensor_latitude_deg: float | None = None
    sensor_longitude_deg: float | None = None
    sensor_altitude_m: float | None = None
    altitude_reference: str | None = None  # definitions.ALTITUDE_MSL or ALTITUDE_HAE
    platform_heading_deg: float | None = None
    platform_pitch_deg: float | None = None
    platform_roll_deg: float | None = None
    sensor_relative_azimuth_deg: float | None = None
    sensor_relative_elevation_deg: float | None = None
    sensor_relative_roll_deg: float | None = None
    horizontal_fov_deg: float | None = None
    vertical_fov_deg: float | None = None
    slant_range_m: float | None = None
    target_width_m: float | None = None
    frame_center_latitude_deg: float | None = None
    frame_center_longitude_deg: float | None = None
    frame_center_elevation_m: float | None = None
    # Full corner coordinates, ST 0601 order: upper-left, upper-right, lower-right, lower-left;
    # each (latitude_deg, longitude_deg). None when not reported.
    corners_latlon_deg: tuple[tuple[float, float], ...] | None = None
    focal_length_mm: float | None = None
    extra: dict = field(default_factory=dict, compare=False)  # source-specific values by name

    @property
    def time_utc(self) -> datetime | None:
        if self.timestamp_us is None:
            return None
        return datetime.fromtimestamp(self.timestamp_us / 1e6, tz=timezone.utc)

    def merged_over(self, previous: "TelemetryRecord | None") -> "TelemetryRecord":
        """This record with every missing field carried forward from `previous` (report-on-change)."""
        if previous is None:
            return self
        updates = {
            f.name: getattr(previous, f.name)
            for f in dataclasses.fields(self)
            if f.name != "extra" and getattr(self, f.name) is None
        }
        merged_extra = {**previous.extra, **self.extra}
        return dataclasses.replace(self, **updates, extra=merged_extra)


@dataclass
class Track:
    """A tracked target after one frame.

    `bbox_xywh`: axis-aligned box in pixels (top-left x, y, width, height): the bounds of the mask's
    largest part when there is a mask, else the tracker's state box (the box branch's estimate);
    `rotated_box`: (4, 2) float64 pixel corners (x, y); `mask`: (H, W) bool in full-frame coordinates,
    or None when the model has no mask branch; `age`: frames since init; `coasted`: the target was
    lost and the box is where the telemetry predicts it (search hint), not an observation (mask empty);
    `steady`: score and mask area agree closely with the track's recent frames (its position is one
    to learn the target's motion from).
    """

    track_id: int
    label: str
    bbox_xywh: tuple[float, float, float, float]
    rotated_box: np.ndarray = field(repr=False)
    mask: np.ndarray | None = field(repr=False)
    score: float
    status: str = STATUS_TRACKING
    age: int = 0
    coasted: bool = False
    steady: bool = True


@dataclass(frozen=True)
class SearchHint:
    """Where to look for one target in the next frame: the predicted image centre (x, y) in pixels and
    the expected linear size change since the last frame (> 1: the target looks bigger), e.g. from
    the camera models of both frames."""

    center_xy: tuple[float, float]
    scale: float = 1.0


@dataclass(frozen=True)
class Correction:
    """The analyst's correction of a run on frame `frame`: track `track_id` re-seated on the pixel box
    `box_xywh` (`kind` definitions.CORRECTION_RESEAT; `previous_box_xywh` is where the run had it) or
    added there (CORRECTION_ADD, no previous box). The continuation tracks on from that frame."""

    track_id: int
    frame: int
    kind: str
    box_xywh: tuple[float, float, float, float]
    previous_box_xywh: tuple[float, float, float, float] | None = None
