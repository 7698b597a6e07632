"""The packaged plugin in desktop QGIS, driven through the window system: `make package`'s zip and
plugins.xml served from 127.0.0.1 and installed with QGIS's own plugin installer (pyplugin_installer)
into a fresh profile; QGIS under Xvfb; two boxes dragged on the video and Track, the Tracks tab, Export
and Play clicked with real X mouse events (xdotool); screenshots under build/screenshots/ (the dock, the
zoomed player, a polygon digitised and an area measured on the video, the tracks panel, the export, the
platform trail and line of sight of an oblique clip, the frame draped on the map over a DEM, with a Snapshot
clicked);
then the plugin unloaded, its GeoPackage-backed layers still in the project."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import signal
import subprocess
import sysconfig
import threading
from pathlib import Path

import pytest
from test_package import build_zip
from test_plugin_support import simulated_clip, tracking_model

from qgis_siammask.settings import default_model_path

REPO_ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO_ROOT / "build" / "screenshots"
DESKTOP_TIMEOUT_S = 240
FRAMES = 10
TRAIL_FRAMES = 100

pytestmark = pytest.mark.desktop

# Runs inside desktop QGIS (its own Python): everything is driven by timers so QGIS keeps painting;
# mouse and keys go through the X server (xdotool), as a user's would.
STARTUP_SCRIPT = r"""
import json, os, subprocess, sys, time, traceback
from qgis.core import QgsApplication, QgsProject, QgsSettings
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QApplication, QDockWidget, QFileDialog
from qgis.utils import iface, plugins, unloadPlugin

RESULT = os.environ["SIAMMASK_DESKTOP_RESULT"]
SHOTS = os.environ["SIAMMASK_SCREENSHOTS"]
state = {"steps": [], "log": []}


def logged(message, tag, level):  # every message of QGIS's log panel, from install to unload
    state["log"].append([tag, getattr(level, "value", level), message])


QgsApplication.messageLog().messageReceived.connect(logged)


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


def later(ms, step):
    QTimer.singleShot(ms, guarded(step))


def xdotool(*args):
    subprocess.run(["xdotool", *map(str, args)], check=True, timeout=20)


def centre(widget):
    point = widget.mapToGlobal(widget.rect().center())
    return point.x(), point.y()


def shot(name, widget=None):
    # the whole X screen, dialogs included, or the part of it a widget covers
    corner = widget.mapToGlobal(widget.rect().topLeft()) if widget is not None else None
    area = (corner.x(), corner.y(), widget.width(), widget.height()) if widget is not None else ()
    image = QApplication.primaryScreen().grabWindow(0, *area)
    path = os.path.join(SHOTS, name)
    state.setdefault("screenshots", []).append(path if image.save(path) else "")


def install():
    settings = QgsSettings()
    settings.setValue("app/plugin_installer/allowExperimental", True)  # QGIS before 3.30
    settings.setValue("app/plugin_installer/checkOnStart", False)
    try:  # QGIS 3.30 and newer read these from the settings tree (plugin-manager/...) instead: the
        # old keys are only migrated once, at start, so set at run time they would be ignored and
        # plugins.all() would leave out the (experimental) plugin
        from qgis.core import QgsSettingsTree
        manager = QgsSettingsTree.node("plugin-manager")
    except ImportError:
        manager = None
    if manager is not None:
        manager.childSetting("allow-experimental").setValue(True)
        manager.childSetting("automatically-check-for-updates").setValue(False)
    settings.setValue("app/plugin_repositories/QGIS Official Plugin Repository/url",
                      "https://plugins.qgis.org/plugins/plugins.xml")
    settings.setValue("app/plugin_repositories/QGIS Official Plugin Repository/enabled", False)
    settings.setValue("app/plugin_repositories/siammask local/url", os.environ["SIAMMASK_REPOSITORY"])
    settings.setValue("app/plugin_repositories/siammask local/enabled", True)
    import pyplugin_installer
    installer = pyplugin_installer.instance()
    installer.fetchAvailablePlugins(True)
    from pyplugin_installer.installer_data import plugins as available, repositories
    state["repositories"] = {k: [v.get("url"), v.get("state"), v.get("error"), v.get("enabled")]
                             for k, v in repositories.all().items()}
    state["offered"] = available.all().get("qgis_siammask", {}).get("version_available_experimental")
    installer.installPlugin("qgis_siammask", quiet=True, stable=False)
    state["loaded"] = "qgis_siammask" in plugins
    later(500, start)


