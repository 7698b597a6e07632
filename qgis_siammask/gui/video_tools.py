"""The analyst's tools on the player, wired into the video dock in one place: digitising and measuring
(`video_digitise`), the telemetry read-out over the frame, following the selected track while zoomed,
and why Track is disabled (its tooltip).
"""

from __future__ import annotations

from qgis.PyQt.QtCore import QObject

from ..core.geo.frame_readout import readout_lines
from .dock_parts import tr
from .dock_rows import text_tool_button
from .overlays import overlays_from_features
from .video_digitise import DigitiseRow, VideoDigitiser


class VideoTools(QObject):
    """Built by the dock once its player and panels exist; told of each frame shown and each change of
    the controls' state."""

    def __init__(self, dock, parent_widget):
        super().__init__(dock)
        self.dock = dock
        self.row = DigitiseRow(parent_widget)
        dock.split.video_rows.addWidget(self.row)
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
        for button in (self.readout_button, self.follow_button):
            button.setCheckable(True)
            dock.player.transport_row.addWidget(button)
        self.readout_button.toggled.connect(lambda _: self.show_readout())
        self.follow_button.toggled.connect(lambda _: self.follow())
        dock.tracks_panel.table.itemSelectionChanged.connect(self.follow)

    def frame_shown(self, index: int) -> None:
        self.digitiser.frame_shown(index)
        self.show_readout()
        self.follow()

    def show_readout(self) -> None:
        dock, lines = self.dock, []
        if self.readout_button.isChecked() and dock.current_frame is not None:
            record, camera = (dock._shown[1], dock._shown[2]) if dock._shown is not None else (None, None)
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
        if dock.tracking_enabled:
            dock.track_button.setToolTip(self.track_tooltip())

    def track_tooltip(self) -> str:
        """What Track will do, or why it cannot."""
        dock = self.dock
        if dock.task is not None:
            return tr("A run is in progress: Stop it first")
        if dock.session is None:
            return tr("Open a video first")
        if not dock.boxes:
            return tr("Draw a box around each object to track (or click one) on the video first")
        return tr("Track the boxes drawn, from the frame they were drawn on")
