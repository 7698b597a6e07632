"""The video dock: open a clip and its telemetry, play and seek, draw target boxes, track, export.

The dock turns widget state into the engine's frozen TrackingJob, runs it in a TrackingTask and feeds
what comes back into map layers; video decoding, telemetry, camera geometry and tracking all live in
`qgis_siammask.core`.
"""

from __future__ import annotations

import time
from pathlib import Path

from qgis.core import Qgis, QgsApplication, QgsMessageLog, QgsProject
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QFont, QKeySequence
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QShortcut,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.definitions import PLUGIN_NAME
from ..layer_tree import VideoLayerGroup
from ..layers import TrackLayers
from ..playback_layers import PlaybackLayers
from ..settings import load_settings
from ..tasks import TrackingTask
from .dock_map_side import MapSide
from .dock_parts import ask_path, format_time, telemetry_text, tr, widget_row
from .frame_view import WHEEL_ZOOM_STEP, DrawnBox, FrameView, bgr_to_qimage
from .ground_marks import GroundMarks
from .map_time_sync import MapTimeSync
from .model_banner import DemoModelBanner
from .overlays import overlays_from_features
from .player import Player
from .targets_panel import TargetsPanel
from .telemetry_table import TelemetryTableDialog
from .tracking_runs import TrackingRuns
from .tracks_panel import TracksPanel
from .video_session import VideoSession

MAP_UPDATE_INTERVAL_S = 0.25
VIDEO_FILTER = "Video (*.ts *.mpg *.mpeg *.m2ts *.mp4 *.mov *.mkv *.avi);;All files (*)"
TELEMETRY_FILTER = "Telemetry (*.srt *.SRT *.csv *.klv *.bin);;All files (*)"


def _from_session(name: str) -> property:
    """The open clip's attribute `name` (None without a clip), read as the dock's own."""
    return property(lambda dock: getattr(dock.session, name) if dock.session is not None else None)


