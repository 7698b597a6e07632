"""The GeoPackage as the track store writes it: the fields of each layer (also the plugin's memory
layers), field values set on and read from OGR features, the write modes and the checks an output path
must pass before a run starts.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..definitions import (
    FIELD_BOX_PX,
    FIELD_CORRECTION_KIND,
    FIELD_END_UTC,
    FIELD_FIRST_FRAME,
    FIELD_FRAME,
    FIELD_GEO_FLAG,
    FIELD_GEOREF,
    FIELD_HEADING_DEG,
    FIELD_LABEL,
    FIELD_LAST_FRAME,
    FIELD_LENGTH_M,
    FIELD_MASK_PX,
    FIELD_POINT_COUNT,
    FIELD_SCORE,
    FIELD_SPEED_MPS,
    FIELD_START_UTC,
    FIELD_STATUS,
    FIELD_TIME_UTC,
    FIELD_TRACK_ID,
    FIELDS_BOX_PX,
    FIELDS_PREVIOUS_BOX_PX,
    LAYER_BOXES,
    LAYER_CORRECTIONS,
    LAYER_FOOTPRINTS,
    LAYER_LINES,
    LAYER_MASKS,
    LAYER_OUTLINES_PX,
    LAYER_POINTS,
)
from ..errors import OutputError

MODE_REPLACE = "replace"
MODE_APPEND = "append"
MODE_CONTINUE = "continue"  # append to a run being corrected (see `continue_tracks`)
MODES = (MODE_REPLACE, MODE_APPEND, MODE_CONTINUE)
UTC_TZ_FLAG = 100  # OGR's time-zone flag for UTC


@dataclass(frozen=True)
class _Field:
    name: str
    kind: str  # "int" | "real" | "str" | "datetime" | "binary"


_TRACK_FIELDS = (
    _Field(FIELD_TRACK_ID, "int"),
    _Field(FIELD_LABEL, "str"),
    _Field(FIELD_FRAME, "int"),
    _Field(FIELD_TIME_UTC, "datetime"),
    _Field(FIELD_SCORE, "real"),
    _Field(FIELD_STATUS, "str"),
    _Field(FIELD_GEO_FLAG, "str"),
)
LAYER_FIELDS = {
    LAYER_MASKS: _TRACK_FIELDS,
    LAYER_BOXES: _TRACK_FIELDS,
    LAYER_POINTS: _TRACK_FIELDS + (_Field(FIELD_SPEED_MPS, "real"), _Field(FIELD_HEADING_DEG, "real")),
    LAYER_FOOTPRINTS: (
        _Field(FIELD_FRAME, "int"), _Field(FIELD_TIME_UTC, "datetime"), _Field(FIELD_GEO_FLAG, "str"),
        _Field(FIELD_GEOREF, "str"),
    ),
    LAYER_OUTLINES_PX: (
        _Field(FIELD_TRACK_ID, "int"),
        _Field(FIELD_LABEL, "str"),
        _Field(FIELD_FRAME, "int"),
        _Field(FIELD_SCORE, "real"),
        _Field(FIELD_STATUS, "str"),
        _Field(FIELD_BOX_PX, "binary"),
        _Field(FIELD_MASK_PX, "binary"),
    ),
    LAYER_LINES: (
        _Field(FIELD_TRACK_ID, "int"),
        _Field(FIELD_LABEL, "str"),
        _Field(FIELD_FIRST_FRAME, "int"),
        _Field(FIELD_LAST_FRAME, "int"),
        _Field(FIELD_START_UTC, "datetime"),
        _Field(FIELD_END_UTC, "datetime"),
        _Field(FIELD_POINT_COUNT, "int"),
        _Field(FIELD_LENGTH_M, "real"),
    ),
    LAYER_CORRECTIONS: (
        _Field(FIELD_TRACK_ID, "int"),
        _Field(FIELD_FRAME, "int"),
        _Field(FIELD_TIME_UTC, "datetime"),
        _Field(FIELD_CORRECTION_KIND, "str"),
        *(_Field(name, "real") for name in FIELDS_BOX_PX + FIELDS_PREVIOUS_BOX_PX),
    ),
}


def check_writable(path: str | Path, mode: str = MODE_REPLACE) -> Path:
    """Fail with OutputError, before any tracking starts, when `path` cannot receive a GeoPackage.

    Creates missing parent folders; proves the folder is writable by creating a file in it (SQLite also
    needs its journal there), refuses folders and read-only files, and in append mode a file that is not
    a GeoPackage.
    """
    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise OutputError("the output file name must end with .gpkg", path=path)
    if path.is_dir():
        raise OutputError("the output path is a folder, not a file", path=path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as error:
        raise OutputError("cannot write in the output folder", details=str(error), path=path) from error
    if path.exists():
        if not os.access(path, os.W_OK):
            raise OutputError("the output file is read-only", path=path)
        if mode in (MODE_APPEND, MODE_CONTINUE) and not is_geopackage(path):
            raise OutputError("cannot append: the existing file is not a GeoPackage", path=path)
    return path


def set_field(feature, name: str, value) -> None:
    if value is None:
        feature.SetFieldNull(name)
    elif isinstance(value, bytes):
        feature.SetFieldBinaryFromHexString(name, value.hex())
    elif isinstance(value, datetime):
        utc = value.astimezone(timezone.utc) if value.tzinfo else value
        seconds = utc.second + utc.microsecond / 1e6
        feature.SetField(name, utc.year, utc.month, utc.day, utc.hour, utc.minute, seconds, UTC_TZ_FLAG)
    else:
        feature.SetField(name, value)


def get_datetime(feature, name: str) -> datetime | None:
    if not feature.IsFieldSetAndNotNull(name):
        return None
    year, month, day, hour, minute, seconds, _ = feature.GetFieldAsDateTime(name)
    whole = int(seconds)
    return datetime(year, month, day, hour, minute, whole, round((seconds - whole) * 1e6), tzinfo=timezone.utc)


def is_geopackage(path: Path) -> bool:
    with open(path, "rb") as handle:
        header = handle.read(72)
    return header.startswith(b"SQLite format 3\x00") and header[68:72] == b"GPKG"


def gpkg_tables(path: str | Path) -> set[str]:
    """The tables of the GeoPackage at `path` (empty when it cannot be read), asked of SQLite directly
    so that a table a run did not write (corrections, outlines_px) is never opened through OGR, which
    logs "Cannot find layer" for it."""
    import sqlite3

    try:
        connection = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = connection.execute("SELECT table_name FROM gpkg_contents").fetchall()
        finally:
            connection.close()
    except sqlite3.Error:
        return set()
    return {name for (name,) in rows}
