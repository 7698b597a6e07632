"""Telemetry on the video timeline, whatever its source: embedded KLV, raw KLV, DJI SRT or CSV.

`open_telemetry` finds the source; `TelemetrySeries.at(time_s)` answers with one TelemetryRecord for
a frame time. KLV is report-on-change (a packet carries only what changed), so each stored record
already holds the last valid value of every field; SRT/CSV samples are interpolated between.

Time sync: a KLV packet demuxed from a container gets its PES presentation time on the same
timeline as `VideoReader` frames (seconds from the video stream's first PTS). Packets without a PTS
(raw .bin/.klv files, muxers that drop it) are placed by their tag 2 time stamp, the first packet
at 0 s plus `time_offset_s`.
"""
from __future__ import annotations

import bisect
import dataclasses
from pathlib import Path

import numpy as np

from .. import definitions as d
from ..errors import InputFileError, TelemetryError
from ..records import TelemetryRecord
from .klv import KlvStats, is_klv_stream, read_klv_file, split_st0601
from .misb0601 import record_from_values
from .video import demux_resilient

KLV_SUFFIXES = (".klv", ".bin")
SYNC_TOLERANCE_S = 1e-6  # a packet this close after a frame time still counts as at that frame
SIDECAR_SUFFIXES = (".srt", ".SRT", ".csv", ".CSV", ".klv", ".bin")
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


# --- KLV sources ----------------------------------------------------------------------------------
def _times_from_time_stamps(values_list: list[dict], offset_s: float) -> list[float]:
    stamps = [v.get(d.KLV_TAG_TIME_STAMP) for v in values_list]
    first = next((s for s in stamps if s is not None), None)
    if first is None:
        return [offset_s + i for i in range(len(values_list))]  # nothing to sync by: 1 s apart
    times, last = [], offset_s
    for stamp in stamps:
        last = offset_s + (stamp - first) / 1e6 if stamp is not None else last
        times.append(last)
    return times


def klv_series_from_file(path: str | Path, time_offset_s: float = 0.0) -> TelemetrySeries:
    """A raw KLV file (.bin/.klv), placed on the timeline by tag 2 time stamps."""
    packets, stats = read_klv_file(path)
    values_list = [values for _, values in packets]
    return TelemetrySeries([record_from_values(v) for v in values_list],
                           _times_from_time_stamps(values_list, time_offset_s), stats, d.SOURCE_KLV, path)


@dataclasses.dataclass
class _StreamKlv:
    """KLV demuxed from one data stream: (time_s or None, values) per valid packet, and stats.

    Every packet gets the time of the PES packet it starts in: the bytes not yet split keep the
    offset and time of each PES payload they came from, so a corrupt length that makes the splitter
    wait for bytes that are not its own shifts no later packet's time. A PES payload starting with
    the UAS Local Set key ends a packet still waiting for bytes (its length was wrong: counted as
    truncated) and splitting resumes there. Bytes are appended to and cut from one bytearray, so the
    work is linear in the stream's length.
    """

    stream_index: int
    packets: list = dataclasses.field(default_factory=list)
    stats: KlvStats = dataclasses.field(default_factory=KlvStats)
    pending: bytearray = dataclasses.field(default_factory=bytearray)
    pending_starts: list = dataclasses.field(default_factory=list)  # offset of each PES payload in pending
    pending_times: list = dataclasses.field(default_factory=list)  # its time_s (or None)

    def feed(self, payload: bytes, time_s: float | None) -> None:
        """Split one PES payload; a packet spread over PES packets keeps the time of its first piece."""
        if self.pending and payload.startswith(d.UAS_LOCAL_SET_KEY):
            self._split(final=True)
        self.pending_starts.append(len(self.pending))
        self.pending_times.append(time_s)
        self.pending += payload
        self._split(final=False)

    def finish(self) -> None:
        if self.pending:
            self._split(final=True)

    def _split(self, final: bool) -> None:
        found, consumed = split_st0601(self.pending, self.stats, final=final)
        starts = self.pending_starts
        for offset, values in found:
            self.packets.append((self.pending_times[bisect.bisect_right(starts, offset) - 1], values))
        if final or consumed >= len(self.pending):
            self.pending.clear()
            starts.clear()
            self.pending_times.clear()
        elif consumed:
            first = bisect.bisect_right(starts, consumed) - 1  # the PES payload the kept bytes start in
            del self.pending[:consumed]
            self.pending_starts = [0] + [start - consumed for start in starts[first + 1:]]
            del self.pending_times[:first]


