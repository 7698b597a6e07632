"""Geo throughput: pixels -> ground per second (flat, DEM), ground -> pixels, simulator frames per second."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np


def _rate(function, count: int, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return count / best


def main() -> None:
    from qgis_siammask.core.geo.camera import CameraModel
    from qgis_siammask.core.geo.terrain import DemTerrain
    from qgis_siammask.core.simulator import SimulationConfig, simulate

    with tempfile.TemporaryDirectory() as folder:
        results = {}
        for name, options in (("flat nadir", {}), ("flat oblique 45", {"oblique_deg": 45.0}),
                              ("DEM oblique 45", {"oblique_deg": 45.0, "dem": True})):
            started = time.perf_counter()
            result = simulate(SimulationConfig(out_dir=Path(folder) / name.replace(" ", "_"), seed=1, frames=30, **options))
            total = time.perf_counter() - started
            results[name] = result
            print(f"simulator {name}: render {30 / result.render_seconds:.1f} frames/s "
                  f"({1000 * result.render_seconds / 30:.1f} ms per 640x360 frame); "
                  f"whole run incl. scene, truth and H.264: {30 / total:.1f} frames/s")
        pixels = np.random.default_rng(0).uniform([0, 0], [639, 359], (640 * 360, 2))
        for name in ("flat oblique 45", "DEM oblique 45"):
            result = results[name]
            terrain = DemTerrain(result.dem_path) if result.dem_path else None
            camera = CameraModel.from_telemetry(result.telemetry[0], 640, 360, terrain)
            count = len(pixels) if terrain is None else 20_000
            rate = _rate(lambda: camera.pixels_to_ground(pixels[:count]), count)
            print(f"pixels -> ground, {name}: {rate / 1e6:.2f} M pixels/s ({count} pixels per call)")
            ground = camera.pixels_to_ground(pixels[:count])
            rate = _rate(lambda: camera.ground_to_pixels(ground.lonlat_deg, ground.height_m), count)
            print(f"ground -> pixels, {name}: {rate / 1e6:.2f} M points/s")


if __name__ == "__main__":
    main()
