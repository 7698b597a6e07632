"""The video dock in a real headless QgsApplication, on a simulated clip with known truth: open it
(telemetry found automatically), seek, draw a box with the mouse, track to the end in a QgsTask, check
the live layers against the truth, export to GeoPackage and read it back, cancel, unload."""

from __future__ import annotations

import numpy as np
import pytest
from qgis.core import QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QPoint, Qt
from test_plugin_support import StubInterface, simulated_clip, tracking_model, truth_centres

FRAMES = 10


@pytest.fixture()
def dock(qgis_app, qtbot, tmp_path_factory, request):
    from qgis_siammask.gui.video_dock import VideoDock
    from qgis_siammask.settings import PluginSettings, save_settings

    save_settings(PluginSettings(model_path=tracking_model(request), device="cpu"))
    iface = StubInterface()
    widget = VideoDock(iface)
    widget.resize(640, 720)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()
    widget.deleteLater()
    iface.main_window.deleteLater()


@pytest.fixture()
def clip(tmp_path_factory):
    return simulated_clip(tmp_path_factory.getbasetemp(), FRAMES)


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


def test_open_seek_draw_track_export(dock, clip, qtbot, tmp_path):
    result, targets = clip
    assert len(targets) >= 2
    assert dock.open_video(str(result.video_path))
    assert dock.telemetry is not None  # embedded KLV or the same-name SRT, found without asking
    assert dock.slider.maximum() == FRAMES - 1
    assert f"frame 0/{FRAMES - 1}" in dock.time_label.text()
    assert dock.playback_layers.footprint.featureCount() == 1
    assert (
        dock.playback_layers.platform.featureCount() == 1 and dock.playback_layers.centre.featureCount() == 1
    )
    assert "sensor" in dock.telemetry_label.text()

    dock.play()
    qtbot.waitUntil(lambda: dock.frame_index >= 4, timeout=10_000)
    dock.pause()
    assert not dock.playing
    shown = next(dock.playback_layers.footprint.getFeatures())["frame"]
    assert shown == dock.frame_index >= 4  # the map caught up with the paused video
    dock.slider.setValue(0)
    dock.step(1)
    assert dock.frame_index == 1 and dock.slider.value() == 1
    dock.slider.setValue(6)
    assert dock.frame_index == 6 and f"frame 6/{FRAMES - 1}" in dock.time_label.text()
    dock.slider.setValue(0)
    assert dock.frame_index == 0

    scale = dock.frame_view.image_rect().width() / result.config.width_px
    for label, (_, box) in zip(("car", "van"), targets[:2]):
        dock.label_edit.setText(label)
        _draw_box(qtbot, dock.frame_view, box)
        assert dock.boxes[-1].label == label
        assert np.allclose(dock.boxes[-1].xywh, box, atol=1.0 / scale + 0.5), (dock.boxes[-1], box)
    assert dock.box_table.rowCount() == 2 and dock.track_button.isEnabled()

    drains = []
    output = tmp_path / "run.gpkg"
    task = dock.start_tracking(str(output))
    assert task is not None and dock.stop_button.isEnabled() and not dock.track_button.isEnabled()
    task.framesReady.connect(lambda: drains.append(dock.track_layers.feature_counts()["points"]))
    qtbot.waitUntil(lambda: dock.task is None, timeout=150_000)
    outcome = dock.last_outcome
    assert outcome.status == "success", outcome.message
    assert outcome.frames_tracked == FRAMES
    assert len(drains) >= 2  # the layers grew while tracking, not only at the end

    counts = dock.track_layers.feature_counts()
    assert counts["points"] == 2 * FRAMES and counts["footprints"] == FRAMES and counts["boxes"] == 2 * FRAMES
    assert counts["masks"] >= FRAMES and counts["lines"] == 2
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

    exported = dock.export_geopackage(str(tmp_path / "export.gpkg"))
    for name, count in counts.items():
        layer = QgsVectorLayer(f"{exported}|layername={name}", name, "ogr")
        assert layer.isValid() and layer.featureCount() == count, name
    read_back = QgsVectorLayer(f"{exported}|layername=points", "points", "ogr")
    assert read_back.fields().indexOf("time_utc") >= 0
    assert (
        QgsVectorLayer(f"{output}|layername=points", "p", "ogr").featureCount() == 2 * FRAMES
    )  # the engine's file

    group_names = [g.name() for g in QgsProject.instance().layerTreeRoot().findGroups()]
    assert result.video_path.name in group_names
    dock.shutdown()
    remaining = [g.name() for g in QgsProject.instance().layerTreeRoot().findGroups()]
    assert result.video_path.name not in remaining


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
