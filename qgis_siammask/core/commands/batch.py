"""`python -m qgis_siammask batch JOBS.jsonl --out DIR [--workers N] [--scheduler ADDRESS] ...`.

Tracks every job of a job file (JSON lines or CSV, see core/batch/jobs.py) on Dask: a LocalCluster
sized to the machine, or the cluster at --scheduler. Writes DIR/NAME.gpkg per job and DIR/summary.csv;
a rerun skips the jobs already done. Exit status 0 when no job failed, 1 otherwise.
"""

from __future__ import annotations

import sys

from ..batch.runner import BatchProgress
from ..definitions import (
    BATCH_STATUS_DONE,
    BATCH_STATUS_FAILED,
    BATCH_STATUS_SKIPPED,
    DEFAULT_CRS,
    DEFAULT_SCORE_THRESHOLD,
    DEVICES,
    PRECISION_FP32,
    PRECISIONS,
)


def add_arguments(parser) -> None:
    parser.add_argument("jobs", help="job file: .jsonl (one JSON object per line) or .csv")
    parser.add_argument("--out", required=True, help="output folder: NAME.gpkg per job, summary.csv")
    parser.add_argument("--model", help="model file, .pt or .pt2 (default: model/default/*.pt)")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes of the local cluster (default: one per GPU, else per core)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads per worker (default: the cores shared among the local workers)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        help="address of a running Dask scheduler (tcp://host:8786) instead of a local cluster",
    )
    parser.add_argument("--device", default="auto", choices=DEVICES)
    parser.add_argument("--precision", default=PRECISION_FP32, choices=PRECISIONS)
    parser.add_argument(
        "--score-threshold",
        type=float,
        default=DEFAULT_SCORE_THRESHOLD,
        help="score under which a target is weak",
    )
    parser.add_argument("--crs", default=DEFAULT_CRS, help=f"output CRS (default {DEFAULT_CRS})")


def run(args) -> int:
    from ..batch.jobs import read_jobs
    from ..batch.runner import BatchSettings, run_batch
    from .demo import resolve_model

    jobs = read_jobs(args.jobs)
    settings = BatchSettings(
        out_dir=args.out,
        model_path=str(resolve_model(args.model)),
        workers=args.workers,
        torch_threads=args.threads,
        scheduler_address=args.scheduler,
        device=args.device,
        precision=args.precision,
        score_threshold=args.score_threshold,
        crs=args.crs,
    )
    summary = run_batch(jobs, settings, TerminalProgress())
    print(
        f"{summary.count(BATCH_STATUS_DONE)} done, {summary.count(BATCH_STATUS_FAILED)} failed, "
        f"{summary.count(BATCH_STATUS_SKIPPED)} skipped; {summary.frames_tracked} frames in "
        f"{summary.elapsed_s:.1f} s on {summary.workers} worker(s); summary: {summary.summary_path}"
    )
    return 1 if summary.count(BATCH_STATUS_FAILED) else 0


class TerminalProgress(BatchProgress):
    """Two tqdm bars on stderr: jobs finished (skipped ones counted at the start) and frames tracked."""

    def start(self, jobs_total, jobs_skipped, frames_expected):
        from tqdm import tqdm

        self.jobs = tqdm(
            total=jobs_total, initial=jobs_skipped, unit="job", desc="jobs", position=0, file=sys.stderr
        )
        self.frame_bar = tqdm(total=frames_expected, unit="frame", desc="frames", position=1, file=sys.stderr)

    def frames(self, job_name, count, worker):
        self.frame_bar.update(count)

    def job_finished(self, row):
        self.jobs.update(1)
        if row.status == BATCH_STATUS_FAILED:
            self.jobs.write(f"{row.name}: failed: {row.message}", file=sys.stderr)

    def close(self):
        self.frame_bar.close()
        self.jobs.close()
