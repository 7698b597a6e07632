"""What a new user's walkthrough of the dock found, each checked with Qt events on the real dock: map time
following the video over the whole clip, boxes drawn after a run, the video's share of the dock and its
true scale, the time field, a clip without telemetry, the telemetry table following the video, labels
kept apart."""

from __future__ import annotations

import pytest
from qgis.core import QgsProject, QgsTemporalNavigationObject
from qgis.PyQt.QtCore import QPoint, Qt
from test_gui_dock import FRAMES, _click, _draw_box, _track_clicked, _without_telemetry
from test_gui_parts import _wheel

from qgis_siammask.gui.dock_parts import SIDE_BY_SIDE_MIN_WIDTH_PX


@pytest.fixture()
def controller(dock):
    """QGIS's temporal controller on the dock's canvas, as its panel installs it, not animated yet."""
    controller = QgsTemporalNavigationObject(dock.iface.canvas)
    dock.iface.canvas.setTemporalController(controller)
    return controller


def _go_to_frame(qtbot, dock, index: int) -> None:
    spin = dock.player.frame_spin
    spin.selectAll()
    qtbot.keyClicks(spin, str(index))
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert dock.frame_index == index


def test_map_time_follows_the_whole_clip_and_boxes_show_after_a_run(dock, controller, clip, qtbot):
    """Opening a clip turns map time on over the whole clip (the status says so); a run on frames 2-4
    leaves it so: the video at frame 8 moves map time to frame 8. A box drawn after the run is drawn."""
    result, targets = clip
    assert dock.open_video(str(result.video_path))
    assert controller.navigationMode() == QgsTemporalNavigationObject.NavigationMode.Animated
    assert controller.totalFrameCount() == FRAMES and "Map time follows" in dock.status_label.text()
    _go_to_frame(qtbot, dock, 2)
    assert controller.currentFrameNumber() == 2
    _draw_box(qtbot, dock.frame_view, targets[0][1])
    dock.targets.end_frame_spin.setValue(4)
    outcome = _track_clicked(qtbot, dock)
    assert outcome.status == "success" and outcome.frames_tracked == 3
    assert controller.totalFrameCount() == FRAMES  # the run's span did not shrink map time
    _go_to_frame(qtbot, dock, 8)
    assert controller.currentFrameNumber() == 8
    controller.setCurrentFrameNumber(3)
    assert dock.frame_index == 3

    view = dock.frame_view
    view.grab()  # paints
    tracked_labels = len(view.label_rects)
    assert tracked_labels == 1 and len(view._overlays) == 1
    _draw_box(qtbot, view, (10, 10, 40, 30))  # a new target beside the tracked one
    view.grab()
    assert dock.boxes[-1].frame == 3 and len(view.label_rects) == 2  # its box and label are drawn too


def test_labels_of_nearby_targets_do_not_overlap(dock, clip, qtbot):
    """Two boxes drawn side by side, their labels wider than the boxes: both readable, apart."""
    result, _ = clip
    assert dock.open_video(str(result.video_path))
    for label, box in (("vehicle", (100, 100, 20, 15)), ("white car", (110, 104, 20, 15))):
        dock.label_edit.setText(label)
        _draw_box(qtbot, dock.frame_view, box)
    dock.frame_view.grab()
    first, second = dock.frame_view.label_rects
    assert not first.intersects(second)


