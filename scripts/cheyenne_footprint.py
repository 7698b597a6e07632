"""Footprint check on real telemetry: corners computed by the camera model vs the corners the aircraft reported.

For every ST 0601 packet of a KLV file (default: the Esri "Cheyenne" flight in ../shared), the camera
model is built from the sensor position, platform and sensor attitude and the FOVs only, on flat
ground at the reported frame-centre elevation; its 4 image corners are compared with the reported
corners (offset corners 26-33 + frame centre, or full corners 82-89), and so is the boresight with
the reported frame centre. Prints the median and 90th percentile of the errors in metres, for the
ST 0601 camera model and the horizon-level gimbal (the same boresight, so the same centre error).

    python scripts/cheyenne_footprint.py [KLV_FILE] [--width 1280 --height 720]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from qgis_siammask.core.definitions import GEOREF_HORIZON, GEOREF_LABELS, GEOREF_ST0601  # noqa: E402

DEFAULT_KLV = REPO_ROOT.parent / "shared" / "data" / "fmv" / "klv" / "klvdata_Cheyenne.bin"


@dataclasses.dataclass(frozen=True)
class FootprintErrors:
    """corner_m (P, 4) and centre_m (P,) horizontal errors in metres; NaN where not computable."""

    corner_m: np.ndarray
    centre_m: np.ndarray
    packets: int
    skipped: dict


def footprint_errors(klv_path: str | Path, width_px: int = 1280, height_px: int = 720,
                     georef: str = GEOREF_ST0601) -> FootprintErrors:
    """Errors of the camera model in georeferencing mode `georef` (definitions.GEOREF_ST0601 or
    GEOREF_HORIZON) against the reported corners and frame centre."""
    from pyproj import Geod

    from qgis_siammask.core.errors import ProjectionError
    from qgis_siammask.core.geo.camera import frame_geometry
    from qgis_siammask.core.ingest.klv_telemetry import klv_series_from_file

    geod = Geod(ellps="WGS84")
    records = klv_series_from_file(klv_path).records
    corner_errors = np.full((len(records), 4), np.nan)
    centre_errors = np.full(len(records), np.nan)
    skipped: dict[str, int] = {}
    for index, record in enumerate(records):
        if record.corners_latlon_deg is None:
            skipped["no corners"] = skipped.get("no corners", 0) + 1
            continue
        # Attitude only: drop the corners so the model cannot fall back on them.
        attitude_only = dataclasses.replace(record, corners_latlon_deg=None)
        try:
            camera = frame_geometry(attitude_only, width_px, height_px, georef)
        except ProjectionError as error:
            key = f"no camera: {error.user_message}"
            skipped[key] = skipped.get(key, 0) + 1
            continue
        corners = camera.footprint()
        reported = np.asarray(record.corners_latlon_deg, dtype=np.float64)
        _, _, distance = geod.inv(corners.lonlat_deg[:, 0], corners.lonlat_deg[:, 1], reported[:, 1], reported[:, 0])
        corner_errors[index] = np.where(corners.valid, distance, np.nan)
        centre = camera.pixels_to_ground(camera.centre_pixel()[None, :])
        if centre.valid[0] and record.frame_center_latitude_deg is not None:
            _, _, centre_errors[index] = geod.inv(
                centre.lonlat_deg[0, 0], centre.lonlat_deg[0, 1], record.frame_center_longitude_deg, record.frame_center_latitude_deg
            )
    return FootprintErrors(corner_errors, centre_errors, len(records), skipped)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("klv", nargs="?", type=Path, default=DEFAULT_KLV)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    args = parser.parse_args(argv)
    compared = 0
    for georef in (GEOREF_ST0601, GEOREF_HORIZON):
        errors = footprint_errors(args.klv, args.width, args.height, georef)
        corners = errors.corner_m[np.isfinite(errors.corner_m)]
        centres = errors.centre_m[np.isfinite(errors.centre_m)]
        compared += corners.size
        print(f"{args.klv.name}, {GEOREF_LABELS[georef]}: {errors.packets} packets, {corners.size} corners "
              f"and {centres.size} centres compared")
        for reason, count in errors.skipped.items():
            print(f"  skipped {count}: {reason}")
        if corners.size:
            print(f"  corner error (m): median {np.median(corners):.1f}, 90th percentile "
                  f"{np.percentile(corners, 90):.1f}, max {corners.max():.1f}")
        if centres.size:
            print(f"  centre error (m): median {np.median(centres):.1f}, 90th percentile "
                  f"{np.percentile(centres, 90):.1f}")
    return 0 if compared else 1


if __name__ == "__main__":
    sys.exit(main())
