"""The dock's parts alone: the video session (no widget) on a simulated clip, the player and the targets
panel driven with Qt events."""

from __future__ import annotations

import numpy as np
from qgis.PyQt.QtCore import Qt
from test_plugin_support import simulated_clip


def test_video_session_frames_cameras_and_a_bad_dem(qgis_app, tmp_path_factory, tmp_path):
    from qgis_siammask.gui.video_session import VideoSession

    result, _ = simulated_clip(tmp_path_factory.getbasetemp(), 10)
    session = VideoSession.open(str(result.video_path))
    try:
        assert session.last_frame == 9 and session.telemetry is not None
        frame = session.read(3)
        assert frame.index == 3 and frame.image.shape == (270, 480, 3)
        assert session.read(10) is None  # past the end: nothing, no exception
        record, camera, problem = session.camera_at(frame.time_s)
        assert problem is None and record is not None
        truth = np.asarray(result.frames[3]["truth"]["lonlat_deg"][1:])  # UL, UR, LR, LL
        corners = camera.footprint().lonlat_deg
        assert np.abs(corners - truth).max() < 2e-5  # about 2 m
        bad_dem = tmp_path / "dem.tif"
        bad_dem.write_bytes(b"not a raster")
        assert "dem.tif" in session.use_dem(str(bad_dem))
        assert session.terrain is None  # flat ground, and the camera still works
        assert session.camera_at(frame.time_s)[1] is not None
    finally:
        session.close()


def test_player_asks_for_frames_and_stops_past_the_end(qgis_app, qtbot):
    from qgis_siammask.gui.player import Player

    player = Player()
    qtbot.addWidget(player)
    player.set_clip(last_frame=4, fps=50.0, duration_s=0.1)
    asked = []
    player.frameRequested.connect(asked.append)
    player.frameRequested.connect(lambda i: i <= 4 and player.show_position(i, i / 50.0))
    player.frameRequested.connect(lambda i: i > 4 and player.pause())
    player.show()
    qtbot.mouseClick(player.step_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(player.step_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(player.step_back_button, Qt.MouseButton.LeftButton)
    assert asked == [1, 2, 1] and player.slider.value() == 1 and "frame 1/4" in player.time_label.text()
    with qtbot.waitSignal(player.paused, timeout=5000):
        qtbot.mouseClick(player.play_button, Qt.MouseButton.LeftButton)
    assert asked[-2:] == [4, 5] and not player.playing


def test_targets_panel_label_edit_and_remove(qgis_app, qtbot):
    from qgis_siammask.gui.targets_panel import TargetsPanel

    panel = TargetsPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.label_edit.clear()
    qtbot.keyClicks(panel.label_edit, "truck")
    panel.add_drawn_box(10.04, 20.0, 30.0, 40.0)
    panel.label_edit.clear()
    panel.add_drawn_box(50.0, 60.0, 7.0, 8.0)
    assert [box.label for box in panel.boxes] == ["truck", "target 2"] and panel.boxes[0].x == 10.0
    with qtbot.waitSignal(panel.boxesChanged):
        panel.box_table.item(1, 0).setText("van")  # as an edit in the table does
    assert panel.boxes[1].label == "van"
    panel.box_table.selectRow(0)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert [box.label for box in panel.boxes] == ["van"] and panel.box_table.rowCount() == 1
    qtbot.mouseClick(panel.clear_button, Qt.MouseButton.LeftButton)
    assert panel.boxes == [] and panel.box_table.rowCount() == 0
