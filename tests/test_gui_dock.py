"""The video dock in a real headless QgsApplication, on a simulated clip with known truth, driven with
Qt events as a user drives it: open (telemetry found automatically), keys and clicks to play and step,
a box dragged with the mouse, Track clicked, the live layers checked against the truth and then
swapped for the run's GeoPackage, Export clicked, cancel; the group moved (as a drag does) or removed,
a new project, a video reopened."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from qgis.core import QgsLayerTreeModel, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QPoint, Qt, QTimer
from qgis.PyQt.QtWidgets import QApplication, QMessageBox
from test_plugin_support import GUI_CLIP_FRAMES, StubInterface, truth_centres

FRAMES = GUI_CLIP_FRAMES  # the conftest `clip`


def _click(qtbot, button):
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _answer_next_question(qtbot, button) -> list[str]:
    """Click `button` (a QMessageBox.StandardButton) of the next message box once it shows; the list
    gets its text."""
    texts = []

    def answer():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, answer)
            return
        texts.append(box.text())
        qtbot.mouseClick(box.button(button), Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, answer)
    return texts


def _track_clicked(qtbot, dock, timeout_ms=150_000):
    """Click Track, wait for the run's end; the outcome."""
    _click(qtbot, dock.track_button)
    assert dock.task is not None, dock.status_label.text()
    qtbot.waitUntil(lambda: dock.task is None, timeout=timeout_ms)
    return dock.last_outcome


def _gpkg_layers(group_name):
    """{layer name: layer} of the GeoPackage-backed layers in the (first) group called `group_name`."""
    group = QgsProject.instance().layerTreeRoot().findGroup(group_name)
    assert group is not None, group_name
    layers = [node.layer() for node in group.findLayers()]
    return {layer.name(): layer for layer in layers if layer.providerType() == "ogr"}


def _draw_box(qtbot, view, box_xywh):
    x, y, w, h = box_xywh
    start = view.image_to_widget(x, y).toPoint()
    end = view.image_to_widget(x + w, y + h).toPoint()
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view, QPoint((start.x() + end.x()) // 2, (start.y() + end.y()) // 2))
    qtbot.mouseMove(view, end)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=end)


def _metres(lonlat_a, lonlat_b) -> float:
    lat = np.radians((lonlat_a[1] + lonlat_b[1]) / 2)
    dx = (lonlat_a[0] - lonlat_b[0]) * 111320.0 * np.cos(lat)
    dy = (lonlat_a[1] - lonlat_b[1]) * 110540.0
    return float(np.hypot(dx, dy))


