"""Digitising and measuring on the video: points, lines and polygons clicked on the frame, cast onto the
ground through the frame's model (the project's georeferencing mode, the DEM when set) into a layer;
ground distances and areas with their uncertainty, shown on the frame.

On the frame: left click adds a vertex (a point is done at once), Backspace removes the last one,
double-click, Enter or right-click finish, Esc cancels. Wheel zoom, Ctrl/middle drag and Shift + click
keep working. A shape belongs to the frame it was clicked on: showing another frame drops a shape in
progress.
"""

from __future__ import annotations

from qgis.core import Qgis, QgsMessageLog, QgsProject
from qgis.PyQt.QtCore import QObject, QPointF, QRectF, Qt, pyqtSignal
from qgis.PyQt.QtGui import QBrush, QColor, QPainter, QPen, QPolygonF
from qgis.PyQt.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.definitions import FIELD_FRAME, FIELD_GEOREF, FIELD_TIME_S, FIELD_TIME_UTC, PLUGIN_NAME
from ..core.errors import ProjectionError
from ..core.geo.measure import MIN_VERTICES, SHAPE_LINE, SHAPE_POINT, SHAPE_POLYGON, cast_shape, measure
from ..settings import load_settings
from .digitise_layers import (
    add_shape,
    digitised_gpkg_path,
    layers_for_shape,
    open_or_create_table,
    project_table,
    style_digitised,
)
from .dock_parts import tr

SHAPE_COLOR = "#00e5ff"
MEASURE_COLOR = "#ffd000"
DOUBLE_CLICK_SLOP_PX = 4.0  # a double-click this near the last vertex (screen pixels) finishes the shape
NEW_LAYER = ""  # the target combo's entry for the clip's own GeoPackage
# tool name -> (shape, measuring)
TOOLS = {
    "point": (SHAPE_POINT, False),
    "line": (SHAPE_LINE, False),
    "polygon": (SHAPE_POLYGON, False),
    "distance": (SHAPE_LINE, True),
    "area": (SHAPE_POLYGON, True),
}


class ShapeTool(QObject):
    """The shape being clicked on a FrameView (image pixels), painted by it. `finished()`: the analyst
    closed it (enough vertices); `changed()`: a vertex came or went."""

    finished = pyqtSignal()
    changed = pyqtSignal()

    def __init__(self, view, shape: str, measuring: bool, parent=None):
        super().__init__(parent)
        self.view, self.shape, self.measuring = view, shape, measuring
        self.pixels: list[tuple[float, float]] = []
        self.frame: int | None = None  # the frame the first vertex was clicked on
        self.done = False  # finished measure: shown until the next click
        self.caption = ""  # a measure's figure, painted by the last vertex

    @property
    def complete(self) -> bool:
        return len(self.pixels) >= MIN_VERTICES[self.shape]

    def clear(self) -> None:
        self.pixels, self.frame, self.done, self.caption = [], None, False, ""
        self.view.update()
        self.changed.emit()

    # --- the frame view's hooks ------------------------------------------------------------------
    def press(self, button, position) -> bool:
        if button == Qt.MouseButton.RightButton:
            self.finish()
            return True
        if button != Qt.MouseButton.LeftButton:
            return False
        if self.done:
            self.clear()
        pixel = self.view.widget_to_image(QPointF(position))
        self.pixels.append((pixel.x(), pixel.y()))
        self.view.update()
        self.changed.emit()
        if self.shape == SHAPE_POINT:
            self.finish()
        return True

    def double_click(self, button, position) -> bool:
        """A double-click on the last vertex finishes (its first click added it); elsewhere it is a quick
        second click that adds a vertex (Qt reports one whatever the distance)."""
        if button != Qt.MouseButton.LeftButton:
            return False
        last = self.view.image_to_widget(*self.pixels[-1]) if self.pixels else None
        if last is None or (last - QPointF(position)).manhattanLength() > DOUBLE_CLICK_SLOP_PX:
            return self.press(button, position)
        self.finish()
        return True

    def key(self, key) -> bool:
        if key == Qt.Key.Key_Escape and self.pixels:
            self.clear()
            return True
        if key == Qt.Key.Key_Backspace and self.pixels and not self.done:
            self.pixels.pop()
            self.view.update()
            self.changed.emit()
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.finish()
            return True
        return False

    def finish(self) -> None:
        if self.complete and not self.done:
            self.finished.emit()

    def paint(self, painter: QPainter) -> None:
        if not self.pixels:
            return
        color = QColor(MEASURE_COLOR if self.measuring else SHAPE_COLOR)
        points = [self.view.image_to_widget(x, y) for x, y in self.pixels]
        painter.setPen(QPen(color, 2))
        fill = QColor(color)
        fill.setAlpha(60)
        if self.shape == SHAPE_POLYGON and len(points) > 2:
            painter.setBrush(QBrush(fill))
            painter.drawPolygon(QPolygonF(points))
        elif len(points) > 1:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPolyline(QPolygonF(points))
        painter.setBrush(QBrush(color))
        for point in points:
            painter.drawEllipse(point, 3.5, 3.5)
        if self.caption:
            metrics = painter.fontMetrics()
            at = points[-1] + QPointF(8, -8)
            box = QRectF(
                at.x() - 3,
                at.y() - metrics.ascent() - 2,
                metrics.horizontalAdvance(self.caption) + 6,
                metrics.height() + 4,
            )
            painter.fillRect(box, QColor(0, 0, 0, 170))
            painter.setPen(color)
            painter.drawText(at, self.caption)


