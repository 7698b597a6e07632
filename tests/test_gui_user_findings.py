"""Findings of a new user's walk-through and of a randomized GUI tester (issue 21), each replayed with Qt
events on the real dock: what the user did, and what must hold afterwards."""

from __future__ import annotations

import shutil

from qgis.PyQt.QtWidgets import QFileDialog
from test_gui_dock import _click, _draw_box


def _open_clicked(qtbot, dock, monkeypatch, path) -> None:
    """Open a clip with the dock's "Open video…" button (the file dialog answered with `path`)."""
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(path), ""))
    _click(qtbot, dock.open_button)


def test_opening_another_clip_while_a_run_tracks_leaves_the_new_clip_alone(
    dock, clip, qtbot, monkeypatch, tmp_path
):
    """Open a clip, draw a box, Track, and while it runs open another video: the frames still coming from
    the run raised IndexError in the dock (the new clip's session had no run) on every batch. The run
    finishes into its own file; the new clip stays on its first frame with no overlays of the run."""
    result, targets = clip
    other = tmp_path / "other.ts"
    shutil.copyfile(result.video_path, other)
    _open_clicked(qtbot, dock, monkeypatch, result.video_path)
    _draw_box(qtbot, dock.frame_view, targets[0][1])
    _click(qtbot, dock.track_button)
    task = dock.task
    assert task is not None, dock.status_label.text()

    _open_clicked(qtbot, dock, monkeypatch, other)  # before the run's first frames reach the dock
    assert dock.video_path == str(other)
    qtbot.waitUntil(lambda: dock.task is None, timeout=150_000)

    assert task.outcome.status == "success" and task.outcome.frames_tracked == len(result.frames)
    assert dock.frame_index == 0  # the run's frames did not move the new clip
    assert all(dock.session.frame_features(index) is None for index in range(len(result.frames)))
    assert dock.tracks_panel.table.rowCount() == 0
    assert not dock.tracks_panel.add_button.isEnabled()  # nothing of the old clip's run to correct here


def test_export_keeps_the_corrections_and_pixel_outlines_and_ogr_never_misses_a_table(
    dock, clip, qtbot, monkeypatch, tmp_path, capfd
):
    """A run, a target added on frame 5 (a correction), then Export: the exported file has the run file's
    7 tables, its corrections (the record of the correction) and its pixel outlines with them; and QGIS's
    log never shows "OGR: Cannot find layer corrections" (the table a run without corrections lacks),
    nor stderr GDAL's "unable to open database file" (each table's count failed while the outlines were
    read through a subset string)."""
    from qgis.core import Qgis, QgsApplication, QgsVectorLayer
    from test_gui_dock_walk import _go_to_frame
    from test_gui_reseat import _wait_for_run

    from qgis_siammask.core.output.gpkg_format import gpkg_tables

    result, targets = clip
    logged = []
    log = QgsApplication.messageLog()
    log.messageReceived[str, str, Qgis.MessageLevel].connect(record := lambda text, *_: logged.append(text))
    try:
        _open_clicked(qtbot, dock, monkeypatch, result.video_path)
        _draw_box(qtbot, dock.frame_view, targets[0][1])
        _click(qtbot, dock.track_button)
        first = _wait_for_run(qtbot, dock)
        assert first.status == "success", first
        _go_to_frame(qtbot, dock, 5)
        other = {v["vehicle_id"]: v["box_xywh"] for v in result.frames[5]["vehicles"]}[targets[1][0]]
        _draw_box(qtbot, dock.frame_view, other)
        _click(qtbot, dock.tracks_panel.add_button)
        added = _wait_for_run(qtbot, dock)
        assert added.status == "success", added
        export_path = tmp_path / "export.gpkg"
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(export_path), ""))
        capfd.readouterr()  # what the runs wrote before
        _click(qtbot, dock.export_button)
    finally:
        log.messageReceived[str, str, Qgis.MessageLevel].disconnect(record)
    assert "unable to open database file" not in capfd.readouterr().err

    assert not [text for text in logged if "Cannot find layer" in text], logged
    run_file = added.gpkg_path
    assert gpkg_tables(export_path) == gpkg_tables(run_file) and len(gpkg_tables(run_file)) == 7
    for name in ("corrections", "outlines_px"):
        exported = QgsVectorLayer(f"{export_path}|layername={name}", name, "ogr")
        original = QgsVectorLayer(f"{run_file}|layername={name}", name, "ogr")
        assert exported.featureCount() == original.featureCount() > 0, name
    corrections = QgsVectorLayer(f"{export_path}|layername=corrections", "corrections", "ogr")
    assert [(row["track_id"], row["frame"]) for row in corrections.getFeatures()] == [(2, 5)]


