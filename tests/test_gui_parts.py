"""The dock's parts alone: the video session (no widget) on a simulated clip, the player and the targets
panel driven with Qt events, the run controller running a job without the dock."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from qgis.PyQt.QtCore import Qt
from test_plugin_support import simulated_clip, tracking_model


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
    assert asked == [1, 2, 1] and player.slider.value() == 1 and player.frame_spin.text() == "1 / 4"
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
    panel.add_drawn_box(10.04, 20.0, 30.0, 40.0, 3)
    panel.label_edit.clear()
    panel.add_drawn_box(50.0, 60.0, 7.0, 8.0, 3)
    assert [box.label for box in panel.boxes] == ["truck", "target 2"] and panel.boxes[0].x == 10.0
    with qtbot.waitSignal(panel.boxesChanged):
        panel.box_table.item(1, 0).setText("van")  # as an edit in the table does
    assert panel.boxes[1].label == "van" and panel.boxes[1].frame == 3  # the frame kept
    assert panel.box_table.item(1, 1).text() == "3"
    panel.box_table.selectRow(0)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert [box.label for box in panel.boxes] == ["van"] and panel.box_table.rowCount() == 1
    qtbot.mouseClick(panel.clear_button, Qt.MouseButton.LeftButton)
    assert panel.boxes == [] and panel.box_table.rowCount() == 0


def _wheel(view, pos, notches: int) -> None:
    """A mouse wheel turned `notches` clicks (positive: away from the user) over widget point `pos`."""
    from qgis.PyQt.QtCore import QPoint, QPointF
    from qgis.PyQt.QtGui import QWheelEvent
    from qgis.PyQt.QtWidgets import QApplication

    event = QWheelEvent(
        QPointF(pos),
        QPointF(view.mapToGlobal(pos)),
        QPoint(0, 0),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view, event)


def test_frame_view_wheel_zoom_then_box_pan_and_fit(qgis_app, qtbot):
    """Zoomed with the wheel about the cursor, a box dragged with the mouse lands on the image pixels under
    it; a middle drag and a Ctrl + left drag pan (no box); the wheel back out fits the whole frame."""
    from qgis.PyQt.QtCore import QPoint

    from qgis_siammask.gui.frame_view import FrameView, bgr_to_qimage

    view = FrameView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_image(bgr_to_qimage(np.zeros((270, 480, 3), np.uint8)))
    fit_scale = 400 / 480  # the width limits: the fitted frame is 400 x 225 px, 37.5 px from the top
    cursor = QPoint(250, 170)
    under_cursor = np.array([250 / fit_scale, (170 - 37.5) / fit_scale])
    boxes = []
    view.boxDrawn.connect(lambda *xywh: boxes.append(xywh))

    _wheel(view, cursor, 2)
    scale = fit_scale * 1.25**2
    assert view.zoom == pytest.approx(1.5625)
    start, end = QPoint(200, 120), QPoint(300, 220)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view, QPoint(250, 170))
    qtbot.mouseMove(view, end)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=end)
    corner = under_cursor + (np.array([start.x(), start.y()]) - [cursor.x(), cursor.y()]) / scale
    assert np.allclose(boxes[-1], [*corner, 100 / scale, 100 / scale], atol=0.01), boxes

    before = view.widget_to_image(QPoint(200, 150))
    qtbot.mousePress(view, Qt.MouseButton.MiddleButton, pos=QPoint(200, 150))
    qtbot.mouseMove(view, QPoint(150, 150))
    qtbot.mouseRelease(view, Qt.MouseButton.MiddleButton, pos=QPoint(150, 150))
    after = view.widget_to_image(QPoint(200, 150))
    assert after.x() - before.x() == pytest.approx(50 / scale) and after.y() == pytest.approx(before.y())
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, QPoint(150, 150))
    qtbot.mouseMove(view, QPoint(150, 100))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, QPoint(150, 100))
    assert len(boxes) == 1 and view.widget_to_image(QPoint(200, 150)).y() == pytest.approx(
        before.y() + 50 / scale
    )

    for _ in range(40):  # far past the largest zoom: it stops there
        _wheel(view, cursor, 1)
    assert view.zoom == 32.0
    _wheel(view, cursor, -40)
    assert view.zoom == 1.0 and view.image_rect().getRect() == (0.0, 37.5, 400.0, 225.0)


def test_run_controller_alone_tracks_swaps_for_the_file_and_exports(
    qgis_app, qtbot, tmp_path_factory, tmp_path, request
):
    """The run controller without the dock: a run on a simulated clip reports its frames and progress,
    ends with its live layers swapped for its GeoPackage's, and exports them."""
    from qgis.core import QgsProject

    from qgis_siammask.gui.frame_view import DrawnBox
    from qgis_siammask.gui.tracking_runs import RunController
    from qgis_siammask.gui.video_session import VideoSession
    from qgis_siammask.layer_tree import VideoLayerGroup
    from qgis_siammask.settings import PluginSettings, save_settings

    QgsProject.instance().clear()
    model = tracking_model(request)
    save_settings(PluginSettings(model_path=model, device="cpu", output_folder=str(tmp_path)))
    result, targets = simulated_clip(tmp_path_factory.getbasetemp(), 10)
    session = VideoSession.open(str(result.video_path))
    runs = RunController(None)
    frames, progress, statuses = [], [], []
    runs.framesTracked.connect(lambda tracked: frames.extend(f.frame for f in tracked))
    runs.progressChanged.connect(progress.append)
    runs.statusChanged.connect(lambda text, level: statuses.append(text))
    try:
        box = DrawnBox(*targets[0][1], "car", 2)
        assert runs.boxes_frame([box, DrawnBox(1, 1, 5, 5, "van", 3)], None) is None  # two frames
        assert runs.boxes_frame([box], 1) is None and "end frame 1" in statuses[-1]
        assert runs.boxes_frame([box], None) == 2
        with qtbot.waitSignal(runs.runFinished, timeout=120_000) as finished:
            runs.start(session, VideoLayerGroup("clip"), 2, 7, [box])
        outcome = finished.args[0]
        assert outcome.status == "success" and outcome.frames_tracked == 6
        assert frames == list(range(2, 8)) and progress[0] == 0 and progress[-1] == 100
        assert runs.task is None and runs.results == "gpkg" and runs.result_gpkg == Path(outcome.gpkg_path)
        points = runs.track_layers.layers["points"]
        assert points.providerType() == "ogr" and points.featureCount() == 6
        assert "Saved in" in statuses[-1]
        exported = runs.export_geopackage(str(tmp_path / "copy.gpkg"), add_to_project=False)
        assert exported.is_file() and len(QgsProject.instance().layerTreeRoot().findGroups()) == 1
    finally:
        session.close()
        runs.forget()
        QgsProject.instance().clear()


