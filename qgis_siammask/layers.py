"""Map layers of one video: live tracking layers and playback layers, in one layer tree group.

Memory layers, touched only on the main thread. Tracking layers (masks, boxes, points, lines,
footprints) are styled per track (categorized on track_id, the same colours as the video overlay) and
carry temporal properties on `time_utc` so the temporal controller animates them. Playback layers hold
one feature each (frame footprint, platform position, frame centre) moved as the video plays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsCoordinateTransformContext,
    QgsDateTimeRange,
    QgsFeature,
    QgsGeometry,
    QgsLayerTreeGroup,
    QgsMarkerSymbol,
    QgsPointXY,
    QgsProject,
    QgsRendererCategory,
    QgsSingleSymbolRenderer,
    QgsSymbol,
    QgsUnitTypes,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsVectorLayerTemporalProperties,
    QgsWkbTypes,
)
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QDateTime, Qt
from qgis.PyQt.QtGui import QColor

from .core.definitions import (
    FIELD_END_UTC,
    FIELD_FIRST_FRAME,
    FIELD_FRAME,
    FIELD_GEO_FLAG,
    FIELD_HEADING_DEG,
    FIELD_LABEL,
    FIELD_LAST_FRAME,
    FIELD_LENGTH_M,
    FIELD_POINT_COUNT,
    FIELD_SCORE,
    FIELD_SPEED_MPS,
    FIELD_START_UTC,
    FIELD_STATUS,
    FIELD_TIME_UTC,
    FIELD_TRACK_ID,
    LAYER_BOXES,
    LAYER_FOOTPRINTS,
    LAYER_LINES,
    LAYER_MASKS,
    LAYER_POINTS,
    TRACK_LAYERS,
)
from .core.output.geometry import ground_distance_heading
from .core.output.track_store import LAYER_FIELDS

# Distinct colours (Okabe-Ito plus a few), the same for a track's overlay in the video and on the map.
TRACK_PALETTE = (
    "#e69f00",
    "#56b4e9",
    "#009e73",
    "#f0e442",
    "#0072b2",
    "#d55e00",
    "#cc79a7",
    "#ff3b30",
    "#7fff00",
    "#00ced1",
)
PLAYBACK_FOOTPRINT = "frame footprint"
PLAYBACK_PLATFORM = "platform"
PLAYBACK_CENTRE = "frame centre"

_MEMORY_TYPE = {"int": "integer", "real": "double", "str": "string", "datetime": "datetime"}
_PLAYBACK_FIELDS = LAYER_FIELDS[LAYER_FOOTPRINTS]
_LAYER_GEOMETRY = {
    LAYER_MASKS: "MultiPolygon",
    LAYER_BOXES: "Polygon",
    LAYER_POINTS: "Point",
    LAYER_LINES: "LineString",
    LAYER_FOOTPRINTS: "Polygon",
}


def track_color(track_id: int) -> QColor:
    return QColor(TRACK_PALETTE[int(track_id) % len(TRACK_PALETTE)])


def shapely_to_qgs(geometry) -> QgsGeometry:
    """A shapely geometry as a QgsGeometry (through WKB: exact, no text round trip)."""
    result = QgsGeometry()
    result.fromWkb(geometry.wkb)
    return result


def qdatetime(value) -> QDateTime:
    """A timezone-aware datetime as a UTC QDateTime (an invalid one for None)."""
    if value is None:
        return QDateTime()
    return QDateTime.fromMSecsSinceEpoch(int(round(value.timestamp() * 1000)), Qt.TimeSpec.UTC)


def memory_layer(geometry: str, crs: str, name: str, fields) -> QgsVectorLayer:
    """A memory layer with the track store's fields (core.track_store.LAYER_FIELDS entries)."""
    field_uri = "".join(f"&field={f.name}:{_MEMORY_TYPE[f.kind]}" for f in fields)
    layer = QgsVectorLayer(f"{geometry}?crs={crs}{field_uri}", name, "memory")
    if not layer.isValid():
        raise RuntimeError(f"could not create memory layer {name} ({geometry}, {crs})")
    return layer


@dataclass
class _LineState:
    label: str
    vertices: list = field(default_factory=list)
    first_frame: int = 0
    last_frame: int = 0
    start_utc: object = None
    end_utc: object = None
    length_m: float = 0.0
    last_lonlat: tuple | None = None
    feature_id: int | None = None


