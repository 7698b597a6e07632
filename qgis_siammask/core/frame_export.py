"""Export frames of a clip: every Nth frame over a range as snapshots (PNG with telemetry, JSON sidecar,
georeferenced GeoTIFF through the chosen georeferencing mode), for Processing and scripts."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .definitions import GEOREF_ST0601
from .errors import SiamMaskError
from .output.snapshot import SnapshotFiles, save_snapshot


@dataclass(frozen=True)
class FrameExportJob:
    """Which frames (`first_frame`..`last_frame` inclusive, None: to the end, every `every_n`) of which clip
    go where; `crs` of the GeoTIFFs (None: the local UTM zone of each frame)."""

    video_path: str
    out_dir: str
    telemetry_path: str | None = None
    dem_path: str | None = None
    georef: str = GEOREF_ST0601
    first_frame: int = 0
    last_frame: int | None = None
    every_n: int = 1
    geotiff: bool = True
    crs: str | None = None


def snapshot_stem(video_path: str | Path, frame_index: int) -> str:
    """`VIDEO_f000123`: a snapshot's file name without suffix."""
    return f"{Path(video_path).stem}_f{int(frame_index):06d}"


def export_frames(job: FrameExportJob, progress: Callable[[float], None] | None = None,
                  cancelled: Callable[[], bool] | None = None,
                  problem: Callable[[str], None] | None = None) -> list[SnapshotFiles]:
    """Write the job's snapshots; `progress(percent)`, `cancelled()` polled between frames, `problem(text)`
    for a frame without a GeoTIFF (it still gets its PNG). A clip without telemetry exports PNGs only.
    SiamMaskError for an unreadable video or an unwritable folder."""
    from .geo.camera import frame_geometry
    from .geo.terrain import DemTerrain
    from .ingest.telemetry import open_telemetry
    from .ingest.video import VideoReader

    if job.every_n < 1:
        raise SiamMaskError(f"every_n must be 1 or more, got {job.every_n}")
    video = VideoReader(job.video_path)
    try:
        try:
            telemetry = open_telemetry(job.video_path, job.telemetry_path)
        except SiamMaskError as error:
            telemetry = None
            if problem is not None:
                problem(f"no telemetry ({error.user_message}): PNGs without a GeoTIFF")
        terrain = DemTerrain(job.dem_path) if job.dem_path else None
        last = video.frame_count - 1 if job.last_frame is None else min(job.last_frame, video.frame_count - 1)
        indices = list(range(max(job.first_frame, 0), last + 1, job.every_n))
        written: list[SnapshotFiles] = []
        for count, index in enumerate(indices):
            if cancelled is not None and cancelled():
                break
            frame = video.read(index)
            if frame is None:
                break
            record = telemetry.at(frame.time_s) if telemetry is not None else None
            geometry = None
            if record is not None:
                try:
                    geometry = frame_geometry(record, video.width, video.height, job.georef, terrain=terrain)
                except SiamMaskError as error:
                    if problem is not None:
                        problem(f"frame {index}: {error.user_message}")
            files = save_snapshot(job.out_dir, snapshot_stem(job.video_path, index), frame.image, index,
                                  frame.time_s, record, job.georef, geometry, job.crs,
                                  geotiff=job.geotiff and telemetry is not None)
            if files.problem and problem is not None and geometry is not None:
                problem(f"frame {index}: {files.problem}")
            written.append(files)
            if progress is not None:
                progress(100.0 * (count + 1) / len(indices))
        return written
    finally:
        video.close()
