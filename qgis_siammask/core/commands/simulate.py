"""`python -m qgis_siammask simulate --out DIR --seed N [--frames F] [--oblique DEG] [--dem]
[--gimbal horizon]`."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..definitions import GEOREF_ST0601, SIMULATOR_GIMBALS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, help="output folder (created)")
    parser.add_argument("--seed", type=int, default=0, help="random seed: same seed, same files")
    parser.add_argument("--frames", type=int, default=60, help="number of frames (default 60)")
    parser.add_argument("--oblique", type=float, default=0.0, metavar="DEG", help="boresight angle from nadir")
    parser.add_argument("--dem", action="store_true", help="generate relief and write dem.tif")
    parser.add_argument("--vehicles", type=int, default=3, help="number of vehicles (default 3)")
    parser.add_argument("--size", default="640x360", help="frame size WxH (default 640x360)")
    parser.add_argument("--altitude", type=float, default=120.0, metavar="M", help="height above ground")
    parser.add_argument("--wobble", type=float, default=2.0, metavar="DEG",
                        help="amplitude of the platform's pitch and roll oscillation (default 2)")
    parser.add_argument("--gimbal", default=GEOREF_ST0601, choices=SIMULATOR_GIMBALS,
                        help="st0601: the picture rolls with the platform as ST 0601 composes the angles "
                             "(default); horizon: the gimbal keeps the picture level with the horizon")


def run(args: argparse.Namespace) -> int:
    from ..errors import SiamMaskError
    from ..simulator import SimulationConfig, simulate

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError as error:
        raise SiamMaskError(f"--size must look like 640x360, got {args.size!r}") from error
    if args.frames < 1:
        raise SiamMaskError(f"--frames must be at least 1, got {args.frames}")
    result = simulate(
        SimulationConfig(
            out_dir=args.out, seed=args.seed, frames=args.frames, oblique_deg=args.oblique, dem=args.dem,
            vehicle_count=args.vehicles, width_px=width, height_px=height, altitude_agl_m=args.altitude,
            platform_wobble_deg=args.wobble, gimbal=args.gimbal,
        )
    )
    print(f"wrote {len(result.frames)} frames to {result.out_dir} ({result.crs}); "
          f"render {1000 * result.render_seconds / max(len(result.frames), 1):.1f} ms/frame")
    for path in (result.video_path, result.srt_path, result.texture_path, result.dem_path, result.truth_path,
                 result.boxes_path, result.masks_path, result.simulation_path):
        if path is not None:
            print(f"  {path}")
    return 0
