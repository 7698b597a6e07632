"""What the plugin's Processing algorithms share: their group and icon, and the engine's parameters
(model, device, precision, score threshold, output CRS) with the defaults from the plugin settings."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingParameterCrs,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
)
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from ..core.definitions import DEFAULT_CRS, DEVICES, GEOREF_LABELS, GEOREF_MODES, PRECISIONS
from ..settings import resource_path


def engine_help() -> str:
    """What the engine parameters' short names mean (the dialog's labels stay short enough to fit)."""
    return tr(
        "Model: a TorchScript file; empty uses the default model. Telemetry: KLV, SRT or CSV; empty finds "
        "it automatically. Precision: fp32 is exact; bf16 is faster on CPUs with AVX512-BF16/AMX; fp16 "
        "is for CUDA. Score threshold: a target whose score falls below it counts as lost."
    )


def tr(text: str) -> str:
    return QCoreApplication.translate("SiamMaskProcessing", text)


class FmvAlgorithm(QgsProcessingAlgorithm):
    """Base of the plugin's algorithms: the "Full-motion video" group and the plugin's icon."""

    def group(self):
        return tr("Full-motion video")

    def groupId(self):  # noqa: N802 (QGIS API)
        return "fmv"

    def icon(self):
        return QIcon(resource_path("icon.png"))


VIDEO_FILTER = "Video (*.ts *.mpg *.mpeg *.m2ts *.mp4 *.mov *.mkv *.avi);;All files (*)"


def add_clip_parameters(algorithm: QgsProcessingAlgorithm, video: str, telemetry: str) -> None:
    """The video file and its telemetry file (optional: found automatically)."""
    algorithm.addParameter(QgsProcessingParameterFile(video, tr("Video"), fileFilter=VIDEO_FILTER))
    algorithm.addParameter(
        QgsProcessingParameterFile(
            telemetry,
            tr("Telemetry (empty: automatic)"),
            optional=True,
            fileFilter="Telemetry (*.srt *.SRT *.csv *.klv *.bin);;All files (*)",
        )
    )


def georef_parameter(name: str, settings) -> QgsProcessingParameterEnum:
    """How each frame is put on the ground (definitions.GEOREF_MODES, by index), the project's by default."""
    return QgsProcessingParameterEnum(
        name,
        tr("Georeferencing"),
        options=[tr(GEOREF_LABELS[mode]) for mode in GEOREF_MODES],
        defaultValue=GEOREF_MODES.index(settings.georef),
    )


def model_parameter(name: str, settings) -> QgsProcessingParameterFile:
    return QgsProcessingParameterFile(
        name,
        tr("Model (empty: the default)"),
        optional=True,
        fileFilter="SiamMask model (*.pt *.pt2 *.pth);;All files (*)",
        defaultValue=settings.model_path or None,
    )


# The engine parameters' names, the same in every algorithm (saved models and batch files use them).
CRS, DEVICE, PRECISION, SCORE_THRESHOLD = "CRS", "DEVICE", "PRECISION", "SCORE_THRESHOLD"


def add_engine_parameters(algorithm: QgsProcessingAlgorithm, settings) -> None:
    """Output CRS, device, precision and score threshold, defaulting to the plugin settings."""
    algorithm.addParameter(
        QgsProcessingParameterCrs(
            CRS, tr("Output CRS (empty: WGS 84)"), settings.output_crs or DEFAULT_CRS, optional=True
        )
    )
    algorithm.addParameter(
        QgsProcessingParameterEnum(
            DEVICE, tr("Device"), options=list(DEVICES), defaultValue=DEVICES.index(settings.device)
        )
    )
    algorithm.addParameter(
        QgsProcessingParameterEnum(
            PRECISION,
            tr("Precision"),
            options=list(PRECISIONS),
            defaultValue=PRECISIONS.index(settings.precision),
        )
    )
    algorithm.addParameter(
        QgsProcessingParameterNumber(
            SCORE_THRESHOLD,
            tr("Score threshold (lost below)"),
            QgsProcessingParameterNumber.Type.Double,
            settings.score_threshold,
            minValue=0.0,
            maxValue=1.0,
        )
    )


def engine_values(algorithm: QgsProcessingAlgorithm, parameters, context) -> dict:
    """The engine parameters' values, as keyword arguments of a job or batch settings."""
    return {
        "crs": algorithm.parameterAsCrs(parameters, CRS, context).authid() or DEFAULT_CRS,
        "device": DEVICES[algorithm.parameterAsEnum(parameters, DEVICE, context)],
        "precision": PRECISIONS[algorithm.parameterAsEnum(parameters, PRECISION, context)],
        "score_threshold": algorithm.parameterAsDouble(parameters, SCORE_THRESHOLD, context),
    }
