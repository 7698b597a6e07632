"""Batch tracking on Dask: jobs per hour and frames per second with 1 and 2 local worker processes.

Each worker runs torch on one thread in both runs (on a 2-core machine shared with other work, two
torch threads in one process were measured 5-12x slower than one: OpenMP threads wait for each other).
CLIPS simulated 640x360 clips of FRAMES frames (one vehicle each, the default light model, CPU, fp32),
tracked by `core.batch.runner.run_batch` on a fresh LocalCluster. "wall" counts everything a user waits
for (cluster start, a model load per worker, tracking, GeoPackages); "in jobs" counts the seconds the
workers spent inside jobs (model load on a worker's first job included), the figure that carries over to a
cluster, where start-up is paid once per batch and jobs run side by side.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

CLIPS = 4
FRAMES = 60
WORKER_COUNTS = (1, 2)
TORCH_THREADS = 1  # per worker, in both runs, so that only the number of workers changes


def _jobs(folder: Path):
    from qgis_siammask.core.batch.jobs import BatchJob
    from qgis_siammask.core.commands.demo import pick_vehicle
    from qgis_siammask.core.simulator import SimulationConfig, simulate

    jobs = []
    for seed in range(CLIPS):
        simulation = simulate(
            SimulationConfig(out_dir=folder / f"clip{seed}", seed=seed, frames=FRAMES, write_masks=False)
        )
        _, box = pick_vehicle(
            simulation.frames[0]["vehicles"], simulation.config.width_px, simulation.config.height_px
        )
        jobs.append(BatchJob(name=f"clip{seed}", video_path=str(simulation.video_path), boxes_xywh=(box,)))
    return jobs


def _scheduler_overhead_ms(tasks: int = 200) -> float:
    """Milliseconds of Dask scheduling per task: no-op tasks on a one-worker LocalCluster, started."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            client.submit(int, 0).result()  # worker up and warm
            started = time.perf_counter()
            client.gather(client.map(int, range(tasks)))
            return 1000 * (time.perf_counter() - started) / tasks


def main() -> None:
    from qgis_siammask.core.batch.runner import BatchSettings, run_batch
    from qgis_siammask.core.commands.demo import resolve_model
    from qgis_siammask.core.definitions import BATCH_STATUS_DONE

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        jobs = _jobs(Path(tmp))
        print(
            f"{CLIPS} clips x {FRAMES} frames 640x360 simulated in {time.perf_counter() - started:.1f} s; "
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the runs",
            flush=True,
        )
        for workers in WORKER_COUNTS:
            settings = BatchSettings(
                out_dir=str(Path(tmp) / f"out{workers}"),
                model_path=str(resolve_model(None)),
                workers=workers,
                torch_threads=TORCH_THREADS,
                device="cpu",
            )
            summary = run_batch(jobs, settings)
            done = summary.count(BATCH_STATUS_DONE)
            in_jobs_s = sum(row.seconds for row in summary.rows)
            print(
                f"{workers} worker(s), {TORCH_THREADS} torch thread each: "
                f"{done}/{CLIPS} jobs, {summary.frames_tracked} frames in {summary.elapsed_s:.1f} s wall -> "
                f"{3600 * done / summary.elapsed_s:.0f} jobs/h, "
                f"{summary.frames_tracked / summary.elapsed_s:.1f} frames/s; {in_jobs_s:.1f} s in jobs -> "
                f"{summary.frames_tracked / in_jobs_s:.1f} frames/s "
                f"per busy worker, {3600 * done / in_jobs_s:.0f} jobs/h per worker",
                flush=True,
            )
        print(f"Dask scheduling: {_scheduler_overhead_ms():.1f} ms per task (no-op tasks)", flush=True)


if __name__ == "__main__":
    main()
