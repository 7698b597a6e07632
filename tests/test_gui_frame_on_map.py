"""The video frame on the map and snapshots, driven on the real dock (issue 22, items 1 and 3): the
"video frame" layer of the clip's group drapes the frame over the simulator's DEM, its corners on the
footprint layer's within a pixel of the map image, it follows the video, the dock's slider sets its
opacity, the Layers panel toggles it, it saves and opens with the project, and Snapshot writes the frame."""

from __future__ import annotations

import json

import numpy as np
import pytest
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProject,
    QgsRasterLayer,
    QgsRenderContext,
)
from qgis.PyQt.QtCore import QSize, Qt
from qgis.PyQt.QtGui import QColor, QImage

CANVAS = QSize(1000, 800)
UTM = "EPSG:32613"  # the simulator's zone


@pytest.fixture(scope="module")
def dem_clip(tmp_path_factory):
    from qgis_siammask.core.simulator import SimulationConfig, simulate

    return simulate(SimulationConfig(out_dir=tmp_path_factory.mktemp("frame_map"), seed=4, frames=6,
                                     width_px=480, height_px=270, dem=True, relief_m=40.0, oblique_deg=35.0,
                                     vehicle_count=2, write_masks=False))


@pytest.fixture()
def dem_dock(qgis_app, qtbot, tmp_path, dem_clip):
    from test_plugin_support import StubInterface

    from qgis_siammask.frame_layer import register_frame_layer_type
    from qgis_siammask.gui.video_dock import VideoDock
    from qgis_siammask.settings import PluginSettings, save_settings

    register_frame_layer_type()  # as the plugin's start does
    QgsProject.instance().clear()
    dem_layer = QgsRasterLayer(str(dem_clip.dem_path), "dem")
    QgsProject.instance().addMapLayer(dem_layer)
    save_settings(PluginSettings(device="cpu", dem_layer_id=dem_layer.id(),
                                 output_folder=str(tmp_path / "out")))
    widget = VideoDock(StubInterface())
    widget.setFloating(True)
    widget.resize(640, 900)
    widget.show()
    qtbot.waitExposed(widget)
    assert widget.open_video(str(dem_clip.video_path))
    yield widget
    widget.shutdown()
    QgsProject.instance().clear()
    save_settings(PluginSettings(device="cpu"))


def _map_settings(layers, extent_layer) -> QgsMapSettings:
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(QgsCoordinateReferenceSystem(UTM))
    settings.setOutputSize(CANVAS)
    settings.setBackgroundColor(QColor("black"))
    to_map = QgsCoordinateTransform(extent_layer.crs(), settings.destinationCrs(), QgsProject.instance())
    extent = to_map.transformBoundingBox(extent_layer.extent())
    extent.scale(1.3)
    settings.setExtent(extent)
    return settings


def _render(settings) -> QImage:
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    return job.renderedImage()


def _footprint_pixels(dock, settings) -> np.ndarray:
    footprint = dock.playback_layers.footprint
    ring = next(footprint.getFeatures()).geometry().asPolygon()[0][:4]
    to_map = QgsCoordinateTransform(footprint.crs(), settings.destinationCrs(), QgsProject.instance())
    pixels = [settings.mapToPixel().transform(to_map.transform(point)) for point in ring]
    return np.array([(p.x(), p.y()) for p in pixels])


