"""Telemetry for a video, whatever its source: embedded KLV, raw KLV, DJI SRT or CSV.

`open_telemetry` finds the source and reads it into a `series.TelemetrySeries`. `READERS` is the one
table of telemetry files by suffix; the readers live in `klv_telemetry.py`, `srt.py` and `csv_telemetry.py`
(which never import this module): a new format is a reader there and a row here.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import InputFileError, TelemetryError
from .csv_telemetry import read_csv_telemetry
from .klv_telemetry import klv_series_from_container, klv_series_from_file
from .series import TelemetrySeries
from .srt import read_srt

# Telemetry file suffix (lower case) -> reader(path, csv_mapping); any other file is read as a container
# with a KLV data stream.
READERS: dict[str, Callable[[Path, dict | None], TelemetrySeries]] = {
    ".srt": lambda path, _csv_mapping: read_srt(path),
    ".csv": lambda path, csv_mapping: read_csv_telemetry(path, mapping=csv_mapping),
    ".klv": lambda path, _csv_mapping: klv_series_from_file(path),
    ".bin": lambda path, _csv_mapping: klv_series_from_file(path),
}
TELEMETRY_SUFFIXES = tuple(READERS)
SIDECAR_SUFFIXES = (".srt", ".SRT", ".csv", ".CSV", ".klv", ".bin")  # looked for in this order


def open_telemetry_file(path: str | Path, csv_mapping: dict | None = None) -> TelemetrySeries:
    """A telemetry file chosen by its suffix: .srt, .csv, .klv/.bin, or a container with KLV."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError("no such telemetry file", path=path)
    reader = READERS.get(path.suffix.lower())
    if reader is not None:
        return reader(path, csv_mapping)
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
    if video_path.suffix.lower() in READERS:
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

