"""The analyst's tools on the player, wired into the video dock in one place: digitising and measuring
(`video_digitise`), the telemetry read-out over the frame, following the selected track while zoomed,
Resume after Stop (the Stop button turns into it), and why Track or Resume is disabled (their tooltips).
"""

from __future__ import annotations

from qgis.PyQt.QtCore import QObject

from ..core.geo.frame_readout import readout_lines
from .dock_parts import tr
from .dock_rows import text_tool_button
from .overlays import overlays_from_features
from .video_digitise import DigitisePanel, VideoDigitiser


class VideoTools(QObject):
    """Built by the dock once its player and panels exist; told of each frame shown and each change of
    the controls' state."""

    def __init__(self, dock, parent_widget):
        super().__init__(dock)
        self.dock = dock
        self.row = DigitisePanel(parent_widget)
        # a tab (before the read-out's, which stays last): the dock stays narrow and the video tall
        dock.panels.insertTab(dock.panels.count() - 1, self.row, tr("Tools"))
        self.digitiser = VideoDigitiser(dock, self.row)
        self.readout_button = text_tool_button(
            tr("Telemetry"),
            tr("Show the frame's telemetry over the video (time, platform, range, angles)"),
            parent_widget,
        )
        self.follow_button = text_tool_button(
            tr("Follow"),
            tr("Zoomed in, keep the track selected in the Tracks panel in view as the video plays"),
            parent_widget,
        )
        for index, button in enumerate((self.readout_button, self.follow_button)):
            button.setCheckable(True)
            self.row.toggles.insertWidget(index, button)
        self.readout_button.toggled.connect(lambda _: self.show_readout())
        self.follow_button.toggled.connect(lambda _: self.follow())
        dock.tracks_panel.table.itemSelectionChanged.connect(self.follow)
        # Stop turns into Resume after a stop (the button just pressed; a button more would widen the dock)
        self.resume_button = dock.stop_button
        self.resume_button.clicked.connect(lambda: dock.task is None and self.resume())

    def frame_shown(self, index: int) -> None:
        self.digitiser.frame_shown(index)
        self.show_readout()
        self.follow()

    def show_readout(self) -> None:
        dock, lines = self.dock, []
        if self.readout_button.isChecked() and dock.current_frame is not None:
            shown = dock.map_side._shown  # (frame index, record, camera) of the frame on screen
            record, camera = (shown[1], shown[2]) if shown is not None else (None, None)
            lines = readout_lines(record, camera, dock.current_frame.time_s)
        dock.frame_view.readout_lines = lines
        dock.frame_view.update()

    def follow(self) -> None:
        """Zoomed in with Follow on: the selected track's box of the frame shown kept in view."""
        dock = self.dock
        track_id = dock.tracks_panel.selected_track()
        if not self.follow_button.isChecked() or track_id is None or dock.session is None:
            return
        overlays = overlays_from_features(dock.frame_features(dock.frame_index), dock.tracks_panel.styles)
        box = next((overlay.rotated_box for overlay in overlays if overlay.track_id == track_id), None)
        if box:
            xs, ys = [x for x, _ in box], [y for _, y in box]
            dock.frame_view.ensure_visible(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))

    def controls_changed(self) -> None:
        dock = self.dock
        self.digitiser.set_enabled(dock.session is not None and dock.telemetry is not None)
        refusal = (
            dock.runs.resume_refusal(dock.session) if dock.session is not None else tr("Open a video first")
        )
        self._show_stop_or_resume(refusal)
        if dock.tracking_enabled:  # else it says which dependency is missing
            dock.track_button.setToolTip(self.track_tooltip(refusal))

    def _show_stop_or_resume(self, refusal: str) -> None:
        """Stop while a run goes on; Resume when a stopped run can go on; else a disabled Stop whose
        tooltip says why it cannot resume."""
        dock, button = self.dock, self.resume_button
        resumable = dock.task is None and dock.tracking_enabled and not refusal
        button.setText(tr("Resume") if resumable else tr("Stop"))
        if dock.task is not None:
            button.setToolTip(tr("Stop the run: the frames tracked so far are kept, and it can be resumed"))
        elif resumable:
            frame = dock.runs.last_tracked_frame()
            button.setToolTip(
                tr("Go on with the stopped run from frame {}, into its GeoPackage").format(frame)
            )
        else:
            button.setToolTip(
                tr("Stop a run in progress (then Resume it). No Resume now: {}").format(refusal)
            )
        button.setEnabled(dock.task is not None or resumable)

    def resume(self) -> None:
        """Go on with the stopped run (its tracks counted on in the panel, the video following it)."""
        dock = self.dock
        dock.player.pause()
        task = dock.runs.resume(dock.session, dock.tracks_panel.styles)
        if task is not None:
            dock.session.start_run(task.job, pixels_only=False)
            dock.tracks_panel.restart_counts(dock.runs.frames_before(task.job))
        dock._update_controls()

    def track_tooltip(self, resume_refusal: str) -> str:
        """What Track will do, or why it cannot (and that Resume can, where it can)."""
        dock = self.dock
        if dock.task is not None:
            return tr("A run is in progress: Stop it first")
        if dock.session is None:
            return tr("Open a video first")
        if not dock.boxes:
            text = tr("Draw a box around each object to track (or click one) on the video first")
            return text + ("" if resume_refusal else tr(", or Resume the stopped run"))
        return tr("Track the boxes drawn, from the frame they were drawn on")
