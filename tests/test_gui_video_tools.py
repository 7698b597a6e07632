"""Digitising and measuring on the video, the telemetry read-out and Follow, driven with Qt events on the
real dock: a polygon clicked around a simulated vehicle lands within 1 m of its true ground corners."""

from __future__ import annotations

import json

import numpy as np
import pytest
from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import Qt
from test_gui_dock import _click, _draw_box, _track_clicked

from qgis_siammask.core.geo.geodesy import LocalFrame
from qgis_siammask.core.geo.measure import SHAPE_LINE, cast_shape, measure
from qgis_siammask.gui.digitise_layers import digitised_gpkg_path, table_name


def vehicle_corners_lonlat(result, vehicle_id: int, frame: int) -> np.ndarray:
    """(4, 2) lon/lat of the vehicle's true body corners (front left, front right, rear right, rear left)
    on `frame`: its centre and grid heading from the simulator's truth, its length and width."""
    from pyproj import Transformer

    features = json.loads(result.truth_path.read_text())["features"]
    body = next(
        f
        for f in features
        if f["properties"].get("vehicle_id") == vehicle_id and "length_m" in f["properties"]
    )
    pose = next(
        f
        for f in features
        if f["geometry"]["type"] == "Point"
        and f["properties"]["vehicle_id"] == vehicle_id
        and f["properties"]["frame"] == frame
    )
    to_grid = Transformer.from_crs("EPSG:4326", result.crs, always_xy=True)
    east, north = to_grid.transform(*pose["geometry"]["coordinates"][:2])
    bearing = np.radians(pose["properties"]["heading_deg"])
    forward, left = (
        np.array([np.sin(bearing), np.cos(bearing)]),
        np.array([-np.cos(bearing), np.sin(bearing)]),
    )
    half_length, half_width = body["properties"]["length_m"] / 2, body["properties"]["width_m"] / 2
    corners = [
        np.array([east, north]) + a * half_length * forward + b * half_width * left
        for a, b in ((1, 1), (1, -1), (-1, -1), (-1, 1))
    ]
    lon, lat = to_grid.transform(*np.array(corners).T, direction="INVERSE")
    return np.column_stack([lon, lat])


def _click_pixels(qtbot, view, pixels, finish=None):
    """Left clicks on image pixels; `finish`: "double" (a double-click on the last one), a key, or None."""
    for number, (x, y) in enumerate(pixels):
        at = view.image_to_widget(float(x), float(y)).toPoint()
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=at)
        if finish == "double" and number == len(pixels) - 1:
            qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, pos=at)
    if finish not in (None, "double"):
        qtbot.keyClick(view, finish)


def _show_tools(qtbot, dock):
    """Click the Tools tab of the dock's panels."""
    tabs = dock.panels.tabBar()
    qtbot.mouseClick(
        tabs, Qt.MouseButton.LeftButton, pos=tabs.tabRect(dock.panels.indexOf(dock.video_tools.row)).center()
    )
    assert dock.panels.currentWidget() is dock.video_tools.row


def _layer_by_name(name):
    layers = QgsProject.instance().mapLayersByName(name)
    assert len(layers) == 1, [layer.name() for layer in QgsProject.instance().mapLayers().values()]
    return layers[0]


