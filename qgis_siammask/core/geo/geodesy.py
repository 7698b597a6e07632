"""WGS 84 geodetic <-> ECEF <-> local ENU in float64, and MSL -> ellipsoid heights.

Closed-form and vectorised: the camera model converts hundreds of thousands of points per frame, so
it does not go through pyproj for ECEF; pyproj is used only for the EGM96 geoid (MSL heights) and
map CRSs. All heights here are ellipsoidal (HAE) unless a name says `msl`.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..definitions import WGS84_A_M, WGS84_F

WGS84_B_M = WGS84_A_M * (1.0 - WGS84_F)
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)  # first eccentricity squared
WGS84_EP2 = WGS84_E2 / (1.0 - WGS84_E2)  # second eccentricity squared


def geodetic_to_ecef(lat_deg, lon_deg, height_m) -> np.ndarray:
    """(..., 3) ECEF metres from latitude, longitude (degrees) and ellipsoidal height (m)."""
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    height = np.asarray(height_m, dtype=np.float64)
    sin_lat = np.sin(lat)
    prime_vertical = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
    radius = (prime_vertical + height) * np.cos(lat)
    return np.stack(
        np.broadcast_arrays(radius * np.cos(lon), radius * np.sin(lon), (prime_vertical * (1.0 - WGS84_E2) + height) * sin_lat),
        axis=-1,
    )


def ecef_to_geodetic(ecef_m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Latitude, longitude (degrees) and ellipsoidal height (m) of (..., 3) ECEF points.

    Bowring's parametric start and two Newton-like refinements: sub-millimetre from the Earth's
    centre region out to satellite altitudes (checked against pyproj in the tests).
    """
    ecef = np.asarray(ecef_m, dtype=np.float64)
    x, y, z = ecef[..., 0], ecef[..., 1], ecef[..., 2]
    lon = np.arctan2(y, x)
    p = np.hypot(x, y)
    beta = np.arctan2(z * WGS84_A_M, p * WGS84_B_M)
    for _ in range(3):
        lat = np.arctan2(z + WGS84_EP2 * WGS84_B_M * np.sin(beta) ** 3, p - WGS84_E2 * WGS84_A_M * np.cos(beta) ** 3)
        beta = np.arctan2((1.0 - WGS84_F) * np.sin(lat), np.cos(lat))
    sin_lat, cos_lat = np.sin(lat), np.cos(lat)
    prime_vertical = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
    # Height along the normal, well conditioned at every latitude.
    height = p * cos_lat + z * sin_lat - WGS84_A_M * WGS84_A_M / prime_vertical
    return np.degrees(lat), np.degrees(lon), height


def ecef_to_enu_rotation(lat_deg: float, lon_deg: float) -> np.ndarray:
    """(3, 3) matrix whose rows are the local east, north and up unit vectors in ECEF."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    sin_lat, cos_lat, sin_lon, cos_lon = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    return np.array(
        [
            [-sin_lon, cos_lon, 0.0],
            [-sin_lat * cos_lon, -sin_lat * sin_lon, cos_lat],
            [cos_lat * cos_lon, cos_lat * sin_lon, sin_lat],
        ],
        dtype=np.float64,
    )


def up_vectors(ecef_m: np.ndarray) -> np.ndarray:
    """(N, 3) unit ellipsoid normals (geodetic up) at (N, 3) ECEF points: the gradient of height."""
    lat, lon, _ = ecef_to_geodetic(ecef_m)
    lat, lon = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


@dataclass(frozen=True)
class LocalFrame:
    """A local east-north-up tangent frame (metres) at an origin on WGS 84.

    Geometry in metres (outline simplification, homographies, distances) is done here, never in
    degrees; over a video footprint (a few km) the frame is exact, being just a rotated ECEF.
    """

    origin_lat_deg: float
    origin_lon_deg: float
    origin_height_m: float

    @property
    def origin_ecef_m(self) -> np.ndarray:
        return geodetic_to_ecef(self.origin_lat_deg, self.origin_lon_deg, self.origin_height_m)

    @property
    def rotation(self) -> np.ndarray:
        """(3, 3) ECEF -> ENU rotation."""
        return ecef_to_enu_rotation(self.origin_lat_deg, self.origin_lon_deg)

    def ecef_to_enu(self, ecef_m: np.ndarray) -> np.ndarray:
        return (np.asarray(ecef_m, dtype=np.float64) - self.origin_ecef_m) @ self.rotation.T

    def enu_to_ecef(self, enu_m: np.ndarray) -> np.ndarray:
        return np.asarray(enu_m, dtype=np.float64) @ self.rotation + self.origin_ecef_m

    def to_enu(self, lonlat_deg, height_m) -> np.ndarray:
        """(N, 3) ENU metres of (N, 2) lon/lat degrees at (N,) ellipsoidal heights."""
        lonlat = np.asarray(lonlat_deg, dtype=np.float64).reshape(-1, 2)
        return self.ecef_to_enu(geodetic_to_ecef(lonlat[:, 1], lonlat[:, 0], np.broadcast_to(height_m, len(lonlat))))

    def to_lonlat(self, enu_m) -> tuple[np.ndarray, np.ndarray]:
        """((N, 2) lon/lat degrees, (N,) ellipsoidal heights) of (N, 3) ENU metres."""
        lat, lon, height = ecef_to_geodetic(self.enu_to_ecef(np.asarray(enu_m, dtype=np.float64).reshape(-1, 3)))
        return np.column_stack([lon, lat]), height


@lru_cache(maxsize=1)
def _geoid_transformer():
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326+5773", "EPSG:4979", always_xy=True)


def geoid_separation_m(lat_deg: float, lon_deg: float) -> float | None:
    """EGM96 geoid height N (HAE = MSL + N) at a point, or None when PROJ has no EGM96 grid."""
    try:
        _, _, hae = _geoid_transformer().transform(float(lon_deg), float(lat_deg), 0.0)
    except Exception:  # pyproj raises ProjError or plain exceptions depending on the grid state
        return None
    return float(hae) if np.isfinite(hae) and hae != 0.0 else None
