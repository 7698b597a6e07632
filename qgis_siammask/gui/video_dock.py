"""The video dock: open a clip and its telemetry, play and seek, draw target boxes, track, export.

The dock turns widget state into the engine's frozen TrackingJob, runs it in a TrackingTask and feeds
what comes back into map layers; video decoding, telemetry, camera geometry and tracking all live in
`qgis_siammask.core`. It lays out and wires parts that each work alone: the clip (`VideoSession`), the
player, the panels, the map side (`MapSide`), the run controller (`RunController`) and the run side
(`RunSide`, between the two).
"""

from __future__ import annotations

from pathlib import Path

from qgis.core import Qgis, QgsApplication, QgsMessageLog, QgsProject
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtWidgets import QDockWidget, QVBoxLayout, QWidget

from ..core.definitions import PLUGIN_NAME
from .dock_map_side import MapSide
from .dock_parts import (
    ask_path,
    format_time,
    monospace_label,
    restore_docked_width,
    scrolled,
    telemetry_text,
    toggle_detached,
    tr,
)
from .dock_rows import ClipRows, CompactTabs, RunRows, VideoSplit, ViewButtons
from .dock_run_side import RunSide
from .frame_on_map import FrameMapControls, FrameOnMap
from .frame_view import DrawnBox, FrameView, bgr_to_qimage
from .map_time_sync import MapTimeSync
from .model_banner import DemoModelBanner
from .overlays import overlays_from_features
from .player import Player
from .targets_panel import TargetsPanel
from .telemetry_table import ClipTelemetryTable
from .tracking_runs import RunController
from .tracks_panel import TracksPanel
from .video_session import VideoSession
from .video_tools import VideoTools

VIDEO_FILTER = "Video (*.ts *.mpg *.mpeg *.m2ts *.mp4 *.mov *.mkv *.avi);;All files (*)"
TELEMETRY_FILTER = "Telemetry (*.srt *.SRT *.csv *.klv *.bin);;All files (*)"


def _from_session(name: str) -> property:
    """The open clip's attribute `name` (None without a clip), read as the dock's own."""
    return property(lambda dock: getattr(dock.session, name) if dock.session is not None else None)


def _from_runs(name: str) -> property:
    """The run controller's attribute `name` (the latest run's), read as the dock's own."""
    return property(lambda dock: getattr(dock.runs, name))


def _from_map(name: str) -> property:
    """The map side's attribute `name` (the open clip's layers and marks), read as the dock's own."""
    return property(lambda dock: getattr(dock.map_side, name))