def start():
    plugin = plugins["qgis_siammask"]
    from qgis_siammask.settings import PluginSettings, save_settings
    save_settings(PluginSettings(model_path=os.environ["SIAMMASK_MODEL"], device="cpu",
                                 output_folder=os.environ["SIAMMASK_OUTPUT"]))
    from qgis_siammask.settings import load_settings
    state["model_used"] = load_settings().effective_model_path
    iface.mainWindow().setGeometry(0, 0, 1600, 1000)  # no window manager under xvfb-run: no maximize
    global background
    background = iface.addRasterLayer(os.environ["SIAMMASK_BACKGROUND"], "simulated ground")
    dock = plugin.show_dock()
    iface.mainWindow().resizeDocks([dock], [620], 1)  # Qt.Horizontal
    state["plugin_file"] = sys.modules["qgis_siammask"].__file__
    state["opened"] = dock.open_video(os.environ["SIAMMASK_VIDEO"])
    later(1500, lambda: drag_box(dock))


def drag_box(dock, boxes=None):
    view = dock.frame_view
    if boxes is None:
        boxes = [[float(v) for v in box.split(",")] for box in os.environ["SIAMMASK_BOXES"].split(";")]
        boxes = list(zip(os.environ["SIAMMASK_LABELS"].split(";"), boxes))
    label, (x, y, w, h) = boxes.pop(0)
    xdotool("mousemove", *centre(dock.label_edit), "click", 1, "key", "ctrl+a", "type", label)
    start = view.mapToGlobal(view.image_to_widget(x, y).toPoint())
    end = view.mapToGlobal(view.image_to_widget(x + w, y + h).toPoint())
    xdotool("mousemove", start.x(), start.y(), "mousedown", 1, "sleep", 0.2,
            "mousemove", (start.x() + end.x()) // 2, (start.y() + end.y()) // 2, "sleep", 0.2,
            "mousemove", end.x(), end.y(), "sleep", 0.2, "mouseup", 1)
    later(800, lambda: drag_box(dock, boxes) if boxes else click_track(dock))


def pace_frames(seconds_per_frame):
    # An idle machine tracks the 10 frames faster than the 200 ms poll below: pace the task's frame
    # callback (worker thread) so the live layers can be caught growing on screen.
    import qgis_siammask.tasks as tasks
    on_frame = tasks.TrackingTask._on_frame
    def paced(task, features):
        time.sleep(seconds_per_frame)
        on_frame(task, features)
    tasks.TrackingTask._on_frame = paced


def click_track(dock):
    pace_frames(0.15)
    state["boxes"] = [list(box.xywh) for box in dock.boxes]
    state["track_enabled"] = dock.track_button.isEnabled()
    xdotool("mousemove", *centre(dock.track_button), "click", 1)
    later(300, lambda: poll_tracking(dock, 0, False))


def poll_tracking(dock, waited_ms, shot_live):
    if waited_ms == 0:
        state["task_started"] = dock.task is not None
        if dock.task is None:
            return finish("clicking Track started nothing: " + dock.status_label.text())
    if dock.task is not None and not shot_live and dock.track_layers.feature_counts()["points"] > 2:
        zoom_to_run(dock)
        later(700, lambda: shot("qgis_tracking_live.png"))  # the canvas renders in the background
        shot_live = True
    if dock.task is None:
        state["outcome"] = [dock.last_outcome.status, dock.last_outcome.frames_tracked]
        state["gpkg"] = dock.last_outcome.gpkg_path
        state["counts"] = dock.track_layers.feature_counts()
        state["providers"] = sorted({l.providerType() for l in dock.track_layers.layers.values()})
        temporal = iface.mapCanvas().temporalController().temporalExtents()
        state["temporal_ms"] = temporal.end().toMSecsSinceEpoch() - temporal.begin().toMSecsSinceEpoch()
        state["output_shown"] = (dock.output_edit.text(), dock.status_label.text())
        zoom_to_run(dock)
        later(2500, lambda: after_run(dock))
    elif waited_ms > 150000:
        finish("tracking did not finish in 150 s")
    else:
        later(200, lambda: poll_tracking(dock, waited_ms + 200, shot_live))


def zoom_to_run(dock):
    canvas = iface.mapCanvas()
    iface.layerTreeView().expandAllNodes()
    QgsProject.instance().layerTreeRoot().findLayer(background.id()).setExpanded(False)
    extent = dock.track_layers.layers["footprints"].extent()
    extent.scale(1.3)
    canvas.setExtent(extent)
    canvas.refresh()


