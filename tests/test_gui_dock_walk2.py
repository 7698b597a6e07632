"""What the second new-user walkthrough of the dock found, each checked with Qt events on the real dock:
the seek slider usable in a narrow dock, panels showing their first rows, the status bounded, keys working
after a click on Play, Esc clearing the mark's text, Detach and back keeping the docked width."""

from __future__ import annotations

from qgis.PyQt.QtCore import QEvent, QPoint, QPointF, Qt
from qgis.PyQt.QtGui import QMouseEvent
from qgis.PyQt.QtWidgets import QApplication
from test_gui_dock import FRAMES, _click

from qgis_siammask.gui.dock_parts import PANEL_TABLE_ROWS

DEFAULT_DOCK_WIDTH_PX = 475  # QGIS's right dock area as the walkthrough found it


def _rows_in_view(table) -> float:
    return table.viewport().height() / table.verticalHeader().defaultSectionSize()


def _drag_to(widget, pos: QPoint) -> None:
    """The mouse moved to `pos` with the left button held (QTest's move carries no buttons here)."""
    move = QMouseEvent(
        QEvent.Type.MouseMove, QPointF(pos), Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, move)


def test_slider_panels_and_status_fit_a_narrow_dock(dock, clip, qtbot):
    """At the default dock width the slider spans the dock and drags; the targets and tracks tables
    show three rows under their headers (no blank strip above); a long status neither grows the dock nor
    shrinks the panels, its whole text in the tooltip."""
    result, _ = clip
    assert dock.open_video(str(result.video_path))
    assert dock.player.minimumSizeHint().width() <= DEFAULT_DOCK_WIDTH_PX  # the player fits it
    # the offscreen platform's font is wider than QGIS's: the other rows may ask for a little more
    width_px = max(DEFAULT_DOCK_WIDTH_PX, dock.minimumSizeHint().width())
    dock.resize(width_px, 800)
    qtbot.waitUntil(lambda: dock.width() == width_px)
    slider = dock.slider
    assert slider.width() >= 0.8 * width_px, slider.width()
    y = slider.height() // 2
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=QPoint(3, y))  # on the handle, at frame 0
    _drag_to(slider, QPoint(slider.width() // 2, y))
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=QPoint(slider.width() // 2, y))
    assert dock.frame_index > 0 and dock.frame_index == slider.value()

    assert _rows_in_view(dock.box_table) >= PANEL_TABLE_ROWS
    tabs = dock.panels.tabBar()
    qtbot.mouseClick(tabs, Qt.MouseButton.LeftButton, pos=tabs.tabRect(1).center())  # Tracks
    table = dock.tracks_panel.table
    qtbot.waitUntil(table.isVisible)
    assert _rows_in_view(table) >= PANEL_TABLE_ROWS
    assert table.geometry().top() <= 2  # right under the tab bar

    panels_px = dock.panels.height()
    long_status = "\n".join(f"/a/very/long/path/{'x' * 80}/run_{n}.gpkg" for n in range(4))
    dock._set_status(long_status)
    qtbot.wait(50)
    assert dock.width() == width_px and dock.minimumSizeHint().width() <= width_px
    assert dock.panels.height() == panels_px
    assert dock.status_label.height() <= 3 * dock.status_label.fontMetrics().lineSpacing()
    assert dock.status_label.toolTip() == long_status


def test_player_keys_after_clicking_play_and_zoom_keys(dock, clip, qtbot):
    """Play clicked twice (focus on the button): Right and Shift + Right step; + typed as Shift + = zooms
    in, like + and the keypad's +."""
    result, _ = clip
    assert dock.open_video(str(result.video_path))
    qtbot.mouseClick(dock.play_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dock.play_button, Qt.MouseButton.LeftButton)
    assert not dock.playing and dock.play_button.hasFocus()
    start = dock.frame_index
    qtbot.keyClick(dock.play_button, Qt.Key.Key_Right)
    assert dock.frame_index == start + 1
    qtbot.keyClick(dock.play_button, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)  # a second on
    assert dock.frame_index == min(start + 1 + round(result.config.fps), FRAMES - 1)
    qtbot.keyClick(dock.play_button, Qt.Key.Key_Left)
    assert dock.frame_index == min(start + round(result.config.fps), FRAMES - 2)

    view = dock.frame_view
    for key, modifier in (
        (Qt.Key.Key_Plus, Qt.KeyboardModifier.ShiftModifier),  # Shift + = on a US keyboard
        (Qt.Key.Key_Plus, Qt.KeyboardModifier.NoModifier),
        (Qt.Key.Key_Plus, Qt.KeyboardModifier.KeypadModifier),
    ):
        zoom = view.zoom
        qtbot.keyClick(dock.play_button, key, modifier)
        assert view.zoom > zoom, (key, modifier)


def test_clear_marks_clears_the_marks_text(dock, clip, qtbot):
    """Shift + click marks a pixel and says where; Esc on the video clears the text with the marks."""
    result, _ = clip
    assert dock.open_video(str(result.video_path))
    hint = dock.map_hint.text()
    view = dock.frame_view
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, view.rect().center())
    assert "lat" in dock.map_hint.text()
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert dock.map_hint.text() == hint and "lat" not in dock.map_hint.toolTip()


def test_docked_back_as_wide_as_before(dock, clip, qtbot):
    """Detach, then dock back: the dock is as wide as it was docked, not as the large window."""
    result, _ = clip
    assert dock.open_video(str(result.video_path))
    window = dock.iface.mainWindow()
    window.resize(1400, 900)
    window.show()
    dock.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    dock.setFloating(False)
    window.resizeDocks([dock], [DEFAULT_DOCK_WIDTH_PX], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: abs(dock.width() - DEFAULT_DOCK_WIDTH_PX) <= 10)
    docked_px = dock.width()
    _click(qtbot, dock.detach_button)
    assert dock.isFloating()
    qtbot.waitUntil(lambda: dock.width() > docked_px + 100)
    _click(qtbot, dock.detach_button)
    assert not dock.isFloating()
    qtbot.waitUntil(lambda: abs(dock.width() - docked_px) <= 10)


def test_pixel_run_export_has_the_analysts_renames_and_deletions(dock, clip, qtbot, tmp_path, monkeypatch):
    """A two-target run on a clip without telemetry: track 1 renamed in the tracks panel, track 2
    deleted (confirmed): the CSV export has track 1 under its new name and no row of track 2; the JSON
    lines stay as tracked."""
    import csv
    import json
    from pathlib import Path

    from qgis.PyQt.QtWidgets import QFileDialog, QMessageBox
    from test_gui_dock import (
        _answer_next_question,
        _click_cell,
        _rename_track,
        _track_clicked,
        _without_telemetry,
    )

    from qgis_siammask.gui.tracks_panel import FRAMES as FRAMES_COLUMN

    result, targets = clip
    assert dock.open_video(str(_without_telemetry(result, tmp_path / "plain.mp4")))
    for (_, box), label in zip(targets[:2], ("car", "van")):
        dock.add_box(*box, label)
    dock.targets.end_frame_spin.setValue(2)
    outcome = _track_clicked(qtbot, dock)
    assert outcome.status == "success" and outcome.frames_tracked == 3, outcome.message
    table = dock.tracks_panel.table
    _rename_track(qtbot, dock.tracks_panel, 0, 1, "truck")
    _click_cell(qtbot, table, 1, FRAMES_COLUMN)
    _answer_next_question(qtbot, QMessageBox.StandardButton.Yes)
    _click(qtbot, dock.tracks_panel.delete_button)
    qtbot.waitUntil(lambda: 2 not in dock.tracks_panel.styles)

    export = tmp_path / "pixels.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a: (str(export), ""))
    _click(qtbot, dock.export_button)
    rows = list(csv.DictReader(export.open()))
    assert [(row["track_id"], row["label"]) for row in rows] == [("1", "truck")] * 3
    records = [json.loads(line) for line in Path(outcome.gpkg_path).read_text().splitlines()]
    assert {(r["track_id"], r["label"]) for r in records} == {(1, "car"), (2, "van")}  # as tracked


def test_opening_a_clip_elsewhere_moves_the_map_once(dock, clip, qtbot):
    """The map shows another area: opening the clip brings its first footprint into view. Zoomed in on
    the clip by the analyst, opening it again keeps that zoom."""
    from qgis.core import (
        QgsCoordinateReferenceSystem,
        QgsCoordinateTransform,
        QgsProject,
        QgsRectangle,
    )

    result, _ = clip
    canvas = dock.iface.mapCanvas()
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
    canvas.setExtent(QgsRectangle(1_000_000, 1_000_000, 1_010_000, 1_010_000))  # far from the clip
    assert dock.open_video(str(result.video_path))
    wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
    to_map = QgsCoordinateTransform(wgs84, canvas.mapSettings().destinationCrs(), QgsProject.instance())
    footprint = to_map.transformBoundingBox(dock.playback_layers.footprint.extent())
    assert canvas.extent().contains(footprint), (canvas.extent().toString(), footprint.toString())

    zoomed = QgsRectangle(footprint.center().x() - 20, footprint.center().y() - 20,
                          footprint.center().x() + 20, footprint.center().y() + 20)
    canvas.setExtent(zoomed)
    kept = canvas.extent()
    assert dock.open_video(str(result.video_path))
    assert canvas.extent() == kept


def test_groups_of_same_named_videos_name_their_folder(dock, clip, qtbot):
    """A group "video.ts" of another clip is in the project: this clip's group is "FOLDER/video.ts"."""
    from qgis.core import QgsProject

    result, _ = clip
    video = result.video_path
    root = QgsProject.instance().layerTreeRoot()
    root.addGroup(video.name)  # another clip's, left by its run
    assert dock.open_video(str(video))
    assert dock.group.find().name() == f"{video.parent.name}/{video.name}"
