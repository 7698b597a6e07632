"""A run's video overlays read back from its GeoPackage, so the dock need not keep every frame in memory.

The track store writes each track's pixel outlines (rotated box, mask outline) per frame into the
`outlines_px` table; `read_outlines` returns them for a frame range as FrameFeatures holding only what
the overlays draw (pixel outlines, label, score, status; no ground geometry). A pixel run (a video
without telemetry) has the `track` command's JSON lines instead: `PixelRecords` reads those back.
`RunFrames` keeps a bounded number of frames in memory and reads the others from each run's file.

Read with Python's sqlite3 in read-only mode, one short connection per read: the task's thread may be
appending to the same file (a frame per transaction); a reader waits for a commit in progress (busy
timeout) and never holds a lock between reads, and a partial file renamed to its final name between two
reads is found under either name.
"""
from __future__ import annotations

import json
import sqlite3
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..definitions import (
    FIELD_BOX_PX,
    FIELD_FRAME,
    FIELD_LABEL,
    FIELD_MASK_PX,
    FIELD_SCORE,
    FIELD_STATUS,
    FIELD_TRACK_ID,
    LAYER_OUTLINES_PX,
    OVERLAY_CACHE_FRAMES,
    OVERLAY_READ_CHUNK_FRAMES,
    OVERLAY_READ_TIMEOUT_S,
)
from ..errors import OutputError
from .geometry import FrameFeatures, TrackFeature


def read_outlines(path: str | Path, first_frame: int, last_frame: int) -> dict[int, FrameFeatures]:
    """Frame index -> FrameFeatures (pixel outlines only, `crs` empty) of the frames in
    [first_frame, last_frame] that hold tracks; tracks in the order they were written.

    A file without the outlines table (written before it existed) gives {}; a missing or unreadable file
    raises OutputError naming it."""
    from shapely import wkb

    path = Path(path)
    if not path.is_file():
        raise OutputError("the run's GeoPackage is missing", path=path)
    query = (
        f'SELECT "{FIELD_FRAME}", "{FIELD_TRACK_ID}", "{FIELD_LABEL}", "{FIELD_SCORE}", "{FIELD_STATUS}", '
        f'"{FIELD_BOX_PX}", "{FIELD_MASK_PX}" FROM "{LAYER_OUTLINES_PX}" '
        f'WHERE "{FIELD_FRAME}" BETWEEN ? AND ? ORDER BY "{FIELD_FRAME}", fid'
    )
    try:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        connection = sqlite3.connect(uri, uri=True, timeout=OVERLAY_READ_TIMEOUT_S)
        try:
            table = connection.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (LAYER_OUTLINES_PX,))
            rows = connection.execute(query, (first_frame, last_frame)).fetchall() if table.fetchone() else []
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise OutputError("cannot read the run's video overlays", details=str(error), path=path) from error
    tracks: dict[int, list[TrackFeature]] = {}
    for frame, track_id, label, score, status, box_px, mask_px in rows:
        tracks.setdefault(frame, []).append(
            TrackFeature(
                track_id=track_id,
                label=label or "",
                frame=frame,
                time_utc=None,
                score=score if score is not None else float("nan"),
                status=status or "",
                box_px=wkb.loads(bytes(box_px)) if box_px is not None else None,
                mask_px=wkb.loads(bytes(mask_px)) if mask_px is not None else None,
            )
        )
    return {frame: FrameFeatures(frame, None, "", None, tuple(kept)) for frame, kept in tracks.items()}


class PixelRecords:
    """A pixel run's JSON lines (one record per track and frame, frames in order, appended while the run
    goes on) read back by frame range. The byte offset of each frame's first record is indexed as the
    file grows (8 bytes a frame), so a read seeks to its frames instead of parsing the file from the top."""

    def __init__(self):
        self._first_frame = -1
        self._offsets = array("q")  # byte offset of frame first_frame + i
        self._scanned_bytes = 0

    def read(self, path: str | Path, first_frame: int, last_frame: int) -> dict[int, FrameFeatures]:
        """As `read_outlines`, from the records of frames [first_frame, last_frame]."""
        from ..records import Track
        from .geometry import frame_features
        from .jsonl_format import rle_to_mask

        path = Path(path)
        try:
            with open(path, "rb") as records:
                self._index(records)
                start = first_frame - self._first_frame
                if self._first_frame < 0 or start >= len(self._offsets):
                    return {}
                records.seek(self._offsets[max(start, 0)])
                tracks: dict[int, list] = {}
                for line in records:
                    if not line.endswith(b"\n"):
                        break  # a record being written
                    record = json.loads(line)
                    if record[FIELD_FRAME] > last_frame:
                        break
                    mask = rle_to_mask(record["mask"]) if record.get("mask") else None
                    tracks.setdefault(record[FIELD_FRAME], []).append(
                        Track(record[FIELD_TRACK_ID], record[FIELD_LABEL], tuple(record["bbox"]),
                              np.asarray(record["rotated_box"], dtype=np.float64), mask, record[FIELD_SCORE],
                              record[FIELD_STATUS])
                    )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise OutputError("cannot read the pixel run's records", details=str(error), path=path) from error
        features = (frame_features(kept, None, frame, None) for frame, kept in tracks.items())
        return {f.frame: replace(f, crs="") for f in features}

    def _index(self, records) -> None:
        """Offsets of the frames written since the last read (complete lines only)."""
        records.seek(self._scanned_bytes)
        position = self._scanned_bytes
        for line in records:
            if not line.endswith(b"\n"):
                break
            frame = json.loads(line)[FIELD_FRAME]
            if self._first_frame < 0:
                self._first_frame = frame
            if frame - self._first_frame == len(self._offsets):
                self._offsets.append(position)
            position += len(line)
        self._scanned_bytes = position


