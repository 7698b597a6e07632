"""The video frame on the map: a plugin layer that drapes the frame on screen over the ground.

`FrameLayer` holds one `DrapedFrame`: a frame's pixels and its frame model (the project's georeferencing
mode, on flat ground or a DEM), whose `DrapeGrid` (core.geo.drape) and QImage are made on first use, in
the map's render thread, once: the player's thread only hands the frame over. The renderer maps every
grid cell by its own projective transform (`QTransform.quadToQuad`) from the image to the map image, so
the picture follows the relief. The cells are drawn opaque into a scratch image, which is then drawn
once with the layer's opacity: overlapping cell edges (drawn a little larger to leave no seams) never show.

Registered as a plugin layer type (`register_frame_layer_type`), so a project that holds the layer saves
and opens without errors; a layer read back from a project is empty until the clip plays again.
"""

from __future__ import annotations

import threading

import numpy as np
from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCsException,
    QgsMapLayerRenderer,
    QgsPluginLayer,
    QgsPluginLayerType,
    QgsPointXY,
    QgsRectangle,
)
from qgis.PyQt.QtCore import QPointF, QRectF, Qt
from qgis.PyQt.QtGui import QImage, QPainter, QPolygonF, QTransform

from .core.definitions import FRAME_LAYER_TYPE
from .core.geo.drape import drape_grid

CELL_OVERLAP_PX = 0.5  # each cell's source drawn this much larger on every side: no hairline seams
MAX_DECIMATION = 8  # the frame is decimated to about its size on the map, by this much at most
EXTENT_MARGIN = 0.25  # the layer's extent: its footprint's box grown by this fraction


class DrapedFrame:
    """One frame on the ground: (H, W, 3) uint8 BGR pixels and their frame model (a CameraModel or
    CornerHomography); its grid and QImage are made on first use, once, from whichever thread asks."""

    def __init__(self, image_bgr: np.ndarray, geometry):
        self.image_bgr, self.geometry = image_bgr, geometry
        self._lock = threading.Lock()
        self._grid, self._images = None, {}

    @property
    def grid(self):
        """The frame's DrapeGrid (core.geo.drape)."""
        with self._lock:
            if self._grid is None:
                self._grid = drape_grid(self.geometry)
            return self._grid

    def image(self, step: int = 1) -> QImage:
        """The frame as a QImage, every `step`th pixel of every `step`th row (a frame drawn small on the
        map costs what a small image costs: the 1080p frame is never converted whole)."""
        with self._lock:
            if step not in self._images:
                pixels = self.image_bgr[::step, ::step]
                height, width = pixels.shape[:2]
                bgrx = np.full((height, width, 4), 255, np.uint8)  # Format_RGB32's bytes: B, G, R, 0xff
                bgrx[..., :3] = pixels
                image = QImage(bgrx.data, width, height, 4 * width, QImage.Format.Format_RGB32)
                self._images[step] = (image, bgrx)  # the QImage draws from the array: kept together
            return self._images[step][0]


class FrameLayer(QgsPluginLayer):
    """The frame on screen draped on the ground (lon/lat, EPSG:4326); `set_frame` moves it."""

    def __init__(self, name: str = "video frame"):
        super().__init__(FRAME_LAYER_TYPE, name)
        self.setCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
        self.frame: DrapedFrame | None = None
        self.setValid(True)

    def set_frame(self, image_bgr: np.ndarray | None, geometry=None, footprint_lonlat=None) -> None:
        """Show `image_bgr` ((H, W, 3) uint8 BGR) placed by `geometry` (its frame model); None: nothing.

        `footprint_lonlat` (4, 2), the frame's ground corners when the caller has them, sets the extent
        (grown by EXTENT_MARGIN: a frame's edges may bulge over relief) without casting the grid here."""
        placed = image_bgr is not None and geometry is not None
        self.frame = DrapedFrame(image_bgr, geometry) if placed else None
        if self.frame is None:
            self.setExtent(QgsRectangle())
        else:
            corners = np.asarray(footprint_lonlat, dtype=np.float64) if footprint_lonlat is not None else None
            if corners is None or not np.all(np.isfinite(corners)):
                bounds = self.frame.grid.bounds_lonlat()
                extent = QgsRectangle(*bounds) if bounds is not None else QgsRectangle()
            else:
                extent = QgsRectangle(*corners.min(axis=0), *corners.max(axis=0))
                extent.scale(1.0 + EXTENT_MARGIN)
            self.setExtent(extent)
        self.triggerRepaint()

    def createMapRenderer(self, context):  # noqa: N802 (QGIS API)
        return FrameLayerRenderer(self, context)

    def clone(self):
        layer = FrameLayer(self.name())
        layer.setOpacity(self.opacity())
        layer.frame = self.frame
        layer.setExtent(self.extent())
        return layer

    def setTransformContext(self, context) -> None:  # noqa: N802 (QGIS API; nothing is reprojected here)
        pass

    def readXml(self, node, context) -> bool:  # noqa: N802 (QGIS API)
        element = node.toElement()
        self.setOpacity(float(element.attribute("frame_opacity", "1") or 1.0))
        return True

    def writeXml(self, node, document, context) -> bool:  # noqa: N802 (QGIS API)
        element = node.toElement()
        element.setAttribute("type", "plugin")
        element.setAttribute("name", FRAME_LAYER_TYPE)
        element.setAttribute("frame_opacity", str(self.opacity()))
        return True


