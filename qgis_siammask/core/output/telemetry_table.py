"""The decoded telemetry as a table: one row per record, one column per TelemetryRecord field, for the
analyst to read and to export as CSV."""

from __future__ import annotations

import csv
import dataclasses
from datetime import datetime, timezone
from pathlib import Path

from ..errors import OutputError
from ..files import atomic_output
from ..records import TelemetryRecord

_SKIPPED_FIELDS = ("extra",)  # source-specific values, not one column each


def telemetry_columns() -> list[str]:
    """Video time, UTC time, then the record's fields in their declared order."""
    fields = [f.name for f in dataclasses.fields(TelemetryRecord) if f.name not in _SKIPPED_FIELDS]
    return ["video_time_s", "time_utc", *fields]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.12g}"
    if isinstance(value, tuple):  # the corner points: "lat lon; lat lon; ..."
        return "; ".join(" ".join(f"{v:.12g}" for v in point) for point in value)
    return str(value)


def telemetry_rows(series) -> list[list[str]]:
    """(records, columns) strings of an ingest TelemetrySeries, in video time order; '' for None."""
    names = telemetry_columns()[2:]
    rows = []
    for time_s, record in zip(series.times_s, series.records):
        utc = (
            datetime.fromtimestamp(record.timestamp_us / 1e6, timezone.utc).isoformat(timespec="milliseconds")
            if record.timestamp_us is not None
            else ""
        )
        rows.append([f"{float(time_s):.3f}", utc, *(_cell(getattr(record, name)) for name in names)])
    return rows


def write_telemetry_csv(series, path: str | Path) -> Path:
    """The table as CSV, written beside `path` and renamed when complete."""
    with atomic_output(path) as partial:
        try:
            with open(partial, "w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(telemetry_columns())
                writer.writerows(telemetry_rows(series))
        except OSError as error:
            raise OutputError("cannot write the CSV file", details=str(error), path=path) from error
    return Path(path)
