"""The frame draped on the ground (core.geo.drape): the grid of image points cast through the frame's
model, on the simulator's DEM; its corners are the footprint's, its nodes lie on the relief."""
from __future__ import annotations

import numpy as np
import pytest

from qgis_siammask.core import definitions as d
from qgis_siammask.core.geo.camera import frame_geometry
from qgis_siammask.core.geo.drape import DrapeGrid, drape_grid, grid_size
from qgis_siammask.core.geo.geodesy import LocalFrame
from qgis_siammask.core.geo.terrain import DemTerrain
from qgis_siammask.core.simulator import SimulationConfig, simulate

WIDTH, HEIGHT = 640, 360


@pytest.fixture(scope="module")
def dem_clip(tmp_path_factory):
    """An oblique clip over 40 m of relief (test_snapshot uses it too)."""
    return simulate(SimulationConfig(out_dir=tmp_path_factory.mktemp("drape"), seed=5, frames=5,
                                     width_px=WIDTH, height_px=HEIGHT, dem=True, relief_m=40.0,
                                     oblique_deg=35.0, vehicle_count=1, write_masks=False))


def _metres(lonlat_a, lonlat_b, origin) -> np.ndarray:
    local = LocalFrame(origin[1], origin[0], 0.0)
    return np.linalg.norm(local.to_enu(lonlat_a, 0.0)[:, :2] - local.to_enu(lonlat_b, 0.0)[:, :2], axis=1)


def test_draped_corners_are_the_footprint_corners_and_the_truth_on_a_dem(dem_clip):
    terrain = DemTerrain(dem_clip.dem_path)
    camera = frame_geometry(dem_clip.telemetry[0], WIDTH, HEIGHT, terrain=terrain)
    grid = drape_grid(camera)
    assert grid.shape == d.DRAPE_GRID_DEM[::-1] == grid_size(camera)[::-1]  # (rows, columns)
    assert grid.valid.all()
    footprint = camera.footprint().lonlat_deg
    origin = footprint[0]
    assert _metres(grid.corners_lonlat(), footprint, origin).max() < 1e-3
    truth = np.array(dem_clip.frames[0]["truth"]["lonlat_deg"][1:])  # UL, UR, LR, LL, ray-cast independently
    assert _metres(grid.corners_lonlat(), truth, origin).max() < 0.1


def test_the_grid_follows_the_relief_not_one_plane(dem_clip):
    terrain = DemTerrain(dem_clip.dem_path)
    camera = frame_geometry(dem_clip.telemetry[0], WIDTH, HEIGHT, terrain=terrain)
    grid = drape_grid(camera, 8, 6)
    ground = camera.pixels_to_ground(grid.pixels_xy.reshape(-1, 2))
    heights = terrain.heights_m(grid.lonlat_deg.reshape(-1, 2))
    np.testing.assert_allclose(ground.height_m, heights, atol=0.01)  # every node on the DEM
    assert np.ptp(heights) > 5.0  # over real relief
    flat = frame_geometry(dem_clip.telemetry[0], WIDTH, HEIGHT)  # the same frame on flat ground
    moved = _metres(drape_grid(flat, 8, 6).lonlat_deg.reshape(-1, 2), grid.lonlat_deg.reshape(-1, 2),
                    grid.lonlat_deg[0, 0])
    assert moved.max() > 1.0  # the relief moves interior nodes by metres: one homography would miss it
    assert grid_size(flat) == d.DRAPE_GRID_FLAT


def test_cells_map_image_rectangles_and_drop_cells_off_the_ground():
    pixels = np.stack(np.meshgrid(np.linspace(-0.5, 99.5, 3), np.linspace(-0.5, 49.5, 3)), axis=-1)
    lonlat = pixels * 1e-5 + [10.0, 50.0]
    valid = np.ones((3, 3), bool)
    valid[0, 2] = False  # the top right node above the horizon
    grid = DrapeGrid(pixels, np.where(valid[..., None], lonlat, np.nan), valid)
    source, target = grid.cell_quads()
    assert source.shape == target.shape == (3, 4, 2)  # 4 cells, the one touching the bad node dropped
    np.testing.assert_allclose(source[0], [[-0.5, -0.5], [49.5, -0.5], [49.5, 24.5], [-0.5, 24.5]])
    np.testing.assert_allclose(target, source * 1e-5 + [10.0, 50.0])
    mapped = grid.mapped(lambda points: points * 2.0)
    assert np.isnan(mapped[0, 2]).all() and np.allclose(mapped[1, 1], lonlat[1, 1] * 2.0)
    unmappable = mapped.copy()
    unmappable[2, 0] = np.nan  # a node the target CRS cannot hold
    assert len(grid.cell_quads(unmappable)[0]) == 2
    expected = (10.0 - 0.5e-5, 50.0 - 0.5e-5, 10.0 + 99.5e-5, 50.0 + 49.5e-5)
    assert grid.bounds_lonlat() == pytest.approx(expected)
