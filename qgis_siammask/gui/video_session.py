"""One open clip and what the dock derives from it per frame, without a widget: the reader, its
telemetry, the terrain and georeferencing mode, the camera of a frame and the runs' tracked frames (a
bounded number in memory, the others read back from each run's file).

Kept apart from the dock so that what a frame means (its record, its camera) is testable alone.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from qgis.core import Qgis, QgsMessageLog

from ..core.definitions import GEOREF_ST0601, PLUGIN_NAME
from ..core.files import partial_path
from ..core.output.frame_reader import RunFrames
from .dock_parts import tr


class VideoSession:
    """A clip opened with `open`; `camera_at` and `use_dem` say what went wrong instead of raising."""

    def __init__(self, video, video_path: str, telemetry, telemetry_path: str | None, telemetry_status: str):
        self.video = video
        self.video_path = video_path
        self.telemetry = telemetry  # core TelemetryTrack, None without telemetry
        self.telemetry_path = telemetry_path  # chosen by hand; None: found automatically
        self.telemetry_status = telemetry_status  # one line for the status bar
        self.terrain = None  # core.geo.terrain.DemTerrain of `dem_path`, None for flat ground
        self.dem_path: str | None = None
        self.georef = GEOREF_ST0601  # how a frame is put on the ground (definitions.GEOREF_MODES)
        self.run_frames = RunFrames()  # the runs' FrameFeatures by frame, for the video overlays
        self._frame_times_utc_s: np.ndarray | None = None

    @classmethod
    def open(cls, path: str, telemetry_path: str | None = None) -> VideoSession:
        """The clip and its telemetry (automatic when `telemetry_path` is None); SiamMaskError when the
        video cannot be read. A clip without usable telemetry opens all the same."""
        from ..core.errors import SiamMaskError, TelemetryError
        from ..core.ingest.telemetry import open_telemetry
        from ..core.ingest.video import VideoReader

        video = VideoReader(path)
        try:
            telemetry = open_telemetry(path, telemetry_path)
            records = len(telemetry.records)
            source = telemetry.records[0].source if records else "?"
            status = tr("{} telemetry, {} records").format(source.upper(), records)
        except (TelemetryError, SiamMaskError) as error:
            telemetry, telemetry_path = None, None
            status = tr("no telemetry ({}): the map shows nothing").format(error.user_message)
        return cls(video, str(path), telemetry, telemetry_path, status)

    @property
    def name(self) -> str:
        return Path(self.video_path).name

    @property
    def last_frame(self) -> int:
        return max(int(self.video.frame_count) - 1, 0)

    @property
    def fps(self) -> float:
        return self.video.fps or 25.0

    def summary(self) -> str:
        """One status line: name, size, rate, frames, telemetry."""
        video = self.video
        return tr("{}: {}x{} px, {:.2f} fps, {} frames; {}").format(
            self.name, video.width, video.height, video.fps, video.frame_count, self.telemetry_status
        )

    def start_run(self, job, pixels_only: bool) -> None:
        """A run of `job` (core TrackingJob) starts: its frames' overlays, once out of memory, are read
        back from its file (a pixel run's JSON lines without telemetry, else its GeoPackage)."""
        from ..core.pixel_job import pixel_results_path

        results = pixel_results_path(job) if pixels_only else Path(job.output_gpkg)
        self.run_frames.start_run(partial_path(results), results, pixel_records=pixels_only)

    def frame_features(self, index: int):
        """The runs' tracked features on frame `index` (core FrameFeatures), None where none; the
        problem is logged when the run's file cannot be read (moved, deleted)."""
        from ..core.errors import SiamMaskError

        try:
            return self.run_frames.get(index)
        except SiamMaskError as error:
            QgsMessageLog.logMessage(error.user_message, PLUGIN_NAME, Qgis.MessageLevel.Warning)
            return None

    def drop_track(self, track_id: int) -> None:
        """A track of the latest run deleted by the analyst: gone from every frame's overlays."""
        self.run_frames.delete_track(track_id)

    def add_frames(self, frames, merge: bool = False) -> None:
        """Frames the latest run tracked (core FrameFeatures); with `merge` (a continuation tracks some of
        the run before's tracks again) each frame keeps the other tracks the run before had there."""
        if merge:
            frames = [_merged(self.frame_features(features.frame), features) for features in frames]
        self.run_frames.add(frames)

    def read(self, index: int):
        """The decoded frame `index` (core VideoFrame), None past the end or when it cannot be decoded."""
        from ..core.errors import SiamMaskError

        try:
            return self.video.read(index)
        except (SiamMaskError, IndexError, EOFError):
            return None

    def use_dem(self, dem_path: str | None) -> str | None:
        """Project onto this DEM from now on (None: flat ground); the problem when it cannot be read."""
        if dem_path == self.dem_path:
            return None
        self.terrain, self.dem_path = None, dem_path
        if not dem_path:
            return None
        from ..core.errors import SiamMaskError
        from ..core.geo.terrain import DemTerrain

        try:
            self.terrain = DemTerrain(dem_path)
        except SiamMaskError as error:
            return error.user_message
        return None

    def camera_at(self, time_s: float):
        """(telemetry record, frame geometry in the session's `georef` mode, problem) of a video time;
        record and geometry may be None."""
        if self.telemetry is None:
            return None, None, None
        from ..core.errors import SiamMaskError
        from ..core.geo.camera import frame_geometry

        record = self.telemetry.at(time_s)
        try:
            camera = frame_geometry(
                record, self.video.width, self.video.height, self.georef, terrain=self.terrain
            )
        except SiamMaskError as error:
            return record, None, error.user_message
        return record, camera, None

    def frame_times_utc_s(self) -> np.ndarray | None:
        """(frame_count,) POSIX seconds of each frame from its telemetry (NaN where unknown); None
        without telemetry. Frame i is at i / fps on the video timeline, as the tracker reads it."""
        if self.telemetry is None:
            return None
        if self._frame_times_utc_s is None:
            times = [self.telemetry.at(index / self.fps).time_utc for index in range(self.last_frame + 1)]
            self._frame_times_utc_s = np.array(
                [t.timestamp() if t is not None else np.nan for t in times], dtype=np.float64
            )
        return self._frame_times_utc_s

    def frame_at_utc(self, utc_s: float) -> int | None:
        """The frame on screen at map time `utc_s`: the last whose time is not after it (the first frame
        before the clip starts); None without frame times."""
        times = self.frame_times_utc_s()
        known = np.flatnonzero(~np.isnan(times)) if times is not None else np.empty(0, dtype=int)
        if not len(known):
            return None
        position = int(np.searchsorted(times[known], utc_s + 1e-4, side="right")) - 1
        return int(known[max(position, 0)])

    def close(self) -> None:
        self.video.close()
        self.run_frames.clear()


def _merged(earlier, features):
    """`features` (core FrameFeatures) with the tracks of `earlier` (same frame, None: none) it has not."""
    if earlier is None:
        return features
    ids = {track.track_id for track in features.tracks}
    others = tuple(track for track in earlier.tracks if track.track_id not in ids)
    return dataclasses.replace(features, tracks=others + tuple(features.tracks))
