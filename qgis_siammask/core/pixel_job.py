"""Tracking a video without telemetry: pixels only.

The same TrackingJob as a ground run, but nothing is projected: the records are the `track` command's
JSON lines (`output.jsonl_format`: frame, track id, label, box, rotated box, score, status, mask RLE),
written beside where the GeoPackage would go (`NAME.jsonl`) through a partial file, and each frame's
pixel outlines go to `on_frame` so the video can draw them. `jsonl_to_csv` turns the records into a table.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from pathlib import Path

from .definitions import (
    FIELD_FRAME,
    FIELD_LABEL,
    FIELD_SCORE,
    FIELD_STATUS,
    FIELD_TRACK_ID,
    JOB_CANCELLED,
    JOB_FAILED,
    JOB_SUCCESS,
    PIXEL_CSV_COLUMNS,
    PIXEL_RESULTS_SUFFIX,
)
from .errors import OutputError, SiamMaskError
from .files import atomic_output, partial_path
from .output.geometry import frame_features
from .output.jsonl_format import track_record
from .pipeline import JobResult, TrackingJob, frames_from, job_labels, new_tracker

log = logging.getLogger(__name__)


def pixel_results_path(job: TrackingJob) -> Path:
    return Path(job.output_gpkg).with_suffix(PIXEL_RESULTS_SUFFIX)


def pixel_tracks(tracker, video, boxes_xywh, labels, start_frame: int, end_frame: int | None,
                 stopped=lambda: False):
    """(frame, tracks) from `start_frame` (one frame-exact seek) to `end_frame` inclusive (None: the end
    of the video), the tracker started on `boxes_xywh` at the first; `stopped()` is asked before each
    frame. The `track` command and the plugin's pixel runs both track through this."""
    for frame in frames_from(video, start_frame):
        if (end_frame is not None and frame.index > end_frame) or stopped():
            return
        if frame.index == start_frame:
            tracks = tracker.init(frame.image, list(boxes_xywh), labels=labels)
        else:
            tracks = tracker.update(frame.image)
        yield frame, tracks


def run_pixel_job(job: TrackingJob, on_frame=None, progress=None, is_cancelled=None) -> JobResult:
    """Track `job`'s targets in pixels; the JobResult's `gpkg_path` is the JSON lines file (its partial
    file when the run failed after tracking some frames). Callbacks as `pipeline.run_tracking_job`'s."""
    started = time.perf_counter()
    output = pixel_results_path(job)
    frames_tracked, written, status, message = 0, 0, JOB_SUCCESS, ""
    try:
        if not job.boxes_xywh:
            raise SiamMaskError("draw at least one box around a target to track")
        from .ingest.video import VideoReader

        tracker = new_tracker(job)
        with VideoReader(job.video_path) as video, atomic_output(output, keep_on_failure=True) as partial:
            last_frame = job.end_frame if job.end_frame is not None else video.frame_count - 1
            total = max(1, last_frame - job.start_frame + 1)
            try:
                out = open(partial, "w", encoding="utf-8")
            except OSError as error:
                raise OutputError("cannot write the results file", details=str(error), path=output) from error
            with out:
                cancels = []  # is_cancelled() said yes before a frame

                def stopped() -> bool:
                    if is_cancelled is not None and is_cancelled():
                        cancels.append(True)
                    return bool(cancels)

                for frame, tracks in pixel_tracks(
                    tracker, video, job.boxes_xywh, job_labels(job), job.start_frame, job.end_frame, stopped
                ):
                    out.writelines(json.dumps(track_record(frame.index, t)) + "\n" for t in tracks)
                    out.flush()
                    frames_tracked, written = frames_tracked + 1, written + len(tracks)
                    if on_frame is not None:
                        on_frame(frame_features(tracks, None, frame.index, None, time_s=frame.time_s))
                    if progress is not None:
                        progress(min(100.0, 100.0 * frames_tracked / total))
                if cancels:
                    status = JOB_CANCELLED
                    message = f"cancelled after {frames_tracked} frames; they are kept"
            if frames_tracked == 0 and status == JOB_SUCCESS:
                problem = f"the video has no frame {job.start_frame} to start from"
                raise SiamMaskError(problem, path=job.video_path)
    except SiamMaskError as error:
        status, message = JOB_FAILED, error.user_message
    except Exception as error:  # a bug or a library failure must end the task cleanly, not kill QGIS
        log.exception("pixel tracking job failed")
        status, message = JOB_FAILED, f"unexpected error: {type(error).__name__}: {error}"
    kept = output if status != JOB_FAILED else partial_path(output)
    return JobResult(
        status, frames_tracked, written, str(kept), message, elapsed_s=time.perf_counter() - started
    )


def jsonl_to_csv(
    jsonl_path: str | Path,
    csv_path: str | Path,
    labels: dict[int, str] | None = None,
    deleted_track_ids: frozenset[int] = frozenset(),
) -> Path:
    """The records of a pixel run (or of the `track` command) as a CSV table, one row per track and frame
    (box in pixels, top-left x, y); written beside the target and renamed when complete. The analyst's
    edits apply to the table, the JSON lines stay as tracked: `labels` (track id -> label) rename,
    `deleted_track_ids` leave out."""
    labels = labels or {}
    try:
        lines = Path(jsonl_path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise OutputError("cannot read the pixel results", details=str(error), path=jsonl_path) from error
    with atomic_output(csv_path) as partial:
        try:
            with open(partial, "w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(PIXEL_CSV_COLUMNS)
                for line in filter(None, lines):
                    record = json.loads(line)
                    track_id = record[FIELD_TRACK_ID]
                    if track_id in deleted_track_ids:
                        continue
                    label = labels.get(track_id, record[FIELD_LABEL])
                    writer.writerow(
                        [record[FIELD_FRAME], track_id, label, *record["bbox"]]
                        + [record[FIELD_SCORE], record[FIELD_STATUS]]
                    )
        except OSError as error:
            raise OutputError("cannot write the CSV file", details=str(error), path=csv_path) from error
    return Path(csv_path)
