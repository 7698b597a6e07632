"""Geo-aware search: the telemetry tells the tracker where to look in the next frame.

SiamMask searches a window about twice the target's context around its last image position. When the
gimbal slews, the platform wobbles or the lens zooms, a target standing still on the ground jumps or
grows in the image and leaves that window. `GeoGuidance` keeps each target's ground track (positions
in a local ENU frame from every confidently tracked frame, cast through that frame's camera model) and
before each frame predicts its image position: the last ground position plus the ground velocity (a
line fitted over the last `velocity_baseline_s`) times the time since, cast through the new frame's
camera. The search is centred there and scaled by the change of ground sample distance at that point.

`object_box_xywh` turns one click on the video into a starting box from the same camera model.

While a target is lost (under a tree, say) its predicted position moves on with its last velocity
for at most `max_coast_s`, then stays put; the tracker coasts there (its boxes are flagged coasted)
and picks the target up when it reappears near the prediction.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ..definitions import GUIDANCE_MAX_COAST_S, GUIDANCE_VELOCITY_BASELINE_S, STATUS_TRACKING
from ..geo.geodesy import LocalFrame
from ..records import SearchHint, Track

GSD_PROBE_M = 1.0  # ground step (east, north) whose image size gives the local scale


@dataclass
class _GroundTrack:
    """Confident ground positions of one target: (time s, ENU (3,) metres), oldest first."""

    history: deque = field(default_factory=deque)

    def velocity_mps(self) -> np.ndarray:
        """(3,) ENU velocity: least-squares line through the kept history (a tenth of a second at least)."""
        times = np.array([t for t, _ in self.history])
        if times[-1] - times[0] < 0.1:
            return np.zeros(3)
        positions = np.array([p for _, p in self.history])
        offsets = times - times.mean()
        return offsets @ (positions - positions.mean(axis=0)) / (offsets @ offsets)


class GeoGuidance:
    """Search hints for `SiamMaskTracker.update` from each frame's camera model (or None)."""

    def __init__(self, max_coast_s: float = GUIDANCE_MAX_COAST_S,
                 velocity_baseline_s: float = GUIDANCE_VELOCITY_BASELINE_S):
        self.max_coast_s = float(max_coast_s)
        self.velocity_baseline_s = float(velocity_baseline_s)
        self._frame = None  # LocalFrame at the first ground position seen
        self._tracks: dict[int, _GroundTrack] = {}
        self._camera = None  # the last frame's camera: the tracker's sizes are in its pixels

    def observe(self, tracks: list[Track], camera, time_s: float) -> None:
        """Learn from one tracked frame (tracker track ids); only steady, observed tracks count."""
        self._camera = camera
        confident = [t for t in tracks if t.status == STATUS_TRACKING and t.steady and not t.coasted]
        if camera is None or not confident:
            return
        centres = np.array([[x + w / 2.0, y + h / 2.0] for x, y, w, h in (t.bbox_xywh for t in confident)])
        ground = camera.pixels_to_ground(centres)
        if self._frame is None and ground.valid.any():
            first = int(np.argmax(ground.valid))
            self._frame = LocalFrame(float(ground.lonlat_deg[first, 1]), float(ground.lonlat_deg[first, 0]),
                                     float(ground.height_m[first]))
        if self._frame is None:
            return
        enu = self._frame.to_enu(ground.lonlat_deg, np.nan_to_num(ground.height_m))
        for track, valid, position in zip(confident, ground.valid, enu):
            if not valid:
                continue
            history = self._tracks.setdefault(track.track_id, _GroundTrack()).history
            history.append((float(time_s), position))
            while len(history) > 2 and time_s - history[1][0] >= self.velocity_baseline_s:
                history.popleft()

    def hints(self, camera, time_s: float) -> dict[int, SearchHint]:
        """Where each known target should appear in the frame seen by `camera` at `time_s` (none without)."""
        if camera is None or not self._tracks:
            return {}
        ids = list(self._tracks)
        predicted = np.array([self._predicted_enu(self._tracks[i], time_s) for i in ids])
        lonlat, height = self._frame.to_lonlat(predicted)
        pixels, _ = camera.ground_to_pixels(lonlat, height)
        scales = self._scales(camera, predicted)
        usable = np.isfinite(pixels).all(axis=1) & np.isfinite(scales)
        return {track_id: SearchHint((float(px[0]), float(px[1])), float(scale))
                for track_id, px, scale, ok in zip(ids, pixels, scales, usable) if ok}

    def _predicted_enu(self, track: _GroundTrack, time_s: float) -> np.ndarray:
        last_s, last = track.history[-1]
        return last + track.velocity_mps() * min(max(time_s - last_s, 0.0), self.max_coast_s)

    def _scales(self, camera, points_enu: np.ndarray) -> np.ndarray:
        """(N,) linear image scale change at each point, from the last frame's camera to `camera` (or 1)."""
        if self._camera is None:
            return np.ones(len(points_enu))
        return self._pixels_per_metre(camera, points_enu) / self._pixels_per_metre(self._camera, points_enu)

    def _pixels_per_metre(self, camera, points_enu: np.ndarray) -> np.ndarray:
        """(N,) square root of the image area (px^2) of a square metre of ground at each point."""
        steps = np.array([[0.0, 0.0, 0.0], [GSD_PROBE_M, 0.0, 0.0], [0.0, GSD_PROBE_M, 0.0]])
        probes = (points_enu[:, None, :] + steps[None, :, :]).reshape(-1, 3)
        lonlat, height = self._frame.to_lonlat(probes)
        pixels, _ = camera.ground_to_pixels(lonlat, height)
        pixels = pixels.reshape(-1, 3, 2)
        east, north = pixels[:, 1] - pixels[:, 0], pixels[:, 2] - pixels[:, 0]
        area = np.abs(east[:, 0] * north[:, 1] - east[:, 1] * north[:, 0]) / GSD_PROBE_M ** 2
        return np.sqrt(area)


def object_box_xywh(camera, pixel_xy, size_m: tuple[float, float]) -> tuple[float, ...] | None:
    """A box (x, y, w, h) px centred on `pixel_xy` as big as an object of `size_m` (length, width) on the
    ground there, or None where that pixel's ray misses the ground. The object's heading is unknown, so
    the box is a ground square of the same area, sized with the ground sample distance along the
    image's x and y at that pixel (oblique views shorten y); the first mask then tightens it."""
    x, y = (float(v) for v in pixel_xy)
    ground = camera.pixels_to_ground(np.array([[x - 0.5, y], [x + 0.5, y], [x, y - 0.5], [x, y + 0.5]]))
    if not ground.valid.all():
        return None
    metres_per_px_x = float(np.linalg.norm(ground.enu_m[1] - ground.enu_m[0]))
    metres_per_px_y = float(np.linalg.norm(ground.enu_m[3] - ground.enu_m[2]))
    side_m = float(np.sqrt(size_m[0] * size_m[1]))
    width, height = side_m / metres_per_px_x, side_m / metres_per_px_y
    return (x - width / 2, y - height / 2, width, height)
