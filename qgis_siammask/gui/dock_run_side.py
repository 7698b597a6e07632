"""The run side of the video dock: the clip, frame and boxes on screen handed to the run controller (start,
stop, correct a finished run), and what the run sends back shown on the video and in the tracks panel.

A part the dock holds: it is given the run controller, the targets and tracks panels, the player, the map
time sync and the clip on screen (`clip`: `session`, `group`, `frame_index`, `show_frame(index,
update_map=False) -> bool`; the dock is one); it asks the dock to refresh through signals and works
without it.
"""

from __future__ import annotations

from qgis.PyQt.QtCore import QObject, pyqtSignal
from qgis.PyQt.QtWidgets import QMessageBox, QWidget

from ..core.definitions import CORRECTION_RESEAT
from .dock_parts import tr


class RunSide(QObject):
    """`controlsChanged()`: what may be clicked changed; `overlaysChanged()`: the video's overlays need a
    redraw; `tracksShown()`: a run's tracks arrived, the tracks panel should be in front."""

    controlsChanged = pyqtSignal()
    overlaysChanged = pyqtSignal()
    tracksShown = pyqtSignal()

    def __init__(self, runs, targets, tracks_panel, player, map_time, clip, parent=None):
        super().__init__(parent)
        self.runs, self.targets, self.tracks_panel = runs, targets, tracks_panel
        self.player, self.map_time, self.clip = player, map_time, clip
        runs.framesTracked.connect(self.frames_tracked)
        runs.runFinished.connect(self.run_finished)
        tracks_panel.correctionRequested.connect(self.correct_run)

    def start_tracking(self, output_gpkg: str | None = None):
        """Track the boxes from their frame (shown first) to the end frame; the TrackingTask, None when
        not started (the status says why)."""
        clip, boxes = self.clip, self.targets.boxes
        if self.runs.task is not None or clip.session is None or not boxes:
            return None
        self.player.pause()
        start_frame = self.runs.boxes_frame(boxes, self.targets.end_frame)
        if start_frame is None or not (start_frame == clip.frame_index or clip.show_frame(start_frame, True)):
            return None
        end_frame = self.targets.end_frame
        task = self.runs.start(clip.session, clip.group, start_frame, end_frame, boxes, output_gpkg)
        if task is not None:
            clip.session.start_run(task.job, task.pixels_only)
            self.tracks_panel.clear()
        self.controlsChanged.emit()
        return task

    def correct_run(self, track_id: int | None) -> None:
        """Re-seat track `track_id` (None: add a target) on the last box drawn, on the frame shown; when
        the run was corrected on a later frame, only once the analyst agrees to track over it."""
        later = self.runs.corrections_after(self.clip.frame_index) if self.runs.task is None else []
        if later and not self._confirm_tracking_over(later):
            return
        clip, styles, end_frame = self.clip, self.tracks_panel.styles, self.targets.end_frame
        task = self.runs.continue_run(clip.session, self.targets.boxes, clip.frame_index, track_id, styles,
                                      end_frame)
        if task is not None:
            clip.session.start_run(task.job, pixels_only=False)
            self.tracks_panel.restart_counts(self.runs.frames_before(task.job))
            self.targets.clear_boxes()  # used
        self.controlsChanged.emit()

    def _tracks_clip_shown(self) -> bool:
        """Whether the run (running or just finished) tracks the clip open now: the analyst may open
        another one while it runs, and the run goes on into its own file and layers."""
        return self.clip.session is not None and self.runs.run_session is self.clip.session

    def _confirm_tracking_over(self, later: list) -> bool:
        """Ask before a correction re-tracks the run's tracks over later corrections (frame, track, kind)."""
        reseated, added = tr("track {} re-seated on frame {}"), tr("track {} added on frame {}")
        done = "; ".join(
            (reseated if kind == CORRECTION_RESEAT else added).format(track_id, frame)
            for frame, track_id, kind in later
        )
        text = tr(
            "Tracking from frame {} tracks the run's tracks again from there, over the later correction(s): "
            "{}. Those corrections' boxes are replaced. Go on?"
        ).format(self.clip.frame_index, done)
        title = tr("Track over later corrections?")
        parent = self.parent() if isinstance(self.parent(), QWidget) else None  # the dock
        question = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=parent)
        question.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        question.setDefaultButton(QMessageBox.StandardButton.No)
        return question.exec() == QMessageBox.StandardButton.Yes

    def frames_tracked(self, frames: list) -> None:
        """Frames the run tracked (already in its live layers): on the video and in the tracks panel."""
        if not self._tracks_clip_shown():  # another clip opened meanwhile: its video stays as it is
            return
        self.clip.session.add_frames(frames, merge=self.runs.continuing)
        self.tracks_panel.update_tracks(frames)
        self.tracksShown.emit()
        self.clip.show_frame(frames[-1].frame)

    def run_finished(self, outcome) -> None:
        """The run's file is on the map: the analyst's track styles on it, map time spanning it. When
        another clip was opened while it ran, the run is not the dock's any more (nothing of it to
        export or correct from this clip), as when a clip is opened after a run."""
        if not self._tracks_clip_shown():
            self.runs.forget()
            self.controlsChanged.emit()
            return
        if outcome.gpkg_path:
            self.clip.session.run_frames.set_run_file(outcome.gpkg_path)
        if outcome.frames_tracked:  # its boxes and end frame used: none left to refuse the next run
            self.targets.run_done()
        self.runs.apply_track_styles(self.tracks_panel.styles)
        self.overlaysChanged.emit()
        shown = self.clip.frame_index  # the controller starts at the span's first frame: the video stays
        if self.runs.offer_to_temporal_controller(self.map_time):
            self.clip.show_frame(shown, True)
        self.controlsChanged.emit()
