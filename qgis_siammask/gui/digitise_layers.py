"""Where shapes digitised on the video go: a point, line or polygon layer of the project the analyst picks,
or the clip's own GeoPackage (`<clip>_digitised.gpkg` in the output folder, one table per shape, created
on first use). Features go in through the layer's edit buffer (undo, save or discard as any edit), with
the frame, its time (ISO and seconds into the clip) and the georeferencing mode that placed them.

Layers are looked up by id each time: the analyst may remove them.
"""

from __future__ import annotations

from pathlib import Path

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsFillSymbol,
    QgsGeometry,
    QgsLineString,
    QgsLineSymbol,
    QgsMarkerSymbol,
    QgsPoint,
    QgsPolygon,
    QgsProject,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtGui import QColor

from ..core.definitions import FIELD_FRAME, FIELD_GEOREF, FIELD_TIME_S, FIELD_TIME_UTC
from ..core.geo.measure import SHAPE_LINE, SHAPE_POINT, SHAPE_POLYGON
from .dock_parts import tr

GEOMETRY_TYPES = {
    SHAPE_POINT: QgsWkbTypes.GeometryType.PointGeometry,
    SHAPE_LINE: QgsWkbTypes.GeometryType.LineGeometry,
    SHAPE_POLYGON: QgsWkbTypes.GeometryType.PolygonGeometry,
}
_MEMORY_GEOMETRY = {SHAPE_POINT: "Point", SHAPE_LINE: "LineString", SHAPE_POLYGON: "Polygon"}
# the attributes every digitised feature carries: (name, memory-provider type)
DIGITISED_FIELDS = (
    (FIELD_FRAME, "integer"),
    (FIELD_TIME_UTC, "string"),
    (FIELD_TIME_S, "double"),
    (FIELD_GEOREF, "string"),
)


def digitised_gpkg_path(output_dir: Path, video_path: str) -> Path:
    return Path(output_dir) / f"{Path(video_path).stem}_digitised.gpkg"


def table_name(shape: str) -> str:
    return f"digitised_{shape}s"


def table_uri(gpkg_path: Path, shape: str) -> str:
    return f"{gpkg_path}|layername={table_name(shape)}"


def project_table(gpkg_path: Path, shape: str) -> QgsVectorLayer | None:
    """The clip's table for `shape` where the project has it (by its source), else None."""
    uri = table_uri(gpkg_path, shape)
    layers = QgsProject.instance().mapLayers().values()
    tables = (layer for layer in layers if isinstance(layer, QgsVectorLayer) and layer.source() == uri)
    return next(tables, None)


def _template(shape: str) -> QgsVectorLayer:
    """An empty memory layer with the digitised fields (their QgsField types portable to Qt5 and Qt6)."""
    fields = "".join(f"&field={name}:{kind}" for name, kind in DIGITISED_FIELDS)
    return QgsVectorLayer(f"{_MEMORY_GEOMETRY[shape]}?crs=EPSG:4326{fields}", "template", "memory")


def open_or_create_table(gpkg_path: Path, shape: str, title: str) -> QgsVectorLayer:
    """The clip's table for `shape` as a layer (created, with the file when it is the first, if missing;
    never overwritten). OSError when it cannot be written."""
    name, uri = table_name(shape), table_uri(gpkg_path, shape)
    if gpkg_path.exists():
        layer = QgsVectorLayer(uri, title, "ogr")
        if layer.isValid():
            return layer
    gpkg_path.parent.mkdir(parents=True, exist_ok=True)
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = name
    options.actionOnExistingFile = (
        QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteLayer
        if gpkg_path.exists()
        else QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteFile
    )
    error, message, _, _ = QgsVectorFileWriter.writeAsVectorFormatV3(
        _template(shape), str(gpkg_path), QgsProject.instance().transformContext(), options
    )
    if error != QgsVectorFileWriter.WriterError.NoError:
        raise OSError(f"{gpkg_path}: could not create table {name}: {message}")
    layer = QgsVectorLayer(uri, title, "ogr")
    if not layer.isValid():
        raise OSError(f"{gpkg_path}: table {name} was written but does not open")
    return layer


