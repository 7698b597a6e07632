"""What runs on a Dask worker: one tracking job per task, with the model loaded once per worker.

`TrackerCache` is a Dask worker plugin: registered once by the client, it is set up on every worker
(also on workers that join later or are restarted after a crash). It sets torch's thread count and
keeps one loaded SiamMaskTracker per (model, device, precision, score threshold) and worker thread, so
a worker loads the model once, not once per video; with several GPUs each worker takes its own.

`track_on_worker` runs `pipeline.run_tracking_job`, sends frame counts to the client as Dask events
(topic definitions.BATCH_FRAMES_TOPIC) for the progress bar, and on success writes the job record
NAME.job.json beside NAME.gpkg: a rerun skips a job only when both exist and the record names the same
job parameters.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from ..definitions import (
    BATCH_FRAMES_INTERVAL_S,
    BATCH_FRAMES_TOPIC,
    BATCH_TRACKER_PLUGIN,
    JOB_FAILED,
)
from ..errors import OutputError, SiamMaskError
from ..files import atomic_output
from ..pipeline import JobResult, TrackingJob, run_tracking_job
from .jobs import job_record_path


@dataclass(frozen=True)
class WorkerOutcome:
    """A job's result as it comes back from the worker that ran it (`worker`: its Dask address)."""

    name: str
    result: JobResult
    worker: str


class TrackerCache(WorkerPlugin):
    """Loaded trackers per worker. `torch_threads`: threads each worker's torch uses (None: torch's own)."""

    name = BATCH_TRACKER_PLUGIN

    def __init__(self, torch_threads: int | None = None):
        self.torch_threads = torch_threads
        self._trackers: dict = {}
        self._gpu_index = 0

    def setup(self, worker) -> None:
        import torch

        self._trackers = {}
        if self.torch_threads:
            torch.set_num_threads(self.torch_threads)
        # LocalCluster names its workers 0, 1, ...: one GPU each. Other deployments (dask-cuda, a job
        # queue) show each worker only its own GPU (CUDA_VISIBLE_DEVICES), so index 0 is that one.
        index = worker.name if isinstance(worker.name, int) else 0
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        self._gpu_index = index % count if count else 0

    def device_for(self, device: str) -> str:
        """`auto`/`cuda` -> this worker's own GPU when several are present; `cpu` and `cuda:N` as given."""
        from ..tracking.model_file import resolve_device

        resolved = resolve_device(device)
        return f"cuda:{self._gpu_index}" if resolved == "cuda" else resolved

    def tracker(self, job: TrackingJob):
        """The loaded tracker for `job`'s model and settings, for the calling worker thread."""
        from ..pipeline import new_tracker

        key = (job.model_path, job.device, job.precision, job.score_threshold, threading.get_ident())
        if key not in self._trackers:
            self._trackers[key] = new_tracker(job)
        return self._trackers[key]


class _FrameReporter:
    """Sends `[job name, frames since the last report, worker address]` events; the first frame at once."""

    def __init__(self, worker, job_name: str):
        self.worker, self.job_name = worker, job_name
        self.unsent, self.last_sent_s = 0, None

    def on_frame(self, _features) -> None:
        self.unsent += 1
        now = time.monotonic()
        if self.last_sent_s is None or now - self.last_sent_s >= BATCH_FRAMES_INTERVAL_S:
            self.flush()
            self.last_sent_s = now

    def flush(self) -> None:
        if self.unsent:
            self.worker.log_event(BATCH_FRAMES_TOPIC, [self.job_name, self.unsent, self.worker.address])
            self.unsent = 0


def track_on_worker(name: str, job: TrackingJob, job_record: dict) -> WorkerOutcome:
    """Run one job on the calling Dask worker; never raises for a job's own failure (it is in the result)."""
    worker = get_worker()
    cache: TrackerCache = worker.plugins[BATCH_TRACKER_PLUGIN]
    reporter = _FrameReporter(worker, name)
    try:
        job = dataclasses.replace(job, device=cache.device_for(job.device))
    except SiamMaskError as error:  # e.g. CUDA asked for on a CPU-only worker: this job fails, not the batch
        return WorkerOutcome(
            name, JobResult(JOB_FAILED, 0, 0, job.output_gpkg, error.user_message), worker.address
        )
    result = run_tracking_job(job, on_frame=reporter.on_frame, load_tracker=cache.tracker)
    reporter.flush()
    if result.ok:
        record = {
            **job_record,
            "frames_tracked": result.frames_tracked,
            "seconds": round(result.elapsed_s, 3),
            "worker": worker.address,
            "python": sys.executable,  # which interpreter ran it: a worker started with another fails early
        }
        try:
            write_job_record(job.output_gpkg, record)
        except (OSError, OutputError) as error:
            message = f"{job_record_path(job.output_gpkg)}: cannot write the job record ({error})"
            result = dataclasses.replace(result, status=JOB_FAILED, message=message)
    return WorkerOutcome(name, result, worker.address)


def write_job_record(gpkg_path: str | Path, record: dict) -> None:
    """NAME.job.json beside NAME.gpkg, written whole (temp file, then rename) after the GeoPackage."""
    with atomic_output(job_record_path(gpkg_path)) as partial:
        partial.write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")
