"""Batch tracking on a real Dask LocalCluster of 2 worker processes: simulated clips, a broken job, a
rerun that rewrites nothing, a worker killed mid-job, half-written and changed jobs redone."""

from __future__ import annotations

import csv
import json
import os
import signal
from pathlib import Path

import pytest

from qgis_siammask.core import definitions as d
from qgis_siammask.core.batch.jobs import read_jobs
from qgis_siammask.core.batch.runner import BatchProgress, BatchSettings, run_batch
from qgis_siammask.core.cli import main

pytest.importorskip("distributed", reason="batch tracking needs dask[distributed]")
pytestmark = pytest.mark.slow

FRAMES = 12
LONG_FRAMES = 40  # the job whose worker is killed: long enough to be killed midway


@pytest.fixture(scope="module")
def model_path() -> str:
    from qgis_siammask.core.commands.demo import resolve_model

    return str(resolve_model(None))


def simulated_job(folder: Path, seed: int, frames: int) -> dict:
    """A small simulated clip (MPEG-TS + KLV) and its job line, tracking the best vehicle of frame 0."""
    from qgis_siammask.core.commands.demo import pick_vehicle
    from qgis_siammask.core.simulator import SimulationConfig, simulate

    simulation = simulate(
        SimulationConfig(out_dir=folder, seed=seed, frames=frames, width_px=320, height_px=180)
    )
    _, box = pick_vehicle(simulation.frames[0]["vehicles"], 320, 180)
    return {"name": folder.name, "video": str(simulation.video_path), "boxes": [list(box)], "labels": ["car"]}


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[dict]:
    """Three 12-frame clips and one 40-frame clip (job lines)."""
    base = tmp_path_factory.mktemp("batch_clips")
    return [simulated_job(base / f"clip{seed}", seed, FRAMES) for seed in (1, 2, 3)] + [
        simulated_job(base / "long", 4, LONG_FRAMES)
    ]


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of 2 worker processes (with nannies, which restart a killed worker)."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as local:
        with Client(local) as client:
            yield local, client