def test_a_polygon_round_a_vehicle_lands_on_its_true_ground_corners(dock, clip, qtbot, tmp_path):
    result, targets = clip
    vehicle_id = targets[0][0]
    assert dock.open_video(str(result.video_path))
    _show_tools(qtbot, dock)
    dock.frame_view.zoom_about(2.0, dock.frame_view.image_to_widget(*_box_centre(targets[0][1])))
    truth = vehicle_corners_lonlat(result, vehicle_id, 0)
    camera = dock.map_side.camera_shown()
    pixels, visible = camera.ground_to_pixels(truth, camera.terrain.heights_m(truth))
    assert visible.all()

    _click(qtbot, dock.video_tools.row.buttons["polygon"])
    assert dock.video_tools.row.target_combo.currentData() == ""  # the clip's GeoPackage
    view = dock.frame_view
    _click_pixels(qtbot, view, pixels[:2])
    _click_pixels(qtbot, view, [(5.0, 5.0)])  # a wrong vertex...
    qtbot.keyClick(view, Qt.Key.Key_Backspace)  # ...taken back
    _click_pixels(qtbot, view, pixels[2:], finish="double")

    layer = _layer_by_name(f"{result.video_path.name} digitised polygons")
    assert layer.isEditable()  # in the edit buffer: the analyst saves or undoes
    features = list(layer.getFeatures())
    assert len(features) == 1
    feature = features[0]
    assert (feature["frame"], feature["georef"]) == (0, "st0601")
    assert feature["time_s"] == pytest.approx(0.0) and feature["time_utc"].startswith(
        str(result.telemetry[0].time_utc.date())
    )
    ring = [(point.x(), point.y()) for point in feature.geometry().asPolygon()[0][:-1]]
    assert len(ring) == 4
    plane = LocalFrame(float(truth[0, 1]), float(truth[0, 0]), 0.0)
    error_m = np.linalg.norm(
        plane.to_enu(np.array(ring), 0.0)[:, :2] - plane.to_enu(truth, 0.0)[:, :2], axis=1
    )
    assert error_m.max() < 1.0, error_m

    assert layer.commitChanges()  # saved into the clip's own GeoPackage
    gpkg = digitised_gpkg_path(tmp_path / "out", str(result.video_path))
    saved = QgsVectorLayer(f"{gpkg}|layername={table_name('polygon')}", "saved", "ogr")
    assert saved.featureCount() == 1
    QgsProject.instance().removeMapLayer(layer.id())  # the analyst removed it: the next shape adds it again
    _click_pixels(qtbot, view, pixels, finish=Qt.Key.Key_Return)
    again = _layer_by_name(f"{result.video_path.name} digitised polygons")
    assert again.featureCount() == 2 and again.source() == saved.source()  # the file's, and the new one
    again.rollBack()
    del layer, saved, again


def _box_centre(box):
    x, y, w, h = box
    return x + w / 2, y + h / 2


def test_lines_into_a_layer_of_the_project_reprojected_undoable(dock, clip, qtbot):
    result, _ = clip
    assert dock.open_video(str(result.video_path))
    _show_tools(qtbot, dock)
    roads = QgsVectorLayer("LineString?crs=EPSG:3857&field=name:string", "roads", "memory")
    QgsProject.instance().addMapLayer(roads)
    _click(qtbot, dock.video_tools.row.buttons["line"])
    combo = dock.video_tools.row.target_combo
    assert [combo.itemText(i) for i in range(1, combo.count())] == ["roads"]  # line layers only
    combo.setCurrentIndex(combo.findData(roads.id()))
    view = dock.frame_view
    _click_pixels(qtbot, view, [(100, 100), (200, 120)])
    qtbot.keyClick(view, Qt.Key.Key_Escape)  # cancelled: nothing stored
    assert roads.featureCount() == 0 and not dock.video_tools.digitiser.tool.pixels
    _click_pixels(qtbot, view, [(100, 100), (200, 120), (300, 200)])
    at = view.image_to_widget(300.0, 200.0).toPoint()
    qtbot.mouseClick(view, Qt.MouseButton.RightButton, pos=at)  # right-click finishes
    features = list(roads.getFeatures())
    assert len(features) == 1 and roads.isEditable()
    assert {"frame", "time_utc", "time_s", "georef"} <= set(roads.fields().names())  # added, undoable
    line = features[0].geometry().asPolyline()
    assert len(line) == 3
    to_wgs84 = QgsCoordinateTransform(
        roads.crs(), QgsCoordinateReferenceSystem("EPSG:4326"), QgsProject.instance()
    )
    lonlat = to_wgs84.transform(line[0])
    expected = cast_shape(dock.map_side.camera_shown(), SHAPE_LINE, [(100, 100), (200, 120)]).lonlat_deg[0]
    assert abs(lonlat.x() - expected[0]) < 1e-5 and abs(lonlat.y() - expected[1]) < 1e-5  # EPSG:3857 back
    roads.undoStack().undo()
    assert roads.featureCount() == 0
    roads.rollBack()
    del roads


