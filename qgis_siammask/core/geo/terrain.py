"""Ground surfaces the camera model casts rays onto: flat at one height, or a DEM raster.

Every terrain answers `heights_m(lonlat_deg)` with ellipsoidal (WGS 84) heights and NaN where it has
no data, so the camera can flag rays that leave a DEM instead of inventing ground for them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..definitions import ALTITUDE_HAE, ALTITUDE_MSL, DEM_VERTICAL_DATUM_TAG
from ..errors import InputFileError, ProjectionError
from .geodesy import geoid_separation_m

POLYNOMIAL_TOLERANCE_M = 1e-4


@dataclass(frozen=True)
class FlatTerrain:
    """A surface of constant ellipsoidal height (it follows the Earth's curvature, not a tangent plane)."""

    height_m: float

    def __post_init__(self):
        if not np.isfinite(self.height_m):
            raise ProjectionError(f"flat terrain height is not a number: {self.height_m!r}")

    @property
    def height_range_m(self) -> tuple[float, float]:
        return float(self.height_m), float(self.height_m)

    def heights_m(self, lonlat_deg: np.ndarray) -> np.ndarray:
        """(N,) heights at (N, 2) lon/lat."""
        return np.full(len(np.asarray(lonlat_deg).reshape(-1, 2)), float(self.height_m))


class DemTerrain:
    """A DEM GeoTIFF (or any raster GDAL reads) in any CRS, sampled with bilinear interpolation.

    The whole band is read once (DEMs for a video footprint are small). Heights are converted to
    ellipsoidal: `vertical_datum` "HAE" or "MSL" (EGM96) is taken from the argument, else from the
    file's VERTICAL_DATUM metadata item, else MSL (what SRTM/Copernicus DEMs use). The geoid
    separation is taken once at the DEM centre: it changes by centimetres over a video footprint.
    """

    def __init__(self, path: str | Path, vertical_datum: str | None = None):
        import rasterio
        from pyproj import CRS, Transformer

        self.path = Path(path)
        try:
            with rasterio.open(self.path) as dataset:
                if dataset.crs is None:
                    raise ProjectionError("the DEM has no coordinate reference system", path=self.path)
                heights = dataset.read(1, masked=True).astype(np.float64).filled(np.nan)
                self.transform = dataset.transform
                crs_wkt = dataset.crs.to_wkt()
                datum = vertical_datum or dataset.tags().get(DEM_VERTICAL_DATUM_TAG, ALTITUDE_MSL)
                bounds = dataset.bounds
        except rasterio.errors.RasterioIOError as error:
            raise InputFileError("cannot read the DEM raster", details=str(error), path=self.path) from error
        if datum not in (ALTITUDE_HAE, ALTITUDE_MSL):
            raise ProjectionError(f"unknown DEM vertical datum {datum!r} (expected HAE or MSL)", path=self.path)
        if not np.isfinite(heights).any():
            raise ProjectionError("the DEM holds no valid height", path=self.path)
        self._to_dem = LonLatToGrid(CRS.from_wkt(crs_wkt), bounds)
        self._inverse = ~self.transform
        self.vertical_datum = datum
        self.geoid_unknown = False
        if datum == ALTITUDE_MSL:
            centre_lon, centre_lat = Transformer.from_crs(CRS.from_wkt(crs_wkt), "EPSG:4326", always_xy=True).transform(
                (bounds.left + bounds.right) / 2, (bounds.bottom + bounds.top) / 2
            )
            separation = geoid_separation_m(centre_lat, centre_lon)
            self.geoid_unknown = separation is None
            heights = heights + (separation or 0.0)
        self._heights = heights
        self.height_range_m = (float(np.nanmin(heights)), float(np.nanmax(heights)))
        self.pixel_size_m = self._pixel_size_m(crs_wkt)

    def _pixel_size_m(self, crs_wkt: str) -> float:
        from pyproj import CRS

        size = float(min(abs(self.transform.a), abs(self.transform.e)))
        crs = CRS.from_wkt(crs_wkt)
        if crs.is_geographic:
            return size * 111_000.0 * 0.5  # degrees: metres along the shorter (longitude) side, roughly
        return size * float(crs.axis_info[0].unit_conversion_factor)

    def heights_m(self, lonlat_deg: np.ndarray) -> np.ndarray:
        """(N,) bilinear ellipsoidal heights at (N, 2) lon/lat; NaN outside the DEM or next to nodata."""
        lonlat = np.asarray(lonlat_deg, dtype=np.float64).reshape(-1, 2)
        x, y = self._to_dem(lonlat)
        # the affine's terms, not `affine * (x, y)`: affine 3 (the plugin's folder on QGIS 3.40) warns
        # "Use `@` matmul instead of `*`", and affine 2.3 (Debian 12's) has no `@` for coordinates
        inverse, x, y = self._inverse, np.asarray(x), np.asarray(y)
        col, row = inverse.a * x + inverse.b * y + inverse.c, inverse.d * x + inverse.e * y + inverse.f
        # Raster indices name pixel centres at +0.5 in the affine's corner-based coordinates.
        return bilinear(self._heights, np.asarray(col) - 0.5, np.asarray(row) - 0.5)


class LonLatToGrid:
    """lon/lat -> a raster's CRS, fast: casting a ray onto a DEM converts thousands of points per
    march step, and PROJ's general pipeline is most of that cost.

    Over a DEM's extent the projection is smooth, so a cubic polynomial in lon/lat is fitted there and
    used only if it reproduces PROJ within POLYNOMIAL_TOLERANCE_M on a check grid between the fit
    points; otherwise (huge extents, odd projections) PROJ is called. Points outside the extent's
    lon/lat box are outside the DEM and come back NaN.
    """

    def __init__(self, crs, bounds):
        from pyproj import CRS, Transformer

        self._transformer = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        self._identity = CRS.from_user_input(crs) == CRS.from_epsg(4326)
        self._coefficients = None
        if self._identity:
            return
        edge = np.linspace(0.0, 1.0, 33)
        ring_x = np.concatenate([bounds.left + edge * (bounds.right - bounds.left), np.full(33, bounds.right),
                                 bounds.right - edge * (bounds.right - bounds.left), np.full(33, bounds.left)])
        ring_y = np.concatenate([np.full(33, bounds.bottom), bounds.bottom + edge * (bounds.top - bounds.bottom),
                                 np.full(33, bounds.top), bounds.top - edge * (bounds.top - bounds.bottom)])
        lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(ring_x, ring_y)
        if not (np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))):
            return
        pad_lon, pad_lat = 0.01 * (np.ptp(lon) + 1e-9), 0.01 * (np.ptp(lat) + 1e-9)
        self._box = (lon.min() - pad_lon, lon.max() + pad_lon, lat.min() - pad_lat, lat.max() + pad_lat)
        fit = self._grid(24, 0.0)
        check = self._grid(23, 0.5 / 23)
        fit_x, fit_y = self._transformer.transform(fit[:, 0], fit[:, 1])
        terms = self._terms(fit)
        coefficients, *_ = np.linalg.lstsq(terms, np.column_stack([fit_x, fit_y]), rcond=None)
        check_x, check_y = self._transformer.transform(check[:, 0], check[:, 1])
        residual = np.abs(self._terms(check) @ coefficients - np.column_stack([check_x, check_y])).max()
        unit_m = float(CRS.from_user_input(crs).axis_info[0].unit_conversion_factor)
        if residual * unit_m < POLYNOMIAL_TOLERANCE_M:
            self._coefficients = coefficients

    def _grid(self, count: int, shift: float) -> np.ndarray:
        lon0, lon1, lat0, lat1 = self._box
        steps = np.linspace(0.0, 1.0, count) * (1 - 2 * shift) + shift
        lon, lat = np.meshgrid(lon0 + steps * (lon1 - lon0), lat0 + steps * (lat1 - lat0))
        return np.column_stack([lon.ravel(), lat.ravel()])

    def _terms(self, lonlat: np.ndarray) -> np.ndarray:
        """(N, 10) cubic monomials of lon/lat normalised to [-1, 1] over the box."""
        lon0, lon1, lat0, lat1 = self._box
        u = (lonlat[:, 0] - (lon0 + lon1) / 2) / ((lon1 - lon0) / 2)
        v = (lonlat[:, 1] - (lat0 + lat1) / 2) / ((lat1 - lat0) / 2)
        return np.column_stack([np.ones_like(u), u, v, u * u, u * v, v * v, u**3, u * u * v, u * v * v, v**3])

    def __call__(self, lonlat_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) arrays in the raster CRS for (N, 2) lon/lat."""
        if self._identity:
            return lonlat_deg[:, 0], lonlat_deg[:, 1]
        if self._coefficients is None:
            x, y = self._transformer.transform(lonlat_deg[:, 0], lonlat_deg[:, 1])
            return np.asarray(x), np.asarray(y)
        lon0, lon1, lat0, lat1 = self._box
        inside = (lonlat_deg[:, 0] >= lon0) & (lonlat_deg[:, 0] <= lon1) & (lonlat_deg[:, 1] >= lat0) & (lonlat_deg[:, 1] <= lat1)
        xy = self._terms(np.where(inside[:, None], lonlat_deg, 0.0)) @ self._coefficients
        xy[~inside] = np.nan
        return xy[:, 0], xy[:, 1]


def bilinear(grid: np.ndarray, col: np.ndarray, row: np.ndarray) -> np.ndarray:
    """(N,) bilinear samples of a (H, W) grid at fractional pixel-centre indices; NaN outside."""
    rows, cols = grid.shape
    inside = (col >= 0) & (row >= 0) & (col <= cols - 1) & (row <= rows - 1)
    col0 = np.clip(np.floor(np.where(inside, col, 0)), 0, max(cols - 2, 0)).astype(np.int64)
    row0 = np.clip(np.floor(np.where(inside, row, 0)), 0, max(rows - 2, 0)).astype(np.int64)
    col1, row1 = np.minimum(col0 + 1, cols - 1), np.minimum(row0 + 1, rows - 1)
    fc, fr = np.where(inside, col - col0, 0.0), np.where(inside, row - row0, 0.0)
    top = grid[row0, col0] * (1 - fc) + grid[row0, col1] * fc
    bottom = grid[row1, col0] * (1 - fc) + grid[row1, col1] * fc
    return np.where(inside, top * (1 - fr) + bottom * fr, np.nan)
