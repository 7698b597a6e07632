"""Tracking in the background: a frozen TrackingJob runs in a QgsTask; results come back typed.

The worker thread never touches a layer or a widget: each tracked frame's ground features
(core.geometry.FrameFeatures) go into a locked buffer, and a signal (at most every `EMIT_INTERVAL_S`)
tells the main thread to drain it. `finished()` runs on the main thread and drains what is left, so
cancelling keeps every frame already tracked.
"""

from __future__ import annotations

import threading
import time

from qgis.core import Qgis, QgsMessageLog, QgsTask
from qgis.PyQt.QtCore import QCoreApplication, pyqtSignal

from .core.definitions import JOB_CANCELLED, JOB_FAILED, PLUGIN_NAME
from .python_thread import in_python_thread

EMIT_INTERVAL_S = 0.3


def parse_boxes(text: str) -> list[tuple[float, float, float, float]]:
    """'x,y,w,h;x,y,w,h' (pixels) -> boxes; ValueError naming the bad part."""
    boxes = []
    for part in filter(None, (p.strip() for p in (text or "").split(";"))):
        values = part.replace(" ", "").split(",")
        try:
            x, y, width, height = (float(v) for v in values)
        except ValueError:
            raise ValueError(f"box {part!r}: expected four numbers 'x,y,width,height'") from None
        if width <= 0 or height <= 0 or x < 0 or y < 0:
            raise ValueError(f"box {part!r}: width and height must be positive, x and y not negative")
        boxes.append((x, y, width, height))
    if not boxes:
        raise ValueError("no box given: expected 'x,y,width,height', several separated by ';'")
    return boxes


def parse_labels(text: str, count: int) -> list[str]:
    """';'-separated labels, padded with 'target N'; ValueError when there are more labels than boxes."""
    labels = [p.strip() for p in (text or "").split(";")] if (text or "").strip() else []
    if len(labels) > count:
        raise ValueError(f"{len(labels)} labels for {count} box(es)")
    return [label or f"target {i + 1}" for i, label in enumerate(labels + [""] * (count - len(labels)))]


def build_job(**values):
    """The engine's frozen TrackingJob (imported lazily: it pulls in numpy and friends)."""
    from .core.pipeline import TrackingJob

    return TrackingJob(**values)


class TrackingTask(QgsTask):
    """Runs `core.pipeline.run_tracking_job(job)`; `framesReady` says there are frames to `take()`."""

    framesReady = pyqtSignal()
    outcomeReady = pyqtSignal(object)  # core.pipeline.JobResult, emitted on the main thread by finished()

    def __init__(self, job, description: str, pixels_only: bool = False):
        super().__init__(description, QgsTask.Flag.CanCancel)
        self.job = job
        self.pixels_only = pixels_only  # no telemetry: core.pixel_job, JSON lines instead of a GeoPackage
        self.outcome = None  # core.pipeline.JobResult once run() returns
        self._lock = threading.Lock()
        self._pending: list = []
        self._last_emit_s = 0.0

    # --- worker thread ---------------------------------------------------------------------------
    def run(self) -> bool:
        from .core.pipeline import JobResult, run_tracking_job
        from .core.pixel_job import run_pixel_job

        run_job = run_pixel_job if self.pixels_only else run_tracking_job
        try:
            self.outcome = in_python_thread(  # pyproj on QGIS's pooled threads: see python_thread
                run_job, self.job, on_frame=self._on_frame, progress=self.setProgress,
                is_cancelled=self.isCanceled,
            )
        except Exception as error:  # noqa: BLE001 (user errors are results; a bug must not kill QGIS)
            QgsMessageLog.logMessage(f"tracking failed: {error!r}", PLUGIN_NAME, Qgis.MessageLevel.Critical)
            self.outcome = JobResult(
                JOB_FAILED, 0, 0, str(self.job.output_gpkg), f"unexpected error: {error}"
            )
        if self.outcome.status == JOB_CANCELLED:
            # QGIS's own notice ("Task complete: ...") shows the description: it must say the run stopped
            self.setDescription(
                QCoreApplication.translate("TrackingTask", "{}: stopped, {} frame(s) kept").format(
                    self.description(), self.outcome.frames_tracked
                )
            )
        return self.outcome.status != JOB_FAILED

    def _on_frame(self, features) -> None:
        """Pipeline callback (worker thread): buffer the frame, signal the main thread now and then."""
        with self._lock:
            self._pending.append(features)
        now = time.monotonic()
        if now - self._last_emit_s >= EMIT_INTERVAL_S:
            self._last_emit_s = now
            self.framesReady.emit()

    # --- main thread -----------------------------------------------------------------------------
    def take(self) -> list:
        """The FrameFeatures tracked since the last call, oldest first."""
        with self._lock:
            pending, self._pending = self._pending, []
        return pending

    def finished(self, ok: bool) -> None:
        if self.outcome is None:  # cancelled before run() started
            from .core.pipeline import JobResult

            self.outcome = JobResult(JOB_CANCELLED, 0, 0, str(self.job.output_gpkg), "cancelled before start")
        self.framesReady.emit()
        self.outcomeReady.emit(self.outcome)