class VideoLayerGroup:
    """The layer tree group of one video and the layers in it; `remove()` takes all of it away."""

    def __init__(
        self, title: str, project: QgsProject | None = None, parent: "VideoLayerGroup | None" = None
    ):
        self.project = project or (parent.project if parent is not None else QgsProject.instance())
        parent_node = parent.group if parent is not None else self.project.layerTreeRoot()
        self.group: QgsLayerTreeGroup | None = parent_node.insertGroup(0, title)
        self._layer_ids: list[str] = []

    def add(self, layer: QgsVectorLayer) -> QgsVectorLayer:
        self.project.addMapLayer(layer, False)
        self.group.addLayer(layer)
        self._layer_ids.append(layer.id())
        return layer

    def layers(self) -> list[QgsVectorLayer]:
        return [layer for layer in map(self.project.mapLayer, self._layer_ids) if layer is not None]

    def remove(self) -> None:
        ids = [i for i in self._layer_ids if self.project.mapLayer(i) is not None]
        if ids:
            self.project.removeMapLayers(ids)
        self._layer_ids.clear()
        group, self.group = self.group, None
        if group is None or sip.isdeleted(group):  # the analyst may have removed it already
            return
        parent = group.parent()
        if parent is not None:
            parent.removeChildNode(group)

    @property
    def exists(self) -> bool:
        return self.group is not None and not sip.isdeleted(self.group) and self.group.parent() is not None


