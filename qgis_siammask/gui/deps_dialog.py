"""The Python packages dialog: what is missing, what pip will install (names, versions, download sizes),
the plugin's package folder, where packages come from (index, mirror, local wheel folder, pip arguments),
and a live log. Check and Install run `python -m qgis_siammask deps plan|install` with QGIS's Python in
a QProcess (the UI never waits; Cancel stops pip and leaves the folder as it was)."""

from __future__ import annotations

import json
import shlex
import shutil
import tempfile
from pathlib import Path

from qgis.PyQt.QtCore import QCoreApplication, QProcess, QProcessEnvironment, Qt, QTimer
from qgis.PyQt.QtGui import QFont
from qgis.PyQt.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ..core.packages.deps import DependencyReport
from ..core.packages.installer import PipOptions, format_size, installed_distributions, torch_index, write_constraints
from ..settings import PLUGIN_DIR, load_pip_options, plugin_package_folder, save_pip_options

TERMINATE_GRACE_MS = 5000  # after Cancel, pip gets this long to stop before it is killed


def tr(text: str) -> str:
    return QCoreApplication.translate("DependenciesDialog", text)


class DependenciesDialog(QDialog):
    def __init__(self, report: DependencyReport, parent=None, target: str | Path | None = None,
                 options: PipOptions | None = None, specs: tuple[str, ...] = ()):
        """`target`, `options`, `specs`: the package folder, the package sources (default: the plugin's
        folder and settings) and what to install (default: what QGIS's Python lacks)."""
        super().__init__(parent)
        self.setWindowTitle(tr("SiamMask FMV Tracker: Python packages"))
        self.resize(760, 620)
        self.report = report
        self.target = Path(target) if target is not None else plugin_package_folder()
        self.specs = tuple(specs)
        self.work_dir = Path(tempfile.mkdtemp(prefix="siammask-deps-"))
        self.process: QProcess | None = None
        self.action = ""
        layout = QVBoxLayout(self)
        if report.ok and not specs:
            text = tr("Every Python package the plugin needs is installed.")
        else:
            wanted = [f"{p.requirement.pip_spec} ({p.reason})" for p in report.problems] or list(specs)
            text = tr("Missing or unsuitable: {}.").format(", ".join(wanted))
        self.problems_label = QLabel(text, self)
        self.problems_label.setWordWrap(True)
        layout.addWidget(self.problems_label)
        self.python_label = QLabel(tr("QGIS runs this Python: {}").format(report.python_executable), self)
        self.target_label = QLabel(tr("Packages go to: {}").format(self.target), self)
        for label in (self.python_label, self.target_label):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(label)
        layout.addWidget(self._sources_box(options or load_pip_options()))
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels([tr("Package"), tr("Version"), tr("Download")])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table, 1)
        self.total_label = QLabel(tr("Click Check to see what pip will install, and its size."), self)
        self.total_label.setWordWrap(True)
        layout.addWidget(self.total_label)
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.log.setFont(QFont("monospace"))
        layout.addWidget(self.log, 1)
        self.status_label = QLabel("", self)
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.check_button = QPushButton(tr("Check"), self)
        self.install_button = QPushButton(tr("Install"), self)
        self.cancel_button = QPushButton(tr("Cancel install"), self)
        self.cancel_button.setEnabled(False)
        for button in (self.check_button, self.install_button, self.cancel_button):
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        self.check_button.clicked.connect(lambda: self.start("plan"))
        self.install_button.clicked.connect(lambda: self.start("install"))
        self.cancel_button.clicked.connect(lambda: self.cancel())
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._set_running(False)

    def _sources_box(self, options: PipOptions) -> QGroupBox:
        box = QGroupBox(tr("Package sources"), self)
        form = QFormLayout(box)
        self.index_edit = QLineEdit(options.index_url, box)
        self.index_edit.setPlaceholderText(tr("PyPI (or your pip configuration)"))
        self.extra_index_edit = QLineEdit(" ".join(options.extra_index_urls), box)
        self.find_links_edit = QLineEdit(" ".join(options.find_links), box)
        self.find_links_edit.setPlaceholderText(tr("a folder of wheel files (offline installs)"))
        browse = QPushButton(tr("Browse…"), box)
        browse.clicked.connect(lambda: self._choose_wheel_folder())
        links_row = QHBoxLayout()
        links_row.addWidget(self.find_links_edit, 1)
        links_row.addWidget(browse)
        self.pip_args_edit = QLineEdit(shlex.join(options.pip_args), box)
        self.pip_args_edit.setPlaceholderText("--trusted-host mirror.example --proxy http://proxy:3128")
        self.torch_index_edit = QLineEdit(options.torch_index_url or "", box)
        automatic = torch_index(PipOptions()) or tr("the index above")
        self.torch_index_edit.setPlaceholderText(tr("automatic: {}").format(automatic))
        form.addRow(tr("Index URL"), self.index_edit)
        form.addRow(tr("Extra index URL"), self.extra_index_edit)
        form.addRow(tr("Local wheel folder"), links_row)
        form.addRow(tr("More pip arguments"), self.pip_args_edit)
        form.addRow(tr("PyTorch index"), self.torch_index_edit)
        return box

    def _choose_wheel_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, tr("Folder of wheel files"),
                                                  self.find_links_edit.text())
        if folder:
            self.find_links_edit.setText(folder)

    def options(self) -> PipOptions:
        extra, links = self.extra_index_edit.text().strip(), self.find_links_edit.text().strip()
        try:
            pip_args = tuple(shlex.split(self.pip_args_edit.text()))
        except ValueError:
            pip_args = tuple(self.pip_args_edit.text().split())
        return PipOptions(self.index_edit.text().strip(), (extra,) if extra else (),
                          (links,) if links else (), pip_args, self.torch_index_edit.text().strip() or None)

    def command(self, action: str) -> list[str]:
        """The arguments after QGIS's Python: the headless installer, with QGIS's own packages (as this
        process sees them, the plugin's folder left out) as constraints."""
        options = self.options()
        constraints = self.work_dir / "qgis-packages.txt"
        write_constraints(installed_distributions(exclude=[self.target]), constraints)
        args = ["-m", "qgis_siammask", "deps", action, "--target", str(self.target), "--json",
                str(self.plan_file), "--constraint", str(constraints)]
        if options.index_url:
            args += ["--index-url", options.index_url]
        args += [arg for url in options.extra_index_urls for arg in ("--extra-index-url", url)]
        args += [arg for folder in options.find_links for arg in ("--find-links", folder)]
        args += [f"--pip-arg={arg}" for arg in options.pip_args]
        if options.torch_index_url is not None:
            args += ["--torch-index-url", options.torch_index_url]
        return args + [arg for spec in self.specs for arg in ("--package", spec)]

    @property
    def plan_file(self) -> Path:
        return self.work_dir / "plan.json"

    def start(self, action: str) -> None:
        """Run `deps plan` or `deps install` in the background; the log fills as pip writes."""
        save_pip_options(self.options())
        self.plan_file.unlink(missing_ok=True)
        self.action = action
        self.log.clear()
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        self.process.setWorkingDirectory(str(PLUGIN_DIR.parent))  # where `-m qgis_siammask` is found
        environment = QProcessEnvironment.systemEnvironment()
        environment.insert("PYTHONIOENCODING", "utf-8")
        environment.insert("PYTHONUNBUFFERED", "1")
        self.process.setProcessEnvironment(environment)
        self.process.readyReadStandardOutput.connect(self._read_output)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._failed_to_start)
        self.status_label.setText(
            tr("Installing… (this can take minutes: torch is large)") if action == "install"
            else tr("Asking pip what it would install…")
        )
        self._set_running(True)
        self.process.start(self.report.python_executable, self.command(action))

    def cancel(self) -> None:
        if self.process is None:
            return
        self.log.appendPlainText(tr("Cancelling…"))
        self.process.terminate()  # the installer stops pip and removes its temporary folder
        deadline = QTimer(self.process)  # the process's child: gone with it, never fires on a deleted one
        deadline.setSingleShot(True)
        deadline.timeout.connect(self.process.kill)  # a no-op once it has stopped
        deadline.start(TERMINATE_GRACE_MS)

    def _read_output(self) -> None:
        if self.process is None:
            return
        text = bytes(self.process.readAllStandardOutput()).decode("utf-8", errors="replace")
        for line in text.splitlines():
            if line.strip():
                self.log.appendPlainText(line)
        if self.plan_file.is_file() and self.table.rowCount() == 0:
            self._show_plan()

    def _show_plan(self) -> None:
        try:
            plan = json.loads(self.plan_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        self.table.setRowCount(len(plan["install"]))
        for row, package in enumerate(plan["install"]):
            for column, text in enumerate((package["name"], package["version"],
                                           format_size(package["size_bytes"]))):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        kept = ", ".join(f"{name} {version}" for name, version in plan["kept"])
        self.total_label.setText(
            tr("{} packages, {} to download.").format(len(plan["install"]), format_size(plan["size_bytes"]))
            + (" " + tr("QGIS's own, kept as they are: {}.").format(kept) if kept else "")
        )

    def _failed_to_start(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.log.appendPlainText(tr("Cannot run {}").format(self.report.python_executable))
            self._finished(-1, None)

    def _finished(self, exit_code: int, _status) -> None:
        if self.process is None:
            return
        self._read_output()
        self.process = None
        self._set_running(False)
        self._show_plan()
        if exit_code != 0:
            self.status_label.setText(tr("pip failed or was cancelled: nothing was changed (see the log)."))
        elif self.action == "install":
            self.status_label.setText(tr("Installed into {}. Restart QGIS to use them.").format(self.target))
        else:
            self.status_label.setText(tr("Click Install to install these packages."))

    def _set_running(self, running: bool) -> None:
        self.check_button.setEnabled(not running)
        self.install_button.setEnabled(not running and (not self.report.ok or bool(self.specs)))
        self.cancel_button.setEnabled(running)

    def reject(self) -> None:
        if self.process is not None:
            process, self.process = self.process, None
            process.finished.disconnect()
            process.terminate()
            if not process.waitForFinished(TERMINATE_GRACE_MS):
                process.kill()
                process.waitForFinished(TERMINATE_GRACE_MS)
        shutil.rmtree(self.work_dir, ignore_errors=True)
        super().reject()
