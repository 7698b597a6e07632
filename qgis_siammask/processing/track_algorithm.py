"""Processing algorithm "Track objects in video": the engine's tracking job, video -> GeoPackage.

Parameters are plain values (files, numbers, a box string), so the algorithm works in batch mode and in
graphical models; the heavy engine is imported only when it runs.
"""

from __future__ import annotations

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)
from qgis.PyQt.QtCore import QCoreApplication

from ..core.definitions import DEFAULT_CRS, JOB_FAILED, PRECISIONS, TRACK_LAYERS
from ..deps import FEATURE_TRACKING
from ..settings import DEVICES, default_model_path, load_settings
from ..tasks import build_job, parse_boxes, parse_labels
from .common import (
    FmvAlgorithm,
    crs_parameter,
    device_parameter,
    model_parameter,
    precision_parameter,
    score_threshold_parameter,
)

VIDEO_FILTER = "Video (*.ts *.mpg *.mpeg *.m2ts *.mp4 *.mov *.mkv *.avi);;All files (*)"


def tr(text: str) -> str:
    return QCoreApplication.translate("TrackObjectsAlgorithm", text)


class TrackObjectsAlgorithm(FmvAlgorithm):
    VIDEO = "VIDEO"
    TELEMETRY = "TELEMETRY"
    MODEL = "MODEL"
    START_FRAME = "START_FRAME"
    END_FRAME = "END_FRAME"
    BOXES = "BOXES"
    LABELS = "LABELS"
    DEM = "DEM"
    CRS = "CRS"
    DEVICE = "DEVICE"
    PRECISION = "PRECISION"
    SCORE_THRESHOLD = "SCORE_THRESHOLD"
    GEO_GUIDANCE = "GEO_GUIDANCE"
    OUTPUT = "OUTPUT"
    FRAMES_TRACKED = "FRAMES_TRACKED"
    STATUS = "STATUS"

    def __init__(self, dependency_report=None):
        super().__init__()
        self._dependency_report = dependency_report

    def createInstance(self):  # noqa: N802 (QGIS API)
        return TrackObjectsAlgorithm(self._dependency_report)

    def name(self):
        return "trackobjectsinvideo"

    def displayName(self):  # noqa: N802 (QGIS API)
        return tr("Track objects in video")

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return tr(
            "Tracks one or more objects through a full-motion video with SiamMask and writes every tracked "
            "frame as ground features (masks, rotated boxes, centre points, track lines, frame footprints) "
            "to a GeoPackage.\n\nBoxes are pixel boxes on the start frame, 'x,y,width,height', several "
            "separated by ';'. Labels are optional, separated by ';'. Telemetry is found automatically "
            "(embedded KLV, a same-name .srt or .csv) unless a file is given. Without a DEM the ground is "
            "flat at the frame centre's elevation. Cancelling keeps the frames already written."
        )

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        settings = load_settings()
        self.addParameter(QgsProcessingParameterFile(self.VIDEO, tr("Video"), fileFilter=VIDEO_FILTER))
        self.addParameter(
            QgsProcessingParameterFile(
                self.TELEMETRY,
                tr("Telemetry (KLV, SRT or CSV; empty: found automatically)"),
                optional=True,
                fileFilter="Telemetry (*.srt *.SRT *.csv *.klv *.bin);;All files (*)",
            )
        )
        self.addParameter(model_parameter(self.MODEL, settings))
        self.addParameter(
            QgsProcessingParameterNumber(
                self.START_FRAME, tr("Start frame"), QgsProcessingParameterNumber.Integer, 0, minValue=0
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.END_FRAME,
                tr("End frame (empty: to the end)"),
                QgsProcessingParameterNumber.Integer,
                optional=True,
                minValue=0,
            )
        )
        self.addParameter(
            QgsProcessingParameterString(self.BOXES, tr("Boxes on the start frame (x,y,width,height;...)"))
        )
        self.addParameter(
            QgsProcessingParameterString(self.LABELS, tr("Labels (;-separated)"), optional=True)
        )
        self.addParameter(
            QgsProcessingParameterRasterLayer(self.DEM, tr("DEM (empty: flat ground)"), optional=True)
        )
        self.addParameter(crs_parameter(self.CRS, settings))
        self.addParameter(device_parameter(self.DEVICE, settings))
        self.addParameter(precision_parameter(self.PRECISION, settings))
        self.addParameter(score_threshold_parameter(self.SCORE_THRESHOLD, settings))
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.GEO_GUIDANCE, tr("Search where the telemetry predicts each target (coast lost ones)"), True
            )
        )
        self.addParameter(
            QgsProcessingParameterFileDestination(self.OUTPUT, tr("Tracks GeoPackage"), "GeoPackage (*.gpkg)")
        )
        self.addOutput(QgsProcessingOutputNumber(self.FRAMES_TRACKED, tr("Frames tracked")))
        self.addOutput(QgsProcessingOutputString(self.STATUS, tr("Status")))

    def checkParameterValues(self, parameters, context):  # noqa: N802 (QGIS API)
        try:
            boxes = parse_boxes(self.parameterAsString(parameters, self.BOXES, context))
            parse_labels(self.parameterAsString(parameters, self.LABELS, context), len(boxes))
        except ValueError as error:
            return False, str(error)
        return super().checkParameterValues(parameters, context)

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        report = self._dependency_report() if self._dependency_report is not None else None
        if report is not None and not report.available(FEATURE_TRACKING):
            raise QgsProcessingException(report.summary())
        from ..core.pipeline import run_tracking_job

        dem_layer = self.parameterAsRasterLayer(parameters, self.DEM, context)
        end_frame = parameters.get(self.END_FRAME)
        try:
            boxes = parse_boxes(self.parameterAsString(parameters, self.BOXES, context))
            labels = parse_labels(self.parameterAsString(parameters, self.LABELS, context), len(boxes))
        except ValueError as error:
            raise QgsProcessingException(str(error)) from error
        job = build_job(
            video_path=self.parameterAsFile(parameters, self.VIDEO, context),
            telemetry_path=self.parameterAsFile(parameters, self.TELEMETRY, context) or None,
            model_path=self.parameterAsFile(parameters, self.MODEL, context) or default_model_path(),
            start_frame=self.parameterAsInt(parameters, self.START_FRAME, context),
            end_frame=self.parameterAsInt(parameters, self.END_FRAME, context)
            if end_frame not in (None, "")
            else None,
            boxes_xywh=tuple(boxes),
            labels=tuple(labels),
            dem_path=dem_layer.source().split("|")[0] if dem_layer is not None else None,
            output_gpkg=self.parameterAsFileOutput(parameters, self.OUTPUT, context),
            crs=self.parameterAsCrs(parameters, self.CRS, context).authid() or DEFAULT_CRS,
            device=DEVICES[self.parameterAsEnum(parameters, self.DEVICE, context)],
            precision=PRECISIONS[self.parameterAsEnum(parameters, self.PRECISION, context)],
            score_threshold=self.parameterAsDouble(parameters, self.SCORE_THRESHOLD, context),
            geo_guidance=self.parameterAsBool(parameters, self.GEO_GUIDANCE, context),
        )
        feedback.pushInfo(
            tr("Tracking {} target(s) from frame {} of {}").format(
                len(boxes), job.start_frame, job.video_path
            )
        )
        result = run_tracking_job(job, progress=feedback.setProgress, is_cancelled=feedback.isCanceled)
        if result.status == JOB_FAILED:
            raise QgsProcessingException(result.message)
        gpkg_path = result.gpkg_path or job.output_gpkg
        feedback.pushInfo(
            tr("{}: {} frames tracked, written to {}").format(result.status, result.frames_tracked, gpkg_path)
        )
        # a file destination loads nothing by itself: name each table of the file for QGIS to add
        for name in TRACK_LAYERS:
            context.addLayerToLoadOnCompletion(
                f"{gpkg_path}|layername={name}",
                QgsProcessingContext.LayerDetails(name, context.project(), self.OUTPUT),
            )
        return {
            self.OUTPUT: gpkg_path,
            self.FRAMES_TRACKED: result.frames_tracked,
            self.STATUS: result.status,
        }