class TrackLayers:
    """Masks, boxes, points, lines and footprints of one tracking run, fed with engine FrameFeatures."""

    def __init__(self, group: VideoLayerGroup, crs: str, frame_duration_s: float):
        self.crs = crs
        self.layers: dict[str, QgsVectorLayer] = {}
        self._lines: dict[int, _LineState] = {}
        self._categories: set[int] = set()
        self._times_utc: list = []  # first and last frame time seen (datetime)
        for name in TRACK_LAYERS:
            layer = group.add(memory_layer(_LAYER_GEOMETRY[name], crs, name, LAYER_FIELDS[name]))
            self.layers[name] = layer
            _set_temporal(layer, name, frame_duration_s)
            if name != LAYER_FOOTPRINTS:
                layer.setRenderer(QgsCategorizedSymbolRenderer(FIELD_TRACK_ID, []))
        _style_footprints(self.layers[LAYER_FOOTPRINTS])

    def add_frames(self, frames) -> None:
        """Append a batch of `core.geometry.FrameFeatures` (one edit session per layer per batch)."""
        per_layer = {name: [] for name in TRACK_LAYERS}
        categories_before = len(self._categories)
        for frame in frames:
            if frame.time_utc is not None:
                first, last = self._times_utc or (frame.time_utc, frame.time_utc)
                self._times_utc = [min(first, frame.time_utc), max(last, frame.time_utc)]
            if frame.footprint is not None:
                values = {
                    FIELD_FRAME: frame.frame,
                    FIELD_TIME_UTC: qdatetime(frame.time_utc),
                    FIELD_GEO_FLAG: frame.geo_flag,
                }
                per_layer[LAYER_FOOTPRINTS].append(self._feature(LAYER_FOOTPRINTS, frame.footprint, values))
            for track in frame.tracks:
                self._ensure_category(track.track_id, track.label)
                values = {
                    FIELD_TRACK_ID: track.track_id,
                    FIELD_LABEL: track.label,
                    FIELD_FRAME: track.frame,
                    FIELD_TIME_UTC: qdatetime(track.time_utc),
                    FIELD_SCORE: track.score,
                    FIELD_STATUS: track.status,
                    FIELD_SPEED_MPS: track.speed_mps,
                    FIELD_HEADING_DEG: track.heading_deg,
                    FIELD_GEO_FLAG: track.geo_flag,
                }
                for name, geometry in (
                    (LAYER_MASKS, track.mask),
                    (LAYER_BOXES, track.box),
                    (LAYER_POINTS, track.point),
                ):
                    if geometry is not None:
                        per_layer[name].append(self._feature(name, geometry, values))
                if track.point is not None:
                    self._extend_line(track)
        for name, features in per_layer.items():
            if features:
                self.layers[name].dataProvider().addFeatures(features)
        self._write_lines()
        if len(self._categories) != categories_before:  # a renderer set anew refreshes the legend
            for name in (LAYER_MASKS, LAYER_BOXES, LAYER_POINTS, LAYER_LINES):
                self.layers[name].setRenderer(self.layers[name].renderer().clone())
        for layer in self.layers.values():
            layer.updateExtents()
            layer.triggerRepaint()

    def time_extent(self) -> QgsDateTimeRange | None:
        """From the first to the last tracked frame's time (for the temporal controller), or None."""
        if not self._times_utc:
            return None
        return QgsDateTimeRange(qdatetime(self._times_utc[0]), qdatetime(self._times_utc[1]))

    def feature_counts(self) -> dict[str, int]:
        return {name: layer.featureCount() for name, layer in self.layers.items()}

    def export_geopackage(self, path: str | Path) -> Path:
        """Write every layer into one GeoPackage (one table per layer, replacing tables of that name)."""
        path = Path(path)
        for index, (name, layer) in enumerate(self.layers.items()):
            options = QgsVectorFileWriter.SaveVectorOptions()
            options.driverName = "GPKG"
            options.layerName = name
            options.actionOnExistingFile = (
                QgsVectorFileWriter.CreateOrOverwriteFile
                if index == 0
                else QgsVectorFileWriter.CreateOrOverwriteLayer
            )
            error, message, _, _ = QgsVectorFileWriter.writeAsVectorFormatV3(
                layer, str(path), QgsCoordinateTransformContext(), options
            )
            if error != QgsVectorFileWriter.NoError:
                raise OSError(f"{path}: could not write layer {name}: {message}")
        return path

    def _feature(self, name: str, geometry, values: dict) -> QgsFeature:
        """A feature of layer `name`; `values` by field name (fields the layer lacks are ignored)."""
        fields = self.layers[name].fields()
        feature = QgsFeature(fields)
        qgs_geometry = geometry if isinstance(geometry, QgsGeometry) else shapely_to_qgs(geometry)
        if name == LAYER_MASKS and not qgs_geometry.isMultipart():
            qgs_geometry.convertToMultiType()
        feature.setGeometry(qgs_geometry)
        for field_name, value in values.items():
            index = fields.indexOf(field_name)
            if index >= 0:
                feature.setAttribute(index, value)
        return feature

    def _ensure_category(self, track_id: int, label: str) -> None:
        if track_id in self._categories:
            return
        self._categories.add(track_id)
        color = track_color(track_id)
        for name in (LAYER_MASKS, LAYER_BOXES, LAYER_POINTS, LAYER_LINES):
            layer = self.layers[name]
            symbol = QgsSymbol.defaultSymbol(layer.geometryType())
            symbol.setColor(color)
            if name == LAYER_MASKS:
                symbol.setOpacity(0.6)
            elif name == LAYER_BOXES:
                symbol.symbolLayer(0).setBrushStyle(Qt.BrushStyle.NoBrush)
                symbol.symbolLayer(0).setStrokeColor(color)
                symbol.symbolLayer(0).setStrokeWidth(0.6)
            elif name == LAYER_LINES:
                symbol.setWidth(0.8)
            layer.renderer().addCategory(QgsRendererCategory(track_id, symbol, f"{track_id}: {label}"))

    def _extend_line(self, track) -> None:
        state = self._lines.get(track.track_id)
        if state is None:
            state = self._lines[track.track_id] = _LineState(
                track.label, first_frame=track.frame, start_utc=track.time_utc
            )
        state.vertices.append(QgsPointXY(track.point.x, track.point.y))
        state.last_frame, state.end_utc = track.frame, track.time_utc
        if track.lonlat_deg is not None:
            if state.last_lonlat is not None:
                state.length_m += ground_distance_heading(state.last_lonlat, track.lonlat_deg)[0]
            state.last_lonlat = track.lonlat_deg

    def _write_lines(self) -> None:
        layer = self.layers[LAYER_LINES]
        provider = layer.dataProvider()
        for track_id, state in self._lines.items():
            if len(state.vertices) < 2:
                continue
            values = {
                FIELD_TRACK_ID: track_id,
                FIELD_LABEL: state.label,
                FIELD_FIRST_FRAME: state.first_frame,
                FIELD_LAST_FRAME: state.last_frame,
                FIELD_START_UTC: qdatetime(state.start_utc),
                FIELD_END_UTC: qdatetime(state.end_utc),
                FIELD_POINT_COUNT: len(state.vertices),
                FIELD_LENGTH_M: state.length_m,
            }
            geometry = QgsGeometry.fromPolylineXY(state.vertices)
            if state.feature_id is None:
                _, added = provider.addFeatures([self._feature(LAYER_LINES, geometry, values)])
                state.feature_id = added[0].id()
            else:
                fields = layer.fields()
                provider.changeGeometryValues({state.feature_id: geometry})
                provider.changeAttributeValues(
                    {state.feature_id: {fields.indexOf(k): v for k, v in values.items()}}
                )


