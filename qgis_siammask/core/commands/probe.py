"""`python -m qgis_siammask probe FILE`: streams, telemetry coverage and the first decoded record.

FILE is a video (its streams are listed and its KLV / sidecar telemetry probed) or a telemetry file
(.klv/.bin, .srt, .csv). Exit status 0 when telemetry was found, 1 when the video has none.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from .. import definitions as d
from ..errors import TelemetryError
from ..ingest.telemetry import TELEMETRY_SUFFIXES, open_telemetry


def add_arguments(parser) -> None:
    parser.add_argument("file", type=Path, help="video (MPEG-TS, MP4, ...) or telemetry file (.klv, .bin, .srt, .csv)")
    parser.add_argument("--telemetry", type=Path, default=None, help="telemetry file to use instead of the video's own")


def run(args) -> int:
    path: Path = args.file
    if path.suffix.lower() not in TELEMETRY_SUFFIXES:
        for line in describe_streams(path):
            print(line)
    try:
        series = open_telemetry(path, args.telemetry)
    except TelemetryError as error:
        print(f"telemetry: none ({error.user_message})")
        return 1
    for line in describe_telemetry(series):
        print(line)
    return 0


def describe_streams(path: Path) -> list[str]:
    """One line per stream of a container (raises InputFileError for an unreadable file)."""
    import av

    from ..errors import InputFileError
    from ..ingest.klv import is_klv_stream

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as error:
        raise InputFileError("not a readable video file", details=str(error), path=path) from error
    with container:
        duration = f"{container.duration / 1e6:.2f} s" if container.duration else "unknown duration"
        lines = [f"file: {path} ({container.format.name}, {duration})"]
        for stream in container.streams:
            text = f"  stream #{stream.index} {stream.type}"
            if stream.type == "video":
                context = stream.codec_context
                rate = stream.average_rate or stream.guessed_rate
                text += f" {context.name} {context.width}x{context.height} @ {float(rate or 0):.3f} fps"
                estimated = round(float(stream.duration * stream.time_base * rate)) if stream.duration and rate else 0
                text += f", {stream.frames} frames" if stream.frames else f", about {estimated} frames"
            elif stream.type == "data":
                text += f" codec={getattr(stream, 'name', None) or 'unknown'}"
                text += " (KLV)" if is_klv_stream(stream) else ""
            elif stream.codec_context is not None:
                text += f" {stream.codec_context.name}"
            lines.append(text)
    return lines


def describe_telemetry(series) -> list[str]:
    stats = series.stats
    lines = [
        f"telemetry: {series.source} from {series.path}",
        f"  records: {len(series)} over {series.times_s[0]:.3f} .. {series.times_s[-1]:.3f} s",
        f"  packets: {stats.packets}, valid: {stats.valid}, bad checksum: {stats.bad_checksum}, "
        f"malformed: {stats.malformed}, truncated: {stats.truncated}, skipped bytes: {stats.skipped_bytes}, "
        f"dropped values: {stats.dropped_values}"
        + (f", cut key bytes: {stats.cut_key_bytes}" if stats.cut_key_bytes else ""),
        "  tags seen: " + ", ".join(_tag_label(tag, count) for tag, count in sorted(stats.tags_seen.items(), key=_order)),
        "first record:",
    ]
    first = series.records[0]
    for field in dataclasses.fields(first):
        value = getattr(first, field.name)
        if field.name == "extra":
            lines.extend(f"  extra.{key}: {_short(item)}" for key, item in value.items())
        elif field.name == "timestamp_us" and value is not None:
            lines.append(f"  timestamp_us: {value} ({first.time_utc.isoformat()})")
        else:
            lines.append(f"  {field.name}: {'-' if value is None else _short(value)}")
    return lines


def _order(item) -> tuple:
    """KLV tag numbers in numeric order, field names alphabetically."""
    tag = item[0]
    return (0, tag, "") if isinstance(tag, int) else (1, 0, str(tag))


def _tag_label(tag, count: int) -> str:
    if isinstance(tag, int):
        return f"{tag} {d.ST0601_TAG_NAMES.get(tag, '?')} ({count})"
    return f"{tag} ({count})"


def _short(value) -> str:
    if isinstance(value, bytes):
        return f"<{len(value)} bytes> {value[:16].hex()}{'...' if len(value) > 16 else ''}"
    return repr(value)