def style_digitised(layer: QgsVectorLayer, color: str) -> None:
    """The clip's tables drawn as on the video: `color` outlines, a light fill."""
    geometry_type = layer.geometryType()
    if geometry_type == QgsWkbTypes.GeometryType.PolygonGeometry:
        fill = QColor(color)
        fill.setAlpha(70)
        symbol = QgsFillSymbol.createSimple(
            {"color": ",".join(str(v) for v in fill.getRgb()), "outline_color": color, "outline_width": "0.6"}
        )
    elif geometry_type == QgsWkbTypes.GeometryType.LineGeometry:
        symbol = QgsLineSymbol.createSimple({"color": color, "width": "0.6"})
    else:
        symbol = QgsMarkerSymbol.createSimple({"color": color, "size": "2.6", "outline_color": "#000000"})
    layer.renderer().setSymbol(symbol)


def layers_for_shape(shape: str) -> list[QgsVectorLayer]:
    """The project's editable vector layers that can take `shape` (by geometry type), by name."""
    wanted = GEOMETRY_TYPES[shape]
    layers = [
        layer
        for layer in QgsProject.instance().mapLayers().values()
        if isinstance(layer, QgsVectorLayer)
        and layer.isValid()
        and layer.geometryType() == wanted
        and layer.dataProvider() is not None
        and layer.supportsEditing()
    ]
    return sorted(layers, key=lambda layer: layer.name().lower())


def shape_geometry(shape: str, lonlat_deg, height_m, layer: QgsVectorLayer) -> QgsGeometry:
    """The shape's geometry in the layer's CRS, with Z (ellipsoidal heights) where the layer has Z and
    multi where the layer is."""
    to_layer = QgsCoordinateTransform(
        QgsCoordinateReferenceSystem("EPSG:4326"), layer.crs(), QgsProject.instance()
    )
    points = []
    for (lon, lat), height in zip(lonlat_deg, height_m):
        point = QgsPoint(float(lon), float(lat), float(height))
        point.transform(to_layer)
        points.append(point)
    if shape == SHAPE_POINT:
        geometry = QgsGeometry(points[0])
    elif shape == SHAPE_LINE:
        geometry = QgsGeometry(QgsLineString(points))
    else:
        polygon = QgsPolygon()
        polygon.setExteriorRing(QgsLineString(points + [points[0].clone()]))
        geometry = QgsGeometry(polygon)
    if not QgsWkbTypes.hasZ(layer.wkbType()):
        geometry.get().dropZValue()
    if QgsWkbTypes.isMultiType(layer.wkbType()):
        geometry.convertToMultiType()
    return geometry


def add_shape(layer: QgsVectorLayer, shape: str, lonlat_deg, height_m, values: dict) -> QgsFeature:
    """Add the shape as a feature through the layer's edit buffer (editing is turned on; fields it lacks
    are added in the same undoable command). `values`: by field name (DIGITISED_FIELDS)."""
    if not layer.isEditable() and not layer.startEditing():
        raise OSError(tr("Layer {} cannot be edited").format(layer.name()))
    layer.beginEditCommand(tr("Digitised on the video"))
    template = _template(shape).fields()
    for name, _ in DIGITISED_FIELDS:
        if layer.fields().indexFromName(name) < 0:
            layer.addAttribute(template.field(name))
    feature = QgsFeature(layer.fields())
    feature.setGeometry(shape_geometry(shape, lonlat_deg, height_m, layer))
    for name, value in values.items():
        feature.setAttribute(layer.fields().indexFromName(name), value)
    if not layer.addFeature(feature):
        layer.destroyEditCommand()
        raise OSError(tr("Layer {} refused the feature").format(layer.name()))
    layer.endEditCommand()
    layer.triggerRepaint()
    return feature