def test_a_correction_plan_reseats_or_adds_with_the_tracks_not_lost(qgis_app):
    """Re-seat: the track on the new box (its label kept), with the other tracks not lost on that frame
    from their boxes; add: an id one above the highest known."""
    from shapely.geometry import box as shapely_box

    from qgis_siammask.core.output.geometry import FrameFeatures, TrackFeature
    from qgis_siammask.gui.corrections import plan_correction
    from qgis_siammask.gui.frame_view import DrawnBox

    def track(track_id, status, x):
        return TrackFeature(
            track_id, f"t{track_id}", 7, None, 0.9, status, box_px=shapely_box(x, 10, x + 20, 40)
        )

    tracks = (track(1, "tracking", 0), track(2, "lost", 50), track(4, "tracking", 100))
    frame = FrameFeatures(7, None, "EPSG:4326", None, tracks)
    drawn = DrawnBox(5.0, 12.0, 22.0, 30.0, "vehicle", 7)
    reseat = plan_correction(frame, drawn, 1, {1: "my car"}, known_ids=[1, 2, 4])
    assert reseat.track_ids == (1, 4) and [b.label for b in reseat.boxes] == ["my car", "t4"]
    assert reseat.boxes[0].xywh == drawn.xywh and reseat.boxes[1].xywh == (100, 10, 20, 30)
    assert (reseat.correction.kind, reseat.correction.previous_box_xywh) == ("reseat", (0, 10, 20, 30))
    add = plan_correction(frame, drawn, None, {}, known_ids=[1, 2, 4, 6])
    assert add.track_ids == (7, 1, 4) and add.boxes[0].label == "target 7"  # not the Targets tab's field
    assert add.correction.kind == "add" and add.correction.previous_box_xywh is None


