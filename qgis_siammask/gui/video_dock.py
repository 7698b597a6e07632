"""The video dock: open a clip and its telemetry, play and seek, draw target boxes, track, export.

The dock turns widget state into the engine's frozen TrackingJob, runs it in a TrackingTask and feeds
what comes back into map layers; video decoding, telemetry, camera geometry and tracking all live in
`qgis_siammask.core`.
"""

from __future__ import annotations

import time
from pathlib import Path

from qgis.core import Qgis, QgsApplication, QgsMessageLog
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtGui import QFont, QKeySequence
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDockWidget,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QShortcut,
    QSlider,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.definitions import PLUGIN_NAME
from ..layer_tree import VideoLayerGroup
from ..layers import TrackLayers
from ..playback_layers import PlaybackLayers
from ..settings import load_settings
from ..tasks import TrackingTask
from .dock_parts import ask_path, format_time, lonlat, telemetry_text, tool_button, tr, widget_row
from .frame_view import DrawnBox, FrameView, bgr_to_qimage
from .model_banner import DemoModelBanner
from .overlays import overlays_from_features
from .tracking_runs import TrackingRuns

MAP_UPDATE_INTERVAL_S = 0.25
VIDEO_FILTER = "Video (*.ts *.mpg *.mpeg *.m2ts *.mp4 *.mov *.mkv *.avi);;All files (*)"
TELEMETRY_FILTER = "Telemetry (*.srt *.SRT *.csv *.klv *.bin);;All files (*)"
_BOX_COLUMNS = ("label", "x", "y", "width", "height")




