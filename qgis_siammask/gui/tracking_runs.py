"""The tracking half of the video dock: a run started from the dock's state, its live layers swapped
for its GeoPackage's when it ends, the output folder, export.

A mixin of `VideoDock` (it uses the dock's widgets, video and boxes), apart only to keep each module
to one job.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from qgis.core import Qgis, QgsApplication, QgsProject
from qgis.PyQt.QtCore import QUrl
from qgis.PyQt.QtGui import QColor, QDesktopServices
from qgis.PyQt.QtWidgets import QFileDialog

from .. import track_edits
from ..core.definitions import JOB_FAILED, PLUGIN_NAME
from ..layer_tree import VideoLayerGroup
from ..layers import TrackLayers
from ..settings import load_settings, run_output_path, save_settings
from ..tasks import TrackingTask, build_job
from .dock_parts import ask_save_path, tr


def next_run_title(project: QgsProject) -> str:
    """"tracks N" numbered in the project: one more than the highest N of its groups (a reopened
    project's runs included, whoever made them)."""
    pattern = tr("tracks {}")
    run_name = re.compile(re.escape(pattern).replace(re.escape("{}"), r"(\d+)"))
    numbers = [
        int(match.group(1))
        for match in (run_name.fullmatch(group.name()) for group in project.layerTreeRoot().findGroups(True))
        if match
    ]
    return pattern.format(max(numbers, default=0) + 1)


class TrackingRuns:
    # --- tracking --------------------------------------------------------------------------------
    def make_job(self, output_gpkg: str | None = None):
        """The frozen engine job for the current video, frame, boxes and settings.

        Without `output_gpkg` the run goes to the settings' output folder (beside the saved project by
        default), named after the video and the time; OSError when that folder cannot be made."""
        settings = load_settings()
        if output_gpkg is None:
            folder = settings.output_dir()
            folder.mkdir(parents=True, exist_ok=True)
            output_gpkg = str(run_output_path(folder, Path(self.video_path).stem))
        return build_job(
            video_path=self.video_path,
            telemetry_path=self.telemetry_path,
            model_path=settings.effective_model_path,
            start_frame=self.frame_index,
            end_frame=self.targets.end_frame,
            boxes_xywh=tuple(box.xywh for box in self.boxes),
            labels=tuple(box.label for box in self.boxes),
            dem_path=settings.dem_path(),
            output_gpkg=output_gpkg,
            crs=settings.output_crs,
            device=settings.device,
            precision=settings.precision,
            score_threshold=settings.score_threshold,
        )

    def start_tracking(self, output_gpkg: str | None = None) -> TrackingTask | None:
        if self.task is not None or self.video is None or not self.boxes or not self.tracking_enabled:
            return None
        self.pause()
        if not self._go_to_boxes_frame():
            return None
        end_frame = self.targets.end_frame
        if end_frame is not None and end_frame < self.frame_index:
            self._set_status(
                tr("The end frame {} is before the boxes' frame ({})").format(end_frame, self.frame_index),
                Qgis.Warning,
            )
            return None
        try:
            job = self.make_job(output_gpkg)
        except OSError as error:
            self._set_status(tr("Cannot write the output folder: {}").format(error), Qgis.Critical)
            return None
        pixels_only = self.telemetry is None  # tracked in pixels: overlays and JSON lines, no layers
        self.track_layers = self.result_gpkg = self.result_pixels = None
        if not pixels_only:
            run_group = VideoLayerGroup(next_run_title(QgsProject.instance()), parent=self.group)
            self.track_layers = TrackLayers(run_group, job.crs, 1.0 / (self.video.fps or 25.0))
        last_frame = end_frame if end_frame is not None else int(self.video.frame_count) - 1
        self._frames_to_track = max(last_frame - self.frame_index + 1, 1)
        self.task = TrackingTask(
            job,
            tr("Tracking {} target(s) in {}").format(len(self.boxes), Path(self.video_path).name),
            pixels_only=pixels_only,
        )
        self.task.framesReady.connect(self._drain_task)
        self.task.progressChanged.connect(self._task_progress)
        self.task.outcomeReady.connect(self._tracking_finished)
        self.progress.setValue(0)
        self._set_status(tr("Tracking… (output {})").format(job.output_gpkg))
        QgsApplication.taskManager().addTask(self.task)
        self._update_controls()
        return self.task

    def _go_to_boxes_frame(self) -> bool:
        """Show the frame the boxes were drawn on (the run starts there); False, said in the status, when
        they were drawn on different frames: a box only holds its object on its own frame."""
        frames = sorted({box.frame for box in self.boxes})
        if len(frames) > 1:
            self._set_status(
                tr("The boxes were drawn on different frames ({}): clear them, draw all on one frame").format(
                    ", ".join(map(str, frames))
                ),
                Qgis.Warning,
            )
            return False
        return frames[0] == self.frame_index or self.show_frame(frames[0], update_map=True)

    def stop_tracking(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _task_progress(self, value: float) -> None:
        if self.task is not None:  # a finished task reports 100 % even when it was cancelled
            self.progress.setValue(int(value))

    def _drain_task(self) -> None:
        """Main thread: move the frames tracked so far into the layers, show the newest with its overlay."""
        task = self.sender() if isinstance(self.sender(), TrackingTask) else self.task
        frames = task.take() if task is not None else []
        if not frames:
            return
        if self.track_layers is not None:
            self.track_layers.add_frames(frames)
        self.features_by_frame.update((f.frame, f) for f in frames)
        self.tracks_panel.update_tracks(self.features_by_frame)
        self.panels.setCurrentWidget(self.tracks_panel)
        if self.video is not None:
            self.show_frame(frames[-1].frame)

    def _tracking_finished(self, outcome) -> None:
        self.last_outcome = outcome
        self.task = None
        self.progress.setValue(int(round(100.0 * outcome.frames_tracked / self._frames_to_track)))
        text = self._keep_results(outcome)
        self._apply_track_styles()  # the file's layers get what the analyst chose on the live ones
        self._set_status(text, Qgis.Warning if outcome.status == JOB_FAILED else Qgis.Info)
        if self.iface is not None and self.iface.messageBar() is not None:
            level = Qgis.Critical if outcome.status == JOB_FAILED else Qgis.Success
            self.iface.messageBar().pushMessage(PLUGIN_NAME, text, level, 8)
        self._offer_to_temporal_controller()
        self._update_controls()

    def _keep_results(self, outcome) -> str:
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
        elif layers is not None:  # nothing tracked: no empty group, nothing to export
            layers.group.remove()
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

    def _offer_to_temporal_controller(self) -> None:
        """Map time spans the run, one controller frame per video frame, and animates (the video follows)."""
        extent = self.track_layers.time_extent() if self.track_layers is not None else None
        if extent is None:
            return
        fps = self.session.fps if self.session is not None else 25.0
        begin_s, end_s = (t.toMSecsSinceEpoch() / 1000.0 for t in (extent.begin(), extent.end()))
        shown = self.frame_index  # the controller starts at the span's first frame: the video stays
        self.map_time.set_span(begin_s, end_s, fps)
        self.map_time.animate()
        self.show_frame(shown, update_map=True)

    # --- tracks panel: one track edited on the run's layers and the video ---------------------
    def _run_layers(self) -> dict:
        return self.track_layers.layers if self.track_layers is not None else {}

    def _track_visibility_changed(self, track_id: int, visible: bool) -> None:
        track_edits.set_track_visible(self._run_layers(), track_id, visible)
        self._redraw_overlays()

    def _track_recoloured(self, track_id: int, color: str) -> None:
        track_edits.set_track_color(self._run_layers(), track_id, QColor(color))
        self._redraw_overlays()

    def _track_renamed(self, track_id: int, label: str) -> None:
        track_edits.rename_track(self._run_layers(), track_id, label)
        self._redraw_overlays()

    def _track_deleted(self, track_id: int) -> None:
        """Gone from the run's layers (and file) and from the video's overlays."""
        track_edits.delete_track(self._run_layers(), track_id)
        for frame, features in self.features_by_frame.items():
            kept = tuple(t for t in features.tracks if t.track_id != track_id)
            self.features_by_frame[frame] = dataclasses.replace(features, tracks=kept)
        self._redraw_overlays()

    def _apply_track_styles(self) -> None:
        layers = self._run_layers()
        for track_id, style in self.tracks_panel.styles.items():
            track_edits.set_track_visible(layers, track_id, style.visible)
            track_edits.set_track_color(layers, track_id, QColor(style.color))
            if style.renamed:
                track_edits.rename_track(layers, track_id, style.label)
        self._redraw_overlays()

    # --- output and export -----------------------------------------------------------------------
    def _choose_output_folder(self) -> None:
        """The project's output folder (kept in the project file)."""
        settings = load_settings()
        folder = QFileDialog.getExistingDirectory(self, tr("Output folder"), str(settings.output_dir()))
        if folder:
            save_settings(dataclasses.replace(settings, output_folder=folder))
            self._update_controls()

    def open_output_folder(self) -> None:
        """Show the latest run's folder (else the output folder) in the system's file manager; without
        one (nothing handles file:// URLs), name the folder in the message bar and the dock's status."""
        folder = self.result_gpkg.parent if self.result_gpkg is not None else load_settings().output_dir()
        if QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            return
        text = tr("No file manager to open the folder: {}").format(folder)
        self._set_status(text, Qgis.Warning)
        if self.iface is not None and self.iface.messageBar() is not None:
            self.iface.messageBar().pushMessage(PLUGIN_NAME, text, Qgis.Warning, 0)

    def _project_cleared(self) -> None:
        """File > New Project or another project opened: the latest run is not in it any more."""
        if self.task is not None:  # a run in progress carries on (its group is added again)
            return
        self.track_layers = self.result_gpkg = self.result_pixels = self.last_outcome = None
        self.progress.setValue(0)
        self.status_label.setText("")
        self._update_controls()

    def _choose_export(self) -> None:
        if self.result_pixels is not None:  # the dialogs suggest the run's name
            path = ask_save_path(
                self, tr("Export pixel tracks"), "CSV (*.csv)", ".csv", self.result_pixels.stem + ".csv"
            )
            if path:
                self.export_csv(path)
            return
        suggested = self.result_gpkg.name if self.result_gpkg is not None else ""
        path = ask_save_path(self, tr("Export tracks"), "GeoPackage (*.gpkg)", ".gpkg", suggested)
        if path:
            self.export_geopackage(path)

    def export_csv(self, path: str) -> Path | None:
        """The latest pixel run's records as a CSV table (frame, track, label, box, score, status)."""
        from ..core.errors import SiamMaskError
        from ..core.pixel_job import jsonl_to_csv

        try:
            written = jsonl_to_csv(self.result_pixels, path)
        except SiamMaskError as error:
            self._set_status(error.user_message, Qgis.Critical)
            return None
        self._set_status(tr("Exported to {}").format(written))
        return written

    def export_geopackage(self, path: str) -> Path | None:
        """Write the latest run's layers to `path`; with the check box ticked, add the file's layers."""
        if self.track_layers is None or not self.track_layers.complete:
            self._set_status(tr("Nothing to export: the run's layers were removed"), Qgis.Warning)
            return None
        try:
            written = self.track_layers.export_geopackage(path)
        except OSError as error:
            self._set_status(str(error), Qgis.Critical)
            return None
        if self.export_add_check.isChecked():
            group = VideoLayerGroup(tr("exported {}").format(written.name))
            TrackLayers(group, self.track_layers.crs, self.track_layers.frame_duration_s, geopackage=written)
        self._set_status(tr("Exported to {}").format(written))
        return written
