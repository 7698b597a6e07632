"""A run corrected in the dock with Qt events: Stop mid-clip, step back, select track 1, drag its box again
and click Re-seat (same id, tracked on from that frame, the correction in the GeoPackage, earlier frames
unchanged); then a target added mid-clip (a new id from that frame)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from qgis.PyQt.QtCore import Qt
from test_gui_dock import _click, _draw_box
from test_plugin_support import simulated_clip

FRAMES = 16


@pytest.fixture()
def long_clip(tmp_path_factory):
    """Three vehicles over 16 frames: (result, boxes by vehicle id per frame, [(vehicle id, box), ...]
    largest first)."""
    result, targets = simulated_clip(tmp_path_factory.getbasetemp(), FRAMES)
    boxes = [
        {v["vehicle_id"]: tuple(v["box_xywh"]) for v in f["vehicles"] if v["box_xywh"]} for f in result.frames
    ]
    return result, boxes, targets


def _points(gpkg: Path) -> dict:
    """(track id, frame) -> (WKT, score, status) of the GeoPackage's points."""
    from osgeo import ogr

    dataset = ogr.Open(str(gpkg))
    rows = {}
    for feature in dataset.GetLayerByName("points"):
        geometry = feature.GetGeometryRef()
        rows[(feature["track_id"], feature["frame"])] = (
            geometry.ExportToWkt() if geometry is not None else None,
            feature["score"],
            feature["status"],
        )
    return rows


def _corrections(gpkg: Path) -> list[dict]:
    from osgeo import ogr

    dataset = ogr.Open(str(gpkg))
    table = dataset.GetLayerByName("corrections")
    return [feature.items() for feature in table] if table is not None else []


def _assert_corrections_in_project(dock, expected: list) -> None:
    """The run's corrections table is in its group, read from its file: (track id, frame, kind) rows with
    a time and the drawn box."""
    from qgis.core import QgsProject

    table = dock.track_layers.corrections
    assert table is not None and table.providerType() == "ogr" and not table.isSpatial()
    node = QgsProject.instance().layerTreeRoot().findLayer(table.id())
    assert node.parent().name() == dock.track_layers.group.find().name()
    rows = list(table.getFeatures())
    assert [(row["track_id"], row["frame"], row["kind"]) for row in rows] == expected
    assert all(row["time_utc"] and row["width_px"] > 0 for row in rows)
    assert len(dock.track_layers.group.find().findLayers()) == 6  # the five run layers and the table


def _click_row(qtbot, table, row: int) -> None:
    from qgis_siammask.gui.tracks_panel import FRAMES as FRAMES_COLUMN

    rect = table.visualItemRect(table.item(row, FRAMES_COLUMN))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _wait_for_run(qtbot, dock):
    assert dock.task is not None, dock.status_label.text()
    qtbot.waitUntil(lambda: dock.task is None, timeout=150_000)
    return dock.last_outcome