def after_run(dock):
    state["overlays"] = len(dock.frame_view._overlays)
    shot("qgis_dock.png")
    view = dock.frame_view
    centre_px = dock.frame_features(dock.frame_index).tracks[0].box_px.centroid
    target = view.mapToGlobal(view.image_to_widget(centre_px.x, centre_px.y).toPoint())
    xdotool("mousemove", target.x(), target.y(), "click", "--repeat", 6, "--delay", 50, 4)  # wheel up
    later(800, lambda: zoomed(dock))


def zoomed(dock):
    state["zoom"] = dock.frame_view.zoom
    shot("qgis_player_zoomed.png")
    xdotool("mousemove", *centre(dock.fit_button), "click", 1)
    later(500, lambda: digitise_polygon(dock))


def click_pixels(view, pixels, last="click"):
    # X clicks on image pixels of the video; the last one a double-click, or Return after it
    for number, (x, y) in enumerate(pixels):
        at = view.mapToGlobal(view.image_to_widget(x, y).toPoint())
        repeat = 2 if last == "double" and number == len(pixels) - 1 else 1
        xdotool("mousemove", at.x(), at.y(), "click", "--repeat", repeat, "--delay", 80, 1, "sleep", 0.5)
    if last == "return":
        xdotool("key", "Return")


def digitise_polygon(dock):
    # the Tools tab, its Polygon tool: a polygon round the first track's box on the video, into the clip's
    # GeoPackage
    tabs = dock.panels.tabBar()
    tab = tabs.mapToGlobal(tabs.tabRect(dock.panels.indexOf(dock.video_tools.row)).center())
    xdotool("mousemove", tab.x(), tab.y(), "click", 1)
    later(600, lambda: polygon_clicked(dock))  # Qt shows the tab once this step returns


def polygon_clicked(dock):
    xdotool("mousemove", *centre(dock.video_tools.row.buttons["polygon"]), "click", 1)
    box = dock.frame_features(dock.frame_index).tracks[0].box_px
    click_pixels(dock.frame_view, list(box.exterior.coords)[:4], last="double")
    later(1500, lambda: polygon_digitised(dock))


def polygon_digitised(dock):
    layers = [l for l in QgsProject.instance().mapLayers().values() if "digitised polygons" in l.name()]
    state["digitised"] = [layer.featureCount() for layer in layers]
    iface.layerTreeView().expandAllNodes()
    extent = next(layers[0].getFeatures()).geometry().boundingBox()  # in the edit buffer, not the file yet
    extent.scale(8.0)  # the vehicle and the road round it
    iface.mapCanvas().setExtent(extent)
    iface.mapCanvas().refresh()
    later(2000, lambda: polygon_on_map(dock))


def polygon_on_map(dock):
    shot("qgis_digitised_polygon.png")
    # the Area tool: measured on the video, the figure painted by the last vertex and beside the tools
    xdotool("mousemove", *centre(dock.video_tools.row.buttons["area"]), "click", 1)
    x0, y0, x1, y1 = dock.frame_features(dock.frame_index).tracks[0].box_px.bounds
    corners = [(x0 - 15, y0 - 15), (x1 + 15, y0 - 15), (x1 + 15, y1 + 15), (x0 - 15, y1 + 15)]
    click_pixels(dock.frame_view, corners, last="return")
    later(800, lambda: measured(dock))


def measured(dock):
    state["measure"] = dock.video_tools.row.result_label.text()
    shot("qgis_measure.png", dock)
    xdotool("mousemove", *centre(dock.video_tools.row.buttons["area"]), "click", 1)  # the tool put away
    xdotool("mousemove", *centre(dock.export_button), "click", 1)
    later(1500, lambda: fill_export_dialog(dock, 0))


def fill_export_dialog(dock, tries):
    dialog = QApplication.activeModalWidget()
    if not isinstance(dialog, QFileDialog):
        if tries > 20:
            return finish("Export opened no file dialog")
        return later(300, lambda: fill_export_dialog(dock, tries + 1))
    shot("qgis_export_dialog.png")
    xdotool("type", "--delay", 20, os.environ["SIAMMASK_EXPORT"])
    xdotool("key", "Return")
    later(2500, lambda: exported(dock))


