"""The video frame on the map: a plugin layer that drapes the frame on screen over the ground.

`FrameLayer` holds one image and its `DrapeGrid` (core.geo.drape: the frame's grid of image points cast
through the project's georeferencing mode, on flat ground or a DEM). Its renderer maps every grid cell
by its own projective transform (`QTransform.quadToQuad`) from the image to the map image, so the picture
follows the relief. The cells are drawn opaque into a scratch image, which is then drawn once with the
layer's opacity: overlapping cell edges (drawn a little larger to leave no seams) never show.

Registered as a plugin layer type (`register_frame_layer_type`), so a project that holds the layer saves
and opens without errors; a layer read back from a project is empty until the clip plays again.
"""

from __future__ import annotations

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

CELL_OVERLAP_PX = 0.5  # each cell's source drawn this much larger on every side: no hairline seams
MIN_DRAWN_SCALE = 1.0 / 8.0  # the frame is shrunk before drawing to about its size on the map, not below


class FrameLayer(QgsPluginLayer):
    """The frame on screen draped on the ground (EPSG:4326 grid); `set_frame` moves it."""

    def __init__(self, name: str = "video frame"):
        super().__init__(FRAME_LAYER_TYPE, name)
        self.setCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
        self.image: QImage | None = None
        self.grid = None  # core.geo.drape.DrapeGrid of `image`
        self.setValid(True)

    def set_frame(self, image: QImage | None, grid) -> None:
        """Show `image` (a QImage) draped by `grid` (DrapeGrid of the same image size); None: nothing."""
        self.image, self.grid = (image, grid) if image is not None and grid is not None else (None, None)
        bounds = self.grid.bounds_lonlat() if self.grid is not None else None
        self.setExtent(QgsRectangle(*bounds) if bounds is not None else QgsRectangle())
        self.triggerRepaint()

    def createMapRenderer(self, context):  # noqa: N802 (QGIS API)
        return FrameLayerRenderer(self, context)

    def clone(self):
        layer = FrameLayer(self.name())
        layer.setOpacity(self.opacity())
        layer.set_frame(self.image, self.grid)
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
    """Draws one FrameLayer; what it needs is taken on the main thread (here), drawn in `render`."""

    def __init__(self, layer: FrameLayer, context):
        super().__init__(layer.id(), context)
        self.image = layer.image
        self.opacity = layer.opacity()
        self.source_quads, self.target_quads = device_quads(layer.grid, context)

    def render(self) -> bool:
        if self.image is None or not len(self.source_quads) or self.opacity <= 0.0:
            return True
        painter = self.renderContext().painter()
        device = painter.device()
        scratch = QImage(device.width(), device.height(), QImage.Format.Format_ARGB32_Premultiplied)
        scratch.setDevicePixelRatio(device.devicePixelRatioF())
        scratch.fill(Qt.GlobalColor.transparent)
        draw_cells(scratch, self.image, self.source_quads, self.target_quads, self.renderContext().feedback())
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


def draw_cells(target: QImage, image: QImage, source_quads: np.ndarray, target_quads: np.ndarray,
               feedback=None) -> None:
    """Draw each cell of `image` (source quads in image pixels, centre-of-pixel convention) onto `target`
    at its target quad (device pixels). The image is first shrunk towards its size on `target`: a frame
    drawn small costs what a small image costs."""
    on_target = np.ptp(target_quads.reshape(-1, 2), axis=0)
    scale = float(np.clip(max(on_target[0] / image.width(), on_target[1] / image.height()), MIN_DRAWN_SCALE, 1.0))
    factors = np.ones(2)
    if scale < 0.75:
        shrunk = image.scaled(max(int(image.width() * scale), 1), max(int(image.height() * scale), 1),
                              Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
        factors = np.array([shrunk.width() / image.width(), shrunk.height() / image.height()])
        image = shrunk
    if image.format() != QImage.Format.Format_ARGB32_Premultiplied:  # a video frame's BGR: once, not per cell
        image = image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    painter = QPainter(target)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    transform = QTransform()
    for source, destination in zip(source_quads, target_quads):
        if feedback is not None and feedback.isCanceled():
            break
        source_image = (source + 0.5) * factors
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
