"""First use: while only the bundled demo model is installed, say so plainly and offer the authors'
model in one click (downloaded and converted in the background, then made the active model)."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QToolButton, QWidget

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
        self.dismissed = False  # hidden by the analyst after an error: not shown again this session
        self._error = ""  # the last download error, whole (the label shows as much as fits on one line)
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
        self.close_button = QToolButton(self)
        self.close_button.setText("✕")
        self.close_button.setToolTip(tr("Hide this message"))
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.dismiss)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.get_button)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.refresh()

    def demo_only(self) -> bool:
        models = list_models(self.model_dir)
        active = load_settings().effective_model_path
        return all(m.bundled for m in models) and any(str(m.path) == active for m in models)

    def refresh(self) -> None:
        self.setVisible(self.task is not None or (self.demo_only() and not self.dismissed))
        self.get_button.setEnabled(self.task is None)
        self.close_button.setVisible(bool(self._error) and self.task is None)

    def dismiss(self) -> None:
        self.dismissed = True
        self.refresh()

    def start_download(self) -> None:
        self._error = ""
        self.label.setWordWrap(True)
        self.label.setToolTip("")
        self.task = ModelFetchTask(self.entry, self.model_dir)
        self.task.progressChanged.connect(
            lambda value: self.label.setText(tr("Getting the authors' model… {} %").format(int(value))))
        self.task.modelReady.connect(self._done)
        QgsApplication.taskManager().addTask(self.task)
        self.refresh()

    def _done(self, outcome: ModelTaskResult) -> None:
        self.task = None
        if outcome.model_path is None:
            self._error = tr("The authors' model could not be fetched: {}").format(outcome.message)
            self.label.setToolTip(self._error)
            # one line, cut to the banner's width: a long error must not push the video down
            self.label.setWordWrap(False)
            self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            self._show_error()
        self.refresh()

    def _show_error(self) -> None:
        metrics, width = self.label.fontMetrics(), max(self.label.width(), 40)
        self.label.setText(metrics.elidedText(self._error, Qt.TextElideMode.ElideRight, width))

    def resizeEvent(self, event):  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if self._error:
            self._show_error()