def test_open_seek_draw_track_export(dock, clip, qtbot, tmp_path, monkeypatch):
    from qgis.PyQt.QtWidgets import QFileDialog

    from qgis_siammask.gui import run_export
    from qgis_siammask.layers import TrackLayers

    result, targets = clip
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a: (str(result.video_path), ""))
    _click(qtbot, dock.open_button)
    assert dock.video_path == str(result.video_path)
    # memory bounded as on a long video: 3 frames in the live layers and in the overlays' memory
    monkeypatch.setattr(TrackLayers, "live_window_frames", 3)
    dock.session.run_frames.capacity_frames, dock.session.run_frames.chunk_frames = 3, 2
    assert dock.telemetry is not None  # embedded KLV or the same-name SRT, found without asking
    assert dock.slider.maximum() == FRAMES - 1
    assert dock.player.frame_spin.text() == f"0 / {FRAMES - 1}"
    assert dock.playback_layers.footprint.featureCount() == 1
    assert (
        dock.playback_layers.platform.featureCount() == 1 and dock.playback_layers.centre.featureCount() == 1
    )
    assert "sensor" in dock.telemetry_label.text()

    dock.frame_view.setFocus()
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_Space)  # play
    qtbot.waitUntil(lambda: dock.frame_index >= 4, timeout=10_000)
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_Space)  # pause
    assert not dock.playing
    shown = next(dock.playback_layers.footprint.getFeatures())["frame"]
    assert shown == dock.frame_index >= 4  # the map caught up with the paused video
    dock.slider.setValue(0)
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_Right)
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_Right)
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_Left)
    assert dock.frame_index == 1 and dock.slider.value() == 1
    _click(qtbot, dock.step_button)
    assert dock.frame_index == 2
    record = dock.telemetry.at(dock.current_frame.time_s)  # the read-out shows the frame on screen
    assert dock.telemetry_label.text().startswith(record.time_utc.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3])
    dock.slider.setValue(6)
    assert dock.frame_index == 6 and dock.player.frame_spin.text() == f"6 / {FRAMES - 1}"
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_Space)  # play to the end: the map catches up when it stops
    qtbot.waitUntil(lambda: not dock.playing, timeout=10_000)
    trail = next(dock.playback_layers.trail.getFeatures()).geometry().asPolyline()
    truth = [(r.sensor_longitude_deg, r.sensor_latitude_deg) for r in result.telemetry]
    # the trail's inner points depend on the playback throttle (machine load); its ends do not
    assert len(trail) >= 2 and _metres((trail[-1].x(), trail[-1].y()), truth[FRAMES - 1]) < 0.5
    assert _metres((trail[0].x(), trail[0].y()), truth[0]) < 0.5  # from the first frame played
    sight = next(dock.playback_layers.sight.getFeatures()).geometry().asPolyline()
    assert _metres((sight[0].x(), sight[0].y()), truth[FRAMES - 1]) < 0.5 and len(sight) == 2
    dock.slider.setValue(0)
    assert dock.frame_index == 0

    scale = dock.frame_view.image_rect().width() / result.config.width_px
    for label, (_, box) in zip(("car", "van"), targets[:2]):
        dock.label_edit.setText(label)
        _draw_box(qtbot, dock.frame_view, box)
        assert dock.boxes[-1].label == label
        assert np.allclose(dock.boxes[-1].xywh, box, atol=1.0 / scale + 0.5), (dock.boxes[-1], box)
    assert dock.box_table.rowCount() == 2 and dock.track_button.isEnabled()
    assert not dock.export_button.isEnabled()

    drains = []
    _click(qtbot, dock.track_button)
    task = dock.task
    assert task is not None and dock.stop_button.isEnabled() and not dock.track_button.isEnabled()
    live = dock.track_layers.layers["points"]
    assert live.providerType() == "memory"
    task.framesReady.connect(lambda: drains.append(live.featureCount()))
    qtbot.waitUntil(lambda: dock.task is None, timeout=150_000)
    outcome = dock.last_outcome
    assert outcome.status == "success", outcome.message
    assert outcome.frames_tracked == FRAMES and dock.progress.value() == 100
    assert len(drains) >= 2 and max(drains) <= 2 * 3  # live while tracking, the newest 3 frames only
    output = Path(outcome.gpkg_path)
    assert output.parent == tmp_path / "out" and output.is_file()  # the project's output folder
    assert dock.output_edit.text() == str(output.parent) and str(output) in dock.status_label.text()

    counts = dock.track_layers.feature_counts()
    assert counts["points"] == 2 * FRAMES and counts["footprints"] == FRAMES and counts["boxes"] == 2 * FRAMES
    assert counts["masks"] >= FRAMES and counts["lines"] == 2
    stored = _gpkg_layers("tracks 1")  # the map now shows the run's file, not memory layers
    assert sorted(stored) == sorted(counts) and all(stored[n].featureCount() == c for n, c in counts.items())
    assert all(Path(layer.source().split("|")[0]) == output for layer in stored.values())
    footprints_node = QgsProject.instance().layerTreeRoot().findLayer(stored["footprints"].id())
    assert not footprints_node.itemVisibilityChecked()  # stacked outlines would hide the tracks
    boxes_layer = dock.track_layers.layers["boxes"]
    by_label = {}
    for feature in boxes_layer.getFeatures():
        by_label.setdefault(feature["label"], {})[feature["frame"]] = feature.geometry().centroid().asPoint()
    assert set(by_label) == {"car", "van"}
    for label, (vehicle_id, _) in zip(("car", "van"), targets[:2]):
        truth = truth_centres(result, vehicle_id)
        start = by_label[label][0]
        # the drawn box, put on the ground: how well the model follows later is the tracker's own test
        assert _metres((start.x(), start.y()), truth[0]) < 1.5
        assert sorted(by_label[label]) == list(range(FRAMES))
    points = dock.track_layers.layers["points"]
    assert points.temporalProperties().isActive()
    assert points.renderer().type() == "categorizedSymbol" and len(points.renderer().categories()) == 2
    assert dock.frame_index == FRAMES - 1 and len(dock.frame_view._overlays) == 2  # last frame, both overlays
    assert dock.session.run_frames.frames_in_memory <= 3
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_Home)  # frame 0 is out of memory: read back from the file
    drawn = {overlay.label: overlay for overlay in dock.frame_view._overlays}
    assert dock.frame_index == 0 and sorted(drawn) == ["car", "van"]
    for label, (_, box) in zip(("car", "van"), targets[:2]):
        centre = np.mean(drawn[label].rotated_box[:4], axis=0)
        assert np.hypot(*(centre - (box[0] + box[2] / 2, box[1] + box[3] / 2))) < 4, (label, centre, box)
    assert dock.session.run_frames.frames_in_memory <= 3

    opened = []
    monkeypatch.setattr(
        run_export.QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile())
    )
    _click(qtbot, dock.open_folder_button)
    assert opened == [str(output.parent)]

    export_path = tmp_path / "export.gpkg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a: (str(export_path), ""))
    _click(qtbot, dock.export_button)
    for name, count in counts.items():
        layer = QgsVectorLayer(f"{export_path}|layername={name}", name, "ogr")
        assert layer.isValid() and layer.featureCount() == count, name
    read_back = QgsVectorLayer(f"{export_path}|layername=points", "points", "ogr")
    assert read_back.fields().indexOf("time_utc") >= 0
    exported = _gpkg_layers("exported export.gpkg")  # the exported file added to the project
    assert exported["points"].featureCount() == 2 * FRAMES

    dock.shutdown()  # as unloading the plugin does: playback layers go, the runs' layers stay
    root = QgsProject.instance().layerTreeRoot()
    assert [layer.name() for layer in root.findGroup(result.video_path.name).findLayers()] == list(counts)
    assert _gpkg_layers("tracks 1")["points"].featureCount() == 2 * FRAMES
    project_file = tmp_path / "saved.qgz"
    assert QgsProject.instance().write(str(project_file))
    reopened = QgsProject()
    assert reopened.read(str(project_file))
    points = [layer for layer in reopened.mapLayers().values() if layer.name() == "points"]
    assert len(points) == 2 and all(layer.featureCount() == 2 * FRAMES for layer in points)  # run, export
    reopened.clear()


