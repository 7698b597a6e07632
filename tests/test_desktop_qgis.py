"""The packaged plugin in desktop QGIS: the zip from scripts/package.py unpacked into a fresh profile,
QGIS started under xvfb, the dock opened on a simulated clip with a target tracked, a screenshot of the
whole window saved to build/screenshots/qgis_dock.png, then the plugin unloaded and checked gone."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sysconfig
import zipfile
from pathlib import Path

import pytest
from test_package import build_zip
from test_plugin_support import simulated_clip, tracking_model

from qgis_siammask.settings import default_model_path

REPO_ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = REPO_ROOT / "build" / "screenshots" / "qgis_dock.png"
DESKTOP_TIMEOUT_S = 170
FRAMES = 10

pytestmark = pytest.mark.desktop

# Runs inside desktop QGIS (its own Python): everything is driven by timers so QGIS keeps painting.
STARTUP_SCRIPT = r"""
import json, os, sys, traceback
from qgis.core import QgsApplication, QgsProject
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QDockWidget
from qgis.utils import iface, plugins, unloadPlugin

RESULT = os.environ["SIAMMASK_DESKTOP_RESULT"]
state = {"steps": []}


def finish(error=None):
    if error:
        state["error"] = error
    with open(RESULT, "w") as out:
        json.dump(state, out)
    QTimer.singleShot(100, lambda: QgsApplication.exit(0))


def guarded(step):
    def run():
        try:
            step()
        except Exception:
            finish(traceback.format_exc())
    return run


def start():
    state["loaded"] = "qgis_siammask" in plugins
    plugin = plugins["qgis_siammask"]
    from qgis_siammask.settings import PluginSettings, save_settings
    # an empty model path means the model bundled in the zip
    save_settings(PluginSettings(model_path=os.environ["SIAMMASK_MODEL"], device="cpu"))
    from qgis_siammask.settings import load_settings
    state["model_used"] = load_settings().effective_model_path
    iface.mainWindow().resize(1600, 1000)
    global background
    background = iface.addRasterLayer(os.environ["SIAMMASK_BACKGROUND"], "simulated ground")
    dock = plugin.show_dock()
    state["plugin_file"] = sys.modules["qgis_siammask"].__file__
    state["opened"] = dock.open_video(os.environ["SIAMMASK_VIDEO"])
    x, y, w, h = (float(v) for v in os.environ["SIAMMASK_BOX"].split(","))
    dock.label_edit.setText("vehicle")
    dock.add_box(x, y, w, h, "vehicle")
    task = dock.start_tracking()
    state["task_started"] = task is not None
    poll_tracking(dock, 0)


def poll_tracking(dock, waited_ms):
    if dock.task is None:
        state["outcome"] = [dock.last_outcome.status, dock.last_outcome.frames_tracked]
        state["counts"] = dock.track_layers.feature_counts()
        temporal = iface.mapCanvas().temporalController().temporalExtents()
        state["temporal_ms"] = temporal.end().toMSecsSinceEpoch() - temporal.begin().toMSecsSinceEpoch()
        dock.show_frame(dock.frame_index, update_map=True)
        canvas = iface.mapCanvas()
        iface.layerTreeView().expandAllNodes()
        QgsProject.instance().layerTreeRoot().findLayer(background.id()).setExpanded(False)
        extent = dock.track_layers.layers["footprints"].extent()
        extent.scale(1.3)
        canvas.setExtent(extent)
        canvas.refresh()
        QTimer.singleShot(2500, guarded(lambda: screenshot(dock)))
    elif waited_ms > 120000:
        finish("tracking did not finish in 120 s")
    else:
        QTimer.singleShot(200, guarded(lambda: poll_tracking(dock, waited_ms + 200)))


def screenshot(dock):
    state["overlays"] = len(dock.frame_view._overlays)
    image = iface.mainWindow().grab()
    state["screenshot"] = image.save(os.environ["SIAMMASK_SCREENSHOT"])
    state["groups_before_unload"] = [g.name() for g in QgsProject.instance().layerTreeRoot().findGroups()]
    unloadPlugin("qgis_siammask")
    QTimer.singleShot(500, guarded(check_unloaded))  # let deleteLater() run first


