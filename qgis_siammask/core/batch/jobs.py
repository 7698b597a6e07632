"""The job file of a batch run: one video per job, read from JSON lines or CSV into frozen `BatchJob`s.

JSON lines: one object per line with `video`, `boxes` ([[x, y, w, h], ...] in pixels on the start
frame) and optionally `name` (default: the video's stem), `telemetry`, `labels` (one per box),
`start_frame`, `end_frame` (inclusive), `dem`, `georef` (how frames are put on the ground: `st0601`,
the default, `horizon` or `corners`). Blank lines and lines starting with `#` are skipped.

CSV (a header row names the same columns, in any order): `boxes` is `x,y,w,h;x,y,w,h` (a quoted
cell), `labels` is `car;truck`; empty cells mean "not given".

Relative paths are taken from the job file's folder, so a job file can travel with its videos; they
are made absolute because workers may run elsewhere. Every line is checked before anything runs: a
bad line stops the batch with an error naming the file and the line.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

from ..definitions import BATCH_JOB_FIELDS, BATCH_JOB_RECORD_SUFFIX, GEOREF_MODES, GEOREF_ST0601
from ..errors import InputFileError

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class BatchJob:
    """One video to track. `boxes_xywh`: pixel boxes on `start_frame`; `end_frame` None: to the end."""

    name: str
    video_path: str
    boxes_xywh: tuple[Box, ...]
    labels: tuple[str, ...] | None = None
    telemetry_path: str | None = None
    start_frame: int = 0
    end_frame: int | None = None
    dem_path: str | None = None
    georef: str = GEOREF_ST0601


def read_jobs(path: str | Path) -> list[BatchJob]:
    """Every job in a `.jsonl`/`.json` or `.csv` job file, in file order; InputFileError on a bad line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InputFileError("cannot read the job file", details=str(error), path=path) from error
    entries = _csv_entries(text, path) if path.suffix.lower() == ".csv" else _jsonl_entries(text, path)
    jobs, lines_by_name = [], {}
    for line, entry in entries:
        try:
            job = _job(entry, path.parent)
        except ValueError as error:
            raise InputFileError(f"line {line}: {error}", path=path) from None
        if job.name in lines_by_name:
            raise InputFileError(
                f"line {line}: job name {job.name!r} is already used on line {lines_by_name[job.name]} "
                "(each job writes NAME.gpkg: give the jobs distinct names)",
                path=path,
            )
        lines_by_name[job.name] = line
        jobs.append(job)
    if not jobs:
        raise InputFileError("the job file lists no job", path=path)
    return jobs


def _jsonl_entries(text: str, path: Path) -> list[tuple[int, dict]]:
    entries = []
    for line, content in enumerate(text.splitlines(), start=1):
        if not content.strip() or content.lstrip().startswith("#"):
            continue
        try:
            entry = json.loads(content)
        except json.JSONDecodeError as error:
            raise InputFileError(f"line {line}: not a JSON object ({error.msg})", path=path) from None
        if not isinstance(entry, dict):
            raise InputFileError(
                f"line {line}: expected a JSON object, got {type(entry).__name__}", path=path
            )
        entries.append((line, entry))
    return entries


def _csv_entries(text: str, path: Path) -> list[tuple[int, dict]]:
    reader = csv.DictReader(text.splitlines())
    unknown = set(reader.fieldnames or ()) - set(BATCH_JOB_FIELDS)
    if unknown:
        raise InputFileError(
            f"unknown column(s) {', '.join(sorted(unknown))}; expected {', '.join(BATCH_JOB_FIELDS)}",
            path=path,
        )
    entries = []
    for row in reader:
        entry = {key: value.strip() for key, value in row.items() if key and value and value.strip()}
        if entry:
            entries.append((reader.line_num, _parse_csv_cells(entry)))
    return entries


def _parse_csv_cells(entry: dict) -> dict:
    """CSV text cells -> the JSON-lines value types (boxes as lists, labels as a list, frames as ints)."""
    if "boxes" in entry:
        entry["boxes"] = [part.split(",") for part in entry["boxes"].split(";") if part.strip()]
    if "labels" in entry:
        entry["labels"] = [label.strip() for label in entry["labels"].split(";")]
    return entry


def _job(entry: dict, base: Path) -> BatchJob:
    unknown = set(entry) - set(BATCH_JOB_FIELDS)
    if unknown:
        raise ValueError(
            f"unknown key(s) {', '.join(sorted(unknown))}; expected {', '.join(BATCH_JOB_FIELDS)}"
        )
    if not entry.get("video"):
        raise ValueError("no 'video'")
    video = _absolute(entry["video"], base)
    boxes = entry.get("boxes")
    if not isinstance(boxes, list) or not boxes:
        raise ValueError("'boxes' must be a non-empty list of [x, y, w, h] pixel boxes")
    boxes_xywh = tuple(_box(box) for box in boxes)
    labels = entry.get("labels")
    if labels is not None:
        if not isinstance(labels, list) or len(labels) != len(boxes_xywh):
            raise ValueError(f"'labels' must list one label per box ({len(boxes_xywh)})")
        labels = tuple(str(label) for label in labels)
    name = str(entry.get("name") or Path(video).stem)
    if Path(name).name != name or name in (".", ".."):
        raise ValueError(f"job name {name!r} must be a plain file name (it names NAME.gpkg)")
    start_frame = _frame(entry.get("start_frame", 0), "start_frame")
    end_frame = None if entry.get("end_frame") is None else _frame(entry["end_frame"], "end_frame")
    if end_frame is not None and end_frame < start_frame:
        raise ValueError(f"end_frame {end_frame} is before start_frame {start_frame}")
    georef = str(entry.get("georef") or GEOREF_ST0601)
    if georef not in GEOREF_MODES:
        raise ValueError(f"georef {georef!r} is not one of {', '.join(GEOREF_MODES)}")
    return BatchJob(
        name=name,
        video_path=video,
        boxes_xywh=boxes_xywh,
        labels=labels,
        telemetry_path=_absolute(entry["telemetry"], base) if entry.get("telemetry") else None,
        start_frame=start_frame,
        end_frame=end_frame,
        dem_path=_absolute(entry["dem"], base) if entry.get("dem") else None,
        georef=georef,
    )


def _absolute(value, base: Path) -> str:
    path = Path(str(value)).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def _box(values) -> Box:
    try:
        x, y, width, height = (float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"box {values!r}: expected four numbers x, y, width, height") from None
    if not all(map(math.isfinite, (x, y, width, height))) or width <= 0 or height <= 0:
        raise ValueError(f"box {values!r}: width and height must be positive and every value finite")
    return x, y, width, height


def _frame(value, key: str) -> int:
    try:
        frame = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key} {value!r} is not a whole number") from None
    if frame < 0 or str(frame) != str(value).strip():
        raise ValueError(f"{key} {value!r} must be a whole number >= 0")
    return frame


def job_record_path(gpkg_path: str | Path) -> Path:
    """DIR/NAME.job.json, the record of the job that wrote DIR/NAME.gpkg."""
    gpkg_path = Path(gpkg_path)
    return gpkg_path.with_name(gpkg_path.stem + BATCH_JOB_RECORD_SUFFIX)
