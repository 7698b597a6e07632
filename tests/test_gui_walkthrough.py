"""What a new user's walkthrough of the plugin found, each driven with Qt events on the real widgets:
boxes remember their frame, the output field, a new project, Open folder without a file manager."""

from __future__ import annotations

from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QPushButton
from test_gui_dock import FRAMES, _click, _draw_box, clip, dock  # noqa: F401 (fixtures)


def _button(dock, text):
    return next(b for b in dock.findChildren(QPushButton) if b.text() == text)


def test_track_starts_on_the_frame_the_boxes_were_drawn_on(dock, clip, qtbot):  # noqa: F811
    result, targets = clip
    assert dock.open_video(str(result.video_path))
    _draw_box(qtbot, dock.frame_view, targets[0][1])  # on frame 0
    assert dock.boxes[0].frame == 0 and dock.box_table.item(0, 1).text() == "0"
    dock.frame_view.setFocus()
    for _ in range(3):
        qtbot.keyClick(dock.frame_view, Qt.Key.Key_Right)
    assert dock.frame_index == 3
    _click(qtbot, dock.track_button)
    assert dock.task is not None and dock.task.job.start_frame == 0  # not the frame shown when clicked
    assert dock.slider.value() == 0  # the video went back to the boxes' frame
    qtbot.waitUntil(lambda: dock.task is None, timeout=150_000)
    assert dock.last_outcome.frames_tracked == FRAMES

    _click(qtbot, _button(dock, "Clear boxes"))
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_Left)
    _draw_box(qtbot, dock.frame_view, targets[0][1])
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_Left)
    _draw_box(qtbot, dock.frame_view, targets[0][1])
    _click(qtbot, dock.track_button)
    assert dock.task is None  # boxes of two frames: no run, the dock asks to redraw
    assert f"different frames ({FRAMES - 3}, {FRAMES - 2})" in dock.status_label.text()
