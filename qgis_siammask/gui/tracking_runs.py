"""The run controller of the video dock: one tracking run at a time for the open clip, its live layers
swapped for its GeoPackage's when it ends, a finished run corrected in its file (a track re-seated, a
target added mid-clip), the temporal controller offered the run's span; the output folder and export
(`run_export`).

An object without widgets of its own: the dock gives it the clip, the frame and the boxes, connects
its signals (status, progress, frames tracked, run finished) and keeps the layout.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from qgis.core import Qgis, QgsApplication, QgsProject
from qgis.PyQt.QtCore import QObject, pyqtSignal
from qgis.PyQt.QtGui import QColor

from .. import track_edits
from ..core.definitions import (
    FIELD_FRAME,
    FIELD_TRACK_ID,
    JOB_CANCELLED,
    JOB_FAILED,
    LAYER_POINTS,
    PLUGIN_NAME,
    STATUS_LOST,
)
from ..layer_tree import VideoLayerGroup
from ..layers import TrackLayers
from ..settings import load_settings, run_output_path
from ..tasks import TrackingTask, build_job
from .corrections import pixel_bbox, plan_correction
from .dock_parts import tr
from .run_export import RunExport


def next_run_title(project: QgsProject) -> str:
    """ "tracks N" numbered in the project: one more than the highest N of its groups (a reopened
    project's runs included, whoever made them)."""
    pattern = tr("tracks {}")
    run_name = re.compile(re.escape(pattern).replace(re.escape("{}"), r"(\d+)"))
    numbers = [
        int(match.group(1))
        for match in (run_name.fullmatch(group.name()) for group in project.layerTreeRoot().findGroups(True))
        if match
    ]
    return pattern.format(max(numbers, default=0) + 1)


class RunController(QObject, RunExport):
    """The latest run: `task` while it runs, then `track_layers` (read from `result_gpkg`) or
    `result_pixels` (a video without telemetry), and `last_outcome`."""

    statusChanged = pyqtSignal(str, object)  # text, Qgis message level
    refused = pyqtSignal(str)  # why a correction did not start (the status keeps the run's file)
    progressChanged = pyqtSignal(int)  # percent of the frames to track
    framesTracked = pyqtSignal(list)  # core FrameFeatures just added to the live layers (main thread)
    runFinished = pyqtSignal(object)  # core JobResult, after the layers were swapped for the file's

    def __init__(self, iface, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.task: TrackingTask | None = None
        self.track_layers: TrackLayers | None = None  # of the latest run
        self.result_gpkg: Path | None = None  # the latest run's GeoPackage
        self.result_pixels: Path | None = None  # the latest pixel run's JSON lines (video without telemetry)
        # the analyst's renames and deletions of the pixel run's tracks, applied when it is exported
        self.pixel_labels: dict[int, str] = {}
        self.pixel_deleted_ids: set[int] = set()
        self.last_outcome = None
        self.last_job = None  # the latest run's core TrackingJob: a correction tracks with its parameters
        self.run_session = None  # the gui VideoSession the latest run tracked
        self._frames_to_track = 1  # frames from the run's start frame to its end frame
        self.continuing = False  # the latest run corrects the one before in its file
        self.correction_layers: TrackLayers | None = None  # a correction's frames, live, until it ends
        # the highest track id the latest run's file ever held (deleted tracks too): an added target's id
        # is above it, so no id is used twice in one file
        self.highest_track_id = 0

    @property
    def results(self) -> str | None:
        """What the latest run left to export: "gpkg", "pixels" (JSON lines) or None."""
        return (
            "gpkg" if self.result_gpkg is not None else "pixels" if self.result_pixels is not None else None
        )

    def _status(self, text: str, level=Qgis.MessageLevel.Info) -> None:
        self.statusChanged.emit(text, level)

    def _message_bar(self, text: str, level, duration_s: int) -> None:
        if self.iface is not None and self.iface.messageBar() is not None:
            self.iface.messageBar().pushMessage(PLUGIN_NAME, text, level, duration_s)

    # --- tracking --------------------------------------------------------------------------------
    @staticmethod
    def make_job(session, start_frame: int, end_frame: int | None, boxes, output_gpkg: str | None = None):
        """The frozen engine job for the clip, start frame, boxes (DrawnBox) and settings.

        Without `output_gpkg` the run goes to the settings' output folder (beside the saved project by
        default), named after the video and the time; OSError when that folder cannot be made."""
        settings = load_settings()
        if output_gpkg is None:
            folder = settings.output_dir()
            folder.mkdir(parents=True, exist_ok=True)
            output_gpkg = str(run_output_path(folder, Path(session.video_path).stem))
        return build_job(
            video_path=session.video_path,
            telemetry_path=session.telemetry_path,
            model_path=settings.effective_model_path,
            start_frame=start_frame,
            end_frame=end_frame,
            boxes_xywh=tuple(box.xywh for box in boxes),
            labels=tuple(box.label for box in boxes),
            dem_path=settings.dem_path(),
            georef=settings.georef,
            output_gpkg=output_gpkg,
            crs=settings.output_crs,
            device=settings.device,
            precision=settings.precision,
            score_threshold=settings.score_threshold,
        )

    def boxes_frame(self, boxes, end_frame: int | None) -> int | None:
        """The frame the boxes were drawn on (a run starts there); None, said in the status, when they
        were drawn on different frames (a box only holds its object on its own frame) or after the end
        frame."""
        frames = sorted({box.frame for box in boxes})
        if len(frames) > 1:
            self._status(
                tr("The boxes were drawn on different frames ({}): clear them, draw all on one frame").format(
                    ", ".join(map(str, frames))
                ),
                Qgis.MessageLevel.Warning,
            )
            return None
        if end_frame is not None and end_frame < frames[0]:
            text = tr("The end frame {} is before the boxes' frame ({})").format(end_frame, frames[0])
            self._status(text, Qgis.MessageLevel.Warning)
            return None
        return frames[0]

    def start(
        self,
        session,
        group: VideoLayerGroup,
        start_frame: int,
        end_frame: int | None,
        boxes,
        output_gpkg: str | None = None,
    ) -> TrackingTask | None:
        """Track `boxes` from `start_frame` in a background task; live layers in a new run group under
        `group`. None (said in the status) when the output folder cannot be made."""
        try:
            job = self.make_job(session, start_frame, end_frame, boxes, output_gpkg)
        except OSError as error:
            self._status(tr("Cannot write the output folder: {}").format(error), Qgis.MessageLevel.Critical)
            return None
        pixels_only = session.telemetry is None  # tracked in pixels: overlays and JSON lines, no layers
        self.track_layers = self.result_gpkg = self.result_pixels = None
        self.pixel_labels, self.pixel_deleted_ids = {}, set()
        self.highest_track_id = 0
        if not pixels_only:
            run_group = VideoLayerGroup(next_run_title(QgsProject.instance()), parent=group)
            self.track_layers = TrackLayers(run_group, job.crs, 1.0 / session.fps)
        self.continuing = False
        from ..core.pixel_job import pixel_results_path

        written = pixel_results_path(job) if pixels_only else job.output_gpkg  # the file the run writes
        self._status(tr("Tracking… (output {})").format(written))
        description = tr("Tracking {} target(s) in {}").format(len(boxes), session.name)
        return self._launch(job, session, description, pixels_only)

    def continue_run(
        self, session, boxes, frame: int, track_id: int | None, styles: dict, end_frame: int | None
    ) -> TrackingTask | None:
        """Correct the latest run in its own file from frame `frame` (shown), on the last of `boxes` drawn
        there: track `track_id` re-seated on it (None: added as a target, its id one above the run's
        highest), tracked on together with the run's tracks not lost on that frame, from their boxes
        there; `styles` (tracks panel) give the analyst's labels. None, said in the status, without a
        finished run's file or such a box."""
        from ..core.output.gpkg_format import MODE_CONTINUE

        if self.task is not None or self.result_gpkg is None or self.last_job is None:
            return None
        drawn_here = [box for box in boxes if box.frame == frame]
        if not drawn_here:
            self.refused.emit(tr("Draw the new box on the frame shown, then click again"))
            return None
        box, labels = drawn_here[-1], {track: style.label for track, style in styles.items()}
        if self.boxes_frame([box], end_frame) is None:  # after the end frame
            return None
        known_ids = [*self._run_track_ids(), *labels, self.highest_track_id]
        plan = plan_correction(session.frame_features(frame), box, track_id, labels, known_ids)
        job = dataclasses.replace(
            self.last_job,  # the run's model, device, DEM, CRS, georeferencing, whatever the settings say now
            start_frame=box.frame,
            end_frame=end_frame,
            boxes_xywh=tuple(planned.xywh for planned in plan.boxes),
            labels=tuple(planned.label for planned in plan.boxes),
            output_gpkg=str(self.result_gpkg),
            output_mode=MODE_CONTINUE,
            track_ids=plan.track_ids,
            corrections=(plan.correction,),
        )
        self.continuing = True  # the map keeps the run's file (no live layers) until the corrected one
        self._status(plan.text + " " + tr("(output {})").format(job.output_gpkg))
        if self.track_layers is not None:  # the file is read again at the end: live in a sub-group till then
            live = VideoLayerGroup(tr("correction (live)"), parent=self.track_layers.group)
            self.correction_layers = TrackLayers(live, job.crs, self.track_layers.frame_duration_s)
        return self._launch(job, session, plan.text)

    def last_tracked_frame(self) -> int | None:
        """The last frame the latest run tracked (its frames run on from its start frame)."""
        outcome, job = self.last_outcome, self.last_job
        if outcome is None or job is None or not outcome.frames_tracked:
            return None
        return job.start_frame + outcome.frames_tracked - 1

    def resume_refusal(self, session) -> str:
        """Why the latest run cannot be resumed ("" when it can): only a stopped run with its file."""
        if self.task is not None:
            return tr("A run is in progress")
        if self.last_outcome is None or self.last_outcome.status != JOB_CANCELLED:
            return tr("Resume goes on with a run after Stop; no run was stopped")
        if self.result_gpkg is None:
            return tr("The stopped run has no GeoPackage to go on in (tracked in pixels, or nothing tracked)")
        last, end = self.last_tracked_frame(), self.last_job.end_frame
        final = end if end is not None else (session.last_frame if session is not None else None)
        if last is None or (final is not None and last >= final):
            return tr("The stopped run reached its end frame")
        features = session.frame_features(last) if session is not None else None
        if features is None or not any(track.status != STATUS_LOST for track in features.tracks):
            return tr("Every track was lost on frame {}, where the run stopped").format(last)
        return ""

    def resume(self, session, styles: dict) -> TrackingTask | None:
        """Go on with the stopped run from the last frame it tracked, into its own file: each track not
        lost there from its box there (that frame tracked again, as a correction does), up to the run's
        end frame; `styles` (tracks panel) give the analyst's labels. None, said, when it cannot."""
        from ..core.output.gpkg_format import MODE_CONTINUE

        refusal = self.resume_refusal(session)
        if refusal:
            self.refused.emit(refusal)
            return None
        last = self.last_tracked_frame()
        tracks = [
            track
            for track in session.frame_features(last).tracks
            if track.status != STATUS_LOST and track.box_px is not None
        ]
        labels = {track_id: style.label for track_id, style in styles.items()}
        job = dataclasses.replace(
            self.last_job,
            start_frame=last,
            boxes_xywh=tuple(pixel_bbox(track.box_px) for track in tracks),
            labels=tuple(labels.get(track.track_id, track.label) for track in tracks),
            output_gpkg=str(self.result_gpkg),
            output_mode=MODE_CONTINUE,
            track_ids=tuple(track.track_id for track in tracks),
            corrections=(),
        )
        self.continuing = True  # the map keeps the run's file (no live layers) until it is read again
        text = tr("Resuming {} track(s) from frame {}…").format(len(tracks), last)
        self._status(text + " " + tr("(output {})").format(job.output_gpkg))
        return self._launch(job, session, text)

    def _launch(self, job, session, description: str, pixels_only: bool = False) -> TrackingTask:
        last_frame = job.end_frame if job.end_frame is not None else int(session.video.frame_count) - 1
        self._frames_to_track = max(last_frame - job.start_frame + 1, 1)
        self.task, self.last_job = TrackingTask(job, description, pixels_only=pixels_only), job
        self.run_session = session  # the clip it tracks: the dock may open another one meanwhile
        self.task.framesReady.connect(self._drain_task)
        self.task.progressChanged.connect(self._task_progress)
        self.task.outcomeReady.connect(self._tracking_finished)
        self.progressChanged.emit(0)
        QgsApplication.taskManager().addTask(self.task)
        return self.task

    def frames_before(self, job) -> dict[int, int]:
        """Frames the run kept of each track a continuation `job` (core TrackingJob) tracks again: those
        before its start frame in the run's points layer (0 without it)."""
        track_ids, frame = job.track_ids, job.start_frame
        from qgis.core import QgsFeatureRequest, QgsVectorLayer

        counts = dict.fromkeys(track_ids, 0)
        points: QgsVectorLayer | None = self.run_layers().get(LAYER_POINTS)
        if points is not None:
            request = QgsFeatureRequest().setFilterExpression(f'"{FIELD_FRAME}" < {int(frame)}')
            request.setFlags(QgsFeatureRequest.Flag.NoGeometry).setSubsetOfAttributes(
                [FIELD_TRACK_ID], points.fields()
            )
            for feature in points.getFeatures(request):
                if feature[FIELD_TRACK_ID] in counts:
                    counts[feature[FIELD_TRACK_ID]] += 1
        return counts

    def corrections_after(self, frame: int) -> list[tuple[int, int, str]]:
        """(frame, track id, kind) of the run's corrections after `frame`, from its file: a correction from
        `frame` tracks the run's tracks again over them."""
        from qgis.core import QgsVectorLayer

        from ..core.definitions import FIELD_CORRECTION_KIND, LAYER_CORRECTIONS
        from ..core.output.gpkg_format import gpkg_tables

        if self.result_gpkg is None or LAYER_CORRECTIONS not in gpkg_tables(self.result_gpkg):
            return []
        table = QgsVectorLayer(f"{self.result_gpkg}|layername={LAYER_CORRECTIONS}", LAYER_CORRECTIONS, "ogr")
        rows = [(f[FIELD_FRAME], f[FIELD_TRACK_ID], f[FIELD_CORRECTION_KIND]) for f in table.getFeatures()]
        return sorted(row for row in rows if row[0] > frame)

    def _run_track_ids(self) -> list[int]:
        """The track ids in the run's file (its points layer), deleted tracks gone."""
        points = self.run_layers().get(LAYER_POINTS)
        if points is None:
            return []
        return [int(value) for value in points.uniqueValues(points.fields().indexOf(FIELD_TRACK_ID))]

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _task_progress(self, value: float) -> None:
        if self.task is not None:  # a finished task reports 100 % even when it was cancelled
            self.progressChanged.emit(int(value))

    def _drain_task(self) -> None:
        """Main thread: the frames tracked so far into the live layers; `framesTracked` passes them on."""
        task = self.sender() if isinstance(self.sender(), TrackingTask) else self.task
        frames = task.take() if task is not None else []
        if not frames:
            return
        tracked_ids = [track.track_id for features in frames for track in features.tracks]
        self.highest_track_id = max([self.highest_track_id, *tracked_ids])
        if self.track_layers is not None and not self.continuing:
            self.track_layers.add_frames(frames)
        elif self.correction_layers is not None:
            self.correction_layers.add_frames(frames)
        self.framesTracked.emit(frames)

    def _drop_correction_layers(self) -> None:
        if self.correction_layers is not None:
            self.correction_layers.group.remove()
            self.correction_layers = None

    def _tracking_finished(self, outcome) -> None:
        self.last_outcome = outcome
        self.task = None
        self._drop_correction_layers()  # the corrected file's layers show its frames now
        self.progressChanged.emit(int(round(100.0 * outcome.frames_tracked / self._frames_to_track)))
        text = self.keep_results(outcome)
        failed = outcome.status == JOB_FAILED
        self._status(text, Qgis.MessageLevel.Warning if failed else Qgis.MessageLevel.Info)
        self._message_bar(text, Qgis.MessageLevel.Critical if failed else Qgis.MessageLevel.Success, 8)
        self.runFinished.emit(outcome)

    def keep_results(self, outcome) -> str:
        """Swap the run's live layers for its GeoPackage's (a failed run's empty group goes); the status."""
        if self.track_layers is None:  # a pixel run: its JSON lines file
            results = Path(outcome.gpkg_path)
            self.result_pixels = results if outcome.frames_tracked and results.is_file() else None
            text = tr("Tracking {} in pixels (no telemetry): {} frames").format(
                outcome.status, outcome.frames_tracked
            )
            text += f" ({outcome.message})" if outcome.message else ""
            return text + ("\n" + tr("Saved in {}").format(results) if self.result_pixels else "")
        gpkg = Path(outcome.gpkg_path) if outcome.gpkg_path else None
        layers = self.track_layers
        regrouped = layers is not None and not layers.group.exists
        if outcome.frames_tracked and gpkg is not None and gpkg.is_file() and layers is not None:
            if layers.load_geopackage(gpkg):
                self.result_gpkg = gpkg
        elif layers is not None and not self.continuing:  # a new run tracked nothing: no empty
            layers.group.remove()  # group, nothing to export (a continuation leaves the run as it was)
            self.track_layers, self.result_gpkg, regrouped = None, None, False
        counts = self.track_layers.feature_counts() if self.track_layers is not None else {}
        text = tr("Tracking {}: {} frames; {}").format(
            outcome.status, outcome.frames_tracked, ", ".join(f"{n} {c}" for n, c in counts.items())
        )
        if outcome.message:
            text += f" ({outcome.message})"
        if self.result_gpkg == gpkg and gpkg is not None:
            text += "\n" + tr("Saved in {}").format(gpkg)
        if regrouped:
            text += "\n" + tr("The run's layer group was removed while tracking: added again from the file.")
        return text

    def offer_to_temporal_controller(self, map_time) -> bool:
        """Map time on again, spanning the whole clip (the run's span lies inside it: the analyst can go
        on to frames outside the run), so the run's layers animate; the caller shows its frame again.
        False when the run has no time span."""
        extent = self.track_layers.time_extent() if self.track_layers is not None else None
        return extent is not None and map_time.follow_clip()

    def shutdown(self, quitting: bool = False) -> None:
        """Plugin unloaded or QGIS quitting mid-run: cancel, wait, keep the frames committed so far (in
        the run's file; unloaded, also on the map: `quitting` leaves the project alone)."""
        if self.task is None:
            return
        task, self.task = self.task, None
        task.framesReady.disconnect()
        task.outcomeReady.disconnect()
        task.cancel()
        task.waitForFinished(10000)
        if not quitting:
            self._drop_correction_layers()
        kept = tr("the frames committed so far go to {}").format(task.job.output_gpkg)
        if task.outcome is not None and not quitting:  # finished() never runs for a task nobody hears
            kept = self.keep_results(task.outcome)
        self._status(
            tr("The run was cut short (plugin unloaded or QGIS closing): {}").format(kept),
            Qgis.MessageLevel.Warning,
        )

    def forget(self) -> None:
        """File > New Project, another project or another clip opened: the latest run is not the dock's
        any more (nothing to export, no progress)."""
        self.track_layers = self.result_gpkg = self.result_pixels = self.last_outcome = self.last_job = None
        self.run_session = None
        self.pixel_labels, self.pixel_deleted_ids = {}, set()
        self.highest_track_id = 0
        self.progressChanged.emit(0)

    # --- one track edited on the run's layers --------------------------------------------------
    def run_layers(self) -> dict:
        return self.track_layers.layers if self.track_layers is not None else {}

    def set_track_visible(self, track_id: int, visible: bool) -> None:
        track_edits.set_track_visible(self.run_layers(), track_id, visible)

    def set_track_color(self, track_id: int, color: str) -> None:
        track_edits.set_track_color(self.run_layers(), track_id, QColor(color))

    def rename_track(self, track_id: int, label: str) -> None:
        self.pixel_labels[track_id] = label  # a pixel run has no layers: its export renames
        track_edits.rename_track(self.run_layers(), track_id, label)

    def delete_track(self, track_id: int) -> None:
        self.pixel_deleted_ids.add(track_id)
        track_edits.delete_track(self.run_layers(), track_id)
        counts = self.track_layers.feature_counts() if self.track_layers is not None else {}
        text = tr("Track {} deleted").format(track_id)
        if counts:  # the run's counts as they are now, not as the run ended
            text += "; " + ", ".join(f"{name} {count}" for name, count in counts.items())
        if self.result_gpkg is not None:
            text += "\n" + tr("Saved in {}").format(self.result_gpkg)
        self._status(text)

    def apply_track_styles(self, styles: dict) -> None:
        """The file's layers get what the analyst chose on the live ones (tracks panel TrackStyles)."""
        for track_id, style in styles.items():
            self.set_track_visible(track_id, style.visible)
            self.set_track_color(track_id, style.color)
            if style.renamed:
                self.rename_track(track_id, style.label)
