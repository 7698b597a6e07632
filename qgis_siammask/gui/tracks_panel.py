"""The tracks panel: each track of the latest run with its colour, label, frames and status; show/hide,
recolour, rename, delete; re-seat the selected track or add a target on the box just drawn.

It only keeps the analyst's choices (`styles`) and says what changed (signals); the dock applies them
to the video overlays and the run's layers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtWidgets import (
    QColorDialog,
    QMessageBox,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..track_colors import track_color
from .dock_parts import panel_table, tr, widget_row

_COLUMNS = ("shown", "colour", "label", "frames", "status")
SHOWN, COLOUR, LABEL, FRAMES, STATUS = range(len(_COLUMNS))


@dataclass(frozen=True)
class TrackStyle:
    """How the analyst wants one track drawn, and what the run says about it."""

    label: str
    color: str  # "#rrggbb"
    visible: bool = True
    frames: int = 0
    status: str = ""
    renamed: bool = False  # the label is the analyst's, not the tracker's


class TracksPanel(QWidget):
    """One row per track: tick to show, click the colour to change it, edit the label, Delete."""

    trackVisibilityChanged = pyqtSignal(int, bool)
    trackRecoloured = pyqtSignal(int, str)
    trackRenamed = pyqtSignal(int, str)
    trackDeleted = pyqtSignal(int)
    # the selected track goes on from the box just drawn (its id), or the box becomes a new target (None)
    correctionRequested = pyqtSignal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.styles: dict[int, TrackStyle] = {}
        self.run_file: Path | None = None  # the run's GeoPackage, where Delete removes a track's features
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.table = panel_table(_COLUMNS, self)
        self.table.itemChanged.connect(self._item_changed)
        self.table.cellClicked.connect(self._cell_clicked)
        self.table.itemSelectionChanged.connect(lambda: self.set_can_correct(self._can_correct))
        self.delete_button = QPushButton(tr("Delete track"), self)
        self.delete_button.clicked.connect(lambda: self._delete_selected())
        self.reseat_button = QPushButton(tr("Re-seat"), self)
        self.reseat_button.setToolTip(
            tr("Select a track, draw its box again on this frame: it goes on from there with the same id")
        )
        self.reseat_button.clicked.connect(lambda: self.correctionRequested.emit(self.selected_track()))
        self.add_button = QPushButton(tr("Add target"), self)
        self.add_button.setToolTip(
            tr("Draw a box on this frame: a new track from here, with the run's tracks")
        )
        self.add_button.clicked.connect(lambda: self.correctionRequested.emit(None))
        self._can_correct = False
        layout.addWidget(self.table, 1)
        layout.addLayout(widget_row(self.delete_button, self.reseat_button, self.add_button))
        self.set_can_correct(False)

    def track_ids(self) -> list[int]:
        return sorted(self.styles)

    def selected_track(self) -> int | None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        return self._row_track(rows.pop()) if len(rows) == 1 else None

    def set_can_correct(self, can_correct: bool) -> None:
        """Whether the run can be corrected now (a finished run's file, a box drawn); Re-seat needs a
        track selected too."""
        self._can_correct = can_correct
        self.reseat_button.setEnabled(can_correct and self.selected_track() is not None)
        self.add_button.setEnabled(can_correct)
        self.delete_button.setEnabled(bool(self.styles) and bool(self.table.selectedIndexes()))

    def clear(self) -> None:
        self.styles = {}
        self._refresh()

    def update_tracks(self, frames) -> None:
        """Count in a batch of newly tracked frames (core FrameFeatures, oldest first): frames seen and
        latest status per track. Only the new frames are read, so a long run costs the same per batch
        and earlier frames need not be in memory; the analyst's label, colour and visibility are kept."""
        for features in frames:
            for track in features.tracks:
                style = self.styles.get(track.track_id) or TrackStyle(
                    track.label, track_color(track.track_id).name()
                )
                self.styles[track.track_id] = replace(style, frames=style.frames + 1, status=track.status)
        self._refresh()

    def restart_counts(self, frames_by_track: dict) -> None:
        """Tracks tracked again from some frame on (a correction of the run): their frame counts start
        again from what the run kept of them before it (`frames_by_track`: track id -> frames)."""
        for track_id, frames in frames_by_track.items():
            if track_id in self.styles:
                self.styles[track_id] = replace(self.styles[track_id], frames=frames)
        self._refresh()

    def _refresh(self) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.styles))
        for row, track_id in enumerate(self.track_ids()):
            style = self.styles[track_id]
            shown = QTableWidgetItem()
            shown.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            shown.setCheckState(Qt.CheckState.Checked if style.visible else Qt.CheckState.Unchecked)
            shown.setData(Qt.ItemDataRole.UserRole, track_id)
            colour = QTableWidgetItem(str(track_id))
            colour.setFlags(Qt.ItemFlag.ItemIsEnabled)
            colour.setBackground(QColor(style.color))
            colour.setToolTip(tr("Click to change the colour"))
            items = [shown, colour, QTableWidgetItem(style.label)]
            for value in (style.frames, style.status):
                item = QTableWidgetItem(str(value))
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                items.append(item)
            for column, item in enumerate(items):
                self.table.setItem(row, column, item)
        self.table.blockSignals(False)
        self.set_can_correct(self._can_correct)  # Delete needs a row selected, and rows changed

    def _row_track(self, row: int) -> int:
        return self.track_ids()[row]

    def _item_changed(self, item: QTableWidgetItem) -> None:
        track_id = self._row_track(item.row())
        style = self.styles[track_id]
        if item.column() == SHOWN:
            visible = item.checkState() == Qt.CheckState.Checked
            self.styles[track_id] = replace(style, visible=visible)
            self.trackVisibilityChanged.emit(track_id, visible)
        elif item.column() == LABEL and item.text().strip() and item.text().strip() != style.label:
            self.styles[track_id] = replace(style, label=item.text().strip(), renamed=True)
            self.trackRenamed.emit(track_id, item.text().strip())

    def _cell_clicked(self, row: int, column: int) -> None:
        if column != COLOUR:
            return
        track_id = self._row_track(row)
        color = QColorDialog.getColor(QColor(self.styles[track_id].color), self, tr("Track colour"))
        if color.isValid():
            self.styles[track_id] = replace(self.styles[track_id], color=color.name())
            self._refresh()
            self.trackRecoloured.emit(track_id, color.name())

    def _delete_selected(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()})
        track_ids = [self._row_track(row) for row in rows]
        if not track_ids or not self._confirm_delete(track_ids):
            return
        for track_id in track_ids:
            del self.styles[track_id]
            self.trackDeleted.emit(track_id)
        self._refresh()

    def _confirm_delete(self, track_ids: list[int]) -> bool:
        """Ask before deleting: the tracks by id and label, and the file that loses their features (it
        cannot be undone there)."""
        named = ", ".join(f'{track_id} "{self.styles[track_id].label}"' for track_id in track_ids)
        if self.run_file is not None:
            text = tr("Delete track {} and all its features from {}?\nThis cannot be undone.").format(
                named, self.run_file
            )
        else:
            text = tr("Delete track {} from the video's overlays?").format(named)
        question = QMessageBox(QMessageBox.Icon.Question, tr("Delete track"), text, parent=self)
        question.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        question.setDefaultButton(QMessageBox.StandardButton.No)
        return question.exec() == QMessageBox.StandardButton.Yes
