"""Shapes clicked on a video frame, on the ground: pixel vertices cast through the frame's model (camera
or corner homography, on flat ground or the DEM), their ground sample distance, and lengths and areas
in metres with the uncertainty the clicking leaves.

Lengths and areas are computed on a local east-north tangent plane centred on the shape (a video
footprint is a few km at most: the plane is exact to well under a millimetre there). The length is
horizontal (a map's distance); `slope_length_m` follows the terrain heights too.

Uncertainty: each vertex is taken as clicked within `pixel_sigma` pixels (1 by default:
definitions.DIGITISE_PIXEL_SIGMA), i.e. off on the ground by sigma_i = pixel_sigma * GSD_i in each
horizontal axis, independently; GSD_i is the ground size of one pixel at vertex i (the larger of the
ground lengths of one pixel step across and one down, which is the along-look direction on an oblique
view). First-order propagation then gives
  length: var = sum_i sigma_i^2 |u_(i-1,i) - u_(i,i+1)|^2  (u: unit vectors of the adjacent segments;
          an end vertex has one), so a two-point distance is +- sqrt(2) * GSD * pixel_sigma, and
          n vertices of equal GSD on a zigzag about sqrt(n) * GSD * pixel_sigma,
  area:   var = sum_i sigma_i^2 |p_(i+1) - p_(i-1)|^2 / 4  (the shoelace formula's gradient).
The model's own error (telemetry, DEM) is not in it: it moves a whole shape more than it distorts it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..definitions import DIGITISE_PIXEL_SIGMA
from ..errors import ProjectionError
from .geodesy import LocalFrame

SHAPE_POINT = "point"
SHAPE_LINE = "line"
SHAPE_POLYGON = "polygon"
SHAPES = (SHAPE_POINT, SHAPE_LINE, SHAPE_POLYGON)
MIN_VERTICES = {SHAPE_POINT: 1, SHAPE_LINE: 2, SHAPE_POLYGON: 3}


@dataclass(frozen=True)
class GroundShape:
    """A shape clicked on one frame, on the ground. lonlat_deg (N, 2), height_m (N,) ellipsoidal,
    enu_m (N, 3) on the shape's own tangent plane, gsd_m (N,) metres per pixel at each vertex."""

    shape: str
    pixels_xy: np.ndarray
    lonlat_deg: np.ndarray
    height_m: np.ndarray
    enu_m: np.ndarray
    gsd_m: np.ndarray


@dataclass(frozen=True)
class Measurement:
    """A figure and its one-sigma uncertainty: metres for a line, square metres for a polygon."""

    value: float
    sigma: float
    unit: str  # "m" or "m²"
    slope_length_m: float | None = None  # lines: along the terrain heights as well

    def text(self) -> str:
        """ "123.4 m ± 0.6 m" (a figure as long as its uncertainty allows, to 0.1 at least)."""
        digits = 1 if self.sigma >= 0.05 else 2
        return f"{self.value:.{digits}f} {self.unit} ± {self.sigma:.{digits}f} {self.unit}"


def cast_shape(geometry, shape: str, pixels_xy) -> GroundShape:
    """Cast the (N, 2) pixel vertices of a `shape` (SHAPES) through a frame model (camera.frame_geometry).

    ProjectionError when there are too few vertices for the shape, or a vertex does not see the ground
    (above the horizon, off the DEM): a shape with a vertex missing would be another shape.
    """
    if shape not in SHAPES:
        raise ProjectionError(f"unknown shape {shape!r}: expected one of {', '.join(SHAPES)}")
    pixels = np.asarray(pixels_xy, dtype=np.float64).reshape(-1, 2)
    if len(pixels) < MIN_VERTICES[shape]:
        raise ProjectionError(f"a {shape} needs {MIN_VERTICES[shape]} vertices at least, got {len(pixels)}")
    ground = geometry.pixels_to_ground(pixels)
    if not bool(np.all(ground.valid)):
        missing = ", ".join(f"({x:.0f}, {y:.0f})" for x, y in pixels[~ground.valid])
        raise ProjectionError(f"pixel {missing} does not see the ground")
    centre = ground.lonlat_deg.mean(axis=0)
    plane = LocalFrame(float(centre[1]), float(centre[0]), float(np.mean(ground.height_m)))
    enu = plane.to_enu(ground.lonlat_deg, ground.height_m)
    return GroundShape(
        shape, pixels, ground.lonlat_deg, ground.height_m, enu, ground_sample_distance_m(geometry, pixels)
    )