class VideoDock(QDockWidget):
    def __init__(self, iface, tracking_enabled: bool = True, tracking_disabled_reason: str = "", parent=None):
        super().__init__(tr("SiamMask FMV Tracker"), parent or (iface.mainWindow() if iface else None))
        self.setObjectName("SiamMaskVideoDock")
        self.iface = iface
        self.tracking_enabled = tracking_enabled
        self.session: VideoSession | None = None  # the open clip
        self.frame_index = 0
        self.current_frame = None
        self.runs = RunController(iface, self)  # the task, the latest run's layers and files
        self.docked_width_px = 0  # before Detach: the width to dock back to
        # quitting QGIS mid-run: cancel and wait, so the frames committed so far are kept in the file
        QgsApplication.instance().aboutToQuit.connect(self._qgis_quitting)
        QgsProject.instance().cleared.connect(self._project_cleared)
        # Save As or another project opened: the output folder shown follows (it may be the project's)
        QgsProject.instance().homePathChanged.connect(self._update_controls)
        QgsProject.instance().readProject.connect(self._project_read)
        self._build_ui(tracking_disabled_reason)
        self._update_controls()

    # --- UI ------------------------------------------------------------------------------------
    def _build_ui(self, tracking_disabled_reason: str) -> None:
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)

        self.model_banner = DemoModelBanner(body)  # shown while only the demo model is installed
        layout.addWidget(self.model_banner)

        self.clip_rows = clip_rows = ClipRows(body)
        layout.addWidget(clip_rows)
        self.video_edit, self.open_button = clip_rows.video_edit, clip_rows.open_button
        self.telemetry_edit = clip_rows.telemetry_edit
        self.telemetry_table_button = clip_rows.telemetry_table_button
        self.open_button.clicked.connect(lambda: self._choose_video())
        clip_rows.telemetry_button.clicked.connect(lambda: self._choose_telemetry())
        self.telemetry_table = ClipTelemetryTable(self)
        self.telemetry_table_button.clicked.connect(  # enabled only with telemetry
            lambda: self.telemetry_table.show(
                self.telemetry, self.session.name, self.current_frame and self.current_frame.time_s
            )
        )

        self.frame_view = FrameView(body)
        self.frame_view.placeholder = tr("Open a video, then drag boxes around the objects to track")
        self.split = VideoSplit(body)
        self.split.video_rows.addWidget(self.frame_view, 1)
        layout.addWidget(self.split, 1)

        self.map_time = MapTimeSync(self.iface, self)
        self.map_time.frameRequested.connect(self._frame_requested)
        self.player = Player(body)
        self.player.frameRequested.connect(self._frame_requested)
        self.map_side = MapSide(self.iface, self.frame_view, body)
        self.map_side.statusChanged.connect(self._set_status)
        self.player.paused.connect(self.map_side.catch_up)
        self.telemetry_table.timeRequested.connect(self.player.go_to_time)
        self.split.video_rows.addWidget(self.player)
        self.frame_on_map = FrameOnMap(self, FrameMapControls(body))  # the frame draped on the map, Snapshot
        self.map_side.frame_on_map = self.frame_on_map
        # the player's widgets under the dock's names (tests and the desktop test reach them so)
        self.step_back_button, self.play_button = self.player.step_back_button, self.player.play_button
        self.step_button, self.slider = self.player.step_button, self.player.slider
        self.time_label = self.player.time_label
        view_buttons = ViewButtons(body)
        self.player.transport_row.addWidget(view_buttons)
        self.zoom_label, self.fit_button = view_buttons.zoom_label, view_buttons.fit_button
        self.detach_button = view_buttons.detach_button
        view_buttons.control(self.frame_view, body)
        # detached (a large window) the panels go beside the video; docked again, under it
        self.detach_button.clicked.connect(lambda: self.split.set_side_by_side(toggle_detached(self)))
        self.topLevelChanged.connect(lambda floating: floating or self._docked_again())

        self.telemetry_label = monospace_label(tr("No telemetry"), body)

        self.split.side_rows.addWidget(self.map_side.map_pick_row)
        self.map_pick_button, self.map_hint = self.map_side.map_pick_button, self.map_pick_row.map_hint
        for index, widget in enumerate(self.frame_on_map.controls.widgets()):  # before the marks' hint
            self.map_pick_row.layout().insertWidget(2 + index, widget)

        self.tracks_panel = TracksPanel(body)
        # a deleted track leaves the video's overlays first, then the run's layers (and file)
        self.tracks_panel.trackDeleted.connect(lambda track: self.session and self.session.drop_track(track))
        for signal, edit in (
            (self.tracks_panel.trackVisibilityChanged, self.runs.set_track_visible),
            (self.tracks_panel.trackRecoloured, self.runs.set_track_color),
            (self.tracks_panel.trackRenamed, self.runs.rename_track),
            (self.tracks_panel.trackDeleted, self.runs.delete_track),
        ):
            signal.connect(edit)
            signal.connect(lambda *_: self._redraw_overlays())

        self.targets = TargetsPanel(body)
        self.label_edit, self.box_table = self.targets.label_edit, self.targets.box_table
        self.frame_view.boxDrawn.connect(
            lambda x, y, width, height: self.targets.add_drawn_box(x, y, width, height, self.frame_index)
        )
        self.frame_view.clicked.connect(self._frame_clicked)
        self.targets.boxesChanged.connect(self._boxes_changed)
        # targets before a run, tracks during and after it, the frame's telemetry: one at a time leaves
        # the video its height
        self.panels = CompactTabs(body)
        self.panels.addTab(self.targets, tr("Targets"))
        self.panels.addTab(self.tracks_panel, tr("Tracks"))
        self.panels.addTab(scrolled(self.telemetry_label, body), tr("Telemetry"))
        self.split.side_rows.addWidget(self.panels, 1)

        self.run_rows = run_rows = RunRows(body)
        layout.addWidget(run_rows)
        self.track_button, self.stop_button = run_rows.track_button, run_rows.stop_button
        self.progress, self.export_button = run_rows.progress, run_rows.export_button
        self.output_edit, self.open_folder_button = run_rows.output_edit, run_rows.open_folder_button
        if not self.tracking_enabled:
            self.track_button.setToolTip(tr("Tracking is disabled: {}").format(tracking_disabled_reason))
        # clicked(bool) must not reach start_tracking's optional output path: no argument passes
        self.track_button.clicked.connect(lambda: self.start_tracking())
        self.stop_button.clicked.connect(lambda: self.runs.stop())
        self.export_button.clicked.connect(
            lambda: self.runs.choose_export(run_rows.export_add_check.isChecked())
        )
        run_rows.output_button.clicked.connect(
            lambda: self.runs.choose_output_folder() and self._update_controls()
        )
        self.open_folder_button.clicked.connect(lambda: self.runs.open_output_folder())
        self.runs.statusChanged.connect(self._set_status)
        self.runs.refused.connect(self._notice)
        self.runs.progressChanged.connect(self.progress.setValue)
        self.run_side = RunSide(self.runs, self.targets, self.tracks_panel, self.player, self.map_time,
                                clip=self, parent=self)
        self.run_side.controlsChanged.connect(self._update_controls)
        self.run_side.overlaysChanged.connect(self._redraw_overlays)
        self.run_side.tracksShown.connect(lambda: self.panels.setCurrentWidget(self.tracks_panel))
        self.status_label = run_rows.status_label
        self.video_tools = VideoTools(self, body)  # digitise, measure, read-out, follow
        self.setWidget(body)
        self.player.add_shortcuts(body)
        self.frame_view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    # --- the open clip, as the rest of the plugin reads it ----------------------------------------
    video = _from_session("video")
    video_path = _from_session("video_path")
    telemetry = _from_session("telemetry")
    telemetry_path = _from_session("telemetry_path")
    terrain = _from_session("terrain")
    task = _from_runs("task")  # the run in progress, None between runs
    track_layers = _from_runs("track_layers")
    last_outcome = _from_runs("last_outcome")
    group = _from_map("group")  # the open clip's layer group
    playback_layers = _from_map("playback_layers")
    ground_marks = _from_map("ground_marks")
    map_pick_row = _from_map("map_pick_row")

    def frame_features(self, index: int):
        """The tracked features drawn on frame `index` (core FrameFeatures), None where none."""
        return self.session.frame_features(index) if self.session is not None else None

    @property
    def boxes(self) -> list[DrawnBox]:
        return self.targets.boxes

    def start_tracking(self, output_gpkg: str | None = None):
        """Track the boxes from their frame to the end frame (`RunSide.start_tracking`); the TrackingTask,
        None when not started."""
        return self.run_side.start_tracking(output_gpkg) if self.tracking_enabled else None

    def stop_tracking(self) -> None:
        self.runs.stop()

    def _update_controls(self) -> None:
        has_video = self.session is not None
        tracking = self.task is not None
        self.player.set_controls_enabled(has_video and not tracking)
        self.frame_view.drawing_enabled = has_video and not tracking
        self.run_rows.show_state(
            self.tracking_enabled and has_video and bool(self.boxes), tracking, self.runs.results
        )
        self.tracks_panel.delete_button.setEnabled(not tracking)
        self.tracks_panel.run_file = self.runs.result_gpkg
        self._enable_corrections()
        has_map = has_video and self.telemetry is not None
        self.map_pick_row.show_state(has_map)
        self.frame_on_map.set_enabled(has_video, has_map)
        self.telemetry_table_button.setEnabled(has_map)
        self.video_tools.controls_changed()

    def _enable_corrections(self) -> None:
        """Re-seat and Add target only with a finished run's file and a box drawn on the frame shown."""
        drawn_here = any(box.frame == self.frame_index for box in self.boxes)
        self.tracks_panel.set_can_correct(bool(self.runs.result_gpkg) and drawn_here and self.task is None)

    def _set_status(self, text: str, level=Qgis.MessageLevel.Info) -> None:
        self.run_rows.show_status(text)
        QgsMessageLog.logMessage(text, PLUGIN_NAME, level)

    def _docked_again(self) -> None:
        """The panels under the video again, the dock as wide as before Detach (once it is laid out)."""
        self.split.set_side_by_side(False)
        QTimer.singleShot(0, lambda: restore_docked_width(self))

    def _notice(self, text: str) -> None:
        self.run_rows.show_notice(text)
        QgsMessageLog.logMessage(text, PLUGIN_NAME, Qgis.MessageLevel.Warning)

    # --- video -----------------------------------------------------------------------------------
    def _choose_video(self) -> None:
        path = ask_path(self, "video", tr("Open video"), VIDEO_FILTER)
        if path:
            self.open_video(path)

    def _choose_telemetry(self) -> None:
        path = ask_path(self, "telemetry", tr("Choose telemetry"), TELEMETRY_FILTER)
        if path and self.video_path:
            self.open_video(self.video_path, path)

    def open_video(self, path: str, telemetry_path: str | None = None) -> bool:
        """Open a clip and its telemetry (automatic when `telemetry_path` is None); False on failure."""
        from ..core.errors import SiamMaskError

        self.player.pause()
        try:
            session = VideoSession.open(path, telemetry_path)
        except SiamMaskError as error:
            self._set_status(
                tr("Cannot open the video: {}").format(error.user_message), Qgis.MessageLevel.Warning
            )
            return False
        self.close_video()
        if self.task is None:  # the previous clip's run: nothing of it to export from this clip
            self.runs.forget()
        self.session = session
        follows = self.map_time.set_session(session)
        self.map_side.open_clip(session, path)
        self.video_edit.setText(str(path))
        self.clip_rows.show_telemetry(session.telemetry_path, session.telemetry_status)
        video = session.video
        self.player.set_clip(session.last_frame, session.fps, video.duration_s or 0.0)
        self.targets.set_last_frame(session.last_frame)
        self._set_status(session.summary() + ("\n" + tr("Map time follows the video.") if follows else ""))
        self.frame_view.fit()  # the new clip whole, whatever the last one was zoomed to
        self.show_frame(0, update_map=True)
        self.map_side.bring_clip_into_view()
        self._update_controls()
        return True

    def close_video(self) -> None:
        """Close the clip; its playback layers go, its group stays while it holds tracking runs."""
        self.player.pause()
        if self.session is not None:
            self.session.close()
        self.map_side.close_clip()
        self.session = self.current_frame = None
        self.map_time.set_session(None)
        self.tracks_panel.clear()
        self.targets.clear_boxes()
        self.telemetry_table.close()

    def show_frame(self, index: int, update_map: bool = False) -> bool:
        """Decode and show frame `index` with its overlays; move the playback map layers."""
        frame = self.session.read(index) if self.session is not None else None
        if frame is None:
            return False
        self.current_frame, self.frame_index = frame, frame.index
        self.map_side.sync_terrain()
        record, camera, problem = self.session.camera_at(frame.time_s)
        if problem:
            QgsMessageLog.logMessage(
                f"{format_time(frame.time_s)}: {problem}", PLUGIN_NAME, Qgis.MessageLevel.Info
            )
        surface = Path(self.session.dem_path).name if self.session.terrain is not None else tr("flat ground")
        # every frame: the map alone is throttled
        self.telemetry_label.setText(telemetry_text(record, self.session.georef, problem, surface))
        self.telemetry_table.frame_shown(frame.time_s)
        self.frame_view.set_image(bgr_to_qimage(frame.image))
        self._redraw_overlays()
        self._enable_corrections()
        self.map_side.frame_shown(frame.index, record, camera)
        self.video_tools.frame_shown(frame.index)
        self.player.show_position(frame.index, frame.time_s)
        self.map_time.frame_shown(frame.index)
        self.map_side.follow_frame(now=update_map)
        return True

    def _redraw_overlays(self) -> None:
        """The tracks of the frame on screen, as the tracks panel wants them drawn, and the targets drawn
        on it."""
        features = self.frame_features(self.frame_index)
        self.frame_view.set_overlays(overlays_from_features(features, self.tracks_panel.styles))
        # with a run's tracks a new box may re-seat one (its name), be added ("target N") or start a run of
        # its own (the Label field's): none of these names is sure yet
        caption = tr("new box") if self.tracks_panel.styles else None
        self.frame_view.set_boxes(self.boxes, self.frame_index, caption)

    def _frame_requested(self, index: int) -> None:
        """The player asks for a frame (slider, step, playing): past the end, playing stops."""
        if not self.show_frame(index):
            self.player.pause()

    def settings_changed(self) -> None:
        """The settings dialog was accepted: the DEM and output folder shown follow at once."""
        self._update_controls()
        if self.video is not None:
            self.show_frame(self.frame_index, update_map=True)

    @property
    def playing(self) -> bool:
        return self.player.playing

    # --- boxes -----------------------------------------------------------------------------------
    def _frame_clicked(self, x: float, y: float) -> None:
        """One click on a vehicle: a box as big as the settings' object size at that spot (camera model)."""
        problem = self.targets.add_clicked_box(self.map_side.camera_shown(), x, y, self.frame_index)
        if problem:
            self._set_status(problem, Qgis.MessageLevel.Warning)

    def add_box(self, x: float, y: float, width: float, height: float, label: str) -> None:
        """A target on the frame shown (the run will start on it)."""
        self.targets.add_box(x, y, width, height, label, self.frame_index)

    def _boxes_changed(self) -> None:
        if self.boxes and not self.tracks_panel.styles:  # with tracks, a box may re-seat one: they stay
            self.panels.setCurrentWidget(self.targets)
        self._redraw_overlays()
        self._update_controls()

    def _project_cleared(self) -> None:
        """File > New Project or another project opened: the latest run is not in it any more."""
        self.map_side.end_marks()  # the cross is the canvas's own item: it would outlive the project
        if self.session is not None:  # the clip stays open: once QGIS has reset its temporal controller
            QTimer.singleShot(0, self._follow_clip_again)  # (its panel hears `cleared` too), map time follows
        if self.task is not None:  # a run in progress carries on (its group is added again)
            return
        self.runs.forget()
        self.run_rows.show_status("")
        self._update_controls()

    def _project_read(self, _document) -> None:
        """A project opened with the clip open: its saved playback layers give way to the clip's."""
        if self.playback_layers is not None:
            self.playback_layers.remove_saved()
        self._update_controls()

    def _follow_clip_again(self) -> None:
        """Map time follows the open clip in the new project, its playback layers back on the map."""
        if self.session is not None and self.map_time.follow_clip():
            self.show_frame(self.frame_index, update_map=True)

    # --- teardown --------------------------------------------------------------------------------
    def _disconnect_from_qgis(self) -> None:
        """What the dock connected to QGIS's application, project and canvas: nothing of QGIS calls into
        it afterwards (unloaded, or QGIS quitting)."""
        for signal, slot in (
            (QgsApplication.instance().aboutToQuit, self._qgis_quitting),
            (QgsProject.instance().cleared, self._project_cleared),
            (QgsProject.instance().homePathChanged, self._update_controls),
            (QgsProject.instance().readProject, self._project_read),
        ):
            try:
                signal.disconnect(slot)
            except (TypeError, RuntimeError):  # disconnected before (unload, then QGIS quitting)
                pass
        self.map_time.stop_listening()

    def _qgis_quitting(self) -> None:
        """QGIS quits (its event loop has ended; QgsApplication.exit or File > Exit): cancel the run, keep
        its committed frames in its file, close the video file, and touch neither the project nor the
        canvas. Removing layers now made QGIS's own windows react while they are being torn down (a
        crash in QgisApp::setMapStyleDockLayer after QgsApplication.exit(0)); the project goes anyway."""
        self._disconnect_from_qgis()
        self.runs.shutdown(quitting=True)
        if self.session is not None:
            self.session.close()
            self.session = None

    def shutdown(self) -> None:
        """Plugin unloaded: cancel the task, close the video and its playback layers; the runs' layers
        stay (GeoPackage)."""
        self.runs.shutdown()
        self.close_video()
        self.map_side.ground_marks.clear()
        self.runs.track_layers = None
        self._disconnect_from_qgis()  # last: closing the video hands map time back to the controller
