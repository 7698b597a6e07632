"""A pixel of the video marked on the map, and a point clicked on the map marked on the video.

Both go through the camera of the frame on screen: a pixel is cast onto the terrain (the map gets a
cross there), a map point is lifted to the terrain's height and projected into the image.
"""

from __future__ import annotations

import numpy as np
from qgis.core import Qgis, QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsPointXY, QgsProject
from qgis.gui import QgsMapTool, QgsVertexMarker
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QObject, Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor

from .dock_parts import tr
from .frame_view import MARK_COLOR


class PointPickTool(QgsMapTool):
    """Picks the map point where the left button is let go. Not on the press (as QgsMapToolEmitPoint):
    the tool given back after the pick would get the release, and QGIS's Pan re-centres the map on it."""

    picked = pyqtSignal(QgsPointXY)

    def __init__(self, canvas):
        super().__init__(canvas)
        self.setCursor(Qt.CursorShape.CrossCursor)

    def canvasReleaseEvent(self, event) -> None:  # noqa: N802 (QGIS API)
        if event.button() == Qt.MouseButton.LeftButton:
            self.picked.emit(QgsPointXY(event.mapPoint()))


class GroundMarks(QObject):
    """The cross on the map canvas and the map tool that picks a point for the video.

    The tool picks one point, then gives the canvas back the tool it had before. `mapPointPicked(point)`:
    the map tool was clicked (canvas CRS); `toolDone()`: the tool was put away (after its pick, or the
    analyst chose another tool)."""

    mapPointPicked = pyqtSignal(QgsPointXY)
    toolDone = pyqtSignal()

    def __init__(self, iface, parent=None):
        super().__init__(parent)
        self._iface = iface
        self._marker: QgsVertexMarker | None = None  # our own canvas item, not a layer
        self.map_tool: PointPickTool | None = None
        self._previous_tool = None  # the canvas's tool before ours: back after the pick
        self._leaving = False  # our tool is being deactivated by the canvas: do not set tools meanwhile
        self.map_point: QgsPointXY | None = None  # canvas CRS: the ground point the video marks

    def _canvas(self):
        return self._iface.mapCanvas() if self._iface is not None else None

    def _to_canvas(self) -> QgsCoordinateTransform:
        wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
        return QgsCoordinateTransform(
            wgs84, self._canvas().mapSettings().destinationCrs(), QgsProject.instance()
        )

    def mark_pixel_on_map(self, camera, x: float, y: float) -> tuple[float, float] | None:
        """Put the map's cross on the ground seen at pixel (x, y); its (lon, lat), None off the ground."""
        canvas = self._canvas()
        ground = camera.pixels_to_ground(np.array([[x, y]], dtype=np.float64))
        if canvas is None or not bool(ground.valid[0]):
            return None
        lon, lat = (float(v) for v in ground.lonlat_deg[0])
        if self._marker is None:
            self._marker = QgsVertexMarker(canvas)
            self._marker.setIconType(QgsVertexMarker.IconType.ICON_CROSS)
            self._marker.setColor(QColor(MARK_COLOR))
            self._marker.setIconSize(18)
            self._marker.setPenWidth(3)
        self._marker.setCenter(self._to_canvas().transform(QgsPointXY(lon, lat)))
        self._marker.show()
        canvas.refresh()
        return lon, lat

    def pick_pixel(self, camera, x: float, y: float) -> tuple[str, bool]:
        """Shift + click on the video: the map's cross goes to the ground seen at pixel (x, y), which
        becomes the marked map point. (status text, whether it is a problem)."""
        if camera is None:
            return tr("No camera for this frame: the map cannot show the pixel"), True
        lonlat = self.mark_pixel_on_map(camera, x, y)
        if lonlat is None:
            return tr("Pixel {:.0f}, {:.0f} does not see the ground").format(x, y), True
        self.map_point = QgsPointXY(self._marker.center())
        return tr("Pixel {:.0f}, {:.0f}: lat {:.6f}, lon {:.6f}").format(x, y, lonlat[1], lonlat[0]), False

    def pixel_on_frame(self, camera) -> tuple[float, float] | None:
        """The marked map point's pixel in the frame of `camera`; None when none is marked or not in view."""
        if camera is None or self.map_point is None:
            return None
        return self.pixel_of_map_point(camera, self.map_point)

    def pixel_of_map_point(self, camera, point: QgsPointXY) -> tuple[float, float] | None:
        """The image pixel (x, y) showing a map point (canvas CRS) on the terrain; None outside the frame."""
        lonlat = self._to_canvas().transform(point, Qgis.TransformDirection.Reverse)
        lonlat_deg = np.array([[lonlat.x(), lonlat.y()]], dtype=np.float64)
        pixels, visible = camera.ground_to_pixels(lonlat_deg, camera.terrain.heights_m(lonlat_deg))
        return (float(pixels[0, 0]), float(pixels[0, 1])) if bool(visible[0]) else None

    def use_map_tool(self, active: bool) -> None:
        """Make the canvas's tool "pick a point for the video" (or give the previous tool back)."""
        canvas = self._canvas()
        if canvas is None or self._leaving:
            return
        if active:
            if self.map_tool is None:
                self.map_tool = PointPickTool(canvas)
                self.map_tool.picked.connect(self._picked)
                self.map_tool.deactivated.connect(self._deactivated)
            if canvas.mapTool() is not self.map_tool:
                self._previous_tool = canvas.mapTool()
                canvas.setMapTool(self.map_tool)
        elif self.map_tool is not None and canvas.mapTool() is self.map_tool:
            previous, self._previous_tool = self._previous_tool, None
            if previous is not None and not sip.isdeleted(previous):
                canvas.setMapTool(previous)
            else:
                canvas.unsetMapTool(self.map_tool)

    def _picked(self, point: QgsPointXY) -> None:
        self.mapPointPicked.emit(point)
        self.use_map_tool(False)  # one pick per press of the button

    def _deactivated(self) -> None:
        self._leaving = True
        try:
            self.toolDone.emit()
        finally:
            self._leaving = False

    def clear_marks(self) -> None:
        """No cross on the map, no marked map point (a new clip or project, or the analyst's Esc)."""
        canvas = self._canvas()
        if self._marker is not None and canvas is not None:
            canvas.scene().removeItem(self._marker)
        self._marker = self.map_point = None

    def clear(self) -> None:
        """Remove the cross and put the map tool away (the dock is closing)."""
        self.use_map_tool(False)
        self.clear_marks()