def ground_sample_distance_m(geometry, pixels_xy) -> np.ndarray:
    """(N,) metres of ground one pixel spans at each of (N, 2) pixels: the larger of a step across and a
    step down (half a pixel either side); NaN where a step leaves the ground."""
    pixels = np.asarray(pixels_xy, dtype=np.float64).reshape(-1, 2)
    steps = np.array([[-0.5, 0.0], [0.5, 0.0], [0.0, -0.5], [0.0, 0.5]])
    around = (pixels[:, None, :] + steps[None]).reshape(-1, 2)
    ground = geometry.pixels_to_ground(around)
    ecef = geometry.local_frame.enu_to_ecef(ground.enu_m).reshape(-1, 4, 3)
    across = np.linalg.norm(ecef[:, 1] - ecef[:, 0], axis=1)
    down = np.linalg.norm(ecef[:, 3] - ecef[:, 2], axis=1)
    return np.fmax(across, down) * np.where(np.isnan(across) | np.isnan(down), np.nan, 1.0)


def polyline_length(
    enu_m, gsd_m, pixel_sigma: float = DIGITISE_PIXEL_SIGMA, closed: bool = False
) -> Measurement:
    """Horizontal length of a polyline (closed: round the ring back to the first vertex) of (N, 3) ENU
    metres with (N,) GSDs, and its uncertainty (module docstring)."""
    points = np.asarray(enu_m, dtype=np.float64).reshape(-1, 3)
    ends = np.vstack([points, points[:1]]) if closed else points
    segments = np.diff(ends[:, :2], axis=0)
    lengths = np.linalg.norm(segments, axis=1)
    slope = float(np.linalg.norm(np.diff(ends, axis=0), axis=1).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        units = np.where(lengths[:, None] > 0, segments / lengths[:, None], 0.0)
    gradient = np.zeros((len(points), 2))  # d length / d vertex
    gradient[: len(units)] -= units  # a segment starting at the vertex
    gradient[np.arange(1, len(units) + 1) % len(points)] += units  # a segment ending at it
    sigma = pixel_sigma * np.asarray(gsd_m, dtype=np.float64)
    return Measurement(float(lengths.sum()), _propagated(gradient, sigma), "m", slope)


def polygon_area(enu_m, gsd_m, pixel_sigma: float = DIGITISE_PIXEL_SIGMA) -> Measurement:
    """Horizontal area of a ring of (N, 3) ENU metres (not closed: the last vertex joins the first) with
    (N,) GSDs, and its uncertainty (module docstring). A self-crossing ring counts its loops signed."""
    east_north = np.asarray(enu_m, dtype=np.float64).reshape(-1, 3)[:, :2]
    following, preceding = np.roll(east_north, -1, axis=0), np.roll(east_north, 1, axis=0)
    area = 0.5 * float(np.sum(east_north[:, 0] * following[:, 1] - following[:, 0] * east_north[:, 1]))
    gradient = 0.5 * (following - preceding)[:, ::-1] * np.array([1.0, -1.0])
    sigma = pixel_sigma * np.asarray(gsd_m, dtype=np.float64)
    return Measurement(abs(area), _propagated(gradient, sigma), "m²")


def measure(ground: GroundShape, pixel_sigma: float = DIGITISE_PIXEL_SIGMA) -> Measurement | None:
    """A line's length or a polygon's area; None for a point."""
    if ground.shape == SHAPE_LINE:
        return polyline_length(ground.enu_m, ground.gsd_m, pixel_sigma)
    if ground.shape == SHAPE_POLYGON:
        return polygon_area(ground.enu_m, ground.gsd_m, pixel_sigma)
    return None


def _propagated(gradient: np.ndarray, sigma: np.ndarray) -> float:
    """sqrt(sum_i sigma_i^2 |gradient_i|^2): independent isotropic vertex errors, first order."""
    return float(np.sqrt(np.sum(sigma**2 * np.sum(gradient**2, axis=1))))