class VideoDock(QDockWidget, TrackingRuns):
    def __init__(self, iface, tracking_enabled: bool = True, tracking_disabled_reason: str = "", parent=None):
        super().__init__(tr("SiamMask FMV Tracker"), parent or (iface.mainWindow() if iface else None))
        self.setObjectName("SiamMaskVideoDock")
        self.iface = iface
        self.tracking_enabled = tracking_enabled
        self.video = None
        self.video_path: str | None = None
        self.telemetry = None
        self.telemetry_path: str | None = None
        self.terrain = None  # core.terrain.DemTerrain of the settings' DEM, None for flat ground
        self._terrain_path: str | None = None  # the DEM file `terrain` was read from
        self.frame_index = 0
        self.current_frame = None
        self.boxes: list[DrawnBox] = []
        self.group: VideoLayerGroup | None = None  # found by key each time: the analyst may move it
        self.playback_layers: PlaybackLayers | None = None
        self.track_layers: TrackLayers | None = None  # of the latest run
        self.result_gpkg: Path | None = None  # the latest run's GeoPackage
        self.run_count = 0
        self._frames_to_track = 1  # frames from the run's start frame to the end of the video
        self.task: TrackingTask | None = None
        self.last_outcome = None
        self.features_by_frame: dict = {}  # frame index -> core.geometry.FrameFeatures of the tracking runs
        self._last_map_update_s = 0.0
        self._shown = None  # (frame index, telemetry record, camera) of the frame on screen
        self._play_timer = QTimer(self)
        self._play_timer.timeout.connect(self._play_tick)
        # quitting QGIS mid-run: cancel and wait, so the frames committed so far are kept in the file
        QgsApplication.instance().aboutToQuit.connect(self.shutdown)
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
        layout.addLayout(widget_row(QLabel(tr("Telemetry")), self.telemetry_edit, telemetry_button))

        self.frame_view = FrameView(body)
        self.frame_view.placeholder = tr("Open a video, then drag boxes around the objects to track")
        self.frame_view.boxDrawn.connect(self._box_drawn)
        self.frame_view.clicked.connect(self._frame_clicked)
        layout.addWidget(self.frame_view, 1)

        style = self.style()
        self.step_back_button = tool_button(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekBackward), tr("Previous frame")
        )
        self.play_button = tool_button(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), tr("Play / pause")
        )
        self.step_button = tool_button(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekForward), tr("Next frame")
        )
        self.step_back_button.clicked.connect(lambda: self.step(-1))
        self.play_button.clicked.connect(lambda: self.toggle_play())
        self.step_button.clicked.connect(lambda: self.step(1))
        self.slider = QSlider(Qt.Orientation.Horizontal, body)
        self.slider.valueChanged.connect(self._slider_moved)
        self.time_label = QLabel("00:00.00 / 00:00.00  frame 0/0", body)
        layout.addLayout(
            widget_row(
                self.step_back_button, self.play_button, self.step_button, self.slider, self.time_label
            )
        )

        self.telemetry_label = QLabel(tr("No telemetry"), body)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.TypeWriter)
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        self.telemetry_label.setFont(font)
        self.telemetry_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.telemetry_label)

        self.label_edit = QLineEdit(tr("vehicle"), body)
        self.label_edit.setToolTip(tr("Label given to the next box drawn on the video"))
        remove_button = QPushButton(tr("Remove box"), body)
        remove_button.clicked.connect(lambda: self._remove_selected_boxes())
        clear_button = QPushButton(tr("Clear boxes"), body)
        clear_button.clicked.connect(lambda: self.clear_boxes())
        layout.addLayout(widget_row(QLabel(tr("Label")), self.label_edit, remove_button, clear_button))
        self.box_table = QTableWidget(0, len(_BOX_COLUMNS), body)
        self.box_table.setHorizontalHeaderLabels([tr(c) for c in _BOX_COLUMNS])
        self.box_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.box_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.box_table.setMaximumHeight(110)
        self.box_table.itemChanged.connect(self._box_label_edited)
        layout.addWidget(self.box_table)

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
        layout.addWidget(self.status_label)
        self.setWidget(body)
        for keys, slot in (
            (Qt.Key.Key_Space, self.toggle_play),
            (Qt.Key.Key_Right, lambda: self.step(1)),
            (Qt.Key.Key_Left, lambda: self.step(-1)),
        ):
            shortcut = QShortcut(QKeySequence(keys), body)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self.frame_view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def _update_controls(self) -> None:
        has_video = self.video is not None
        tracking = self.task is not None
        for widget in (self.step_back_button, self.play_button, self.step_button, self.slider):
            widget.setEnabled(has_video and not tracking)
        self.frame_view.drawing_enabled = has_video and not tracking
        self.track_button.setEnabled(
            self.tracking_enabled and has_video and bool(self.boxes) and not tracking
        )
        self.stop_button.setEnabled(tracking)
        self.export_button.setEnabled(self.result_gpkg is not None and not tracking)
        self.output_edit.setText(str(self.result_gpkg or load_settings().output_dir()))

    def _set_status(self, text: str, level=Qgis.Info) -> None:
        self.status_label.setText(text)
        QgsMessageLog.logMessage(text, PLUGIN_NAME, level)

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
        from ..core.errors import SiamMaskError, TelemetryError
        from ..core.ingest.telemetry import open_telemetry
        from ..core.ingest.video import VideoReader

        self.pause()
        try:
            video = VideoReader(path)
        except SiamMaskError as error:
            self._set_status(tr("Cannot open the video: {}").format(error.user_message), Qgis.Warning)
            return False
        self.close_video()
        self.video, self.video_path = video, str(path)
        try:
            self.telemetry = open_telemetry(path, telemetry_path)
            self.telemetry_path = telemetry_path
            self._sync_terrain()
            records = len(self.telemetry.records)
            source = self.telemetry.records[0].source if records else "?"
            telemetry_status = tr("{} telemetry, {} records").format(source.upper(), records)
        except (TelemetryError, SiamMaskError) as error:
            self.telemetry, self.telemetry_path = None, None
            telemetry_status = tr("no telemetry ({}): the map shows nothing").format(error.user_message)
        self.video_edit.setText(str(path))
        self.telemetry_edit.setText(telemetry_path or (tr("automatic: ") + telemetry_status))
        # one group per video file: reopening it replaces the playback layers, keeps earlier runs
        self.group = VideoLayerGroup(Path(path).name, key="video:" + str(Path(path).resolve()))
        self.playback_layers = PlaybackLayers(self.group)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(int(video.frame_count) - 1, 0))
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self._set_status(
            tr("{}: {}x{} px, {:.2f} fps, {} frames; {}").format(
                Path(path).name, video.width, video.height, video.fps, video.frame_count, telemetry_status
            )
        )
        self.show_frame(0, update_map=True)
        self._update_controls()
        return True

    def close_video(self) -> None:
        """Close the clip; its playback layers go, its group stays while it holds tracking runs."""
        self.pause()
        if self.video is not None:
            self.video.close()
        if self.playback_layers is not None:
            self.playback_layers.remove()
        group = self.group.find() if self.group is not None else None
        if group is not None and not group.children():
            self.group.remove()
        self.video = self.current_frame = self._shown = self.playback_layers = self.group = None
        self.clear_boxes()
        self.features_by_frame.clear()

    def show_frame(self, index: int, update_map: bool = False) -> bool:
        """Decode and show frame `index` with its overlays; move the playback map layers."""
        from ..core.errors import SiamMaskError

        if self.video is None:
            return False
        try:
            frame = self.video.read(index)
        except (SiamMaskError, IndexError, EOFError):
            return False
        if frame is None:
            return False
        self.current_frame, self.frame_index = frame, frame.index
        self._sync_terrain()
        record, camera = self._camera_at(frame.time_s)
        self._shown = (frame.index, record, camera)
        self.telemetry_label.setText(telemetry_text(record))  # every frame: the map alone is throttled
        self.frame_view.set_image(bgr_to_qimage(frame.image))
        features = self.features_by_frame.get(frame.index)
        self.frame_view.set_overlays(overlays_from_features(features))
        self._show_position(frame.index, frame.time_s)
        now = time.monotonic()
        if update_map or now - self._last_map_update_s >= MAP_UPDATE_INTERVAL_S:
            self._last_map_update_s = now
            self._update_playback_layers(*self._shown)
        return True

    def _show_position(self, index: int, time_s: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        self.time_label.setText(
            f"{format_time(time_s)} / {format_time(self.video.duration_s or 0.0)}  "
            + tr("frame {}/{}").format(index, max(int(self.video.frame_count) - 1, 0))
        )

    def settings_changed(self) -> None:
        """The settings dialog was accepted: the DEM and output folder shown follow at once."""
        self._update_controls()
        if self.video is not None:
            self.show_frame(self.frame_index, update_map=True)

    def _sync_terrain(self) -> None:
        """Use the settings' DEM (the one tracking will use) as soon as it is chosen; None: flat ground."""
        dem_path = load_settings().dem_path()
        if dem_path == self._terrain_path:
            return
        self.terrain, self._terrain_path = None, dem_path
        if not dem_path:
            return
        from ..core.errors import SiamMaskError
        from ..core.geo.terrain import DemTerrain

        try:
            self.terrain = DemTerrain(dem_path)
        except SiamMaskError as error:
            self._set_status(
                tr("DEM not usable, the map assumes flat ground: {}").format(error.user_message), Qgis.Warning
            )

    def _camera_at(self, time_s: float):
        """(telemetry record, camera model) of a video time; either may be None."""
        if self.telemetry is None:
            return None, None
        from ..core.errors import SiamMaskError
        from ..core.geo.camera import CameraModel

        record = self.telemetry.at(time_s)
        try:
            return record, CameraModel.from_telemetry(
                record, self.video.width, self.video.height, terrain=self.terrain
            )
        except SiamMaskError as error:
            QgsMessageLog.logMessage(f"{format_time(time_s)}: {error.user_message}", PLUGIN_NAME, Qgis.Info)
            return record, None

    def _update_playback_layers(self, frame_index: int, record, camera) -> None:
        if self.playback_layers is None or record is None:
            return
        footprint = None
        if camera is not None:
            corners = camera.footprint()
            if bool(corners.valid.all()):
                footprint = corners.lonlat_deg.tolist()
        platform = lonlat(record.sensor_longitude_deg, record.sensor_latitude_deg)
        centre = lonlat(record.frame_center_longitude_deg, record.frame_center_latitude_deg)
        self.playback_layers.show(frame_index, record.time_utc, footprint, platform, centre)

    def _slider_moved(self, value: int) -> None:
        self.show_frame(value)

    def step(self, delta: int) -> None:
        if self.video is not None:
            self.show_frame(min(max(self.frame_index + delta, 0), max(int(self.video.frame_count) - 1, 0)))

    def toggle_play(self) -> None:
        if self._play_timer.isActive():
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        if self.video is None:
            return
        self._play_timer.start(max(int(1000.0 / (self.video.fps or 25.0)), 5))
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause))

    def pause(self) -> None:
        """Stop playing; the map catches up with the frame on screen (playback updates are throttled)."""
        if self._play_timer.isActive() and self._shown is not None:
            self._update_playback_layers(*self._shown)
        self._play_timer.stop()
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))

    @property
    def playing(self) -> bool:
        return self._play_timer.isActive()

    def _play_tick(self) -> None:
        if not self.show_frame(self.frame_index + 1):
            self.pause()

    # --- boxes -----------------------------------------------------------------------------------
    def _box_drawn(self, x: float, y: float, width: float, height: float) -> None:
        self.add_box(
            x, y, width, height, self.label_edit.text().strip() or tr("target {}").format(len(self.boxes) + 1)
        )

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
        self._box_drawn(*box)

    def add_box(self, x: float, y: float, width: float, height: float, label: str) -> None:
        self.boxes.append(DrawnBox(round(x, 1), round(y, 1), round(width, 1), round(height, 1), label))
        self._refresh_boxes()

    def clear_boxes(self) -> None:
        self.boxes = []
        self._refresh_boxes()

    def _remove_selected_boxes(self) -> None:
        rows = {index.row() for index in self.box_table.selectedIndexes()}
        self.boxes = [box for i, box in enumerate(self.boxes) if i not in rows]
        self._refresh_boxes()

    def _refresh_boxes(self) -> None:
        self.box_table.blockSignals(True)
        self.box_table.setRowCount(len(self.boxes))
        for row, box in enumerate(self.boxes):
            for column, value in enumerate((box.label, box.x, box.y, box.width, box.height)):
                item = QTableWidgetItem(str(value))
                if column:
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.box_table.setItem(row, column, item)
        self.box_table.blockSignals(False)
        self.frame_view.set_boxes(self.boxes)
        self._update_controls()

    def _box_label_edited(self, item: QTableWidgetItem) -> None:
        if item.column() == 0 and item.row() < len(self.boxes):
            box = self.boxes[item.row()]
            self.boxes[item.row()] = DrawnBox(
                box.x, box.y, box.width, box.height, item.text().strip() or box.label
            )
            self.frame_view.set_boxes(self.boxes)

    # --- teardown --------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Cancel the task, close the video and its playback layers; the runs' layers stay (GeoPackage)."""
        if self.task is not None:
            task, self.task = self.task, None
            task.framesReady.disconnect()
            task.outcomeReady.disconnect()
            task.cancel()
            task.waitForFinished(10000)
            if task.outcome is not None:  # finished() never runs for a task nobody listens to any more
                self._keep_results(task.outcome)
        self.close_video()
        self.track_layers = None
