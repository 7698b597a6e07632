"""The dock's memory (RSS) over a 3000-frame, 4-target run next to the headless pipeline's (issue 13, item 7).

A real run of the default light model over a short simulated clip (4 vehicles) records its FrameFeatures;
they are replayed as a RUN_FRAMES-frame run, frame numbers and times renumbered and every geometry a
fresh copy, as a real run makes them. Each side runs in a fresh process:
- headless: the frames written by the track store, as `run_tracking_job` writes them (the tracker's own
  memory is flat and left out of both sides);
- dock: a real VideoDock in a headless QGIS, Track clicked through `start_tracking`, a QgsTask whose
  thread writes the frames to the run's partial GeoPackage (renamed at the end) and hands them over as
  the pipeline does, so the main thread drains them through the dock's real path (live layers, overlays,
  tracks panel), then the run's layers swapped for its file's and the first frames sought again.
The task keeps at most REPLAY_PENDING_FRAMES frames waiting for the main thread, as a real run (10-25
frames/s) does. RSS is read from /proc; figures in MB.

Run `python -m benchmarks bench_dock_memory`; the same file run from a checkout of an older commit
measures that commit (it only needs VideoDock.start_tracking and TrackingTask).
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

RUN_FRAMES = 3000
MARKS = (1000, 2000, 3000)
CLIP_FRAMES = 60
TARGETS = 4
REPLAY_PENDING_FRAMES = 25
SEEK_FRAMES = 60  # after the run: frames 0..59 shown again (their overlays read back where not in memory)


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        kilobytes = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return kilobytes / 1024.0


def _record(folder: Path) -> Path:
    """Track the simulated clip for real; its FrameFeatures pickled (this benchmark's own data only)."""
    from qgis_siammask.core.commands.demo import resolve_model
    from qgis_siammask.core.pipeline import TrackingJob, run_tracking_job
    from qgis_siammask.core.simulator import SimulationConfig, simulate

    simulation = simulate(
        SimulationConfig(
            out_dir=folder / "clip", seed=0, frames=CLIP_FRAMES, width_px=480, height_px=270,
            vehicle_count=6, altitude_agl_m=80.0, write_masks=False,
        )
    )
    width, height = simulation.config.width_px, simulation.config.height_px

    def inside(box) -> bool:  # wholly in the first frame, 2 px from its edges
        return bool(box) and 2 < box[0] < width - 2 - box[2] and 2 < box[1] < height - 2 - box[3]

    vehicles = simulation.frames[0]["vehicles"]
    boxes = [tuple(map(float, v["box_xywh"])) for v in vehicles if inside(v["box_xywh"])][:TARGETS]
    frames = []
    job = TrackingJob(
        video_path=str(simulation.video_path), model_path=str(resolve_model(None)),
        output_gpkg=str(folder / "record.gpkg"), boxes_xywh=tuple(boxes), device="cpu",
    )
    outcome = run_tracking_job(job, on_frame=frames.append)
    print(f"recorded: {outcome.frames_tracked} frames x {len(boxes)} targets of a 480x270 simulated clip "
          f"({outcome.status}, {outcome.elapsed_s:.1f} s)", flush=True)
    recorded = folder / "frames.pkl"
    recorded.write_bytes(
        pickle.dumps({"video": str(simulation.video_path), "boxes": boxes, "frames": frames})
    )
    return recorded


def replayed_frames(recorded: list):
    """RUN_FRAMES FrameFeatures cycling through `recorded`, renumbered, each geometry a new object."""
    from shapely import wkb

    def copy(geometry):
        return wkb.loads(geometry.wkb) if geometry is not None else None

    first_utc = recorded[0].time_utc
    for index in range(RUN_FRAMES):
        source = recorded[index % len(recorded)]
        time_utc = first_utc + timedelta(seconds=index / 25.0) if first_utc is not None else None
        tracks = tuple(
            replace(
                track, frame=index, time_utc=time_utc, mask=copy(track.mask), box=copy(track.box),
                point=copy(track.point), mask_px=copy(track.mask_px), box_px=copy(track.box_px),
            )
            for track in source.tracks
        )
        yield replace(source, frame=index, time_utc=time_utc, footprint=copy(source.footprint), tracks=tracks)


def _headless(recorded_path: Path, folder: Path) -> dict:
    from qgis_siammask.core.output.track_store import TrackStore

    recorded = pickle.loads(recorded_path.read_bytes())["frames"]
    samples = {"start": _rss_mb()}
    started = time.perf_counter()
    with TrackStore(folder / "headless.gpkg", crs=recorded[0].crs) as store:
        for features in replayed_frames(recorded):
            store.write_frame(features)
            if features.frame + 1 in MARKS:
                samples[str(features.frame + 1)] = _rss_mb()
    samples["seconds"] = time.perf_counter() - started
    return samples


def _dock(recorded_path: Path, folder: Path) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.testing import start_app

    app = start_app()  # a throwaway QGIS profile: the user's settings are not touched
    from qgis.core import QgsProject

    from qgis_siammask.core.definitions import JOB_SUCCESS
    from qgis_siammask.core.files import commit, partial_path
    from qgis_siammask.core.output.track_store import SQLITE_SIDE_FILES, TrackStore
    from qgis_siammask.core.pipeline import JobResult
    from qgis_siammask.gui import tracking_runs
    from qgis_siammask.gui.video_dock import VideoDock
    from qgis_siammask.settings import PluginSettings, save_settings
    from qgis_siammask.tasks import TrackingTask

    data = pickle.loads(recorded_path.read_bytes())
    recorded = data["frames"]

    class ReplayTask(TrackingTask):
        """The pipeline's thread without the tracker: frames written to the partial file, then handed over."""

        written = 0

        def run(self) -> bool:
            output = Path(self.job.output_gpkg)
            with TrackStore(partial_path(output), crs=self.job.crs) as store:
                for features in replayed_frames(recorded):
                    while len(self._pending) > REPLAY_PENDING_FRAMES:  # the main thread catches up
                        self.framesReady.emit()
                        time.sleep(0.02)
                    store.write_frame(features)
                    self._on_frame(features)
                    self.written += 1
            commit(partial_path(output), output, SQLITE_SIDE_FILES)
            self.outcome = JobResult(JOB_SUCCESS, RUN_FRAMES, store.features_written, str(output))
            return True

    tracking_runs.TrackingTask = ReplayTask
    save_settings(PluginSettings(device="cpu", output_folder=str(folder / "out")))
    dock = VideoDock(None)
    dock.resize(640, 900)
    dock.show()
    assert dock.open_video(data["video"])
    for number, box in enumerate(data["boxes"]):
        dock.add_box(*box, f"car {number}")
    samples = {"start": _rss_mb()}
    started = time.perf_counter()
    task = dock.start_tracking(str(folder / "dock.gpkg"))
    marks = list(MARKS)
    while dock.task is not None:
        app.processEvents()
        if marks and task.written >= marks[0]:
            samples[str(marks.pop(0))] = _rss_mb()
        time.sleep(0.001)
    samples["seconds"] = time.perf_counter() - started
    samples["end of run"] = _rss_mb()
    for index in range(SEEK_FRAMES):
        dock.show_frame(index)
        app.processEvents()
    samples["after seeking"] = _rss_mb()
    samples["overlays on frame 0"] = dock.show_frame(0) and len(dock.frame_view._overlays)
    samples["status"] = dock.last_outcome.status
    dock.shutdown()
    QgsProject.instance().clear()
    return samples


def _measure(side: str, recorded: Path, folder: Path) -> dict:
    command = [sys.executable, "-m", "benchmarks.bench_dock_memory", side, str(recorded), str(folder)]
    done = subprocess.run(command, cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{side} side failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        recorded = _record(folder)
        results = {side: _measure(side, recorded, folder) for side in ("headless", "dock")}
    print(f"RSS (MB) over a {RUN_FRAMES}-frame replayed run, {TARGETS} targets; load average "
          f"{os.getloadavg()[0]:.1f}")
    print("growth: from frame 1000 to 3000 (the first frames also load GDAL, Qt's and the layers' code)")
    print(f"{'':10} {'start':>7} " + " ".join(f"{mark:>7}" for mark in MARKS) + f" {'growth':>7} {'s':>6}")
    for side, samples in results.items():
        growth = samples[str(MARKS[-1])] - samples[str(MARKS[0])]
        print(f"{side:10} {samples['start']:7.0f} " + " ".join(f"{samples[str(m)]:7.0f}" for m in MARKS)
              + f" {growth:7.0f} {samples['seconds']:6.1f}")
    dock = results["dock"]
    print(f"dock: {dock['end of run']:.0f} MB at the end of the run ({dock['status']}, the file's layers), "
          f"{dock['after seeking']:.0f} MB after showing frames 0-{SEEK_FRAMES - 1} again "
          f"({dock['overlays on frame 0']} overlays on frame 0)")


if __name__ == "__main__":
    if len(sys.argv) == 4:
        side, recorded_file, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
        print(json.dumps((_headless if side == "headless" else _dock)(recorded_file, work)), flush=True)
    else:
        main()
