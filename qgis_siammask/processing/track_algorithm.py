"""Processing algorithm "Track objects in video": the engine's tracking job, video -> GeoPackage.

Parameters are plain values (files, numbers, a box string), so the algorithm works in batch mode and in
graphical models; the heavy engine is imported only when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProject,
)
from qgis.PyQt.QtCore import QCoreApplication

from ..core.definitions import GEOREF_MODES, JOB_FAILED, TRACK_LAYERS
from ..core.packages.deps import FEATURE_TRACKING
from ..layer_tree import VideoLayerGroup
from ..layers import TrackLayers
from ..python_thread import in_python_thread
from ..settings import default_model_path, load_settings, run_output_path
from ..tasks import build_job, parse_boxes, parse_labels
from .common import (
    FmvAlgorithm,
    add_clip_parameters,
    add_engine_parameters,
    engine_help,
    engine_values,
    georef_parameter,
    model_parameter,
)

def tr(text: str) -> str:
    return QCoreApplication.translate("TrackObjectsAlgorithm", text)


def _default_output(settings) -> str | None:
    """A new file in the project's output folder (as the dock's runs) when the project has a folder
    (saved, or one chosen); else None: Processing's temporary file."""
    if not (settings.output_folder or QgsProject.instance().homePath()):
        return None
    return str(run_output_path(settings.output_dir(), "tracks"))


def _frame_duration_s(video_path: str) -> float:
    """Seconds per frame of the video (for the layers' time ranges)."""
    from ..core.ingest.video import VideoReader

    with VideoReader(video_path) as video:
        return 1.0 / (video.fps or 25.0)


@dataclass
class RunToLoad:
    """A finished run put on the map as the dock does: the GeoPackage's layers in a group named after the
    run, coloured by track, footprints unticked. QGIS loads each table plainly (random style, no group),
    then calls each table's `TableLoaded`: every call removes QGIS's plain copy, the last adds the group
    (earlier, QGIS would take the group's layers of the same source for the tables still to load)."""

    gpkg_path: str
    crs: str
    frame_duration_s: float
    tables_to_come: int = len(TRACK_LAYERS)
    # runs whose tables QGIS may still load: it keeps bare pointers to the post-processors, and a
    # post-processor whose Python object is gone is never called
    waiting: ClassVar[list] = []

    def post_processors(self) -> list:
        """One post-processor per table, kept (with the run) until the last table is loaded."""
        processors = [TableLoaded(self) for _ in TRACK_LAYERS]
        RunToLoad.waiting.append((self, processors))
        return processors

    def table_loaded(self, layer, project: QgsProject) -> None:
        project.removeMapLayer(layer.id())
        self.tables_to_come -= 1
        if self.tables_to_come == 0:
            RunToLoad.waiting[:] = [entry for entry in RunToLoad.waiting if entry[0] is not self]
            group = VideoLayerGroup(Path(self.gpkg_path).stem, project=project)
            TrackLayers(group, self.crs, self.frame_duration_s, geopackage=self.gpkg_path)


class TableLoaded(QgsProcessingLayerPostProcessorInterface):
    """One table's post-processor (QGIS owns and deletes each, so one per table, sharing the run)."""

    def __init__(self, run: RunToLoad):
        super().__init__()
        self.run = run

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 (QGIS API)
        self.run.table_loaded(layer, context.project() or QgsProject.instance())


class TrackObjectsAlgorithm(FmvAlgorithm):
    VIDEO = "VIDEO"
    TELEMETRY = "TELEMETRY"
    MODEL = "MODEL"
    START_FRAME = "START_FRAME"
    END_FRAME = "END_FRAME"
    BOXES = "BOXES"
    LABELS = "LABELS"
    DEM = "DEM"
    GEO_GUIDANCE = "GEO_GUIDANCE"
    GEOREF = "GEOREF"
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
            "flat at the frame centre's elevation. Cancelling keeps the frames already written.\n\n"
            "Search where telemetry predicts: each target is looked for where the telemetry puts it, and a "
            "lost one coasts on. Georeferencing: how each frame is put on the ground (ST 0601 camera model, "
            "horizon-level gimbal or the reported corners).\n\n"
        ) + engine_help()

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        settings = load_settings()
        add_clip_parameters(self, self.VIDEO, self.TELEMETRY)
        self.addParameter(model_parameter(self.MODEL, settings))
        self.addParameter(
            QgsProcessingParameterNumber(
                self.START_FRAME, tr("Start frame"), QgsProcessingParameterNumber.Type.Integer, 0, minValue=0
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.END_FRAME,
                tr("End frame (empty: the last)"),
                QgsProcessingParameterNumber.Type.Integer,
                optional=True,
                minValue=0,
            )
        )
        self.addParameter(
            QgsProcessingParameterString(self.BOXES, tr("Boxes (x,y,w,h;x,y,w,h…)"))
        )
        self.addParameter(
            QgsProcessingParameterString(self.LABELS, tr("Labels (;-separated)"), optional=True)
        )
        self.addParameter(
            QgsProcessingParameterRasterLayer(self.DEM, tr("DEM (empty: flat ground)"), optional=True)
        )
        add_engine_parameters(self, settings)
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.GEO_GUIDANCE, tr("Search where telemetry predicts"), True
            )
        )
        self.addParameter(georef_parameter(self.GEOREF, settings))
        self.addParameter(
            QgsProcessingParameterFileDestination(
                self.OUTPUT, tr("Tracks GeoPackage"), "GeoPackage (*.gpkg)", defaultValue=_default_output(settings)
            )
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
            geo_guidance=self.parameterAsBool(parameters, self.GEO_GUIDANCE, context),
            georef=GEOREF_MODES[self.parameterAsEnum(parameters, self.GEOREF, context)],
            **engine_values(self, parameters, context),
        )
        feedback.pushInfo(
            tr("Tracking {} target(s) from frame {} of {}").format(
                len(boxes), job.start_frame, job.video_path
            )
        )
        # on a Qt thread when run in the background: pyproj there needs a Python thread (python_thread)
        result = in_python_thread(
            run_tracking_job, job, progress=feedback.setProgress, is_cancelled=feedback.isCanceled
        )
        if result.status == JOB_FAILED:
            raise QgsProcessingException(result.message)
        gpkg_path = result.gpkg_path or job.output_gpkg
        feedback.pushInfo(
            tr("{}: {} frames tracked, written to {}").format(result.status, result.frames_tracked, gpkg_path)
        )
        # a file destination loads nothing by itself: name each table of the file for QGIS to add (when
        # it loads results), then styled and grouped
        run = RunToLoad(gpkg_path, job.crs, _frame_duration_s(job.video_path))
        for name, post_processor in zip(TRACK_LAYERS, run.post_processors()):
            details = QgsProcessingContext.LayerDetails(name, context.project(), self.OUTPUT)
            details.setPostProcessor(post_processor)
            context.addLayerToLoadOnCompletion(f"{gpkg_path}|layername={name}", details)
        return {
            self.OUTPUT: gpkg_path,
            self.FRAMES_TRACKED: result.frames_tracked,
            self.STATUS: result.status,
        }