def test_cancel_keeps_what_was_tracked(dock, clip, qtbot, tmp_path):
    result, targets = clip
    assert dock.open_video(str(result.video_path), str(result.srt_path))  # telemetry chosen by hand
    assert dock.telemetry.records[0].source == "srt" and dock.telemetry_edit.text() == str(result.srt_path)
    dock.add_box(*targets[0][1], "car")
    task = dock.start_tracking(str(tmp_path / "cancelled.gpkg"))
    task.framesReady.connect(dock.stop_tracking)  # cancel as soon as the first frames arrive
    qtbot.waitUntil(lambda: dock.task is None, timeout=120_000)
    outcome = dock.last_outcome
    assert outcome.status == "cancelled"
    assert 0 < outcome.frames_tracked < FRAMES
    assert dock.track_layers.feature_counts()["points"] == outcome.frames_tracked
    stored = QgsVectorLayer(f"{tmp_path / 'cancelled.gpkg'}|layername=points", "points", "ogr")
    assert stored.featureCount() == outcome.frames_tracked


def test_dem_from_settings_puts_the_footprint_on_the_terrain(qgis_app, qtbot, tmp_path):
    """With a DEM chosen in the settings, the playback footprint follows the terrain (simulator truth)."""
    from qgis.core import QgsRasterLayer

    from qgis_siammask.core.geo.terrain import DemTerrain
    from qgis_siammask.core.simulator import SimulationConfig, simulate
    from qgis_siammask.gui.video_dock import VideoDock
    from qgis_siammask.settings import PluginSettings, save_settings

    result = simulate(
        SimulationConfig(
            out_dir=tmp_path / "dem_clip",
            seed=1,
            frames=2,
            width_px=320,
            height_px=180,
            dem=True,
            oblique_deg=30.0,
        )
    )
    dem_layer = QgsRasterLayer(str(result.dem_path), "dem")
    QgsProject.instance().addMapLayer(dem_layer)
    save_settings(PluginSettings(device="cpu", dem_layer_id=dem_layer.id()))
    iface = StubInterface()
    dock = VideoDock(iface)
    qtbot.addWidget(dock)
    try:
        assert dock.open_video(str(result.video_path))
        assert isinstance(dock.terrain, DemTerrain)
        ring = next(dock.playback_layers.footprint.getFeatures()).geometry().asPolygon()[0][:4]
        truth = result.frames[0]["truth"]["lonlat_deg"][1:]  # UL, UR, LR, LL
        errors = [_metres((p.x(), p.y()), tuple(t)) for p, t in zip(ring, truth)]
        assert max(errors) < 2.0, errors
    finally:
        dock.shutdown()
        QgsProject.instance().removeMapLayer(dem_layer.id())
        save_settings(PluginSettings(device="cpu"))


