"""KLV telemetry (MISB ST 0601) as a TelemetrySeries: demuxed from a container's data stream, or read
from a raw .klv/.bin file.

Time sync: a KLV packet demuxed from a container gets its PES presentation time on the same
timeline as `VideoReader` frames (seconds from the video stream's first PTS). Packets without a PTS
(raw .bin/.klv files, muxers that drop it) are placed by their tag 2 time stamp, the first packet
at 0 s plus `time_offset_s`.
"""
from __future__ import annotations

import bisect
import dataclasses
from pathlib import Path

from .. import definitions as d
from ..errors import InputFileError
from .klv import KlvStats, is_klv_stream, read_klv_file, split_st0601
from .misb0601 import record_from_values
from .series import TelemetrySeries
from .video import demux_resilient


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
