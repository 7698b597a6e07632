"""Real telemetry: footprint corners from position, attitude and FOV vs the corners the aircraft reported.

Measured on klvdata_Cheyenne.bin (407 packets, 1280x720 nominal frame; slant ranges 2.1-3.1 km, sensor
elevation -0.5 to -28 degrees, platform roll down to -20 degrees): corner error median 30.5 m, 90th
percentile 91.6 m; frame-centre error median 8.5 m (0.28 % of the slant range). The reported corners
are the aircraft's own computation (likely on its DEM, at grazing angles where a metre of height is
several metres of range), so they are a reference, not truth. The bounds are 1.5x the measured
figures: tight enough to catch a convention error (ignoring platform pitch/roll gives a 1464 m median,
a flipped pitch 199 m, a flipped roll 4429 m), loose enough for harmless numeric changes.

The horizon-level gimbal (the same boresight, the picture's roll from tag 20 alone) fits this aircraft's
own corners far better: corner error median 9.9 m, 90th percentile 37.1 m (ST 0601: 30.5 m, 91.6 m),
with the same frame-centre error (the boresight is the same): its gimbal keeps the picture level.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

from qgis_siammask.core.definitions import GEOREF_HORIZON, GEOREF_ST0601

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "cheyenne_footprint.py"


def _script():
    if "cheyenne_footprint" in sys.modules:
        return sys.modules["cheyenne_footprint"]
    spec = importlib.util.spec_from_file_location("cheyenne_footprint", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_cheyenne_corners_agree_with_the_reported_ones(shared_dir):
    errors = _script().footprint_errors(shared_dir / "data" / "fmv" / "klv" / "klvdata_Cheyenne.bin")
    assert errors.packets == 407
    corners = errors.corner_m[np.isfinite(errors.corner_m)]
    assert corners.size >= 0.95 * 4 * errors.packets  # nearly every corner reaches the ground
    assert np.median(corners) < 45.0
    assert np.percentile(corners, 90) < 135.0
    assert np.median(errors.centre_m[np.isfinite(errors.centre_m)]) < 13.0


def test_script_prints_the_figures(shared_dir, capsys):
    assert _script().main([str(shared_dir / "data" / "fmv" / "klv" / "klvdata_Cheyenne.bin")]) == 0
    output = capsys.readouterr().out
    assert "407 packets" in output and "median" in output and "90th percentile" in output


def test_horizon_level_corners_fit_this_aircraft_better(shared_dir):
    klv = shared_dir / "data" / "fmv" / "klv" / "klvdata_Cheyenne.bin"
    st0601, horizon = (
        _script().footprint_errors(klv, georef=mode) for mode in (GEOREF_ST0601, GEOREF_HORIZON)
    )
    medians = {}
    for name, errors in (("ST 0601", st0601), ("horizon-level", horizon)):
        corners = errors.corner_m[np.isfinite(errors.corner_m)]
        assert corners.size >= 0.95 * 4 * errors.packets
        medians[name] = float(np.median(corners))
        print(f"{name}: corner error median {medians[name]:.1f} m, "
              f"90th percentile {np.percentile(corners, 90):.1f} m")
    assert medians["horizon-level"] < 15.0  # measured 9.9 m
    assert medians["ST 0601"] > 2.0 * medians["horizon-level"]  # measured 30.5 m: 3.1 times
    # the boresight is the same: the frame centres agree to the millimetre
    np.testing.assert_allclose(horizon.centre_m, st0601.centre_m, atol=1e-3)