def demux_klv(path: str | Path) -> list[_StreamKlv]:
    """Every KLV data stream of a container, demuxed in process; [] when it has none.

    Damage (a truncated file, corrupt TS packets) is demuxed through, see `video.demux_resilient`.
    """
    import av

    path = Path(path)
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as error:
        raise InputFileError("not a readable video file", details=str(error), path=path) from error
    with container:
        data_streams = list(container.streams.data)
        if not data_streams:
            return []
        video = container.streams.video[0] if container.streams.video else None
        origin = video.start_time * video.time_base if video is not None and video.start_time else 0  # exact
        found: dict[int, _StreamKlv] = {}
        rejected: set[int] = set()
        for packet in demux_resilient(container, data_streams):
            index = packet.stream.index
            if packet.size == 0 or index in rejected:
                continue
            payload = bytes(packet)
            if index not in found:
                if not is_klv_stream(packet.stream, payload):
                    rejected.add(index)
                    continue
                found[index] = _StreamKlv(index)
            time_s = float(packet.pts * packet.time_base - origin) if packet.pts is not None else None
            found[index].feed(payload, time_s)
    for stream in found.values():
        stream.finish()
    return list(found.values())


def klv_series_from_container(path: str | Path, time_offset_s: float = 0.0) -> TelemetrySeries | None:
    """The container's KLV stream with the most valid packets, or None when it has no KLV stream."""
    streams = demux_klv(path)
    if not streams:
        return None
    best = max(streams, key=lambda s: s.stats.valid)
    values_list = [values for _, values in best.packets]
    times = [t for t, _ in best.packets]
    if any(t is None for t in times):
        times = _times_from_time_stamps(values_list, time_offset_s)
    return TelemetrySeries([record_from_values(v) for v in values_list], times, best.stats, d.SOURCE_KLV, path)


# --- finding the source ---------------------------------------------------------------------------
def open_telemetry_file(path: str | Path, csv_mapping: dict | None = None) -> TelemetrySeries:
    """A telemetry file chosen by its suffix: .srt, .csv, .klv/.bin, or a container with KLV."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError("no such telemetry file", path=path)
    suffix = path.suffix.lower()
    if suffix == ".srt":
        from .srt import read_srt

        return read_srt(path)
    if suffix == ".csv":
        from .csv_telemetry import read_csv_telemetry

        return read_csv_telemetry(path, mapping=csv_mapping)
    if suffix in KLV_SUFFIXES:
        return klv_series_from_file(path)
    series = klv_series_from_container(path)
    if series is None:
        raise TelemetryError("the file holds no KLV data stream", path=path)
    return series


def open_telemetry(video_path: str | Path, telemetry_path: str | Path | None = None,
                   csv_mapping: dict | None = None) -> TelemetrySeries:
    """Telemetry for a video: the given telemetry file when there is one (the user's explicit choice),
    else the video's own KLV stream, else a same-name sidecar (.srt/.SRT/.csv/.klv/.bin) beside it.

    Raises TelemetryError when nothing is found (callers that allow "no telemetry" catch it).
    """
    if telemetry_path is not None:
        return open_telemetry_file(telemetry_path, csv_mapping)
    video_path = Path(video_path)
    if video_path.suffix.lower() in KLV_SUFFIXES + (".srt", ".csv"):
        return open_telemetry_file(video_path, csv_mapping)
    if video_path.is_file():
        try:
            series = klv_series_from_container(video_path)
        except InputFileError:
            series = None  # an unreadable video may still have a sidecar; the video reader reports it
        if series is not None and series.stats.packets:
            return series
    for suffix in SIDECAR_SUFFIXES:
        sidecar = video_path.with_suffix(suffix)
        if sidecar.is_file():
            return open_telemetry_file(sidecar, csv_mapping)
    raise TelemetryError("no telemetry: no KLV stream in the video and no .srt/.csv/.klv file beside it",
                         path=video_path)

