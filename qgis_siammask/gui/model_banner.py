"""First use: while only the bundled demo model is installed, say so plainly and offer the authors'
model in one click (downloaded and converted in the background, then made the active model)."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from ..core.definitions import DEFAULT_REAL_VIDEO_MODEL
from ..core.models.catalogue import CatalogueEntry, catalogue_entry
from ..core.models.install import list_models
from ..model_tasks import ModelFetchTask, ModelTaskResult, user_model_dir
from ..settings import load_settings


def tr(text: str) -> str:
    return QCoreApplication.translate("DemoModelBanner", text)


class DemoModelBanner(QWidget):
    """Visible only while the active model is the demo and no other model is installed."""

    def __init__(self, parent=None, model_dir: Path | None = None, entry: CatalogueEntry | None = None):
        super().__init__(parent)
        self.model_dir = Path(model_dir) if model_dir is not None else user_model_dir()
        self.entry = entry or catalogue_entry(DEFAULT_REAL_VIDEO_MODEL)
        self.task: ModelFetchTask | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # short: the banner sits above the video; the whole story in the tooltip
        self.label = QLabel(
            tr("The demo model knows simulated clips only: for real video get the authors' model."), self
        )
        self.label.setToolTip(tr("The model in use is a demo trained only on simulated drone clips, for the "
                                 "bundled examples; on real video use the authors' SiamMask model."))
        self.label.setWordWrap(True)
        self.get_button = QPushButton(tr("Get the authors' model (86 MB)"), self)
        self.get_button.setToolTip(self.entry.url)
        self.get_button.clicked.connect(self.start_download)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.get_button)
        self.refresh()

    def demo_only(self) -> bool:
        models = list_models(self.model_dir)
        active = load_settings().effective_model_path
        return all(m.bundled for m in models) and any(str(m.path) == active for m in models)

    def refresh(self) -> None:
        self.setVisible(self.task is not None or self.demo_only())
        self.get_button.setEnabled(self.task is None)

    def start_download(self) -> None:
        self.task = ModelFetchTask(self.entry, self.model_dir)
        self.task.progressChanged.connect(
            lambda value: self.label.setText(tr("Getting the authors' model… {} %").format(int(value))))
        self.task.modelReady.connect(self._done)
        QgsApplication.taskManager().addTask(self.task)
        self.refresh()

    def _done(self, outcome: ModelTaskResult) -> None:
        self.task = None
        if outcome.model_path is None:
            self.label.setText(tr("The authors' model could not be fetched: {}").format(outcome.message))
        self.refresh()
