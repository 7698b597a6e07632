"""One track of a run, edited on the run's layers: shown or hidden, recoloured, renamed, deleted.

Works on the layers as they are (live memory layers or the run's GeoPackage tables): show/hide and
colour go to each layer's categorized renderer (one category per track id), rename and delete change
the features themselves, so a GeoPackage-backed run keeps the change in its file.
"""

from __future__ import annotations

from qgis.core import QgsCategorizedSymbolRenderer, QgsFeatureRequest, QgsVectorLayer
from qgis.PyQt.QtGui import QColor

from .core.definitions import FIELD_LABEL, FIELD_TRACK_ID, LAYER_BOXES


def _category_index(layer: QgsVectorLayer, track_id: int) -> int:
    renderer = layer.renderer()
    if not isinstance(renderer, QgsCategorizedSymbolRenderer):
        return -1
    return renderer.categoryIndexForValue(track_id)


def _renderer_edited(layer: QgsVectorLayer) -> None:
    """Tell the map, the Layers panel's legend and the project that a category was edited in place
    (the legend reads the renderer again only on this signal)."""
    layer.rendererChanged.emit()
    layer.emitStyleChanged()
    layer.triggerRepaint()


def set_track_visible(layers: dict[str, QgsVectorLayer], track_id: int, visible: bool) -> None:
    for layer in layers.values():
        index = _category_index(layer, track_id)
        if index >= 0:
            layer.renderer().updateCategoryRenderState(index, visible)
            _renderer_edited(layer)


def set_track_color(layers: dict[str, QgsVectorLayer], track_id: int, color: QColor) -> None:
    for name, layer in layers.items():
        index = _category_index(layer, track_id)
        if index < 0:
            continue
        categories = layer.renderer().categories()  # held: the symbol belongs to these copies
        symbol = categories[index].symbol().clone()
        symbol.setColor(color)
        if name == LAYER_BOXES:  # an outline only: its stroke carries the colour
            symbol.symbolLayer(0).setStrokeColor(color)
        layer.renderer().updateCategorySymbol(index, symbol)
        _renderer_edited(layer)


def _track_features(layer: QgsVectorLayer, track_id: int) -> list[int]:
    request = QgsFeatureRequest().setFilterExpression(f'"{FIELD_TRACK_ID}" = {int(track_id)}')
    request.setFlags(QgsFeatureRequest.Flag.NoGeometry)
    return [feature.id() for feature in layer.getFeatures(request)]


def rename_track(layers: dict[str, QgsVectorLayer], track_id: int, label: str) -> None:
    """The track's label in every feature (and legend entry) of the run."""
    for layer in layers.values():
        column = layer.fields().indexOf(FIELD_LABEL)
        if column < 0:
            continue
        changes = {fid: {column: label} for fid in _track_features(layer, track_id)}
        layer.dataProvider().changeAttributeValues(changes)
        index = _category_index(layer, track_id)
        if index >= 0:
            layer.renderer().updateCategoryLabel(index, f"{track_id}: {label}")
        _renderer_edited(layer)


def delete_track(layers: dict[str, QgsVectorLayer], track_id: int) -> None:
    """Every feature of the track, and its legend entry, removed from the run."""
    for layer in layers.values():
        if layer.fields().indexOf(FIELD_TRACK_ID) < 0:
            continue
        layer.dataProvider().deleteFeatures(_track_features(layer, track_id))
        index = _category_index(layer, track_id)
        if index >= 0:
            layer.renderer().deleteCategory(index)
        layer.updateExtents()
        _renderer_edited(layer)