def _drag_to_bottom(name):
    """Move a top-level group as a drag in the Layers panel does: clone, insert the clone, remove it."""
    root = QgsProject.instance().layerTreeRoot()
    group = root.findGroup(name)
    root.insertChildNode(len(root.children()), group.clone())
    root.removeChildNode(group)
    assert root.findGroup(name) is not None


def test_group_moved_removed_and_new_project(dock, clip, qtbot):
    """A dragged group, a group removed while tracking and File > New Project: the dock carries on."""
    result, targets = clip
    root = QgsProject.instance().layerTreeRoot()
    assert dock.open_video(str(result.video_path))
    other = root.insertGroup(0, "analyst's group")  # so the video group has somewhere to move to
    _drag_to_bottom(result.video_path.name)
    assert root.children()[-1].name() == result.video_path.name
    qtbot.wait(300)  # the map follows the slider at most every 0.25 s
    dock.slider.setValue(3)  # the playback layers moved with the group and still follow
    assert next(dock.playback_layers.footprint.getFeatures())["frame"] == 3
    dock.slider.setValue(0)
    dock.add_box(*targets[0][1], "car")
    outcome = _track_clicked(qtbot, dock)
    assert outcome.status == "success" and outcome.frames_tracked == FRAMES
    assert _gpkg_layers("tracks 1")["points"].featureCount() == FRAMES
    assert len(root.findGroups()) == 2  # the moved group was used, no second one made
    root.removeChildNode(other)

    dock.slider.setValue(0)
    dock.add_box(*targets[0][1], "car")  # the first run used its box
    _click(qtbot, dock.track_button)
    qtbot.waitUntil(lambda: dock.track_layers.feature_counts()["points"] > 0, timeout=60_000)
    root.removeChildNode(root.findGroup(result.video_path.name))  # removed while tracking
    qtbot.waitUntil(lambda: dock.task is None, timeout=150_000)
    assert dock.last_outcome.status == "success"
    assert "added again" in dock.status_label.text()
    assert _gpkg_layers("tracks 2")["points"].featureCount() == FRAMES  # nothing lost: from the file

    QgsProject.instance().clear()  # File > New Project
    qtbot.wait(300)
    dock.slider.setValue(5)  # no deleted layer touched: the playback layers come back
    assert next(dock.playback_layers.footprint.getFeatures())["frame"] == 5
    assert root.findGroup(result.video_path.name) is not None

    assert dock.open_video(str(result.video_path))  # reopening replaces the group's playback layers
    playback = root.findGroup(result.video_path.name).findLayers()  # five playback layers and the video frame
    assert len(root.findGroups()) == 1 and len(playback) == 6


def test_cancel_progress_and_failed_click(dock, clip, qtbot, tmp_path):
    """Stop clicked: the bar shows the share tracked; a failing run leaves no empty group, no Export."""
    import dataclasses

    from qgis_siammask.settings import load_settings, save_settings

    result, targets = clip
    assert dock.open_video(str(result.video_path))
    dock.add_box(*targets[0][1], "car")
    _click(qtbot, dock.track_button)
    task, descriptions = dock.task, []
    task.framesReady.connect(lambda: dock.stop_button.isEnabled() and _click(qtbot, dock.stop_button))
    task.outcomeReady.connect(lambda _: descriptions.append(task.description()))  # the task goes after
    qtbot.waitUntil(lambda: dock.task is None, timeout=120_000)
    outcome = dock.last_outcome
    assert outcome.status == "cancelled" and 0 < outcome.frames_tracked < FRAMES
    # QGIS's "Task complete" notice names the task: it says the run stopped
    assert descriptions[0].endswith(f"stopped, {outcome.frames_tracked} frame(s) kept")
    assert dock.progress.value() == round(100 * outcome.frames_tracked / FRAMES)
    assert _gpkg_layers("tracks 1")["points"].featureCount() == outcome.frames_tracked

    save_settings(dataclasses.replace(load_settings(), model_path=str(tmp_path / "missing.pt")))
    assert dock.boxes == []  # used by the stopped run
    dock.slider.setValue(0)
    dock.add_box(*targets[0][1], "car")
    outcome = _track_clicked(qtbot, dock)
    assert outcome.status == "failed" and "missing.pt" in dock.status_label.text()
    assert len(dock.boxes) == 1  # a run that tracked nothing leaves its box to try again
    assert QgsProject.instance().layerTreeRoot().findGroup("tracks 2") is None
    assert not dock.export_button.isEnabled() and dock.track_button.isEnabled()


