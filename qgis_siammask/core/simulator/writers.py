"""Files a simulation writes: MPEG-TS (H.264 + ST 0601 KLV data stream), SRT, GeoTIFFs, truth, boxes, masks."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..definitions import ALTITUDE_HAE, DEM_VERTICAL_DATUM_TAG
from ..errors import OutputError

MPEG_TS_TIME_BASE = Fraction(1, 90_000)


class VideoWriter:
    """H.264 MPEG-TS with one MISB ST 0601 packet per frame in a KLV data stream, both stamped with
    the frame's PTS (90 kHz), so readers sync telemetry to pictures as with real FMV."""

    def __init__(self, path: Path, width: int, height: int, fps: float):
        import av

        self.path = path
        try:
            self._container = av.open(str(path), mode="w", format="mpegts")
        except OSError as error:
            raise OutputError("cannot create the simulated video", details=str(error), path=path) from error
        self._fps = Fraction(fps).limit_denominator(1001)
        self._video = self._container.add_stream("libx264", rate=self._fps)
        self._video.width, self._video.height, self._video.pix_fmt = width, height, "yuv420p"
        self._video.options = {"preset": "veryfast", "crf": "20", "g": str(max(int(round(fps)), 1))}
        self._klv = self._container.add_data_stream(codec_name="klv")

    def write(self, index: int, image_bgr: np.ndarray, klv_packet: bytes) -> None:
        import av

        frame = av.VideoFrame.from_ndarray(image_bgr, format="bgr24")
        frame.pts = index
        frame.time_base = 1 / self._fps
        for packet in self._video.encode(frame):
            self._container.mux(packet)
        data = av.Packet(klv_packet)
        data.stream = self._klv
        data.time_base = MPEG_TS_TIME_BASE
        data.pts = data.dts = int(round(index / self._fps / MPEG_TS_TIME_BASE))
        self._container.mux(data)

    def close(self) -> None:
        for packet in self._video.encode():
            self._container.mux(packet)
        self._container.close()


