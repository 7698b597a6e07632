"""Ground surfaces the camera model casts rays onto: flat at one height, or a DEM raster.

Every terrain answers `heights_m(lonlat_deg)` with ellipsoidal (WGS 84) heights and NaN where it has
no data, so the camera can flag rays that leave a DEM instead of inventing ground for them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .definitions import ALTITUDE_HAE, ALTITUDE_MSL, DEM_VERTICAL_DATUM_TAG
from .errors import InputFileError, ProjectionError
from .geodesy import geoid_separation_m


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
        self._to_dem = Transformer.from_crs("EPSG:4326", CRS.from_wkt(crs_wkt), always_xy=True)
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
        x, y = self._to_dem.transform(lonlat[:, 0], lonlat[:, 1])
        col, row = self._inverse * (np.asarray(x), np.asarray(y))
        # Raster indices name pixel centres at +0.5 in the affine's corner-based coordinates.
        return bilinear(self._heights, np.asarray(col) - 0.5, np.asarray(row) - 0.5)


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
