"""The run controller's output folder and exports: choose and open the folder, export the latest run as a
GeoPackage (its layers) or, for a pixel run, as CSV.

A mixin of `RunController` (it uses the controller's latest run and status signal), apart only to keep
each module to one job.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from qgis.core import Qgis
from qgis.PyQt.QtCore import QUrl
from qgis.PyQt.QtGui import QDesktopServices
from qgis.PyQt.QtWidgets import QFileDialog

from ..layer_tree import VideoLayerGroup
from ..layers import TrackLayers
from ..settings import load_settings, save_settings
from .dock_parts import ask_save_path, tr


class RunExport:
    def choose_output_folder(self) -> bool:
        """The project's output folder (kept in the project file); True when one was chosen."""
        settings = load_settings()
        folder = QFileDialog.getExistingDirectory(
            self.parent(), tr("Output folder"), str(settings.output_dir())
        )
        if folder:
            save_settings(dataclasses.replace(settings, output_folder=folder))
        return bool(folder)

    def open_output_folder(self) -> None:
        """Show the latest run's folder (else the output folder) in the system's file manager; without
        one (nothing handles file:// URLs), name the folder in the message bar and the dock's status."""
        folder = self.result_gpkg.parent if self.result_gpkg is not None else load_settings().output_dir()
        if QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            return
        text = tr("No file manager to open the folder: {}").format(folder)
        self._status(text, Qgis.MessageLevel.Warning)
        self._message_bar(text, Qgis.MessageLevel.Warning, 0)

    def choose_export(self, add_to_project: bool) -> None:
        """Ask where to export the latest run (the dialogs suggest the run's name), then export it."""
        parent = self.parent()
        if self.result_pixels is not None:
            path = ask_save_path(
                parent, tr("Export pixel tracks"), "CSV (*.csv)", ".csv", self.result_pixels.stem + ".csv"
            )
            if path:
                self.export_csv(path)
            return
        suggested = self.result_gpkg.name if self.result_gpkg is not None else ""
        path = ask_save_path(parent, tr("Export tracks"), "GeoPackage (*.gpkg)", ".gpkg", suggested)
        if path:
            self.export_geopackage(path, add_to_project)

    def export_csv(self, path: str) -> Path | None:
        """The latest pixel run's records as a CSV table (frame, track, label, box, score, status), with the
        analyst's renames and without the tracks deleted."""
        from ..core.errors import SiamMaskError
        from ..core.pixel_job import jsonl_to_csv

        try:
            written = jsonl_to_csv(
                self.result_pixels, path, self.pixel_labels, frozenset(self.pixel_deleted_ids)
            )
        except SiamMaskError as error:
            self._status(error.user_message, Qgis.MessageLevel.Critical)
            return None
        self._status(tr("Exported to {}").format(written))
        return written

    def export_geopackage(self, path: str, add_to_project: bool) -> Path | None:
        """Write the latest run's layers to `path`; with `add_to_project`, add the file's layers."""
        if self.track_layers is None or not self.track_layers.exportable:
            self._status(tr("Nothing to export: the run's layers were removed"), Qgis.MessageLevel.Warning)
            return None
        try:
            written = self.track_layers.export_geopackage(path)
        except OSError as error:
            self._status(str(error), Qgis.MessageLevel.Critical)
            return None
        if add_to_project:
            group = VideoLayerGroup(tr("exported {}").format(written.name))
            TrackLayers(group, self.track_layers.crs, self.track_layers.frame_duration_s, geopackage=written)
        self._status(tr("Exported to {}").format(written))
        return written