class VideoDock(QDockWidget, TrackingRuns, MapSide):
    def __init__(self, iface, tracking_enabled: bool = True, tracking_disabled_reason: str = "", parent=None):
        super().__init__(tr("SiamMask FMV Tracker"), parent or (iface.mainWindow() if iface else None))
        self.setObjectName("SiamMaskVideoDock")
        self.iface = iface
        self.tracking_enabled = tracking_enabled
        self.session: VideoSession | None = None  # the open clip
        self.frame_index = 0
        self.current_frame = None
        self.group: VideoLayerGroup | None = None  # found by key each time: the analyst may move it
        self.playback_layers: PlaybackLayers | None = None
        self.trail_lonlat: dict[int, tuple[float, float]] = {}  # frame played -> platform (lon, lat)
        self.track_layers: TrackLayers | None = None  # of the latest run
        self.result_gpkg: Path | None = None  # the latest run's GeoPackage
        self.result_pixels: Path | None = None  # the latest pixel run's JSON lines (video without telemetry)
        self._frames_to_track = 1  # frames from the run's start frame to the end of the video
        self.task: TrackingTask | None = None
        self.last_outcome = None
        self._last_map_update_s = 0.0
        self._shown = None  # (frame index, telemetry record, camera) of the frame on screen
        # quitting QGIS mid-run: cancel and wait, so the frames committed so far are kept in the file
        QgsApplication.instance().aboutToQuit.connect(self.shutdown)
        QgsProject.instance().cleared.connect(self._project_cleared)
        self._build_ui(tracking_disabled_reason)
        self._update_controls()

    # --- UI ------------------------------------------------------------------------------------
    def _build_ui(self, tracking_disabled_reason: str) -> None:
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)

        self.model_banner = DemoModelBanner(body)  # shown while only the demo model is installed
        layout.addWidget(self.model_banner)

        self.video_edit = QLineEdit(body)
        self.video_edit.setReadOnly(True)
        self.video_edit.setPlaceholderText(tr("No video"))
        self.open_button = QPushButton(tr("Open video…"), body)
        self.open_button.clicked.connect(lambda: self._choose_video())
        layout.addLayout(widget_row(QLabel(tr("Video")), self.video_edit, self.open_button))

        self.telemetry_edit = QLineEdit(body)
        self.telemetry_edit.setReadOnly(True)
        self.telemetry_edit.setPlaceholderText(tr("Found automatically (KLV, same-name SRT/CSV)"))
        telemetry_button = QPushButton(tr("Telemetry…"), body)
        telemetry_button.clicked.connect(lambda: self._choose_telemetry())
        self.telemetry_table_button = QPushButton(tr("Table…"), body)
        self.telemetry_table_button.setToolTip(tr("Every decoded telemetry record, exportable as CSV"))
        self.telemetry_table_button.clicked.connect(lambda: self.show_telemetry_table())
        layout.addLayout(
            widget_row(
                QLabel(tr("Telemetry")), self.telemetry_edit, telemetry_button, self.telemetry_table_button
            )
        )

        self.frame_view = FrameView(body)
        self.frame_view.placeholder = tr("Open a video, then drag boxes around the objects to track")
        layout.addWidget(self.frame_view, 1)

        self.map_time = MapTimeSync(self.iface, self)
        self.map_time.frameRequested.connect(self._frame_requested)
        self.player = Player(body)
        self.player.frameRequested.connect(self._frame_requested)
        self.player.paused.connect(self._catch_up_map)
        layout.addWidget(self.player)
        # the player's widgets under the dock's names (tests and the desktop test reach them so)
        self.step_back_button, self.play_button = self.player.step_back_button, self.player.play_button
        self.step_button, self.slider = self.player.step_button, self.player.slider
        self.time_label = self.player.time_label
        self.zoom_label = QLabel("100 %", body)
        self.zoom_label.setToolTip(tr("Wheel: zoom about the cursor; middle or Ctrl + left drag: pan"))
        self.frame_view.zoomChanged.connect(lambda zoom: self.zoom_label.setText(f"{zoom * 100:.0f} %"))
        self.fit_button = QPushButton(tr("Fit"), body)
        self.fit_button.setToolTip(tr("Show the whole frame (F)"))
        self.fit_button.clicked.connect(lambda: self.frame_view.fit())
        self.detach_button = QPushButton(tr("Detach"), body)
        self.detach_button.setToolTip(tr("Float the player in its own large window, or dock it back"))
        self.detach_button.clicked.connect(lambda: self.toggle_detached())
        for widget in (self.zoom_label, self.fit_button, self.detach_button):
            self.player.entry_row.addWidget(widget)

        self.telemetry_label = QLabel(tr("No telemetry"), body)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.TypeWriter)
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        self.telemetry_label.setFont(font)
        self.telemetry_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.telemetry_label)

        self.ground_marks = GroundMarks(self.iface, self)
        self.ground_marks.mapPointPicked.connect(self._map_point_picked)
        self.frame_view.pixelPicked.connect(self._pixel_picked)
        self.map_pick_button = QPushButton(tr("Map → video"), body)
        self.map_pick_button.setCheckable(True)
        self.map_pick_button.setToolTip(
            tr("Click the map inside the footprint: the point is marked on the video")
        )
        self.map_pick_button.toggled.connect(self.ground_marks.use_map_tool)
        self.ground_marks.toolDone.connect(lambda: self.map_pick_button.setChecked(False))
        self.map_hint = QLabel(tr("Shift + click on the video: its ground point on the map"), body)
        layout.addLayout(widget_row(self.map_pick_button, self.map_hint))

        self.tracks_panel = TracksPanel(body)
        self.tracks_panel.trackVisibilityChanged.connect(self._track_visibility_changed)
        self.tracks_panel.trackRecoloured.connect(self._track_recoloured)
        self.tracks_panel.trackRenamed.connect(self._track_renamed)
        self.tracks_panel.trackDeleted.connect(self._track_deleted)

        self.targets = TargetsPanel(body)
        self.label_edit, self.box_table = self.targets.label_edit, self.targets.box_table
        self.frame_view.boxDrawn.connect(
            lambda x, y, width, height: self.targets.add_drawn_box(x, y, width, height, self.frame_index)
        )
        self.frame_view.clicked.connect(self._frame_clicked)
        self.targets.boxesChanged.connect(self._boxes_changed)
        # targets before a run, tracks during and after it: one at a time leaves the video its height
        self.panels = QTabWidget(body)
        self.panels.addTab(self.targets, tr("Targets"))
        self.panels.addTab(self.tracks_panel, tr("Tracks"))
        layout.addWidget(self.panels)

        self.track_button = QPushButton(tr("Track"), body)
        # clicked(bool) must not reach start_tracking's optional output path: no argument passes
        self.track_button.clicked.connect(lambda: self.start_tracking())
        if not self.tracking_enabled:
            self.track_button.setToolTip(tr("Tracking is disabled: {}").format(tracking_disabled_reason))
        self.stop_button = QPushButton(tr("Stop"), body)
        self.stop_button.clicked.connect(lambda: self.stop_tracking())
        self.progress = QProgressBar(body)
        self.progress.setRange(0, 100)
        self.export_button = QPushButton(tr("Export GeoPackage…"), body)
        self.export_button.clicked.connect(lambda: self._choose_export())
        layout.addLayout(widget_row(self.track_button, self.stop_button, self.progress, self.export_button))

        self.output_edit = QLineEdit(body)
        self.output_edit.setReadOnly(True)
        self.output_edit.setToolTip(tr("Each run writes its GeoPackage here (saved with the project)"))
        output_button = QPushButton(tr("Folder…"), body)
        output_button.clicked.connect(lambda: self._choose_output_folder())
        self.open_folder_button = QPushButton(tr("Open folder"), body)
        self.open_folder_button.clicked.connect(lambda: self.open_output_folder())
        layout.addLayout(
            widget_row(QLabel(tr("Output")), self.output_edit, output_button, self.open_folder_button)
        )
        self.export_add_check = QCheckBox(tr("Add exported files to the project"), body)
        self.export_add_check.setChecked(True)
        layout.addWidget(self.export_add_check)
        self.status_label = QLabel("", body)
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # paths
        layout.addWidget(self.status_label)
        self.setWidget(body)
        for keys, slot in (
            (Qt.Key.Key_Space, self.toggle_play),
            (Qt.Key.Key_Right, lambda: self.step(1)),
            (Qt.Key.Key_Left, lambda: self.step(-1)),
            (Qt.Modifier.SHIFT | Qt.Key.Key_Right, lambda: self.step(self._one_second())),
            (Qt.Modifier.SHIFT | Qt.Key.Key_Left, lambda: self.step(-self._one_second())),
            (Qt.Key.Key_Home, lambda: self.step(-self.frame_index)),
            (Qt.Key.Key_End, lambda: self.step(self.player.last_frame - self.frame_index)),
            (Qt.Key.Key_BracketRight, lambda: self.player.set_speed_step(1)),
            (Qt.Key.Key_BracketLeft, lambda: self.player.set_speed_step(-1)),
            (Qt.Key.Key_Plus, lambda: self.frame_view.zoom_about(WHEEL_ZOOM_STEP)),
            (Qt.Key.Key_Minus, lambda: self.frame_view.zoom_about(1.0 / WHEEL_ZOOM_STEP)),
            (Qt.Key.Key_F, self.frame_view.fit),
        ):
            shortcut = QShortcut(QKeySequence(keys), body)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self.frame_view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def toggle_detached(self) -> None:
        """Float the dock as a large window (most of the screen), or dock it back."""
        if self.isFloating():
            self.setFloating(False)
            return
        self.setFloating(True)
        screen = self.screen().availableGeometry()
        margin_x, margin_y = screen.width() // 20, screen.height() // 20
        self.setGeometry(screen.adjusted(margin_x, margin_y, -margin_x, -margin_y))

    # --- the open clip, as the rest of the plugin reads it ----------------------------------------
    video = _from_session("video")
    video_path = _from_session("video_path")
    telemetry = _from_session("telemetry")
    telemetry_path = _from_session("telemetry_path")
    terrain = _from_session("terrain")

    @property
    def features_by_frame(self) -> dict:
        return self.session.features_by_frame if self.session is not None else {}

    @property
    def boxes(self) -> list[DrawnBox]:
        return self.targets.boxes

    def _update_controls(self) -> None:
        has_video = self.session is not None
        tracking = self.task is not None
        self.player.set_controls_enabled(has_video and not tracking)
        self.frame_view.drawing_enabled = has_video and not tracking
        self.track_button.setEnabled(
            self.tracking_enabled and has_video and bool(self.boxes) and not tracking
        )
        self.stop_button.setEnabled(tracking)
        self.tracks_panel.delete_button.setEnabled(not tracking)
        results = self.result_gpkg or self.result_pixels
        self.export_button.setEnabled(results is not None and not tracking)
        self.export_button.setText(tr("Export CSV…") if self.result_pixels else tr("Export GeoPackage…"))
        self.output_edit.setText(str(load_settings().output_dir()))  # the run's file: in the status
        has_map = has_video and self.telemetry is not None
        self.map_pick_button.setEnabled(has_map)
        self.telemetry_table_button.setEnabled(has_map)
        self.map_hint.setText(
            tr("Shift + click on the video: its ground point on the map")
            if has_map or not has_video
            else tr("No telemetry: tracking in pixels (overlays, JSON lines, CSV export); no map")
        )

    def _set_status(self, text: str, level=Qgis.Info) -> None:
        self.status_label.setText(text)
        QgsMessageLog.logMessage(text, PLUGIN_NAME, level)

    # --- video -----------------------------------------------------------------------------------
    def _choose_video(self) -> None:
        path = ask_path(self, "video", tr("Open video"), VIDEO_FILTER)
        if path:
            self.open_video(path)

    def show_telemetry_table(self) -> TelemetryTableDialog | None:
        if self.telemetry is None:
            return None
        dialog = TelemetryTableDialog(self.telemetry, self.session.name, self)
        dialog.show()
        return dialog

    def _choose_telemetry(self) -> None:
        path = ask_path(self, "telemetry", tr("Choose telemetry"), TELEMETRY_FILTER)
        if path and self.video_path:
            self.open_video(self.video_path, path)

    def open_video(self, path: str, telemetry_path: str | None = None) -> bool:
        """Open a clip and its telemetry (automatic when `telemetry_path` is None); False on failure."""
        from ..core.errors import SiamMaskError

        self.pause()
        try:
            session = VideoSession.open(path, telemetry_path)
        except SiamMaskError as error:
            self._set_status(tr("Cannot open the video: {}").format(error.user_message), Qgis.Warning)
            return False
        self.close_video()
        self.session = session
        self.map_time.set_session(session)
        self._sync_terrain()
        self.video_edit.setText(str(path))
        self.telemetry_edit.setText(session.telemetry_path or (tr("automatic: ") + session.telemetry_status))
        # one group per video file: reopening it replaces the playback layers, keeps earlier runs
        self.group = VideoLayerGroup(session.name, key="video:" + str(Path(path).resolve()))
        self.playback_layers = PlaybackLayers(self.group)
        self.trail_lonlat = {}
        video = session.video
        self.player.set_clip(session.last_frame, session.fps, video.duration_s or 0.0)
        self.targets.set_last_frame(session.last_frame)
        self._set_status(
            tr("{}: {}x{} px, {:.2f} fps, {} frames; {}").format(
                session.name,
                video.width,
                video.height,
                video.fps,
                video.frame_count,
                session.telemetry_status,
            )
        )
        self.show_frame(0, update_map=True)
        self._update_controls()
        return True

    def close_video(self) -> None:
        """Close the clip; its playback layers go, its group stays while it holds tracking runs."""
        self.pause()
        if self.session is not None:
            self.session.close()
        if self.playback_layers is not None:
            self.playback_layers.remove()
        group = self.group.find() if self.group is not None else None
        if group is not None and not group.children():
            self.group.remove()
        self.session = self.current_frame = self._shown = self.playback_layers = self.group = None
        self.map_time.set_session(None)
        self.tracks_panel.clear()
        self.clear_boxes()

    def show_frame(self, index: int, update_map: bool = False) -> bool:
        """Decode and show frame `index` with its overlays; move the playback map layers."""
        frame = self.session.read(index) if self.session is not None else None
        if frame is None:
            return False
        self.current_frame, self.frame_index = frame, frame.index
        self._sync_terrain()
        record, camera, problem = self.session.camera_at(frame.time_s)
        if problem:
            QgsMessageLog.logMessage(f"{format_time(frame.time_s)}: {problem}", PLUGIN_NAME, Qgis.Info)
        self._shown = (frame.index, record, camera)
        self.telemetry_label.setText(telemetry_text(record))  # every frame: the map alone is throttled
        self.frame_view.set_image(bgr_to_qimage(frame.image))
        self._redraw_overlays()
        self._mark_map_point_on_video()
        self.player.show_position(frame.index, frame.time_s)
        self.map_time.frame_shown(frame.index)
        now = time.monotonic()
        if update_map or now - self._last_map_update_s >= MAP_UPDATE_INTERVAL_S:
            self._last_map_update_s = now
            self._update_playback_layers(*self._shown)
        return True

    def _redraw_overlays(self) -> None:
        """The tracks of the frame on screen, as the tracks panel wants them drawn."""
        features = self.features_by_frame.get(self.frame_index)
        self.frame_view.set_overlays(overlays_from_features(features, self.tracks_panel.styles))

    def _frame_requested(self, index: int) -> None:
        """The player asks for a frame (slider, step, playing): past the end, playing stops."""
        if not self.show_frame(index):
            self.pause()

    def settings_changed(self) -> None:
        """The settings dialog was accepted: the DEM and output folder shown follow at once."""
        self._update_controls()
        if self.video is not None:
            self.show_frame(self.frame_index, update_map=True)

    def _one_second(self) -> int:
        """Frames in a second of the clip (Shift + arrow steps)."""
        return max(int(round(self.session.fps)), 1) if self.session is not None else 1

    def step(self, delta: int) -> None:
        if self.session is not None:
            self.player.step(delta)

    def toggle_play(self) -> None:
        if self.session is not None:
            self.player.toggle_play()

    def play(self) -> None:
        if self.session is not None:
            self.player.play()

    def pause(self) -> None:
        self.player.pause()

    @property
    def playing(self) -> bool:
        return self.player.playing

    # --- boxes -----------------------------------------------------------------------------------
    def _frame_clicked(self, x: float, y: float) -> None:
        """One click on a vehicle: a box as big as the settings' object size at that spot (camera model)."""
        from ..core.tracking.guidance import object_box_xywh

        camera = self._shown[2] if self._shown is not None else None
        settings = load_settings()
        size_m = (settings.object_length_m, settings.object_width_m)
        box = object_box_xywh(camera, (x, y), size_m) if camera is not None else None
        if box is None:
            self._set_status(tr("A click starts a track only where the frame's camera model is known "
                                "(telemetry with position, attitude and field of view) and the spot is on "
                                "the ground; drag a box around the target instead."), Qgis.Warning)
            return
        self.targets.add_drawn_box(*box, self.frame_index)

    def add_box(self, x: float, y: float, width: float, height: float, label: str) -> None:
        """A target on the frame shown (the run will start on it)."""
        self.targets.add_box(x, y, width, height, label, self.frame_index)

    def clear_boxes(self) -> None:
        self.targets.clear_boxes()

    def _boxes_changed(self) -> None:
        if self.boxes:
            self.panels.setCurrentWidget(self.targets)
        self.frame_view.set_boxes(self.boxes)
        self._update_controls()

    # --- teardown --------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Cancel the task, close the video and its playback layers; the runs' layers stay (GeoPackage)."""
        try:
            QgsProject.instance().cleared.disconnect(self._project_cleared)
        except TypeError:  # shut down before (unload, then QGIS quitting)
            pass
        if self.task is not None:
            task, self.task = self.task, None
            task.framesReady.disconnect()
            task.outcomeReady.disconnect()
            task.cancel()
            task.waitForFinished(10000)
            kept = tr("the frames committed so far go to {}").format(task.job.output_gpkg)
            if task.outcome is not None:  # finished() never runs for a task nobody listens to any more
                kept = self._keep_results(task.outcome)
            self._set_status(
                tr("The run was cut short (plugin unloaded or QGIS closing): {}").format(kept), Qgis.Warning
            )
        self.close_video()
        self.ground_marks.clear()
        self.track_layers = None
