"""The run flow an analyst goes through, with Qt events on the real dock: a run, then a new run on later
frames with another target (its boxes and end frame are not refused by the first run's), the tracks
panel showing the new run alone and editing its layers; a deleted track's id never given again."""

from __future__ import annotations

import pytest
from qgis.core import QgsVectorLayer
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QMessageBox
from test_gui_dock import _answer_next_question, _click, _draw_box, _track_clicked
from test_gui_dock_walk import _go_to_frame
from test_gui_reseat import _click_row, _points, _wait_for_run

from qgis_siammask.gui.tracks_panel import FRAMES as FRAMES_COLUMN
from qgis_siammask.gui.tracks_panel import LABEL


@pytest.fixture()
def boxes_by_frame(clip):
    """(result, [{vehicle id: (x, y, w, h)} per frame], [(vehicle id, box in frame 0), ...] largest first)."""
    result, targets = clip
    boxes = [
        {v["vehicle_id"]: tuple(v["box_xywh"]) for v in f["vehicles"] if v["box_xywh"]} for f in result.frames
    ]
    return result, boxes, [(vehicle, box) for vehicle, box, *_ in targets]


def _labels(gpkg) -> set:
    layer = QgsVectorLayer(f"{gpkg}|layername=points", "points", "ogr")
    return {(feature["track_id"], feature["label"]) for feature in layer.getFeatures()}


def test_a_second_run_on_later_frames_with_another_target(dock, boxes_by_frame, qtbot):
    """Run A tracks "alpha" on frames 0-3; then a box on frame 5 and end frame 8 start run B ("beta")
    without a refusal (run A's box and end frame were used by it); the panel lists run B's track alone,
    with its label and frame count, and renaming its row renames run B's features, not run A's."""
    result, boxes, targets = boxes_by_frame
    (alpha, alpha_box), (beta, _) = targets[:2]
    assert dock.open_video(str(result.video_path))
    dock.label_edit.setText("alpha")
    _draw_box(qtbot, dock.frame_view, alpha_box)
    dock.targets.end_frame_spin.setValue(3)
    run_a = _track_clicked(qtbot, dock)
    assert run_a.status == "success" and run_a.frames_tracked == 4, run_a
    assert dock.boxes == [] and dock.targets.end_frame is None  # used by run A
    assert not dock.tracks_panel.add_button.isEnabled()  # no box on the frame shown

    _go_to_frame(qtbot, dock, 5)
    dock.label_edit.setText("beta")
    _draw_box(qtbot, dock.frame_view, boxes[5][beta])
    assert dock.tracks_panel.add_button.isEnabled()  # a box on the frame shown: it could be added
    _go_to_frame(qtbot, dock, 4)
    assert not dock.tracks_panel.add_button.isEnabled()  # not on this frame
    dock.targets.end_frame_spin.setValue(8)
    run_b = _track_clicked(qtbot, dock)  # from the boxes' frame, 5
    assert run_b.status == "success" and run_b.frames_tracked == 4, (run_b, dock.status_label.text())
    assert run_b.gpkg_path != run_a.gpkg_path

    table = dock.tracks_panel.table
    assert table.rowCount() == 1
    assert (table.item(0, LABEL).text(), table.item(0, FRAMES_COLUMN).text()) == ("beta", "4")
    _go_to_frame(qtbot, dock, 6)
    dock.frame_view.grab()
    assert [overlay.label for overlay in dock.frame_view._overlays] == ["beta"]

    rect = table.visualItemRect(table.item(0, LABEL))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.keyClick(table, Qt.Key.Key_F2)
    from qgis.PyQt.QtWidgets import QApplication

    editor = QApplication.focusWidget()
    editor.selectAll()
    qtbot.keyClicks(editor, "lorry")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dock.tracks_panel.styles[1].label == "lorry")
    assert _labels(run_b.gpkg_path) == {(1, "lorry")}  # run B's file
    live = dock.track_layers.layers["points"]  # run B's layers on the map
    assert {feature["label"] for feature in live.getFeatures()} == {"lorry"}
    assert _labels(run_a.gpkg_path) == {(1, "alpha")}  # run A untouched


def test_an_added_target_never_takes_a_deleted_tracks_id(dock, boxes_by_frame, qtbot):
    """Two tracks; track 2 (the highest id) deleted after the dialog is answered Yes; a target added
    mid-clip gets id 3, not 2."""
    result, boxes, targets = boxes_by_frame
    (car, car_box), (van, van_box) = targets[:2]
    assert dock.open_video(str(result.video_path))
    for label, box in (("car", car_box), ("van", van_box)):
        dock.label_edit.setText(label)
        _draw_box(qtbot, dock.frame_view, box)
    dock.targets.end_frame_spin.setValue(3)
    run = _track_clicked(qtbot, dock)
    assert run.status == "success" and dock.tracks_panel.track_ids() == [1, 2]

    _click_row(qtbot, dock.tracks_panel.table, 1)
    asked = _answer_next_question(qtbot, QMessageBox.StandardButton.Yes)
    _click(qtbot, dock.tracks_panel.delete_button)
    assert 'track 2 "van"' in asked[0] and dock.tracks_panel.track_ids() == [1]
    assert {track for track, _ in _points(run.gpkg_path)} == {1}

    _go_to_frame(qtbot, dock, 2)
    dock.label_edit.setText("truck")
    _draw_box(qtbot, dock.frame_view, boxes[2][van])
    _click(qtbot, dock.tracks_panel.add_button)
    assert "Adding track 3" in dock.status_label.text()
    added = _wait_for_run(qtbot, dock)
    assert added.status == "success", added
    tracked = {track for track, _ in _points(run.gpkg_path)}
    assert tracked == {1, 3} and dock.tracks_panel.track_ids() == [1, 3]
