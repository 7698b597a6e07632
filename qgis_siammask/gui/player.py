"""The player under the video: the seek slider across the whole width; previous / play / next and the
time label; playback speed, frame and time entry.

It asks for frames (`frameRequested`) and is told what is shown (`show_position`); decoding and what a
frame means stay with the dock and its video session.
"""

from __future__ import annotations

import math

from qgis.PyQt.QtCore import Qt, QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSlider,
    QSpinBox,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from .dock_parts import add_shortcut, format_time, tool_button, tr

PLAYBACK_SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
MIN_TICK_MS = 20  # faster than this, playing skips frames instead (decoding and the map keep up)
SLIDER_MIN_WIDTH_PX = 200  # a seek bar one can drag, even in a narrow dock
FRAME_FIELD_ROOM_LAST_FRAME = 999  # the frame field is as narrow as "999 / 999" whole allows, clip or not


def parse_time(text: str) -> float | None:
    """Seconds from "ss.s", "mm:ss.s" or "hh:mm:ss.s"; None when it is none of these."""
    try:
        parts = [float(part) for part in text.strip().split(":")]
    except ValueError:
        return None
    if not 1 <= len(parts) <= 3 or any(part < 0 for part in parts):
        return None
    return sum(part * 60.0**power for power, part in enumerate(reversed(parts)))


def _show_frame_range(spin: QSpinBox, last_frame: int) -> None:
    """Frames 0..`last_frame`, the last one beside the number: frame 12 of 0..119 reads "12 / 119"."""
    spin.setRange(0, last_frame)
    spin.setSuffix(f" / {last_frame}")


