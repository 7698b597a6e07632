"""The packaged zip's plugin in headless QGIS, driven as a user drives it: a box dragged on the frame
view and Track clicked (Qt events), the group moved as a drag in the Layers panel does and Track clicked
again, then the plugin unloaded: the runs' GeoPackage-backed layers stay in the project.

Runs in a subprocess so that `qgis_siammask` is imported from the unpacked zip, not from the checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

from test_package import build_zip
from test_plugin_support import simulated_clip, tracking_model

REPO_ROOT = Path(__file__).resolve().parent.parent
FRAMES = 10

SCRIPT = textwrap.dedent(
    r"""
    import json, os, sys
    sys.path.insert(0, os.environ["PLUGINS_DIR"])
    sys.path.insert(1, os.path.join(os.environ["REPO_ROOT"], "tests"))
    from qgis.testing import start_app
    from qgis.core import QgsProject
    from qgis.PyQt.QtCore import QPoint, Qt
    from qgis.PyQt.QtTest import QTest
    from test_plugin_support import StubInterface

    app = start_app()
    import qgis_siammask
    from qgis_siammask.settings import PluginSettings, save_settings

    save_settings(
        PluginSettings(model_path=os.environ["MODEL"], device="cpu", output_folder=os.environ["OUT"])
    )
    iface = StubInterface()
    iface.main_window.show()
    plugin = qgis_siammask.classFactory(iface)
    plugin.initGui()
    iface.toolbar_actions()[0].trigger()  # the toolbar button opens the dock
    dock = plugin.dock
    dock.setFloating(True)
    dock.resize(640, 900)
    assert dock.open_video(os.environ["VIDEO"])
    QTest.qWait(200)


    def draw_box():
        view = dock.frame_view
        x, y, w, h = (float(v) for v in os.environ["BOX"].split(","))
        start, end = view.image_to_widget(x, y).toPoint(), view.image_to_widget(x + w, y + h).toPoint()
        QTest.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
        QTest.mouseMove(view, QPoint((start.x() + end.x()) // 2, (start.y() + end.y()) // 2))
        QTest.mouseMove(view, end)
        QTest.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)


    def track():
        QTest.mouseClick(dock.track_button, Qt.MouseButton.LeftButton)
        for _ in range(1500):
            if dock.task is None:
                break
            QTest.qWait(100)
        return [dock.last_outcome.status, dock.last_outcome.frames_tracked]


    root = QgsProject.instance().layerTreeRoot()
    draw_box()
    state = {"plugin_file": qgis_siammask.__file__, "boxes": len(dock.boxes), "first": track()}
    group = root.findGroup(os.path.basename(os.environ["VIDEO"]))
    root.insertChildNode(len(root.children()), group.clone())  # a drag in the Layers panel
    root.removeChildNode(group)
    dock.slider.setValue(0)
    QTest.qWait(200)  # the layout settles after the run's status lines
    draw_box()  # the first run used its box
    state["second"] = track()
    plugin.unload()
    state["groups"] = [g.name() for g in root.findGroups(True)]
    state["layers"] = sorted(
        (layer.name(), layer.providerType(), layer.featureCount())
        for layer in QgsProject.instance().mapLayers().values()
    )
    print(json.dumps(state))
    """
)


def test_zip_plugin_tracks_after_a_drag_and_keeps_its_layers(tmp_path, tmp_path_factory, request):
    clip, targets = simulated_clip(tmp_path_factory.getbasetemp(), FRAMES)
    plugins_dir = tmp_path / "plugins"
    with zipfile.ZipFile(build_zip(tmp_path / "dist")) as archive:
        archive.extractall(plugins_dir)
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PLUGINS_DIR": str(plugins_dir),
        "REPO_ROOT": str(REPO_ROOT),
        "MODEL": tracking_model(request),
        "OUT": str(tmp_path / "runs"),
        "VIDEO": str(clip.video_path),
        "BOX": ",".join(str(v) for v in targets[0][1]),
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=400
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    state = json.loads(result.stdout.strip().splitlines()[-1])
    assert state["plugin_file"].startswith(str(plugins_dir))
    assert state["boxes"] == 1
    assert state["first"] == ["success", FRAMES] and state["second"] == ["success", FRAMES]
    assert state["groups"] == [clip.video_path.name, "tracks 2", "tracks 1"]
    names = sorted(name for name, _, _ in state["layers"])
    assert names == sorted(["masks", "boxes", "points", "lines", "footprints"] * 2), state["layers"]
    assert {provider for _, provider, _ in state["layers"]} == {"ogr"}  # read from the GeoPackages
    points = [count for name, _, count in state["layers"] if name == "points"]
    assert points == [FRAMES, FRAMES]