def check_unloaded():
    from qgis.PyQt.QtWidgets import QAction

    window = iface.mainWindow()
    docks = window.findChildren(QDockWidget)
    state["docks_after_unload"] = [d.objectName() for d in docks if d.objectName() == "SiamMaskVideoDock"]
    actions = window.findChildren(QAction)
    state["actions_after_unload"] = [a.objectName() for a in actions if a.objectName().startswith("siammask")]
    state["groups_after_unload"] = [g.name() for g in QgsProject.instance().layerTreeRoot().findGroups()]
    state["provider_after_unload"] = QgsApplication.processingRegistry().providerById("siammask") is not None
    finish()


QTimer.singleShot(1000, guarded(start))
"""


def _venv_site_packages() -> str:
    return sysconfig.get_paths()["purelib"]


def test_packaged_plugin_in_desktop_qgis(tmp_path, tmp_path_factory, request):
    if shutil.which("xvfb-run") is None or shutil.which("qgis") is None:
        pytest.skip("desktop QGIS or xvfb-run is not installed")
    clip, targets = simulated_clip(tmp_path_factory.getbasetemp(), FRAMES)
    video_path, box_xywh = clip.video_path, targets[0][1]
    model_path = tracking_model(request)
    bundled = model_path == default_model_path()  # then the zip carries it: QGIS must find it there
    profiles = tmp_path / "qgis_profiles"  # --profiles-path holds profiles/<name>/
    plugins_dir = profiles / "profiles" / "default" / "python" / "plugins"
    plugins_dir.mkdir(parents=True)
    with zipfile.ZipFile(build_zip(tmp_path / "dist")) as archive:
        archive.extractall(plugins_dir)
    ini = profiles / "profiles" / "default" / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text(
        "[PythonPlugins]\nqgis_siammask=true\n\n[qgis]\nshowTips=false\ncheckVersion=false\n"
        "allowCrashReporter=false\n\n[core]\nNewsFeed\\httpsfeedqgisorg\\disabled=true\n"
    )
    script = tmp_path / "startup.py"
    script.write_text(STARTUP_SCRIPT)
    result_path = tmp_path / "result.json"
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    env = {
        **{k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"},
        # desktop QGIS runs Debian's Python: give it the venv's torch, cv2, av (as a user's pip would)
        "PYTHONPATH": _venv_site_packages(),
        "SIAMMASK_DESKTOP_RESULT": str(result_path),
        "SIAMMASK_VIDEO": str(video_path),
        "SIAMMASK_BOX": ",".join(str(v) for v in box_xywh),
        "SIAMMASK_MODEL": "" if bundled else str(model_path),
        "SIAMMASK_BACKGROUND": str(clip.texture_path),
        "SIAMMASK_SCREENSHOT": str(SCREENSHOT),
        "OMP_NUM_THREADS": "2",
    }
    command = [
        "xvfb-run",
        "-a",
        "-s",
        "-screen 0 1600x1000x24",
        "qgis",
        "--profiles-path",
        str(profiles),
        "--nologo",
        "--noversioncheck",
        "--code",
        str(script),
    ]
    qgis = subprocess.Popen(
        command,
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        log, _ = qgis.communicate(timeout=DESKTOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(qgis.pid, signal.SIGKILL)  # xvfb-run, Xvfb and QGIS together
        log, _ = qgis.communicate()
    assert result_path.exists(), f"QGIS wrote no result (a modal error dialog?):\n{log[-4000:]}"
    state = json.loads(result_path.read_text())
    assert "error" not in state, state["error"]
    assert state["loaded"] and state["opened"] and state["task_started"]
    assert state["plugin_file"].startswith(str(plugins_dir))  # the packaged copy, not the checkout
    if bundled:
        assert state["model_used"].startswith(str(plugins_dir / "qgis_siammask" / "models"))
    status, frames = state["outcome"]
    assert status == "success" and frames == FRAMES
    assert state["counts"]["points"] == FRAMES and state["counts"]["footprints"] == FRAMES
    assert state["overlays"] >= 1
    assert state["temporal_ms"] == 1000 * (FRAMES - 1) / 25  # the temporal controller spans the run
    assert state["screenshot"] and SCREENSHOT.stat().st_size > 20000
    assert state["groups_before_unload"]
    assert state["docks_after_unload"] == [] and state["actions_after_unload"] == []
    assert state["groups_after_unload"] == [] and state["provider_after_unload"] is False
