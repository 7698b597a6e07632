"""The dependencies dialog: what is missing, the Python that runs QGIS, the pip commands, and an Install
button that runs them in a background task with a visible log, then asks for a QGIS restart."""

from __future__ import annotations

import subprocess

from qgis.core import QgsApplication, QgsTask
from qgis.PyQt.QtCore import QCoreApplication, pyqtSignal
from qgis.PyQt.QtGui import QFont
from qgis.PyQt.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout

from ..deps import DependencyReport


def tr(text: str) -> str:
    return QCoreApplication.translate("DependenciesDialog", text)


class PipInstallTask(QgsTask):
    """Runs pip commands one after the other (worker thread); every output line goes to `lineLogged`."""

    lineLogged = pyqtSignal(str)
    installFinished = pyqtSignal(bool)  # emitted on the main thread by finished()

    def __init__(self, commands: list[list[str]]):
        super().__init__(tr("Installing Python packages for SiamMask"), QgsTask.Flag.CanCancel)
        self.commands = commands

    def run(self) -> bool:
        for index, command in enumerate(self.commands):
            self.lineLogged.emit("$ " + " ".join(command))
            try:
                process = subprocess.Popen(
                    command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
                )
            except OSError as error:
                self.lineLogged.emit(tr("Cannot run {}: {}").format(command[0], error))
                return False
            for line in process.stdout:
                self.lineLogged.emit(line.rstrip())
                if self.isCanceled():
                    process.terminate()
            if process.wait() != 0 or self.isCanceled():
                self.lineLogged.emit(tr("pip stopped with exit code {}").format(process.returncode))
                return False
            self.setProgress(100.0 * (index + 1) / len(self.commands))
        return True

    def finished(self, ok: bool) -> None:
        self.installFinished.emit(ok)


class DependenciesDialog(QDialog):
    def __init__(self, report: DependencyReport, parent=None, find_links: str | None = None, target=None):
        """`find_links` / `target`: a local wheel folder and an install folder (offline installs, tests)."""
        super().__init__(parent)
        self.setWindowTitle(tr("SiamMask FMV Tracker: Python packages"))
        self.resize(720, 420)
        self.commands = report.install_commands(find_links=find_links, target=target)
        self.task: PipInstallTask | None = None
        layout = QVBoxLayout(self)
        if report.ok:
            text = tr("Every Python package the plugin needs is installed.")
        else:
            text = tr("Missing or unsuitable: {}.").format(
                ", ".join(f"{p.requirement.pip_spec} ({p.reason})" for p in report.problems)
            )
        self.problems_label = QLabel(text, self)
        self.problems_label.setWordWrap(True)
        layout.addWidget(self.problems_label)
        layout.addWidget(QLabel(tr("QGIS runs this Python: {}").format(report.python_executable), self))
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.log.setFont(QFont("monospace"))
        self.log.setPlainText("\n".join(" ".join(command) for command in self.commands))
        layout.addWidget(self.log, 1)
        self.status_label = QLabel("", self)
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.install_button = QPushButton(tr("Install"), self)
        self.install_button.setEnabled(bool(self.commands))
        self.install_button.clicked.connect(lambda: self.install())
        buttons.addButton(self.install_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def install(self) -> None:
        self.install_button.setEnabled(False)
        self.log.clear()
        self.status_label.setText(tr("Installing… (this can take minutes: torch is large)"))
        self.task = PipInstallTask(self.commands)
        self.task.lineLogged.connect(self.log.appendPlainText)
        self.task.installFinished.connect(self._installed)
        QgsApplication.taskManager().addTask(self.task)

    def _installed(self, ok: bool) -> None:
        self.task = None
        if ok:
            self.status_label.setText(tr("Installed. Restart QGIS to use them."))
        else:
            self.status_label.setText(tr("The installation failed: see the log above."))
            self.install_button.setEnabled(True)

    def reject(self) -> None:
        if self.task is not None:
            self.task.cancel()
        super().reject()