def test_player_entry_speed_zoom_and_detach(dock, clip, qtbot):
    """Frame and time typed in, keys, playback speed, Fit after a zoom and Detach, all as the analyst
    does them."""
    from test_gui_parts import _wheel

    result, _ = clip
    assert dock.open_video(str(result.video_path))
    fps = dock.video.fps
    player = dock.player
    player.frame_spin.selectAll()
    qtbot.keyClicks(player.frame_spin, "7")
    qtbot.keyClick(player.frame_spin, Qt.Key.Key_Return)
    assert dock.frame_index == 7 and dock.slider.value() == 7
    player.time_edit.selectAll()
    qtbot.keyClicks(player.time_edit, f"00:{3 / fps:.4f}")  # the time of frame 3
    qtbot.keyClick(player.time_edit, Qt.Key.Key_Return)
    assert dock.frame_index == 3 and player.frame_spin.value() == 3
    dock.frame_view.setFocus()
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_End)
    assert dock.frame_index == FRAMES - 1
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_Home)
    assert dock.frame_index == 0 and player.time_edit.text() == "00:00.00"
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)  # a second on
    assert dock.frame_index == FRAMES - 1  # 25 frames a second: the last of the 10
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert dock.frame_index == 0
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_BracketRight)
    assert player.speed == 2.0
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not dock.playing, timeout=10_000)  # at 2x, to the end and stopped
    assert dock.frame_index == FRAMES - 1

    view = dock.frame_view
    fitted = view.image_rect()
    fitted_percent = 100.0 * fitted.width() / result.config.width_px  # screen pixels per video pixel
    assert dock.zoom_label.text() == f"{fitted_percent:.0f} %"
    _wheel(view, view.rect().center(), 3)
    assert view.image_rect().width() > 1.9 * fitted.width()
    assert dock.zoom_label.text() == f"{fitted_percent * 1.25**3:.0f} %"
    qtbot.mouseClick(dock.fit_button, Qt.MouseButton.LeftButton)
    assert view.image_rect() == fitted and dock.zoom_label.text() == f"{fitted_percent:.0f} %"

    dock.setFloating(False)
    qtbot.mouseClick(dock.detach_button, Qt.MouseButton.LeftButton)
    assert dock.isFloating() and dock.width() >= 0.8 * dock.screen().availableGeometry().width()


def test_temporal_controller_and_video_move_together(qgis_app, qtbot, clip):
    """The animated temporal controller moved: the video shows that frame; a frame stepped on the video
    moves map time to the frame holding its time (frame-exact)."""
    from qgis.core import QgsTemporalNavigationObject

    from qgis_siammask.gui.video_dock import VideoDock

    result, _ = clip
    iface = StubInterface()
    controller = QgsTemporalNavigationObject(iface.canvas)
    iface.canvas.setTemporalController(controller)  # as QGIS's temporal controller panel does
    dock = VideoDock(iface)
    qtbot.addWidget(dock)
    dock.show()
    try:
        assert dock.open_video(str(result.video_path))
        assert controller.totalFrameCount() == FRAMES
        controller.setNavigationMode(QgsTemporalNavigationObject.NavigationMode.Animated)
        controller.setCurrentFrameNumber(6)
        assert dock.frame_index == 6 and dock.slider.value() == 6
        frame_utc = dock.telemetry.at(dock.current_frame.time_s).time_utc
        assert controller.dateTimeRangeForFrameNumber(6).begin().toMSecsSinceEpoch() == round(
            frame_utc.timestamp() * 1000
        )
        qtbot.mouseClick(dock.step_button, Qt.MouseButton.LeftButton)
        assert dock.frame_index == 7 and controller.currentFrameNumber() == 7
        controller.next()  # the controller's own Next button
        assert dock.frame_index == 8
        controller.setNavigationMode(QgsTemporalNavigationObject.NavigationMode.NavigationOff)
        qtbot.mouseClick(dock.step_back_button, Qt.MouseButton.LeftButton)
        assert controller.currentFrameNumber() == 8  # map time off: the video alone moves
    finally:
        dock.shutdown()
        QgsProject.instance().clear()


