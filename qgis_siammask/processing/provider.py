"""The plugin's Processing provider (id `siammask`)."""

from __future__ import annotations

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from ..core.definitions import PLUGIN_NAME
from ..settings import resource_path

PROVIDER_ID = "siammask"


class SiamMaskProvider(QgsProcessingProvider):
    """`dependency_report`: a callable giving the deps.DependencyReport, checked when the algorithm runs."""

    def __init__(self, dependency_report=None):
        super().__init__()
        self._dependency_report = dependency_report

    def id(self):
        return PROVIDER_ID

    def name(self):
        return PLUGIN_NAME

    def icon(self):
        return QIcon(resource_path("icon.png"))

    def loadAlgorithms(self):  # noqa: N802 (QGIS API)
        from .batch_algorithm import BatchTrackAlgorithm
        from .export_frames_algorithm import ExportFramesAlgorithm
        from .track_algorithm import TrackObjectsAlgorithm

        self.addAlgorithm(TrackObjectsAlgorithm(self._dependency_report))
        self.addAlgorithm(BatchTrackAlgorithm())
        self.addAlgorithm(ExportFramesAlgorithm())