def test_video_size_scale_and_time_field(dock, clip, qtbot, tmp_path):
    """The video is the largest part of the dock (the panels start compact), larger when detached; the
    zoom label gives screen pixels per video pixel; another clip opens fitted; the time field is wide
    enough for a time and shows the frame's own time after a jump."""
    result, _ = clip
    assert dock.open_video(str(result.video_path))
    view, player = dock.frame_view, dock.player
    body = dock.widget().height()
    # the panels keep three table rows (second walkthrough): the video is still the dock's largest part
    assert view.height() >= 0.25 * body, (view.height(), body, dock.panels.height())
    assert view.height() > dock.panels.height()
    scale = view.image_rect().width() / result.config.width_px
    assert dock.zoom_label.text() == f"{100 * scale:.0f} %"
    _wheel(view, view.rect().center(), 3)
    assert view.zoom > 1.9
    assert dock.open_video(str(_without_telemetry(result, tmp_path / "plain.mp4")))
    assert view.zoom == 1.0 and dock.zoom_label.text() == f"{100 * scale:.0f} %"

    edit = player.time_edit
    assert edit.width() >= edit.fontMetrics().horizontalAdvance("00:00.32") + 8
    edit.selectAll()
    qtbot.keyClicks(edit, "00:00.30")  # 7.5 frames at 25 fps: frame 8, at 0.32 s
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert dock.frame_index == 8 and edit.text() == "00:00.32"

    dock.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)  # in QGIS's window
    dock.setFloating(False)
    assert not dock.isFloating()
    _click(qtbot, dock.detach_button)
    assert dock.isFloating()
    side_by_side = dock.screen().availableGeometry().width() * 0.9 >= SIDE_BY_SIDE_MIN_WIDTH_PX
    assert (dock.split.orientation() == Qt.Orientation.Horizontal) == side_by_side
    dock.split.set_side_by_side(True)  # as on a 1600x1000 screen (the offscreen screen may be smaller)
    dock.resize(1440, 900)
    qtbot.waitUntil(lambda: dock.width() == 1440)
    assert view.height() >= 0.6 * dock.height() and view.width() >= 0.6 * dock.width()
    _click(qtbot, dock.detach_button)  # docked back: the panels under the video again
    assert not dock.isFloating() and dock.split.orientation() == Qt.Orientation.Vertical


def test_clip_without_telemetry_adds_nothing_to_the_map(dock, clip, qtbot, tmp_path, monkeypatch):
    """No telemetry: no layer group, the telemetry field readable from its start, Shift + click says
    there is no telemetry; a pixel run names the JSON lines file it writes and offers no "add to
    project"; opening another clip clears the run's state."""
    result, targets = clip
    plain = _without_telemetry(result, tmp_path / "plain.mp4")
    assert dock.open_video(str(plain))
    assert QgsProject.instance().layerTreeRoot().children() == [] and not QgsProject.instance().mapLayers()
    field = dock.telemetry_edit
    assert field.cursorPosition() == 0 and field.toolTip() == field.text() and "no telemetry" in field.text()
    view = dock.frame_view
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, QPoint(200, 100))
    assert "No telemetry" in dock.map_hint.text()

    _draw_box(qtbot, view, targets[0][1])
    dock.targets.end_frame_spin.setValue(2)
    _click(qtbot, dock.track_button)
    assert ".jsonl" in dock.status_label.text() and ".gpkg" not in dock.status_label.text()
    qtbot.waitUntil(lambda: dock.task is None, timeout=150_000)
    assert dock.last_outcome.frames_tracked == 3 and dock.export_button.isEnabled()
    assert dock.run_rows.export_add_check.isHidden()  # a CSV export adds no layers

    assert dock.open_video(str(result.video_path))
    assert not dock.export_button.isEnabled() and dock.progress.value() == 0


def test_telemetry_table_follows_the_video(dock, clip, qtbot, tmp_path, monkeypatch):
    """The table selects the record of the frame on screen as the video moves; a clicked row shows its
    frame; headers are whole, rows one line; Export suggests a file name. The read-out leaves out the
    unknown slant range and names the ground."""
    from qgis.PyQt.QtWidgets import QFileDialog

    result, _ = clip
    assert dock.open_video(str(result.video_path))
    assert "slant" not in dock.telemetry_label.text() and "flat ground" in dock.telemetry_label.text()
    _click(qtbot, dock.telemetry_table_button)
    table = dock.telemetry_table.dialog.view
    qtbot.waitExposed(dock.telemetry_table.dialog)
    assert table.selectionModel().selectedRows()[0].row() == 0
    _click(qtbot, dock.step_button)
    _click(qtbot, dock.step_button)
    assert table.selectionModel().selectedRows()[0].row() == 2
    header = table.horizontalHeader()
    model = table.model()
    for column in range(model.columnCount()):
        name = model.headerData(column, Qt.Orientation.Horizontal)
        assert header.sectionSize(column) >= header.fontMetrics().horizontalAdvance(name), name
    assert table.verticalHeader().sectionSize(0) <= table.fontMetrics().height() + 8
    rect = table.visualRect(model.index(5, 1))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert dock.frame_index == 5 and table.selectionModel().selectedRows()[0].row() == 5

    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a: asked.append(a[2]) or ("", ""))
    _click(qtbot, dock.telemetry_table.dialog.export_button)
    assert asked and asked[0].endswith("video_telemetry.csv")