def test_offline_model_download_error_is_one_dismissable_line(dock, qtbot, tmp_path):
    """Without internet, "Get the authors' model" turned the banner into a 5-line error that could not be
    dismissed and shrank the video, and said "try again to resume" with nothing downloaded. Now: one
    line (the whole message in its tooltip), the video keeps its size, ✕ hides the banner; "try again to
    resume" only once a partial download exists."""
    import dataclasses
    import socket

    from qgis.PyQt.QtCore import Qt

    from qgis_siammask.core.models.install import partial_path

    banner = dock.model_banner
    with socket.socket() as probe:  # a port nothing listens on: the connection is refused, as offline
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/SiamMask_DAVIS.pth"
    banner.entry = dataclasses.replace(banner.entry, url=url)
    banner.model_dir = tmp_path / "models"
    banner.refresh()
    assert banner.isVisible() and not banner.close_button.isVisible()
    qtbot.wait(50)
    video_height, banner_height = dock.frame_view.height(), banner.height()

    qtbot.mouseClick(banner.get_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: banner.task is None, timeout=60_000)
    qtbot.wait(50)
    assert "could not be fetched" in banner.label.toolTip() and url in banner.label.toolTip()
    assert "try again" not in banner.label.toolTip()  # nothing was downloaded
    assert "\n" not in banner.label.text() and not banner.label.wordWrap()
    assert banner.height() <= banner_height and dock.frame_view.height() >= video_height
    assert banner.close_button.isVisible()

    partial_path(banner.model_dir, banner.entry).write_bytes(b"x" * 1000)  # an earlier download cut short
    qtbot.mouseClick(banner.get_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: banner.task is None, timeout=60_000)
    assert "try again to resume" in banner.label.toolTip()

    qtbot.mouseClick(banner.close_button, Qt.MouseButton.LeftButton)
    assert not banner.isVisible()
    banner.refresh()  # e.g. the settings changed: dismissed stays dismissed
    assert not banner.isVisible()


def test_map_time_follows_the_open_clip_again_after_file_new_project(dock, clip, qtbot, monkeypatch):
    """File > New Project with a clip open: QGIS's temporal controller panel turns map time off, and the
    map no longer followed the video until the clip was reopened. Now it follows again at once, with the
    clip's footprint back on the map."""
    from qgis.core import QgsProject, QgsTemporalNavigationObject
    from test_gui_dock_walk import _go_to_frame

    animated = QgsTemporalNavigationObject.NavigationMode.Animated
    controller = QgsTemporalNavigationObject(dock.iface.canvas)
    dock.iface.canvas.setTemporalController(controller)
    result, _ = clip
    _open_clicked(qtbot, dock, monkeypatch, result.video_path)
    assert controller.navigationMode() == animated
    off = QgsTemporalNavigationObject.NavigationMode.NavigationOff
    project = QgsProject.instance()
    project.cleared.connect(reset := lambda: controller.setNavigationMode(off))  # what QGIS's panel does
    try:
        project.clear()  # File > New Project
        qtbot.waitUntil(lambda: controller.navigationMode() == animated, timeout=3000)
    finally:
        project.cleared.disconnect(reset)
    _go_to_frame(qtbot, dock, 6)
    assert controller.currentFrameNumber() == 6
    footprint = dock.playback_layers.footprint
    assert footprint is not None and project.mapLayer(footprint.id()) is not None