@dataclass
class _Run:
    paths: tuple[Path, ...]  # where its file may be, in the order tried (partial file, final name)
    first_frame: int
    last_frame: int
    pixel_records: PixelRecords | None = None  # a pixel run's JSON lines; None: a GeoPackage
    deleted_track_ids: set[int] = field(default_factory=set)


class RunFrames:
    """Tracked frames of one clip's runs, for the video overlays: at most `capacity_frames` in memory
    (least recently used dropped first), the rest read back from each run's file in chunks of
    `chunk_frames` aligned frames. A frame shows the newest run that tracked it."""

    def __init__(
        self, capacity_frames: int = OVERLAY_CACHE_FRAMES, chunk_frames: int = OVERLAY_READ_CHUNK_FRAMES
    ):
        self.capacity_frames = capacity_frames
        self.chunk_frames = chunk_frames
        self._runs: list[_Run] = []
        self._cached: OrderedDict[tuple[int, int], FrameFeatures | None] = OrderedDict()  # (run, frame)

    def start_run(self, *paths: str | Path, pixel_records: bool = False) -> None:
        """A new run whose frames follow (`add`); `paths`: where its file is, tried in order: a GeoPackage,
        or with `pixel_records` a pixel run's JSON lines."""
        records = PixelRecords() if pixel_records else None
        self._runs.append(_Run(tuple(map(Path, paths)), first_frame=-1, last_frame=-2, pixel_records=records))

    def add(self, frames) -> None:
        """The current run's newest FrameFeatures, already committed to its file."""
        run = self._runs[-1]
        key = len(self._runs) - 1
        for features in frames:
            empty = run.last_frame < run.first_frame
            run.first_frame = features.frame if empty else min(run.first_frame, features.frame)
            run.last_frame = features.frame if empty else max(run.last_frame, features.frame)
            self._keep((key, features.frame), features)

    def set_run_file(self, path: str | Path) -> None:
        """The current run ended: its frames are in `path` now."""
        if self._runs:
            self._runs[-1].paths = (Path(path),)

    def delete_track(self, track_id: int) -> None:
        """Drop a track of the current run from every frame (the file's copies are skipped when read)."""
        if self._runs:
            self._runs[-1].deleted_track_ids.add(track_id)

    def get(self, frame: int) -> FrameFeatures | None:
        """Features drawn on `frame` (None: no run tracked it); OutputError when the file is unreadable."""
        for key in range(len(self._runs) - 1, -1, -1):
            run = self._runs[key]
            if run.first_frame <= frame <= run.last_frame:
                return _without(self._cached_or_read(key, frame), run.deleted_track_ids)
        return None

    @property
    def frames_in_memory(self) -> int:
        return len(self._cached)

    def clear(self) -> None:
        self._runs.clear()
        self._cached.clear()

    def _keep(self, key: tuple[int, int], features: FrameFeatures | None) -> None:
        self._cached[key] = features
        self._cached.move_to_end(key)
        while len(self._cached) > self.capacity_frames:
            self._cached.popitem(last=False)

    def _cached_or_read(self, key: int, frame: int) -> FrameFeatures | None:
        if (key, frame) in self._cached:
            self._cached.move_to_end((key, frame))
            return self._cached[(key, frame)]
        run = self._runs[key]
        first = max(frame - frame % self.chunk_frames, run.first_frame)
        last = min(first - first % self.chunk_frames + self.chunk_frames - 1, run.last_frame)
        existing = [path for path in run.paths if path.is_file()]
        try:
            path = (existing or run.paths)[0]
            if run.pixel_records is not None:
                read = run.pixel_records.read(path, first, last)
            else:
                read = read_outlines(path, first, last)
        except OutputError:  # said once per chunk: its frames are kept without overlays
            for index in range(first, last + 1):
                self._keep((key, index), None)
            raise
        for index in range(first, last + 1):
            if index != frame:
                self._keep((key, index), read.get(index))
        self._keep((key, frame), read.get(frame))  # last: the most recently used
        return read.get(frame)


def _without(features: FrameFeatures | None, track_ids: set[int]) -> FrameFeatures | None:
    if features is None or not track_ids:
        return features
    return replace(features, tracks=tuple(t for t in features.tracks if t.track_id not in track_ids))