def test_video_pixel_and_map_point_mark_each_other(qgis_app, qtbot, clip, tmp_path):
    """Shift + click on a vehicle in the video: the map's cross lands on its true ground position; with
    *Map → video* on, a click on the map at another vehicle marks that vehicle on the video, on each
    frame, and the map gets its previous tool back; a click outside the footprint says so. The marks'
    messages leave the status line alone; Esc, *Clear marks*, another clip and a new project clear the
    marks, and a clip without telemetry turns the pressed tool off."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsPointXY, QgsRectangle
    from qgis.gui import QgsMapToolPan

    from qgis_siammask.gui.video_dock import VideoDock

    result, targets = clip
    iface = StubInterface()
    iface.canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
    pan = QgsMapToolPan(iface.canvas)
    iface.canvas.setMapTool(pan)  # the analyst's tool before Map → video
    to_map = QgsCoordinateTransform(
        QgsCoordinateReferenceSystem("EPSG:4326"),
        iface.canvas.mapSettings().destinationCrs(),
        QgsProject.instance(),
    )
    iface.main_window.show()
    dock = VideoDock(iface)
    dock.setFloating(True)
    dock.resize(640, 900)
    dock.show()
    qtbot.waitExposed(dock)
    view = dock.frame_view

    def shift_click_on(box):
        x, y, w, h = box
        at = view.image_to_widget(x + w / 2, y + h / 2).toPoint()
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, at)

    try:
        assert dock.open_video(str(result.video_path))
        status = dock.status_label.text()
        (first_id, first_box), (second_id, second_box) = targets[:2]
        shift_click_on(first_box)
        cross = to_map.transform(dock.ground_marks.map_point, QgsCoordinateTransform.ReverseTransform)
        assert _metres((cross.x(), cross.y()), truth_centres(result, first_id)[0]) < 1.5
        x, y, w, h = first_box
        assert np.allclose(view._marked, (x + w / 2, y + h / 2), atol=1.0)  # the video marks it too
        assert "lat" in dock.map_hint.text() and dock.status_label.text() == status  # the file line stays

        target = to_map.transform(QgsPointXY(*truth_centres(result, second_id)[0]))
        iface.canvas.setExtent(  # the target off the map's centre: a click that re-centres would show
            QgsRectangle(target.x() - 120, target.y() - 150, target.x() + 280, target.y() + 250)
        )
        iface.canvas.refresh()
        qtbot.mouseClick(dock.map_pick_button, Qt.MouseButton.LeftButton)
        assert iface.canvas.mapTool() is dock.ground_marks.map_tool
        viewport = iface.canvas.viewport()
        at = iface.canvas.getCoordinateTransform().transform(target).toQPointF().toPoint()
        extent = iface.canvas.extent()
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=at)
        x, y, w, h = second_box
        assert np.allclose(view._marked, (x + w / 2, y + h / 2), atol=2.0), (view._marked, second_box)
        assert iface.canvas.mapTool() is pan and not dock.map_pick_button.isChecked()  # one pick, tool back
        assert iface.canvas.extent() == extent  # the release went to the pick, not to Pan (it re-centres)
        qtbot.mouseClick(dock.step_button, Qt.MouseButton.LeftButton)
        assert view._marked is not None  # the marked ground point followed onto the next frame
        qtbot.mouseClick(dock.map_pick_button, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=QPoint(2, 2))  # 200 m off: outside
        assert view._marked is None and "outside" in dock.map_hint.text()
        assert iface.canvas.mapTool() is pan
        qtbot.mouseClick(dock.map_pick_button, Qt.MouseButton.LeftButton)  # pressed, then let go unused
        qtbot.mouseClick(dock.map_pick_button, Qt.MouseButton.LeftButton)
        assert iface.canvas.mapTool() is pan

        shift_click_on(first_box)
        view.setFocus()
        qtbot.keyClick(view, Qt.Key.Key_Escape)
        assert view._marked is None and dock.ground_marks.map_point is None
        assert not _canvas_crosses(iface.canvas)
        shift_click_on(first_box)
        qtbot.mouseClick(dock.map_pick_row.clear_marks_button, Qt.MouseButton.LeftButton)
        assert view._marked is None and not _canvas_crosses(iface.canvas)

        shift_click_on(first_box)
        QgsProject.instance().clear()  # File > New Project
        assert not _canvas_crosses(iface.canvas) and dock.ground_marks.map_point is None

        shift_click_on(first_box)
        qtbot.mouseClick(dock.map_pick_button, Qt.MouseButton.LeftButton)  # on, then a clip without telemetry
        assert dock.open_video(str(_without_telemetry(result, tmp_path / "plain.mp4")))
        assert not dock.map_pick_button.isChecked() and not dock.map_pick_button.isEnabled()
        assert iface.canvas.mapTool() is pan and not _canvas_crosses(iface.canvas)
        shift_click_on(first_box)
        assert "No telemetry" in dock.map_hint.text()
    finally:
        dock.shutdown()
        QgsProject.instance().clear()


def _canvas_crosses(canvas) -> list:
    from qgis.gui import QgsVertexMarker

    return [item for item in canvas.scene().items() if isinstance(item, QgsVertexMarker)]


def _without_telemetry(result, path: Path) -> Path:
    """The simulated clip's frames re-encoded as a plain MP4: no KLV, no sidecar."""
    import av

    from qgis_siammask.core.ingest.video import VideoReader

    with VideoReader(str(result.video_path)) as video, av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=int(video.fps))
        stream.width, stream.height, stream.pix_fmt = video.width, video.height, "yuv420p"
        stream.options = {"crf": "12"}
        for frame in video:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame.image, format="bgr24")))
        out.mux(stream.encode(None))
    return path


