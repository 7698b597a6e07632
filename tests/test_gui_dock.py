"""The video dock in a real headless QgsApplication, on a simulated clip with known truth: open it
(telemetry found automatically), seek, draw a box with the mouse, track to the end in a QgsTask, check
the live layers against the truth, export to GeoPackage and read it back, cancel, unload."""
from __future__ import annotations

import json

import numpy as np
import pytest
from qgis.core import QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QPoint, Qt

from test_plugin_support import StubInterface, simulated_clip, tracking_model

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


def _truth_lonlat(result) -> dict[int, tuple[float, float]]:
    """Frame -> ground truth centre (lon, lat) of the simulated vehicle."""
    truth = json.loads(result.truth_path.read_text())
    centres = {}
    for feature in truth["features"]:
        props = feature["properties"]
        if feature["geometry"]["type"] == "Point":
            centres[int(props["frame"])] = tuple(feature["geometry"]["coordinates"][:2])
    return centres


def _metres(lonlat_a, lonlat_b) -> float:
    lat = np.radians((lonlat_a[1] + lonlat_b[1]) / 2)
    dx = (lonlat_a[0] - lonlat_b[0]) * 111320.0 * np.cos(lat)
    dy = (lonlat_a[1] - lonlat_b[1]) * 110540.0
    return float(np.hypot(dx, dy))


def test_open_seek_draw_track_export(dock, clip, qtbot, tmp_path):
    result, box = clip
    assert dock.open_video(str(result.video_path))
    assert dock.telemetry is not None  # embedded KLV or the same-name SRT, found without asking
    assert dock.slider.maximum() == FRAMES - 1
    assert "frame 0/9" in dock.time_label.text()
    footprint = dock.playback_layers.footprint
    assert footprint.featureCount() == 1 and dock.playback_layers.platform.featureCount() == 1
    assert "sensor" in dock.telemetry_label.text()

    dock.step(1)
    assert dock.frame_index == 1 and dock.slider.value() == 1
    dock.slider.setValue(6)
    assert dock.frame_index == 6 and "frame 6/9" in dock.time_label.text()
    dock.slider.setValue(0)
    assert dock.frame_index == 0

    dock.label_edit.setText("car")
    _draw_box(qtbot, dock.frame_view, box)
    assert len(dock.boxes) == 1 and dock.boxes[0].label == "car"
    scale = dock.frame_view.image_rect().width() / result.config.width_px
    assert np.allclose(dock.boxes[0].xywh, box, atol=1.5 / scale + 0.5)
    assert dock.box_table.rowCount() == 1 and dock.track_button.isEnabled()

    drains = []
    output = tmp_path / "run.gpkg"
    task = dock.start_tracking(str(output))
    assert task is not None and dock.stop_button.isEnabled() and not dock.track_button.isEnabled()
    task.framesReady.connect(lambda: drains.append(dock.track_layers.feature_counts()["points"]))
    qtbot.waitUntil(lambda: dock.task is None, timeout=120_000)
    outcome = dock.last_outcome
    assert outcome.status == "success", outcome.message
    assert outcome.frames_tracked == FRAMES

    counts = dock.track_layers.feature_counts()
    assert counts["points"] == FRAMES and counts["footprints"] == FRAMES
    assert counts["boxes"] == FRAMES and counts["masks"] >= FRAMES - 1 and counts["lines"] == 1
    points = dock.track_layers.layers["points"]
    truth = _truth_lonlat(result)
    errors = [
        _metres((f.geometry().asPoint().x(), f.geometry().asPoint().y()), truth[f["frame"]]) for f in points.getFeatures()
    ]
    assert max(errors) < 3.0, errors
    assert {f["label"] for f in points.getFeatures()} == {"car"}
    assert points.temporalProperties().isActive()
    assert points.renderer().type() == "categorizedSymbol" and len(points.renderer().categories()) == 1
    assert dock.frame_view._overlays, "the last tracked frame shows its overlay"

    exported = dock.export_geopackage(str(tmp_path / "export.gpkg"))
    for name, count in counts.items():
        layer = QgsVectorLayer(f"{exported}|layername={name}", name, "ogr")
        assert layer.isValid() and layer.featureCount() == count, name
    read_back = QgsVectorLayer(f"{exported}|layername=points", "points", "ogr")
    assert read_back.fields().indexOf("time_utc") >= 0
    assert output.exists()  # the engine's own per-frame GeoPackage

    group_names = [g.name() for g in QgsProject.instance().layerTreeRoot().findGroups()]
    assert result.video_path.name in group_names
    dock.shutdown()
    remaining = [g.name() for g in QgsProject.instance().layerTreeRoot().findGroups()]
    assert result.video_path.name not in remaining


def test_cancel_keeps_what_was_tracked(dock, clip, qtbot, tmp_path):
    result, box = clip
    assert dock.open_video(str(result.video_path))
    dock.add_box(*box, "car")
    task = dock.start_tracking(str(tmp_path / "cancelled.gpkg"))
    task.framesReady.connect(dock.stop_tracking)  # cancel as soon as the first frames arrive
    qtbot.waitUntil(lambda: dock.task is None, timeout=120_000)
    outcome = dock.last_outcome
    assert outcome.status == "cancelled"
    assert 0 < outcome.frames_tracked < FRAMES
    assert dock.track_layers.feature_counts()["points"] == outcome.frames_tracked
    stored = QgsVectorLayer(f"{tmp_path / 'cancelled.gpkg'}|layername=points", "points", "ogr")
    assert stored.featureCount() == outcome.frames_tracked
