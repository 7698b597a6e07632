"""FMV simulator: a camera flown over generated, georeferenced ground with vehicles of known tracks.

`simulate(SimulationConfig(out_dir=..., seed=...))` writes video.ts (H.264 + MISB ST 0601 KLV),
video.srt, ground.tif (texture, UTM), dem.tif (with `dem=True`), truth.geojson, boxes.jsonl,
masks.npz and simulation.json (exact float telemetry and independent centre/corner truth per frame).
Deterministic for a seed: each part draws from its own child of the seed.
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from .. import definitions as d
from ..errors import OutputError, SiamMaskError
from ..geo.camera import frame_geometry
from ..geo.terrain import DemTerrain, FlatTerrain
from .config import SimulationConfig, SimulationResult
from .flight import telemetry_for_frames
from .render import Renderer
from .scene import DEM_RESOLUTION_M, add_occluders, build_scene
from .truth import GroundTruth
from .vehicles import make_vehicles
from .writers import (
    VideoWriter,
    boxes_from_labels,
    write_geotiff,
    write_simulation_json,
    write_srt,
    write_truth_geojson,
)

__all__ = ["SimulationConfig", "SimulationResult", "simulate", "truth_pixels"]


def truth_pixels(width_px: int, height_px: int) -> np.ndarray:
    """(5, 2) pixels whose ground truth is recorded: the image centre, then corners UL, UR, LR, LL."""
    right, bottom = width_px - 0.5, height_px - 0.5
    return np.array([[(width_px - 1) / 2, (height_px - 1) / 2], [-0.5, -0.5], [right, -0.5], [right, bottom], [-0.5, bottom]])


def simulate(config: SimulationConfig) -> SimulationResult:
    from pyproj import Transformer

    from ..ingest.misb0601 import encode_st0601

    if config.gimbal not in d.SIMULATOR_GIMBALS:
        raise SiamMaskError(
            f"unknown gimbal {config.gimbal!r}: expected one of {', '.join(d.SIMULATOR_GIMBALS)}"
        )
    out = Path(config.out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / ".write_test").write_bytes(b"")
        (out / ".write_test").unlink()
    except OSError as error:
        raise OutputError("cannot write the simulation output folder", details=str(error), path=out) from error
    scene_rng, vehicle_rng, flight_rng, render_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(4))
    scene = build_scene(config, scene_rng)
    vehicles = make_vehicles(config, vehicle_rng)
    on_path = [vehicles[0].pose(t, scene)[0] for t in config.occlude_vehicle_at_s] if vehicles else []
    occluders = add_occluders(scene, config.occluder_count, scene_rng, config.occluder_radius_range_m,
                              on_path)
    texture_path = out / d.SIMULATION_TEXTURE
    write_geotiff(texture_path, scene.texture_bgr, scene, scene.resolution_m)
    dem_path = None
    terrain = FlatTerrain(config.ground_height_m)
    if scene.dem_m is not None:
        dem_path = out / d.SIMULATION_DEM
        write_geotiff(dem_path, scene.dem_m, scene, DEM_RESOLUTION_M, vertical_datum=d.ALTITUDE_HAE)
        terrain = DemTerrain(dem_path)

    records = telemetry_for_frames(config, scene, flight_rng, vehicles)
    pixels = truth_pixels(config.width_px, config.height_px)
    ground_truth = GroundTruth(scene, config.gimbal)
    frames, records_out = [], []
    for index, record in enumerate(records):
        truth = ground_truth(record, config.width_px, config.height_px, pixels)
        if truth["valid"][0]:
            record = dataclasses.replace(
                record,
                frame_center_latitude_deg=float(truth["lonlat_deg"][0, 1]),
                frame_center_longitude_deg=float(truth["lonlat_deg"][0, 0]),
                frame_center_elevation_m=float(truth["height_m"][0]),
                corners_latlon_deg=tuple((float(lat), float(lon)) for lon, lat in truth["lonlat_deg"][1:]) if truth["valid"][1:].all() else None,
            )
        records_out.append(record)
        frames.append(
            {
                "index": index,
                "time_s": index / config.fps,
                "time_utc": record.time_utc.isoformat(),
                "telemetry": {k: v for k, v in dataclasses.asdict(record).items() if k != "extra"},
                "truth": {
                    "pixels_xy": pixels.tolist(),
                    "lonlat_deg": truth["lonlat_deg"].tolist(),
                    "height_m": truth["height_m"].tolist(),
                    "valid": truth["valid"].tolist(),
                },
            }
        )

    renderer = Renderer(scene, vehicles, config, render_rng, occluders)
    video = VideoWriter(out / d.SIMULATION_VIDEO, config.width_px, config.height_px, config.fps) if config.write_video else None
    masks = np.zeros((len(records_out), config.height_px, config.width_px), np.uint8) if config.write_masks else None
    vehicle_ids = [v.vehicle_id for v in vehicles]
    render_seconds = 0.0
    try:
        with open(out / d.SIMULATION_BOXES, "w", encoding="utf-8") as boxes_file:
            for index, record in enumerate(records_out):
                camera = frame_geometry(record, config.width_px, config.height_px, config.gimbal, terrain)
                tick = time.perf_counter()
                image, labels = renderer.render(camera, index / config.fps)
                render_seconds += time.perf_counter() - tick
                if video is not None:
                    video.write(index, image, encode_st0601(record))
                if masks is not None:
                    masks[index] = labels
                boxes = boxes_from_labels(labels, vehicle_ids)
                frames[index]["vehicles"] = boxes
                boxes_file.write(json.dumps({"frame": index, "time_s": index / config.fps, "vehicles": boxes}) + "\n")
    finally:
        if video is not None:
            video.close()
    masks_path = None
    if masks is not None:
        masks_path = out / d.SIMULATION_MASKS
        np.savez_compressed(masks_path, labels=masks, vehicle_ids=np.asarray(vehicle_ids))

    to_lonlat = Transformer.from_crs(scene.crs, "EPSG:4326", always_xy=True)
    tracks = {}
    for vehicle in vehicles:
        poses = [vehicle.pose(i / config.fps, scene) for i in range(len(records_out))]
        east = np.array([p[0][0] for p in poses])
        north = np.array([p[0][1] for p in poses])
        lon, lat = to_lonlat.transform(east, north)
        heights = scene.heights_m(east, north)
        tracks[vehicle.vehicle_id] = {
            "lonlat_height": np.column_stack([lon, lat, heights]).tolist(),
            "heading_deg": [float(np.degrees(p[1]) % 360.0) for p in poses],
        }
    write_truth_geojson(out / d.SIMULATION_TRUTH, vehicles, tracks, [f["time_utc"] for f in frames])
    write_srt(out / d.SIMULATION_SRT, records_out, config.fps, config.ground_height_m)
    write_simulation_json(out / d.SIMULATION_JSON, config, scene.crs, vehicles, frames, video is not None)
    return SimulationResult(
        config=config,
        out_dir=out,
        video_path=out / d.SIMULATION_VIDEO if video is not None else None,
        srt_path=out / d.SIMULATION_SRT,
        texture_path=texture_path,
        dem_path=dem_path,
        truth_path=out / d.SIMULATION_TRUTH,
        boxes_path=out / d.SIMULATION_BOXES,
        masks_path=masks_path,
        simulation_path=out / d.SIMULATION_JSON,
        crs=scene.crs,
        frames=frames,
        telemetry=records_out,
        klv_in_video=video is not None,
        render_seconds=render_seconds,
    )
