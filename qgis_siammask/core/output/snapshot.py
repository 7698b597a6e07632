"""Snapshots of video frames: the frame as a PNG with its telemetry, and warped onto the ground as a GeoTIFF.

The GeoTIFF is resampled here, from the ground back to the image: every output pixel centre (a north-up
grid in the chosen CRS, the local UTM zone by default, at the frame centre's ground sample distance) is
taken to lon/lat, given the terrain's height (the DEM's, or the flat ground's), projected into the frame
through the same frame model (`frame_geometry`) as the footprint, and sampled bilinearly. Ground the
frame does not see is transparent (alpha band). Occlusion by relief is not modelled: a slope hidden
behind a ridge takes the ridge's pixels.

Every file is written to a partial file and renamed (atomic.commit): a failed snapshot leaves no
half-written file under the final name.
"""
from __future__ import annotations

import json
import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..definitions import GEOREF_LABELS, SNAPSHOT_MAX_SIDE_PX, SNAPSHOT_TEXT_KEY
from ..errors import OutputError, ProjectionError
from ..files import commit, discard, partial_path
from ..geo.image_geometry import finite

RESAMPLE_ROWS = 256  # output rows resampled at once: bounds the memory of a large GeoTIFF


@dataclass(frozen=True)
class SnapshotFiles:
    """What one snapshot wrote: the PNG, its JSON sidecar, the GeoTIFF (None: frame not on the ground)."""

    png: Path
    sidecar: Path
    geotiff: Path | None
    problem: str = ""  # why there is no GeoTIFF


def frame_telemetry(frame_index: int, time_s: float, record, georef: str, geometry=None) -> dict:
    """The frame's metadata as JSON-ready values (None where unknown): time, frame, platform position,
    angles, fields of view, slant range (reported, else sensor to the frame centre's ground), the
    georeferencing mode and the frame's ground corners."""
    def value(name):
        number = getattr(record, name, None) if record is not None else None
        return float(number) if finite(number) else None

    names = ("sensor_latitude_deg", "sensor_longitude_deg", "sensor_altitude_m", "platform_heading_deg",
             "platform_pitch_deg", "platform_roll_deg", "sensor_relative_azimuth_deg",
             "sensor_relative_elevation_deg", "sensor_relative_roll_deg", "horizontal_fov_deg",
             "vertical_fov_deg", "frame_center_latitude_deg", "frame_center_longitude_deg")
    data = {"frame": int(frame_index), "video_time_s": round(float(time_s), 6),
            "time_utc": record.time_utc.isoformat() if record is not None and record.time_utc else None,
            "altitude_reference": getattr(record, "altitude_reference", None),
            **{name: value(name) for name in names},
            "slant_range_m": value("slant_range_m"), "georef": georef,
            "georef_label": GEOREF_LABELS.get(georef),
            "corners_lonlat_deg": None}
    if geometry is not None:
        corners = geometry.footprint()
        if bool(corners.valid.all()):
            data["corners_lonlat_deg"] = corners.lonlat_deg.tolist()
        if data["slant_range_m"] is None and hasattr(geometry, "sensor_ecef_m"):
            centre = geometry.pixels_to_ground(geometry.centre_pixel()[None])
            if bool(centre.valid[0]):
                sensor_enu = geometry.local_frame.ecef_to_enu(geometry.sensor_ecef_m[None])[0]
                data["slant_range_m"] = float(np.linalg.norm(centre.enu_m[0] - sensor_enu))
    return data


def write_png(path: str | Path, image_bgr: np.ndarray, text: dict[str, str]) -> Path:
    """An (H, W, 3) uint8 BGR image as an RGB PNG with `text` in iTXt chunks (UTF-8), written atomically."""
    image = np.ascontiguousarray(np.asarray(image_bgr, dtype=np.uint8)[..., ::-1])
    height, width = image.shape[:2]
    rows = np.concatenate([np.zeros((height, 1), np.uint8), image.reshape(height, width * 3)], axis=1)
    chunks = [_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))]
    for key, value in text.items():
        chunks.append(_chunk(b"iTXt", key.encode("latin-1")[:79] + b"\0\0\0\0\0" + value.encode("utf-8")))
    chunks += [_chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)), _chunk(b"IEND", b"")]
    return _write_bytes(path, b"\x89PNG\r\n\x1a\n" + b"".join(chunks))


