"""`python -m qgis_siammask demo --out DIR`: simulate a clip, track a vehicle, write a GeoPackage, report.

Everything is generated and runs offline: the simulator flies a camera over generated ground with
vehicles on known tracks; the vehicle with the largest fully visible box in the first frame is tracked
with the default model (model/default/*.pt, or --model), and the track points are compared with the
simulator's ground truth.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from ..definitions import (
    DEVICES,
    FIELD_FRAME,
    FIELD_STATUS,
    GEOREF_MODES,
    GEOREF_ST0601,
    JOB_SUCCESS,
    LAYER_POINTS,
    STATUS_LOST,
    TRACK_LAYERS,
)
from ..errors import InputFileError, ModelError, SiamMaskError
from ..output.gdal_mode import with_gdal_return_codes

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_MODEL_DIR = REPO_ROOT / "model" / "default"
EDGE_MARGIN_PX = 4  # a start box touching the image edge would cut the vehicle


@dataclass(frozen=True)
class GroundError:
    """Distances (m) between tracked centre points and the simulator's true vehicle positions."""

    frames: int
    mean_m: float
    median_m: float
    max_m: float

    def summary(self) -> dict:
        return {"frames": self.frames, "mean": round(self.mean_m, 3), "median": round(self.median_m, 3),
                "max": round(self.max_m, 3)}


def add_arguments(parser) -> None:
    parser.add_argument("--out", type=Path, default=Path("build/demo"), help="output folder (default build/demo)")
    parser.add_argument("--model", type=Path, help=f"model file, .pt or .pt2 (default: {DEFAULT_MODEL_DIR}/*.pt)")
    parser.add_argument("--seed", type=int, default=7, help="simulation seed (default 7)")
    parser.add_argument("--frames", type=int, default=100, help="frames to simulate and track (default 100)")
    parser.add_argument("--oblique", type=float, default=0.0, help="camera angle from nadir, degrees (default 0)")
    parser.add_argument("--device", default="auto", choices=DEVICES)
    parser.add_argument("--no-geo-guidance", dest="geo_guidance", action="store_false",
                        help="search around the last image position only (the authors' rule), not where "
                             "the telemetry predicts the target")
    parser.add_argument("--georef", default=GEOREF_ST0601, choices=GEOREF_MODES,
                        help="how each frame is put on the ground: st0601 (the ST 0601 camera model, default), "
                             "horizon (a horizon-level gimbal: image roll from tag 20 alone), corners (the "
                             "corners the telemetry reports, tags 26-33 or 82-89)")


