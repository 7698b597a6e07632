"""Map layers of one video: live tracking layers and playback layers, in one layer tree group.

Memory layers, touched only on the main thread. Tracking layers (masks, boxes, points, lines,
footprints) are styled per track (categorized on track_id, the same colours as the video overlay) and
carry temporal properties on `time_utc` so the temporal controller animates them. Playback layers hold
one feature each (frame footprint, platform position, frame centre) moved as the video plays.
"""

from __future__ import annotations

import functools
from collections import deque
from pathlib import Path

from qgis.core import (
    Qgis,
    QgsCategorizedSymbolRenderer,
    QgsCoordinateTransformContext,
    QgsDateTimeRange,
    QgsFeature,
    QgsFields,
    QgsGeometry,
    QgsLineString,
    QgsRendererCategory,
    QgsSingleSymbolRenderer,
    QgsSymbol,
    QgsUnitTypes,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsVectorLayerTemporalProperties,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QDateTime, Qt
from qgis.PyQt.QtGui import QColor

from .core.definitions import (
    FIELD_END_UTC,
    FIELD_FRAME,
    FIELD_GEO_FLAG,
    FIELD_HEADING_DEG,
    FIELD_LABEL,
    FIELD_SCORE,
    FIELD_SPEED_MPS,
    FIELD_START_UTC,
    FIELD_STATUS,
    FIELD_TIME_UTC,
    FIELD_TRACK_ID,
    LAYER_BOXES,
    LAYER_CORRECTIONS,
    LAYER_FOOTPRINTS,
    LAYER_LINES,
    LAYER_MASKS,
    LAYER_OUTLINES_PX,
    LAYER_POINTS,
    LIVE_LAYER_WINDOW_FRAMES,
    TRACK_LAYERS,
)
from .core.output.gpkg_format import LAYER_FIELDS, gpkg_tables
from .core.output.track_line import TrackLine
from .layer_tree import VideoLayerGroup
from .track_colors import track_color

SKIP_MEMORY_LAYER_CHECK = "skipMemoryLayersCheck"  # QGIS's own property: no "layers will be lost" prompt

_MEMORY_TYPE = {"int": "integer", "real": "double", "str": "string", "datetime": "datetime"}
_LAYER_GEOMETRY = {
    LAYER_MASKS: "MultiPolygon",
    LAYER_BOXES: "Polygon",
    LAYER_POINTS: "Point",
    LAYER_LINES: "LineString",
    LAYER_FOOTPRINTS: "Polygon",
}


def _add_category(layer: QgsVectorLayer, name: str, track_id: int, label: str) -> None:
    """One track's class in a run layer's categorized renderer, in the track's colour. A layer drawn
    otherwise is left as it is: the analyst styled it, or the project was saved before the run's first
    track and opened again while it runs (QGIS reads a renderer without classes back as a single symbol)."""
    if not isinstance(layer.renderer(), QgsCategorizedSymbolRenderer):
        return
    color = track_color(track_id)
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


@functools.lru_cache(maxsize=None)
def memory_fields(name: str) -> QgsFields:
    """The fields of run layer `name` as its memory layer has them (features are built before adding)."""
    return QgsFields(memory_layer(_LAYER_GEOMETRY[name], "EPSG:4326", name, LAYER_FIELDS[name]).fields())


def memory_layer(geometry: str, crs: str, name: str, fields) -> QgsVectorLayer:
    """A memory layer with the track store's fields (core.output.gpkg_format.LAYER_FIELDS entries)."""
    field_uri = "".join(f"&field={f.name}:{_MEMORY_TYPE[f.kind]}" for f in fields)
    layer = QgsVectorLayer(f"{geometry}?crs={crs}{field_uri}", name, "memory")
    if not layer.isValid():
        raise RuntimeError(f"could not create memory layer {name} ({geometry}, {crs})")
    return layer


class TrackLayers:
    """Masks, boxes, points, lines and footprints of one tracking run, fed with engine FrameFeatures.

    Live memory layers while the run goes on, holding its newest `live_window_frames` frames (and whole
    track lines), so their memory does not grow with the run: the run's GeoPackage has every frame, and
    `load_geopackage` swaps the live layers for its tables when the run ends. Layers are found by id
    each time: the analyst may remove them (or the whole group) at any moment, and the frames then only
    go to the GeoPackage.
    """

    live_window_frames = LIVE_LAYER_WINDOW_FRAMES

    def __init__(self, group: VideoLayerGroup, crs: str, frame_duration_s: float, geopackage=None):
        """Live memory layers in `group`; with `geopackage` (a run's or an export's file) its tables."""
        self.group = group
        self.crs = crs
        self.frame_duration_s = frame_duration_s
        self._layer_ids: dict[str, str] = {}
        self._corrections_id: str | None = None  # the file's corrections table, once it has rows
        self._lines: dict[int, TrackLine] = {}
        self._live_ids: dict[str, deque] = {name: deque() for name in TRACK_LAYERS}  # (frame, feature id)
        self._categories: dict[int, str] = {}  # track id -> label
        self._times_utc: list = []  # first and last frame time seen (datetime)
        self.geopackage_path: Path | None = None  # the file whose tables the layers are, once read
        if geopackage is not None:
            self.load_geopackage(geopackage)
            return
        for name in TRACK_LAYERS:
            layer = memory_layer(_LAYER_GEOMETRY[name], crs, name, LAYER_FIELDS[name])
            layer.setCustomProperty(SKIP_MEMORY_LAYER_CHECK, True)  # the GeoPackage holds the frames
            self._add(name, layer)

    @property
    def layers(self) -> dict[str, QgsVectorLayer]:
        """The run's layers still in the project, by name."""
        found = {name: self.group.layer(layer_id) for name, layer_id in self._layer_ids.items()}
        return {name: layer for name, layer in found.items() if layer is not None}

    @property
    def corrections(self) -> QgsVectorLayer | None:
        """The run's corrections table (each re-seat or added target), while it is in the project."""
        return self.group.layer(self._corrections_id) if self._corrections_id is not None else None

    @property
    def complete(self) -> bool:
        """Whether every layer of the run is still in the project."""
        return len(self.layers) == len(TRACK_LAYERS)

    @property
    def exportable(self) -> bool:
        """Whether `export_geopackage` has every layer: in the project, or in the run's file."""
        return self.complete or (self.geopackage_path is not None and self.geopackage_path.is_file())

    def _add(self, name: str, layer: QgsVectorLayer) -> None:
        """Style `layer` as the run's `name` layer and put it in the group (footprints unticked)."""
        _set_temporal(layer, name, self.frame_duration_s)
        if name == LAYER_FOOTPRINTS:
            style_footprints(layer)
        else:
            layer.setRenderer(QgsCategorizedSymbolRenderer(FIELD_TRACK_ID, []))
            for track_id, label in self._categories.items():
                _add_category(layer, name, track_id, label)
        # one outline per frame: stacked, they hide the tracks; the temporal controller shows one
        self._layer_ids[name] = self.group.add(layer, visible=name != LAYER_FOOTPRINTS).id()

    def load_geopackage(self, path: str | Path) -> bool:
        """Replace the run's layers with the tables of its GeoPackage; False when it has none."""
        loaded = {}
        for name in TRACK_LAYERS:
            layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
            if not layer.isValid():
                return False
            loaded[name] = layer
        for feature in loaded[LAYER_LINES].getFeatures():  # one per track with at least two points
            self._categories.setdefault(int(feature[FIELD_TRACK_ID]), str(feature[FIELD_LABEL]))
        points = loaded[LAYER_POINTS]
        for track_id in points.uniqueValues(points.fields().indexOf(FIELD_TRACK_ID)):
            self._categories.setdefault(int(track_id), f"track {track_id}")
        table = [self._corrections_id] if self._corrections_id is not None else []
        self.group.remove_layers([*self._layer_ids.values(), *table])
        self._layer_ids.clear()
        for name, layer in loaded.items():
            self._add(name, layer)
        self.geopackage_path = Path(path)
        # a table without geometry, so the analyst sees each correction: frame, time, kind, boxes
        self._corrections_id = None
        if LAYER_CORRECTIONS in gpkg_tables(path):  # only a corrected run has it
            corrections = QgsVectorLayer(f"{path}|layername={LAYER_CORRECTIONS}", LAYER_CORRECTIONS, "ogr")
            if corrections.isValid() and corrections.featureCount() > 0:
                self._corrections_id = self.group.add(corrections).id()
        return True

    def add_frames(self, frames) -> None:
        """Append a batch of `core.geometry.FrameFeatures` (one edit session per layer per batch).

        Layers the analyst removed are skipped; the line geometry is still followed."""
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
        layers = self.layers
        for name, features in per_layer.items():
            if features and name in layers:
                _, added = layers[name].dataProvider().addFeatures(features)
                self._live_ids[name].extend((feature[FIELD_FRAME], feature.id()) for feature in added)
        if frames:
            self._drop_frames_before(frames[-1].frame - self.live_window_frames + 1, layers)
        self._write_lines(layers.get(LAYER_LINES))
        if len(self._categories) != categories_before:  # a renderer set anew refreshes the legend
            for name, layer in layers.items():
                if name != LAYER_FOOTPRINTS:
                    layer.setRenderer(layer.renderer().clone())
        for layer in layers.values():
            layer.updateExtents()
            layer.triggerRepaint()

    def _drop_frames_before(self, oldest_kept: int, layers: dict[str, QgsVectorLayer]) -> None:
        """Live features of frames before `oldest_kept` leave the layers (frames come in order)."""
        for name, live in self._live_ids.items():
            dropped = []
            while live and live[0][0] < oldest_kept:
                dropped.append(live.popleft()[1])
            if dropped and name in layers:
                layers[name].dataProvider().deleteFeatures(dropped)

    def time_extent(self) -> QgsDateTimeRange | None:
        """From the first to the last tracked frame's time (for the temporal controller), or None."""
        if not self._times_utc:
            return None
        return QgsDateTimeRange(qdatetime(self._times_utc[0]), qdatetime(self._times_utc[1]))

    def feature_counts(self) -> dict[str, int]:
        return {name: layer.featureCount() for name, layer in self.layers.items()}

    def export_geopackage(self, path: str | Path) -> Path:
        """Write every layer into one GeoPackage (one table per layer, replacing tables of that name),
        with the run file's tables that are not map layers: its corrections (the record of each re-seat
        or added target) and its pixel outlines (the video overlays), when it has them."""
        path = Path(path)
        layers = dict(self.layers)
        source = self.geopackage_path  # None while the layers are live memory layers: no file yet
        if source is not None and source.is_file() and source.resolve() != path.resolve():
            in_project = layers  # a layer the analyst removed from the project is read from the file
            layers = {
                name: in_project.get(name) or QgsVectorLayer(f"{source}|layername={name}", name, "ogr")
                for name in TRACK_LAYERS
            }
            points = layers[LAYER_POINTS]
            tables = gpkg_tables(source)
            for name in (LAYER_CORRECTIONS, LAYER_OUTLINES_PX):
                if name in tables:
                    layers[name] = QgsVectorLayer(f"{source}|layername={name}", name, "ogr")
            if LAYER_OUTLINES_PX in layers:  # the tracks the analyst deleted stay out: written selected
                kept = points.uniqueValues(points.fields().indexOf(FIELD_TRACK_ID)) or {-1}
                layers[LAYER_OUTLINES_PX].selectByExpression(  # (a subset string on a GeoPackage layer
                    # made OGR fail every other count of the file: "unable to open database file")
                    f'"{FIELD_TRACK_ID}" IN ({",".join(str(int(track)) for track in kept)})'
                )
        for index, (name, layer) in enumerate(layers.items()):
            options = QgsVectorFileWriter.SaveVectorOptions()
            options.driverName = "GPKG"
            options.layerName = name
            options.onlySelectedFeatures = name == LAYER_OUTLINES_PX
            options.actionOnExistingFile = (
                QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteFile
                if index == 0
                else QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteLayer
            )
            error, message, _, _ = QgsVectorFileWriter.writeAsVectorFormatV3(
                layer, str(path), QgsCoordinateTransformContext(), options
            )
            if error != QgsVectorFileWriter.WriterError.NoError:
                raise OSError(f"{path}: could not write layer {name}: {message}")
        return path

    def _feature(self, name: str, geometry, values: dict) -> QgsFeature:
        """A feature of layer `name`; `values` by field name (fields the layer lacks are ignored)."""
        fields = memory_fields(name)
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
        self._categories[track_id] = label
        for name, layer in self.layers.items():
            if name != LAYER_FOOTPRINTS:
                _add_category(layer, name, track_id, label)

    def _extend_line(self, track) -> None:
        line = self._lines.setdefault(track.track_id, TrackLine(track.track_id, track.label))
        line.add(track.frame, track.time_utc, (track.point.x, track.point.y), track.lonlat_deg)

    def _write_lines(self, layer: QgsVectorLayer | None) -> None:
        if layer is None:
            return
        provider = layer.dataProvider()
        for line in self._lines.values():  # `fid`: the line's feature in the memory layer
            if line.points < 2:
                continue
            values = line.attributes()
            values[FIELD_START_UTC], values[FIELD_END_UTC] = map(qdatetime, (line.start_utc, line.end_utc))
            geometry = QgsGeometry(QgsLineString(line.xy[0::2].tolist(), line.xy[1::2].tolist()))
            if line.fid is None:
                _, added = provider.addFeatures([self._feature(LAYER_LINES, geometry, values)])
                line.fid = added[0].id()
            else:
                fields = layer.fields()
                provider.changeGeometryValues({line.fid: geometry})
                provider.changeAttributeValues({line.fid: {fields.indexOf(k): v for k, v in values.items()}})


def style_footprints(layer: QgsVectorLayer, outline: str = "#a0a0a0") -> None:
    symbol = QgsSymbol.defaultSymbol(QgsWkbTypes.GeometryType.PolygonGeometry)
    symbol.symbolLayer(0).setBrushStyle(Qt.BrushStyle.NoBrush)
    symbol.symbolLayer(0).setStrokeColor(QColor(outline))
    symbol.symbolLayer(0).setStrokeWidth(0.3)
    layer.setRenderer(QgsSingleSymbolRenderer(symbol))


def _set_temporal(layer: QgsVectorLayer, name: str, frame_duration_s: float) -> None:
    """Instants on time_utc lasting one frame; lines span their start/end times."""
    properties: QgsVectorLayerTemporalProperties = layer.temporalProperties()
    properties.setIsActive(True)
    if name == LAYER_LINES:
        properties.setMode(Qgis.VectorTemporalMode.FeatureDateTimeStartAndEndFromFields)
        properties.setStartField(FIELD_START_UTC)
        properties.setEndField(FIELD_END_UTC)
    else:
        properties.setMode(Qgis.VectorTemporalMode.FeatureDateTimeInstantFromField)
        properties.setStartField(FIELD_TIME_UTC)
        properties.setDurationUnits(QgsUnitTypes.TemporalUnit.TemporalMilliseconds)
        properties.setFixedDuration(max(1.0, frame_duration_s * 1000.0))