class PlaybackLayers:
    """Footprint, platform position and frame centre of the frame on screen (lon/lat, one feature each)."""

    def __init__(self, group: VideoLayerGroup):
        self.footprint = group.add(memory_layer("Polygon", "EPSG:4326", PLAYBACK_FOOTPRINT, _PLAYBACK_FIELDS))
        self.platform = group.add(memory_layer("Point", "EPSG:4326", PLAYBACK_PLATFORM, _PLAYBACK_FIELDS))
        self.centre = group.add(memory_layer("Point", "EPSG:4326", PLAYBACK_CENTRE, _PLAYBACK_FIELDS))
        _style_footprints(self.footprint, outline="#00bfff")
        self.platform.setRenderer(QgsSingleSymbolRenderer(_marker("triangle", "#ff00ff", 4.0)))
        self.centre.setRenderer(QgsSingleSymbolRenderer(_marker("cross2", "#00bfff", 5.0)))

    def show(
        self, frame_index: int, time_utc, footprint_lonlat=None, platform_lonlat=None, centre_lonlat=None
    ):
        """Move each layer's single feature; a None position empties that layer."""
        values = [frame_index, qdatetime(time_utc), ""]
        footprint = (
            QgsGeometry.fromPolygonXY([[QgsPointXY(x, y) for x, y in footprint_lonlat]])
            if footprint_lonlat is not None
            else None
        )
        platform = (
            QgsGeometry.fromPointXY(QgsPointXY(*platform_lonlat)) if platform_lonlat is not None else None
        )
        centre = QgsGeometry.fromPointXY(QgsPointXY(*centre_lonlat)) if centre_lonlat is not None else None
        for layer, geometry in (
            (self.footprint, footprint),
            (self.platform, platform),
            (self.centre, centre),
        ):
            _replace_single_feature(layer, geometry, values)


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


def _marker(shape: str, color: str, size_mm: float) -> QgsMarkerSymbol:
    return QgsMarkerSymbol.createSimple(
        {"name": shape, "color": color, "outline_color": "#000000", "size": str(size_mm)}
    )


def _style_footprints(layer: QgsVectorLayer, outline: str = "#404040") -> None:
    symbol = QgsSymbol.defaultSymbol(QgsWkbTypes.PolygonGeometry)
    symbol.symbolLayer(0).setBrushStyle(Qt.BrushStyle.NoBrush)
    symbol.symbolLayer(0).setStrokeColor(QColor(outline))
    symbol.symbolLayer(0).setStrokeWidth(0.5)
    layer.setRenderer(QgsSingleSymbolRenderer(symbol))


def _set_temporal(layer: QgsVectorLayer, name: str, frame_duration_s: float) -> None:
    """Instants on time_utc lasting one frame; lines span their start/end times."""
    properties: QgsVectorLayerTemporalProperties = layer.temporalProperties()
    properties.setIsActive(True)
    if name == LAYER_LINES:
        properties.setMode(QgsVectorLayerTemporalProperties.ModeFeatureDateTimeStartAndEndFromFields)
        properties.setStartField(FIELD_START_UTC)
        properties.setEndField(FIELD_END_UTC)
    else:
        properties.setMode(QgsVectorLayerTemporalProperties.ModeFeatureDateTimeInstantFromField)
        properties.setStartField(FIELD_TIME_UTC)
        properties.setDurationUnits(QgsUnitTypes.TemporalMilliseconds)
        properties.setFixedDuration(max(1.0, frame_duration_s * 1000.0))