def test_delete_track_updates_the_status_and_the_output_field_follows_save_as(
    dock, clip, qtbot, monkeypatch, tmp_path
):
    """After Delete track the status line kept the run's old counts; Delete track was enabled with nothing
    to delete; the Output field kept the old folder after Save As. Now: Delete is enabled only with a
    track selected, the status gives the counts left, and Save As moves the Output field at once."""
    import dataclasses

    from qgis.core import QgsProject
    from qgis.PyQt.QtWidgets import QMessageBox
    from test_gui_dock import _answer_next_question
    from test_gui_reseat import _click_row, _wait_for_run

    from qgis_siammask.settings import load_settings, save_settings

    result, targets = clip
    _open_clicked(qtbot, dock, monkeypatch, result.video_path)
    _draw_box(qtbot, dock.frame_view, targets[0][1])
    _click(qtbot, dock.track_button)
    outcome = _wait_for_run(qtbot, dock)
    assert outcome.status == "success" and "points 10" in dock.status_label.text()
    panel = dock.tracks_panel
    assert panel.table.rowCount() == 1 and not panel.delete_button.isEnabled()  # no row selected
    _click_row(qtbot, panel.table, 0)
    assert panel.delete_button.isEnabled()
    _answer_next_question(qtbot, QMessageBox.StandardButton.Yes)
    _click(qtbot, panel.delete_button)
    qtbot.waitUntil(lambda: panel.table.rowCount() == 0)
    status = dock.status_label.text()
    assert "Track 1 deleted" in status and "points 0" in status and "points 10" not in status, status
    assert not panel.delete_button.isEnabled()  # an empty table

    save_settings(dataclasses.replace(load_settings(), output_folder=""))  # the project's default folder
    project_file = tmp_path / "saved" / "analysis.qgz"
    project_file.parent.mkdir()
    QgsProject.instance().setFileName(str(project_file))  # Project > Save As…, as QGIS does it
    assert QgsProject.instance().write()
    assert dock.output_edit.text() == str(project_file.parent / "siammask_tracks")


def test_a_correction_before_a_later_one_asks_first(dock, clip, qtbot, monkeypatch):
    """Add target on an earlier frame silently re-tracked track 1 over its later Re-seat. Now the dock
    asks first, naming the later correction; No leaves the run's file as it was."""
    from qgis.PyQt.QtWidgets import QMessageBox
    from test_gui_dock import _answer_next_question
    from test_gui_dock_walk import _go_to_frame
    from test_gui_reseat import _click_row, _corrections, _points, _wait_for_run

    result, targets = clip
    boxes = [{v["vehicle_id"]: v["box_xywh"] for v in f["vehicles"] if v["box_xywh"]} for f in result.frames]
    (car, car_box), (van, _) = targets[:2]
    _open_clicked(qtbot, dock, monkeypatch, result.video_path)
    _draw_box(qtbot, dock.frame_view, car_box)
    _click(qtbot, dock.track_button)
    run = _wait_for_run(qtbot, dock)
    _go_to_frame(qtbot, dock, 7)
    _click_row(qtbot, dock.tracks_panel.table, 0)
    _draw_box(qtbot, dock.frame_view, boxes[7][car])
    _click(qtbot, dock.tracks_panel.reseat_button)
    assert _wait_for_run(qtbot, dock).status == "success"
    before = (_points(run.gpkg_path), _corrections(run.gpkg_path))

    _go_to_frame(qtbot, dock, 3)
    _draw_box(qtbot, dock.frame_view, boxes[3][van])
    asked = _answer_next_question(qtbot, QMessageBox.StandardButton.No)
    _click(qtbot, dock.tracks_panel.add_button)
    assert asked and "track 1 re-seated on frame 7" in asked[0], asked
    assert dock.task is None and (_points(run.gpkg_path), _corrections(run.gpkg_path)) == before

    asked = _answer_next_question(qtbot, QMessageBox.StandardButton.Yes)
    _click(qtbot, dock.tracks_panel.add_button)
    assert asked and _wait_for_run(qtbot, dock).status == "success"
    assert [(row["track_id"], row["frame"]) for row in _corrections(run.gpkg_path)] == [(1, 7), (2, 3)]


def test_a_re_seat_and_an_added_target_show_live_on_the_map(dock, clip, qtbot, monkeypatch):
    """Nothing of a Re-seat or an added target showed on the map until the correction ended (it writes a
    copy of the run's file). Now its frames grow live in a `correction (live)` sub-group, the added
    target with its legend entry, and the sub-group goes when the corrected file's layers are read."""
    from qgis.core import QgsProject
    from test_gui_dock_walk import _go_to_frame
    from test_gui_reseat import _wait_for_run

    result, targets = clip
    boxes = [{v["vehicle_id"]: v["box_xywh"] for v in f["vehicles"] if v["box_xywh"]} for f in result.frames]
    _open_clicked(qtbot, dock, monkeypatch, result.video_path)
    _draw_box(qtbot, dock.frame_view, targets[0][1])
    _click(qtbot, dock.track_button)
    _wait_for_run(qtbot, dock)
    _go_to_frame(qtbot, dock, 4)
    _draw_box(qtbot, dock.frame_view, boxes[4][targets[1][0]])
    seen = []

    def look(_frames):
        live = dock.runs.correction_layers
        points = live.layers["points"] if live is not None else None
        legend = [c.value() for c in points.renderer().categories()] if points is not None else []
        seen.append((points.featureCount() if points is not None else 0, legend))

    dock.runs.framesTracked.connect(look)
    _click(qtbot, dock.tracks_panel.add_button)
    assert _wait_for_run(qtbot, dock).status == "success"
    dock.runs.framesTracked.disconnect(look)
    assert seen and seen[-1][0] > 0 and 2 in seen[-1][1], seen  # the added target, live, in the legend
    assert dock.runs.correction_layers is None
    assert QgsProject.instance().layerTreeRoot().findGroup("correction (live)") is None