def test_stop_reseat_a_track_and_add_a_target_mid_clip(dock, long_clip, qtbot):
    from qgis_siammask.settings import load_settings, save_settings

    result, boxes, targets = long_clip
    assert dock.open_video(str(result.video_path))
    (car, car_box), (van, van_box) = targets[:2]
    for label, box in (("car", car_box), ("van", van_box)):
        dock.label_edit.setText(label)
        _draw_box(qtbot, dock.frame_view, box)
    assert not dock.tracks_panel.add_button.isEnabled()  # nothing to correct before a run
    _click(qtbot, dock.track_button)
    dock.task.framesReady.connect(
        lambda: (
            1 in dock.tracks_panel.styles
            and dock.tracks_panel.styles[1].frames >= 6
            and dock.stop_button.isEnabled()
            and _click(qtbot, dock.stop_button)
        )
    )
    stopped = _wait_for_run(qtbot, dock)
    assert stopped.status == "cancelled" and 6 <= stopped.frames_tracked < FRAMES, stopped
    gpkg = Path(stopped.gpkg_path)
    before = _points(gpkg)
    assert dock.frame_index == stopped.frames_tracked - 1  # the last frame tracked is on screen

    dock.frame_view.setFocus()
    for _ in range(3):
        qtbot.keyClick(dock.frame_view, Qt.Key.Key_Left)
    reseat_frame = dock.frame_index
    assert reseat_frame == stopped.frames_tracked - 4
    table = dock.tracks_panel.table
    _click_row(qtbot, table, 0)  # track 1, the car
    assert dock.tracks_panel.selected_track() == 1
    assert dock.boxes == []  # the run's own boxes were used by it
    assert not dock.tracks_panel.reseat_button.isEnabled()  # until a box is drawn on this frame
    qtbot.wait(100)  # the dock's layout settles after the run's status lines (the video's size with it)
    new_box = boxes[reseat_frame][car]
    _draw_box(qtbot, dock.frame_view, new_box)
    assert dock.panels.currentWidget() is dock.tracks_panel  # the row stays in sight
    assert dock.frame_view.box_captions == ["new box"]  # not "1: van": its name comes with the button clicked
    save_settings(dataclasses.replace(load_settings(), output_crs="EPSG:3857"))  # changed since the run
    _click(qtbot, dock.tracks_panel.reseat_button)
    assert "Re-seating track 1" in dock.status_label.text()
    assert dock.task.job.crs == "EPSG:4326"  # the run's own parameters, not the settings' new CRS
    reseated = _wait_for_run(qtbot, dock)
    assert reseated.status == "success" and reseated.frames_tracked == FRAMES - reseat_frame, reseated
    assert Path(reseated.gpkg_path) == gpkg

    after = _points(gpkg)
    for track in (1, 2):  # both tracks go on to the end of the clip, once per frame
        assert sorted(frame for t, frame in after if t == track) == list(range(FRAMES))
    earlier = {key: value for key, value in before.items() if key[1] < reseat_frame}
    assert {key: value for key, value in after.items() if key[1] < reseat_frame} == earlier
    (correction,) = _corrections(gpkg)
    assert (correction["track_id"], correction["frame"], correction["kind"]) == (1, reseat_frame, "reseat")
    drawn = [correction[k] for k in ("x_px", "y_px", "width_px", "height_px")]
    assert drawn == pytest.approx(new_box, abs=2.0) and correction["previous_x_px"] is not None
    assert dock.track_layers.layers["points"].providerType() == "ogr"  # reloaded from the file
    _assert_corrections_in_project(dock, [(1, reseat_frame, "reseat")])
    assert dock.track_layers.layers["points"].featureCount() == len(after)
    frames_column = [table.item(row, 3).text() for row in range(table.rowCount())]
    assert frames_column == [str(FRAMES), str(FRAMES)]

    assert dock.frame_index == FRAMES - 1  # the re-seated run showed its frames to the end
    dock.frame_view.setFocus()
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_Home)
    add_frame = reseat_frame + 2
    for _ in range(add_frame):
        qtbot.keyClick(dock.frame_view, Qt.Key.Key_Right)
    assert dock.frame_index == add_frame
    assert sorted(overlay.track_id for overlay in dock.frame_view._overlays) == [1, 2]  # once each
    third = next(vehicle for vehicle in boxes[add_frame] if vehicle not in (car, van))
    dock.label_edit.setText("truck")  # on the Targets tab, hidden: not the added target's label
    _draw_box(qtbot, dock.frame_view, boxes[add_frame][third])
    assert dock.frame_view.box_captions == ["new box"]  # not "1: truck": it becomes "3: target 3"
    _click(qtbot, dock.tracks_panel.add_button)
    added = _wait_for_run(qtbot, dock)
    assert added.status == "success" and added.frames_tracked == FRAMES - add_frame, added
    after = _points(gpkg)
    assert sorted(frame for t, frame in after if t == 3) == list(range(add_frame, FRAMES))
    assert sorted(frame for t, frame in after if t == 1) == list(range(FRAMES))
    assert [(c["track_id"], c["frame"], c["kind"]) for c in _corrections(gpkg)] == [
        (1, reseat_frame, "reseat"),
        (3, add_frame, "add"),
    ]
    assert dock.tracks_panel.track_ids() == [1, 2, 3] and dock.tracks_panel.styles[3].label == "target 3"
    _assert_corrections_in_project(dock, [(1, reseat_frame, "reseat"), (3, add_frame, "add")])
    assert dock.tracks_panel.styles[3].frames == FRAMES - add_frame
