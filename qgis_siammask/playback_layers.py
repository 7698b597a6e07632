"""Playback layers of one video: the frame on screen's footprint (named with the georeferencing mode that
placed it), platform position and frame centre, the line of sight between them, the platform's trail
over the frames played, and the frame itself draped on the ground (frame_layer.FrameLayer, under them).

Scratch memory layers (one feature each, moved as the video plays), found by id each time. A saved project
keeps them, empty: when it is opened again, those are removed for the clip's own (they doubled up).
"""

from __future__ import annotations

from qgis.core import (
    QgsFeature,
    QgsGeometry,
    QgsLineSymbol,
    QgsMarkerSymbol,
    QgsPointXY,
    QgsSingleSymbolRenderer,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QCoreApplication

from .core.definitions import GEOREF_SHORT_LABELS, GEOREF_ST0601, LAYER_FOOTPRINTS, PLAYBACK_LAYER_PROPERTY
from .core.output.gpkg_format import LAYER_FIELDS
from .frame_layer import FrameLayer
from .layer_tree import VideoLayerGroup
from .layers import SKIP_MEMORY_LAYER_CHECK, memory_layer, qdatetime, style_footprints

PLAYBACK_FOOTPRINT = "footprint"
PLAYBACK_PLATFORM = "platform"
PLAYBACK_CENTRE = "frame centre"
PLAYBACK_SIGHT = "line of sight"
PLAYBACK_TRAIL = "platform trail"
PLAYBACK_FRAME = "video frame"


class PlaybackLayers:
    """Footprint, platform position and frame centre of the frame on screen (lon/lat, one feature each).

    Scratch memory layers, found by id each time; `show` recreates them when the analyst removed them
    (or the whole group, or started a new project)."""

    def __init__(self, group: VideoLayerGroup):
        self.group = group
        self._layer_ids: dict[str, str] = {}
        self._create()

    def _create(self) -> None:
        self.group.remove_layers(list(self._layer_ids.values()))
        self._layer_ids.clear()
        self.remove_saved()
        for name, geometry, renderer in (
            (PLAYBACK_TRAIL, "LineString", _line("#ff00ff", 0.5)),
            (PLAYBACK_SIGHT, "LineString", _line("#00bfff", 0.4, dashed=True)),
            (PLAYBACK_FOOTPRINT, "Polygon", None),
            (PLAYBACK_PLATFORM, "Point", _marker("triangle", "#ff00ff", 4.0)),
            (PLAYBACK_CENTRE, "Point", _marker("cross2", "#00bfff", 5.0)),
        ):
            layer = memory_layer(geometry, "EPSG:4326", name, LAYER_FIELDS[LAYER_FOOTPRINTS])
            layer.setCustomProperty(SKIP_MEMORY_LAYER_CHECK, True)
            layer.setCustomProperty(PLAYBACK_LAYER_PROPERTY, True)
            if renderer is None:
                style_footprints(layer, outline="#00bfff")
            else:
                layer.setRenderer(QgsSingleSymbolRenderer(renderer))
            self._layer_ids[name] = self.group.add(layer).id()
        frame = FrameLayer(PLAYBACK_FRAME)
        frame.setCustomProperty(PLAYBACK_LAYER_PROPERTY, True)
        self._layer_ids[PLAYBACK_FRAME] = self.group.add(frame).id()  # drawn under them

    def _layer(self, name: str) -> QgsVectorLayer | None:
        return self.group.layer(self._layer_ids[name])

    @property
    def footprint(self) -> QgsVectorLayer | None:
        return self._layer(PLAYBACK_FOOTPRINT)

    @property
    def platform(self) -> QgsVectorLayer | None:
        return self._layer(PLAYBACK_PLATFORM)

    @property
    def centre(self) -> QgsVectorLayer | None:
        return self._layer(PLAYBACK_CENTRE)

    @property
    def trail(self) -> QgsVectorLayer | None:
        return self._layer(PLAYBACK_TRAIL)

    @property
    def sight(self) -> QgsVectorLayer | None:
        return self._layer(PLAYBACK_SIGHT)

    @property
    def frame(self) -> FrameLayer | None:
        return self._layer(PLAYBACK_FRAME)

    def frame_visible(self) -> bool:
        """The frame layer is there and ticked (with its group) in the Layers panel."""
        node = self.group.project.layerTreeRoot().findLayer(self._layer_ids[PLAYBACK_FRAME])
        return node is not None and node.isVisible()

    def remove(self) -> None:
        self.group.remove_layers(list(self._layer_ids.values()))

    def remove_saved(self) -> None:
        """Take out the playback layers in the group that are not these: a saved project's, read back
        empty when it is opened again (a project opened with the clip open, or the clip opened in it)."""
        node = self.group.find()
        if node is None:
            return
        ours = set(self._layer_ids.values())
        saved = [
            child.layerId()
            for child in node.findLayers()
            if child.layerId() not in ours and child.layer() is not None and _is_playback(child.layer())
        ]
        if saved:
            self.group.project.removeMapLayers(saved)

    def show(
        self,
        frame_index: int,
        time_utc,
        footprint_lonlat=None,
        platform_lonlat=None,
        centre_lonlat=None,
        trail_lonlat=(),
        georef: str = GEOREF_ST0601,
    ):
        """Move each layer's single feature; a None position empties that layer. `trail_lonlat`: the
        platform positions of the frames played, in frame order (a line from two on). `georef`: the mode
        that placed the footprint, in its attribute and in the footprint layer's name."""
        if any(self._layer(name) is None for name in self._layer_ids):
            self._create()
        values = [frame_index, qdatetime(time_utc), "", georef]
        label = QCoreApplication.translate("PlaybackLayers", GEOREF_SHORT_LABELS[georef])
        footprint_name = f"{PLAYBACK_FOOTPRINT} ({label})"
        if self.footprint.name() != footprint_name:
            self.footprint.setName(footprint_name)
        footprint = (
            QgsGeometry.fromPolygonXY([[QgsPointXY(x, y) for x, y in footprint_lonlat]])
            if footprint_lonlat is not None
            else None
        )
        platform = (
            QgsGeometry.fromPointXY(QgsPointXY(*platform_lonlat)) if platform_lonlat is not None else None
        )
        centre = QgsGeometry.fromPointXY(QgsPointXY(*centre_lonlat)) if centre_lonlat is not None else None
        sight = (
            QgsGeometry.fromPolylineXY([QgsPointXY(*platform_lonlat), QgsPointXY(*centre_lonlat)])
            if platform_lonlat is not None and centre_lonlat is not None
            else None
        )
        trail_points = [QgsPointXY(*point) for point in trail_lonlat]
        trail = QgsGeometry.fromPolylineXY(trail_points) if len(trail_points) > 1 else None
        for name, geometry in (
            (PLAYBACK_TRAIL, trail),
            (PLAYBACK_SIGHT, sight),
            (PLAYBACK_FOOTPRINT, footprint),
            (PLAYBACK_PLATFORM, platform),
            (PLAYBACK_CENTRE, centre),
        ):
            _replace_single_feature(self._layer(name), geometry, values)


def _is_playback(layer) -> bool:
    """One of the playback layers: marked so, or (saved before they were marked) a memory layer of their
    names in the video's group."""
    if layer.customProperty(PLAYBACK_LAYER_PROPERTY):
        return True
    names = (PLAYBACK_TRAIL, PLAYBACK_SIGHT, PLAYBACK_PLATFORM, PLAYBACK_CENTRE)
    named = layer.name() in names or layer.name().startswith(f"{PLAYBACK_FOOTPRINT} (")
    return named and layer.providerType() == "memory"


def _replace_single_feature(layer: QgsVectorLayer, geometry: QgsGeometry | None, values) -> None:
    provider = layer.dataProvider()
    provider.truncate()
    if geometry is not None and not geometry.isEmpty():
        feature = QgsFeature(layer.fields())
        feature.setGeometry(geometry)
        feature.setAttributes(values)
        provider.addFeatures([feature])
    layer.updateExtents()
    layer.triggerRepaint()


def _line(color: str, width_mm: float, dashed: bool = False) -> QgsLineSymbol:
    properties = {"line_color": color, "line_width": str(width_mm)}
    if dashed:
        properties["line_style"] = "dash"
    return QgsLineSymbol.createSimple(properties)


def _marker(shape: str, color: str, size_mm: float) -> QgsMarkerSymbol:
    return QgsMarkerSymbol.createSimple(
        {"name": shape, "color": color, "outline_color": "#000000", "size": str(size_mm)}
    )
