"""The player bar under the video: previous / play / next, the slider and the time label.

It asks for frames (`frameRequested`) and is told what is shown (`show_position`); decoding and what a
frame means stay with the dock and its video session.
"""

from __future__ import annotations

from qgis.PyQt.QtCore import Qt, QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QWidget

from .dock_parts import format_time, tool_button, tr


class Player(QWidget):
    """Transport controls of one clip. `frameRequested(index)`: show that frame; `paused()`: playing
    stopped (the map may catch up)."""

    frameRequested = pyqtSignal(int)
    paused = pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.frame_index = 0
        self.last_frame = 0
        self.fps = 25.0
        self.duration_s = 0.0
        style = self.style()
        self.step_back_button = tool_button(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekBackward), tr("Previous frame")
        )
        self.play_button = tool_button(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), tr("Play / pause")
        )
        self.step_button = tool_button(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekForward), tr("Next frame")
        )
        self.step_back_button.clicked.connect(lambda: self.step(-1))
        self.play_button.clicked.connect(lambda: self.toggle_play())
        self.step_button.clicked.connect(lambda: self.step(1))
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.valueChanged.connect(self.frameRequested)
        self.time_label = QLabel("00:00.00 / 00:00.00  frame 0/0", self)
        self._timer = QTimer(self)
        self._timer.timeout.connect(lambda: self.frameRequested.emit(self.frame_index + 1))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.step_back_button, self.play_button, self.step_button):
            row.addWidget(widget)
        row.addWidget(self.slider, 1)
        row.addWidget(self.time_label)

    def set_clip(self, last_frame: int, fps: float, duration_s: float) -> None:
        """A new clip: frames 0..last_frame at `fps`; the position goes back to frame 0 silently."""
        self.pause()
        self.last_frame, self.fps, self.duration_s = last_frame, fps, duration_s
        self.slider.blockSignals(True)
        self.slider.setRange(0, last_frame)
        self.slider.setValue(0)
        self.slider.blockSignals(False)

    def show_position(self, index: int, time_s: float) -> None:
        """Frame `index` at `time_s` is on screen: slider and label follow without asking for it again."""
        self.frame_index = index
        self.slider.blockSignals(True)
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        self.time_label.setText(
            f"{format_time(time_s)} / {format_time(self.duration_s)}  "
            + tr("frame {}/{}").format(index, self.last_frame)
        )

    def set_controls_enabled(self, enabled: bool) -> None:
        for widget in (self.step_back_button, self.play_button, self.step_button, self.slider):
            widget.setEnabled(enabled)

    def step(self, delta: int) -> None:
        self.frameRequested.emit(min(max(self.frame_index + delta, 0), self.last_frame))

    def toggle_play(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        self._timer.start(max(int(1000.0 / self.fps), 5))
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause))

    def pause(self) -> None:
        was_playing = self.playing
        self._timer.stop()
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        if was_playing:
            self.paused.emit()

    @property
    def playing(self) -> bool:
        return self._timer.isActive()
