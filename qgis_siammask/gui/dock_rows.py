"""Rows of plain widgets the video dock lays out: the clip and its telemetry, the view's zoom buttons, the
map pick, the run's controls.

They hold widgets only; the dock connects every one of them (its signal wiring stays in one place).
"""

from __future__ import annotations

from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..settings import load_settings
from .dock_parts import read_only_edit, tr, widget_row


def _rows(parent: QWidget) -> QVBoxLayout:
    layout = QVBoxLayout(parent)
    layout.setContentsMargins(0, 0, 0, 0)
    return layout


class ClipRows(QWidget):
    """Video: path and Open; Telemetry: path (or what was found), choose by hand, the table."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.video_edit = read_only_edit(self, tr("No video"))
        self.open_button = QPushButton(tr("Open video…"), self)
        self.telemetry_edit = read_only_edit(self, tr("Found automatically (KLV, same-name SRT/CSV)"))
        self.telemetry_button = QPushButton(tr("Telemetry…"), self)
        self.telemetry_table_button = QPushButton(tr("Table…"), self)
        self.telemetry_table_button.setToolTip(tr("Every decoded telemetry record, exportable as CSV"))
        layout = _rows(self)
        layout.addLayout(widget_row(QLabel(tr("Video")), self.video_edit, self.open_button))
        layout.addLayout(
            widget_row(
                QLabel(tr("Telemetry")),
                self.telemetry_edit,
                self.telemetry_button,
                self.telemetry_table_button,
            )
        )


class ViewButtons(QWidget):
    """The zoom shown, Fit, Detach (beside the player's entry fields)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.zoom_label = QLabel("100 %", self)
        self.zoom_label.setToolTip(tr("Wheel: zoom about the cursor; middle or Ctrl + left drag: pan"))
        self.fit_button = QPushButton(tr("Fit"), self)
        self.fit_button.setToolTip(tr("Show the whole frame (F)"))
        self.detach_button = QPushButton(tr("Detach"), self)
        self.detach_button.setToolTip(tr("Float the player in its own large window, or dock it back"))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.zoom_label, self.fit_button, self.detach_button):
            row.addWidget(widget)

    def show_zoom(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f} %")


class MapPickRow(QWidget):
    """Map → video (a checkable button: the next map click is marked on the video) and a hint."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.map_pick_button = QPushButton(tr("Map → video"), self)
        self.map_pick_button.setCheckable(True)
        self.map_pick_button.setToolTip(
            tr("Click the map inside the footprint: the point is marked on the video")
        )
        self.map_hint = QLabel(self)
        _rows(self).addLayout(widget_row(self.map_pick_button, self.map_hint))

    def show_state(self, has_video: bool, has_map: bool) -> None:
        self.map_pick_button.setEnabled(has_map)
        self.map_hint.setText(
            tr("Shift + click on the video: its ground point on the map")
            if has_map or not has_video
            else tr("No telemetry: tracking in pixels (overlays, JSON lines, CSV export); no map")
        )


class RunRows(QWidget):
    """Track, Stop, the progress and Export; the output folder, Folder… and Open folder; whether
    exported files are added to the project; the dock's status line."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.track_button = QPushButton(tr("Track"), self)
        self.stop_button = QPushButton(tr("Stop"), self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.export_button = QPushButton(tr("Export GeoPackage…"), self)
        self.output_edit = read_only_edit(
            self, tooltip=tr("Each run writes its GeoPackage here (saved with the project)")
        )
        self.output_button = QPushButton(tr("Folder…"), self)
        self.open_folder_button = QPushButton(tr("Open folder"), self)
        self.export_add_check = QCheckBox(tr("Add exported files to the project"), self)
        self.export_add_check.setChecked(True)
        self.status_label = QLabel("", self)
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # paths
        layout = _rows(self)
        layout.addLayout(widget_row(self.track_button, self.stop_button, self.progress, self.export_button))
        layout.addLayout(
            widget_row(QLabel(tr("Output")), self.output_edit, self.output_button, self.open_folder_button)
        )
        layout.addWidget(self.export_add_check)
        layout.addWidget(self.status_label)

    def show_state(self, can_track: bool, tracking: bool, results: str | None) -> None:
        """Track while a run can start, Stop while one runs, Export for the latest run's `results`
        ("gpkg", "pixels" or None); the output folder of the next run."""
        self.track_button.setEnabled(can_track and not tracking)
        self.stop_button.setEnabled(tracking)
        self.export_button.setEnabled(results is not None and not tracking)
        self.export_button.setText(tr("Export CSV…") if results == "pixels" else tr("Export GeoPackage…"))
        self.output_edit.setText(str(load_settings().output_dir()))  # the run's file: in the status