def test_a_saved_project_opened_again_has_one_set_of_playback_layers(
    dock, clip, qtbot, monkeypatch, tmp_path
):
    """Save the project with a clip open and open it again (the clip still open), or open the clip in the
    reopened project: the video's group held each playback layer twice, the project's saved copies read
    back empty beside the clip's own. Now the saved ones give way: one footprint, platform, frame
    centre, line of sight and trail, and the footprint is the one that moves with the video."""
    from qgis.core import QgsProject
    from test_gui_dock_walk import _go_to_frame

    from qgis_siammask.gui.dock_map_side import MAP_UPDATE_INTERVAL_S

    result, _ = clip
    _open_clicked(qtbot, dock, monkeypatch, result.video_path)
    _go_to_frame(qtbot, dock, 3)
    project = QgsProject.instance()
    project_file = tmp_path / "saved.qgz"
    assert project.write(str(project_file))  # Project > Save As…

    def playback_names() -> list[str]:
        group = dock.group.find()
        return sorted(
            node.name()
            for node in group.findLayers()
            if node.layer() is not None and "siammask_tracks" not in node.layer().source()
        )

    one_each = sorted(
        ["platform trail", "line of sight", "footprint (ST 0601)", "platform", "frame centre", "video frame"]
    )
    assert playback_names() == one_each
    assert project.read(str(project_file))  # Project > Open…, the clip still open in the dock
    qtbot.wait(int(MAP_UPDATE_INTERVAL_S * 1000) + 100)  # the map's update on reading it, then a seek
    _go_to_frame(qtbot, dock, 5)
    assert playback_names() == one_each

    def footprint_frames() -> list[int]:  # (the map catches up with the video within a moment)
        footprint = dock.playback_layers.footprint
        return [f["frame"] for f in footprint.getFeatures()] if footprint is not None else []

    qtbot.waitUntil(lambda: footprint_frames() == [5], timeout=3000)

    dock.close_video()  # the project opened in a new session, then the clip opened in it
    assert project.read(str(project_file))
    _open_clicked(qtbot, dock, monkeypatch, result.video_path)
    assert playback_names() == one_each

    for layer in dock.playback_layers.group.layers():  # a project saved before they were marked
        layer.removeCustomProperty("qgis_siammask/playback")
    assert project.write(str(project_file))
    dock.close_video()
    assert project.read(str(project_file))
    _open_clicked(qtbot, dock, monkeypatch, result.video_path)
    assert playback_names() == one_each


def test_export_after_the_runs_footprints_layer_was_removed(dock, clip, qtbot, monkeypatch, tmp_path):
    """A run, its footprints layer removed in the Layers panel (it is unticked: an analyst tidying up), then
    Export: it refused with "Nothing to export: the run's layers were removed" though four of five were
    on the map and the run's file has all. Now the removed layer is read from the run's file."""
    from qgis.core import QgsProject, QgsVectorLayer
    from test_gui_reseat import _wait_for_run

    from qgis_siammask.core.output.gpkg_format import gpkg_tables

    result, targets = clip
    _open_clicked(qtbot, dock, monkeypatch, result.video_path)
    _draw_box(qtbot, dock.frame_view, targets[0][1])
    _click(qtbot, dock.track_button)
    outcome = _wait_for_run(qtbot, dock)
    assert outcome.status == "success", outcome
    run_layers = dock.runs.track_layers.layers
    QgsProject.instance().removeMapLayer(run_layers["footprints"].id())  # Layers panel > Remove Layer
    export_path = tmp_path / "export.gpkg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(export_path), ""))
    _click(qtbot, dock.export_button)

    assert "Exported to" in dock.status_label.text(), dock.status_label.text()
    assert gpkg_tables(export_path) == gpkg_tables(outcome.gpkg_path)
    for name in ("footprints", "points"):
        exported = QgsVectorLayer(f"{export_path}|layername={name}", name, "ogr")
        original = QgsVectorLayer(f"{outcome.gpkg_path}|layername={name}", name, "ogr")
        assert exported.featureCount() == original.featureCount() > 0, name
