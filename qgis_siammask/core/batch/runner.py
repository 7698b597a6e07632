"""Batch tracking on Dask: every job of a job file on a cluster, one GeoPackage per job, a summary.

`run_batch(jobs, settings)` starts a `distributed.LocalCluster` (one worker process per GPU where CUDA
is present, else workers sized to the machine's cores) or connects to an existing scheduler
(`settings.scheduler_address`: dask-jobqueue, Kubernetes, `dask scheduler` + `dask worker`, ...), sends
one task per job that is not already done, and writes DIR/summary.csv (one row per job: name, video,
status done / failed / skipped, frames tracked, seconds, message, worker address).

A job is done, and skipped by a rerun, when DIR/NAME.gpkg exists and the job record DIR/NAME.job.json
beside it (written by the worker after the GeoPackage is complete) names the same job parameters. The
pipeline writes DIR/NAME.partial.gpkg and renames it only when the job has finished, and a job that
failed or was killed midway has no record (a stale one is deleted before the job is sent), so it is
redone from the start. A job's failure is a row in the summary, never the
end of the batch; a worker process that dies has its job retried on another worker by Dask (up to the
scheduler's `allowed-failures`, default 3).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from ..definitions import (
    BATCH_CANCEL_POLL_S,
    BATCH_FRAMES_TOPIC,
    BATCH_STATUS_DONE,
    BATCH_STATUS_FAILED,
    BATCH_STATUS_SKIPPED,
    BATCH_SUMMARY_FIELDS,
    BATCH_SUMMARY_FILE,
    DEFAULT_CRS,
    DEFAULT_SCORE_THRESHOLD,
    PRECISION_FP32,
)
from ..errors import DependencyError, OutputError, SiamMaskError
from ..files import atomic_output
from .jobs import BatchJob, job_record_path


@dataclass(frozen=True)
class BatchSettings:
    """What every job of a batch shares. `workers` None: sized to the machine (LocalCluster only);
    `torch_threads` None: the cores shared among the local workers (a remote worker keeps torch's own)."""

    out_dir: str
    model_path: str
    workers: int | None = None
    torch_threads: int | None = None
    scheduler_address: str | None = None
    device: str = "auto"
    precision: str = PRECISION_FP32
    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    crs: str = DEFAULT_CRS


@dataclass(frozen=True)
class BatchRow:
    """One job's line in summary.csv."""

    name: str
    video: str
    status: str
    frames_tracked: int
    seconds: float
    message: str
    worker: str

    def as_csv(self) -> dict:
        return {
            "name": self.name,
            "video": self.video,
            "status": self.status,
            "frames_tracked": self.frames_tracked,
            "seconds": f"{self.seconds:.2f}",
            "message": self.message,
            "worker": self.worker,
        }


@dataclass(frozen=True)
class BatchSummary:
    """The batch's rows in job-file order, its wall time, the workers it had and where summary.csv is."""

    rows: tuple[BatchRow, ...]
    elapsed_s: float
    workers: int
    summary_path: str

    def count(self, status: str) -> int:
        return sum(row.status == status for row in self.rows)

    @property
    def frames_tracked(self) -> int:
        return sum(row.frames_tracked for row in self.rows if row.status == BATCH_STATUS_DONE)


class BatchProgress:
    """Progress hooks, all optional (this base does nothing). `frames` is called on a client thread."""

    def start(self, jobs_total: int, jobs_skipped: int, frames_expected: int | None) -> None:
        pass

    def frames(self, job_name: str, count: int, worker: str) -> None:
        pass

    def job_finished(self, row: BatchRow) -> None:
        pass

    def close(self) -> None:
        pass

    def is_cancelled(self) -> bool:
        """Polled while jobs run; True cancels the jobs not finished (reported failed). A job already running
        may still finish (and then counts as done for a rerun): Dask cannot stop a running task."""
        return False


def local_cluster_size(workers: int | None, device: str, jobs: int) -> tuple[int, int]:
    """(worker processes, torch threads per worker) for a LocalCluster on this machine.

    With CUDA (and device not cpu): one worker per GPU unless `workers` says otherwise. On CPU: as many
    workers as asked (default: one per core, at most one per job); the cores are shared among them.
    """
    import torch

    cores = os.cpu_count() or 1
    if workers is None:
        gpus = torch.cuda.device_count() if device != "cpu" and torch.cuda.is_available() else 0
        workers = gpus or min(cores, max(1, jobs))
    workers = max(1, workers)
    return workers, max(1, cores // workers)


def job_record(job: BatchJob, settings: BatchSettings) -> dict:
    """The parameters that make a job's GeoPackage what it is; a rerun redoes the job when they change."""
    video = Path(job.video_path)
    return {
        "name": job.name,
        "video": job.video_path,
        "video_bytes": video.stat().st_size if video.is_file() else None,
        "telemetry": job.telemetry_path,
        "boxes": [list(box) for box in job.boxes_xywh],
        "labels": list(job.labels) if job.labels else None,
        "start_frame": job.start_frame,
        "end_frame": job.end_frame,
        "dem": job.dem_path,
        "georef": job.georef,
        "model": str(Path(settings.model_path).resolve()),
        "precision": settings.precision,
        "score_threshold": settings.score_threshold,
        "crs": settings.crs,
    }


def run_batch(
    jobs: list[BatchJob], settings: BatchSettings, progress: BatchProgress | None = None
) -> BatchSummary:
    """Run every job not already done on a Dask cluster; write and return the summary."""
    from ..pipeline import TrackingJob

    started = time.perf_counter()
    progress = progress or BatchProgress()
    out_dir = Path(settings.out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError("cannot create the output folder", details=str(error), path=out_dir) from error
    rows: dict[str, BatchRow] = {}
    to_run = []
    for job in jobs:
        gpkg = out_dir / f"{job.name}.gpkg"
        record = job_record(job, settings)
        finished = _finished_record(gpkg, record)
        if finished is not None:
            rows[job.name] = BatchRow(
                job.name,
                job.video_path,
                BATCH_STATUS_SKIPPED,
                int(finished.get("frames_tracked", 0)),
                0.0,
                f"done by an earlier run ({job_record_path(gpkg).name})",
                str(finished.get("worker", "")),
            )
            continue
        job_record_path(gpkg).unlink(missing_ok=True)  # a stale record must not vouch for a redone file
        tracking_job = TrackingJob(
            video_path=job.video_path,
            model_path=settings.model_path,
            output_gpkg=str(gpkg),
            boxes_xywh=job.boxes_xywh,
            labels=job.labels,
            telemetry_path=job.telemetry_path,
            start_frame=job.start_frame,
            end_frame=job.end_frame,
            dem_path=job.dem_path,
            georef=job.georef,
            crs=settings.crs,
            device=settings.device,
            precision=settings.precision,
            score_threshold=settings.score_threshold,
        )
        to_run.append((job, tracking_job, record))
    frames_expected = None
    if all(job.end_frame is not None for job, _, _ in to_run):
        frames_expected = sum(job.end_frame - job.start_frame + 1 for job, _, _ in to_run)
    progress.start(len(jobs), len(jobs) - len(to_run), frames_expected)
    workers = 0
    try:
        if to_run:
            workers = _run_on_cluster(to_run, settings, progress, rows)
    finally:
        progress.close()
    ordered = tuple(rows[job.name] for job in jobs if job.name in rows)
    summary_path = out_dir / BATCH_SUMMARY_FILE
    write_summary(summary_path, ordered)
    return BatchSummary(ordered, time.perf_counter() - started, workers, str(summary_path))


def _finished_record(gpkg: Path, record: dict) -> dict | None:
    """The job record of a finished GeoPackage made by the same job, else None (the job must run)."""
    if not gpkg.is_file():
        return None
    try:
        recorded = json.loads(job_record_path(gpkg).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    same = isinstance(recorded, dict) and all(recorded.get(key) == value for key, value in record.items())
    return recorded if same else None


def _run_on_cluster(to_run, settings: BatchSettings, progress: BatchProgress, rows: dict) -> int:
    """Send the jobs, collect results as they finish; returns the number of workers the cluster had."""
    try:
        from distributed import Client, LocalCluster, wait
    except ImportError as error:
        raise DependencyError(
            "batch tracking needs Dask: python -m pip install 'dask[distributed]'", details=str(error)
        ) from error
    from .worker import TrackerCache, track_on_worker

    with ExitStack() as stack:
        if settings.scheduler_address:
            try:
                client = stack.enter_context(Client(settings.scheduler_address))
            except (OSError, TimeoutError) as error:
                raise SiamMaskError(
                    f"cannot reach the Dask scheduler at {settings.scheduler_address}", details=str(error)
                ) from error
            torch_threads = settings.torch_threads  # None: the site sized its own workers
        else:
            workers, threads_each = local_cluster_size(settings.workers, settings.device, len(to_run))
            torch_threads = settings.torch_threads or threads_each
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    silence_logs=logging.ERROR,
                )
            )
            client = stack.enter_context(Client(cluster))
        client.register_plugin(TrackerCache(torch_threads))
        client.subscribe_topic(BATCH_FRAMES_TOPIC, lambda event: progress.frames(*event[1]))
        jobs_by_key = {}
        futures = []
        batch_id = uuid.uuid4().hex[:8]  # task keys unique on a scheduler shared by several batches
        for job, tracking_job, record in to_run:
            future = client.submit(
                track_on_worker,
                job.name,
                tracking_job,
                record,
                key=f"siammask-{batch_id}-{job.name}",
                pure=False,
            )
            jobs_by_key[future.key] = job
            futures.append(future)
        pending = set(futures)
        while pending:
            try:
                finished, pending = wait(pending, timeout=BATCH_CANCEL_POLL_S, return_when="FIRST_COMPLETED")
            except TimeoutError:
                finished = ()
            for future in finished:
                job = jobs_by_key[future.key]
                rows[job.name] = _row(job, future)
                progress.job_finished(rows[job.name])
            if pending and progress.is_cancelled():
                client.cancel(list(pending))
                for future in pending:
                    job = jobs_by_key[future.key]
                    rows[job.name] = BatchRow(
                        job.name,
                        job.video_path,
                        BATCH_STATUS_FAILED,
                        0,
                        0.0,
                        "cancelled; a rerun does it unless it finished meanwhile",
                        "",
                    )
                pending = ()
        workers = len(client.nthreads())
        client.unsubscribe_topic(BATCH_FRAMES_TOPIC)
    return workers


def _row(job: BatchJob, future) -> BatchRow:
    """A finished future -> its summary row; a task that never returned (workers kept dying) is failed."""
    try:
        outcome = future.result()
    except Exception as error:  # noqa: BLE001 (KilledWorker, a lost scheduler: this job failed, not the batch)
        return BatchRow(
            job.name, job.video_path, BATCH_STATUS_FAILED, 0, 0.0, f"{type(error).__name__}: {error}", ""
        )
    result = outcome.result
    status = BATCH_STATUS_DONE if result.ok else BATCH_STATUS_FAILED
    message = " ".join(filter(None, (result.message, result.details)))
    return BatchRow(
        job.name, job.video_path, status, result.frames_tracked, result.elapsed_s, message, outcome.worker
    )


def write_summary(path: Path, rows: tuple[BatchRow, ...]) -> None:
    """summary.csv, written whole (temp file, then rename) so a reader never sees half of it."""
    with atomic_output(path) as partial:
        try:
            with open(partial, "w", newline="", encoding="utf-8") as stream:
                writer = csv.DictWriter(stream, fieldnames=BATCH_SUMMARY_FIELDS)
                writer.writeheader()
                writer.writerows(row.as_csv() for row in rows)
        except OSError as error:
            raise OutputError("cannot write the batch summary", details=str(error), path=path) from error
