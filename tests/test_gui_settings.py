"""The settings dialog: a model file is checked when chosen (what it is, or why it is unusable),
the DEM comes from the project's raster layers, and the values survive a save/load round trip."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from qgis.core import QgsProject, QgsRasterLayer
from test_plugin_support import tracking_model


@pytest.fixture()
def dem_layer(qgis_app, tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path / "dem.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=8,
        height=8,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(-104.83, 41.15, 0.001, 0.001),
    ) as dem:
        dem.write(np.full((1, 8, 8), 1850.0, dtype="float32"))
    layer = QgsRasterLayer(str(path), "dem")
    assert layer.isValid()
    QgsProject.instance().addMapLayer(layer)
    layer_id = layer.id()  # the test may clear the project, deleting the layer
    yield layer
    QgsProject.instance().removeMapLayer(layer_id)


def test_model_check_dem_choice_and_round_trip(qgis_app, qtbot, dem_layer, tmp_path, request):
    from qgis_siammask.gui.settings_dialog import SettingsDialog
    from qgis_siammask.settings import load_settings, save_settings

    model = tracking_model(request)
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a torchscript file")
    assert not dialog.check_model(str(broken))
    assert dialog.model_label.text().startswith("Not usable") and "broken.pt" in dialog.model_label.text()
    checkpoint = tmp_path / "SiamMask_DAVIS.pth"
    checkpoint.write_bytes(b"a checkpoint, not a TorchScript file")
    assert not dialog.check_model(str(checkpoint)) and "Models…" in dialog.model_label.text()
    devices = [dialog.device_combo.itemText(i) for i in range(dialog.device_combo.count())]
    assert devices == (["auto", "cuda", "cpu"] if torch.cuda.is_available() else ["auto", "cpu"])
    dialog.model_widget.setFilePath("")
    dialog.model_widget.setFilePath(model)  # fileChanged checks it
    assert "backbone" in dialog.model_label.text() and "mask yes" in dialog.model_label.text()

    dialog.device_combo.setCurrentText("cpu")
    dialog.precision_combo.setCurrentText("bf16")
    dialog.threshold_spin.setValue(0.45)
    dialog.dem_combo.setLayer(dem_layer)
    dialog.crs_widget.setCrs(dem_layer.crs())
    dialog.output_widget.setFilePath(str(tmp_path / "runs"))
    dialog.accept()
    saved = load_settings()
    assert (saved.model_path, saved.device, saved.score_threshold) == (model, "cpu", pytest.approx(0.45))
    assert saved.dem_layer_id == dem_layer.id() and saved.dem_path() == dem_layer.source()
    assert saved.output_crs == "EPSG:4326" and saved.precision == "bf16"
    assert saved.output_dir() == tmp_path / "runs"
    # the DEM, CRS and folder belong to this project: in its file, not in the plugin-wide settings
    project = QgsProject.instance()
    assert project.readEntry("qgis_siammask", "dem_layer_id")[0] == dem_layer.id()
    assert project.readEntry("qgis_siammask", "output_folder")[0] == str(tmp_path / "runs")
    project_file = tmp_path / "project.qgz"
    assert project.write(str(project_file))
    other = QgsProject()
    assert load_settings(other).dem_layer_id == "" and load_settings(other).model_path == model
    assert other.read(str(project_file)) and load_settings(other).dem_layer_id == dem_layer.id()
    other.clear()
    project.clear()  # no saved project (home path) left for the tests after this one
    save_settings(dataclasses.replace(saved, precision="fp32"))  # later tests track with the default


def test_ok_refuses_a_model_reported_unusable(qgis_app, qtbot, dem_layer, request):
    """A GeoTIFF typed as the model: "Not usable", and OK keeps the dialog open and saves nothing."""
    from qgis.PyQt.QtCore import Qt
    from qgis.PyQt.QtWidgets import QDialogButtonBox

    from qgis_siammask.gui.settings_dialog import SettingsDialog
    from qgis_siammask.settings import default_model_path, load_settings

    before = load_settings().model_path
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    line = dialog.model_widget.lineEdit()
    line.clear()
    qtbot.keyClicks(line, dem_layer.source())
    assert dialog.model_label.text().startswith("Not usable")
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.result() != dialog.DialogCode.Accepted
    assert "Not saved" in dialog.model_label.text()
    assert load_settings().model_path == before

    line.clear()  # empty: the default model, usable, named as its file and README name it
    assert dialog.model_label.text().startswith(Path(default_model_path()).stem + ": backbone")
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible() and load_settings().model_path == ""


def test_runs_started_in_the_same_second_get_their_own_files(tmp_path, monkeypatch):
    """The time names a run's file to the second: a second and a third run in it (one still writing its
    partial file) get `_2` and `_3`, never the first run's file."""
    from datetime import datetime

    import qgis_siammask.settings as settings
    from qgis_siammask.core.files import partial_path

    class FrozenClock(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 1, 1, 12, 0, 0, tzinfo=tz)

    monkeypatch.setattr(settings, "datetime", FrozenClock)
    first = settings.run_output_path(tmp_path, "clip")
    first.touch()
    second = settings.run_output_path(tmp_path, "clip")
    partial_path(second).touch()  # a run still writing
    third = settings.run_output_path(tmp_path, "clip")
    stem = "clip_20260101_120000"
    names = [path.name for path in (first, second, third)]
    assert names == [f"{stem}.gpkg", f"{stem}_2.gpkg", f"{stem}_3.gpkg"]