def test_map_side_alone_follows_the_frames_marks_a_pixel_and_cleans_up(qgis_app, qtbot, tmp_path_factory):
    """The dock's map side without the dock: a clip's group and playback layers, the footprint moving with
    the frames shown (at most every MAP_UPDATE_INTERVAL_S unless asked now), a video pixel marked on the
    map, Esc clearing it, and nothing left on the map once the clip closes."""
    from qgis.core import QgsProject
    from qgis.PyQt.QtWidgets import QWidget
    from test_plugin_support import StubInterface

    from qgis_siammask.gui.dock_map_side import MapSide
    from qgis_siammask.gui.frame_view import FrameView
    from qgis_siammask.gui.video_session import VideoSession

    QgsProject.instance().clear()
    iface, parent = StubInterface(), QWidget()
    qtbot.addWidget(parent)
    view = FrameView(parent)
    map_side = MapSide(iface, view, parent)
    result, _ = simulated_clip(tmp_path_factory.getbasetemp(), 10)
    session = VideoSession.open(str(result.video_path))
    try:
        map_side.open_clip(session, str(result.video_path))
        assert len(QgsProject.instance().layerTreeRoot().findGroups()) == 1  # the clip's group

        def show(index: int, now: bool) -> None:
            record, camera, _ = session.camera_at(session.read(index).time_s)
            map_side.frame_shown(index, record, camera)
            map_side.follow_frame(now=now)

        def footprint_frame() -> int:
            return next(map_side.playback_layers.footprint.getFeatures())["frame"]

        show(3, now=True)
        assert footprint_frame() == 3
        show(4, now=False)  # right after frame 3: the map waits
        assert footprint_frame() == 3
        map_side.catch_up()  # playing stopped: the map catches up
        assert footprint_frame() == 4 and sorted(map_side.trail_lonlat) == [3, 4]

        view.pixelPicked.emit(240.0, 135.0)  # shift + click at the frame's centre
        assert map_side.ground_marks.map_point is not None
        assert "lat" in map_side.map_pick_row.map_hint.text()
        view.escapePressed.emit()
        assert map_side.ground_marks.map_point is None and view._marked is None

        map_side.close_clip()
        assert map_side.playback_layers is None and map_side.session is None
        project = QgsProject.instance()
        assert not project.layerTreeRoot().findGroups() and not project.mapLayers()
    finally:
        session.close()
        map_side.ground_marks.clear()
        iface.main_window.deleteLater()
        QgsProject.instance().clear()


class _ShownClip:
    """What the run side needs of the dock: the open clip, its layer group and the frame on screen."""

    def __init__(self, session, group):
        self.session, self.group, self.frame_index, self.shown = session, group, 0, []

    def show_frame(self, index: int, update_map: bool = False) -> bool:
        if self.session.read(index) is None:
            return False
        self.frame_index = index
        self.shown.append(index)
        return True


def test_run_side_alone_starts_on_the_boxes_frame_and_shows_what_comes_back(
    qgis_app, qtbot, tmp_path_factory, tmp_path, request
):
    """The dock's run side without the dock: Track shows the boxes' frame first, starts the controller,
    feeds each tracked frame to the clip and the tracks panel, and after the run its boxes are used up."""
    from qgis.core import QgsProject

    from qgis_siammask.gui.dock_run_side import RunSide
    from qgis_siammask.gui.map_time_sync import MapTimeSync
    from qgis_siammask.gui.player import Player
    from qgis_siammask.gui.targets_panel import TargetsPanel
    from qgis_siammask.gui.tracking_runs import RunController
    from qgis_siammask.gui.tracks_panel import TracksPanel
    from qgis_siammask.gui.video_session import VideoSession
    from qgis_siammask.layer_tree import VideoLayerGroup
    from qgis_siammask.settings import PluginSettings, save_settings

    QgsProject.instance().clear()
    model = tracking_model(request)
    save_settings(PluginSettings(model_path=model, device="cpu", output_folder=str(tmp_path)))
    result, targets = simulated_clip(tmp_path_factory.getbasetemp(), 10)
    session = VideoSession.open(str(result.video_path))
    runs, targets_panel, tracks_panel, player = RunController(None), TargetsPanel(), TracksPanel(), Player()
    for widget in (targets_panel, tracks_panel, player):
        qtbot.addWidget(widget)
    clip = _ShownClip(session, VideoLayerGroup("clip"))
    run_side = RunSide(runs, targets_panel, tracks_panel, player, MapTimeSync(None), clip)
    signals = []
    for name in ("controlsChanged", "overlaysChanged", "tracksShown"):
        getattr(run_side, name).connect(lambda name=name: signals.append(name))
    try:
        targets_panel.set_last_frame(session.last_frame)
        assert run_side.start_tracking() is None and clip.shown == []  # no box: nothing starts
        targets_panel.add_box(*targets[0][1], "car", 2)
        targets_panel.end_frame_spin.setValue(6)
        with qtbot.waitSignal(runs.runFinished, timeout=120_000):
            task = run_side.start_tracking()
            assert task is not None and clip.shown == [2] and signals == ["controlsChanged"]
        assert clip.shown[-1] == 6 and clip.frame_index == 6  # each batch's last frame shown
        assert "tracksShown" in signals and signals[-2:] == ["overlaysChanged", "controlsChanged"]
        assert tracks_panel.styles[1].frames == 5 and tracks_panel.styles[1].label == "car"
        assert session.frame_features(4) is not None  # the clip holds the run's frames for its overlays
        assert targets_panel.boxes == [] and targets_panel.end_frame is None  # used by the run
    finally:
        session.close()
        runs.forget()
        QgsProject.instance().clear()