def exported(dock):
    state["export_status"] = dock.status_label.text()
    state["exported_groups"] = [g.name() for g in QgsProject.instance().layerTreeRoot().findGroups()]
    shot("qgis_exported.png")
    tabs = dock.panels.tabBar()
    tab = tabs.mapToGlobal(tabs.tabRect(dock.panels.indexOf(dock.tracks_panel)).center())
    xdotool("mousemove", tab.x(), tab.y(), "click", 1)
    handle = dock.split.handle(1)  # the split dragged up: room for the table's rows
    grip = handle.mapToGlobal(handle.rect().center())
    xdotool("mousemove", grip.x(), grip.y(), "mousedown", 1, "sleep", 0.2,
            "mousemove", grip.x(), grip.y() - 60, "sleep", 0.2,
            "mousemove", grip.x(), grip.y() - 120, "sleep", 0.2, "mouseup", 1)
    later(800, lambda: tracks_panel_shown(dock))


def tracks_panel_shown(dock):
    table = dock.tracks_panel.table
    state["track_rows"] = [
        [table.item(row, column).text() for column in (2, 3, 4)]
        + [table.item(row, 1).background().color().name()]
        for row in range(table.rowCount())
    ]
    state["tracks_tab_current"] = dock.panels.currentWidget() is dock.tracks_panel
    shot("qgis_tracks_panel.png", dock)
    # an oblique clip played to its end: the platform trail and the line of sight on the map
    global trail_ground
    trail_ground = iface.addRasterLayer(os.environ["SIAMMASK_TRAIL_GROUND"], "oblique clip ground")
    state["trail_opened"] = dock.open_video(os.environ["SIAMMASK_TRAIL_VIDEO"])
    later(1000, lambda: play_trail_clip(dock))


def play_trail_clip(dock):
    xdotool("mousemove", *centre(dock.play_button), "click", 1)
    later(500, lambda: poll_playing(dock, 0))


def poll_playing(dock, waited_ms):
    if dock.playing and waited_ms < 30000:
        return later(200, lambda: poll_playing(dock, waited_ms + 200))
    layers = dock.playback_layers
    trail = next(layers.trail.getFeatures()).geometry()
    sight = next(layers.sight.getFeatures()).geometry()
    state["trail"] = [dock.frame_index, len(trail.asPolyline()), trail.length(), sight.length()]
    extent = trail.boundingBox()
    for layer in (layers.sight, layers.footprint):
        extent.combineExtentWith(layer.extent())
    extent.scale(1.2)
    iface.mapCanvas().setExtent(extent)
    iface.mapCanvas().refresh()
    later(2500, lambda: trail_shown(dock))


def trail_shown(dock):
    shot("qgis_trail.png")
    # a clip over a DEM: the frame itself draped on the relief, and Snapshot clicked
    import dataclasses
    from qgis.core import QgsCoordinateTransform
    from qgis_siammask.settings import load_settings, save_settings
    global dem_layer
    dem_layer = iface.addRasterLayer(os.environ["SIAMMASK_DEM"], "dem")
    save_settings(dataclasses.replace(load_settings(), dem_layer_id=dem_layer.id()))
    state["dem_opened"] = dock.open_video(os.environ["SIAMMASK_DEM_VIDEO"])
    dock.show_frame(DEM_FRAME, update_map=True)
    frame_layer = dock.playback_layers.frame
    canvas = iface.mapCanvas()
    to_map = QgsCoordinateTransform(frame_layer.crs(), canvas.mapSettings().destinationCrs(),
                                    QgsProject.instance())
    extent = to_map.transformBoundingBox(frame_layer.extent())
    extent.scale(1.3)
    canvas.setExtent(extent)
    canvas.refresh()
    xdotool("mousemove", *centre(dock.frame_on_map.controls.snapshot_button), "click", 1)
    later(4000, lambda: frame_on_dem_shown(dock))


def frame_on_dem_shown(dock):
    layer = dock.playback_layers.frame
    node = QgsProject.instance().layerTreeRoot().findLayer(layer.id())
    state["frame_layer"] = [layer.name(), layer.pluginLayerType(), layer.frame is not None, node.isVisible(),
                            node.parent().name(), layer.opacity()]
    state["snapshot_status"] = dock.status_label.text()
    state["frame_drawn"] = layer.frame._grid is not None  # cast by the map's render thread
    state["canvas_layers"] = [each.name() for each in iface.mapCanvas().layers()]
    shot("qgis_frame_on_dem.png")
    unloadPlugin("qgis_siammask")
    later(500, check_unloaded)  # let deleteLater() run first