def test_measure_a_distance_and_an_area_on_the_video(dock, clip, qtbot):
    result, _ = clip
    assert dock.open_video(str(result.video_path))
    _show_tools(qtbot, dock)
    _click(qtbot, dock.video_tools.row.buttons["distance"])
    assert not dock.video_tools.row.target_combo.isEnabled()  # a measure goes into no layer
    view = dock.frame_view
    _click_pixels(qtbot, view, [(100, 100), (300, 100)], finish=Qt.Key.Key_Return)
    tool = dock.video_tools.digitiser.tool
    expected = measure(cast_shape(dock.map_side.camera_shown(), SHAPE_LINE, tool.pixels))
    assert expected.value > 5 and 0 < expected.sigma < 1
    label = dock.video_tools.row.result_label.text()
    assert label.startswith(expected.text()), label
    assert tool.caption == expected.text() and tool.done  # painted on the frame
    image = view.grab().toImage()
    assert image.pixelColor(view.image_to_widget(200.0, 100.0).toPoint()).name() == "#ffd000"
    _click(qtbot, dock.video_tools.row.buttons["area"])
    assert not dock.video_tools.row.buttons["distance"].isChecked()  # one tool at a time
    _click_pixels(qtbot, view, [(100, 100), (200, 100), (200, 200)])
    last = view.image_to_widget(100.0, 200.0).toPoint()
    qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, pos=last)  # a quick click elsewhere: a vertex
    assert len(dock.video_tools.digitiser.tool.pixels) == 4 and not dock.video_tools.digitiser.tool.done
    qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, pos=last)  # on the last vertex: finished
    assert dock.video_tools.digitiser.tool.done
    assert "m²" in dock.video_tools.row.result_label.text()
    assert QgsProject.instance().mapLayersByName(f"{result.video_path.name} digitised polygons") == []
    _click(qtbot, dock.video_tools.row.buttons["area"])  # off: boxes are drawn again
    assert view.tool is None


def test_telemetry_readout_is_painted_when_toggled(dock, clip, qtbot):
    result, _ = clip
    assert dock.open_video(str(result.video_path))
    _show_tools(qtbot, dock)
    view = dock.frame_view
    plain = view.grab().toImage()
    _click(qtbot, dock.video_tools.readout_button)
    assert view.readout_lines[0].endswith("T+00:00.00") and "SLANT" in view.readout_lines[2]
    assert view.grab().toImage() != plain
    qtbot.keyClick(dock.step_button, Qt.Key.Key_Right)
    assert "T+00:00.04" in view.readout_lines[0]
    _click(qtbot, dock.video_tools.readout_button)
    assert view.readout_lines == []


def test_track_tooltip_says_why_it_is_disabled(dock, clip, qtbot):
    assert "Open a video" in dock.track_button.toolTip() and not dock.track_button.isEnabled()
    result, targets = clip
    assert dock.open_video(str(result.video_path))
    _show_tools(qtbot, dock)
    assert "Draw a box" in dock.track_button.toolTip()
    _draw_box(qtbot, dock.frame_view, targets[0][1])
    assert dock.track_button.isEnabled() and "Track the boxes" in dock.track_button.toolTip()


def test_follow_keeps_the_selected_track_in_view(dock, clip, qtbot):
    from test_gui_reseat import _click_row

    result, targets = clip
    assert dock.open_video(str(result.video_path))
    _show_tools(qtbot, dock)
    _draw_box(qtbot, dock.frame_view, targets[0][1])
    outcome = _track_clicked(qtbot, dock)
    assert outcome.status == "success"
    dock.show_frame(0)
    view = dock.frame_view
    view.zoom_about(6.0, view.rect().topLeft())  # zoomed into a corner, the vehicle off screen
    _click_row(qtbot, dock.tracks_panel.table, 0)
    _show_tools(qtbot, dock)
    _click(qtbot, dock.video_tools.follow_button)
    for frame in range(0, 8):
        qtbot.keyClick(dock.step_button, Qt.Key.Key_Right) if frame else None
        box = next(o.rotated_box for o in view._overlays if o.track_id == dock.tracks_panel.selected_track())
        centre = view.image_to_widget(*np.mean(box, axis=0))
        assert view.rect().contains(centre.toPoint()), (frame, centre)


