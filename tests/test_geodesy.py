"""Closed-form WGS 84 conversions against PROJ, local ENU frames, the EGM96 geoid."""
from __future__ import annotations

import numpy as np
import pytest
from pyproj import Transformer

from qgis_siammask.core.geo.geodesy import LocalFrame, ecef_to_geodetic, geodetic_to_ecef, geoid_separation_m


@pytest.fixture(scope="module")
def random_points():
    rng = np.random.default_rng(7)
    return rng.uniform(-89.99, 89.99, 5000), rng.uniform(-180, 180, 5000), rng.uniform(-400, 40_000, 5000)


def test_geodetic_to_ecef_matches_proj(random_points):
    lat, lon, height = random_points
    x, y, z = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True).transform(lon, lat, height)
    assert np.abs(geodetic_to_ecef(lat, lon, height) - np.column_stack([x, y, z])).max() < 1e-6


def test_ecef_to_geodetic_matches_proj_to_a_tenth_of_a_millimetre(random_points):
    lat, lon, height = random_points
    ecef = geodetic_to_ecef(lat, lon, height)
    lon_p, lat_p, h_p = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True).transform(*ecef.T)
    lat_c, lon_c, h_c = ecef_to_geodetic(ecef)
    assert np.abs(lat_c - lat_p).max() * 111_000 < 1e-4
    assert np.abs(((lon_c - lon_p + 180) % 360) - 180).max() * 111_000 < 1e-4
    assert np.abs(h_c - h_p).max() < 1e-4


def test_local_frame_axes_and_round_trip():
    frame = LocalFrame(41.14, -104.82, 1850.0)
    origin = frame.to_enu(np.array([[-104.82, 41.14]]), np.array([1850.0]))
    assert np.allclose(origin, 0.0, atol=1e-9)
    north = frame.to_enu(np.array([[-104.82, 41.141]]), np.array([1850.0]))[0]
    east = frame.to_enu(np.array([[-104.819, 41.14]]), np.array([1850.0]))[0]
    assert north[1] > 110 and abs(north[0]) < 1e-6  # 0.001 degree of latitude is ~111 m north
    assert east[0] > 80 and abs(east[1]) < 0.01
    points = np.random.default_rng(1).uniform(-5000, 5000, (100, 3))
    lonlat, height = frame.to_lonlat(points)
    assert np.abs(frame.to_enu(lonlat, height) - points).max() < 1e-6


def test_egm96_geoid_separation_near_cheyenne():
    separation = geoid_separation_m(41.14, -104.82)
    if separation is None:
        pytest.skip("PROJ has no EGM96 grid on this machine")
    assert -18.0 < separation < -14.0  # EGM96 N is about -16 m on the high plains of Wyoming