class DigitisePanel(QWidget):
    """The tools (checkable, one at a time or none); where digitised shapes go; a row for the player's
    toggles (`toggles`) and the measure's figure or what the last shape did. Three rows: a tab of the
    dock's panels, as high as the tables."""

    toolChanged = pyqtSignal(str)  # a TOOLS key, or "" for none

    def __init__(self, parent=None):
        super().__init__(parent)
        self.buttons: dict[str, QToolButton] = {}
        self._group = QButtonGroup(self)
        self._group.setExclusive(False)  # one at a time by hand: a checked one may be unchecked
        rows = QVBoxLayout(self)
        row, target_row, self.toggles = QHBoxLayout(), QHBoxLayout(), QHBoxLayout()
        for layout in (row, target_row, self.toggles):
            rows.addLayout(layout)
        rows.addStretch(1)
        tips = {
            "point": tr("Digitise points on the video (a click each)"),
            "line": tr("Digitise a line on the video: clicks, then double-click, Enter or right-click"),
            "polygon": tr("Digitise a polygon on the video: clicks, then double-click, Enter or right-click"),
            "distance": tr("Measure a ground distance on the video (Esc clears, Backspace undoes a vertex)"),
            "area": tr("Measure a ground area on the video (Esc clears, Backspace undoes a vertex)"),
        }
        texts = {
            "point": tr("Point"),
            "line": tr("Line"),
            "polygon": tr("Polygon"),
            "distance": tr("Distance"),
            "area": tr("Area"),
        }
        for name in TOOLS:
            button = QToolButton(self)
            button.setText(texts[name])
            button.setToolTip(tips[name])
            button.setCheckable(True)
            self._group.addButton(button)
            self.buttons[name] = button
            row.addWidget(button)
            button.toggled.connect(lambda checked, tool=name: self._toggled(tool, checked))
        self.target_combo = QComboBox(self)
        self.target_combo.setToolTip(
            tr("Where digitised shapes go: a layer of the project or the clip's GeoPackage")
        )
        self.target_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.target_combo.setMinimumContentsLength(10)
        self.result_label = QLabel("", self)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row.addStretch(1)
        target_row.addWidget(QLabel(tr("Into")))
        target_row.addWidget(self.target_combo, 1)
        self.toggles.addWidget(self.result_label, 1)  # the toggles go before it

    @property
    def tool(self) -> str:
        return next((name for name, button in self.buttons.items() if button.isChecked()), "")

    def _toggled(self, tool: str, checked: bool) -> None:
        if checked:
            for name, button in self.buttons.items():
                if name != tool and button.isChecked():
                    button.blockSignals(True)
                    button.setChecked(False)
                    button.blockSignals(False)
        self.toolChanged.emit(self.tool)

    def fill_targets(self, shape: str | None, excluded_ids=()) -> None:
        """The layers that can take `shape` (None: measuring, nothing goes anywhere), the clip's
        GeoPackage first, not those of `excluded_ids`; the one chosen stays chosen while it is there."""
        chosen = self.target_combo.currentData()
        self.target_combo.blockSignals(True)
        self.target_combo.clear()
        if shape is not None:
            self.target_combo.addItem(tr("new layer in the clip's GeoPackage"), NEW_LAYER)
            for layer in (layer for layer in layers_for_shape(shape) if layer.id() not in excluded_ids):
                self.target_combo.addItem(layer.name(), layer.id())
            index = self.target_combo.findData(chosen)
            self.target_combo.setCurrentIndex(max(index, 0))
        self.target_combo.setEnabled(shape is not None)
        self.target_combo.blockSignals(False)


