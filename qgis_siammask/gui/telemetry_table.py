"""The telemetry table dialog: every decoded record of the open clip, exportable as CSV.

A table model over the rows (no widget per cell), so hours of telemetry open at once.
"""

from __future__ import annotations

from qgis.PyQt.QtCore import QAbstractTableModel, QModelIndex, Qt
from qgis.PyQt.QtWidgets import QDialog, QLabel, QPushButton, QTableView, QVBoxLayout

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
    """The records of one telemetry series (core ingest TelemetrySeries); *Export CSV…* writes them."""

    def __init__(self, series, title: str, parent=None):
        from ..core.output.telemetry_table import telemetry_columns, telemetry_rows

        super().__init__(parent)
        self.setWindowTitle(tr("Telemetry: {}").format(title))
        self.resize(900, 500)
        self.series = series
        self.view = QTableView(self)
        self.view.setModel(_RowsModel(telemetry_columns(), telemetry_rows(series), self))
        self.export_button = QPushButton(tr("Export CSV…"), self)
        self.export_button.clicked.connect(lambda: self._choose_export())
        self.status_label = QLabel(tr("{} records").format(len(series.records)), self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)
        layout.addLayout(widget_row(self.status_label, self.export_button))

    def _choose_export(self) -> None:
        from ..core.errors import SiamMaskError
        from ..core.output.telemetry_table import write_telemetry_csv

        path = ask_save_path(self, tr("Export telemetry"), "CSV (*.csv)", ".csv")
        if not path:
            return
        try:
            written = write_telemetry_csv(self.series, path)
        except SiamMaskError as error:
            self.status_label.setText(error.user_message)
            return
        self.status_label.setText(tr("Exported to {}").format(written))
