"""Georeferencing chosen in the settings dialog (real widgets, opened from the plugin's menu entry): the
dock's footprint on the map moves to the chosen mode's ground and says which mode placed it."""

from __future__ import annotations

import numpy as np
import pytest
from qgis.core import QgsProject
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtWidgets import QApplication, QDialogButtonBox
from test_plugin_support import StubInterface


@pytest.fixture()
def horizon_clip(tmp_path):
    """An oblique clip from a gimbal that keeps the picture level while the platform pitches and rolls."""
    from qgis_siammask.core.definitions import GEOREF_HORIZON
    from qgis_siammask.core.simulator import SimulationConfig, simulate

    return simulate(SimulationConfig(out_dir=tmp_path / "clip", seed=3, frames=2, width_px=320, height_px=180,
                                     oblique_deg=45.0, platform_wobble_deg=8.0, vehicle_count=1,
                                     gimbal=GEOREF_HORIZON, write_masks=False))


def _corner_errors_m(footprint_layer, truth_lonlat) -> np.ndarray:
    ring = next(footprint_layer.getFeatures()).geometry().asPolygon()[0][:4]
    lat = np.radians(truth_lonlat[0][1])
    return np.array([np.hypot((p.x() - t[0]) * 111320.0 * np.cos(lat), (p.y() - t[1]) * 110540.0)
                     for p, t in zip(ring, truth_lonlat)])


def _choose_in_settings(plugin, qtbot, steps_down: int) -> None:
    """Open Settings… from the plugin's menu entry, move the georeferencing combo `steps_down` items
    down with the keyboard and click OK (the dialog is modal: it is driven from inside its own loop)."""
    def drive():
        dialog = QApplication.activeModalWidget()
        combo = dialog.georef_combo
        combo.setFocus()
        for _ in range(steps_down):
            qtbot.keyClick(combo, Qt.Key.Key_Down)
        ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, drive)
    settings_action = next(a for a in plugin.actions if a.objectName() == "siammaskSettings")
    settings_action.trigger()  # returns when the dialog is closed


def test_georeferencing_chosen_in_the_settings_moves_and_names_the_footprint(qgis_app, qtbot, horizon_clip):
    import qgis_siammask
    from qgis_siammask.core.definitions import FIELD_GEOREF, PROJECT_ENTRY_GEOREF, PROJECT_SCOPE
    from qgis_siammask.settings import PluginSettings, save_settings

    QgsProject.instance().clear()
    save_settings(PluginSettings(device="cpu"))
    iface = StubInterface()
    iface.main_window.show()
    plugin = qgis_siammask.classFactory(iface)
    plugin.initGui()
    try:
        plugin.show_dock()
        dock = plugin.dock
        assert dock.open_video(str(horizon_clip.video_path))
        truth = horizon_clip.frames[0]["truth"]["lonlat_deg"][1:]  # UL, UR, LR, LL
        footprint = dock.playback_layers.footprint
        assert footprint.name() == "footprint (ST 0601)"
        assert next(footprint.getFeatures())[FIELD_GEOREF] == "st0601"
        assert "ground  ST 0601 camera model" in dock.telemetry_label.text()
        st0601_errors = _corner_errors_m(footprint, truth)

        _choose_in_settings(plugin, qtbot, 1)
        assert QgsProject.instance().readEntry(PROJECT_SCOPE, PROJECT_ENTRY_GEOREF)[0] == "horizon"
        footprint = dock.playback_layers.footprint
        assert footprint.name() == "footprint (horizon)"
        assert next(footprint.getFeatures())[FIELD_GEOREF] == "horizon"
        assert "ground  Horizon-level gimbal" in dock.telemetry_label.text()
        horizon_errors = _corner_errors_m(footprint, truth)
        print(f"footprint corners vs truth: ST 0601 {np.round(st0601_errors, 2)} m, "
              f"horizon-level {np.round(horizon_errors, 2)} m")
        assert horizon_errors.max() < 1.0 and np.median(st0601_errors) > 5.0

        _choose_in_settings(plugin, qtbot, 1)  # the next one: the corners the KLV reports
        footprint = dock.playback_layers.footprint
        assert footprint.name() == "footprint (corners)"
        assert _corner_errors_m(footprint, truth).max() < 1.0
    finally:
        plugin.unload()
        iface.main_window.deleteLater()
        QgsProject.instance().clear()
        save_settings(PluginSettings(device="cpu"))
