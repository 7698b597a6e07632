"""The map side of the video dock: the terrain and georeferencing the camera uses, the playback layers
following the frame on screen, a video pixel marked on the map and a map point marked on the video.

A mixin of `VideoDock` (it uses the dock's session, frame view and status line), apart only to keep
each module to one job.
"""

from __future__ import annotations

from qgis.core import Qgis

from ..settings import load_settings
from .dock_parts import lonlat, tr


class MapSide:
    def _sync_terrain(self) -> None:
        """Use the settings' DEM (the one tracking will use; None: flat ground) and georeferencing mode
        as soon as they are chosen."""
        if self.session is None:
            return
        settings = load_settings()
        self.session.georef = settings.georef
        problem = self.session.use_dem(settings.dem_path())
        if problem:
            text = tr("DEM not usable, the map assumes flat ground: {}").format(problem)
            self._set_status(text, Qgis.Warning)

    def _update_playback_layers(self, frame_index: int, record, camera) -> None:
        if self.playback_layers is None or record is None:
            return
        footprint = None
        if camera is not None:
            corners = camera.footprint()
            if bool(corners.valid.all()):
                footprint = corners.lonlat_deg.tolist()
        platform = lonlat(record.sensor_longitude_deg, record.sensor_latitude_deg)
        centre = lonlat(record.frame_center_longitude_deg, record.frame_center_latitude_deg)
        if platform is not None:  # the played span: one position per frame, whatever order they came in
            self.trail_lonlat[frame_index] = platform
        trail = [self.trail_lonlat[index] for index in sorted(self.trail_lonlat)]
        self.playback_layers.show(
            frame_index, record.time_utc, footprint, platform, centre, trail, self.session.georef
        )

    def _catch_up_map(self) -> None:
        """Playing stopped: the map catches up with the frame on screen (playback updates are throttled)."""
        if self._shown is not None:
            self._update_playback_layers(*self._shown)

    def _pixel_picked(self, x: float, y: float) -> None:
        text, problem = self.ground_marks.pick_pixel(self._camera_shown(), x, y)
        self._set_status(text, Qgis.Warning if problem else Qgis.Info)
        self._mark_map_point_on_video()

    def _map_point_picked(self, point) -> None:
        self.ground_marks.map_point = point
        pixel = self._mark_map_point_on_video()
        if pixel is None:
            self._set_status(tr("The map point is outside this frame's footprint"), Qgis.Warning)
        else:
            self._set_status(tr("Map point on the video at pixel {:.0f}, {:.0f}").format(*pixel))

    def _mark_map_point_on_video(self):
        """The marked map point on the frame on screen (it follows the video); its pixel or None."""
        pixel = self.ground_marks.pixel_on_frame(self._camera_shown())
        self.frame_view.set_marked_pixel(pixel)
        return pixel

    def _camera_shown(self):
        return self._shown[2] if self._shown is not None else None

