"""One tracking job end to end: video + telemetry -> SiamMask -> camera model -> ground features -> GeoPackage.

The Processing algorithm, the QgsTask and the CLI all call `run_tracking_job`; it never raises for a
user-level problem but returns a `JobResult` (success / failed / cancelled) whose message names the file
and the problem. Everything is checked before the first frame is tracked where it can be (output path,
telemetry, DEM, model), and every frame is committed to the GeoPackage as soon as it is tracked, so a
failure or a cancel keeps all frames before it.

Output contract (batch runners rely on it): **a file at `output_gpkg` is always a finished run.** While
a run is in progress its frames are committed to `NAME.partial.gpkg` beside `NAME.gpkg`
(`files.partial_path`), which is renamed over `NAME.gpkg` when the run ends with success or
cancel (a cancel keeps its frames). After a failure the partial file is kept when it holds frames (the
message names it; without frames it is removed), and after a kill it stays as it was (until the next
run to the same output starts); in both cases an earlier file at `output_gpkg` is byte-identical. Append mode copies the existing file to the partial
file first. `JobResult.gpkg_path` is where the frames are: `output_gpkg`, or the partial file after a
failure that kept frames.

A continuation (`output_mode` "continue") corrects a finished run in its own file: from `start_frame` on
the boxes' tracks (`track_ids`: a re-seated track keeps its id, an added target gets a new one) replace
what the run had for them, and `corrections` are recorded (track_store.TrackStore.continue_tracks); it
works on the partial copy like append mode, so a failed continuation leaves the run's file as it was, and
one stopped (or given an end frame) before the run's last frame keeps the run's frames after it.

Without any telemetry the job fails with a clear error: a GeoPackage needs ground positions (the `track`
command writes pixel-only results). A frame whose telemetry cannot define a camera (NaN position, zero
FOV, gaps before the first record) is still tracked and written, flagged `no_camera`, without geometry.

With `geo_guidance` (the default) each frame's camera model steers the search (tracking/guidance.py):
the tracker looks where the target's ground track predicts it, and a lost target coasts there (its
features flagged `coasted`); frames without a camera fall back to the tracker's own rule.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .definitions import (
    DEFAULT_CRS,
    DEFAULT_SCORE_THRESHOLD,
    GEO_FLAG_NO_CAMERA,
    GEOREF_MODES,
    GEOREF_ST0601,
    JOB_CANCELLED,
    JOB_FAILED,
    JOB_SUCCESS,
    PRECISION_FP32,
    TRACK_LAYERS,
)
from .errors import OutputError, ProjectionError, SiamMaskError
from .files import commit as commit_output
from .files import copy_database, discard, partial_path
from .output.gdal_mode import with_gdal_return_codes
from .output.geometry import DEFAULT_SIMPLIFY_TOLERANCE_M, FrameFeatures, MotionEstimator, frame_features
from .output.gpkg_format import MODE_APPEND, MODE_CONTINUE, MODE_REPLACE, check_writable
from .output.track_store import SQLITE_SIDE_FILES, TrackStore
from .records import Correction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackingJob:
    """Everything one run needs; built by the GUI, the Processing algorithm or the CLI.

    `boxes_xywh`: one (x, y, width, height) pixel box per target in frame `start_frame`;
    `end_frame`: last frame tracked (inclusive), None for the end of the video; `track_ids`: one id per
    box (None: 1, 2, ... after the ids already in an appended file); `corrections`: what a continuation
    (`output_mode` "continue") records.
    """

    video_path: str
    model_path: str
    output_gpkg: str
    boxes_xywh: tuple[tuple[float, float, float, float], ...]
    labels: tuple[str, ...] | None = None
    telemetry_path: str | None = None
    start_frame: int = 0
    end_frame: int | None = None
    dem_path: str | None = None
    crs: str = DEFAULT_CRS
    device: str = "auto"
    precision: str = PRECISION_FP32
    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    simplify_tolerance_m: float = DEFAULT_SIMPLIFY_TOLERANCE_M
    output_mode: str = MODE_REPLACE
    geo_guidance: bool = True  # search where the telemetry predicts each target; coast lost ones
    georef: str = GEOREF_ST0601  # how each frame is put on the ground (definitions.GEOREF_MODES)
    track_ids: tuple[int, ...] | None = None
    corrections: tuple[Correction, ...] = ()


@dataclass(frozen=True)
class JobResult:
    """Outcome of a job: status is definitions.JOB_SUCCESS, JOB_FAILED or JOB_CANCELLED."""

    status: str
    frames_tracked: int
    features_written: int
    gpkg_path: str
    message: str = ""
    details: str = ""
    frames_without_camera: int = 0
    elapsed_s: float = 0.0
    layer_feature_counts: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == JOB_SUCCESS


def run_tracking_job(
    job: TrackingJob,
    on_frame: Callable[[FrameFeatures], None] | None = None,
    progress: Callable[[float], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    load_tracker: Callable[[TrackingJob], object] | None = None,
) -> JobResult:
    """Track `job`'s targets through its video and write every frame to `job.output_gpkg` (through its
    partial file, see the module's output contract).

    `on_frame(features)` is called after each frame is committed (the plugin draws it live; an exception
    there stops the job as failed, keeping the file); `progress(percent)` gets 0-100; `is_cancelled()`
    is polled once per frame. `load_tracker(job)` gives the SiamMaskTracker to use (default: a new one
    from `job.model_path`); batch workers pass one that keeps a loaded model across jobs.
    """
    started = time.perf_counter()
    run = _Run(job, load_tracker or new_tracker)
    try:
        run.prepare()
        status = run.track(on_frame, progress, is_cancelled or (lambda: False))
        message = "" if status == JOB_SUCCESS else f"cancelled after {run.frames_tracked} frames; they are kept"
        details = ""
    except SiamMaskError as error:
        status, message, details = JOB_FAILED, error.user_message, error.details
    except Exception as error:  # a bug or a library failure must end the task cleanly, not kill QGIS
        log.exception("tracking job failed")
        status, message, details = JOB_FAILED, f"unexpected error: {type(error).__name__}: {error}", ""
    close_error = run.close(commit=status != JOB_FAILED)
    if close_error is not None and status != JOB_FAILED:
        status, message, details = JOB_FAILED, close_error.user_message, close_error.details
    if status == JOB_FAILED and run.frames_tracked:
        message = f"{message} (the {run.frames_tracked} frames tracked before are kept in {run.gpkg_path})"
    return JobResult(
        status=status,
        frames_tracked=run.frames_tracked,
        features_written=run.store.features_written if run.store else 0,
        gpkg_path=str(run.gpkg_path),
        message=message,
        details=details,
        frames_without_camera=run.frames_without_camera,
        elapsed_s=time.perf_counter() - started,
        layer_feature_counts=(layer_feature_counts(run.gpkg_path)
                              if run.store and (run.frames_tracked or status != JOB_FAILED) else {}),
    )


class _Run:
    """The state of one job between `prepare` and `close`."""

    def __init__(self, job: TrackingJob, load_tracker: Callable[[TrackingJob], object]):
        self.job = job
        self.load_tracker = load_tracker
        self.partial_gpkg = partial_path(job.output_gpkg)
        self.gpkg_path = Path(job.output_gpkg)  # where the frames are once the run has ended
        self.store: TrackStore | None = None
        self.video = None
        self.frames_tracked = 0
        self.frames_without_camera = 0

    def prepare(self) -> None:
        """Open and check every input and the output before the first frame is tracked."""
        job = self.job
        if not job.boxes_xywh:
            raise SiamMaskError("draw at least one box around a target to track")
        if job.georef not in GEOREF_MODES:
            raise SiamMaskError(
                f"unknown georeferencing {job.georef!r}: expected one of {', '.join(GEOREF_MODES)}"
            )
        if job.track_ids is not None and len(job.track_ids) != len(job.boxes_xywh):
            raise SiamMaskError(f"{len(job.track_ids)} track ids for {len(job.boxes_xywh)} boxes")
        check_writable(job.output_gpkg, job.output_mode)
        continuing = job.output_mode == MODE_CONTINUE
        if continuing and (job.track_ids is None or not Path(job.output_gpkg).is_file()):
            raise OutputError("a continuation needs the run's file and the ids of the tracks it continues",
                              path=job.output_gpkg)
        from .geo.terrain import DemTerrain
        from .ingest.telemetry import open_telemetry
        from .ingest.video import VideoReader

        self.telemetry = open_telemetry(job.video_path, job.telemetry_path)
        self.terrain = DemTerrain(job.dem_path) if job.dem_path else None
        self.video = VideoReader(job.video_path)
        self.tracker = self.load_tracker(job)
        discard(self.partial_gpkg, SQLITE_SIDE_FILES)  # a killed run's leftovers
        try:
            if job.output_mode in (MODE_APPEND, MODE_CONTINUE) and Path(job.output_gpkg).is_file():
                copy_database(job.output_gpkg, self.partial_gpkg)  # with the edits still in its WAL
            self.store = TrackStore(self.partial_gpkg, crs=job.crs, mode=job.output_mode)
        except BaseException:
            discard(self.partial_gpkg, SQLITE_SIDE_FILES)
            raise

    def track(self, on_frame, progress, is_cancelled) -> str:
        from .tracking.guidance import GeoGuidance

        job, video, store, motion = self.job, self.video, self.store, MotionEstimator()
        guidance = GeoGuidance() if job.geo_guidance else None
        # appended runs get new ids, not merged lines; given ids are kept
        track_id_offset = self.store.next_track_id if job.track_ids is None else 0
        # frame_count may be an estimate: it sizes the progress bar, never ends the loop
        last_frame = job.end_frame if job.end_frame is not None else video.frame_count - 1
        total = max(1, last_frame - job.start_frame + 1)
        status, last_written = JOB_SUCCESS, None
        for frame in frames_from(video, job.start_frame):
            if job.end_frame is not None and frame.index > job.end_frame:
                break
            if is_cancelled():
                status = JOB_CANCELLED
                break
            record = self.telemetry.at(frame.time_s)
            camera, camera_error = self._camera(record)
            if frame.index == job.start_frame:
                tracks = self.tracker.init(frame.image, list(job.boxes_xywh), labels=job_labels(job),
                                           reset=True, track_ids=job.track_ids)
                if job.output_mode == MODE_CONTINUE:
                    store.continue_tracks(job.track_ids, job.start_frame, job.corrections, record.time_utc)
            else:
                hints = guidance.hints(camera, frame.time_s) if guidance is not None else None
                tracks = self.tracker.update(frame.image, search_hints=hints)
            if guidance is not None:
                guidance.observe(tracks, camera, frame.time_s)
            if track_id_offset:
                tracks = [dataclasses.replace(t, track_id=t.track_id + track_id_offset) for t in tracks]
            features = frame_features(
                tracks,
                camera,
                frame.index,
                record.time_utc,
                simplify_tolerance_m=job.simplify_tolerance_m,
                crs=job.crs,
                motion=motion,
                time_s=frame.time_s,
                camera_error=camera_error,
                georef=job.georef,
            )
            self.store.write_frame(features)
            self.frames_tracked, last_written = self.frames_tracked + 1, frame.index
            self.frames_without_camera += features.geo_flag == GEO_FLAG_NO_CAMERA
            if on_frame is not None:
                on_frame(features)
            if progress is not None:
                progress(min(100.0, 100.0 * self.frames_tracked / total))
        if job.output_mode == MODE_CONTINUE and last_written is not None:  # stopped before the run's end
            store.keep_later_frames(job.output_gpkg, job.track_ids, last_written)
        if self.frames_tracked == 0 and status == JOB_SUCCESS:
            raise SiamMaskError(f"the video has no frame {job.start_frame} to start from", path=job.video_path)
        return status

    def _camera(self, record):
        """(the frame's camera model or None, why there is none)."""
        from .geo.camera import frame_geometry

        width, height = self.video.width, self.video.height
        try:
            return frame_geometry(record, width, height, self.job.georef, terrain=self.terrain), ""
        except ProjectionError as error:
            return None, error.user_message

    def close(self, commit: bool) -> SiamMaskError | None:
        """Close the store (bringing track lines up to date) and the video, then rename the partial file
        over the output (`commit`, and closed cleanly), or keep it when it holds frames, else remove it.
        Returns a close or rename error, if any."""
        error = None
        if self.video is not None:
            self.video.close()
        if self.store is None:
            return None
        try:
            self.store.close()
            if commit:
                self.gpkg_path = commit_output(self.partial_gpkg, self.job.output_gpkg, SQLITE_SIDE_FILES)
                return None
        except SiamMaskError as close_error:
            error = close_error
        if self.frames_tracked:
            self.gpkg_path = self.partial_gpkg
        else:
            discard(self.partial_gpkg, SQLITE_SIDE_FILES)
        return error


def new_tracker(job: TrackingJob):
    """A SiamMaskTracker with `job`'s model, device, precision and score threshold."""
    from .tracking.tracker import SiamMaskTracker

    return SiamMaskTracker(job.model_path, device=job.device, score_threshold=job.score_threshold,
                           precision=job.precision)


def frames_from(video, start_frame: int):
    """Frames from `start_frame` on: one seek to it (frame-exact), then straight decoding."""
    frame = video.read(start_frame)
    while frame is not None:
        yield frame
        frame = video.read(frame.index + 1)


def job_labels(job: TrackingJob) -> list[str] | None:
    return list(job.labels) if job.labels else None


@with_gdal_return_codes
def layer_feature_counts(gpkg_path: str | Path) -> dict[str, int]:
    """Features per track layer in a GeoPackage written by the track store (0 for missing layers)."""
    from osgeo import ogr

    dataset = ogr.Open(str(gpkg_path))
    if dataset is None:
        return {}
    counts = {}
    for name in TRACK_LAYERS:
        layer = dataset.GetLayerByName(name)
        counts[name] = layer.GetFeatureCount() if layer is not None else 0
    return counts
