"""The run side of the video dock: the dock's clip, frame and boxes handed to the run controller (start,
stop, correct a finished run), and what the run sends back shown on the video and in the tracks panel.

A mixin of `VideoDock` (it uses the dock's session, player, panels and run controller), apart only to
keep each module to one job.
"""

from __future__ import annotations


class RunSide:
    def start_tracking(self, output_gpkg: str | None = None):
        """Track the boxes from their frame (shown first) to the end frame; the TrackingTask, None when
        not started (the status says why)."""
        if self.task is not None or self.video is None or not self.boxes or not self.tracking_enabled:
            return None
        self.player.pause()
        start_frame = self.runs.boxes_frame(self.boxes, self.targets.end_frame)
        if start_frame is None or not (start_frame == self.frame_index or self.show_frame(start_frame, True)):
            return None
        end_frame = self.targets.end_frame
        task = self.runs.start(self.session, self.group, start_frame, end_frame, self.boxes, output_gpkg)
        if task is not None:
            self.session.start_run(task.job, task.pixels_only)
            self.tracks_panel.clear()
        self._update_controls()
        return task

    def stop_tracking(self) -> None:
        self.runs.stop()

    def _correct_run(self, track_id: int | None) -> None:
        """Re-seat track `track_id` (None: add a target) on the last box drawn, on the frame shown; when
        the run was corrected on a later frame, only once the analyst agrees to track over it."""
        later = self.runs.corrections_after(self.frame_index) if self.runs.task is None else []
        if later and not self._confirm_tracking_over(later):
            return
        styles, end_frame = self.tracks_panel.styles, self.targets.end_frame
        task = self.runs.continue_run(self.session, self.boxes, self.frame_index, track_id, styles, end_frame)
        if task is not None:
            self.session.start_run(task.job, pixels_only=False)
            self.tracks_panel.restart_counts(self.runs.frames_before(task.job))
            self.targets.clear_boxes()  # used
        self._update_controls()

    def _tracks_clip_shown(self) -> bool:
        """Whether the run (running or just finished) tracks the clip open now: the analyst may open
        another one while it runs, and the run goes on into its own file and layers."""
        return self.session is not None and self.runs.run_session is self.session

    def _confirm_tracking_over(self, later: list) -> bool:
        """Ask before a correction re-tracks the run's tracks over later corrections (frame, track, kind)."""
        from qgis.PyQt.QtWidgets import QMessageBox

        from ..core.definitions import CORRECTION_RESEAT
        from .dock_parts import tr

        reseated, added = tr("track {} re-seated on frame {}"), tr("track {} added on frame {}")
        done = "; ".join(
            (reseated if kind == CORRECTION_RESEAT else added).format(track_id, frame)
            for frame, track_id, kind in later
        )
        text = tr(
            "Tracking from frame {} tracks the run's tracks again from there, over the later correction(s): "
            "{}. Those corrections' boxes are replaced. Go on?"
        ).format(self.frame_index, done)
        title = tr("Track over later corrections?")
        question = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=self)
        question.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        question.setDefaultButton(QMessageBox.StandardButton.No)
        return question.exec() == QMessageBox.StandardButton.Yes

    def _frames_tracked(self, frames: list) -> None:
        """Frames the run tracked (already in its live layers): on the video and in the tracks panel."""
        if not self._tracks_clip_shown():  # another clip opened meanwhile: its video stays as it is
            return
        self.session.add_frames(frames, merge=self.runs.continuing)
        self.tracks_panel.update_tracks(frames)
        self.panels.setCurrentWidget(self.tracks_panel)
        self.show_frame(frames[-1].frame)

    def _run_finished(self, outcome) -> None:
        """The run's file is on the map: the analyst's track styles on it, map time spanning it. When
        another clip was opened while it ran, the run is not the dock's any more (nothing of it to
        export or correct from this clip), as when a clip is opened after a run."""
        if not self._tracks_clip_shown():
            self.runs.forget()
            self._update_controls()
            return
        if outcome.gpkg_path:
            self.session.run_frames.set_run_file(outcome.gpkg_path)
        if outcome.frames_tracked:  # its boxes and end frame used: none left to refuse the next run
            self.targets.run_done()
        self.runs.apply_track_styles(self.tracks_panel.styles)
        self._redraw_overlays()
        shown = self.frame_index  # the controller starts at the span's first frame: the video stays
        if self.runs.offer_to_temporal_controller(self.map_time):
            self.show_frame(shown, update_map=True)
        self._update_controls()
