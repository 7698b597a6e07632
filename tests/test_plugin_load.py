"""Loading and unloading the plugin in a real QgsApplication: entries with the icon, the Processing
provider, the dock; unloading leaves no dock, action, menu, provider or layer group behind."""

from __future__ import annotations

import pytest
from qgis.core import Qgis, QgsApplication, QgsProject
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
        "siammaskPackages",
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


def test_unload_while_tracking_keeps_the_frames_tracked(iface, qtbot, tmp_path_factory, request):
    """Unloading mid-run cancels the task; the frames tracked stay in the project, read from the file."""
    from qgis.PyQt.QtCore import Qt
    from test_plugin_support import simulated_clip, tracking_model

    import qgis_siammask
    from qgis_siammask.settings import PluginSettings, save_settings

    output_dir = tmp_path_factory.mktemp("unload")
    save_settings(
        PluginSettings(model_path=tracking_model(request), device="cpu", output_folder=str(output_dir))
    )
    result, targets = simulated_clip(tmp_path_factory.getbasetemp(), 10)
    plugin = qgis_siammask.classFactory(iface)
    plugin.initGui()
    dock = plugin.show_dock()
    assert dock.open_video(str(result.video_path))
    dock.add_box(*targets[0][1], "car")
    qtbot.mouseClick(dock.track_button, Qt.MouseButton.LeftButton)
    task = dock.task
    qtbot.waitUntil(lambda: dock.track_layers.feature_counts()["points"] > 0, timeout=60_000)
    logged = []
    log = QgsApplication.messageLog()
    log.messageReceived[str, str, Qgis.MessageLevel].connect(record := lambda text, *_: logged.append(text))
    plugin.unload()
    log.messageReceived[str, str, Qgis.MessageLevel].disconnect(record)
    assert any(text.startswith("The run was cut short (plugin unloaded") for text in logged), logged
    assert task.isCanceled() and task.status() in (task.Terminated, task.Complete)
    assert iface.docks() == []
    group = QgsProject.instance().layerTreeRoot().findGroup(result.video_path.name)
    layers = {node.layer().name(): node.layer() for node in group.findLayers()}
    assert sorted(layers) == ["boxes", "footprints", "lines", "masks", "points"]  # no playback layers
    assert all(layer.providerType() == "ogr" for layer in layers.values())
    files = {layer.source().split("|")[0] for layer in layers.values()}
    assert len(files) == 1 and files.pop().startswith(str(output_dir))
    assert 0 < layers["points"].featureCount() <= 10
    QgsProject.instance().clear()


def test_translation_installed_with_the_plugin_and_removed_on_unload(iface, qtbot):
    from qgis.core import QgsSettings
    from qgis.PyQt.QtCore import QCoreApplication

    import qgis_siammask

    settings = QgsSettings()
    settings.setValue("locale/userLocale", "de_DE")
    try:
        plugin = qgis_siammask.classFactory(iface)
        plugin.initGui()
        assert plugin.translator is not None
        dock = plugin.show_dock()
        assert dock.track_button.text() == "Verfolgen"
        assert iface.plugin_menus["&SiamMask FMV Tracker"].actions()[1].text() == "Einstellungen…"
        plugin.unload()
        assert QCoreApplication.translate("VideoDock", "Track") == "Track"
    finally:
        settings.remove("locale/userLocale")


def test_qgis_quitting_leaves_the_project_alone_and_unload_disconnects_everything(
    iface, qtbot, tmp_path_factory, request
):
    """QGIS segfaulted in QgisApp::setMapStyleDockLayer after a run, the run's footprints layer removed and
    QgsApplication.exit(0): the dock's aboutToQuit handler removed the playback layers while QGIS's
    windows were being torn down. Quitting now edits neither the project nor the layer tree; unloading
    leaves no connection of the plugin on QGIS's application, project or temporal controller."""
    from qgis.PyQt.QtCore import Qt
    from test_gui_dock import _draw_box
    from test_plugin_support import simulated_clip, tracking_model

    import qgis_siammask
    from qgis_siammask.settings import PluginSettings, save_settings

    save_settings(
        PluginSettings(
            model_path=tracking_model(request),
            device="cpu",
            output_folder=str(tmp_path_factory.mktemp("quit")),
        )
    )
    from qgis.core import QgsTemporalNavigationObject

    app, project = QgsApplication.instance(), QgsProject.instance()
    controller = QgsTemporalNavigationObject(iface.canvas)  # QGIS's temporal controller panel's
    iface.canvas.setTemporalController(controller)
    signals = (
        (app, app.aboutToQuit),
        (project, project.cleared),
        (project, project.homePathChanged),
        (project, project.readProject),
        (controller, controller.updateTemporalRange),
    )
    from qgis.PyQt.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # earlier tests' widgets go now
    receivers_before = [owner.receivers(signal) for owner, signal in signals]
    result, targets = simulated_clip(tmp_path_factory.getbasetemp(), 10)
    plugin = qgis_siammask.classFactory(iface)
    plugin.initGui()
    iface.toolbar_actions()[0].trigger()
    dock = plugin.dock
    assert dock.open_video(str(result.video_path))
    _draw_box(qtbot, dock.frame_view, targets[0][1])
    qtbot.mouseClick(dock.track_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dock.task is None, timeout=150_000)
    footprints = dock.track_layers.layers["footprints"]
    project.removeMapLayer(footprints.id())  # as the tester did in the Layers panel
    del footprints
    changes = []
    project.layersWillBeRemoved.connect(removed := lambda ids: changes.append(("removed", ids)))
    project.layersAdded.connect(added := lambda layers: changes.append(("added", len(layers))))
    layer_count = len(project.mapLayers())

    app.aboutToQuit.emit()  # what QgsApplication.exit(0) and File > Exit send before QGIS goes

    project.layersWillBeRemoved.disconnect(removed)
    project.layersAdded.disconnect(added)
    assert changes == [] and len(project.mapLayers()) == layer_count
    assert dock.session is None  # the video file is closed
    plugin.unload()
    assert [owner.receivers(signal) for owner, signal in signals] == receivers_before
    project.clear()
