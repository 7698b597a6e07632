"""Tracker speed on tennis (854x480, mask + refine) for 1, 4 and 8 targets, and free-run parity length.

Uses the parity checkpoint from ../shared (random weights cost exactly what trained ones do), exported
to TorchScript in a temporary folder. CPU runs use 2 threads, in fp32 and, where the CPU has bf16
arithmetic, bf16; CUDA is measured too (fp32 and fp16) when available.
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
         (700, 100, 90, 120), (50, 350, 70, 70), (250, 380, 60, 50), (500, 200, 40, 80)]


def _frames(name: str) -> list[np.ndarray]:
    sequence = json.loads((PARITY / name / "sequence.json").read_text())
    return [cv2.imread(str(SEQUENCES[name] / f)) for f in sequence["frames"]]


def fps(tracker, frames: list[np.ndarray], targets: int, repeats: int = 12) -> float:
    tracker.init(frames[0], BOXES[:targets], reset=True)
    tracker.update(frames[1])  # warm-up
    started = time.perf_counter()
    for i in range(repeats):
        tracker.update(frames[2 + i % (len(frames) - 2)])
    return repeats / (time.perf_counter() - started)


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


def main() -> None:
    import torch

    sys.path.insert(0, str(REPO))
    from qgis_siammask.core.tracking.network.export import export_torchscript
    from qgis_siammask.core.tracking.tracker import SiamMaskTracker

    if not PARITY.is_dir():
        print(f"skipped: {PARITY} is absent")
        return
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as folder:
        model = export_torchscript(PARITY / "siammask_seeded.pth", Path(folder) / "seeded.pt")
        frames = _frames("tennis")[:16]
        runs = [("cpu", "fp32")]
        if torch.ops.mkldnn._is_mkldnn_bf16_supported():
            runs.append(("cpu", "bf16"))
        if torch.cuda.is_available():
            runs += [("cuda", "fp32"), ("cuda", "fp16")]
        for device, precision in runs:
            tracker = SiamMaskTracker(model, device=device, num_threads=2 if device == "cpu" else None,
                                      precision=precision)
            one = fps(tracker, frames, 1)
            line = [f"{device} {precision}: 1 target {one:.2f} fps"]
            for count in (4, 8):
                rate = fps(tracker, frames, count, repeats=6)
                line.append(f"{count} targets {rate:.2f} fps (cost {one / rate:.2f}x one target)")
            print("; ".join(line), flush=True)
            for name in SEQUENCES:
                agree, total = free_run_agreement(tracker, name)
                print(f"free run {name} ({device} {precision}): {agree}/{total} frames agree with the reference "
                      "within 0.5 px", flush=True)


if __name__ == "__main__":
    main()