class Player(QWidget):
    """Transport controls of one clip. `frameRequested(index)`: show that frame; `paused()`: playing
    stopped (the map may catch up)."""

    frameRequested = pyqtSignal(int)
    paused = pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.frame_index = 0
        self.time_s = 0.0  # of the frame shown
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
        self.slider.setMinimumWidth(SLIDER_MIN_WIDTH_PX)
        self.slider.valueChanged.connect(self.frameRequested)
        self.time_label = QLabel("00:00.00 / 00:00.00", self)  # the frame: in the frame field
        self.speed_combo = QComboBox(self)
        for speed in PLAYBACK_SPEEDS:
            self.speed_combo.addItem(f"{speed:g}×", speed)
        self.speed_combo.setCurrentIndex(PLAYBACK_SPEEDS.index(1.0))
        self.speed_combo.setToolTip(tr("Playback speed"))
        self.speed_combo.currentIndexChanged.connect(lambda: self._restart_timer())
        self.frame_spin = QSpinBox(self)
        self.frame_spin.setToolTip(tr("Go to frame"))
        # its minimum fixed before any clip: a longer " / 119" suffix would widen the dock when a clip opens
        _show_frame_range(self.frame_spin, FRAME_FIELD_ROOM_LAST_FRAME)
        self.frame_spin.setMinimumWidth(self.frame_spin.sizeHint().width())  # "119 / 119" whole
        self.frame_spin.setRange(0, 0)
        self.frame_spin.setSuffix("")  # no clip: "0"
        self.frame_spin.setKeyboardTracking(False)  # typing "120" visits 120 only, not 1 and 12 first
        self.frame_spin.valueChanged.connect(self.frameRequested)
        self.time_edit = QLineEdit(self)
        self.time_edit.setToolTip(tr("Go to time: seconds, mm:ss.ss or hh:mm:ss.ss from the start"))
        self.time_edit.setMinimumWidth(self.time_edit.fontMetrics().horizontalAdvance("000:00.00") + 16)
        self.time_edit.editingFinished.connect(lambda: self._time_entered())
        self._frames_per_tick = 1
        self._timer = QTimer(self)
        self._timer.timeout.connect(lambda: self._tick())
        for button in (self.step_back_button, self.play_button, self.step_button):
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # clicked, the focus is in the dock: keys work
        transport = QHBoxLayout()
        for widget in (self.step_back_button, self.play_button, self.step_button, self.time_label):
            transport.addWidget(widget)
        transport.addStretch(1)
        entry = QHBoxLayout()
        for widget in (
            QLabel(tr("Speed")),
            self.speed_combo,
            QLabel(tr("Frame")),
            self.frame_spin,
            QLabel(tr("Time")),
            self.time_edit,
        ):
            entry.addWidget(widget)
        entry.addStretch(1)
        self.transport_row = transport  # the dock adds the view's buttons here (the rows' widths even out)
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.addWidget(self.slider)  # a row of its own: the whole width to seek along
        rows.addLayout(transport)
        rows.addLayout(entry)

    def set_clip(self, last_frame: int, fps: float, duration_s: float) -> None:
        """A new clip: frames 0..last_frame at `fps`; the position goes back to frame 0 silently."""
        self.pause()
        self.last_frame, self.fps, self.duration_s = last_frame, fps, duration_s
        self.slider.blockSignals(True)
        self.slider.setRange(0, last_frame)
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self.frame_spin.blockSignals(True)
        _show_frame_range(self.frame_spin, last_frame)
        self.frame_spin.blockSignals(False)

    def show_position(self, index: int, time_s: float) -> None:
        """Frame `index` at `time_s` is on screen: slider and label follow without asking for it again."""
        self.frame_index = index
        self.slider.blockSignals(True)
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        self.frame_spin.blockSignals(True)
        self.frame_spin.setValue(index)
        self.frame_spin.blockSignals(False)
        self.time_s = time_s
        if not self.time_edit.hasFocus():
            self.time_edit.setText(format_time(time_s))
        self.time_label.setText(f"{format_time(time_s)} / {format_time(self.duration_s)}")

    def add_shortcuts(self, host: QWidget) -> None:
        """The player's keys anywhere inside `host`: Space plays or pauses, arrows step a frame (with
        Shift a second), Home and End go to the ends, ] and [ change the speed."""
        for keys, slot in (
            (Qt.Key.Key_Space, self.toggle_play),
            (Qt.Key.Key_Right, lambda: self.step(1)),
            (Qt.Key.Key_Left, lambda: self.step(-1)),
            (Qt.Modifier.SHIFT | Qt.Key.Key_Right, lambda: self.step(max(int(round(self.fps)), 1))),
            (Qt.Modifier.SHIFT | Qt.Key.Key_Left, lambda: self.step(-max(int(round(self.fps)), 1))),
            (Qt.Key.Key_Home, lambda: self.frameRequested.emit(0)),
            (Qt.Key.Key_End, lambda: self.frameRequested.emit(self.last_frame)),
            (Qt.Key.Key_BracketRight, lambda: self.set_speed_step(1)),
            (Qt.Key.Key_BracketLeft, lambda: self.set_speed_step(-1)),
        ):
            add_shortcut(host, keys, slot)

    def set_controls_enabled(self, enabled: bool) -> None:
        for widget in (
            self.step_back_button,
            self.play_button,
            self.step_button,
            self.slider,
            self.frame_spin,
            self.time_edit,
        ):
            widget.setEnabled(enabled)

    def step(self, delta: int) -> None:
        self.frameRequested.emit(min(max(self.frame_index + delta, 0), self.last_frame))

    def toggle_play(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    @property
    def speed(self) -> float:
        return float(self.speed_combo.currentData())

    def set_speed_step(self, steps: int) -> None:
        """Faster (steps > 0) or slower along PLAYBACK_SPEEDS."""
        index = min(max(self.speed_combo.currentIndex() + steps, 0), len(PLAYBACK_SPEEDS) - 1)
        self.speed_combo.setCurrentIndex(index)

    def _restart_timer(self) -> None:
        if self.playing:
            self.play()

    def _tick(self) -> None:
        """Next frame(s) at the chosen speed; at the last frame, asking for one more stops playing."""
        if self.frame_index >= self.last_frame:
            self.frameRequested.emit(self.last_frame + 1)
        else:
            self.frameRequested.emit(min(self.frame_index + self._frames_per_tick, self.last_frame))

    def _time_entered(self) -> None:
        time_s = parse_time(self.time_edit.text())
        if time_s is not None:
            self.go_to_time(time_s)
        self.time_edit.setText(format_time(self.time_s))  # the time of the frame shown, not the one typed

    def go_to_time(self, time_s: float) -> None:
        """Ask for the frame nearest video time `time_s` (within the clip)."""
        self.frameRequested.emit(min(max(int(round(time_s * self.fps)), 0), self.last_frame))

    def play(self) -> None:
        frame_ms = 1000.0 / (self.fps * self.speed)
        self._frames_per_tick = max(math.ceil(MIN_TICK_MS / frame_ms), 1)
        self._timer.start(max(int(round(frame_ms * self._frames_per_tick)), 1))
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
