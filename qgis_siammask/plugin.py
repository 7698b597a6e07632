"""The QGIS plugin object: toolbar/menu entries, the video dock, the Processing provider.

Start-up only checks dependencies (without importing them) and adds entries; the dock and everything
heavy are built on first use. `unload` removes every dock, action, layer group and task it added.
"""

from __future__ import annotations

from qgis.core import Qgis, QgsApplication, QgsMessageLog
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

from .core.definitions import PLUGIN_NAME
from .deps import FEATURE_TRACKING, FEATURE_VIDEO, DependencyReport, check_dependencies
from .settings import resource_path

MENU_NAME = "&SiamMask FMV Tracker"


def tr(text: str) -> str:
    return QCoreApplication.translate("SiamMaskPlugin", text)


class SiamMaskPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.dependencies: DependencyReport | None = None
        self.dock = None
        self.provider = None
        self.actions: list[QAction] = []
        self.dock_action: QAction | None = None

    # --- QGIS hooks ------------------------------------------------------------------------------
    def initProcessing(self):  # noqa: N802 (QGIS API)
        if self.provider is not None:
            return
        from .processing.provider import SiamMaskProvider

        self.provider = SiamMaskProvider(self._dependency_report)
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 (QGIS API)
        report = self._dependency_report()
        icon = QIcon(resource_path("icon.png"))
        self.dock_action = QAction(icon, tr("SiamMask FMV Tracker"), self.iface.mainWindow())
        self.dock_action.setObjectName("siammaskShowDock")
        self.dock_action.setCheckable(True)
        self.dock_action.setToolTip(
            tr("Open the video dock: play FMV, draw boxes, track objects onto the map")
        )
        self.dock_action.toggled.connect(self._set_dock_visible)
        settings_action = QAction(icon, tr("Settings…"), self.iface.mainWindow())
        settings_action.setObjectName("siammaskSettings")
        settings_action.triggered.connect(self.show_settings)
        self.actions = [self.dock_action, settings_action]
        self.iface.addToolBarIcon(self.dock_action)
        for action in self.actions:
            self.iface.addPluginToMenu(MENU_NAME, action)
        self.initProcessing()
        if not report.ok:
            self._announce_missing(report)

    def unload(self):
        if self.dock is not None:
            self.dock.shutdown()
            self.iface.removeDockWidget(self.dock)
            self.dock.setParent(None)
            self.dock.deleteLater()
            self.dock = None
        if self.dock_action is not None:
            self.iface.removeToolBarIcon(self.dock_action)
        for action in self.actions:
            self.iface.removePluginMenu(MENU_NAME, action)
            action.deleteLater()
        self.actions, self.dock_action = [], None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None

    # --- behaviour -------------------------------------------------------------------------------
    def _dependency_report(self) -> DependencyReport:
        if self.dependencies is None:
            self.dependencies = check_dependencies()
        return self.dependencies

    def _announce_missing(self, report: DependencyReport) -> None:
        """One message bar entry (with the install command under 'Show more') and one log line."""
        text = report.summary()
        QgsMessageLog.logMessage(text, PLUGIN_NAME, Qgis.Warning)
        self.iface.messageBar().pushMessage(
            PLUGIN_NAME,
            tr("Tracking is disabled: missing Python packages ({}).").format(
                ", ".join(report.missing_modules)
            ),
            text,
            Qgis.Warning,
            0,
        )

    def show_dock(self):
        """Create (once) and show the video dock; returns it, or None when video support is missing."""
        report = self._dependency_report()
        if not report.available(FEATURE_VIDEO):
            self.iface.messageBar().pushMessage(
                PLUGIN_NAME,
                tr("The video dock needs Python packages that are missing."),
                report.summary(),
                Qgis.Critical,
                0,
            )
            if self.dock_action is not None:
                self.dock_action.setChecked(False)
            return None
        if self.dock is None:
            from .gui.video_dock import VideoDock

            self.dock = VideoDock(
                self.iface,
                tracking_enabled=report.available(FEATURE_TRACKING),
                tracking_disabled_reason=report.summary(),
            )
            self.dock.visibilityChanged.connect(self._dock_visibility_changed)
            self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.show()
        self.dock.raise_()
        return self.dock

    def _set_dock_visible(self, visible: bool) -> None:
        if visible:
            self.show_dock()
        elif self.dock is not None:
            self.dock.hide()

    def _dock_visibility_changed(self, visible: bool) -> None:
        if self.dock_action is not None and self.dock_action.isChecked() != visible:
            self.dock_action.blockSignals(True)
            self.dock_action.setChecked(visible)
            self.dock_action.blockSignals(False)

    def show_settings(self):
        from .gui.settings_dialog import SettingsDialog

        SettingsDialog(self.iface.mainWindow()).exec()