def write_srt(path: Path, records: list, fps: float, ground_height_m: float) -> None:
    """A DJI-style SRT sidecar: per frame FrameCnt, time, position, altitudes, focal length and the
    aircraft (F.PRY) and absolute gimbal (G.PRY) pitch/roll/yaw, as P4 RTK files write them.

    `focal_len` is the 35 mm-equivalent focal length of the horizontal FOV (36 mm frame width);
    `abs_alt` is the ellipsoidal height (the simulator has no geoid), `rel_alt` the height above the
    scene's base level. Angles have 2 decimals, so a camera rebuilt from the SRT is close, not exact.
    """
    from ..geo.camera import rotation_ned_from_camera

    blocks = []
    for index, record in enumerate(records):
        start_ms, end_ms = int(round(index * 1000 / fps)), int(round((index + 1) * 1000 / fps))
        when = datetime.fromtimestamp(record.timestamp_us / 1e6, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        rotation = rotation_ned_from_camera(
            record.platform_heading_deg, record.platform_pitch_deg, record.platform_roll_deg,
            record.sensor_relative_azimuth_deg, record.sensor_relative_elevation_deg, record.sensor_relative_roll_deg,
        )
        gimbal_yaw = np.degrees(np.arctan2(rotation[1, 0], rotation[0, 0]))
        gimbal_pitch = np.degrees(np.arcsin(np.clip(-rotation[2, 0], -1.0, 1.0)))
        gimbal_roll = np.degrees(np.arctan2(rotation[2, 1], rotation[2, 2]))
        heading = (record.platform_heading_deg + 180.0) % 360.0 - 180.0
        focal_mm = 18.0 / np.tan(np.radians(record.horizontal_fov_deg) / 2)
        blocks.append(
            f"{index + 1}\n{_srt_time(start_ms)} --> {_srt_time(end_ms)}\n"
            f'<font size="28">FrameCnt: {index + 1}, DiffTime: {end_ms - start_ms}ms\n{when}\n'
            f"[iso: 100] [shutter: 1/1000.0] [fnum: 2.8] [ev: 0] [focal_len: {focal_mm:.2f}] "
            f"[latitude: {record.sensor_latitude_deg:.7f}] [longitude: {record.sensor_longitude_deg:.7f}] "
            f"[rel_alt: {record.sensor_altitude_m - ground_height_m:.3f} abs_alt: {record.sensor_altitude_m:.3f}] "
            f"F.PRY ({record.platform_pitch_deg:.2f}°, {record.platform_roll_deg:.2f}°, {heading:.2f}°), "
            f"G.PRY ({gimbal_pitch:.2f}°, {gimbal_roll:.2f}°, {gimbal_yaw:.2f}°)</font>\n"
        )
    path.write_text("\n".join(blocks), encoding="utf-8")


def _srt_time(ms: int) -> str:
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def write_geotiff(path: Path, array: np.ndarray, scene, resolution_m: float, vertical_datum: str | None = None) -> None:
    """A north-up GeoTIFF in the scene's CRS: (H, W, 3) BGR uint8 as RGB, or (H, W) float32 heights."""
    import rasterio
    from rasterio.transform import from_origin

    bands = array[..., ::-1].transpose(2, 0, 1) if array.ndim == 3 else array[None].astype(np.float32)
    profile = dict(
        driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=bands.shape[0], dtype=bands.dtype,
        crs=scene.crs, transform=from_origin(scene.west_m, scene.north_m, resolution_m, resolution_m),
        compress="deflate", zlevel=1, tiled=True, blockxsize=256, blockysize=256,
    )
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(bands)
        if vertical_datum:
            dataset.update_tags(**{DEM_VERTICAL_DATUM_TAG: vertical_datum})


def write_truth_geojson(path: Path, vehicles, tracks: dict, times_utc: list[str]) -> None:
    """Vehicle tracks: one LineString per vehicle (lon, lat, height per frame, `times_utc` beside),
    and one Point per vehicle and frame with its frame number, time and heading."""
    features = []
    for vehicle in vehicles:
        track = tracks[vehicle.vehicle_id]
        properties = {
            "vehicle_id": vehicle.vehicle_id, "kind": vehicle.kind, "length_m": vehicle.length_m,
            "width_m": vehicle.width_m, "colour_bgr": list(vehicle.colour_bgr), "speed_mps": vehicle.speed_mps,
        }
        coordinates = [list(p) for p in track["lonlat_height"]]
        features.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": coordinates},
                         "properties": {**properties, "frames": list(range(len(coordinates))), "times_utc": times_utc}})
        for frame, (point, heading) in enumerate(zip(coordinates, track["heading_deg"])):
            features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": point},
                             "properties": {"vehicle_id": vehicle.vehicle_id, "frame": frame,
                                            "time_utc": times_utc[frame], "heading_deg": heading}})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")


def boxes_from_labels(labels: np.ndarray, vehicle_ids: list[int]) -> list[dict]:
    """Per vehicle: the visible mask's box (x, y, w, h in pixels) and pixel count; box None when hidden."""
    import cv2

    result = []
    for vehicle_id in vehicle_ids:
        mask = labels == vehicle_id
        count = int(mask.sum())
        box = list(cv2.boundingRect(mask.astype(np.uint8))) if count else None
        result.append({"vehicle_id": vehicle_id, "box_xywh": box, "pixels": count})
    return result


def write_simulation_json(path: Path, config, crs: str, vehicles, frames: list[dict], klv_in_video: bool) -> None:
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(config).items()}
    document = {
        "config": settings,
        "crs": crs,
        "height_reference": ALTITUDE_HAE,
        "klv_in_video": klv_in_video,
        "vehicles": [dict(vars(v)) for v in vehicles],
        "frames": frames,
    }
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