def run(args) -> int:
    from ..pipeline import TrackingJob, run_tracking_job
    from ..simulator import SimulationConfig, simulate

    model_path = resolve_model(args.model)
    out = Path(args.out)
    print(f"simulating {args.frames} frames (seed {args.seed}) into {out / 'clip'} ...", flush=True)
    simulation = simulate(SimulationConfig(out_dir=out / "clip", seed=args.seed, frames=args.frames, oblique_deg=args.oblique))
    vehicle_id, box = pick_vehicle(simulation.frames[0]["vehicles"], simulation.config.width_px, simulation.config.height_px)
    job = TrackingJob(
        video_path=str(simulation.video_path),
        model_path=str(model_path),
        output_gpkg=str(out / "tracks.gpkg"),
        boxes_xywh=(box,),
        labels=(f"vehicle {vehicle_id}",),
        dem_path=str(simulation.dem_path) if simulation.dem_path else None,
        device=args.device,
        geo_guidance=args.geo_guidance,
        georef=args.georef,
    )
    print(f"tracking vehicle {vehicle_id} from box {box} with {model_path} ...", flush=True)
    shown = []

    def show_progress(percent: float) -> None:  # one line per 10 %, readable in logs as on a terminal
        if not shown or percent >= shown[-1] + 10 or percent >= 100 > shown[-1]:
            shown.append(percent)
            print(f"  {percent:5.1f} %", file=sys.stderr, flush=True)

    result = run_tracking_job(job, progress=show_progress)
    if result.status != JOB_SUCCESS:
        raise SiamMaskError(f"tracking {result.status}: {result.message}", details=result.details)
    error, tracked = ground_error(job.output_gpkg, simulation.truth_path, vehicle_id)
    summary = {
        "gpkg": job.output_gpkg,
        "model": str(model_path),
        "vehicle_id": vehicle_id,
        "frames_tracked": result.frames_tracked,
        "frames_without_camera": result.frames_without_camera,
        "georef": job.georef,
        "features_per_layer": result.layer_feature_counts,
        "tracking_s": round(result.elapsed_s, 1),
        "frames_per_s": round(result.frames_tracked / max(result.elapsed_s, 1e-9), 2),
        "ground_error_m": error.summary(),
        "ground_error_while_tracking_m": tracked.summary(),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(f"GeoPackage: {job.output_gpkg}")
    print(f"frames tracked: {result.frames_tracked} ({summary['frames_per_s']} frames/s; {result.frames_without_camera} without camera)")
    print("features per layer: " + ", ".join(f"{name} {result.layer_feature_counts.get(name, 0)}" for name in TRACK_LAYERS))
    print(
        f"ground error of the track points vs the simulator's truth over {error.frames} frames: "
        f"mean {error.mean_m:.2f} m, median {error.median_m:.2f} m, max {error.max_m:.2f} m; over the "
        f"{tracked.frames} frames not marked lost: mean {tracked.mean_m:.2f} m, max {tracked.max_m:.2f} m"
    )
    print(f"summary: {out / 'summary.json'}")
    return 0


def resolve_model(model: Path | None) -> Path:
    """The model asked for, else the first TorchScript file in model/default/; ModelError naming the file."""
    if model is not None:
        if not Path(model).is_file():
            raise ModelError("no such model file", path=model)
        return Path(model)
    candidates = sorted(DEFAULT_MODEL_DIR.glob("*.pt"))
    if not candidates:
        raise ModelError(
            f"no default model: expected a TorchScript file {DEFAULT_MODEL_DIR}/*.pt "
            "(trained with `python -m model.train`); give one with --model PATH"
        )
    return candidates[0]


def pick_vehicle(vehicles: list[dict], width_px: int, height_px: int) -> tuple[int, tuple[float, float, float, float]]:
    """The vehicle with the most visible pixels whose box clears the image edges: (id, box xywh)."""
    inside = [
        v
        for v in vehicles
        if v["box_xywh"] is not None
        and v["box_xywh"][0] >= EDGE_MARGIN_PX
        and v["box_xywh"][1] >= EDGE_MARGIN_PX
        and v["box_xywh"][0] + v["box_xywh"][2] <= width_px - EDGE_MARGIN_PX
        and v["box_xywh"][1] + v["box_xywh"][3] <= height_px - EDGE_MARGIN_PX
    ]
    if not inside:
        raise InputFileError("no vehicle is fully visible in the first simulated frame: try another --seed")
    best = max(inside, key=lambda v: v["pixels"])
    return int(best["vehicle_id"]), tuple(float(v) for v in best["box_xywh"])


def truth_lonlat(truth_path: str | Path, vehicle_id: int) -> dict[int, tuple[float, float]]:
    """Frame -> (lon, lat) of one vehicle from the simulator's truth.geojson."""
    document = json.loads(Path(truth_path).read_text(encoding="utf-8"))
    return {
        f["properties"]["frame"]: tuple(f["geometry"]["coordinates"][:2])
        for f in document["features"]
        if f["geometry"]["type"] == "Point" and f["properties"]["vehicle_id"] == vehicle_id
    }


@with_gdal_return_codes
def ground_error(gpkg_path: str | Path, truth_path: str | Path, vehicle_id: int) -> tuple[GroundError, GroundError]:
    """Geodesic distances between the GeoPackage's (EPSG:4326) track points and the vehicle's truth:
    over every frame, and over the frames where the track was not lost."""
    from osgeo import ogr

    from ..output.geometry import ground_distance_heading

    truth = truth_lonlat(truth_path, vehicle_id)
    dataset = ogr.Open(str(gpkg_path))
    if dataset is None:
        raise InputFileError("cannot open the GeoPackage", path=gpkg_path)
    distances, lost = [], []
    for feature in dataset.GetLayerByName(LAYER_POINTS):
        point, frame = feature.GetGeometryRef(), feature.GetField(FIELD_FRAME)
        if point is not None and frame in truth:
            distances.append(ground_distance_heading((point.GetX(), point.GetY()), truth[frame])[0])
            lost.append(feature.GetField(FIELD_STATUS) == STATUS_LOST)
    return _statistics(distances), _statistics([d for d, gone in zip(distances, lost) if not gone])


def _statistics(distances: list[float]) -> GroundError:
    import numpy as np

    if not distances:
        return GroundError(0, float("nan"), float("nan"), float("nan"))
    values = np.asarray(distances)
    return GroundError(len(values), float(values.mean()), float(np.median(values)), float(values.max()))
