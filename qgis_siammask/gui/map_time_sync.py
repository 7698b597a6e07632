"""Video time and QGIS map time kept together, both ways, to the frame.

The temporal controller's frames are the video's frames (its frame duration is one video frame, its
extent starts at the clip's first frame): moving the controller asks the dock for the matching frame
(`frameRequested`), and a frame shown on the video moves the controller. Only while the controller
animates (NavigationMode.Animated). Opening a clip with frame times turns animation on and spans the
clip: map time follows the video over the whole clip from the start (a run's span, inside it, changes
nothing); the analyst may turn it off in the temporal controller.
"""

from __future__ import annotations

import math

import numpy as np
from qgis.core import QgsDateTimeRange, QgsInterval, QgsTemporalNavigationObject
from qgis.PyQt.QtCore import QDateTime, QObject, Qt, pyqtSignal


class MapTimeSync(QObject):
    """Between one canvas's temporal controller and the open video session."""

    frameRequested = pyqtSignal(int)

    def __init__(self, iface, parent=None):
        super().__init__(parent)
        self._iface = iface
        self._session = None
        self._moving_map = False  # the controller moves because the video did: do not seek back
        self._listened = None  # the controller whose moves reach `_map_time_changed`
        self._listen()

    def _listen(self) -> None:
        """Hear the canvas's controller (QGIS may install it after the dock was made)."""
        controller = self.controller()
        if controller is not None and controller is not self._listened:
            controller.updateTemporalRange.connect(self._map_time_changed)
            self._listened = controller

    def stop_listening(self) -> None:
        """The dock goes (plugin unloaded): the canvas's controller no longer calls into it."""
        if self._listened is not None:
            try:
                self._listened.updateTemporalRange.disconnect(self._map_time_changed)
            except (TypeError, RuntimeError):  # the controller is gone already
                pass
        self._listened = self._session = None

    def controller(self) -> QgsTemporalNavigationObject | None:
        canvas = self._iface.mapCanvas() if self._iface is not None else None
        controller = canvas.temporalController() if canvas is not None else None
        return controller if isinstance(controller, QgsTemporalNavigationObject) else None

    def set_session(self, session) -> bool:
        """A clip was opened (None: closed); see `follow_clip`."""
        self._session = session
        return self.follow_clip()

    def follow_clip(self) -> bool:
        """With frame times, the controller spans the whole clip and animates (the caller shows a frame
        next, which moves it); True when map time follows the clip."""
        self._listen()
        session = self._session
        utc_s = session.frame_times_utc_s() if session is not None else None
        known = utc_s[~np.isnan(utc_s)] if utc_s is not None else ()
        if not len(known) or self.controller() is None:
            return False
        self._moving_map = True  # the controller jumps to its new start: not a frame the analyst asked for
        try:
            self.set_span(known[0], known[-1], session.fps)
            self.animate()
        finally:
            self._moving_map = False
        return True

    def set_span(self, first_utc_s: float, last_utc_s: float, fps: float) -> None:
        """Controller frames are video frames, from `first_utc_s` to the end of the frame at `last_utc_s`."""
        controller = self.controller()
        if controller is None:
            return
        end = _qdatetime(last_utc_s + 1.0 / fps)
        controller.setTemporalExtents(QgsDateTimeRange(_qdatetime(first_utc_s), end))
        controller.setFrameDuration(QgsInterval(1.0 / fps))

    def animate(self) -> None:
        """Turn map time on (the video's frames move it)."""
        controller = self.controller()
        if controller is not None:
            controller.setNavigationMode(QgsTemporalNavigationObject.NavigationMode.Animated)

    def frame_shown(self, index: int) -> None:
        """The video shows frame `index`: the animated controller goes to the frame holding its time."""
        controller = self.controller()
        utc_s = self._session.frame_times_utc_s() if self._session is not None else None
        if controller is None or utc_s is None or index >= len(utc_s) or math.isnan(utc_s[index]):
            return
        if controller.navigationMode() != QgsTemporalNavigationObject.NavigationMode.Animated:
            return
        begin_s = controller.temporalExtents().begin().toMSecsSinceEpoch() / 1000.0
        step_s = controller.frameDuration().seconds()
        if step_s <= 0:
            return
        number = int(math.floor((utc_s[index] - begin_s) / step_s + 1e-3))
        if 0 <= number < controller.totalFrameCount() and number != controller.currentFrameNumber():
            self._moving_map = True
            try:
                controller.setCurrentFrameNumber(number)
            finally:
                self._moving_map = False

    def _map_time_changed(self, time_range: QgsDateTimeRange) -> None:
        if self._moving_map or self._session is None or not time_range.begin().isValid():
            return
        controller = self.controller()
        if controller is None or controller.navigationMode() != (
            QgsTemporalNavigationObject.NavigationMode.Animated
        ):
            return
        index = self._session.frame_at_utc(time_range.begin().toMSecsSinceEpoch() / 1000.0)
        if index is not None:
            self.frameRequested.emit(index)


def _qdatetime(utc_s: float) -> QDateTime:
    return QDateTime.fromMSecsSinceEpoch(int(round(utc_s * 1000.0)), Qt.TimeSpec.UTC)
