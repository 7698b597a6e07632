"""Processing algorithm "Batch track videos (Dask)": every job of a job file -> a folder of GeoPackages.

The engine's `core.batch.runner.run_batch` on a Dask LocalCluster (or an existing scheduler), so one
QGIS session can track an archive on all its cores or GPUs, or hand it to a cluster. Dask is optional:
without it the algorithm says what to install when it runs.
"""

from __future__ import annotations

from contextlib import contextmanager

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputFile,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)
from qgis.PyQt.QtCore import QCoreApplication

from ..core.batch.jobs import read_jobs
from ..core.batch.runner import BatchProgress, BatchSettings, run_batch
from ..core.definitions import (
    BATCH_STATUS_DONE,
    BATCH_STATUS_FAILED,
    BATCH_STATUS_SKIPPED,
)
from ..core.errors import SiamMaskError
from ..core.packages.deps import (
    BATCH_REQUIREMENTS,
    FEATURE_BATCH,
    FEATURE_TRACKING,
    REQUIREMENTS,
    check_dependencies,
    qgis_python_executable,
)
from ..settings import default_model_path, load_settings, plugin_package_folder
from .common import (
    FmvAlgorithm,
    add_engine_parameters,
    engine_help,
    engine_values,
    model_parameter,
)


def tr(text: str) -> str:
    return QCoreApplication.translate("BatchTrackAlgorithm", text)


class BatchTrackAlgorithm(FmvAlgorithm):
    JOBS = "JOBS"
    MODEL = "MODEL"
    WORKERS = "WORKERS"
    SCHEDULER = "SCHEDULER"
    OUTPUT = "OUTPUT"
    SUMMARY = "SUMMARY"
    DONE = "DONE"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"

    def createInstance(self):  # noqa: N802 (QGIS API)
        return BatchTrackAlgorithm()

    def name(self):
        return "batchtrackvideos"

    def displayName(self):  # noqa: N802 (QGIS API)
        return tr("Batch track videos (Dask)")

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return tr(
            "Tracks every job of a job file on a Dask cluster and writes one GeoPackage per job (NAME.gpkg) "
            "and summary.csv (status, frames, seconds, message and worker per job) to the output folder.\n\n"
            "Job file: JSON lines (one object per line: video, boxes [[x, y, w, h], ...], optional name, "
            "telemetry, labels, start_frame, end_frame, dem) or CSV with the same columns (boxes "
            "'x,y,w,h;x,y,w,h', labels 'a;b'). Jobs already done by an earlier run with the same "
            "parameters are skipped; a failed job does not stop the others.\n\n"
            "Workers 0: one per GPU, else one per core, on this machine. A scheduler address "
            "(tcp://host:8786) sends the jobs to that cluster instead; its workers must see the same "
            "paths.\n\n"
        ) + engine_help()

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        settings = load_settings()
        self.addParameter(
            QgsProcessingParameterFile(
                self.JOBS,
                tr("Job file (JSON lines or CSV)"),
                fileFilter="Jobs (*.jsonl *.json *.csv);;All files (*)",
            )
        )
        self.addParameter(model_parameter(self.MODEL, settings))
        self.addParameter(
            QgsProcessingParameterNumber(
                self.WORKERS,
                tr("Workers (0: automatic)"),
                QgsProcessingParameterNumber.Type.Integer,
                0,
                minValue=0,
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.SCHEDULER, tr("Dask scheduler (empty: local)"), optional=True
            )
        )
        add_engine_parameters(self, settings)
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, tr("Output folder")))
        self.addOutput(QgsProcessingOutputFile(self.SUMMARY, tr("Summary (CSV)")))
        for output, description in (
            (self.DONE, tr("Jobs done")),
            (self.FAILED, tr("Jobs failed")),
            (self.SKIPPED, tr("Jobs skipped (done before)")),
        ):
            self.addOutput(QgsProcessingOutputNumber(output, description))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        report = check_dependencies(REQUIREMENTS + BATCH_REQUIREMENTS, str(plugin_package_folder()))
        if not (report.available(FEATURE_TRACKING) and report.available(FEATURE_BATCH)):
            raise QgsProcessingException(report.summary())
        workers = self.parameterAsInt(parameters, self.WORKERS, context)
        settings = BatchSettings(
            out_dir=self.parameterAsString(parameters, self.OUTPUT, context),
            model_path=self.parameterAsFile(parameters, self.MODEL, context) or default_model_path(),
            workers=workers or None,
            scheduler_address=self.parameterAsString(parameters, self.SCHEDULER, context).strip() or None,
            **engine_values(self, parameters, context),
        )
        try:
            jobs = read_jobs(self.parameterAsFile(parameters, self.JOBS, context))
            with _workers_run_qgis_python():
                summary = run_batch(jobs, settings, _FeedbackProgress(feedback))
        except SiamMaskError as error:
            raise QgsProcessingException(error.user_message) from error
        feedback.pushInfo(
            tr("{} done, {} failed, {} skipped; {} frames in {:.1f} s on {} worker(s)").format(
                summary.count(BATCH_STATUS_DONE),
                summary.count(BATCH_STATUS_FAILED),
                summary.count(BATCH_STATUS_SKIPPED),
                summary.frames_tracked,
                summary.elapsed_s,
                summary.workers,
            )
        )
        return {
            self.OUTPUT: settings.out_dir,
            self.SUMMARY: summary.summary_path,
            self.DONE: summary.count(BATCH_STATUS_DONE),
            self.FAILED: summary.count(BATCH_STATUS_FAILED),
            self.SKIPPED: summary.count(BATCH_STATUS_SKIPPED),
        }


@contextmanager
def _workers_run_qgis_python():
    """Dask's LocalCluster starts its workers with multiprocessing's spawn, which runs the interpreter
    named by sys.executable when multiprocessing was imported. Inside QGIS that is never QGIS's Python:
    it is QGIS itself, or (embedded Python on Linux and macOS) the first `python3` on PATH, e.g. a pyenv
    Python that then fails on QGIS's standard library. So the workers are pointed at the interpreter
    behind QGIS for the batch, and multiprocessing is given back as it was for other plugins."""
    from multiprocessing import spawn

    before = spawn.get_executable()
    spawn.set_executable(qgis_python_executable())
    try:
        yield
    finally:
        spawn.set_executable(before)


class _FeedbackProgress(BatchProgress):
    """Jobs finished as the algorithm's progress; one log line per job; the Cancel button cancels."""

    def __init__(self, feedback):
        self.feedback = feedback
        self.jobs_total, self.jobs_finished = 1, 0

    def start(self, jobs_total, jobs_skipped, frames_expected):
        self.jobs_total, self.jobs_finished = max(1, jobs_total), jobs_skipped
        self.feedback.pushInfo(tr("{} job(s), {} done by an earlier run").format(jobs_total, jobs_skipped))
        self.feedback.setProgress(100.0 * jobs_skipped / self.jobs_total)

    def job_finished(self, row):
        self.jobs_finished += 1
        self.feedback.setProgress(100.0 * self.jobs_finished / self.jobs_total)
        line = tr("{}: {}, {} frames in {:.1f} s on {}").format(
            row.name, row.status, row.frames_tracked, row.seconds, row.worker or "-"
        )
        if row.status == BATCH_STATUS_FAILED:
            self.feedback.reportError(f"{line}: {row.message}")
        else:
            self.feedback.pushInfo(line)

    def is_cancelled(self):
        return self.feedback.isCanceled()