class VideoDigitiser(QObject):
    """Wires the row and the tool to the dock's frame view, the frame shown and its camera."""

    def __init__(self, dock, row: DigitisePanel):
        super().__init__(dock)
        self.dock, self.row = dock, row
        self.tool: ShapeTool | None = None
        row.toolChanged.connect(self._use_tool)
        project = QgsProject.instance()
        for signal in (project.layersAdded, project.layersRemoved):
            signal.connect(self._layers_changed)  # a bound slot: disconnected when the dock goes

    def _layers_changed(self, *_) -> None:
        self._refill()

    def _refill(self) -> None:
        if self.tool is None:
            self.row.fill_targets(None)
            return
        playback = self.dock.playback_layers  # the plugin's own: the footprint, the trail...
        excluded = {layer.id() for layer in playback.group.layers()} if playback is not None else set()
        shape = None if self.tool.measuring else self.tool.shape
        self.row.fill_targets(shape, excluded)

    def _use_tool(self, name: str) -> None:
        view = self.dock.frame_view
        if self.tool is not None:
            self.tool.clear()
            self.tool.deleteLater()
        self.tool = None
        self.row.result_label.setText("")
        if name:
            shape, measuring = TOOLS[name]
            self.tool = ShapeTool(view, shape, measuring, self)
            self.tool.finished.connect(self._finished)
            self.tool.changed.connect(self._changed)
            view.setFocus()  # Enter, Backspace and Esc go to the video
        view.tool = self.tool
        self._refill()
        view.update()

    def set_enabled(self, enabled: bool) -> None:
        """Tools only with a clip whose frames can be placed (telemetry)."""
        for button in self.row.buttons.values():
            if not enabled:
                button.setChecked(False)
            button.setEnabled(enabled)  # the player's toggles beside them stay

    def frame_shown(self, index: int) -> None:
        """A shape is clicked on one frame: another frame drops the one in progress."""
        if self.tool is not None and self.tool.frame is not None and self.tool.frame != index:
            self.tool.clear()

    def _ground(self):
        """The shape on the ground (GroundShape) with the frame's record; (None, None) and a message."""
        shown = self.dock.map_side._shown  # (frame index, record, camera) of the frame on screen
        camera = shown[2] if shown is not None else None
        if camera is None:
            self._report(tr("No camera for this frame: the shape cannot be placed on the ground"), True)
            return None, None
        try:
            return cast_shape(camera, self.tool.shape, self.tool.pixels), shown[1]
        except ProjectionError as error:
            self._report(tr("Not on the ground: {}").format(error.user_message), True)
            return None, None

    def _changed(self) -> None:
        tool = self.tool
        if tool is None:
            return
        if tool.pixels and tool.frame is None:
            tool.frame = self.dock.frame_index
        tool.caption = ""
        if tool.measuring and tool.complete:
            ground, _ = self._ground()
            figure = measure(ground) if ground is not None else None
            tool.caption = figure.text() if figure is not None else ""
            self.row.result_label.setText(self._measure_text(figure) if figure is not None else "")
        elif tool.measuring:
            self.row.result_label.setText("")
        self.dock.frame_view.update()

    @staticmethod
    def _measure_text(figure) -> str:
        text = figure.text()
        if figure.slope_length_m is not None:
            text += tr(" (along the terrain {:.1f} m)").format(figure.slope_length_m)
        return text

    def _finished(self) -> None:
        tool = self.tool
        if tool.measuring:
            tool.done = True
            self.dock.frame_view.update()
            return
        ground, record = self._ground()
        if ground is not None:
            self._store(ground, record)
        tool.clear()

    def _store(self, ground, record) -> None:
        session = self.dock.session
        time_s = self.dock.current_frame.time_s if self.dock.current_frame is not None else 0.0
        values = {
            FIELD_FRAME: int(self.dock.frame_index),
            FIELD_TIME_UTC: record.time_utc.isoformat() if record is not None and record.time_utc else None,
            FIELD_TIME_S: float(time_s),
            FIELD_GEOREF: session.georef,
        }
        try:
            layer = self._target_layer(ground.shape)
            add_shape(layer, ground.shape, ground.lonlat_deg, ground.height_m, values)
        except OSError as error:
            self._report(tr("Not stored: {}").format(error), True)
            return
        figure = measure(ground)
        self._report(
            tr("{} added to {} (frame {})").format(ground.shape, layer.name(), values[FIELD_FRAME])
            + (": " + figure.text() if figure is not None else ""),
            False,
        )

    def _target_layer(self, shape: str):
        """The layer chosen in the row, else the clip's table (created and added on first use)."""
        layer_id = self.row.target_combo.currentData()
        project = QgsProject.instance()
        if layer_id:
            layer = project.mapLayer(layer_id)
            if layer is None:
                raise OSError(tr("the chosen layer was removed from the project"))
            return layer
        path = digitised_gpkg_path(load_settings().output_dir(), self.dock.video_path)
        layer = project_table(path, shape)  # looked up each time: the analyst may have removed it
        if layer is None:
            title = tr("{} digitised {}s").format(self.dock.session.name, shape)
            layer = open_or_create_table(path, shape, title)
            style_digitised(layer, SHAPE_COLOR)
            project.addMapLayer(layer, False)
            group = self.dock.group.node() if self.dock.group is not None else project.layerTreeRoot()
            group.insertLayer(0, layer)  # on top: the tracks' masks would hide a shape drawn round a vehicle
        return layer

    def _report(self, text: str, problem: bool) -> None:
        self.row.result_label.setText(text)
        self.row.result_label.setToolTip(text)
        level = Qgis.MessageLevel.Warning if problem else Qgis.MessageLevel.Info
        QgsMessageLog.logMessage(text, PLUGIN_NAME, level)