def test_resume_a_stopped_run_into_the_same_file(dock, qtbot, tmp_path_factory):
    """Track two vehicles, Stop after 5 frames: Resume (its tooltip says from where) goes on from the last
    frame tracked to the clip's end in the same GeoPackage, every frame of both tracks once."""
    from pathlib import Path

    from test_gui_reseat import FRAMES, _points, _wait_for_run
    from test_plugin_support import simulated_clip

    result, targets = simulated_clip(tmp_path_factory.getbasetemp(), FRAMES)
    assert dock.open_video(str(result.video_path))
    _show_tools(qtbot, dock)
    assert not dock.video_tools.resume_button.isEnabled()
    assert "no run was stopped" in dock.video_tools.resume_button.toolTip()
    for label, (_, box, *_) in zip(("car", "van"), targets[:2]):
        dock.label_edit.setText(label)
        _draw_box(qtbot, dock.frame_view, box)
    _click(qtbot, dock.track_button)
    assert dock.stop_button.text() == "Stop" and dock.stop_button.isEnabled()  # running
    dock.task.framesReady.connect(
        lambda: (
            1 in dock.tracks_panel.styles
            and dock.tracks_panel.styles[1].frames >= 5
            and dock.stop_button.isEnabled()
            and _click(qtbot, dock.stop_button)
        )
    )
    stopped = _wait_for_run(qtbot, dock)
    assert stopped.status == "cancelled" and 5 <= stopped.frames_tracked < FRAMES, stopped
    last = stopped.frames_tracked - 1
    assert not dock.track_button.isEnabled() and "Resume the stopped run" in dock.track_button.toolTip()
    resume = dock.stop_button  # Stop turned into Resume
    assert resume.isEnabled() and resume.text() == "Resume" and f"from frame {last}" in resume.toolTip()
    _click(qtbot, resume)
    assert "Resuming 2 track(s) from frame" in dock.status_label.text()
    resumed = _wait_for_run(qtbot, dock)
    assert resumed.status == "success" and resumed.frames_tracked == FRAMES - last, resumed
    assert Path(resumed.gpkg_path) == Path(stopped.gpkg_path)  # the same file
    points = _points(Path(stopped.gpkg_path))
    for track in (1, 2):
        assert sorted(frame for track_id, frame in points if track_id == track) == list(range(FRAMES))
    assert not resume.isEnabled() and resume.text() == "Stop"  # it finished
    assert "no run was stopped" in resume.toolTip()
    assert [dock.tracks_panel.styles[t].label for t in (1, 2)] == ["car", "van"]


def test_on_a_dem_the_polygon_lands_on_the_vehicle_too(dock, qtbot, tmp_path):
    """An oblique clip over hills with the DEM chosen: the vertices are cast onto the DEM, within 1 m of
    the vehicle's true corners."""
    import dataclasses

    from qgis.core import QgsRasterLayer
    from test_plugin_support import visible_targets

    from qgis_siammask.core.geo.terrain import DemTerrain
    from qgis_siammask.core.simulator import SimulationConfig, simulate
    from qgis_siammask.settings import load_settings, save_settings

    result = simulate(
        SimulationConfig(
            out_dir=tmp_path / "dem_clip",
            seed=1,
            frames=2,
            width_px=480,
            height_px=270,
            dem=True,
            oblique_deg=30.0,
            vehicle_count=3,
            altitude_agl_m=80.0,
        )
    )
    dem_layer = QgsRasterLayer(str(result.dem_path), "dem")
    QgsProject.instance().addMapLayer(dem_layer)
    save_settings(dataclasses.replace(load_settings(), dem_layer_id=dem_layer.id()))
    assert dock.open_video(str(result.video_path))
    _show_tools(qtbot, dock)
    assert isinstance(dock.terrain, DemTerrain)
    vehicle_id = visible_targets(result)[0][0]
    truth = vehicle_corners_lonlat(result, vehicle_id, 0)
    camera = dock.map_side.camera_shown()
    assert isinstance(camera.terrain, DemTerrain)  # the frame's camera casts onto the DEM
    pixels, visible = camera.ground_to_pixels(truth, camera.terrain.heights_m(truth))
    assert visible.all()
    _click(qtbot, dock.video_tools.row.buttons["polygon"])
    _click_pixels(qtbot, dock.frame_view, pixels, finish=Qt.Key.Key_Return)
    layer = _layer_by_name(f"{result.video_path.name} digitised polygons")
    ring = [(p.x(), p.y()) for p in next(layer.getFeatures()).geometry().asPolygon()[0][:-1]]
    plane = LocalFrame(float(truth[0, 1]), float(truth[0, 0]), 0.0)
    error_m = np.linalg.norm(
        plane.to_enu(np.array(ring), 0.0)[:, :2] - plane.to_enu(truth, 0.0)[:, :2], axis=1
    )
    assert error_m.max() < 1.0, error_m
    layer.rollBack()
    del layer