def _job_file(path: Path, entries: list[dict]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    return path


def _summary(out: Path) -> dict[str, dict]:
    with open(out / d.BATCH_SUMMARY_FILE, newline="") as stream:
        return {row["name"]: row for row in csv.DictReader(stream)}


def _points(gpkg: Path) -> list[int]:
    """Frames of the point features that have a geometry."""
    from osgeo import ogr

    dataset = ogr.Open(str(gpkg))
    frames = [f.GetField(d.FIELD_FRAME) for f in dataset.GetLayerByName(d.LAYER_POINTS) if f.GetGeometryRef()]
    dataset = None
    return sorted(frames)


def _file_states(out: Path) -> dict[str, tuple[int, bytes]]:
    return {
        p.name: (p.stat().st_mtime_ns, p.read_bytes())
        for p in out.iterdir()
        if p.name != d.BATCH_SUMMARY_FILE
    }


def test_batch_command_on_a_local_cluster_and_a_rerun_that_rewrites_nothing(clips, tmp_path, capsys):
    broken = tmp_path / "broken.ts"
    broken.write_bytes(b"\x47 this is not a transport stream " * 50)
    jobs = _job_file(
        tmp_path / "jobs.jsonl", clips[:3] + [{"video": str(broken), "boxes": [[10, 10, 20, 20]]}]
    )
    out = tmp_path / "out"
    args = ["batch", str(jobs), "--out", str(out), "--workers", "2", "--device", "cpu"]

    assert main(args) == 1  # one job failed
    assert "3 done, 1 failed, 0 skipped; 36 frames" in capsys.readouterr().out
    rows = _summary(out)
    assert list(rows) == ["clip1", "clip2", "clip3", "broken"]
    for name in ("clip1", "clip2", "clip3"):
        assert rows[name]["status"] == "done" and rows[name]["frames_tracked"] == str(FRAMES)
        assert _points(out / f"{name}.gpkg") == list(range(FRAMES))
    assert rows["broken"]["status"] == "failed" and str(broken) in rows["broken"]["message"]
    assert not (out / "broken.gpkg").exists() and not (out / "broken.job.json").exists()
    workers = {row["worker"] for row in rows.values()}
    assert all(w.startswith("tcp://127.0.0.1:") for w in workers) and 1 <= len(workers) <= 2

    before = _file_states(out)
    assert main(args) == 1  # the broken job is tried again and fails again
    assert "0 done, 1 failed, 3 skipped; 0 frames" in capsys.readouterr().out
    assert _file_states(out) == before  # same bytes, same modification times: nothing rewritten
    rows_again = _summary(out)
    assert [rows_again[n]["status"] for n in rows_again] == ["skipped", "skipped", "skipped", "failed"]
    assert rows_again["clip1"]["worker"] == rows["clip1"]["worker"]  # who made the file, from its record


class _KillOnFirstFrames(BatchProgress):
    """Kills (SIGKILL) the worker process that reports the first frames of job `victim`."""

    def __init__(self, victim: str, pids_by_address: dict[str, int]):
        self.victim, self.pids_by_address = victim, pids_by_address
        self.killed: str | None = None
        self.frames_reported: dict[str, int] = {}

    def frames(self, job_name, count, worker):
        self.frames_reported[job_name] = self.frames_reported.get(job_name, 0) + count
        if job_name == self.victim and self.killed is None:
            self.killed = worker
            os.kill(self.pids_by_address[worker], signal.SIGKILL)


def test_a_worker_killed_midway_still_finishes_every_job(clips, cluster, model_path, tmp_path):
    _, client = cluster
    jobs = read_jobs(_job_file(tmp_path / "jobs.jsonl", clips))
    progress = _KillOnFirstFrames("long", client.run(os.getpid))
    settings = BatchSettings(
        out_dir=str(tmp_path / "out"),
        model_path=model_path,
        scheduler_address=client.scheduler.address,
        device="cpu",
        torch_threads=1,
    )

    summary = run_batch(jobs, settings, progress)

    assert progress.killed is not None
    rows = {row.name: row for row in summary.rows}
    assert all(row.status == "done" for row in rows.values()), rows
    assert rows["long"].frames_tracked == LONG_FRAMES and rows["long"].worker != progress.killed
    # some frames were tracked before the kill, then the whole job again on another worker
    assert progress.frames_reported["long"] > LONG_FRAMES
    assert _points(tmp_path / "out" / "long.gpkg") == list(range(LONG_FRAMES))
    assert not list((tmp_path / "out").glob("*.partial.gpkg"))  # the killed run's partial file is gone
    for name in ("clip1", "clip2", "clip3"):
        assert _points(tmp_path / "out" / f"{name}.gpkg") == list(range(FRAMES))


def test_half_written_and_changed_jobs_are_redone(clips, cluster, model_path, tmp_path):
    _, client = cluster
    out = tmp_path / "out"
    settings = BatchSettings(
        out_dir=str(out),
        model_path=model_path,
        scheduler_address=client.scheduler.address,
        device="cpu",
        torch_threads=1,
    )
    first = run_batch(read_jobs(_job_file(tmp_path / "jobs.jsonl", clips[:3])), settings)
    assert [row.status for row in first.rows] == ["done"] * 3
    # 3 jobs on 2 workers: the model is loaded once per worker, not once per job
    loaded = client.run(lambda dask_worker: len(dask_worker.plugins[d.BATCH_TRACKER_PLUGIN]._trackers))
    assert sum(loaded.values()) == len({row.worker for row in first.rows}) < 3

    # clip1 as a killed run leaves it: a partial file cut short, no job record (and, as from an older
    # version that wrote in place, a GeoPackage cut short too)
    gpkg = out / "clip1.gpkg"
    (out / "clip1.partial.gpkg").write_bytes(gpkg.read_bytes()[: gpkg.stat().st_size // 2])
    gpkg.write_bytes(gpkg.read_bytes()[: gpkg.stat().st_size // 2])
    (out / "clip1.job.json").unlink()
    # clip2's job changes: it ends at frame 5 now
    changed = [clips[0], {**clips[1], "end_frame": 5}, clips[2]]
    second = run_batch(read_jobs(_job_file(tmp_path / "jobs.jsonl", changed)), settings)
    assert [(row.name, row.status, row.frames_tracked) for row in second.rows] == [
        ("clip1", "done", FRAMES),
        ("clip2", "done", 6),
        ("clip3", "skipped", FRAMES),
    ]
    assert _points(gpkg) == list(range(FRAMES)) and _points(out / "clip2.gpkg") == list(range(6))
    assert not (out / "clip1.partial.gpkg").exists()


class _CancelAfterFirstJob(BatchProgress):
    def __init__(self):
        self.finished = []

    def job_finished(self, row):
        self.finished.append(row.name)

    def is_cancelled(self):
        return bool(self.finished)


def test_cancel_stops_the_jobs_not_finished(clips, model_path, tmp_path):
    out = tmp_path / "out"
    settings = BatchSettings(
        out_dir=str(out), model_path=model_path, workers=1, torch_threads=1, device="cpu"
    )
    progress = _CancelAfterFirstJob()
    summary = run_batch(read_jobs(_job_file(tmp_path / "jobs.jsonl", clips[:3])), settings, progress)
    rows = {row.name: row for row in summary.rows}
    first = progress.finished[0]
    assert rows[first].status == "done" and (out / f"{first}.job.json").is_file()
    cancelled = [name for name in rows if name != first]
    assert all(rows[n].status == "failed" and "cancelled" in rows[n].message for n in cancelled)
    for (
        name
    ) in cancelled:  # a job running when cancelled may still finish: then it is whole, else a rerun does it
        assert not (out / f"{name}.job.json").exists() or _points(out / f"{name}.gpkg") == list(range(FRAMES))
    assert [r["status"] for r in _summary(out).values()].count("failed") == 2
