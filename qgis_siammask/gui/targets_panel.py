"""The targets panel: the boxes drawn on the video, their labels, remove and clear; the run's end frame
(it starts on the frame the boxes were drawn on).

It owns the list of boxes; `boxesChanged` tells the dock (which shows them on the frame view and
enables Track).
"""

from __future__ import annotations

import dataclasses

from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .dock_parts import panel_table, tr, widget_row
from .frame_view import DrawnBox

_BOX_COLUMNS = ("label", "frame", "x", "y", "width", "height")


class TargetsPanel(QWidget):
    """Label for the next box, the table of boxes (label editable), Remove and Clear."""

    boxesChanged = pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.boxes: list[DrawnBox] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label_edit = QLineEdit(tr("vehicle"), self)
        self.label_edit.setToolTip(tr("Label given to the next box drawn on the video"))
        self.remove_button = QPushButton(tr("Remove box"), self)
        self.remove_button.clicked.connect(lambda: self._remove_selected_boxes())
        self.clear_button = QPushButton(tr("Clear boxes"), self)
        self.clear_button.clicked.connect(lambda: self.clear_boxes())
        layout.addLayout(
            widget_row(QLabel(tr("Label")), self.label_edit, self.remove_button, self.clear_button)
        )
        self.box_table = panel_table(_BOX_COLUMNS, self)
        self.box_table.itemChanged.connect(self._box_label_edited)
        layout.addWidget(self.box_table, 1)
        self.end_frame_spin = QSpinBox(self)
        self.end_frame_spin.setSpecialValueText(tr("end of video"))  # shown at the minimum, 0
        self.end_frame_spin.setToolTip(tr("Last frame to track; the run starts on the boxes' frame"))
        layout.addLayout(widget_row(QLabel(tr("Track from the boxes' frame to frame")), self.end_frame_spin))

    def set_last_frame(self, last_frame: int) -> None:
        """A new clip: the end frame goes back to the end of the video."""
        self.end_frame_spin.setRange(0, last_frame)
        self.end_frame_spin.setValue(0)

    def run_done(self) -> None:
        """A run tracked from the boxes to the end frame: both are its own now (its tracks live in the
        tracks panel), so the next run starts from new boxes and goes to the end of the video."""
        self.end_frame_spin.setValue(0)
        self.clear_boxes()

    @property
    def end_frame(self) -> int | None:
        """The last frame to track, None for the end of the video."""
        return self.end_frame_spin.value() or None

    def add_drawn_box(self, x: float, y: float, width: float, height: float, frame: int) -> None:
        """A box dragged on video frame `frame`: labelled with the label field (else "target N")."""
        label = self.label_edit.text().strip() or tr("target {}").format(len(self.boxes) + 1)
        self.add_box(x, y, width, height, label, frame)

    def add_clicked_box(self, camera, x: float, y: float, frame: int) -> str | None:
        """A click on a vehicle: a box as big as the settings' object size at pixel (x, y), from the
        frame's camera model (core CameraModel, None when unknown); the problem where it cannot be sized."""
        from ..core.tracking.guidance import object_box_xywh
        from ..settings import load_settings  # qgis.core: the panel itself is Qt only

        settings = load_settings()
        size_m = (settings.object_length_m, settings.object_width_m)
        box = object_box_xywh(camera, (x, y), size_m) if camera is not None else None
        if box is None:
            return tr(
                "A click starts a track only where the frame's camera model is known (telemetry with "
                "position, attitude and field of view) and the spot is on the ground; drag a box around "
                "the target instead."
            )
        self.add_drawn_box(*box, frame)
        return None

    def add_box(self, x: float, y: float, width: float, height: float, label: str, frame: int) -> None:
        """A target on video frame `frame` (a run starts on the frame its boxes were drawn on)."""
        self.boxes.append(DrawnBox(round(x, 1), round(y, 1), round(width, 1), round(height, 1), label, frame))
        self._refresh_boxes()

    def clear_boxes(self) -> None:
        self.boxes = []
        self._refresh_boxes()

    def _remove_selected_boxes(self) -> None:
        rows = {index.row() for index in self.box_table.selectedIndexes()}
        self.boxes = [box for i, box in enumerate(self.boxes) if i not in rows]
        self._refresh_boxes()

    def _refresh_boxes(self) -> None:
        self.box_table.blockSignals(True)
        self.box_table.setRowCount(len(self.boxes))
        for row, box in enumerate(self.boxes):
            for column, value in enumerate((box.label, box.frame, box.x, box.y, box.width, box.height)):
                item = QTableWidgetItem(str(value))
                if column:
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.box_table.setItem(row, column, item)
        self.box_table.blockSignals(False)
        self.boxesChanged.emit()

    def _box_label_edited(self, item: QTableWidgetItem) -> None:
        if item.column() == 0 and item.row() < len(self.boxes):
            box = self.boxes[item.row()]
            self.boxes[item.row()] = dataclasses.replace(box, label=item.text().strip() or box.label)
            self.boxesChanged.emit()
