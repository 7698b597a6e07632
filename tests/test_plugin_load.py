"""Loading and unloading the plugin in a real QgsApplication: entries with the icon, the Processing
provider, the dock; unloading leaves no dock, action, menu, provider or layer group behind."""

from __future__ import annotations

import pytest
from qgis.core import QgsApplication, QgsProject
from test_plugin_support import StubInterface

ALGORITHM_ID = "siammask:trackobjectsinvideo"


@pytest.fixture()
def iface(qgis_app):
    stub = StubInterface()
    stub.main_window.show()
    yield stub
    stub.main_window.deleteLater()


def test_load_adds_entries_and_unload_removes_everything(iface, qtbot):
    import qgis_siammask

    groups_before = len(QgsProject.instance().layerTreeRoot().children())
    plugin = qgis_siammask.classFactory(iface)
    plugin.initGui()
    assert len(iface.toolbar_actions()) == 1
    action = iface.toolbar_actions()[0]
    assert not action.icon().isNull()
    assert [a.objectName() for a in iface.plugin_menus["&SiamMask FMV Tracker"].actions()] == [
        "siammaskShowDock",
        "siammaskSettings",
    ]
    assert QgsApplication.processingRegistry().algorithmById(ALGORITHM_ID) is not None
    assert iface.messages == []  # every dependency is present here: no message at start-up

    action.trigger()  # the toolbar button opens the dock
    dock = plugin.dock
    assert dock is not None and dock.isVisible()
    assert iface.docks() == [dock]
    dock.close()
    assert not action.isChecked()  # closing the dock unchecks the button

    plugin.unload()
    assert iface.docks() == []
    assert iface.toolbar_actions() == []
    assert iface.plugin_menus == {}
    assert QgsApplication.processingRegistry().providerById("siammask") is None
    assert QgsApplication.processingRegistry().algorithmById(ALGORITHM_ID) is None
    assert len(QgsProject.instance().layerTreeRoot().children()) == groups_before


def test_unload_while_tracking_cancels_the_task(iface, qtbot, tmp_path_factory, request):
    from test_plugin_support import simulated_clip, tracking_model

    import qgis_siammask
    from qgis_siammask.settings import PluginSettings, save_settings

    save_settings(PluginSettings(model_path=tracking_model(request), device="cpu"))
    result, targets = simulated_clip(tmp_path_factory.getbasetemp(), 10)
    plugin = qgis_siammask.classFactory(iface)
    plugin.initGui()
    dock = plugin.show_dock()
    assert dock.open_video(str(result.video_path))
    dock.add_box(*targets[0][1], "car")
    task = dock.start_tracking(str(tmp_path_factory.mktemp("unload") / "tracks.gpkg"))
    qtbot.waitUntil(lambda: task.status() == task.Running, timeout=10_000)
    plugin.unload()
    assert task.isCanceled() and task.status() in (task.Terminated, task.Complete)
    assert (
        iface.docks() == []
        and QgsProject.instance().layerTreeRoot().findGroup(result.video_path.name) is None
    )
