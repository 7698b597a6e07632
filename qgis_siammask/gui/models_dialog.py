"""The model manager: installed models (name, backbone, size, source, sha256), the authors' models to
download, a file to convert, and the choice of the active model.

Listing reads each file's metadata from its zip member (no torch, no tracker built on the GUI thread);
downloads and conversions run as QgsTasks (`model_tasks`), with progress here and in QGIS's task bar.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QCoreApplication, Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ..core.definitions import DEVICES
from ..core.models.catalogue import CATALOGUE, CatalogueEntry
from ..core.models.install import InstalledModel, list_models
from ..model_tasks import ModelConvertTask, ModelFetchTask, ModelTaskResult, user_model_dir
from ..settings import load_settings, save_settings
from .dock_parts import widget_row

COLUMNS = ("Name", "Backbone", "Size", "Source", "sha256")


def tr(text: str) -> str:
    return QCoreApplication.translate("ModelsDialog", text)


def available_devices() -> list[str]:
    """The device choices that work here: "cuda" only where torch sees a CUDA device."""
    try:
        import torch

        cuda = torch.cuda.is_available()
    except ImportError:
        cuda = False
    return [device for device in DEVICES if cuda or device != "cuda"]


class ModelsDialog(QDialog):
    """`modelChosen(path)` when the user makes a model the active one (settings already saved)."""

    modelChosen = pyqtSignal(str)

    def __init__(self, parent=None, model_dir: Path | None = None, catalogue: tuple[CatalogueEntry, ...] = CATALOGUE):
        super().__init__(parent)
        self.setWindowTitle(tr("SiamMask models"))
        self.model_dir = Path(model_dir) if model_dir is not None else user_model_dir()
        self.catalogue = catalogue
        self.models: list[InstalledModel] = []
        self.task: ModelFetchTask | ModelConvertTask | None = None
        layout = QVBoxLayout(self)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels([tr(c) for c in COLUMNS])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        layout.addWidget(QLabel(tr("Installed in {}").format(self.model_dir), self))
        layout.addWidget(self.table, 1)
        self.use_button = QPushButton(tr("Use selected model"), self)
        self.use_button.clicked.connect(self.use_selected)
        self.add_button = QPushButton(tr("Add file…"), self)
        self.add_button.setToolTip(tr("A TorchScript model (.pt), a torch.export archive (.pt2) or an official "
                                      "SiamMask checkpoint (.pth), converted into the model folder"))
        self.add_button.clicked.connect(self._choose_file)
        layout.addLayout(widget_row(self.use_button, self.add_button))
        self.catalogue_combo = QComboBox(self)
        for entry in catalogue:
            self.catalogue_combo.addItem(entry.title, entry.name)
            self.catalogue_combo.setItemData(self.catalogue_combo.count() - 1, entry.description,
                                             Qt.ItemDataRole.ToolTipRole)
        self.download_button = QPushButton(tr("Download"), self)
        self.download_button.clicked.connect(self.start_download)
        self.cancel_button = QPushButton(tr("Cancel"), self)
        self.cancel_button.clicked.connect(self.cancel_task)
        layout.addLayout(widget_row(QLabel(tr("Get"), self), self.catalogue_combo, self.download_button))
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        layout.addLayout(widget_row(self.progress, self.cancel_button))
        self.status_label = QLabel("", self)
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        close_button = QPushButton(tr("Close"), self)
        close_button.clicked.connect(self.reject)
        layout.addLayout(widget_row(close_button))
        self.refresh()

    def refresh(self) -> None:
        """List the models again and show which one is active."""
        self.models = list_models(self.model_dir)
        active = load_settings().effective_model_path
        self.table.setRowCount(len(self.models))
        for row, model in enumerate(self.models):
            metadata = model.metadata
            cells = (model.name + (" ✓" if str(model.path) == active else ""), metadata.config.backbone,
                     f"{model.size_bytes / 1e6:.1f} MB", model.source, metadata.source_sha256[:16] or "-")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(str(model.path) if column != 4 else metadata.source_sha256)
                self.table.setItem(row, column, item)
        self._update_controls()

    def _update_controls(self) -> None:
        busy = self.task is not None
        for widget in (self.download_button, self.add_button, self.use_button, self.catalogue_combo):
            widget.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def use_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self.status_label.setText(tr("Select a model in the list first"))
            return
        model = self.models[rows[0].row()]
        chosen = "" if model.bundled else str(model.path)  # empty: the bundled default, wherever it is
        save_settings(replace(load_settings(), model_path=chosen))
        self.status_label.setText(tr("Active model: {}").format(model.name))
        self.refresh()
        self.modelChosen.emit(chosen)

    def start_download(self) -> None:
        entry = next(e for e in self.catalogue if e.name == self.catalogue_combo.currentData())
        self._start(ModelFetchTask(entry, self.model_dir), tr("Downloading {}…").format(entry.url))

    def convert_file(self, path: str) -> None:
        self._start(ModelConvertTask(Path(path), self.model_dir), tr("Converting {}…").format(path))

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, tr("Model or checkpoint"), "",
                                              tr("SiamMask model or checkpoint (*.pt *.pt2 *.pth)"))
        if path:
            self.convert_file(path)

    def _start(self, task, text: str) -> None:
        self.task = task
        self.progress.setValue(0)
        self.status_label.setText(text)
        task.progressChanged.connect(lambda value: self.progress.setValue(int(value)))
        task.modelReady.connect(self._task_done)
        QgsApplication.taskManager().addTask(task)
        self._update_controls()

    def cancel_task(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _task_done(self, outcome: ModelTaskResult) -> None:
        self.task = None
        if outcome.model_path is not None:
            self.progress.setValue(100)
            self.status_label.setText(tr("Ready and active: {}").format(outcome.model_path))
            self.modelChosen.emit(str(outcome.model_path))
        elif outcome.cancelled:
            self.status_label.setText(tr("Cancelled; downloading again resumes where it stopped"))
        else:
            self.status_label.setText(tr("Failed: {}").format(outcome.message))
        self.refresh()

    def reject(self) -> None:
        self.cancel_task()
        super().reject()


