"""Tracker speed (mask + refine) and free-run parity length, on tennis at 854x480 and stretched to 1920x1080.

Uses the parity checkpoint from ../shared (random weights cost exactly what trained ones do), exported
to TorchScript in a temporary folder. CPU rows use 2 threads and few frames (fp32, and bf16 where the
CPU has bf16 arithmetic), with the per-stage split (crop, network, decode, paste-back) at 1920x1080 for
1 and 8 targets. CUDA rows (854x480 and 1920x1080; 1, 8 and 32 targets; fp32, tf32, fp16; then the
split for 1 and 8 targets, measured without the CUDA graph) print "skipped: no CUDA" without a GPU.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SIAMMASK_SHARED", REPO.parent / "shared"))
PARITY = SHARED / "fixtures" / "parity"
SEQUENCES = {"tennis": SHARED / "data/tracking/tennis/JPEGImages", "bag": SHARED / "data/tracking/vot_bag/color"}
BOXES = [(306, 114, 162, 246), (600, 300, 80, 60), (100, 200, 60, 90), (400, 50, 50, 50),
         (700, 100, 90, 120), (50, 350, 70, 70), (250, 380, 60, 50), (500, 200, 40, 80)]  # on 854x480
SIZES = {"854x480": (854, 480), "1920x1080": (1920, 1080)}
STAGES = ("crop", "network", "decode", "paste")


def _frames(name: str) -> list[np.ndarray]:
    sequence = json.loads((PARITY / name / "sequence.json").read_text())
    return [cv2.imread(str(SEQUENCES[name] / f)) for f in sequence["frames"]]


def boxes_for(count: int, width: int, height: int) -> list[tuple[float, ...]]:
    """`count` boxes on a width x height frame: BOXES scaled from 854x480, then a grid of 60 x 60 px boxes."""
    sx, sy = width / 854, height / 480
    boxes = [(x * sx, y * sy, w * sx, h * sy) for x, y, w, h in BOXES]
    columns = 8
    for i in range(count - len(boxes)):
        row, column = divmod(i, columns)
        boxes.append(((column + 0.3) * width / columns, (row % 4 + 0.3) * height / 4, 60 * sx, 60 * sy))
    return boxes[:count]


def fps(tracker, frames: list[np.ndarray], boxes, repeats: int, warmup: int = 1) -> float:
    tracker.init(frames[0], boxes, reset=True)
    for i in range(warmup):  # on CUDA: autotuning, then the CUDA graph's capture
        tracker.update(frames[1 + i % (len(frames) - 1)])
    started = time.perf_counter()
    for i in range(repeats):
        tracker.update(frames[1 + i % (len(frames) - 1)])
    return repeats / (time.perf_counter() - started)


def split(tracker, frames: list[np.ndarray], boxes, repeats: int) -> str:
    """Milliseconds per frame in each stage (a tracker made with time_stages)."""
    before = tracker.stage_seconds
    fps(tracker, frames, boxes, repeats, warmup=0)
    after = tracker.stage_seconds
    return ", ".join(f"{s} {(after.get(s, 0) - before.get(s, 0)) / repeats * 1000:.1f}" for s in STAGES) + " ms"


def free_run_agreement(tracker, name: str, tolerance_px: float = 0.5) -> tuple[int, int]:
    """(frames agreeing with the reference free run before the first centre/size error > tolerance, total)."""
    sequence = json.loads((PARITY / name / "sequence.json").read_text())
    rows = [json.loads(line) for line in (PARITY / name / "track.jsonl").read_text().splitlines() if line.strip()]
    frames = _frames(name)
    tracker.init(frames[0], [sequence["init_box_xywh"]], reset=True)
    for count, row in enumerate(rows):
        tracker.update(frames[row["frame"]])
        state = tracker.targets[0]
        error = max(np.abs(state.center_xy - row["target_pos"]).max(), np.abs(state.size_wh - row["target_sz"]).max())
        if error > tolerance_px:
            return count, len(rows)
    return len(rows), len(rows)


def print_free_runs(tracker, label: str) -> None:
    for name in SEQUENCES:
        agree, total = free_run_agreement(tracker, name)
        print(f"free run {name} ({label}): {agree}/{total} frames agree with the reference within 0.5 px",
              flush=True)


def cpu_rows(model: Path, frames: dict[str, list[np.ndarray]]) -> None:
    import torch

    from qgis_siammask.core.tracking.tracker import SiamMaskTracker

    precisions = ["fp32"] + (["bf16"] if torch.ops.mkldnn._is_mkldnn_bf16_supported() else [])
    for precision in precisions:
        tracker = SiamMaskTracker(model, device="cpu", num_threads=2, precision=precision, time_stages=True)
        width, height = SIZES["854x480"]
        one = fps(tracker, frames["854x480"], boxes_for(1, width, height), repeats=6)
        line = [f"cpu {precision} 854x480: 1 target {one:.2f} fps"]
        for count in (4, 8):
            rate = fps(tracker, frames["854x480"], boxes_for(count, width, height), repeats=3)
            line.append(f"{count} targets {rate:.2f} fps (cost {one / rate:.2f}x one target)")
        print("; ".join(line), flush=True)
        width, height = SIZES["1920x1080"]
        for count in (1, 8):
            boxes = boxes_for(count, width, height)
            rate = fps(tracker, frames["1920x1080"], boxes, repeats=3)
            print(f"cpu {precision} 1920x1080: {count} targets {rate:.2f} fps ({1000 / rate:.0f} ms per frame); "
                  f"per frame: {split(tracker, frames['1920x1080'], boxes, repeats=2)}", flush=True)
        if precision == "fp32":
            print_free_runs(tracker, "cpu fp32")


def cuda_rows(model: Path, frames: dict[str, list[np.ndarray]]) -> None:
    import torch

    from qgis_siammask.core.tracking.tracker import SiamMaskTracker

    if not torch.cuda.is_available():
        print("cuda: skipped: no CUDA", flush=True)
        return
    print(f"cuda: {torch.cuda.get_device_name()}", flush=True)
    for precision in ("fp32", "tf32", "fp16"):
        tracker = SiamMaskTracker(model, device="cuda", precision=precision)
        timed = SiamMaskTracker(model, device="cuda", precision=precision, time_stages=True)
        for size_name, (width, height) in SIZES.items():
            rates = [f"{count} targets {fps(tracker, frames[size_name], boxes_for(count, width, height), 30, 5):.0f}"
                     for count in (1, 8, 32)]
            print(f"cuda {precision} {size_name}: " + ", ".join(rates) + " fps", flush=True)
            for count in (1, 8):
                print(f"cuda {precision} {size_name} {count} targets, per frame (no graph): "
                      f"{split(timed, frames[size_name], boxes_for(count, width, height), repeats=10)}", flush=True)
        if precision == "fp32":
            print_free_runs(tracker, "cuda fp32")


def main() -> None:
    import torch

    sys.path.insert(0, str(REPO))
    from qgis_siammask.core.tracking.network.export import export_torchscript

    if not PARITY.is_dir():
        print(f"skipped: {PARITY} is absent")
        return
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as folder:
        model = export_torchscript(PARITY / "siammask_seeded.pth", Path(folder) / "seeded.pt")
        tennis = _frames("tennis")[:8]
        frames = {name: [cv2.resize(f, size) if f.shape[1::-1] != size else f for f in tennis]
                  for name, size in SIZES.items()}
        cpu_rows(model, frames)
        cuda_rows(model, frames)


if __name__ == "__main__":
    main()
