"""The map side of the video dock: the terrain and georeferencing the camera uses, the playback layers
following the frame on screen, a video pixel marked on the map and a map point marked on the video (the
marks' row, tool and cross), the map brought to a new clip.

A part the dock holds: it gets the open clip (`open_clip`, `close_clip`) and each frame shown
(`frame_shown`, `follow_frame`), draws marks on the frame view it is given, and says what the status line
should show (`statusChanged`); it works without the dock.
"""

from __future__ import annotations

import time
from pathlib import Path

from qgis.core import (
    Qgis,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCsException,
    QgsMessageLog,
    QgsProject,
    QgsRectangle,
)
from qgis.PyQt.QtCore import QObject, pyqtSignal

from ..core.definitions import PLUGIN_NAME
from ..layer_tree import VideoLayerGroup, video_group_title
from ..playback_layers import PlaybackLayers
from ..settings import load_settings
from .dock_parts import lonlat, tr
from .dock_rows import MapPickRow
from .ground_marks import GroundMarks

CLIP_VIEW_MARGIN = 1.5  # the clip's first footprint brought into view with room around it
MAP_UPDATE_INTERVAL_S = 0.25  # while playing, the playback layers move at most this often


class MapSide(QObject):
    """The open clip on the map. `statusChanged(text, level)`: a problem for the dock's status line."""

    statusChanged = pyqtSignal(str, object)

    def __init__(self, iface, frame_view, parent_widget):
        """`frame_view`: the video's FrameView (marks drawn on it, pixels picked from it); the marks' row is
        made in `parent_widget`, for the dock to lay out."""
        super().__init__(parent_widget)
        self.iface = iface
        self.frame_view = frame_view
        self.session = None  # the open clip (a VideoSession)
        self.group: VideoLayerGroup | None = None  # found by key each time: the analyst may move it
        self.playback_layers: PlaybackLayers | None = None
        self.trail_lonlat: dict[int, tuple[float, float]] = {}  # frame played -> platform (lon, lat)
        self._shown = None  # (frame index, telemetry record, camera) of the frame on screen
        self.frame_on_map = None  # gui.frame_on_map.FrameOnMap, set by the dock
        self._last_map_update_s = 0.0
        self.ground_marks = GroundMarks(iface, self)
        self.ground_marks.mapPointPicked.connect(self._map_point_picked)
        frame_view.pixelPicked.connect(self._pixel_picked)
        frame_view.escapePressed.connect(self._clear_marks)
        self.map_pick_row = MapPickRow(parent_widget)
        self.map_pick_button = self.map_pick_row.map_pick_button
        self.map_pick_button.toggled.connect(self.ground_marks.use_map_tool)
        self.ground_marks.toolDone.connect(lambda: self.map_pick_button.setChecked(False))
        self.map_pick_row.clear_marks_button.clicked.connect(lambda: self._clear_marks())

    @property
    def telemetry(self):
        return self.session.telemetry if self.session is not None else None

    def open_clip(self, session, path: str) -> None:
        """A clip opened (the previous one closed): its terrain, and with telemetry its layer group (one
        per video file: reopening it replaces the playback layers, keeps earlier runs) and playback layers."""
        self.session = session
        self.sync_terrain()
        if session.telemetry is not None:  # without telemetry nothing goes on the map
            key = "video:" + str(Path(path).resolve())
            title = video_group_title(QgsProject.instance().layerTreeRoot(), Path(path), key)
            self.group = VideoLayerGroup(title, key=key)
            self.playback_layers = PlaybackLayers(self.group)
        self.trail_lonlat = {}
        self.map_pick_row.show_hint(True, session.telemetry is not None)

    def close_clip(self) -> None:
        """The clip closed: its playback layers go, its group stays while it holds tracking runs."""
        if self.playback_layers is not None:
            self.playback_layers.remove()
            self.refresh_map()  # the canvas would keep drawing the removed footprint until F5
        group = self.group.find() if self.group is not None else None
        if group is not None and not group.children():
            self.group.remove()
        self.session = self._shown = self.playback_layers = self.group = None
        self.end_marks()

    def frame_shown(self, frame_index: int, record, camera) -> None:
        """A frame is on screen: the marked map point follows it."""
        self._shown = (frame_index, record, camera)
        self._mark_map_point_on_video()

    def follow_frame(self, now: bool = False) -> None:
        """The playback layers to the frame on screen: `now`, or at most every MAP_UPDATE_INTERVAL_S."""
        moment = time.monotonic()
        if self._shown is not None and (now or moment - self._last_map_update_s >= MAP_UPDATE_INTERVAL_S):
            self._last_map_update_s = moment
            self._update_playback_layers(*self._shown)

    def sync_terrain(self) -> None:
        """Use the settings' DEM (the one tracking will use; None: flat ground) and georeferencing mode
        as soon as they are chosen."""
        if self.session is None:
            return
        settings = load_settings()
        self.session.georef = settings.georef
        problem = self.session.use_dem(settings.dem_path())
        if problem:
            text = tr("DEM not usable, the map assumes flat ground: {}").format(problem)
            self.statusChanged.emit(text, Qgis.MessageLevel.Warning)

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
        if platform is not None:  # the played span: one position per frame, whatever order they came in
            self.trail_lonlat[frame_index] = platform
        trail = [self.trail_lonlat[index] for index in sorted(self.trail_lonlat)]
        self.playback_layers.show(
            frame_index, record.time_utc, footprint, platform, centre, trail, self.session.georef
        )
        if self.frame_on_map is not None:  # the frame itself, draped under the footprint
            self.frame_on_map.show(camera, footprint)

    def bring_clip_into_view(self) -> None:
        """A clip just opened: the map goes to its first footprint (else its platform) when that is not in
        view (a clip of another area); the analyst's zoom stays otherwise."""
        if self.iface is None or self.playback_layers is None:
            return
        canvas = self.iface.mapCanvas()
        extent = QgsRectangle()
        extent.setNull() if hasattr(extent, "setNull") else extent.setMinimal()  # setMinimal: deprecated in 3.40
        for layer in (self.playback_layers.footprint, self.playback_layers.platform):
            for feature in layer.getFeatures() if layer is not None else ():
                if feature.hasGeometry():
                    extent.combineExtentWith(feature.geometry().boundingBox())
        if extent.xMinimum() > extent.xMaximum():  # nothing placed on frame 0
            return
        wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
        to_map = QgsCoordinateTransform(wgs84, canvas.mapSettings().destinationCrs(), QgsProject.instance())
        try:
            in_map = to_map.transformBoundingBox(extent)
        except QgsCsException:
            return
        if canvas.extent().intersects(in_map):
            return
        if in_map.width() == 0 or in_map.height() == 0:  # the platform alone: a point
            in_map = in_map.buffered(max(canvas.extent().width(), canvas.extent().height()) / 2 or 0.01)
        in_map.scale(CLIP_VIEW_MARGIN)
        canvas.setExtent(in_map)
        canvas.refresh()

    def refresh_map(self) -> None:
        if self.iface is not None and self.iface.mapCanvas() is not None:
            self.iface.mapCanvas().refresh()

    def catch_up(self) -> None:
        """Playing stopped: the map catches up with the frame on screen (playback updates are throttled)."""
        if self._shown is not None:
            self._update_playback_layers(*self._shown)

    def _pixel_picked(self, x: float, y: float) -> None:
        if self.telemetry is None:
            text, problem = tr("No telemetry: the map cannot show the pixel"), True
        else:
            text, problem = self.ground_marks.pick_pixel(self.camera_shown(), x, y)
        self._show_mark(text, problem)
        self._mark_map_point_on_video()

    def _map_point_picked(self, point) -> None:
        self.ground_marks.map_point = point
        pixel = self._mark_map_point_on_video()
        if pixel is None:
            self._show_mark(tr("The map point is outside this frame's footprint"), True)
        else:
            self._show_mark(tr("Map point on the video at pixel {:.0f}, {:.0f}").format(*pixel), False)

    def _show_mark(self, text: str, problem: bool) -> None:
        """A mark's outcome on the mark row (the status line keeps the run's file) and in the log."""
        self.map_pick_row.show_mark(text)
        level = Qgis.MessageLevel.Warning if problem else Qgis.MessageLevel.Info
        QgsMessageLog.logMessage(text, PLUGIN_NAME, level)

    def _clear_marks(self) -> None:
        """No cross on the map, no mark on the video, no text about them (the hint again)."""
        self.ground_marks.clear_marks()
        self.frame_view.set_marked_pixel(None)
        self.map_pick_row.show_hint(self.session is not None, self.telemetry is not None)

    def end_marks(self) -> None:
        """The clip or the project closed: the map tool put away, the marks cleared."""
        self.map_pick_button.setChecked(False)
        self._clear_marks()

    def _mark_map_point_on_video(self):
        """The marked map point on the frame on screen (it follows the video); its pixel or None."""
        pixel = self.ground_marks.pixel_on_frame(self.camera_shown())
        self.frame_view.set_marked_pixel(pixel)
        return pixel

    def camera_shown(self):
        return self._shown[2] if self._shown is not None else None

