"""The QGIS plugin object: toolbar/menu entries, the video dock, the Processing provider.

Start-up only checks dependencies (without importing them) and adds entries; the dock and everything
heavy are built on first use. `unload` removes every dock, action, layer group and task it added.
"""

from __future__ import annotations

from pathlib import Path

from qgis.core import Qgis, QgsApplication, QgsMessageLog, QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QLocale, Qt, QTranslator
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QPushButton

try:
    from qgis.PyQt.QtGui import QAction  # Qt6 (QGIS 4)
except ImportError:
    from qgis.PyQt.QtWidgets import QAction  # Qt5 (QGIS 3)

from .core.definitions import PLUGIN_NAME
from .core.packages.deps import FEATURE_TRACKING, FEATURE_VIDEO, DependencyReport, check_dependencies
from .core.packages.installer import activate_package_folder
from .settings import PLUGIN_DIR, plugin_package_folder, resource_path

MENU_NAME = "&SiamMask FMV Tracker"


def tr(text: str) -> str:
    return QCoreApplication.translate("SiamMaskPlugin", text)


def install_translator(folder: Path = PLUGIN_DIR / "i18n") -> QTranslator | None:
    """Install the translation of QGIS's user interface language (`i18n/qgis_siammask_<lang>.qm`)."""
    locale = str(QgsSettings().value("locale/userLocale", "") or QLocale.system().name())
    for name in (locale, locale[:2]):
        translator = QTranslator()
        if name and translator.load(str(folder / f"qgis_siammask_{name}.qm")):
            QCoreApplication.installTranslator(translator)
            return translator
    return None


def add_package_folder() -> bool:
    """The packages the plugin's installer put under the QGIS profile become importable, behind QGIS's
    own (appended to sys.path); a staged install is put in place first."""
    return activate_package_folder(plugin_package_folder())


class SiamMaskPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.translator = install_translator()
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
        from .frame_layer import register_frame_layer_type

        register_frame_layer_type()  # before any project opens: a saved "video frame" layer reads back
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
        settings_action.triggered.connect(lambda: self.show_settings())
        packages_action = QAction(icon, tr("Python packages…"), self.iface.mainWindow())
        packages_action.setObjectName("siammaskPackages")
        packages_action.triggered.connect(lambda: self.show_dependencies())
        self.actions = [self.dock_action, settings_action, packages_action]
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
        from .frame_layer import unregister_frame_layer_type

        unregister_frame_layer_type()
        if self.translator is not None:
            QCoreApplication.removeTranslator(self.translator)
            self.translator = None

    # --- behaviour -------------------------------------------------------------------------------
    def _dependency_report(self) -> DependencyReport:
        if self.dependencies is None:
            self.dependencies = check_dependencies(package_folder=str(plugin_package_folder()))
        return self.dependencies

    def _announce_missing(self, report: DependencyReport) -> None:
        """One short message bar entry with a button to the packages dialog, and the details in the log."""
        QgsMessageLog.logMessage(report.summary(), PLUGIN_NAME, Qgis.MessageLevel.Warning)
        if report.available(FEATURE_VIDEO):
            headline = tr("Tracking is off: {} missing.")
        else:
            headline = tr("Video dock and tracking are off: {} missing.")
        bar = self.iface.messageBar()
        message = bar.createMessage(PLUGIN_NAME, headline.format(", ".join(report.missing_modules)))
        button = QPushButton(tr("Python packages…"), message)
        button.clicked.connect(lambda: self.show_dependencies())
        message.layout().addWidget(button)
        bar.pushWidget(message, Qgis.MessageLevel.Warning, 0)

    def show_dock(self):
        """Create (once) and show the video dock; returns it, or None when video support is missing."""
        report = self._dependency_report()
        if not report.available(FEATURE_VIDEO):
            self.iface.messageBar().pushMessage(
                PLUGIN_NAME,
                tr("The video dock needs Python packages that are missing."),
                report.summary(),
                Qgis.MessageLevel.Critical,
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

        if SettingsDialog(self.iface.mainWindow()).exec() and self.dock is not None:
            self.dock.settings_changed()

    def show_dependencies(self):
        from .gui.deps_dialog import DependenciesDialog

        self.dependencies = None  # look again: something may have been installed meanwhile
        DependenciesDialog(self._dependency_report(), self.iface.mainWindow()).exec()
