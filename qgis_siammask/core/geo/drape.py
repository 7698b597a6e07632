"""The frame draped on the ground: a grid of image points cast through the frame's model, cut into cells
that a renderer maps one by one (each cell by its own projective transform), so that on a DEM the picture
follows the relief instead of one homography for the whole frame.

Pure geometry: image grid -> ground (lon/lat, through `frame_geometry`'s model) -> any target plane the
caller maps to (map CRS, screen pixels) -> per-cell quads.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..definitions import DRAPE_GRID_DEM, DRAPE_GRID_FLAT
from .terrain import FlatTerrain


@dataclass(frozen=True)
class DrapeGrid:
    """Ground positions of a (rows + 1) x (columns + 1) grid of image points spanning the whole frame.

    pixels_xy (R+1, C+1, 2): image positions (the outer nodes on the image's outer edges, as the
    footprint's corners); lonlat_deg (R+1, C+1, 2), NaN where invalid; valid (R+1, C+1) bool: the ray
    met the ground (not above the horizon, not off the DEM).
    """

    pixels_xy: np.ndarray
    lonlat_deg: np.ndarray
    valid: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of cells."""
        return self.valid.shape[0] - 1, self.valid.shape[1] - 1

    def corners_lonlat(self) -> np.ndarray:
        """(4, 2) ground of the image corners UL, UR, LR, LL (NaN where invalid): the footprint's."""
        grid = self.lonlat_deg
        return np.array([grid[0, 0], grid[0, -1], grid[-1, -1], grid[-1, 0]])

    def bounds_lonlat(self) -> tuple[float, float, float, float] | None:
        """(west, south, east, north) of the valid nodes; None when no node is on the ground."""
        points = self.lonlat_deg[self.valid]
        if not len(points):
            return None
        return (float(points[:, 0].min()), float(points[:, 1].min()),
                float(points[:, 0].max()), float(points[:, 1].max()))

    def cell_quads(self, target_xy: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(source (N, 4, 2) image quads, target (N, 4, 2) quads) of the N cells whose four nodes are
        valid, nodes in the order UL, UR, LR, LL. `target_xy` (R+1, C+1, 2): the nodes mapped to the
        plane to draw on (None: lon/lat); a node that did not map (NaN) drops its cells."""
        target = self.lonlat_deg if target_xy is None else np.asarray(target_xy, dtype=np.float64)
        usable = self.valid & np.all(np.isfinite(target), axis=-1)
        cells = usable[:-1, :-1] & usable[:-1, 1:] & usable[1:, 1:] & usable[1:, :-1]
        return _quads(self.pixels_xy, cells), _quads(target, cells)

    def mapped(self, to_xy: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """(R+1, C+1, 2) nodes mapped by `to_xy` ((N, 2) lon/lat -> (N, 2) x/y, e.g. into a map CRS)."""
        flat = self.lonlat_deg.reshape(-1, 2)
        out = np.full_like(flat, np.nan)
        valid = self.valid.reshape(-1)
        if valid.any():
            out[valid] = np.asarray(to_xy(flat[valid]), dtype=np.float64).reshape(-1, 2)
        return out.reshape(self.lonlat_deg.shape)


def grid_size(geometry) -> tuple[int, int]:
    """(columns, rows) of cells: few on flat ground, where a cell's projective map is near exact; more
    on a DEM, where each cell is a facet of the relief."""
    return DRAPE_GRID_FLAT if isinstance(getattr(geometry, "terrain", None), FlatTerrain) else DRAPE_GRID_DEM


def drape_grid(geometry, columns: int | None = None, rows: int | None = None) -> DrapeGrid:
    """Cast a grid of `columns` x `rows` cells over the image of `geometry` (a CameraModel or
    CornerHomography from `frame_geometry`) onto its ground; None: `grid_size`."""
    if columns is None or rows is None:
        columns, rows = grid_size(geometry)
    width, height = geometry.image_width_px, geometry.image_height_px
    xs = np.linspace(-0.5, width - 0.5, int(columns) + 1)
    ys = np.linspace(-0.5, height - 0.5, int(rows) + 1)
    pixels = np.stack(np.meshgrid(xs, ys), axis=-1)
    ground = geometry.pixels_to_ground(pixels.reshape(-1, 2))
    shape = pixels.shape[:2]
    return DrapeGrid(pixels, ground.lonlat_deg.reshape(*shape, 2), ground.valid.reshape(shape))


def _quads(nodes: np.ndarray, cells: np.ndarray) -> np.ndarray:
    quads = np.stack([nodes[:-1, :-1], nodes[:-1, 1:], nodes[1:, 1:], nodes[1:, :-1]], axis=2)
    return quads[cells]