def read_png_text(path: str | Path) -> dict[str, str]:
    """The iTXt/tEXt chunks of a PNG (key -> text)."""
    data, position, text = Path(path).read_bytes(), 8, {}
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            text[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\0")
            text[key.decode("latin-1")] = rest[2:].split(b"\0", 2)[2].decode("utf-8")
        position += 12 + length
    return text


def local_utm_crs(lon_deg: float, lat_deg: float) -> str:
    """"EPSG:326zz" (north) or "EPSG:327zz" (south): the UTM zone of a point."""
    zone = min(int((lon_deg + 180.0) // 6.0) + 1, 60)
    return f"EPSG:{(32600 if lat_deg >= 0 else 32700) + zone}"


def ground_raster(image_bgr: np.ndarray, geometry, crs: str | None = None,
                  max_side_px: int = SNAPSHOT_MAX_SIDE_PX) -> tuple[np.ndarray, tuple, str]:
    """The frame warped onto the ground: ((H, W, 4) uint8 RGBA, GDAL geotransform, CRS WKT).

    North-up in `crs` (None: the UTM zone of the frame centre), pixels as large as the frame centre's
    ground sample distance, the whole footprint covered (the pixel enlarged where that would pass
    `max_side_px`). ProjectionError when the frame centre or its corners do not reach the ground.
    """
    from pyproj import CRS, Transformer

    centre_px = geometry.centre_pixel()
    probe = geometry.pixels_to_ground(np.vstack([centre_px, centre_px + [1.0, 0.0], centre_px + [0.0, 1.0],
                                                 geometry.corner_pixels()]))
    if not bool(probe.valid.all()):
        raise ProjectionError("the frame's centre or corners do not reach the ground: no georeferenced image")
    lon, lat = probe.lonlat_deg[0]
    target = CRS.from_user_input(crs or local_utm_crs(lon, lat))
    forward = Transformer.from_crs("EPSG:4326", target, always_xy=True)
    backward = Transformer.from_crs(target, "EPSG:4326", always_xy=True)
    x, y = forward.transform(probe.lonlat_deg[:, 0], probe.lonlat_deg[:, 1])
    points = np.column_stack([x, y])
    pixel = min(np.linalg.norm(points[1] - points[0]), np.linalg.norm(points[2] - points[0]))
    west, south = points[3:].min(axis=0)
    east, north = points[3:].max(axis=0)
    pixel = max(pixel, (east - west) / max_side_px, (north - south) / max_side_px)
    if not (np.isfinite(pixel) and pixel > 0):
        raise ProjectionError("the frame's ground sample distance is not usable: no georeferenced image")
    width = max(int(math.ceil((east - west) / pixel)), 1)
    height = max(int(math.ceil((north - south) / pixel)), 1)
    out = np.zeros((height, width, 4), np.uint8)
    columns = west + (np.arange(width) + 0.5) * pixel
    for top in range(0, height, RESAMPLE_ROWS):
        rows = north - (np.arange(top, min(top + RESAMPLE_ROWS, height)) + 0.5) * pixel
        xx, yy = np.meshgrid(columns, rows)
        lons, lats = backward.transform(xx.ravel(), yy.ravel())
        lonlat = np.column_stack([lons, lats])
        heights = geometry.terrain.heights_m(lonlat)
        pixels, visible = geometry.ground_to_pixels(lonlat, heights)
        visible &= np.isfinite(heights)
        out[top:top + len(rows)] = _bilinear(image_bgr, pixels, visible).reshape(len(rows), width, 4)
    return out, (west, pixel, 0.0, north, 0.0, -pixel), target.to_wkt()


def write_geotiff(path: str | Path, image_bgr: np.ndarray, geometry, crs: str | None = None) -> Path:
    """The frame warped onto the ground (`ground_raster`) as an RGBA GeoTIFF, written atomically."""
    from osgeo import gdal

    raster, geotransform, wkt = ground_raster(image_bgr, geometry, crs)
    path = Path(path)
    partial = partial_path(path)
    try:
        driver = gdal.GetDriverByName("GTiff")
        options = ["COMPRESS=DEFLATE", "TILED=YES", "PHOTOMETRIC=RGB", "ALPHA=YES"]
        dataset = driver.Create(str(partial), raster.shape[1], raster.shape[0], 4, gdal.GDT_Byte, options)
        if dataset is None:
            raise OSError(gdal.GetLastErrorMsg() or "GDAL cannot create the file")
        dataset.SetGeoTransform(geotransform)
        dataset.SetProjection(wkt)
        for band in range(4):
            dataset.GetRasterBand(band + 1).WriteArray(raster[..., band])
        dataset.FlushCache()
        dataset = None
    except (OSError, RuntimeError) as error:
        discard(partial)
        raise OutputError("cannot write the georeferenced frame", details=str(error), path=path) from error
    return commit(partial, path)


def save_snapshot(folder: str | Path, stem: str, image_bgr: np.ndarray, frame_index: int, time_s: float,
                  record, georef: str, geometry=None, crs: str | None = None,
                  geotiff: bool = True) -> SnapshotFiles:
    """`STEM.png` (with its telemetry in a PNG text chunk), `STEM.json` (the same telemetry) and, when
    the frame is on the ground, `STEM.tif` (georeferenced) in `folder`."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError("cannot create the snapshot folder", details=str(error), path=folder) from error
    telemetry = json.dumps(frame_telemetry(frame_index, time_s, record, georef, geometry), indent=1)
    png = write_png(folder / f"{stem}.png", image_bgr, {SNAPSHOT_TEXT_KEY: telemetry})
    sidecar = _write_bytes(folder / f"{stem}.json", telemetry.encode("utf-8"))
    tif, problem = None, ""
    if geotiff and geometry is None:
        problem = "no frame model (telemetry missing or unusable): no georeferenced image"
    elif geotiff:
        try:
            tif = write_geotiff(folder / f"{stem}.tif", image_bgr, geometry, crs)
        except ProjectionError as error:
            problem = error.user_message
    return SnapshotFiles(png, sidecar, tif, problem)


def _bilinear(image_bgr: np.ndarray, pixels_xy: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """(N, 4) RGBA samples of the image at (N, 2) pixel positions (pixel centres at integers); alpha 0
    where not `visible`."""
    height, width = image_bgr.shape[:2]
    out = np.zeros((len(pixels_xy), 4), np.uint8)
    index = np.flatnonzero(visible)
    if not len(index):
        return out
    x = np.clip(pixels_xy[index, 0], 0.0, width - 1.0)
    y = np.clip(pixels_xy[index, 1], 0.0, height - 1.0)
    x0 = np.clip(np.floor(x).astype(np.intp), 0, max(width - 2, 0))
    y0 = np.clip(np.floor(y).astype(np.intp), 0, max(height - 2, 0))
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]

    def at(rows, columns):
        return image_bgr[rows, columns].astype(np.float32)

    top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx
    bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx
    out[index, :3] = np.clip(np.rint((top * (1 - fy) + bottom * fy)[:, ::-1]), 0, 255).astype(np.uint8)
    out[index, 3] = 255
    return out


def _chunk(kind: bytes, body: bytes) -> bytes:
    checksum = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", checksum)


def _write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    partial = partial_path(path)
    try:
        partial.write_bytes(data)
    except OSError as error:
        discard(partial)
        raise OutputError("cannot write the snapshot", details=str(error), path=path) from error
    return commit(partial, path)