class FrameLayerRenderer(QgsMapLayerRenderer):
    """Draws one FrameLayer: what it needs is taken on the main thread (here); the grid is cast, mapped
    and drawn in `render`, the map's render thread."""

    def __init__(self, layer: FrameLayer, context):
        super().__init__(layer.id(), context)
        self.frame = layer.frame
        self.opacity = layer.opacity()

    def render(self) -> bool:
        if self.frame is None or self.opacity <= 0.0:
            return True
        context = self.renderContext()
        source_quads, target_quads = device_quads(self.frame.grid, context)
        if not len(source_quads) or (context.feedback() is not None and context.feedback().isCanceled()):
            return True
        painter = context.painter()
        device = painter.device()
        scratch = QImage(device.width(), device.height(), QImage.Format.Format_ARGB32_Premultiplied)
        scratch.setDevicePixelRatio(device.devicePixelRatioF())
        scratch.fill(Qt.GlobalColor.transparent)
        draw_cells(scratch, self.frame, source_quads, target_quads, context.feedback())
        painter.save()
        painter.resetTransform()
        painter.setOpacity(self.opacity)
        painter.drawImage(0, 0, scratch)
        painter.restore()
        return True


def device_quads(grid, context) -> tuple[np.ndarray, np.ndarray]:
    """(image quads (N, 4, 2), map image quads (N, 4, 2)) of the cells of `grid` (None: none) as the
    render `context` draws them."""
    if grid is None:
        return np.empty((0, 4, 2)), np.empty((0, 4, 2))
    return grid.cell_quads(device_nodes(grid, context))


def device_nodes(grid, context) -> np.ndarray:
    """(R+1, C+1, 2) device pixels of the grid's nodes: lon/lat -> the map CRS (the render context's
    transform) -> the map image (its map-to-pixel); NaN where a node does not map."""
    to_map, to_pixel = context.coordinateTransform(), context.mapToPixel()

    def to_device(lonlat: np.ndarray) -> np.ndarray:
        out = np.full_like(lonlat, np.nan)
        for i, (lon, lat) in enumerate(lonlat):
            try:
                point = to_map.transform(QgsPointXY(lon, lat)) if to_map.isValid() else QgsPointXY(lon, lat)
            except QgsCsException:
                continue
            pixel = to_pixel.transform(point)
            out[i] = pixel.x(), pixel.y()
        return out

    return grid.mapped(to_device)


def draw_cells(target: QImage, frame: DrapedFrame, source_quads: np.ndarray, target_quads: np.ndarray,
               feedback=None) -> None:
    """Draw each cell of `frame` (source quads in image pixels, centre-of-pixel convention) onto `target`
    at its target quad (device pixels), from a decimated copy of the frame about as large as it is drawn
    (at most MAX_DECIMATION times smaller), smoothed by the painter's bilinear sampling."""
    height, width = frame.image_bgr.shape[:2]
    on_target = np.ptp(target_quads.reshape(-1, 2), axis=0)
    scale = max(on_target[0] / width, on_target[1] / height, 1.0 / MAX_DECIMATION)
    step = max(int(1.0 / scale), 1)
    image = frame.image(step)
    painter = QPainter(target)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    transform = QTransform()
    for source, destination in zip(source_quads, target_quads):
        if feedback is not None and feedback.isCanceled():
            break
        source_image = source / step + 0.5  # pixel centre x -> the decimated QImage (pixel j is x = j * step)
        if not QTransform.quadToQuad(_polygon(source_image), _polygon(destination), transform):
            continue
        left, top = source_image.min(axis=0) - CELL_OVERLAP_PX
        right, bottom = source_image.max(axis=0) + CELL_OVERLAP_PX
        painter.setTransform(transform)
        rectangle = QRectF(left, top, right - left, bottom - top)
        painter.drawImage(rectangle, image, rectangle)
    painter.end()


def _polygon(quad: np.ndarray) -> QPolygonF:
    return QPolygonF([QPointF(float(x), float(y)) for x, y in quad])


class FrameLayerType(QgsPluginLayerType):
    """Lets QGIS recreate a FrameLayer from a project file."""

    def __init__(self):
        super().__init__(FRAME_LAYER_TYPE)

    def createLayer(self, uri: str = ""):  # noqa: N802 (QGIS API)
        return FrameLayer()


_registered: list[FrameLayerType] = []  # the registry does not own a Python type: kept alive here


def register_frame_layer_type() -> None:
    """Register the layer type once (the plugin's start; tests); harmless again."""
    registry = QgsApplication.pluginLayerRegistry()
    if registry.pluginLayerType(FRAME_LAYER_TYPE) is None:
        layer_type = FrameLayerType()
        registry.addPluginLayerType(layer_type)
        _registered.append(layer_type)


def unregister_frame_layer_type() -> None:
    QgsApplication.pluginLayerRegistry().removePluginLayerType(FRAME_LAYER_TYPE)
    _registered.clear()