def test_the_frame_is_draped_on_the_dem_with_its_corners_on_the_footprint(dem_dock):
    from qgis_siammask.core.definitions import DRAPE_GRID_DEM
    from qgis_siammask.frame_layer import FrameLayer, device_nodes
    from qgis_siammask.layer_tree import find_group

    dock = dem_dock
    layer = dock.playback_layers.frame
    assert isinstance(layer, FrameLayer) and layer.name() == "video frame"
    group = find_group(QgsProject.instance().layerTreeRoot(), dock.group.key)
    assert layer.id() in [node.layerId() for node in group.findLayers()]  # in the clip's playback group
    assert layer.frame is not None
    assert layer.frame.grid.shape == DRAPE_GRID_DEM[::-1]  # (rows, columns): a facet of the DEM per cell
    settings = _map_settings([layer], layer)
    context = QgsRenderContext.fromMapSettings(settings)
    context.setCoordinateTransform(
        QgsCoordinateTransform(layer.crs(), settings.destinationCrs(), QgsProject.instance()))
    nodes = device_nodes(layer.frame.grid, context)
    corners = np.array([nodes[0, 0], nodes[0, -1], nodes[-1, -1], nodes[-1, 0]])
    errors = np.linalg.norm(corners - _footprint_pixels(dock, settings), axis=1)
    print(f"draped corners vs footprint corners on a {CANVAS.width()}x{CANVAS.height()} map image: "
          f"{np.round(errors, 4)} px")
    assert errors.max() < 1.0

    # drawn: the lit pixels fill the footprint's quadrilateral (to a pixel), black around it
    layer.set_frame(np.full_like(layer.frame.image_bgr, 255), layer.frame.geometry)
    layer.setOpacity(1.0)
    image = _render(settings).convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits().asstring(image.sizeInBytes()), np.uint8).reshape(
        image.height(), image.bytesPerLine() // 4, 4)[:, :image.width(), :3]
    lit = pixels.mean(axis=2) > 127
    rows, columns = np.nonzero(lit)
    footprint = _footprint_pixels(dock, settings)
    drawn_box = np.array([columns.min(), rows.min(), columns.max() + 1, rows.max() + 1])
    footprint_box = np.array([*footprint.min(axis=0), *footprint.max(axis=0)])
    print(f"lit box {drawn_box}, footprint box {np.round(footprint_box, 1)}")
    assert np.abs(drawn_box - footprint_box).max() < 1.5
    from shapely.geometry import Polygon

    assert abs(lit.sum() - Polygon(footprint).area) / Polygon(footprint).area < 0.01


def test_it_follows_the_video_opacity_slider_and_layers_panel(dem_dock, qtbot):
    dock = dem_dock
    layer = dock.playback_layers.frame
    first = layer.frame.grid.lonlat_deg.copy()
    dock.show_frame(5, update_map=True)
    assert layer.frame.image_bgr is dock.current_frame.image
    moved = np.abs(layer.frame.grid.lonlat_deg - first).max()
    assert moved > 1e-6  # the platform flew on: the frame moved on the map

    spin = dock.frame_on_map.controls.opacity_spin
    assert spin.isEnabled() and layer.opacity() == pytest.approx(spin.value() / 100.0) == 0.8
    spin.setFocus()
    qtbot.keyClick(spin, Qt.Key.Key_Down)  # the analyst turns the opacity down from the keyboard
    qtbot.keyClick(spin, Qt.Key.Key_Down)
    assert spin.value() == 60 and layer.opacity() == pytest.approx(0.6)
    assert spin.text() == "Frame 60 %"

    node = QgsProject.instance().layerTreeRoot().findLayer(layer.id())
    node.setItemVisibilityChecked(False)  # unticked in the Layers panel: nothing cast any more
    dock.show_frame(2, update_map=True)
    assert layer.frame is None and layer.extent().isEmpty()
    node.setItemVisibilityChecked(True)  # ticked while paused: the frame on screen comes back at once
    assert layer.frame is not None and layer.frame.image().width() == 480 and not layer.extent().isEmpty()
    group = node.parent()
    group.setItemVisibilityChecked(False)  # the clip's whole group unticked, then ticked again
    dock.show_frame(3, update_map=True)
    assert layer.frame is None
    group.setItemVisibilityChecked(True)
    assert layer.frame is not None and layer.frame.image_bgr is dock.current_frame.image


def test_the_frame_layer_saves_and_opens_with_the_project(dem_dock, tmp_path):
    from qgis_siammask.core.definitions import FRAME_LAYER_TYPE

    dock = dem_dock
    dock.frame_on_map.controls.opacity_spin.setValue(35)
    layer_id = dock.playback_layers.frame.id()
    project_path = str(tmp_path / "frame.qgz")
    assert QgsProject.instance().write(project_path)
    dock.close_video()
    QgsProject.instance().clear()
    assert QgsProject.instance().read(project_path)
    restored = QgsProject.instance().mapLayer(layer_id)
    assert restored is not None and restored.isValid() and restored.pluginLayerType() == FRAME_LAYER_TYPE
    assert restored.opacity() == pytest.approx(0.35)
    _render(_map_settings([restored], restored))  # an empty frame layer draws nothing, without error


def test_snapshot_button_saves_png_json_and_geotiff(dem_dock, qtbot, tmp_path):
    from osgeo import gdal

    from qgis_siammask.core.definitions import SNAPSHOT_TEXT_KEY
    from qgis_siammask.core.output.snapshot import read_png_text

    dock = dem_dock
    dock.show_frame(3, update_map=True)
    button = dock.frame_on_map.controls.snapshot_button
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    folder = tmp_path / "out" / "snapshots"
    stem = f"{dock.session.name.rsplit('.', 1)[0]}_f000003"
    assert sorted(p.name for p in folder.iterdir()) == [f"{stem}.json", f"{stem}.png", f"{stem}.tif"]
    assert "Snapshot saved" in dock.status_label.text()
    telemetry = json.loads(read_png_text(folder / f"{stem}.png")[SNAPSHOT_TEXT_KEY])
    assert telemetry["frame"] == 3 and telemetry["georef"] == "st0601"
    tif = gdal.Open(str(folder / f"{stem}.tif"))
    assert "UTM zone 13N" in tif.GetProjection()  # the project is in EPSG:4326: the frame's UTM zone
    dock.close_video()
    assert not button.isEnabled()