def check_unloaded():
    from qgis.PyQt.QtWidgets import QAction

    window = iface.mainWindow()
    docks = window.findChildren(QDockWidget)
    state["docks_after_unload"] = [d.objectName() for d in docks if d.objectName() == "SiamMaskVideoDock"]
    actions = window.findChildren(QAction)
    state["actions_after_unload"] = [a.objectName() for a in actions if a.objectName().startswith("siammask")]
    state["provider_after_unload"] = QgsApplication.processingRegistry().providerById("siammask") is not None
    state["layers_after_unload"] = sorted(
        (layer.name(), layer.providerType(), layer.featureCount())
        for layer in QgsProject.instance().mapLayers().values() if layer.type() == 0
    )
    finish()


DEM_FRAME = 8
later(1000, install)
"""


def _venv_site_packages() -> str:
    return sysconfig.get_paths()["purelib"]


def _serve(folder: Path):
    """An HTTP server for `folder` on 127.0.0.1 (a free port), in a thread; (server, base URL)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def test_packaged_plugin_in_desktop_qgis(tmp_path, tmp_path_factory, request):
    for tool in ("xvfb-run", "qgis", "xdotool"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (make apt)")
    from qgis_siammask.core.simulator import SimulationConfig, simulate

    clip, targets = simulated_clip(tmp_path_factory.getbasetemp(), FRAMES)
    video_path = clip.video_path
    boxes = [box for _, box in targets[:2]]
    trail_clip = simulate(  # oblique: the line of sight is long on the map; 4 s of flight for the trail
        SimulationConfig(
            out_dir=tmp_path / "oblique", seed=3, frames=TRAIL_FRAMES, width_px=320, height_px=180,
            oblique_deg=50.0, vehicle_count=1, write_masks=False,
        )
    )
    dem_clip = simulate(  # over relief: the frame draped on the map
        SimulationConfig(
            out_dir=tmp_path / "dem", seed=6, frames=12, width_px=640, height_px=360, dem=True, relief_m=40.0,
            oblique_deg=40.0, vehicle_count=3, write_masks=False,
        )
    )
    model_path = tracking_model(request)
    bundled = model_path == default_model_path()  # then the zip carries it: QGIS must find it there
    dist = tmp_path / "dist"
    dist.mkdir()
    server, base_url = _serve(dist)
    build_zip(dist, base_url=base_url)
    profiles = tmp_path / "qgis_profiles"  # --profiles-path holds profiles/<name>/
    plugins_dir = profiles / "profiles" / "default" / "python" / "plugins"
    ini = profiles / "profiles" / "default" / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text(
        "[qgis]\nshowTips=false\ncheckVersion=false\n"
        "allowCrashReporter=false\n\n[core]\nNewsFeed\\httpsfeedqgisorg\\disabled=true\n"
    )
    script = tmp_path / "startup.py"
    script.write_text(STARTUP_SCRIPT)
    result_path = tmp_path / "result.json"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("qgis_*.png"):
        old.unlink()
    output_dir = tmp_path / "runs"
    export_path = tmp_path / "exported.gpkg"
    env = {
        **{k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"},
        # desktop QGIS runs Debian's Python: give it the venv's torch, cv2, av (as a user's pip would),
        # after what the environment already adds (a QGIS root's dependency folders)
        "PYTHONPATH": os.pathsep.join(filter(None, (os.environ.get("PYTHONPATH"), _venv_site_packages()))),
        "SIAMMASK_DESKTOP_RESULT": str(result_path),
        "SIAMMASK_REPOSITORY": base_url + "plugins.xml",
        "SIAMMASK_VIDEO": str(video_path),
        "SIAMMASK_BOXES": ";".join(",".join(str(v) for v in box) for box in boxes),
        "SIAMMASK_LABELS": "car;van",
        "SIAMMASK_TRAIL_VIDEO": str(trail_clip.video_path),
        "SIAMMASK_TRAIL_GROUND": str(trail_clip.texture_path),
        "SIAMMASK_DEM_VIDEO": str(dem_clip.video_path),
        "SIAMMASK_DEM": str(dem_clip.dem_path),
        "SIAMMASK_MODEL": "" if bundled else str(model_path),
        "SIAMMASK_BACKGROUND": str(clip.texture_path),
        "SIAMMASK_SCREENSHOTS": str(SCREENSHOTS),
        "SIAMMASK_OUTPUT": str(output_dir),
        "SIAMMASK_EXPORT": str(export_path),
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
    finally:
        server.shutdown()
    assert result_path.exists(), f"QGIS wrote no result (a modal error dialog?):\n{log[-4000:]}"
    state = json.loads(result_path.read_text())
    assert "error" not in state, json.dumps(state)[:3000] + "\n" + log[-3000:]
    assert state["offered"] and state["loaded"] and state["opened"]
    assert state["plugin_file"].startswith(str(plugins_dir))  # installed from the served zip
    if bundled:
        assert state["model_used"].startswith(str(plugins_dir / "qgis_siammask" / "models"))
    assert len(state["boxes"]) == 2 and state["track_enabled"]  # the boxes came from the X mouse drags
    for drawn, box in zip(state["boxes"], boxes):
        assert abs(drawn[0] - box[0]) < 3 and abs(drawn[2] - box[2]) < 3
    status, frames = state["outcome"]
    assert state["task_started"] and status == "success" and frames == FRAMES
    assert state["counts"]["points"] == 2 * FRAMES and state["counts"]["footprints"] == FRAMES
    assert state["providers"] == ["ogr"] and Path(state["gpkg"]).parent == output_dir
    folder_shown, status_shown = state["output_shown"]  # the folder in the field, the file in the status
    assert folder_shown == str(output_dir) and state["gpkg"] in status_shown
    assert state["overlays"] >= 1
    assert state["temporal_ms"] == 1000 * FRAMES / 25  # the temporal controller spans the clip (all tracked)
    assert all(state["screenshots"]) and len(state["screenshots"]) == 10
    assert state["digitised"] == [1]  # the polygon clicked on the video, in the clip's GeoPackage layer
    assert "m² ± " in state["measure"]
    assert state["tracks_tab_current"]  # one row per track: label, frames, status, its own colour
    assert [row[:2] for row in state["track_rows"]] == [["car", str(FRAMES)], ["van", str(FRAMES)]]
    assert len({row[3] for row in state["track_rows"]}) == 2
    last_frame, trail_vertices, trail_deg, sight_deg = state["trail"]
    assert state["trail_opened"] and last_frame == TRAIL_FRAMES - 1  # played to the end
    assert trail_vertices >= 10 and trail_deg > 0 and sight_deg > 5 * trail_deg / TRAIL_FRAMES
    assert state["zoom"] == pytest.approx(1.25**6, rel=0.01)  # six wheel clicks over the frame
    assert (SCREENSHOTS / "qgis_dock.png").stat().st_size > 20000
    assert str(export_path) in state["export_status"] and export_path.is_file()
    assert f"exported {export_path.name}" in state["exported_groups"]
    assert state["dem_opened"] and state["frame_layer"] == [
        "video frame", "siammask_video_frame", True, True, "dem/video.ts", 0.8]  # in the clip's group
    assert "Snapshot saved" in state["snapshot_status"] and state["frame_drawn"]  # drawn by the canvas
    assert state["canvas_layers"].index("video frame") < state["canvas_layers"].index("dem")  # over it
    assert sorted(p.suffix for p in (output_dir / "snapshots").iterdir()) == [".json", ".png", ".tif"]
    assert state["docks_after_unload"] == [] and state["actions_after_unload"] == []
    assert state["provider_after_unload"] is False
    kept = [(name, count) for name, provider, count in state["layers_after_unload"] if provider == "ogr"]
    assert ("points", 2 * FRAMES) in kept and ("footprints", FRAMES) in kept  # the run, from its GeoPackage
    assert not [name for name, provider, _ in state["layers_after_unload"] if provider == "memory"]
    ours = [entry for entry in state["log"] if _ours(entry, tmp_path)]
    assert not ours, "QGIS logged, from install to unload:\n" + "\n".join(map(str, state["log"]))


def _ours(entry, tmp_path: Path) -> bool:
    """Whether a message of QGIS's log (tag, level, text) is a warning or error of the plugin's making:
    its tag, its package in a Python warning's trace, its files, OGR opening its GeoPackages, GDAL's
    exceptions-mode FutureWarning (raised by the plugin's GDAL calls)."""
    tag, level, text = entry
    if level not in (1, 2):  # Qgis.Warning, Qgis.Critical (not Info, Success or NoLevel)
        return False
    about = f"{tag}\n{text}"
    return any(mark in about for mark in ("SiamMask", "siammask", str(tmp_path), "OGR", "UseExceptions"))