def test_video_without_telemetry_tracked_in_pixels(dock, clip, qtbot, tmp_path, monkeypatch):
    """No telemetry: the map parts are off and say so; a box dragged and Track clicked track in pixels
    (overlays on the video, JSON lines like the `track` command), no layer group; Export writes a CSV."""
    import csv
    import json

    from qgis.PyQt.QtWidgets import QFileDialog

    result, targets = clip
    plain = _without_telemetry(result, tmp_path / "plain.mp4")
    assert dock.open_video(str(plain)) and dock.telemetry is None
    assert not dock.map_pick_button.isEnabled() and "No telemetry" in dock.map_hint.text()
    dock.session.run_frames.capacity_frames, dock.session.run_frames.chunk_frames = 2, 2  # as a long video
    _draw_box(qtbot, dock.frame_view, targets[0][1])
    spin = dock.targets.end_frame_spin
    spin.selectAll()
    qtbot.keyClicks(spin, "6")  # frames 0 to 6
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    outcome = _track_clicked(qtbot, dock)
    assert outcome.status == "success" and outcome.frames_tracked == 7, outcome.message
    assert dock.progress.value() == 100
    records = [json.loads(line) for line in Path(outcome.gpkg_path).read_text().splitlines()]
    assert outcome.gpkg_path.endswith(".jsonl") and Path(outcome.gpkg_path).parent == tmp_path / "out"
    assert [r["frame"] for r in records] == list(range(7)) and {r["track_id"] for r in records} == {1}
    x, y, w, h = records[-1]["bbox"]
    assert len(dock.frame_view._overlays) == 1 and dock.frame_index == 6  # drawn on the video
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_Home)  # frame 0 is out of memory: read from the JSON lines
    (overlay,) = dock.frame_view._overlays
    assert dock.frame_index == 0
    assert np.allclose(overlay.rotated_box[:4], records[0]["rotated_box"], atol=1e-3)
    assert QgsProject.instance().layerTreeRoot().findGroup("tracks 1") is None  # nothing on the map
    assert "pixels" in dock.status_label.text() and outcome.gpkg_path in dock.status_label.text()
    assert dock.output_edit.text() == str(tmp_path / "out")  # the folder; the run's file is in the status

    export = tmp_path / "pixels.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a: (str(export), ""))
    assert dock.export_button.text().startswith("Export CSV")
    _click(qtbot, dock.export_button)
    rows = list(csv.DictReader(export.open()))
    assert len(rows) == 7 and rows[-1]["label"] == "vehicle"
    assert np.allclose([float(rows[-1][k]) for k in ("x", "y", "width", "height")], (x, y, w, h))


def _click_cell(qtbot, table, row, column):
    rect = table.visualItemRect(table.item(row, column))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _rename_track(qtbot, panel, row: int, track_id: int, label: str) -> None:
    """Type `label` over the label of the tracks panel's `row` (track `track_id`): click, F2, Return."""
    from qgis_siammask.gui.tracks_panel import LABEL

    _click_cell(qtbot, panel.table, row, LABEL)
    qtbot.keyClick(panel.table, Qt.Key.Key_F2)
    editor = QApplication.focusWidget()
    editor.selectAll()
    qtbot.keyClicks(editor, label)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.styles[track_id].label == label)  # the view commits it queued


