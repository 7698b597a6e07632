"""What a new user's walkthrough of the plugin found, each driven with Qt events on the real widgets:
boxes remember their frame, the output field, a new project, Open folder without a file manager."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsProject
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QFileDialog, QPushButton
from test_gui_dock import FRAMES, _click, _draw_box, _gpkg_layers, _track_clicked


def _button(widget, text):
    return next(b for b in widget.findChildren(QPushButton) if b.text() == text)


def test_track_starts_on_the_frame_the_boxes_were_drawn_on(dock, clip, qtbot):  # noqa: F811
    result, targets = clip
    assert dock.open_video(str(result.video_path))
    _draw_box(qtbot, dock.frame_view, targets[0][1])  # on frame 0
    assert dock.boxes[0].frame == 0 and dock.box_table.item(0, 1).text() == "0"
    QgsProject.instance().layerTreeRoot().addGroup("tracks 4")  # as a reopened project's run
    dock.frame_view.setFocus()
    for _ in range(3):
        qtbot.keyClick(dock.frame_view, Qt.Key.Key_Right)
    assert dock.frame_index == 3
    _click(qtbot, dock.track_button)
    assert dock.task is not None and dock.task.job.start_frame == 0  # not the frame shown when clicked
    assert dock.slider.value() == 0  # the video went back to the boxes' frame
    qtbot.waitUntil(lambda: dock.task is None, timeout=150_000)
    assert dock.last_outcome.frames_tracked == FRAMES
    assert _gpkg_layers("tracks 5")["points"].featureCount() == FRAMES  # numbered in this project

    _click(qtbot, _button(dock, "Clear boxes"))
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_Left)
    _draw_box(qtbot, dock.frame_view, targets[0][1])
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_Left)
    _draw_box(qtbot, dock.frame_view, targets[0][1])
    _click(qtbot, dock.track_button)
    assert dock.task is None  # boxes of two frames: no run, the dock asks to redraw
    assert f"different frames ({FRAMES - 3}, {FRAMES - 2})" in dock.status_label.text()


def test_output_field_open_folder_and_new_project(dock, clip, qtbot, tmp_path, monkeypatch):  # noqa: F811
    """The Output field keeps the folder after a run; Open folder without a file manager names the
    folder; File > New Project forgets the run (status, bar, Export)."""
    from qgis_siammask.gui import run_export
    from qgis_siammask.settings import load_settings

    result, targets = clip
    assert dock.open_video(str(result.video_path))
    _draw_box(qtbot, dock.frame_view, targets[0][1])
    outcome = _track_clicked(qtbot, dock)
    output = Path(outcome.gpkg_path)
    assert dock.output_edit.text() == str(tmp_path / "out") == str(output.parent)
    assert str(output) in dock.status_label.text()
    assert dock.export_button.isEnabled() and dock.progress.value() == 100

    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: asked.append(args[2]) or ("", ""))
    _click(qtbot, dock.export_button)
    assert Path(asked[0]).name == output.name  # the run's name suggested

    monkeypatch.setattr(run_export.QDesktopServices, "openUrl", lambda url: False)  # no file manager
    _click(qtbot, dock.open_folder_button)
    assert dock.iface.messages[-1][1] == f"No file manager to open the folder: {output.parent}"
    assert str(output.parent) in dock.status_label.text()
    assert dock.status_label.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse

    QgsProject.instance().clear()  # File > New Project
    assert dock.status_label.text() == "" and dock.progress.value() == 0
    assert not dock.export_button.isEnabled()
    assert dock.output_edit.text() == str(load_settings().output_dir())  # the new project's folder
