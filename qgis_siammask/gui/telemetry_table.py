"""The telemetry table dialog: every decoded record of the open clip, exportable as CSV, following the
video (the record of the frame on screen is selected) and moving it (a clicked row shows its frame).

A table model over the rows (no widget per cell), so hours of telemetry open at once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from qgis.PyQt.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, pyqtSignal
from qgis.PyQt.QtWidgets import QAbstractItemView, QDialog, QLabel, QPushButton, QTableView, QVBoxLayout

from .dock_parts import ask_save_path, tr, widget_row


class _RowsModel(QAbstractTableModel):
    def __init__(self, columns: list[str], rows: list[list[str]], parent=None):
        super().__init__(parent)
        self._columns, self._rows = columns, rows

    def rowCount(self, parent=QModelIndex()):  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()):  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and index.isValid():
            return self._rows[index.row()][index.column()]
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 (Qt API)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return self._columns[section] if orientation == Qt.Orientation.Horizontal else str(section + 1)


class TelemetryTableDialog(QDialog):
    """The records of one telemetry series (core ingest TelemetrySeries); *Export CSV…* writes them.
    `timeRequested(video_time_s)`: the analyst clicked a record."""

    timeRequested = pyqtSignal(float)

    def __init__(self, series, title: str, parent=None):
        from ..core.output.telemetry_table import telemetry_columns, telemetry_rows

        super().__init__(parent)
        self.setWindowTitle(tr("Telemetry: {}").format(title))
        self.resize(900, 500)
        self.series = series
        self.file_stem = Path(title).stem  # the export suggests CLIP_telemetry.csv
        self.view = QTableView(self)
        self.view.setModel(_RowsModel(telemetry_columns(), telemetry_rows(series), self))
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.verticalHeader().setDefaultSectionSize(self.view.fontMetrics().height() + 6)  # compact
        self.view.resizeColumnsToContents()  # whole names in the headers, whole numbers in the cells
        self.view.clicked.connect(lambda index: self.timeRequested.emit(float(series.times_s[index.row()])))
        self.export_button = QPushButton(tr("Export CSV…"), self)
        self.export_button.clicked.connect(lambda: self._choose_export())
        self.status_label = QLabel(tr("{} records").format(len(series.records)), self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)
        layout.addLayout(widget_row(self.status_label, self.export_button))

    def show_time(self, time_s: float) -> None:
        """Select (and scroll to) the record in force at video time `time_s`: the last not after it."""
        if not len(self.series.records):
            return
        row = max(int(np.searchsorted(self.series.times_s, time_s + 1e-6, side="right")) - 1, 0)
        self.view.selectRow(row)
        self.view.scrollTo(self.view.model().index(row, 0))

    def _choose_export(self) -> None:
        from ..core.errors import SiamMaskError
        from ..core.output.telemetry_table import write_telemetry_csv

        path = ask_save_path(
            self, tr("Export telemetry"), "CSV (*.csv)", ".csv", self.file_stem + "_telemetry.csv"
        )
        if not path:
            return
        try:
            written = write_telemetry_csv(self.series, path)
        except SiamMaskError as error:
            self.status_label.setText(error.user_message)
            return
        self.status_label.setText(tr("Exported to {}").format(written))


class ClipTelemetryTable(QObject):
    """The open clip's table dialog, made when first asked for, following the frame on screen, closed with
    the clip. `timeRequested(video_time_s)`: a record was clicked."""

    timeRequested = pyqtSignal(float)

    def __init__(self, parent_widget):
        super().__init__(parent_widget)
        self._parent_widget = parent_widget
        self.dialog: TelemetryTableDialog | None = None

    def show(self, series, title: str, time_s: float | None) -> None:
        if self.dialog is None:
            self.dialog = TelemetryTableDialog(series, title, self._parent_widget)
            self.dialog.timeRequested.connect(self.timeRequested)
        self.frame_shown(time_s)
        self.dialog.show()
        self.dialog.raise_()

    def frame_shown(self, time_s: float | None) -> None:
        if self.dialog is not None and time_s is not None:
            self.dialog.show_time(time_s)

    def close(self) -> None:
        """The clip closed: its records go with it."""
        if self.dialog is not None:
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None
