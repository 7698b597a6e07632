"""`python -m qgis_siammask track INPUT --model MODEL.pt --box x,y,w,h ... --out RESULTS.jsonl`.

Writes one JSON line per frame and track: frame, track_id, label, bbox [x, y, w, h], rotated_box
[[x, y] x 4], score, status, and the mask as run-length encoding {"size": [H, W], "counts": [...]}
(row-major, alternating runs of 0 and 1 starting with 0). The model and the input are checked before
anything is written; lines go to RESULTS.partial.jsonl beside --out, flushed as they are produced, and
the file is renamed to --out only when the run succeeds: a failed or interrupted run leaves an earlier
--out byte-identical and keeps what it wrote in the partial file (removed when empty).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..definitions import DEFAULT_SCORE_THRESHOLD, DEVICES, PRECISION_FP32, PRECISIONS
from ..errors import OutputError, SiamMaskError, TrackerError
from ..files import atomic_output, partial_path
from ..output.jsonl_format import track_record


def parse_box(text: str) -> tuple[float, float, float, float]:
    parts = text.split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"box {text!r} must be x,y,w,h (four numbers)")
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="video file or folder of frames")
    parser.add_argument("--model", required=True, help="model file, .pt or .pt2 (`python -m qgis_siammask models list`)")
    parser.add_argument("--box", type=parse_box, action="append", required=True,
                        help="initial box x,y,w,h in pixels on the start frame (repeat for several targets)")
    parser.add_argument("--label", action="append", default=[], help="label per --box, in the same order")
    parser.add_argument("--out", required=True, help="JSON lines file to write")
    parser.add_argument("--device", default="auto", choices=DEVICES)
    parser.add_argument("--start-frame", type=int, default=0, help="frame index of the initial boxes")
    parser.add_argument("--end-frame", type=int, default=None, help="last frame to track (inclusive)")
    parser.add_argument("--score-threshold", type=float, default=DEFAULT_SCORE_THRESHOLD,
                        help="score under which a track counts as weak")
    parser.add_argument("--lost-after", type=int, default=5, help="weak frames in a row before a track is lost")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    parser.add_argument("--precision", default=PRECISION_FP32, choices=PRECISIONS,
                        help="network arithmetic: fp32 (default, matches the original code; TF32 off on CUDA), "
                             "bf16 (CPUs with AVX512-BF16/AMX, or CUDA; faster, slightly different scores), "
                             "fp16 (CUDA), tf32 (CUDA, Ampere or newer: fp32 with TF32 convolutions)")


def run(args: argparse.Namespace) -> int:
    from ..ingest.video import VideoReader
    from ..tracking.tracker import SiamMaskTracker

    if args.label and len(args.label) != len(args.box):
        raise TrackerError(f"{len(args.label)} --label values for {len(args.box)} --box values")
    tracker = SiamMaskTracker(args.model, device=args.device, score_threshold=args.score_threshold,
                              lost_after_frames=args.lost_after, num_threads=args.threads,
                              precision=args.precision)
    out_path = Path(args.out)
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError("cannot create the results folder", details=str(error), path=out_path) from error
    with VideoReader(args.input) as video:
        try:
            with atomic_output(out_path, keep_on_failure=True) as partial:
                written = _write_tracks(args, tracker, video, partial)
        except (SiamMaskError, KeyboardInterrupt):
            if partial_path(out_path).is_file():
                print(f"the records written before are kept in {partial_path(out_path)}", file=sys.stderr)
            raise
    print(f"wrote {written} records to {out_path}", file=sys.stderr)
    return 0


def _write_tracks(args: argparse.Namespace, tracker, video, path: Path) -> int:
    """Track from `args.start_frame`, write the JSON lines to `path`; returns the number of records."""
    from tqdm import tqdm

    from ..pixel_job import pixel_tracks

    total = video.frame_count - args.start_frame if video.frame_count else None
    if total is not None and args.end_frame is not None:
        total = min(total, args.end_frame - args.start_frame + 1)
    try:
        out = open(path, "w", encoding="utf-8")
    except OSError as error:
        raise OutputError("cannot write the results file", details=str(error), path=path) from error
    written = 0
    # the bar is closed (its line ended) before any error is printed
    with out, tqdm(total=total, unit="frame", file=sys.stderr, desc="tracking") as progress:
        labels = args.label or None
        for frame, tracks in pixel_tracks(tracker, video, args.box, labels, args.start_frame, args.end_frame):
            for track in tracks:
                out.write(json.dumps(track_record(frame.index, track)) + "\n")
                written += 1
            out.flush()
            progress.update(1)
    if written == 0:
        raise TrackerError(f"start frame {args.start_frame} is past the end of the input", path=args.input)
    return written