def test_tracks_panel_hide_recolour_rename_delete(dock, clip, qtbot, monkeypatch):
    """After a two-target run: the panel lists both tracks; hiding, recolouring, renaming and deleting
    with the mouse and keys change the video overlays and the run's GeoPackage layers."""
    from qgis.PyQt.QtGui import QColor
    from qgis.PyQt.QtWidgets import QColorDialog

    from qgis_siammask.gui.tracks_panel import COLOUR, LABEL, SHOWN
    from qgis_siammask.gui.tracks_panel import FRAMES as FRAMES_COLUMN

    result, targets = clip
    assert dock.open_video(str(result.video_path))
    for (_, box), label in zip(targets[:2], ("car", "van")):
        dock.add_box(*box, label)
    dock.targets.end_frame_spin.setValue(3)
    outcome = _track_clicked(qtbot, dock)
    assert outcome.status == "success" and outcome.frames_tracked == 4
    table = dock.tracks_panel.table
    assert table.rowCount() == 2 and [table.item(r, FRAMES_COLUMN).text() for r in range(2)] == ["4", "4"]
    assert [table.item(r, LABEL).text() for r in range(2)] == ["car", "van"]
    points = dock.track_layers.layers["points"]
    legend = QgsLayerTreeModel(QgsProject.instance().layerTreeRoot())  # the Layers panel's model

    def legend_entries():  # (label, colour) of the points layer's legend, as the Layers panel shows it
        nodes = legend.layerLegendNodes(QgsProject.instance().layerTreeRoot().findLayer(points.id()))
        return [(n.data(Qt.ItemDataRole.DisplayRole), n.symbol().color().name()) for n in nodes]

    rect = table.visualItemRect(table.item(0, SHOWN))
    check_box = QPoint(rect.left() + 10, rect.center().y())  # the cell holds its check box alone, at the left
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=check_box)  # untick track 1
    categories = points.renderer().categories()
    assert not categories[points.renderer().categoryIndexForValue(1)].renderState()
    assert [o.track_id for o in dock.frame_view._overlays] == [2]

    monkeypatch.setattr(QColorDialog, "getColor", lambda *a: QColor("#123456"))
    _click_cell(qtbot, table, 1, COLOUR)
    categories = points.renderer().categories()
    assert categories[points.renderer().categoryIndexForValue(2)].symbol().color().name() == "#123456"
    assert dock.frame_view._overlays[0].color == "#123456" and ("2: van", "#123456") in legend_entries()

    _rename_track(qtbot, dock.tracks_panel, 1, 2, "lorry")
    gpkg = outcome.gpkg_path
    stored = QgsVectorLayer(f"{gpkg}|layername=points", "points", "ogr")
    labels = {(f["track_id"], f["label"]) for f in stored.getFeatures()}
    assert labels == {(1, "car"), (2, "lorry")} and dock.frame_view._overlays[0].label == "lorry"
    assert [label for label, _ in legend_entries()] == ["1: car", "2: lorry"]

    _click_cell(qtbot, table, 1, FRAMES_COLUMN)
    asked = _answer_next_question(qtbot, QMessageBox.StandardButton.No)  # asked first: nothing goes
    _click(qtbot, dock.tracks_panel.delete_button)
    assert len(asked) == 1 and 'track 2 "lorry"' in asked[0] and str(gpkg) in asked[0]
    stored = QgsVectorLayer(f"{gpkg}|layername=boxes", "boxes", "ogr")
    assert {f["track_id"] for f in stored.getFeatures()} == {1, 2} and table.rowCount() == 2
    _answer_next_question(qtbot, QMessageBox.StandardButton.Yes)
    _click(qtbot, dock.tracks_panel.delete_button)
    stored = QgsVectorLayer(f"{gpkg}|layername=boxes", "boxes", "ogr")
    assert {f["track_id"] for f in stored.getFeatures()} == {1} and table.rowCount() == 1
    assert [label for label, _ in legend_entries()] == ["1: car"]
    assert dock.frame_view._overlays == []  # track 1 hidden, track 2 deleted


def test_telemetry_table_and_csv_export(dock, clip, qtbot, tmp_path, monkeypatch):
    """*Table…* lists every decoded record; *Export CSV…* writes them, read back equal to the telemetry."""
    import csv

    from qgis.PyQt.QtWidgets import QDialog, QFileDialog

    result, _ = clip
    assert dock.open_video(str(result.video_path))
    _click(qtbot, dock.telemetry_table_button)
    dialog = next(w for w in dock.findChildren(QDialog) if w.isVisible())
    model = dialog.view.model()
    records = dock.telemetry.records
    assert model.rowCount() == len(records) == FRAMES
    column = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    latitude = column.index("sensor_latitude_deg")
    assert float(model.index(3, latitude).data()) == pytest.approx(records[3].sensor_latitude_deg, abs=1e-8)
    export = tmp_path / "telemetry"  # no suffix typed: .csv is added
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a: (str(export), ""))
    _click(qtbot, dialog.export_button)
    rows = list(csv.DictReader((tmp_path / "telemetry.csv").open()))
    assert len(rows) == FRAMES and rows[0]["time_utc"].startswith("2024-06-01T12:00:00")
    heading = records[-1].platform_heading_deg
    assert float(rows[-1]["platform_heading_deg"]) == pytest.approx(heading, abs=1e-6)
    dialog.close()
