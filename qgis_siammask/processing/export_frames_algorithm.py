"""Processing algorithm "Export frames": every Nth frame of a clip over a range as snapshots (PNG with
its telemetry, JSON sidecar, georeferenced GeoTIFF), through core.frame_export."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterCrs,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
)
from qgis.PyQt.QtCore import QCoreApplication

from ..core.definitions import GEOREF_MODES
from ..settings import load_settings
from .common import FmvAlgorithm, add_clip_parameters, georef_parameter


def tr(text: str) -> str:
    return QCoreApplication.translate("ExportFramesAlgorithm", text)


class ExportFramesAlgorithm(FmvAlgorithm):
    VIDEO = "VIDEO"
    TELEMETRY = "TELEMETRY"
    START_FRAME = "START_FRAME"
    END_FRAME = "END_FRAME"
    EVERY_N = "EVERY_N"
    DEM = "DEM"
    GEOREF = "GEOREF"
    GEOTIFF = "GEOTIFF"
    CRS = "CRS"
    OUTPUT = "OUTPUT"
    FRAMES_WRITTEN = "FRAMES_WRITTEN"

    def createInstance(self):  # noqa: N802 (QGIS API)
        return ExportFramesAlgorithm()

    def name(self):
        return "exportframes"

    def displayName(self):  # noqa: N802 (QGIS API)
        return tr("Export frames")

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return tr(
            "Saves every Nth frame of a full-motion video over a range of frames to a folder: "
            "NAME_f000123.png (the frame, its telemetry in a PNG text chunk), NAME_f000123.json (the same "
            "telemetry: time, platform position and altitude, angles, slant range, georeferencing mode, "
            "ground corners) and NAME_f000123.tif (the frame warped onto the ground through the chosen "
            "georeferencing mode, on the DEM when one is given; transparent where the frame does not "
            "reach). Each file is written under a temporary name and renamed when complete."
        )

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        settings = load_settings()
        add_clip_parameters(self, self.VIDEO, self.TELEMETRY)
        self.addParameter(
            QgsProcessingParameterNumber(
                self.START_FRAME, tr("First frame"), QgsProcessingParameterNumber.Type.Integer, 0, minValue=0
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.END_FRAME, tr("Last frame (empty: to the end)"),
                QgsProcessingParameterNumber.Type.Integer, optional=True, minValue=0,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.EVERY_N, tr("Every N frames"), QgsProcessingParameterNumber.Type.Integer, 25, minValue=1
            )
        )
        self.addParameter(
            QgsProcessingParameterRasterLayer(self.DEM, tr("DEM (empty: flat ground)"), optional=True)
        )
        self.addParameter(georef_parameter(self.GEOREF, settings))
        self.addParameter(QgsProcessingParameterBoolean(self.GEOTIFF, tr("Georeferenced GeoTIFFs"), True))
        self.addParameter(
            QgsProcessingParameterCrs(
                self.CRS, tr("GeoTIFF CRS (empty: the UTM zone of each frame)"), optional=True
            )
        )
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, tr("Output folder")))
        self.addOutput(QgsProcessingOutputNumber(self.FRAMES_WRITTEN, tr("Frames written")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        from ..core.errors import SiamMaskError
        from ..core.frame_export import FrameExportJob, export_frames

        dem_layer = self.parameterAsRasterLayer(parameters, self.DEM, context)
        end_frame = parameters.get(self.END_FRAME)
        last_frame = self.parameterAsInt(parameters, self.END_FRAME, context)
        last_frame = None if end_frame in (None, "") else last_frame
        crs = self.parameterAsCrs(parameters, self.CRS, context)
        job = FrameExportJob(
            video_path=self.parameterAsFile(parameters, self.VIDEO, context),
            out_dir=self.parameterAsString(parameters, self.OUTPUT, context),
            telemetry_path=self.parameterAsFile(parameters, self.TELEMETRY, context) or None,
            dem_path=dem_layer.source().split("|")[0] if dem_layer is not None else None,
            georef=GEOREF_MODES[self.parameterAsEnum(parameters, self.GEOREF, context)],
            first_frame=self.parameterAsInt(parameters, self.START_FRAME, context),
            last_frame=last_frame,
            every_n=self.parameterAsInt(parameters, self.EVERY_N, context),
            geotiff=self.parameterAsBool(parameters, self.GEOTIFF, context),
            crs=crs.authid() if crs.isValid() and crs.authid() else None,
        )
        try:
            written = export_frames(job, feedback.setProgress, feedback.isCanceled, feedback.reportError)
        except SiamMaskError as error:
            raise QgsProcessingException(error.user_message) from error
        feedback.pushInfo(tr("{} frames written to {}").format(len(written), job.out_dir))
        return {self.OUTPUT: job.out_dir, self.FRAMES_WRITTEN: len(written)}
